//! Notification mail: composed here in plain Rust (no SES templates), one function per kind, each
//! building its subject and its text and HTML bodies from the same facts (every value
//! HTML-escaped), and sent with SESv2 as a simple message carrying both parts.

use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};

use crate::error::{Error, Result};
use crate::model::key::ApiKey;
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

fn decided(by: Option<&Person>, at: Option<&str>) -> String {
    let mut s = String::new();
    if let Some(by) = by {
        s.push_str(&format!(" by {}", person(by)));
    }
    if let Some(at) = at {
        s.push_str(&format!(" at {at}"));
    }
    s
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
        const FOOTER: &str = "You get this mail because of your part in a keygate API-key request.";
        let width = self.facts.iter().map(|(l, _)| l.len()).max().unwrap_or(0) + 1;

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
            "\nOpen it in the keygate console: {}\n\n-- \n{FOOTER}\n",
            self.link
        ));

        let mut html = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{}</title></head>\n\
             <body style=\"font-family: sans-serif; line-height: 1.4\">\n<p>{}</p>\n\
             <table cellpadding=\"4\" style=\"border-collapse: collapse\">\n",
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
            "<p><a href=\"{}\">Open it in the keygate console</a></p>\n\
             <p style=\"color: #666666; font-size: small\">{FOOTER}</p>\n</body></html>\n",
            escape_html(&self.link)
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
pub fn request_created(console: &str, project: &Project, r: &KeyRequest) -> Mail {
    let comment = r.comment.trim();
    Letter {
        to: project.owner.email.to_string(),
        subject: format!(
            "{} requests an API key for \"{}\" in {}",
            r.requester.id, r.template_name, project.name
        ),
        intro: format!(
            "{} asked for an API key from your template \"{}\". Approve or reject the request in the console.",
            r.requester.id, r.template_name
        ),
        facts: vec![
            ("Project", project_line(project)),
            ("Template", r.template_name.clone()),
            ("Requester", person(&r.requester)),
            ("Requested at", r.created_at.clone()),
            ("Decision", "pending: waiting for your approval".into()),
        ],
        note: (!comment.is_empty()).then(|| ("Comment from the requester", comment.to_string())),
        link: request_link(console, r),
    }
    .render()
}

