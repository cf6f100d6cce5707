//! Crash trials: the real `dsomm-audit ingest --progress json` is killed with SIGKILL at a
//! seeded random moment, then the ledger must verify, keep every acknowledged record
//! unchanged, show no partial batch, and complete without duplicates when the same ingest
//! runs again. `DSOMM_CRASH_TRIALS` sets the number of trials (default 10),
//! `DSOMM_CRASH_SEED` the first seed and `DSOMM_CRASH_LINES` the lines per input file
//! (default 7,000: six files, 42,000 lines). See docs/reliability.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::{Rng, Workspace, env_number};

/// Input files per run: every file ends its own batch, so a run commits `FILES` batches.
const FILES: usize = 6;
/// Lines per file by default (at most the 20,000 records of a batch, so a file is one batch).
const LINES_PER_FILE: u64 = 7_000;
/// Longest random delay before the kill.
const MAX_DELAY_MS: u64 = 1_500;

/// `FILES` evidence-ndjson files of distinct lines, several kinds, every fifth line untimed.
fn write_inputs(dir: &Path, lines_per_file: usize) -> Vec<PathBuf> {
    let kinds = ["deploy", "merge", "scan_report", "training_record"];
    (0..FILES)
        .map(|file| {
            let mut text = String::with_capacity(lines_per_file * 160);
            for line in 0..lines_per_file {
                let index = file * lines_per_file + line;
                let kind = kinds[index % kinds.len()];
                let time = if index.is_multiple_of(5) {
                    String::new()
                } else {
                    format!(
                        r#","occurred_at":"2025-{:02}-{:02}T{:02}:{:02}:{:02}Z""#,
                        1 + index % 12,
                        1 + index % 28,
                        index % 24,
                        index % 60,
                        (index / 60) % 60
                    )
                };
                text.push_str(&format!(
                    r#"{{"kind":"{kind}"{time},"subject":{{"repo":"acme/repo-{}"}},"attrs":{{"n":{index},"note":"crash trial record {index}"}}}}"#,
                    index % 13
                ));
                text.push('\n');
            }
            let path = dir.join(format!("input-{file}.ndjson"));
            std::fs::write(&path, text).unwrap();
            path
        })
        .collect()
}

fn ingest_args(inputs: &[PathBuf]) -> Vec<String> {
    let mut args: Vec<String> = ["ingest", "--progress", "json", "--format", "json"]
        .iter()
        .map(|arg| arg.to_string())
        .collect();
    args.extend(inputs.iter().map(|path| path.display().to_string()));
    args
}

/// `verify --format json` must pass.
fn verify_passes(workspace: &Workspace, when: &str) {
    let outcome = workspace.run(&["verify", "--format", "json"]);
    let report = outcome.json();
    assert!(
        outcome.code == 0 && report["ok"] == true,
        "verify must pass {when}: {report:#}"
    );
}

/// Leaf hashes in id order, the number of records and the latest checkpoint's size.
fn ledger_state(workspace: &Workspace) -> (Vec<Vec<u8>>, u64, u64) {
    let database = rusqlite::Connection::open(workspace.path("ledger.db")).unwrap();
    let mut statement = database
        .prepare("SELECT id, leaf_hash FROM evidence ORDER BY id")
        .unwrap();
    let mut leaves = Vec::new();
    let rows = statement
        .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, Vec<u8>>(1)?)))
        .unwrap();
    for (position, row) in rows.enumerate() {
        let (id, leaf) = row.unwrap();
        assert_eq!(id, position as i64, "ids must run from 0 without gaps");
        leaves.push(leaf);
    }
    let count: u64 = database
        .query_row("SELECT COUNT(*) FROM evidence", [], |row| row.get(0))
        .unwrap();
    let checkpoint: u64 = database
        .query_row("SELECT COALESCE(MAX(tree_size), 0) FROM checkpoint", [], |row| {
            row.get(0)
        })
        .unwrap();
    (leaves, count, checkpoint)
}

/// What one interrupted run reported before it died.
struct Interrupted {
    /// The highest acknowledged tree size (0 when no batch was acknowledged).
    acknowledged: u64,
    /// Committed lines seen.
    lines: usize,
    /// The process ended on its own before the kill.
    finished: bool,
}

