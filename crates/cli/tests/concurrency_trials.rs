//! Concurrency trials: in one initialised workspace, three `ingest` processes and two
//! `gate` runs write to the same ledger at once while a reader loops `verify --format json`,
//! `assess --format json` and `override list --format json`. Every writer must finish (waiting on the busy
//! database, not failing) within a bounded time with its expected exit code; afterwards no
//! record is lost or duplicated, `verify` passes, and the checkpoints are strictly
//! increasing with the latest covering every record. Every concurrent `verify` must pass.
//! `DSOMM_CONCURRENCY_ROUNDS` sets the number of rounds (default 3) and
//! `DSOMM_CONCURRENCY_LINES` the lines of each of the two main input files (default 15,000).
//! See docs/reliability.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::{TRIVY_CRITICAL, Workspace, env_number};

/// Longest time any writer may take, from the moment all were started.
const WRITER_LIMIT: Duration = Duration::from_secs(120);

/// One deterministic evidence-ndjson line for `index` (every fifth line untimed).
fn line(index: usize) -> String {
    let kinds = ["deploy", "merge", "training_record"];
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
    format!(
        r#"{{"kind":"{kind}"{time},"subject":{{"repo":"acme/repo-{}"}},"attrs":{{"n":{index},"note":"concurrency trial record {index}"}}}}"#,
        index % 13
    )
}

/// The inputs of a round.
struct Inputs {
    first: String,
    second: String,
    overlap: String,
    /// Lines of each of `first` and `second`.
    lines: usize,
    /// Lines of `overlap`.
    overlap_lines: usize,
    /// Distinct line texts over the three files.
    distinct_texts: usize,
}

