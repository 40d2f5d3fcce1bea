//! Imports through the library against the emulator, with Secrets Manager faults injected where
//! the emulator cannot fail on demand: an SDK interceptor on the vault's client records every
//! Secrets Manager call and can fail the Nth secret write (or every delete) before it is sent.
//! Checks that a failed import leaves nothing behind, that a retry converges, and how many
//! Secrets Manager calls an import makes.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_secretsmanager::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_secretsmanager::config::{ConfigBag, Intercept};
use aws_sdk_secretsmanager::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use keygate::adapters::sdk_calls::CallLog;
use keygate::adapters::secrets::Vault;
use keygate::config::{DEFAULT_SECRETS_NAMESPACE, DEFAULT_SIGNING_KEYS_SECRET_ID, ImportsConfig};
use keygate::domain::import::{self, Deps, ImportInput, ImportView};
use keygate::model::ids::{KeyId, ProjectId};
use keygate::store::Store;
use keygate::token::Signer;
use keygate::{Caller, Error};

/// Records Secrets Manager calls by operation; fails the `fail_write`-th secret write
/// (CreateSecret or PutSecretValue, counted from 1) and, with `fail_deletes`, every delete.
#[derive(Debug, Clone, Default)]
struct Faults {
    log: CallLog,
    writes: Arc<AtomicUsize>,
    fail_write: Option<usize>,
    fail_deletes: bool,
}

impl Faults {
    fn calls(&self) -> Vec<String> {
        self.log.calls()
    }
}

impl Intercept for Faults {
    fn name(&self) -> &'static str {
        "keygate-test-faults"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The operation by the SDK's own metadata, as the call log records it.
        let op = cfg
            .load::<Metadata>()
            .map_or("unknown", |m| m.name())
            .to_string();
        self.log
            .read_before_serialization(context, components, cfg)?;
        let op = op.as_str();
        if matches!(op, "CreateSecret" | "PutSecretValue") {
            let n = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
            if Some(n) == self.fail_write {
                return Err("injected fault: connection reset".into());
            }
        }
        if op == "DeleteSecret" && self.fail_deletes {
            return Err("injected fault: connection reset".into());
        }
        Ok(())
    }
}

struct Env {
    store: Store,
    signer: Signer,
    sdk: aws_config::SdkConfig,
    sm: aws_sdk_secretsmanager::Client,
    ddb: aws_sdk_dynamodb::Client,
    table: String,
}

impl Env {
    async fn new() -> Env {
        let table = std::env::var("TABLE_NAME")
            .expect("TABLE_NAME is not set: run the tests with `make test`");
        let sdk = keygate::adapters::aws::aws_config().await;
        let secret_id = std::env::var("SIGNING_KEYS_SECRET_ID")
            .unwrap_or_else(|_| DEFAULT_SIGNING_KEYS_SECRET_ID.into());
        let store = Store::new(&sdk, table.clone());
        Env {
            signer: Signer::new(&sdk, store.clone(), secret_id, Duration::from_secs(300)),
            store,
            sm: aws_sdk_secretsmanager::Client::new(&sdk),
            ddb: aws_sdk_dynamodb::Client::new(&sdk),
            sdk,
            table,
        }
    }

    /// A vault whose client goes through `faults`.
    fn vault(&self, faults: &Faults) -> Vault {
        let conf = aws_sdk_secretsmanager::config::Builder::from(&self.sdk)
            .interceptor(faults.clone())
            .build();
        Vault::with_client(
            aws_sdk_secretsmanager::Client::from_conf(conf),
            &ImportsConfig {
                namespace: DEFAULT_SECRETS_NAMESPACE.into(),
                recovery_days: 7,
                stack: self.table.clone(),
            },
        )
    }

    /// The live secrets of `c` in Secrets Manager: (name within the project, value).
    async fn live(&self, c: &ProjectId) -> Vec<(String, String)> {
        let base = format!("{DEFAULT_SECRETS_NAMESPACE}/{c}/");
        let mut out = Vec::new();
        let mut next = None;
        loop {
            let page = self
                .sm
                .list_secrets()
                .filters(name_filter(&base))
                .set_next_token(next)
                .send()
                .await
                .expect("ListSecrets");
            for s in page.secret_list() {
                let name = s.name().unwrap_or_default();
                if let (Some(short), None) = (name.strip_prefix(&base), s.deleted_date()) {
                    let value = self
                        .sm
                        .get_secret_value()
                        .secret_id(name)
                        .send()
                        .await
                        .expect("GetSecretValue");
                    out.push((
                        short.to_string(),
                        value.secret_string().unwrap_or_default().to_string(),
                    ));
                }
            }
            next = page.next_token().map(str::to_string);
            if next.is_none() {
                out.sort();
                return out;
            }
        }
    }

