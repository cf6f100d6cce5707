//! End-to-end tests of the evidence ledger through the real `dsomm-audit` binary: `init`,
//! `key public`, `ingest` (evidence-ndjson and SARIF), `verify` against tampering done
//! directly in SQLite, `prove` / `verify-proof` offline, and `model` against the catalogue
//! and the official DSOMM 4.3.1 model (read in place from `../shared/fixtures`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use tempfile::TempDir;

mod common;

use common::{Outcome, Workspace, run_in};

impl Workspace {
    /// Open the ledger database directly (for reading and tampering); close it by dropping it.
    fn database(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(self.path("ledger.db")).unwrap()
    }

    /// `verify --format json`: the exit code and the report.
    fn verify(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["verify", "--format", "json"];
        args.extend_from_slice(extra);
        let outcome = self.run(&args);
        assert!(
            outcome.code == 0 || outcome.code == 1,
            "verify must answer 0 or 1: {outcome:#?}"
        );
        (outcome.code, outcome.json())
    }

    /// `prove ID`: the proof as JSON.
    fn prove(&self, id: u64) -> Value {
        let outcome = self.run(&["prove", &id.to_string()]);
        assert_eq!(outcome.code, 0, "prove {id}: {outcome:#?}");
        outcome.json()
    }
}

/// A small evidence-ndjson file: several kinds, with and without a time, and one bad line (3).
const MIXED_NDJSON: &str = concat!(
    r#"{"kind":"scan_report","occurred_at":"2025-03-02T10:00:00Z","subject":{"repo":"acme/api"},"attrs":{"tool":"semgrep"}}"#,
    "\n",
    r#"{"kind":"deploy","subject":{"service":"api","environment":"prod"},"attrs":{"version":"1.2.3"}}"#,
    "\n",
    r#"{"kind":"no_such_kind","attrs":{}}"#,
    "\n",
    r#"{"kind":"merge","occurred_at":"2025-03-03T12:00:00+02:00","subject":{"repo":"acme/api","pull_request":7},"attrs":{"base":"main"}}"#,
    "\n",
    r#"{"kind":"training_record","subject":{"person":"ana@example.com"},"attrs":{"course":"secure coding"}}"#,
    "\n",
);

/// The same kinds of lines without the bad one.
const CLEAN_NDJSON: &str = concat!(
    r#"{"kind":"branch_protection","occurred_at":"2025-04-01T00:00:00Z","subject":{"repo":"acme/web","ref":"main"},"attrs":{"required_checks":["ci"]}}"#,
    "\n",
    r#"{"kind":"asset_snapshot","subject":{"service":"web"},"attrs":{"owner":"team-a"}}"#,
    "\n",
);

/// `count` evidence-ndjson lines of three kinds, every fifth without a time.
fn generated_ndjson(count: usize) -> String {
    let kinds = ["deploy", "merge", "scan_report"];
    let mut text = String::new();
    for index in 0..count {
        let mut line = json!({
            "kind": kinds[index % kinds.len()],
            "subject": {"repo": format!("acme/repo-{}", index % 7)},
            "attrs": {"n": index, "note": format!("record {index}")},
        });
        if index % 5 != 0 {
            line["occurred_at"] = json!(format!("2025-01-{:02}T00:{:02}:00Z", 1 + index % 28, index % 60));
        }
        text.push_str(&line.to_string());
        text.push('\n');
    }
    text
}

/// Records in the generated ledgers used by the tamper and proof tests: more than two stored
/// subtrees (256 leaves each) and a partial one.
const LEDGER_RECORDS: usize = 600;

