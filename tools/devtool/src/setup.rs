//! Creates what the functions expect in the emulator: the table (pk/sk, gsi1, stream with old and
//! new images, TTL on `expires_at`), the SES sender identity and the issuer JWKS secret.
//! Every step is idempotent.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};

use crate::{BoxError, DEV_JWKS_SECRET, DevIssuer, MAIL_DOMAIN};

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
    let created = ddb
        .create_table()
        .table_name(table)
        .attribute_definitions(attr("pk")?)
        .attribute_definitions(attr("sk")?)
        .attribute_definitions(attr("gsi1pk")?)
        .attribute_definitions(attr("gsi1sk")?)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(gsi)
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

/// Publishes the dev issuer's JWKS where the functions read it.
pub async fn publish_issuer(
    sdk: &aws_config::SdkConfig,
    issuer: &DevIssuer,
) -> Result<(), BoxError> {
    let sm = aws_sdk_secretsmanager::Client::new(sdk);
    let jwks = issuer.jwks();
    match sm
        .create_secret()
        .name(DEV_JWKS_SECRET)
        .secret_string(&jwks)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_exists_exception()) =>
        {
            sm.put_secret_value()
                .secret_id(DEV_JWKS_SECRET)
                .secret_string(jwks)
                .send()
                .await
                .map_err(|e| format!("PutSecretValue {DEV_JWKS_SECRET}: {e:?}"))?;
            Ok(())
        }
        Err(e) => Err(format!("CreateSecret {DEV_JWKS_SECRET}: {e:?}").into()),
    }
}