/// `first` holds lines 0..n, `second` n..2n, `overlap` n/5 lines copied from each of the
/// other two plus n/15 lines of its own.
fn write_inputs(dir: &Path, lines: usize) -> Inputs {
    let write = |name: &str, indices: &mut dyn Iterator<Item = usize>| {
        let mut text = String::new();
        for index in indices {
            text.push_str(&line(index));
            text.push('\n');
        }
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    let first = write("first.ndjson", &mut (0..lines));
    let second = write("second.ndjson", &mut (lines..2 * lines));
    let copied = lines / 5;
    let own = (lines / 15).max(1);
    let mut overlap_indices = (0..copied)
        .map(|k| k * 5)
        .chain((0..copied).map(|k| lines + k * 5 + 2))
        .chain(2 * lines..2 * lines + own);
    let overlap = write("overlap.ndjson", &mut overlap_indices);
    Inputs {
        first,
        second,
        overlap,
        lines,
        overlap_lines: 2 * copied + own,
        distinct_texts: 2 * lines + own,
    }
}

fn spawn(workspace: &Workspace, args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dsomm-audit"))
        .current_dir(workspace.dir.path())
        .env_remove("DSOMM_MODEL")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// What one writer did.
struct Finished {
    name: &'static str,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Wait for every writer, killing any still running `WRITER_LIMIT` after `started`.
fn wait_all(writers: Vec<(&'static str, Child)>, started: Instant) -> Vec<Finished> {
    let mut pending: Vec<(&'static str, Child, Option<Duration>)> =
        writers.into_iter().map(|(name, child)| (name, child, None)).collect();
    // Drain the pipes on threads so that no writer blocks on a full pipe.
    let mut drains = Vec::new();
    for (_, child, _) in &mut pending {
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        drains.push(std::thread::spawn(move || {
            let (mut out, mut err) = (String::new(), String::new());
            let errors = std::thread::spawn(move || {
                std::io::Read::read_to_string(&mut stderr, &mut err).unwrap();
                err
            });
            std::io::Read::read_to_string(&mut stdout, &mut out).unwrap();
            (out, errors.join().unwrap())
        }));
    }
    let mut codes = vec![None; pending.len()];
    loop {
        let mut running = 0;
        for (position, (_, child, took)) in pending.iter_mut().enumerate() {
            if took.is_some() {
                continue;
            }
            match child.try_wait().unwrap() {
                Some(status) => {
                    *took = Some(started.elapsed());
                    codes[position] = status.code();
                }
                None => running += 1,
            }
        }
        if running == 0 {
            break;
        }
        if started.elapsed() > WRITER_LIMIT {
            for (_, child, took) in &mut pending {
                if took.is_none() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
            let late: Vec<&str> = pending
                .iter()
                .filter(|(_, _, took)| took.is_none())
                .map(|(name, _, _)| *name)
                .collect();
            panic!("writers still running after {WRITER_LIMIT:?}: {late:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    pending
        .into_iter()
        .zip(drains)
        .zip(codes)
        .map(|(((name, _, took), drain), code)| {
            let (stdout, stderr) = drain.join().unwrap();
            Finished {
                name,
                code,
                stdout,
                stderr,
                took: took.unwrap(),
            }
        })
        .collect()
}

/// What the reader saw while the writers ran.
#[derive(Default)]
struct Reads {
    verifies: u64,
    /// Record counts reported by passing verifies, in order.
    sizes: Vec<u64>,
    overrides: u64,
    /// Concurrent `assess` runs.
    assessments: u64,
    /// Concurrent verifies that reported a failure (see the note in the test).
    verify_failures: Vec<String>,
    failures: Vec<String>,
}

/// Loop `verify --format json`, `assess --format json` and `override list --format json` until `done`.
fn read_until(dir: std::path::PathBuf, done: Arc<AtomicBool>) -> Reads {
    let mut reads = Reads::default();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_dsomm-audit"))
            .current_dir(&dir)
            .env_remove("DSOMM_MODEL")
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    while !done.load(Ordering::SeqCst) {
        let output = run(&["verify", "--format", "json"]);
        reads.verifies += 1;
        let stdout = String::from_utf8_lossy(&output.stdout);
        match serde_json::from_str::<Value>(&stdout) {
            Ok(report) if output.status.code() == Some(0) && report["ok"] == true => {
                reads.sizes.push(report["records"].as_u64().unwrap());
            }
            Ok(report) if output.status.code() == Some(1) && report["ok"] == false => {
                let first = &report["failures"][0];
                reads
                    .verify_failures
                    .push(format!("{} {}: {}", first["what"], first["id"], first["message"]));
            }
            _ => reads.failures.push(format!(
                "verify exited {:?}: {stdout} {}",
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            )),
        }
        // The assessment reads while the writers write: it must complete from one
        // consistent view, never fail on a busy database.
        let output = run(&["assess", "--format", "json"]);
        reads.assessments += 1;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let assessed = serde_json::from_str::<Value>(&stdout)
            .ok()
            .is_some_and(|value| value["teams"].as_array().is_some_and(|teams| !teams.is_empty()));
        if output.status.code() != Some(0) || !assessed {
            reads.failures.push(format!(
                "assess exited {:?}: {} {}",
                output.status.code(),
                stdout.chars().take(300).collect::<String>(),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let output = run(&["override", "list", "--format", "json"]);
        reads.overrides += 1;
        let stdout = String::from_utf8_lossy(&output.stdout);
        let listed = serde_json::from_str::<Value>(&stdout)
            .ok()
            .is_some_and(|value| value["overrides"].is_array());
        if output.status.code() != Some(0) || !listed {
            reads.failures.push(format!(
                "override list exited {:?}: {stdout} {}",
                output.status.code(),
                String::from_utf8_lossy(&output.stderr)
            ));
        }
    }
    reads
}

fn count(database: &rusqlite::Connection, sql: &str) -> u64 {
    database.query_row(sql, [], |row| row.get(0)).unwrap()
}

#[test]
fn concurrent_ingests_and_gates_lose_nothing_duplicate_nothing_and_verify() {
    let rounds = env_number("DSOMM_CONCURRENCY_ROUNDS", 3);
    let lines = env_number("DSOMM_CONCURRENCY_LINES", 15_000).clamp(15, 20_000) as usize;
    let inputs_dir = tempfile::tempdir().unwrap();
    let inputs = write_inputs(inputs_dir.path(), lines);
    let started_all = Instant::now();

    for round in 0..rounds {
        let workspace = Workspace::new();
        workspace.write("trivy.json", TRIVY_CRITICAL);
        let done = Arc::new(AtomicBool::new(false));
        let reader = {
            let (dir, done) = (workspace.dir.path().to_path_buf(), Arc::clone(&done));
            std::thread::spawn(move || read_until(dir, done))
        };

        let ingest = ["ingest", "--progress", "json", "--format", "json"];
        let gate = [
            "gate",
            "--trivy",
            "trivy.json",
            "--fail-on",
            "high",
            "--repo",
            "acme/api",
            "--format",
            "json",
        ];
        let started = Instant::now();
        // The third ingest also ingests the first file again (the same path and bytes):
        // whichever process comes second must count all of it as duplicates.
        let writers = vec![
            (
                "ingest first",
                spawn(&workspace, &[&ingest[..], &[&inputs.first]].concat()),
            ),
            (
                "ingest second",
                spawn(&workspace, &[&ingest[..], &[&inputs.second]].concat()),
            ),
            (
                "ingest overlap+first",
                spawn(&workspace, &[&ingest[..], &[&inputs.overlap, &inputs.first]].concat()),
            ),
            ("gate 1", spawn(&workspace, &gate)),
            ("gate 2", spawn(&workspace, &gate)),
        ];
        let finished = wait_all(writers, started);
        let writers_took = started.elapsed();
        done.store(true, Ordering::SeqCst);
        let reads = reader.join().unwrap();
        let context = format!("round {round}");

        let (mut added, mut duplicates, mut batches) = (0u64, 0u64, 0u64);
        let mut timings = Vec::new();
        for writer in &finished {
            let name = writer.name;
            assert!(
                !writer.stderr.contains("panicked"),
                "{context}: {name} panicked: {}",
                writer.stderr
            );
            timings.push(format!("{name} {:.1} s", writer.took.as_secs_f64()));
            let report: Value = serde_json::from_str(&writer.stdout).unwrap_or_else(|error| {
                panic!(
                    "{context}: {name} stdout is not JSON ({error}): {} {}",
                    writer.stdout, writer.stderr
                )
            });
            if name.starts_with("ingest") {
                assert_eq!(writer.code, Some(0), "{context}: {name}: {}", writer.stderr);
                added += report["added"].as_u64().unwrap();
                duplicates += report["duplicates"].as_u64().unwrap();
                assert_eq!(report["rejected"], 0, "{context}: {name}: {report:#}");
                for progress in writer.stderr.lines() {
                    let event: Value = serde_json::from_str(progress)
                        .unwrap_or_else(|error| panic!("{context}: {name}: not JSON ({error}): {progress}"));
                    assert_eq!(event["event"], "committed", "{context}: {name}: {progress}");
                    if event["added"].as_u64().unwrap() > 0 {
                        batches += 1;
                    }
                }
            } else {
                assert_eq!(writer.code, Some(1), "{context}: {name}: {}", writer.stderr);
                assert_eq!(report["decision"]["decision"], "block", "{context}: {name}: {report:#}");
                batches += 1;
            }
        }

        // Every record of the three files is present once; the first file's second
        // ingest added nothing. The same line in another file is another record (its
        // source is part of its content), so the file records are 2n + the overlap's lines.
        let file_records = (2 * inputs.lines + inputs.overlap_lines) as u64;
        assert_eq!(added, file_records, "{context}: records added by the ingests");
        assert_eq!(
            duplicates, inputs.lines as u64,
            "{context}: duplicates counted by the ingests"
        );
        let database = rusqlite::Connection::open(workspace.path("ledger.db")).unwrap();
        let from_files = "FROM evidence JOIN source_file ON source_file.id = evidence.source_id \
                          WHERE source_file.collector = 'evidence-ndjson'";
        assert_eq!(
            count(&database, &format!("SELECT COUNT(*) {from_files}")),
            file_records,
            "{context}"
        );
        assert_eq!(
            count(&database, &format!("SELECT COUNT(DISTINCT attrs) {from_files}")),
            inputs.distinct_texts as u64,
            "{context}: distinct line texts"
        );
        assert_eq!(
            count(
                &database,
                &format!(
                    "SELECT COUNT(*) FROM (SELECT 1 {from_files} GROUP BY source_id, source_line HAVING COUNT(*) > 1)"
                )
            ),
            0,
            "{context}: an input line was stored twice"
        );
        for (path, expected) in [
            (&inputs.first, inputs.lines),
            (&inputs.second, inputs.lines),
            (&inputs.overlap, inputs.overlap_lines),
        ] {
            let stored: u64 = database
                .query_row(
                    &format!("SELECT COUNT(*) {from_files} AND source_file.origin = ?1"),
                    [path],
                    |row| row.get(0),
                )
                .unwrap();
            assert_eq!(stored, expected as u64, "{context}: records of {path}");
        }
        let kind = |kind: &str| {
            count(
                &database,
                &format!("SELECT COUNT(*) FROM evidence WHERE kind = '{kind}'"),
            )
        };
        assert_eq!(kind("gate_decision"), 2, "{context}");
        // The two gates read the same report: its scan record is stored once.
        assert_eq!(kind("scan_report"), 1, "{context}");
        let total = count(&database, "SELECT COUNT(*) FROM evidence");
        assert_eq!(total, file_records + 3, "{context}: records in the ledger");

        // Checkpoints: one per batch that added records, strictly increasing sizes and
        // non-decreasing times in commit order, the latest covering every record.
        let mut statement = database
            .prepare("SELECT tree_size, created_at FROM checkpoint ORDER BY rowid")
            .unwrap();
        let checkpoints: Vec<(u64, String)> = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(checkpoints.len() as u64, batches, "{context}: {checkpoints:?}");
        for pair in checkpoints.windows(2) {
            assert!(pair[0].0 < pair[1].0, "{context}: checkpoint sizes: {checkpoints:?}");
            assert!(pair[0].1 <= pair[1].1, "{context}: checkpoint times: {checkpoints:?}");
        }
        assert_eq!(checkpoints.last().map(|(size, _)| *size), Some(total), "{context}");
        drop(statement);
        drop(database);

        // `verify` recomputes the root at every checkpoint size from the leaves, so each
        // checkpoint is consistent with every earlier one.
        let outcome = workspace.run(&["verify", "--format", "json"]);
        let report = outcome.json();
        assert!(
            outcome.code == 0 && report["ok"] == true,
            "{context}: verify: {report:#}"
        );
        assert_eq!(report["records"], total, "{context}");
        assert_eq!(report["checkpoints"], batches, "{context}");

        // And explicitly: a consistency proof (RFC 6962 section 2.1.2) between each
        // checkpoint and the next, made by the binary and checked offline.
        let public_key = workspace.path("ledger.pub");
        for pair in checkpoints.windows(2) {
            let proof = workspace.run(&["prove-consistency", &pair[0].0.to_string(), &pair[1].0.to_string()]);
            assert_eq!(proof.code, 0, "{context}: {proof:#?}");
            let file = workspace.path(&format!("consistency-{}.json", pair[1].0));
            std::fs::write(&file, &proof.stdout).unwrap();
            let checked = workspace.run(&[
                "verify-consistency",
                file.to_str().unwrap(),
                "--public-key",
                public_key.to_str().unwrap(),
            ]);
            assert_eq!(
                checked.code, 0,
                "{context}: {} -> {}: {checked:#?}",
                pair[0].0, pair[1].0
            );
        }

        // Every read that ran during the writes completed, every concurrent verify passed
        // (it reads one snapshot, so a batch committing meanwhile is wholly seen or not at
        // all; an input whose raw blob was still being packed is a warning, not a failure),
        // and the sizes seen never shrank.
        assert!(
            reads.verify_failures.is_empty(),
            "{context}: {} of {} concurrent verifies failed: {:#?}",
            reads.verify_failures.len(),
            reads.verifies,
            reads.verify_failures
        );
        assert!(
            reads.failures.is_empty(),
            "{context}: {} of {} concurrent reads failed: {:#?}",
            reads.failures.len(),
            reads.verifies + reads.overrides,
            reads.failures
        );
        assert!(
            reads.sizes.windows(2).all(|pair| pair[0] <= pair[1]),
            "{context}: {:?}",
            reads.sizes
        );
        let line = format!(
            "round {round}: {total} records ({file_records} from files, {} distinct texts), {batches} checkpoints; \
             writers done in {:.1} s ({}); {} concurrent verifies (passing ones saw sizes {:?}; {} reported a \
             failure{}), {} assessments and {} override lists passed",
            inputs.distinct_texts,
            writers_took.as_secs_f64(),
            timings.join(", "),
            reads.verifies,
            reads.sizes,
            reads.verify_failures.len(),
            if reads.verify_failures.is_empty() {
                String::new()
            } else {
                format!(", first: {}", reads.verify_failures[0])
            },
            reads.assessments,
            reads.overrides
        );
        println!("{line}");
    }
    println!(
        "concurrency trials: {rounds} rounds of {lines} lines per main file; all passed in {:.1} s",
        started_all.elapsed().as_secs_f64()
    );
}
