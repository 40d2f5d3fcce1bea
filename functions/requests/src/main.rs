//! The `requests` function: a member asks for a key from a template, cancels it while pending,
//! lists their own; the owner lists the project's (API.md "Requests and approvals").
//! A route table: parse -> one call into `keygate::domain::request` -> respond.

use keygate::domain::request;
use keygate::http::{Matched, PageRequest, json, no_content};
use keygate::model::ids::{ProjectId, RequestId, TemplateId};
use keygate::{App, Result};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};

keygate::routes! {
    enum Route {
        Create = "POST /v1/projects/{p}/templates/{t}/requests",
        List = "GET /v1/projects/{p}/requests",
        Cancel = "DELETE /v1/projects/{p}/requests/{r}",
        Mine = "GET /v1/me/requests",
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    keygate::app::serve(handle).await
}

fn project_id(m: &Matched) -> Result<ProjectId> {
    m.existing("p", "project", ProjectId::parse)
}

async fn handle(app: &'static App, req: Request) -> Result<Response<Body>> {
    let (route, m) = Route::find(req.method(), req.uri().path())?;
    let caller = app.caller(&req).await?;
    let store = &app.store;
    match route {
        Route::Create => {
            let t = m.existing("t", "template", TemplateId::parse)?;
            let created = request::create(
                store,
                &caller,
                &project_id(&m)?,
                &t,
                app.optional_body(&req)?,
                app.config.requests_per_hour,
            )
            .await?;
            Ok(json(StatusCode::CREATED, &created))
        }
        Route::List => {
            let query = req.query_string_parameters();
            let page = request::list_for_owner(
                store,
                &caller,
                &project_id(&m)?,
                query.first("status"),
                &PageRequest::from_request(&req)?,
            )
            .await?;
            Ok(json(StatusCode::OK, &page))
        }
        Route::Cancel => {
            let r = m.existing("r", "request", RequestId::parse)?;
            request::cancel(store, &caller, &project_id(&m)?, &r).await?;
            Ok(no_content())
        }
        Route::Mine => Ok(json(
            StatusCode::OK,
            &request::list_mine(store, &caller, &PageRequest::from_request(&req)?).await?,
        )),
    }
}
