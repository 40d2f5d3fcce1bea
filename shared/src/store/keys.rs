//! Every key string of the single table is formatted here and nowhere else.
//! Layout (DESIGN.md): a project's items share the partition `PROJECT#p`; a user's memberships
//! are found through gsi1 (`USER#u` / `PROJECT#p`).

use crate::model::ids::{
    KeyId, NodeId, Prefix, ProjectId, RequestId, RoleName, SecretName, TemplateId, UserId,
};

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

/// An item's key in one of the sparse secondary indexes (`gsi1`: by user, `gsi2`: a project's keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexKey {
    pub index: &'static str,
    pub pk: String,
    pub sk: String,
}

pub const META: &str = "META";
pub const MEMBER: &str = "MEMBER#";
pub const ROLE: &str = "ROLE#";
pub const NODE: &str = "NODE#";
pub const TEMPLATE: &str = "TEMPLATE#";
pub const TEMPLATE_NAME: &str = "TEMPLATENAME#";
pub const PROJECT: &str = "PROJECT#";
pub const REQUEST: &str = "REQUEST#";
pub const ASK: &str = "ASK#";
pub const KEY: &str = "KEY#";
pub const AUDIT: &str = "AUDIT#";
pub const NOTIFIED: &str = "NOTIFIED#";
pub const IMPORT: &str = "IMPORT#";
pub const SECRET: &str = "SECRET#";
pub const USAGE: &str = "USAGE#";
pub const SCHEDULE: &str = "SCHEDULE#";
pub const RATE: &str = "RATE#";
pub const JWKS: &str = "JWKS#";
pub const SETTINGS: &str = "SETTINGS";

/// The table's partitions by family, as IAM's `dynamodb:LeadingKeys` condition sees them
/// (patterns for `StringLike`: `*` is any run of characters). Every partition key made here
/// falls in exactly one family (`store::grants`' tests check each constructor), and
/// `store::grants` says which function may do what in which family.
pub mod partitions {
    /// A project's items (`PROJECT#p`): the project, members, roles, nodes, templates and their
    /// name guards, requests, asks, audit entries, imports, imported secrets, digest markers.
    pub const PROJECTS: &str = "PROJECT#*";
    /// A key's items (`KEY#k`): its record, its usage counters, its reminders' markers.
    pub const KEYS: &str = "KEY#*";
    /// A key's rate-limit windows (`RATE#KEY#k`).
    pub const KEY_RATES: &str = "RATE#KEY#*";
    /// A user's request-limit windows (`RATE#USER#u#requests`).
    pub const USER_RATES: &str = "RATE#USER#*";
    /// The notifier's once-only markers (`NOTIFIED#<stream event id>`).
    pub const NOTIFIED: &str = "NOTIFIED#*";
    /// The signing keys' published public half (`JWKS#api-keys`).
    pub const API_KEYS_JWKS: &str = "JWKS#api-keys";
    /// The console users' identity provider's published keys (`JWKS#users`).
    pub const USERS_JWKS: &str = "JWKS#users";
    /// Every published key set: written by the operator's `keygate-dev` only, never by a
    /// function (the template denies every function role writes here).
    pub const ALL_JWKS: &str = "JWKS#*";
    /// A user's own items (`USER#u`): their settings.
    pub const USERS: &str = "USER#*";

    /// Every family but [`ALL_JWKS`], which covers the two key sets.
    pub const FAMILIES: &[&str] = &[
        PROJECTS,
        KEYS,
        KEY_RATES,
        USER_RATES,
        NOTIFIED,
        API_KEYS_JWKS,
        USERS_JWKS,
        USERS,
    ];
}

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
        index: super::GSI1,
        pk: user_partition(u),
        sk: project_partition(p),
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

pub fn request(p: &ProjectId, r: &RequestId) -> Key {
    in_project(p, format!("{REQUEST}{r}"))
}

/// A user's requests, newest last: `USER#u` / `REQUEST#r` (request ids sort by creation).
pub fn request_index(u: &UserId, r: &RequestId) -> IndexKey {
    IndexKey {
        index: super::GSI1,
        pk: user_partition(u),
        sk: format!("{REQUEST}{r}"),
    }
}

/// A user's latest request for one template: `ASK#u#t`.
pub fn ask(p: &ProjectId, u: &UserId, t: &TemplateId) -> Key {
    in_project(p, format!("{}{t}", ask_prefix(u)))
}

/// All of a user's asks in a project share this sort-key prefix.
pub fn ask_prefix(u: &UserId) -> String {
    format!("{ASK}{u}#")
}

pub fn api_key(k: &KeyId) -> Key {
    Key {
        pk: key_partition(k),
        sk: META.to_string(),
    }
}

/// A holder's keys: `USER#u` / `KEY#k`.
pub fn key_holder_index(u: &UserId, k: &KeyId) -> IndexKey {
    IndexKey {
        index: super::GSI1,
        pk: user_partition(u),
        sk: format!("{KEY}{k}"),
    }
}

/// A project's keys: `PROJECT#p` / `KEY#k` in gsi2.
pub fn key_project_index(p: &ProjectId, k: &KeyId) -> IndexKey {
    IndexKey {
        index: super::GSI2,
        pk: project_partition(p),
        sk: format!("{KEY}{k}"),
    }
}

/// A key's import into a client project under a prefix: `PROJECT#c` / `IMPORT#prefix`.
pub fn import(c: &ProjectId, prefix: &Prefix) -> Key {
    in_project(c, format!("{IMPORT}{prefix}"))
}

