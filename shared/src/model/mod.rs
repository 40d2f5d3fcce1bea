//! The model: types, limits and rules that need no I/O. It imports nothing of keygate's I/O or
//! services (the store, the AWS adapters, access, identity), so whatever depends on it cannot
//! close a cycle through it. The services over it are `domain/*`.

pub mod audit;
pub mod caller;
pub mod checks;
pub mod ids;
pub mod import;
pub mod key;
pub mod locale;
pub mod page;
pub mod project;
pub mod request;
pub mod routes;
#[cfg(feature = "openapi")]
pub mod schema;
pub mod template;
pub mod time;
pub mod user;
