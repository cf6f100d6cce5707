//! End-to-end: our own GitHub and GitLab event samples
//! (`crates/collect/tests/samples/events/`) ingest through the real binary,
//! detected by content, into the expected records of each kind; files that hold
//! no evidence (an open merge request, a push) are explained by notes, not
//! rejected; a second ingest adds nothing; and the ledger verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

mod common;

use common::Workspace;

/// Our own samples, in the real formats.
const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../collect/tests/samples/events");

/// Records by kind that the samples give (see `crates/collect/tests/corpus_events.rs`).
const EXPECTED: [(&str, u64); 6] = [
    ("alert_dismissal", 1),
    ("branch_protection", 1),
    ("check_run", 2),
    ("ci_run", 8),
    ("deploy", 1),
    ("merge", 3),
];

/// One more: the observed block of the failing CodeQL check on a pull request.
const GATE_DECISIONS: u64 = 1;

fn kinds(workspace: &Workspace) -> BTreeMap<String, u64> {
    let database = rusqlite::Connection::open(workspace.path("ledger.db")).unwrap();
    let mut statement = database
        .prepare("SELECT kind, count(*) FROM evidence GROUP BY kind ORDER BY kind")
        .unwrap();
    statement
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

#[test]
fn event_samples_ingest_once_by_kind_and_verify() {
    let workspace = Workspace::new();
    let mut files = 0u64;
    for entry in std::fs::read_dir(Path::new(SAMPLES)).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        workspace.write(&format!("events/{name}"), std::fs::read(&path).unwrap());
        files += 1;
    }
    let total: u64 = EXPECTED.iter().map(|(_, count)| count).sum::<u64>() + GATE_DECISIONS;

    let first = workspace.run(&["ingest", "--format", "json", "events"]);
    assert_eq!(first.code, 0, "{first:#?}");
    let summary = first.json();
    assert_eq!(summary["files"], files);
    assert_eq!(summary["added"], total, "{summary:#}");
    assert_eq!(summary["duplicates"], 0);
    assert_eq!(summary["rejected"], 0, "{summary:#}");
    let diagnostics = summary["diagnostics"].as_array().unwrap();
    assert!(
        diagnostics
            .iter()
            .all(|diagnostic| diagnostic["warning"] == Value::Bool(true)),
        "only notes: {diagnostics:#?}"
    );
    let noted: Vec<&str> = diagnostics.iter().filter_map(|d| d["file"].as_str()).collect();
    for name in ["github-push-main.json", "gitlab-merge-request-hook-opened.json"] {
        assert!(
            noted.iter().any(|file| file.ends_with(name)),
            "{name} is explained: {noted:?}"
        );
    }

    let mut expected: BTreeMap<String, u64> = EXPECTED
        .iter()
        .map(|(kind, count)| (kind.to_string(), *count))
        .collect();
    expected.insert("gate_decision".into(), GATE_DECISIONS);
    assert_eq!(kinds(&workspace), expected);

    let second = workspace.run(&["ingest", "--format", "json", "events"]);
    assert_eq!(second.code, 0, "{second:#?}");
    let again = second.json();
    assert_eq!(again["added"], 0, "re-ingesting adds nothing: {again:#}");
    assert_eq!(again["duplicates"], total);
    assert_eq!(kinds(&workspace), expected);

    // Naming the collector gives the same records: nothing new either.
    let named = workspace.run(&[
        "ingest",
        "--format",
        "json",
        "--source",
        "gitlab",
        "events/gitlab-pipelines-rest-list.json",
    ]);
    assert_eq!(named.code, 0, "{named:#?}");
    assert_eq!(named.json()["added"], 0);

    let verify = workspace.run(&["verify", "--format", "json"]);
    assert_eq!(verify.code, 0, "{verify:#?}");
}

#[test]
fn a_broken_event_file_is_rejected_with_its_position_and_the_rest_lands() {
    let workspace = Workspace::new();
    workspace.write(
        "in/broken.json",
        "{\n  \"object_kind\": \"pipeline\",\n  \"object_attributes\": {\"id\": 1,,}\n}\n",
    );
    workspace.write(
        "in/runs.json",
        r#"{"total_count": 2, "workflow_runs": [
            {"id": 1, "workflow_id": 2, "run_number": 3, "status": "completed", "conclusion": "success",
             "head_sha": "abc", "updated_at": "2025-01-02T03:04:05Z",
             "url": "https://api.github.com/repos/o/r/actions/runs/1"},
            "not a run"]}"#,
    );
    let outcome = workspace.run(&["ingest", "--format", "json", "in"]);
    assert_eq!(outcome.code, 1, "rejections give exit 1: {outcome:#?}");
    let summary = outcome.json();
    assert_eq!(summary["added"], 1, "{summary:#}");
    assert_eq!(summary["rejected"], 2, "{summary:#}");
    let diagnostics = summary["diagnostics"].as_array().unwrap();
    let broken = diagnostics
        .iter()
        .find(|diagnostic| diagnostic["file"].as_str().unwrap_or_default().ends_with("broken.json"))
        .unwrap();
    assert_eq!(broken["line"], 3, "{broken:#}");
    let runs = diagnostics
        .iter()
        .find(|diagnostic| diagnostic["file"].as_str().unwrap_or_default().ends_with("runs.json"))
        .unwrap();
    assert_eq!(runs["pointer"], "/workflow_runs/1", "{runs:#}");
}
