//! The decision on a platform call made with an API key, on the hot path of the whole platform:
//! the token (signature and claims), then the key's record (revoked? expired?), then the route
//! (known? the key's project?), then the role's permission for it. Every decision on a token we
//! signed is counted in the key's usage: in memory, written in batches off the request path
//! (`keygate::usecases::counting`), so a decision waits on no write.
//!
//! A warm container decides from memory: the signing keys, key records and roles are cached for
//! a configured time (revocation takes effect within it), so a warm decision makes no DynamoDB
//! call at all. A cold one reads the key and the role in one `BatchGetItem`, then (when allowed)
//! its template's rate limit, cached per template like keys and roles. A key whose template sets
//! calls per minute spends one slot of the minute's window per allowed call, from a lease the
//! container takes on a block of the window (`crate::usecases::leases`: one conditional `ADD` per block,
//! refused past the limit, so the limit holds across containers); its denials are counted like
//! any other.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::DecisionConfig;
use crate::error::{Error, FieldError, Result};
use crate::model::ids::{KeyId, ProjectId, RoleName, UserId};
use crate::model::key::{ApiKey, KeyStatus};
use crate::model::project::Role;
pub use crate::model::routes::{DEFAULT_ROUTES, PlatformRoute, RouteMap, is_plain_segment};
use crate::model::time::now;
use crate::store::{Store, UsageCount, Window};
use crate::token::{Claims, Verifier, kid_of};
use crate::usecases::counting::UsageBatch;
use crate::usecases::leases::{Leases, Spend};

/// Cached entries beyond this many are dropped all at once (a bound, not an LRU: a container
/// sees few keys, and a refill costs one read per key).
const CACHE_MAX: usize = 10_000;

/// Why a call was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    InvalidToken,
    Expired,
    Revoked,
    WrongProject,
    PermissionMissing(String),
    UnknownRoute,
    /// Over the template's calls per minute; retry after this many seconds.
    RateLimited(u64),
}

impl Reason {
    pub fn code(&self) -> String {
        match self {
            Reason::InvalidToken => "invalid_token".into(),
            Reason::Expired => "expired".into(),
            Reason::Revoked => "revoked".into(),
            Reason::WrongProject => "wrong_project".into(),
            Reason::PermissionMissing(p) => format!("permission_missing:{p}"),
            Reason::UnknownRoute => "unknown_route".into(),
            Reason::RateLimited(_) => "rate_limited".into(),
        }
    }

    /// The usage counter's name (`permission_missing` without the permission: counters stay few).
    fn counter(&self) -> &'static str {
        match self {
            Reason::InvalidToken => "invalid_token",
            Reason::Expired => "expired",
            Reason::Revoked => "revoked",
            Reason::WrongProject => "wrong_project",
            Reason::PermissionMissing(_) => "permission_missing",
            Reason::UnknownRoute => "unknown_route",
            Reason::RateLimited(_) => "rate_limited",
        }
    }
}

/// The longest path `POST /v1/verify` takes.
pub const VERIFY_PATH_MAX: usize = 2048;

/// `POST /v1/verify`'s body: a service asks whether `token` may make this call.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyInput {
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub token: String,
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z]+$"))]
    pub method: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = verify_path_schema))]
    pub path: String,
}

/// `VerifyInput::path`'s rule in the contract, from the same constant.
#[cfg(feature = "openapi")]
fn verify_path_schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
    crate::model::schema::object(
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^/"))
            .max_length(Some(VERIFY_PATH_MAX)),
    )
}

impl VerifyInput {
    /// Every field's rule at once (400 naming each that breaks its rule), then the call it asks
    /// about.
    pub fn check(&self) -> Result<Target<'_>> {
        let mut errors = Vec::new();
        if self.token.trim().is_empty() {
            errors.push(FieldError::new("token", "is required"));
        }
        if self.method.is_empty() || !self.method.chars().all(|c| c.is_ascii_alphabetic()) {
            errors.push(FieldError::new(
                "method",
                "must be an HTTP method such as GET",
            ));
        }
        if !self.path.starts_with('/') || self.path.len() > VERIFY_PATH_MAX {
            errors.push(FieldError::new(
                "path",
                format!("must be a path starting with / (at most {VERIFY_PATH_MAX} characters)"),
            ));
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        Ok(Target::Call {
            method: &self.method,
            path: &self.path,
        })
    }
}

/// What a token is presented for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// A platform call.
    Call { method: &'a str, path: &'a str },
    /// `GET /v1/token`: is the key itself good (no route, no permission)?
    Introspection,
}

/// The route introspection is counted under.
pub const INTROSPECTION_ROUTE: &str = "GET /v1/token";

