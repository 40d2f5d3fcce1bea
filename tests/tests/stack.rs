//! The table the dev tool creates is the one DESIGN.md describes: pk/sk, gsi1, gsi2, a stream with old
//! and new images, and TTL on `expires_at`.

use aws_sdk_dynamodb::types::{KeyType, StreamViewType, TimeToLiveStatus};
use keygate_e2e::Stack;

#[tokio::test]
async fn the_table_has_keys_index_stream_and_ttl() {
    let stack = Stack::new().await;
    let t = stack
        .ddb
        .describe_table()
        .table_name(&stack.table)
        .send()
        .await
        .expect("DescribeTable")
        .table
        .expect("table");
    let keys: Vec<(String, KeyType)> = t
        .key_schema()
        .iter()
        .map(|k| (k.attribute_name().to_string(), k.key_type().clone()))
        .collect();
    assert_eq!(
        keys,
        vec![
            ("pk".to_string(), KeyType::Hash),
            ("sk".to_string(), KeyType::Range)
        ]
    );
    let gsi = t
        .global_secondary_indexes()
        .iter()
        .find(|g| g.index_name() == Some("gsi1"))
        .expect("gsi1");
    let gsi_keys: Vec<&str> = gsi
        .key_schema()
        .iter()
        .map(|k| k.attribute_name())
        .collect();
    assert_eq!(gsi_keys, vec!["gsi1pk", "gsi1sk"]);
    let gsi2 = t
        .global_secondary_indexes()
        .iter()
        .find(|g| g.index_name() == Some("gsi2"))
        .expect("gsi2");
    let gsi2_keys: Vec<&str> = gsi2
        .key_schema()
        .iter()
        .map(|k| k.attribute_name())
        .collect();
    assert_eq!(gsi2_keys, vec!["gsi2pk", "gsi2sk"]);
    let stream = t.stream_specification().expect("stream");
    assert!(stream.stream_enabled());
    assert_eq!(
        stream.stream_view_type(),
        Some(&StreamViewType::NewAndOldImages)
    );
    let ttl = stack
        .ddb
        .describe_time_to_live()
        .table_name(&stack.table)
        .send()
        .await
        .expect("DescribeTimeToLive");
    let ttl = ttl.time_to_live_description().expect("ttl");
    assert_eq!(ttl.attribute_name(), Some("expires_at"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}
