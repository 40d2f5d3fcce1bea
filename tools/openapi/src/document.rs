//! The API's OpenAPI 3.1 document: every operation declared once here (method, path, parameters,
//! body, answers, tag, security), every schema from the type the code reads or writes.

use std::collections::BTreeMap;

use keygate::domain::key::RollInput;
use keygate::domain::template::TemplateView;
use keygate::domain::usage::{Granularity, KeyUsage, ProjectUsage};
use keygate::model::audit::AuditEntry;
use keygate::model::ids::{FieldId, KeyId, NodeId, Prefix, ProjectId, RoleName, SecretName};
use keygate::model::ids::{RequestId, TemplateId, UserId};
use keygate::model::import::{ImportInput, ImportView, NodesInput, SecretView};
use keygate::model::key::KeyView;
use keygate::model::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page};
use keygate::model::project::{
    Member, MemberInput, NewProjectInput, Node, NodeInput, Project, Role, RoleInput, SettingsInput,
};
use keygate::model::request::{KeyRequest, NewRequestInput, RejectInput, RequestStatus};
use keygate::model::schema::{self, Day};
use keygate::model::template::{
    FieldInput, FieldPatch, InfoField, NewTemplateInput, TemplatePatch,
};
use keygate::model::user::{UserSettingsInput, UserSettingsView};
use keygate::usecases::decision::Decision;
use serde_json::{Value, json};
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    Components, ContentBuilder, InfoBuilder, LicenseBuilder, OpenApi, OpenApiBuilder, Paths, Ref,
    RefOr, Required, ServerBuilder,
};
use utoipa::{PartialSchema, ToSchema};

use keygate::http::Problem;
use keygate::model::key::{Approval, KeyToken};
use keygate::token::Jwks;
use keygate::usecases::decision::VerifyInput;

const JSON: &str = "application/json";
const PROBLEM_JSON: &str = "application/problem+json";

/// The document, as the JSON infra/openapi.json holds.
pub fn generate() -> Result<Value, serde_json::Error> {
    let mut doc = Doc::default();
    operations(&mut doc);
    let api = doc.build();
    let mut value = serde_json::to_value(&api)?;
    finish(&mut value);
    Ok(value)
}

/// The document's text: pretty-printed, every object's keys sorted, a final newline.
pub fn render(doc: &Value) -> String {
    let mut text = serde_json::to_string_pretty(&sorted(doc)).unwrap_or_default();
    text.push('\n');
    text
}

/// `v` with every object's keys in order, whichever map serde_json was built with (its
/// `preserve_order` feature, if a dependency ever turns it on, keeps insertion order).
fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[derive(Default)]
struct Doc {
    paths: BTreeMap<String, PathItem>,
    schemas: BTreeMap<String, RefOr<Schema>>,
}

impl Doc {
    /// A `$ref` to `T`'s schema, which (with every schema it refers to) joins the components.
    fn schema<T: ToSchema>(&mut self) -> Ref {
        self.add(T::name().into_owned(), T::schema());
        let mut more = Vec::new();
        T::schemas(&mut more);
        for (name, schema) in more {
            self.add(name, schema);
        }
        Ref::from_schema_name(T::name())
    }

    /// `{"items": [T...], "next": ...}` as the component `<T>Page`.
    fn page<T: ToSchema>(&mut self) -> Ref {
        self.schema::<T>();
        let name = format!("{}Page", T::name());
        self.add(name.clone(), <Page<T> as PartialSchema>::schema());
        Ref::from_schema_name(name)
    }

    fn add(&mut self, name: String, schema: RefOr<Schema>) {
        self.schemas.entry(name).or_insert(schema);
    }

    fn op(&mut self, method: HttpMethod, path: &str, op: Op) {
        let item = PathItem::new(method, op.build());
        match self.paths.get_mut(path) {
            Some(existing) => existing.merge_operations(item),
            None => {
                self.paths.insert(path.to_string(), item);
            }
        }
    }

    fn build(mut self) -> OpenApi {
        let problem = self.schema::<Problem<'static>>();
        let mut components = Components::new();
        components.schemas = std::mem::take(&mut self.schemas);
        components
            .schemas
            .insert("OpenApiDocument".into(), openapi_document().into());
        components.responses = problem_responses(&problem)
            .into_iter()
            .map(|(name, r)| (name.to_string(), r))
            .collect();
        components.parameters = parameters()
            .into_iter()
            .map(|(name, p)| (name.to_string(), RefOr::T(p)))
            .collect();
        components.security_schemes = BTreeMap::from([
            (
                "consoleUser".to_string(),
                RefOr::T(bearer(
                    "A console user's token from the platform's identity provider (`sub`, `email`).",
                )),
            ),
            (
                "apiKey".to_string(),
                RefOr::T(bearer(
                    "An API key keygate issued (EdDSA, `typ` `keygate-api-key+jwt`).",
                )),
            ),
        ]);
        let mut paths = Paths::new();
        paths.paths = self.paths.into_iter().collect();
        OpenApiBuilder::new()
            .info(
                InfoBuilder::new()
                    .title("keygate")
                    .version("1")
                    .description(Some(DESCRIPTION))
                    .license(Some(
                        LicenseBuilder::new()
                            .name("MIT")
                            .identifier(Some("MIT"))
                            .build(),
                    )),
            )
            .servers(Some([ServerBuilder::new()
                .url("/")
                .description(Some("The API's own origin"))
                .build()]))
            .security(Some([SecurityRequirement::new(
                "consoleUser",
                Vec::<String>::new(),
            )]))
            .tags(Some(TAGS.map(|(name, description)| {
                TagBuilder::new()
                    .name(name)
                    .description(Some(description))
                    .build()
            })))
            .paths(paths)
            .components(Some(components))
            .build()
    }
}

