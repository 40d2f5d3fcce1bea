//! Mail in the recipient's language, end to end: `GET`/`PUT /v1/me/settings` (and its refusals),
//! the order a recipient's language is resolved in (their setting, else their console token's
//! `locale` claim as recorded on their last call, else the stack's `DEFAULT_LOCALE`), and one
//! mail of each kind in Russian and in English read back from the emulator, owner and requester
//! in different languages. One test runs the digest job and one the reminders job (the jobs look
//! at every project and key, and the tests of a binary run concurrently).

use std::time::Duration;

use keygate_e2e::{Fixture, Method, SentMail, Stack, mail_to, now, rfc3339, unique, wait_for_mail};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

const WAIT: Duration = Duration::from_secs(45);

fn email(user: &str) -> String {
    format!("{user}@example.com")
}

/// The stack's `DEFAULT_LOCALE` (scripts/lib.sh sets it; `ru` when unset, as deployed).
fn default_locale() -> String {
    std::env::var("DEFAULT_LOCALE")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "ru".into())
}

/// A console token of `user` whose `locale` claim is `locale`.
fn token_with_locale(stack: &Stack, user: &str, locale: &str) -> String {
    let t = now();
    stack.signed(
        "JWT",
        json!({"iss": keygate_dev::DEV_ISSUER, "aud": keygate_dev::DEV_AUDIENCE, "sub": user,
            "email": email(user), "locale": locale, "iat": t, "exp": t + 3600}),
    )
}

async fn set_locale(stack: &Stack, user: &str, locale: &str) {
    let r = stack
        .put(
            "/v1/me/settings",
            &stack.token(user),
            json!({"locale": locale}),
        )
        .await
        .expect(200);
    assert_eq!(r.body, json!({"locale": locale, "source": "setting"}));
}

/// A template of the fixture (role reader), optionally with a key lifetime; its id.
async fn template(stack: &Stack, f: &Fixture, name: &str, ttl_days: Option<u32>) -> String {
    stack
        .post(
            &f.path("/templates"),
            &stack.token(&f.owner),
            json!({"name": name, "role": "reader", "ttl_days": ttl_days}),
        )
        .await
        .expect(201)
        .body["id"]
        .as_str()
        .expect("template id")
        .to_string()
}

/// Waits for `count` mails to `user` and returns the one whose subject has `needle`.
async fn mail_with(user: &str, count: usize, needle: &str) -> SentMail {
    let got = wait_for_mail(&email(user), count, WAIT).await;
    got.iter()
        .find(|m| m.subject.contains(needle))
        .cloned()
        .unwrap_or_else(|| {
            panic!(
                "no mail to {user} with {needle:?} in its subject: {:?}",
                got.iter().map(|m| &m.subject).collect::<Vec<_>>()
            )
        })
}

#[track_caller]
fn assert_russian(m: &SentMail, body_needles: &[&str]) {
    for needle in ["Проект", "Открыть в консоли keygate"]
        .iter()
        .chain(body_needles)
    {
        assert!(
            m.body.contains(needle),
            "{}: the body lacks {needle:?}:\n{}",
            m.subject,
            m.body
        );
    }
    for english in ["Open it in the keygate console", "Project"] {
        assert!(!m.body.contains(english), "{}: {english:?}", m.subject);
    }
}

