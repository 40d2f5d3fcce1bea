//! Key requests and the per-(user, template) ask records. Every state change writes the request
//! and its ask in one transaction, each conditional on the state it was read in.

use aws_sdk_dynamodb::types::{ConditionCheck, Put, TransactWriteItem};

use super::grants::{Operation, Touch as T, op};
use super::keys::partitions::{PROJECTS, USER_RATES};
use super::limits::Window;
use super::{Attrs, Scope, Store, key_attrs, keys, s, to_attrs};
use crate::error::{Error, Result};
use crate::model::audit::AuditEntry;
use crate::model::ids::{ProjectId, RequestId, TemplateId, UserId};
use crate::model::page::{Page, PageRequest};
use crate::model::request::{Ask, KeyRequest, RequestStatus};
use crate::model::time::now;

/// What each method touches (`store::grants`): requests and asks live in the project's
/// partition (a user's requests are listed through gsi1); a new request also takes a slot of its
/// requester's hourly window (`RATE#USER#u#requests`, the window's attributes only).
pub(super) const OPERATIONS: &[Operation] = &[
    op(
        "create_request",
        &[
            T::put(PROJECTS),
            T::check(PROJECTS),
            T::update(USER_RATES).only(super::limits::RATE_ATTRIBUTES),
        ],
    ),
    op("get_request", &[T::get(PROJECTS)]),
    op("close_request", &[T::put(PROJECTS)]),
    op("list_project_requests", &[T::query(PROJECTS)]),
    op("pending_requests", &[T::query(PROJECTS)]),
    op("pending_requests_of", &[T::query(PROJECTS)]),
    op("list_user_requests", &[T::index(super::GSI1)]),
    op("user_asks", &[T::query(PROJECTS)]),
    op("get_ask", &[T::get(PROJECTS)]),
];

/// An item write inside a transaction, with its condition.
pub(super) struct Write {
    pub(super) item: Attrs,
    pub(super) condition: Option<&'static str>,
    pub(super) names: Vec<(&'static str, &'static str)>,
    pub(super) values: Vec<(&'static str, String)>,
}

impl Write {
    pub(super) fn put(item: Attrs) -> Self {
        Write {
            item,
            condition: None,
            names: Vec::new(),
            values: Vec::new(),
        }
    }

    pub(super) fn when(mut self, condition: &'static str) -> Self {
        self.condition = Some(condition);
        self
    }

    pub(super) fn name(mut self, placeholder: &'static str, attr: &'static str) -> Self {
        self.names.push((placeholder, attr));
        self
    }

    pub(super) fn value(mut self, placeholder: &'static str, v: impl Into<String>) -> Self {
        self.values.push((placeholder, v.into()));
        self
    }

    pub(super) fn build(self, table: &str) -> Result<TransactWriteItem> {
        let mut put = Put::builder()
            .table_name(table)
            .set_item(Some(self.item))
            .set_condition_expression(self.condition.map(str::to_string));
        for (p, a) in self.names {
            put = put.expression_attribute_names(p, a);
        }
        for (p, v) in self.values {
            put = put.expression_attribute_values(p, s(v));
        }
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(Error::internal)?)
            .build())
    }
}

pub(super) fn request_attrs(r: &KeyRequest) -> Result<Attrs> {
    to_attrs(
        keys::request(&r.project_id, &r.id),
        &[keys::request_index(&r.requester.id, &r.id)],
        "request",
        r,
    )
}

pub(super) fn ask_attrs(a: &Ask) -> Result<Attrs> {
    to_attrs(
        keys::ask(&a.project_id, &a.user_id, &a.template_id),
        &[],
        "ask",
        a,
    )
}

/// The ask still belongs to request `:rid` (no newer request replaced it).
pub(super) fn ask_of_request(ask: &Ask, request: &RequestId) -> Result<Write> {
    Ok(Write::put(ask_attrs(ask)?)
        .when("#rq.#id = :rid")
        .name("#rq", "request")
        .name("#id", "id")
        .value(":rid", request.as_str()))
}

