//! The suite's "exactly one mail" checks are only as good as `wait_for_mail`: it must see a
//! duplicate that lands a moment after the first mail, not return at the first one.

use std::time::Duration;

use keygate::adapters::mail::{Mail, Mailer};
use keygate_e2e::{MAIL_SETTLE, unique, wait_for_mail};

#[tokio::test]
async fn a_late_duplicate_is_seen_by_wait_for_mail() {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let mailer = Mailer::new(&sdk, "keygate@example.com");
    let to = format!("{}@example.com", unique("dup-"));
    let mail = Mail {
        to: to.clone(),
        subject: "Once".into(),
        text: "once".into(),
        html: "<p>once</p>".into(),
    };
    mailer.send(&mail).await.expect("first send");
    let late = {
        let mailer = mailer.clone();
        let mail = mail.clone();
        tokio::spawn(async move {
            // Well after the first has been seen, well before the settle window ends.
            tokio::time::sleep(MAIL_SETTLE / 2).await;
            mailer.send(&mail).await.expect("second send");
        })
    };
    let got = wait_for_mail(&to, 1, Duration::from_secs(30)).await;
    late.await.expect("the late send ran");
    assert_eq!(got.len(), 2, "the duplicate is reported: {got:?}");
}