const SUMMARY: &str =
    "API keys for a data-flow platform's projects: templates, requests, approvals, imports, usage.";

const DESCRIPTION: &str = "The keygate HTTP API (v1). JSON in and out, UTF-8, `snake_case`, \
timestamps RFC 3339 UTC. Lists are `{\"items\": [...], \"next\": <cursor or null>}` and take \
`page_size` (1-100, default 20) and `cursor`. Every error is `application/problem+json` (RFC 9457) \
with `type` `urn:keygate:problem:<kind>`. A path of this API called with a method it does not \
have answers 405 (`method-not-allowed`, with `Allow`); any other path 404. Console routes take the \
console user's bearer token; ids that are not the caller's to see are 404, whatever exists.";

const TAGS: [(&str, &str); 8] = [
    (
        "projects",
        "Projects, members, roles, nodes, audit (function `projects`).",
    ),
    (
        "templates",
        "API key templates and their info fields (function `templates`).",
    ),
    ("requests", "Key requests (function `requests`)."),
    ("keys", "Approvals and keys (function `approvals`)."),
    (
        "imports",
        "Keys imported into a client project's secrets (function `imports`).",
    ),
    ("usage", "Usage statistics (function `stats`)."),
    ("verify", "Using a key (function `verify`)."),
    ("meta", "This document (function `console`)."),
];

fn bearer(description: &str) -> SecurityScheme {
    let mut http = Http::new(HttpAuthScheme::Bearer);
    http.bearer_format = Some("JWT".into());
    http.description = Some(description.into());
    SecurityScheme::Http(http)
}

/// This document's own schema: an OpenAPI document (its keys are OpenAPI's).
fn openapi_document() -> Schema {
    Schema::Object(
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .required("openapi")
            .required("info")
            .required("paths")
            .additional_properties(Some(AdditionalProperties::<Schema>::FreeForm(true)))
            .description(Some("This document."))
            .build(),
    )
}

/// The error answers, shared by the operations: the problem's `type`s and status.
const PROBLEMS: [(u16, &str, &[&str], &str); 10] = [
    (
        400,
        "BadRequest",
        &["validation", "bad-request"],
        "Bad input: a field or parameter breaks a rule (`validation`, with `errors`), or the body \
         is not a JSON object sent as `application/json` (`bad-request`).",
    ),
    (
        401,
        "Unauthenticated",
        &["unauthenticated"],
        "No bearer token, or one that does not verify.",
    ),
    (
        403,
        "Forbidden",
        &["forbidden"],
        "The caller may see this, but not do it.",
    ),
    (
        404,
        "NotFound",
        &["not-found"],
        "Not found, or not visible to the caller (ids do not leak).",
    ),
    (
        409,
        "Conflict",
        &["conflict"],
        "A uniqueness or state rule is in the way.",
    ),
    (
        412,
        "VersionMismatch",
        &["version-mismatch"],
        "The `version` sent is not the stored one; `current_version` is.",
    ),
    (
        413,
        "PayloadTooLarge",
        &["payload-too-large"],
        "The body is larger than the limit (64 KiB by default).",
    ),
    (
        422,
        "Unprocessable",
        &["rule-broken"],
        "Well-formed input that breaks a rule about other data (`errors`).",
    ),
    (
        429,
        "RateLimited",
        &["rate-limited"],
        "Too many calls; retry after `Retry-After` seconds.",
    ),
    (
        503,
        "Unavailable",
        &["unavailable"],
        "A dependency is unavailable, or a change was interrupted and undone; retry.",
    ),
];

fn problem_name(status: u16) -> &'static str {
    PROBLEMS
        .iter()
        .find(|p| p.0 == status)
        .map(|p| p.1)
        .unwrap_or("undeclared")
}

fn retry_after() -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0)),
        ))
        .description(Some("Seconds to wait before retrying."))
        .build()
}

