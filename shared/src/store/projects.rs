//! Items of a project's partition other than templates: the project itself, members, roles, nodes.

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::ReturnValue;
use aws_sdk_dynamodb::types::{Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem};

use super::{Scope, Store, keys, s, sdk_error, to_attrs};
use crate::domain::ids::{ProjectId, UserId};
use crate::domain::project::{Digest, Member, Node, Notify, Project, Role};
use crate::error::{Error, Result};
use crate::http::{Page, PageRequest};

impl Store {
    /// Writes the project and its owner's membership in one transaction.
    pub async fn create_project(&self, project: &Project, owner: &Member) -> Result<()> {
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
        self.transact("CreateProject", items, on_failed).await
    }

    /// Sets the project's mail settings; with the digest on, the project is also listed in gsi3
    /// for the daily digest job (and taken out of it when off).
    pub async fn update_project_settings(
        &self,
        p: &ProjectId,
        digest: Digest,
        notify: Notify,
    ) -> Result<Project> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(super::key_attrs(&keys::project(p))))
            // The project may have been deleted meanwhile: never create a half item.
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":digest", s(digest.as_str()))
            .expression_attribute_values(":notify", s(notify.as_str()))
            .return_values(ReturnValue::AllNew);
        update = match digest {
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
        match update.send().await {
            Ok(out) => super::from_attrs(out.attributes.unwrap_or_default()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(UpdateItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Err(Error::NotFound(format!("project {p}")))
            }
            Err(e) => Err(sdk_error("UpdateItem", e)),
        }
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
    pub async fn put_member(&self, m: &Member) -> Result<()> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self.member_attrs(m)?))
            // Prevents an owner's membership from being overwritten as a plain member.
            .condition_expression("attribute_not_exists(pk) OR membership <> :owner")
            .expression_attribute_values(":owner", s("owner"))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    e.as_service_error(),
                    Some(PutItemError::ConditionalCheckFailedException(_))
                ) =>
            {
                Err(Error::unprocessable(
                    "user",
                    "is the project's owner, who is always a member",
                ))
            }
            Err(e) => Err(sdk_error("PutItem", e)),
        }
    }

    /// Removes a plain member; `NotFound` when there is none.
    pub async fn delete_member(&self, p: &ProjectId, u: &UserId) -> Result<()> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(super::key_attrs(&keys::member(p, u))))
            // Tells "no such member" from success, and never deletes the owner's membership.
            .condition_expression("attribute_exists(pk) AND membership <> :owner")
            .expression_attribute_values(":owner", s("owner"))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => match e.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(c)) if c.item().is_some() => {
                    Err(Error::unprocessable(
                        "user",
                        "is the project's owner and cannot be removed",
                    ))
                }
                Some(DeleteItemError::ConditionalCheckFailedException(_)) => {
                    Err(Error::NotFound(format!("member {u} of project {p}")))
                }
                _ => Err(sdk_error("DeleteItem", e)),
            },
        }
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
    pub async fn put_role(&self, r: &Role) -> Result<()> {
        self.put_plain(to_attrs(
            keys::role(&r.project_id, &r.name),
            &[],
            "role",
            r,
        )?)
        .await
    }

    pub async fn get_role(
        &self,
        p: &ProjectId,
        r: &crate::domain::ids::RoleName,
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

    pub async fn put_node(&self, n: &Node) -> Result<()> {
        self.put_plain(to_attrs(keys::node(&n.project_id, &n.id), &[], "node", n)?)
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

    async fn put_plain(&self, item: super::Attrs) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| sdk_error("PutItem", e))?;
        Ok(())
    }
}
