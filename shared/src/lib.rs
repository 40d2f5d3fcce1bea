//! keygate: the API-key service's library, in layers that import only downwards
//! (`tests/architecture.rs` checks it):
//!
//! 1. `model` (types, ids, limits and rules without I/O) and `error`;
//! 2. `config`, the one reader of the environment;
//! 3. `store` (DynamoDB), `adapters` (the other AWS services), `token` and the caches;
//! 4. `access`, `identity`, the services (`domain`, one module per concept) and the `usecases`
//!    of single functions;
//! 5. the functions' shared edges: `app` (start-up, one client per container) and `http`.

pub mod error;
pub mod model;

pub mod config;

pub mod adapters;
pub mod bearer;
pub mod keycache;
pub mod store;
pub mod token;

pub mod access;
pub mod domain;
pub mod identity;
pub mod usecases;

pub mod app;
pub mod http;

pub use app::App;
pub use error::{Error, FieldError, Result};
pub use identity::Caller;