/// To the requester: the owner approved; the requester now holds a key.
pub fn request_approved(console: &str, project: &Project, r: &KeyRequest) -> Mail {
    let mut facts = vec![
        ("Project", project_line(project)),
        ("Template", r.template_name.clone()),
        ("Requester", person(&r.requester)),
        (
            "Decision",
            format!(
                "approved{}",
                decided(r.decided_by.as_ref(), r.decided_at.as_deref())
            ),
        ),
    ];
    if let Some(k) = &r.key_id {
        facts.push(("Key", k.to_string()));
    }
    Letter {
        to: r.requester.email.to_string(),
        subject: format!(
            "Your API key request for \"{}\" in {} was approved",
            r.template_name, project.name
        ),
        intro: format!(
            "Your request for an API key from \"{}\" was approved: the key is yours. Import it into your client project from the console.",
            r.template_name
        ),
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
pub fn request_rejected(console: &str, project: &Project, r: &KeyRequest) -> Mail {
    Letter {
        to: r.requester.email.to_string(),
        subject: format!(
            "Your API key request for \"{}\" in {} was rejected",
            r.template_name, project.name
        ),
        intro: format!(
            "Your request for an API key from \"{}\" was rejected.",
            r.template_name
        ),
        facts: vec![
            ("Project", project_line(project)),
            ("Template", r.template_name.clone()),
            ("Requester", person(&r.requester)),
            (
                "Decision",
                format!(
                    "rejected{}",
                    decided(r.decided_by.as_ref(), r.decided_at.as_deref())
                ),
            ),
        ],
        note: Some((
            "Reason",
            r.reason
                .clone()
                .filter(|s| !s.trim().is_empty())
                .unwrap_or_else(|| "No reason was given.".into()),
        )),
        link: request_link(console, r),
    }
    .render()
}

/// To the requester: someone else closed the pending request (e.g. the template was deleted).
pub fn request_cancelled(console: &str, project: &Project, r: &KeyRequest) -> Mail {
    Letter {
        to: r.requester.email.to_string(),
        subject: format!(
            "Your API key request for \"{}\" in {} was cancelled",
            r.template_name, project.name
        ),
        intro: format!(
            "Your pending request for an API key from \"{}\" was cancelled. You may ask again once the project offers a template for it.",
            r.template_name
        ),
        facts: vec![
            ("Project", project_line(project)),
            ("Template", r.template_name.clone()),
            ("Requester", person(&r.requester)),
            (
                "Decision",
                format!(
                    "cancelled{}",
                    decided(r.decided_by.as_ref(), r.decided_at.as_deref())
                ),
            ),
        ],
        note: r
            .reason
            .clone()
            .filter(|s| !s.trim().is_empty())
            .map(|reason| ("Reason", reason)),
        link: request_link(console, r),
    }
    .render()
}

/// To the key's holder: the key no longer verifies.
pub fn key_revoked(console: &str, project: &Project, k: &ApiKey) -> Mail {
    Letter {
        to: k.holder.email.to_string(),
        subject: format!(
            "Your API key for \"{}\" in {} was revoked",
            k.name, project.name
        ),
        intro: format!(
            "Your API key from \"{}\" was revoked: calls made with it are refused from now on. Secrets you imported it into no longer work.",
            k.name
        ),
        facts: vec![
            ("Project", project_line(project)),
            ("Template", k.name.clone()),
            ("Requester", person(&k.holder)),
            ("Key", k.id.to_string()),
            (
                "Decision",
                format!(
                    "revoked{}",
                    decided(k.revoked_by.as_ref(), k.revoked_at.as_deref())
                ),
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
/// each with the link that opens it for approval. `pending` is not empty.
pub fn digest(console: &str, project: &Project, pending: &[KeyRequest], day: &str) -> Mail {
    let n = pending.len();
    let mut facts = vec![("Project", project_line(project)), ("Day", day.to_string())];
    for r in pending.iter().take(DIGEST_MAX_LISTED) {
        facts.push((
            "Request",
            format!(
                "{} for \"{}\", since {}: {}",
                person(&r.requester),
                r.template_name,
                r.created_at,
                request_link(console, r)
            ),
        ));
    }
    if n > DIGEST_MAX_LISTED {
        facts.push((
            "More",
            format!("{} more in the console", n - DIGEST_MAX_LISTED),
        ));
    }
    Letter {
        to: project.owner.email.to_string(),
        subject: format!(
            "{n} API key request{} waiting in {}",
            if n == 1 { "" } else { "s" },
            project.name
        ),
        intro: format!(
            "{n} request{} for API keys of {} {} waiting for your decision, oldest first. Open one to approve or reject it.",
            if n == 1 { "" } else { "s" },
            project.name,
            if n == 1 { "is" } else { "are" }
        ),
        facts,
        note: None,
        link: format!("{console}/projects/{}/keys", segment(project.id.as_str())),
    }
    .render()
}

/// To the holder, before their key expires (`days` is the reminder's threshold: 7, 1, …).
pub fn key_expiring(console: &str, project: &Project, k: &ApiKey, days: u32) -> Mail {
    let expires = k.expires_at.clone().unwrap_or_default();
    let when = if days == 1 {
        "within a day".to_string()
    } else {
        format!("within {days} days")
    };
    Letter {
        to: k.holder.email.to_string(),
        subject: format!(
            "Your API key for \"{}\" in {} expires {when}",
            k.name, project.name
        ),
        intro: format!(
            "Your API key from \"{}\" expires at {expires}; calls made with it are refused from then on. Request a new key before then and import it under the same prefix.",
            k.name
        ),
        facts: vec![
            ("Project", project_line(project)),
            ("Template", k.name.clone()),
            ("Holder", person(&k.holder)),
            ("Key", k.id.to_string()),
            ("Expires at", expires),
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
    use crate::domain::ids::{Email, KeyId, ProjectId, RequestId, RoleName, TemplateId, UserId};
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
            name: "Weather <server> & \"friends\"".into(),
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
            template_name: "Reader <script>alert('x')</script>".into(),
            requester: someone("bob"),
            comment: "For the <b>nightly</b> job\nand the hourly one".into(),
            status,
            reason: (status == RequestStatus::Rejected)
                .then(|| "Use the \"public\" template".into()),
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
            name: "Reader <script>alert('x')</script>".into(),
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
        let m = request_created(CONSOLE, &project(), &request(RequestStatus::Pending));
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
        let m = request_approved(CONSOLE, &project(), &request(RequestStatus::Approved));
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
        let m = request_rejected(CONSOLE, &project(), &request(RequestStatus::Rejected));
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
        let m = request_rejected(CONSOLE, &project(), &silent);
        assert!(m.text.contains("No reason was given."));
    }

    #[test]
    fn cancellation_goes_to_the_requester_with_the_reason() {
        let mut r = request(RequestStatus::Cancelled);
        r.reason = Some("the template was deleted".into());
        let m = request_cancelled(CONSOLE, &project(), &r);
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
        let m = key_revoked(CONSOLE, &project(), &key());
        assert_eq!(m.to, "bob@example.com");
        assert!(m.subject.contains("was revoked"));
        assert_names_everything(
            &m,
            "revoked by alice",
            "http://127.0.0.1:9000/console/keys/01jkey",
        );
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
