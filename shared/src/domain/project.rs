//! Projects and what belongs to them: members (the owner is one), roles (name -> permissions) and
//! graph nodes: the operations the `projects` function exposes (their types and rules:
//! `crate::model::project`).

use super::audit::AuditEntry;
use super::key::{ApiKey, KeyStatus};
use super::request::{Ask, KeyRequest, RequestStatus, system_reason};
use crate::access;
use crate::error::{Error, FieldError, Result};
use crate::model::caller::Caller;
use crate::model::checks::Check;
use crate::model::ids::{Email, NodeId, ProjectId, RoleName, UserId};
use crate::model::page::{Page, PageRequest};
use crate::model::time::now;
use crate::store::{MEMBER_CHANGED, MemberRemoval, Store, TRANSACTION_ITEMS_MAX};

// The types, limits and pure rules are the model's (`crate::model::project`); the operations
// below check access and call the store.
pub use crate::model::project::*;

/// Creates a project; the caller becomes its owner (and first member). Who may is the
/// deployment's `policy`: a keygate project stands for the platform's project of the same id, so
/// creating one claims that platform project (see [`ProjectCreation`]).
pub async fn create(
    store: &Store,
    caller: &Caller,
    policy: &ProjectCreation,
    input: NewProjectInput,
) -> Result<Project> {
    if *policy == ProjectCreation::Nobody {
        return Err(Error::Forbidden(
            "projects cannot be created through the API on this deployment \
             (PROJECT_CREATION=nobody): a keygate project stands for a platform project, so the \
             operator decides who owns one"
                .into(),
        ));
    }
    let mut c = Check::new();
    let id = match (input.id.as_deref(), policy) {
        (Some(id), _) => c.take(ProjectId::parse("id", id)),
        (None, ProjectCreation::Claim(claim)) => {
            c.push(FieldError::new(
                "id",
                format!(
                    "is required: name the platform project to own (one your token's `{claim}` \
                     claim lists)"
                ),
            ));
            None
        }
        (None, _) => Some(ProjectId::generate()),
    };
    let name = c.take(ProjectName::parse("name", &input.name));
    c.finish()?;
    let (Some(id), Some(name)) = (id, name) else {
        return Err(Error::internal("checked project input without values"));
    };
    if let ProjectCreation::Claim(claim) = policy
        && !caller.claimed_projects.iter().any(|c| c == id.as_str())
    {
        return Err(Error::Forbidden(format!(
            "your token's `{claim}` claim does not list project {id}: only the platform \
             project's owner may create it in keygate"
        )));
    }
    let created_at = now();
    let project = Project {
        id,
        name,
        owner: caller.person(),
        created_at: created_at.clone(),
        digest: Digest::Off,
        notify: Notify::Each,
    };
    let owner = Member {
        project_id: project.id.clone(),
        project_name: project.name.clone(),
        user: caller.person(),
        membership: Membership::Owner,
        added_at: created_at,
    };
    let audit = AuditEntry::new(
        &project.id,
        caller,
        "project.created",
        "project",
        &project.id,
    );
    store.create_project(&project, &owner, &audit).await?;
    Ok(project)
}

pub async fn get(store: &Store, caller: &Caller, p: &ProjectId) -> Result<Project> {
    access::require_member(store, p, caller).await?;
    store
        .get_project(p)
        .await?
        .ok_or_else(|| Error::NotFound(format!("project {p}")))
}

/// Changes the owner's mail settings. A request must reach the owner somehow: `notify` other
/// than `each` needs the daily digest on.
pub async fn update_settings(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    input: SettingsInput,
) -> Result<Project> {
    access::require_owner(store, p, caller).await?;
    let current = store
        .get_project(p)
        .await?
        .ok_or_else(|| Error::NotFound(format!("project {p}")))?;
    let digest = input.digest.unwrap_or(current.digest);
    let notify = input.notify.unwrap_or(current.notify);
    if digest == Digest::Off && notify != Notify::Each {
        return Err(Error::unprocessable(
            "notify",
            "must be `each` while `digest` is `off`: the owner would never hear of new requests",
        ));
    }
    let updated = Project {
        digest,
        notify,
        ..current
    };
    let audit = AuditEntry::new(p, caller, "project.settings_changed", "project", p);
    store.update_project_settings(&updated, &audit).await?;
    Ok(updated)
}

