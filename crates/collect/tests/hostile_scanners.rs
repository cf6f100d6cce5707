//! Hostile input for the Trivy, Grype, CycloneDX and SPDX collectors:
//! truncations, byte flips, deep nesting and arbitrary bytes or values must give
//! diagnostics, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dsomm_audit_collect::trivy::{MAX_DIAGNOSTICS, MAX_FINDINGS};
use dsomm_audit_collect::{Collector, Context, Limits, Parsed, parse_document};
use proptest::prelude::*;

/// A Trivy report with every kind of finding.
const TRIVY: &str = r#"{"SchemaVersion":2,"CreatedAt":"2025-03-02T10:00:00Z","ArtifactName":"acme/api:1","ArtifactType":"container_image",
"Metadata":{"RepoDigests":["acme/api@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"]},
"Results":[{"Target":"acme/api:1 (alpine 3.19)","Class":"os-pkgs","Vulnerabilities":[
  {"VulnerabilityID":"CVE-1","PkgName":"a","InstalledVersion":"1","FixedVersion":"2","Severity":"CRITICAL"},
  {"VulnerabilityID":"CVE-2","PkgName":"b","InstalledVersion":"1","Severity":"LOW"}]},
 {"Target":"Dockerfile","Class":"config","MisconfSummary":{"Successes":3,"Failures":1,"Exceptions":0},
  "Misconfigurations":[{"ID":"DS002","Severity":"HIGH","Status":"FAIL"}]},
 {"Target":".env","Class":"secret","Secrets":[{"RuleID":"github-pat","Severity":"CRITICAL","StartLine":2}]}]}"#;

/// A Grype report with two matches.
const GRYPE: &str = r#"{"matches":[
 {"vulnerability":{"id":"CVE-1","severity":"Critical","fix":{"versions":["2"],"state":"fixed"}},
  "relatedVulnerabilities":[{"id":"CVE-1"}],"artifact":{"name":"a","version":"1"}},
 {"vulnerability":{"id":"GHSA-1","severity":"Negligible","fix":{"versions":[],"state":"not-fixed"}},
  "relatedVulnerabilities":[{"id":"CVE-9"}],"artifact":{"name":"b","version":"1"}}],
"source":{"type":"image","target":{"userInput":"acme/api:1","imageID":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}},
"descriptor":{"name":"grype","version":"0.80.0","timestamp":"2025-03-02T10:00:00Z"}}"#;

/// A CycloneDX VEX with components.
const CYCLONEDX: &str = r#"{"bomFormat":"CycloneDX","specVersion":"1.5","serialNumber":"urn:uuid:1",
"metadata":{"timestamp":"2025-03-02T10:00:00Z","tools":{"components":[{"name":"trivy","version":"0.50.0"}]},
 "component":{"name":"app","hashes":[{"alg":"SHA-256","content":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}]}},
"components":[{"name":"a","licenses":[{"license":{"id":"MIT"}}],"components":[{"name":"a1"}]},{"name":"b"}],
"vulnerabilities":[{"id":"CVE-1","ratings":[{"severity":"high"}],"analysis":{"state":"not_affected","justification":"code_not_present"},
 "affects":[{"ref":"a"}]},{"id":"CVE-2","ratings":[{"score":9.8,"method":"CVSSv31"}]}]}"#;

