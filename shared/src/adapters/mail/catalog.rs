//! What the mails say, in each language: labels, status words, subjects and opening sentences.
//! Russian follows the platform's manual (api-keys.ru.md): «API ключ», «шаблон», «запрос»,
//! «одобрить», «отклонить», «секреты», «префикс». Every sentence takes its values already
//! formatted for the language (dates through `Locale::date_time`, counts through
//! `Locale::count`); escaping is the renderer's business, not the catalog's.

use crate::model::locale::Locale;

/// The fixed words of one language.
pub struct Words {
    pub project: &'static str,
    pub template: &'static str,
    pub requester: &'static str,
    pub holder: &'static str,
    pub requested_at: &'static str,
    pub status: &'static str,
    pub key: &'static str,
    pub comment: &'static str,
    pub reason: &'static str,
    pub no_reason: &'static str,
    pub day: &'static str,
    pub request: &'static str,
    pub more: &'static str,
    pub expires_at: &'static str,
    pub open_console: &'static str,
    /// The text part's link line, before the URL.
    pub open_console_text: &'static str,
    pub footer: &'static str,
    pub pending: &'static str,
    pub approved: &'static str,
    pub rejected: &'static str,
    pub cancelled: &'static str,
    pub revoked: &'static str,
}

const EN: Words = Words {
    project: "Project",
    template: "Template",
    requester: "Requester",
    holder: "Holder",
    requested_at: "Requested at",
    status: "Decision",
    key: "Key",
    comment: "Comment from the requester",
    reason: "Reason",
    no_reason: "No reason was given.",
    day: "Day",
    request: "Request",
    more: "More",
    expires_at: "Expires at",
    open_console: "Open it in the keygate console",
    open_console_text: "Open it in the keygate console:",
    footer: "You get this mail because of your part in a keygate API-key request.",
    pending: "pending: waiting for your approval",
    approved: "approved",
    rejected: "rejected",
    cancelled: "cancelled",
    revoked: "revoked",
};

const RU: Words = Words {
    project: "Проект",
    template: "Шаблон",
    requester: "Запросил",
    holder: "Владелец ключа",
    requested_at: "Дата запроса",
    status: "Статус",
    key: "API ключ",
    comment: "Комментарий к запросу",
    reason: "Причина",
    no_reason: "Причина не указана.",
    day: "Дата",
    request: "Запрос",
    more: "Ещё",
    expires_at: "Срок действия истекает",
    open_console: "Открыть в консоли keygate",
    open_console_text: "Открыть в консоли keygate:",
    footer: "Вы получили это письмо, потому что участвуете в запросе API ключа в keygate.",
    pending: "ожидает вашего решения",
    approved: "одобрен",
    rejected: "отклонён",
    cancelled: "отменён",
    revoked: "отозван",
};

pub fn words(l: Locale) -> &'static Words {
    match l {
        Locale::En => &EN,
        Locale::Ru => &RU,
    }
}

/// A decision with who made it and when: "approved by alice (a@x) at December 7, 2026, 14:05
/// UTC" / "одобрен: alice (a@x), 7 декабря 2026 г., 14:05 UTC". `at` is formatted already.
pub fn decided(l: Locale, status: &str, by: Option<&str>, at: Option<&str>) -> String {
    let mut s = status.to_string();
    match l {
        Locale::En => {
            if let Some(by) = by {
                s.push_str(&format!(" by {by}"));
            }
            if let Some(at) = at {
                s.push_str(&format!(" at {at}"));
            }
        }
        Locale::Ru => {
            let parts: Vec<&str> = by.into_iter().chain(at).collect();
            if !parts.is_empty() {
                s.push_str(&format!(": {}", parts.join(", ")));
            }
        }
    }
    s
}

/// Subject and opening sentence of each mail.
pub fn request_created(
    l: Locale,
    requester: &str,
    template: &str,
    project: &str,
) -> (String, String) {
    match l {
        Locale::En => (
            format!("{requester} requests an API key for \"{template}\" in {project}"),
            format!(
                "{requester} asked for an API key from your template \"{template}\". Approve or reject the request in the console."
            ),
        ),
        Locale::Ru => (
            format!("{requester} запрашивает API ключ по шаблону «{template}» в проекте {project}"),
            format!(
                "{requester} запрашивает API ключ по вашему шаблону «{template}». Одобрите или отклоните запрос в консоли."
            ),
        ),
    }
}

pub fn request_approved(l: Locale, template: &str, project: &str) -> (String, String) {
    match l {
        Locale::En => (
            format!("Your API key request for \"{template}\" in {project} was approved"),
            format!(
                "Your request for an API key from \"{template}\" was approved: the key is yours. Import it into your client project from the console."
            ),
        ),
        Locale::Ru => (
            format!("Ваш запрос API ключа по шаблону «{template}» в проекте {project} одобрен"),
            format!(
                "Ваш запрос API ключа по шаблону «{template}» одобрен: ключ выдан вам. Импортируйте его в свой клиентский проект в разделе «Секреты» консоли."
            ),
        ),
    }
}

