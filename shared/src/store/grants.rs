//! What each function may do to the table, as IAM sees it: per DynamoDB action, the partition
//! families (`keys::partitions`, IAM's `dynamodb:LeadingKeys`) and, for the decisions' counters,
//! the attributes (`dynamodb:Attributes`) its code touches, and the indexes it queries.
//!
//! Derived in two steps, each kept next to what it describes:
//!
//! 1. every `Store` method declares what it touches in its module's `OPERATIONS` (beside the
//!    method; a test checks that every public `Store` method is declared), in terms of
//!    `keys::partitions`, whose patterns a test checks against every key constructor;
//! 2. [`FUNCTIONS`] lists, per function, the store operations its code reaches (a test checks
//!    that every store call in the code each function alone runs is listed).
//!
//! `infra/template.yaml` grants each function exactly [`grants`] (`tests/tests/iam.rs` compares
//! them statement by statement), and docs/security.md carries [`markdown_table`]. IAM cannot
//! tell two items of one partition apart (a sort key is no condition key): a grant on `KEY#*`
//! reaches a key's record and its usage counters alike, which is why the decisions' updates are
//! also held to their attributes.

use std::collections::{BTreeMap, BTreeSet};

/// A DynamoDB action on the table's items. A `TransactWriteItems` is authorised item by item as
/// the `PutItem`, `UpdateItem`, `DeleteItem` and `ConditionCheckItem` it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    GetItem,
    BatchGetItem,
    Query,
    PutItem,
    UpdateItem,
    DeleteItem,
    ConditionCheckItem,
}

impl Action {
    pub const ALL: [Action; 7] = [
        Action::GetItem,
        Action::BatchGetItem,
        Action::Query,
        Action::PutItem,
        Action::UpdateItem,
        Action::DeleteItem,
        Action::ConditionCheckItem,
    ];

    /// The action's name (`GetItem`).
    pub fn name(self) -> &'static str {
        match self {
            Action::GetItem => "GetItem",
            Action::BatchGetItem => "BatchGetItem",
            Action::Query => "Query",
            Action::PutItem => "PutItem",
            Action::UpdateItem => "UpdateItem",
            Action::DeleteItem => "DeleteItem",
            Action::ConditionCheckItem => "ConditionCheckItem",
        }
    }

    /// As an IAM policy names it (`dynamodb:GetItem`).
    pub fn iam(self) -> String {
        format!("dynamodb:{}", self.name())
    }

    /// Whether it changes items.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Action::PutItem | Action::UpdateItem | Action::DeleteItem
        )
    }
}

/// Where an action reaches: a partition family of the table (a `keys::partitions` pattern), or
/// a secondary index (queried only; IAM grants it by the index's ARN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum On {
    Table(&'static str),
    Index(&'static str),
}

/// The attributes an update may name, the item's keys included (`dynamodb:Attributes`
/// patterns for IAM's `StringLike`: `?` is one character, `*` any run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attributes {
    /// What they are, for the docs.
    pub what: &'static str,
    pub names: &'static [&'static str],
}

/// One thing a store operation does: an action, where, and (for updates held to their
/// attributes) which attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touch {
    pub action: Action,
    pub on: On,
    pub attributes: Option<Attributes>,
}

impl Touch {
    const fn table(action: Action, partition: &'static str) -> Touch {
        Touch {
            action,
            on: On::Table(partition),
            attributes: None,
        }
    }

    pub const fn get(partition: &'static str) -> Touch {
        Touch::table(Action::GetItem, partition)
    }

    pub const fn batch_get(partition: &'static str) -> Touch {
        Touch::table(Action::BatchGetItem, partition)
    }

    pub const fn query(partition: &'static str) -> Touch {
        Touch::table(Action::Query, partition)
    }

    pub const fn put(partition: &'static str) -> Touch {
        Touch::table(Action::PutItem, partition)
    }

    pub const fn update(partition: &'static str) -> Touch {
        Touch::table(Action::UpdateItem, partition)
    }