    /// The sort keys of `c`'s import records and secret items.
    async fn import_items(&self, c: &ProjectId) -> Vec<String> {
        let out = self
            .ddb
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(format!("PROJECT#{c}")))
            .consistent_read(true)
            .send()
            .await
            .expect("Query");
        out.items()
            .iter()
            .filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()).cloned())
            .filter(|sk| sk.starts_with("IMPORT#") || sk.starts_with("SECRET#"))
            .collect()
    }
}

async fn run_import(
    env: &Env,
    vault: &Vault,
    bob: &Caller,
    c: &ProjectId,
    k: &KeyId,
) -> Result<(ImportView, bool), Error> {
    let deps = Deps {
        store: &env.store,
        signer: &env.signer,
        vault,
    };
    let input = ImportInput {
        key_id: k.to_string(),
        prefix: "wx".into(),
    };
    import::create(deps, bob, c, input).await
}

#[tokio::test]
async fn secrets_manager_calls_per_import() {
    let env = Env::new().await;
    for fields in [3, 20] {
        let (bob, k, c) = common::holder_with_key(&env.store, &env.signer, fields).await;
        let faults = Faults::default();
        let vault = env.vault(&faults);
        let (view, created) = run_import(&env, &vault, &bob, &c, &k)
            .await
            .expect("import");
        assert!(created);
        assert_eq!(view.secrets.len(), fields + 1);
        assert_eq!(
            faults.calls(),
            vec!["CreateSecret"; fields + 1],
            "a new import: one CreateSecret (value and tags together) per secret"
        );
        let faults = Faults::default();
        let vault = env.vault(&faults);
        let (_, created) = run_import(&env, &vault, &bob, &c, &k)
            .await
            .expect("re-import");
        assert!(!created);
        assert_eq!(
            faults.calls(),
            vec!["PutSecretValue"; fields + 1],
            "a re-import: one PutSecretValue per secret"
        );
        eprintln!(
            "{fields} info fields: {} Secrets Manager calls per import, {} per re-import",
            fields + 1,
            fields + 1
        );
    }
}

#[tokio::test]
async fn a_fault_mid_import_is_undone_and_a_retry_converges() {
    let env = Env::new().await;
    let (bob, k, c) = common::holder_with_key(&env.store, &env.signer, 3).await;
    let faults = Faults {
        fail_write: Some(3),
        ..Faults::default()
    };
    let err = run_import(&env, &env.vault(&faults), &bob, &c, &k)
        .await
        .expect_err("the third write fails");
    assert_eq!(err.status(), 503, "{err:?}");
    let Error::Interrupted(detail) = &err else {
        panic!("an interruption, got {err:?}");
    };
    assert!(
        detail.contains(&format!("{DEFAULT_SECRETS_NAMESPACE}/{c}/wx_")),
        "{detail}"
    );
    assert!(detail.contains("retry"), "{detail}");
    assert!(
        env.live(&c).await.is_empty(),
        "the written secrets were removed"
    );
    assert!(
        env.import_items(&c).await.is_empty(),
        "no record, no secret items"
    );
    // Undoing deleted what this call had created, at once (no recovery window to block a retry).
    let deletes = faults
        .calls()
        .iter()
        .filter(|op| **op == "DeleteSecret")
        .count();
    assert!(deletes >= 2, "{:?}", faults.calls());

    let (view, created) = run_import(&env, &env.vault(&Faults::default()), &bob, &c, &k)
        .await
        .expect("the retry");
    assert!(created);
    assert_eq!(view.secrets.len(), 4);
    let live = env.live(&c).await;
    assert_eq!(live.len(), 4, "{live:?}");
    assert!(live.contains(&("wx_field_2".into(), "value 2".into())));
}

#[tokio::test]
async fn a_fault_during_a_re_import_keeps_the_import_as_it_was() {
    let env = Env::new().await;
    let (bob, k, c) = common::holder_with_key(&env.store, &env.signer, 3).await;
    run_import(&env, &env.vault(&Faults::default()), &bob, &c, &k)
        .await
        .expect("import");
    let before = env.live(&c).await;
    let faults = Faults {
        fail_write: Some(2),
        ..Faults::default()
    };
    let err = run_import(&env, &env.vault(&faults), &bob, &c, &k)
        .await
        .expect_err("fails");
    assert_eq!(err.status(), 503);
    assert_eq!(env.live(&c).await, before, "every secret still there");
    let page = keygate::http::PageRequest {
        size: 100,
        cursor: None,
    };
    let listed = import::list_secrets(&env.store, &bob, &c, &page)
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 4, "still listed as ready");
}

