//! Evidence for docs/security.md that no other test gives: a copy of the table (a stolen dump)
//! holds no API key and nothing a key could be rebuilt from, and the mails of a key's life
//! carry no token.

use aws_sdk_dynamodb::types::AttributeValue;
use keygate_e2e::{Fixture, Stack, client_project, import, wait_for_mail};
use serde_json::json;

/// Every string inside an attribute value, nested ones included.
fn strings(v: &AttributeValue, out: &mut Vec<String>) {
    match v {
        AttributeValue::S(s) => out.push(s.clone()),
        AttributeValue::Ss(ss) => out.extend(ss.iter().cloned()),
        AttributeValue::L(l) => l.iter().for_each(|x| strings(x, out)),
        AttributeValue::M(m) => m.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn a_dump_of_the_table_and_the_mails_hold_no_token() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let key = f.issue_key(&stack, &[("Project", "p")]).await;
    let member = stack.token(&f.member);
    // Imported (the token goes to Secrets Manager) and rolled (a second token minted).
    let c = client_project(&stack, &f.member, &[]).await;
    import(&stack, &f.member, &c, &key.id, "wx")
        .await
        .expect(201);
    let rolled = stack
        .post(&format!("/v1/keys/{}/roll", key.id), &member, json!({}))
        .await
        .expect(201)
        .body;
    let new_id = rolled["id"].as_str().expect("new key id");
    let new_token = stack.reveal(new_id, &f.member).await;

    // The whole table, page by page, as a thief would copy it.
    let mut texts = Vec::new();
    let mut start = None;
    loop {
        let page = stack
            .ddb
            .scan()
            .table_name(&stack.table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .expect("Scan");
        for item in page.items() {
            item.values().for_each(|v| strings(v, &mut texts));
        }
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    assert!(
        texts.iter().any(|t| t.contains(&key.id)),
        "the scan saw the key's record"
    );
    let signature = |t: &str| t.rsplit('.').next().unwrap_or_default().to_string();
    for token in [&key.token, &new_token] {
        assert!(
            !texts
                .iter()
                .any(|t| t.contains(token.as_str()) || t.contains(&signature(token))),
            "a token or its signature is in the table"
        );
    }
    assert!(
        !texts
            .iter()
            .any(|t| t.contains("eyJ") && t.matches('.').count() >= 2),
        "something JWT-shaped is in the table"
    );
    assert!(
        !texts
            .iter()
            .any(|t| t.contains("PRIVATE") || t.contains("\"d\":")),
        "no signing key material in the table"
    );

    let mails = wait_for_mail(
        &format!("{}@example.com", f.member),
        1,
        std::time::Duration::from_secs(30),
    )
    .await;
    assert!(!mails.is_empty(), "the approval mail went out");
    for m in mails {
        assert!(
            !m.body.contains("eyJ") && !m.subject.contains("eyJ"),
            "no token in a mail: {}",
            m.subject
        );
    }
}
