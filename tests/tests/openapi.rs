//! The OpenAPI document (infra/openapi.json) against the code: its operations are exactly the
//! routes the functions declare (their `keygate::routes!` tables), those routes are exactly the
//! API's routes in infra/template.yaml and in the local router (Cargo.toml), every error a route
//! documents is a problem+json, and the stack serves the committed file at `/v1/openapi.json`.
//! All but the last read files only; the schemas themselves are checked against the running
//! stack by scripts/schemathesis.sh.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use keygate_e2e::Stack;
use serde_json::Value;

/// Routes of the local router that are no API route: the dev sign-in (never deployed) and the
/// console's pages, where every other path lands.
const LOCAL_ONLY: [&str; 3] = ["/dev/token", "/", "/{*rest}"];

const METHODS: [&str; 5] = ["get", "put", "post", "delete", "patch"];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ is inside the workspace")
        .to_path_buf()
}

fn read(relative: &str) -> String {
    let path = root().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn spec() -> Value {
    serde_json::from_str(&read("infra/openapi.json")).expect("infra/openapi.json is JSON")
}

/// `/v1/projects/{p}/keys` -> `/v1/projects/{}/keys`: parameter names differ between files.
fn shape(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// The route strings of a source file's `keygate::routes!` table (`Variant = "METHOD /path",`
/// lines), if it has one.
fn router_literals(source: &str) -> Vec<String> {
    let Some(start) = source.find("keygate::routes! {") else {
        return Vec::new();
    };
    let table = &source[start..];
    let table = &table[..table.find("\n}").expect("a route table ends with `}`")];
    table
        .lines()
        .filter_map(|l| l.split_once("= \"").and_then(|(_, r)| r.split_once('"')))
        .map(|(route, _)| route.to_string())
        .collect()
}

/// Every route a function declares, as `"METHOD /path"`, with the function (its directory,
/// which is also its binary's name) that declares it.
fn declared_routes() -> BTreeMap<String, String> {
    let mut routes = BTreeMap::new();
    let dir = root().join("functions");
    for entry in std::fs::read_dir(&dir).expect("functions/") {
        let entry = entry.expect("functions/ entry");
        let main = entry.path().join("src/main.rs");
        let Ok(source) = std::fs::read_to_string(&main) else {
            continue;
        };
        let function = entry.file_name().to_string_lossy().to_string();
        for route in router_literals(&source) {
            assert!(
                route.split_once(' ').is_some_and(|(m, p)| {
                    METHODS.contains(&m.to_ascii_lowercase().as_str()) && p.starts_with('/')
                }),
                "{function}: {route:?} is not `METHOD /path`"
            );
            if let Some(other) = routes.insert(route.clone(), function.clone()) {
                panic!("{route} is declared by both {other} and {function}");
            }
        }
    }
    routes
}

/// The operations of the OpenAPI document, as `"METHOD /path"`.
fn documented_routes(spec: &Value) -> BTreeSet<String> {
    let paths = spec["paths"].as_object().expect("paths");
    let mut out = BTreeSet::new();
    for (path, item) in paths {
        for (key, _) in item.as_object().expect("path item") {
            if METHODS.contains(&key.as_str()) {
                out.insert(format!("{} {path}", key.to_ascii_uppercase()));
            }
        }
    }
    out
}

/// The paths of the HTTP API events in infra/template.yaml (`Path: ...` beside `ApiId`).
fn template_paths() -> BTreeSet<String> {
    read("infra/template.yaml")
        .lines()
        .filter(|l| l.contains("ApiId: !Ref Api") && l.contains("Path:"))
        .map(|l| {
            let rest = &l[l.find("Path:").expect("Path:") + "Path:".len()..];
            rest.split(',')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches('"')
                .to_string()
        })
        .collect()
}

/// `[workspace.metadata.lambda.watch.router]` of Cargo.toml: path -> function.
fn local_router() -> BTreeMap<String, String> {
    let manifest = read("Cargo.toml");
    let section = manifest
        .split("[workspace.metadata.lambda.watch.router]")
        .nth(1)
        .expect("Cargo.toml has the local router");
    section
        .lines()
        .map(str::trim)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| l.starts_with('"'))
        .map(|l| {
            let (path, function) = l.split_once('=').expect("\"path\" = \"function\"");
            (
                path.trim().trim_matches('"').to_string(),
                function.trim().trim_matches('"').to_string(),
            )
        })
        .collect()
}

#[test]
fn the_document_has_exactly_the_routes_the_functions_declare() {
    let declared: BTreeSet<String> = declared_routes().into_keys().collect();
    let documented = documented_routes(&spec());
    let missing: Vec<_> = declared.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&declared).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "infra/openapi.json is out of step with the functions' route tables:\n  not documented: \
         {missing:?}\n  documented, no function has it: {extra:?}"
    );
}

