//! Corpus test: every real SARIF file in `../shared/fixtures/sarif/` is read in
//! place and must give exactly the runs and counts derived independently below,
//! and a `findings` list consistent with them (with one finding per file checked
//! against the file).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use dsomm_audit_collect::{Context, Limits, sarif};
use model::{EvidenceKind, OccurredAtSource, Subject};
use serde_json::{Value, json};

/// The shared fixtures folder, next to the repository checkout.
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/sarif");

/// What one run must give.
struct Run {
    tool: &'static str,
    tool_name: &'static str,
    tool_version: &'static str,
    results: u64,
    /// error, warning, note, none
    levels: [u64; 4],
    /// critical, high, medium, low, info, unknown
    severities: [u64; 6],
    rules: u64,
    tool_notifications: u64,
    invocation_successful: Option<bool>,
    /// One finding of this run checked against the file (one per file).
    spot: Option<Spot>,
}

/// A finding read from the file by hand: its position in `findings` (the same as
/// in `results`, as no fixture has a suppressed result), rule id, path and line.
struct Spot {
    index: usize,
    id: &'static str,
    path: &'static str,
    line: u64,
}

/// Most findings listed in one record (`collect::trivy::MAX_FINDINGS`).
const MAX_FINDINGS: u64 = 1_000;

