//! The Lambda authorizer event API Gateway sends for a call: payload format 2.0, type REQUEST
//! (field names as in aws_lambda_events' `ApiGatewayV2CustomAuthorizerV2Request`, which the
//! `authorizer` function deserialises), and the identity source values of the template's
//! `PlatformAuthorizer`.
//!
//! Shape: "Working with AWS Lambda authorizers for HTTP APIs", payload format 2.0
//! (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-lambda-authorizer.html).
//! Repeated headers and query parameters joined with commas, cookies in their own field:
//! "Working with AWS Lambda proxy integrations for HTTP APIs", payload format version note
//! (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).

use hyper::Method;
use hyper::header::{AUTHORIZATION, COOKIE, HeaderMap, USER_AGENT};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

/// The only route of the API (infra/template.yaml, `PlatformRoute`).
pub const ROUTE_KEY: &str = "ANY /projects/{proxy+}";
/// The stand-in's API id and account, as they appear in ARNs.
pub const API_ID: &str = "keygatelcl";
pub const ACCOUNT_ID: &str = "123456789012";
pub const REGION: &str = "us-east-1";

/// One call on the route, as the gateway saw it.
pub struct Call<'a> {
    pub method: &'a Method,
    /// The path as sent, still percent-encoded.
    pub raw_path: &'a str,
    /// The query string as sent, without `?` ("" without one).
    pub raw_query: &'a str,
    /// What `{proxy+}` matched: `raw_path` after `/projects/`.
    pub proxy: &'a str,
    pub headers: &'a HeaderMap,
    pub source_ip: String,
    pub request_id: &'a str,
    pub now: OffsetDateTime,
}

/// A header's values, repeated ones joined with commas ("" if absent).
pub fn joined(headers: &HeaderMap, name: impl hyper::header::AsHeaderName) -> String {
    let mut out = String::new();
    for (i, value) in headers.get_all(name).iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&String::from_utf8_lossy(value.as_bytes()));
    }
    out
}

impl Call<'_> {
    /// The identity source values, in the template's order: `$request.header.Authorization`,
    /// `$context.routeKey`, `$context.httpMethod`, `$context.path`. `None` when one is
    /// missing or empty: API Gateway then answers 401 without invoking the authorizer.
    pub fn identity(&self) -> Option<Vec<String>> {
        let authorization = joined(self.headers, AUTHORIZATION);
        if authorization.trim().is_empty() {
            return None;
        }
        Some(vec![
            authorization,
            ROUTE_KEY.to_string(),
            self.method.as_str().to_string(),
            self.raw_path.to_string(),
        ])
    }

    /// The authorizer's event for this call with these identity source values.
    pub fn event(&self, identity: &[String]) -> Value {
        let mut headers = Map::new();
        for name in self.headers.keys() {
            // Cookies have a field of their own in format 2.0.
            if name == COOKIE {
                continue;
            }
            // `HeaderMap` names are lower-case already.
            headers.insert(
                name.as_str().to_string(),
                Value::String(joined(self.headers, name)),
            );
        }
        let cookies: Vec<Value> = self
            .headers
            .get_all(COOKIE)
            .iter()
            .flat_map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split(';')
                    .map(|c| c.trim().to_string())
                    .filter(|c| !c.is_empty())
                    .collect::<Vec<_>>()
            })
            .map(Value::String)
            .collect();
        let time = self
            .now
            .format(format_description!(
                "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
            ))
            .unwrap_or_default();
        let epoch_ms = i64::try_from(self.now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
        let mut event = json!({
            "version": "2.0",
            "type": "REQUEST",
            "routeArn": format!(
                "arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{API_ID}/$default/{}{}",
                self.method, self.raw_path
            ),
            "identitySource": identity,
            "routeKey": ROUTE_KEY,
            "rawPath": self.raw_path,
            "rawQueryString": self.raw_query,
            "cookies": cookies,
            "headers": headers,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": API_ID,
                "domainName": self.domain_name(),
                "domainPrefix": self.domain_name().split('.').next().unwrap_or_default(),
                "http": {
                    "method": self.method.as_str(),
                    "path": self.raw_path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": self.source_ip,
                    "userAgent": joined(self.headers, USER_AGENT),
                },
                "requestId": self.request_id,
                "routeKey": ROUTE_KEY,
                "stage": "$default",
                "time": time,
                "timeEpoch": epoch_ms,
            },
            "pathParameters": {"proxy": self.proxy},
        });
        if let Some(query) = self.query_parameters() {
            event["queryStringParameters"] = query;
        }
        event
    }

    /// The host the client called (the API's domain name in AWS).
    fn domain_name(&self) -> String {
        let host = joined(self.headers, hyper::header::HOST);
        if host.is_empty() {
            format!("{API_ID}.execute-api.{REGION}.amazonaws.com")
        } else {
            host
        }
    }

    /// The decoded query parameters, repeated ones joined with commas; `None` without any.
    fn query_parameters(&self) -> Option<Value> {
        if self.raw_query.is_empty() {
            return None;
        }
        let url = reqwest::Url::parse(&format!("http://q/?{}", self.raw_query)).ok()?;
        let mut params = Map::new();
        for (name, value) in url.query_pairs() {
            match params.get_mut(name.as_ref()) {
                Some(Value::String(existing)) => {
                    existing.push(',');
                    existing.push_str(&value);
                }
                _ => {
                    params.insert(name.into_owned(), Value::String(value.into_owned()));
                }
            }
        }
        (!params.is_empty()).then_some(Value::Object(params))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(list: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in list {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn identity_needs_a_non_empty_authorization_header() {
        let method = Method::GET;
        for list in [
            &[][..],
            &[("authorization", "")][..],
            &[("authorization", "  ")][..],
        ] {
            let h = headers(list);
            let call = Call {
                method: &method,
                raw_path: "/projects/p/x",
                raw_query: "",
                proxy: "p/x",
                headers: &h,
                source_ip: "127.0.0.1".into(),
                request_id: "r",
                now: OffsetDateTime::UNIX_EPOCH,
            };
            assert_eq!(call.identity(), None);
        }
    }

    #[test]
    fn event_joins_repeats_and_splits_cookies() {
        let method = Method::POST;
        let h = headers(&[
            ("authorization", "Bearer t"),
            ("x-multi", "a"),
            ("x-multi", "b"),
            ("cookie", "c1=1; c2=2"),
        ]);
        let call = Call {
            method: &method,
            raw_path: "/projects/p/nodes/n/packages/search",
            raw_query: "page_size=1&a=x&a=y",
            proxy: "p/nodes/n/packages/search",
            headers: &h,
            source_ip: "127.0.0.1".into(),
            request_id: "r1",
            now: OffsetDateTime::UNIX_EPOCH,
        };
        let identity = call.identity().expect("has authorization");
        let event = call.event(&identity);
        assert_eq!(event["headers"]["x-multi"], "a,b");
        assert!(event["headers"].get("cookie").is_none());
        assert_eq!(event["cookies"], json!(["c1=1", "c2=2"]));
        assert_eq!(
            event["queryStringParameters"],
            json!({"page_size": "1", "a": "x,y"})
        );
        assert_eq!(
            event["routeArn"],
            "arn:aws:execute-api:us-east-1:123456789012:keygatelcl/$default/POST/projects/p/nodes/n/packages/search"
        );
        assert_eq!(
            event["requestContext"]["time"],
            "01/Jan/1970:00:00:00 +0000"
        );
        assert_eq!(event["requestContext"]["timeEpoch"], 0);
    }
}
