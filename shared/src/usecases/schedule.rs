//! The scheduled jobs (function `scheduler`, fired by EventBridge schedules): the owners' daily
//! digest of pending requests, and the holders' expiry reminders together with the once-only
//! "seen expired" mark on keys past their expiry. Every piece of work claims a marker item first
//! (per project and day, per key and threshold) and gives it back when its mail fails, so a
//! second firing does nothing twice and a failed mail goes out on the next try.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use crate::adapters::aws::try_aws_config;
use crate::adapters::mail::{self, Mailer};
use crate::config::{ConfigError, SchedulerConfig};
use crate::error::{Error, Result};
use crate::model::audit::AuditEntry;
use crate::model::ids::{ProjectId, UserId};
use crate::model::key::{ApiKey, KeyStatus};
use crate::model::locale::Locale;
use crate::model::page::PageRequest;
use crate::model::project::{Digest, Project};
use crate::model::user::resolve;
use crate::store::{Store, keys};

/// Markers of digests and reminders are kept this long (then TTL removes them): longer than any
/// reminder threshold, so a reminder is never sent twice for one key.
pub const SCHEDULE_MARKER_TTL_SECONDS: u64 = 120 * 24 * 3600;
/// Keys that expired up to this many days ago are still marked (a job that did not run for a
/// few days catches up).
pub const EXPIRED_LOOKBACK_DAYS: i64 = 7;

/// Which job an invocation runs: the schedule's input, e.g. `{"job": "digest"}`. `now` (RFC 3339)
/// runs the job as of another time; tests and `make reminders` use it, schedules do not.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobEvent {
    pub job: Job,
    #[serde(default)]
    pub now: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Job {
    Digest,
    Reminders,
}

/// What a run did (the function's answer, and one log line).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub job: Option<Job>,
    pub day: String,
    /// Projects (digest) or keys (reminders) looked at.
    pub checked: u32,
    pub mails_sent: u32,
    /// Work a marker says was done before (a second firing, a redelivery).
    pub already_done: u32,
    /// Keys newly marked as seen expired.
    pub marked_expired: u32,
    pub failed: u32,
}

/// The scheduler's state, built once per container.
pub struct Scheduler {
    store: Store,
    mailer: Mailer,
    console_url: String,
    /// Largest first.
    reminder_days: Vec<u32>,
    /// The language of recipients with no setting and no recorded token claim.
    default_locale: Locale,
}

impl Scheduler {
    pub fn new(store: Store, mailer: Mailer, console_url: String, reminder_days: Vec<u32>) -> Self {
        Scheduler {
            store,
            mailer,
            console_url,
            reminder_days,
            default_locale: crate::config::DEFAULT_LOCALE,
        }
    }

    /// The same, with another default language (`DEFAULT_LOCALE`).
    pub fn with_default_locale(mut self, locale: Locale) -> Self {
        self.default_locale = locale;
        self
    }

    /// The language to write to `user` in: their setting, their recorded token claim, the
    /// default.
    async fn locale_of(&self, user: &UserId) -> Result<Locale> {
        let settings = self.store.get_user_settings(user).await?;
        Ok(resolve(settings.as_ref(), self.default_locale).0)
    }

    pub async fn from_env() -> std::result::Result<Self, ConfigError> {
        let config = SchedulerConfig::from_env()?;
        let sdk = try_aws_config().await?;
        let default_locale = config.mail.default_locale;
        Ok(Scheduler::new(
            Store::new(&sdk, config.mail.table_name),
            Mailer::new(&sdk, config.mail.mail_from.as_str()),
            config.mail.console_url,
            config.reminder_days,
        )
        .with_default_locale(default_locale))
    }

