//! Every key string of the single table is formatted here and nowhere else.
//! Layout (DESIGN.md): a project's items share the partition `PROJECT#p`; a user's memberships
//! are found through gsi1 (`USER#u` / `PROJECT#p`).

use crate::domain::ids::{NodeId, ProjectId, RoleName, TemplateId, UserId};

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

/// The gsi1 key of an item that is listed through the index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKey {
    pub gsi1pk: String,
    pub gsi1sk: String,
}

pub const META: &str = "META";
pub const MEMBER: &str = "MEMBER#";
pub const ROLE: &str = "ROLE#";
pub const NODE: &str = "NODE#";
pub const TEMPLATE: &str = "TEMPLATE#";
pub const TEMPLATE_NAME: &str = "TEMPLATENAME#";
pub const PROJECT: &str = "PROJECT#";

pub fn project_partition(p: &ProjectId) -> String {
    format!("{PROJECT}{p}")
}

pub fn user_partition(u: &UserId) -> String {
    format!("USER#{u}")
}

fn in_project(p: &ProjectId, sk: String) -> Key {
    Key {
        pk: project_partition(p),
        sk,
    }
}

pub fn project(p: &ProjectId) -> Key {
    in_project(p, META.to_string())
}

pub fn member(p: &ProjectId, u: &UserId) -> Key {
    in_project(p, format!("{MEMBER}{u}"))
}

/// Lists a user's projects: `USER#u` / `PROJECT#p`.
pub fn member_index(p: &ProjectId, u: &UserId) -> IndexKey {
    IndexKey {
        gsi1pk: user_partition(u),
        gsi1sk: project_partition(p),
    }
}

pub fn role(p: &ProjectId, r: &RoleName) -> Key {
    in_project(p, format!("{ROLE}{r}"))
}

pub fn node(p: &ProjectId, n: &NodeId) -> Key {
    in_project(p, format!("{NODE}{n}"))
}

pub fn template(p: &ProjectId, t: &TemplateId) -> Key {
    in_project(p, format!("{TEMPLATE}{t}"))
}

/// Guards a template name's uniqueness in its project; `folded` is the case-folded name.
pub fn template_name(p: &ProjectId, folded: &str) -> Key {
    in_project(p, format!("{TEMPLATE_NAME}{folded}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_table_design() {
        let p = ProjectId::parse("p", "server").expect("id");
        let u = UserId::parse("u", "alice").expect("id");
        assert_eq!(
            project(&p),
            Key {
                pk: "PROJECT#server".into(),
                sk: "META".into()
            }
        );
        assert_eq!(member(&p, &u).sk, "MEMBER#alice");
        assert_eq!(
            member_index(&p, &u),
            IndexKey {
                gsi1pk: "USER#alice".into(),
                gsi1sk: "PROJECT#server".into()
            }
        );
        assert_eq!(
            role(&p, &RoleName::parse("r", "reader").expect("id")).sk,
            "ROLE#reader"
        );
        assert_eq!(
            node(&p, &NodeId::parse("n", "in").expect("id")).sk,
            "NODE#in"
        );
        assert_eq!(
            template_name(&p, "weather api").sk,
            "TEMPLATENAME#weather api"
        );
        // A template listing (`begins_with TEMPLATE#`) must not pick up the name guards.
        assert!(!template_name(&p, "x").sk.starts_with(TEMPLATE));
    }
}
