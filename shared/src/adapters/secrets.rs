//! Secrets Manager as imports use it: every imported secret is named
//! `<namespace>/<project>/<name>` and tagged with what it belongs to, and keygate only ever
//! overwrites a secret whose tags say it is this stack's import into this project under this
//! prefix.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::types::Tag;

use crate::config::ImportsConfig;
use crate::error::{Error, Result};
use crate::model::ids::{NodeId, Prefix, ProjectId, SecretName};

/// The stack whose import the secret is (its table's name): two stacks sharing a namespace never
/// take over each other's secrets.
pub const TAG_STACK: &str = "keygate:stack";
pub const TAG_PROJECT: &str = "keygate:project";
pub const TAG_PREFIX: &str = "keygate:prefix";
pub const TAG_KEY: &str = "keygate:key";
/// `token`, or the identifier of the info field the secret holds.
pub const TAG_FIELD: &str = "keygate:field";
/// The nodes granted the secret, space-separated; long lists continue in `keygate:nodes:2`, ….
pub const TAG_NODES: &str = "keygate:nodes";
/// Set to `revoked` on an import's remaining secrets once its key is revoked.
pub const TAG_KEY_STATUS: &str = "keygate:key-status";
/// Longest tag value Secrets Manager accepts.
const TAG_VALUE_MAX: usize = 256;

/// What a write did, which decides what undoing it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// A new secret.
    Created,
    /// A secret this import already had (its record says so) got a new value.
    Updated,
    /// A secret of this project and prefix that the record did not list (a crashed attempt's
    /// leftover, or one scheduled for deletion) was taken over and restored.
    Adopted,
}

impl Written {
    /// Whether the secret exists because of this call (and goes again if the call is undone).
    pub fn is_new(self) -> bool {
        self != Written::Updated
    }
}

/// The tags of one imported secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretTags<'a> {
    pub project: &'a ProjectId,
    pub prefix: &'a Prefix,
    pub key: &'a str,
    pub field: &'a str,
    pub nodes: &'a [NodeId],
}

impl SecretTags<'_> {
    fn to_tags(&self) -> Vec<Tag> {
        let mut tags = vec![
            tag(TAG_PROJECT, self.project.as_str()),
            tag(TAG_PREFIX, self.prefix.as_str()),
            tag(TAG_KEY, self.key),
            tag(TAG_FIELD, self.field),
        ];
        tags.extend(node_tags(self.nodes).into_iter().map(|(k, v)| tag(&k, &v)));
        tags
    }
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build()
}

/// The node tags of a grant: `keygate:nodes` = "a b c", continued in `keygate:nodes:2`, … when
/// the list is longer than one tag value holds. Always at least the first (empty for none).
pub fn node_tags(nodes: &[NodeId]) -> Vec<(String, String)> {
    let mut chunks: Vec<String> = vec![String::new()];
    for n in nodes {
        let current = chunks.last_mut().map(|c| c.len()).unwrap_or(0);
        if current > 0 && current + 1 + n.as_str().len() > TAG_VALUE_MAX {
            chunks.push(String::new());
        }
        if let Some(c) = chunks.last_mut() {
            if !c.is_empty() {
                c.push(' ');
            }
            c.push_str(n.as_str());
        }
    }
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, v)| (node_tag_key(i), v))
        .collect()
}

fn node_tag_key(i: usize) -> String {
    if i == 0 {
        TAG_NODES.to_string()
    } else {
        format!("{TAG_NODES}:{}", i + 1)
    }
}

fn code<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> &str {
    e.code().unwrap_or_default()
}

fn sdk<E, R>(op: &str, err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    crate::error::from_sdk(op, err)
}

/// The imported secrets of every project, in one namespace of Secrets Manager.
#[derive(Clone, Debug)]
pub struct Vault {
    client: Client,
    namespace: String,
    recovery_days: u8,
    stack: String,
}

impl Vault {
    pub fn new(sdk: &aws_config::SdkConfig, config: &ImportsConfig) -> Self {
        Self::with_client(Client::new(sdk), config)
    }

    /// With a client of the caller's making (tests inject faults through its interceptors).
    pub fn with_client(client: Client, config: &ImportsConfig) -> Self {
        Vault {
            client,
            namespace: config.namespace.clone(),
            recovery_days: config.recovery_days,
            stack: config.stack.clone(),
        }
    }

    /// An import's tags with this stack's.
    fn tags_of(&self, tags: &SecretTags<'_>) -> Vec<Tag> {
        let mut all = vec![tag(TAG_STACK, &self.stack)];
        all.extend(tags.to_tags());
        all
    }

    /// The secret's name in Secrets Manager.
    pub fn physical_name(&self, c: &ProjectId, name: &SecretName) -> String {
        format!("{}/{c}/{name}", self.namespace)
    }

    /// Writes `value` to the secret `name` of project `c`. `known` says the import's record
    /// already lists the secret (a re-import): then its value is simply replaced. Otherwise the
    /// secret is created; one that exists already is taken over only when its tags say it is
    /// this project's import under this prefix, and is a conflict (409) when they do not.
    pub async fn write(
        &self,
        c: &ProjectId,
        name: &SecretName,
        value: &str,
        tags: &SecretTags<'_>,
        known: bool,
    ) -> Result<Written> {
        let id = self.physical_name(c, name);
        if known {
            match self
                .client
                .put_secret_value()
                .secret_id(&id)
                .secret_string(value)
                .send()
                .await
            {
                Ok(_) => return Ok(Written::Updated),
                // Gone or scheduled for deletion meanwhile: create or take over below.
                Err(e)
                    if matches!(
                        code(&e),
                        "ResourceNotFoundException" | "InvalidRequestException"
                    ) => {}
                Err(e) => return Err(sdk("PutSecretValue", e)),
            }
        }
        let created = self
            .client
            .create_secret()
            .name(&id)
            .description(format!(
                "keygate import {} into project {c}: {}",
                tags.prefix, tags.field
            ))
            .secret_string(value)
            .set_tags(Some(self.tags_of(tags)))
            .send()
            .await;
        match created {
            Ok(_) => Ok(Written::Created),
            // Real Secrets Manager answers InvalidRequest for a name scheduled for deletion.
            Err(e)
                if matches!(
                    code(&e),
                    "ResourceExistsException" | "InvalidRequestException"
                ) =>
            {
                self.adopt(&id, value, tags).await
            }
            Err(e) => Err(sdk("CreateSecret", e)),
        }
    }

