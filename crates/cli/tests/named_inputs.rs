//! Files named outside `ingest` (claims, meta, model, config, keys, trust roots,
//! proofs, checkpoints, gate reports, `suppressions` paths), through the real
//! binary: a FIFO, a device or a file over the input's limit is refused with an
//! error naming the file and the problem, promptly (never a hang, never the
//! whole file read), and an error quotes at most a short prefix of an input.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

mod common;

use common::{Outcome, Workspace};

/// Run the binary in the workspace with a 60-second timeout: a regression that
/// blocks on a FIFO fails the test (exit -1) instead of hanging it.
fn run_bounded(workspace: &Workspace, args: &[&str]) -> Outcome {
    let outcome = common::run_in_within(workspace.dir.path(), args, Duration::from_secs(60));
    assert_ne!(outcome.code, -1, "killed by the timeout (a hang?): {args:?}");
    outcome
}

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status().unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

/// A sparse file of `size` bytes: no disk used, whatever the size.
fn sparse(path: &Path, size: u64) {
    std::fs::File::create(path).unwrap().set_len(size).unwrap();
}

/// Each command line, with `{}` standing for the hostile file; the file's limit.
const MIB: u64 = 1024 * 1024;
const CASES: &[(&[&str], u64)] = &[
    (&["assess", "--claims", "{}"], 32 * MIB),
    (&["assess", "--claims", "claims.yaml", "--meta", "{}"], 32 * MIB),
    (&["plan", "--claims", "{}"], 32 * MIB),
    (&["model", "--model", "{}"], 64 * MIB),
    (&["assess", "--model", "{}"], 64 * MIB),
    (&["--config", "{}", "verify"], MIB),
    (&["verify", "--public-key", "{}"], MIB),
    (&["verify", "--checkpoint", "{}"], 64 * MIB),
    (&["verify-proof", "{}", "--public-key", "ledger.pub"], 64 * MIB),
    (&["verify-consistency", "{}", "--public-key", "ledger.pub"], 64 * MIB),
    (&["ingest", "--public-key", "{}", "claims.yaml"], MIB),
    (&["ingest", "--trust-root", "{}", "claims.yaml"], MIB),
    (&["gate", "--fail-on", "high", "--sarif", "{}"], 256 * MIB),
];

fn with_file<'a>(args: &[&'a str], file: &'a str) -> Vec<&'a str> {
    args.iter().map(|arg| if *arg == "{}" { file } else { arg }).collect()
}

fn check_refused(workspace: &Workspace, args: &[&str], file: &str, words: &[&str]) {
    let args = with_file(args, file);
    let started = Instant::now();
    let outcome = run_bounded(workspace, &args);
    let elapsed = started.elapsed();
    assert_ne!(outcome.code, 0, "{args:?}: {outcome:#?}");
    let said = format!("{}{}", outcome.stderr, outcome.stdout);
    assert!(said.contains(file), "{args:?}: the file is not named: {outcome:#?}");
    for word in words {
        assert!(said.contains(word), "{args:?}: `{word}` missing: {outcome:#?}");
    }
    assert!(said.len() < 4096, "{args:?}: {} bytes of messages", said.len());
    assert!(elapsed < Duration::from_secs(30), "{args:?}: {elapsed:?}");
}

#[test]
fn a_fifo_or_dev_zero_named_as_any_input_is_refused_by_name_without_reading() {
    let workspace = Workspace::new();
    workspace.write("claims.yaml", "{}\n");
    mkfifo(&workspace.path("pipe"));
    for (file, kind) in [("pipe", "a FIFO"), ("/dev/zero", "a character device")] {
        let refused = format!("not a regular file ({kind}): refused");
        for (args, _) in CASES {
            check_refused(&workspace, args, file, &[&refused]);
        }
        // `suppressions`: an error for that file (exit 2), not a warning.
        let outcome = run_bounded(&workspace, &["suppressions", file]);
        assert_eq!(outcome.code, 2, "{outcome:#?}");
        assert!(
            outcome
                .stderr
                .contains(&format!("error: cannot read {file}: {refused}")),
            "{outcome:#?}"
        );
    }
}

#[test]
fn a_file_one_byte_over_its_limit_is_refused_before_it_is_read() {
    let workspace = Workspace::new();
    workspace.write("claims.yaml", "{}\n");
    for (args, limit) in CASES {
        let file = "over-limit";
        sparse(&workspace.path(file), limit + 1);
        check_refused(
            &workspace,
            args,
            file,
            &[
                &format!("{} bytes exceeds", limit + 1),
                &format!("limit of {limit} bytes"),
            ],
        );
    }
    // A sparse 1 GiB claims file: refused at once, not read for 20 s into 1 GB of memory.
    sparse(&workspace.path("huge-claims.yaml"), 1024 * MIB);
    check_refused(
        &workspace,
        &["assess", "--claims", "{}"],
        "huge-claims.yaml",
        &["exceeds the claims file limit of 33554432 bytes"],
    );
}

#[test]
fn a_bad_verifier_key_is_quoted_by_a_short_prefix_only() {
    let workspace = Workspace::new();
    // Under the key limit, so read, but not a key: the message quotes 80 characters.
    workspace.write("not-a-key", "a".repeat(900_000));
    let outcome = run_bounded(&workspace, &["verify", "--public-key", "not-a-key"]);
    assert_eq!(outcome.code, 2, "{outcome:#?}");
    let quoted = format!("bad verifier key `{}...`", "a".repeat(80));
    assert!(outcome.stderr.contains(&quoted), "{outcome:#?}");
    assert!(outcome.stderr.len() < 1024, "{} bytes on stderr", outcome.stderr.len());
    // A key given as text with a newline in it stays on one line.
    let outcome = run_bounded(&workspace, &["verify", "--public-key", "bad\nerror: forged"]);
    assert_eq!(outcome.code, 2, "{outcome:#?}");
    assert!(
        outcome.stderr.contains("bad verifier key `bad\\nerror: forged`"),
        "{outcome:#?}"
    );
    assert!(
        !outcome.stderr.lines().any(|line| line.starts_with("error: forged")),
        "{outcome:#?}"
    );
}
