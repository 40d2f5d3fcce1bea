//! `coldstart-hello-log`: a rung of the cold-start ladder, the baseline with keygate's log subscriber (src/rungs.rs).

include!("../rungs.rs");