/// The answer for one call (`POST /v1/verify`, the authorizer's context).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub allowed: bool,
    /// Why not: `invalid_token`, `expired`, `revoked`, `wrong_project`,
    /// `permission_missing:<permission>`, `unknown_route`, `rate_limited`; `null` when allowed.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub reason: Option<String>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub key_id: Option<KeyId>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub project_id: Option<ProjectId>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub role: Option<RoleName>,
    pub permissions: Vec<String>,
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub holder: Option<UserId>,
    /// The matched route (`null` for an unknown one).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub route: Option<String>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::schema::Timestamp>))]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub expires_at: Option<String>,
    /// Seconds until a rate-limited key may call again (`Retry-After`); not in the body.
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

impl Decision {
    fn refused(reason: Reason) -> Self {
        Decision {
            allowed: false,
            reason: Some(reason.code()),
            key_id: None,
            project_id: None,
            role: None,
            permissions: Vec::new(),
            holder: None,
            route: None,
            expires_at: None,
            retry_after: None,
        }
    }
}

/// A small TTL cache.
struct Cache<K, V> {
    ttl: Duration,
    map: RwLock<HashMap<K, (Instant, V)>>,
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone> Cache<K, V> {
    fn new(ttl: Duration) -> Self {
        Cache {
            ttl,
            map: RwLock::new(HashMap::new()),
        }
    }

    fn get(&self, k: &K) -> Option<V> {
        let map = self.map.read().ok()?;
        map.get(k)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, v)| v.clone())
    }

    fn put(&self, k: K, v: V) {
        if let Ok(mut map) = self.map.write() {
            if map.len() >= CACHE_MAX {
                map.clear();
            }
            map.insert(k, (Instant::now(), v));
        }
    }
}

/// The decision maker, built once per container.
pub struct Decider {
    store: Store,
    /// The published public keys: deciding never reads the private ones.
    verifier: Verifier,
    routes: RouteMap,
    issuer: String,
    audience: String,
    /// This container's uncounted decisions (flushed by its own task: `counting`).
    usage: Arc<UsageBatch>,
    keys: Cache<String, Option<Arc<ApiKey>>>,
    roles: Cache<(String, String), Option<Arc<Role>>>,
    /// Templates' calls per minute by (project, template).
    limits: Cache<(String, String), Option<u32>>,
    /// This container's leases on its keys' rate windows.
    leases: Leases,
}

/// A verified token: its claims and the project its audience names.
struct Verified {
    claims: Claims,
    project: Option<ProjectId>,
    expired: bool,
}

impl Decider {
    pub fn new(store: Store, verifier: Verifier, config: &DecisionConfig) -> Self {
        Decider {
            usage: Arc::new(UsageBatch::new(store.clone(), config.usage_flush)),
            store,
            verifier,
            routes: config.routes.clone(),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            keys: Cache::new(config.cache_ttl),
            roles: Cache::new(config.cache_ttl),
            limits: Cache::new(config.cache_ttl),
            leases: Leases::default(),
        }
    }

    pub fn routes(&self) -> &RouteMap {
        &self.routes
    }

    /// The container's usage batch: its flush task and shutdown hook are started by the
    /// function (`counting::run_in_background`), tests flush it themselves.
    pub fn usage(&self) -> Arc<UsageBatch> {
        Arc::clone(&self.usage)
    }

    /// Signature and claims. `None` for a token we did not sign (or cannot read): nothing about
    /// it can be trusted, so it is refused and not counted.
    async fn verify(&self, token: &str) -> Result<Option<Verified>> {
        let Some(kid) = kid_of(token) else {
            return Ok(None);
        };
        let keys = self.verifier.keys(Some(&kid)).await?;
        let Ok(claims) = keys.verify_signed(token, &self.issuer) else {
            return Ok(None);
        };
        let project = claims
            .aud
            .strip_prefix(&self.audience)
            .and_then(|rest| rest.strip_prefix(':'))
            .and_then(|p| ProjectId::parse("aud", p).ok());
        let epoch = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
        let expired = claims.exp.is_some_and(|exp| exp <= epoch);
        Ok(Some(Verified {
            claims,
            project,
            expired,
        }))
    }

    /// The signing keys' public half (`GET /.well-known/jwks.json`).
    pub async fn jwks(&self) -> Result<crate::token::Jwks> {
        Ok(self.verifier.keys(None).await?.jwks())
    }

    /// The key and its role from memory, if both are there.
    fn cached(&self, claims: &Claims, project: &ProjectId) -> Option<Looked> {
        let role_key = (project.to_string(), claims.role.clone());
        Some((self.keys.get(&claims.jti)?, self.roles.get(&role_key)?))
    }

