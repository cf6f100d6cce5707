//! Hostile input for the SARIF collector: truncations, byte flips, deep nesting and
//! arbitrary bytes must give diagnostics, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dsomm_audit_collect::{Context, Limits, Parsed, sarif};
use proptest::prelude::*;

/// A small valid log with two runs, suppressions, extensions, invocations,
/// locations and fingerprints.
const SAMPLE: &str = r#"{"version":"2.1.0","$schema":"https://json.schemastore.org/sarif-2.1.0.json","runs":[
{"tool":{"driver":{"name":"Semgrep OSS","semanticVersion":"1.69.0","rules":[
  {"id":"r1","defaultConfiguration":{"level":"error"},"properties":{"security-severity":"CRITICAL"}},
  {"id":"r2","properties":{"security-severity":5.3}}]},
  "extensions":[{"name":"pack","rules":[{"id":"x","defaultConfiguration":{"level":"note"}}]}]},
 "invocations":[{"executionSuccessful":true,"endTimeUtc":"2025-03-02T10:00:00Z","toolExecutionNotifications":[{"message":{"text":"t\u00e9st \"q\""}}]}],
 "versionControlProvenance":[{"repositoryUri":"https://github.com/acme/api","revisionId":"abc","branch":"main"}],
 "results":[{"ruleId":"r1","message":{"text":"a"},"partialFingerprints":{"h":"f1"},
   "locations":[{"physicalLocation":{"artifactLocation":{"uri":"src/a.js"},"region":{"startLine":7}}}]},
   {"ruleIndex":1,"level":"warning"},
   {"rule":{"index":0,"toolComponent":{"index":0}}},{"ruleId":"r1","suppressions":[{"kind":"inSource"}]}]},
{"tool":{"driver":{"name":"gitleaks"}},"results":[]}
]}"#;

fn context() -> Context {
    Context {
        origin: "hostile.sarif".into(),
        sha256: "00".into(),
        ..Context::default()
    }
}

fn run(bytes: &[u8]) -> Parsed {
    sarif::parse(bytes, &context(), &Limits::default())
}

#[test]
fn the_sample_is_valid() {
    let parsed = run(SAMPLE.as_bytes());
    assert_eq!(parsed.diagnostics, vec![]);
    assert_eq!(parsed.evidence.len(), 2);
    let attrs = &parsed.evidence[0].attrs;
    assert_eq!(attrs["results"], 3);
    assert_eq!(attrs["suppressed"], 1);
    assert_eq!(attrs["counts_by_severity"]["critical"], 1);
    assert_eq!(attrs["counts_by_severity"]["medium"], 1);
    assert_eq!(attrs["counts_by_severity"]["low"], 1);
    assert_eq!(attrs["rules"], 3);
    assert_eq!(parsed.evidence[0].subject.repo.as_deref(), Some("acme/api"));
    assert_eq!(
        attrs["findings"],
        serde_json::json!([
            {"id": "r1", "severity": "critical", "level": "error", "path": "src/a.js", "line": 7, "fingerprint": "f1"},
            {"id": "r2", "severity": "medium", "level": "warning"},
            {"id": "x", "severity": "low", "level": "note"}
        ])
    );
    assert_eq!(attrs["findings_truncated"], false);
    assert_eq!(parsed.evidence[1].attrs["findings"], serde_json::json!([]));
}

#[test]
fn every_truncation_gives_one_diagnostic_and_no_record() {
    let bytes = SAMPLE.as_bytes();
    for end in 0..bytes.len() {
        let parsed = run(&bytes[..end]);
        assert!(parsed.evidence.is_empty(), "prefix of {end} bytes");
        assert_eq!(
            parsed.diagnostics.len(),
            1,
            "prefix of {end} bytes: {:?}",
            parsed.diagnostics
        );
        assert!(parsed.diagnostics[0].line.is_some(), "prefix of {end} bytes");
    }
}

