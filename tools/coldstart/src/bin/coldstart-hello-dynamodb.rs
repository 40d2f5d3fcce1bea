//! `coldstart-hello-dynamodb`: a rung of the cold-start ladder, the baseline with keygate's log subscriber, AWS configuration and store (src/rungs.rs).

include!("../rungs.rs");
