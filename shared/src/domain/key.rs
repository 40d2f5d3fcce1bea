//! Issued API keys. A key snapshots its template at approval (name, role, info fields): later
//! template edits do not change it. The token itself is never stored; it is re-minted from the
//! stored claims with the signing key that first signed it.

pub use super::audit::AuditEntry;
use super::request::{Ask, KeyRequest, MyRequest, RequestStatus};
use crate::access;
use crate::config::ApiKeyConfig;
use crate::error::{Error, Result};
use crate::model::caller::Caller;
use crate::model::ids::{KeyId, ProjectId, RequestId};
use crate::model::page::{Page, PageRequest};
use crate::model::project::Membership;
use crate::model::time::{format_time, now};
use crate::store::Store;
use crate::token::{Signer, Token};
use serde::Deserialize;
use time::OffsetDateTime;

// The types, limits and pure rules are the model's.
pub use crate::model::key::*;

/// The owner approves a pending request: the requester now holds a key that snapshots the
/// template (name, role, info fields) as it is now.
pub async fn approve(
    store: &Store,
    signer: &Signer,
    cfg: &ApiKeyConfig,
    caller: &Caller,
    p: &ProjectId,
    r: &RequestId,
) -> Result<(KeyRequest, KeyView)> {
    access::require_owner(store, p, caller).await?;
    let req = store
        .get_request(p, r)
        .await?
        .ok_or_else(|| Error::NotFound(format!("request {r} in project {p}")))?;
    if req.status != RequestStatus::Pending {
        return Err(Error::Conflict(format!(
            "request {r} is {}, not pending",
            req.status.as_str()
        )));
    }
    let template = store
        .get_template(p, &req.template_id)
        .await?
        .ok_or_else(|| Error::Conflict(format!("template {} no longer exists", req.template_id)))?;
    let kid = signer.keys(None).await?.active_kid().to_string();
    let issued = OffsetDateTime::now_utc();
    let iat = issued.unix_timestamp().max(0) as u64;
    let exp = template.ttl_days.map(|d| iat + u64::from(d) * 86_400);
    let key = ApiKey {
        id: KeyId::generate(),
        project_id: p.clone(),
        template_id: template.id.clone(),
        request_id: req.id.clone(),
        name: template.name.clone(),
        role: template.role.clone(),
        holder: req.requester.clone(),
        fields: template
            .fields
            .iter()
            .map(|f| KeyField {
                name: f.name.to_string(),
                description: f.description.clone(),
                value: f.value.clone(),
            })
            .collect(),
        status: KeyStatus::Active,
        issued_at: format_time(issued),
        expires_at: exp.map(epoch_to_time).transpose()?,
        last_used_at: None,
        revoked_at: None,
        revoked_by: None,
        replaced_by: None,
        grace_until: None,
        expired_seen_at: None,
        iss: cfg.issuer.clone(),
        aud: cfg.audience_for(p.as_str()),
        iat,
        exp,
        kid,
    };
    let approved = KeyRequest {
        status: RequestStatus::Approved,
        key_id: Some(key.id.clone()),
        decided_at: Some(key.issued_at.clone()),
        decided_by: Some(caller.person()),
        ..req
    };
    let mut ask = Ask::of(&approved);
    ask.key_status = Some("active".into());
    ask.key_expires_at = key.expires_at.clone();
    store
        .approve(
            &approved,
            &key,
            &ask,
            &audit(p, caller, "request.approved", &approved.id, &key.id),
        )
        .await?;
    crate::adapters::metrics::count("approvals", &[]);
    tracing::info!(project = %p, request = %approved.id, key_id = %key.id, "request approved, key issued");
    Ok((approved, key.view()))
}

/// Loads a key the caller may see: its holder, or its project's owner (404 for anyone else).
async fn load_visible(store: &Store, caller: &Caller, k: &KeyId) -> Result<(ApiKey, bool)> {
    let key = store.get_key(k).await?.ok_or_else(|| key_not_found(k))?;
    if key.holder.id == caller.id {
        return Ok((key, true));
    }
    match store.get_member(&key.project_id, &caller.id).await? {
        Some(m) if m.membership == Membership::Owner => Ok((key, false)),
        _ => Err(key_not_found(k)),
    }
}

/// A key its holder or its project's owner may see (404 for anyone else).
pub async fn visible(store: &Store, caller: &Caller, k: &KeyId) -> Result<ApiKey> {
    Ok(load_visible(store, caller, k).await?.0)
}

pub async fn get(store: &Store, caller: &Caller, k: &KeyId) -> Result<KeyView> {
    let key = load_visible(store, caller, k).await?.0;
    Ok(with_last_use(store, vec![key]).await?.remove(0))
}

/// Keys read at the same time for their last use.
const LAST_USE_CONCURRENCY: usize = 8;

