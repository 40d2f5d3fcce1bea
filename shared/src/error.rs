//! The one error type of keygate: each variant says what went wrong for the caller and maps to
//! exactly one problem+json response (RFC 9457) in `http::problem`.

use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One invalid input: which field (a JSON path such as `fields[2].name`) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input that breaks a validation rule (400), with every failing field.
    #[error("invalid input: {0:?}")]
    Invalid(Vec<FieldError>),
    /// The request itself is unusable: malformed JSON, wrong content type, bad cursor (400).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// No identity, or one that does not verify (401).
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller is known and may see the resource, but not do this (403).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// Missing, or not visible to this caller (404). Names what was looked for.
    #[error("{0} not found")]
    NotFound(String),
    /// The path exists, the method does not (405).
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<String> },
    /// A uniqueness or state rule is in the way (409).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Optimistic concurrency: the caller's `version` is not the stored one (412).
    #[error("version mismatch")]
    VersionMismatch { current: Option<u64> },
    /// The body is larger than the configured limit (413).
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// Well-formed input that breaks a rule about other data, e.g. a role that does not exist (422).
    #[error("rule broken: {0:?}")]
    Unprocessable(Vec<FieldError>),
    /// A dependency is throttling or unreachable; retrying may help (503).
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A fault of ours (500). The detail is logged, not shown.
    #[error("internal: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Invalid(vec![FieldError::new(field, message)])
    }

    pub fn unprocessable(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Unprocessable(vec![FieldError::new(field, message)])
    }

    pub fn internal(e: impl std::fmt::Display) -> Self {
        Error::Internal(e.to_string())
    }

    /// The HTTP status this error maps to.
    pub fn status(&self) -> u16 {
        match self {
            Error::Invalid(_) | Error::BadRequest(_) => 400,
            Error::Unauthenticated(_) => 401,
            Error::Forbidden(_) => 403,
            Error::NotFound(_) => 404,
            Error::MethodNotAllowed { .. } => 405,
            Error::Conflict(_) => 409,
            Error::VersionMismatch { .. } => 412,
            Error::PayloadTooLarge { .. } => 413,
            Error::Unprocessable(_) => 422,
            Error::Unavailable(_) => 503,
            Error::Internal(_) => 500,
        }
    }
}