#[tokio::test]
async fn settings_read_set_clear_and_refuse_anything_else_naming_the_field() {
    let stack = Stack::new().await;
    let user = unique("settings-");
    let token = stack.token(&user);
    let default = default_locale();

    let got = stack.get("/v1/me/settings", &token).await.expect(200);
    assert_eq!(got.body, json!({"locale": default, "source": "default"}));

    set_locale(&stack, &user, "ru").await;
    let got = stack.get("/v1/me/settings", &token).await.expect(200);
    assert_eq!(got.body, json!({"locale": "ru", "source": "setting"}));
    let item = stack.items(&format!("USER#{user}")).await;
    assert_eq!(item.len(), 1, "one settings item: {item:?}");
    assert_eq!(
        item[0]
            .get("sk")
            .and_then(|v| v.as_s().ok())
            .map(String::as_str),
        Some("SETTINGS")
    );
    set_locale(&stack, &user, "en").await;

    for (body, field) in [
        (json!({"locale": "de"}), "locale"),
        (json!({"locale": "ru-RU"}), "locale"),
        (json!({"locale": 7}), "locale"),
        (json!({"locale": ["ru"]}), "locale"),
        (json!({}), "locale"),
        (json!({"locale": "ru", "theme": "dark"}), "theme"),
    ] {
        let r = stack.put("/v1/me/settings", &token, body.clone()).await;
        let r = r.expect(400);
        assert!(
            r.content_type.starts_with("application/problem+json"),
            "{body}: {}",
            r.content_type
        );
        assert!(
            r.fields().contains(&field.to_string()),
            "{body}: {:?}",
            r.body
        );
    }
    // Not a JSON object at all.
    stack
        .put("/v1/me/settings", &token, json!(["ru"]))
        .await
        .expect(400);
    stack
        .call(Method::PUT, "/v1/me/settings", Some(&token), None)
        .await
        .expect(400);
    // Refusals changed nothing.
    let got = stack.get("/v1/me/settings", &token).await.expect(200);
    assert_eq!(got.body, json!({"locale": "en", "source": "setting"}));

    // null clears the setting: the default applies again.
    let r = stack
        .put("/v1/me/settings", &token, json!({"locale": null}))
        .await
        .expect(200);
    assert_eq!(r.body, json!({"locale": default, "source": "default"}));

    stack
        .call(Method::GET, "/v1/me/settings", None, None)
        .await
        .expect(401);
    stack
        .call(Method::DELETE, "/v1/me/settings", Some(&token), None)
        .await
        .expect(405);
}

#[tokio::test]
async fn a_tokens_locale_claim_is_recorded_and_a_setting_wins_over_it() {
    let stack = Stack::new().await;
    let user = unique("claim-");
    // The claim in the other language than the stack's default, so that the answer says which.
    let other = if default_locale() == "ru" { "en" } else { "ru" };
    let tag = if other == "ru" { "ru-RU" } else { "en-GB" };
    let claimed = token_with_locale(&stack, &user, tag);

    let got = stack.get("/v1/me/settings", &claimed).await.expect(200);
    assert_eq!(got.body, json!({"locale": other, "source": "token"}));
    // Recorded with the user: a later call without the claim still sees it.
    let got = stack
        .get("/v1/me/settings", &stack.token(&user))
        .await
        .expect(200);
    assert_eq!(got.body, json!({"locale": other, "source": "token"}));
    let item = &stack.items(&format!("USER#{user}")).await[0];
    assert_eq!(
        item.get("token_locale").and_then(|v| v.as_s().ok()),
        Some(&other.to_string())
    );

    // The setting wins over the claim.
    set_locale(&stack, &user, &default_locale()).await;
    let got = stack.get("/v1/me/settings", &claimed).await.expect(200);
    assert_eq!(
        got.body,
        json!({"locale": default_locale(), "source": "setting"})
    );
    // A claim naming a language keygate does not write is as if absent.
    let german = unique("claim-de-");
    let got = stack
        .get(
            "/v1/me/settings",
            &token_with_locale(&stack, &german, "de-DE"),
        )
        .await
        .expect(200);
    assert_eq!(got.body["source"], "default");
}

