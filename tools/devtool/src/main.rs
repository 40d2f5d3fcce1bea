//! `keygate-dev`: the local stack's own tool, and the operator's for a deployment's keys.
//! Dev-only (refused unless every AWS endpoint is loopback: `keygate_dev::loopback`):
//!   keygate-dev setup                      table, SES identity, dev issuer key (its JWKS published
//!                                           in the table) and the signing key set
//!   keygate-dev token <user> <email> [ttl]  prints a dev console-user token on its last line
//!   keygate-dev seed                        the demo: alice's server project, bob's client project
//!   keygate-dev node-secrets <project> <node>
//!                                           `export` lines of the imported secrets granted to the
//!                                           node: locally, what `job.secret(name)` reads on a node
//!   keygate-dev pump [--port P]
//!                                           the table's stream -> the notifier via cargo lambda watch
//! Operator (also against a deployment, with the standard AWS environment):
//!   keygate-dev signing-keys init|list|rotate|retire <kid>|publish
//!                                           the API-key signing key set in Secrets Manager: rotate adds
//!                                           a new active key (old ones still verify), retire drops one;
//!                                           each change publishes the public half to the table, where
//!                                           verify and the authorizer read it (publish does only that)
//!   keygate-dev user-jwks publish <file>    publishes the console users' issuer JWKS to the table
//! Reads the standard AWS variables (pointing at the emulator for the dev-only commands),
//! TABLE_NAME, SIGNING_KEYS_SECRET_ID and KEYGATE_STATE_DIR.

use keygate::Caller;
use keygate::Error;
use keygate::config::ProjectCreation;
use keygate::domain::project::{self, MemberInput, NewProjectInput, NodeInput, RoleInput};
use keygate::domain::request::{self, NewRequestInput};
use keygate::domain::template::{self, FieldInput, NewTemplateInput};
use keygate::model::ids::{Email, NodeId, ProjectId, RoleName, UserId};
use keygate::store::Store;
use keygate_dev::{BoxError, DevIssuer, loopback, node_secrets, pump, setup, state_dir};

/// What each dev-only command would do to a deployment: why it refuses anything but loopback.
const SETUP_WRITES: &str = "it creates the table, the SES identity and the event bus and publishes \
     the dev issuer's key (a key file on this machine) as the console users' issuer keys \
     (JWKS#users)";
const SEED_WRITES: &str = "it writes demo data (alice's and bob's projects, a template, a request)";
const TOKEN_MINTS: &str = "it mints console-user tokens signed with the dev issuer's key";
const NODE_SECRETS_READS: &str =
    "it prints secret values (imported API keys) to the terminal, as a local node would read them";
const PUMP_FEEDS: &str =
    "it feeds the local table's stream to the functions under `cargo lambda watch`";

const USAGE: &str = "usage: keygate-dev setup | token <user> <email> [ttl-seconds] | seed | node-secrets <project> <node> | pump [--port <watch port>] | signing-keys init|list|rotate|retire <kid>|publish | user-jwks publish <file>";

#[tokio::main]
async fn main() {
    if let Err(e) = run(std::env::args().skip(1).collect()).await {
        eprintln!("keygate-dev: {e}");
        std::process::exit(1);
    }
}

fn table() -> Result<String, BoxError> {
    std::env::var("TABLE_NAME").map_err(|_| "TABLE_NAME is required".into())
}