fn problem_responses(problem: &Ref) -> Vec<(&'static str, RefOr<utoipa::openapi::Response>)> {
    PROBLEMS
        .iter()
        .map(|&(status, name, kinds, description)| {
            let kinds: Vec<String> = kinds
                .iter()
                .map(|k| format!("urn:keygate:problem:{k}"))
                .collect();
            // No `type`: these narrow the problem's properties (`allOf`), they define none.
            let any = || ObjectBuilder::new().schema_type(SchemaType::AnyValue);
            let mut narrowed = any()
                .property("type", any().enum_values(Some(kinds)))
                .property("status", any().enum_values(Some([status])));
            if status == 412 {
                narrowed = narrowed.property(
                    "current_version",
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                );
            }
            let schema = Schema::AllOf(
                AllOfBuilder::new()
                    .item(problem.clone())
                    .item(narrowed)
                    .build(),
            );
            let mut response = ResponseBuilder::new().description(description).content(
                PROBLEM_JSON,
                ContentBuilder::new().schema(Some(schema)).build(),
            );
            match status {
                401 => {
                    response = response.header(
                        "WWW-Authenticate",
                        HeaderBuilder::new()
                            .schema(Some(
                                ObjectBuilder::new()
                                    .schema_type(Type::String)
                                    .enum_values(Some(["Bearer"])),
                            ))
                            .build(),
                    )
                }
                429 | 503 => response = response.header("Retry-After", retry_after()),
                _ => {}
            }
            (name, RefOr::T(response.build()))
        })
        .collect()
}

/// The shared parameters: paging, and each path parameter with its id's schema.
fn parameters() -> Vec<(&'static str, utoipa::openapi::path::Parameter)> {
    let path = |name: &str, description: &str, schema: RefOr<Schema>| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Path)
            .required(Required::True)
            .description(Some(description))
            .schema(Some(schema))
            .build()
    };
    vec![
        (
            "page_size",
            ParameterBuilder::new()
                .name("page_size")
                .parameter_in(ParameterIn::Query)
                .description(Some("Items per page (default 20)."))
                .schema(Some(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1))
                        .maximum(Some(MAX_PAGE_SIZE))
                        .default(Some(json!(DEFAULT_PAGE_SIZE))),
                ))
                .build(),
        ),
        (
            "cursor",
            ParameterBuilder::new()
                .name("cursor")
                .parameter_in(ParameterIn::Query)
                .description(Some("The `next` of the previous page."))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build(),
        ),
        ("path_p", path("p", "A project id.", ProjectId::schema())),
        (
            "path_c",
            path(
                "c",
                "The client project's id (where the secrets are).",
                ProjectId::schema(),
            ),
        ),
        ("path_user", path("user", "A user id.", UserId::schema())),
        (
            "path_role",
            path("role", "A role name.", RoleName::schema()),
        ),
        ("path_node", path("node", "A node id.", NodeId::schema())),
        ("path_t", path("t", "A template id.", TemplateId::schema())),
        ("path_f", path("f", "An info field id.", FieldId::schema())),
        (
            "path_r",
            path("r", "A key request id.", RequestId::schema()),
        ),
        ("path_k", path("k", "A key id.", KeyId::schema())),
        (
            "path_prefix",
            path("prefix", "An import's prefix.", Prefix::schema()),
        ),
        (
            "path_name",
            path("name", "An imported secret's name.", SecretName::schema()),
        ),
    ]
}

/// A parameter of an operation: a shared one (by its component name) or its own.
enum Param {
    Shared(&'static str),
    Own(Box<utoipa::openapi::path::Parameter>),
}

/// One operation, as declared in [`operations`].
struct Op {
    id: &'static str,
    tag: &'static str,
    summary: &'static str,
    description: Option<&'static str>,
    parameters: Vec<Param>,
    body: Option<(Ref, bool)>,
    answers: Vec<(u16, &'static str, Option<Ref>)>,
    headers: Vec<(&'static str, utoipa::openapi::header::Header)>,
    errors: Vec<u16>,
    security: Option<Vec<SecurityRequirement>>,
}

fn op(id: &'static str, tag: &'static str, summary: &'static str) -> Op {
    Op {
        id,
        tag,
        summary,
        description: None,
        parameters: Vec::new(),
        body: None,
        answers: Vec::new(),
        headers: Vec::new(),
        errors: Vec::new(),
        security: None,
    }
}

impl Op {
    fn describe(mut self, description: &'static str) -> Self {
        self.description = Some(description);
        self
    }
    /// Shared parameters, by their component name.
    fn params(mut self, names: &[&'static str]) -> Self {
        self.parameters
            .extend(names.iter().map(|n| Param::Shared(n)));
        self
    }
    /// A query parameter of this operation only.
    fn query(mut self, name: &str, description: Option<&str>, schema: RefOr<Schema>) -> Self {
        self.parameters.push(Param::Own(Box::new(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Query)
                .description(description)
                .schema(Some(schema))
                .build(),
        )));
        self
    }
    /// A JSON body; `required`: whether it may be left out.
    fn body(mut self, schema: Ref, required: bool) -> Self {
        self.body = Some((schema, required));
        self
    }
    fn answer(mut self, status: u16, description: &'static str, schema: Option<Ref>) -> Self {
        self.answers.push((status, description, schema));
        self
    }
    fn ok(self, schema: Ref) -> Self {
        self.answer(200, "OK", Some(schema))
    }
    fn created(self, schema: Ref) -> Self {
        self.answer(201, "Created", Some(schema))
    }
    fn no_content(self) -> Self {
        self.answer(204, "Done; no content.", None)
    }
    /// A header of the success answers.
    fn header(mut self, name: &'static str, header: utoipa::openapi::header::Header) -> Self {
        self.headers.push((name, header));
        self
    }
    /// The problem answers, by status.
    fn errors(mut self, statuses: &[u16]) -> Self {
        self.errors.extend_from_slice(statuses);
        self
    }
    /// No console user: the document's default security does not apply.
    fn public(mut self) -> Self {
        self.security = Some(Vec::new());
        self
    }
    fn api_key(mut self) -> Self {
        self.security = Some(vec![SecurityRequirement::new(
            "apiKey",
            Vec::<String>::new(),
        )]);
        self
    }

    fn build(self) -> utoipa::openapi::path::Operation {
        let mut b = OperationBuilder::new()
            .operation_id(Some(self.id))
            .tag(self.tag)
            .summary(Some(self.summary))
            .description(self.description);
        for p in self.parameters {
            b = match p {
                Param::Shared(name) => {
                    b.parameter_ref(Ref::new(format!("#/components/parameters/{name}")))
                }
                Param::Own(p) => b.parameter(*p),
            };
        }
        if let Some((schema, required)) = self.body {
            b = b.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(if required {
                        Required::True
                    } else {
                        Required::False
                    }))
                    .content(JSON, ContentBuilder::new().schema(Some(schema)).build())
                    .build(),
            ));
        }
        for (status, description, schema) in self.answers {
            let mut r = ResponseBuilder::new().description(description);
            if let Some(schema) = schema {
                r = r.content(JSON, ContentBuilder::new().schema(Some(schema)).build());
            }
            if status < 300 {
                for (name, header) in &self.headers {
                    r = r.header(*name, header.clone());
                }
            }
            b = b.response(status.to_string(), r.build());
        }
        for status in self.errors {
            b = b.response(
                status.to_string(),
                Ref::from_response_name(problem_name(status)),
            );
        }
        if let Some(security) = self.security {
            b = b.securities(Some(security));
        }
        b.build()
    }
}

