//! A user's own settings (`/v1/me/settings`): the language keygate mails them in, and the
//! recording of their console token's `locale` claim, so that mails sent later from the stream
//! (where no token is at hand) can use it.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::Result;
use crate::model::caller::Caller;
use crate::model::ids::UserId;
use crate::model::locale::Locale;
use crate::model::user::{UserSettingsInput, UserSettingsView};
use crate::store::Store;

/// The caller's settings as they apply: the language and where it comes from.
pub async fn get(store: &Store, caller: &Caller, default: Locale) -> Result<UserSettingsView> {
    let settings = store.get_user_settings(&caller.id).await?;
    Ok(UserSettingsView::of(settings.as_ref(), default))
}

/// Sets (or clears, with `null`) the caller's language; answers as [`get`] does.
pub async fn put(
    store: &Store,
    caller: &Caller,
    default: Locale,
    input: UserSettingsInput,
) -> Result<UserSettingsView> {
    store.set_user_locale(&caller.id, input.locale).await?;
    tracing::info!(locale = input.locale.map(Locale::as_str), "user locale set");
    get(store, caller, default).await
}

/// Claims this container recorded, per user: a user's claim is written at most once per
/// container (again only when their token names another language), and only when it differs
/// from what the table holds (the write's condition).
static RECORDED: Mutex<Option<HashMap<UserId, Locale>>> = Mutex::new(None);

/// Bounds the container's memory of recorded claims; past it the memory starts over.
const RECORDED_MAX: usize = 10_000;

/// Records the caller's token `locale` claim with the user, cheaply (see [`RECORDED`]). Best
/// effort: a failed write is logged and tried again on the user's next call, never fails the
/// call it rides on.
pub async fn note_token_locale(store: &Store, caller: &Caller) {
    let Some(locale) = caller.token_locale else {
        return;
    };
    let known = lock().as_ref().and_then(|m| m.get(&caller.id).copied()) == Some(locale);
    if known {
        return;
    }
    match store.record_token_locale(&caller.id, locale).await {
        Ok(changed) => {
            if changed {
                tracing::info!(locale = locale.as_str(), "token locale recorded");
            }
            let mut guard = lock();
            let map = guard.get_or_insert_with(HashMap::new);
            if map.len() >= RECORDED_MAX {
                map.clear();
            }
            map.insert(caller.id.clone(), locale);
        }
        Err(e) => tracing::warn!(error = %e, "token locale not recorded"),
    }
}

fn lock() -> std::sync::MutexGuard<'static, Option<HashMap<UserId, Locale>>> {
    // A panic elsewhere while holding the lock leaves a map that is still a valid cache.
    RECORDED.lock().unwrap_or_else(|e| e.into_inner())
}
