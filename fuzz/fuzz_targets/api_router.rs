//! The API's route table (`http::Router::find`) and its percent-decoding of path parameters.
//!
//! Properties: nothing panics; a match is the request's method and the route's path segment
//! for segment (trailing slashes aside), each parameter a non-empty segment decoded exactly as
//! RFC 3986 says (`%` and two hex digits, UTF-8; anything else is no match); a path made from a
//! route with any parameter values, percent-encoded, finds that route (or an earlier one of the
//! same shape) and decodes back to the values; a miss is a 404, or a 405 whose `Allow` lists
//! exactly the methods of the routes the path matches.

#![no_main]

use arbitrary::Arbitrary;
use keygate::Error;
use keygate::http::{Router, problem};
use lambda_http::http::Method;
use libfuzzer_sys::fuzz_target;

// `const ROUTES: &[&str]`: every route the functions declare (fuzz/build.rs reads them from
// functions/*/src/main.rs; one table: the matcher is the same for each).
include!(concat!(env!("OUT_DIR"), "/routes.rs"));
const ROUTER: Router = Router::new(ROUTES);

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "get"];

#[derive(Debug, Arbitrary)]
enum Input {
    /// Any method and path (`/` in front, as a request's path always has).
    Raw { method: u8, path: String },
    /// A path made from the n-th route: its parameters set to these values, percent-encoded
    /// (every byte but the unreserved ones, and those too where `encode` says so).
    FromRoute {
        n: u8,
        values: Vec<String>,
        encode: Vec<bool>,
        upper_hex: bool,
        trailing_slashes: u8,
    },
}

fn method(i: u8) -> Method {
    Method::from_bytes(METHODS[usize::from(i) % METHODS.len()].as_bytes())
        .expect("fixture: a valid method")
}

/// RFC 3986 percent-decoding of one segment: `None` for a broken escape or bytes not UTF-8.
fn reference_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hi = char::from(*b.get(i + 1)?).to_digit(16)?;
            let lo = char::from(*b.get(i + 2)?).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn encode(value: &str, encode: &mut impl Iterator<Item = bool>, upper: bool) -> String {
    let mut out = String::new();
    for &b in value.as_bytes() {
        let unreserved = b.is_ascii_alphanumeric() || b"-._~".contains(&b);
        if unreserved && !encode.next().unwrap_or(false) {
            out.push(char::from(b));
        } else if upper {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push_str(&format!("%{b:02x}"));
        }
    }
    out
}

/// The route's parameters for `path` if its pattern matches, by the rule the docs state.
fn expected_params(route: &str, path: &str) -> Option<Vec<(String, String)>> {
    let (_, pattern) = route.split_once(' ')?;
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let parts: Vec<&str> = pattern.split('/').skip(1).collect();
    if parts.len() != segments.len() {
        return None;
    }
    let mut params = Vec::new();
    for (part, seg) in parts.iter().zip(&segments) {
        match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some(name) if !seg.is_empty() => {
                params.push((name.to_string(), reference_decode(seg)?));
            }
            Some(_) => return None,
            None if part == seg => {}
            None => return None,
        }
    }
    Some(params)
}

fn check(method: &Method, path: &str) -> Option<&'static str> {
    let expected: Vec<(usize, Vec<(String, String)>)> = ROUTES
        .iter()
        .enumerate()
        .filter_map(|(i, r)| expected_params(r, path).map(|p| (i, p)))
        .collect();
    let same_method = expected
        .iter()
        .find(|(i, _)| ROUTES[*i].split_once(' ').map(|(m, _)| m) == Some(method.as_str()));
    match ROUTER.find(method, path) {
        Ok(m) => {
            let Some((i, params)) = same_method else {
                panic!("{method} {path} matched {} against the rule", m.route);
            };
            assert_eq!(m.route, ROUTES[*i], "{method} {path}: not the first match");
            for (name, value) in params {
                assert_eq!(
                    m.param(name).ok(),
                    Some(value.as_str()),
                    "{path}: {{{name}}}"
                );
            }
            Some(m.route)
        }
        Err(e) => {
            assert!(
                same_method.is_none(),
                "{method} {path}: {e:?}, expected a match"
            );
            match &e {
                Error::MethodNotAllowed { allow } => {
                    let want: Vec<&str> = expected
                        .iter()
                        .filter_map(|(i, _)| ROUTES[*i].split_once(' ').map(|(m, _)| m))
                        .collect();
                    assert_eq!(allow, &want, "{method} {path}");
                    let res = problem(&e);
                    assert_eq!(res.status(), 405);
                    assert!(res.headers().contains_key("allow"));
                }
                Error::NotFound(_) => {
                    assert!(expected.is_empty(), "{method} {path}: 404 for a known path");
                    assert_eq!(problem(&e).status(), 404);
                }
                other => panic!("{method} {path}: unexpected {other:?}"),
            }
            None
        }
    }
}

fuzz_target!(|input: Input| {
    match input {
        Input::Raw { method: m, path } => {
            let path = if path.starts_with('/') {
                path
            } else {
                format!("/{path}")
            };
            check(&method(m), &path);
        }
        Input::FromRoute {
            n,
            values,
            encode: mask,
            upper_hex,
            trailing_slashes,
        } => {
            let i = usize::from(n) % ROUTES.len();
            let (m, pattern) = ROUTES[i].split_once(' ').expect("fixture: METHOD /path");
            let mut mask = mask.into_iter().cycle();
            let mut values = values.into_iter().filter(|v| !v.is_empty());
            let mut given = Vec::new();
            let segments: Vec<String> = pattern
                .split('/')
                .map(
                    |part| match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                        Some(name) => {
                            let v = values.next().unwrap_or_else(|| "x".into());
                            let encoded = encode(&v, &mut mask, upper_hex);
                            given.push((name, v));
                            encoded
                        }
                        None => part.to_string(),
                    },
                )
                .collect();
            let path = format!(
                "{}{}",
                segments.join("/"),
                "/".repeat(usize::from(trailing_slashes % 3))
            );
            let method = Method::from_bytes(m.as_bytes()).expect("fixture: a valid method");
            let found = check(&method, &path);
            let first = ROUTES
                .iter()
                .position(|r| Some(*r) == found)
                .unwrap_or_else(|| panic!("{path} made from {} found nothing", ROUTES[i]));
            assert!(
                first <= i,
                "{path}: {} found instead of {}",
                ROUTES[first],
                ROUTES[i]
            );
            if first == i {
                let m = ROUTER.find(&method, &path).expect("found above");
                for (name, v) in given {
                    assert_eq!(m.param(name).ok(), Some(v.as_str()), "{path}");
                }
            }
        }
    }
});
