//! The `console` function: the web console, a single-page app whose files are embedded in this
//! binary (no CDN, works offline). `/`, `/console` and every `/console/...` page answer the app's
//! page; `/console/assets/<file>` its script and style. The app talks only to the public API.

mod assets;

use keygate::{Error, Result};
use lambda_http::http::{HeaderValue, Method, StatusCode, header};
use lambda_http::{Body, Request, Response};

use assets::Asset;

#[tokio::main]
async fn main() -> std::result::Result<(), lambda_http::Error> {
    lambda_http::tracing::init_default_subscriber();
    keygate::app::run((), handle).await
}

async fn handle(_: &'static (), req: Request) -> Result<Response<Body>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Err(Error::MethodNotAllowed {
            allow: vec!["GET".into(), "HEAD".into()],
        });
    }
    let asset = page_for(req.uri().path())?;
    let etag = asset.etag();
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    let (status, body) = if fresh {
        (StatusCode::NOT_MODIFIED, Body::Empty)
    } else if req.method() == Method::HEAD {
        (StatusCode::OK, Body::Empty)
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
}
