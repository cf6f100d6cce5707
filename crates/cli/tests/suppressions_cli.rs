//! End-to-end tests of `dsomm-audit suppressions` through the real binary: a small
//! repository with every kind of inline suppression and ignore file, listed as a
//! table grouped by file and as JSON; files and directories mixed; no ledger needed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};

mod common;

use common::{Workspace, run_in};

/// The test repository: path and contents of each file.
const REPOSITORY: &[(&str, &str)] = &[
    ("repo/app/main.py", "def check(x):\n    assert x  # nosec B101\n"),
    (
        "repo/cmd/main.go",
        "package main\n\nfunc main() {\n\tresp, _ := http.Get(url) //nolint:gosec\n\th := md5.New() // #nosec G401\n}\n",
    ),
    (
        "repo/infra/bucket.tf",
        "resource \"aws_s3_bucket\" \"site\" {\n  #tfsec:ignore:aws-s3-enable-bucket-logging\n  # checkov:skip=CKV_AWS_20:public site\n}\n",
    ),
    ("repo/web/app.js", "eval(input); // nosemgrep: rule-a\n"),
    (
        "repo/Dockerfile",
        "FROM alpine:3.19\n# kics-scan ignore-line\nRUN apk add curl\n",
    ),
    ("repo/.trivyignore", "# no fix upstream\nCVE-2023-1111\nCVE-2023-2222\n"),
    ("repo/.gitleaksignore", "config/app.env:generic-api-key:12\n"),
    (
        "repo/.snyk",
        "version: v1.25.0\nignore:\n  SNYK-JS-LODASH-567746:\n    - '*':\n        reason: not reachable\n",
    ),
    ("repo/app/clean.py", "nosecret = 1  # nosecrets\n"),
    ("repo/.git/config", "# nosec inside .git is never read\n"),
    ("repo/README.md", "Write `# nosec B101` only with a ticket.\n"),
    ("extra.py", "x = 1  # nosec\n"),
];

fn repository() -> Workspace {
    let workspace = Workspace::new();
    for (path, contents) in REPOSITORY {
        workspace.write(path, contents);
    }
    workspace.write("repo/bin/tool", b"\x7fELF\0\0# nosec\n");
    workspace
}

#[test]
fn json_lists_every_kind_with_totals() {
    let workspace = repository();
    let outcome = workspace.run(&["suppressions", "repo", "extra.py", "--format", "json"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let report = outcome.json();
    let rows: Vec<(String, u64, String, Value, String)> = report["suppressions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["file"].as_str().unwrap().replace('\\', "/"),
                row["line"].as_u64().unwrap(),
                row["tool"].as_str().unwrap().to_string(),
                row["rule"].clone(),
                row["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let expected: Vec<(String, u64, String, Value, String)> = [
        (
            "repo/.gitleaksignore",
            1,
            "gitleaks",
            json!("generic-api-key"),
            "ignore-file",
        ),
        ("repo/.snyk", 3, "snyk", json!("SNYK-JS-LODASH-567746"), "ignore-file"),
        ("repo/.trivyignore", 2, "trivy", json!("CVE-2023-1111"), "ignore-file"),
        ("repo/.trivyignore", 3, "trivy", json!("CVE-2023-2222"), "ignore-file"),
        ("repo/Dockerfile", 2, "kics", Value::Null, "inline"),
        ("repo/app/main.py", 2, "bandit", json!("B101"), "inline"),
        ("repo/cmd/main.go", 4, "gosec", Value::Null, "inline"),
        ("repo/cmd/main.go", 5, "gosec", json!("G401"), "inline"),
        (
            "repo/infra/bucket.tf",
            2,
            "tfsec",
            json!("aws-s3-enable-bucket-logging"),
            "inline",
        ),
        ("repo/infra/bucket.tf", 3, "checkov", json!("CKV_AWS_20"), "inline"),
        ("repo/web/app.js", 1, "semgrep", json!("rule-a"), "inline"),
        ("extra.py", 1, "bandit", Value::Null, "inline"),
    ]
    .into_iter()
    .map(|(file, line, tool, rule, kind)| (file.to_string(), line, tool.to_string(), rule, kind.to_string()))
    .collect();
    assert_eq!(rows, expected);
    assert_eq!(report["total"], 12);
    assert_eq!(
        report["by_tool"],
        json!({"bandit": 2, "checkov": 1, "gitleaks": 1, "gosec": 2, "kics": 1, "semgrep": 1, "snyk": 1,
               "tfsec": 1, "trivy": 2})
    );
    assert_eq!(report["suppressions"][5]["text"], "assert x  # nosec B101");
}

#[test]
fn table_groups_by_file_and_counts_by_tool() {
    let workspace = repository();
    let outcome = workspace.run(&["suppressions", "repo/cmd", "repo/.trivyignore"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let lines: Vec<&str> = outcome.stdout.lines().collect();
    let normalised: Vec<String> = lines
        .iter()
        .map(|line| line.replace('\\', "/").split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(
        normalised,
        [
            "repo/cmd/main.go:4 gosec - resp, _ := http.Get(url) //nolint:gosec",
            "repo/cmd/main.go:5 gosec G401 h := md5.New() // #nosec G401",
            "",
            "repo/.trivyignore:2 trivy CVE-2023-1111 CVE-2023-1111",
            "repo/.trivyignore:3 trivy CVE-2023-2222 CVE-2023-2222",
            "",
            "4 suppressions in 2 files (2 files searched)",
            "gosec 2",
            "trivy 2",
        ],
        "{}",
        outcome.stdout
    );
}

#[test]
fn works_without_a_ledger_and_refuses_a_missing_path() {
    let directory = tempfile::tempdir().unwrap();
    std::fs::write(directory.path().join("a.py"), "assert x  # nosec B101\n").unwrap();
    let outcome = run_in(directory.path(), &["suppressions", "."]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    assert!(
        outcome.stdout.contains("1 suppression in 1 file (1 file searched)"),
        "{outcome:#?}"
    );

    let outcome = run_in(directory.path(), &["suppressions", "missing"]);
    assert_eq!(outcome.code, 2, "{outcome:#?}");
    assert!(outcome.stderr.contains("cannot read missing"), "{outcome:#?}");

    let empty = tempfile::tempdir().unwrap();
    let outcome = run_in(empty.path(), &["suppressions", ".", "--format", "json"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    assert_eq!(
        outcome.json(),
        json!({"suppressions": [], "by_tool": {}, "total": 0, "files": 0})
    );
}

#[test]
fn ingest_records_each_suppression_as_evidence_and_detects_ignore_files_by_name() {
    let workspace = repository();
    // An explicit source reads every file of the repository.
    let outcome = workspace.run(&["ingest", "--source", "suppressions", "--format", "json", "repo"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let listed = workspace.run(&["suppressions", "--format", "json", "repo"]).json();
    assert_eq!(outcome.json()["added"], listed["total"], "{outcome:#?}");
    // Without --source, ignore files are recognised by their names.
    let fresh = repository();
    let detected = fresh.run(&["ingest", "--format", "json", "repo/.trivyignore"]);
    assert_eq!(detected.code, 0, "{detected:#?}");
    assert_eq!(detected.json()["added"], 2);
    let again = fresh.run(&["ingest", "--format", "json", "repo/.trivyignore"]);
    assert_eq!(again.json()["duplicates"], 2);
    assert_eq!(fresh.run(&["verify"]).code, 0);
}