async fn run(args: Vec<String>) -> Result<(), BoxError> {
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["setup"] => {
            let sdk = loopback::dev_sdk_config("setup", SETUP_WRITES).await?;
            let table = table()?;
            setup::create_table(&sdk, &table).await?;
            setup::create_mail_identity(&sdk).await?;
            setup::create_event_bus(&sdk).await?;
            let store = Store::new(&sdk, &table);
            let issuer = DevIssuer::load_or_create(&state_dir())?;
            setup::publish_issuer(&store, &issuer).await?;
            let kid =
                setup::ensure_signing_keys(&sdk, Some(&store), &setup::signing_keys_secret_id())
                    .await?;
            println!(
                "table {table}, mail identity, dev issuer {} and signing key {kid} ready",
                issuer.kid()
            );
            Ok(())
        }
        ["signing-keys", action @ ..] => signing_keys(action).await,
        ["user-jwks", "publish", file] => {
            let doc = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
            // The functions would refuse an unusable document; refuse it here, before it is live.
            keygate::identity::KeySet::from_jwks(&doc).map_err(|e| format!("{file}: {e}"))?;
            let sdk = keygate::adapters::aws::aws_config().await;
            Store::new(&sdk, table()?)
                .publish_jwks(keygate::store::jwks::USERS, &doc)
                .await?;
            println!("published {file} as the console users' issuer keys");
            Ok(())
        }
        ["token", user, email, rest @ ..] => {
            loopback::require("token", TOKEN_MINTS)?;
            let ttl = match rest {
                [] => 12 * 3600,
                [ttl] => ttl
                    .parse()
                    .map_err(|_| format!("ttl-seconds {ttl:?} is not a number"))?,
                _ => return Err(USAGE.into()),
            };
            UserId::parse("USER", user).map_err(|e| format!("{}: {}", e.field, e.message))?;
            Email::parse("EMAIL", email).map_err(|e| format!("{}: {}", e.field, e.message))?;
            println!(
                "{}",
                DevIssuer::load(&state_dir())?.user_token(user, email, ttl)?
            );
            Ok(())
        }
        ["seed"] => seed().await,
        ["node-secrets", project, node] => {
            let sdk = loopback::dev_sdk_config("node-secrets", NODE_SECRETS_READS).await?;
            ProjectId::parse("project", project).map_err(|e| e.message)?;
            NodeId::parse("node", node).map_err(|e| e.message)?;
            let namespace = std::env::var("SECRETS_NAMESPACE")
                .unwrap_or_else(|_| keygate::config::DEFAULT_SECRETS_NAMESPACE.into());
            let sm = aws_sdk_secretsmanager::Client::new(&sdk);
            let granted = node_secrets::for_node(&sm, &namespace, project, node).await?;
            if granted.is_empty() {
                eprintln!("no secret of project {project} is granted to node {node}");
            }
            for (name, value) in granted {
                println!("{}", node_secrets::export_line(&name, &value));
            }
            Ok(())
        }
        ["pump", rest @ ..] => {
            loopback::require("pump", PUMP_FEEDS)?;
            pump::run(pump::Options::parse(rest)?).await
        }
        _ => Err(USAGE.into()),
    }
}

fn caller(id: &str, email: &str) -> Result<Caller, BoxError> {
    Ok(Caller::new(
        UserId::parse("id", id).map_err(|e| e.message)?,
        Email::parse("email", email).map_err(|e| e.message)?,
    ))
}

/// Ignores "already there", so seeding twice is harmless.
fn exists_ok<T>(r: Result<T, Error>) -> Result<(), BoxError> {
    match r {
        Ok(_) | Err(Error::Conflict(_)) => Ok(()),
        Err(e) => Err(format!("{e}").into()),
    }
}

fn id<T>(parse: fn(&str, &str) -> Result<T, keygate::FieldError>, v: &str) -> Result<T, BoxError> {
    parse("id", v).map_err(|e| e.message.into())
}

