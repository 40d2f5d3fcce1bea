//! The demo platform's memory: per project a data layer, and the packages on its nodes with
//! their files. A package posted on one node yields, once the result delay has passed, a
//! result package on each other node of its project, made when that node is searched ("as if
//! the graph ran"). At most `cap` packages are kept: the oldest go first.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use hyper::body::Bytes;
use serde::Serialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A project's data layer (one per project, made when first asked for).
#[derive(Clone, Debug, Serialize)]
pub struct Layer {
    pub id: String,
    pub project_id: String,
    pub created_at: String,
}

/// One field of a package.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Field {
    pub name: String,
    pub value: Value,
}

/// A file of a package.
#[derive(Clone, Debug)]
pub struct File {
    pub id: String,
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: Bytes,
}

impl File {
    fn new(name: &'static str, content_type: &'static str, bytes: Bytes) -> Self {
        Self {
            id: ulid::Ulid::new().to_string(),
            name,
            content_type,
            bytes,
        }
    }

    /// `{"id", "name", "size", "content_type"}`.
    pub fn summary(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "size": self.bytes.len(),
            "content_type": self.content_type,
        })
    }
}

#[derive(Clone, Debug)]
pub struct Package {
    pub id: String,
    pub project_id: String,
    pub node_id: String,
    pub data_layer_id: Option<String>,
    pub label: Option<String>,
    pub master_id: Option<String>,
    pub fields: Vec<Field>,
    pub created_at: String,
    pub files: Vec<File>,
    /// When it was posted (results are due `delay` after).
    posted: Instant,
    /// The nodes its results have been made on already.
    results_on: HashSet<String>,
}

impl Package {
    /// The package as the API shows it.
    pub fn view(&self) -> Value {
        json!({
            "id": self.id,
            "project_id": self.project_id,
            "node_id": self.node_id,
            "data_layer_id": self.data_layer_id,
            "label": self.label,
            "master_id": self.master_id,
            "fields": self.fields,
            "created_at": self.created_at,
        })
    }
}

/// A posted body the platform refuses, with what is wrong.
#[derive(Debug, PartialEq)]
pub struct Invalid(pub String);

/// What a search keeps: every given filter must match.
#[derive(Debug, Default)]
pub struct Filter {
    pub data_layer_id: Option<String>,
    pub master_id: Option<String>,
    pub label: Option<String>,
}

impl Filter {
    /// From the search body: a JSON object whose `data_layer_id`, `master_id` and `label`
    /// are strings, null or absent.
    pub fn from_body(body: &Map<String, Value>) -> Result<Self, Invalid> {
        Ok(Self {
            data_layer_id: optional_string(body, "data_layer_id")?,
            master_id: optional_string(body, "master_id")?,
            label: optional_string(body, "label")?,
        })
    }

    fn keeps(&self, p: &Package) -> bool {
        let same = |want: &Option<String>, have: &Option<String>| {
            want.as_ref().is_none_or(|w| have.as_ref() == Some(w))
        };
        same(&self.data_layer_id, &p.data_layer_id)
            && same(&self.master_id, &p.master_id)
            && same(&self.label, &p.label)
    }
}

fn optional_string(body: &Map<String, Value>, name: &str) -> Result<Option<String>, Invalid> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Invalid(format!("`{name}` must be a string"))),
    }
}

/// `fields`: an object of name to value (the platform client's form), or a list of
/// `{"name", "value"}`.
fn fields(body: &Map<String, Value>) -> Result<Vec<Field>, Invalid> {
    match body.get("fields") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => Ok(map
            .iter()
            .map(|(name, value)| Field {
                name: name.clone(),
                value: value.clone(),
            })
            .collect()),
        Some(Value::Array(list)) => list
            .iter()
            .map(|item| match (item.get("name"), item.get("value")) {
                (Some(Value::String(name)), value) => Ok(Field {
                    name: name.clone(),
                    value: value.cloned().unwrap_or(Value::Null),
                }),
                _ => Err(Invalid(
                    "each item of `fields` must be {\"name\": string, \"value\": ...}".into(),
                )),
            })
            .collect(),
        Some(_) => Err(Invalid(
            "`fields` must be an object of name to value".into(),
        )),
    }
}

fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// A CSV cell: quoted when it holds a separator, a quote or a line break.
fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// The result files of a package with these fields: `result.csv` and `result.json`.
fn result_files(master_id: &str, fields: &[Field]) -> Vec<File> {
    let mut csv = String::from("name,value\n");
    for f in fields {
        let value = match &f.value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        csv.push_str(&format!("{},{}\n", csv_cell(&f.name), csv_cell(&value)));
    }
    let doc = json!({ "master_id": master_id, "fields": fields });
    vec![
        File::new("result.csv", "text/csv", Bytes::from(csv)),
        File::new(
            "result.json",
            "application/json",
            Bytes::from(serde_json::to_vec_pretty(&doc).unwrap_or_default()),
        ),
    ]
}

pub struct Store {
    layers: HashMap<String, Layer>,
    /// Oldest first.
    packages: VecDeque<Package>,
    cap: usize,
    delay: Duration,
}

impl Store {
    /// A store keeping at most `cap` packages, whose results are due `delay` after posting.
    pub fn new(cap: usize, delay: Duration) -> Self {
        Self {
            layers: HashMap::new(),
            packages: VecDeque::new(),
            cap,
            delay,
        }
    }

    /// The project's data layer (the same one every time).
    pub fn last_layer(&mut self, project: &str) -> Layer {
        self.layers
            .entry(project.to_string())
            .or_insert_with(|| Layer {
                id: ulid::Ulid::new().to_string(),
                project_id: project.to_string(),
                created_at: now_rfc3339(),
            })
            .clone()
    }

