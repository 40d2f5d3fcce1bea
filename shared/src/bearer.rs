//! `Authorization: Bearer <token>`, read by one rule wherever keygate takes a token from a
//! header: the console routes, `GET /v1/token` and the platform authorizer's identity source.
//! The scheme is case-insensitive (RFC 9110 §11.1), exactly one token follows it, and a token
//! longer than `MAX_TOKEN_BYTES` is refused before anything parses it. Pure: no I/O.

use lambda_http::http::{HeaderMap, header};

/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Why a request carries no usable bearer token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    /// No `Authorization` header (or an empty identity source).
    Missing,
    /// The header's value is not visible ASCII text.
    NotText,
    /// Another scheme, no token, or more than one.
    NotBearer,
    /// Longer than `MAX_TOKEN_BYTES`.
    TooLong,
}

impl BearerError {
    /// What the caller reads in the 401 problem.
    pub fn message(self) -> &'static str {
        match self {
            BearerError::Missing => "no Authorization header: send `Authorization: Bearer <token>`",
            BearerError::NotText => "the Authorization header is not text",
            BearerError::NotBearer => "the Authorization header must be `Bearer <token>`",
            BearerError::TooLong => "the token is too long",
        }
    }
}

/// The token of an `Authorization` header value.
pub fn parse(value: &str) -> Result<&str, BearerError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(BearerError::Missing);
    }
    let (scheme, token) = value.split_once(' ').ok_or(BearerError::NotBearer)?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer")
        || token.is_empty()
        || token.contains(char::is_whitespace)
    {
        return Err(BearerError::NotBearer);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(BearerError::TooLong);
    }
    Ok(token)
}

/// The bearer token of a request's headers.
pub fn from_headers(headers: &HeaderMap) -> Result<&str, BearerError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or(BearerError::Missing)?
        .to_str()
        .map_err(|_| BearerError::NotText)?;
    parse(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_http::http::HeaderValue;

    #[test]
    fn one_rule_for_every_form() {
        assert_eq!(parse("Bearer abc"), Ok("abc"));
        assert_eq!(parse("bearer abc"), Ok("abc"));
        assert_eq!(parse("BEARER  abc "), Ok("abc"));
        assert_eq!(parse("Basic abc"), Err(BearerError::NotBearer));
        assert_eq!(parse("abc"), Err(BearerError::NotBearer), "a bare token");
        assert_eq!(parse("Bearer"), Err(BearerError::NotBearer));
        assert_eq!(parse("Bearer "), Err(BearerError::NotBearer));
        assert_eq!(parse("Bearer a b"), Err(BearerError::NotBearer));
        assert_eq!(parse(""), Err(BearerError::Missing));
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1));
        assert_eq!(parse(&long), Err(BearerError::TooLong));
        let longest = format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES));
        assert!(parse(&longest).is_ok());
    }

    #[test]
    fn from_headers_reads_the_authorization_header() {
        let mut h = HeaderMap::new();
        assert_eq!(from_headers(&h), Err(BearerError::Missing));
        h.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        assert_eq!(from_headers(&h), Ok("t"));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_bytes(b"Bearer \xff").expect("opaque bytes"),
        );
        assert_eq!(from_headers(&h), Err(BearerError::NotText));
    }
}