/// The imports of a key, in gsi1: `KEY#k` / `IMPORT#c#prefix` (the key's lifecycle reaches them).
pub fn import_key_index(k: &KeyId, c: &ProjectId, prefix: &Prefix) -> IndexKey {
    IndexKey {
        index: super::GSI1,
        pk: key_partition(k),
        sk: format!("{IMPORT}{c}#{prefix}"),
    }
}

pub fn key_partition(k: &KeyId) -> String {
    format!("{KEY}{k}")
}

/// One imported secret of a client project: `PROJECT#c` / `SECRET#name`. Names are unique in a
/// project across prefixes (`a` + field `b_token` and prefix `a_b` would both make `a_b_token`).
pub fn secret(c: &ProjectId, name: &SecretName) -> Key {
    in_project(c, format!("{SECRET}{name}"))
}

/// One writer's usage counters of a key for one day: `KEY#k` / `USAGE#yyyy-mm-dd#<writer>`, the
/// writer being the container that counted (`keygate::usecases::counting`; items of earlier versions have
/// a shard number there). Days sort as text, so a range of days is one `BETWEEN`.
pub fn usage(k: &KeyId, day: &str, writer: &str) -> Key {
    Key {
        pk: key_partition(k),
        sk: format!("{USAGE}{day}#{writer}"),
    }
}

/// The rate-limit subject of a key's calls (its template's calls per minute).
pub fn key_calls_subject(k: &KeyId) -> String {
    key_partition(k)
}

/// The rate-limit subject of a user's key requests (per hour, across projects).
pub fn user_requests_subject(u: &UserId) -> String {
    format!("{}#requests", user_partition(u))
}

/// A rate limit's counter for one window: `RATE#<subject>` / `<window>` (a partition of its own,
/// so hot counters stay off the key's and the user's items).
pub fn rate_window(subject: &str, window: &str) -> Key {
    Key {
        pk: format!("{RATE}{subject}"),
        sk: window.to_string(),
    }
}

/// An audit entry, in time order within its project.
pub fn audit(p: &ProjectId, at: &str, id: &str) -> Key {
    in_project(p, format!("{AUDIT}{at}#{id}"))
}

/// The marker that a stream record's mail went out: `NOTIFIED#<stream event id>` / `META`.
pub fn notified(event_id: &str) -> Key {
    Key {
        pk: format!("{NOTIFIED}{event_id}"),
        sk: META.to_string(),
    }
}

/// Projects with the daily digest on, in gsi3: `SCHEDULE#digest` / `PROJECT#p`.
pub fn digest_index(p: &ProjectId) -> IndexKey {
    IndexKey {
        index: super::GSI3,
        pk: digest_partition(),
        sk: project_partition(p),
    }
}

pub fn digest_partition() -> String {
    format!("{SCHEDULE}digest")
}

/// Keys by the day (UTC, `yyyy-mm-dd`) they expire, in gsi3: `SCHEDULE#expires#day` / `KEY#k`.
pub fn key_expiry_index(day: &str, k: &KeyId) -> IndexKey {
    IndexKey {
        index: super::GSI3,
        pk: expiry_partition(day),
        sk: format!("{KEY}{k}"),
    }
}

pub fn expiry_partition(day: &str) -> String {
    format!("{SCHEDULE}expires#{day}")
}

/// The once-only marker of a scheduled job's work on one item (`DIGEST#day` on a project,
/// `REMINDED#n` and `EXPIRED` on a key).
pub fn schedule_marker(pk: &str, what: &str) -> Key {
    Key {
        pk: pk.to_string(),
        sk: format!("{SCHEDULE}{what}"),
    }
}

/// The marker of a project's digest for one day: `PROJECT#p` / `SCHEDULE#digest#<day>`.
pub fn digest_marker(p: &ProjectId, day: &str) -> Key {
    schedule_marker(&project_partition(p), &format!("digest#{day}"))
}

/// The marker of a key's expiry reminder `days` ahead: `KEY#k` / `SCHEDULE#reminded#<days>`.
pub fn reminder_marker(k: &KeyId, days: u32) -> Key {
    schedule_marker(&key_partition(k), &format!("reminded#{days}"))
}

/// A user's settings (their mail's language): `USER#u` / `SETTINGS`.
pub fn user_settings(u: &UserId) -> Key {
    Key {
        pk: user_partition(u),
        sk: SETTINGS.to_string(),
    }
}

/// A published set of public keys (a JWKS document): `JWKS#<name>` / `META`.
pub fn jwks(name: &str) -> Key {
    Key {
        pk: format!("{JWKS}{name}"),
        sk: META.to_string(),
    }
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
        let t = TemplateId::parse("t", "t1").expect("id");
        assert_eq!(ask(&p, &u, &t).sk, "ASK#alice#t1");
        assert!(ask(&p, &u, &t).sk.starts_with(&ask_prefix(&u)));
        let k = KeyId::parse("k", "k1").expect("id");
        assert_eq!(
            api_key(&k),
            Key {
                pk: "KEY#k1".into(),
                sk: "META".into()
            }
        );
        let by_project = key_project_index(&p, &k);
        assert_eq!(
            (
                by_project.index,
                by_project.pk.as_str(),
                by_project.sk.as_str()
            ),
            ("gsi2", "PROJECT#server", "KEY#k1")
        );
        assert_eq!(
            member_index(&p, &u),
            IndexKey {
                index: "gsi1",
                pk: "USER#alice".into(),
                sk: "PROJECT#server".into()
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
