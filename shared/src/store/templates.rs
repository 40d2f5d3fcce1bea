//! Templates and their name guards (`TEMPLATENAME#folded`): every change that touches a name moves
//! the guard in the same transaction, so two templates of a project never share a name.

use aws_sdk_dynamodb::types::{ConditionCheck, Delete, Put, TransactWriteItem};
use serde::Serialize;

use super::grants::{Operation, Touch as T, op};
use super::keys::partitions::PROJECTS;
use super::requests::{Write, ask_of_request, request_attrs};
use super::{Scope, Store, key_attrs, keys, s, to_attrs};
use crate::model::audit::AuditEntry;
use crate::model::ids::{ProjectId, TemplateId};
use crate::model::request::{Ask, KeyRequest, RequestStatus};
use crate::model::template::Template;

/// What each method touches (`store::grants`): templates, their name guards and the requests a
/// deletion cancels all live in the project's partition; the role is checked there too.
pub(super) const OPERATIONS: &[Operation] = &[
    op("create_template", &[T::put(PROJECTS), T::check(PROJECTS)]),
    op("get_template", &[T::get(PROJECTS)]),
    op("list_templates", &[T::query(PROJECTS)]),
    op(
        "replace_template",
        &[T::put(PROJECTS), T::delete(PROJECTS), T::check(PROJECTS)],
    ),
    op("delete_template", &[T::delete(PROJECTS), T::put(PROJECTS)]),
];

/// Pending requests a template deletion closes in its one transaction (3 + 2 per request <= 100).
pub const MAX_REQUESTS_CLOSED_WITH_TEMPLATE: usize = 48;
use crate::error::{Error, Result};
use crate::model::page::{Page, PageRequest};

/// The guard item's attributes (written only; the template id is what a delete checks).
#[derive(Serialize)]
struct NameGuard<'a> {
    project_id: &'a ProjectId,
    template_id: &'a TemplateId,
    name: &'a str,
}

fn taken(t: &Template) -> Error {
    Error::Conflict(format!(
        "a template named {:?} already exists in project {} (names are compared ignoring case)",
        t.name, t.project_id
    ))
}

fn no_role(t: &Template) -> Error {
    Error::unprocessable(
        "role",
        format!("project {} has no role {:?}", t.project_id, t.role.as_str()),
    )
}

impl Store {
    fn guard_put(&self, t: &Template) -> Result<TransactWriteItem> {
        let guard = NameGuard {
            project_id: &t.project_id,
            template_id: &t.id,
            name: &t.name,
        };
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_attrs(
                keys::template_name(&t.project_id, &t.folded_name()),
                &[],
                "template_name",
                &guard,
            )?))
            // Prevents two templates of a project from taking the same (case-folded) name.
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn guard_delete(&self, t: &Template) -> Result<TransactWriteItem> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_attrs(&keys::template_name(
                &t.project_id,
                &t.folded_name(),
            ))))
            // Only the template's own guard is released, never one another template holds.
            .condition_expression("template_id = :t")
            .expression_attribute_values(":t", s(t.id.as_str()))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    fn role_exists(&self, t: &Template) -> Result<TransactWriteItem> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_attrs(&keys::role(&t.project_id, &t.role))))
            // A template may only name a role that exists when it is written.
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    /// Stores a new template with its name guard, if its role exists.
    pub async fn create_template(&self, t: &Template, audit: &AuditEntry) -> Result<()> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_attrs(
                keys::template(&t.project_id, &t.id),
                &[],
                "template",
                t,
            )?))
            // Ids are generated; this only guards against overwriting on an id collision.
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        let items = vec![
            TransactWriteItem::builder().put(put).build(),
            self.guard_put(t)?,
            self.role_exists(t)?,
        ];
        let on_failed = vec![
            Error::internal("template id collision"),
            taken(t),
            no_role(t),
        ];
        self.transact_audited("CreateTemplate", items, on_failed, audit)
            .await
    }

    pub async fn get_template(&self, p: &ProjectId, t: &TemplateId) -> Result<Option<Template>> {
        self.get(&keys::template(p, t)).await
    }

    pub async fn list_templates(
        &self,
        p: &ProjectId,
        page: &PageRequest,
    ) -> Result<Page<Template>> {
        let scope = Scope {
            index: None,
            partition: keys::project_partition(p),
            prefix: keys::TEMPLATE,
        };
        self.query_page(scope, page).await
    }

    /// Replaces `old` by `new` if `old` is still what is stored; moves the name guard when the
    /// folded name changes and checks the role when it changes.
    pub async fn replace_template(
        &self,
        old: &Template,
        new: &Template,
        audit: &AuditEntry,
    ) -> Result<()> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_attrs(
                keys::template(&new.project_id, &new.id),
                &[],
                "template",
                new,
            )?))
            // Optimistic concurrency: a change made since `old` was read wins; this one is refused.
            .condition_expression("version = :v")
            .expression_attribute_values(
                ":v",
                aws_sdk_dynamodb::types::AttributeValue::N(old.version.to_string()),
            )
            .build()
            .map_err(Error::internal)?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        let mut on_failed = vec![Error::VersionMismatch { current: None }];
        if old.folded_name() != new.folded_name() {
            items.push(self.guard_delete(old)?);
            on_failed.push(Error::Conflict(
                "the template's name guard changed concurrently; retry".into(),
            ));
            items.push(self.guard_put(new)?);
            on_failed.push(taken(new));
        }
        if old.role != new.role {
            items.push(self.role_exists(new)?);
            on_failed.push(no_role(new));
        }
        self.transact_audited("UpdateTemplate", items, on_failed, audit)
            .await
    }

    /// Deletes a template and frees its name.
    pub async fn delete_template(
        &self,
        t: &Template,
        closing: &[(KeyRequest, Ask)],
        audit: &AuditEntry,
    ) -> Result<()> {
        // One transaction holds at most 100 items: the template, its guard, two per request.
        if closing.len() > MAX_REQUESTS_CLOSED_WITH_TEMPLATE {
            return Err(Error::Conflict(format!(
                "the template has {} pending requests; reject some first (at most {MAX_REQUESTS_CLOSED_WITH_TEMPLATE} close with it)",
                closing.len()
            )));
        }
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_attrs(&keys::template(&t.project_id, &t.id))))
            // A concurrent delete makes this one a 404 rather than a silent success.
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        let mut items = vec![
            TransactWriteItem::builder().delete(delete).build(),
            self.guard_delete(t)?,
        ];
        let mut on_failed = vec![
            Error::NotFound(format!("template {} in project {}", t.id, t.project_id)),
            Error::Conflict("the template's name guard changed concurrently; retry".into()),
        ];
        for (closed, ask) in closing {
            let request = Write::put(request_attrs(closed)?)
                // A request decided meanwhile (e.g. approved) makes the delete retry.
                .when("#st = :pending")
                .name("#st", "status")
                .value(":pending", RequestStatus::Pending.as_str());
            items.push(request.build(&self.table)?);
            on_failed.push(Error::Conflict(format!(
                "request {} was decided meanwhile; retry",
                closed.id
            )));
            items.push(ask_of_request(ask, &closed.id)?.build(&self.table)?);
            on_failed.push(Error::Conflict("a request changed meanwhile; retry".into()));
        }
        self.transact_audited("DeleteTemplate", items, on_failed, audit)
            .await
    }
}
