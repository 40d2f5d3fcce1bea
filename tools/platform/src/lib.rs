//! keygate-platform: local stand-ins for what sits around the `authorizer` function on the
//! platform side. `gateway` plays the deployed PlatformApi (API Gateway HTTP API, Lambda
//! authorizer, HTTP_PROXY integration; infra/template.yaml); `demo` plays the data platform
//! behind it and is never deployed. Both bind 127.0.0.1 only and call loopback only.

pub mod cli;
pub mod demo;
pub mod gateway;
pub mod serve;
