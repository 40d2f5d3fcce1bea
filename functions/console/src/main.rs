//! The `console` function: the web console, a single-page app whose files are embedded in this
//! binary (no CDN, works offline). `/`, `/console` and every `/console/...` page answer the app's
//! page; `/console/assets/<file>` its script, style and language catalogs (`i18n/*.js`). The app
//! talks only to the public API.
//! It also serves the API's OpenAPI document (`GET /v1/openapi.json`, infra/openapi.json embedded
//! at build time), and is the API's catch-all route: any other path gets a 404 problem.

mod assets;

use keygate::{Error, Result};
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};

use assets::Asset;

keygate::routes! {
    /// The API routes this function serves (its pages are not API routes).
    enum Route {
        OpenApi = "GET /v1/openapi.json",
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::result::Result<(), lambda_http::Error> {
    keygate::adapters::logging::init()?;
    keygate::app::run((), handle).await
}

async fn handle(_: &'static (), req: Request) -> Result<Response<Body>> {
    // Unknown paths first: this function is also the API's catch-all, where any method on a
    // path no function has is a 404, not a 405.
    let asset = file_for(req.method(), req.uri().path())?;
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(Error::MethodNotAllowed {
            allow: vec!["GET".into(), "HEAD".into()],
        });
    }
    let etag = asset.etag();
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    let gzip = accepts_gzip(&req);
    let (status, body) = if fresh {
        (StatusCode::NOT_MODIFIED, Body::Empty)
    } else if req.method() == Method::HEAD {
        (StatusCode::OK, Body::Empty)
    } else if gzip {
        (StatusCode::OK, Body::Binary(asset.gzipped.to_vec()))
    } else {
        (StatusCode::OK, Body::Binary(asset.bytes.to_vec()))
    };
    let mut res = Response::new(body);
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    if let Ok(v) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, v);
    }
    if gzip && status == StatusCode::OK {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    // Revalidate every load (an ETag round trip): a new deployment shows at once.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(assets::CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    Ok(res)
}

/// Whether the client takes gzip (`Accept-Encoding: gzip`, not refused with `q=0`).
fn accepts_gzip(req: &Request) -> bool {
    req.headers()
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or("");
            let refused = parts.any(
                |p| matches!(p.strip_prefix("q="), Some(q) if q.parse::<f32>().ok() == Some(0.0)),
            );
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        })
}

/// What a request serves: the OpenAPI document (GET or HEAD; another method is a 405), else a
/// page or asset of the console.
fn file_for(method: &Method, path: &str) -> Result<&'static Asset> {
    // HEAD answers as GET does, without the body.
    let as_get = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    match Route::find(as_get, path) {
        Ok((Route::OpenApi, _)) => Ok(assets::openapi()),
        Err(Error::NotFound(_)) => page_for(path),
        Err(Error::MethodNotAllowed { .. }) => Err(Error::MethodNotAllowed {
            allow: vec!["GET".into(), "HEAD".into()],
        }),
        Err(e) => Err(e),
    }
}

/// What a path serves: an asset by name, or the app's page for any page of the app (the app
/// reads the path and shows that screen).
fn page_for(path: &str) -> Result<&'static Asset> {
    if let Some(name) = path.strip_prefix("/console/assets/") {
        return assets::find(name).ok_or_else(|| Error::NotFound(format!("console asset {name}")));
    }
    if path == "/" || path == "/console" || path.starts_with("/console/") {
        return Ok(assets::index());
    }
    Err(Error::NotFound(format!("path {path}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_console_page_is_the_app_and_assets_are_found_by_name() {
        for path in [
            "/",
            "/console",
            "/console/",
            "/console/projects/p/keys",
            "/console/keys/k",
        ] {
            assert_eq!(
                page_for(path).map(|a| a.name).ok(),
                Some("index.html"),
                "{path}"
            );
        }
        assert_eq!(
            page_for("/console/assets/app.js").map(|a| a.name).ok(),
            Some("app.js")
        );
        assert_eq!(
            page_for("/console/assets/i18n/ru.js").map(|a| a.name).ok(),
            Some("i18n/ru.js")
        );
        assert!(matches!(
            page_for("/console/assets/i18n/../app.js"),
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            page_for("/console/assets/nope.js"),
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            page_for("/console/assets/../main.rs"),
            Err(Error::NotFound(_))
        ));
        assert!(matches!(page_for("/v1/nope"), Err(Error::NotFound(_))));
    }

    #[test]
    fn the_openapi_document_is_served_for_get_and_head_only() {
        for method in [Method::GET, Method::HEAD] {
            assert_eq!(
                file_for(&method, "/v1/openapi.json").map(|a| a.name).ok(),
                Some("openapi.json")
            );
        }
        assert!(matches!(
            file_for(&Method::POST, "/v1/openapi.json"),
            Err(Error::MethodNotAllowed { .. })
        ));
        assert_eq!(
            file_for(&Method::GET, "/console/keys").map(|a| a.name).ok(),
            Some("index.html")
        );
        assert!(matches!(
            file_for(&Method::GET, "/v1/openapi.yaml"),
            Err(Error::NotFound(_))
        ));
    }
}