    /// The key and its role from the table (both in one read), remembered.
    async fn read(&self, claims: &Claims, project: &ProjectId) -> Result<Looked> {
        let (key, role) = self
            .store
            .key_and_role(&claims.jti, project, &claims.role)
            .await?;
        let (key, role) = (key.map(Arc::new), role.map(Arc::new));
        self.keys.put(claims.jti.clone(), key.clone());
        self.roles
            .put((project.to_string(), claims.role.clone()), role.clone());
        Ok((key, role))
    }

    /// The token checked and the call located: everything a decision needs but the key and role.
    async fn prepare<'t>(
        &self,
        token: &str,
        target: Target<'t>,
    ) -> Result<std::result::Result<Prepared<'_, 't>, Decision>> {
        let refused = || Ok(Err(Decision::refused(Reason::InvalidToken)));
        let Some(v) = self.verify(token).await? else {
            return refused();
        };
        let Some(project) = v.project.clone() else {
            return refused();
        };
        let Ok(key_id) = KeyId::parse("jti", &v.claims.jti) else {
            return refused();
        };
        let route = match target {
            Target::Call { method, path } => self.routes.find(method, path),
            Target::Introspection => None,
        };
        Ok(Ok(Prepared {
            v,
            project,
            key_id,
            route,
            target,
        }))
    }

    /// The decision from memory alone, uncounted: `None` when anything would have to be read
    /// (the benchmark's measure of a warm decision; `decide` is this plus its count in memory,
    /// its log line and its metric).
    pub async fn decide_warm(&self, token: &str, target: Target<'_>) -> Result<Option<Decision>> {
        let p = match self.prepare(token, target).await? {
            Ok(p) => p,
            Err(refused) => return Ok(Some(refused)),
        };
        Ok(self
            .cached(&p.v.claims, &p.project)
            .map(|(key, role)| evaluate(&p, key, role).0))
    }

    /// Decides on `target` with `token`, and counts the decision in the key's usage (in memory:
    /// written by the next flush).
    pub async fn decide(&self, token: &str, target: Target<'_>) -> Result<Decision> {
        let decision = self.decide_counted(token, target).await?;
        // The reason's counter name (`permission_missing`, not which permission): a dimension
        // must have few values.
        let reason = decision
            .reason
            .as_deref()
            .map(|r| r.split(':').next().unwrap_or(r))
            .unwrap_or("ok");
        crate::adapters::metrics::count(
            "decisions",
            &[
                (
                    "outcome",
                    if decision.allowed {
                        "allowed"
                    } else {
                        "denied"
                    },
                ),
                ("reason", reason),
            ],
        );
        tracing::info!(key_id = ?decision.key_id.as_ref().map(|k| k.as_str()), allowed = decision.allowed, reason, route = ?decision.route, "decision");
        Ok(decision)
    }

    async fn decide_counted(&self, token: &str, target: Target<'_>) -> Result<Decision> {
        let p = match self.prepare(token, target).await? {
            Ok(p) => p,
            Err(refused) => return Ok(refused),
        };
        let route_name = match (&p.target, &p.route) {
            (Target::Introspection, _) => INTROSPECTION_ROUTE.to_string(),
            (_, Some((r, _))) => r.template.clone(),
            (_, None) => "unknown".into(),
        };
        let count = UsageCount::new(&p.key_id, &now(), &route_name);
        // Warm: nothing to read. Cold: the key and its role in one read.
        let (key, role) = match self.cached(&p.v.claims, &p.project) {
            Some(looked) => looked,
            None => self.read(&p.v.claims, &p.project).await?,
        };
        let (decision, reason) = evaluate(&p, key.clone(), role);
        let (decision, reason) = match (reason, &key) {
            (None, Some(key)) => match self.over_limit(key).await? {
                Some(wait) => limited(decision, wait),
                None => (decision, None),
            },
            (reason, _) => (decision, reason),
        };
        // Counted in memory; a call that could not be decided (an error above) is not.
        self.usage
            .record(&count, true, reason.as_ref().map(Reason::counter));
        Ok(decision)
    }

    /// The key's template's calls per minute (remembered like keys and roles).
    async fn limit_of(&self, key: &ApiKey) -> Result<Option<u32>> {
        let id = (key.project_id.to_string(), key.template_id.to_string());
        if let Some(limit) = self.limits.get(&id) {
            return Ok(limit);
        }
        // A deleted template's keys keep working, without a limit.
        let limit = self
            .store
            .get_template(&key.project_id, &key.template_id)
            .await?
            .and_then(|t| t.rate_limit_per_minute);
        self.limits.put(id, limit);
        Ok(limit)
    }

    /// `Some(seconds to wait)` when the key's calls this minute are at its template's limit;
    /// otherwise the call takes one of them: from this container's lease on the window when it
    /// has one (no call), else with a new lease (`crate::usecases::leases`).
    async fn over_limit(&self, key: &ApiKey) -> Result<Option<u64>> {
        let Some(limit) = self.limit_of(key).await? else {
            return Ok(None);
        };
        let epoch = crate::model::time::epoch_seconds()?;
        let window = Window::at(
            &crate::store::keys::key_calls_subject(&key.id),
            60,
            limit,
            epoch,
        );
        let (id, at) = (key.id.as_str(), window.key.sk.as_str());
        let refused = || Ok(Some(window.retry_after(epoch)));
        match self.leases.spend(id, at, limit) {
            Spend::Allowed => return Ok(None),
            Spend::Refused => return refused(),
            Spend::Lease(_) => {}
        }
        // One lease at a time per key: a call that waited spends from the lease taken meanwhile.
        let _turn = self.leases.turn(id).await;
        let mut n = match self.leases.spend(id, at, limit) {
            Spend::Allowed => return Ok(None),
            Spend::Refused => return refused(),
            Spend::Lease(n) => n,
        };
        loop {
            if self.store.take_lease(&window, n).await? {
                self.leases.granted(id, at, limit, n);
                return Ok(None);
            }
            match self.leases.refused(id, at, limit, n) {
                Some(smaller) => n = smaller,
                None => return refused(),
            }
        }
    }
}

