//! The model: types, limits and rules that need no I/O. It imports nothing of keygate's I/O or
//! services (the store, the AWS adapters, access, identity), so whatever depends on it cannot
//! close a cycle through it. Moving here from `domain/*` one concept at a time (`domain::ids`
//! and the checks of `domain` are model too, not yet moved).

pub mod audit;
pub mod caller;
pub mod import;
pub mod key;
pub mod locale;
pub mod project;
pub mod request;
#[cfg(feature = "openapi")]
pub mod schema;
pub mod template;
pub mod user;
