//! The services: the operations of each concept, which check the caller's access, apply the
//! model's rules (`crate::model`) and call the store. Inputs arrive as plain serde structs, are
//! checked by the model (every failing field reported at once), and leave as typed values.

pub mod audit;
pub mod import;
pub mod key;
pub mod project;
pub mod request;
pub mod settings;
pub mod template;
pub mod usage;
