//! The console's files and the API's OpenAPI document (infra/openapi.json), embedded at build
//! time, each with a content type and an ETag (a hash of its bytes, computed once per container).

use std::sync::OnceLock;

/// Only our own origin: no inline script, no third-party anything.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; \
     base-uri 'none'; frame-ancestors 'none'";

pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub bytes: &'static [u8],
    /// The same bytes gzipped (by build.rs), for clients that accept gzip.
    pub gzipped: &'static [u8],
    etag: OnceLock<String>,
}

impl Asset {
    const fn new(
        name: &'static str,
        content_type: &'static str,
        bytes: &'static [u8],
        gzipped: &'static [u8],
    ) -> Self {
        Asset {
            name,
            content_type,
            bytes,
            gzipped,
            etag: OnceLock::new(),
        }
    }

    /// A weak ETag (the gzipped and the plain body are the same content): FNV-1a over the
    /// bytes, not for security, only to tell versions apart.
    pub fn etag(&self) -> &str {
        self.etag.get_or_init(|| {
            let hash = self.bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
            });
            format!("W/\"{hash:016x}\"")
        })
    }
}

/// One embedded file: its bytes from assets/ and their gzipped form from build.rs.
macro_rules! asset {
    ($name:literal, $content_type:literal) => {
        Asset::new(
            $name,
            $content_type,
            include_bytes!(concat!("../assets/", $name)),
            include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".gz")),
        )
    };
}

static ASSETS: [Asset; 7] = [
    asset!("index.html", "text/html; charset=utf-8"),
    asset!("app.js", "text/javascript; charset=utf-8"),
    asset!("app.css", "text/css; charset=utf-8"),
    asset!("icon.svg", "image/svg+xml"),
    // The languages: app.js imports these modules (same origin, so the CSP stays as it is).
    asset!("i18n/i18n.js", "text/javascript; charset=utf-8"),
    asset!("i18n/en.js", "text/javascript; charset=utf-8"),
    asset!("i18n/ru.js", "text/javascript; charset=utf-8"),
];

/// The API's OpenAPI 3.1 document, served at `GET /v1/openapi.json` (not under /console/assets/).
static OPENAPI: Asset = Asset::new(
    "openapi.json",
    "application/json",
    include_bytes!("../../../infra/openapi.json"),
    include_bytes!(concat!(env!("OUT_DIR"), "/openapi.json.gz")),
);

pub fn openapi() -> &'static Asset {
    &OPENAPI
}

pub fn index() -> &'static Asset {
    &ASSETS[0]
}

/// An asset by file name; `index.html` is only served as the page itself.
pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS[1..].iter().find(|a| a.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn every_file() -> impl Iterator<Item = &'static Asset> {
        ASSETS.iter().chain([openapi()])
    }

    #[test]
    fn etags_differ_between_files_and_are_weak_and_quoted() {
        let tags: Vec<&str> = every_file().map(Asset::etag).collect();
        for (i, t) in tags.iter().enumerate() {
            assert!(
                t.starts_with("W/\"") && t.ends_with('"') && t.len() == 20,
                "{t}"
            );
            assert!(!tags[..i].contains(t), "duplicate etag {t}");
        }
    }

    #[test]
    fn the_gzipped_form_is_the_same_file_and_smaller() {
        for a in every_file() {
            assert_eq!(&a.gzipped[..2], &[0x1f, 0x8b], "{} is gzip", a.name);
            assert!(a.gzipped.len() < a.bytes.len(), "{}", a.name);
            // ISIZE, the gzip trailer: the uncompressed length mod 2^32.
            let n = a.gzipped.len();
            let size = u32::from_le_bytes([
                a.gzipped[n - 4],
                a.gzipped[n - 3],
                a.gzipped[n - 2],
                a.gzipped[n - 1],
            ]);
            assert_eq!(size as usize, a.bytes.len(), "{}", a.name);
        }
    }

    #[test]
    fn the_openapi_document_is_json_and_not_a_console_asset() {
        let doc: serde_json::Value =
            serde_json::from_slice(openapi().bytes).expect("infra/openapi.json is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        assert!(find("openapi.json").is_none());
    }

    #[test]
    fn the_language_catalogs_are_served_as_modules_of_our_own() {
        let app = std::str::from_utf8(find("app.js").expect("app.js").bytes).expect("UTF-8");
        for name in ["i18n/i18n.js", "i18n/en.js", "i18n/ru.js"] {
            let a = find(name).unwrap_or_else(|| panic!("{name} is served"));
            assert_eq!(a.content_type, "text/javascript; charset=utf-8");
            assert!(
                app.contains(&format!("'./{name}'")),
                "app.js imports {name}"
            );
            let text = std::str::from_utf8(a.bytes).expect("UTF-8");
            assert!(
                !text.contains("http://") && !text.contains("https://"),
                "{name}"
            );
        }
        let ru = std::str::from_utf8(find("i18n/ru.js").expect("ru.js").bytes).expect("UTF-8");
        for term in [
            "Шаблоны API ключей",
            "СОЗДАТЬ",
            "ЗАПРОСИТЬ",
            "О проекте",
            "Секреты",
        ] {
            assert!(ru.contains(term), "the platform's term {term}");
        }
    }

    #[test]
    fn the_page_loads_only_our_own_files() {
        let page = std::str::from_utf8(index().bytes).expect("index.html is UTF-8");
        for name in ["app.js", "app.css", "icon.svg"] {
            assert!(page.contains(&format!("/console/assets/{name}")), "{name}");
            assert!(find(name).is_some());
        }
        assert!(!page.contains("http://") && !page.contains("https://"));
        assert!(
            !page.contains("<script>"),
            "inline script would break the CSP"
        );
    }
}