    pub const fn delete(partition: &'static str) -> Touch {
        Touch::table(Action::DeleteItem, partition)
    }

    pub const fn check(partition: &'static str) -> Touch {
        Touch::table(Action::ConditionCheckItem, partition)
    }

    pub const fn index(name: &'static str) -> Touch {
        Touch {
            action: Action::Query,
            on: On::Index(name),
            attributes: None,
        }
    }

    /// The same, naming only `attributes`.
    pub const fn only(self, attributes: Attributes) -> Touch {
        Touch {
            attributes: Some(attributes),
            ..self
        }
    }
}

/// A `Store` method and what it touches. For the published key sets, whose partition is the
/// method's argument, `method` carries it: `required_jwks(users)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub method: &'static str,
    pub touches: &'static [Touch],
}

pub const fn op(method: &'static str, touches: &'static [Touch]) -> Operation {
    Operation { method, touches }
}

/// Every store operation, module by module.
pub fn operations() -> impl Iterator<Item = &'static Operation> {
    [
        super::api_keys::OPERATIONS,
        super::audit::OPERATIONS,
        super::imports::OPERATIONS,
        super::jwks::OPERATIONS,
        super::limits::OPERATIONS,
        super::notified::OPERATIONS,
        super::projects::OPERATIONS,
        super::requests::OPERATIONS,
        super::templates::OPERATIONS,
        super::usage::OPERATIONS,
        super::users::OPERATIONS,
    ]
    .into_iter()
    .flatten()
}

/// A function (its directory under `functions/`, which is its binary's name) and the store
/// operations its code reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Function {
    pub name: &'static str,
    pub operations: &'static [&'static str],
}

/// The console users' keys: every function with console routes authenticates against them.
const CONSOLE_USERS: &str = "required_jwks(users)";

/// Every function that reaches the table (the console does not), with the operations of its
/// routes or its events. Kept in step with the code by the tests below (each function's own
/// modules) and by reading: a call missing here is a grant missing in production, which the
/// local stack (the emulator does not enforce IAM) cannot show.
pub const FUNCTIONS: &[Function] = &[
    Function {
        name: "projects",
        operations: &[
            CONSOLE_USERS,
            "get_member",
            "create_project",
            "get_project",
            "update_project_settings",
            "list_user_projects",
            "list_members",
            "put_member",
            // Removing a member (or their leaving): their keys revoked, requests cancelled.
            "remove_member",
            "user_asks",
            "get_request",
            "get_key",
            "list_holder_keys",
            "revoke_key",
            "put_role",
            "list_roles",
            "put_node",
            "list_nodes",
            "list_audit",
            // `/v1/me/settings`, and the token's `locale` claim recorded (domain::settings).
            "get_user_settings",
            "set_user_locale",
            "record_token_locale",
        ],
    },
    Function {
        name: "templates",
        operations: &[
            CONSOLE_USERS,
            "get_member",
            "create_template",
            "get_template",
            "list_templates",
            "replace_template",
            // Deleting a template cancels its pending requests.
            "pending_requests_of",
            "delete_template",
            // A template's `my_request` (request::my_requests).
            "user_asks",
            "get_ask",
        ],
    },
    Function {
        name: "requests",
        operations: &[
            CONSOLE_USERS,
            "get_member",
            "get_template",
            // With a slot of the requester's hourly window (`RATE#USER#u#requests`).
            "create_request",
            "get_request",
            "close_request",
            "list_project_requests",
            "list_user_requests",
        ],
    },
    Function {
        name: "approvals",
        operations: &[
            CONSOLE_USERS,
            // The signing keys must all be published before anything is signed.
            "published_jwks(api-keys)",
            "get_member",
            "get_request",
            "get_template",
            "get_ask",
            "approve",
            // Reject (request::reject).
            "close_request",
            "get_key",
            "last_used",
            "list_holder_keys",
            "list_project_keys",
            // A reveal's `key.revealed` entry.
            "append_audit",
            "revoke_key",
            "roll_key",
        ],
    },
    Function {
        name: "imports",
        operations: &[
            CONSOLE_USERS,
            "published_jwks(api-keys)",
            "get_member",
            "get_key",
            "get_import",
            "get_secrets",
            "existing_nodes",
            "list_secrets",
            "begin_import",
            "finish_import",
            "abort_import",
            "put_import",
            "delete_import",
            "set_secret_nodes",
        ],
    },
    Function {
        name: "verify",
        operations: DECISIONS,
    },
    Function {
        name: "authorizer",
        operations: DECISIONS,
    },
    Function {
        name: "stats",
        operations: &[
            CONSOLE_USERS,
            "get_member",
            "get_key",
            "usage_between",
            "all_project_keys",
        ],
    },
    Function {
        name: "notifier",
        operations: &[
            // Mails (notify): the project names its owner; the once-only markers; the
            // recipient's language.
            "get_project",
            "get_user_settings",
            "claim_notification",
            "release_notification",
            // Lifecycle events (lifecycle) read nothing: the stream's images carry them.
        ],
    },
    Function {
        name: "scheduler",
        operations: &[
            "list_digest_projects",
            "get_project",
            // The recipient's language.
            "get_user_settings",
            "pending_requests",
            "keys_expiring_on",
            "mark_key_expired",
            "claim_marker",
            "release_marker",
        ],
    },
    Function {
        name: "imports-sync",
        operations: &[
            "published_jwks(api-keys)",
            "imports_of_key",
            "get_key",
            "get_secrets",
            "revoke_import",
            "move_import",
        ],
    },
];