/// Views of keys with `last_used_at` from their usage counters (the decision's hot path never
/// writes the key item, so it does not carry it): one small query per key, a few at a time.
async fn with_last_use(store: &Store, keys: Vec<ApiKey>) -> Result<Vec<KeyView>> {
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(LAST_USE_CONCURRENCY) {
        let reads = chunk.iter().map(|k| store.last_used(&k.id));
        for (k, last) in chunk
            .iter()
            .zip(futures_util::future::join_all(reads).await)
        {
            let mut view = k.view();
            view.last_used_at = last?.or(view.last_used_at);
            out.push(view);
        }
    }
    Ok(out)
}

/// A holder removed from the key's project gets nothing more of it: the removal revoked the
/// key, and this refuses even a key it could not reach (403).
async fn still_member(store: &Store, key: &ApiKey) -> Result<()> {
    match store.get_member(&key.project_id, &key.holder.id).await? {
        Some(_) => Ok(()),
        None => Err(Error::Forbidden(format!(
            "you are no longer a member of project {}: its keys are not yours to use",
            key.project_id
        ))),
    }
}

/// The key's token, re-minted from its stored claims; the holder's alone. Every reveal is in
/// the key's project's audit trail (`key.revealed`): the entry is written before the token is
/// handed out, and when it cannot be written there is no token (503).
pub async fn token(store: &Store, signer: &Signer, caller: &Caller, k: &KeyId) -> Result<Token> {
    let (key, is_holder) = load_visible(store, caller, k).await?;
    if !is_holder {
        return Err(Error::Forbidden(
            "only the key's holder may see its token".into(),
        ));
    }
    still_member(store, &key).await?;
    match key.status_at(&now()) {
        KeyStatus::Active => {}
        other => {
            return Err(Error::Conflict(format!(
                "key {k} is {}",
                serde_json::to_value(other)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default()
            )));
        }
    }
    let token = mint(signer, &key).await?;
    let entry = audit(&key.project_id, caller, "key.revealed", &key.request_id, k);
    store.append_audit(&entry).await.map_err(|e| match e {
        Error::Unavailable(_) => e,
        other => {
            tracing::error!(key_id = %k, error = %other, "the reveal's audit entry was not written");
            Error::Unavailable(format!("the audit entry of a reveal of key {k}: {other}"))
        }
    })?;
    tracing::info!(project = %key.project_id, key_id = %k, "token revealed");
    Ok(token)
}

/// A key's token, re-minted from its stored claims with the signing key that first signed it
/// (EdDSA is deterministic: the same token every time).
pub async fn mint(signer: &Signer, key: &ApiKey) -> Result<Token> {
    let keys = signer.keys(Some(&key.kid)).await?;
    keys.sign_as(&key.kid, &key.claims()).map_err(|_| {
        Error::Conflict(format!(
            "the signing key of key {} was retired: roll the key for a new token",
            key.id
        ))
    })
}

/// The ask of the key's holder, when it still points at this key.
async fn ask_of(store: &Store, key: &ApiKey) -> Result<Option<Ask>> {
    let ask = store
        .get_ask(&key.project_id, &key.holder.id, &key.template_id)
        .await?;
    Ok(ask.filter(|a| a.request.key_id.as_ref() == Some(&key.id)))
}

/// Revokes a key: its holder or its project's owner.
pub async fn revoke(store: &Store, caller: &Caller, k: &KeyId) -> Result<KeyView> {
    let (key, _) = load_visible(store, caller, k).await?;
    // A rolled key still in its grace is active: revoking it ends the grace at once.
    if key.status_at(&now()) != KeyStatus::Active {
        return Err(Error::Conflict(format!("key {k} is not active")));
    }
    let at = now();
    let revoked = ApiKey {
        status: KeyStatus::Revoked,
        revoked_at: Some(at),
        revoked_by: Some(caller.person()),
        ..key.clone()
    };
    let ask = ask_of(store, &key).await?.map(|mut a| {
        a.key_status = Some("revoked".into());
        a
    });
    store
        .revoke_key(
            &revoked,
            ask.as_ref(),
            &audit(&key.project_id, caller, "key.revoked", &key.request_id, k),
        )
        .await?;
    Ok(revoked.view())
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Roll))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollInput {
    /// How long the old key still verifies (default 0: revoked at once).
    #[cfg_attr(feature = "openapi", schema(schema_with = crate::model::key::schemas::grace_seconds))]
    pub grace_seconds: Option<u64>,
}

