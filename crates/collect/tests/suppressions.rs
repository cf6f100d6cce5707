//! Suppressions in a small repository of our own, written to disk and walked:
//! every kind of inline marker and ignore file is found with its file, line, tool
//! and rule; look-alike words, binary files and huge lines are handled; arbitrary
//! bytes never panic; every tool is documented.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use dsomm_audit_collect::suppressions::{MAX_TEXT_CHARS, SuppressionFound, TOOLS, scan, to_evidence};
use dsomm_audit_collect::{Context, Limits};
use proptest::prelude::*;

/// The test repository: path and contents of each file.
const REPOSITORY: &[(&str, &str)] = &[
    (
        "app/main.py",
        "import subprocess\n\ndef check(x):\n    assert x  # nosec B101\n    return subprocess.call(x, shell=True)\n",
    ),
    (
        "cmd/server/main.go",
        concat!(
            "package main\n",
            "\n",
            "func main() {\n",
            "\tresp, _ := http.Get(url) //nolint:gosec\n",
            "\th := md5.New() // #nosec G401\n",
            "\t_ = resp\n",
            "}\n",
        ),
    ),
    (
        "infra/bucket.tf",
        concat!(
            "resource \"aws_s3_bucket\" \"site\" {\n",
            "  #tfsec:ignore:aws-s3-enable-bucket-logging\n",
            "  bucket = \"acme-site\"\n",
            "  # checkov:skip=CKV_AWS_20:The bucket is a public static website\n",
            "}\n",
        ),
    ),
    ("web/app.js", "const a = 1;\neval(input); // nosemgrep: rule-a\n"),
    (
        "Dockerfile",
        "FROM alpine:3.19\n# kics-scan ignore-line\nRUN apk add curl\n",
    ),
    (
        ".trivyignore",
        "# accepted: no fix upstream\nCVE-2023-1111\nCVE-2023-2222 exp:2026-01-01\n",
    ),
    (".gitleaksignore", "0123abcd4567:config/app.env:generic-api-key:12\n"),
    (
        ".snyk",
        "version: v1.25.0\nignore:\n  SNYK-JS-LODASH-567746:\n    - '*':\n        reason: not reachable\npatch: {}\n",
    ),
    (
        "app/settings.py",
        "nosecret = 'x'  # nosecrets here\nSECURITY_NOSEC_MODE = False\n",
    ),
];

/// What the repository holds: `(file, line, tool, rule, kind)`, in walk order.
const EXPECTED: &[(&str, u64, &str, Option<&str>, &str)] = &[
    (".gitleaksignore", 1, "gitleaks", Some("generic-api-key"), "ignore-file"),
    (".snyk", 3, "snyk", Some("SNYK-JS-LODASH-567746"), "ignore-file"),
    (".trivyignore", 2, "trivy", Some("CVE-2023-1111"), "ignore-file"),
    (".trivyignore", 3, "trivy", Some("CVE-2023-2222"), "ignore-file"),
    ("Dockerfile", 2, "kics", None, "inline"),
    ("app/main.py", 4, "bandit", Some("B101"), "inline"),
    ("cmd/server/main.go", 4, "gosec", None, "inline"),
    ("cmd/server/main.go", 5, "gosec", Some("G401"), "inline"),
    (
        "infra/bucket.tf",
        2,
        "tfsec",
        Some("aws-s3-enable-bucket-logging"),
        "inline",
    ),
    ("infra/bucket.tf", 4, "checkov", Some("CKV_AWS_20"), "inline"),
    ("web/app.js", 2, "semgrep", Some("rule-a"), "inline"),
];

