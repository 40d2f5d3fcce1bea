//! The `templates` function: API key templates and their info fields (API.md "Templates").
//! A route table: parse -> one call into `keygate::domain::template` -> respond.

use keygate::domain::template;
use keygate::http::{Matched, PageRequest, json, no_content};
use keygate::model::ids::{FieldId, ProjectId, TemplateId};
use keygate::{App, Result};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

keygate::routes! {
    enum Route {
        List = "GET /v1/projects/{p}/templates",
        Create = "POST /v1/projects/{p}/templates",
        Get = "GET /v1/projects/{p}/templates/{t}",
        Update = "PATCH /v1/projects/{p}/templates/{t}",
        Delete = "DELETE /v1/projects/{p}/templates/{t}",
        AddField = "POST /v1/projects/{p}/templates/{t}/fields",
        EditField = "PATCH /v1/projects/{p}/templates/{t}/fields/{f}",
        DeleteField = "DELETE /v1/projects/{p}/templates/{t}/fields/{f}",
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    keygate::app::serve(handle).await
}

fn project_id(m: &Matched) -> Result<ProjectId> {
    m.existing("p", "project", ProjectId::parse)
}

fn ids(m: &Matched) -> Result<(ProjectId, TemplateId)> {
    Ok((
        project_id(m)?,
        m.existing("t", "template", TemplateId::parse)?,
    ))
}

fn field_id(m: &Matched) -> Result<FieldId> {
    m.existing("f", "field", FieldId::parse)
}

async fn handle(app: &'static App, req: Request) -> Result<Response<Body>> {
    let (route, m) = Route::find(req.method(), req.uri().path())?;
    let caller = app.caller(&req).await?;
    let store = &app.store;
    match route {
        Route::List => {
            let p = project_id(&m)?;
            let page =
                template::list(store, &caller, &p, &PageRequest::from_request(&req)?).await?;
            Ok(json(StatusCode::OK, &page))
        }
        Route::Create => {
            let p = project_id(&m)?;
            let created = template::create(store, &caller, &p, app.body(&req)?).await?;
            Ok(json(
                StatusCode::CREATED,
                &template::TemplateView::from(created),
            ))
        }
        Route::Get => {
            let (p, t) = ids(&m)?;
            Ok(json(
                StatusCode::OK,
                &template::get(store, &caller, &p, &t).await?,
            ))
        }
        Route::Update => {
            let (p, t) = ids(&m)?;
            let updated = template::update(store, &caller, &p, &t, app.body(&req)?).await?;
            Ok(json(StatusCode::OK, &template::TemplateView::from(updated)))
        }
        Route::Delete => {
            let (p, t) = ids(&m)?;
            template::delete(store, &caller, &p, &t).await?;
            Ok(no_content())
        }
        Route::AddField => {
            let (p, t) = ids(&m)?;
            let field = template::add_field(store, &caller, &p, &t, app.body(&req)?).await?;
            Ok(json(StatusCode::CREATED, &field))
        }
        Route::EditField => {
            let (p, t) = ids(&m)?;
            let field =
                template::edit_field(store, &caller, &p, &t, &field_id(&m)?, app.body(&req)?)
                    .await?;
            Ok(json(StatusCode::OK, &field))
        }
        Route::DeleteField => {
            let (p, t) = ids(&m)?;
            template::delete_field(store, &caller, &p, &t, &field_id(&m)?).await?;
            Ok(no_content())
        }
    }
}
