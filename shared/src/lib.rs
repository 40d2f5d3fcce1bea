//! keygate: the API-key service's library. Domain types and their rules, the single-table
//! DynamoDB store, console-user identity, configuration and the HTTP edges every function shares.

pub mod access;
pub mod app;
pub mod aws;
pub mod bearer;
pub mod config;
pub mod counting;
pub mod decision;
pub mod domain;
pub mod error;
pub mod http;
pub mod identity;
pub mod keycache;
pub mod leases;
pub mod lifecycle;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod model;
pub mod notify;
pub mod page;
pub mod routes;
pub mod schedule;
pub mod sdk_calls;
pub mod secrets;
pub mod store;
pub mod stream;
pub mod sync;
pub mod tls;
pub mod token;

pub use app::App;
pub use error::{Error, FieldError, Result};
pub use identity::Caller;
