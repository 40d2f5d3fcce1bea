//! Templates over HTTP: CRUD, info fields, case-insensitive unique names (guard items), roles
//! that must exist, optimistic versions, and the table after every failure.

use keygate_e2e::{Fixture, Stack};
use serde_json::json;

fn pk(f: &Fixture) -> String {
    format!("PROJECT#{}", f.project)
}

/// Sort keys of the project's templates and name guards.
async fn template_items(stack: &Stack, f: &Fixture) -> Vec<String> {
    let mut sks: Vec<String> = stack
        .sort_keys(&pk(f))
        .await
        .into_iter()
        .filter(|s| s.starts_with("TEMPLATE"))
        .collect();
    sks.sort();
    sks
}

#[tokio::test]
async fn created_template_reads_back_in_get_and_list() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    let created = stack
        .post(
            &f.path("/templates"),
            &owner,
            json!({"name": "Weather reader", "description": "Reads weather", "role": "reader", "ttl_days": 30,
                   "fields": [{"name": "project id", "description": "the project", "value": f.project}, {"name": "input node", "value": "input"}]}),
        )
        .await
        .expect(201)
        .body;
    assert_eq!(created["version"], 1);
    assert_eq!(created["ttl_days"], 30);
    assert_eq!(created["my_request"], serde_json::Value::Null);
    assert_eq!(created["fields"].as_array().map(Vec::len), Some(2));
    let id = created["id"].as_str().expect("id");

    let got = stack
        .get(
            &f.path(&format!("/templates/{id}")),
            &stack.token(&f.member),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(got, created);
    let list = stack
        .get(&f.path("/templates"), &owner)
        .await
        .expect(200)
        .body;
    assert_eq!(list["items"][0], created);
    assert_eq!(list["next"], serde_json::Value::Null);
    assert_eq!(
        template_items(&stack, &f).await,
        vec![
            format!("TEMPLATE#{id}"),
            "TEMPLATENAME#weather reader".to_string()
        ]
    );
}

#[tokio::test]
async fn names_are_unique_per_project_ignoring_case() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    f.template(&stack, "Weather").await;
    let dup = stack
        .post(
            &f.path("/templates"),
            &stack.token(&f.owner),
            json!({"name": "WEATHER", "role": "reader"}),
        )
        .await
        .expect(409);
    assert!(
        dup.body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("WEATHER")
    );
    assert_eq!(
        template_items(&stack, &f).await.len(),
        2,
        "no partial items after the conflict"
    );
    // Another project may use the name.
    let g = Fixture::new(&stack).await;
    g.template(&stack, "weather").await;
}

#[tokio::test]
async fn twenty_concurrent_creates_of_one_name_yield_exactly_one_template() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    let path = f.path("/templates");
    let calls = (0..20).map(|i| {
        stack.post(
            &path,
            &owner,
            json!({"name": if i % 2 == 0 { "Race" } else { "race" }, "role": "reader"}),
        )
    });
    let replies = futures::future::join_all(calls).await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let conflicts = replies.iter().filter(|r| r.status == 409).count();
    assert_eq!(
        (created, conflicts),
        (1, 19),
        "statuses: {:?}",
        replies.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let items = template_items(&stack, &f).await;
    assert_eq!(
        items.iter().filter(|s| s.starts_with("TEMPLATE#")).count(),
        1,
        "{items:?}"
    );
    assert_eq!(
        items
            .iter()
            .filter(|s| s.starts_with("TEMPLATENAME#"))
            .count(),
        1,
        "{items:?}"
    );
}

#[tokio::test]
async fn role_must_exist_and_a_refused_create_writes_nothing() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let reply = stack
        .post(
            &f.path("/templates"),
            &stack.token(&f.owner),
            json!({"name": "Ghost", "role": "ghost"}),
        )
        .await
        .expect(422);
    assert_eq!(reply.fields(), vec!["role"]);
    assert!(
        template_items(&stack, &f).await.is_empty(),
        "neither template nor name guard stored"
    );
    // The name is still free.
    f.template(&stack, "Ghost").await;
}