    fn push(&mut self, package: Package) {
        self.packages.push_back(package);
        while self.packages.len() > self.cap {
            self.packages.pop_front();
        }
    }

    /// Posts a package on a node: `body` is the JSON object as parsed, `raw` its bytes (the
    /// package's one file, `package.json`).
    pub fn post(
        &mut self,
        project: &str,
        node: &str,
        body: &Map<String, Value>,
        raw: Bytes,
        now: Instant,
    ) -> Result<Package, Invalid> {
        let package = Package {
            id: ulid::Ulid::new().to_string(),
            project_id: project.to_string(),
            node_id: node.to_string(),
            data_layer_id: optional_string(body, "data_layer_id")?,
            label: optional_string(body, "label")?,
            master_id: None,
            fields: fields(body)?,
            created_at: now_rfc3339(),
            files: vec![File::new("package.json", "application/json", raw)],
            posted: now,
            results_on: HashSet::new(),
        };
        self.push(package.clone());
        Ok(package)
    }

    /// Makes the results due on `node`: one per package posted on another node of the
    /// project at least `delay` ago, once per (package, node).
    fn run_graph(&mut self, project: &str, node: &str, now: Instant) {
        let mut due = Vec::new();
        for master in self.packages.iter_mut() {
            if master.project_id == project
                && master.master_id.is_none()
                && master.node_id != node
                && now.saturating_duration_since(master.posted) >= self.delay
                && master.results_on.insert(node.to_string())
            {
                due.push((
                    master.id.clone(),
                    master.data_layer_id.clone(),
                    master.fields.clone(),
                ));
            }
        }
        for (master_id, data_layer_id, mut fields) in due {
            fields.push(Field {
                name: "result".into(),
                value: Value::String("done".into()),
            });
            let files = result_files(&master_id, &fields);
            self.push(Package {
                id: ulid::Ulid::new().to_string(),
                project_id: project.to_string(),
                node_id: node.to_string(),
                data_layer_id,
                label: Some("result".into()),
                master_id: Some(master_id),
                fields,
                created_at: now_rfc3339(),
                files,
                posted: now,
                results_on: HashSet::new(),
            });
        }
    }

    /// The packages on a node that match the filter, newest first: at most `page_size` of
    /// them, and how many there are in all.
    pub fn search(
        &mut self,
        project: &str,
        node: &str,
        filter: &Filter,
        page_size: usize,
        now: Instant,
    ) -> (Vec<Package>, usize) {
        self.run_graph(project, node, now);
        let mut total = 0;
        let mut items = Vec::new();
        for p in self.packages.iter().rev() {
            if p.project_id == project && p.node_id == node && filter.keeps(p) {
                total += 1;
                if items.len() < page_size {
                    items.push(p.clone());
                }
            }
        }
        (items, total)
    }

    /// A package on that node of that project.
    pub fn package(&self, project: &str, node: &str, id: &str) -> Option<&Package> {
        self.packages
            .iter()
            .find(|p| p.id == id && p.project_id == project && p.node_id == node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    #[test]
    fn results_appear_on_other_nodes_after_the_delay_once() {
        let mut store = Store::new(100, Duration::from_secs(2));
        let t0 = Instant::now();
        let master = store
            .post(
                "p",
                "in",
                &body(json!({"label": "from_client", "fields": {"size": 3}})),
                Bytes::from_static(b"{}"),
                t0,
            )
            .expect("valid body");
        let by_master = Filter {
            master_id: Some(master.id.clone()),
            ..Filter::default()
        };
        assert_eq!(store.search("p", "out", &by_master, 10, t0).1, 0);
        let later = t0 + Duration::from_secs(2);
        let (items, total) = store.search("p", "out", &by_master, 10, later);
        assert_eq!(total, 1);
        assert_eq!(items[0].label.as_deref(), Some("result"));
        assert_eq!(items[0].fields.len(), 2);
        assert_eq!(items[0].files.len(), 2);
        // Searched again: still one result, and none on the posting node itself.
        assert_eq!(store.search("p", "out", &by_master, 10, later).1, 1);
        assert_eq!(store.search("p", "in", &by_master, 10, later).1, 0);
        // Another project sees nothing.
        assert_eq!(store.search("q", "out", &Filter::default(), 10, later).1, 0);
    }

    #[test]
    fn the_oldest_packages_go_beyond_the_cap() {
        let mut store = Store::new(3, Duration::ZERO);
        let t0 = Instant::now();
        let ids: Vec<String> = (0..5)
            .map(|_| {
                store
                    .post("p", "n", &Map::new(), Bytes::new(), t0)
                    .expect("valid body")
                    .id
            })
            .collect();
        assert!(store.package("p", "n", &ids[0]).is_none());
        assert!(store.package("p", "n", &ids[4]).is_some());
        let (items, total) = store.search("p", "n", &Filter::default(), 2, t0);
        assert_eq!(total, 3);
        assert_eq!(items[0].id, ids[4]);
    }

    #[test]
    fn bad_members_are_refused() {
        let mut store = Store::new(3, Duration::ZERO);
        let t0 = Instant::now();
        for bad in [
            json!({"label": 3}),
            json!({"data_layer_id": []}),
            json!({"fields": "x"}),
            json!({"fields": [{"value": 1}]}),
        ] {
            assert!(store.post("p", "n", &body(bad), Bytes::new(), t0).is_err());
        }
        assert!(Filter::from_body(&body(json!({"master_id": 1}))).is_err());
    }

    #[test]
    fn csv_cells_are_quoted_when_needed() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
