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

#[test]
fn hostile_event_files_never_panic_and_say_where() {
    let workspace = Workspace::new();
    let run = r#"{"id": 1, "workflow_id": 2, "run_number": 3, "head_sha": "abc", "status": "completed"}"#;
    let many_bad: Vec<String> = (0..5_000).map(|index| index.to_string()).collect();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "deep.json",
            format!("{{\"workflow_runs\":{}", "[".repeat(100_000)).into_bytes(),
        ),
        ("empty.json", Vec::new()),
        ("nul.json", b"{\"action\":\"completed\",\0}".to_vec()),
        ("latin1.json", b"{\"action\":\"caf\xe9\"}".to_vec()),
        (
            "huge-number.json",
            br#"{"workflow_runs":[{"run_number":1e400}]}"#.to_vec(),
        ),
        (
            "negative.json",
            format!(
                "{{\"workflow_runs\":[{}]}}",
                run.replace("\"run_number\": 3", "\"run_number\": -3")
            )
            .into_bytes(),
        ),
        ("many-bad.json", format!("[{}]", many_bad.join(",")).into_bytes()),
        ("utf16.json", vec![0xFF, 0xFE, b'{', 0, b'}', 0]),
    ];
    for (name, bytes) in &cases {
        workspace.write(name, bytes);
        for source in ["github", "gitlab"] {
            let outcome = workspace.run(&["ingest", "--format", "json", "--source", source, name]);
            assert!(
                outcome.code == 0 || outcome.code == 1,
                "{name} with {source}: exit {}: {outcome:#?}",
                outcome.code
            );
            assert!(!outcome.stderr.contains("panicked"), "{name}: {outcome:#?}");
            let summary = outcome.json();
            let diagnostics = summary["diagnostics"].as_array().unwrap();
            assert!(
                !diagnostics.is_empty(),
                "{name} with {source} must say something: {summary:#}"
            );
            assert!(
                diagnostics.len() <= 101,
                "{name}: diagnostics are bounded per file: {}",
                diagnostics.len()
            );
            for diagnostic in diagnostics {
                assert!(diagnostic["file"].as_str().unwrap().ends_with(name), "{diagnostic:#}");
            }
        }
    }
    // The run with a negative number still lands (the number is ignored, with a warning).
    let outcome = workspace.run(&["ingest", "--format", "json", "--source", "github", "negative.json"]);
    let summary = outcome.json();
    assert_eq!(summary["duplicates"], 1, "{summary:#}");
    let deep = workspace.run(&["ingest", "--format", "json", "--source", "github", "deep.json"]);
    assert!(deep.stdout.contains("deeper than"), "{deep:#?}");
}
