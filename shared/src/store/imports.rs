//! Import records (`PROJECT#c` / `IMPORT#prefix`, by key in gsi1) and their secrets
//! (`PROJECT#c` / `SECRET#name`). Each step of an import is one transaction conditional on the
//! attempt that holds the record, so two attempts never both believe they own it.

use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, TransactWriteItem, Update,
};

use super::grants::{Operation, Touch as T, op};
use super::keys::partitions::{KEYS, PROJECTS};
use super::{Attrs, Scope, Store, key_attrs, keys, s, to_attrs};
use crate::error::{Error, Result};
use crate::model::audit::AuditEntry;
use crate::model::ids::{KeyId, NodeId, ProjectId, SecretName};
use crate::model::import::{Import, ImportedSecret};
use crate::model::page::{Page, PageRequest};
use crate::model::project::Node;

/// What each method touches (`store::grants`): records and secrets live in the client
/// project's partition; a key's imports are found through gsi1; an import's writes check that
/// its key (`KEY#k`) is still active.
pub(super) const OPERATIONS: &[Operation] = &[
    op("get_import", &[T::get(PROJECTS)]),
    op("get_secrets", &[T::batch_get(PROJECTS)]),
    op("existing_nodes", &[T::batch_get(PROJECTS)]),
    op("list_secrets", &[T::query(PROJECTS)]),
    op("imports_of_key", &[T::index(super::GSI1)]),
    op(
        "begin_import",
        &[T::put(PROJECTS), T::update(PROJECTS), T::check(KEYS)],
    ),
    op(
        "finish_import",
        &[T::put(PROJECTS), T::update(PROJECTS), T::check(KEYS)],
    ),
    op("abort_import", &[T::put(PROJECTS), T::delete(PROJECTS)]),
    op("put_import", &[T::put(PROJECTS)]),
    op("delete_import", &[T::delete(PROJECTS), T::put(PROJECTS)]),
    op("set_secret_nodes", &[T::update(PROJECTS), T::put(PROJECTS)]),
    op(
        "revoke_import",
        &[T::put(PROJECTS), T::delete(PROJECTS), T::update(PROJECTS)],
    ),
    op("move_import", &[T::put(PROJECTS), T::update(PROJECTS)]),
];

fn import_attrs(i: &Import) -> Result<Attrs> {
    to_attrs(
        keys::import(&i.project_id, &i.prefix),
        &[keys::import_key_index(&i.key_id, &i.project_id, &i.prefix)],
        "import",
        i,
    )
}

fn secret_attrs(x: &ImportedSecret) -> Result<Attrs> {
    to_attrs(keys::secret(&x.project_id, &x.name), &[], "secret", x)
}

/// A condition with its placeholders.
#[derive(Default)]
struct Cond {
    expr: String,
    names: Vec<(String, String)>,
    values: Vec<(String, AttributeValue)>,
}

impl Cond {
    fn new(expr: &str) -> Self {
        Cond {
            expr: expr.to_string(),
            ..Cond::default()
        }
    }

    fn name(mut self, p: &str, attr: &str) -> Self {
        self.names.push((p.into(), attr.into()));
        self
    }

    fn value(mut self, p: &str, v: impl Into<String>) -> Self {
        self.values.push((p.into(), s(v)));
        self
    }

    /// The record is still held by attempt `attempt`.
    fn attempt(attempt: &str) -> Self {
        Cond::new("#attempt = :attempt")
            .name("#attempt", "attempt")
            .value(":attempt", attempt)
    }

    fn names(&self) -> Option<std::collections::HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.iter().cloned().collect())
    }

    fn values(&self) -> Option<Attrs> {
        (!self.values.is_empty()).then(|| self.values.iter().cloned().collect())
    }
}