/// A decision (verify, the authorizer): the published verification keys, the key and its role,
/// the template's rate limit, the rate window; and the container's batched counts. No console
/// users.
const DECISIONS: &[&str] = &[
    "required_jwks(api-keys)",
    "key_and_role",
    "get_template",
    "add_usage",
    "take_lease",
];

/// What a function may do: per action and partition family, the attributes it may name (`None`:
/// any), and the indexes it may query.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    pub table: BTreeMap<(Action, &'static str), Option<BTreeSet<&'static str>>>,
    pub indexes: BTreeSet<&'static str>,
}

impl Grants {
    fn add(&mut self, touch: &Touch) {
        match touch.on {
            On::Index(name) => {
                self.indexes.insert(name);
            }
            On::Table(partition) => {
                let names = touch.attributes.map(|a| a.names.iter().copied().collect());
                match self.table.get_mut(&(touch.action, partition)) {
                    None => {
                        self.table.insert((touch.action, partition), names);
                    }
                    // Any attribute once: any attribute.
                    Some(held) => match (held.as_mut(), names) {
                        (Some(held), Some(more)) => held.extend(more),
                        _ => *held = None,
                    },
                }
            }
        }
    }

    /// The partition families `action` may reach, in `keys::partitions::FAMILIES` order.
    pub fn partitions(&self, action: Action) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = self
            .table
            .keys()
            .filter(|(a, _)| *a == action)
            .map(|(_, p)| *p)
            .collect();
        let rank = |p: &&str| {
            super::keys::partitions::FAMILIES
                .iter()
                .position(|f| f == p)
                .unwrap_or(usize::MAX)
        };
        out.sort_by_key(rank);
        out
    }
}

/// The store operation named `method`.
pub fn operation(method: &str) -> Option<&'static Operation> {
    operations().find(|o| o.method == method)
}

/// The function named `name`.
pub fn function(name: &str) -> Option<&'static Function> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// What function `name` may do: the union of its operations' touches. An error names an
/// unknown function or operation.
pub fn grants(name: &str) -> Result<Grants, String> {
    let f = function(name).ok_or_else(|| format!("no function {name:?} in FUNCTIONS"))?;
    let mut grants = Grants::default();
    for method in f.operations {
        let o = operation(method)
            .ok_or_else(|| format!("{name}: no store operation {method:?} in OPERATIONS"))?;
        for touch in o.touches {
            grants.add(touch);
        }
    }
    Ok(grants)
}

