//! Hostile input through the real `dsomm-audit` binary: `ingest` and `model` must never panic
//! (exit 1 or 2, never 101, no "panicked" on stderr) and must say clearly what was wrong and
//! where (file, and line or JSON pointer where one applies) — truncated and mistyped SARIF,
//! nesting 100,000 deep, a 1 GiB NDJSON line, bytes that are not UTF-8, NUL bytes, numbers and
//! times out of range, YAML alias bombs and deep YAML, truncated and empty files, a directory
//! with a symbolic link loop, and an output pipe closed by the reader.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;

mod common;

use common::{Outcome, Workspace};

impl Workspace {
    /// `ingest --format json FILE`: the outcome (checked for panics) and the summary.
    fn ingest(&self, file: &str) -> (Outcome, Value) {
        let outcome = self.run(&["ingest", "--format", "json", file]);
        check_no_panic(&outcome);
        let summary = outcome.json();
        (outcome, summary)
    }

    /// Records in the ledger.
    fn records(&self) -> u64 {
        let database = rusqlite::Connection::open(self.path("ledger.db")).unwrap();
        database
            .query_row("SELECT COUNT(*) FROM evidence", [], |row| row.get(0))
            .unwrap()
    }
}

fn check_no_panic(outcome: &Outcome) {
    assert_ne!(outcome.code, 101, "the binary panicked: {outcome:#?}");
    assert_ne!(outcome.code, -1, "the binary was killed: {outcome:#?}");
    assert!(
        !outcome.stderr.contains("panicked"),
        "the binary panicked: {outcome:#?}"
    );
}

/// An ingest of one hostile file: exit 1, `rejected` > 0, and every diagnostic names the file.
/// Returns the diagnostics.
fn check_rejected(workspace: &Workspace, file: &str) -> Vec<Value> {
    let (outcome, summary) = workspace.ingest(file);
    assert_eq!(outcome.code, 1, "{file}: expected exit 1: {outcome:#?}");
    assert!(summary["rejected"].as_u64().unwrap() > 0, "{file}: {summary:#}");
    let diagnostics = summary["diagnostics"].as_array().unwrap().clone();
    assert!(!diagnostics.is_empty(), "{file}: {summary:#}");
    for diagnostic in &diagnostics {
        assert_eq!(diagnostic["file"], file, "{summary:#}");
        assert!(!diagnostic["message"].as_str().unwrap().is_empty(), "{summary:#}");
    }
    diagnostics
}

/// One diagnostic with a line (1-based) and a message containing `words` (any case).
fn check_line_diagnostic(diagnostic: &Value, line: u64, words: &[&str]) {
    assert_eq!(diagnostic["line"], line, "{diagnostic:#}");
    let message = diagnostic["message"].as_str().unwrap().to_lowercase();
    for word in words {
        assert!(
            message.contains(&word.to_lowercase()),
            "`{word}` missing: {diagnostic:#}"
        );
    }
}

/// `model --model FILE` on a hostile model: exit 2, an `error: ` on stderr naming the file
/// (as `FILE:LINE` when `line` is given), with every one of `words` in it.
fn check_model_refused(workspace: &Workspace, file: &str, line: Option<u64>, words: &[&str]) {
    let outcome = workspace.run(&["model", "--model", file, "--format", "json"]);
    check_no_panic(&outcome);
    assert_eq!(outcome.code, 2, "{file}: {outcome:#?}");
    assert!(outcome.stdout.is_empty(), "{file}: {outcome:#?}");
    let expected = match line {
        Some(line) => format!("{file}:{line}"),
        None => file.to_string(),
    };
    assert!(outcome.stderr.starts_with("error: "), "{outcome:#?}");
    assert!(
        outcome.stderr.contains(&expected),
        "expected `{expected}`: {outcome:#?}"
    );
    let message = outcome.stderr.to_lowercase();
    for word in words {
        assert!(message.contains(&word.to_lowercase()), "`{word}` missing: {outcome:#?}");
    }
}

const GOOD_LINE: &str = r#"{"kind":"deploy","occurred_at":"2025-03-02T10:00:00Z","attrs":{"ok":true}}"#;

// ---------------------------------------------------------------------------
// SARIF
// ---------------------------------------------------------------------------

const SARIF: &str = r#"{"version":"2.1.0","runs":[
{"tool":{"driver":{"name":"Semgrep OSS","rules":[{"id":"r","properties":{"security-severity":"9.1"}}]}},
 "results":[{"ruleId":"r","message":{"text":"a"}},{"ruleId":"r","message":{"text":"b"}}]}
]}"#;

#[test]
fn the_sarif_sample_is_valid() {
    let workspace = Workspace::new();
    workspace.write("good.sarif", SARIF);
    let (outcome, summary) = workspace.ingest("good.sarif");
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    assert_eq!(summary["added"], 1);
}