    /// Runs the event's job. Work that failed is counted, its marker given back, and the run
    /// ends in an error after everything else was done, so the invocation's retry redoes it.
    pub async fn run(&self, event: JobEvent) -> Result<Report> {
        let now = match event.now.as_deref() {
            None => OffsetDateTime::now_utc(),
            Some(t) => OffsetDateTime::parse(t, &Rfc3339)
                .map_err(|_| Error::invalid("now", "must be an RFC 3339 time"))?,
        };
        let report = match event.job {
            Job::Digest => self.digest(now).await?,
            Job::Reminders => self.reminders(now).await?,
        };
        tracing::info!(job = ?report.job, day = %report.day, checked = report.checked, mails_sent = report.mails_sent, already_done = report.already_done, marked_expired = report.marked_expired, failed = report.failed, "scheduled job done");
        if report.failed > 0 {
            return Err(Error::Interrupted(format!(
                "{} of the job's mails failed; they go out on the retry",
                report.failed
            )));
        }
        Ok(report)
    }

    /// One mail per project with the digest on and pending requests, once per UTC day.
    pub async fn digest(&self, now: OffsetDateTime) -> Result<Report> {
        let day = day_of(now);
        let mut report = Report {
            job: Some(Job::Digest),
            day: day.clone(),
            ..Report::default()
        };
        let mut page = PageRequest {
            size: crate::model::page::MAX_PAGE_SIZE,
            cursor: None,
        };
        loop {
            let projects = self.store.list_digest_projects(&page).await?;
            for project in &projects.items {
                report.checked += 1;
                if let Err(e) = self.digest_one(project, &day, &mut report).await {
                    tracing::error!(project = %project.id, error = %e, "digest failed");
                    report.failed += 1;
                }
            }
            match projects.next {
                Some(cursor) => page.cursor = Some(cursor),
                None => break,
            }
        }
        Ok(report)
    }

    async fn digest_one(&self, project: &Project, day: &str, report: &mut Report) -> Result<()> {
        // The index may lag a settings change by a moment: the item's own setting decides.
        if project.digest != Digest::Daily {
            return Ok(());
        }
        let pending = self.store.pending_requests(&project.id).await?;
        if pending.is_empty() {
            return Ok(());
        }
        let marker = keys::digest_marker(&project.id, day);
        let l = self.locale_of(&project.owner.id).await?;
        let mail = mail::digest(&self.console_url, l, project, &pending, day);
        self.send_once(marker, "digest", &mail, report).await
    }

    /// Sends `mail` unless `marker` says it went out before: the marker is claimed first and
    /// given back when the send fails, so the next run sends it.
    async fn send_once(
        &self,
        marker: keys::Key,
        kind: &'static str,
        mail: &mail::Mail,
        report: &mut Report,
    ) -> Result<()> {
        if !self
            .store
            .claim_marker(marker.clone(), kind, SCHEDULE_MARKER_TTL_SECONDS)
            .await?
        {
            report.already_done += 1;
            return Ok(());
        }
        match self.mailer.send(mail).await {
            Ok(message_id) => {
                crate::adapters::metrics::count("mails_sent", &[("kind", kind)]);
                tracing::info!(kind, marker = %marker.sk, message_id, "scheduled mail sent");
                report.mails_sent += 1;
                Ok(())
            }
            Err(e) => {
                crate::adapters::metrics::count("mails_failed", &[("kind", kind)]);
                self.store.release_marker(marker).await?;
                Err(e)
            }
        }
    }

