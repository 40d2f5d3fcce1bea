//! Membership races against the emulator: a request or an approval for someone whose
//! membership went meanwhile does not land (the transaction checks the membership itself).

mod common;

use std::time::Duration;

use common::{project_with_member, template_of};
use keygate::Error;
use keygate::config::{ApiKeyConfig, DEFAULT_SIGNING_KEYS_SECRET_ID};
use keygate::domain::audit::AuditEntry;
use keygate::domain::key;
use keygate::domain::request::{self, Ask, KeyRequest, NewRequestInput, RequestStatus};
use keygate::model::ids::RequestId;
use keygate::store::{Store, Window};
use keygate::token::Signer;

#[tokio::test]
async fn an_approval_for_someone_no_longer_a_member_is_refused_and_writes_nothing() {
    let table =
        std::env::var("TABLE_NAME").expect("TABLE_NAME is not set: run the tests with `make test`");
    let sdk = keygate::adapters::aws::aws_config().await;
    let store = Store::new(&sdk, table);
    let secret_id = std::env::var("SIGNING_KEYS_SECRET_ID")
        .unwrap_or_else(|_| DEFAULT_SIGNING_KEYS_SECRET_ID.into());
    let signer = Signer::new(&sdk, store.clone(), secret_id, Duration::from_secs(300));

    let (alice, bob, p) = project_with_member(&store).await;
    let t = template_of(&store, &alice, &p, 0).await;
    let r = request::create(
        &store,
        &bob,
        &p,
        &t,
        NewRequestInput { comment: None },
        u32::MAX,
    )
    .await
    .expect("request");

    // The membership goes by itself (as a removal racing this approval would leave it), the
    // request still pending.
    store
        .delete_member(
            &p,
            &bob.id,
            &AuditEntry::new(&p, &alice, "member.removed", "member", &bob.id),
        )
        .await
        .expect("membership deleted");

    let cfg = ApiKeyConfig::from_lookup(&|_: &str| None).expect("defaults");
    match key::approve(&store, &signer, &cfg, &alice, &p, &r.id).await {
        Err(Error::Conflict(why)) => assert!(why.contains("no longer a member"), "{why}"),
        other => panic!("expected 409, got {other:?}"),
    }
    let still = store
        .get_request(&p, &r.id)
        .await
        .expect("read")
        .expect("request");
    assert_eq!(still.status, RequestStatus::Pending);
    assert!(
        store.all_project_keys(&p).await.expect("keys").is_empty(),
        "no key was written"
    );

    // Nor does a request of theirs land: its transaction checks the membership itself, not
    // only the read before it (which `request::create` does first), so one racing a removal
    // is refused too. Written through the store, past that read.
    let t2 = template_of(&store, &alice, &p, 0).await;
    // A template bob never asked for: only the membership can refuse this request.
    let late = KeyRequest {
        id: RequestId::generate(),
        template_id: t2,
        ..still
    };
    let epoch = keygate::model::time::epoch_seconds().expect("clock");
    let window = Window::at(&format!("USER#{}#requests", bob.id), 3600, 100, epoch);
    let got = store
        .create_request(
            &late,
            &Ask::of(&late),
            &window,
            &AuditEntry::new(&p, &bob, "request.created", "request", &late.id),
            window.retry_after(epoch),
        )
        .await;
    assert!(matches!(got, Err(Error::NotFound(_))), "{got:?}");
    assert!(
        store
            .get_request(&p, &late.id)
            .await
            .expect("read")
            .is_none()
    );
}
