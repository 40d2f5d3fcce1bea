//! Usage statistics of keys (API.md "Usage"): a key's calls over a range of days, by day or hour,
//! allowed and denied, by route; and the owner's roll-up of a project's keys. Counters are summed
//! over the items of each day (one per container that counted: `keygate::usecases::counting`; numbered
//! shards from earlier versions alike); a range without use is zeros, not an error.

use std::collections::BTreeMap;

use serde::Serialize;
use time::{Date, Duration, OffsetDateTime};

use super::key::{self, ApiKey};
use crate::access;
use crate::error::{Error, FieldError, Result};
use crate::model::caller::Caller;
use crate::model::ids::{KeyId, ProjectId, UserId};
use crate::model::template::TemplateName;
use crate::store::{Store, UsageShard};

/// Longest range, in days (inclusive of both ends).
pub const RANGE_MAX_DAYS: i64 = 366;
/// The range when none is given: the last 30 days, today included.
pub const RANGE_DEFAULT_DAYS: i64 = 30;
/// Keys whose usage a project roll-up reads at the same time.
const ROLLUP_CONCURRENCY: usize = 8;

const DAY_FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
    time::macros::format_description!("[year]-[month]-[day]");

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Day,
    Hour,
}

/// A checked range of whole days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub from: Date,
    pub to: Date,
    pub granularity: Granularity,
}

fn day_text(d: Date) -> String {
    d.format(DAY_FORMAT).unwrap_or_default()
}

impl Range {
    /// From the query parameters `from`, `to` (`yyyy-mm-dd`, inclusive) and `granularity`
    /// (`day` or `hour`); each bad one is named.
    pub fn parse(from: Option<&str>, to: Option<&str>, granularity: Option<&str>) -> Result<Self> {
        let today = OffsetDateTime::now_utc().date();
        let mut errors = Vec::new();
        let mut day = |name: &str, v: Option<&str>| -> Option<Date> {
            let v = v.filter(|v| !v.is_empty())?;
            match Date::parse(v, DAY_FORMAT) {
                Ok(d) => Some(d),
                Err(_) => {
                    errors.push(FieldError::new(name, "must be a date as yyyy-mm-dd"));
                    None
                }
            }
        };
        let to_given = day("to", to);
        let from_given = day("from", from);
        let granularity = match granularity.filter(|g| !g.is_empty()) {
            None | Some("day") => Granularity::Day,
            Some("hour") => Granularity::Hour,
            Some(_) => {
                errors.push(FieldError::new("granularity", "must be day or hour"));
                Granularity::Day
            }
        };
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let to = to_given.unwrap_or(today);
        let from = from_given.unwrap_or(to - Duration::days(RANGE_DEFAULT_DAYS - 1));
        if from > to {
            return Err(Error::invalid("from", "must not be after to"));
        }
        if (to - from).whole_days() + 1 > RANGE_MAX_DAYS {
            return Err(Error::invalid(
                "from",
                format!("the range from..to must be at most {RANGE_MAX_DAYS} days"),
            ));
        }
        Ok(Range {
            from,
            to,
            granularity,
        })
    }

    fn days(&self) -> impl Iterator<Item = Date> + '_ {
        let span = (self.to - self.from).whole_days();
        (0..=span).map(move |i| self.from + Duration::days(i))
    }
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(as = Counts))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Point {
    /// The day (`yyyy-mm-dd`) or the hour (`yyyy-mm-ddThh:00:00Z`).
    pub t: String,
    pub total: u64,
    pub allowed: u64,
    pub denied: u64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteTotal {
    pub route: String,
    pub total: u64,
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonTotal {
    pub reason: String,
    pub total: u64,
}

/// `GET /v1/keys/{k}/usage`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyUsage {
    pub key_id: KeyId,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::schema::Day))]
    pub from: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::schema::Day))]
    pub to: String,
    pub granularity: Granularity,
    pub total: u64,
    pub allowed: u64,
    pub denied: u64,
    pub series: Vec<Point>,
    pub routes: Vec<RouteTotal>,
    pub denied_by_reason: Vec<ReasonTotal>,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::schema::Timestamp>))]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub last_used_at: Option<String>,
}

