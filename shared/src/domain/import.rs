//! Imports: the holder of a key puts it into the secrets of a client project under a prefix —
//! `<prefix>_token` holds the key's token, `<prefix>_<field>` each info field's value — and grants
//! chosen nodes of that project access to them.
//!
//! An import never stays half-written. Its record is written first, marked `importing` with an
//! attempt id and a lease; then the secrets are written; then one transaction marks the record
//! and its secrets ready. When a secret write fails, the secrets this call created are deleted
//! and the record is put back as it was. A crash part-way leaves the record `importing`; once
//! its lease runs out a retry of the same import takes over and converges (secrets of this
//! project and prefix are taken over, never anyone else's), and a delete removes what it lists.

use super::audit::AuditEntry;
use super::key::{self, ApiKey, KeyStatus};
use super::template::{TOKEN_IDENTIFIER as TOKEN, field_identifier as identifier};
use crate::access;
use crate::adapters::secrets::{SecretTags, Vault, Written};
use crate::error::{Error, FieldError, Result};
use crate::model::caller::Caller;
use crate::model::checks::Check;
use crate::model::ids::new_id;
use crate::model::ids::{KeyId, NodeId, Prefix, ProjectId, SecretName};
use crate::model::page::{Page, PageRequest};
use crate::model::project::Membership;
use crate::model::time::now;
use crate::store::Store;
use crate::token::Signer;

/// The services an import talks to.
#[derive(Clone, Copy)]
pub struct Deps<'a> {
    pub store: &'a Store,
    pub signer: &'a Signer,
    pub vault: &'a Vault,
}

// The types, limits and pure rules are the model's.
pub use crate::model::import::*;

/// Imports key `input.key_id` into project `c` under `input.prefix`; `true` when it is new,
/// `false` when it repeated an existing import (secrets updated in place).
pub async fn create(
    deps: Deps<'_>,
    caller: &Caller,
    c: &ProjectId,
    input: ImportInput,
) -> Result<(ImportView, bool)> {
    let mut check = Check::new();
    let key_id = check.take(KeyId::parse("key_id", &input.key_id));
    let prefix = check.take(Prefix::parse("prefix", &input.prefix));
    check.finish()?;
    let (Some(k), Some(prefix)) = (key_id, prefix) else {
        return Err(Error::internal("checked input without values"));
    };
    let store = deps.store;
    access::require_member(store, c, caller).await?;
    let key = importable_key(store, caller, &k).await?;
    let plan = plan(&prefix, &key.fields)?;
    let token = key::mint(deps.signer, &key).await?;

    let previous = store.get_import(c, &prefix).await?;
    let at = now();
    if let Some(p) = &previous {
        if p.key_id != k {
            return Err(Error::Conflict(format!(
                "prefix {prefix} in project {c} is used by the import of key {}; delete that import \
                 or choose another prefix",
                p.key_id
            )));
        }
        if busy(p, &at) {
            return Err(in_progress(p));
        }
    }
    let known: Vec<SecretName> = previous
        .as_ref()
        .filter(|p| p.state == ImportState::Ready)
        .map(|p| p.secrets.clone())
        .unwrap_or_default();
    // A re-import keeps each secret's grant (its node tags included); a new import has none.
    let existing = match &previous {
        Some(_) => {
            store
                .get_secrets(c, &plan.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>())
                .await?
        }
        None => Vec::new(),
    };
    let record = Import {
        project_id: c.clone(),
        prefix: prefix.clone(),
        key_id: k.clone(),
        key_project_id: key.project_id.clone(),
        importer: caller.person(),
        secrets: plan.iter().map(|(n, _)| n.clone()).collect(),
        state: ImportState::Importing,
        key_status: KeyStatus::Active,
        attempt: new_id(),
        lease_until: Some(lease_until()),
        created_at: previous
            .as_ref()
            .map(|p| p.created_at.clone())
            .unwrap_or_else(|| at.clone()),
        updated_at: at.clone(),
        imported_before: previous
            .as_ref()
            .is_some_and(|p| p.state == ImportState::Ready || p.imported_before),
        deleted_by: None,
    };
    let items: Vec<ImportedSecret> = plan
        .iter()
        .map(|(name, field)| ImportedSecret {
            project_id: c.clone(),
            name: name.clone(),
            prefix: prefix.clone(),
            key_id: k.clone(),
            importer: caller.id.clone(),
            field: field.map(|i| key.fields[i].name.clone()),
            nodes: Vec::new(),
            state: SecretState::Pending,
            key_status: KeyStatus::Active,
            updated_at: at.clone(),
        })
        .collect();
    store
        .begin_import(&record, previous.as_ref(), &items)
        .await?;

    // Secrets Manager: a few at a time, stopping at the first failure.
    let nodes_of = |name: &SecretName| -> Vec<NodeId> {
        existing
            .iter()
            .find(|s| &s.name == name)
            .map(|s| s.nodes.clone())
            .unwrap_or_default()
    };
    let mut written: Vec<(SecretName, Written)> = Vec::new();
    let mut failure = None;
    for chunk in plan.chunks(WRITE_CONCURRENCY) {
        let writes = chunk.iter().map(|(name, field)| {
            let value = match field {
                Some(i) => key.fields[*i].value.as_str(),
                None => token.expose(),
            };
            let field_tag = field.map(|i| identifier(&key.fields[i].name));
            let nodes = nodes_of(name);
            let known = known.contains(name);
            let (prefix, k) = (&prefix, &k);
            async move {
                let tags = SecretTags {
                    project: c,
                    prefix,
                    key: k.as_str(),
                    field: field_tag.as_deref().unwrap_or(TOKEN),
                    nodes: &nodes,
                };
                (
                    name.clone(),
                    deps.vault.write(c, name, value, &tags, known).await,
                )
            }
        });
        for (name, result) in futures_util::future::join_all(writes).await {
            match result {
                Ok(w) => written.push((name, w)),
                Err(e) => {
                    failure.get_or_insert((name, e));
                }
            }
        }
        if failure.is_some() {
            break;
        }
    }
    let finished = match failure {
        Some((name, e)) => Err(explain_write_failure(&deps, c, &name, e)),
        None => {
            let ready = Import {
                state: ImportState::Ready,
                lease_until: None,
                updated_at: now(),
                ..record.clone()
            };
            let action = if previous.is_some() {
                "import.updated"
            } else {
                "import.created"
            };
            let audit = AuditEntry::new(c, caller, action, "import", &prefix).key(&k);
            store.finish_import(&ready, &record.attempt, &audit).await
        }
    };
    if let Err(e) = finished {
        crate::adapters::metrics::count("import_failures", &[]);
        tracing::warn!(project = %c, prefix = %prefix, key_id = %k, error = %e, "import failed; undone");
        undo(deps, &record, previous.as_ref(), &written).await;
        return Err(e);
    }
    let view = ImportView {
        prefix,
        key_id: k,
        secrets: plan
            .iter()
            .map(|(name, _)| GrantView {
                name: name.clone(),
                nodes: nodes_of(name),
            })
            .collect(),
    };
    Ok((view, previous.is_none()))
}