    /// Reminds holders of keys expiring within the largest threshold (one mail per key and
    /// threshold: the smallest threshold the time left falls under), never for revoked or
    /// rolled keys; marks keys found past their expiry.
    pub async fn reminders(&self, now: OffsetDateTime) -> Result<Report> {
        let mut report = Report {
            job: Some(Job::Reminders),
            day: day_of(now),
            ..Report::default()
        };
        let ahead = i64::from(self.reminder_days.first().copied().unwrap_or(0));
        let mut projects: HashMap<ProjectId, Option<Project>> = HashMap::new();
        for offset in -EXPIRED_LOOKBACK_DAYS..=ahead {
            let day = day_of(now + Duration::days(offset));
            for key in self.store.keys_expiring_on(&day).await? {
                report.checked += 1;
                if let Err(e) = self.remind_one(&key, now, &mut projects, &mut report).await {
                    tracing::error!(key = %key.id, error = %e, "reminder failed");
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }

    async fn remind_one(
        &self,
        key: &ApiKey,
        now: OffsetDateTime,
        projects: &mut HashMap<ProjectId, Option<Project>>,
        report: &mut Report,
    ) -> Result<()> {
        let Some(expires) = key
            .expires_at
            .as_deref()
            .and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
        else {
            return Ok(());
        };
        // Revoked, or rolled (its successor has its own expiry): nothing to remind of.
        if key.status == KeyStatus::Revoked || key.replaced_by.is_some() {
            return Ok(());
        }
        let left = expires - now;
        if left <= Duration::ZERO {
            if key.expired_seen_at.is_none()
                && self
                    .store
                    .mark_key_expired(
                        &key.id,
                        &crate::model::time::now(),
                        &AuditEntry::by_keygate(&key.project_id, "key.expired", "key", &key.id)
                            .key(&key.id),
                    )
                    .await?
            {
                tracing::info!(key = %key.id, "key seen expired");
                report.marked_expired += 1;
            }
            return Ok(());
        }
        let Some(days) = threshold(&self.reminder_days, left) else {
            return Ok(());
        };
        let project = match projects.get(&key.project_id) {
            Some(p) => p.clone(),
            None => {
                let p = self.store.get_project(&key.project_id).await?;
                projects.insert(key.project_id.clone(), p.clone());
                p
            }
        };
        let Some(project) = project else {
            return Ok(());
        };
        let marker = keys::reminder_marker(&key.id, days);
        let l = self.locale_of(&key.holder.id).await?;
        let mail = mail::key_expiring(&self.console_url, l, &project, key, days);
        self.send_once(marker, "expiry_reminder", &mail, report)
            .await
    }
}

fn day_of(t: OffsetDateTime) -> String {
    let d = t.date();
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// The reminder a key with `left` to live is due for: the smallest threshold (in days) that
/// `left` is within. `days` is sorted largest first.
pub fn threshold(days: &[u32], left: Duration) -> Option<u32> {
    days.iter()
        .rev()
        .copied()
        .find(|d| left <= Duration::days(i64::from(*d)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_due_reminder_is_the_smallest_threshold_the_time_left_is_within() {
        let days = [7, 1];
        assert_eq!(threshold(&days, Duration::days(8)), None);
        assert_eq!(threshold(&days, Duration::days(7)), Some(7));
        assert_eq!(threshold(&days, Duration::hours(7 * 24 - 1)), Some(7));
        assert_eq!(threshold(&days, Duration::days(2)), Some(7));
        assert_eq!(threshold(&days, Duration::hours(24)), Some(1));
        assert_eq!(threshold(&days, Duration::minutes(5)), Some(1));
        assert_eq!(threshold(&[], Duration::minutes(5)), None);
    }

    #[test]
    fn job_events_name_their_job_and_refuse_anything_else() {
        let e: JobEvent = serde_json::from_str(r#"{"job":"digest"}"#).expect("digest");
        assert_eq!(e.job, Job::Digest);
        let e: JobEvent =
            serde_json::from_str(r#"{"job":"reminders","now":"2026-01-01T00:00:00Z"}"#)
                .expect("reminders");
        assert_eq!(e.job, Job::Reminders);
        assert!(serde_json::from_str::<JobEvent>(r#"{"job":"sweep"}"#).is_err());
        assert!(serde_json::from_str::<JobEvent>(r#"{"job":"digest","x":1}"#).is_err());
    }

    #[test]
    fn days_are_utc_dates() {
        let t = OffsetDateTime::parse("2026-03-04T23:59:59Z", &Rfc3339).expect("time");
        assert_eq!(day_of(t), "2026-03-04");
    }
}
