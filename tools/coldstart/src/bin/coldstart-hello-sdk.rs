//! `coldstart-hello-sdk`: a rung of the cold-start ladder, the baseline with keygate's log subscriber and AWS configuration (src/rungs.rs).

include!("../rungs.rs");
