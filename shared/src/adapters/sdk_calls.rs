//! An SDK interceptor that records each AWS call's operation as it starts (once per call, not per
//! retry: before its input is serialized, when the SDK's own operation metadata is in the bag), on any service client it is added to. The tests and the decision bench
//! count calls with it (one copy, rather than one per file). Records names only, never input.

use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;

/// The operations called through the clients this is added to (`Builder::interceptor`), in
/// order. Clones share one log.
#[derive(Debug, Clone, Default)]
pub struct CallLog(Arc<Mutex<Vec<String>>>);

impl CallLog {
    /// The calls since the last take, in call order; the log starts empty again.
    pub fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }

    /// [`CallLog::take`], sorted (for comparing sets of concurrent calls).
    pub fn take_sorted(&self) -> Vec<String> {
        let mut calls = self.take();
        calls.sort();
        calls
    }

    /// The calls so far, without forgetting them.
    pub fn calls(&self) -> Vec<String> {
        self.0.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "keygate-call-log"
    }

    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg
            .load::<Metadata>()
            .map_or_else(|| "unknown".to_string(), |m| m.name().to_string());
        if let Ok(mut calls) = self.0.lock() {
            calls.push(op);
        }
        Ok(())
    }
}