/// The attribute sets of `function`'s updates held to attributes, by partition (for the docs).
fn attribute_sets(function: &Function, partition: &str) -> Vec<&'static str> {
    let mut out = Vec::new();
    for method in function.operations {
        for t in operation(method).map(|o| o.touches).unwrap_or_default() {
            if let (On::Table(p), Some(a)) = (t.on, t.attributes)
                && p == partition
                && !out.contains(&a.what)
            {
                out.push(a.what);
            }
        }
    }
    out
}

/// The grants of every function as a Markdown table (docs/security.md holds it verbatim).
pub fn markdown_table() -> String {
    let mut out = String::from("| function |");
    for a in Action::ALL {
        out.push_str(&format!(" {} |", a.name()));
    }
    out.push_str(" indexes |\n|---|");
    out.push_str(&"---|".repeat(Action::ALL.len() + 1));
    out.push('\n');
    for f in FUNCTIONS {
        let Ok(g) = grants(f.name) else {
            continue;
        };
        out.push_str(&format!("| `{}` |", f.name));
        for a in Action::ALL {
            let cells: Vec<String> = g
                .partitions(a)
                .into_iter()
                .map(|p| {
                    let held = g.table.get(&(a, p)).is_some_and(Option::is_some);
                    if held {
                        format!("`{p}` ({} only)", attribute_sets(f, p).join(", "))
                    } else {
                        format!("`{p}`")
                    }
                })
                .collect();
            let cell = if cells.is_empty() {
                "·".to_string()
            } else {
                cells.join(" ")
            };
            out.push_str(&format!(" {cell} |"));
        }
        let indexes: Vec<String> = g.indexes.iter().map(|i| format!("`{i}`")).collect();
        let cell = if indexes.is_empty() {
            "·".to_string()
        } else {
            indexes.join(" ")
        };
        out.push_str(&format!(" {cell} |\n"));
    }
    out
}

