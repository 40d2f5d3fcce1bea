//! Items of a project's partition other than templates: the project itself, members, roles, nodes.

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem, Update};

use super::grants::{Operation, Touch as T, op};
use super::keys::partitions::PROJECTS;
use super::requests::Write;
use super::{Scope, Store, keys, s, to_attrs};
use crate::error::{Error, Result};
use crate::model::audit::AuditEntry;
use crate::model::ids::{ProjectId, UserId};
use crate::model::page::{Page, PageRequest};
use crate::model::project::{Digest, Member, Node, Project, Role};

/// What each method touches (`store::grants`): all in the project's partition, but the lists
/// by user (gsi1) and of the projects with the digest on (gsi3). Every change carries its
/// audit entry (a put in the same partition).
pub(super) const OPERATIONS: &[Operation] = &[
    op("create_project", &[T::put(PROJECTS)]),
    op(
        "update_project_settings",
        &[T::update(PROJECTS), T::put(PROJECTS)],
    ),
    op("list_digest_projects", &[T::index(super::GSI3)]),
    op("get_project", &[T::get(PROJECTS)]),
    op("get_member", &[T::get(PROJECTS)]),
    op("put_member", &[T::put(PROJECTS)]),
    op("delete_member", &[T::delete(PROJECTS), T::put(PROJECTS)]),
    op("list_members", &[T::query(PROJECTS)]),
    op("list_user_projects", &[T::index(super::GSI1)]),
    op("put_role", &[T::put(PROJECTS)]),
    op("get_role", &[T::get(PROJECTS)]),
    op("list_roles", &[T::query(PROJECTS)]),
    op("put_node", &[T::put(PROJECTS)]),
    op("list_nodes", &[T::query(PROJECTS)]),
];

