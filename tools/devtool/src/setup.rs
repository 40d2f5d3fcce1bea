//! Creates what the functions expect in the emulator: the table (pk/sk, gsi1, gsi2, stream with old and
//! new images, TTL on `expires_at`), the SES sender identity, the issuer JWKS and the signing
//! keys' public half published in the table.
//! Every step is idempotent.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};

use keygate::store::{Store, jwks};
use keygate::token::KeySet;

use crate::{BoxError, DevIssuer, MAIL_DOMAIN};

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, BoxError> {
    Ok(KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()?)
}

fn attr(name: &str) -> Result<AttributeDefinition, BoxError> {
    Ok(AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()?)
}

pub async fn create_table(sdk: &aws_config::SdkConfig, table: &str) -> Result<(), BoxError> {
    let ddb = aws_sdk_dynamodb::Client::new(sdk);
    let gsi = GlobalSecondaryIndex::builder()
        .index_name(keygate::store::GSI1)
        .key_schema(key("gsi1pk", KeyType::Hash)?)
        .key_schema(key("gsi1sk", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()?;
    let gsi2 = GlobalSecondaryIndex::builder()
        .index_name(keygate::store::GSI2)
        .key_schema(key("gsi2pk", KeyType::Hash)?)
        .key_schema(key("gsi2sk", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()?;
    let gsi3 = GlobalSecondaryIndex::builder()
        .index_name(keygate::store::GSI3)
        .key_schema(key("gsi3pk", KeyType::Hash)?)
        .key_schema(key("gsi3sk", KeyType::Range)?)
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()?;
    let created = ddb
        .create_table()
        .table_name(table)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        .attribute_definitions(attr("gsi1pk")?)
        .attribute_definitions(attr("gsi1sk")?)
        .attribute_definitions(attr("gsi2pk")?)
        .attribute_definitions(attr("gsi2sk")?)
        .attribute_definitions(attr("gsi3pk")?)
        .attribute_definitions(attr("gsi3sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(gsi)
        .global_secondary_indexes(gsi2)
        .global_secondary_indexes(gsi3)
        .billing_mode(BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()?,
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_in_use_exception()) =>
        {
            return Ok(());
        }
        Err(e) => return Err(format!("CreateTable {table}: {e:?}").into()),
    }
    ddb.update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .enabled(true)
                .attribute_name("expires_at")
                .build()?,
        )
        .send()
        .await
        .map_err(|e| format!("UpdateTimeToLive {table}: {e:?}"))?;
    Ok(())
}

pub async fn create_mail_identity(sdk: &aws_config::SdkConfig) -> Result<(), BoxError> {
    let ses = aws_sdk_sesv2::Client::new(sdk);
    match ses
        .create_email_identity()
        .email_identity(MAIL_DOMAIN)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(format!("CreateEmailIdentity {MAIL_DOMAIN}: {e:?}").into()),
    }
}

/// The EventBridge bus the notifier publishes the lifecycle events to (`EVENT_BUS_NAME`), if it is
/// not the account's `default` bus, which always exists.
pub async fn create_event_bus(sdk: &aws_config::SdkConfig) -> Result<(), BoxError> {
    let bus = std::env::var("EVENT_BUS_NAME").unwrap_or_default();
    if bus.is_empty() || bus == "default" {
        return Ok(());
    }
    let events = aws_sdk_eventbridge::Client::new(sdk);
    match events.create_event_bus().name(&bus).send().await {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_already_exists_exception()) =>
        {
            Ok(())
        }
        Err(e) => Err(format!("CreateEventBus {bus}: {e:?}").into()),
    }
}

/// Publishes the dev issuer's JWKS where the functions read it (the table's `JWKS#users`).
pub async fn publish_issuer(store: &Store, issuer: &DevIssuer) -> Result<(), BoxError> {
    store.publish_jwks(jwks::USERS, &issuer.jwks()).await?;
    Ok(())
}

/// Publishes the signing keys' public half (the table's `JWKS#api-keys`), where the functions
/// that only verify read it: whenever the set changes, a key is published before anything is
/// signed with it, and unpublished only after it is gone from the secret.
pub async fn publish_signing_keys(store: &Store, set: &KeySet) -> Result<(), BoxError> {
    store
        .publish_jwks(jwks::API_KEYS, &set.jwks().to_string())
        .await?;
    Ok(())
}

/// The signing key set's secret (`SIGNING_KEYS_SECRET_ID`, or keygate's default).
pub fn signing_keys_secret_id() -> String {
    std::env::var("SIGNING_KEYS_SECRET_ID")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| keygate::config::DEFAULT_SIGNING_KEYS_SECRET_ID.to_string())
}

/// Reads the signing key set, or `None` when the secret does not exist yet.
pub async fn read_signing_keys(
    sdk: &aws_config::SdkConfig,
    secret_id: &str,
) -> Result<Option<KeySet>, BoxError> {
    let sm = aws_sdk_secretsmanager::Client::new(sdk);
    match sm.get_secret_value().secret_id(secret_id).send().await {
        Ok(out) => {
            let doc = out
                .secret_string()
                .ok_or_else(|| format!("secret {secret_id} holds no string"))?;
            Ok(Some(
                KeySet::from_json(doc).map_err(|e| format!("secret {secret_id}: {e}"))?,
            ))
        }
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(format!("GetSecretValue {secret_id}: {e:?}").into()),
    }
}

/// Writes the signing key set (a new version of the secret, or the secret itself).
pub async fn write_signing_keys(
    sdk: &aws_config::SdkConfig,
    secret_id: &str,
    set: &KeySet,
    create: bool,
) -> Result<(), BoxError> {
    let sm = aws_sdk_secretsmanager::Client::new(sdk);
    if create {
        sm.create_secret()
            .name(secret_id)
            .description("keygate API-key signing keys (Ed25519); one active")
            .secret_string(set.to_json())
            .send()
            .await
            .map_err(|e| format!("CreateSecret {secret_id}: {e:?}"))?;
    } else {
        sm.put_secret_value()
            .secret_id(secret_id)
            .secret_string(set.to_json())
            .send()
            .await
            .map_err(|e| format!("PutSecretValue {secret_id}: {e:?}"))?;
    }
    Ok(())
}

/// Creates the signing key set when there is none and publishes its public half with `store`
/// (none before a deployment's table exists); returns the active kid.
pub async fn ensure_signing_keys(
    sdk: &aws_config::SdkConfig,
    store: Option<&Store>,
    secret_id: &str,
) -> Result<String, BoxError> {
    let (set, exists) = match read_signing_keys(sdk, secret_id).await? {
        Some(set) => (set, true),
        None => (KeySet::generate()?, false),
    };
    // Published before the secret holds a new key: nothing signs with a key verify lacks.
    if let Some(store) = store {
        publish_signing_keys(store, &set).await?;
    }
    if !exists {
        write_signing_keys(sdk, secret_id, &set, true).await?;
    }
    Ok(set.active_kid().to_string())
}