#[test]
fn truncated_sarif_is_reported_with_file_and_line() {
    let workspace = Workspace::new();
    let cut = SARIF.find("\"results\"").unwrap() + 4;
    workspace.write("truncated.sarif", &SARIF[..cut]);
    let diagnostics = check_rejected(&workspace, "truncated.sarif");
    assert_eq!(diagnostics.len(), 1);
    check_line_diagnostic(&diagnostics[0], 3, &["truncated"]);
    assert_eq!(workspace.records(), 0);
}

#[test]
fn sarif_with_wrong_types_is_reported_at_json_pointers_and_good_runs_land() {
    let workspace = Workspace::new();
    workspace.write(
        "types.sarif",
        r#"{"version":"2.1.0","runs":[
            {"tool":{"driver":{"name":"a"}},"results":"not an array"},
            {"tool":{"driver":{"name":"b"}},"results":[{"ruleId":"r","level":5}]},
            42,
            {"tool":{"driver":{"name":"good"}},"results":[]}
        ]}"#,
    );
    let diagnostics = check_rejected(&workspace, "types.sarif");
    let pointers: Vec<&str> = diagnostics
        .iter()
        .map(|diagnostic| diagnostic["pointer"].as_str().unwrap_or("(none)"))
        .collect();
    assert_eq!(
        pointers,
        vec!["/runs/0/results", "/runs/1/results/0", "/runs/2"],
        "{diagnostics:#?}"
    );
    assert!(diagnostics[0]["message"].as_str().unwrap().contains("not an array"));
    assert_eq!(workspace.records(), 1, "the good run still lands");

    workspace.write("top.sarif", r#"{"version":"2.1.0","runs":"x"}"#);
    let diagnostics = check_rejected(&workspace, "top.sarif");
    check_line_diagnostic(&diagnostics[0], 1, &["runs"]);
    workspace.write("array.sarif", "[1, 2, 3]");
    let diagnostics = check_rejected(&workspace, "array.sarif");
    check_line_diagnostic(&diagnostics[0], 1, &["SARIF"]);
}

