//! Imports over HTTP against the emulator: the secrets an import writes (read back from Secrets
//! Manager), re-import, prefix and name conflicts, who may import what, node grants, a secret
//! write that fails part-way, deletion, and the key's revocation and roll reaching the imports.

use std::time::{Duration, Instant};

use keygate_e2e::{
    Fixture, IssuedKey, Stack, client_project, import, live_secrets, secrets_client,
    secrets_namespace, stored_secrets, unique,
};
use serde_json::{Value, json};

/// How long the stream (pump -> imports-sync) may take to reach the imports.
const SYNC_WAIT: Duration = Duration::from_secs(60);

const FIELDS: &[(&str, &str)] = &[
    ("Project", "server"),
    ("Input node", "in-1"),
    ("Output node", "out-1"),
];

fn names(v: &Value) -> Vec<String> {
    let list = v["secrets"].as_array().or_else(|| v["items"].as_array());
    let mut out: Vec<String> = list
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str().map(str::to_string))
        .collect();
    out.sort();
    out
}

fn strings(v: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    out.sort();
    out
}

async fn setup() -> (Stack, Fixture, IssuedKey, String) {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, FIELDS).await;
    let c = client_project(&stack, &f.member, &["worker", "runner"]).await;
    (stack, f, key, c)
}

