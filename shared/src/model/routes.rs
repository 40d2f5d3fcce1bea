//! The platform's routes and the permission each needs (`RouteMap`, API.md's platform-call table
//! by default, `PLATFORM_ROUTES` when configured), and how a call's method and path are matched
//! to one: a parameter must name exactly one path segment however often it is decoded. Pure: no
//! I/O; the decision and the configuration read it.

/// One platform route and the permission it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformRoute {
    /// `METHOD /path/{param}`, as configured; what usage counts by.
    pub template: String,
    method: String,
    segments: Vec<Segment>,
    pub permission: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
}

/// Which platform route needs which permission. `{p}` in a route is the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMap {
    routes: Vec<PlatformRoute>,
}

/// API.md's platform-call table.
pub const DEFAULT_ROUTES: &[(&str, &str)] = &[
    ("GET /projects/{p}/data_layers/last", "data_layers:read"),
    ("POST /projects/{p}/nodes/{n}/packages", "packages:write"),
    (
        "POST /projects/{p}/nodes/{n}/packages/search",
        "packages:read",
    ),
    (
        "GET /projects/{p}/nodes/{n}/packages/{id}/files",
        "files:read",
    ),
    (
        "GET /projects/{p}/nodes/{n}/packages/{id}/files/{f}",
        "files:read",
    ),
];

impl RouteMap {
    pub fn default_routes() -> Self {
        Self::from_pairs(DEFAULT_ROUTES.iter().copied()).unwrap_or(RouteMap { routes: vec![] })
    }

    /// Reads a route map: a JSON object of `"METHOD /path/{p}/…": "resource:action"`.
    pub fn from_json(doc: &str) -> std::result::Result<Self, String> {
        let map: std::collections::BTreeMap<String, String> =
            serde_json::from_str(doc).map_err(|e| format!("not a JSON object of strings: {e}"))?;
        Self::from_pairs(map.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }

    fn from_pairs<'a>(
        pairs: impl Iterator<Item = (&'a str, &'a str)>,
    ) -> std::result::Result<Self, String> {
        let mut routes = Vec::new();
        for (template, permission) in pairs {
            let (method, path) = template
                .split_once(' ')
                .ok_or_else(|| format!("{template:?}: expected \"METHOD /path\""))?;
            if !path.starts_with('/') || method.is_empty() {
                return Err(format!("{template:?}: expected \"METHOD /path\""));
            }
            crate::model::project::check_permission("permission", permission)
                .map_err(|e| format!("{template:?}: permission {permission:?} {}", e.message))?;
            let segments: Vec<Segment> = path
                .trim_start_matches('/')
                .split('/')
                .map(
                    |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) => Segment::Param(name.to_string()),
                        None => Segment::Literal(s.to_string()),
                    },
                )
                .collect();
            if !segments.contains(&Segment::Param("p".into())) {
                return Err(format!(
                    "{template:?}: the path must name the project as {{p}}"
                ));
            }
            routes.push(PlatformRoute {
                template: template.to_string(),
                method: method.to_ascii_uppercase(),
                segments,
                permission: permission.to_string(),
            });
        }
        Ok(RouteMap { routes })
    }

    /// The route a call matches and its project segment (the query string is ignored). A call
    /// whose parameter values are not all plain names ([`is_plain_segment`]) matches no route:
    /// a backend that decodes or normalises the path would read another path than the one
    /// decided on (`nodes/..%2f..%2fother/packages` is in project `other` to such a backend).
    pub fn find(&self, method: &str, path: &str) -> Option<(&PlatformRoute, String)> {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        self.routes.iter().find_map(|r| {
            if !r.method.eq_ignore_ascii_case(method) || r.segments.len() != parts.len() {
                return None;
            }
            let mut project = None;
            for (seg, part) in r.segments.iter().zip(&parts) {
                match seg {
                    Segment::Literal(l) if l == part => {}
                    Segment::Param(name) if is_plain_segment(part) => {
                        if name == "p" {
                            project = Some(part.to_string());
                        }
                    }
                    _ => return None,
                }
            }
            project.map(|p| (r, p))
        })
    }
}

/// Percent-decodings a parameter value is followed through: a backend (or a proxy before it)
/// may decode more than once, so `%252e` may end up as `.`. A value still encoded after this
/// many is refused.
const MAX_DECODINGS: usize = 3;

/// Whether a route parameter's value, as it stands in the path (still percent-encoded), names
/// exactly one path segment to whatever serves the call, however many times that decodes it
/// (up to [`MAX_DECODINGS`]). Refused, as written or after any decoding:
/// - `.`, `..` and anything else of only dots and spaces (some servers trim trailing dots and
///   spaces), also before a `;` (`..;x` is `..` to servers that cut path parameters), and an
///   empty value;
/// - `/` and `\` (`%2F`, `%2f`, `%5C`, `%5c` and so `..%2f` or `.%2e`, `%2e%2e` decoding to
///   `..`), `?` and `#` (they would end the path), control characters;
/// - bytes that are not UTF-8 (`%c0%ae`, an overlong `.` some decoders accept).
///
/// `{p}` is held to this too; beyond it the decision compares `{p}` byte for byte with the
/// key's project id, which is only ever `[a-z0-9][a-z0-9_-]*`.
pub fn is_plain_segment(raw: &str) -> bool {
    let mut value = raw.as_bytes().to_vec();
    for _ in 0..=MAX_DECODINGS {
        if !is_plain_once(&value) {
            return false;
        }
        let decoded = percent_decode(&value);
        if decoded == value {
            return true;
        }
        value = decoded;
    }
    false
}

