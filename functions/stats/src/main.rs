//! The `stats` function: usage of a key (its holder, its project's owner) and the roll-up of a
//! project's keys (the owner), over a range of days by day or hour (API.md "Usage").

use keygate::domain::usage::{self, Range};
use keygate::http::json;
use keygate::model::ids::{KeyId, ProjectId};
use keygate::{App, Result};
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, RequestExt, Response};

keygate::routes! {
    enum Route {
        KeyUsage = "GET /v1/keys/{k}/usage",
        ProjectUsage = "GET /v1/projects/{p}/usage",
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_http::Error> {
    keygate::app::serve(handle).await
}

fn range(req: &Request) -> Result<Range> {
    let q = req.query_string_parameters();
    Range::parse(q.first("from"), q.first("to"), q.first("granularity"))
}

async fn handle(app: &'static App, req: Request) -> Result<Response<Body>> {
    let (route, m) = Route::find(req.method(), req.uri().path())?;
    let caller = app.caller(&req).await?;
    match route {
        Route::KeyUsage => {
            let k = m.existing("k", "key", KeyId::parse)?;
            let range = range(&req)?;
            Ok(json(
                StatusCode::OK,
                &usage::key_usage(&app.store, &caller, &k, &range).await?,
            ))
        }
        Route::ProjectUsage => {
            let p = m.existing("p", "project", ProjectId::parse)?;
            let range = range(&req)?;
            Ok(json(
                StatusCode::OK,
                &usage::project_usage(&app.store, &caller, &p, &range).await?,
            ))
        }
    }
}
