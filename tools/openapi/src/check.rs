//! The committed document against the generated one: byte for byte (the file is the generator's
//! output), and where they differ, the first JSON pointer that does.

use serde_json::Value;

use crate::document::render;

/// `Ok` when `committed` is exactly the rendering of `generated`; otherwise what differs first.
pub fn compare(committed: &str, generated: &Value) -> Result<(), String> {
    let want = render(generated);
    if committed == want {
        return Ok(());
    }
    let parsed: Value = match serde_json::from_str(committed) {
        Ok(v) => v,
        Err(e) => return Err(format!("it is not JSON ({e})")),
    };
    match first_difference(&parsed, generated, String::new()) {
        Some(pointer) => Err(format!(
            "they first differ at {}",
            if pointer.is_empty() { "/" } else { &pointer }
        )),
        None => {
            Err("same JSON, other formatting (keys sorted, 2-space indent, final newline)".into())
        }
    }
}

/// The JSON pointer (RFC 6901) of the first value that differs, keys in sorted order.
pub fn first_difference(a: &Value, b: &Value, at: String) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter().find_map(|k| {
                let here = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                match (x.get(k), y.get(k)) {
                    (Some(p), Some(q)) => first_difference(p, q, here),
                    _ => Some(here),
                }
            })
        }
        (Value::Array(x), Value::Array(y)) => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                if let Some(d) = first_difference(p, q, format!("{at}/{i}")) {
                    return Some(d);
                }
            }
            (x.len() != y.len()).then(|| format!("{at}/{}", x.len().min(y.len())))
        }
        _ => (a != b).then_some(at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document;

    fn generate() -> Value {
        document::generate().expect("the document serializes")
    }

    #[test]
    fn the_generated_document_passes_its_own_check() {
        let doc = generate();
        assert_eq!(compare(&render(&doc), &doc), Ok(()));
    }

    #[test]
    fn a_changed_constraint_is_caught_and_located() {
        let doc = generate();
        let mut committed = doc.clone();
        committed["components"]["schemas"]["NewProject"]["properties"]["name"]["maxLength"] =
            serde_json::json!(99);
        let err = compare(&render(&committed), &doc).expect_err("a changed maxLength fails");
        assert!(
            err.contains("/components/schemas/NewProject/properties/name/maxLength"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_operation_and_bad_formatting_are_caught() {
        let doc = generate();
        let mut committed = doc.clone();
        committed["paths"]
            .as_object_mut()
            .expect("paths")
            .remove("/v1/verify");
        let err = compare(&render(&committed), &doc).expect_err("a missing path fails");
        assert!(err.contains("/paths/~1v1~1verify"), "{err}");
        let compact = serde_json::to_string(&doc).expect("JSON");
        let err = compare(&compact, &doc).expect_err("other formatting fails");
        assert!(err.contains("formatting"), "{err}");
        assert!(compare("{", &doc).is_err());
    }

    #[test]
    fn the_document_is_deterministic_and_ends_with_a_newline() {
        let a = render(&generate());
        assert_eq!(a, render(&generate()));
        assert!(a.ends_with("}\n"));
    }
}