impl Store {
    fn put_item(&self, item: Attrs, cond: Option<Cond>) -> Result<TransactWriteItem> {
        let cond = cond.unwrap_or_default();
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression((!cond.expr.is_empty()).then(|| cond.expr.clone()))
            .set_expression_attribute_names(cond.names())
            .set_expression_attribute_values(cond.values())
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn delete_item(&self, key: &keys::Key, cond: Option<Cond>) -> Result<TransactWriteItem> {
        let cond = cond.unwrap_or_default();
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .set_condition_expression((!cond.expr.is_empty()).then(|| cond.expr.clone()))
            .set_expression_attribute_names(cond.names())
            .set_expression_attribute_values(cond.values())
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// `SET` of the given attributes, plus the condition.
    fn update_item(
        &self,
        key: &keys::Key,
        set: &[(&str, AttributeValue)],
        cond: Cond,
    ) -> Result<TransactWriteItem> {
        self.upsert_item(key, set, &[], cond)
    }

    /// `SET` of `set`, and of `keep` only where the item does not have the attribute yet.
    fn upsert_item(
        &self,
        key: &keys::Key,
        set: &[(&str, AttributeValue)],
        keep: &[(&str, AttributeValue)],
        cond: Cond,
    ) -> Result<TransactWriteItem> {
        let mut names = cond.names().unwrap_or_default();
        let mut values = cond.values().unwrap_or_default();
        let mut parts = Vec::new();
        for (i, (attr, v)) in set.iter().enumerate() {
            names.insert(format!("#u{i}"), attr.to_string());
            values.insert(format!(":u{i}"), v.clone());
            parts.push(format!("#u{i} = :u{i}"));
        }
        for (i, (attr, v)) in keep.iter().enumerate() {
            names.insert(format!("#k{i}"), attr.to_string());
            values.insert(format!(":k{i}"), v.clone());
            parts.push(format!("#k{i} = if_not_exists(#k{i}, :k{i})"));
        }
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key_attrs(key)))
            .update_expression(format!("SET {}", parts.join(", ")))
            .set_condition_expression((!cond.expr.is_empty()).then_some(cond.expr))
            .set_expression_attribute_names(Some(names))
            .set_expression_attribute_values(Some(values))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// The key is still active and not rolled: checked with an import's writes, so an import
    /// never completes for a key revoked or rolled meanwhile.
    fn key_still_active(&self, k: &KeyId) -> Result<TransactWriteItem> {
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key_attrs(&keys::api_key(k))))
            .condition_expression("#st = :active AND attribute_not_exists(replaced_by)")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":active", s("active"))
            .build()
            .map_err(Error::internal)?;
        Ok(TransactWriteItem::builder().condition_check(check).build())
    }

    pub async fn get_import(
        &self,
        c: &ProjectId,
        prefix: &crate::model::ids::Prefix,
    ) -> Result<Option<Import>> {
        self.get(&keys::import(c, prefix)).await
    }

    /// The secret items at these names that exist.
    pub async fn get_secrets(
        &self,
        c: &ProjectId,
        names: &[SecretName],
    ) -> Result<Vec<ImportedSecret>> {
        let keys: Vec<keys::Key> = names.iter().map(|n| keys::secret(c, n)).collect();
        self.batch_get(&keys).await
    }

    /// Which of these nodes exist in project `c`.
    pub async fn existing_nodes(&self, c: &ProjectId, nodes: &[NodeId]) -> Result<Vec<NodeId>> {
        let keys: Vec<keys::Key> = nodes.iter().map(|n| keys::node(c, n)).collect();
        let found: Vec<Node> = self.batch_get(&keys).await?;
        Ok(found.into_iter().map(|n| n.id).collect())
    }

    /// A project's imported secrets that are ready, by name.
    pub async fn list_secrets(
        &self,
        c: &ProjectId,
        page: &PageRequest,
    ) -> Result<Page<ImportedSecret>> {
        let scope = Scope {
            index: None,
            partition: keys::project_partition(c),
            prefix: keys::SECRET,
        };
        self.query_filtered(scope, page, Some(("state", "ready")))
            .await
    }

    /// Every import of a key, in any project.
    pub async fn imports_of_key(&self, k: &KeyId) -> Result<Vec<Import>> {
        let scope = Scope {
            index: Some(super::GSI1),
            partition: keys::key_partition(k),
            prefix: keys::IMPORT,
        };
        self.query_all(scope, None).await
    }

    /// Claims the record for a new attempt and registers its secrets (pending until the import
    /// finishes; a re-import keeps its secrets' grants and their ready state).
    pub async fn begin_import(
        &self,
        record: &Import,
        previous: Option<&Import>,
        secrets: &[ImportedSecret],
    ) -> Result<()> {
        let record_cond = match previous {
            None => Cond::new("attribute_not_exists(pk)"),
            Some(p) => Cond::attempt(&p.attempt),
        };
        let mut items = vec![self.put_item(import_attrs(record)?, Some(record_cond))?];
        let mut on_failed = vec![Error::Conflict(format!(
            "prefix {} in project {} was imported or changed concurrently; retry",
            record.prefix, record.project_id
        ))];
        for x in secrets {
            let attrs = secret_attrs(x)?;
            // A re-import must not reset the grant or the ready state.
            let (keep, set): (Vec<_>, Vec<_>) = attrs
                .iter()
                .filter(|(name, _)| !matches!(name.as_str(), "pk" | "sk"))
                .map(|(name, v)| (name.as_str(), v.clone()))
                .partition(|(name, _)| matches!(*name, "nodes" | "state"));
            items.push(
                self.upsert_item(
                    &keys::secret(&x.project_id, &x.name),
                    &set,
                    &keep,
                    Cond::new("attribute_not_exists(pk) OR #prefix = :prefix")
                        .name("#prefix", "prefix")
                        .value(":prefix", x.prefix.as_str()),
                )?,
            );
            on_failed.push(Error::Conflict(format!(
                "secret name {} is already taken by another import in project {}; choose another prefix",
                x.name, x.project_id
            )));
        }
        items.push(self.key_still_active(&record.key_id)?);
        on_failed.push(Error::Conflict(format!(
            "key {} was revoked or rolled meanwhile",
            record.key_id
        )));
        self.transact("BeginImport", items, on_failed).await
    }

    /// Marks the import and its secrets ready, if `attempt` still holds the record and the key
    /// is still active.
    pub async fn finish_import(
        &self,
        ready: &Import,
        attempt: &str,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut items = vec![self.put_item(import_attrs(ready)?, Some(Cond::attempt(attempt)))?];
        let mut on_failed = vec![Error::Conflict(format!(
            "the import of prefix {} was taken over by another attempt; retry",
            ready.prefix
        ))];
        for name in &ready.secrets {
            items.push(
                self.update_item(
                    &keys::secret(&ready.project_id, name),
                    &[
                        ("state", s("ready")),
                        ("updated_at", s(ready.updated_at.clone())),
                    ],
                    Cond::new("#prefix = :prefix")
                        .name("#prefix", "prefix")
                        .value(":prefix", ready.prefix.as_str()),
                )?,
            );
            on_failed.push(Error::Conflict(format!(
                "secret {name} changed concurrently; retry"
            )));
        }
        items.push(self.key_still_active(&ready.key_id)?);
        on_failed.push(Error::Conflict(format!(
            "key {} was revoked or rolled during the import; nothing of it was kept",
            ready.key_id
        )));
        self.transact_audited("FinishImport", items, on_failed, audit)
            .await
    }

    /// Undoes an attempt's table writes: the record as it was before (or gone), and the secret
    /// items the attempt added.
    pub async fn abort_import(
        &self,
        record: &Import,
        previous: Option<&Import>,
        added: &[SecretName],
    ) -> Result<()> {
        let cond = Some(Cond::attempt(&record.attempt));
        let mut items = vec![match previous {
            Some(p) => self.put_item(import_attrs(p)?, cond)?,
            None => self.delete_item(&keys::import(&record.project_id, &record.prefix), cond)?,
        }];
        let mut on_failed = vec![Error::Conflict(
            "the import was taken over by another attempt".into(),
        )];
        for name in added {
            items.push(self.delete_item(&keys::secret(&record.project_id, name), None)?);
            on_failed.push(Error::internal("unconditional delete failed"));
        }
        self.transact("AbortImport", items, on_failed).await
    }

    /// Writes the record if it is still held by `attempt`.
    pub async fn put_import(&self, record: &Import, attempt: Option<&str>) -> Result<()> {
        let cond = attempt.map(Cond::attempt);
        let items = vec![self.put_item(import_attrs(record)?, cond)?];
        let on_failed = vec![Error::Conflict(format!(
            "prefix {} in project {} changed concurrently; retry",
            record.prefix, record.project_id
        ))];
        self.transact("PutImport", items, on_failed).await
    }

    /// Removes the record (if `record.attempt` still holds it) and every secret item it lists.
    pub async fn delete_import(&self, record: &Import, audit: &AuditEntry) -> Result<()> {
        let mut items = vec![self.delete_item(
            &keys::import(&record.project_id, &record.prefix),
            Some(Cond::attempt(&record.attempt)),
        )?];
        let mut on_failed = vec![Error::Conflict(format!(
            "prefix {} in project {} changed concurrently; retry",
            record.prefix, record.project_id
        ))];
        for name in &record.secrets {
            items.push(self.delete_item(&keys::secret(&record.project_id, name), None)?);
            on_failed.push(Error::internal("unconditional delete failed"));
        }
        self.transact_audited("DeleteImport", items, on_failed, audit)
            .await
    }

    /// Replaces a ready secret's grant.
    pub async fn set_secret_nodes(&self, x: &ImportedSecret, audit: &AuditEntry) -> Result<()> {
        let nodes = serde_dynamo::to_attribute_value(&x.nodes).map_err(Error::internal)?;
        let items = vec![
            self.update_item(
                &keys::secret(&x.project_id, &x.name),
                &[("nodes", nodes), ("updated_at", s(x.updated_at.clone()))],
                Cond::new("#prefix = :prefix AND #state = :ready")
                    .name("#prefix", "prefix")
                    .name("#state", "state")
                    .value(":prefix", x.prefix.as_str())
                    .value(":ready", "ready"),
            )?,
        ];
        let on_failed = vec![Error::Conflict(format!(
            "secret {} was deleted or re-imported meanwhile; retry",
            x.name
        ))];
        self.transact_audited("SetSecretNodes", items, on_failed, audit)
            .await
    }

    /// A revoked (or expired) key's import: the record says so and drops the token secret, whose
    /// item goes; the other secrets are marked with the key's status. Only once: conditional on the record still being active.
    pub async fn revoke_import(
        &self,
        revoked: &Import,
        token: &SecretName,
        audit: &AuditEntry,
    ) -> Result<()> {
        let mut items = vec![
            self.put_item(
                import_attrs(revoked)?,
                Some(
                    Cond::new("#k = :k AND #ks = :active")
                        .name("#k", "key_id")
                        .name("#ks", "key_status")
                        .value(":k", revoked.key_id.as_str())
                        .value(":active", "active"),
                ),
            )?,
        ];
        let mut on_failed = vec![Error::Conflict("import already revoked or moved".into())];
        items.push(self.delete_item(&keys::secret(&revoked.project_id, token), None)?);
        on_failed.push(Error::internal("unconditional delete failed"));
        for name in &revoked.secrets {
            items.push(self.update_item(
                &keys::secret(&revoked.project_id, name),
                &[("key_status", s(revoked.key_status.as_str()))],
                Cond::new("attribute_exists(pk)"),
            )?);
            on_failed.push(Error::Conflict(format!("secret {name} is gone")));
        }
        self.transact_audited("RevokeImport", items, on_failed, audit)
            .await
    }

    /// A rolled key's import now belongs to the new key (record, its gsi1 entry and every
    /// secret), if it still belonged to `old`.
    pub async fn move_import(&self, moved: &Import, old: &KeyId, audit: &AuditEntry) -> Result<()> {
        let mut items = vec![
            self.put_item(
                import_attrs(moved)?,
                Some(
                    Cond::new("#k = :old")
                        .name("#k", "key_id")
                        .value(":old", old.as_str()),
                ),
            )?,
        ];
        let mut on_failed = vec![Error::Conflict("import already moved".into())];
        for name in &moved.secrets {
            items.push(
                self.update_item(
                    &keys::secret(&moved.project_id, name),
                    &[
                        ("key_id", s(moved.key_id.as_str())),
                        (
                            "key_status",
                            serde_dynamo::to_attribute_value(moved.key_status)
                                .map_err(Error::internal)?,
                        ),
                        ("updated_at", s(moved.updated_at.clone())),
                    ],
                    Cond::new("attribute_exists(pk)"),
                )?,
            );
            on_failed.push(Error::Conflict(format!("secret {name} is gone")));
        }
        self.transact_audited("MoveImport", items, on_failed, audit)
            .await
    }
}