/// Polls `check` until it holds or `SYNC_WAIT` passes.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !check().await {
        assert!(
            start.elapsed() < SYNC_WAIT,
            "{what} within {SYNC_WAIT:?} (is the imports-sync pump running? see .keygate/test/pump-imports-sync.log)"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn import_writes_exactly_the_token_and_one_secret_per_field() {
    let (stack, f, key, c) = setup().await;
    let reply = import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(201);
    let want = strings(&["wx_token", "wx_project", "wx_input_node", "wx_output_node"]);
    assert_eq!(names(&reply.body), want);
    assert_eq!(reply.body["prefix"], "wx");
    assert_eq!(reply.body["key_id"], key.id.as_str());
    assert!(
        reply.body["secrets"]
            .as_array()
            .expect("secrets")
            .iter()
            .all(|s| s["nodes"] == json!([]))
    );

    let sm = live_secrets(&c).await;
    assert_eq!(sm.keys().cloned().collect::<Vec<_>>(), want);
    assert_eq!(
        sm["wx_token"].value, key.token,
        "the key's token, re-minted"
    );
    assert_eq!(sm["wx_project"].value, "server");
    assert_eq!(sm["wx_input_node"].value, "in-1");
    assert_eq!(sm["wx_output_node"].value, "out-1");
    let tags = &sm["wx_input_node"].tags;
    assert_eq!(tags["keygate:project"], c);
    assert_eq!(tags["keygate:prefix"], "wx");
    assert_eq!(tags["keygate:key"], key.id);
    assert_eq!(tags["keygate:field"], "input_node");
    assert_eq!(tags["keygate:nodes"], "");
    assert_eq!(sm["wx_token"].tags["keygate:field"], "token");

    // Listed with source and nodes, never a value.
    let list = stack
        .get(
            &format!("/v1/projects/{c}/secrets"),
            &stack.token(&f.member),
        )
        .await
        .expect(200)
        .body;
    assert_eq!(names(&list), want);
    let text = list.to_string();
    assert!(!text.contains(&key.token) && !text.contains("in-1") && !text.contains("\"value\""));
    let item = &list["items"][0];
    assert_eq!(item["source"]["key_id"], key.id.as_str());
    assert_eq!(item["source"]["prefix"], "wx");
    assert!(item["updated_at"].is_string());

    // The record lists what was written.
    let record = stack.items(&format!("PROJECT#{c}")).await;
    let import = record
        .iter()
        .find(|i| i.get("sk").and_then(|s| s.as_s().ok()) == Some(&"IMPORT#wx".to_string()))
        .expect("import record");
    assert_eq!(import["state"].as_s().expect("state"), "ready");
    assert_eq!(import["secrets"].as_l().expect("secrets").len(), 4);
}

#[tokio::test]
async fn re_import_updates_in_place_and_keeps_grants() {
    let (stack, f, key, c) = setup().await;
    import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(201);
    stack
        .put(
            &format!("/v1/projects/{c}/secrets/wx_token/nodes"),
            &stack.token(&f.member),
            json!({"nodes": ["worker"]}),
        )
        .await
        .expect(200);
    let before = live_secrets(&c).await;
    let again = import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(200);
    let token = again.body["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .find(|s| s["name"] == "wx_token")
        .expect("token secret")
        .clone();
    assert_eq!(token["nodes"], json!(["worker"]), "the grant survives");
    let after = live_secrets(&c).await;
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>(),
        "no duplicates"
    );
    for (name, s) in &after {
        assert_eq!(s.value, before[name].value, "{name}");
    }
    assert_eq!(after["wx_token"].tags["keygate:nodes"], "worker");
    let sks: Vec<String> = stack
        .sort_keys(&format!("PROJECT#{c}"))
        .await
        .into_iter()
        .filter(|s| s.starts_with("SECRET#") || s.starts_with("IMPORT#"))
        .collect();
    assert_eq!(sks.len(), 5, "one record and four secrets: {sks:?}");
}

#[tokio::test]
async fn prefixes_and_names_belong_to_one_import() {
    let (stack, f, key, c) = setup().await;
    import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(201);
    let other = f.issue_key(&stack, &[("b token", "v")]).await;
    let conflict = import(&stack, &f.member, &c, &other.id, "wx")
        .await
        .expect(409);
    assert!(
        conflict.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains(&key.id),
        "names the key holding the prefix: {}",
        conflict.body
    );
    // Prefix `a` with field "b token" and prefix `a_b` would both write `a_b_token`.
    import(&stack, &f.member, &c, &other.id, "a")
        .await
        .expect(201);
    let third = f.issue_key(&stack, &[("x", "y")]).await;
    let clash = import(&stack, &f.member, &c, &third.id, "a_b")
        .await
        .expect(409);
    assert!(
        clash.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("a_b_token"),
        "{}",
        clash.body
    );
    assert!(
        !live_secrets(&c).await.contains_key("a_b_x"),
        "nothing of a_b written"
    );
    assert_eq!(live_secrets(&c).await["a_b_token"].value, "v");
}

#[tokio::test]
async fn bad_input_names_the_field() {
    let (stack, f, key, c) = setup().await;
    for prefix in ["", "9x", "Wx", "w-x", &"a".repeat(49)] {
        let r = import(&stack, &f.member, &c, &key.id, prefix)
            .await
            .expect(400);
        assert_eq!(r.fields(), vec!["prefix"], "{prefix:?}");
    }
    import(&stack, &f.member, &c, &key.id, &"a".repeat(48))
        .await
        .expect(201);
    let r = import(&stack, &f.member, &c, "NOT-AN-ID", "ok")
        .await
        .expect(400);
    assert_eq!(r.fields(), vec!["key_id"]);
    let token = stack.token(&f.member);
    let path = format!("/v1/projects/{c}/imports");
    stack
        .post(&path, &token, json!({"key_id": key.id}))
        .await
        .expect(400);
    stack
        .post(
            &path,
            &token,
            json!({"key_id": key.id, "prefix": "p", "extra": 1}),
        )
        .await
        .expect(400);
}

#[tokio::test]
async fn only_the_holder_imports_an_active_key_into_their_own_projects() {
    let (stack, f, key, c) = setup().await;
    // The key's project owner is not its holder.
    let owners = client_project(&stack, &f.owner, &["worker", "runner"]).await;
    import(&stack, &f.owner, &owners, &key.id, "wx")
        .await
        .expect(403);
    // Someone else with a project of their own cannot even see the key.
    let outsiders = client_project(&stack, &f.outsider, &["worker", "runner"]).await;
    import(&stack, &f.outsider, &outsiders, &key.id, "wx")
        .await
        .expect(404);
    // The holder, into a project they are not a member of.
    import(&stack, &f.member, &outsiders, &key.id, "wx")
        .await
        .expect(404);
    // A key that does not exist.
    import(&stack, &f.member, &c, "01jzzzzzzzzzzzzzzzzzzzzzzz", "wx")
        .await
        .expect(404);
    // A revoked key.
    let revoked = f.issue_key(&stack, FIELDS).await;
    f.revoke(&stack, &f.member, &revoked.id).await;
    import(&stack, &f.member, &c, &revoked.id, "wx")
        .await
        .expect(409);
    // None of it wrote anything.
    for project in [&owners, &outsiders, &c] {
        assert!(stored_secrets(project).await.is_empty(), "{project}");
    }
}

#[tokio::test]
async fn an_expired_key_is_not_imported() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, FIELDS).await;
    let c = client_project(&stack, &f.member, &["worker", "runner"]).await;
    stack.expire_key(&key.id).await;
    let r = import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(409);
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("expired")
    );
    assert!(stored_secrets(&c).await.is_empty());
}

