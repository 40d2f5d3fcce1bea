//! Projects, members, roles and nodes over HTTP, and the table after each change.

use keygate_e2e::{Fixture, Stack, unique};
use serde_json::json;

#[tokio::test]
async fn a_created_project_has_its_creator_as_owner() {
    let stack = Stack::new().await;
    let alice = unique("alice-");
    let token = stack.token(&alice);
    let p = stack
        .post("/v1/projects", &token, json!({"name": "  Generated id  "}))
        .await
        .expect(201)
        .body;
    let id = p["id"].as_str().expect("id");
    assert_eq!(p["name"], "Generated id");
    assert_eq!(
        p["owner"],
        json!({"id": alice, "email": format!("{alice}@example.com")})
    );
    assert_eq!(
        stack
            .get(&format!("/v1/projects/{id}"), &token)
            .await
            .expect(200)
            .body,
        p
    );
    let mut sks = stack.sort_keys(&format!("PROJECT#{id}")).await;
    // The creation's one audit entry, written with it.
    let audit = sks.iter().filter(|s| s.starts_with("AUDIT#")).count();
    assert_eq!(audit, 1, "{sks:?}");
    sks.retain(|s| !s.starts_with("AUDIT#"));
    sks.sort();
    let mut want = vec!["META".to_string(), format!("MEMBER#{alice}")];
    want.sort();
    assert_eq!(sks, want);
    let members = stack
        .get(&format!("/v1/projects/{id}/members"), &token)
        .await
        .expect(200)
        .body;
    assert_eq!(members["items"][0]["membership"], "owner");
}

#[tokio::test]
async fn a_taken_project_id_is_a_conflict_and_writes_nothing() {
    let stack = Stack::new().await;
    let id = unique("p");
    let first = unique("first-");
    let second = unique("second-");
    stack
        .post(
            "/v1/projects",
            &stack.token(&first),
            json!({"id": id, "name": "First"}),
        )
        .await
        .expect(201);
    stack
        .post(
            "/v1/projects",
            &stack.token(&second),
            json!({"id": id, "name": "Second"}),
        )
        .await
        .expect(409);
    let p = stack
        .get(&format!("/v1/projects/{id}"), &stack.token(&first))
        .await
        .expect(200)
        .body;
    assert_eq!(p["name"], "First");
    // The transaction was rolled back whole: the second creator got no membership.
    let sks = stack.sort_keys(&format!("PROJECT#{id}")).await;
    assert!(!sks.contains(&format!("MEMBER#{second}")), "{sks:?}");
    stack
        .get(&format!("/v1/projects/{id}"), &stack.token(&second))
        .await
        .expect(404);
}

#[tokio::test]
async fn project_input_is_validated_field_by_field() {
    let stack = Stack::new().await;
    let t = stack.token(&unique("u-"));
    let r = stack
        .post("/v1/projects", &t, json!({"id": "Bad Id!", "name": ""}))
        .await
        .expect(400);
    assert_eq!(r.fields(), vec!["id", "name"]);
    let r = stack
        .post(
            "/v1/projects",
            &t,
            json!({"id": "x".repeat(65), "name": "n".repeat(101)}),
        )
        .await
        .expect(400);
    assert_eq!(r.fields(), vec!["id", "name"]);
    let r = stack
        .post("/v1/projects", &t, json!({"id": "ok", "name": 5}))
        .await
        .expect(400);
    assert_eq!(r.fields(), vec!["name"]);
}

#[tokio::test]
async fn members_are_added_listed_and_removed_but_the_owner_stays() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    let carol = unique("carol-");
    let m = stack
        .put(
            &f.path(&format!("/members/{carol}")),
            &owner,
            json!({"email": "carol@example.com"}),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(
        m["user"],
        json!({"id": carol, "email": "carol@example.com"})
    );
    assert_eq!(m["membership"], "member");
    // PUT again updates the e-mail.
    stack
        .put(
            &f.path(&format!("/members/{carol}")),
            &owner,
            json!({"email": "carol2@example.com"}),
        )
        .await
        .expect(200);
    let list = stack
        .get(&f.path("/members"), &owner)
        .await
        .expect(200)
        .body;
    let emails: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|m| m["user"]["email"].as_str())
        .collect();
    assert!(emails.contains(&"carol2@example.com"), "{emails:?}");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(3));

    let r = stack
        .put(
            &f.path(&format!("/members/{}", f.owner)),
            &owner,
            json!({"email": "o@example.com"}),
        )
        .await
        .expect(422);
    assert_eq!(r.fields(), vec!["user"]);
    stack
        .delete(&f.path(&format!("/members/{}", f.owner)), &owner)
        .await
        .expect(422);
    stack
        .delete(&f.path(&format!("/members/{carol}")), &owner)
        .await
        .expect(204);
    stack
        .delete(&f.path(&format!("/members/{carol}")), &owner)
        .await
        .expect(404);
    let r = stack
        .put(
            &f.path("/members/has%20space"),
            &owner,
            json!({"email": "x@example.com"}),
        )
        .await
        .expect(400);
    assert_eq!(r.fields(), vec!["user"]);
    let r = stack
        .put(
            &f.path("/members/dave"),
            &owner,
            json!({"email": "not-an-email"}),
        )
        .await
        .expect(400);
    assert_eq!(r.fields(), vec!["email"]);
    let sks = stack.sort_keys(&format!("PROJECT#{}", f.project)).await;
    assert!(sks.contains(&format!("MEMBER#{}", f.owner)));
    assert!(!sks.iter().any(|s| s == "MEMBER#dave"));
}

