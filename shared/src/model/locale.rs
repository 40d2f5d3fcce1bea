//! The languages keygate writes mail in (`Locale`: Russian and English), their plural rules
//! (CLDR's cardinal rules for whole numbers, written out: `Locale::plural`) and how dates and
//! times read in each (`Locale::date`, `Locale::date_time`, always in UTC and saying so).

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, UtcOffset};

/// A language of keygate's mail.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    Ru,
    En,
}

/// CLDR plural categories used by Russian and English whole numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plural {
    One,
    Few,
    Many,
    Other,
}

impl Locale {
    pub const ALL: [Locale; 2] = [Locale::Ru, Locale::En];

    pub fn as_str(self) -> &'static str {
        match self {
            Locale::Ru => "ru",
            Locale::En => "en",
        }
    }

    /// Exactly `ru` or `en` (a setting, `DEFAULT_LOCALE`).
    pub fn parse(s: &str) -> Option<Locale> {
        match s {
            "ru" => Some(Locale::Ru),
            "en" => Some(Locale::En),
            _ => None,
        }
    }

    /// A BCP 47 language tag as identity providers send it in the OIDC `locale` claim (`ru`,
    /// `ru-RU`, `en_US`, `EN`): its primary language, when it is one of ours.
    pub fn from_tag(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or_default();
        Locale::parse(&primary.to_ascii_lowercase())
    }

    /// The CLDR cardinal category of the whole number `n`. Russian: `one` when n ends in 1 but
    /// not 11; `few` when it ends in 2–4 but not 12–14; `many` otherwise. English: `one` for 1,
    /// `other` otherwise.
    pub fn plural(self, n: u64) -> Plural {
        match self {
            Locale::Ru => {
                let (m10, m100) = (n % 10, n % 100);
                if m10 == 1 && m100 != 11 {
                    Plural::One
                } else if (2..=4).contains(&m10) && !(12..=14).contains(&m100) {
                    Plural::Few
                } else {
                    Plural::Many
                }
            }
            Locale::En if n == 1 => Plural::One,
            Locale::En => Plural::Other,
        }
    }

    /// `n` and the form of a noun that goes with it: `forms` is (one, few, many); English uses
    /// `one` and `many` (its `other`).
    pub fn count(self, n: u64, forms: (&str, &str, &str)) -> String {
        let word = match self.plural(n) {
            Plural::One => forms.0,
            Plural::Few => forms.1,
            Plural::Many | Plural::Other => forms.2,
        };
        format!("{n} {word}")
    }

    /// A calendar day: "7 декабря 2026 г." / "December 7, 2026".
    pub fn date(self, d: Date) -> String {
        let day = d.day();
        let year = d.year();
        match self {
            Locale::Ru => format!("{day} {} {year} г.", month_ru_genitive(d.month())),
            Locale::En => format!("{} {day}, {year}", d.month()),
        }
    }

    /// A moment, in UTC: "7 декабря 2026 г., 14:05 UTC" / "December 7, 2026, 14:05 UTC".
    pub fn moment(self, t: OffsetDateTime) -> String {
        let t = t.to_offset(UtcOffset::UTC);
        format!(
            "{}, {:02}:{:02} UTC",
            self.date(t.date()),
            t.hour(),
            t.minute()
        )
    }

    /// An RFC 3339 time as stored (`2026-12-07T14:05:00.000Z`) in this language; anything that
    /// does not parse is shown as it is.
    pub fn date_time(self, rfc3339: &str) -> String {
        match OffsetDateTime::parse(rfc3339, &Rfc3339) {
            Ok(t) => self.moment(t),
            Err(_) => rfc3339.to_string(),
        }
    }

    /// A stored day (`yyyy-mm-dd`) in this language; anything else is shown as it is.
    pub fn day(self, yyyy_mm_dd: &str) -> String {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        match Date::parse(yyyy_mm_dd, &format) {
            Ok(d) => self.date(d),
            Err(_) => yyyy_mm_dd.to_string(),
        }
    }
}

