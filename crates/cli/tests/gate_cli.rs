//! The gate through the real binary: a critical finding blocks; an active,
//! disciplined override waives it and is named; an expired override does not
//! waive; a malformed input blocks with exit 2; every run leaves exactly one
//! `gate_decision` in the ledger, which still verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TRIVY_CRITICAL, Workspace};
use jiff::{SignedDuration, Timestamp};

/// A SARIF log with one high finding.
const SARIF: &str = r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "Semgrep OSS", "rules": [{"id": "python.eval", "defaultConfiguration": {"level": "error"}}]}},
  "results": [{"ruleId": "python.eval", "level": "error", "message": {"text": "eval"},
  "locations": [{"physicalLocation": {"artifactLocation": {"uri": "app/main.py"}, "region": {"startLine": 7}}}]}]}]}"#;

fn date_in(days: i64) -> String {
    (Timestamp::now() + SignedDuration::from_hours(24 * days))
        .strftime("%Y-%m-%d")
        .to_string()
}

fn gate(workspace: &Workspace, extra: &[&str]) -> common::Outcome {
    let mut args = vec![
        "gate",
        "--trivy",
        "trivy.json",
        "--fail-on",
        "high",
        "--repo",
        "acme/api",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    workspace.run(&args)
}

fn decisions(workspace: &Workspace) -> i64 {
    let conn = rusqlite::Connection::open(workspace.path("ledger.db")).unwrap();
    conn.query_row(
        "SELECT COUNT(*) FROM evidence WHERE kind = 'gate_decision'",
        [],
        |row| row.get(0),
    )
    .unwrap()
}

fn workspace() -> Workspace {
    let workspace = Workspace::new();
    workspace.write("trivy.json", TRIVY_CRITICAL);
    workspace.write("semgrep.sarif", SARIF);
    workspace
}

#[test]
fn a_critical_finding_blocks_and_the_decision_is_recorded() {
    let workspace = workspace();
    let outcome = gate(&workspace, &[]);
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    let decision = &outcome.json()["decision"];
    assert_eq!(decision["decision"], "block");
    assert_eq!(decision["blocking"].as_array().unwrap().len(), 1);
    assert_eq!(decision["blocking"][0]["rule"], "CVE-2024-0001");
    assert_eq!(decisions(&workspace), 1);
    // At --fail-on critical the critical finding still blocks (exit 1, table output).
    let critical = workspace.run(&["gate", "--trivy", "trivy.json", "--fail-on", "critical"]);
    assert_eq!(critical.code, 1);
    assert!(
        critical.stdout.contains("blocks: critical CVE-2024-0001"),
        "{critical:#?}"
    );
    assert_eq!(decisions(&workspace), 2);
    assert_eq!(workspace.run(&["verify"]).code, 0);
}

#[test]
fn an_active_disciplined_override_waives_and_is_named() {
    let workspace = workspace();
    let sunset = date_in(20);
    let added = workspace.run(&[
        "override",
        "add",
        "--rule",
        "CVE-2024-0001",
        "--repo",
        "acme/api",
        "--owner",
        "ana@acme.example",
        "--approver",
        "bo@acme.example",
        "--ticket",
        "SEC-9",
        "--reason",
        "no fix yet",
        "--sunset",
        &sunset,
        "--format",
        "json",
    ]);
    assert_eq!(added.code, 0, "{added:#?}");
    let id = added.json()["id"].clone();
    let outcome = gate(&workspace, &[]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let decision = &outcome.json()["decision"];
    assert_eq!(decision["decision"], "pass-with-overrides");
    assert_eq!(decision["waived"][0]["override_id"], id);
    assert_eq!(decision["waived"][0]["owner"], "ana@acme.example");
    // The override is limited to its repository.
    let elsewhere = workspace.run(&[
        "gate",
        "--trivy",
        "trivy.json",
        "--fail-on",
        "high",
        "--repo",
        "acme/web",
    ]);
    assert_eq!(elsewhere.code, 1);
    let comment = workspace.run(&[
        "gate",
        "--trivy",
        "trivy.json",
        "--fail-on",
        "high",
        "--repo",
        "acme/api",
        "--format",
        "md",
    ]);
    assert!(comment.stdout.contains("Passed with overrides"), "{comment:#?}");
    assert!(comment.stdout.contains("| `CVE-2024-0001` |"), "{comment:#?}");
}

#[test]
fn an_expired_override_does_not_waive_and_is_named() {
    let workspace = workspace();
    // An override granted 40 days ago with a sunset 10 days ago, as a record.
    let granted = Timestamp::now() - SignedDuration::from_hours(24 * 40);
    let line = serde_json::json!({
        "kind": "override",
        "occurred_at": granted.to_string(),
        "subject": {"repo": "acme/api"},
        "attrs": {"action": "add", "rule": "CVE-2024-0001", "repo": "acme/api", "owner": "ana", "approver": "bo",
                  "ticket": "SEC-1", "reason": "old", "created": granted.to_string(),
                  "sunset": (Timestamp::now() - SignedDuration::from_hours(24 * 10)).to_string()}
    });
    workspace.write("override.ndjson", format!("{line}\n"));
    assert_eq!(workspace.run(&["ingest", "override.ndjson"]).code, 0);
    let outcome = gate(&workspace, &[]);
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    let decision = &outcome.json()["decision"];
    assert!(decision["waived"].as_array().unwrap().is_empty());
    let unusable = &decision["unusable_overrides"][0];
    assert!(unusable["why"].as_str().unwrap().starts_with("expired"), "{decision:#}");
    assert_eq!(unusable["owner"], "ana");
    // The statistics name it as expired and still matching at the gate.
    let stats = workspace.run(&["override", "stats", "--format", "json"]).json();
    assert_eq!(
        stats["expired_not_revoked"],
        serde_json::json!([unusable["override_id"]])
    );
    assert_eq!(
        stats["expired_still_matching"],
        serde_json::json!([unusable["override_id"]])
    );
}

#[test]
fn a_malformed_input_blocks_with_exit_2_and_is_recorded() {
    let workspace = workspace();
    workspace.write("broken.sarif", &SARIF[..SARIF.len() / 2]);
    let outcome = workspace.run(&[
        "gate",
        "--sarif",
        "broken.sarif",
        "--fail-on",
        "low",
        "--format",
        "json",
    ]);
    assert_eq!(outcome.code, 2, "{outcome:#?}");
    let decision = &outcome.json()["decision"];
    assert_eq!(decision["decision"], "block");
    assert!(
        decision["input_errors"][0].as_str().unwrap().contains("broken.sarif"),
        "{decision:#}"
    );
    // A file that is not a scanner report at all blocks too.
    workspace.write("notes.txt", "hello");
    let other = workspace.run(&["gate", "--trivy", "notes.txt", "--fail-on", "low"]);
    assert_eq!(other.code, 2, "{other:#?}");
    assert_eq!(decisions(&workspace), 2);
    assert_eq!(workspace.run(&["verify"]).code, 0);
}

#[test]
fn sarif_findings_are_judged_and_scans_land_with_the_decision() {
    let workspace = workspace();
    let outcome = workspace.run(&[
        "gate",
        "--sarif",
        "semgrep.sarif",
        "--trivy",
        "trivy.json",
        "--fail-on",
        "critical",
        "--format",
        "json",
    ]);
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    let conn = rusqlite::Connection::open(workspace.path("ledger.db")).unwrap();
    let scans: i64 = conn
        .query_row("SELECT COUNT(*) FROM evidence WHERE kind = 'scan_report'", [], |row| {
            row.get(0)
        })
        .unwrap();
    assert_eq!(scans, 2);
    // The scans and the decision are one batch: one checkpoint covers all three.
    let checkpoints: i64 = conn
        .query_row("SELECT COUNT(*) FROM checkpoint", [], |row| row.get(0))
        .unwrap();
    assert_eq!(checkpoints, 1);
}

#[test]
fn a_sarif_finding_is_waived_by_an_override_limited_to_its_path() {
    let workspace = workspace();
    let sunset = date_in(10);
    let add = |path: &str| {
        workspace.run(&[
            "override",
            "add",
            "--rule",
            "python.eval",
            "--tool",
            "semgrep",
            "--path",
            path,
            "--owner",
            "ana",
            "--approver",
            "bo",
            "--ticket",
            "SEC-3",
            "--reason",
            "sandboxed input",
            "--sunset",
            &sunset,
        ])
    };
    assert_eq!(add("tests/**").code, 0);
    let blocked = workspace.run(&[
        "gate",
        "--sarif",
        "semgrep.sarif",
        "--fail-on",
        "high",
        "--format",
        "json",
    ]);
    assert_eq!(blocked.code, 1, "{blocked:#?}");
    assert_eq!(blocked.json()["decision"]["blocking"][0]["path"], "app/main.py");
    assert_eq!(add("app/**").code, 0);
    let passed = workspace.run(&[
        "gate",
        "--sarif",
        "semgrep.sarif",
        "--fail-on",
        "high",
        "--format",
        "json",
    ]);
    assert_eq!(passed.code, 0, "{passed:#?}");
    assert_eq!(passed.json()["decision"]["waived"][0]["finding"]["line"], 7);
}