#[tokio::test]
async fn roles_keep_sorted_unique_permissions_and_refuse_bad_ones() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    let role = stack
        .put(&f.path("/roles/uploader"), &owner, json!({"description": "Uploads", "permissions": ["packages:write", "files:read", "packages:write"]}))
        .await
        .expect(200)
        .body;
    assert_eq!(role["permissions"], json!(["files:read", "packages:write"]));
    let r = stack
        .put(
            &f.path("/roles/uploader"),
            &owner,
            json!({"permissions": ["files:read", "everything"]}),
        )
        .await
        .expect(400);
    assert_eq!(r.fields(), vec!["permissions[1]"]);
    let r = stack
        .put(
            &f.path("/roles/Bad%20Role"),
            &owner,
            json!({"permissions": ["*"]}),
        )
        .await
        .expect(400);
    assert_eq!(r.fields(), vec!["role"]);
    stack
        .put(&f.path("/roles/empty"), &owner, json!({"permissions": []}))
        .await
        .expect(400);
    let list = stack
        .get(&f.path("/roles"), &stack.token(&f.member))
        .await
        .expect(200)
        .body;
    let names: Vec<&str> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, vec!["reader", "uploader"]);
    assert_eq!(
        list["items"][1]["permissions"],
        json!(["files:read", "packages:write"]),
        "the refused update changed nothing"
    );
}

#[tokio::test]
async fn nodes_are_put_and_listed_in_pages() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    for n in ["n1", "n2", "n3"] {
        stack
            .put(
                &f.path(&format!("/nodes/{n}")),
                &owner,
                json!({"name": format!("Node {n}")}),
            )
            .await
            .expect(200);
    }
    stack
        .put(&f.path("/nodes/n1"), &owner, json!({"name": "Renamed"}))
        .await
        .expect(200);
    let first = stack
        .get(&f.path("/nodes?page_size=3"), &owner)
        .await
        .expect(200)
        .body;
    let ids: Vec<&str> = first["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|n| n["id"].as_str())
        .collect();
    assert_eq!(ids, vec!["input", "n1", "n2"]);
    assert_eq!(first["items"][1]["name"], "Renamed");
    let next = first["next"].as_str().expect("a next page");
    let second = stack
        .get(
            &f.path(&format!("/nodes?page_size=3&cursor={next}")),
            &owner,
        )
        .await
        .expect(200)
        .body;
    assert_eq!(second["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(second["next"], serde_json::Value::Null);
    let r = stack
        .put(&f.path("/nodes/n4"), &owner, json!({"name": ""}))
        .await
        .expect(400);
    assert_eq!(r.fields(), vec!["name"]);
    stack
        .put(&f.path("/nodes/-bad"), &owner, json!({"name": "x"}))
        .await
        .expect(400);
}

#[tokio::test]
async fn my_projects_lists_every_membership() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let g = Fixture::new(&stack).await;
    let member = stack.token(&f.member);
    stack
        .put(
            &g.path(&format!("/members/{}", f.member)),
            &stack.token(&g.owner),
            json!({"email": "m@example.com"}),
        )
        .await
        .expect(200);
    let own = unique("p");
    stack
        .post("/v1/projects", &member, json!({"id": own, "name": "Mine"}))
        .await
        .expect(201);
    let mine = stack.get("/v1/me/projects", &member).await.expect(200).body;
    let mut got: Vec<(String, String)> = mine["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|m| {
            (
                m["project_id"].as_str().unwrap_or("").to_string(),
                m["membership"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    got.sort();
    let mut want = vec![
        (f.project.clone(), "member".to_string()),
        (g.project.clone(), "member".to_string()),
        (own, "owner".to_string()),
    ];
    want.sort();
    assert_eq!(got, want);
}