#[test]
fn sarif_nested_100k_deep_is_refused_with_its_line() {
    let workspace = Workspace::new();
    let depth = 100_000;
    let text = format!(
        "{{\"version\":\"2.1.0\",\n\"runs\":[{{\"tool\":{}{}}}]}}",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    workspace.write("deep.sarif", text);
    let diagnostics = check_rejected(&workspace, "deep.sarif");
    assert_eq!(diagnostics.len(), 1);
    check_line_diagnostic(&diagnostics[0], 2, &["nested", "64"]);
    // Objects as deep as arrays.
    let text = format!(
        "{{\"version\":\"2.1.0\",\"runs\":[{}1{}]}}",
        "{\"a\":".repeat(depth),
        "}".repeat(depth)
    );
    workspace.write("deep-objects.sarif", text);
    let diagnostics = check_rejected(&workspace, "deep-objects.sarif");
    check_line_diagnostic(&diagnostics[0], 1, &["nested"]);
}

#[test]
fn sarif_with_invalid_utf8_nul_bytes_and_huge_numbers_is_reported() {
    let workspace = Workspace::new();
    let cases: [(&str, &[u8], &[&str]); 4] = [
        (
            "utf8.sarif",
            b"{\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{\"name\":\"x\xff\xfe\"}}}]}",
            &["not valid JSON"],
        ),
        (
            "nul.sarif",
            b"{\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{\"name\":\"x\x00\"}}}]}",
            &["control character"],
        ),
        ("nuls.sarif", b"\x00\x00\x00\x00", &["not valid JSON"]),
        (
            "number.sarif",
            b"{\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{\"name\":\"x\",\"rules\":[{\"id\":\"r\",\"properties\":{\"security-severity\":1e999}}]}},\"results\":[]}]}",
            &["out of range"],
        ),
    ];
    for (file, bytes, words) in cases {
        workspace.write(file, bytes);
        let diagnostics = check_rejected(&workspace, file);
        check_line_diagnostic(&diagnostics[0], 1, words);
    }
    assert_eq!(workspace.records(), 0);
}

// ---------------------------------------------------------------------------
// evidence-ndjson
// ---------------------------------------------------------------------------

/// Peak resident memory (KiB) of a child reported by GNU time's `-v` output.
fn peak_rss_kib(time_output: &str) -> Option<u64> {
    time_output
        .lines()
        .find_map(|line| line.trim().strip_prefix("Maximum resident set size (kbytes):"))
        .and_then(|value| value.trim().parse().ok())
}

#[test]
fn ndjson_line_of_1_gib_is_skipped_in_bounded_memory_and_the_rest_lands() {
    const GIB: usize = 1 << 30;
    let workspace = Workspace::new();
    let path = workspace.path("huge.ndjson");
    {
        let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        writeln!(file, r#"{{"kind":"deploy","attrs":{{"position":"before"}}}}"#).unwrap();
        write!(file, r#"{{"kind":"deploy","attrs":{{"filler":""#).unwrap();
        let block = vec![b'a'; 1 << 20];
        for _ in 0..GIB / block.len() {
            file.write_all(&block).unwrap();
        }
        writeln!(file, r#""}}}}"#).unwrap();
        writeln!(file, r#"{{"kind":"deploy","attrs":{{"position":"after"}}}}"#).unwrap();
        file.flush().unwrap();
    }
    let measured = Path::new("/usr/bin/time").is_file();
    let output = if measured {
        std::process::Command::new("/usr/bin/time")
            .arg("-v")
            .arg(assert_cmd::cargo::cargo_bin("dsomm-audit"))
            .args(["ingest", "--format", "json", "huge.ndjson"])
            .current_dir(workspace.dir.path())
            .output()
            .unwrap()
    } else {
        println!("/usr/bin/time is absent: peak memory not measured");
        Command::cargo_bin("dsomm-audit")
            .unwrap()
            .args(["ingest", "--format", "json", "huge.ndjson"])
            .current_dir(workspace.dir.path())
            .timeout(Duration::from_secs(900))
            .output()
            .unwrap()
    };
    std::fs::remove_file(&path).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let outcome = Outcome {
        // GNU time exits with the child's status.
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: stderr.clone(),
    };
    check_no_panic(&outcome);
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    let summary = outcome.json();
    assert_eq!(summary["added"], 2, "{summary:#}");
    assert_eq!(summary["rejected"], 1, "{summary:#}");
    let diagnostic = &summary["diagnostics"][0];
    assert_eq!(diagnostic["file"], "huge.ndjson");
    check_line_diagnostic(diagnostic, 2, &["exceeds the limit", "16777216"]);
    assert_eq!(workspace.records(), 2);
    if measured {
        let peak = peak_rss_kib(&stderr).unwrap_or_else(|| panic!("no peak RSS in: {stderr}"));
        println!("peak RSS of the 1 GiB ingest: {} MiB", peak / 1024);
        assert!(
            peak < 256 * 1024,
            "ingesting a file with a 1 GiB line peaked at {} MiB of memory",
            peak / 1024
        );
    }
}

#[test]
fn ndjson_with_invalid_utf8_and_nul_bytes_is_reported_per_line() {
    let workspace = Workspace::new();
    let mut bytes = Vec::new();
    bytes.extend_from_slice(GOOD_LINE.as_bytes());
    bytes.extend_from_slice(b"\n{\"kind\":\"deploy\",\"attrs\":{\"name\":\"\xff\xfe\"}}\n");
    bytes.extend_from_slice(b"{\"kind\":\"deploy\",\"attrs\":{\"name\":\"a\x00b\"}}\n");
    bytes.extend_from_slice(b"\x00\x00\x00\x00\n");
    bytes.extend_from_slice(b"\xff\xfe\xfd\n");
    bytes.extend_from_slice(br#"{"kind":"merge","attrs":{"still":"here"}}"#);
    bytes.push(b'\n');
    workspace.write("bytes.ndjson", bytes);
    let diagnostics = check_rejected(&workspace, "bytes.ndjson");
    let lines: Vec<u64> = diagnostics
        .iter()
        .map(|diagnostic| diagnostic["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![2, 3, 4, 5], "{diagnostics:#?}");
    for diagnostic in &diagnostics {
        assert!(
            diagnostic["message"].as_str().unwrap().contains("column"),
            "{diagnostic:#}"
        );
    }
    assert_eq!(workspace.records(), 2);
}

#[test]
fn numbers_out_of_range_are_reported() {
    let workspace = Workspace::new();
    let text = [
        r#"{"kind":"deploy","attrs":{"n":1e999}}"#,
        r#"{"kind":"deploy","attrs":{"n":-1e999}}"#,
        r#"{"kind":"deploy","subject":{"pull_request":1e999},"attrs":{}}"#,
        r#"{"kind":"deploy","subject":{"pull_request":99999999999999999999999},"attrs":{}}"#,
        GOOD_LINE,
    ]
    .join("\n");
    workspace.write("numbers.ndjson", text);
    let diagnostics = check_rejected(&workspace, "numbers.ndjson");
    let lines: Vec<u64> = diagnostics
        .iter()
        .map(|diagnostic| diagnostic["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![1, 2, 3, 4], "{diagnostics:#?}");
    check_line_diagnostic(&diagnostics[0], 1, &["out of range"]);
    assert_eq!(workspace.records(), 1);
}

#[test]
fn timestamp_without_a_zone_is_refused() {
    let workspace = Workspace::new();
    let text = [
        r#"{"kind":"deploy","occurred_at":"2025-03-02T10:00:00","attrs":{}}"#,
        r#"{"kind":"deploy","occurred_at":"2025-03-02 10:00","attrs":{}}"#,
        GOOD_LINE,
    ]
    .join("\n");
    workspace.write("zoneless.ndjson", text);
    let diagnostics = check_rejected(&workspace, "zoneless.ndjson");
    assert_eq!(diagnostics.len(), 2, "{diagnostics:#?}");
    check_line_diagnostic(&diagnostics[0], 1, &["occurred_at", "zone"]);
    check_line_diagnostic(&diagnostics[1], 2, &["occurred_at"]);
    assert_eq!(workspace.records(), 1);

    let outcome = workspace.run(&["ingest", "--occurred-at", "2025-03-02T10:00:00", "zoneless.ndjson"]);
    check_no_panic(&outcome);
    assert_eq!(outcome.code, 2, "{outcome:#?}");
    assert!(
        outcome.stderr.contains("--occurred-at") && outcome.stderr.contains("zone"),
        "{outcome:#?}"
    );
}

#[test]
fn timestamp_in_year_1800_is_out_of_range() {
    let workspace = Workspace::new();
    let text = [
        r#"{"kind":"deploy","occurred_at":"1800-01-01T00:00:00Z","attrs":{}}"#,
        r#"{"kind":"deploy","occurred_at":"+010000-01-01T00:00:00Z","attrs":{}}"#,
        GOOD_LINE,
    ]
    .join("\n");
    workspace.write("ancient.ndjson", text);
    let diagnostics = check_rejected(&workspace, "ancient.ndjson");
    assert_eq!(diagnostics.len(), 2, "{diagnostics:#?}");
    check_line_diagnostic(&diagnostics[0], 1, &["1800", "out of range"]);
    assert_eq!(diagnostics[1]["line"], 2);
    assert_eq!(workspace.records(), 1);

    let outcome = workspace.run(&["ingest", "--occurred-at", "1800-01-01", "ancient.ndjson"]);
    check_no_panic(&outcome);
    assert_eq!(outcome.code, 2, "{outcome:#?}");
    assert!(outcome.stderr.contains("out of range"), "{outcome:#?}");
}

#[test]
fn deeply_nested_ndjson_line_is_reported_and_the_rest_lands() {
    let workspace = Workspace::new();
    let deep = format!(
        "{{\"kind\":\"deploy\",\"attrs\":{{\"a\":{}{}}}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    workspace.write("deep.ndjson", format!("{GOOD_LINE}\n{deep}\n"));
    let diagnostics = check_rejected(&workspace, "deep.ndjson");
    check_line_diagnostic(&diagnostics[0], 2, &["nesting"]);
    assert_eq!(workspace.records(), 1);
}

// ---------------------------------------------------------------------------
// Empty files and directories
// ---------------------------------------------------------------------------

#[test]
fn empty_files_are_reported_or_hold_nothing_never_a_crash() {
    let workspace = Workspace::new();
    workspace.write("empty.ndjson", "");
    let (outcome, summary) = workspace.ingest("empty.ndjson");
    assert_eq!(outcome.code, 0, "an empty NDJSON file holds no records: {outcome:#?}");
    assert_eq!(summary["added"], 0);
    workspace.write("empty.sarif", "");
    let diagnostics = check_rejected(&workspace, "empty.sarif");
    check_line_diagnostic(&diagnostics[0], 1, &["empty"]);
    workspace.write("empty.json", "");
    let diagnostics = check_rejected(&workspace, "empty.json");
    assert!(diagnostics[0]["message"].as_str().unwrap().contains("not recognised"));
    assert_eq!(workspace.records(), 0);
}

#[test]
fn directory_with_a_symlink_loop_is_walked_once() {
    let workspace = Workspace::new();
    workspace.write("inputs/evidence.ndjson", format!("{GOOD_LINE}\n"));
    std::os::unix::fs::symlink("..", workspace.path("inputs/parent")).unwrap();
    std::os::unix::fs::symlink(".", workspace.path("inputs/itself")).unwrap();
    std::os::unix::fs::symlink("loop-b", workspace.path("inputs/loop-a")).unwrap();
    std::os::unix::fs::symlink("loop-a", workspace.path("inputs/loop-b")).unwrap();
    let (outcome, summary) = workspace.ingest("inputs");
    assert!(outcome.code == 0 || outcome.code == 1, "{outcome:#?}");
    assert_eq!(summary["files"], 1, "{summary:#}");
    assert_eq!(summary["added"], 1, "{summary:#}");
    assert_eq!(workspace.records(), 1);
}

// ---------------------------------------------------------------------------
// model --model
// ---------------------------------------------------------------------------

const SMALL_MODEL: &str = "---
meta:
  version: 9.9.9
---
Build and Deployment:
  Build:
    Defined build process:
      uuid: 00000000-0000-0000-0000-000000000001
      level: 1
      description: |
        A defined build process.
    Pinning of artifacts:
      uuid: 00000000-0000-0000-0000-000000000002
      level: 2
";

#[test]
fn the_small_model_is_valid() {
    let workspace = Workspace::new();
    workspace.write("small.yaml", SMALL_MODEL);
    let outcome = workspace.run(&["model", "--model", "small.yaml", "--format", "json"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    assert_eq!(outcome.json()["activities"], 2);
}

#[test]
fn yaml_alias_bomb_is_refused() {
    let workspace = Workspace::new();
    // A billion laughs inside an activity, where unknown fields are otherwise accepted.
    let mut text = String::from(
        "Dim:\n  Sub:\n    Act:\n      uuid: u1\n      level: 1\n      \
         x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for level in 1..12 {
        let aliases = vec![format!("*a{}", level - 1); 9].join(", ");
        text.push_str(&format!("      x{level}: &a{level} [{aliases}]\n"));
    }
    workspace.write("bomb.yaml", &text);
    check_model_refused(&workspace, "bomb.yaml", None, &["alias"]);
    // The same at the top level.
    let mut text = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..12 {
        let aliases = vec![format!("*a{}", level - 1); 9].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{aliases}]\n"));
    }
    workspace.write("top-bomb.yaml", &text);
    check_model_refused(&workspace, "top-bomb.yaml", None, &[]);
}

#[test]
fn deeply_nested_yaml_is_refused() {
    let workspace = Workspace::new();
    let prefix = "Dim:\n  Sub:\n    Act:\n      uuid: u1\n      level: 1\n      deep: ";
    workspace.write(
        "flow.yaml",
        format!("{prefix}{}{}\n", "[".repeat(100_000), "]".repeat(100_000)),
    );
    check_model_refused(&workspace, "flow.yaml", Some(6), &["nested"]);
    workspace.write(
        "flow-maps.yaml",
        format!("{prefix}{}1{}\n", "{a: ".repeat(100_000), "}".repeat(100_000)),
    );
    check_model_refused(&workspace, "flow-maps.yaml", Some(6), &["nested"]);
    let mut block = String::from(prefix);
    block.push('\n');
    for depth in 0..200 {
        block.push_str(&" ".repeat(8 + 2 * depth));
        block.push_str(&format!("k{depth}:\n"));
    }
    workspace.write("block.yaml", block);
    check_model_refused(&workspace, "block.yaml", None, &["nested"]);
}

#[test]
fn truncated_model_yaml_names_file_and_line() {
    let workspace = Workspace::new();
    // Cut inside the second activity, before its level.
    let cut = SMALL_MODEL.find("      level: 2").unwrap();
    workspace.write("truncated.yaml", &SMALL_MODEL[..cut]);
    check_model_refused(
        &workspace,
        "truncated.yaml",
        Some(12),
        &["Pinning of artifacts", "level"],
    );
    // Cut in the middle of a flow collection.
    workspace.write("open-flow.yaml", "Dim:\n  Sub:\n    Act: {uuid: u1, level: [1,\n");
    check_model_refused(&workspace, "open-flow.yaml", None, &[]);
    // Cut in the middle of a quoted scalar.
    workspace.write("open-quote.yaml", "Dim:\n  Sub:\n    Act:\n      uuid: \"u1\n");
    check_model_refused(&workspace, "open-quote.yaml", None, &[]);
}

#[test]
fn empty_and_binary_model_files_are_refused() {
    let workspace = Workspace::new();
    workspace.write("empty.yaml", "");
    check_model_refused(&workspace, "empty.yaml", None, &["no DSOMM activities"]);
    workspace.write("blank.yaml", "\n\n   \n");
    check_model_refused(&workspace, "blank.yaml", None, &["no DSOMM activities"]);
    workspace.write("binary.yaml", b"\x00\xff\xfe\x00");
    check_model_refused(&workspace, "binary.yaml", Some(1), &["UTF-8"]);
    check_model_refused(&workspace, "missing.yaml", None, &["cannot read"]);
}

// ---------------------------------------------------------------------------
// Output
// ---------------------------------------------------------------------------

/// Run with stdout connected to a pipe whose reading end is already closed (as in
/// `dsomm-audit model | head -0`): the write fails, and the binary must not panic.
fn run_into_closed_pipe(workspace: &Workspace, args: &[&str]) -> Outcome {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let output = std::process::Command::new(assert_cmd::cargo::cargo_bin("dsomm-audit"))
        .current_dir(workspace.dir.path())
        .env_remove("DSOMM_MODEL")
        .args(args)
        .stdout(writer)
        .output()
        .unwrap();
    Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::new(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

#[test]
fn output_into_a_closed_pipe_is_not_a_panic() {
    let workspace = Workspace::new();
    workspace.write("good.ndjson", format!("{GOOD_LINE}\n"));
    let mut panicked = Vec::new();
    for args in [
        &["model", "--format", "json"][..],
        &["ingest", "--format", "json", "good.ndjson"][..],
        &["verify", "--format", "json"][..],
    ] {
        let outcome = run_into_closed_pipe(&workspace, args);
        if outcome.code == 101 || outcome.stderr.contains("panicked") {
            let first_line = outcome.stderr.lines().find(|line| !line.is_empty()).unwrap_or_default();
            panicked.push(format!(
                "`dsomm-audit {}` exited {}: {first_line}",
                args.join(" "),
                outcome.code
            ));
        }
    }
    assert!(panicked.is_empty(), "{}", panicked.join("\n"));
}

/// A directory of many small files (`DSOMM_MANY_FILES`, default 100,000) that are
/// not evidence, with one that is: each is reported by name, the evidence lands,
/// and the run finishes in bounded time.
#[test]
fn a_directory_of_many_small_files_is_walked_and_reported_file_by_file() {
    let files = common::env_number("DSOMM_MANY_FILES", 100_000);
    let workspace = Workspace::new();
    let inputs = workspace.path("inputs");
    std::fs::create_dir_all(&inputs).unwrap();
    for index in 0..files {
        std::fs::write(inputs.join(format!("note-{index:06}.txt")), b"not evidence\n").unwrap();
    }
    workspace.write(
        "inputs/zz-evidence.ndjson",
        "{\"kind\":\"deploy\",\"occurred_at\":\"2025-03-02T10:00:00Z\",\"subject\":{\"repo\":\"acme/api\"},\"attrs\":{\"state\":\"success\"}}\n",
    );
    let started = std::time::Instant::now();
    let outcome = workspace.run(&["ingest", "--format", "json", "inputs"]);
    let report = outcome.json();
    assert_eq!(
        outcome.code,
        1,
        "unrecognised files are rejections: {}",
        outcome.stderr.chars().take(500).collect::<String>()
    );
    // `files` counts the inputs read as evidence; the others are rejections, each named.
    assert_eq!(
        report["files"],
        1,
        "{}",
        outcome.stdout.chars().take(500).collect::<String>()
    );
    assert_eq!(report["diagnostics"].as_array().map(Vec::len), Some(files as usize));
    assert_eq!(report["added"], 1);
    assert_eq!(report["rejected"].as_u64(), Some(files));
    let first = &report["diagnostics"][0];
    assert!(first["file"].as_str().unwrap().ends_with("note-000000.txt"), "{first}");
    assert!(
        first["message"].as_str().unwrap().contains("format not recognised"),
        "{first}"
    );
    println!(
        "{files} small files walked and reported in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Run the binary in the workspace with a 60-second timeout: a regression that
/// blocks on a FIFO or reads `/dev/zero` forever fails instead of hanging.
fn run_bounded(workspace: &Workspace, args: &[&str]) -> Outcome {
    let outcome = common::run_in_within(workspace.dir.path(), args, Duration::from_secs(60));
    check_no_panic(&outcome);
    outcome
}

#[test]
fn fifos_and_dev_zero_are_refused_by_name_never_read() {
    let workspace = Workspace::new();
    let made = std::process::Command::new("mkfifo")
        .arg(workspace.path("pipe.yml"))
        .status()
        .unwrap();
    assert!(made.success());
    std::os::unix::fs::symlink("/dev/zero", workspace.path("zero.yml")).unwrap();
    std::fs::create_dir_all(workspace.path("repo")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", workspace.path("repo/z.yml")).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(workspace.path("repo/pipe.yml"))
        .status()
        .unwrap();
    assert!(made.success());
    workspace.write(
        "repo/.gitlab-ci.yml",
        "include:\n  - local: z.yml\n  - local: pipe.yml\njob:\n  script: [gitleaks detect]\n",
    );

    // Named on the command line: an error naming the file, not a hang.
    for name in ["pipe.yml", "zero.yml", "/dev/zero"] {
        let outcome = run_bounded(&workspace, &["lint-pipelines", name]);
        assert_ne!(outcome.code, -1, "{name}: killed by the timeout: {outcome:#?}");
        assert!(
            outcome.stderr.contains(name) && outcome.stderr.contains("not a regular file"),
            "{name}: {outcome:#?}"
        );
    }
    // As GitLab local includes (a link to /dev/zero, a FIFO): warnings, the job still linted.
    let outcome = run_bounded(&workspace, &["lint-pipelines", "--format", "json", "repo"]);
    assert_ne!(outcome.code, -1, "killed by the timeout: {outcome:#?}");
    let report = outcome.json();
    assert_eq!(report["steps"].as_array().unwrap().len(), 1, "{report:#}");
    let text = &outcome.stderr;
    assert!(
        text.contains("z.yml") && text.contains("outside the repository"),
        "{outcome:#?}"
    );
    assert!(
        text.contains("pipe.yml") && text.contains("not a regular file"),
        "{outcome:#?}"
    );

    // `ingest` of the same: rejected by name, and in a directory not read.
    for name in ["pipe.yml", "zero.yml"] {
        let outcome = run_bounded(&workspace, &["ingest", "--format", "json", name]);
        assert_eq!(outcome.code, 1, "{name}: {outcome:#?}");
        let summary = outcome.json();
        assert!(
            summary.to_string().contains("not a regular file"),
            "{name}: {summary:#}"
        );
        let outcome = run_bounded(
            &workspace,
            &["ingest", "--format", "json", "--source", "evidence-ndjson", name],
        );
        assert_eq!(outcome.code, 1, "{name} --source evidence-ndjson: {outcome:#?}");
    }
    let outcome = run_bounded(&workspace, &["ingest", "--format", "json", "repo"]);
    assert_ne!(outcome.code, -1, "killed by the timeout: {outcome:#?}");
}

/// `[limits] max_depth` is capped where every parser survives input nested
/// just inside it (a debug build overflows YAML at 500 levels): at the cap,
/// YAML, front matter, NDJSON and iCalendar nested to it are read or refused,
/// never a stack overflow; above it, the config is refused.
#[test]
fn max_depth_at_its_ceiling_never_overflows_the_stack() {
    let workspace = Workspace::new();
    let config = std::fs::read_to_string(workspace.path("dsomm-audit.toml")).unwrap();
    let raised = |depth: usize| config.replace("max_depth = 64", &format!("max_depth = {depth}"));
    workspace.write("dsomm-audit.toml", raised(257));
    let refused = workspace.run(&["verify"]);
    assert_eq!(refused.code, 2, "{refused:#?}");
    assert!(refused.stderr.contains("max_depth must be at most 256"), "{refused:#?}");
    workspace.write("dsomm-audit.toml", raised(256));
    let deep = 253;
    let (open, close) = ("[".repeat(deep), "]".repeat(deep));
    let inputs: [(&str, &str, String); 5] = [
        (
            "kubernetes",
            "deep.yaml",
            format!("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: p}}\nx: {open}{close}\n"),
        ),
        (
            "backstage",
            "deep-catalog.yaml",
            format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {{name: p}}\nx: {open}{close}\n"),
        ),
        (
            "threat-model",
            "deep.md",
            format!("---\nservice: api\ndate: 2025-01-10\nx: {open}{close}\n---\n# t\n"),
        ),
        (
            "evidence-ndjson",
            "deep.ndjson",
            format!("{{\"kind\":\"deploy\",\"attrs\":{{\"x\":{open}{close}}}}}\n"),
        ),
        (
            "ics",
            "deep.ics",
            format!(
                "{}{}",
                "BEGIN:VCALENDAR\r\n".repeat(deep),
                "END:VCALENDAR\r\n".repeat(deep)
            ),
        ),
    ];
    for (source, file, text) in inputs {
        workspace.write(file, text);
        let outcome = workspace.run(&["ingest", "--format", "json", "--source", source, file]);
        check_no_panic(&outcome);
        assert!(matches!(outcome.code, 0 | 1), "{source}: {outcome:#?}");
    }
}

#[test]
fn a_fifo_inside_a_walked_directory_is_skipped_with_a_warning_naming_it() {
    let workspace = Workspace::new();
    std::fs::create_dir_all(workspace.path("repo/.github/workflows")).unwrap();
    for fifo in ["repo/evidence.ndjson", "repo/.github/workflows/ci.yml"] {
        let made = std::process::Command::new("mkfifo")
            .arg(workspace.path(fifo))
            .status()
            .unwrap();
        assert!(made.success());
    }
    workspace.write("repo/good.ndjson", format!("{GOOD_LINE}\n"));

    let outcome = run_bounded(&workspace, &["ingest", "--format", "json", "repo"]);
    assert_eq!(outcome.code, 0, "a warning does not change the status: {outcome:#?}");
    let summary = outcome.json();
    assert_eq!(summary["added"], 1, "{summary:#}");
    assert_eq!(summary["rejected"], 0, "{summary:#}");
    let diagnostics = summary["diagnostics"].as_array().unwrap();
    for fifo in ["repo/evidence.ndjson", "repo/.github/workflows/ci.yml"] {
        let found = diagnostics
            .iter()
            .find(|diagnostic| diagnostic["file"] == fifo)
            .unwrap_or_else(|| panic!("{fifo} not named: {summary:#}"));
        assert_eq!(found["message"], "not a regular file (a FIFO): skipped", "{found}");
        assert_eq!(found["warning"], true, "{found}");
    }
    let table = run_bounded(&workspace, &["ingest", "repo"]);
    assert!(
        table
            .stderr
            .contains("note: repo/evidence.ndjson: warning: not a regular file (a FIFO): skipped"),
        "{table:#?}"
    );

    let outcome = run_bounded(&workspace, &["lint-pipelines", "repo"]);
    assert!(
        outcome
            .stderr
            .contains("repo/.github/workflows/ci.yml: warning: not a regular file (a FIFO): skipped"),
        "{outcome:#?}"
    );
    let outcome = run_bounded(&workspace, &["suppressions", "repo"]);
    assert!(
        outcome
            .stderr
            .contains("warning: repo/evidence.ndjson: not a regular file (a FIFO): skipped"),
        "{outcome:#?}"
    );
}

#[test]
fn names_differing_only_in_bytes_that_are_not_utf8_are_two_origins() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let workspace = Workspace::new();
    std::fs::create_dir_all(workspace.path("lossy")).unwrap();
    for name in [&b"a\xff.ndjson"[..], &b"a\xfe.ndjson"[..]] {
        let path = workspace.path("lossy").join(OsStr::from_bytes(name));
        std::fs::write(path, format!("{GOOD_LINE}\n")).unwrap();
    }
    let outcome = run_bounded(&workspace, &["ingest", "--format", "json", "lossy"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let summary = outcome.json();
    assert_eq!(summary["added"], 2, "one record per file: {summary:#}");
    assert_eq!(summary["duplicates"], 0, "{summary:#}");
    let database = rusqlite::Connection::open(workspace.path("ledger.db")).unwrap();
    let mut statement = database
        .prepare("SELECT origin FROM source_file ORDER BY origin")
        .unwrap();
    let origins: Vec<String> = statement
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(origins.len(), 2, "{origins:?}");
    assert!(origins[0].ends_with("/lossy/a\\xFE.ndjson"), "{origins:?}");
    assert!(origins[1].ends_with("/lossy/a\\xFF.ndjson"), "{origins:?}");
    // Ingested again: the same two origins, so only duplicates.
    let again = run_bounded(&workspace, &["ingest", "--format", "json", "lossy"]).json();
    assert_eq!(
        (again["added"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(2)),
        "{again:#}"
    );
}

#[test]
fn a_file_name_with_a_newline_cannot_forge_lines_of_the_table_output() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let workspace = Workspace::new();
    std::fs::create_dir_all(workspace.path("names")).unwrap();
    let name = &b"x.ndjson: fine\nrejected: etc-passwd:1: forged\xff.ndjson"[..];
    std::fs::write(workspace.path("names").join(OsStr::from_bytes(name)), "{not json\n").unwrap();

    let outcome = run_bounded(&workspace, &["ingest", "names"]);
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    let rejected: Vec<&str> = outcome
        .stderr
        .lines()
        .filter(|line| line.starts_with("rejected:"))
        .collect();
    assert_eq!(rejected.len(), 1, "one diagnostic, one line: {outcome:#?}");
    assert!(
        rejected[0].starts_with("rejected: names/x.ndjson: fine\\nrejected: etc-passwd:1: forged\\xFF.ndjson:1:"),
        "{outcome:#?}"
    );
    // The JSON summary keeps the name whole (its newline escaped by JSON).
    let summary = run_bounded(&workspace, &["ingest", "--format", "json", "names"]).json();
    assert_eq!(
        summary["diagnostics"][0]["file"], "names/x.ndjson: fine\nrejected: etc-passwd:1: forged\\xFF.ndjson",
        "{summary:#}"
    );
}

/// The `[limits]` entry and YAML limits reach the collectors from the config:
/// an inventory over `max_entries` lands up to it and the rest is refused
/// with a diagnostic; a YAML file over `max_yaml_documents` likewise.
#[test]
fn entry_and_document_limits_are_set_in_the_config() {
    let workspace = Workspace::new();
    let config = std::fs::read_to_string(workspace.path("dsomm-audit.toml")).unwrap();
    workspace.write(
        "dsomm-audit.toml",
        config
            .replace("max_entries = 100000", "max_entries = 3")
            .replace("max_yaml_documents = 100000", "max_yaml_documents = 2"),
    );
    let rows: String = (0..5)
        .map(|index| {
            format!(
                "svc{index},service,production,team-a,production,2025-01-0{}\n",
                index + 1
            )
        })
        .collect();
    workspace.write(
        "inventory.csv",
        format!("name,type,environment,owner,lifecycle,last_security_review\n{rows}"),
    );
    let outcome = workspace.run(&[
        "ingest",
        "--format",
        "json",
        "--source",
        "inventory",
        "--occurred-at",
        "2025-02-01",
        "inventory.csv",
    ]);
    check_no_panic(&outcome);
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    let summary = outcome.json();
    assert_eq!(summary["added"], 1, "one snapshot: {summary:#}");
    let message = summary["diagnostics"][0]["message"].as_str().unwrap();
    assert!(message.contains("limit of 3"), "{message}");
    assert_eq!(
        summary["diagnostics"][0]["line"], 5,
        "the first row not read: {summary:#}"
    );
    let documents: String = (0..3)
        .map(|index| format!("---\napiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: p{index}}}\nspec:\n  validationFailureAction: Enforce\n  rules: [{{name: r, validate: {{message: m}}}}]\n"))
        .collect();
    workspace.write("policies.yaml", documents);
    let outcome = workspace.run(&["ingest", "--format", "json", "--source", "kubernetes", "policies.yaml"]);
    check_no_panic(&outcome);
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    assert_eq!(outcome.json()["added"], 2, "{:#}", outcome.json());
}
