//! The `approvals` function: the owner approves or rejects requests; holders and owners list,
//! read, revoke and roll keys; the holder alone reveals a key's token (`Cache-Control:
//! no-store`, audited as `key.revealed`) (API.md "Requests and approvals"). A route table:
//! parse -> one call into `keygate::domain` -> respond.

use keygate::domain::ids::{KeyId, ProjectId, RequestId};
use keygate::domain::{key, request};
use keygate::http::{Matched, PageRequest, Router, json};
use keygate::{App, Error, Result};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};

const ROUTES: Router = Router::new(&[
    "POST /v1/projects/{p}/requests/{r}/approve",
    "POST /v1/projects/{p}/requests/{r}/reject",
    "GET /v1/projects/{p}/keys",
    "GET /v1/me/keys",
    "GET /v1/keys/{k}",
    "GET /v1/keys/{k}/token",
    "POST /v1/keys/{k}/revoke",
    "POST /v1/keys/{k}/roll",
]);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    keygate::app::serve_with_secrets(handle).await
}

fn ids(m: &Matched) -> Result<(ProjectId, RequestId)> {
    Ok((
        m.existing("p", "project", ProjectId::parse)?,
        m.existing("r", "request", RequestId::parse)?,
    ))
}

fn key_id(m: &Matched) -> Result<KeyId> {
    m.existing("k", "key", KeyId::parse)
}

async fn handle(app: &'static App, req: Request) -> Result<Response<Body>> {
    let m = ROUTES.find(req.method(), req.uri().path())?;
    let caller = app.caller(&req).await?;
    let store = &app.store;
    match m.route {
        "POST /v1/projects/{p}/requests/{r}/approve" => {
            let (p, r) = ids(&m)?;
            let (request, key) = key::approve(
                store,
                &app.secrets()?.signer,
                &app.config.api_keys,
                &caller,
                &p,
                &r,
            )
            .await?;
            Ok(json(
                StatusCode::OK,
                &serde_json::json!({ "request": request, "key": key }),
            ))
        }
        "POST /v1/projects/{p}/requests/{r}/reject" => {
            let (p, r) = ids(&m)?;
            Ok(json(
                StatusCode::OK,
                &request::reject(store, &caller, &p, &r, app.optional_body(&req)?).await?,
            ))
        }
        "GET /v1/projects/{p}/keys" => {
            let p = m.existing("p", "project", ProjectId::parse)?;
            Ok(json(
                StatusCode::OK,
                &key::list_project(store, &caller, &p, &PageRequest::from_request(&req)?).await?,
            ))
        }
        "GET /v1/me/keys" => Ok(json(
            StatusCode::OK,
            &key::list_mine(store, &caller, &PageRequest::from_request(&req)?).await?,
        )),
        "GET /v1/keys/{k}" => Ok(json(
            StatusCode::OK,
            &key::get(store, &caller, &key_id(&m)?).await?,
        )),
        "GET /v1/keys/{k}/token" => {
            let token = key::token(store, &app.secrets()?.signer, &caller, &key_id(&m)?).await?;
            let mut res = json(
                StatusCode::OK,
                &serde_json::json!({ "token": token.expose() }),
            );
            // A credential: no cache on the way (browser, proxy) may keep a copy.
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(res)
        }
        "POST /v1/keys/{k}/revoke" => Ok(json(
            StatusCode::OK,
            &key::revoke(store, &caller, &key_id(&m)?).await?,
        )),
        "POST /v1/keys/{k}/roll" => {
            let rolled = key::roll(
                store,
                &app.secrets()?.signer,
                &caller,
                &key_id(&m)?,
                app.optional_body(&req)?,
            )
            .await?;
            Ok(json(StatusCode::CREATED, &rolled))
        }
        other => Err(Error::Internal(format!("route {other} has no handler"))),
    }
}