/// One reading of a value: UTF-8, no separator or control character, not a dot segment.
fn is_plain_once(value: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    if text
        .chars()
        .any(|c| matches!(c, '/' | '\\' | '?' | '#') || c.is_control())
    {
        return false;
    }
    let name = text.split(';').next().unwrap_or_default();
    !name.chars().all(|c| c == '.' || c == ' ')
}

/// Decodes every well-formed `%XX` once; anything else is kept as it is.
fn percent_decode(value: &[u8]) -> Vec<u8> {
    percent_encoding::percent_decode(value).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ids::ProjectId;

    #[test]
    fn default_routes_match_the_platform_calls() {
        let m = RouteMap::default_routes();
        let (r, p) = m
            .find("GET", "/projects/server/data_layers/last?x=1")
            .expect("match");
        assert_eq!(
            (r.permission.as_str(), p.as_str()),
            ("data_layers:read", "server")
        );
        let (r, _) = m
            .find("post", "/projects/server/nodes/in/packages/search")
            .expect("match");
        assert_eq!(r.permission, "packages:read");
        let (r, _) = m
            .find("GET", "/projects/server/nodes/in/packages/7/files/f1")
            .expect("match");
        assert_eq!(
            r.template,
            "GET /projects/{p}/nodes/{n}/packages/{id}/files/{f}"
        );
        assert!(
            m.find("DELETE", "/projects/server/data_layers/last")
                .is_none()
        );
        assert!(m.find("GET", "/projects//data_layers/last").is_none());
        assert!(
            m.find("GET", "/projects/server/data_layers/last/extra")
                .is_none()
        );
        assert!(m.find("GET", "/other/server").is_none());
    }

    /// A backend that normalises or decodes paths must not be steered off the route decided
    /// on: parameters that are dot segments or hide a separator, as written or once decoded
    /// (once or more), match no route, so the call is refused as `unknown_route`.
    #[test]
    fn parameters_that_a_backend_could_read_as_another_path_match_no_route() {
        let m = RouteMap::default_routes();
        let files = |n: &str, id: &str, f: &str| {
            m.find(
                "GET",
                &format!("/projects/server/nodes/{n}/packages/{id}/files/{f}"),
            )
        };
        assert!(files("in", "7", "f1").is_some());
        for bad in [
            "",
            ".",
            "..",
            "...",
            ". .",
            ".. ",
            "..;x",
            ".;",
            ";x",
            "%2e",
            "%2E",
            "%2e%2e",
            "%2E%2e",
            ".%2e",
            "%2e.",
            "..%2f..%2fother",
            "a%2Fb",
            "a%2fb",
            "..%2F",
            "a\\b",
            "..\\other",
            "a%5cb",
            "a%5Cb",
            "%5c..",
            "%252e%252e",
            "%25252e%25252e",
            "a%252fb",
            "a%25255cb",
            "%%32e%%32e",
            "%c0%ae%c0%ae",
            "a%c0%afb",
            "a%00",
            "a%0d%0ab",
            "x%3fy",
            "x%23y",
            "%2525252525",
        ] {
            assert!(!is_plain_segment(bad), "{bad:?} is not a plain segment");
            // Wherever it stands: the node, the package or the file.
            for call in [
                files(bad, "7", "f1"),
                files("in", bad, "f1"),
                files("in", "7", bad),
            ] {
                assert!(call.is_none(), "{bad:?} matched {call:?}");
            }
            // And as the project: no route at all (not even `wrong_project`).
            assert!(
                m.find("GET", &format!("/projects/{bad}/data_layers/last"))
                    .is_none(),
                "{bad:?} as the project"
            );
        }
        // Ordinary names, dots inside them, percent signs that encode nothing harmful.
        for good in [
            "in",
            "node-1",
            "file.txt",
            ".hidden",
            "a..b",
            "..a",
            "v1.2.3",
            "a;b",
            "a%20b",
            "%41",
            "100%",
            "%zz",
            "caf%C3%A9",
            "\u{e9}t\u{e9}",
        ] {
            assert!(is_plain_segment(good), "{good:?} is a plain segment");
            assert!(files(good, good, good).is_some(), "{good:?} matches");
        }
    }

    /// `{p}` is compared byte for byte with the key's project id: none of the refused forms,
    /// nor an encoding of a real project id, can ever equal one.
    #[test]
    fn the_project_segment_is_compared_as_written() {
        let m = RouteMap::default_routes();
        let (_, p) = m
            .find("GET", "/projects/%73erver/data_layers/last")
            .expect("a plain segment");
        assert_eq!(p, "%73erver", "not decoded: it is not the project `server`");
        assert!(ProjectId::parse("p", &p).is_err());
        for bad in ["..", "%2e%2e", ".%2e", "a%2fb", "a\\b", "a%5cb", "a%00"] {
            assert!(ProjectId::parse("p", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn configured_routes_are_checked() {
        let m = RouteMap::from_json(r#"{"GET /v2/{p}/things": "things:read"}"#).expect("valid");
        assert!(m.find("GET", "/v2/alpha/things").is_some());
        for bad in [
            "[]",
            r#"{"GET /v2/things": "things:read"}"#,
            r#"{"/v2/{p}": "things:read"}"#,
            r#"{"GET /v2/{p}": "Not A Permission"}"#,
        ] {
            assert!(RouteMap::from_json(bad).is_err(), "{bad}");
        }
    }
}
