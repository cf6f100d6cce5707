//! Storage faults: an unwritable ledger and a full disk must fail the batch cleanly
//! (exit 2 with an `error:` line, no panic), leave a ledger that verifies, and lose
//! nothing acknowledged. The full disk is simulated with a file-size limit
//! (`bash -c 'trap "" XFSZ; ulimit -f N; exec dsomm-audit ...'`): with SIGXFSZ ignored a
//! write past the limit fails with EFBIG, as a write to a full disk fails with ENOSPC.
//! See docs/reliability.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

mod common;

use common::{Outcome, Workspace};

/// Input files for the ingest fault: each file is its own batch.
const FILES: usize = 20;
const LINES_PER_FILE: usize = 500;
/// File-size limit for the ingest, in 1 KiB blocks: a few batches commit, then a write fails.
const INGEST_LIMIT_BLOCKS: u64 = 1_024;
/// File-size limit for the gate: below the size of the new ledger file, so its batch cannot land.
const GATE_LIMIT_BLOCKS: u64 = 64;

/// A Trivy report with only a medium vulnerability: `--fail-on high` passes (exit 0).
const TRIVY_PASSING: &str = r#"{"SchemaVersion": 2, "ArtifactName": "registry.example/api:1.2.3", "ArtifactType": "container_image",
 "Results": [{"Target": "registry.example/api:1.2.3 (alpine 3.19)", "Class": "os-pkgs", "Type": "alpine",
   "Vulnerabilities": [{"VulnerabilityID": "CVE-2024-0002", "PkgName": "zlib", "InstalledVersion": "1.3", "Severity": "MEDIUM"}]}]}"#;

fn write_inputs(workspace: &Workspace) -> Vec<String> {
    (0..FILES)
        .map(|file| {
            let mut text = String::new();
            for line in 0..LINES_PER_FILE {
                let index = file * LINES_PER_FILE + line;
                text.push_str(&format!(
                    r#"{{"kind":"deploy","occurred_at":"2025-01-01T00:{:02}:{:02}Z","subject":{{"repo":"acme/r"}},"attrs":{{"n":{index},"note":"storage fault record {index}"}}}}"#,
                    (index / 60) % 60,
                    index % 60
                ));
                text.push('\n');
            }
            let name = format!("input-{file:02}.ndjson");
            workspace.write(&name, text);
            name
        })
        .collect()
}

/// Run the binary under `ulimit -f blocks`, with SIGXFSZ ignored.
fn run_limited(workspace: &Workspace, blocks: u64, args: &[&str]) -> Outcome {
    let script = format!("trap '' XFSZ; ulimit -f {blocks}; exec \"$0\" \"$@\"");
    let output = Command::new("bash")
        .current_dir(workspace.dir.path())
        .env_remove("DSOMM_MODEL")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_dsomm-audit"))
        .args(args)
        .output()
        .unwrap();
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A clean failure: exit 2, an `error:` line, no panic.
fn assert_clean_failure(outcome: &Outcome, what: &str) {
    assert_eq!(outcome.code, 2, "{what}: {outcome:#?}");
    assert!(!outcome.stderr.contains("panicked"), "{what}: {outcome:#?}");
    assert!(
        outcome.stderr.lines().any(|line| line.starts_with("error: ")),
        "{what}: no `error:` line: {outcome:#?}"
    );
}

fn verify_passes(workspace: &Workspace, when: &str) -> Value {
    let outcome = workspace.run(&["verify", "--format", "json"]);
    let report = outcome.json();
    assert!(
        outcome.code == 0 && report["ok"] == true,
        "verify must pass {when}: {report:#}"
    );
    report
}

/// Leaf hashes in id order.
fn leaves(workspace: &Workspace) -> Vec<Vec<u8>> {
    let database = rusqlite::Connection::open(workspace.path("ledger.db")).unwrap();
    let mut statement = database.prepare("SELECT leaf_hash FROM evidence ORDER BY id").unwrap();
    statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

/// The highest acknowledged tree size in `--progress json` lines.
fn acknowledged(stderr: &str) -> u64 {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["event"] == "committed")
        .map(|event| event["tree_size"].as_u64().unwrap())
        .max()
        .unwrap_or(0)
}

fn ingest_args(inputs: &[String]) -> Vec<&str> {
    let mut args = vec!["ingest", "--progress", "json", "--format", "json"];
    args.extend(inputs.iter().map(String::as_str));
    args
}

/// Whether this process can write to a file whose permission bits forbid it (root can).
fn permissions_bind_us(dir: &Path) -> bool {
    let probe = dir.join("probe");
    std::fs::write(&probe, b"x").unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o444)).unwrap();
    let bound = std::fs::OpenOptions::new().append(true).open(&probe).is_err();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::remove_file(&probe).unwrap();
    bound
}