/// An SPDX document with a described package.
const SPDX: &str = r#"{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","documentNamespace":"https://example.com/1",
"creationInfo":{"created":"2025-03-02T10:00:00Z","creators":["Tool: syft-1.0.0"]},
"packages":[{"SPDXID":"SPDXRef-app","name":"app","versionInfo":"1","licenseConcluded":"MIT",
  "checksums":[{"algorithm":"SHA256","checksumValue":"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}]},
 {"SPDXID":"SPDXRef-b","name":"b","licenseConcluded":"NOASSERTION"}],
"relationships":[{"spdxElementId":"SPDXRef-DOCUMENT","relatedSpdxElement":"SPDXRef-app","relationshipType":"DESCRIBES"}]}"#;

/// Each sample, its collector and how many records it gives.
const SAMPLES: [(&str, Collector, usize); 4] = [
    (TRIVY, Collector::Trivy, 1),
    (GRYPE, Collector::Grype, 1),
    (CYCLONEDX, Collector::CycloneDx, 2),
    (SPDX, Collector::Spdx, 1),
];

fn context() -> Context {
    Context {
        origin: "hostile.json".into(),
        sha256: "00".into(),
        ..Context::default()
    }
}

fn run(collector: Collector, bytes: &[u8]) -> Parsed {
    parse_document(collector, bytes, &context(), &Limits::default())
}

#[test]
fn the_samples_are_valid() {
    for (sample, collector, records) in SAMPLES {
        let parsed = run(collector, sample.as_bytes());
        assert_eq!(parsed.diagnostics, vec![], "{collector:?}");
        assert_eq!(parsed.evidence.len(), records, "{collector:?}");
        for record in &parsed.evidence {
            assert!(record.occurred_at.is_some(), "{collector:?}");
            assert!(record.subject.artifact.is_some(), "{collector:?}");
        }
    }
}

#[test]
fn every_truncation_gives_one_diagnostic_and_no_record() {
    for (sample, collector, _) in SAMPLES {
        let bytes = sample.as_bytes();
        for end in 0..bytes.len() {
            let parsed = run(collector, &bytes[..end]);
            assert!(parsed.evidence.is_empty(), "{collector:?}: prefix of {end} bytes");
            assert_eq!(
                parsed.diagnostics.len(),
                1,
                "{collector:?}: prefix of {end} bytes: {:?}",
                parsed.diagnostics
            );
            assert!(
                parsed.diagnostics[0].line.is_some(),
                "{collector:?}: prefix of {end} bytes"
            );
            assert!(!parsed.diagnostics[0].warning);
        }
    }
}

#[test]
fn byte_flips_never_panic() {
    for (sample, collector, records) in SAMPLES {
        let bytes = sample.as_bytes();
        for position in 0..bytes.len() {
            for replacement in [0x00, 0xFF, b'"', b'[', b'{', b'}', b',', b'9', b'-'] {
                let mut mutated = bytes.to_vec();
                mutated[position] = replacement;
                let parsed = run(collector, &mutated);
                assert!(parsed.evidence.len() <= records, "{collector:?} at {position}");
                assert!(
                    !parsed.evidence.is_empty() || !parsed.diagnostics.is_empty(),
                    "{collector:?} at {position}: nothing recorded and nothing said"
                );
            }
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
    let cases = [
        (
            Collector::Trivy,
            format!(r#"{{"SchemaVersion":2,"Results":[{}"#, "[".repeat(10_000)),
        ),
        (
            Collector::Grype,
            format!(r#"{{"matches":[{{"vulnerability":{}"#, r#"{"a":"#.repeat(10_000)),
        ),
        (
            Collector::CycloneDx,
            format!(
                r#"{{"bomFormat":"CycloneDX","components":[{}]}}"#,
                r#"{"components":["#.repeat(5_000) + &"]}".repeat(5_000)
            ),
        ),
        (
            Collector::Spdx,
            format!(
                r#"{{"spdxVersion":"SPDX-2.3","packages":[{{"checksums":{}{}}}]}}"#,
                "[".repeat(200),
                "]".repeat(200)
            ),
        ),
    ];
    for (collector, deep) in cases {
        let parsed = parse_document(collector, deep.as_bytes(), &context(), &limits);
        assert!(parsed.evidence.is_empty(), "{collector:?}");
        assert_eq!(parsed.diagnostics.len(), 1, "{collector:?}: {:?}", parsed.diagnostics);
    }
    // Under the default limit the same inputs are refused before parsing.
    for collector in [Collector::Trivy, Collector::CycloneDx] {
        let deep = format!(r#"{{"SchemaVersion":2,"bomFormat":"CycloneDX","x":{}"#, "[".repeat(100));
        let parsed = run(collector, deep.as_bytes());
        assert!(parsed.diagnostics[0].message.contains("deeper than 64"));
    }
}

#[test]
fn a_large_report_keeps_complete_counts_and_bounded_findings() {
    let one = r#"{"vulnerability":{"id":"CVE-1","severity":"High","fix":{"state":"fixed"}},"artifact":{"name":"a"}}"#;
    let count = MAX_FINDINGS * 3;
    let report = format!(r#"{{"matches":[{}]}}"#, vec![one; count].join(","));
    let parsed = run(Collector::Grype, report.as_bytes());
    let attrs = &parsed.evidence[0].attrs;
    assert_eq!(attrs["vulnerabilities"], count);
    assert_eq!(attrs["counts_by_severity"]["high"], count);
    assert_eq!(attrs["fixable"], count);
    assert_eq!(attrs["findings"].as_array().map(Vec::len), Some(MAX_FINDINGS));
    assert_eq!(attrs["findings_truncated"], true);
}

fn json_leaf() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        "[a-zA-Z0-9 ./:@%-]{0,12}".prop_map(serde_json::Value::from),
        prop_oneof![
            Just("CRITICAL"),
            Just("Negligible"),
            Just("FAIL"),
            Just("PASS"),
            Just("fixed"),
            Just("not_affected"),
            Just("CVSSv31"),
            Just("NOASSERTION"),
            Just("DESCRIBES"),
            Just("SPDXRef-DOCUMENT"),
            Just("Tool: trivy-0.50.0"),
            Just("2025-03-02T10:00:00Z"),
            Just("0001-01-01T00:00:00Z"),
            Just("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
            Just("container_image"),
            Just("image"),
        ]
        .prop_map(serde_json::Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let keys = prop_oneof![
        Just("Target".to_string()),
        Just("Vulnerabilities".to_string()),
        Just("Misconfigurations".to_string()),
        Just("MisconfSummary".to_string()),
        Just("Successes".to_string()),
        Just("Secrets".to_string()),
        Just("Licenses".to_string()),
        Just("VulnerabilityID".to_string()),
        Just("Severity".to_string()),
        Just("Status".to_string()),
        Just("FixedVersion".to_string()),
        Just("StartLine".to_string()),
        Just("vulnerability".to_string()),
        Just("artifact".to_string()),
        Just("fix".to_string()),
        Just("state".to_string()),
        Just("versions".to_string()),
        Just("id".to_string()),
        Just("severity".to_string()),
        Just("ratings".to_string()),
        Just("score".to_string()),
        Just("method".to_string()),
        Just("analysis".to_string()),
        Just("affects".to_string()),
        Just("ref".to_string()),
        Just("components".to_string()),
        Just("licenses".to_string()),
        Just("hashes".to_string()),
        Just("alg".to_string()),
        Just("content".to_string()),
        Just("SPDXID".to_string()),
        Just("checksums".to_string()),
        Just("licenseConcluded".to_string()),
        Just("spdxElementId".to_string()),
        Just("relatedSpdxElement".to_string()),
        Just("relationshipType".to_string()),
    ];
    json_leaf().prop_recursive(6, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
            prop::collection::btree_map(keys.clone(), inner, 0..6)
                .prop_map(|map| serde_json::Value::Object(map.into_iter().collect())),
        ]
    })
}

fn collector() -> impl Strategy<Value = Collector> {
    prop_oneof![
        Just(Collector::Trivy),
        Just(Collector::Grype),
        Just(Collector::CycloneDx),
        Just(Collector::Spdx),
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(collector in collector(), bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let parsed = run(collector, &bytes);
        prop_assert!(!parsed.evidence.is_empty() || !parsed.diagnostics.is_empty());
    }

    #[test]
    fn arbitrary_documents_never_panic(
        metadata in json_value(),
        list in prop::collection::vec(json_value(), 0..6),
        other in json_value(),
    ) {
        let documents = [
            (Collector::Trivy, serde_json::json!({"SchemaVersion": 2, "Metadata": metadata, "Results": list})),
            (Collector::Trivy, serde_json::Value::from(list.clone())),
            (Collector::Grype, serde_json::json!({"matches": list, "source": metadata, "descriptor": other})),
            (
                Collector::CycloneDx,
                serde_json::json!({"bomFormat": "CycloneDX", "metadata": metadata, "components": list,
                                   "vulnerabilities": other}),
            ),
            (
                Collector::Spdx,
                serde_json::json!({"spdxVersion": "SPDX-2.3", "creationInfo": metadata, "packages": list,
                                   "relationships": other}),
            ),
        ];
        for (collector, document) in documents {
            let text = serde_json::to_string(&document).unwrap();
            let parsed = run(collector, text.as_bytes());
            prop_assert!(parsed.evidence.len() <= 2);
            prop_assert!(!parsed.evidence.is_empty() || !parsed.diagnostics.is_empty());
            prop_assert!(parsed.diagnostics.len() <= MAX_DIAGNOSTICS + 1);
            for record in &parsed.evidence {
                let findings = record.attrs.get("findings").and_then(|findings| findings.as_array());
                prop_assert!(findings.map_or(0, Vec::len) <= MAX_FINDINGS);
            }
        }
    }
}
