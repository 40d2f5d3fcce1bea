//! The `imports` function: the holder of a key imports it into the secrets of a client project
//! under a prefix; members list the project's imported secrets; the importer or the owner grants
//! nodes access to a secret and deletes an import (API.md "Imports"). A route table: parse -> one
//! call into `keygate::domain::import` -> respond.

use keygate::domain::import;
use keygate::http::{Matched, PageRequest, json};
use keygate::model::ids::{Prefix, ProjectId, SecretName};
use keygate::{App, Result};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

keygate::routes! {
    enum Route {
        Import = "POST /v1/projects/{c}/imports",
        RemoveImport = "DELETE /v1/projects/{c}/imports/{prefix}",
        Secrets = "GET /v1/projects/{c}/secrets",
        GrantNodes = "PUT /v1/projects/{c}/secrets/{name}/nodes",
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    keygate::app::serve_with_secrets(handle).await
}

fn project(m: &Matched) -> Result<ProjectId> {
    m.existing("c", "project", ProjectId::parse)
}

async fn handle(app: &'static App, req: Request) -> Result<Response<Body>> {
    let (route, m) = Route::find(req.method(), req.uri().path())?;
    let caller = app.caller(&req).await?;
    let store = &app.store;
    match route {
        Route::Import => {
            let c = project(&m)?;
            let (view, created) =
                import::create(app.import_deps()?, &caller, &c, app.body(&req)?).await?;
            let status = if created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok(json(status, &view))
        }
        Route::RemoveImport => {
            let c = project(&m)?;
            let prefix = m.existing("prefix", "import", Prefix::parse)?;
            import::delete(store, &app.secrets()?.vault, &caller, &c, &prefix).await?;
            Ok(keygate::http::no_content())
        }
        Route::Secrets => Ok(json(
            StatusCode::OK,
            &import::list_secrets(
                store,
                &caller,
                &project(&m)?,
                &PageRequest::from_request(&req)?,
            )
            .await?,
        )),
        Route::GrantNodes => {
            let c = project(&m)?;
            let name = m.existing("name", "secret", SecretName::parse)?;
            Ok(json(
                StatusCode::OK,
                &import::set_nodes(
                    store,
                    &app.secrets()?.vault,
                    &caller,
                    &c,
                    &name,
                    app.body(&req)?,
                )
                .await?,
            ))
        }
    }
}