#[tokio::test]
async fn stale_version_is_412_and_changes_nothing() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    let t = f.template(&stack, "Versioned").await;
    let path = f.path(&format!("/templates/{}", t["id"].as_str().expect("id")));
    let v2 = stack
        .patch(
            &path,
            &owner,
            json!({"description": "second", "version": 1}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(v2["version"], 2);
    let stale = stack
        .patch(
            &path,
            &owner,
            json!({"name": "Renamed", "description": "lost", "version": 1}),
        )
        .await
        .expect(412);
    assert_eq!(stale.body["current_version"], 2);
    assert_eq!(stack.get(&path, &owner).await.expect(200).body, v2);
    assert!(
        template_items(&stack, &f)
            .await
            .contains(&"TEMPLATENAME#versioned".to_string()),
        "guard not moved"
    );
    assert!(
        !template_items(&stack, &f)
            .await
            .contains(&"TEMPLATENAME#renamed".to_string())
    );
}

#[tokio::test]
async fn rename_moves_the_guard_and_refuses_a_taken_name() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    let a = f.template(&stack, "Alpha").await;
    f.template(&stack, "Beta").await;
    let path = f.path(&format!("/templates/{}", a["id"].as_str().expect("id")));
    stack
        .patch(&path, &owner, json!({"name": "BETA", "version": 1}))
        .await
        .expect(409);
    assert_eq!(
        stack.get(&path, &owner).await.expect(200).body,
        a,
        "nothing changed"
    );
    let renamed = stack
        .patch(&path, &owner, json!({"name": "Gamma", "version": 1}))
        .await
        .expect(200)
        .body;
    assert_eq!(renamed["name"], "Gamma");
    let guards: Vec<String> = template_items(&stack, &f)
        .await
        .into_iter()
        .filter(|s| s.starts_with("TEMPLATENAME#"))
        .collect();
    assert_eq!(guards, vec!["TEMPLATENAME#beta", "TEMPLATENAME#gamma"]);
    f.template(&stack, "alpha").await; // the old name is free again
}

#[tokio::test]
async fn role_change_must_name_an_existing_role_and_ttl_can_be_cleared() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    let t = f.template(&stack, "Roles").await;
    let path = f.path(&format!("/templates/{}", t["id"].as_str().expect("id")));
    let r = stack
        .patch(&path, &owner, json!({"role": "ghost", "version": 1}))
        .await
        .expect(422);
    assert_eq!(r.fields(), vec!["role"]);
    assert_eq!(
        stack.get(&path, &owner).await.expect(200).body["version"],
        1
    );
    stack
        .put(
            &f.path("/roles/writer"),
            &owner,
            json!({"permissions": ["packages:write"]}),
        )
        .await
        .expect(200);
    let v2 = stack
        .patch(
            &path,
            &owner,
            json!({"role": "writer", "ttl_days": 7, "version": 1}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        (v2["role"].as_str(), v2["ttl_days"].as_u64()),
        (Some("writer"), Some(7))
    );
    let v3 = stack
        .patch(&path, &owner, json!({"ttl_days": null, "version": 2}))
        .await
        .expect(200)
        .body;
    assert_eq!(v3["ttl_days"], serde_json::Value::Null);
}

#[tokio::test]
async fn deleting_a_template_frees_its_name() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    let t = f.template(&stack, "Short lived").await;
    let path = f.path(&format!("/templates/{}", t["id"].as_str().expect("id")));
    stack.delete(&path, &owner).await.expect(204);
    stack.get(&path, &owner).await.expect(404);
    stack.delete(&path, &owner).await.expect(404);
    assert!(template_items(&stack, &f).await.is_empty());
    f.template(&stack, "SHORT LIVED").await;
}