#[tokio::test]
async fn node_grants_replace_and_reach_the_tags() {
    let (stack, f, key, c) = setup().await;
    import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(201);
    let member = stack.token(&f.member);
    let path = format!("/v1/projects/{c}/secrets/wx_token/nodes");
    let r = stack
        .put(&path, &member, json!({"nodes": ["worker", "ghost"]}))
        .await
        .expect(422);
    assert_eq!(r.fields(), vec!["nodes[1]"]);
    let r = stack
        .put(&path, &member, json!({"nodes": ["bad id!"]}))
        .await
        .expect(400);
    assert_eq!(r.fields(), vec!["nodes[0]"]);
    stack
        .put(&path, &member, json!({"nodes": ["worker", "worker"]}))
        .await
        .expect(400);
    let granted = stack
        .put(&path, &member, json!({"nodes": ["worker", "runner"]}))
        .await
        .expect(200)
        .body;
    assert_eq!(granted["nodes"], json!(["worker", "runner"]));
    let replaced = stack
        .put(&path, &member, json!({"nodes": ["runner"]}))
        .await
        .expect(200)
        .body;
    assert_eq!(
        replaced["nodes"],
        json!(["runner"]),
        "replaced, not appended"
    );
    assert_eq!(
        live_secrets(&c).await["wx_token"].tags["keygate:nodes"],
        "runner"
    );
    let list = stack
        .get(&format!("/v1/projects/{c}/secrets"), &member)
        .await
        .expect(200)
        .body;
    let token = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|s| s["name"] == "wx_token")
        .expect("listed");
    assert_eq!(token["nodes"], json!(["runner"]));
    assert!(!list.to_string().contains(&key.token));

    // Unknown secret, someone else's project, a member who neither owns nor imported.
    stack
        .put(
            &format!("/v1/projects/{c}/secrets/wx_nope/nodes"),
            &member,
            json!({"nodes": []}),
        )
        .await
        .expect(404);
    stack
        .put(&path, &stack.token(&f.outsider), json!({"nodes": []}))
        .await
        .expect(404);
    let other = unique("other-");
    stack
        .put(
            &format!("/v1/projects/{c}/members/{other}"),
            &member,
            json!({"email": format!("{other}@example.com")}),
        )
        .await
        .expect(200);
    stack
        .put(&path, &stack.token(&other), json!({"nodes": []}))
        .await
        .expect(403);
    // Members list; outsiders do not see the project.
    stack
        .get(&format!("/v1/projects/{c}/secrets"), &stack.token(&other))
        .await
        .expect(200);
    stack
        .get(
            &format!("/v1/projects/{c}/secrets"),
            &stack.token(&f.outsider),
        )
        .await
        .expect(404);
}

#[tokio::test]
async fn a_failed_secret_write_leaves_no_half_import() {
    let (stack, f, key, c) = setup().await;
    // Someone else's secret sits at the name of the third secret.
    let sm = secrets_client().await;
    let foreign = format!("{}/{c}/wx_input_node", secrets_namespace());
    sm.create_secret()
        .name(&foreign)
        .secret_string("not keygate's")
        .send()
        .await
        .expect("CreateSecret");
    let r = import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(409);
    let detail = r.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(&foreign), "says which secret: {detail}");
    let left: Vec<String> = live_secrets(&c).await.into_keys().collect();
    assert_eq!(
        left,
        vec!["wx_input_node"],
        "only the foreign secret remains"
    );
    assert_eq!(
        live_secrets(&c).await["wx_input_node"].value,
        "not keygate's"
    );
    let sks = stack.sort_keys(&format!("PROJECT#{c}")).await;
    assert!(
        !sks.iter()
            .any(|s| s.starts_with("IMPORT#") || s.starts_with("SECRET#")),
        "no record, no secret items: {sks:?}"
    );
    // Removing the obstacle, the retry converges.
    sm.delete_secret()
        .secret_id(&foreign)
        .force_delete_without_recovery(true)
        .send()
        .await
        .expect("DeleteSecret");
    import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(201);
    assert_eq!(live_secrets(&c).await.len(), 4);
}