/// A fresh directory under cargo's scratch space for integration tests.
fn scratch(name: &str) -> PathBuf {
    let directory = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("suppressions-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

/// Every file under `directory`, sorted, as paths relative to it.
fn walk(directory: &Path, relative: &Path, files: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(directory.join(relative))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    for entry in entries {
        let name = relative.join(entry.file_name().unwrap());
        if entry.is_dir() {
            walk(directory, &name, files);
        } else {
            files.push(name);
        }
    }
}

/// Write `files` under a fresh directory, walk it and scan every file.
fn scan_repository(name: &str, files: &[(&str, &[u8])], limits: &Limits) -> Vec<SuppressionFound> {
    let root = scratch(name);
    for (path, contents) in files {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, contents).unwrap();
    }
    let mut paths = Vec::new();
    walk(&root, Path::new(""), &mut paths);
    let found = paths
        .iter()
        .flat_map(|path| {
            let bytes = std::fs::read(root.join(path)).unwrap();
            scan(&path.to_string_lossy().replace('\\', "/"), &bytes, limits)
        })
        .collect();
    std::fs::remove_dir_all(&root).unwrap();
    found
}

#[test]
fn every_kind_in_a_repository_is_found() {
    let files: Vec<(&str, &[u8])> = REPOSITORY.iter().map(|(path, text)| (*path, text.as_bytes())).collect();
    let found = scan_repository("repository", &files, &Limits::default());
    let actual: Vec<(&str, u64, &str, Option<&str>, &str)> = found
        .iter()
        .map(|suppression| {
            (
                suppression.file.as_str(),
                suppression.line,
                suppression.tool,
                suppression.rule.as_deref(),
                suppression.kind.as_str(),
            )
        })
        .collect();
    assert_eq!(actual, EXPECTED);
    let bandit = found.iter().find(|suppression| suppression.tool == "bandit").unwrap();
    assert_eq!(bandit.text, "assert x  # nosec B101");
    let trivy = found.iter().find(|suppression| suppression.tool == "trivy").unwrap();
    assert_eq!(trivy.text, "CVE-2023-1111");
    assert_eq!(trivy.kind, "ignore-file");
}

#[test]
fn binary_files_are_skipped_and_huge_lines_bounded() {
    let mut binary = b"\x7fELF\x02\x01\x01\0".to_vec();
    binary.extend_from_slice(b"# nosec B101\n// nosemgrep\n");
    let huge = format!("{}  # nosec B101  {}\n", "x".repeat(1_000_000), "y".repeat(1_000_000));
    let large = format!("# nosec\n{}", "z".repeat(100));
    let limits = Limits {
        max_document_bytes: 3_000_000,
        ..Limits::default()
    };
    let files: [(&str, &[u8]); 3] = [
        ("bin/tool", &binary),
        ("gen/huge.py", huge.as_bytes()),
        ("small/large.py", large.as_bytes()),
    ];
    let found = scan_repository("binary", &files, &limits);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert_eq!(found[0].file, "gen/huge.py");
    assert_eq!(found[0].rule.as_deref(), Some("B101"));
    assert!(found[0].text.chars().count() <= MAX_TEXT_CHARS);
    assert!(found[0].text.contains("# nosec B101"), "{}", found[0].text);
    assert_eq!(found[1].file, "small/large.py");

    let tight = Limits {
        max_document_bytes: 50,
        ..Limits::default()
    };
    assert!(scan("small/large.py", large.as_bytes(), &tight).is_empty());
}

#[test]
fn records_carry_file_line_and_no_invented_time() {
    let found = scan("web/app.js", b"x\n// nosemgrep: rule-a, rule-b\n", &Limits::default());
    let context = Context {
        origin: "/repo/web/app.js".into(),
        sha256: "ab".repeat(32),
        ..Context::default()
    };
    let records = to_evidence(&found, &context);
    assert_eq!(records.len(), 2);
    for (record, rule) in records.iter().zip(["rule-a", "rule-b"]) {
        assert_eq!(record.kind, model::EvidenceKind::Suppression);
        assert_eq!(record.occurred_at, None);
        assert_eq!(record.source.line, Some(2));
        assert_eq!(record.attrs["rule"], rule);
        assert_eq!(record.attrs["file"], "web/app.js");
        assert_eq!(record.attrs["line"], 2);
    }
    let stated = Context {
        occurred_at: Some("2025-03-02T10:00:00Z".parse().unwrap()),
        ..context
    };
    let record = &to_evidence(&found, &stated)[0];
    assert_eq!(record.occurred_at_source, model::OccurredAtSource::Flag);
}

#[test]
fn every_tool_is_documented() {
    let docs = include_str!("../../../docs/suppressions.md");
    for tool in TOOLS {
        assert!(
            docs.contains(&format!("`{tool}`")),
            "docs/suppressions.md does not name `{tool}`"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512), name in 0usize..8) {
        let names = ["a.py", "a.go", ".trivyignore", ".gitleaksignore", ".snyk", ".semgrepignore", ".checkov.yaml", "x"];
        for suppression in scan(names[name], &bytes, &Limits::default()) {
            prop_assert!(suppression.line >= 1);
            prop_assert!(suppression.text.chars().count() <= MAX_TEXT_CHARS);
        }
    }

    #[test]
    fn marker_soup_never_panics(parts in proptest::collection::vec(
        prop_oneof![
            Just("# nosec "), Just("//#nosec G1"), Just("nosemgrep:"), Just(","), Just("é"), Just(" "),
            Just("//nolint:"), Just("gosec"), Just("checkov:skip="), Just("checkov.io/skip1:"), Just("tfsec:ignore:"),
            Just("trivy:ignore:"), Just("kics-scan "), Just("disable="), Just("gitleaks:allow"), Just("\n"),
            Just("ignore:\n  "), Just("skip-check:"), Just("- "), Just("'"), Just("\r\n"), Just("\u{FEFF}"),
        ],
        0..64,
    ), name in 0usize..4) {
        let text: String = parts.concat();
        let names = ["a.go", ".snyk", ".checkov.yml", ".trivyignore.yaml"];
        for suppression in scan(names[name], text.as_bytes(), &Limits::default()) {
            prop_assert!(suppression.text.chars().count() <= MAX_TEXT_CHARS);
        }
    }
}