    /// Takes over an existing secret of this project and prefix; refuses anyone else's.
    async fn adopt(&self, id: &str, value: &str, tags: &SecretTags<'_>) -> Result<Written> {
        let found = self
            .client
            .describe_secret()
            .secret_id(id)
            .send()
            .await
            .map_err(|e| sdk("DescribeSecret", e))?;
        let has = |key: &str, want: &str| {
            found
                .tags()
                .iter()
                .any(|t| t.key() == Some(key) && t.value() == Some(want))
        };
        if !(has(TAG_STACK, &self.stack)
            && has(TAG_PROJECT, tags.project.as_str())
            && has(TAG_PREFIX, tags.prefix.as_str()))
        {
            return Err(Error::Conflict(format!(
                "Secrets Manager already has a secret named {id} that is not part of this import \
                 (its tags do not name this keygate stack, project {} and prefix {}); remove it or \
                 choose another prefix",
                tags.project, tags.prefix
            )));
        }
        if found.deleted_date().is_some() {
            self.client
                .restore_secret()
                .secret_id(id)
                .send()
                .await
                .map_err(|e| sdk("RestoreSecret", e))?;
        }
        self.client
            .put_secret_value()
            .secret_id(id)
            .secret_string(value)
            .send()
            .await
            .map_err(|e| sdk("PutSecretValue", e))?;
        self.client
            .tag_resource()
            .secret_id(id)
            .set_tags(Some(self.tags_of(tags)))
            .send()
            .await
            .map_err(|e| sdk("TagResource", e))?;
        Ok(Written::Adopted)
    }

    /// Deletes a secret: with the configured recovery window, or at once when `now` (undoing a
    /// write that never became an import) or when the window is configured as 0. A secret that
    /// is already gone or already scheduled for deletion counts as deleted.
    pub async fn delete(&self, c: &ProjectId, name: &SecretName, now: bool) -> Result<()> {
        let mut call = self
            .client
            .delete_secret()
            .secret_id(self.physical_name(c, name));
        call = if now || self.recovery_days == 0 {
            call.force_delete_without_recovery(true)
        } else {
            call.recovery_window_in_days(i64::from(self.recovery_days))
        };
        match call.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if matches!(
                    code(&e),
                    "ResourceNotFoundException" | "InvalidRequestException"
                ) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk("DeleteSecret", e)),
        }
    }

    /// Sets tags on a secret and removes the tag keys in `remove`.
    pub async fn tag(
        &self,
        c: &ProjectId,
        name: &SecretName,
        set: &[(String, String)],
        remove: &[String],
    ) -> Result<()> {
        let id = self.physical_name(c, name);
        if !set.is_empty() {
            self.client
                .tag_resource()
                .secret_id(&id)
                .set_tags(Some(set.iter().map(|(k, v)| tag(k, v)).collect()))
                .send()
                .await
                .map_err(|e| sdk("TagResource", e))?;
        }
        if !remove.is_empty() {
            self.client
                .untag_resource()
                .secret_id(&id)
                .set_tag_keys(Some(remove.to_vec()))
                .send()
                .await
                .map_err(|e| sdk("UntagResource", e))?;
        }
        Ok(())
    }

    /// Points a grant's node tags at `nodes`, removing continuation tags the old list needed.
    pub async fn set_nodes(
        &self,
        c: &ProjectId,
        name: &SecretName,
        old: &[NodeId],
        nodes: &[NodeId],
    ) -> Result<()> {
        let set = node_tags(nodes);
        let remove: Vec<String> = (set.len()..node_tags(old).len())
            .map(node_tag_key)
            .collect();
        self.tag(c, name, &set, &remove).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize, len: usize) -> Vec<NodeId> {
        (0..n)
            .map(|i| NodeId::parse("n", &format!("{i:0len$}")).expect("node"))
            .collect()
    }

    #[test]
    fn node_tags_split_at_the_tag_value_limit() {
        assert_eq!(node_tags(&[]), vec![(TAG_NODES.to_string(), String::new())]);
        let two = nodes(2, 3);
        assert_eq!(node_tags(&two), vec![(TAG_NODES.into(), "000 001".into())]);
        // 100 nodes of 64 characters: 3 fit in a value (3*64 + 2 = 194), a fourth does not.
        let many = nodes(100, 64);
        let tags = node_tags(&many);
        assert_eq!(tags.len(), 34);
        assert!(tags.iter().all(|(_, v)| v.len() <= TAG_VALUE_MAX));
        assert_eq!(tags[1].0, "keygate:nodes:2");
        let joined: Vec<String> = tags
            .iter()
            .flat_map(|(_, v)| v.split(' ').map(str::to_string))
            .collect();
        let want: Vec<String> = many.iter().map(|n| n.to_string()).collect();
        assert_eq!(joined, want, "every node once, in order");
    }
}
