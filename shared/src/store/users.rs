//! A user's own items (`USER#u`): their settings (`SETTINGS`: the language they chose, and the
//! one their console token's `locale` claim last named). The gsi1 entries that list a user's
//! memberships, requests and keys share the name `USER#u` in the index, not in the table.

use super::grants::{Operation, Touch as T, op};
use super::keys::partitions::USERS;
use super::{Store, key_attrs, keys, s, sdk_error, written};
use crate::error::Result;
use crate::model::ids::UserId;
use crate::model::locale::Locale;
use crate::model::user::UserSettings;

/// What each method touches (`store::grants`): the user's partition only.
pub(super) const OPERATIONS: &[Operation] = &[
    op("get_user_settings", &[T::get(USERS)]),
    op("set_user_locale", &[T::update(USERS)]),
    op("record_token_locale", &[T::update(USERS)]),
];

impl Store {
    /// The user's settings; `None` when they never set anything and no claim was recorded.
    pub async fn get_user_settings(&self, u: &UserId) -> Result<Option<UserSettings>> {
        self.get(&keys::user_settings(u)).await
    }

    /// Sets (or, with `None`, clears) the language the user chose. Last write wins: a setting
    /// is the user's own, one value.
    pub async fn set_user_locale(&self, u: &UserId, locale: Option<Locale>) -> Result<()> {
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(&keys::user_settings(u))))
            .expression_attribute_values(":et", s("user_settings"))
            .expression_attribute_values(":u", s(u.as_str()))
            .expression_attribute_values(":at", s(crate::model::time::now()));
        update = match locale {
            Some(l) => update
                .update_expression(
                    "SET entity_type = :et, user_id = :u, updated_at = :at, locale = :l",
                )
                .expression_attribute_values(":l", s(l.as_str())),
            None => update.update_expression(
                "SET entity_type = :et, user_id = :u, updated_at = :at REMOVE locale",
            ),
        };
        update
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem user settings", e))?;
        Ok(())
    }

    /// Records the language of the user's token claim: `true` when it changed what was stored,
    /// `false` when the same was stored already (nothing written).
    pub async fn record_token_locale(&self, u: &UserId, locale: Locale) -> Result<bool> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_attrs(&keys::user_settings(u))))
            .update_expression(
                "SET entity_type = :et, user_id = :u, token_locale = :l, token_locale_at = :at",
            )
            // Writes only a change: a claim that says what is stored costs no write.
            .condition_expression("attribute_not_exists(token_locale) OR token_locale <> :l")
            .expression_attribute_values(":et", s("user_settings"))
            .expression_attribute_values(":u", s(u.as_str()))
            .expression_attribute_values(":l", s(locale.as_str()))
            .expression_attribute_values(":at", s(crate::model::time::now()))
            .send()
            .await;
        written("UpdateItem token locale", result)
    }
}
