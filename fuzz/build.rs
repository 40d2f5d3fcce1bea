//! The `api_router` target fuzzes the functions' own route tables: this reads the route
//! strings of each `functions/*/src/main.rs`'s `keygate::routes!` table (as
//! tests/tests/openapi.rs does) into `$OUT_DIR/routes.rs`, so a route added to a function is
//! fuzzed without a copy to keep in step.

use std::path::Path;

fn main() {
    let functions = Path::new(env!("CARGO_MANIFEST_DIR")).join("../functions");
    println!("cargo::rerun-if-changed={}", functions.display());
    let mut dirs: Vec<_> = std::fs::read_dir(&functions)
        .expect("functions/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    dirs.sort();
    let mut routes = Vec::new();
    for dir in dirs {
        let main = dir.join("src/main.rs");
        println!("cargo::rerun-if-changed={}", main.display());
        let Ok(source) = std::fs::read_to_string(&main) else {
            continue;
        };
        let Some(start) = source.find("keygate::routes! {") else {
            continue;
        };
        let table = &source[start..];
        let table = &table[..table.find("\n}").expect("a route table ends with `}`")];
        routes.extend(
            table
                .lines()
                .filter_map(|l| l.split_once("= \"").and_then(|(_, r)| r.split_once('"')))
                .map(|(route, _)| route.to_string()),
        );
    }
    assert!(routes.len() > 30, "found only {} routes", routes.len());
    let out = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("routes.rs");
    let body = format!(
        "/// Every route of the API's functions, in the order they declare them.\n\
         const ROUTES: &[&str] = &{routes:?};\n"
    );
    std::fs::write(out, body).expect("routes.rs written");
}