/// Run the binary as the unprivileged user `nobody` (uid 65534) through
/// util-linux `setpriv`, so that permission bits bind even when the tests run
/// as root (as in CI). `None` when `setpriv` is not there.
fn run_unprivileged(workspace: &Workspace, args: &[&str]) -> Option<Outcome> {
    let output = Command::new("setpriv")
        .current_dir(workspace.dir.path())
        .env_remove("DSOMM_MODEL")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(env!("CARGO_BIN_EXE_dsomm-audit"))
        .args(args)
        .output()
        .ok()?;
    Some(Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

#[test]
fn a_read_only_ledger_fails_the_ingest_cleanly() {
    let workspace = Workspace::new();
    let as_root = !permissions_bind_us(workspace.dir.path());
    let inputs = write_inputs(&workspace);
    let before = leaves(&workspace);
    let dir = workspace.dir.path();
    std::fs::set_permissions(workspace.path("ledger.db"), std::fs::Permissions::from_mode(0o444)).unwrap();
    // As root the ingest runs as `nobody`, who must be able to read the key
    // (0600, root's) to reach the write that the permissions forbid.
    std::fs::set_permissions(workspace.path("ledger.key"), std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let outcome = if as_root {
        run_unprivileged(&workspace, &ingest_args(&inputs[..1]))
    } else {
        Some(workspace.run(&ingest_args(&inputs[..1])))
    };
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(workspace.path("ledger.key"), std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::set_permissions(workspace.path("ledger.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let Some(outcome) = outcome else {
        println!("skipped: running as root and `setpriv` (util-linux) is not installed to drop privileges");
        return;
    };
    assert_clean_failure(&outcome, "ingest into a read-only ledger");
    assert!(
        outcome.stderr.contains("readonly") || outcome.stderr.contains("read-only"),
        "the message says the ledger is read-only: {outcome:#?}"
    );
    assert!(
        !outcome.stderr.contains("is not a dsomm-audit ledger"),
        "a permission failure must not be blamed on the file: {outcome:#?}"
    );
    verify_passes(&workspace, "after the read-only ingest");
    assert_eq!(leaves(&workspace), before);
}

#[test]
fn a_full_disk_during_ingest_fails_cleanly_and_loses_nothing_acknowledged() {
    let workspace = Workspace::new();
    let inputs = write_inputs(&workspace);
    let total = (FILES * LINES_PER_FILE) as u64;
    let outcome = run_limited(&workspace, INGEST_LIMIT_BLOCKS, &ingest_args(&inputs));
    assert_clean_failure(&outcome, "ingest under a file-size limit");
    let acknowledged = acknowledged(&outcome.stderr);
    let error = outcome
        .stderr
        .lines()
        .find(|line| line.starts_with("error: "))
        .unwrap()
        .to_string();
    assert!(
        acknowledged > 0 && acknowledged < total,
        "the limit must stop the ingest midway (acknowledged {acknowledged}): {outcome:#?}"
    );

    // The limit lifted: the ledger verifies and holds every acknowledged record.
    let report = verify_passes(&workspace, "after the failed ingest");
    let present = report["records"].as_u64().unwrap();
    assert!(
        present >= acknowledged,
        "acknowledged {acknowledged}, present {present}"
    );
    let kept = leaves(&workspace);
    assert_eq!(kept.len() as u64, present);

    // The same ingest completes the input without duplicates.
    let outcome = workspace.run(&ingest_args(&inputs));
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let summary = outcome.json();
    assert_eq!(summary["added"], total - present, "{summary:#}");
    assert_eq!(summary["duplicates"], present, "{summary:#}");
    let report = verify_passes(&workspace, "after re-running the ingest");
    assert_eq!(report["records"], total);
    assert_eq!(
        leaves(&workspace)[..kept.len()],
        kept[..],
        "an acknowledged record changed"
    );
    println!(
        "full disk during ingest: `{error}` after {acknowledged} of {total} records acknowledged; \
         {present} present, re-run added {}",
        total - present
    );
}

#[test]
fn a_full_disk_during_gate_does_not_pass_and_the_ledger_verifies() {
    let workspace = Workspace::new();
    workspace.write("trivy.json", TRIVY_PASSING);
    let gate = ["gate", "--trivy", "trivy.json", "--fail-on", "high", "--format", "json"];

    let outcome = run_limited(&workspace, GATE_LIMIT_BLOCKS, &gate);
    assert_clean_failure(&outcome, "gate under a file-size limit");
    assert!(
        !outcome.stdout.contains("\"pass\""),
        "a gate whose decision was not recorded must not report a pass: {outcome:#?}"
    );
    let report = verify_passes(&workspace, "after the failed gate");
    assert_eq!(report["records"], 0, "no partial batch: {report:#}");

    // Without the limit the same gate passes and records its scan and decision.
    let outcome = workspace.run(&gate);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let report = verify_passes(&workspace, "after the gate");
    assert_eq!(report["records"], 2, "{report:#}");
}

#[test]
fn a_disk_too_full_to_open_the_ledger_is_reported_as_an_io_failure_not_as_a_foreign_file() {
    let workspace = Workspace::new();
    let inputs = write_inputs(&workspace);
    // 8 KiB: too little for SQLite to open the ledger (its write-ahead log and
    // shared-memory files), so the failure comes before any batch.
    let outcome = run_limited(&workspace, 8, &ingest_args(&inputs[..1]));
    assert_clean_failure(&outcome, "ingest under an 8 KiB file-size limit");
    assert!(
        !outcome.stderr.contains("is not a dsomm-audit ledger"),
        "an I/O failure must not be blamed on the file: {outcome:#?}"
    );
    assert!(
        outcome.stderr.contains("ledger.db"),
        "the message names the ledger: {outcome:#?}"
    );
    let report = verify_passes(&workspace, "after the failed open");
    assert_eq!(report["records"], 0, "{report:#}");
}
