//! Who a request is from, once verified (`identity::Authenticator` makes one): data the
//! operations and the audit entries they write take.

use crate::model::ids::{Email, UserId};
use crate::model::locale::Locale;
use crate::model::project::Person;

/// The verified console user behind a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub id: UserId,
    pub email: Email,
    /// The platform projects the identity provider says this user owns (the `PROJECT_CLAIM`
    /// claim, read only under `PROJECT_CREATION=claim`; empty otherwise).
    pub claimed_projects: Vec<String>,
    /// The language the token's `locale` claim names (OIDC's standard claim, a BCP 47 tag),
    /// when the identity provider sends one we write mail in.
    pub token_locale: Option<Locale>,
}

impl Caller {
    /// A caller with no claimed projects.
    pub fn new(id: UserId, email: Email) -> Self {
        Caller {
            id,
            email,
            claimed_projects: Vec::new(),
            token_locale: None,
        }
    }

    pub fn person(&self) -> Person {
        Person {
            id: self.id.clone(),
            email: self.email.clone(),
        }
    }
}
