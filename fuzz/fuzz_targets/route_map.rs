//! The decision's platform route matcher (`RouteMap::from_json`, `RouteMap::find`).
//!
//! Properties: no document or call panics; a configured map only holds routes that name the
//! project as `{p}`; a match is the call's method (any case) and path (query and fragment
//! ignored), segment for segment, and the project it returns is exactly the path segment at
//! the route's `{p}`, never empty and never holding `/`, `?` or `#`; no matched parameter is,
//! decoded any number of times, `.` or `..` or holding `/` or `\`; a path made from a route
//! with plain parameter values (`is_plain_segment`) always matches (that route or an earlier
//! one).

#![no_main]

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use keygate::usecases::decision::{DEFAULT_ROUTES, PlatformRoute, RouteMap, is_plain_segment};
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Segment {
    Literal(String),
    Param(String),
    Project,
}

#[derive(Debug, Arbitrary)]
struct Route {
    method: String,
    segments: Vec<Segment>,
    permission: Permission,
}

#[derive(Debug, Arbitrary)]
enum Permission {
    Valid(u8),
    Raw(String),
}

#[derive(Debug, Arbitrary)]
enum Maps {
    /// API.md's table.
    Default,
    /// A JSON document as text (whatever the operator configured).
    Document(String),
    /// Routes of our making, as a configuration document.
    Routes(Vec<Route>),
}

#[derive(Debug, Arbitrary)]
enum Call {
    /// Any method and path.
    Raw { method: String, path: String },
    /// A path made from the map's n-th route, with these parameter values, query and case.
    FromRoute {
        n: u8,
        values: Vec<String>,
        lowercase: bool,
        suffix: Option<String>,
    },
}

#[derive(Debug, Arbitrary)]
struct Input {
    maps: Maps,
    calls: Vec<Call>,
}

const PERMISSIONS: &[&str] = &["*", "files:read", "packages:write", "data_layers:read"];

fn document(routes: &[Route]) -> String {
    let map: BTreeMap<String, String> = routes
        .iter()
        .map(|r| {
            let path: Vec<String> = r
                .segments
                .iter()
                .map(|s| match s {
                    Segment::Literal(l) => l.clone(),
                    Segment::Param(name) => format!("{{{name}}}"),
                    Segment::Project => "{p}".into(),
                })
                .collect();
            let permission = match &r.permission {
                Permission::Valid(i) => PERMISSIONS[usize::from(*i) % PERMISSIONS.len()].into(),
                Permission::Raw(s) => s.clone(),
            };
            (format!("{} /{}", r.method, path.join("/")), permission)
        })
        .collect();
    serde_json::to_string(&map).expect("a map of strings serialises")
}

/// The template's method and path segments, as the matcher must read them.
fn split(route: &PlatformRoute) -> (&str, Vec<&str>) {
    let (method, path) = route
        .template
        .split_once(' ')
        .expect("a configured route is METHOD /path");
    (method, path.trim_start_matches('/').split('/').collect())
}

fn param_name(seg: &str) -> Option<&str> {
    seg.strip_prefix('{').and_then(|s| s.strip_suffix('}'))
}

/// `%XX` decoded once (a check of its own, not the matcher's).
fn decode_once(v: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < v.len() {
        let hex = v
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (v[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    out
}

/// A matched parameter never reads, however often decoded, as a dot segment or a separator.
fn assert_no_traversal(path: &str, value: &str) {
    let mut v = value.as_bytes().to_vec();
    for _ in 0..8 {
        assert!(
            v != b"." && v != b".." && !v.contains(&b'/') && !v.contains(&b'\\'),
            "{path}: parameter {value:?} reads as {:?}",
            String::from_utf8_lossy(&v)
        );
        let next = decode_once(&v);
        if next == v {
            return;
        }
        v = next;
    }
}

/// The soundness of one answer of `find`.
fn check_match(method: &str, path: &str, found: Option<(&PlatformRoute, String)>) {
    let Some((route, project)) = found else {
        return;
    };
    let (m, template) = split(route);
    assert!(m.eq_ignore_ascii_case(method), "{method} matched {m}");
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    assert_eq!(
        parts.len(),
        template.len(),
        "{path} matched {}",
        route.template
    );
    let mut at_p = None;
    for (seg, part) in template.iter().zip(&parts) {
        match param_name(seg) {
            Some(name) => {
                assert!(!part.is_empty(), "{path}: empty {{{name}}}");
                assert_no_traversal(path, part);
                if name == "p" {
                    at_p = Some(*part);
                }
            }
            None => assert_eq!(seg, part, "{path} matched {}", route.template),
        }
    }
    // With `{p}` named twice the last one wins (config validation allows it).
    assert_eq!(Some(project.as_str()), at_p, "{path} in {}", route.template);
    assert!(!project.is_empty() && !project.contains(['/', '?', '#']));
}

/// The route templates a document configures, in the order `from_json` reads them.
fn templates_of(doc: &str) -> Vec<String> {
    serde_json::from_str::<BTreeMap<String, String>>(doc)
        .map(|m| m.into_keys().collect())
        .unwrap_or_default()
}

fuzz_target!(|input: Input| {
    let (map, templates) = match &input.maps {
        Maps::Default => (
            RouteMap::default_routes(),
            DEFAULT_ROUTES.iter().map(|(t, _)| t.to_string()).collect(),
        ),
        Maps::Document(doc) => match RouteMap::from_json(doc) {
            Ok(m) => (m, templates_of(doc)),
            Err(_) => return,
        },
        Maps::Routes(routes) => {
            let doc = document(routes);
            match RouteMap::from_json(&doc) {
                Ok(m) => (m, templates_of(&doc)),
                Err(_) => return,
            }
        }
    };
    for call in input.calls.iter().take(16) {
        match call {
            Call::Raw { method, path } => check_match(method, path, map.find(method, path)),
            Call::FromRoute {
                n,
                values,
                lowercase,
                suffix,
            } => {
                let Some(template) = templates.get(usize::from(*n) % templates.len().max(1)) else {
                    continue;
                };
                let (method, path) = template.split_once(' ').expect("checked by from_json");
                let template: Vec<&str> = path.trim_start_matches('/').split('/').collect();
                // Every configured route names the project.
                assert!(template.contains(&"{p}"), "{path}");
                let mut values = values.iter().filter_map(|v| {
                    let v: String = v.chars().filter(|c| !"/?#".contains(*c)).collect();
                    (!v.is_empty()).then_some(v)
                });
                let mut plain = true;
                let parts: Vec<String> = template
                    .iter()
                    .map(|seg| match param_name(seg) {
                        Some(_) => {
                            let v = values.next().unwrap_or_else(|| "x".into());
                            plain &= is_plain_segment(&v);
                            v
                        }
                        None => seg.to_string(),
                    })
                    .collect();
                let mut call_path = format!("/{}", parts.join("/"));
                if let Some(s) = suffix {
                    call_path.push(if s.len() % 2 == 0 { '?' } else { '#' });
                    call_path.push_str(s);
                }
                let method = if *lowercase {
                    method.to_ascii_lowercase()
                } else {
                    method.to_string()
                };
                let found = map.find(&method, &call_path);
                // A literal with `?` or `#` can never match: the query is cut off first; a
                // value that is not plain never does.
                if plain && !path.contains(['?', '#']) {
                    assert!(found.is_some(), "{method} {call_path} from {path}");
                }
                check_match(&method, &call_path, found);
            }
        }
    }
});