/// Sums a key's counter items (any number per day) into its usage over `range`.
pub fn summarize(k: &KeyId, range: &Range, shards: &[UsageShard]) -> KeyUsage {
    let mut days: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    let mut routes: BTreeMap<String, u64> = BTreeMap::new();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    let mut last_used_at: Option<String> = None;
    for s in shards {
        let day = days.entry(s.day.as_str()).or_default();
        for (name, n) in &s.counters {
            *day.entry(name.as_str()).or_default() += n;
            if let Some(r) = name.strip_prefix("r:") {
                *routes.entry(r.to_string()).or_default() += n;
            } else if let Some(r) = name.strip_prefix("d:") {
                *reasons.entry(r.to_string()).or_default() += n;
            }
        }
        if s.last_used_at > last_used_at {
            last_used_at = s.last_used_at.clone();
        }
    }
    let get = |day: &str, name: &str| -> u64 {
        days.get(day)
            .and_then(|d| d.get(name))
            .copied()
            .unwrap_or(0)
    };
    let mut series = Vec::new();
    for d in range.days() {
        let day = day_text(d);
        match range.granularity {
            Granularity::Day => {
                let (total, denied) = (get(&day, "total"), get(&day, "denied"));
                series.push(point(day.clone(), total, denied));
            }
            Granularity::Hour => {
                for h in 0..24 {
                    let total = get(&day, &format!("h{h:02}"));
                    let denied = get(&day, &format!("hd{h:02}"));
                    series.push(point(format!("{day}T{h:02}:00:00Z"), total, denied));
                }
            }
        }
    }
    let total: u64 = range.days().map(|d| get(&day_text(d), "total")).sum();
    let denied: u64 = range.days().map(|d| get(&day_text(d), "denied")).sum();
    let mut routes: Vec<RouteTotal> = routes
        .into_iter()
        .map(|(route, total)| RouteTotal { route, total })
        .collect();
    routes.sort_by(|a, b| b.total.cmp(&a.total).then(a.route.cmp(&b.route)));
    KeyUsage {
        key_id: k.clone(),
        from: day_text(range.from),
        to: day_text(range.to),
        granularity: range.granularity,
        total,
        allowed: total.saturating_sub(denied),
        denied,
        series,
        routes,
        denied_by_reason: reasons
            .into_iter()
            .map(|(reason, total)| ReasonTotal { reason, total })
            .collect(),
        last_used_at,
    }
}

fn point(t: String, total: u64, denied: u64) -> Point {
    Point {
        t,
        total,
        allowed: total.saturating_sub(denied),
        denied,
    }
}

async fn usage_of(store: &Store, k: &KeyId, range: &Range) -> Result<KeyUsage> {
    let shards = store
        .usage_between(k, &day_text(range.from), &day_text(range.to))
        .await?;
    Ok(summarize(k, range, &shards))
}

/// A key's usage: its holder, or its project's owner.
pub async fn key_usage(
    store: &Store,
    caller: &Caller,
    k: &KeyId,
    range: &Range,
) -> Result<KeyUsage> {
    let _: ApiKey = key::visible(store, caller, k).await?;
    usage_of(store, k, range).await
}

#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyTotals {
    pub key_id: KeyId,
    pub name: TemplateName,
    pub holder: UserId,
    pub status: key::KeyStatus,
    pub total: u64,
    pub allowed: u64,
    pub denied: u64,
    #[cfg_attr(feature = "openapi", schema(value_type = Option<crate::model::schema::Timestamp>))]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub last_used_at: Option<String>,
}

/// `GET /v1/projects/{p}/usage`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectUsage {
    pub project_id: ProjectId,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::schema::Day))]
    pub from: String,
    #[cfg_attr(feature = "openapi", schema(value_type = crate::model::schema::Day))]
    pub to: String,
    pub items: Vec<KeyTotals>,
}