#[tokio::test]
async fn delete_removes_the_secrets_and_a_new_import_restores_them() {
    let (stack, f, key, c) = setup().await;
    import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(201);
    let path = format!("/v1/projects/{c}/imports/wx");
    // Another member may not; the importer may.
    stack
        .delete(&path, &stack.token(&f.outsider))
        .await
        .expect(404);
    stack
        .delete(&path, &stack.token(&f.member))
        .await
        .expect(204);
    stack
        .delete(&path, &stack.token(&f.member))
        .await
        .expect(404);
    let all = stored_secrets(&c).await;
    assert_eq!(all.len(), 4);
    assert!(
        all.values().all(|s| s.deleted),
        "scheduled for deletion: {all:?}"
    );
    let sks = stack.sort_keys(&format!("PROJECT#{c}")).await;
    assert!(
        !sks.iter()
            .any(|s| s.starts_with("IMPORT#") || s.starts_with("SECRET#")),
        "{sks:?}"
    );
    stack
        .get(
            &format!("/v1/projects/{c}/secrets"),
            &stack.token(&f.member),
        )
        .await
        .expect(200);
    // Within the recovery window the names are taken over again.
    import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(201);
    let again = live_secrets(&c).await;
    assert_eq!(again.len(), 4);
    assert_eq!(again["wx_token"].value, key.token);
}

#[tokio::test]
async fn revoking_the_key_removes_the_token_secret_of_every_import() {
    let (stack, f, key, c) = setup().await;
    let c2 = client_project(&stack, &f.member, &["worker", "runner"]).await;
    import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(201);
    import(&stack, &f.member, &c2, &key.id, "feed")
        .await
        .expect(201);
    f.revoke(&stack, &f.owner, &key.id).await;
    for (project, prefix) in [(&c, "wx"), (&c2, "feed")] {
        let token = format!("{prefix}_token");
        // imports-sync deletes the token secret first, then tags the others one by one.
        let revoked = |s: &keygate_e2e::StoredSecret| {
            s.tags.get("keygate:key-status").map(String::as_str) == Some("revoked")
        };
        eventually("the token secret deleted, the others tagged", || async {
            let left = live_secrets(project).await;
            !left.contains_key(&token) && left.values().all(revoked)
        })
        .await;
        let left = live_secrets(project).await;
        assert_eq!(left.len(), 3, "info secrets stay: {left:?}");
        assert!(left.values().all(revoked), "{left:?}");
        eventually("the listing follows", || async {
            let list = stack
                .get(
                    &format!("/v1/projects/{project}/secrets"),
                    &stack.token(&f.member),
                )
                .await
                .expect(200)
                .body;
            names(&list).len() == 3
                && list["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .all(|s| s["source"]["key_status"] == "revoked")
        })
        .await;
        // Each client project's trail says keygate followed the revocation, once.
        let trail = stack
            .get(
                &format!("/v1/projects/{project}/audit"),
                &stack.token(&f.member),
            )
            .await
            .expect(200)
            .body;
        let followed: Vec<&Value> = trail["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|e| e["action"] == "import.key_revoked")
            .collect();
        assert_eq!(followed.len(), 1, "{trail}");
        assert_eq!(followed[0]["actor"], Value::Null);
        assert_eq!(followed[0]["key_id"], key.id.as_str());
    }
}

#[tokio::test]
async fn rolling_the_key_rewrites_the_token_secret() {
    let (stack, f, key, c) = setup().await;
    import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(201);
    let member = stack.token(&f.member);
    let new = stack
        .post(
            &format!("/v1/keys/{}/roll", key.id),
            &member,
            json!({"grace_seconds": 60}),
        )
        .await
        .expect(201)
        .body;
    let new_id = new["id"].as_str().expect("id").to_string();
    let new_token = stack
        .get(&format!("/v1/keys/{new_id}/token"), &member)
        .await
        .expect(200)
        .body["token"]
        .as_str()
        .expect("token")
        .to_string();
    eventually(
        "the token secret rewritten, every secret tagged with the new key",
        || async {
            let sm = live_secrets(&c).await;
            sm.get("wx_token").map(|s| s.value.clone()) == Some(new_token.clone())
                && sm.values().all(|s| s.tags["keygate:key"] == new_id)
        },
    )
    .await;
    let sm = live_secrets(&c).await;
    assert_eq!(sm.len(), 4);
    assert_eq!(sm["wx_project"].value, "server");
    // The written token verifies and names the new key.
    let keys = keygate_e2e::signing_keys().await.public();
    let claims = keys
        .verify(
            &sm["wx_token"].value,
            "keygate",
            &format!("platform-api:{}", f.project),
        )
        .expect("verifies");
    assert_eq!(claims.jti, new_id);
    eventually("the listing follows", || async {
        let list = stack
            .get(&format!("/v1/projects/{c}/secrets"), &member)
            .await
            .expect(200)
            .body;
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .all(|s| s["source"]["key_id"] == new_id.as_str())
    })
    .await;
    // A re-import now names the new key; the old one is refused.
    import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(409);
    import(&stack, &f.member, &c, &new_id, "wx")
        .await
        .expect(200);
}