impl std::fmt::Display for Locale {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

fn month_ru_genitive(m: Month) -> &'static str {
    match m {
        Month::January => "января",
        Month::February => "февраля",
        Month::March => "марта",
        Month::April => "апреля",
        Month::May => "мая",
        Month::June => "июня",
        Month::July => "июля",
        Month::August => "августа",
        Month::September => "сентября",
        Month::October => "октября",
        Month::November => "ноября",
        Month::December => "декабря",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_plurals_follow_cldr() {
        let cases = [
            (0, Plural::Many),
            (1, Plural::One),
            (2, Plural::Few),
            (4, Plural::Few),
            (5, Plural::Many),
            (11, Plural::Many),
            (12, Plural::Many),
            (14, Plural::Many),
            (21, Plural::One),
            (22, Plural::Few),
            (25, Plural::Many),
            (101, Plural::One),
            (111, Plural::Many),
            (112, Plural::Many),
            (1001, Plural::One),
        ];
        for (n, want) in cases {
            assert_eq!(Locale::Ru.plural(n), want, "{n}");
        }
    }

    #[test]
    fn english_plurals_are_one_and_other() {
        for n in [0, 2, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111] {
            assert_eq!(Locale::En.plural(n), Plural::Other, "{n}");
        }
        assert_eq!(Locale::En.plural(1), Plural::One);
    }

    #[test]
    fn counts_take_the_matching_form() {
        let requests = ("запрос", "запроса", "запросов");
        let got: Vec<String> = [1, 2, 5, 11, 21]
            .iter()
            .map(|n| Locale::Ru.count(*n, requests))
            .collect();
        assert_eq!(
            got,
            [
                "1 запрос",
                "2 запроса",
                "5 запросов",
                "11 запросов",
                "21 запрос"
            ]
        );
        let days = ("день", "дня", "дней");
        assert_eq!(Locale::Ru.count(1, days), "1 день");
        assert_eq!(Locale::Ru.count(2, days), "2 дня");
        assert_eq!(Locale::Ru.count(5, days), "5 дней");
        assert_eq!(Locale::En.count(1, ("day", "days", "days")), "1 day");
        assert_eq!(Locale::En.count(7, ("day", "days", "days")), "7 days");
    }

    #[test]
    fn dates_read_as_each_language_writes_them() {
        assert_eq!(Locale::Ru.day("2026-12-07"), "7 декабря 2026 г.");
        assert_eq!(Locale::En.day("2026-12-07"), "December 7, 2026");
        assert_eq!(Locale::Ru.day("2026-03-01"), "1 марта 2026 г.");
        assert_eq!(Locale::Ru.day("2026-05-31"), "31 мая 2026 г.");
        assert_eq!(
            Locale::Ru.date_time("2026-12-07T14:05:09.123Z"),
            "7 декабря 2026 г., 14:05 UTC"
        );
        assert_eq!(
            Locale::En.date_time("2026-12-07T14:05:09Z"),
            "December 7, 2026, 14:05 UTC"
        );
        // Another offset is shown in UTC (here the day before).
        assert_eq!(
            Locale::En.date_time("2026-01-01T01:30:00+03:00"),
            "December 31, 2025, 22:30 UTC"
        );
        assert_eq!(Locale::Ru.date_time("t"), "t");
        assert_eq!(Locale::En.day("someday"), "someday");
    }

    #[test]
    fn locales_parse_exactly_and_tags_by_their_language() {
        assert_eq!(Locale::parse("ru"), Some(Locale::Ru));
        assert_eq!(Locale::parse("en"), Some(Locale::En));
        for bad in ["RU", "ru-RU", "de", "", " en"] {
            assert_eq!(Locale::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Locale::from_tag("ru-RU"), Some(Locale::Ru));
        assert_eq!(Locale::from_tag("en_GB"), Some(Locale::En));
        assert_eq!(Locale::from_tag("EN"), Some(Locale::En));
        assert_eq!(Locale::from_tag("de-DE"), None);
        assert_eq!(Locale::from_tag(""), None);
        assert_eq!(
            serde_json::to_string(&Locale::Ru).expect("json"),
            "\"ru\"".to_string()
        );
    }
}
