//! The `approvals` function: the owner approves or rejects requests; holders and owners list,
//! read, revoke and roll keys; the holder alone reveals a key's token (`Cache-Control:
//! no-store`, audited as `key.revealed`) (API.md "Requests and approvals"). A route table:
//! parse -> one call into `keygate::domain` -> respond.

use keygate::domain::{key, request};
use keygate::http::{Matched, PageRequest, json};
use keygate::model::ids::{KeyId, ProjectId, RequestId};
use keygate::{App, Result};
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};

keygate::routes! {
    enum Route {
        Approve = "POST /v1/projects/{p}/requests/{r}/approve",
        Reject = "POST /v1/projects/{p}/requests/{r}/reject",
        ProjectKeys = "GET /v1/projects/{p}/keys",
        MyKeys = "GET /v1/me/keys",
        Key = "GET /v1/keys/{k}",
        Token = "GET /v1/keys/{k}/token",
        Revoke = "POST /v1/keys/{k}/revoke",
        Roll = "POST /v1/keys/{k}/roll",
    }
}

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
    let (route, m) = Route::find(req.method(), req.uri().path())?;
    let caller = app.caller(&req).await?;
    let store = &app.store;
    match route {
        Route::Approve => {
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
            Ok(json(StatusCode::OK, &key::Approval { request, key }))
        }
        Route::Reject => {
            let (p, r) = ids(&m)?;
            Ok(json(
                StatusCode::OK,
                &request::reject(store, &caller, &p, &r, app.optional_body(&req)?).await?,
            ))
        }
        Route::ProjectKeys => {
            let p = m.existing("p", "project", ProjectId::parse)?;
            Ok(json(
                StatusCode::OK,
                &key::list_project(store, &caller, &p, &PageRequest::from_request(&req)?).await?,
            ))
        }
        Route::MyKeys => Ok(json(
            StatusCode::OK,
            &key::list_mine(store, &caller, &PageRequest::from_request(&req)?).await?,
        )),
        Route::Key => Ok(json(
            StatusCode::OK,
            &key::get(store, &caller, &key_id(&m)?).await?,
        )),
        Route::Token => {
            let token = key::token(store, &app.secrets()?.signer, &caller, &key_id(&m)?).await?;
            let mut res = json(
                StatusCode::OK,
                &key::KeyToken {
                    token: token.expose(),
                },
            );
            // A credential: no cache on the way (browser, proxy) may keep a copy.
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(res)
        }
        Route::Revoke => Ok(json(
            StatusCode::OK,
            &key::revoke(store, &caller, &key_id(&m)?).await?,
        )),
        Route::Roll => {
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
    }
}