// How the expected numbers were derived (independently of the Rust code), for
// each run of each file, with jq over the file contents:
//
//   jq '.runs[] | (.tool.driver.rules // []) as $rules | [.results[]
//        | (if .ruleIndex != null then $rules[.ruleIndex]
//           else (.ruleId as $id | [$rules[] | select(.id == $id)][0]) end) as $rule
//        | {level: (.level // $rule.defaultConfiguration.level // "warning"),
//           score: (.properties["security-severity"] // $rule.properties["security-severity"])}]
//        | group_by(.) | map({key: .[0], n: length})'
//
// plus `.tool.driver.rules | length`, `[.tool.extensions[]?.rules[]?] | length` (0 in
// every file), `[.invocations[]?.toolExecutionNotifications[]?] | length`, and a
// count of results with a non-empty `suppressions` (0 in every file). No file has
// invocation times, versionControlProvenance or automationDetails. The same
// numbers came out of a separate python3 reading. Severity is the score when one
// is given (numeric, or Semgrep's severity word), else the level: error -> high,
// warning -> medium, note -> low, none -> info.
//
// Each `spot` was read from the file with
//
//   jq -c --argjson r RUN --argjson i INDEX '.runs[$r].results[$i] | {ruleId,
//        uri: .locations[0].physicalLocation.artifactLocation.uri,
//        line: .locations[0].physicalLocation.region.startLine}' FILE
//
// after `jq '[.runs[].results[] | select(.suppressions)] | length'` gave 0 for
// every file (so a result's index is its index in `findings`) and every result
// was seen to carry a `ruleId`.
const EXPECTED: &[(&str, &[Run])] = &[
    // SOURCES.md: "CodeQL 2.5.4: 72 results without result-level 'level'; severity
    // comes from the 149 rules' defaultConfiguration (used rules: 6 error, 1 warning,
    // 6 note)". jq: every result has ruleIndex; by the rule's default level 11 error,
    // 4 warning, 57 note; no security-severity anywhere.
    (
        "codeql-2.5.4-real-run.sarif",
        &[Run {
            tool: "codeql",
            tool_name: "CodeQL",
            tool_version: "2.5.4",
            results: 72,
            levels: [11, 4, 57, 0],
            severities: [0, 11, 4, 57, 0, 0],
            rules: 149,
            tool_notifications: 0,
            invocation_successful: None,
            spot: Some(Spot {
                index: 10,
                id: "py/mixed-returns",
                path: "bad/api_post.py",
                line: 10,
            }),
        }],
    ),
    // SOURCES.md: "two runs (LGTM.com 1.24 and 'CodeQL command-line toolchain'
    // 2.0.0): 3 js results, rules defaultConfiguration level note". jq: 1 + 2
    // results, all resolve to note rules (driver.version 1.24.0-SNAPSHOT, then
    // semanticVersion 2.0.0).
    (
        "codeql-action-valid-two-runs.sarif",
        &[
            Run {
                tool: "lgtm-com",
                tool_name: "LGTM.com",
                tool_version: "1.24.0-SNAPSHOT",
                results: 1,
                levels: [0, 0, 1, 0],
                severities: [0, 0, 0, 1, 0, 0],
                rules: 1,
                tool_notifications: 0,
                invocation_successful: None,
                spot: None,
            },
            Run {
                tool: "codeql",
                tool_name: "CodeQL command-line toolchain",
                tool_version: "2.0.0",
                results: 2,
                levels: [0, 0, 2, 0],
                severities: [0, 0, 0, 2, 0, 0],
                rules: 2,
                tool_notifications: 0,
                invocation_successful: None,
                spot: Some(Spot {
                    index: 1,
                    id: "js/inconsistent-use-of-new",
                    path: "src/promiseUtils.js",
                    line: 2,
                }),
            },
        ],
    ),
    // SOURCES.md: "1 secret result (no level -> default warning)". jq: the 2 rules
    // have no defaultConfiguration, so warning; no score.
    (
        "gitleaks-v8-report.sarif",
        &[Run {
            tool: "gitleaks",
            tool_name: "gitleaks",
            tool_version: "v8.0.0",
            results: 1,
            levels: [0, 1, 0, 0],
            severities: [0, 0, 1, 0, 0, 0],
            rules: 2,
            tool_notifications: 0,
            invocation_successful: None,
            spot: Some(Spot {
                index: 0,
                id: "test-rule",
                path: "auth.py",
                line: 1,
            }),
        }],
    ),
    // SOURCES.md: "Semgrep OSS 1.69.0: 77 results; 17 rules with defaultConfiguration
    // level error(7)/warning(10); invocations with toolExecutionNotifications". jq:
    // by ruleId, 35 results of error rules (34 with security-severity "CRITICAL", 1
    // "HIGH") and 42 of warning rules ("MEDIUM"); 31 notifications; one invocation,
    // executionSuccessful true.
    (
        "semgrep-oss-juiceshop.sarif",
        &[Run {
            tool: "semgrep",
            tool_name: "Semgrep OSS",
            tool_version: "1.69.0",
            results: 77,
            levels: [35, 42, 0, 0],
            severities: [34, 1, 42, 0, 0, 0],
            rules: 17,
            tool_notifications: 31,
            invocation_successful: Some(true),
            spot: Some(Spot {
                index: 40,
                id: "vulnerability-management-registry.semgrep-rules.gitlab-rules.sast-rules.rules.lgpl.javascript.database.rules_lgpl_javascript_database_rule-node-nosqli-injection",
                path: "routes/deluxe.ts",
                line: 19,
            }),
        }],
    ),
    // SOURCES.md: "4 results, level warning, rules carry security-severity 5.3".
    // jq: 4 results with level warning; both rules score "5.3" -> medium.
    (
        "trivy-image-alpine310.sarif",
        &[Run {
            tool: "trivy",
            tool_name: "Trivy",
            tool_version: "dev",
            results: 4,
            levels: [0, 4, 0, 0],
            severities: [0, 0, 4, 0, 0, 0],
            rules: 2,
            tool_notifications: 0,
            invocation_successful: None,
            spot: Some(Spot {
                index: 3,
                id: "CVE-2019-1551",
                path: "testdata/fixtures/images/alpine-310.tar.gz",
                line: 1,
            }),
        }],
    ),
];

fn severity_object(counts: [u64; 6]) -> Value {
    json!({
        "critical": counts[0], "high": counts[1], "medium": counts[2],
        "low": counts[3], "info": counts[4], "unknown": counts[5],
    })
}

fn expected_attrs(run: &Run, index: usize) -> Value {
    let mut attrs = json!({
        "tool": run.tool,
        "tool_name": run.tool_name,
        "tool_version": run.tool_version,
        "format": "sarif",
        "sarif_version": "2.1.0",
        "run_index": index,
        "results_available": true,
        "results": run.results,
        "counts_by_level": {
            "error": run.levels[0], "warning": run.levels[1], "note": run.levels[2], "none": run.levels[3],
        },
        "counts_by_severity": severity_object(run.severities),
        "suppressed": 0,
        "suppressed_by_severity": severity_object([0; 6]),
        "rules": run.rules,
        "tool_notifications": run.tool_notifications,
    });
    if let (Some(successful), Some(object)) = (run.invocation_successful, attrs.as_object_mut()) {
        object.insert("invocation_successful".into(), json!(successful));
    }
    attrs
}