async fn seed() -> Result<(), BoxError> {
    let sdk = loopback::dev_sdk_config("seed", SEED_WRITES).await?;
    let store = Store::new(&sdk, table()?);
    let alice = caller("alice", "alice@example.com")?;
    let bob = caller("bob", "bob@example.com")?;
    let server = id(ProjectId::parse, "server")?;
    let client = id(ProjectId::parse, "bob-client")?;

    exists_ok(
        project::create(
            &store,
            &alice,
            &ProjectCreation::Anyone,
            NewProjectInput {
                id: Some(server.to_string()),
                name: "Weather server".into(),
            },
        )
        .await,
    )?;
    project::put_member(
        &store,
        &alice,
        &server,
        &bob.id,
        MemberInput {
            email: bob.email.to_string(),
        },
    )
    .await?;
    // Two roles, and the demo template's: what the platform manual's client script does (read
    // the latest layer, post a workload, search and download the results).
    let roles: [(&str, &str, &[&str]); 3] = [
        (
            "reader",
            "Reads the latest data layer and packages",
            &["data_layers:read", "packages:read", "files:read"],
        ),
        ("writer", "Uploads packages", &["packages:write"]),
        (
            "client",
            "Posts workloads to the graph and reads its results",
            &[
                "data_layers:read",
                "packages:write",
                "packages:read",
                "files:read",
            ],
        ),
    ];
    for (name, description, permissions) in roles {
        let role = RoleInput {
            description: Some(description.into()),
            permissions: permissions.iter().map(|p| p.to_string()).collect(),
        };
        project::put_role(&store, &alice, &server, id(RoleName::parse, name)?, role).await?;
    }
    for (n, name) in [("input", "Input"), ("output", "Output")] {
        project::put_node(
            &store,
            &alice,
            &server,
            id(NodeId::parse, n)?,
            NodeInput { name: name.into() },
        )
        .await?;
    }
    let field = |name: &str, description: &str, value: &str| FieldInput {
        name: name.into(),
        description: Some(description.into()),
        value: value.into(),
    };
    let weather = NewTemplateInput {
        name: "Weather data client".into(),
        description: Some(
            "Post workloads to the weather graph and read its results (the platform manual's client script)"
                .into(),
        ),
        role: "client".into(),
        ttl_days: Some(90),
        rate_limit_per_minute: Some(600),
        fields: Some(vec![
            field("project", "The server project", "server"),
            field("input node", "Node that receives packages", "input"),
            field("output node", "Node that publishes results", "output"),
        ]),
    };
    // Bob has asked for a key from it: alice sees a pending request to approve.
    if let Ok(t) = template::create(&store, &alice, &server, weather).await {
        let comment = Some("For the weather fetcher of my client project".to_string());
        exists_ok(
            request::create(
                &store,
                &bob,
                &server,
                &t.id,
                NewRequestInput { comment },
                u32::MAX,
            )
            .await,
        )?;
    }

    exists_ok(
        project::create(
            &store,
            &bob,
            &ProjectCreation::Anyone,
            NewProjectInput {
                id: Some(client.to_string()),
                name: "Bob's client".into(),
            },
        )
        .await,
    )?;
    project::put_node(
        &store,
        &bob,
        &client,
        id(NodeId::parse, "fetcher")?,
        NodeInput {
            name: "Fetcher".into(),
        },
    )
    .await?;
    println!(
        "seeded: project server (owner alice, member bob, roles reader/writer/client, nodes input/output, template \"Weather data client\" with a pending request from bob), project bob-client (owner bob)"
    );
    Ok(())
}

/// Lists, rotates, retires or publishes the API-key signing keys (works against real AWS too:
/// it uses the standard AWS environment, `SIGNING_KEYS_SECRET_ID` and `TABLE_NAME`). A new key
/// is published before the secret holds it (nothing signs with a key verify does not know); a
/// retired key is unpublished after the secret drops it.
async fn signing_keys(action: &[&str]) -> Result<(), BoxError> {
    let sdk = keygate::adapters::aws::aws_config().await;
    let id = setup::signing_keys_secret_id();
    let store = || table().map(|t| Store::new(&sdk, t));
    if action == ["init"] {
        // A deployment's one-time step: the secret with one active key, unless it exists. Before
        // the first deploy there is no table yet: then `publish` follows once there is.
        if std::env::var("TABLE_NAME").is_ok_and(|t| !t.trim().is_empty()) {
            let kid = setup::ensure_signing_keys(&sdk, Some(&store()?), &id).await?;
            println!("signing key set {id} ready and published; active key {kid}");
        } else {
            let kid = setup::ensure_signing_keys(&sdk, None, &id).await?;
            println!(
                "signing key set {id} ready; active key {kid}. TABLE_NAME is not set, so its \
                 public keys are not published yet: run `signing-keys publish` with TABLE_NAME \
                 once the stack's table exists"
            );
        }
        return Ok(());
    }
    let mut set = setup::read_signing_keys(&sdk, &id).await?.ok_or_else(|| {
        format!("no signing key set in secret {id}: run `signing-keys init` first")
    })?;
    match action {
        ["list"] => {}
        ["publish"] => {
            setup::publish_signing_keys(&store()?, &set).await?;
            println!("published the public keys of {id}");
        }
        ["rotate"] => {
            let kid = set.rotate()?;
            setup::publish_signing_keys(&store()?, &set).await?;
            setup::write_signing_keys(&sdk, &id, &set, false).await?;
            println!("new active signing key {kid}; the others still verify until retired");
        }
        ["retire", kid] => {
            set.retire(kid)?;
            setup::write_signing_keys(&sdk, &id, &set, false).await?;
            setup::publish_signing_keys(&store()?, &set).await?;
            println!("retired {kid}: tokens it signed no longer verify");
        }
        _ => return Err(USAGE.into()),
    }
    for kid in set.kids() {
        let mark = if kid == set.active_kid() {
            " (active)"
        } else {
            ""
        };
        println!("{kid}{mark}");
    }
    Ok(())
}