/// Three requesters of one project, approved: one with a setting (which wins over their token's
/// claim), one with only a token claim (recorded by their call to `/v1/me/projects`), one with
/// neither (the stack's default). Each approval mail is in the language the order gives.
#[tokio::test]
async fn a_recipients_language_is_their_setting_else_their_token_claim_else_the_default() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let default = default_locale();
    let other = if default == "ru" { "en" } else { "ru" };
    let with_setting = f.add_member(&stack, "set-").await;
    let with_claim = f.add_member(&stack, "claim-").await;
    let with_nothing = f.add_member(&stack, "none-").await;

    // The setting says the default's language; the token claims the other one.
    set_locale(&stack, &with_setting, &default).await;
    for user in [&with_setting, &with_claim] {
        stack
            .get("/v1/me/projects", &token_with_locale(&stack, user, other))
            .await
            .expect(200);
    }

    let t = template(&stack, &f, "Weather", None).await;
    for user in [&with_setting, &with_claim, &with_nothing] {
        let r = f.request(&stack, user, &t).await;
        f.approve(&stack, &r).await;
    }
    let approved = |l: &str| {
        if l == "ru" {
            "одобрен"
        } else {
            "was approved"
        }
    };
    for (user, want) in [
        (&with_setting, default.as_str()),
        (&with_claim, other),
        (&with_nothing, default.as_str()),
    ] {
        let m = mail_with(user, 1, "Weather").await;
        assert!(
            m.subject.contains(approved(want)),
            "{user} should read {want}: {}",
            m.subject
        );
    }
}

/// Every stream mail in Russian, with a Russian requester and an English owner: the owner's
/// mail about the new request is English, the requester's about its fate Russian.
#[tokio::test]
async fn request_and_key_mails_are_in_each_recipients_language() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    set_locale(&stack, &f.owner, "en").await;
    set_locale(&stack, &f.member, "ru").await;
    let owner = stack.token(&f.owner);

    // Created (to the English owner) and approved (to the Russian requester).
    let t = template(&stack, &f, "Погода", None).await;
    let r = f.request(&stack, &f.member, &t).await;
    let created = mail_with(&f.owner, 1, "requests an API key").await;
    assert!(
        created
            .subject
            .contains("requests an API key for \"Погода\" in Fixture project"),
        "{}",
        created.subject
    );
    let key = f.approve(&stack, &r).await;
    let m = mail_with(&f.member, 1, "одобрен").await;
    assert_eq!(
        m.subject,
        "Ваш запрос API ключа по шаблону «Погода» в проекте Fixture project одобрен"
    );
    assert_russian(&m, &["Статус", "одобрен:", "Шаблон", "UTC"]);

    // Revoked by the owner.
    let k = key["id"].as_str().expect("key id");
    f.revoke(&stack, &f.owner, k).await;
    let m = mail_with(&f.member, 2, "отозван").await;
    assert_eq!(
        m.subject,
        "Ваш API ключ по шаблону «Погода» в проекте Fixture project отозван"
    );
    assert_russian(&m, &["вызовы с ним теперь отклоняются", "API ключ"]);

    // Rejected, with a reason.
    let t2 = template(&stack, &f, "Ветер", None).await;
    let r2 = f.request(&stack, &f.member, &t2).await;
    stack
        .post(
            &f.path(&format!("/requests/{r2}/reject")),
            &owner,
            json!({"reason": "Нужен другой шаблон"}),
        )
        .await
        .expect(200);
    let m = mail_with(&f.member, 3, "отклонён").await;
    assert_eq!(
        m.subject,
        "Ваш запрос API ключа по шаблону «Ветер» в проекте Fixture project отклонён"
    );
    assert_russian(&m, &["Причина", "Нужен другой шаблон"]);

    // Cancelled: the owner deletes the template of a pending request.
    let t3 = template(&stack, &f, "Осадки", None).await;
    f.request(&stack, &f.member, &t3).await;
    stack
        .delete(&f.path(&format!("/templates/{t3}")), &owner)
        .await
        .expect(204);
    let m = mail_with(&f.member, 4, "отменён").await;
    assert_eq!(
        m.subject,
        "Ваш запрос API ключа по шаблону «Осадки» в проекте Fixture project отменён"
    );
    assert_russian(&m, &["Статус", "отменён:"]);

    // The owner's own mails stayed English.
    for m in mail_to(&email(&f.owner)).await {
        assert!(
            m.body.contains("Open it in the keygate console"),
            "{}",
            m.subject
        );
    }
}

