//! The use cases of single functions: the decision on a platform call and its counting (`verify`,
//! `authorizer`), the stream's readers (`notify` for `notifier`, `sync` for `imports-sync`, and
//! the lifecycle events they share), and the scheduled jobs (`scheduler`). They call the
//! services, the store and the adapters below them.

pub mod counting;
pub mod decision;
pub mod leases;
pub mod lifecycle;
pub mod notify;
pub mod schedule;
pub mod sync;
