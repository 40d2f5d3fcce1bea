//! What keygate keeps about a user beyond their memberships: their settings (the language of
//! their mail), and the pure rule that picks the language a mail to them is written in.

use serde::{Deserialize, Serialize};

use crate::error::{Error, FieldError, Result};
use crate::model::ids::UserId;
use crate::model::locale::Locale;

/// A user's settings item (`USER#u` / `SETTINGS`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSettings {
    pub user_id: Option<UserId>,
    /// The language the user chose (`PUT /v1/me/settings`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<Locale>,
    /// The language the `locale` claim of their console token last said, recorded when they
    /// called the API (mails are sent from the stream, where no token is at hand).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_locale: Option<Locale>,
}

/// Where the language of a user's mail comes from.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocaleSource {
    /// Their own setting.
    Setting,
    /// The `locale` claim of their console token.
    Token,
    /// The deployment's `DEFAULT_LOCALE`.
    Default,
}

/// The language of a user's mail: their setting, else their token's claim, else the default.
pub fn resolve(settings: Option<&UserSettings>, default: Locale) -> (Locale, LocaleSource) {
    match settings {
        Some(UserSettings {
            locale: Some(l), ..
        }) => (*l, LocaleSource::Setting),
        Some(UserSettings {
            token_locale: Some(l),
            ..
        }) => (*l, LocaleSource::Token),
        _ => (default, LocaleSource::Default),
    }
}

/// `GET`/`PUT /v1/me/settings`' answer.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = UserSettings))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserSettingsView {
    /// The language keygate writes to the user in.
    pub locale: Locale,
    /// Where `locale` comes from: the caller's setting, their console token's `locale` claim (as
    /// last recorded), or the deployment's `DEFAULT_LOCALE`.
    pub source: LocaleSource,
}

impl UserSettingsView {
    pub fn of(settings: Option<&UserSettings>, default: Locale) -> Self {
        let (locale, source) = resolve(settings, default);
        UserSettingsView { locale, source }
    }
}

/// `PUT /v1/me/settings`' body as it arrives: any JSON object, checked by [`UserSettingsInput::parse`].
pub type UserSettingsBody = serde_json::Map<String, serde_json::Value>;

/// `PUT /v1/me/settings`: `{"locale": "ru" | "en" | null}` (null clears the setting: the token's
/// claim or the default apply again). Checked by hand so that every refusal names its field.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(description = "Exactly `locale`."))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UserSettingsInput {
    /// `null` clears the setting: the token's claim or the default apply again.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub locale: Option<Locale>,
}

impl UserSettingsInput {
    pub fn parse(body: &UserSettingsBody) -> Result<Self> {
        let mut errors = Vec::new();
        // Worded as serde words it for the other bodies (an empty name is then still told).
        for name in body.keys().filter(|k| k.as_str() != "locale") {
            errors.push(FieldError::new(
                name.clone(),
                format!("unknown field `{name}`, expected `locale`"),
            ));
        }
        let locale = match body.get("locale") {
            None => {
                errors.push(FieldError::new("locale", "is required"));
                None
            }
            Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(s)) => match Locale::parse(s) {
                Some(l) => Some(l),
                None => {
                    errors.push(FieldError::new(
                        "locale",
                        "must be \"ru\" or \"en\" (or null to clear it)",
                    ));
                    None
                }
            },
            Some(_) => {
                errors.push(FieldError::new(
                    "locale",
                    "must be a string, \"ru\" or \"en\" (or null to clear it)",
                ));
                None
            }
        };
        if errors.is_empty() {
            Ok(UserSettingsInput { locale })
        } else {
            Err(Error::Invalid(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(locale: Option<Locale>, token: Option<Locale>) -> UserSettings {
        UserSettings {
            user_id: None,
            locale,
            token_locale: token,
        }
    }

    #[test]
    fn the_setting_wins_over_the_token_claim_which_wins_over_the_default() {
        use Locale::*;
        assert_eq!(
            resolve(Some(&settings(Some(En), Some(Ru))), Ru),
            (En, LocaleSource::Setting)
        );
        assert_eq!(
            resolve(Some(&settings(None, Some(En))), Ru),
            (En, LocaleSource::Token)
        );
        assert_eq!(
            resolve(Some(&settings(None, None)), Ru),
            (Ru, LocaleSource::Default)
        );
        assert_eq!(resolve(None, En), (En, LocaleSource::Default));
    }

    fn parse(v: serde_json::Value) -> Result<UserSettingsInput> {
        UserSettingsInput::parse(v.as_object().expect("object"))
    }

    #[test]
    fn settings_bodies_name_the_field_they_refuse() {
        use serde_json::json;
        assert_eq!(
            parse(json!({"locale": "ru"})).ok(),
            Some(UserSettingsInput {
                locale: Some(Locale::Ru)
            })
        );
        assert_eq!(
            parse(json!({"locale": null})).ok(),
            Some(UserSettingsInput { locale: None })
        );
        for (body, field) in [
            (json!({}), "locale"),
            (json!({"locale": "de"}), "locale"),
            (json!({"locale": "RU"}), "locale"),
            (json!({"locale": 1}), "locale"),
            (json!({"locale": ["ru"]}), "locale"),
            (json!({"locale": "ru", "theme": "dark"}), "theme"),
            (json!({"locale": "ru", "": 1}), ""),
        ] {
            match parse(body.clone()) {
                Err(Error::Invalid(errors)) => assert!(
                    errors.iter().any(|e| e.field == field),
                    "{body}: {errors:?}"
                ),
                other => panic!("{body}: expected 400, got {other:?}"),
            }
        }
    }
}
