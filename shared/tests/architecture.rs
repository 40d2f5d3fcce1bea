//! The library's modules point one way: no module cycle (a module's `impl Store` blocks count as
//! the store's, and the token's submodules as the token's), no import of a higher layer (`LAYERS`,
//! as lib.rs lists them), the model (`src/model/`) imports nothing but the model and the error
//! type, and only `config` reads the environment. Read from the
//! `use` lines and paths of `shared/src` (comments and test modules left out): a new arrow
//! against the direction fails here, naming the cycle or the import.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The modules whose submodules count as one (their `impl` blocks share the parent's type).
const UNITS: &[&str] = &["store", "token"];
/// The layers, lowest first: a module may import its own layer and those below. Each top-level
/// module of `src/` has one (a new one fails `every_module_has_a_layer` until it is placed).
const LAYERS: &[&[&str]] = &[
    &["model", "error"],
    &["config"],
    &["adapters", "store", "token", "bearer", "keycache"],
    &["access", "identity", "domain", "usecases"],
    &["app", "http"],
];

fn layer(module: &str) -> Option<usize> {
    let top = module.split("::").next().unwrap_or_default();
    LAYERS.iter().position(|l| l.contains(&top))
}

/// What the model may import.
const MODEL_MAY_USE: &[&str] = &["model", "error"];

fn sources(dir: &Path, prefix: &[String], out: &mut BTreeMap<String, String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("shared/src")
        .filter_map(|e| e.ok())
        .collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let path = e.path();
        let name = path
            .file_stem()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if path.is_dir() {
            let mut p = prefix.to_vec();
            p.push(name);
            sources(&path, &p, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            let mut p = prefix.to_vec();
            if name != "mod" && name != "lib" {
                p.push(name);
            }
            let text = std::fs::read_to_string(&path).expect("a source file");
            out.insert(p.join("::"), text);
        }
    }
}

/// The source without its test module and comments.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

fn unit(module: &str) -> String {
    let first = module.split("::").next().unwrap_or_default();
    if UNITS.contains(&first) {
        first.to_string()
    } else {
        module.to_string()
    }
}

/// The modules `module`'s code refers to (`crate::a::b`, `super::x`), as the longest known name.
fn references(module: &str, code: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    let parent: Vec<&str> = module.split("::").collect();
    let parent = parent[..parent.len().saturating_sub(1)].join("::");
    let mut found = BTreeSet::new();
    let mut paths: Vec<String> = Vec::new();
    for (marker, base) in [("crate::", String::new()), ("super::", parent.clone())] {
        let mut rest = code;
        while let Some(i) = rest.find(marker) {
            rest = &rest[i + marker.len()..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':' || *c == '{')
                .collect();
            // `crate::a::{b, c}` and `super::{b, c}`: each item.
            if let Some(group) = path.strip_suffix('{') {
                let inner = rest[path.len()..].split('}').next().unwrap_or_default();
                let group = group.trim_end_matches(':');
                for item in inner.split(',') {
                    let item = item.trim().split("::").next().unwrap_or_default();
                    let full = [base.as_str(), group, item]
                        .iter()
                        .filter(|s| !s.is_empty())
                        .copied()
                        .collect::<Vec<_>>()
                        .join("::");
                    paths.push(full);
                }
            }
            let path = path.trim_end_matches('{').trim_end_matches("::");
            let full = [base.as_str(), path]
                .iter()
                .filter(|s| !s.is_empty())
                .copied()
                .collect::<Vec<_>>()
                .join("::");
            paths.push(full);
        }
    }
    for p in paths {
        let parts: Vec<&str> = p.split("::").collect();
        for n in (1..=parts.len()).rev() {
            let candidate = parts[..n].join("::");
            if known.contains(&candidate) {
                found.insert(candidate);
                break;
            }
        }
    }
    found.remove(module);
    found
}

fn graph() -> (
    BTreeMap<String, BTreeSet<String>>,
    BTreeMap<String, BTreeSet<String>>,
) {
    let mut files = BTreeMap::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut files,
    );
    let known: BTreeSet<String> = files.keys().cloned().collect();
    let mut modules = BTreeMap::new();
    let mut units: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, text) in &files {
        let refs = references(m, &code(text), &known);
        let u = unit(m);
        let entry = units.entry(u.clone()).or_default();
        for r in &refs {
            let ru = unit(r);
            if ru != u && !m.starts_with(&format!("{r}::")) {
                entry.insert(ru);
            }
        }
        modules.insert(m.clone(), refs);
    }
    (modules, units)
}

/// A cycle through `start`, if there is one.
fn cycle_from(start: &str, edges: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in edges.get(&at).into_iter().flatten() {
            if next == start {
                let mut c = path.clone();
                c.push(start.to_string());
                return Some(c);
            }
            if seen.insert(next.clone()) {
                let mut p = path.clone();
                p.push(next.clone());
                stack.push((next.clone(), p));
            }
        }
    }
    None
}

#[test]
fn no_module_cycle() {
    let (_, units) = graph();
    assert!(
        units.len() > 20,
        "the library's modules were read: {units:?}"
    );
    let cycles: Vec<String> = units
        .keys()
        .filter_map(|u| cycle_from(u, &units))
        .map(|c| c.join(" -> "))
        .collect();
    assert!(cycles.is_empty(), "module cycles:\n{}", cycles.join("\n"));
}

#[test]
fn the_model_imports_only_the_model() {
    let (modules, _) = graph();
    let mut wrong = Vec::new();
    for (m, refs) in &modules {
        if !m.starts_with("model") {
            continue;
        }
        for r in refs {
            let ok = MODEL_MAY_USE.contains(&r.as_str()) || r.starts_with("model::");
            if !ok {
                wrong.push(format!("{m} -> {r}"));
            }
        }
    }
    assert!(
        modules.keys().any(|m| m.starts_with("model::")),
        "the model was read"
    );
    assert!(
        wrong.is_empty(),
        "the model imports above it:\n{}",
        wrong.join("\n")
    );
}

/// Only `config` reads the environment (`config::env`): every variable keygate reads has one
/// home, where its default and its error are.
#[test]
fn only_config_reads_the_environment() {
    let mut modules = BTreeMap::new();
    sources(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        &[],
        &mut modules,
    );
    let readers: Vec<&String> = modules
        .iter()
        .filter(|(m, text)| {
            let code = code(text);
            m.as_str() != "config"
                && ["env::var(", "env::var_os(", "env::vars("]
                    .iter()
                    .any(|call| code.contains(call))
        })
        .map(|(m, _)| m)
        .collect();
    assert!(modules.contains_key("config"), "the library was read");
    assert!(
        readers.is_empty(),
        "modules that read the environment outside config: {readers:?}"
    );
}

#[test]
fn every_module_has_a_layer() {
    let (modules, _) = graph();
    let unplaced: Vec<&String> = modules
        .keys()
        .filter(|m| !m.is_empty() && layer(m).is_none())
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules in no layer (add them to LAYERS): {unplaced:?}"
    );
}

#[test]
fn no_module_imports_a_higher_layer() {
    let (modules, _) = graph();
    let mut upward = Vec::new();
    for (m, refs) in &modules {
        let Some(from) = layer(m) else { continue };
        for r in refs {
            if layer(r).is_some_and(|to| to > from) {
                upward.push(format!("{m} -> {r}"));
            }
        }
    }
    assert!(
        modules.keys().any(|m| m.starts_with("usecases::")),
        "the library was read"
    );
    assert!(
        upward.is_empty(),
        "imports of a higher layer:\n{}",
        upward.join("\n")
    );
}
