//! The table's stream and its readers, from infra/template.yaml: DynamoDB Streams serves at most
//! two readers per shard at once without throttling (AWS advises no more), so the table has two
//! event source mappings: the notifier (mails and lifecycle events) and imports-sync
//! (revocations and rolls to the imported secrets, alone so that nothing delays them). Each has
//! a local pump and an IteratorAge alarm, the notifier's filter lets through every record a mail
//! or an event comes from, and docs/security.md's bound on how fast a revocation reaches the
//! imported secrets uses the template's numbers.

use std::collections::BTreeSet;

use keygate_e2e::template::{repo_file, resource, resources, text};

/// The lines that make a resource a reader of the table's stream: a Lambda mapping (SAM's
/// `Stream`, CloudFormation's `EventSourceArn`) or an EventBridge pipe (`Source`).
const READS: &[&str] = &[
    "Stream: !GetAtt Table.StreamArn",
    "EventSourceArn: !GetAtt Table.StreamArn",
    "Source: !GetAtt Table.StreamArn",
];

/// The resources that read the table's stream, in template order.
fn readers() -> Vec<String> {
    resources()
        .into_iter()
        .filter(|(_, body)| body.lines().any(|l| READS.contains(&l.trim())))
        .map(|(id, _)| id)
        .collect()
}

/// `key: value` of a resource's first line with that key.
fn setting(body: &str, key: &str) -> String {
    body.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key} in:\n{body}"))
        .trim()
        .to_string()
}

#[test]
fn the_tables_stream_has_at_most_two_readers() {
    let readers = readers();
    assert!(
        readers.len() <= 2,
        "readers of the table's stream: {readers:?}"
    );
    assert_eq!(readers, ["NotifierFunction", "ImportsSyncFunction"]);
    // Every other mention of the stream is a permission to read it, for those two.
    for line in text().lines().filter(|l| l.contains("Table.StreamArn")) {
        let t = line.trim();
        assert!(
            READS.contains(&t) || t == "Resource: !GetAtt Table.StreamArn",
            "{t}: a new reader of the table's stream? count it here"
        );
    }
    for id in &readers {
        let body = resource(id);
        let mappings = body.lines().filter(|l| READS.contains(&l.trim())).count();
        assert_eq!(mappings, 1, "{id}: one mapping");
    }
}

/// A reader's binary (`Binary:` of its build).
fn binary(id: &str) -> String {
    setting(&resource(id), "Binary")
}

#[test]
fn every_reader_has_a_local_pump_and_an_iterator_age_alarm() {
    let readers: BTreeSet<String> = readers().into_iter().collect();
    let binaries: BTreeSet<String> = readers.iter().map(|id| binary(id)).collect();
    // scripts/lib.sh's start_pumps: one pump per mapping.
    let lib = repo_file("scripts/lib.sh");
    let (_, pumps) = lib
        .split_once("start_pumps() {")
        .expect("start_pumps in scripts/lib.sh");
    let list = pumps
        .lines()
        .find_map(|l| l.trim().strip_prefix("for fn in "))
        .and_then(|l| l.strip_suffix("; do"))
        .expect("start_pumps' `for fn in ...; do`");
    let pumped: BTreeSet<String> = list.split_whitespace().map(str::to_string).collect();
    assert_eq!(pumped, binaries, "scripts/lib.sh start_pumps");
    // One IteratorAge alarm per reader, and none for a function that reads no stream.
    let alarmed: BTreeSet<String> = resources()
        .into_iter()
        .filter(|(_, body)| body.contains("MetricName: IteratorAge"))
        .map(|(id, body)| {
            let dims = setting(&body, "Dimensions");
            dims.split("!Ref ")
                .nth(1)
                .and_then(|r| r.split('}').next())
                .map(|r| r.trim().to_string())
                .unwrap_or_else(|| panic!("{id}: Dimensions {dims}"))
        })
        .collect();
    assert_eq!(alarmed, readers, "IteratorAge alarms");
}

#[test]
fn the_notifier_hears_of_every_record_a_mail_or_an_event_comes_from() {
    let body = resource("NotifierFunction");
    // keygate::usecases::lifecycle::decide: requests, keys and imports (INSERT, MODIFY), an import's
    // REMOVE; keygate::usecases::notify::decide: requests and keys, a subset.
    assert!(
        body.contains(
            r#"- Pattern: '{"dynamodb": {"NewImage": {"entity_type": {"S": ["request", "key", "import"]}}}}'"#
        ),
        "{body}"
    );
    assert!(
        body.contains(
            r#"- Pattern: '{"eventName": ["REMOVE"], "dynamodb": {"OldImage": {"entity_type": {"S": ["import"]}}}}'"#
        ),
        "{body}"
    );
    assert!(body.contains("EVENT_BUS_NAME: !Ref EventBus"), "{body}");
    let role = resource("NotifierRole");
    assert!(
        role.contains("Action: events:PutEvents")
            && role.contains("Resource: !GetAtt EventBus.Arn"),
        "{role}"
    );
}

#[test]
fn the_documented_revocation_bound_is_the_templates() {
    let body = resource("ImportsSyncFunction");
    let docs = repo_file("docs/security.md");
    for key in [
        "BatchSize",
        "MaximumBatchingWindowInSeconds",
        "MaximumRetryAttempts",
        "MaximumRecordAgeInSeconds",
        "Timeout",
    ] {
        let value = setting(&body, key);
        let stated = format!("`{key}: {value}`");
        assert!(
            docs.contains(&stated),
            "docs/security.md states imports-sync's {stated} (the template's)"
        );
    }
    assert_eq!(
        setting(&body, "MaximumBatchingWindowInSeconds"),
        "0",
        "a revocation waits for no batch"
    );
}