/// The caller's own key, usable right now (404 for a key they cannot see, 403 for the owner of
/// its project, 409 when it is not active).
async fn importable_key(store: &Store, caller: &Caller, k: &KeyId) -> Result<ApiKey> {
    let not_found = || Error::NotFound(format!("key {k}"));
    let key = store.get_key(k).await?.ok_or_else(not_found)?;
    if key.holder.id != caller.id {
        return match store.get_member(&key.project_id, &caller.id).await? {
            Some(m) if m.membership == Membership::Owner => Err(Error::Forbidden(
                "only the key's holder may import it".into(),
            )),
            _ => Err(not_found()),
        };
    }
    if let Some(new) = &key.replaced_by {
        return Err(Error::Conflict(format!(
            "key {k} was rolled; import its replacement {new}"
        )));
    }
    match key.status_at(&now()) {
        KeyStatus::Active => Ok(key),
        KeyStatus::Revoked => Err(Error::Conflict(format!("key {k} is revoked"))),
        KeyStatus::Expired => Err(Error::Conflict(format!("key {k} has expired"))),
    }
}

/// A failed secret write as the caller sees it: which secret and why, and for a fault (rather
/// than a rule) a 503 that says a retry starts clean: the attempt is undone before it returns.
fn explain_write_failure(deps: &Deps<'_>, c: &ProjectId, name: &SecretName, e: Error) -> Error {
    let physical = deps.vault.physical_name(c, name);
    let why = match &e {
        Error::Unavailable(_) => "Secrets Manager is unreachable or throttling".to_string(),
        Error::Internal(why) => format!("Secrets Manager refused it: {why}"),
        _ => return e,
    };
    tracing::warn!(secret = %physical, error = %e, "secret write failed; undoing the import");
    Error::Interrupted(format!(
        "writing secret {physical} failed ({why}); nothing of this import was kept: retry"
    ))
}

/// Undoes an attempt: deletes the secrets it created (at once: they never belonged to a
/// finished import) and puts the record back as it was. Failures are logged: the record stays
/// `importing` and lists every name, so a retry or a delete still finds all of them.
async fn undo(
    deps: Deps<'_>,
    record: &Import,
    previous: Option<&Import>,
    written: &[(SecretName, Written)],
) {
    let mut clean = true;
    for (name, w) in written {
        if !w.is_new() {
            continue;
        }
        if let Err(e) = deps.vault.delete(&record.project_id, name, true).await {
            clean = false;
            tracing::error!(project = %record.project_id, secret = %name, error = %e, "undoing an import: delete failed");
        }
    }
    if !clean {
        return;
    }
    let new_items: Vec<SecretName> = record
        .secrets
        .iter()
        .filter(|n| previous.is_none_or(|p| !p.secrets.contains(n)))
        .cloned()
        .collect();
    if let Err(e) = deps.store.abort_import(record, previous, &new_items).await {
        tracing::error!(project = %record.project_id, prefix = %record.prefix, error = %e, "undoing an import: record not restored");
    }
}