/// The holder replaces a key by a new one (new id, same template snapshot, holder, role and
/// expiry); the old one verifies for `grace_seconds` more (default 0: revoked at once).
pub async fn roll(
    store: &Store,
    signer: &Signer,
    caller: &Caller,
    k: &KeyId,
    input: RollInput,
) -> Result<KeyView> {
    let (key, is_holder) = load_visible(store, caller, k).await?;
    if !is_holder {
        return Err(Error::Forbidden("only the key's holder may roll it".into()));
    }
    still_member(store, &key).await?;
    let grace = input.grace_seconds.unwrap_or(0);
    if grace > ROLL_GRACE_MAX_SECONDS {
        return Err(Error::invalid(
            "grace_seconds",
            format!("must be at most {ROLL_GRACE_MAX_SECONDS} (7 days)"),
        ));
    }
    if key.status_at(&now()) != KeyStatus::Active || key.replaced_by.is_some() {
        return Err(Error::Conflict(format!(
            "key {k} is not active or was already rolled"
        )));
    }
    let kid = signer.keys(None).await?.active_kid().to_string();
    let issued = OffsetDateTime::now_utc();
    let new = ApiKey {
        id: KeyId::generate(),
        status: KeyStatus::Active,
        issued_at: format_time(issued),
        iat: issued.unix_timestamp().max(0) as u64,
        last_used_at: None,
        kid,
        ..key.clone()
    };
    let mut old = ApiKey {
        replaced_by: Some(new.id.clone()),
        ..key.clone()
    };
    if grace == 0 {
        old.status = KeyStatus::Revoked;
        old.revoked_at = Some(new.issued_at.clone());
        old.revoked_by = Some(caller.person());
    } else {
        old.grace_until = Some(format_time(issued + time::Duration::seconds(grace as i64)));
    }
    let ask = ask_of(store, &key).await?.map(|a| Ask {
        request: MyRequest {
            key_id: Some(new.id.clone()),
            ..a.request.clone()
        },
        key_status: Some("active".into()),
        ..a
    });
    store
        .roll_key(
            &old,
            &new,
            ask.as_ref(),
            &audit(
                &key.project_id,
                caller,
                "key.rolled",
                &key.request_id,
                &new.id,
            ),
        )
        .await?;
    Ok(new.view())
}

pub async fn list_mine(
    store: &Store,
    caller: &Caller,
    page: &PageRequest,
) -> Result<Page<KeyView>> {
    let page = store.list_holder_keys(&caller.id, page).await?;
    Ok(Page {
        items: with_last_use(store, page.items).await?,
        next: page.next,
    })
}

pub async fn list_project(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    page: &PageRequest,
) -> Result<Page<KeyView>> {
    access::require_owner(store, p, caller).await?;
    let page = store.list_project_keys(p, page).await?;
    Ok(Page {
        items: with_last_use(store, page.items).await?,
        next: page.next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::checks::Name;
    use crate::model::ids::{Email, RoleName, TemplateId, UserId};
    use crate::model::project::Person;

    fn key(expires_at: Option<&str>, grace_until: Option<&str>, status: KeyStatus) -> ApiKey {
        ApiKey {
            id: KeyId::generate(),
            project_id: ProjectId::parse("p", "server").expect("id"),
            template_id: TemplateId::generate(),
            request_id: RequestId::generate(),
            name: Name::parse("test", "T").expect("checked"),
            role: RoleName::parse("r", "reader").expect("role"),
            holder: Person {
                id: UserId::parse("u", "bob").expect("id"),
                email: Email::parse("e", "bob@example.com").expect("email"),
            },
            fields: vec![],
            status,
            issued_at: "2026-01-01T00:00:00.000Z".into(),
            expires_at: expires_at.map(str::to_string),
            last_used_at: None,
            revoked_at: None,
            revoked_by: None,
            replaced_by: None,
            grace_until: grace_until.map(str::to_string),
            expired_seen_at: None,
            iss: "keygate".into(),
            aud: "platform-api:server".into(),
            iat: 1,
            exp: None,
            kid: "k".into(),
        }
    }

    #[test]
    fn status_is_derived_from_time() {
        let at = "2026-06-01T00:00:00.000Z";
        assert_eq!(
            key(None, None, KeyStatus::Active).status_at(at),
            KeyStatus::Active
        );
        assert_eq!(
            key(Some("2026-05-31T23:59:59.999Z"), None, KeyStatus::Active).status_at(at),
            KeyStatus::Expired
        );
        assert_eq!(
            key(Some("2026-06-02T00:00:00.000Z"), None, KeyStatus::Active).status_at(at),
            KeyStatus::Active
        );
        assert_eq!(
            key(None, Some("2026-05-31T00:00:00.000Z"), KeyStatus::Active).status_at(at),
            KeyStatus::Revoked,
            "grace over"
        );
        assert_eq!(
            key(None, Some("2026-06-01T00:00:01.000Z"), KeyStatus::Active).status_at(at),
            KeyStatus::Active,
            "in grace"
        );
        assert_eq!(
            key(None, None, KeyStatus::Revoked).status_at(at),
            KeyStatus::Revoked
        );
    }

    #[test]
    fn claims_are_what_was_signed() {
        let k = key(None, None, KeyStatus::Active);
        let c = k.claims();
        assert_eq!(
            (
                c.sub.as_str(),
                c.jti.as_str(),
                c.role.as_str(),
                c.aud.as_str()
            ),
            ("bob", k.id.as_str(), "reader", "platform-api:server")
        );
    }
}