/// An allowed decision turned into a `rate_limited` denial: the key is over its limit for `wait`
/// more seconds.
fn limited(decision: Decision, wait: u64) -> (Decision, Option<Reason>) {
    let reason = Reason::RateLimited(wait);
    let decision = Decision {
        allowed: false,
        reason: Some(reason.code()),
        retry_after: Some(wait),
        ..decision
    };
    (decision, Some(reason))
}

type Looked = (Option<Arc<ApiKey>>, Option<Arc<Role>>);

/// A verified token and the call it is presented for.
struct Prepared<'r, 't> {
    v: Verified,
    /// The project the token's audience names.
    project: ProjectId,
    key_id: KeyId,
    route: Option<(&'r PlatformRoute, String)>,
    target: Target<'t>,
}

/// The decision, and why it is a refusal (if it is one).
fn evaluate(
    p: &Prepared<'_, '_>,
    key: Option<Arc<ApiKey>>,
    role: Option<Arc<Role>>,
) -> (Decision, Option<Reason>) {
    let Some(key) = key else {
        // Signed by us but unknown: cannot happen unless the table lost the key.
        tracing::warn!(key = %p.key_id, "a verified token names a key that is not in the table");
        return (
            Decision::refused(Reason::InvalidToken),
            Some(Reason::InvalidToken),
        );
    };
    let reason = match key.status_at(&now()) {
        KeyStatus::Revoked => Some(Reason::Revoked),
        KeyStatus::Expired => Some(Reason::Expired),
        KeyStatus::Active if p.v.expired => Some(Reason::Expired),
        KeyStatus::Active => match &p.route {
            None if p.target == Target::Introspection => None,
            None => Some(Reason::UnknownRoute),
            Some((_, project)) if project != key.project_id.as_str() => Some(Reason::WrongProject),
            Some((r, _)) => {
                let granted = role.as_ref().is_some_and(|role| {
                    role.permissions
                        .iter()
                        .any(|perm| perm == "*" || *perm == r.permission)
                });
                (!granted).then(|| Reason::PermissionMissing(r.permission.clone()))
            }
        },
    };
    let decision = Decision {
        allowed: reason.is_none(),
        reason: reason.as_ref().map(Reason::code),
        key_id: Some(key.id.clone()),
        project_id: Some(key.project_id.clone()),
        role: Some(key.role.clone()),
        permissions: role.map(|r| r.permissions.clone()).unwrap_or_default(),
        holder: Some(key.holder.id.clone()),
        route: match p.target {
            Target::Introspection => Some(INTROSPECTION_ROUTE.into()),
            Target::Call { .. } => p.route.as_ref().map(|(r, _)| r.template.clone()),
        },
        expires_at: key.expires_at.clone(),
        retry_after: None,
    };
    (decision, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_machine_readable() {
        assert_eq!(
            Reason::PermissionMissing("packages:write".into()).code(),
            "permission_missing:packages:write"
        );
        assert_eq!(Reason::WrongProject.code(), "wrong_project");
    }
}
