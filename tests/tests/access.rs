//! Who may call what: for every route, the owner, a member, an outsider, no token, a bad or
//! expired token and an API-key token each get the status API.md and DESIGN.md promise.

use keygate_e2e::{Fixture, Method, Stack, now, unique};
use serde_json::{Value, json};

/// A fixture with a template (one field) and a second member who can be removed.
struct Ctx {
    f: Fixture,
    template: String,
    field: String,
    version: u64,
    other_member: String,
}

async fn ctx(stack: &Stack) -> Ctx {
    let f = Fixture::new(stack).await;
    let t = f.template(stack, &unique("Template ")).await;
    let other_member = unique("other-");
    stack
        .put(
            &f.path(&format!("/members/{other_member}")),
            &stack.token(&f.owner),
            json!({"email": "other@example.com"}),
        )
        .await
        .expect(200);
    Ctx {
        template: t["id"].as_str().expect("id").to_string(),
        field: t["fields"][0]["id"].as_str().expect("field id").to_string(),
        version: t["version"].as_u64().expect("version"),
        f,
        other_member,
    }
}

/// The partitions a call by `user` on the context's project could write: the project's own
/// and the user's request-rate window (`USER#<u>#requests`, keys.rs `rate_window`).
fn partitions(c: &Ctx, user: &str) -> Vec<String> {
    vec![
        format!("PROJECT#{}", c.f.project),
        keygate::store::keys::rate_window(
            &keygate::store::keys::user_requests_subject(
                &keygate::model::ids::UserId::parse("user", user).expect("user id"),
            ),
            "",
        )
        .pk,
    ]
}

struct Route {
    method: Method,
    path: fn(&Ctx) -> String,
    body: fn(&Ctx) -> Option<Value>,
    owner: u16,
    member: u16,
    outsider: u16,
}

fn routes() -> Vec<Route> {
    fn r(
        method: Method,
        path: fn(&Ctx) -> String,
        body: fn(&Ctx) -> Option<Value>,
        owner: u16,
        member: u16,
        outsider: u16,
    ) -> Route {
        Route {
            method,
            path,
            body,
            owner,
            member,
            outsider,
        }
    }
    let none: fn(&Ctx) -> Option<Value> = |_| None;
    vec![
        r(
            Method::POST,
            |_| "/v1/projects".into(),
            |_| Some(json!({"id": unique("p"), "name": "New"})),
            201,
            201,
            201,
        ),
        r(
            Method::GET,
            |_| "/v1/me/projects".into(),
            none,
            200,
            200,
            200,
        ),
        r(Method::GET, |c| c.f.path(""), none, 200, 200, 404),
        r(Method::GET, |c| c.f.path("/members"), none, 200, 200, 404),
        r(
            Method::PUT,
            |c| c.f.path("/members/newcomer"),
            |_| Some(json!({"email": "n@example.com"})),
            200,
            403,
            404,
        ),
        r(
            Method::DELETE,
            |c| c.f.path(&format!("/members/{}", c.other_member)),
            none,
            204,
            403,
            404,
        ),
        r(Method::GET, |c| c.f.path("/roles"), none, 200, 200, 404),
        r(
            Method::PUT,
            |c| c.f.path("/roles/writer"),
            |_| Some(json!({"permissions": ["packages:write"]})),
            200,
            403,
            404,
        ),
        r(Method::GET, |c| c.f.path("/nodes"), none, 200, 200, 404),
        r(Method::GET, |c| c.f.path("/audit"), none, 200, 403, 404),
        r(
            Method::PUT,
            |c| c.f.path("/nodes/output"),
            |_| Some(json!({"name": "Output"})),
            200,
            403,
            404,
        ),
        r(Method::GET, |c| c.f.path("/templates"), none, 200, 200, 404),
        r(
            Method::POST,
            |c| c.f.path("/templates"),
            |_| Some(json!({"name": unique("T "), "role": "reader"})),
            201,
            403,
            404,
        ),
        r(
            Method::GET,
            |c| c.f.path(&format!("/templates/{}", c.template)),
            none,
            200,
            200,
            404,
        ),
        r(
            Method::PATCH,
            |c| c.f.path(&format!("/templates/{}", c.template)),
            |c| Some(json!({"description": "d", "version": c.version})),
            200,
            403,
            404,
        ),
        r(
            Method::DELETE,
            |c| c.f.path(&format!("/templates/{}", c.template)),
            none,
            204,
            403,
            404,
        ),
        r(
            Method::POST,
            |c| c.f.path(&format!("/templates/{}/fields", c.template)),
            |_| Some(json!({"name": "output node", "value": "output"})),
            201,
            403,
            404,
        ),
        r(
            Method::PATCH,
            |c| {
                c.f.path(&format!("/templates/{}/fields/{}", c.template, c.field))
            },
            |_| Some(json!({"value": "v2"})),
            200,
            403,
            404,
        ),
        // Imports (the fixture's project as the client project; tests/tests/imports.rs covers
        // holders, importers and grants in depth): nothing imported yet, so 404 past the
        // membership check.
        r(Method::GET, |c| c.f.path("/secrets"), none, 200, 200, 404),
        r(
            Method::POST,
            |c| c.f.path("/imports"),
            |_| Some(json!({"key_id": "01jzzzzzzzzzzzzzzzzzzzzzzz", "prefix": "wx"})),
            404,
            404,
            404,
        ),
        r(
            Method::PUT,
            |c| c.f.path("/secrets/wx_token/nodes"),
            |_| Some(json!({"nodes": ["input"]})),
            404,
            404,
            404,
        ),
        r(
            Method::DELETE,
            |c| c.f.path("/imports/wx"),
            none,
            404,
            404,
            404,
        ),
        r(
            Method::DELETE,
            |c| {
                c.f.path(&format!("/templates/{}/fields/{}", c.template, c.field))
            },
            none,
            204,
            403,
            404,
        ),
    ]
}

