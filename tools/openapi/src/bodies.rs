//! The bodies no type of keygate's library describes: the functions write them with `json!`
//! (`Approval`, `KeyToken`, the JWKS) or read them into a function's private type (`VerifyInput`,
//! functions/verify), and the problem+json body is http.rs's private `Problem`. Their shapes are
//! declared here, beside the operations that send them; everything else in the document comes
//! from the library's own types.

#![allow(dead_code)] // Only their schemas are used.

use keygate::FieldError;
use keygate::model::key::KeyView;
use keygate::model::request::KeyRequest;
use utoipa::ToSchema;

/// An RFC 9457 problem, sent as `application/problem+json`.
#[derive(ToSchema)]
pub struct Problem {
    /// The problem type, `urn:keygate:problem:<kind>`.
    #[schema(pattern = "^urn:keygate:problem:[a-z-]+$")]
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    pub detail: String,
    /// The invalid fields (400 validation, 422 rule broken).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub errors: Option<Vec<FieldError>>,
    /// The stored version (412 version mismatch).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub current_version: Option<u64>,
}

/// `POST .../approve`: the request, now approved, and the key it made.
#[derive(ToSchema)]
pub struct Approval {
    pub request: KeyRequest,
    pub key: KeyView,
}

#[derive(ToSchema)]
pub struct KeyToken {
    /// The API key (a JWT).
    pub token: String,
}

/// The public keys API keys are signed with (RFC 7517).
#[derive(ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// One Ed25519 public key (RFC 8037).
#[derive(ToSchema)]
pub struct Jwk {
    #[schema(inline)]
    pub kty: Kty,
    #[schema(inline)]
    pub crv: Crv,
    #[schema(inline)]
    #[serde(rename = "use")]
    pub usage: Use,
    #[schema(inline)]
    pub alg: Alg,
    pub kid: String,
    /// The public key, base64url.
    pub x: String,
}

// The JWK members keygate's keys always have (token/mod.rs, `jwks`): one value each.
#[derive(ToSchema)]
pub enum Kty {
    #[serde(rename = "OKP")]
    Okp,
}
#[derive(ToSchema)]
pub enum Crv {
    Ed25519,
}
#[derive(ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Use {
    Sig,
}
#[derive(ToSchema)]
pub enum Alg {
    EdDSA,
}

// `POST /v1/verify`'s body (functions/verify's `VerifyInput` and its `check`).
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyInput {
    #[schema(min_length = 1)]
    pub token: String,
    #[schema(pattern = "^[A-Za-z]+$")]
    pub method: String,
    #[schema(pattern = "^/", max_length = 2048)]
    pub path: String,
}