const P: &str = "path_p";
const C: &str = "path_c";
const PAGED: [&str; 2] = ["page_size", "cursor"];

/// A day, as the usage ranges take it.
fn day() -> RefOr<Schema> {
    Day::schema()
}

/// Every operation of the API.
fn operations(d: &mut Doc) {
    use HttpMethod::{Delete, Get, Patch, Post, Put};

    // projects
    let project = d.schema::<Project>();
    let body = d.schema::<NewProjectInput>();
    d.op(
        Post,
        "/v1/projects",
        op(
            "createProject",
            "projects",
            "Create a project; the caller becomes its owner",
        )
        .body(body, true)
        .created(project.clone())
        .errors(&[400, 401, 409, 413, 503]),
    );
    d.op(
        Get,
        "/v1/projects/{p}",
        op("getProject", "projects", "A project (members)")
            .params(&[P])
            .ok(project.clone())
            .errors(&[401, 404, 503]),
    );
    let body = d.schema::<SettingsInput>();
    d.op(
        Patch,
        "/v1/projects/{p}",
        op(
            "updateProjectSettings",
            "projects",
            "The project's mail settings (owner)",
        )
        .params(&[P])
        .body(body, true)
        .ok(project)
        .errors(&[400, 401, 403, 404, 413, 422, 503]),
    );
    let members = d.page::<Member>();
    d.op(
        Get,
        "/v1/projects/{p}/members",
        op("listMembers", "projects", "The project's members (members)")
            .params(&[P])
            .params(&PAGED)
            .ok(members.clone())
            .errors(&[400, 401, 404, 503]),
    );
    let member = d.schema::<Member>();
    let body = d.schema::<MemberInput>();
    d.op(
        Put,
        "/v1/projects/{p}/members/{user}",
        op("putMember", "projects", "Add or update a member (owner)")
            .describe("A `user` that is not a valid user id is a 400; the owner is a 422.")
            .params(&[P, "path_user"])
            .body(body, true)
            .ok(member)
            .errors(&[400, 401, 403, 404, 413, 422, 503]),
    );
    d.op(
        Delete,
        "/v1/projects/{p}/members/{user}",
        op(
            "removeMember",
            "projects",
            "Remove a member (owner), or leave (the member themselves)",
        )
        .describe(
            "The owner removes any member; a member may remove only themselves (leave); the \
             owner cannot leave (422). In one transaction with the membership: every key the \
             member holds in the project is revoked (a rolled key still in its grace too) and \
             every pending request of theirs cancelled, each with its audit entry (and so the \
             usual mails and lifecycle events). From then on revealing and rolling their keys of \
             this project is refused (403) and decisions refuse them (`revoked`). 409 when their \
             keys or requests kept changing during the removal; retry.",
        )
        .params(&[P, "path_user"])
        .no_content()
        .errors(&[400, 401, 403, 404, 409, 422, 503]),
    );
    let roles = d.page::<Role>();
    d.op(
        Get,
        "/v1/projects/{p}/roles",
        op("listRoles", "projects", "The project's roles (members)")
            .params(&[P])
            .params(&PAGED)
            .ok(roles)
            .errors(&[400, 401, 404, 503]),
    );
    let role = d.schema::<Role>();
    let body = d.schema::<RoleInput>();
    d.op(
        Put,
        "/v1/projects/{p}/roles/{role}",
        op("putRole", "projects", "Create or replace a role (owner)")
            .params(&[P, "path_role"])
            .body(body, true)
            .ok(role)
            .errors(&[400, 401, 403, 404, 413, 503]),
    );
    let nodes = d.page::<Node>();
    d.op(
        Get,
        "/v1/projects/{p}/nodes",
        op("listNodes", "projects", "The project's nodes (members)")
            .params(&[P])
            .params(&PAGED)
            .ok(nodes)
            .errors(&[400, 401, 404, 503]),
    );
    let node = d.schema::<Node>();
    let body = d.schema::<NodeInput>();
    d.op(
        Put,
        "/v1/projects/{p}/nodes/{node}",
        op("putNode", "projects", "Create or rename a node (owner)")
            .params(&[P, "path_node"])
            .body(body, true)
            .ok(node)
            .errors(&[400, 401, 403, 404, 413, 503]),
    );
    let audit = d.page::<AuditEntry>();
    d.op(
        Get,
        "/v1/projects/{p}/audit",
        op(
            "listAudit",
            "projects",
            "The project's audit trail, newest first (owner)",
        )
        .params(&[P])
        .params(&PAGED)
        .ok(audit)
        .errors(&[400, 401, 403, 404, 503]),
    );
    d.op(
        Get,
        "/v1/me/projects",
        op("listMyProjects", "projects", "The caller's memberships")
            .params(&PAGED)
            .ok(members)
            .errors(&[400, 401, 503]),
    );
    let settings = d.schema::<UserSettingsView>();
    d.op(
        Get,
        "/v1/me/settings",
        op(
            "getMySettings",
            "projects",
            "The caller's settings: the language keygate mails them in, and where it comes from",
        )
        .describe(
            "`locale` is the language of the caller's mail: their own setting (`source: \
             setting`), else the `locale` claim of their console token, as last recorded \
             (`source: token`), else the deployment's `DEFAULT_LOCALE` (`source: default`).",
        )
        .ok(settings.clone())
        .errors(&[401, 503]),
    );
    let body = d.schema::<UserSettingsInput>();
    d.op(
        Put,
        "/v1/me/settings",
        op(
            "putMySettings",
            "projects",
            "Sets the caller's language (`ru` or `en`; `null` clears it)",
        )
        .describe(
            "Answers as `GET` does. Anything but a JSON object with exactly `locale` (`\"ru\"`, \
             `\"en\"` or `null`) is a 400 problem naming the field (`errors[].field`: `locale`, \
             or the unknown member).",
        )
        .body(body, true)
        .ok(settings)
        .errors(&[400, 401, 413, 503]),
    );

    // templates
    let templates = d.page::<TemplateView>();
    let template = d.schema::<TemplateView>();
    d.op(
        Get,
        "/v1/projects/{p}/templates",
        op(
            "listTemplates",
            "templates",
            "The project's templates, each with the caller's request (members)",
        )
        .params(&[P])
        .params(&PAGED)
        .ok(templates)
        .errors(&[400, 401, 404, 503]),
    );
    let body = d.schema::<NewTemplateInput>();
    d.schema::<FieldInput>();
    d.op(
        Post,
        "/v1/projects/{p}/templates",
        op("createTemplate", "templates", "Create a template (owner)")
            .params(&[P])
            .body(body, true)
            .created(template.clone())
            .errors(&[400, 401, 403, 404, 409, 413, 422, 503]),
    );
    d.op(
        Get,
        "/v1/projects/{p}/templates/{t}",
        op("getTemplate", "templates", "A template (members)")
            .params(&[P, "path_t"])
            .ok(template.clone())
            .errors(&[401, 404, 503]),
    );
    let body = d.schema::<TemplatePatch>();
    d.op(
        Patch,
        "/v1/projects/{p}/templates/{t}",
        op(
            "updateTemplate",
            "templates",
            "Change a template (owner), at the version read",
        )
        .params(&[P, "path_t"])
        .body(body, true)
        .ok(template)
        .errors(&[400, 401, 403, 404, 409, 412, 413, 422, 503]),
    );
    d.op(
        Delete,
        "/v1/projects/{p}/templates/{t}",
        op(
            "deleteTemplate",
            "templates",
            "Delete a template (owner); its pending requests are cancelled",
        )
        .params(&[P, "path_t"])
        .no_content()
        .errors(&[401, 403, 404, 409, 503]),
    );
    let field = d.schema::<InfoField>();
    let body = d.schema::<FieldInput>();
    d.op(
        Post,
        "/v1/projects/{p}/templates/{t}/fields",
        op("addField", "templates", "Add an info field (owner)")
            .params(&[P, "path_t"])
            .body(body, true)
            .created(field.clone())
            .errors(&[400, 401, 403, 404, 409, 413, 422, 503]),
    );
    let body = d.schema::<FieldPatch>();
    d.op(
        Patch,
        "/v1/projects/{p}/templates/{t}/fields/{f}",
        op("editField", "templates", "Change an info field (owner)")
            .params(&[P, "path_t", "path_f"])
            .body(body, true)
            .ok(field)
            .errors(&[400, 401, 403, 404, 409, 413, 503]),
    );
    d.op(
        Delete,
        "/v1/projects/{p}/templates/{t}/fields/{f}",
        op("deleteField", "templates", "Delete an info field (owner)")
            .params(&[P, "path_t", "path_f"])
            .no_content()
            .errors(&[401, 403, 404, 409, 503]),
    );

    // requests
    let request = d.schema::<KeyRequest>();
    let body = d.schema::<NewRequestInput>();
    d.op(
        Post,
        "/v1/projects/{p}/templates/{t}/requests",
        op(
            "requestKey",
            "requests",
            "Ask for a key from a template (members)",
        )
        .describe(
            "409 while the caller has a pending request or an active key from the template; 429 \
             past the per-user request limit.",
        )
        .params(&[P, "path_t"])
        .body(body, false)
        .created(request.clone())
        .errors(&[400, 401, 404, 409, 413, 429, 503]),
    );
    let requests = d.page::<KeyRequest>();
    let status = d.schema::<RequestStatus>();
    d.op(
        Get,
        "/v1/projects/{p}/requests",
        op(
            "listProjectRequests",
            "requests",
            "The project's requests (owner)",
        )
        .params(&[P])
        .query(
            "status",
            Some("Only requests of this status."),
            RefOr::Ref(status),
        )
        .params(&PAGED)
        .ok(requests.clone())
        .errors(&[400, 401, 403, 404, 503]),
    );
    d.op(
        Delete,
        "/v1/projects/{p}/requests/{r}",
        op(
            "cancelRequest",
            "requests",
            "Cancel a pending request (its requester)",
        )
        .params(&[P, "path_r"])
        .no_content()
        .errors(&[401, 403, 404, 409, 503]),
    );
    d.op(
        Get,
        "/v1/me/requests",
        op("listMyRequests", "requests", "The caller's requests")
            .params(&PAGED)
            .ok(requests)
            .errors(&[400, 401, 503]),
    );

    // keys (function approvals)
    let approval = d.schema::<Approval>();
    d.op(
        Post,
        "/v1/projects/{p}/requests/{r}/approve",
        op(
            "approveRequest",
            "keys",
            "Approve a pending request (owner): the requester holds a new key",
        )
        .params(&[P, "path_r"])
        .ok(approval)
        .errors(&[401, 403, 404, 409, 503]),
    );
    let body = d.schema::<RejectInput>();
    d.op(
        Post,
        "/v1/projects/{p}/requests/{r}/reject",
        op("rejectRequest", "keys", "Reject a pending request (owner)")
            .params(&[P, "path_r"])
            .body(body, false)
            .ok(request)
            .errors(&[400, 401, 403, 404, 409, 413, 503]),
    );
    let keys = d.page::<KeyView>();
    d.op(
        Get,
        "/v1/projects/{p}/keys",
        op("listProjectKeys", "keys", "The project's keys (owner)")
            .params(&[P])
            .params(&PAGED)
            .ok(keys.clone())
            .errors(&[400, 401, 403, 404, 503]),
    );
    d.op(
        Get,
        "/v1/me/keys",
        op("listMyKeys", "keys", "The caller's keys")
            .params(&PAGED)
            .ok(keys)
            .errors(&[400, 401, 503]),
    );
    let key = d.schema::<KeyView>();
    d.op(
        Get,
        "/v1/keys/{k}",
        op("getKey", "keys", "A key (its holder, its project's owner)")
            .params(&["path_k"])
            .ok(key.clone())
            .errors(&[401, 404, 503]),
    );
    let token = d.schema::<KeyToken<'static>>();
    d.op(
        Get,
        "/v1/keys/{k}/token",
        op("revealKeyToken", "keys", "The key's token (its holder)")
            .describe(
                "Re-mints the active key's token. Every reveal appends `key.revealed` (actor: \
                 the holder) to the key's project's audit trail before the token is sent; when \
                 that entry cannot be written the answer is 503 and holds no token. Sent with \
                 `Cache-Control: no-store`.",
            )
            .params(&["path_k"])
            .ok(token)
            .header(
                "Cache-Control",
                HeaderBuilder::new()
                    .schema(Some(
                        ObjectBuilder::new()
                            .schema_type(Type::String)
                            .enum_values(Some(["no-store"])),
                    ))
                    .description(Some("A credential: never stored by a cache."))
                    .build(),
            )
            .errors(&[401, 403, 404, 409, 503]),
    );
    d.op(
        Post,
        "/v1/keys/{k}/revoke",
        op(
            "revokeKey",
            "keys",
            "Revoke a key (its holder, its project's owner)",
        )
        .params(&["path_k"])
        .ok(key.clone())
        .errors(&[401, 404, 409, 503]),
    );
    let body = d.schema::<RollInput>();
    d.op(
        Post,
        "/v1/keys/{k}/roll",
        op(
            "rollKey",
            "keys",
            "Replace a key by a new one (its holder); the old one verifies until the grace ends",
        )
        .params(&["path_k"])
        .body(body, false)
        .created(key)
        .errors(&[400, 401, 403, 404, 409, 413, 503]),
    );

    // imports
    let import = d.schema::<ImportView>();
    let body = d.schema::<ImportInput>();
    d.op(
        Post,
        "/v1/projects/{c}/imports",
        op(
            "importKey",
            "imports",
            "Import the caller's key into the project's secrets under a prefix (members)",
        )
        .params(&[C])
        .body(body, true)
        .answer(
            200,
            "Imported again: the secrets were rewritten.",
            Some(import.clone()),
        )
        .answer(201, "Imported.", Some(import))
        .errors(&[400, 401, 403, 404, 409, 413, 422, 503]),
    );
    d.op(
        Delete,
        "/v1/projects/{c}/imports/{prefix}",
        op(
            "deleteImport",
            "imports",
            "Delete an import and its secrets (importer, owner)",
        )
        .params(&[C, "path_prefix"])
        .no_content()
        .errors(&[401, 403, 404, 409, 503]),
    );
    let secrets = d.page::<SecretView>();
    d.op(
        Get,
        "/v1/projects/{c}/secrets",
        op(
            "listSecrets",
            "imports",
            "The project's imported secrets (members)",
        )
        .params(&[C])
        .params(&PAGED)
        .ok(secrets)
        .errors(&[400, 401, 404, 503]),
    );
    let secret = d.schema::<SecretView>();
    let body = d.schema::<NodesInput>();
    d.op(
        Put,
        "/v1/projects/{c}/secrets/{name}/nodes",
        op(
            "setSecretNodes",
            "imports",
            "The nodes a secret is granted to (owner, importer)",
        )
        .params(&[C, "path_name"])
        .body(body, true)
        .ok(secret)
        .errors(&[400, 401, 403, 404, 409, 413, 422, 503]),
    );

    // usage (function stats)
    let usage = d.schema::<KeyUsage>();
    let to = "Last day, inclusive (default: today).";
    d.op(
        Get,
        "/v1/keys/{k}/usage",
        op(
            "getKeyUsage",
            "usage",
            "A key's usage (its holder, its project's owner)",
        )
        .params(&["path_k"])
        .query(
            "from",
            Some("First day, inclusive (default: 29 days before `to`); at most 366 days."),
            day(),
        )
        .query("to", Some(to), day())
        .query(
            "granularity",
            None,
            RefOr::T(Schema::Object(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(["day", "hour"]))
                    .default(Some(json!("day")))
                    .build(),
            )),
        )
        .ok(usage)
        .errors(&[400, 401, 404, 503]),
    );
    d.schema::<Granularity>();
    let usage = d.schema::<ProjectUsage>();
    d.op(
        Get,
        "/v1/projects/{p}/usage",
        op("getProjectUsage", "usage", "Every key's totals (owner)")
            .params(&[P])
            .query(
                "from",
                Some("First day, inclusive (default: 29 days before `to`)."),
                day(),
            )
            .query("to", Some(to), day())
            .ok(usage)
            .errors(&[400, 401, 403, 404, 503]),
    );

    // verify
    let decision = d.schema::<Decision>();
    let body = d.schema::<VerifyInput>();
    d.op(
        Post,
        "/v1/verify",
        op(
            "verify",
            "verify",
            "Decide on a platform call made with an API key (service call); counted",
        )
        .describe("A refused key is still a 200 with `allowed: false` and a `reason`.")
        .public()
        .body(body, true)
        .ok(decision.clone())
        .errors(&[400, 413, 429, 503]),
    );
    d.op(
        Get,
        "/v1/token",
        op(
            "introspectToken",
            "verify",
            "Introspection of the presented API key; counted",
        )
        .describe(
            "401 without a bearer token; a token that does not verify is a 200 with `allowed: \
             false`.",
        )
        .api_key()
        .ok(decision)
        .errors(&[401, 429, 503]),
    );
    let jwks = d.schema::<Jwks>();
    d.op(
        Get,
        "/.well-known/jwks.json",
        op("jwks", "verify", "The public keys API keys are signed with")
            .public()
            .ok(jwks)
            .errors(&[503]),
    );

    // meta
    d.op(
        Get,
        "/v1/openapi.json",
        op("openapi", "meta", "This document")
            .public()
            .ok(Ref::from_schema_name("OpenApiDocument"))
            .answer(
                304,
                "Not modified (`If-None-Match` matched the `ETag`).",
                None,
            ),
    );
}

