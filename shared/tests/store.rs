//! The library against the emulator (`make test` starts it and exports its address): each test
//! uses its own project ids and checks both the result and what the table holds afterwards.

use keygate::model::checks::Name;
use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use keygate::config::ProjectCreation;
use keygate::domain::project::{self, MemberInput, NewProjectInput, RoleInput};
use keygate::domain::template::{self, NewTemplateInput, TemplatePatch};
use keygate::http::PageRequest;
use keygate::model::ids::{Email, ProjectId, RoleName, UserId};
use keygate::store::Store;
use keygate::{Caller, Error};

struct Env {
    store: Store,
    ddb: aws_sdk_dynamodb::Client,
    table: String,
}

async fn env() -> Env {
    let table =
        std::env::var("TABLE_NAME").expect("TABLE_NAME is not set: run the tests with `make test`");
    let sdk = keygate::adapters::aws::aws_config().await;
    Env {
        store: Store::new(&sdk, table.clone()),
        ddb: aws_sdk_dynamodb::Client::new(&sdk),
        table,
    }
}

fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}",
        ulid::Ulid::new().to_string().to_ascii_lowercase()
    )
}

fn caller(id: &str) -> Caller {
    Caller::new(
        UserId::parse("id", id).expect("user id"),
        Email::parse("email", &format!("{id}@example.com")).expect("email"),
    )
}

async fn item(env: &Env, pk: &str, sk: &str) -> Option<HashMap<String, AttributeValue>> {
    env.ddb
        .get_item()
        .table_name(&env.table)
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .consistent_read(true)
        .send()
        .await
        .expect("GetItem")
        .item
}

async fn sort_keys(env: &Env, pk: &str) -> Vec<String> {
    let out = env
        .ddb
        .query()
        .table_name(&env.table)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
        .send()
        .await
        .expect("Query");
    out.items
        .unwrap_or_default()
        .iter()
        .filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()).cloned())
        .collect()
}

async fn new_project(env: &Env, owner: &Caller) -> ProjectId {
    let id = unique("p");
    project::create(
        &env.store,
        owner,
        &ProjectCreation::Anyone,
        NewProjectInput {
            id: Some(id.clone()),
            name: "Test".into(),
        },
    )
    .await
    .expect("project");
    let p = ProjectId::parse("p", &id).expect("id");
    let reader = RoleInput {
        description: None,
        permissions: vec!["packages:read".into()],
    };
    project::put_role(
        &env.store,
        owner,
        &p,
        RoleName::parse("r", "reader").expect("role"),
        reader,
    )
    .await
    .expect("role");
    p
}

fn template_input(name: &str, role: &str) -> NewTemplateInput {
    NewTemplateInput {
        name: name.into(),
        description: None,
        role: role.into(),
        ttl_days: None,
        rate_limit_per_minute: None,
        fields: None,
    }
}

#[tokio::test]
async fn items_carry_keys_entity_type_and_sparse_index_attributes() {
    let env = env().await;
    let alice = caller(&unique("alice-"));
    let p = new_project(&env, &alice).await;
    let pk = format!("PROJECT#{p}");
    let meta = item(&env, &pk, "META").await.expect("project item");
    assert_eq!(meta["entity_type"], AttributeValue::S("project".into()));
    assert!(
        !meta.contains_key("gsi1pk"),
        "only listed items carry index keys"
    );
    let member = item(&env, &pk, &format!("MEMBER#{}", alice.id))
        .await
        .expect("member item");
    assert_eq!(member["entity_type"], AttributeValue::S("member".into()));
    assert_eq!(
        member["gsi1pk"],
        AttributeValue::S(format!("USER#{}", alice.id))
    );
    assert_eq!(member["gsi1sk"], AttributeValue::S(pk.clone()));
    let got = env
        .store
        .get_project(&p)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(got.owner, alice.person());
}

#[tokio::test]
async fn a_failed_transaction_leaves_no_partial_items() {
    let env = env().await;
    let alice = caller(&unique("alice-"));
    let mallory = caller(&unique("mallory-"));
    let p = new_project(&env, &alice).await;
    let again = project::create(
        &env.store,
        &mallory,
        &ProjectCreation::Anyone,
        NewProjectInput {
            id: Some(p.to_string()),
            name: "Taken".into(),
        },
    )
    .await;
    assert!(matches!(again, Err(Error::Conflict(_))), "{again:?}");
    assert!(
        item(
            &env,
            &format!("PROJECT#{p}"),
            &format!("MEMBER#{}", mallory.id)
        )
        .await
        .is_none()
    );

    let ghost = template::create(&env.store, &alice, &p, template_input("Ghost", "ghost")).await;
    assert!(matches!(ghost, Err(Error::Unprocessable(_))), "{ghost:?}");
    let sks = sort_keys(&env, &format!("PROJECT#{p}")).await;
    assert!(!sks.iter().any(|s| s.starts_with("TEMPLATE")), "{sks:?}");
}

