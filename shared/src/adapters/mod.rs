//! The adapters: keygate's side of the AWS services other than DynamoDB (the SDK set-up and its
//! roots of trust, SES mail, Secrets Manager, the table's stream records, CloudWatch metrics and
//! logs) and the SDK call log. They import the model and the configuration, never a service.

pub mod aws;
pub mod logging;
pub mod mail;
pub mod metrics;
pub mod sdk_calls;
pub mod secrets;
pub mod stream;
pub mod tls;
