//! The `projects` function: projects, members, roles and nodes (API.md "Projects"), a
//! project's audit trail, and the caller's own settings (`/v1/me/settings`). It also records the
//! `locale` claim of a caller's console token with the user (the console's sign-in and landing
//! page call `GET /v1/me/projects`), for the mails written to them later.
//! A route table: parse -> one call into `keygate::domain::project` -> respond.

use keygate::domain::ids::{NodeId, ProjectId, RoleName, UserId};
use keygate::domain::{audit, project, settings};
use keygate::http::{Matched, PageRequest, Router, json, no_content};
use keygate::model::user::{UserSettingsBody, UserSettingsInput};
use keygate::{App, Error, Result};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};

const ROUTES: Router = Router::new(&[
    "POST /v1/projects",
    "GET /v1/me/projects",
    "GET /v1/projects/{p}",
    "PATCH /v1/projects/{p}",
    "GET /v1/projects/{p}/members",
    "PUT /v1/projects/{p}/members/{user}",
    "DELETE /v1/projects/{p}/members/{user}",
    "GET /v1/projects/{p}/roles",
    "PUT /v1/projects/{p}/roles/{role}",
    "GET /v1/projects/{p}/nodes",
    "PUT /v1/projects/{p}/nodes/{node}",
    "GET /v1/projects/{p}/audit",
    "GET /v1/me/settings",
    "PUT /v1/me/settings",
]);

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    keygate::app::serve(handle).await
}

fn project_id(m: &Matched) -> Result<ProjectId> {
    m.existing("p", "project", ProjectId::parse)
}

async fn handle(app: &'static App, req: Request) -> Result<Response<Body>> {
    let m = ROUTES.find(req.method(), req.uri().path())?;
    let caller = app.caller(&req).await?;
    let store = &app.store;
    settings::note_token_locale(store, &caller).await;
    match m.route {
        "GET /v1/me/settings" => Ok(json(
            StatusCode::OK,
            &settings::get(store, &caller, app.config.default_locale).await?,
        )),
        "PUT /v1/me/settings" => {
            let body: UserSettingsBody = app.body(&req)?;
            let input = UserSettingsInput::parse(&body)?;
            Ok(json(
                StatusCode::OK,
                &settings::put(store, &caller, app.config.default_locale, input).await?,
            ))
        }
        "POST /v1/projects" => {
            let created = project::create(
                store,
                &caller,
                &app.config.project_creation,
                app.body(&req)?,
            )
            .await?;
            Ok(json(StatusCode::CREATED, &created))
        }
        "GET /v1/me/projects" => {
            let page =
                project::my_projects(store, &caller, &PageRequest::from_request(&req)?).await?;
            Ok(json(StatusCode::OK, &page))
        }
        "GET /v1/projects/{p}" => Ok(json(
            StatusCode::OK,
            &project::get(store, &caller, &project_id(&m)?).await?,
        )),
        "GET /v1/projects/{p}/members" => {
            let page = project::list_members(
                store,
                &caller,
                &project_id(&m)?,
                &PageRequest::from_request(&req)?,
            )
            .await?;
            Ok(json(StatusCode::OK, &page))
        }
        "PATCH /v1/projects/{p}" => Ok(json(
            StatusCode::OK,
            &project::update_settings(store, &caller, &project_id(&m)?, app.body(&req)?).await?,
        )),
        "PUT /v1/projects/{p}/members/{user}" => {
            let user = m.key("user", UserId::parse)?;
            let member =
                project::put_member(store, &caller, &project_id(&m)?, &user, app.body(&req)?)
                    .await?;
            Ok(json(StatusCode::OK, &member))
        }
        "DELETE /v1/projects/{p}/members/{user}" => {
            let user = m.key("user", UserId::parse)?;
            project::remove_member(store, &caller, &project_id(&m)?, &user).await?;
            Ok(no_content())
        }
        "GET /v1/projects/{p}/roles" => {
            let page = project::list_roles(
                store,
                &caller,
                &project_id(&m)?,
                &PageRequest::from_request(&req)?,
            )
            .await?;
            Ok(json(StatusCode::OK, &page))
        }
        "PUT /v1/projects/{p}/roles/{role}" => {
            let role = m.key("role", RoleName::parse)?;
            let saved =
                project::put_role(store, &caller, &project_id(&m)?, role, app.body(&req)?).await?;
            Ok(json(StatusCode::OK, &saved))
        }
        "GET /v1/projects/{p}/nodes" => {
            let page = project::list_nodes(
                store,
                &caller,
                &project_id(&m)?,
                &PageRequest::from_request(&req)?,
            )
            .await?;
            Ok(json(StatusCode::OK, &page))
        }
        "GET /v1/projects/{p}/audit" => {
            let page = audit::list(
                store,
                &caller,
                &project_id(&m)?,
                &PageRequest::from_request(&req)?,
            )
            .await?;
            Ok(json(StatusCode::OK, &page))
        }
        "PUT /v1/projects/{p}/nodes/{node}" => {
            let node = m.key("node", NodeId::parse)?;
            let saved =
                project::put_node(store, &caller, &project_id(&m)?, node, app.body(&req)?).await?;
            Ok(json(StatusCode::OK, &saved))
        }
        other => Err(Error::Internal(format!("route {other} has no handler"))),
    }
}