/// `findings` lists min(results, 1,000) findings (no fixture has a suppressed
/// result), their severities tally to `counts_by_severity` when the list is
/// complete, every level is a SARIF level, and the run's spot finding matches.
fn check_findings(name: &str, index: usize, run: &Run, findings: &Value, truncated: &Value) {
    let findings = findings.as_array().expect("findings is an array");
    let listed = run.results.min(MAX_FINDINGS);
    assert_eq!(findings.len() as u64, listed, "{name} run {index}: findings length");
    assert_eq!(
        truncated,
        &json!(run.results > MAX_FINDINGS),
        "{name} run {index}: findings_truncated"
    );
    if run.results <= MAX_FINDINGS {
        let mut tally = [0u64; 6];
        let names = ["critical", "high", "medium", "low", "info", "unknown"];
        for finding in findings {
            let severity = finding["severity"].as_str().expect("severity is a string");
            let slot = names
                .iter()
                .position(|known| *known == severity)
                .expect("a known severity");
            tally[slot] += 1;
        }
        assert_eq!(
            tally, run.severities,
            "{name} run {index}: findings tally to counts_by_severity"
        );
    }
    for finding in findings {
        assert!(
            ["error", "warning", "note", "none"].contains(&finding["level"].as_str().unwrap_or("")),
            "{name} run {index}: {finding}"
        );
        assert!(
            finding["id"].as_str().is_some_and(|id| id != "unknown"),
            "{name} run {index}: {finding}"
        );
    }
    if let Some(spot) = &run.spot {
        let finding = &findings[spot.index];
        assert_eq!(
            finding["id"],
            json!(spot.id),
            "{name} run {index} finding {}",
            spot.index
        );
        assert_eq!(
            finding["path"],
            json!(spot.path),
            "{name} run {index} finding {}",
            spot.index
        );
        assert_eq!(
            finding["line"],
            json!(spot.line),
            "{name} run {index} finding {}",
            spot.index
        );
    }
}

#[test]
fn every_sarif_fixture_gives_the_expected_runs_and_counts() {
    let folder = Path::new(FIXTURES);
    if !folder.is_dir() {
        let message = format!("SARIF fixtures folder {FIXTURES} is absent");
        if std::env::var("CI").is_ok_and(|value| value == "true") {
            panic!("{message}; it is required when CI=true");
        }
        eprintln!("{message}; corpus test skipped (set CI=true to make this fail)");
        return;
    }

    let mut present: Vec<String> = std::fs::read_dir(folder)
        .expect("fixtures folder is readable")
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    present.sort();
    let mut known: Vec<String> = EXPECTED.iter().map(|(name, _)| (*name).to_string()).collect();
    known.sort();
    assert_eq!(
        present, known,
        "every file in {FIXTURES} needs an entry in EXPECTED (and every entry a file)"
    );

    for (name, runs) in EXPECTED {
        let path = folder.join(name);
        let bytes = std::fs::read(&path).expect("fixture is readable");
        let context = Context {
            origin: path.display().to_string(),
            sha256: "not-computed".into(),
            ..Context::default()
        };
        let parsed = sarif::parse(&bytes, &context, &Limits::default());
        assert_eq!(parsed.diagnostics, vec![], "{name}: no diagnostics expected");
        assert_eq!(parsed.evidence.len(), runs.len(), "{name}: run count");
        let spots = runs.iter().filter(|run| run.spot.is_some()).count();
        assert_eq!(spots, 1, "{name}: one finding per file is checked against the file");
        for (index, (record, run)) in parsed.evidence.iter().zip(runs.iter()).enumerate() {
            assert_eq!(record.kind, EvidenceKind::ScanReport, "{name} run {index}");
            let mut attrs = record.attrs.clone();
            let object = attrs.as_object_mut().expect("attrs are an object");
            let findings = object.remove("findings").expect("findings is always present");
            let truncated = object
                .remove("findings_truncated")
                .expect("findings_truncated is always present");
            assert_eq!(attrs, expected_attrs(run, index), "{name} run {index}");
            check_findings(name, index, run, &findings, &truncated);
            assert_eq!(record.source.collector, "sarif");
            assert_eq!(record.source.origin, context.origin);
            assert_eq!(record.source.pointer, Some(format!("/runs/{index}")));
            assert_eq!(record.source.line, None);
            // No file states a time or version control: nothing is invented.
            assert_eq!(record.occurred_at, None, "{name} run {index}");
            assert_eq!(record.occurred_at_source, OccurredAtSource::Ingested);
            assert_eq!(record.subject, Subject::default(), "{name} run {index}");
        }
    }
}
