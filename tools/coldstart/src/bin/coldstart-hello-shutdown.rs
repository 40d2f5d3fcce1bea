//! `coldstart-hello-shutdown`: a rung of the cold-start ladder, the baseline with lambda_runtime's graceful-shutdown hook (src/rungs.rs).

include!("../rungs.rs");