/// A fresh workspace holding `LEDGER_RECORDS` records that verify.
fn populated_workspace() -> Workspace {
    let workspace = Workspace::new();
    workspace.write("generated.ndjson", generated_ndjson(LEDGER_RECORDS));
    let outcome = workspace.run(&["ingest", "--format", "json", "generated.ndjson"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    assert_eq!(outcome.json()["added"], LEDGER_RECORDS);
    let (code, report) = workspace.verify(&[]);
    assert_eq!(code, 0, "the untampered ledger must verify: {report:#}");
    workspace
}

/// Tamper with a fresh populated ledger (the connection is closed before `verify` runs)
/// and return verify's exit code and report.
fn verify_after(tamper: impl FnOnce(&rusqlite::Connection)) -> (i32, Value) {
    let workspace = populated_workspace();
    {
        let database = workspace.database();
        tamper(&database);
    }
    workspace.verify(&[])
}

fn failures(report: &Value) -> &Vec<Value> {
    report["failures"].as_array().expect("failures is an array")
}

/// Whether some failure is about `what` with id `id`.
fn names(report: &Value, what: &str, id: u64) -> bool {
    failures(report)
        .iter()
        .any(|failure| failure["what"] == what && failure["id"] == id)
}

/// verify failed, and its first failure names `what` `id`.
fn check_first_failure(code: i32, report: &Value, what: &str, id: u64) {
    assert_eq!(code, 1, "verify must fail: {report:#}");
    assert_eq!(report["ok"], false, "{report:#}");
    let first = &failures(report)[0];
    assert_eq!(
        (first["what"].as_str(), first["id"].as_u64()),
        (Some(what), Some(id)),
        "the first failure must name {what} {id}; report: {report:#}"
    );
}

/// verify failed, and some failure names `what` `id`.
fn check_named(code: i32, report: &Value, what: &str, id: u64) {
    assert_eq!(code, 1, "verify must fail: {report:#}");
    assert_eq!(report["ok"], false, "{report:#}");
    assert!(names(report, what, id), "no failure names {what} {id}: {report:#}");
}

/// The stored rows of the evidence table: (id, kind, occurred_at_source, attrs).
fn evidence_rows(workspace: &Workspace) -> Vec<(u64, String, String, Value)> {
    let database = workspace.database();
    let mut statement = database
        .prepare("SELECT id, kind, occurred_at_source, attrs FROM evidence ORDER BY id")
        .unwrap();
    statement
        .query_map([], |row| {
            let attrs: String = row.get(3)?;
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                serde_json::from_str(&attrs).unwrap_or(Value::Null),
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

// ---------------------------------------------------------------------------
// init and key
// ---------------------------------------------------------------------------

#[test]
fn init_creates_config_ledger_and_a_private_key_readable_only_by_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let workspace = Workspace::new();
    for name in ["dsomm-audit.toml", "ledger.db", "ledger.key", "ledger.pub"] {
        assert!(workspace.path(name).is_file(), "{name} was not created");
    }
    let mode = std::fs::metadata(workspace.path("ledger.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "ledger.key has mode {:o}", mode & 0o777);
    let private = std::fs::read_to_string(workspace.path("ledger.key")).unwrap();
    assert!(private.starts_with("PRIVATE+KEY+"), "{private}");
    let config = std::fs::read_to_string(workspace.path("dsomm-audit.toml")).unwrap();
    assert!(config.contains("ledger.db") && config.contains('#'), "{config}");
}

#[test]
fn init_into_a_named_directory_creates_it() {
    let parent = tempfile::tempdir().unwrap();
    let outcome = run_in(parent.path(), &["init", "audit"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    assert!(parent.path().join("audit/dsomm-audit.toml").is_file());
    assert!(parent.path().join("audit/ledger.db").is_file());
}

#[test]
fn second_init_refuses_and_leaves_the_key_alone() {
    let workspace = Workspace::new();
    let key_before = std::fs::read(workspace.path("ledger.key")).unwrap();
    let outcome = workspace.run(&["init"]);
    assert_eq!(outcome.code, 2, "{outcome:#?}");
    assert!(outcome.stderr.contains("already exists"), "{outcome:#?}");
    assert_eq!(std::fs::read(workspace.path("ledger.key")).unwrap(), key_before);
}

#[test]
fn key_public_prints_the_public_key_file() {
    let workspace = Workspace::new();
    let outcome = workspace.run(&["key", "public"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let file = std::fs::read_to_string(workspace.path("ledger.pub")).unwrap();
    assert_eq!(outcome.stdout.trim(), file.trim());
    assert!(!outcome.stdout.contains("PRIVATE"), "{outcome:#?}");
}

// ---------------------------------------------------------------------------
// ingest
// ---------------------------------------------------------------------------

#[test]
fn ingest_summary_has_exactly_the_documented_keys_and_names_the_bad_line() {
    let workspace = Workspace::new();
    workspace.write("mixed.ndjson", MIXED_NDJSON);
    let outcome = workspace.run(&["ingest", "--format", "json", "mixed.ndjson"]);
    assert_eq!(outcome.code, 1, "a rejected line must give exit 1: {outcome:#?}");
    let summary = outcome.json();
    let keys: BTreeSet<&str> = summary.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["files", "added", "duplicates", "rejected", "diagnostics"])
    );
    assert_eq!(summary["files"], 1);
    assert_eq!(summary["added"], 4);
    assert_eq!(summary["duplicates"], 0);
    assert_eq!(summary["rejected"], 1);
    let diagnostics = summary["diagnostics"].as_array().unwrap();
    assert_eq!(diagnostics.len(), 1, "{summary:#}");
    assert_eq!(diagnostics[0]["file"], "mixed.ndjson");
    assert_eq!(diagnostics[0]["line"], 3);
    assert!(
        diagnostics[0]["message"].as_str().unwrap().contains("no_such_kind"),
        "{summary:#}"
    );
}

#[test]
fn clean_ingest_exits_0() {
    let workspace = Workspace::new();
    workspace.write("clean.ndjson", CLEAN_NDJSON);
    let outcome = workspace.run(&["ingest", "--format", "json", "clean.ndjson"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let summary = outcome.json();
    assert_eq!(summary["added"], 2);
    assert_eq!(summary["rejected"], 0);
    assert_eq!(summary["diagnostics"], json!([]));
}

#[test]
fn table_summary_goes_to_stdout_and_rejections_to_stderr() {
    let workspace = Workspace::new();
    workspace.write("mixed.ndjson", MIXED_NDJSON);
    let outcome = workspace.run(&["ingest", "mixed.ndjson"]);
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    assert!(outcome.stdout.contains("4 added"), "{outcome:#?}");
    assert!(outcome.stderr.contains("mixed.ndjson:3"), "{outcome:#?}");
}

#[test]
fn record_without_a_time_says_ingested_and_never_invents_one() {
    let workspace = Workspace::new();
    workspace.write("mixed.ndjson", MIXED_NDJSON);
    workspace.run(&["ingest", "mixed.ndjson"]);
    let rows = evidence_rows(&workspace);
    let sources: Vec<(&str, &str)> = rows
        .iter()
        .map(|(_, kind, source, _)| (kind.as_str(), source.as_str()))
        .collect();
    assert_eq!(
        sources,
        vec![
            ("scan_report", "source"),
            ("deploy", "ingested"),
            ("merge", "source"),
            ("training_record", "ingested"),
        ]
    );
    // The proof carries the record as stored: an ingested record's occurred_at is its ingest time.
    let proof = workspace.prove(1);
    assert_eq!(proof["record"]["kind"], "deploy");
    assert_eq!(proof["record"]["occurred_at_source"], "ingested");
    assert_eq!(proof["record"]["occurred_at"], proof["record"]["ingested_at"]);
    let timed = workspace.prove(2);
    assert_eq!(timed["record"]["occurred_at_source"], "source");
    assert_eq!(timed["record"]["occurred_at"], "2025-03-03T10:00:00.000000000Z");
}

#[test]
fn occurred_at_flag_stands_in_only_where_the_input_states_no_time() {
    let workspace = Workspace::new();
    workspace.write("clean.ndjson", CLEAN_NDJSON);
    let outcome = workspace.run(&["ingest", "--occurred-at", "2025-02-01", "clean.ndjson"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let own_time = workspace.prove(0);
    assert_eq!(own_time["record"]["occurred_at_source"], "source");
    assert_eq!(own_time["record"]["occurred_at"], "2025-04-01T00:00:00.000000000Z");
    let flagged = workspace.prove(1);
    assert_eq!(flagged["record"]["occurred_at_source"], "flag");
    assert_eq!(flagged["record"]["occurred_at"], "2025-02-01T00:00:00.000000000Z");
}

#[test]
fn reingesting_the_same_file_adds_nothing_and_counts_duplicates() {
    let workspace = Workspace::new();
    workspace.write("mixed.ndjson", MIXED_NDJSON);
    let first = workspace.run(&["ingest", "--format", "json", "mixed.ndjson"]).json();
    assert_eq!(first["added"], 4);
    // Two of the four records have no time: they deduplicate without one.
    let second = workspace.run(&["ingest", "--format", "json", "mixed.ndjson"]).json();
    assert_eq!(second["added"], 0, "{second:#}");
    assert_eq!(second["duplicates"], 4, "{second:#}");
    assert_eq!(evidence_rows(&workspace).len(), 4);
    let (code, report) = workspace.verify(&[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["tree_size"], 4);
}

#[test]
fn directory_ingest_lands_good_files_and_reports_the_unreadable_ones() {
    let workspace = Workspace::new();
    workspace.write("inputs/a.ndjson", CLEAN_NDJSON);
    workspace.write("inputs/nested/b.ndjson", MIXED_NDJSON);
    workspace.write("inputs/notes.txt", "just some notes, not evidence\n");
    let outcome = workspace.run(&["ingest", "--format", "json", "inputs", "missing.ndjson"]);
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    let summary = outcome.json();
    assert_eq!(summary["files"], 2, "{summary:#}");
    assert_eq!(summary["added"], 6, "{summary:#}");
    assert_eq!(summary["rejected"], 3, "{summary:#}");
    let diagnostics = summary["diagnostics"].as_array().unwrap();
    let about = |file: &str| {
        diagnostics
            .iter()
            .find(|diagnostic| diagnostic["file"] == file)
            .unwrap_or_else(|| panic!("no diagnostic about {file}: {summary:#}"))
    };
    assert!(
        about("missing.ndjson")["message"]
            .as_str()
            .unwrap()
            .contains("cannot read")
    );
    assert!(
        about("inputs/notes.txt")["message"]
            .as_str()
            .unwrap()
            .contains("not recognised")
    );
    assert_eq!(about("inputs/nested/b.ndjson")["line"], 3);
}

/// Two runs; the first has rules with `security-severity` (one overriding a result's own
/// level), a rule with only a default level, a result with no level at all and a suppressed
/// result; the second has no time, no severity scores and one `error` result.
const TWO_RUN_SARIF: &str = r#"{
  "version": "2.1.0",
  "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
  "runs": [
    {
      "tool": {"driver": {"name": "Semgrep OSS", "semanticVersion": "1.69.0", "rules": [
        {"id": "critical-rule", "properties": {"security-severity": "9.8"}},
        {"id": "medium-rule", "properties": {"security-severity": "5.0"}},
        {"id": "note-rule", "defaultConfiguration": {"level": "note"}}
      ]}},
      "invocations": [{"executionSuccessful": true, "endTimeUtc": "2025-03-02T10:00:00Z"}],
      "versionControlProvenance": [
        {"repositoryUri": "https://github.com/acme/api", "revisionId": "0123abc", "branch": "main"}
      ],
      "results": [
        {"ruleId": "critical-rule", "ruleIndex": 0, "message": {"text": "a"}},
        {"ruleId": "critical-rule", "ruleIndex": 0, "message": {"text": "b"}},
        {"ruleId": "medium-rule", "ruleIndex": 1, "level": "error", "message": {"text": "c"}},
        {"ruleId": "note-rule", "ruleIndex": 2, "message": {"text": "d"}},
        {"ruleId": "unlisted-rule", "message": {"text": "e"}},
        {"ruleId": "critical-rule", "ruleIndex": 0, "message": {"text": "f"},
         "suppressions": [{"kind": "inSource"}]}
      ]
    },
    {
      "tool": {"driver": {"name": "gitleaks", "version": "8.18.0"}},
      "results": [{"ruleId": "aws-key", "level": "error", "message": {"text": "g"}}]
    }
  ]
}"#;

#[test]
fn sarif_runs_become_scan_reports_with_counts_by_severity() {
    let workspace = Workspace::new();
    workspace.write("scan.sarif", TWO_RUN_SARIF);
    let outcome = workspace.run(&["ingest", "--format", "json", "scan.sarif"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    assert_eq!(outcome.json()["added"], 2);
    let rows = evidence_rows(&workspace);
    assert_eq!(rows.len(), 2);
    let severities = |attrs: &Value| attrs["counts_by_severity"].clone();
    let (_, kind, time_source, semgrep) = &rows[0];
    assert_eq!(kind, "scan_report");
    assert_eq!(time_source, "source");
    assert_eq!(semgrep["tool"], "semgrep");
    assert_eq!(semgrep["tool_version"], "1.69.0");
    assert_eq!(
        severities(semgrep),
        json!({"critical": 2, "high": 0, "medium": 2, "low": 1, "info": 0, "unknown": 0})
    );
    assert_eq!(semgrep["results"], 5);
    assert_eq!(semgrep["suppressed"], 1);
    assert_eq!(semgrep["suppressed_by_severity"]["critical"], 1);
    let (_, kind, time_source, gitleaks) = &rows[1];
    assert_eq!(kind, "scan_report");
    assert_eq!(time_source, "ingested", "the second run states no time");
    assert_eq!(gitleaks["tool"], "gitleaks");
    assert_eq!(
        severities(gitleaks),
        json!({"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0, "unknown": 0})
    );
    let proof = workspace.prove(0);
    let subject: Value = serde_json::from_str(proof["record"]["subject"].as_str().unwrap()).unwrap();
    assert_eq!(subject, json!({"repo": "acme/api", "commit": "0123abc", "ref": "main"}));
    assert_eq!(proof["record"]["occurred_at"], "2025-03-02T10:00:00.000000000Z");

    let again = workspace.run(&["ingest", "--format", "json", "scan.sarif"]).json();
    assert_eq!(
        (again["added"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(2))
    );
}

// ---------------------------------------------------------------------------
// verify
// ---------------------------------------------------------------------------

#[test]
fn verify_passes_after_several_ingests() {
    let workspace = Workspace::new();
    workspace.write("mixed.ndjson", MIXED_NDJSON);
    workspace.write("clean.ndjson", CLEAN_NDJSON);
    workspace.write("scan.sarif", TWO_RUN_SARIF);
    workspace.run(&["ingest", "mixed.ndjson"]);
    workspace.run(&["ingest", "clean.ndjson", "scan.sarif"]);
    workspace.run(&["ingest", "mixed.ndjson"]);
    let (code, report) = workspace.verify(&[]);
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["records"], 8);
    assert_eq!(report["tree_size"], 8);
    assert_eq!(report["failures"], json!([]));
    let table = workspace.run(&["verify"]);
    assert_eq!(table.code, 0, "{table:#?}");
    assert!(table.stdout.starts_with("ok:"), "{table:#?}");
}

#[test]
fn verify_of_a_large_ledger_with_stored_subtrees_passes() {
    let workspace = populated_workspace();
    let (_, report) = workspace.verify(&[]);
    assert_eq!(report["records"], LEDGER_RECORDS);
    assert_eq!(report["tree_size"], LEDGER_RECORDS);
    let stored: u64 = workspace
        .database()
        .query_row("SELECT COUNT(*) FROM tree_node", [], |row| row.get(0))
        .unwrap();
    assert!(stored >= 2, "the tamper tests need stored subtrees; found {stored}");
}

#[test]
fn edited_attrs_is_named_by_verify() {
    let (code, report) = verify_after(|database| {
        let changed = database
            .execute(
                r#"UPDATE evidence SET attrs = '{"n":17,"note":"edited"}' WHERE id = 17"#,
                [],
            )
            .unwrap();
        assert_eq!(changed, 1);
    });
    check_first_failure(code, &report, "record", 17);
}

#[test]
fn deleted_row_is_named_by_verify() {
    let (code, report) = verify_after(|database| {
        assert_eq!(database.execute("DELETE FROM evidence WHERE id = 300", []).unwrap(), 1);
    });
    check_first_failure(code, &report, "record", 300);
}

#[test]
fn swapped_rows_are_named_by_verify() {
    // Swapping the ids swaps every other column of rows 5 and 9.
    let (code, report) = verify_after(|database| {
        database
            .execute_batch(
                "UPDATE evidence SET id = -1 WHERE id = 5;
                 UPDATE evidence SET id = 5 WHERE id = 9;
                 UPDATE evidence SET id = 9 WHERE id = -1;",
            )
            .unwrap();
    });
    check_first_failure(code, &report, "record", 5);
    assert!(names(&report, "record", 9), "{report:#}");
}

#[test]
fn row_inserted_after_the_last_checkpoint_is_detected() {
    // A copy of the last row with a plausible (copied) leaf hash, at id = size.
    let (code, report) = verify_after(|database| {
        let inserted = database
            .execute(
                "INSERT INTO evidence (id, kind, occurred_at, occurred_at_source, ingested_at, subject, \
                 source_id, source_line, source_pointer, attrs, dedup_key, leaf_hash) \
                 SELECT id + 1, kind, occurred_at, occurred_at_source, ingested_at, subject, source_id, \
                 source_line, source_pointer, attrs, dedup_key + 1, leaf_hash FROM evidence WHERE id = ?1",
                [LEDGER_RECORDS as u64 - 1],
            )
            .unwrap();
        assert_eq!(inserted, 1);
    });
    check_first_failure(code, &report, "record", LEDGER_RECORDS as u64);
}

#[test]
fn row_inserted_with_a_correct_leaf_hash_is_not_covered_by_any_checkpoint() {
    let workspace = populated_workspace();
    let last = LEDGER_RECORDS as u64 - 1;
    let proof: ledger::InclusionProof = serde_json::from_value(workspace.prove(last)).unwrap();
    let mut record = proof.record.clone();
    record.attrs = r#"{"n":999,"note":"forged"}"#.into();
    let leaf = ledger::proof::leaf_of(last + 1, &record).unwrap();
    {
        let database = workspace.database();
        let inserted = database
            .execute(
                "INSERT INTO evidence (id, kind, occurred_at, occurred_at_source, ingested_at, subject, \
                 source_id, source_line, source_pointer, attrs, dedup_key, leaf_hash) \
                 SELECT id + 1, kind, occurred_at, occurred_at_source, ingested_at, subject, source_id, \
                 source_line, source_pointer, ?2, dedup_key + 1, ?3 FROM evidence WHERE id = ?1",
                rusqlite::params![last, record.attrs, leaf.as_slice()],
            )
            .unwrap();
        assert_eq!(inserted, 1);
    }
    let (code, report) = workspace.verify(&[]);
    check_named(code, &report, "record", last + 1);
    let message = failures(&report)
        .iter()
        .map(|failure| failure["message"].as_str().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(message.contains("not covered by any signature"), "{report:#}");
}

#[test]
fn row_inserted_in_the_middle_is_named_by_verify() {
    // Shift ids 300.. up by one and put a copy of row 299 at 300.
    let (code, report) = verify_after(|database| {
        database
            .execute_batch(
                "UPDATE evidence SET id = -(id + 1) WHERE id >= 300;
                 UPDATE evidence SET id = -id WHERE id < 0;
                 INSERT INTO evidence (id, kind, occurred_at, occurred_at_source, ingested_at, subject, \
                 source_id, source_line, source_pointer, attrs, dedup_key, leaf_hash) \
                 SELECT 300, kind, occurred_at, occurred_at_source, ingested_at, subject, source_id, \
                 source_line, source_pointer, attrs, dedup_key + 1, leaf_hash FROM evidence WHERE id = 299;",
            )
            .unwrap();
    });
    check_named(code, &report, "record", 300);
}

#[test]
fn edited_occurred_at_is_detected() {
    let (code, report) = verify_after(|database| {
        let changed = database
            .execute(
                "UPDATE evidence SET occurred_at = '2024-06-01T00:00:00.000000000Z' WHERE id = 1",
                [],
            )
            .unwrap();
        assert_eq!(changed, 1);
    });
    check_named(code, &report, "record", 1);
}

#[test]
fn edited_occurred_at_of_an_ingested_record_is_detected() {
    // Record 0 has no time of its own: its occurred_at is the ingest time and is not part of
    // the content hash, but it is part of the leaf.
    let (code, report) = verify_after(|database| {
        let source: String = database
            .query_row("SELECT occurred_at_source FROM evidence WHERE id = 0", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(source, "ingested");
        let changed = database
            .execute(
                "UPDATE evidence SET occurred_at = '2020-01-01T00:00:00.000000000Z' WHERE id = 0",
                [],
            )
            .unwrap();
        assert_eq!(changed, 1);
    });
    check_named(code, &report, "record", 0);
}

#[test]
fn edited_ingested_at_is_detected() {
    let (code, report) = verify_after(|database| {
        let changed = database
            .execute(
                "UPDATE evidence SET ingested_at = '2020-01-01T00:00:00.000000000Z' WHERE id = 2",
                [],
            )
            .unwrap();
        assert_eq!(changed, 1);
    });
    check_named(code, &report, "record", 2);
}

#[test]
fn edited_checkpoint_note_is_detected() {
    let (code, report) = verify_after(|database| {
        let note: String = database
            .query_row(
                "SELECT note FROM checkpoint ORDER BY tree_size DESC LIMIT 1",
                [],
                |row| row.get(0),
            )
            .unwrap();
        let position = note.find("\ntime ").expect("the note has a time line") + "\ntime ".len();
        let mut edited = note.clone().into_bytes();
        edited[position] = if edited[position] == b'1' { b'2' } else { b'1' };
        let edited = String::from_utf8(edited).unwrap();
        assert_ne!(edited, note);
        let changed = database
            .execute("UPDATE checkpoint SET note = ?1 WHERE note = ?2", [edited, note])
            .unwrap();
        assert_eq!(changed, 1);
    });
    check_named(code, &report, "checkpoint", LEDGER_RECORDS as u64);
}

#[test]
fn edited_raw_blob_chunk_is_detected_as_blob() {
    let (code, report) = verify_after(|database| {
        let (digest, mut data): (Vec<u8>, Vec<u8>) = database
            .query_row("SELECT sha256, data FROM blob_chunk WHERE seq = 0 LIMIT 1", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .unwrap();
        let middle = data.len() / 2;
        data[middle] ^= 0x01;
        let changed = database
            .execute(
                "UPDATE blob_chunk SET data = ?1 WHERE sha256 = ?2 AND seq = 0",
                rusqlite::params![data, digest],
            )
            .unwrap();
        assert_eq!(changed, 1);
    });
    assert_eq!(code, 1, "{report:#}");
    assert!(
        failures(&report).iter().any(|failure| failure["what"] == "blob"),
        "{report:#}"
    );
}

#[test]
fn verify_with_another_ledgers_key_fails() {
    let workspace = populated_workspace();
    let other = Workspace::new();
    let other_key = other.path("ledger.pub").display().to_string();
    let (code, report) = workspace.verify(&["--public-key", &other_key]);
    assert_eq!(code, 1, "{report:#}");
    assert!(
        failures(&report).iter().any(|failure| failure["what"] == "key"),
        "{report:#}"
    );
    // The right key, given as text rather than a file, passes.
    let own_key = std::fs::read_to_string(workspace.path("ledger.pub")).unwrap();
    let (code, report) = workspace.verify(&["--public-key", own_key.trim()]);
    assert_eq!(code, 0, "{report:#}");
}

// ---------------------------------------------------------------------------
// proofs
// ---------------------------------------------------------------------------

/// A proof of record 42 written to a directory that holds nothing but it and the public key.
struct OfflineProof {
    _workspace: Workspace,
    dir: TempDir,
    proof: Value,
}

impl OfflineProof {
    fn new() -> OfflineProof {
        let workspace = populated_workspace();
        let outcome = workspace.run(&["prove", "42"]);
        assert_eq!(outcome.code, 0, "{outcome:#?}");
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("p.json"), &outcome.stdout).unwrap();
        std::fs::copy(workspace.path("ledger.pub"), dir.path().join("ledger.pub")).unwrap();
        OfflineProof {
            proof: outcome.json(),
            _workspace: workspace,
            dir,
        }
    }

    /// `verify-proof` of `proof` (written to a file) against `key`, run where no ledger is.
    fn verify(&self, proof: &Value, key: &Path) -> Outcome {
        let file = self.dir.path().join("candidate.json");
        std::fs::write(&file, serde_json::to_string_pretty(proof).unwrap()).unwrap();
        run_in(
            self.dir.path(),
            &[
                "verify-proof",
                "candidate.json",
                "--public-key",
                &key.display().to_string(),
            ],
        )
    }

    fn public_key(&self) -> PathBuf {
        self.dir.path().join("ledger.pub")
    }
}

#[test]
fn proof_verifies_offline_with_only_the_public_key() {
    let offline = OfflineProof::new();
    assert_eq!(offline.proof["leaf_index"], 42);
    assert_eq!(offline.proof["tree_size"], LEDGER_RECORDS);
    assert!(!offline.proof["audit_path"].as_array().unwrap().is_empty());
    let outcome = run_in(
        offline.dir.path(),
        &["verify-proof", "p.json", "--public-key", "ledger.pub"],
    );
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    assert!(outcome.stdout.starts_with("ok:"), "{outcome:#?}");
}

/// Change the character at `position` to `0` (or to `1` where it is `0`): still valid in
/// hex, base64 and inside a JSON string, and never the same value in another case.
fn change_one_character(text: &str, position: usize) -> String {
    let mut characters: Vec<char> = text.chars().collect();
    characters[position] = if characters[position] == '0' { '1' } else { '0' };
    characters.into_iter().collect()
}

#[test]
fn altered_proofs_are_rejected() {
    let offline = OfflineProof::new();
    let other = Workspace::new();
    let cases: Vec<(&str, Value, PathBuf)> = {
        let original = &offline.proof;
        let mut attrs = original.clone();
        let text = attrs["record"]["attrs"].as_str().unwrap().to_string();
        let letter = text.find("record").expect("generated attrs carry a note");
        attrs["record"]["attrs"] = json!(change_one_character(&text, letter));
        let mut path = original.clone();
        let element = path["audit_path"][0].as_str().unwrap().to_string();
        path["audit_path"][0] = json!(change_one_character(&element, 0));
        let mut index = original.clone();
        index["leaf_index"] = json!(43);
        let mut beyond = original.clone();
        beyond["leaf_index"] = json!(LEDGER_RECORDS + 5);
        let mut size = original.clone();
        size["tree_size"] = json!(LEDGER_RECORDS + 1);
        let mut leaf = original.clone();
        leaf["leaf_hash"] = json!(change_one_character(original["leaf_hash"].as_str().unwrap(), 0));
        let mut note = original.clone();
        let checkpoint = original["checkpoint"].as_str().unwrap().replacen(
            &format!("\n{LEDGER_RECORDS}\n"),
            &format!("\n{}\n", LEDGER_RECORDS + 1),
            1,
        );
        note["checkpoint"] = json!(checkpoint);
        let mut short_path = original.clone();
        short_path["audit_path"].as_array_mut().unwrap().pop();
        let mut format = original.clone();
        format["format"] = json!("garbage");
        let own = offline.public_key();
        vec![
            ("one character of record.attrs changed", attrs, own.clone()),
            ("an audit path element changed", path, own.clone()),
            ("a wrong leaf_index", index, own.clone()),
            ("a leaf_index beyond the tree", beyond, own.clone()),
            ("a wrong tree_size", size, own.clone()),
            ("a changed leaf_hash", leaf, own.clone()),
            ("an edited checkpoint", note, own.clone()),
            ("an audit path element removed", short_path, own.clone()),
            ("another format", format, own),
            (
                "verified against another ledger's key",
                original.clone(),
                other.path("ledger.pub"),
            ),
        ]
    };
    let mut wrong = Vec::new();
    for (what, proof, key) in &cases {
        let outcome = offline.verify(proof, key);
        if outcome.code != 1 {
            wrong.push(format!("{what}: expected exit 1, got {outcome:#?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // The unaltered proof, through the same path, passes.
    assert_eq!(offline.verify(&offline.proof, &offline.public_key()).code, 0);
}

#[test]
fn non_json_proof_file_is_a_usage_error() {
    let offline = OfflineProof::new();
    std::fs::write(offline.dir.path().join("not-a-proof.txt"), "this is not JSON\n").unwrap();
    let outcome = run_in(
        offline.dir.path(),
        &["verify-proof", "not-a-proof.txt", "--public-key", "ledger.pub"],
    );
    assert_eq!(outcome.code, 2, "{outcome:#?}");
    assert!(outcome.stderr.contains("not-a-proof.txt"), "{outcome:#?}");
}

#[test]
fn prove_of_a_missing_record_is_an_error() {
    let workspace = Workspace::new();
    workspace.write("clean.ndjson", CLEAN_NDJSON);
    workspace.run(&["ingest", "clean.ndjson"]);
    let outcome = workspace.run(&["prove", "2"]);
    assert_eq!(outcome.code, 2, "{outcome:#?}");
    assert!(outcome.stderr.contains("no evidence record with id 2"), "{outcome:#?}");
}

// ---------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------

/// The official model file, read in place; `None` (with a message) when the fixtures are
/// absent, except under `CI=true`, where that is a failure.
fn official_model() -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/dsomm/default/model.yaml");
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!(
            "DSOMM fixture not found at {}; CI=true, so this test must run",
            path.display()
        );
    }
    println!("skipped: DSOMM fixture not found at {}", path.display());
    None
}

fn check_empty_diff(report: &Value) {
    let diff = report["catalogue_diff"]
        .as_object()
        .expect("catalogue_diff is an object");
    for list in ["new", "removed", "renamed", "relevelled"] {
        assert_eq!(diff.get(list), Some(&json!([])), "catalogue_diff.{list}: {report:#}");
    }
    for (name, value) in diff {
        assert_eq!(value, &json!([]), "catalogue_diff.{name}: {report:#}");
    }
}

#[test]
fn model_without_a_model_file_describes_the_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run_in(dir.path(), &["model", "--format", "json"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let report = outcome.json();
    assert_eq!(report["version"], "4.3.1");
    assert_eq!(report["activities"], 194);
    assert_eq!(report["dimensions"], 5);
    assert_eq!(report["subdimensions"], 19);
    let by_dimension: u64 = report["by_dimension"]
        .as_object()
        .unwrap()
        .values()
        .map(|count| count.as_u64().unwrap())
        .sum();
    assert_eq!(by_dimension, 194);
    check_empty_diff(&report);
}

#[test]
fn official_model_4_3_1_agrees_with_the_catalogue() {
    let Some(path) = official_model() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let outcome = run_in(
        dir.path(),
        &["model", "--model", &path.display().to_string(), "--format", "json"],
    );
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let report = outcome.json();
    assert_eq!(report["version"], "4.3.1");
    assert_eq!(report["dimensions"], 5);
    assert_eq!(report["subdimensions"], 19);
    assert_eq!(report["activities"], 194);
    check_empty_diff(&report);
    let table = run_in(dir.path(), &["model", "--model", &path.display().to_string()]);
    assert_eq!(table.code, 0, "{table:#?}");
    assert!(table.stdout.contains("4.3.1"), "{table:#?}");
}

#[test]
fn consistency_proofs_through_the_binary() {
    let workspace = Workspace::new();
    workspace.write("a.ndjson", generated_ndjson(20));
    assert_eq!(workspace.run(&["ingest", "a.ndjson"]).code, 0);
    let more: String = generated_ndjson(50)
        .lines()
        .skip(20)
        .map(|line| format!("{line}\n"))
        .collect();
    workspace.write("b.ndjson", more);
    assert_eq!(workspace.run(&["ingest", "b.ndjson"]).code, 0);
    let proof = workspace.run(&["prove-consistency", "20", "50"]);
    assert_eq!(proof.code, 0, "{proof:#?}");
    let check = |proof: &Value| {
        workspace.write("c.json", serde_json::to_string_pretty(proof).unwrap());
        workspace.run(&["verify-consistency", "c.json", "--public-key", "ledger.pub"])
    };
    assert_eq!(check(&proof.json()).code, 0);
    let mut format = proof.json();
    format["format"] = json!("garbage");
    let outcome = check(&format);
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    assert!(
        outcome.stderr.contains("format") || outcome.stdout.contains("format"),
        "{outcome:#?}"
    );
    // From the newer size to the older: a clear refusal, not "no checkpoint".
    let backwards = workspace.run(&["prove-consistency", "50", "20"]);
    assert_eq!(backwards.code, 2, "{backwards:#?}");
    assert!(backwards.stderr.contains("is not between 1 and 20"), "{backwards:#?}");
}