impl Store {
    /// Stores a new pending request. Refused (409) while the user's latest request for the
    /// template is pending, or approved with a key that is still active and unexpired.
    /// The request also takes one call of the requester's `limit` window, in the same
    /// transaction: a request refused for any reason does not count against the user.
    pub async fn create_request(
        &self,
        r: &KeyRequest,
        ask: &Ask,
        limit: &Window,
        audit: &AuditEntry,
        retry_after: u64,
    ) -> Result<()> {
        let request = Write::put(request_attrs(r)?)
            // Ids are generated; this only refuses an id collision.
            .when("attribute_not_exists(pk)");
        let ask = Write::put(ask_attrs(ask)?)
            // The one-open-request rule: a new ask may replace the old one only when that one is
            // closed, or its key is revoked or expired.
            .when(
                "attribute_not_exists(pk) OR #rq.#st IN (:rejected, :cancelled) OR key_status = :revoked OR key_expires_at < :now",
            )
            .name("#rq", "request")
            .name("#st", "status")
            .value(":rejected", RequestStatus::Rejected.as_str())
            .value(":cancelled", RequestStatus::Cancelled.as_str())
            .value(":revoked", "revoked")
            .value(":now", now());
        let template = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_attrs(&keys::template(
                &r.project_id,
                &r.template_id,
            ))))
            // The template may have been deleted since it was read.
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(Error::internal)?;
        let items = vec![
            request.build(&self.table)?,
            ask.build(&self.table)?,
            TransactWriteItem::builder()
                .condition_check(template)
                .build(),
            self.slot_item(limit)?,
            // A request from someone a concurrent removal has just taken out does not land.
            self.member_exists(&r.project_id, &r.requester.id)?,
        ];
        let on_failed = vec![
            Error::internal("request id collision"),
            Error::Conflict(
                "you already have a pending request or an active key for this template".into(),
            ),
            Error::NotFound(format!(
                "template {} in project {}",
                r.template_id, r.project_id
            )),
            Error::RateLimited {
                what: format!(
                    "you made {} key requests this hour, the most one user may make",
                    limit.limit
                ),
                retry_after,
            },
            Error::NotFound(format!("project {}", r.project_id)),
        ];
        self.transact_audited("CreateRequest", items, on_failed, audit)
            .await
    }

    pub async fn get_request(&self, p: &ProjectId, r: &RequestId) -> Result<Option<KeyRequest>> {
        self.get(&keys::request(p, r)).await
    }

    /// Closes a pending request (rejected or cancelled) and records it on its ask.
    pub async fn close_request(
        &self,
        closed: &KeyRequest,
        ask: &Ask,
        audit: &AuditEntry,
    ) -> Result<()> {
        let request = Write::put(request_attrs(closed)?)
            // Exactly one decision per request: approve, reject and cancel race on this.
            .when("#st = :pending")
            .name("#st", "status")
            .value(":pending", RequestStatus::Pending.as_str());
        let items = vec![
            request.build(&self.table)?,
            ask_of_request(ask, &closed.id)?.build(&self.table)?,
        ];
        let on_failed = vec![
            Error::Conflict(format!("request {} is no longer pending", closed.id)),
            Error::Conflict("a newer request replaced this one".into()),
        ];
        self.transact_audited("CloseRequest", items, on_failed, audit)
            .await
    }

    /// A project's requests, optionally only those in one status, oldest first.
    pub async fn list_project_requests(
        &self,
        p: &ProjectId,
        status: Option<RequestStatus>,
        page: &PageRequest,
    ) -> Result<Page<KeyRequest>> {
        let scope = Scope {
            index: None,
            partition: keys::project_partition(p),
            prefix: keys::REQUEST,
        };
        self.query_filtered(scope, page, status.map(|s| ("status", s.as_str())))
            .await
    }

    /// A project's pending requests, oldest first (request ids sort by time).
    pub async fn pending_requests(&self, p: &ProjectId) -> Result<Vec<KeyRequest>> {
        let scope = Scope {
            index: None,
            partition: keys::project_partition(p),
            prefix: keys::REQUEST,
        };
        // Only pending requests leave the table.
        self.query_all(scope, Some(("status", RequestStatus::Pending.as_str())))
            .await
    }

    /// A template's pending requests (to close them when the template goes).
    pub async fn pending_requests_of(
        &self,
        p: &ProjectId,
        t: &TemplateId,
    ) -> Result<Vec<KeyRequest>> {
        let pending = self.pending_requests(p).await?;
        Ok(pending
            .into_iter()
            .filter(|r| &r.template_id == t)
            .collect())
    }

    /// A user's requests across projects, oldest first.
    pub async fn list_user_requests(
        &self,
        u: &UserId,
        page: &PageRequest,
    ) -> Result<Page<KeyRequest>> {
        let scope = Scope {
            index: Some(super::GSI1),
            partition: keys::user_partition(u),
            prefix: keys::REQUEST,
        };
        self.query_page(scope, page).await
    }

    /// A user's asks in a project (one per template they ever asked for).
    pub async fn user_asks(&self, p: &ProjectId, u: &UserId) -> Result<Vec<Ask>> {
        let prefix = keys::ask_prefix(u);
        self.query_all(
            Scope {
                index: None,
                partition: keys::project_partition(p),
                prefix: &prefix,
            },
            None,
        )
        .await
    }

    pub async fn get_ask(&self, p: &ProjectId, u: &UserId, t: &TemplateId) -> Result<Option<Ask>> {
        self.get(&keys::ask(p, u, t)).await
    }
}