/// What utoipa's model does not say, and the document's conventions, applied to its JSON:
/// - `info.summary` (OpenAPI 3.1; utoipa's `Info` has no field for it);
/// - every header of an answer is sent (`required`; utoipa's `Header` has no field for it);
/// - the schemas [`schema::inline`] names (ids, e-mail, timestamps, checked names and texts) are
///   written where they are used, and a
///   nullable one as `type: [..., "null"]`;
/// - an object schema holds exactly its properties (`additionalProperties: false`): serde writes
///   exactly a struct's fields, and every body keygate reads refuses unknown ones;
/// - an enum of one value is a `const`.
fn finish(doc: &mut Value) {
    doc["info"]["summary"] = json!(SUMMARY);
    let inline: BTreeMap<String, Value> = doc["components"]["schemas"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(name, _)| schema::inline(name))
        .map(|(name, schema)| (format!("#/components/schemas/{name}"), schema.clone()))
        .collect();
    if let Some(schemas) = doc["components"]["schemas"].as_object_mut() {
        schemas.retain(|name, _| !schema::inline(name));
    }
    walk(doc, &inline, false);
}

fn walk(v: &mut Value, inline: &BTreeMap<String, Value>, in_headers: bool) {
    match v {
        Value::Object(map) => {
            if let Some(target) = map.get("$ref").and_then(Value::as_str)
                && let Some(schema) = inline.get(target)
            {
                let mut schema = schema.clone();
                map.remove("$ref");
                // A description beside the `$ref` (a field's doc) wins over the type's.
                for (k, v) in std::mem::take(map) {
                    schema[k] = v;
                }
                *v = schema;
                return walk(v, inline, in_headers);
            }
            for (k, child) in map.iter_mut() {
                walk(child, inline, k == "headers");
            }
            if in_headers {
                for header in map.values_mut() {
                    header["required"] = json!(true);
                }
            }
            nullable(map);
            if map.get("type").and_then(Value::as_str) == Some("object")
                && map.contains_key("properties")
                && !map.contains_key("additionalProperties")
            {
                map.insert("additionalProperties".into(), json!(false));
            }
            if let Some(Value::Array(values)) = map.get("enum")
                && values.len() == 1
            {
                let one = values[0].clone();
                map.remove("enum");
                map.insert("const".into(), one);
            }
        }
        Value::Array(items) => {
            for item in items {
                walk(item, inline, false);
            }
        }
        _ => {}
    }
}