#[tokio::test]
async fn owner_member_and_outsider_get_the_right_status_on_every_route() {
    let stack = Stack::new().await;
    for route in routes() {
        for who in ["owner", "member", "outsider"] {
            // A fresh project each time, so one call's effect cannot change another's answer.
            let c = ctx(&stack).await;
            let (user, expected) = match who {
                "owner" => (&c.f.owner, route.owner),
                "member" => (&c.f.member, route.member),
                _ => (&c.f.outsider, route.outsider),
            };
            let path = (route.path)(&c);
            let before = stack.snapshot(&partitions(&c, user)).await;
            let reply = stack
                .call(
                    route.method.clone(),
                    &path,
                    Some(&stack.token(user)),
                    (route.body)(&c),
                )
                .await;
            assert_eq!(
                reply.status, expected,
                "{who} {} {path}: {}",
                route.method, reply.body
            );
            if expected >= 400 {
                // A refused call changed nothing: every item of the project, and the caller's
                // own partitions (their rate window), exactly as before.
                assert_eq!(
                    stack.snapshot(&partitions(&c, user)).await,
                    before,
                    "{who} {} {path} was refused but changed the table",
                    route.method
                );
            }
        }
    }
}

#[tokio::test]
async fn missing_bad_expired_and_api_key_tokens_are_401_on_every_route() {
    let stack = Stack::new().await;
    let c = ctx(&stack).await;
    let other_issuer_dir = std::env::temp_dir().join(unique("issuer-"));
    let stranger = keygate_dev::DevIssuer::load_or_create(&other_issuer_dir).expect("other key");
    let t = now();
    let tokens: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("garbage", Some("not-a-jwt".into())),
        ("expired", Some(stack.expired_token(&c.f.owner))),
        ("signed by another key", Some(stranger.user_token(&c.f.owner, "o@example.com", 600).expect("token"))),
        (
            "API key",
            Some(stack.signed(
                "keygate-api-key+jwt",
                json!({"iss": "keygate", "aud": format!("platform-api/{}", c.f.project), "sub": c.f.owner, "jti": "k1", "role": "reader", "iat": t, "exp": t + 600}),
            )),
        ),
        (
            "console claims with API-key type",
            Some(stack.signed("keygate-api-key+jwt", json!({"iss": keygate_dev::DEV_ISSUER, "aud": keygate_dev::DEV_AUDIENCE, "sub": c.f.owner, "email": "o@example.com", "exp": t + 600}))),
        ),
    ];
    let watched = partitions(&c, &c.f.owner);
    let before = stack.snapshot(&watched).await;
    for route in routes() {
        for (what, token) in &tokens {
            let path = (route.path)(&c);
            let reply = stack
                .call(
                    route.method.clone(),
                    &path,
                    token.as_deref(),
                    (route.body)(&c),
                )
                .await;
            assert_eq!(
                reply.status, 401,
                "{what}: {} {path}: {}",
                route.method, reply.body
            );
            assert_eq!(reply.content_type, "application/problem+json");
        }
    }
    // Nothing was changed by any of them: the project's partition item for item.
    let sks = stack.sort_keys(&format!("PROJECT#{}", c.f.project)).await;
    assert!(sks.contains(&format!("TEMPLATE#{}", c.template)));
    assert!(sks.contains(&format!("MEMBER#{}", c.other_member)));
    assert_eq!(
        stack.snapshot(&watched).await,
        before,
        "a 401 changed the table"
    );
    let _ = std::fs::remove_dir_all(other_issuer_dir);
}

#[tokio::test]
async fn a_removed_member_loses_access() {
    let stack = Stack::new().await;
    let f = Fixture::new(&stack).await;
    let member = stack.token(&f.member);
    stack.get(&f.path(""), &member).await.expect(200);
    stack
        .delete(
            &f.path(&format!("/members/{}", f.member)),
            &stack.token(&f.owner),
        )
        .await
        .expect(204);
    stack.get(&f.path(""), &member).await.expect(404);
    stack.get(&f.path("/templates"), &member).await.expect(404);
}