#[tokio::test]
async fn a_crashed_attempt_holds_its_lease_then_a_retry_takes_over() {
    let env = Env::new().await;
    let (bob, k, c) = common::holder_with_key(&env.store, &env.signer, 3).await;
    // The third write fails and so does every delete: the undo cannot finish, as if the
    // function had crashed part-way.
    let faults = Faults {
        fail_write: Some(3),
        fail_deletes: true,
        ..Faults::default()
    };
    run_import(&env, &env.vault(&faults), &bob, &c, &k)
        .await
        .expect_err("fails");
    assert!(!env.live(&c).await.is_empty(), "left-overs of the crash");
    let healthy = env.vault(&Faults::default());
    // Within its lease, the attempt still holds the record.
    let busy = run_import(&env, &healthy, &bob, &c, &k)
        .await
        .expect_err("in progress");
    assert!(matches!(busy, Error::Conflict(_)), "{busy:?}");
    // The lease runs out (moved into the past here rather than waited for).
    env.ddb
        .update_item()
        .table_name(&env.table)
        .key("pk", AttributeValue::S(format!("PROJECT#{c}")))
        .key("sk", AttributeValue::S("IMPORT#wx".into()))
        .update_expression("SET lease_until = :past")
        .expression_attribute_values(
            ":past",
            AttributeValue::S("2020-01-01T00:00:00.000Z".into()),
        )
        .send()
        .await
        .expect("UpdateItem");
    let (view, _) = run_import(&env, &healthy, &bob, &c, &k)
        .await
        .expect("the retry takes over and converges");
    assert_eq!(view.secrets.len(), 4);
    let live = env.live(&c).await;
    assert_eq!(live.len(), 4, "{live:?}");
    let items = env.import_items(&c).await;
    assert_eq!(
        items.len(),
        5,
        "one record and four secret items: {items:?}"
    );
}

#[tokio::test]
async fn a_failed_delete_can_be_retried_at_once_and_converges() {
    let env = Env::new().await;
    let (bob, k, c) = common::holder_with_key(&env.store, &env.signer, 3).await;
    run_import(&env, &env.vault(&Faults::default()), &bob, &c, &k)
        .await
        .expect("import");
    let prefix = keygate::model::ids::Prefix::parse("p", "wx").expect("prefix");
    let failing = Faults {
        fail_deletes: true,
        ..Faults::default()
    };
    let err = import::delete(&env.store, &env.vault(&failing), &bob, &c, &prefix)
        .await
        .expect_err("the delete fails");
    let Error::Interrupted(detail) = &err else {
        panic!("an interruption, got {err:?}");
    };
    assert!(detail.contains("retry"), "{detail}");
    assert_eq!(env.live(&c).await.len(), 4, "nothing deleted yet");
    import::delete(
        &env.store,
        &env.vault(&Faults::default()),
        &bob,
        &c,
        &prefix,
    )
    .await
    .expect("the retry deletes");
    assert!(env.live(&c).await.is_empty());
    assert!(env.import_items(&c).await.is_empty());
}

/// Secrets whose name starts with `prefix`.
fn name_filter(prefix: &str) -> aws_sdk_secretsmanager::types::Filter {
    aws_sdk_secretsmanager::types::Filter::builder()
        .key(aws_sdk_secretsmanager::types::FilterNameStringType::Name)
        .values(prefix)
        .build()
}

/// Two stacks sharing a `SECRETS_NAMESPACE`: one never takes over the other's imported secret,
/// even for the same project and prefix (the takeover check names the stack too).
#[tokio::test]
async fn another_stack_never_takes_over_an_imported_secret() {
    let env = Env::new().await;
    let (bob, k, c) = common::holder_with_key(&env.store, &env.signer, 3).await;
    run_import(&env, &env.vault(&Faults::default()), &bob, &c, &k)
        .await
        .expect("import");
    let before = env.live(&c).await;
    let prefix = keygate::model::ids::Prefix::parse("p", "wx").expect("prefix");
    let name = keygate::model::ids::SecretName::parse("n", "wx_token").expect("name");
    let tags = keygate::adapters::secrets::SecretTags {
        project: &c,
        prefix: &prefix,
        key: k.as_str(),
        field: "token",
        nodes: &[],
    };
    let other = Vault::with_client(
        env.sm.clone(),
        &ImportsConfig {
            namespace: DEFAULT_SECRETS_NAMESPACE.into(),
            recovery_days: 7,
            stack: format!("{}-other-stack", env.table),
        },
    );
    let got = other.write(&c, &name, "forged", &tags, false).await;
    match got {
        Err(Error::Conflict(why)) => assert!(why.contains("stack"), "{why}"),
        other => panic!("expected 409, got {other:?}"),
    }
    assert_eq!(env.live(&c).await, before, "nothing was overwritten");
    // The stack that wrote it still takes its own secret over (a crashed attempt's leftover).
    let own = env
        .vault(&Faults::default())
        .write(&c, &name, "again", &tags, false)
        .await
        .expect("its own secret");
    assert_eq!(own, keygate::adapters::secrets::Written::Adopted);
}
