//! The one error type of keygate: each variant says what went wrong for the caller and maps to
//! exactly one problem+json response (RFC 9457) in `http::problem`.

use serde::Serialize;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One invalid input: which field (a JSON path such as `fields[2].name`) and why.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// A JSON path such as `fields[2].name`, or a parameter name.
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
    /// Too many calls in a window (429 with `Retry-After: retry_after` seconds); `what` says
    /// which limit.
    #[error("rate limited: {what}")]
    RateLimited { what: String, retry_after: u64 },
    /// Well-formed input that breaks a rule about other data, e.g. a role that does not exist (422).
    #[error("rule broken: {0:?}")]
    Unprocessable(Vec<FieldError>),
    /// A dependency is throttling or unreachable; retrying may help (503). The detail is
    /// logged, not shown.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A change failed part-way on a passing fault and was undone; the detail (shown) says what
    /// failed, and a retry starts clean (503 with `Retry-After`).
    #[error("interrupted: {0}")]
    Interrupted(String),
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
            Error::RateLimited { .. } => 429,
            Error::Unavailable(_) | Error::Interrupted(_) => 503,
            Error::Internal(_) => 500,
        }
    }
}

/// Any AWS SDK failure as the caller sees it: unreachable or throttled is `Unavailable` (503, worth
/// a retry), anything else `Internal` with the service's error code. `op` names the call.
pub(crate) fn from_sdk<E, R>(op: &str, err: aws_sdk_dynamodb::error::SdkError<E, R>) -> Error
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
    let code = err.code().unwrap_or_default().to_string();
    match &err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            Error::Unavailable(format!("{op}: unreachable: {err:?}"))
        }
        _ if matches!(
            code.as_str(),
            "ProvisionedThroughputExceededException"
                | "RequestLimitExceeded"
                | "ThrottlingException"
                | "Throttling"
                | "TooManyRequestsException"
                | "LimitExceededException"
                | "InternalServerError"
                | "InternalServiceError"
                | "InternalFailure"
                | "ServiceUnavailable"
                | "ServiceUnavailableException"
        ) =>
        {
            Error::Unavailable(format!("{op}: {code}"))
        }
        _ => Error::Internal(format!(
            "{op}: {code}: {}",
            err.message().unwrap_or("no message")
        )),
    }
}
