//! Notification mail: composed here in plain Rust (no SES templates), one function per kind, each
//! building its subject and its text and HTML bodies from the same facts (every value
//! HTML-escaped) in the recipient's language (`catalog`: Russian and English), and sent with
//! SESv2 as a simple message carrying both parts.

pub mod catalog;

use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::error::{Error, Result};
use crate::model::key::ApiKey;
use crate::model::locale::Locale;
use crate::model::project::{Person, Project};
use crate::model::request::KeyRequest;

/// One mail, ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What a mail says, once, rendered into both bodies by `Letter::render`.
struct Letter {
    /// The reader's language: the labels, the link and the footer are in it.
    locale: Locale,
    to: String,
    subject: String,
    /// The opening sentence: what happened and what the reader may do.
    intro: String,
    /// Label and value, one line each.
    facts: Vec<(&'static str, String)>,
    /// Free text the people involved wrote (a comment, a reason), kept with its line breaks.
    note: Option<(&'static str, String)>,
    /// Where in the console to look.
    link: String,
}

/// The five characters that are special in HTML text and in quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes one URL path segment (ids are plain already; this keeps a link a link even if
/// a stored value were not).
fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A subject is one line: control characters (none pass validation, but a subject must never
/// break the header) become spaces.
fn one_line(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn person(p: &Person) -> String {
    format!("{} ({})", p.id, p.email)
}

fn project_line(project: &Project) -> String {
    format!("{} ({})", project.name, project.id)
}

/// A decision's status word with who made it and when, in the reader's language.
fn decided(l: Locale, status: &str, by: Option<&Person>, at: Option<&str>) -> String {
    let by = by.map(person);
    let at = at.map(|t| l.date_time(t));
    catalog::decided(l, status, by.as_deref(), at.as_deref())
}

fn request_link(console: &str, r: &KeyRequest) -> String {
    format!(
        "{console}/projects/{}/requests/{}",
        segment(r.project_id.as_str()),
        segment(r.id.as_str())
    )
}

fn key_link(console: &str, k: &str) -> String {
    format!("{console}/keys/{}", segment(k))
}

impl Letter {
    fn render(self) -> Mail {
        let w = catalog::words(self.locale);
        let width = self
            .facts
            .iter()
            .map(|(l, _)| l.chars().count())
            .max()
            .unwrap_or(0)
            + 1;

        let mut text = format!("{}\n\n", self.intro);
        for (label, value) in &self.facts {
            text.push_str(&format!("{:<width$} {value}\n", format!("{label}:")));
        }
        if let Some((label, note)) = &self.note {
            text.push_str(&format!("\n{label}:\n"));
            for line in note.lines() {
                text.push_str(&format!("  {line}\n"));
            }
        }
        text.push_str(&format!(
            "\n{} {}\n\n-- \n{}\n",
            w.open_console_text, self.link, w.footer
        ));

        let mut html = format!(
            "<!DOCTYPE html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
             <body style=\"font-family: sans-serif; line-height: 1.4\">\n<p>{}</p>\n\
             <table cellpadding=\"4\" style=\"border-collapse: collapse\">\n",
            self.locale,
            escape_html(&self.subject),
            escape_html(&self.intro)
        );
        for (label, value) in &self.facts {
            html.push_str(&format!(
                "<tr><th align=\"left\">{}</th><td>{}</td></tr>\n",
                escape_html(label),
                escape_html(value)
            ));
        }
        html.push_str("</table>\n");
        if let Some((label, note)) = &self.note {
            // pre-wrap keeps the writer's line breaks without turning them into markup.
            html.push_str(&format!(
                "<p><strong>{}</strong></p>\n<blockquote style=\"white-space: pre-wrap\">{}</blockquote>\n",
                escape_html(label),
                escape_html(note)
            ));
        }
        html.push_str(&format!(
            "<p><a href=\"{}\">{}</a></p>\n\
             <p style=\"color: #666666; font-size: small\">{}</p>\n</body></html>\n",
            escape_html(&self.link),
            escape_html(w.open_console),
            escape_html(w.footer)
        ));

        Mail {
            to: self.to,
            subject: one_line(&self.subject),
            text,
            html,
        }
    }
}

/// To the project's owner: a member asks for a key from one of the owner's templates.
pub fn request_created(console: &str, l: Locale, project: &Project, r: &KeyRequest) -> Mail {
    let w = catalog::words(l);
    let comment = r.comment.trim();
    let (subject, intro) =
        catalog::request_created(l, r.requester.id.as_str(), &r.template_name, &project.name);
    Letter {
        locale: l,
        to: project.owner.email.to_string(),
        subject,
        intro,
        facts: vec![
            (w.project, project_line(project)),
            (w.template, r.template_name.to_string()),
            (w.requester, person(&r.requester)),
            (w.requested_at, l.date_time(&r.created_at)),
            (w.status, w.pending.into()),
        ],
        note: (!comment.is_empty()).then(|| (w.comment, comment.to_string())),
        link: request_link(console, r),
    }
    .render()
}

/// To the requester: the owner approved; the requester now holds a key.
pub fn request_approved(console: &str, l: Locale, project: &Project, r: &KeyRequest) -> Mail {
    let w = catalog::words(l);
    let mut facts = vec![
        (w.project, project_line(project)),
        (w.template, r.template_name.to_string()),
        (w.requester, person(&r.requester)),
        (
            w.status,
            decided(
                l,
                w.approved,
                r.decided_by.as_ref(),
                r.decided_at.as_deref(),
            ),
        ),
    ];
    if let Some(k) = &r.key_id {
        facts.push((w.key, k.to_string()));
    }
    let (subject, intro) = catalog::request_approved(l, &r.template_name, &project.name);
    Letter {
        locale: l,
        to: r.requester.email.to_string(),
        subject,
        intro,
        facts,
        note: None,
        link: match &r.key_id {
            Some(k) => key_link(console, k.as_str()),
            None => request_link(console, r),
        },
    }
    .render()
}

/// To the requester: the owner turned the request down, with the reason when one was given.
pub fn request_rejected(console: &str, l: Locale, project: &Project, r: &KeyRequest) -> Mail {
    let w = catalog::words(l);
    let reason = r
        .reason
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or(w.no_reason)
        .to_string();
    closed(
        console,
        l,
        project,
        r,
        catalog::request_rejected(l, &r.template_name, &project.name),
        w.rejected,
        Some((w.reason, reason)),
    )
}

/// To the requester: someone else closed the pending request (e.g. the template was deleted).
pub fn request_cancelled(console: &str, l: Locale, project: &Project, r: &KeyRequest) -> Mail {
    let w = catalog::words(l);
    let reason = r
        .reason
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(|reason| (w.reason, reason.to_string()));
    closed(
        console,
        l,
        project,
        r,
        catalog::request_cancelled(l, &r.template_name, &project.name),
        w.cancelled,
        reason,
    )
}

/// The letter of a request closed without a key (rejected or cancelled): to the requester, its
/// status and who closed it when.
fn closed(
    console: &str,
    l: Locale,
    project: &Project,
    r: &KeyRequest,
    (subject, intro): (String, String),
    status: &str,
    note: Option<(&'static str, String)>,
) -> Mail {
    let w = catalog::words(l);
    Letter {
        locale: l,
        to: r.requester.email.to_string(),
        subject,
        intro,
        facts: vec![
            (w.project, project_line(project)),
            (w.template, r.template_name.to_string()),
            (w.requester, person(&r.requester)),
            (
                w.status,
                decided(l, status, r.decided_by.as_ref(), r.decided_at.as_deref()),
            ),
        ],
        note,
        link: request_link(console, r),
    }
    .render()
}

/// To the key's holder: the key no longer verifies.
pub fn key_revoked(console: &str, l: Locale, project: &Project, k: &ApiKey) -> Mail {
    let w = catalog::words(l);
    let (subject, intro) = catalog::key_revoked(l, &k.name, &project.name);
    Letter {
        locale: l,
        to: k.holder.email.to_string(),
        subject,
        intro,
        facts: vec![
            (w.project, project_line(project)),
            (w.template, k.name.to_string()),
            (w.requester, person(&k.holder)),
            (w.key, k.id.to_string()),
            (
                w.status,
                decided(l, w.revoked, k.revoked_by.as_ref(), k.revoked_at.as_deref()),
            ),
        ],
        note: None,
        link: key_link(console, k.id.as_str()),
    }
    .render()
}

/// Requests listed in one digest at most; the mail says how many more wait in the console.
pub const DIGEST_MAX_LISTED: usize = 50;

/// To the owner, once a day when the project's digest is on: the pending requests, oldest first,
/// each with the link that opens it for approval. `pending` is not empty; `day` is `yyyy-mm-dd`.
pub fn digest(
    console: &str,
    l: Locale,
    project: &Project,
    pending: &[KeyRequest],
    day: &str,
) -> Mail {
    let w = catalog::words(l);
    let n = pending.len();
    let mut facts = vec![(w.project, project_line(project)), (w.day, l.day(day))];
    for r in pending.iter().take(DIGEST_MAX_LISTED) {
        facts.push((
            w.request,
            catalog::digest_line(
                l,
                &person(&r.requester),
                &r.template_name,
                &l.date_time(&r.created_at),
                &request_link(console, r),
            ),
        ));
    }
    if n > DIGEST_MAX_LISTED {
        facts.push((
            w.more,
            catalog::digest_more(l, (n - DIGEST_MAX_LISTED) as u64),
        ));
    }
    let (subject, intro) = catalog::digest(l, n as u64, &project.name);
    Letter {
        locale: l,
        to: project.owner.email.to_string(),
        subject,
        intro,
        facts,
        note: None,
        link: format!("{console}/projects/{}/keys", segment(project.id.as_str())),
    }
    .render()
}

/// To the holder, before their key expires (`days` is the reminder's threshold: 7, 1, …).
pub fn key_expiring(console: &str, l: Locale, project: &Project, k: &ApiKey, days: u32) -> Mail {
    let w = catalog::words(l);
    let expires = l.date_time(k.expires_at.as_deref().unwrap_or_default());
    let (subject, intro) = catalog::key_expiring(l, &k.name, &project.name, days, &expires);
    Letter {
        locale: l,
        to: k.holder.email.to_string(),
        subject,
        intro,
        facts: vec![
            (w.project, project_line(project)),
            (w.template, k.name.to_string()),
            (w.holder, person(&k.holder)),
            (w.key, k.id.to_string()),
            (w.expires_at, expires),
        ],
        note: None,
        link: key_link(console, k.id.as_str()),
    }
    .render()
}

/// Sends mail through SESv2 from one configured sender; built once per container.
#[derive(Clone, Debug)]
pub struct Mailer {
    client: aws_sdk_sesv2::Client,
    from: String,
}

fn utf8(data: &str) -> Result<Content> {
    Content::builder()
        .data(data)
        .charset("UTF-8")
        .build()
        .map_err(Error::internal)
}

impl Mailer {
    pub fn new(sdk: &aws_config::SdkConfig, from: impl Into<String>) -> Self {
        Self::with_client(aws_sdk_sesv2::Client::new(sdk), from)
    }

    /// A mailer over a given client (tests build one with the SDK's own test support).
    pub fn with_client(client: aws_sdk_sesv2::Client, from: impl Into<String>) -> Self {
        Mailer {
            client,
            from: from.into(),
        }
    }

    pub fn from_address(&self) -> &str {
        &self.from
    }

    /// Sends one mail as a simple message with a text and an HTML part; returns SES's message id.
    pub async fn send(&self, mail: &Mail) -> Result<String> {
        let message = Message::builder()
            .subject(utf8(&mail.subject)?)
            .body(
                Body::builder()
                    .text(utf8(&mail.text)?)
                    .html(utf8(&mail.html)?)
                    .build(),
            )
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(&mail.to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(ses_error)?;
        Ok(out.message_id.unwrap_or_default())
    }
}

/// Throttling and an unreachable SES are `Unavailable`; a refusal (unverified sender, paused
/// account, bad address) is `Internal` with SES's code. Both fail the record, so it is retried.
fn ses_error<E, R>(err: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    crate::error::from_sdk("SendEmail", err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::checks::{Name, Text};
    use crate::model::ids::{Email, KeyId, ProjectId, RequestId, RoleName, TemplateId, UserId};
    use crate::model::key::KeyStatus;
    use crate::model::request::RequestStatus;

    const CONSOLE: &str = "http://127.0.0.1:9000/console";

    fn someone(id: &str) -> Person {
        Person {
            id: UserId::parse("u", id).expect("id"),
            email: Email::parse("e", &format!("{id}@example.com")).expect("email"),
        }
    }

    fn project() -> Project {
        Project {
            id: ProjectId::parse("p", "server").expect("id"),
            name: Name::parse("test", "Weather <server> & \"friends\"").expect("checked"),
            owner: someone("alice"),
            created_at: "2026-01-01T00:00:00.000Z".into(),
            digest: Default::default(),
            notify: Default::default(),
        }
    }

    fn request(status: RequestStatus) -> KeyRequest {
        let decided = status != RequestStatus::Pending;
        KeyRequest {
            id: RequestId::parse("r", "01jreq").expect("id"),
            project_id: ProjectId::parse("p", "server").expect("id"),
            template_id: TemplateId::generate(),
            template_name: Name::parse("test", "Reader <script>alert('x')</script>")
                .expect("checked"),
            requester: someone("bob"),
            comment: Text::parse("test", "For the <b>nightly</b> job\nand the hourly one")
                .expect("checked"),
            status,
            reason: (status == RequestStatus::Rejected)
                .then(|| Text::parse("test", "Use the \"public\" template").expect("checked")),
            key_id: (status == RequestStatus::Approved)
                .then(|| KeyId::parse("k", "01jkey").expect("id")),
            created_at: "2026-01-02T00:00:00.000Z".into(),
            decided_at: decided.then(|| "2026-01-03T00:00:00.000Z".into()),
            decided_by: decided.then(|| someone("alice")),
        }
    }

    fn key() -> ApiKey {
        ApiKey {
            id: KeyId::parse("k", "01jkey").expect("id"),
            project_id: ProjectId::parse("p", "server").expect("id"),
            template_id: TemplateId::generate(),
            request_id: RequestId::parse("r", "01jreq").expect("id"),
            name: Name::parse("test", "Reader <script>alert('x')</script>").expect("checked"),
            role: RoleName::parse("r", "reader").expect("role"),
            holder: someone("bob"),
            fields: vec![],
            status: KeyStatus::Revoked,
            issued_at: "t".into(),
            expires_at: None,
            last_used_at: None,
            revoked_at: Some("2026-01-04T00:00:00.000Z".into()),
            revoked_by: Some(someone("alice")),
            replaced_by: None,
            grace_until: None,
            expired_seen_at: None,
            iss: "keygate".into(),
            aud: "platform-api:server".into(),
            iat: 0,
            exp: None,
            kid: "k1".into(),
        }
    }

    /// Both bodies name the project (id and name), the template, the requester and the
    /// decision; the HTML one only in escaped form.
    #[track_caller]
    fn assert_names_everything(mail: &Mail, decision: &str, link: &str) {
        for (part, body) in [("text", &mail.text), ("html", &mail.html)] {
            let esc = |s: &str| {
                if part == "html" {
                    escape_html(s)
                } else {
                    s.to_string()
                }
            };
            for needle in [
                "server",
                &esc("Weather <server> & \"friends\""),
                &esc("Reader <script>alert('x')</script>"),
                "bob",
                "bob@example.com",
                decision,
                link,
            ] {
                assert!(body.contains(needle), "{part} lacks {needle:?}:\n{body}");
            }
        }
        assert!(
            !mail.html.contains("<script>"),
            "html is escaped:\n{}",
            mail.html
        );
        assert!(
            !mail.html.contains("<server>"),
            "html is escaped:\n{}",
            mail.html
        );
        assert!(!mail.subject.contains('\n'));
    }

    #[test]
    fn request_created_goes_to_the_owner_with_the_comment() {
        let m = request_created(
            CONSOLE,
            Locale::En,
            &project(),
            &request(RequestStatus::Pending),
        );
        assert_eq!(m.to, "alice@example.com");
        assert!(
            m.subject.contains("bob requests an API key"),
            "{}",
            m.subject
        );
        assert_names_everything(
            &m,
            "pending",
            "http://127.0.0.1:9000/console/projects/server/requests/01jreq",
        );
        assert!(
            m.text
                .contains("For the <b>nightly</b> job\n  and the hourly one")
        );
        assert!(
            m.html
                .contains("For the &lt;b&gt;nightly&lt;/b&gt; job\nand the hourly one")
        );
    }

    #[test]
    fn approval_goes_to_the_requester_and_links_the_key() {
        let m = request_approved(
            CONSOLE,
            Locale::En,
            &project(),
            &request(RequestStatus::Approved),
        );
        assert_eq!(m.to, "bob@example.com");
        assert!(m.subject.contains("was approved"), "{}", m.subject);
        assert_names_everything(
            &m,
            "approved by alice (alice@example.com)",
            "http://127.0.0.1:9000/console/keys/01jkey",
        );
    }

    #[test]
    fn rejection_goes_to_the_requester_with_the_reason() {
        let m = request_rejected(
            CONSOLE,
            Locale::En,
            &project(),
            &request(RequestStatus::Rejected),
        );
        assert_eq!(m.to, "bob@example.com");
        assert!(m.subject.contains("was rejected"));
        assert_names_everything(
            &m,
            "rejected by alice",
            "/console/projects/server/requests/01jreq",
        );
        assert!(m.text.contains("Use the \"public\" template"));
        assert!(m.html.contains("Use the &quot;public&quot; template"));

        let mut silent = request(RequestStatus::Rejected);
        silent.reason = None;
        let m = request_rejected(CONSOLE, Locale::En, &project(), &silent);
        assert!(m.text.contains("No reason was given."));
    }

    #[test]
    fn cancellation_goes_to_the_requester_with_the_reason() {
        let mut r = request(RequestStatus::Cancelled);
        r.reason = Some(Text::parse("test", "the template was deleted").expect("checked"));
        let m = request_cancelled(CONSOLE, Locale::En, &project(), &r);
        assert_eq!(m.to, "bob@example.com");
        assert!(m.subject.contains("was cancelled"));
        assert_names_everything(
            &m,
            "cancelled by alice",
            "/console/projects/server/requests/01jreq",
        );
        assert!(m.text.contains("the template was deleted"));
        assert!(m.html.contains("the template was deleted"));
    }

    #[test]
    fn revocation_goes_to_the_holder() {
        let m = key_revoked(CONSOLE, Locale::En, &project(), &key());
        assert_eq!(m.to, "bob@example.com");
        assert!(m.subject.contains("was revoked"));
        assert_names_everything(
            &m,
            "revoked by alice",
            "http://127.0.0.1:9000/console/keys/01jkey",
        );
    }

    fn each_kind(l: Locale) -> Vec<(&'static str, Mail)> {
        let mut expiring = key();
        expiring.status = KeyStatus::Active;
        expiring.expires_at = Some("2026-12-07T14:05:00.000Z".into());
        let mut cancelled = request(RequestStatus::Cancelled);
        cancelled.reason = Some(Text::parse("test", "the template was deleted").expect("checked"));
        let pending: Vec<KeyRequest> = (0..2).map(|_| request(RequestStatus::Pending)).collect();
        vec![
            (
                "created",
                request_created(CONSOLE, l, &project(), &request(RequestStatus::Pending)),
            ),
            (
                "approved",
                request_approved(CONSOLE, l, &project(), &request(RequestStatus::Approved)),
            ),
            (
                "rejected",
                request_rejected(CONSOLE, l, &project(), &request(RequestStatus::Rejected)),
            ),
            (
                "cancelled",
                request_cancelled(CONSOLE, l, &project(), &cancelled),
            ),
            ("revoked", key_revoked(CONSOLE, l, &project(), &key())),
            (
                "digest",
                digest(CONSOLE, l, &project(), &pending, "2026-12-07"),
            ),
            (
                "expiring",
                key_expiring(CONSOLE, l, &project(), &expiring, 7),
            ),
        ]
    }

    /// Every kind of mail in Russian: Russian subject and both bodies, the manual's words, the
    /// values escaped in HTML as in English.
    #[test]
    fn every_mail_reads_in_russian() {
        let subjects = [
            ("created", "bob запрашивает API ключ по шаблону «"),
            (
                "approved",
                "» в проекте Weather <server> & \"friends\" одобрен",
            ),
            ("rejected", "отклонён"),
            ("cancelled", "отменён"),
            ("revoked", "Ваш API ключ по шаблону «"),
            (
                "digest",
                "2 запроса на получение API ключа ожидают решения в проекте",
            ),
            ("expiring", "истекает не позднее чем через 7 дней"),
        ];
        for ((kind, m), (want_kind, subject)) in each_kind(Locale::Ru).into_iter().zip(subjects) {
            assert_eq!(kind, want_kind);
            assert!(m.subject.contains(subject), "{kind}: {}", m.subject);
            for body in [&m.text, &m.html] {
                assert!(body.contains("Проект"), "{kind}: {body}");
                assert!(body.contains("Открыть в консоли keygate"), "{kind}: {body}");
                assert!(!body.contains("Open it in"), "{kind}: {body}");
            }
            assert!(m.html.contains("<html lang=\"ru\">"), "{kind}");
            assert!(!m.html.contains("<script>"), "{kind}: html is escaped");
            assert!(
                m.html
                    .contains(&escape_html("Reader <script>alert('x')</script>")),
                "{kind}"
            );
        }
        let by_kind: std::collections::HashMap<_, _> = each_kind(Locale::Ru).into_iter().collect();
        assert!(
            by_kind["approved"]
                .text
                .contains("одобрен: alice (alice@example.com), 3 января 2026 г., 00:00 UTC"),
            "{}",
            by_kind["approved"].text
        );
        assert!(by_kind["created"].text.contains("Дата запроса"));
        assert!(
            by_kind["created"]
                .text
                .contains("2 января 2026 г., 00:00 UTC")
        );
        assert!(by_kind["created"].text.contains("ожидает вашего решения"));
        assert!(by_kind["rejected"].text.contains("Причина"));
        assert!(by_kind["revoked"].text.contains("отозван: alice"));
        assert!(by_kind["digest"].text.contains("7 декабря 2026 г."));
        assert!(
            by_kind["expiring"]
                .text
                .contains("истекает 7 декабря 2026 г., 14:05 UTC")
        );
    }

    #[test]
    fn english_mails_format_dates_in_english() {
        let by_kind: std::collections::HashMap<_, _> = each_kind(Locale::En).into_iter().collect();
        assert!(
            by_kind["approved"]
                .text
                .contains("approved by alice (alice@example.com) at January 3, 2026, 00:00 UTC")
        );
        assert_eq!(
            by_kind["digest"].subject,
            "2 API key requests waiting in Weather <server> & \"friends\""
        );
        assert!(by_kind["digest"].text.contains("December 7, 2026"));
        assert!(
            by_kind["expiring"]
                .subject
                .contains("expires within 7 days")
        );
        assert!(
            by_kind["expiring"]
                .text
                .contains("expires at December 7, 2026, 14:05 UTC")
        );
    }

    #[test]
    fn russian_counts_agree_in_digest_and_reminder_subjects() {
        let one = digest(
            CONSOLE,
            Locale::Ru,
            &project(),
            &[request(RequestStatus::Pending)],
            "2026-12-07",
        );
        assert!(
            one.subject
                .starts_with("1 запрос на получение API ключа ожидает решения"),
            "{}",
            one.subject
        );
        let five: Vec<KeyRequest> = (0..5).map(|_| request(RequestStatus::Pending)).collect();
        let m = digest(CONSOLE, Locale::Ru, &project(), &five, "2026-12-07");
        assert!(
            m.subject
                .starts_with("5 запросов на получение API ключа ожидают")
        );
        let mut k = key();
        k.expires_at = Some("2026-12-07T14:05:00Z".into());
        for (days, want) in [(1, "1 день"), (2, "2 дня"), (7, "7 дней"), (21, "21 день")]
        {
            let m = key_expiring(CONSOLE, Locale::Ru, &project(), &k, days);
            assert!(m.subject.ends_with(want), "{days}: {}", m.subject);
        }
    }

    #[test]
    fn html_escaping_and_link_segments() {
        assert_eq!(
            escape_html(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(segment("ab-c_9"), "ab-c_9");
        assert_eq!(segment("a/b?c#d é"), "a%2Fb%3Fc%23d%20%C3%A9");
        assert_eq!(one_line("a\r\nb"), "a  b");
    }
}