#[tokio::test]
async fn info_fields_are_added_edited_and_deleted_with_version_bumps() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    let t = f.template(&stack, "Fields").await;
    let base = f.path(&format!("/templates/{}", t["id"].as_str().expect("id")));

    let added = stack
        .post(
            &format!("{base}/fields"),
            &owner,
            json!({"name": "output node", "description": "where results go", "value": "output"}),
        )
        .await
        .expect(201)
        .body;
    let fid = added["id"].as_str().expect("field id");
    let after_add = stack.get(&base, &owner).await.expect(200).body;
    assert_eq!(after_add["version"], 2);
    assert_eq!(after_add["fields"][1], added);

    let edited = stack
        .patch(
            &format!("{base}/fields/{fid}"),
            &owner,
            json!({"value": "output-2"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        (edited["value"].as_str(), edited["name"].as_str()),
        (Some("output-2"), Some("output node"))
    );

    // Names must stay distinct as identifiers: "Output-Node" is `output_node` too.
    let dup = stack
        .post(
            &format!("{base}/fields"),
            &owner,
            json!({"name": "Output-Node", "value": "x"}),
        )
        .await
        .expect(400);
    assert_eq!(dup.fields(), vec!["name"]);
    let bad = stack
        .post(
            &format!("{base}/fields"),
            &owner,
            json!({"name": "9lives", "value": ""}),
        )
        .await
        .expect(400);
    assert_eq!(bad.fields(), vec!["name", "value"]);

    stack
        .delete(&format!("{base}/fields/{fid}"), &owner)
        .await
        .expect(204);
    stack
        .delete(&format!("{base}/fields/{fid}"), &owner)
        .await
        .expect(404);
    stack
        .patch(
            &format!("{base}/fields/{fid}"),
            &owner,
            json!({"value": "v"}),
        )
        .await
        .expect(404);
    let end = stack.get(&base, &owner).await.expect(200).body;
    assert_eq!(end["version"], 4);
    assert_eq!(end["fields"].as_array().map(Vec::len), Some(1));
    // A PATCH with the version read before the field changes is stale now.
    stack
        .patch(&base, &owner, json!({"description": "x", "version": 1}))
        .await
        .expect(412);
}

#[tokio::test]
async fn a_template_holds_at_most_twenty_fields() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    let fields: Vec<_> = (0..20)
        .map(|i| json!({"name": format!("f{i}"), "value": "v"}))
        .collect();
    let t = stack
        .post(
            &f.path("/templates"),
            &owner,
            json!({"name": "Full", "role": "reader", "fields": fields}),
        )
        .await
        .expect(201)
        .body;
    let base = f.path(&format!("/templates/{}", t["id"].as_str().expect("id")));
    let r = stack
        .post(
            &format!("{base}/fields"),
            &owner,
            json!({"name": "one more", "value": "v"}),
        )
        .await
        .expect(422);
    assert_eq!(r.fields(), vec!["fields"]);
    assert_eq!(
        stack.get(&base, &owner).await.expect(200).body["version"],
        1
    );
}

#[tokio::test]
async fn invalid_template_input_names_every_field() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let r = stack
        .post(&f.path("/templates"), &stack.token(&f.owner), json!({"name": " ", "role": "Not A Role", "ttl_days": 0, "fields": [{"name": "ok", "value": "x".repeat(2049)}]}))
        .await
        .expect(400);
    assert_eq!(
        r.fields(),
        vec!["name", "role", "ttl_days", "fields[0].value"]
    );
    let r = stack
        .post(
            &f.path("/templates"),
            &stack.token(&f.owner),
            json!({"role": "reader"}),
        )
        .await
        .expect(400);
    assert_eq!(r.fields(), vec!["name"]);
    let r = stack
        .post(
            &f.path("/templates"),
            &stack.token(&f.owner),
            json!({"name": "x", "role": "reader", "ttl_days": -1}),
        )
        .await
        .expect(400);
    assert_eq!(r.fields(), vec!["ttl_days"]);
    assert!(template_items(&stack, &f).await.is_empty());
}

#[tokio::test]
async fn template_lists_page_with_cursors() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    for i in 0..5 {
        f.template(&stack, &format!("Paged {i}")).await;
    }
    let mut names = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let q = match &cursor {
            Some(c) => format!("?page_size=2&cursor={c}"),
            None => "?page_size=2".into(),
        };
        let page = stack
            .get(&f.path(&format!("/templates{q}")), &owner)
            .await
            .expect(200)
            .body;
        pages += 1;
        names.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|t| t["name"].as_str().unwrap_or("").to_string()),
        );
        match page["next"].as_str() {
            Some(next) => cursor = Some(next.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(
        names,
        (0..5).map(|i| format!("Paged {i}")).collect::<Vec<_>>(),
        "creation order, no repeats"
    );

    stack
        .get(&f.path("/templates?page_size=0"), &owner)
        .await
        .expect(400);
    stack
        .get(&f.path("/templates?page_size=101"), &owner)
        .await
        .expect(400);
    let bad = stack
        .get(&f.path("/templates?cursor=bm90LWEtY3Vyc29y"), &owner)
        .await
        .expect(400);
    assert_eq!(bad.fields(), vec!["cursor"]);
    // A cursor from another project's list does not continue this one.
    let g = Fixture::new(&stack).await;
    for i in 0..3 {
        g.template(&stack, &format!("Other {i}")).await;
    }
    let other = stack
        .get(&g.path("/templates?page_size=1"), &stack.token(&g.owner))
        .await
        .expect(200)
        .body;
    let foreign = other["next"].as_str().expect("next");
    stack
        .get(&f.path(&format!("/templates?cursor={foreign}")), &owner)
        .await
        .expect(400);
}