#[test]
fn the_deployed_and_local_routers_send_every_route_to_its_function() {
    let declared = declared_routes();
    let shapes: BTreeMap<String, String> = declared
        .iter()
        .map(|(route, function)| {
            let path = route.split_once(' ').expect("METHOD /path").1;
            (shape(path), function.clone())
        })
        .collect();

    let deployed: BTreeSet<String> = template_paths().iter().map(|p| shape(p)).collect();
    let wanted: BTreeSet<String> = shapes.keys().cloned().collect();
    assert_eq!(
        deployed, wanted,
        "infra/template.yaml's API routes (left) are not the functions' paths (right)"
    );

    let local: BTreeMap<String, String> = local_router()
        .into_iter()
        .filter(|(path, _)| !LOCAL_ONLY.contains(&path.as_str()))
        .map(|(path, function)| (shape(&path), function))
        .collect();
    assert_eq!(
        local, shapes,
        "Cargo.toml's local router (left) does not send each path to the function that declares \
         it (right)"
    );
}

#[test]
fn every_documented_error_is_a_problem_and_every_path_parameter_is_described() {
    let spec = spec();
    let responses = &spec["components"]["responses"];
    for (name, response) in responses.as_object().expect("components.responses") {
        let content = response["content"].as_object().expect("content");
        assert_eq!(
            content.keys().collect::<Vec<_>>(),
            ["application/problem+json"],
            "{name}"
        );
        let schema = &content["application/problem+json"]["schema"];
        assert_eq!(
            schema["allOf"][0]["$ref"], "#/components/schemas/Problem",
            "{name}"
        );
    }
    let parameters = &spec["components"]["parameters"];
    for route in documented_routes(&spec) {
        let (method, path) = route.split_once(' ').expect("METHOD /path");
        let op = &spec["paths"][path][method.to_ascii_lowercase()];
        let statuses = op["responses"].as_object().expect("responses");
        assert!(
            statuses.keys().any(|s| s.starts_with('2')),
            "{route} has no success response"
        );
        for (status, response) in statuses {
            let code: u16 = status.parse().expect("explicit status codes only");
            if code >= 400 {
                let target = response["$ref"]
                    .as_str()
                    .and_then(|r| r.strip_prefix("#/components/responses/"))
                    .unwrap_or_else(|| panic!("{route} {status}: not a shared problem response"));
                assert_eq!(
                    responses[target]["content"]["application/problem+json"]["schema"]["allOf"][1]
                        ["properties"]["status"]["const"],
                    code,
                    "{route} {status} refers to {target}"
                );
            }
        }
        let named: BTreeSet<String> = op["parameters"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .map(|p| match p["$ref"].as_str() {
                        Some(r) => &parameters[r.trim_start_matches("#/components/parameters/")],
                        None => p,
                    })
                    .filter(|p| p["in"] == "path")
                    .map(|p| p["name"].as_str().expect("name").to_string())
                    .collect()
            })
            .unwrap_or_default();
        let in_path: BTreeSet<String> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_string)
            .collect();
        assert_eq!(named, in_path, "{route}: path parameters");
    }
}

#[tokio::test]
async fn the_stack_serves_the_committed_document() {
    let stack = Stack::new().await;
    let res = stack
        .http
        .get(format!("{}/v1/openapi.json", stack.url))
        .send()
        .await
        .expect("console answers");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let body = res.bytes().await.expect("body");
    assert!(
        body.as_ref() == read("infra/openapi.json").as_bytes(),
        "GET /v1/openapi.json is not infra/openapi.json: rebuild the console function"
    );
    let res = stack
        .http
        .post(format!("{}/v1/openapi.json", stack.url))
        .send()
        .await
        .expect("console answers");
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "GET, HEAD");
}

/// The import prefix's rule has one home: the code's pattern is what the contract states for
/// every `prefix` (the path parameter and each schema property), and the console reads it from
/// the contract rather than keeping a copy.
#[test]
fn the_prefix_rule_is_the_contracts() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/openapi.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("openapi.json")).expect("JSON");
    let want = format!("^{}$", keygate::model::ids::PREFIX_PATTERN);
    assert_eq!(
        doc["components"]["parameters"]["path_prefix"]["schema"]["pattern"], want,
        "the path parameter"
    );
    let mut seen = 0;
    let mut stack = vec![&doc["components"]["schemas"]];
    while let Some(v) = stack.pop() {
        if let Some(map) = v.as_object() {
            if let Some(prefix) = map.get("properties").and_then(|p| p.get("prefix")) {
                assert_eq!(prefix["pattern"], want, "{prefix}");
                seen += 1;
            }
            stack.extend(map.values());
        } else if let Some(items) = v.as_array() {
            stack.extend(items);
        }
    }
    assert!(seen >= 2, "the schemas with a prefix: {seen}");
    let app = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions/console/assets/app.js"),
    )
    .expect("app.js");
    assert!(
        app.contains("doc.components.parameters.path_prefix.schema.pattern")
            && !app.contains(keygate::model::ids::PREFIX_PATTERN),
        "the console reads the rule from the contract and keeps no copy"
    );
}