/// IAM's `StringLike`: `*` matches any run of characters (also none), `?` exactly one.
pub fn like(pattern: &str, value: &str) -> bool {
    fn go(p: &[char], v: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('*', rest)) => (0..=v.len()).any(|i| go(rest, &v[i..])),
            Some(('?', rest)) => !v.is_empty() && go(rest, &v[1..]),
            Some((c, rest)) => v.first() == Some(c) && go(rest, &v[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    go(&p, &v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids::{
        KeyId, NodeId, Prefix, ProjectId, RequestId, RoleName, SecretName, TemplateId, UserId,
    };
    use crate::store::keys::{self, partitions};

    /// Each store module's source, beside its declared operations.
    const MODULES: &[(&str, &str, &[Operation])] = &[
        (
            "api_keys",
            include_str!("api_keys.rs"),
            super::super::api_keys::OPERATIONS,
        ),
        (
            "audit",
            include_str!("audit.rs"),
            super::super::audit::OPERATIONS,
        ),
        (
            "imports",
            include_str!("imports.rs"),
            super::super::imports::OPERATIONS,
        ),
        (
            "jwks",
            include_str!("jwks.rs"),
            super::super::jwks::OPERATIONS,
        ),
        (
            "limits",
            include_str!("limits.rs"),
            super::super::limits::OPERATIONS,
        ),
        (
            "notified",
            include_str!("notified.rs"),
            super::super::notified::OPERATIONS,
        ),
        (
            "projects",
            include_str!("projects.rs"),
            super::super::projects::OPERATIONS,
        ),
        (
            "requests",
            include_str!("requests.rs"),
            super::super::requests::OPERATIONS,
        ),
        (
            "templates",
            include_str!("templates.rs"),
            super::super::templates::OPERATIONS,
        ),
        (
            "usage",
            include_str!("usage.rs"),
            super::super::usage::OPERATIONS,
        ),
        (
            "users",
            include_str!("users.rs"),
            super::super::users::OPERATIONS,
        ),
    ];

    /// The names of the `pub async fn`s of a source file.
    fn public_async_fns(source: &str) -> BTreeSet<String> {
        source
            .split("pub async fn ")
            .skip(1)
            .filter_map(|rest| rest.split(['(', '<']).next())
            .map(str::to_string)
            .collect()
    }

    /// `method` without its argument (`required_jwks(users)` -> `required_jwks`).
    fn base(method: &str) -> &str {
        method.split('(').next().unwrap_or(method)
    }

    #[test]
    fn every_store_method_declares_what_it_touches() {
        let mut seen = BTreeSet::new();
        for (module, source, declared) in MODULES {
            let methods = public_async_fns(source);
            let names: BTreeSet<String> = declared.iter().map(|o| base(o.method).into()).collect();
            assert_eq!(
                methods, names,
                "store/{module}.rs: every `pub async fn` of the Store, and only those, is in its OPERATIONS"
            );
            for o in *declared {
                assert!(seen.insert(o.method), "{} declared twice", o.method);
                assert!(!o.touches.is_empty(), "{} touches nothing?", o.method);
            }
        }
        // The store modules are all here (mod.rs and keys.rs have no public async fn; grants.rs
        // is this one).
        let mods = include_str!("mod.rs");
        for line in mods
            .lines()
            .filter(|l| l.contains("mod ") && l.ends_with(';'))
        {
            let name = line
                .trim_end_matches(';')
                .rsplit(' ')
                .next()
                .unwrap_or_default();
            assert!(
                MODULES.iter().any(|(m, _, _)| *m == name) || ["keys", "grants"].contains(&name),
                "store module {name} is not checked here"
            );
        }
    }

    #[test]
    fn every_function_names_store_operations() {
        for f in FUNCTIONS {
            let g = grants(f.name).expect("known operations");
            assert!(!g.table.is_empty(), "{}", f.name);
            let mut names = f.operations.to_vec();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), f.operations.len(), "{}: listed twice", f.name);
        }
        assert!(grants("console").is_err(), "the console touches no table");
    }

    #[test]
    fn no_function_writes_the_published_keys_and_none_writes_beyond_its_families() {
        for f in FUNCTIONS {
            let g = grants(f.name).expect("grants");
            for (action, partition) in g.table.keys() {
                assert!(
                    partitions::FAMILIES.contains(partition),
                    "{}: {partition} is no partition family",
                    f.name
                );
                if action.writes() {
                    assert!(
                        !like(partitions::ALL_JWKS, partition),
                        "{} may {action:?} {partition}",
                        f.name
                    );
                }
            }
        }
    }

    /// Every partition key the store makes falls in exactly one family, and every family holds
    /// some: the patterns say what the code writes.
    #[test]
    fn the_families_cover_every_partition_key_exactly_once() {
        let p = ProjectId::parse("p", "server").expect("id");
        let u = UserId::parse("u", "alice@example.com").expect("id");
        let k = KeyId::parse("k", "01kkey").expect("id");
        let t = TemplateId::parse("t", "01ktemplate").expect("id");
        let r = RequestId::parse("r", "01krequest").expect("id");
        let prefix = Prefix::parse("prefix", "wx").expect("prefix");
        let name = SecretName::of(&prefix, "token");
        let keys_made = [
            (keys::project(&p), partitions::PROJECTS),
            (keys::member(&p, &u), partitions::PROJECTS),
            (
                keys::role(&p, &RoleName::parse("r", "reader").expect("role")),
                partitions::PROJECTS,
            ),
            (
                keys::node(&p, &NodeId::parse("n", "in").expect("node")),
                partitions::PROJECTS,
            ),
            (keys::template(&p, &t), partitions::PROJECTS),
            (keys::template_name(&p, "weather"), partitions::PROJECTS),
            (keys::request(&p, &r), partitions::PROJECTS),
            (keys::ask(&p, &u, &t), partitions::PROJECTS),
            (keys::audit(&p, "2026", "a1"), partitions::PROJECTS),
            (keys::import(&p, &prefix), partitions::PROJECTS),
            (keys::secret(&p, &name), partitions::PROJECTS),
            (keys::digest_marker(&p, "2026-01-01"), partitions::PROJECTS),
            (keys::api_key(&k), partitions::KEYS),
            (
                keys::usage(&k, "2026-01-01", "01kbw0000000000000000000"),
                partitions::KEYS,
            ),
            (keys::reminder_marker(&k, 7), partitions::KEYS),
            (
                super::super::Window::at(&keys::key_calls_subject(&k), 60, 5, 1_000).key,
                partitions::KEY_RATES,
            ),
            (
                super::super::Window::at(&keys::user_requests_subject(&u), 3600, 10, 1_000).key,
                partitions::USER_RATES,
            ),
            (keys::notified("e1"), partitions::NOTIFIED),
            (keys::user_settings(&u), partitions::USERS),
            (
                keys::jwks(super::super::jwks::API_KEYS),
                partitions::API_KEYS_JWKS,
            ),
            (
                keys::jwks(super::super::jwks::USERS),
                partitions::USERS_JWKS,
            ),
        ];
        for (key, family) in &keys_made {
            let matching: Vec<&str> = partitions::FAMILIES
                .iter()
                .copied()
                .filter(|f| like(f, &key.pk))
                .collect();
            assert_eq!(matching, [*family], "{}", key.pk);
        }
        for family in partitions::FAMILIES {
            assert!(
                keys_made.iter().any(|(_, f)| f == family),
                "{family} holds no key made here"
            );
        }
    }

    /// The windows are taken under the subjects the families say: decisions under the key
    /// (`RATE#KEY#k`, `take_lease`), requests under the user (`RATE#USER#u#requests`, in
    /// `create_request`'s transaction); the subjects are keys.rs's.
    #[test]
    fn the_rate_windows_are_taken_where_the_grants_say() {
        let squeeze = |s: &str| s.split_whitespace().collect::<String>();
        let decision = squeeze(include_str!("../usecases/decision.rs"));
        assert_eq!(decision.matches("Window::at(").count(), 1);
        assert!(
            decision.contains("Window::at(&crate::store::keys::key_calls_subject("),
            "decision.rs takes a key's window under keys::key_calls_subject: update partitions::KEY_RATES and the grants if not"
        );
        let request = squeeze(include_str!("../domain/request.rs"));
        assert_eq!(request.matches("Window::at(").count(), 1);
        assert!(
            request.contains("Window::at(&crate::store::keys::user_requests_subject("),
            "domain/request.rs takes a user's window under keys::user_requests_subject"
        );
        let touches = |m: &str| operation(m).expect("declared").touches;
        assert!(
            touches("take_lease")
                .iter()
                .all(|t| t.on == On::Table(partitions::KEY_RATES))
        );
        assert!(touches("create_request").contains(
            &Touch::update(partitions::USER_RATES).only(super::super::limits::RATE_ATTRIBUTES)
        ));
    }

    /// Code only one function (or only functions with the same operations) runs: every store
    /// call in it must be among each such function's operations (the exceptions name calls
    /// this file makes for another function).
    const OWN_CODE: &[(&str, &str, &[&str], &[&str])] = &[
        (
            "access.rs",
            include_str!("../access.rs"),
            &[
                "projects",
                "templates",
                "requests",
                "approvals",
                "imports",
                "stats",
            ],
            &[],
        ),
        (
            "identity.rs",
            include_str!("../identity.rs"),
            &[
                "projects",
                "templates",
                "requests",
                "approvals",
                "imports",
                "stats",
            ],
            &[],
        ),
        (
            "domain/project.rs",
            include_str!("../domain/project.rs"),
            &["projects"],
            &[],
        ),
        (
            "domain/audit.rs",
            include_str!("../domain/audit.rs"),
            &["projects"],
            &[],
        ),
        (
            "domain/settings.rs",
            include_str!("../domain/settings.rs"),
            &["projects"],
            &[],
        ),
        (
            "domain/template.rs",
            include_str!("../domain/template.rs"),
            &["templates"],
            &[],
        ),
        (
            "domain/request.rs",
            include_str!("../domain/request.rs"),
            &["requests"],
            // `my_requests`: the templates function's.
            &["user_asks"],
        ),
        (
            "domain/key.rs",
            include_str!("../domain/key.rs"),
            &["approvals"],
            &[],
        ),
        (
            "domain/import.rs",
            include_str!("../domain/import.rs"),
            &["imports"],
            &[],
        ),
        (
            "domain/usage.rs",
            include_str!("../domain/usage.rs"),
            &["stats"],
            &[],
        ),
        (
            "decision.rs",
            include_str!("../usecases/decision.rs"),
            &["verify", "authorizer"],
            &[],
        ),
        (
            "counting.rs",
            include_str!("../usecases/counting.rs"),
            &["verify", "authorizer"],
            &[],
        ),
        (
            "token/verifier.rs",
            include_str!("../token/verifier.rs"),
            &["verify", "authorizer"],
            &[],
        ),
        (
            "token/signer.rs",
            include_str!("../token/signer.rs"),
            &["approvals", "imports", "imports-sync"],
            &[],
        ),
        (
            "notify.rs",
            include_str!("../usecases/notify.rs"),
            &["notifier"],
            &[],
        ),
        (
            "schedule.rs",
            include_str!("../usecases/schedule.rs"),
            &["scheduler"],
            &[],
        ),
        (
            "sync.rs",
            include_str!("../usecases/sync.rs"),
            &["imports-sync"],
            &[],
        ),
    ];

    /// The store operations `source` calls (`.method(`; a published key set's by its argument).
    fn store_calls(source: &str) -> BTreeSet<String> {
        let methods: BTreeSet<&str> = operations().map(|o| base(o.method)).collect();
        let mut out = BTreeSet::new();
        for (i, _) in source.match_indices('.') {
            let rest = &source[i + 1..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let Some(after) = rest[name.len()..].strip_prefix('(') else {
                continue;
            };
            if !methods.contains(name.as_str()) {
                continue;
            }
            if name.ends_with("_jwks") {
                let arg = after.split(')').next().unwrap_or_default().trim();
                let set = match arg {
                    "jwks::USERS" => "users",
                    "jwks::API_KEYS" => "api-keys",
                    other => panic!("{name}({other}): name the key set"),
                };
                out.insert(format!("{name}({set})"));
            } else {
                out.insert(name);
            }
        }
        out
    }

    #[test]
    fn each_function_lists_the_store_calls_of_its_own_code() {
        for (file, source, functions, exceptions) in OWN_CODE {
            let calls = store_calls(source);
            assert!(!calls.is_empty(), "{file}: no store call found");
            for name in *functions {
                let f = function(name).expect("a function");
                for call in &calls {
                    assert!(
                        f.operations.contains(&call.as_str())
                            || exceptions.contains(&call.as_str()),
                        "{file} calls Store::{call}, which {name} does not list in FUNCTIONS: add it (and its grant to infra/template.yaml)"
                    );
                }
            }
        }
    }

    #[test]
    fn like_is_iams_string_like() {
        assert!(like("KEY#*", "KEY#01k"));
        assert!(like("KEY#*", "KEY#"));
        assert!(!like("KEY#*", "RATE#KEY#01k"));
        assert!(like("RATE#KEY#*", "RATE#KEY#01k"));
        assert!(like("h??", "h07"));
        assert!(!like("h??", "holder"));
        assert!(like("hd??", "hd23"));
        assert!(like("r:*", "r:GET /projects/{p}/files/{f}"));
        assert!(like("JWKS#users", "JWKS#users"));
        assert!(!like("JWKS#users", "JWKS#users2"));
    }

    #[test]
    fn the_docs_table_has_a_row_per_function() {
        let table = markdown_table();
        assert_eq!(table.lines().count(), FUNCTIONS.len() + 2, "{table}");
        assert!(table.contains("| `verify` |"), "{table}");
        assert!(table.contains("(usage counters only)"), "{table}");
    }
}