pub fn request_rejected(l: Locale, template: &str, project: &str) -> (String, String) {
    match l {
        Locale::En => (
            format!("Your API key request for \"{template}\" in {project} was rejected"),
            format!("Your request for an API key from \"{template}\" was rejected."),
        ),
        Locale::Ru => (
            format!("Ваш запрос API ключа по шаблону «{template}» в проекте {project} отклонён"),
            format!("Ваш запрос API ключа по шаблону «{template}» отклонён."),
        ),
    }
}

pub fn request_cancelled(l: Locale, template: &str, project: &str) -> (String, String) {
    match l {
        Locale::En => (
            format!("Your API key request for \"{template}\" in {project} was cancelled"),
            format!(
                "Your pending request for an API key from \"{template}\" was cancelled. You may ask again once the project offers a template for it."
            ),
        ),
        Locale::Ru => (
            format!("Ваш запрос API ключа по шаблону «{template}» в проекте {project} отменён"),
            format!(
                "Ваш запрос API ключа по шаблону «{template}», ожидавший решения, отменён. Вы сможете запросить ключ снова, когда в проекте будет шаблон для него."
            ),
        ),
    }
}

pub fn key_revoked(l: Locale, template: &str, project: &str) -> (String, String) {
    match l {
        Locale::En => (
            format!("Your API key for \"{template}\" in {project} was revoked"),
            format!(
                "Your API key from \"{template}\" was revoked: calls made with it are refused from now on. Secrets you imported it into no longer work."
            ),
        ),
        Locale::Ru => (
            format!("Ваш API ключ по шаблону «{template}» в проекте {project} отозван"),
            format!(
                "Ваш API ключ по шаблону «{template}» отозван: вызовы с ним теперь отклоняются. Секреты, в которые вы его импортировали, больше не работают."
            ),
        ),
    }
}

/// The digest of `n` pending requests (n ≥ 1).
pub fn digest(l: Locale, n: u64, project: &str) -> (String, String) {
    match l {
        Locale::En => {
            let (s, are) = if n == 1 { ("", "is") } else { ("s", "are") };
            (
                format!("{n} API key request{s} waiting in {project}"),
                format!(
                    "{n} request{s} for API keys of {project} {are} waiting for your decision, oldest first. Open one to approve or reject it."
                ),
            )
        }
        Locale::Ru => {
            let requests = l.count(n, ("запрос", "запроса", "запросов"));
            let wait = if l.plural(n) == crate::model::locale::Plural::One {
                "ожидает"
            } else {
                "ожидают"
            };
            (
                format!("{requests} на получение API ключа {wait} решения в проекте {project}"),
                format!(
                    "{requests} на получение API ключа в проекте {project} {wait} вашего решения, сначала самые ранние. Откройте запрос, чтобы одобрить или отклонить его."
                ),
            )
        }
    }
}

/// One line of the digest: who asked for which template, since when (formatted), and the link.
pub fn digest_line(l: Locale, who: &str, template: &str, since: &str, link: &str) -> String {
    match l {
        Locale::En => format!("{who} for \"{template}\", since {since}: {link}"),
        Locale::Ru => format!("{who}, шаблон «{template}», запрос от {since}: {link}"),
    }
}

/// The digest's last line when more requests wait than it lists.
pub fn digest_more(l: Locale, n: u64) -> String {
    match l {
        Locale::En => format!("{n} more in the console"),
        Locale::Ru => format!(
            "ещё {} — в консоли",
            l.count(n, ("запрос", "запроса", "запросов"))
        ),
    }
}

/// An expiry reminder `days` ahead; `expires` is formatted already.
pub fn key_expiring(
    l: Locale,
    template: &str,
    project: &str,
    days: u32,
    expires: &str,
) -> (String, String) {
    match l {
        Locale::En => {
            let when = if days == 1 {
                "within a day".to_string()
            } else {
                format!("within {days} days")
            };
            (
                format!("Your API key for \"{template}\" in {project} expires {when}"),
                format!(
                    "Your API key from \"{template}\" expires at {expires}; calls made with it are refused from then on. Request a new key before then and import it under the same prefix."
                ),
            )
        }
        Locale::Ru => (
            format!(
                "Срок действия вашего API ключа по шаблону «{template}» в проекте {project} истекает не позднее чем через {}",
                l.count(u64::from(days), ("день", "дня", "дней"))
            ),
            format!(
                "Срок действия вашего API ключа по шаблону «{template}» истекает {expires}; после этого вызовы с ним будут отклоняться. Запросите новый ключ заранее и импортируйте его под тем же префиксом."
            ),
        ),
    }
}