/// Every key of a project with its totals over the range (the owner's).
pub async fn project_usage(
    store: &Store,
    caller: &Caller,
    p: &ProjectId,
    range: &Range,
) -> Result<ProjectUsage> {
    access::require_owner(store, p, caller).await?;
    let keys = store.all_project_keys(p).await?;
    let mut items = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(ROLLUP_CONCURRENCY) {
        let reads = chunk.iter().map(|k| usage_of(store, &k.id, range));
        for (k, usage) in chunk
            .iter()
            .zip(futures_util::future::join_all(reads).await)
        {
            let usage = usage?;
            items.push(KeyTotals {
                key_id: k.id.clone(),
                name: k.name.clone(),
                holder: k.holder.id.clone(),
                status: k.view().status,
                total: usage.total,
                allowed: usage.allowed,
                denied: usage.denied,
                last_used_at: usage.last_used_at,
            });
        }
    }
    Ok(ProjectUsage {
        project_id: p.clone(),
        from: day_text(range.from),
        to: day_text(range.to),
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn d(s: &str) -> Date {
        Date::parse(s, DAY_FORMAT).expect("date")
    }

    #[test]
    fn ranges_default_and_are_checked() {
        let r = Range::parse(None, None, None).expect("default");
        assert_eq!((r.to - r.from).whole_days() + 1, RANGE_DEFAULT_DAYS);
        let r = Range::parse(Some("2026-01-01"), Some("2026-12-31"), Some("hour")).expect("ok");
        assert_eq!(r.granularity, Granularity::Hour);
        let names = |e: Error| match e {
            Error::Invalid(f) => f.into_iter().map(|f| f.field).collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            names(Range::parse(Some("2026-13-01"), Some("x"), Some("week")).expect_err("bad")),
            vec!["to", "from", "granularity"]
        );
        assert_eq!(
            names(Range::parse(Some("2026-02-01"), Some("2026-01-01"), None).expect_err("order")),
            vec!["from"]
        );
        assert!(
            Range::parse(Some("2025-01-01"), Some("2026-01-01"), None).is_ok(),
            "366 days"
        );
        assert!(
            Range::parse(Some("2024-12-31"), Some("2026-01-01"), None).is_err(),
            "367 days"
        );
    }

    #[test]
    fn shards_are_summed_and_empty_days_are_zeros() {
        let k = KeyId::parse("k", "k1").expect("id");
        let shard = |day: &str, pairs: &[(&str, u64)], last: &str| UsageShard {
            day: day.into(),
            counters: pairs
                .iter()
                .map(|(n, c)| (n.to_string(), *c))
                .collect::<HashMap<_, _>>(),
            last_used_at: Some(last.into()),
        };
        let shards = vec![
            shard(
                "2026-03-02",
                &[
                    ("total", 3),
                    ("denied", 1),
                    ("h07", 3),
                    ("hd07", 1),
                    ("r:GET /a", 2),
                    ("r:unknown", 1),
                    ("d:revoked", 1),
                ],
                "2026-03-02T07:10:00.000Z",
            ),
            shard(
                "2026-03-02",
                &[("total", 2), ("h09", 2), ("r:GET /a", 2)],
                "2026-03-02T09:00:00.000Z",
            ),
        ];
        let range = Range {
            from: d("2026-03-01"),
            to: d("2026-03-03"),
            granularity: Granularity::Day,
        };
        let u = summarize(&k, &range, &shards);
        assert_eq!((u.total, u.allowed, u.denied), (5, 4, 1));
        assert_eq!(u.series.len(), 3);
        assert_eq!(u.series[0], point("2026-03-01".into(), 0, 0));
        assert_eq!(u.series[1], point("2026-03-02".into(), 5, 1));
        assert_eq!(
            u.routes[0],
            RouteTotal {
                route: "GET /a".into(),
                total: 4
            }
        );
        assert_eq!(
            u.denied_by_reason,
            vec![ReasonTotal {
                reason: "revoked".into(),
                total: 1
            }]
        );
        assert_eq!(u.last_used_at.as_deref(), Some("2026-03-02T09:00:00.000Z"));
        let hourly = summarize(
            &k,
            &Range {
                granularity: Granularity::Hour,
                ..range
            },
            &shards,
        );
        assert_eq!(hourly.series.len(), 72);
        assert_eq!(
            hourly.series[24 + 7],
            point("2026-03-02T07:00:00Z".into(), 3, 1)
        );
        assert_eq!(hourly.series[24 + 9].allowed, 2);
    }
}