/// Adds a member, or updates a member's e-mail. The owner's membership is not changed this way.
pub async fn put_member(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    user: &UserId,
    input: MemberInput,
) -> Result<Member> {
    let owner = access::require_owner(store, p, caller).await?;
    let email = Email::parse("email", &input.email).map_err(|e| Error::Invalid(vec![e]))?;
    if user == &owner.user.id {
        return Err(Error::unprocessable(
            "user",
            "is the project's owner, who is always a member",
        ));
    }
    let member = Member {
        project_id: p.clone(),
        project_name: owner.project_name,
        user: Person {
            id: user.clone(),
            email,
        },
        membership: Membership::Member,
        added_at: now(),
    };
    let audit = AuditEntry::new(p, caller, "member.put", "member", user);
    store.put_member(&member, &audit).await?;
    Ok(member)
}

/// The owner removes a member, or a member leaves (`user` is the caller): either way with
/// everything they hold in the project (`plan_removal`).
pub async fn remove_member(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    user: &UserId,
) -> Result<()> {
    if user == &caller.id {
        // A member leaves on their own; the owner cannot (the project would have none).
        if access::require_member(store, p, caller).await? == Membership::Owner {
            return Err(Error::unprocessable(
                "user",
                "is the project's owner, who cannot leave it",
            ));
        }
    } else {
        let owner = access::require_owner(store, p, caller).await?;
        if user == &owner.user.id {
            return Err(Error::unprocessable(
                "user",
                "is the project's owner and cannot be removed",
            ));
        }
    }
    // Planned from what is read, written in one transaction; a request or approval landing in
    // between cancels the transaction, and the removal is planned again.
    for _ in 0..REMOVAL_TRIES {
        let removal = plan_removal(store, caller, p, user).await?;
        if removal.items() > TRANSACTION_ITEMS_MAX {
            // More than one transaction holds: revoke keys on their own first (each a whole,
            // audited revocation), then plan again with fewer.
            let excess = removal.items() - TRANSACTION_ITEMS_MAX;
            for (key, ask, audit) in removal.revoked.iter().take(excess.div_ceil(2)) {
                match store.revoke_key(key, ask.as_ref(), audit).await {
                    Ok(()) | Err(Error::Conflict(_)) => {}
                    Err(e) => return Err(e),
                }
            }
            continue;
        }
        match store.remove_member(&removal).await {
            Err(Error::Conflict(why)) if why == MEMBER_CHANGED => continue,
            other => return other,
        }
    }
    Err(Error::Conflict(MEMBER_CHANGED.into()))
}

/// Plans of a removal tried before giving up with a 409 (each re-reads what changed).
const REMOVAL_TRIES: usize = 5;