#[test]
fn byte_flips_never_panic() {
    let bytes = SAMPLE.as_bytes();
    for position in 0..bytes.len() {
        for replacement in [0x00, 0xFF, b'"', b'[', b'}', b',', b'9', b'-'] {
            let mut mutated = bytes.to_vec();
            mutated[position] = replacement;
            let parsed = run(&mutated);
            assert!(parsed.evidence.len() <= 2);
            assert!(!parsed.evidence.is_empty() || !parsed.diagnostics.is_empty());
        }
    }
}

#[test]
fn nesting_past_the_parser_limit_is_a_diagnostic() {
    // A depth limit above serde_json's own recursion limit (128) must still end
    // in a diagnostic, not a stack overflow.
    let limits = Limits {
        max_depth: 1_000_000,
        ..Limits::default()
    };
    for deep in [
        format!(r#"{{"version":"2.1.0","runs":[{}"#, "[".repeat(10_000)),
        format!(r#"{{"version":"2.1.0","runs":[{}"#, r#"{"a":"#.repeat(10_000)),
        format!(
            r#"{{"version":"2.1.0","runs":[{{"tool":{{"driver":{{"name":"x"}}}},"results":[{}]}}]}}"#,
            "[".repeat(200) + &"]".repeat(200)
        ),
    ] {
        let parsed = sarif::parse(deep.as_bytes(), &context(), &limits);
        assert!(parsed.evidence.is_empty());
        assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
    }
}

fn json_leaf() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "[a-zA-Z0-9 ./:-]{0,12}".prop_map(serde_json::Value::from),
        prop_oneof![
            Just("error"),
            Just("warning"),
            Just("note"),
            Just("none"),
            Just("9.8"),
            Just("CRITICAL"),
            Just("2025-03-02T10:00:00Z"),
            Just("https://github.com/a/b"),
            Just("rejected"),
            Just("fail"),
        ]
        .prop_map(serde_json::Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let keys = prop_oneof![
        Just("tool".to_string()),
        Just("driver".to_string()),
        Just("name".to_string()),
        Just("rules".to_string()),
        Just("results".to_string()),
        Just("level".to_string()),
        Just("ruleIndex".to_string()),
        Just("ruleId".to_string()),
        Just("rule".to_string()),
        Just("toolComponent".to_string()),
        Just("index".to_string()),
        Just("id".to_string()),
        Just("properties".to_string()),
        Just("security-severity".to_string()),
        Just("suppressions".to_string()),
        Just("status".to_string()),
        Just("kind".to_string()),
        Just("invocations".to_string()),
        Just("endTimeUtc".to_string()),
        Just("extensions".to_string()),
        Just("defaultConfiguration".to_string()),
        Just("versionControlProvenance".to_string()),
        Just("repositoryUri".to_string()),
        Just("automationDetails".to_string()),
        Just("locations".to_string()),
        Just("physicalLocation".to_string()),
        Just("artifactLocation".to_string()),
        Just("uri".to_string()),
        Just("region".to_string()),
        Just("startLine".to_string()),
        Just("partialFingerprints".to_string()),
        Just("fingerprints".to_string()),
    ];
    json_leaf().prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let parsed = run(&bytes);
        prop_assert!(!parsed.evidence.is_empty() || !parsed.diagnostics.is_empty());
    }

    #[test]
    fn arbitrary_runs_never_panic(runs in prop::collection::vec(json_value(), 0..4)) {
        let log = serde_json::json!({"version": "2.1.0", "runs": runs});
        let text = serde_json::to_string(&log).unwrap();
        let parsed = run(text.as_bytes());
        prop_assert!(parsed.evidence.len() <= runs.len());
        prop_assert!(parsed.diagnostics.len() <= sarif::MAX_DIAGNOSTICS + 1);
        for record in &parsed.evidence {
            let findings = record.attrs["findings"].as_array().map_or(0, Vec::len);
            prop_assert_eq!(Some(findings as u64), record.attrs["results"].as_u64());
            prop_assert_eq!(&record.attrs["findings_truncated"], &serde_json::json!(false));
        }
    }
}