/// A Russian owner's mail about a new request, and an English requester's approval.
#[tokio::test]
async fn a_russian_owner_reads_a_new_request_in_russian() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    set_locale(&stack, &f.owner, "ru").await;
    set_locale(&stack, &f.member, "en").await;
    let t = template(&stack, &f, "Погода", None).await;
    stack
        .post(
            &f.path(&format!("/templates/{t}/requests")),
            &stack.token(&f.member),
            json!({"comment": "Для <ночной> выгрузки"}),
        )
        .await
        .expect(201);
    let m = mail_with(&f.owner, 1, "запрашивает API ключ").await;
    assert_eq!(
        m.subject,
        format!(
            "{} запрашивает API ключ по шаблону «Погода» в проекте Fixture project",
            f.member
        )
    );
    assert_russian(
        &m,
        &[
            "Комментарий к запросу",
            "ожидает вашего решения",
            "Дата запроса",
        ],
    );
    // The emulator keeps the HTML part: the comment is escaped there, never markup.
    assert!(m.body.contains("&lt;ночной&gt;"), "{}", m.body);
    assert!(!m.body.contains("<ночной>"), "{}", m.body);
}

/// The digest (plural of the count, the day as Russian writes it) and the expiry reminders
/// (7 дней, 1 день) in Russian, beside an English owner's digest.
#[tokio::test]
async fn the_digest_and_the_expiry_reminders_are_in_the_recipients_language() {
    let stack = Stack::new().await;
    let ru = Fixture::new(&stack).await;
    let en = Fixture::new(&stack).await;
    set_locale(&stack, &ru.owner, "ru").await;
    set_locale(&stack, &ru.member, "ru").await;
    set_locale(&stack, &en.owner, "en").await;
    for f in [&ru, &en] {
        stack
            .call(
                Method::PATCH,
                &f.path(""),
                Some(&stack.token(&f.owner)),
                Some(json!({"digest": "daily", "notify": "digest"})),
            )
            .await
            .expect(200);
    }
    // Two pending requests in the Russian owner's project, one in the English owner's.
    let t = template(&stack, &ru, "Погода", None).await;
    ru.request(&stack, &ru.member, &t).await;
    let second = ru.add_member(&stack, "member-").await;
    ru.request(&stack, &second, &t).await;
    let te = template(&stack, &en, "Weather", None).await;
    en.request(&stack, &en.member, &te).await;

    let now = OffsetDateTime::parse("2026-12-07T06:00:00Z", &Rfc3339).expect("time");
    stack.run_job("digest", &rfc3339(now)).await;
    let d = mail_with(&ru.owner, 1, "на получение API ключа").await;
    assert_eq!(
        d.subject,
        "2 запроса на получение API ключа ожидают решения в проекте Fixture project"
    );
    assert_russian(&d, &["7 декабря 2026 г.", "Запрос", "шаблон «Погода»"]);
    let d = mail_with(&en.owner, 1, "waiting in").await;
    assert_eq!(d.subject, "1 API key request waiting in Fixture project");
    assert!(d.body.contains("December 7, 2026"), "{}", d.body);

    // A key that expires in 10 days, its holder Russian: reminded 7 days and 1 day ahead.
    let t = template(&stack, &ru, "Ключ на 10 дней", Some(10)).await;
    let r = ru.request(&stack, &ru.member, &t).await;
    let key = ru.approve(&stack, &r).await;
    let expires = OffsetDateTime::parse(key["expires_at"].as_str().expect("expires_at"), &Rfc3339)
        .expect("RFC 3339");
    stack
        .run_job("reminders", &rfc3339(expires - time::Duration::days(6)))
        .await;
    let m = mail_with(&ru.member, 2, "истекает").await;
    assert!(
        m.subject.ends_with(
            "«Ключ на 10 дней» в проекте Fixture project истекает не позднее чем через 7 дней"
        ),
        "{}",
        m.subject
    );
    assert_russian(&m, &["Срок действия истекает", " г., ", "UTC"]);
    stack
        .run_job("reminders", &rfc3339(expires - time::Duration::hours(12)))
        .await;
    let got = wait_for_mail(&email(&ru.member), 3, WAIT).await;
    assert!(
        got.iter()
            .any(|m| m.subject.ends_with("не позднее чем через 1 день")),
        "{:?}",
        got.iter().map(|m| &m.subject).collect::<Vec<_>>()
    );
}