#[tokio::test]
async fn stale_replace_is_a_version_mismatch_and_keeps_the_stored_template() {
    let env = env().await;
    let alice = caller(&unique("alice-"));
    let p = new_project(&env, &alice).await;
    let t = template::create(
        &env.store,
        &alice,
        &p,
        template_input("Versioned", "reader"),
    )
    .await
    .expect("template");
    let patch = TemplatePatch {
        name: Some("Second".into()),
        description: None,
        role: None,
        ttl_days: None,
        rate_limit_per_minute: None,
        version: 1,
    };
    let v2 = template::update(&env.store, &alice, &p, &t.id, patch)
        .await
        .expect("update");
    assert_eq!(v2.version, 2);
    // A writer that read version 1 loses at the store's condition, not only at the pre-check.
    let mut stale = t.clone();
    stale.name = Name::parse("test", "Third").expect("checked");
    stale.version = 2;
    let audit =
        keygate::domain::audit::AuditEntry::new(&p, &alice, "template.updated", "template", &t.id);
    let r = env.store.replace_template(&t, &stale, &audit).await;
    assert!(matches!(r, Err(Error::VersionMismatch { .. })), "{r:?}");
    let stored = env
        .store
        .get_template(&p, &t.id)
        .await
        .expect("read")
        .expect("present");
    assert_eq!(stored, v2);
    let sks = sort_keys(&env, &format!("PROJECT#{p}")).await;
    assert!(
        sks.contains(&"TEMPLATENAME#second".to_string())
            && !sks.contains(&"TEMPLATENAME#third".to_string()),
        "{sks:?}"
    );
}

#[tokio::test]
async fn lists_page_to_the_end_without_repeats() {
    let env = env().await;
    let alice = caller(&unique("alice-"));
    let p = new_project(&env, &alice).await;
    for i in 0..7 {
        let role = RoleInput {
            description: None,
            permissions: vec!["files:read".into()],
        };
        project::put_role(
            &env.store,
            &alice,
            &p,
            RoleName::parse("r", &format!("role{i}")).expect("role"),
            role,
        )
        .await
        .expect("role");
    }
    let mut seen = Vec::new();
    let mut page = PageRequest {
        size: 3,
        cursor: None,
    };
    loop {
        let got = env.store.list_roles(&p, &page).await.expect("page");
        assert!(got.items.len() <= 3);
        seen.extend(got.items.into_iter().map(|r| r.name.to_string()));
        match got.next {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    let mut want: Vec<String> = (0..7).map(|i| format!("role{i}")).collect();
    want.push("reader".into());
    want.sort();
    assert_eq!(seen, want);
}

#[tokio::test]
async fn memberships_are_found_through_the_index() {
    let env = env().await;
    let alice = caller(&unique("alice-"));
    let bob = caller(&unique("bob-"));
    let p = new_project(&env, &alice).await;
    project::put_member(
        &env.store,
        &alice,
        &p,
        &bob.id,
        MemberInput {
            email: bob.email.to_string(),
        },
    )
    .await
    .expect("member");
    let mine = project::my_projects(
        &env.store,
        &bob,
        &PageRequest {
            size: 10,
            cursor: None,
        },
    )
    .await
    .expect("list");
    assert_eq!(mine.items.len(), 1);
    assert_eq!(mine.items[0].project_id, p);
    assert_eq!(mine.items[0].project_name, "Test");
}

/// A project id a test may own under `claim`, and a caller whose token claims it.
fn claiming(id: &str, projects: &[&str]) -> Caller {
    let mut c = caller(id);
    c.claimed_projects = projects.iter().map(|p| p.to_string()).collect();
    c
}

#[tokio::test]
async fn nobody_creates_a_project_when_creation_is_closed() {
    let env = env().await;
    let p = unique("p");
    // Even a caller whose token claims the id: `nobody` is the deployed default.
    let alice = claiming(&unique("alice-"), &[&p]);
    let got = project::create(
        &env.store,
        &alice,
        &ProjectCreation::Nobody,
        NewProjectInput {
            id: Some(p.clone()),
            name: "Mine".into(),
        },
    )
    .await;
    match got {
        Err(Error::Forbidden(why)) => assert!(why.contains("PROJECT_CREATION"), "{why}"),
        other => panic!("expected 403, got {other:?}"),
    }
    assert!(item(&env, &format!("PROJECT#{p}"), "META").await.is_none());
    assert!(
        item(
            &env,
            &format!("PROJECT#{p}"),
            &format!("MEMBER#{}", alice.id)
        )
        .await
        .is_none()
    );
}

#[tokio::test]
async fn under_claim_only_a_claimed_id_can_be_created() {
    let env = env().await;
    let claim = ProjectCreation::Claim("keygate_projects".into());
    let mine = unique("p");
    let theirs = unique("p");
    let alice = claiming(&unique("alice-"), &["other", &mine]);
    let create = |who: Caller, id: Option<String>| {
        let store = env.store.clone();
        let claim = claim.clone();
        async move {
            project::create(
                &store,
                &who,
                &claim,
                NewProjectInput {
                    id,
                    name: "Claimed".into(),
                },
            )
            .await
        }
    };

    // Someone else's platform project: refused, naming the claim; nothing written.
    match create(alice.clone(), Some(theirs.clone())).await {
        Err(Error::Forbidden(why)) => {
            assert!(
                why.contains("keygate_projects") && why.contains(&theirs),
                "{why}"
            )
        }
        other => panic!("expected 403, got {other:?}"),
    }
    assert!(
        item(&env, &format!("PROJECT#{theirs}"), "META")
            .await
            .is_none()
    );

    // No id: a generated one could never be claimed, so the id is required.
    match create(alice.clone(), None).await {
        Err(Error::Invalid(errors)) => assert_eq!(errors[0].field, "id", "{errors:?}"),
        other => panic!("expected 400, got {other:?}"),
    }

    // A user without the claim at all.
    let bob = caller(&unique("bob-"));
    assert!(matches!(
        create(bob, Some(mine.clone())).await,
        Err(Error::Forbidden(_))
    ));

    // The claimed id: created, alice owns it.
    let made = create(alice.clone(), Some(mine.clone()))
        .await
        .expect("a claimed id");
    assert_eq!(made.owner, alice.person());
    let p = ProjectId::parse("p", &mine).expect("id");
    let stored = env
        .store
        .get_project(&p)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.owner, alice.person());
}
