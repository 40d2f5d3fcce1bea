//! Set-up shared by the library's tests against the emulator: users, projects, and a key held
//! by one user with a client project of their own.
#![allow(dead_code)]

use keygate::Caller;
use keygate::config::ApiKeyConfig;
use keygate::config::ProjectCreation;
use keygate::domain::key;
use keygate::domain::project::{self, MemberInput, NewProjectInput, NodeInput, RoleInput};
use keygate::domain::request::{self, NewRequestInput};
use keygate::domain::template::{self, NewTemplateInput};
use keygate::model::ids::{Email, KeyId, NodeId, ProjectId, RoleName, TemplateId, UserId};
use keygate::store::Store;
use keygate::token::Signer;

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    )
}

pub fn caller(id: &str) -> Caller {
    Caller::new(
        UserId::parse("id", id).expect("user id"),
        Email::parse("email", &format!("{id}@example.com")).expect("email"),
    )
}

pub async fn project_of(store: &Store, owner: &Caller) -> ProjectId {
    let id = unique("p");
    project::create(
        store,
        owner,
        &ProjectCreation::Anyone,
        NewProjectInput {
            id: Some(id.clone()),
            name: "Test".into(),
        },
    )
    .await
    .expect("project");
    ProjectId::parse("p", &id).expect("id")
}

/// alice's new project with role `reader` (packages:read) and bob as a member: (alice, bob, p).
pub async fn project_with_member(store: &Store) -> (Caller, Caller, ProjectId) {
    let alice = caller(&unique("alice-"));
    let bob = caller(&unique("bob-"));
    let p = project_of(store, &alice).await;
    project::put_role(
        store,
        &alice,
        &p,
        RoleName::parse("r", "reader").expect("role"),
        RoleInput {
            description: None,
            permissions: vec!["packages:read".into()],
        },
    )
    .await
    .expect("role");
    project::put_member(
        store,
        &alice,
        &p,
        &bob.id,
        MemberInput {
            email: bob.email.to_string(),
        },
    )
    .await
    .expect("member");
    (alice, bob, p)
}

/// A new template of role `reader` in `p` with `fields` info fields; its id.
pub async fn template_of(
    store: &Store,
    owner: &Caller,
    p: &ProjectId,
    fields: usize,
) -> TemplateId {
    let input: NewTemplateInput = serde_json::from_value(serde_json::json!({
        "name": unique("T"),
        "role": "reader",
        "fields": (0..fields)
            .map(|i| serde_json::json!({"name": format!("Field {i}"), "value": format!("value {i}")}))
            .collect::<Vec<_>>(),
    }))
    .expect("template input");
    template::create(store, owner, p, input)
        .await
        .expect("template")
        .id
}

/// bob holds a key of alice's project whose template has `fields` info fields; bob's client
/// project has node `worker`. Returns (bob, key id, client project).
pub async fn holder_with_key(
    store: &Store,
    signer: &Signer,
    fields: usize,
) -> (Caller, KeyId, ProjectId) {
    let (alice, bob, p) = project_with_member(store).await;
    let t = template_of(store, &alice, &p, fields).await;
    let r = request::create(
        store,
        &bob,
        &p,
        &t,
        NewRequestInput { comment: None },
        u32::MAX,
    )
    .await
    .expect("request");
    let cfg = ApiKeyConfig::from_lookup(&|_: &str| None).expect("defaults");
    let (_, k) = key::approve(store, signer, &cfg, &alice, &p, &r.id)
        .await
        .expect("approve");
    let c = project_of(store, &bob).await;
    project::put_node(
        store,
        &bob,
        &c,
        NodeId::parse("n", "worker").expect("node"),
        NodeInput {
            name: "Worker".into(),
        },
    )
    .await
    .expect("node");
    (bob, k.id, c)
}
