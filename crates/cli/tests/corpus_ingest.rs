//! Corpus tests: the real SARIF files in `../shared/fixtures/sarif/` and the
//! scanner reports and SBOMs in `../shared/fixtures/sbom-vulns/` ingest
//! through the real binary into the expected number of `scan_report` records,
//! a second ingest adds nothing, and the ledger verifies.
//!
//! The folder is read in place. When it is absent the test says so and passes,
//! except under CI (`CI=true`), where a missing folder is a failure.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use assert_cmd::Command;
use common::fixture_folder;
use serde_json::Value;

fn fixtures() -> Option<PathBuf> {
    fixture_folder("sarif")
}

fn binary(directory: &std::path::Path) -> Command {
    let mut command = Command::cargo_bin("dsomm-audit").unwrap();
    command.current_dir(directory);
    command
}

fn ingest_json(directory: &std::path::Path, folder: &std::path::Path) -> Value {
    let output = binary(directory)
        .args(["ingest", "--format", "json"])
        .arg(folder)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn shared_sarif_fixtures_ingest_once_and_verify() {
    let Some(folder) = fixtures() else {
        return;
    };
    let files = std::fs::read_dir(&folder).unwrap().count() as u64;
    let directory = tempfile::tempdir().unwrap();
    binary(directory.path()).args(["init", "."]).assert().success();

    // One scan_report per run: codeql-action-valid-two-runs has two runs, the
    // other files one each (see crates/collect/tests/corpus_sarif.rs).
    let expected_runs = files + 1;
    let first = ingest_json(directory.path(), &folder);
    assert_eq!(first["files"], files);
    assert_eq!(first["added"], expected_runs);
    assert_eq!(first["rejected"], 0, "{first}");

    let second = ingest_json(directory.path(), &folder);
    assert_eq!(second["added"], 0);
    assert_eq!(second["duplicates"], expected_runs);

    let verify = binary(directory.path())
        .args(["verify", "--deep", "--format", "json"])
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
    let report: Value = serde_json::from_slice(&verify.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["records"], expected_runs);
    assert_eq!(report["blobs"], files);
}

#[test]
fn shared_scanner_and_sbom_fixtures_ingest_once_and_verify() {
    let Some(folder) = fixture_folder("sbom-vulns") else {
        return;
    };
    let files = std::fs::read_dir(&folder).unwrap().count() as u64;
    let directory = tempfile::tempdir().unwrap();
    binary(directory.path()).args(["init", "."]).assert().success();
    // One record per file, plus a scan_report for each of the two CycloneDX
    // documents with vulnerabilities (see crates/collect/tests/corpus_scanners.rs).
    let expected = files + 2;
    let first = ingest_json(directory.path(), &folder);
    assert_eq!(first["files"], files);
    assert_eq!(first["added"], expected, "{first}");
    assert_eq!(first["rejected"], 0, "{first}");
    let second = ingest_json(directory.path(), &folder);
    assert_eq!(second["added"], 0);
    assert_eq!(second["duplicates"], expected);
    let verify = binary(directory.path())
        .args(["verify", "--format", "json"])
        .output()
        .unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));
}
