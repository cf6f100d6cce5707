//! Benchmarks of dsomm-audit against plain SQLite baselines.
//!
//! `dsomm-audit-bench ledger --records N [--json]` generates N realistic
//! evidence records as an evidence-ndjson file, ingests it through the real
//! ingest path into a fresh ledger, bulk-inserts the same JSON lines into a
//! plain SQLite table (the insert baseline, from memory), runs `verify` on the ledger, scans
//! the plain table hashing each row (the read-and-hash baseline), and hashes
//! the same bytes in memory. Throughputs are over the records' JSON bytes.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use dsomm_audit::ingest::{IngestOptions, ingest_paths};
use ledger::{Ledger, NoteSigner};
use serde_json::json;
use sha2::{Digest, Sha256};

/// mimalloc: records are allocated on parser threads and freed on the writer
/// thread, a pattern the system allocator handles poorly.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Benchmarks of dsomm-audit.
#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ledger ingest and verify against plain SQLite.
    Ledger {
        /// Number of evidence records.
        #[arg(long, default_value_t = 1_000_000)]
        records: u64,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
        /// Work directory (default: a temporary directory, removed afterwards).
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// Answer audit questions on an existing ledger, as `ask` does (loading
    /// only the kinds the questions read), for every team, timed, with the
    /// peak memory. Run once per question to see each one's peak.
    Ask {
        /// The directory holding dsomm-audit.toml and the ledger (e.g. a demo).
        #[arg(long)]
        dir: PathBuf,
        /// A question, or `all`.
        #[arg(long, default_value = "all")]
        question: String,
        /// The as-of time (default now).
        #[arg(long)]
        as_of: Option<String>,
    },
    /// The demo end to end (generate, ingest, verify, assess, answer, sample,
    /// plan, reports) at a scale, timed step by step, with the peak memory.
    Demo {
        /// `small` or `org`.
        #[arg(long, default_value = "org")]
        scale: String,
        /// Seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

/// A small deterministic generator (splitmix64), so runs are comparable.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

const TOOLS: &[(&str, &str)] = &[
    ("semgrep", "sast"),
    ("codeql", "sast"),
    ("trivy", "container"),
    ("gitleaks", "secrets"),
    ("checkov", "iac"),
    ("grype", "sca"),
];

/// One realistic evidence line (300-450 bytes), varied over kinds and subjects.
fn record(random: &mut Random, index: u64) -> serde_json::Value {
    let repo = format!("acme/service-{:03}", random.below(400));
    let second = 1_735_689_600 + index * 31 + random.below(30);
    let time = jiff::Timestamp::from_second(second as i64)
        .map(|time| time.to_string())
        .unwrap_or_default();
    let commit = format!(
        "{:016x}{:016x}{:08x}",
        random.next(),
        random.next(),
        random.below(1 << 32)
    );
    match random.below(4) {
        0 | 1 => {
            let (tool, category) = TOOLS[random.below(TOOLS.len() as u64) as usize];
            json!({
                "kind": "scan_report",
                "occurred_at": time,
                "subject": {"repo": repo, "commit": commit, "ref": "refs/heads/main"},
                "attrs": {
                    "tool": tool, "category": category, "tool_version": format!("1.{}.{}", random.below(90), random.below(10)),
                    "format": "sarif", "results": random.below(40),
                    "counts_by_severity": {"critical": random.below(3), "high": random.below(8), "medium": random.below(20),
                                           "low": random.below(30), "info": random.below(5), "unknown": 0},
                    "suppressed": random.below(4)
                }
            })
        }
        2 => json!({
            "kind": "ci_run",
            "occurred_at": time,
            "subject": {"repo": repo, "commit": commit, "ref": "refs/heads/main", "pull_request": random.below(5000)},
            "attrs": {"workflow": "ci.yml", "run_id": random.next() >> 12, "event": "pull_request",
                      "conclusion": if random.below(10) == 0 { "failure" } else { "success" },
                      "duration_s": random.below(3600)}
        }),
        _ => json!({
            "kind": "deploy",
            "occurred_at": time,
            "subject": {"repo": repo, "commit": commit, "environment": "production",
                        "artifact": format!("sha256:{:016x}{:016x}{:016x}{:016x}", random.next(), random.next(), random.next(), random.next())},
            "attrs": {"state": "success", "deployment_id": random.next() >> 12, "creator": format!("user{}@acme.example", random.below(300))}
        }),
    }
}

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("VmHWM:"))
                .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn megabytes_per_second(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / 1e6 / seconds
}

fn ledger_bench(records: u64, json_output: bool, dir: &Path) -> Result<()> {
    let input = dir.join("evidence.ndjson");
    let mut random = Random(0x5eed);
    let mut json_bytes = 0u64;
    {
        let mut writer = BufWriter::new(std::fs::File::create(&input)?);
        for index in 0..records {
            let line = record(&mut random, index).to_string();
            writer.write_all(line.as_bytes())?;
            writer.write_all(b"\n")?;
            json_bytes += line.len() as u64;
        }
        writer.flush()?;
    }

    // 1. The real ingest path into a fresh ledger.
    let ledger_path = dir.join("ledger.db");
    let signer = NoteSigner::from_seed("dsomm-audit/bench", [42u8; 32])?;
    let verifier = signer.verifier();
    let mut ledger = Ledger::create(&ledger_path, signer)?;
    let started = Instant::now();
    let summary = ingest_paths(
        &mut ledger,
        std::slice::from_ref(&input),
        &IngestOptions::default(),
        |_| {},
    )?;
    let ingest_seconds = started.elapsed().as_secs_f64();
    drop(ledger);
    anyhow::ensure!(
        summary.added == records && summary.rejected == 0,
        "ingest added {} of {records} records ({} rejected)",
        summary.added,
        summary.rejected
    );

    // 3. verify on the ledger.
    let reopened = Ledger::open(&ledger_path)?;
    let started = Instant::now();
    let report = reopened.verify(&verifier)?;
    let verify_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(report.ok, "verify failed: {:?}", report.failures.first());

    let ledger_peak_rss = peak_rss_mib();

    // 2. Plain SQLite bulk insert of the same JSON lines, held in memory.
    let plain_path = dir.join("plain.db");
    let all = std::fs::read_to_string(&input)?;
    let started = Instant::now();
    {
        let mut conn = rusqlite::Connection::open(&plain_path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute("CREATE TABLE plain (id INTEGER PRIMARY KEY, json TEXT NOT NULL)", [])?;
        let transaction = conn.transaction()?;
        {
            let mut insert = transaction.prepare("INSERT INTO plain (id, json) VALUES (?1, ?2)")?;
            for (id, line) in all.lines().enumerate() {
                insert.execute(rusqlite::params![id as i64, line])?;
            }
        }
        transaction.commit()?;
    }
    let plain_seconds = started.elapsed().as_secs_f64();
    drop(all);

    // 4. Plain scan that only hashes each row.
    let started = Instant::now();
    let mut scanned = 0u64;
    {
        let conn = rusqlite::Connection::open(&plain_path)?;
        let mut statement = conn.prepare("SELECT json FROM plain ORDER BY id")?;
        let mut rows = statement.query([])?;
        let mut sink = [0u8; 32];
        while let Some(row) = rows.next()? {
            let text = row.get_ref(0)?.as_str()?;
            let digest = Sha256::digest(text.as_bytes());
            sink[0] ^= digest[0];
            scanned += 1;
        }
        std::hint::black_box(sink);
    }
    let scan_seconds = started.elapsed().as_secs_f64();
    anyhow::ensure!(scanned == records, "plain scan saw {scanned} rows");

    // 5. SHA-256 alone over the same bytes in memory.
    let mut sink = 0u8;
    let bytes = std::fs::read(&input)?;
    let started = Instant::now();
    for line in bytes.split(|byte| *byte == b'\n').filter(|line| !line.is_empty()) {
        sink ^= Sha256::digest(line)[0];
    }
    drop(bytes);
    std::hint::black_box(sink);
    let sha_seconds = started.elapsed().as_secs_f64();

    let ingest_rate = records as f64 / ingest_seconds;
    let plain_rate = records as f64 / plain_seconds;
    let result = json!({
        "records": records,
        "json_bytes": json_bytes,
        "ingest_seconds": ingest_seconds,
        "ingest_records_per_s": ingest_rate.round(),
        "plain_sqlite_records_per_s": plain_rate.round(),
        "ingest_vs_plain_ratio": (plain_rate / ingest_rate * 100.0).round() / 100.0,
        "verify_seconds": verify_seconds,
        "verify_mb_per_s": megabytes_per_second(json_bytes, verify_seconds).round(),
        "plain_scan_sha256_mb_per_s": megabytes_per_second(json_bytes, scan_seconds).round(),
        "verify_vs_plain_scan": (scan_seconds / verify_seconds * 100.0).round() / 100.0,
        "sha256_mb_per_s": megabytes_per_second(json_bytes, sha_seconds).round(),
        "ledger_bytes": std::fs::metadata(&ledger_path).map(|meta| meta.len()).unwrap_or(0),
        "plain_bytes": std::fs::metadata(&plain_path).map(|meta| meta.len()).unwrap_or(0),
        "peak_rss_mib": (ledger_peak_rss * 10.0).round() / 10.0,
        "peak_rss_mib_with_baselines": (peak_rss_mib() * 10.0).round() / 10.0,
    });
    if json_output {
        println!("{}", serde_json::to_string_pretty(&result)?);
    } else if let Some(object) = result.as_object() {
        for (key, value) in object {
            println!("{key:<28} {value}");
        }
    }
    Ok(())
}

/// The demo pipeline at `scale`, timed; reuses the generator and the demo command's library.
fn demo_bench(scale: &str, seed: u64) -> Result<()> {
    let scale = match scale {
        "small" => demo::Scale::Small,
        "org" => demo::Scale::Org,
        other => anyhow::bail!("unknown scale {other} (small or org)"),
    };
    let temporary = tempfile::tempdir()?;
    let out = temporary.path().join("demo");
    let started = std::time::Instant::now();
    let outcome = dsomm_audit::demo::run(&out, seed, scale)?;
    let elapsed = started.elapsed().as_secs_f64();
    let result = serde_json::json!({
        "scale": format!("{scale:?}").to_lowercase(),
        "seed": seed,
        "files": outcome.files,
        "records": outcome.records,
        "seconds": (elapsed * 100.0).round() / 100.0,
        "records_per_second": (outcome.records as f64 / elapsed).round(),
        "peak_rss_mib": peak_rss_mib(),
    });
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}

/// The questions on the ledger in `dir`, as `ask` answers them.
fn ask_bench(dir: &Path, question: &str, as_of: Option<&str>) -> Result<()> {
    let questions: Vec<&str> = if question == "all" {
        assess::questions::QUESTIONS.to_vec()
    } else if assess::questions::QUESTIONS.contains(&question) {
        vec![question]
    } else {
        anyhow::bail!("unknown question {question}");
    };
    let config = dsomm_audit::config::Config::find(Some(&dir.join("dsomm-audit.toml")))?;
    let as_of = dsomm_audit::assessment::as_of(as_of, jiff::Timestamp::now())?;
    let kinds = assess::questions::kinds_for(&questions);
    let started = Instant::now();
    let loaded = dsomm_audit::assessment::load(config, None, None, None, None, as_of, &kinds)?;
    let load_seconds = started.elapsed().as_secs_f64();
    let mut answers = 0usize;
    for scope in &loaded.teams {
        let view = loaded.view(scope);
        for question in &questions {
            answers += usize::from(assess::questions::ask(question, &view, None).is_some());
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let result = json!({
        "question": question,
        "teams": loaded.teams.len(),
        "records_loaded": loaded.records.len(),
        "answers": answers,
        "load_seconds": (load_seconds * 1000.0).round() / 1000.0,
        "seconds": (elapsed * 1000.0).round() / 1000.0,
        "seconds_per_answer": (elapsed / answers.max(1) as f64 * 10000.0).round() / 10000.0,
        "peak_rss_mib": peak_rss_mib(),
    });
    println!("{}", serde_json::to_string_pretty(&result)?);
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Ask { dir, question, as_of } => ask_bench(&dir, &question, as_of.as_deref()),
        Command::Demo { scale, seed } => demo_bench(&scale, seed),
        Command::Ledger { records, json, dir } => match dir {
            Some(dir) => {
                std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
                for name in [
                    "ledger.db",
                    "ledger.db-wal",
                    "ledger.db-shm",
                    "plain.db",
                    "plain.db-wal",
                    "plain.db-shm",
                ] {
                    let _ = std::fs::remove_file(dir.join(name));
                }
                ledger_bench(records, json, &dir)
            }
            None => {
                let temporary = tempfile::tempdir()?;
                ledger_bench(records, json, temporary.path())
            }
        },
    }
}