impl Store {
    /// Writes the project and its owner's membership in one transaction.
    pub async fn create_project(
        &self,
        project: &Project,
        owner: &Member,
        audit: &AuditEntry,
    ) -> Result<()> {
        let project_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_attrs(
                keys::project(&project.id),
                &[],
                "project",
                project,
            )?))
            // Prevents two creators claiming the same project id.
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        let member_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(self.member_attrs(owner)?))
            .build()
            .map_err(Error::internal)?;
        let items = vec![
            TransactWriteItem::builder().put(project_put).build(),
            TransactWriteItem::builder().put(member_put).build(),
        ];
        let on_failed = vec![
            Error::Conflict(format!("project id {} is taken", project.id)),
            Error::internal("owner membership put has no condition"),
        ];
        self.transact_audited("CreateProject", items, on_failed, audit)
            .await
    }

    /// Stores the project's mail settings (`updated`'s digest and notify); with the digest on,
    /// the project is also listed in gsi3 for the daily digest job (and taken out of it when off).
    pub async fn update_project_settings(
        &self,
        updated: &Project,
        audit: &AuditEntry,
    ) -> Result<()> {
        let p = &updated.id;
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(super::key_attrs(&keys::project(p))))
            // The project may have been deleted meanwhile: never create a half item.
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":digest", s(updated.digest.as_str()))
            .expression_attribute_values(":notify", s(updated.notify.as_str()));
        update = match updated.digest {
            Digest::Daily => {
                let index = keys::digest_index(p);
                update
                    .update_expression(
                        "SET digest = :digest, notify = :notify, gsi3pk = :g3pk, gsi3sk = :g3sk",
                    )
                    .expression_attribute_values(":g3pk", s(index.pk))
                    .expression_attribute_values(":g3sk", s(index.sk))
            }
            Digest::Off => update
                .update_expression("SET digest = :digest, notify = :notify REMOVE gsi3pk, gsi3sk"),
        };
        let items = vec![
            TransactWriteItem::builder()
                .update(update.build().map_err(Error::internal)?)
                .build(),
        ];
        let on_failed = vec![Error::NotFound(format!("project {p}"))];
        self.transact_audited("UpdateSettings", items, on_failed, audit)
            .await
    }

    /// The projects with the daily digest on, a page at a time (gsi3).
    pub async fn list_digest_projects(&self, page: &PageRequest) -> Result<Page<Project>> {
        let scope = Scope {
            index: Some(super::GSI3),
            partition: keys::digest_partition(),
            prefix: keys::PROJECT,
        };
        self.query_page(scope, page).await
    }

    pub async fn get_project(&self, p: &ProjectId) -> Result<Option<Project>> {
        self.get(&keys::project(p)).await
    }

    pub async fn get_member(&self, p: &ProjectId, u: &UserId) -> Result<Option<Member>> {
        self.get(&keys::member(p, u)).await
    }

    fn member_attrs(&self, m: &Member) -> Result<super::Attrs> {
        to_attrs(
            keys::member(&m.project_id, &m.user.id),
            &[keys::member_index(&m.project_id, &m.user.id)],
            "member",
            m,
        )
    }

    /// Adds or updates a plain member.
    pub async fn put_member(&self, m: &Member, audit: &AuditEntry) -> Result<()> {
        let put = Write::put(self.member_attrs(m)?)
            // Prevents an owner's membership from being overwritten as a plain member.
            .when("attribute_not_exists(pk) OR membership <> :owner")
            .value(":owner", "owner");
        let on_failed = vec![Error::unprocessable(
            "user",
            "is the project's owner, who is always a member",
        )];
        self.transact_audited("PutMember", vec![put.build(&self.table)?], on_failed, audit)
            .await
    }

    /// A transaction item that holds only while `u` is a member of `p`: approvals and requests
    /// carry it, so none lands for someone a concurrent removal has taken out.
    pub(super) fn member_exists(&self, p: &ProjectId, u: &UserId) -> Result<TransactWriteItem> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(super::key_attrs(&keys::member(p, u))))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// The delete of a plain member's item, as a transaction item.
    pub(super) fn member_delete(&self, p: &ProjectId, u: &UserId) -> Result<TransactWriteItem> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(super::key_attrs(&keys::member(p, u))))
            // Tells "no such member" from success, and never deletes the owner's membership
            // (the caller has checked that `u` is not the owner).
            .condition_expression("attribute_exists(pk) AND membership <> :owner")
            .expression_attribute_values(":owner", s("owner"))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Removes a plain member; `NotFound` when there is none. (A member holding keys or
    /// requests is removed with them: `Store::remove_member`.)
    pub async fn delete_member(&self, p: &ProjectId, u: &UserId, audit: &AuditEntry) -> Result<()> {
        let items = vec![self.member_delete(p, u)?];
        let on_failed = vec![Error::NotFound(format!("member {u} of project {p}"))];
        self.transact_audited("DeleteMember", items, on_failed, audit)
            .await
    }

    pub async fn list_members(&self, p: &ProjectId, page: &PageRequest) -> Result<Page<Member>> {
        let scope = Scope {
            index: None,
            partition: keys::project_partition(p),
            prefix: keys::MEMBER,
        };
        self.query_page(scope, page).await
    }

    /// A user's memberships through gsi1, in project-id order.
    pub async fn list_user_projects(&self, u: &UserId, page: &PageRequest) -> Result<Page<Member>> {
        let scope = Scope {
            index: Some(super::GSI1),
            partition: keys::user_partition(u),
            prefix: keys::PROJECT,
        };
        self.query_page(scope, page).await
    }

    /// Creates or replaces a role (last write wins: a role is one document).
    pub async fn put_role(&self, r: &Role, audit: &AuditEntry) -> Result<()> {
        self.put_plain(
            to_attrs(keys::role(&r.project_id, &r.name), &[], "role", r)?,
            audit,
        )
        .await
    }

    pub async fn get_role(
        &self,
        p: &ProjectId,
        r: &crate::model::ids::RoleName,
    ) -> Result<Option<Role>> {
        self.get(&keys::role(p, r)).await
    }

    pub async fn list_roles(&self, p: &ProjectId, page: &PageRequest) -> Result<Page<Role>> {
        let scope = Scope {
            index: None,
            partition: keys::project_partition(p),
            prefix: keys::ROLE,
        };
        self.query_page(scope, page).await
    }

    pub async fn put_node(&self, n: &Node, audit: &AuditEntry) -> Result<()> {
        self.put_plain(
            to_attrs(keys::node(&n.project_id, &n.id), &[], "node", n)?,
            audit,
        )
        .await
    }

    pub async fn list_nodes(&self, p: &ProjectId, page: &PageRequest) -> Result<Page<Node>> {
        let scope = Scope {
            index: None,
            partition: keys::project_partition(p),
            prefix: keys::NODE,
        };
        self.query_page(scope, page).await
    }

    /// An unconditional put (last write wins) with its audit entry.
    async fn put_plain(&self, item: super::Attrs, audit: &AuditEntry) -> Result<()> {
        let items = vec![Write::put(item).build(&self.table)?];
        let on_failed = vec![Error::internal("an unconditional put failed its condition")];
        self.transact_audited("Put", items, on_failed, audit).await
    }
}
