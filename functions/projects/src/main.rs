//! The `projects` function: projects, members, roles and nodes (API.md "Projects"), a
//! project's audit trail, and the caller's own settings (`/v1/me/settings`). It also records the
//! `locale` claim of a caller's console token with the user (the console's sign-in and landing
//! page call `GET /v1/me/projects`), for the mails written to them later.
//! A route table: parse -> one call into `keygate::domain::project` -> respond.

use keygate::domain::{audit, project, settings};
use keygate::http::{Matched, PageRequest, json, no_content};
use keygate::model::ids::{NodeId, ProjectId, RoleName, UserId};
use keygate::model::user::{UserSettingsBody, UserSettingsInput};
use keygate::{App, Result};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

keygate::routes! {
    enum Route {
        Create = "POST /v1/projects",
        Mine = "GET /v1/me/projects",
        Get = "GET /v1/projects/{p}",
        Update = "PATCH /v1/projects/{p}",
        Members = "GET /v1/projects/{p}/members",
        PutMember = "PUT /v1/projects/{p}/members/{user}",
        RemoveMember = "DELETE /v1/projects/{p}/members/{user}",
        Roles = "GET /v1/projects/{p}/roles",
        PutRole = "PUT /v1/projects/{p}/roles/{role}",
        Nodes = "GET /v1/projects/{p}/nodes",
        PutNode = "PUT /v1/projects/{p}/nodes/{node}",
        Audit = "GET /v1/projects/{p}/audit",
        Settings = "GET /v1/me/settings",
        PutSettings = "PUT /v1/me/settings",
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
    settings::note_token_locale(store, &caller).await;
    match route {
        Route::Settings => Ok(json(
            StatusCode::OK,
            &settings::get(store, &caller, app.config.default_locale).await?,
        )),
        Route::PutSettings => {
            let body: UserSettingsBody = app.body(&req)?;
            let input = UserSettingsInput::parse(&body)?;
            Ok(json(
                StatusCode::OK,
                &settings::put(store, &caller, app.config.default_locale, input).await?,
            ))
        }
        Route::Create => {
            let created = project::create(
                store,
                &caller,
                &app.config.project_creation,
                app.body(&req)?,
            )
            .await?;
            Ok(json(StatusCode::CREATED, &created))
        }
        Route::Mine => {
            let page =
                project::my_projects(store, &caller, &PageRequest::from_request(&req)?).await?;
            Ok(json(StatusCode::OK, &page))
        }
        Route::Get => Ok(json(
            StatusCode::OK,
            &project::get(store, &caller, &project_id(&m)?).await?,
        )),
        Route::Members => {
            let page = project::list_members(
                store,
                &caller,
                &project_id(&m)?,
                &PageRequest::from_request(&req)?,
            )
            .await?;
            Ok(json(StatusCode::OK, &page))
        }
        Route::Update => Ok(json(
            StatusCode::OK,
            &project::update_settings(store, &caller, &project_id(&m)?, app.body(&req)?).await?,
        )),
        Route::PutMember => {
            let user = m.key("user", UserId::parse)?;
            let member =
                project::put_member(store, &caller, &project_id(&m)?, &user, app.body(&req)?)
                    .await?;
            Ok(json(StatusCode::OK, &member))
        }
        Route::RemoveMember => {
            let user = m.key("user", UserId::parse)?;
            project::remove_member(store, &caller, &project_id(&m)?, &user).await?;
            Ok(no_content())
        }
        Route::Roles => {
            let page = project::list_roles(
                store,
                &caller,
                &project_id(&m)?,
                &PageRequest::from_request(&req)?,
            )
            .await?;
            Ok(json(StatusCode::OK, &page))
        }
        Route::PutRole => {
            let role = m.key("role", RoleName::parse)?;
            let saved =
                project::put_role(store, &caller, &project_id(&m)?, role, app.body(&req)?).await?;
            Ok(json(StatusCode::OK, &saved))
        }
        Route::Nodes => {
            let page = project::list_nodes(
                store,
                &caller,
                &project_id(&m)?,
                &PageRequest::from_request(&req)?,
            )
            .await?;
            Ok(json(StatusCode::OK, &page))
        }
        Route::Audit => {
            let page = audit::list(
                store,
                &caller,
                &project_id(&m)?,
                &PageRequest::from_request(&req)?,
            )
            .await?;
            Ok(json(StatusCode::OK, &page))
        }
        Route::PutNode => {
            let node = m.key("node", NodeId::parse)?;
            let saved =
                project::put_node(store, &caller, &project_id(&m)?, node, app.body(&req)?).await?;
            Ok(json(StatusCode::OK, &saved))
        }
    }
}