/// The project's imported secrets (members of `c`), never their values.
pub async fn list_secrets(
    store: &Store,
    caller: &Caller,
    c: &ProjectId,
    page: &PageRequest,
) -> Result<Page<SecretView>> {
    access::require_member(store, c, caller).await?;
    Ok(store.list_secrets(c, page).await?.map(|s| s.view()))
}

/// Replaces the nodes a secret is granted to (the owner of `c`, or who imported it).
pub async fn set_nodes(
    store: &Store,
    vault: &Vault,
    caller: &Caller,
    c: &ProjectId,
    name: &SecretName,
    input: NodesInput,
) -> Result<SecretView> {
    let membership = access::require_member(store, c, caller).await?;
    let secret = store
        .get_secrets(c, std::slice::from_ref(name))
        .await?
        .into_iter()
        .find(|s| s.state == SecretState::Ready)
        .ok_or_else(|| Error::NotFound(format!("secret {name} in project {c}")))?;
    if membership != Membership::Owner && secret.importer != caller.id {
        return Err(Error::Forbidden(format!(
            "only the owner of project {c} or who imported {name} may grant it"
        )));
    }
    let mut check = Check::new();
    if input.nodes.len() > NODES_MAX {
        check.push(FieldError::new(
            "nodes",
            format!("at most {NODES_MAX} nodes"),
        ));
    }
    let mut nodes: Vec<NodeId> = Vec::new();
    for (i, n) in input.nodes.iter().enumerate() {
        if let Some(id) = check.take(NodeId::parse(&format!("nodes[{i}]"), n)) {
            if nodes.contains(&id) {
                check.push(FieldError::new(
                    format!("nodes[{i}]"),
                    format!("{id} is listed twice"),
                ));
            } else {
                nodes.push(id);
            }
        }
    }
    check.finish()?;
    let found = store.existing_nodes(c, &nodes).await?;
    let missing: Vec<FieldError> = nodes
        .iter()
        .enumerate()
        .filter(|(_, n)| !found.contains(n))
        .map(|(i, n)| {
            FieldError::new(
                format!("nodes[{i}]"),
                format!("node {n} does not exist in project {c}"),
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(Error::Unprocessable(missing));
    }
    // The tags first: if the table write then fails, a retry of the same grant converges.
    vault.set_nodes(c, name, &secret.nodes, &nodes).await?;
    let granted = ImportedSecret {
        nodes,
        updated_at: now(),
        ..secret
    };
    let audit = AuditEntry::new(c, caller, "secret.nodes_set", "secret", name);
    store.set_secret_nodes(&granted, &audit).await?;
    Ok(granted.view())
}

/// Deletes an import and its secrets (who imported it, or the owner of `c`). Secrets go with
/// the configured recovery window.
pub async fn delete(
    store: &Store,
    vault: &Vault,
    caller: &Caller,
    c: &ProjectId,
    prefix: &Prefix,
) -> Result<()> {
    let membership = access::require_member(store, c, caller).await?;
    let found = store
        .get_import(c, prefix)
        .await?
        .ok_or_else(|| Error::NotFound(format!("import {prefix} in project {c}")))?;
    if membership != Membership::Owner && found.importer.id != caller.id {
        return Err(Error::Forbidden(format!(
            "only the owner of project {c} or who imported {prefix} may delete it"
        )));
    }
    if busy(&found, &now()) {
        return Err(in_progress(&found));
    }
    let deleting = Import {
        state: ImportState::Deleting,
        deleted_by: Some(caller.person()),
        attempt: new_id(),
        lease_until: Some(lease_until()),
        updated_at: now(),
        ..found.clone()
    };
    store.put_import(&deleting, Some(&found.attempt)).await?;
    for name in &deleting.secrets {
        if let Err(e) = vault.delete(c, name, false).await {
            tracing::warn!(project = %c, secret = %name, error = %e, "deleting an import: secret delete failed");
            // Release the lease so that the caller's retry may go on at once.
            let released = Import {
                lease_until: None,
                ..deleting.clone()
            };
            if let Err(e) = store.put_import(&released, Some(&deleting.attempt)).await {
                tracing::warn!(project = %c, prefix = %prefix, error = %e, "deleting an import: lease not released");
            }
            return Err(Error::Interrupted(format!(
                "deleting secret {} failed; the import is marked as being deleted: retry",
                vault.physical_name(c, name)
            )));
        }
    }
    let audit = AuditEntry::new(c, caller, "import.deleted", "import", prefix).key(&found.key_id);
    store.delete_import(&deleting, &audit).await
}
