//! The audit trail over HTTP: every state change of a project leaves one entry (actor, action,
//! target), written with the change (a refused change leaves none), readable newest first and
//! page by page by the owner only.

use keygate_e2e::{Fixture, Stack, client_project, import, unique};
use serde_json::{Value, json};

async fn trail(stack: &Stack, f: &Fixture) -> Vec<Value> {
    let owner = stack.token(&f.owner);
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            Some(c) => f.path(&format!("/audit?page_size=3&cursor={c}")),
            None => f.path("/audit?page_size=3"),
        };
        let page = stack.get(&path, &owner).await.expect(200).body;
        let items = page["items"].as_array().expect("items").clone();
        assert!(items.len() <= 3);
        out.extend(items);
        match page["next"].as_str() {
            Some(c) => next = Some(c.to_string()),
            None => return out,
        }
    }
}

fn actions(entries: &[Value]) -> Vec<String> {
    entries
        .iter()
        .map(|e| e["action"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn every_change_is_in_the_owners_trail_newest_first() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let owner = stack.token(&f.owner);
    let member = stack.token(&f.member);

    let t = f.template(&stack, &unique("Audited ")).await;
    let tid = t["id"].as_str().expect("id").to_string();
    let tpath = f.path(&format!("/templates/{tid}"));
    // A refused change (the name is taken) leaves no entry.
    stack
        .post(
            &f.path("/templates"),
            &owner,
            json!({"name": t["name"], "role": "reader"}),
        )
        .await
        .expect(409);
    stack
        .patch(&tpath, &owner, json!({"description": "d", "version": 1}))
        .await
        .expect(200);
    let field = stack
        .post(
            &format!("{tpath}/fields"),
            &owner,
            json!({"name": "Output", "value": "out"}),
        )
        .await
        .expect(201)
        .body;
    let fid = field["id"].as_str().expect("field id");
    stack
        .delete(&format!("{tpath}/fields/{fid}"), &owner)
        .await
        .expect(204);
    let r = f.request(&stack, &f.member, &tid).await;
    stack
        .post(
            &f.path(&format!("/requests/{r}/reject")),
            &owner,
            json!({"reason": "not yet"}),
        )
        .await
        .expect(200);
    let r2 = f.request(&stack, &f.member, &tid).await;
    let key = f.approve(&stack, &r2).await;
    let k = key["id"].as_str().expect("key id");
    stack
        .post(&format!("/v1/keys/{k}/revoke"), &owner, json!({}))
        .await
        .expect(200);
    stack
        .patch(
            &f.path(""),
            &owner,
            json!({"digest": "daily", "notify": "both"}),
        )
        .await
        .expect(200);

    let entries = trail(&stack, &f).await;
    let mut want = vec![
        "project.created",
        "member.put",
        "role.put",
        "node.put",
        "template.created",
        "template.updated",
        "field.added",
        "field.removed",
        "request.created",
        "request.rejected",
        "request.created",
        "request.approved",
        "key.revoked",
        "project.settings_changed",
    ];
    want.reverse();
    assert_eq!(actions(&entries), want, "newest first, nothing else");

    let by = |action: &str| {
        entries
            .iter()
            .find(|e| e["action"] == action)
            .unwrap_or_else(|| panic!("{action} in the trail"))
    };
    let created = by("template.created");
    assert_eq!(created["actor"]["id"], f.owner.as_str());
    assert_eq!(created["target"], json!({"type": "template", "id": tid}));
    assert_eq!(by("field.removed")["target"]["id"], fid);
    let asked = entries
        .iter()
        .filter(|e| e["action"] == "request.created")
        .collect::<Vec<_>>();
    assert!(asked.iter().all(|e| e["actor"]["id"] == f.member.as_str()));
    assert_eq!(by("request.rejected")["request_id"], r.as_str());
    assert_eq!(by("request.approved")["key_id"], k);
    assert_eq!(by("key.revoked")["target"], json!({"type": "key", "id": k}));
    let times: Vec<&str> = entries
        .iter()
        .map(|e| e["at"].as_str().expect("at"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    for e in &entries {
        assert_eq!(e["project_id"], f.project.as_str());
        assert!(e["id"].as_str().is_some_and(|id| !id.is_empty()));
    }

    // The owner's only: a member is refused, anyone else does not see the project.
    stack.get(&f.path("/audit"), &member).await.expect(403);
    stack
        .get(&f.path("/audit"), &stack.token(&f.outsider))
        .await
        .expect(404);
    stack
        .get(&f.path("/audit?page_size=0"), &owner)
        .await
        .expect(400);
}

#[tokio::test]
async fn imports_are_audited_in_the_client_project() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, &[("Project", "p")]).await;
    let member = stack.token(&f.member);
    // The holder's own client project, with a node to grant.
    let c = client_project(&stack, &f.member, &["fetcher"]).await;
    import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(201);
    stack
        .put(
            &format!("/v1/projects/{c}/secrets/wx_token/nodes"),
            &member,
            json!({"nodes": ["fetcher"]}),
        )
        .await
        .expect(200);
    stack
        .delete(&format!("/v1/projects/{c}/imports/wx"), &member)
        .await
        .expect(204);
    let page = stack
        .get(&format!("/v1/projects/{c}/audit"), &member)
        .await
        .expect(200)
        .body;
    let got = actions(page["items"].as_array().expect("items"));
    assert_eq!(
        got,
        vec![
            "import.deleted",
            "secret.nodes_set",
            "import.created",
            "node.put",
            "project.created"
        ]
    );
    assert_eq!(page["items"][0]["key_id"], key.id.as_str());
    assert_eq!(
        page["items"][1]["target"],
        json!({"type": "secret", "id": "wx_token"})
    );
}