/// What removing `user` from `p` changes: their active keys revoked, their pending requests
/// cancelled, by `caller` (the owner), with the usual audit entries (and so the usual mails and
/// lifecycle events, which follow the table's stream).
async fn plan_removal(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    user: &UserId,
) -> Result<MemberRemoval> {
    if store.get_member(p, user).await?.is_none() {
        return Err(Error::NotFound(format!("member {user} of project {p}")));
    }
    let at = now();
    let mut removal = MemberRemoval {
        project: p.clone(),
        user: user.clone(),
        revoked: Vec::new(),
        cancelled: Vec::new(),
        unchanged: Vec::new(),
        audit: AuditEntry::new(p, caller, "member.removed", "member", user),
    };
    let revoke = |key: ApiKey| {
        let audit = AuditEntry::new(p, caller, "key.revoked", "key", &key.id)
            .request(&key.request_id)
            .key(&key.id);
        let revoked = ApiKey {
            status: KeyStatus::Revoked,
            revoked_at: Some(at.clone()),
            revoked_by: Some(caller.person()),
            ..key
        };
        (revoked, audit)
    };
    for ask in store.user_asks(p, user).await? {
        match (&ask.request.status, &ask.request.key_id) {
            (RequestStatus::Pending, _) => {
                let Some(req) = store.get_request(p, &ask.request.id).await? else {
                    removal.unchanged.push(ask);
                    continue;
                };
                if req.status != RequestStatus::Pending {
                    // Decided since the ask was read: plan again once the ask shows it.
                    removal.unchanged.push(ask);
                    continue;
                }
                let closed = KeyRequest {
                    status: RequestStatus::Cancelled,
                    reason: Some(system_reason("the requester was removed from the project")?),
                    decided_at: Some(at.clone()),
                    decided_by: Some(caller.person()),
                    ..req
                };
                let audit = AuditEntry::new(p, caller, "request.cancelled", "request", &closed.id)
                    .request(&closed.id);
                removal
                    .cancelled
                    .push((closed.clone(), Ask::of(&closed), audit));
            }
            (_, Some(k)) if ask.key_status.as_deref() == Some("active") => {
                match store.get_key(k).await? {
                    Some(key) if key.status_at(&at) == KeyStatus::Active => {
                        let (revoked, audit) = revoke(key);
                        let ask = Ask {
                            key_status: Some("revoked".into()),
                            ..ask
                        };
                        removal.revoked.push((revoked, Some(ask), audit));
                    }
                    _ => removal.unchanged.push(ask),
                }
            }
            _ => removal.unchanged.push(ask),
        }
    }
    // Keys no ask points at any more: the old key of a roll, still in its grace.
    let mut page = PageRequest {
        size: crate::model::page::MAX_PAGE_SIZE,
        cursor: None,
    };
    loop {
        let got = store.list_holder_keys(user, &page).await?;
        for key in got.items {
            let planned = removal.revoked.iter().any(|(k, _, _)| k.id == key.id);
            if &key.project_id == p && !planned && key.status_at(&at) == KeyStatus::Active {
                let (revoked, audit) = revoke(key);
                removal.revoked.push((revoked, None, audit));
            }
        }
        match got.next {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    Ok(removal)
}

pub async fn list_members(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    page: &PageRequest,
) -> Result<Page<Member>> {
    access::require_member(store, p, caller).await?;
    store.list_members(p, page).await
}

/// The caller's memberships, owner or member, across projects.
pub async fn my_projects(
    store: &Store,
    caller: &Caller,
    page: &PageRequest,
) -> Result<Page<Member>> {
    store.list_user_projects(&caller.id, page).await
}

pub async fn put_role(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    name: RoleName,
    input: RoleInput,
) -> Result<Role> {
    access::require_owner(store, p, caller).await?;
    let (description, permissions) = input.check()?;
    let role = Role {
        project_id: p.clone(),
        name,
        description,
        permissions,
        updated_at: now(),
    };
    let audit = AuditEntry::new(p, caller, "role.put", "role", &role.name);
    store.put_role(&role, &audit).await?;
    Ok(role)
}

pub async fn list_roles(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    page: &PageRequest,
) -> Result<Page<Role>> {
    access::require_member(store, p, caller).await?;
    store.list_roles(p, page).await
}

pub async fn put_node(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    id: NodeId,
    input: NodeInput,
) -> Result<Node> {
    access::require_owner(store, p, caller).await?;
    let name = NodeName::parse("name", &input.name).map_err(|e| Error::Invalid(vec![e]))?;
    let node = Node {
        project_id: p.clone(),
        id,
        name,
        updated_at: now(),
    };
    let audit = AuditEntry::new(p, caller, "node.put", "node", &node.id);
    store.put_node(&node, &audit).await?;
    Ok(node)
}

pub async fn list_nodes(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    page: &PageRequest,
) -> Result<Page<Node>> {
    access::require_member(store, p, caller).await?;
    store.list_nodes(p, page).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(permissions: &[&str]) -> RoleInput {
        RoleInput {
            description: None,
            permissions: permissions.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn permissions_are_star_or_resource_action() {
        for ok in ["*", "packages:read", "data_layers:read", "files2:read_all"] {
            assert!(check_permission("p", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "packages",
            "packages:",
            ":read",
            "Packages:read",
            "a:b:c",
            "pack ages:read",
            "*:read",
        ] {
            assert!(check_permission("p", bad).is_err(), "{bad:?}");
        }
        let long = format!("{}:read", "a".repeat(PERMISSION_PART_MAX + 1));
        assert!(check_permission("p", &long).is_err());
    }

    #[test]
    fn role_input_sorts_dedupes_and_names_bad_entries() {
        let (_, perms) = role(&["packages:write", "files:read", "packages:write"])
            .check()
            .expect("valid");
        assert_eq!(perms, vec!["files:read", "packages:write"]);
        match role(&["files:read", "nope"]).check() {
            Err(Error::Invalid(e)) => assert_eq!(e[0].field, "permissions[1]"),
            other => panic!("expected invalid, got {other:?}"),
        }
        assert!(role(&[]).check().is_err());
        let many: Vec<String> = (0..=PERMISSIONS_MAX)
            .map(|i| format!("r{i}:read"))
            .collect();
        assert!(
            RoleInput {
                description: None,
                permissions: many
            }
            .check()
            .is_err()
        );
        let long = RoleInput {
            description: Some("d".repeat(ROLE_DESCRIPTION_MAX + 1)),
            permissions: vec!["*".into()],
        };
        match long.check() {
            Err(Error::Invalid(e)) => assert_eq!(e[0].field, "description"),
            other => panic!("expected invalid, got {other:?}"),
        }
    }
}