/// `oneOf: [{type: T, ...}, {type: null}]` -> `{type: [T, null], ...}` when the first is a plain
/// typed schema (not a `$ref` or an object, which stay a `oneOf`).
fn nullable(map: &mut serde_json::Map<String, Value>) {
    let Some(Value::Array(one_of)) = map.get("oneOf") else {
        return;
    };
    let [first, second] = one_of.as_slice() else {
        return;
    };
    if second != &json!({"type": "null"}) {
        return;
    }
    let Some(Value::String(kind)) = first.get("type") else {
        // A `$ref` or null: a description on the `$ref` (a field's doc) belongs to the field.
        let description = first.get("description").cloned();
        if let (Some(d), Some(Value::Array(one_of))) = (description, map.get_mut("oneOf")) {
            if let Some(Value::Object(first)) = one_of.first_mut() {
                first.remove("description");
            }
            map.entry("description").or_insert(d);
        }
        return;
    };
    if kind == "object" || kind == "array" {
        return;
    }
    let mut merged = first.clone();
    merged["type"] = json!([kind, "null"]);
    if let Some(Value::Array(values)) = merged.get_mut("enum") {
        values.push(Value::Null);
    }
    map.remove("oneOf");
    for (k, v) in merged.as_object().into_iter().flatten() {
        map.entry(k.clone()).or_insert_with(|| v.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keygate::model::schema::INLINE;

    /// Every `$ref` names something the document has (an error status without a shared problem
    /// answer, a schema no operation registered, would not).
    #[test]
    fn every_reference_resolves() {
        fn refs<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
            match v {
                Value::Object(map) => {
                    if let Some(Value::String(r)) = map.get("$ref") {
                        out.push(r);
                    }
                    map.values().for_each(|v| refs(v, out));
                }
                Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
                _ => {}
            }
        }
        let doc = generate().expect("the document serializes");
        let mut found = Vec::new();
        refs(&doc, &mut found);
        assert!(found.len() > 100, "{}", found.len());
        for r in found {
            let pointer = r.strip_prefix('#').expect("a local reference");
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }

    #[test]
    fn the_shape_of_the_api() {
        let doc = generate().expect("the document serializes");
        assert_eq!(doc["openapi"], "3.1.0");
        let paths = doc["paths"].as_object().expect("paths");
        let operations: usize = paths
            .values()
            .map(|item| item.as_object().map_or(0, |o| o.len()))
            .sum();
        assert_eq!((paths.len(), operations), (37, 44));
        let schemas = doc["components"]["schemas"].as_object().expect("schemas");
        for name in INLINE {
            assert!(!schemas.contains_key(name), "{name} is written in place");
        }
        assert!(
            !schemas.keys().any(|name| schema::inline(name)),
            "checked names and texts are written in place"
        );
        // The console reads the prefix rule from here (functions/console/assets/app.js).
        assert_eq!(
            doc["components"]["parameters"]["path_prefix"]["schema"]["pattern"],
            format!("^{}$", keygate::model::ids::PREFIX_PATTERN)
        );
    }
}
