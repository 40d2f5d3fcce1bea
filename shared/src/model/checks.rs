//! The checks of input every model type shares: display names ([`Name`]), free text ([`Text`]),
//! and `Check`, which collects every failing field of an input so one response names them all.

use serde::{Deserialize, Serialize};

use crate::error::{Error, FieldError, Result};

/// A display name as the model checked it: trimmed, 1..=`MAX` characters, no control characters
/// ([`check_name`]). Serialized as the plain string; read back from the table without a check,
/// as the ids are.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name<const MAX: usize>(String);

/// Free text as the model checked it: trimmed, at most `MAX` characters, no control characters
/// but newlines and tabs, may be empty ([`check_text`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Text<const MAX: usize>(String);

/// The methods of a checked string type: `parse` with its check, `as_str`, `Deref<Target = str>`,
/// `AsRef<str>`, `Display`, comparison with `str`, and `String::from`. `[const MAX]` for the
/// types bounded by a type parameter, `[]` for one with its own rule.
macro_rules! checked_string {
    ($name:ident, $check:ident) => {
        impl<const MAX: usize> $name<MAX> {
            /// The most characters a value may have.
            pub const MAX: usize = MAX;

            /// Checks `value` (named `field` in the error).
            pub fn parse(field: &str, value: &str) -> std::result::Result<Self, FieldError> {
                $check(field, value, MAX).map(Self)
            }
        }
        $crate::model::checks::checked_string!(@common [const MAX: usize] $name<MAX>);
    };
    (@plain $name:ident, $check:ident) => {
        impl $name {
            /// Checks `value` (named `field` in the error).
            pub fn parse(
                field: &str,
                value: &str,
            ) -> std::result::Result<Self, $crate::error::FieldError> {
                $check(field, value).map(Self)
            }
        }
        $crate::model::checks::checked_string!(@common [] $name);
    };
    (@common [$($generics:tt)*] $ty:ty) => {
        impl<$($generics)*> $ty {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl<$($generics)*> std::ops::Deref for $ty {
            type Target = str;
            fn deref(&self) -> &str {
                &self.0
            }
        }

        impl<$($generics)*> AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl<$($generics)*> std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<$($generics)*> PartialEq<str> for $ty {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl<$($generics)*> PartialEq<&str> for $ty {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl<$($generics)*> From<$ty> for String {
            fn from(v: $ty) -> String {
                v.0
            }
        }
    };
}
pub(crate) use checked_string;

checked_string!(Name, check_name);
checked_string!(Text, check_text);

/// Collects field errors so one response names every problem of an input.
#[derive(Debug, Default)]
pub struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs a parse; keeps its value, or records its error and yields `None`.
    pub fn take<T>(&mut self, r: std::result::Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.errors.push(e);
                None
            }
        }
    }

    pub fn push(&mut self, e: FieldError) {
        self.errors.push(e);
    }

    /// `Err(Invalid)` with every collected error, or `Ok` when there were none.
    pub fn finish(self) -> Result<()> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self.errors))
        }
    }
}

/// Checks a display name: trimmed, 1..=max characters, no control characters.
fn check_name(field: &str, value: &str, max: usize) -> std::result::Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if v.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if v.chars().any(char::is_control) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(v.to_string())
}

/// Checks free text: at most `max` characters; newlines and tabs allowed, other controls not.
fn check_text(field: &str, value: &str, max: usize) -> std::result::Result<String, FieldError> {
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r')
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters other than newlines and tabs",
        ));
    }
    Ok(value.trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_bounded_and_printable() {
        assert_eq!(check_name("name", "  Server  ", 10).expect("ok"), "Server");
        assert!(check_name("name", "   ", 10).is_err());
        assert!(check_name("name", &"x".repeat(11), 10).is_err());
        assert_eq!(
            check_name("name", &"é".repeat(10), 10)
                .expect("counts chars")
                .chars()
                .count(),
            10
        );
        assert!(check_name("name", "a\u{0}b", 10).is_err());
    }

    #[test]
    fn names_and_texts_keep_their_checks_and_serialize_as_strings() {
        let n = Name::<10>::parse("name", "  Server ").expect("ok");
        assert_eq!(n, "Server");
        assert_eq!(serde_json::to_string(&n).expect("json"), "\"Server\"");
        assert!(Name::<10>::parse("name", "").is_err());
        assert!(Name::<3>::parse("name", "abcd").is_err());
        let t = Text::<5>::parse("d", "").expect("empty text is fine");
        assert_eq!(t.as_str(), "");
        assert_eq!(Text::<5>::parse("d", "abcdef").unwrap_err().field, "d");
        let back: Name<10> = serde_json::from_str("\"Server\"").expect("read back");
        assert_eq!(back, n);
    }

    #[test]
    fn text_allows_newlines_only() {
        assert!(check_text("d", "line\nline\ttab", 100).is_ok());
        assert!(check_text("d", "bell\u{7}", 100).is_err());
        assert!(check_text("d", &"x".repeat(101), 100).is_err());
        assert_eq!(check_text("d", "", 100).expect("empty ok"), "");
    }

    #[test]
    fn check_collects_every_error() {
        let mut c = Check::new();
        c.take(check_name("a", "", 5));
        c.take(check_name("b", "", 5));
        match c.finish() {
            Err(Error::Invalid(e)) => assert_eq!(e.len(), 2),
            other => panic!("expected two errors, got {other:?}"),
        }
    }
}