/// Run the ingest and kill it with SIGKILL after `delay`, or right after the `after_lines`-th
/// committed line plus `delay`.
fn run_and_kill(workspace: &Workspace, inputs: &[PathBuf], after_lines: Option<usize>, delay: Duration) -> Interrupted {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dsomm-audit"))
        .current_dir(workspace.dir.path())
        .env_remove("DSOMM_MODEL")
        .args(ingest_args(inputs))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (sender, receiver) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let started = Instant::now();
    let mut deadline = after_lines.is_none().then(|| started + delay);
    let mut finished = false;
    loop {
        let wait = match deadline {
            Some(at) => at.saturating_duration_since(Instant::now()),
            None => Duration::from_secs(120),
        };
        if deadline.is_some() && wait.is_zero() {
            break;
        }
        match receiver.recv_timeout(wait) {
            Ok(line) => {
                lines.push(line);
                if deadline.is_none() && Some(lines.len()) >= after_lines {
                    deadline = Some(Instant::now() + delay);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                assert!(deadline.is_some(), "no committed line within 120 s");
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                finished = true;
                break;
            }
        }
    }
    // SIGKILL on Unix; an error only means the process has already exited.
    let _ = child.kill();
    let status = child.wait().unwrap();
    if finished {
        finished = status.success();
    }
    reader.join().unwrap();
    // Lines written before the kill are all acknowledgements (each follows a commit).
    lines.extend(receiver.try_iter());
    let mut acknowledged = 0;
    for line in &lines {
        let event: Value = serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
        assert_eq!(event["event"], "committed", "{line}");
        let tree_size = event["tree_size"].as_u64().unwrap();
        assert_eq!(event["highest_id"].as_u64(), Some(tree_size - 1), "{line}");
        assert!(tree_size >= acknowledged, "tree sizes must not decrease: {lines:?}");
        acknowledged = tree_size;
    }
    Interrupted {
        acknowledged,
        lines: lines.len(),
        finished,
    }
}

#[test]
fn sigkill_during_ingest_loses_nothing_acknowledged_and_resumes_without_duplicates() {
    let trials = env_number("DSOMM_CRASH_TRIALS", 10);
    let first_seed = env_number("DSOMM_CRASH_SEED", 1);
    let started = Instant::now();
    let inputs_dir = tempfile::tempdir().unwrap();
    let lines_per_file = env_number("DSOMM_CRASH_LINES", LINES_PER_FILE).clamp(1, 20_000);
    let total = FILES as u64 * lines_per_file;
    let inputs = write_inputs(inputs_dir.path(), lines_per_file as usize);
    let args = ingest_args(&inputs);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();

    // The reference: the same ingest, uninterrupted. Ids follow the input order and the
    // ingest time is not part of a leaf, so every resumed ledger must end with these leaves.
    let reference_workspace = Workspace::new();
    let outcome = reference_workspace.run(&args);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let (reference, count, checkpoint) = ledger_state(&reference_workspace);
    assert_eq!((count, checkpoint), (total, total));
    drop(reference_workspace);

    let (mut killed, mut killed_mid_run, mut finished_first) = (0u64, 0u64, 0u64);
    for trial in 0..trials {
        let seed = first_seed + trial;
        let mut rng = Rng(seed);
        let workspace = Workspace::new();
        let after_lines = (rng.below(2) == 1).then(|| 1 + rng.below(FILES as u64 - 1) as usize);
        let delay = match after_lines {
            Some(_) => Duration::from_millis(rng.below(300)),
            None => Duration::from_millis(rng.below(MAX_DELAY_MS + 1)),
        };
        let interrupted = run_and_kill(&workspace, &inputs, after_lines, delay);
        let context = format!(
            "trial {trial} (seed {seed}, after {after_lines:?} lines + {delay:?}): \
             {} lines, acknowledged {}",
            interrupted.lines, interrupted.acknowledged
        );
        if interrupted.finished {
            finished_first += 1;
        } else {
            killed += 1;
        }

        // After the kill: verify passes, no partial batch, acknowledged records intact.
        verify_passes(&workspace, &format!("after the kill, {context}"));
        let (leaves, count, checkpoint) = ledger_state(&workspace);
        assert_eq!(count, checkpoint, "a partial batch is visible, {context}");
        assert!(
            count >= interrupted.acknowledged,
            "acknowledged records were lost ({count} present), {context}"
        );
        assert_eq!(
            leaves[..],
            reference[..count as usize],
            "the records present differ from an uninterrupted ingest, {context}"
        );
        let acknowledged_leaves = leaves[..interrupted.acknowledged as usize].to_vec();
        if !interrupted.finished && count < total {
            killed_mid_run += 1;
        }

        // The same ingest again completes the input without duplicates.
        let outcome = workspace.run(&args);
        assert_eq!(outcome.code, 0, "resumed ingest, {context}: {outcome:#?}");
        let summary = outcome.json();
        assert_eq!(summary["added"], total - count, "{context}: {summary:#}");
        assert_eq!(summary["duplicates"], count, "{context}: {summary:#}");
        verify_passes(&workspace, &format!("after resuming, {context}"));
        let (leaves, count, checkpoint) = ledger_state(&workspace);
        assert_eq!(
            (count, checkpoint),
            (total, total),
            "records after resuming must equal the distinct input lines, {context}"
        );
        assert_eq!(
            leaves[..acknowledged_leaves.len()],
            acknowledged_leaves[..],
            "an acknowledged record changed, {context}"
        );
        assert!(
            leaves == reference,
            "the resumed ledger differs from an uninterrupted one, {context}"
        );
    }
    println!(
        "crash trials: {trials} ({total} input lines per run, seeds {first_seed}..{}), {killed} killed ({killed_mid_run} with the input \
         incomplete), {finished_first} finished before the kill; all passed in {:.1} s",
        first_seed + trials,
        started.elapsed().as_secs_f64()
    );
}
