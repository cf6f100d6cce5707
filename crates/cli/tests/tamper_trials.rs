//! Tamper trials: on copies of one ledger of 1,000 records (four batches, stored subtrees,
//! four raw blobs), apply seeded random single tamperings directly in SQLite and require
//! `verify --format json` to fail and to name a record, checkpoint, tree node or blob first.
//! `DSOMM_TAMPER_TRIALS` sets the number of trials (default 30) and `DSOMM_TAMPER_SEED` the
//! first seed. Every undetected tampering is listed when the test fails. See
//! docs/reliability.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use rusqlite::{Connection, params};
use serde_json::Value;

mod common;

use common::{Rng, Workspace, env_number, run_in};

/// The tamperings tried, one per trial in turn (every kind within 18 trials); what and
/// where each one changes is drawn from the trial's seed.
const TAMPERINGS: &[&str] = &[
    "record.kind",
    "record.occurred_at",
    "record.occurred_at_source",
    "record.ingested_at",
    "record.subject",
    "record.source_id",
    "record.source_line",
    "record.attrs",
    "record.dedup_key",
    "record.leaf_hash",
    "delete record",
    "swap two records",
    "insert forged record",
    "edit checkpoint note",
    "delete checkpoint",
    "replace blob chunk",
    "replace blob and drop its manifest",
    "change source_file row",
    "edit tree_node hash",
];

const KINDS: &[&str] = &[
    "deploy",
    "merge",
    "scan_report",
    "training_record",
    "incident",
    "no_such_kind",
];

/// `lines` evidence-ndjson lines numbered from `first`; every fourth without a time.
fn ndjson(first: usize, lines: usize) -> String {
    let kinds = ["deploy", "merge", "scan_report", "training_record"];
    let mut text = String::new();
    for index in first..first + lines {
        let time = if index.is_multiple_of(4) {
            String::new()
        } else {
            format!(
                r#","occurred_at":"2025-02-{:02}T{:02}:{:02}:00Z""#,
                1 + index % 28,
                index % 24,
                index % 60
            )
        };
        text.push_str(&format!(
            r#"{{"kind":"{}"{time},"subject":{{"repo":"acme/repo-{}","ref":"main"}},"attrs":{{"n":{index},"note":"tamper trial {index}"}}}}"#,
            kinds[index % kinds.len()],
            index % 5
        ));
        text.push('\n');
    }
    text
}

/// Replace one ASCII letter or digit of `text` by a different one of the same class.
fn change_one_character(text: &str, rng: &mut Rng) -> String {
    let positions: Vec<usize> = text
        .char_indices()
        .filter(|(_, character)| character.is_ascii_alphanumeric())
        .map(|(position, _)| position)
        .collect();
    assert!(!positions.is_empty(), "nothing to change in {text:?}");
    let position = *rng.pick(&positions);
    let old = text.as_bytes()[position];
    let alphabet: &[u8] = if old.is_ascii_digit() {
        b"0123456789"
    } else if old.is_ascii_uppercase() {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    } else {
        b"abcdefghijklmnopqrstuvwxyz"
    };
    let mut new = old;
    while new == old {
        new = *rng.pick(alphabet);
    }
    let mut bytes = text.as_bytes().to_vec();
    bytes[position] = new;
    String::from_utf8(bytes).unwrap()
}

fn count(database: &Connection, sql: &str) -> u64 {
    database.query_row(sql, [], |row| row.get(0)).unwrap()
}

/// A forged record at id = size: a copy of the last record with other attributes, its leaf
/// hash and dedup key computed correctly (only a signature is missing).
struct Forged {
    attrs: String,
    dedup_key: i64,
    leaf_hash: Vec<u8>,
}

fn forge(workspace: &Workspace, size: u64) -> Forged {
    let outcome = workspace.run(&["prove", &(size - 1).to_string()]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let proof: ledger::InclusionProof = serde_json::from_value(outcome.json()).unwrap();
    let mut record = proof.record;
    record.attrs = r#"{"n":999999,"note":"forged"}"#.into();
    let leaf = ledger::proof::leaf_of(size, &record).unwrap();
    let source: model::evidence::SourceRef = serde_json::from_str(&record.source).unwrap();
    let mut content = Vec::new();
    let time = (record.occurred_at_source != "ingested").then_some(record.occurred_at.as_str());
    model::evidence::canonical_content(
        &record.kind,
        time,
        &record.occurred_at_source,
        source.parts(),
        record.subject.as_bytes(),
        record.attrs.as_bytes(),
        &mut content,
    );
    let key = model::evidence::content_sha256(&content);
    Forged {
        attrs: record.attrs,
        dedup_key: i64::from_be_bytes(key[..8].try_into().unwrap()),
        leaf_hash: leaf.to_vec(),
    }
}

/// Apply the tampering `name` to `database`; returns what was done.
fn tamper(database: &Connection, name: &str, rng: &mut Rng, size: u64, forged: &Forged) -> String {
    let id = rng.below(size) as i64;
    let text_column = |column: &str| -> String {
        database
            .query_row(&format!("SELECT {column} FROM evidence WHERE id = ?1"), [id], |row| {
                row.get(0)
            })
            .unwrap()
    };
    let set = |column: &str, value: &dyn rusqlite::ToSql| {
        let changed = database
            .execute(
                &format!("UPDATE evidence SET {column} = ?1 WHERE id = ?2"),
                params![value, id],
            )
            .unwrap();
        assert_eq!(changed, 1);
    };
    match name {
        "record.kind" => {
            let old = text_column("kind");
            let mut new = old.clone();
            while new == old {
                new = rng.pick(KINDS).to_string();
            }
            set("kind", &new);
            format!("record {id}: kind {old} -> {new}")
        }
        "record.occurred_at" | "record.ingested_at" | "record.subject" | "record.attrs" => {
            let column = name.trim_start_matches("record.");
            let old = text_column(column);
            let new = change_one_character(&old, rng);
            set(column, &new);
            format!("record {id}: {column} {old} -> {new}")
        }
        "record.occurred_at_source" => {
            let old = text_column("occurred_at_source");
            let mut new = old.clone();
            while new == old {
                new = rng.pick(&["source", "flag", "ingested"]).to_string();
            }
            set("occurred_at_source", &new);
            format!("record {id}: occurred_at_source {old} -> {new}")
        }
        "record.source_id" => {
            let old: i64 = database
                .query_row("SELECT source_id FROM evidence WHERE id = ?1", [id], |row| row.get(0))
                .unwrap();
            let highest = count(database, "SELECT MAX(id) FROM source_file") as i64;
            let mut new = old;
            while new == old {
                new = 1 + rng.below(highest as u64 + 1) as i64;
            }
            set("source_id", &new);
            format!("record {id}: source_id {old} -> {new} (highest source_file {highest})")
        }
        "record.source_line" => {
            let old: Option<i64> = database
                .query_row("SELECT source_line FROM evidence WHERE id = ?1", [id], |row| row.get(0))
                .unwrap();
            let new = match (old, rng.below(3)) {
                (Some(_), 0) => None,
                (Some(line), _) => Some(line + 1 + rng.below(5) as i64),
                (None, _) => Some(1),
            };
            set("source_line", &new);
            format!("record {id}: source_line {old:?} -> {new:?}")
        }
        "record.dedup_key" => {
            let old: i64 = database
                .query_row("SELECT dedup_key FROM evidence WHERE id = ?1", [id], |row| row.get(0))
                .unwrap();
            let new = old ^ (1i64 << rng.below(64));
            set("dedup_key", &new);
            format!("record {id}: dedup_key {old} -> {new}")
        }
        "record.leaf_hash" => {
            let mut hash: Vec<u8> = database
                .query_row("SELECT leaf_hash FROM evidence WHERE id = ?1", [id], |row| row.get(0))
                .unwrap();
            let bit = rng.below(hash.len() as u64 * 8) as usize;
            hash[bit / 8] ^= 1 << (bit % 8);
            set("leaf_hash", &hash);
            format!("record {id}: leaf_hash bit {bit} flipped")
        }
        "delete record" => {
            assert_eq!(database.execute("DELETE FROM evidence WHERE id = ?1", [id]).unwrap(), 1);
            format!("record {id} deleted")
        }
        "swap two records" => {
            let mut other = id;
            while other == id {
                other = rng.below(size) as i64;
            }
            database
                .execute_batch(&format!(
                    "UPDATE evidence SET id = -1 WHERE id = {id};
                     UPDATE evidence SET id = {id} WHERE id = {other};
                     UPDATE evidence SET id = {other} WHERE id = -1;"
                ))
                .unwrap();
            format!("records {id} and {other} swapped")
        }
        "insert forged record" => {
            let inserted = database
                .execute(
                    "INSERT INTO evidence (id, kind, occurred_at, occurred_at_source, ingested_at, subject, \
                     source_id, source_line, source_pointer, attrs, dedup_key, leaf_hash) \
                     SELECT id + 1, kind, occurred_at, occurred_at_source, ingested_at, subject, source_id, \
                     source_line, source_pointer, ?2, ?3, ?4 FROM evidence WHERE id = ?1",
                    params![size as i64 - 1, forged.attrs, forged.dedup_key, forged.leaf_hash],
                )
                .unwrap();
            assert_eq!(inserted, 1);
            format!("forged record {size} inserted with a correct leaf hash and dedup key")
        }
        "edit checkpoint note" | "delete checkpoint" => {
            let sizes: Vec<i64> = database
                .prepare("SELECT tree_size FROM checkpoint ORDER BY tree_size")
                .unwrap()
                .query_map([], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let tree_size = *rng.pick(&sizes);
            if name == "delete checkpoint" {
                let deleted = database
                    .execute("DELETE FROM checkpoint WHERE tree_size = ?1", [tree_size])
                    .unwrap();
                assert_eq!(deleted, 1);
                return format!("checkpoint {tree_size} deleted");
            }
            let old: String = database
                .query_row("SELECT note FROM checkpoint WHERE tree_size = ?1", [tree_size], |row| {
                    row.get(0)
                })
                .unwrap();
            let new = change_one_character(&old, rng);
            let changed = database
                .execute(
                    "UPDATE checkpoint SET note = ?1 WHERE tree_size = ?2",
                    params![new, tree_size],
                )
                .unwrap();
            assert_eq!(changed, 1);
            let at = old.bytes().zip(new.bytes()).position(|(a, b)| a != b).unwrap_or(0);
            format!("checkpoint {tree_size}: note byte {at} changed")
        }
        "replace blob chunk" => {
            let chunks: Vec<(Vec<u8>, i64, usize)> = database
                .prepare("SELECT sha256, seq, length(data) FROM blob_chunk ORDER BY sha256, seq")
                .unwrap()
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let (blob, seq, length) = rng.pick(&chunks).clone();
            let data: Vec<u8> = (0..length).map(|_| rng.next() as u8).collect();
            let changed = database
                .execute(
                    "UPDATE blob_chunk SET data = ?1 WHERE sha256 = ?2 AND seq = ?3",
                    params![data, blob, seq],
                )
                .unwrap();
            assert_eq!(changed, 1);
            format!("blob chunk {seq} of {} replaced by {length} random bytes", hex(&blob))
        }
        "replace blob and drop its manifest" => {
            // The signed manifest would expose new chunks, so a forger drops it
            // and leaves chunks that look like an unfinished ingest's.
            let blobs: Vec<Vec<u8>> = database
                .prepare("SELECT sha256 FROM blob ORDER BY sha256")
                .unwrap()
                .query_map([], |row| row.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let blob = rng.pick(&blobs).clone();
            database.execute("DELETE FROM blob WHERE sha256 = ?1", [&blob]).unwrap();
            let chunks: Vec<(i64, usize)> = database
                .prepare("SELECT seq, length(data) FROM blob_chunk WHERE sha256 = ?1 ORDER BY seq")
                .unwrap()
                .query_map([&blob], |row| Ok((row.get(0)?, row.get(1)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            for (seq, length) in chunks {
                let data: Vec<u8> = (0..length).map(|_| rng.next() as u8).collect();
                database
                    .execute(
                        "UPDATE blob_chunk SET data = ?1 WHERE sha256 = ?2 AND seq = ?3",
                        params![data, blob, seq],
                    )
                    .unwrap();
            }
            format!("blob {} replaced, its manifest dropped", hex(&blob))
        }
        "change source_file row" => {
            let source = 1 + rng.below(count(database, "SELECT MAX(id) FROM source_file")) as i64;
            let column = *rng.pick(&["collector", "origin", "sha256"]);
            let old: String = database
                .query_row(
                    &format!("SELECT {column} FROM source_file WHERE id = ?1"),
                    [source],
                    |row| row.get(0),
                )
                .unwrap();
            let new = if column == "collector" {
                "sarif".to_string()
            } else {
                change_one_character(&old, rng)
            };
            let changed = database
                .execute(
                    &format!("UPDATE source_file SET {column} = ?1 WHERE id = ?2"),
                    params![new, source],
                )
                .unwrap();
            assert_eq!(changed, 1);
            format!("source_file {source}: {column} {old} -> {new}")
        }
        "edit tree_node hash" => {
            let nodes: Vec<(i64, i64, Vec<u8>)> = database
                .prepare("SELECT level, idx, hash FROM tree_node ORDER BY level, idx")
                .unwrap()
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            let (level, idx, mut hash) = rng.pick(&nodes).clone();
            let bit = rng.below(hash.len() as u64 * 8) as usize;
            hash[bit / 8] ^= 1 << (bit % 8);
            let changed = database
                .execute(
                    "UPDATE tree_node SET hash = ?1 WHERE level = ?2 AND idx = ?3",
                    params![hash, level, idx],
                )
                .unwrap();
            assert_eq!(changed, 1);
            format!("tree_node level {level} idx {idx}: bit {bit} flipped")
        }
        other => panic!("unknown tampering {other}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Copy the workspace's files (config, keys, ledger) into `to`.
fn copy_workspace(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

#[test]
fn every_single_tampering_is_detected_and_named() {
    let trials = env_number("DSOMM_TAMPER_TRIALS", 30);
    let first_seed = env_number("DSOMM_TAMPER_SEED", 1);
    let started = Instant::now();

    // The ledger: four ingests (four batches, one with --occurred-at), 1,000 records.
    let base = Workspace::new();
    let files = [(0, 300, false), (300, 300, true), (600, 300, false), (900, 100, false)];
    for (number, (first, lines, flag)) in files.into_iter().enumerate() {
        let name = format!("part-{number}.ndjson");
        base.write(&name, ndjson(first, lines));
        let mut args = vec!["ingest", "--format", "json"];
        if flag {
            args.extend(["--occurred-at", "2025-03-01T09:00:00Z"]);
        }
        args.push(&name);
        let outcome = base.run(&args);
        assert_eq!(outcome.code, 0, "{outcome:#?}");
        assert_eq!(outcome.json()["added"], lines, "{outcome:#?}");
    }
    let size = 1_000u64;
    let outcome = base.run(&["verify", "--format", "json"]);
    assert_eq!(outcome.code, 0, "the untampered ledger must verify: {outcome:#?}");
    {
        let database = Connection::open(base.path("ledger.db")).unwrap();
        assert_eq!(count(&database, "SELECT COUNT(*) FROM evidence"), size);
        assert_eq!(count(&database, "SELECT COUNT(*) FROM checkpoint"), 4);
        assert!(count(&database, "SELECT COUNT(*) FROM tree_node") >= 4);
        assert_eq!(count(&database, "SELECT COUNT(*) FROM blob"), 4);
    }
    let forged = forge(&base, size);

    let mut undetected = Vec::new();
    let mut tried: BTreeMap<&str, u64> = BTreeMap::new();
    for trial in 0..trials {
        let seed = first_seed + trial;
        let mut rng = Rng(seed);
        let name = TAMPERINGS[(trial % TAMPERINGS.len() as u64) as usize];
        *tried.entry(name).or_default() += 1;
        let copy = tempfile::tempdir().unwrap();
        copy_workspace(base.dir.path(), copy.path());
        let done = {
            let database = Connection::open(copy.path().join("ledger.db")).unwrap();
            tamper(&database, name, &mut rng, size, &forged)
        };
        let outcome = run_in(copy.path(), &["verify", "--format", "json"]);
        let report: Value = outcome.json();
        let first = report["failures"]
            .as_array()
            .and_then(|failures| failures.first())
            .cloned();
        let named = first
            .as_ref()
            .and_then(|failure| failure["what"].as_str())
            .is_some_and(|what| ["record", "checkpoint", "tree_node", "blob"].contains(&what));
        if outcome.code != 1 || report["ok"] != false || !named {
            undetected.push(format!(
                "trial {trial} (seed {seed}) {name}: {done}: exit {}, first failure {first:?}, report {report}",
                outcome.code
            ));
        }
    }
    println!(
        "tamper trials: {trials} (seeds {first_seed}..{}), {} detected and named, {} not; {:.1} s; by kind: {tried:?}",
        first_seed + trials,
        trials - undetected.len() as u64,
        undetected.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        undetected.is_empty(),
        "{} of {trials} tamperings were not detected or not named:\n{}",
        undetected.len(),
        undetected.join("\n")
    );
}

/// Rollback and truncation: file-level tamperings the per-record trials do not
/// reach. A ledger rolled back to an older copy is internally consistent, so it
/// is detected against a checkpoint it signed that was kept elsewhere
/// (`verify --checkpoint`); a truncated file is refused or fails verification.
#[test]
fn rollback_and_truncation_are_detected() {
    let base = Workspace::new();
    base.write("part-0.ndjson", ndjson(0, 300));
    assert_eq!(base.run(&["ingest", "part-0.ndjson"]).code, 0);
    let older = tempfile::tempdir().unwrap();
    settle(&base.path("ledger.db"));
    copy_workspace(base.dir.path(), older.path());
    for (number, first) in [(1, 300), (2, 600)] {
        let name = format!("part-{number}.ndjson");
        base.write(&name, ndjson(first, 300));
        assert_eq!(base.run(&["ingest", &name]).code, 0);
    }
    let kept = base.run(&["checkpoint"]);
    assert_eq!(kept.code, 0, "{kept:#?}");
    assert!(
        kept.stdout.contains("\n900\n"),
        "the latest checkpoint is for 900 records: {}",
        kept.stdout
    );
    let witness = tempfile::tempdir().unwrap();
    std::fs::write(witness.path().join("kept.note"), &kept.stdout).unwrap();
    let kept_path = witness.path().join("kept.note");
    let kept_arg = kept_path.to_str().unwrap();
    // The current ledger holds the kept checkpoint.
    let current = base.run(&["verify", "--format", "json", "--checkpoint", kept_arg]);
    assert_eq!(current.code, 0, "{current:#?}");

    // Rolled back: verify alone cannot tell; against the kept checkpoint it can.
    let rolled = tempfile::tempdir().unwrap();
    copy_workspace(older.path(), rolled.path());
    let alone = run_in(rolled.path(), &["verify", "--format", "json"]);
    assert_eq!(alone.code, 0, "an older copy is internally consistent: {alone:#?}");
    let outcome = run_in(rolled.path(), &["verify", "--format", "json", "--checkpoint", kept_arg]);
    assert_eq!(outcome.code, 1, "{outcome:#?}");
    let report = outcome.json();
    let failure = &report["failures"][0];
    assert_eq!(failure["what"], "checkpoint", "{report}");
    assert_eq!(failure["id"], 900);
    assert!(failure["message"].as_str().unwrap().contains("rolled back"), "{report}");

    // Tampered below the kept checkpoint (the last record gone, a stored
    // subtree gone, the ledger's own key swapped): a failure report, exit 1,
    // not an error that stops the check.
    let other_key = Workspace::new();
    let foreign = Connection::open(other_key.path("ledger.db"))
        .unwrap()
        .query_row("SELECT value FROM meta WHERE key = 'verifier_key'", [], |row| {
            row.get::<_, String>(0)
        })
        .unwrap();
    for (what, sql) in [
        (
            "the last record deleted",
            "DELETE FROM evidence WHERE id = 899".to_string(),
        ),
        (
            "a stored subtree deleted",
            "DELETE FROM tree_node WHERE level = 9".to_string(),
        ),
        (
            "the recorded key replaced",
            format!("UPDATE meta SET value = '{foreign}' WHERE key = 'verifier_key'"),
        ),
    ] {
        let copy = tempfile::tempdir().unwrap();
        settle(&base.path("ledger.db"));
        copy_workspace(base.dir.path(), copy.path());
        let database = Connection::open(copy.path().join("ledger.db")).unwrap();
        assert!(database.execute(&sql, []).unwrap() > 0, "{what}: nothing changed");
        drop(database);
        let outcome = run_in(copy.path(), &["verify", "--format", "json", "--checkpoint", kept_arg]);
        assert_eq!(outcome.code, 1, "{what}: {outcome:#?}");
        let report = outcome.json();
        assert_eq!(report["ok"], false, "{what}: {report}");
        assert!(!report["failures"].as_array().unwrap().is_empty(), "{what}: {report}");
    }

    // Truncated at several points: refused or failing, never "ok".
    settle(&base.path("ledger.db"));
    let length = std::fs::metadata(base.path("ledger.db")).unwrap().len();
    for keep in [0, length / 3, 2 * length / 3, length.saturating_sub(16_384)] {
        let copy = tempfile::tempdir().unwrap();
        copy_workspace(base.dir.path(), copy.path());
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(copy.path().join("ledger.db"))
            .unwrap();
        file.set_len(keep).unwrap();
        drop(file);
        let outcome = run_in(copy.path(), &["verify", "--format", "json", "--checkpoint", kept_arg]);
        assert_ne!(
            outcome.code, 0,
            "truncated to {keep} of {length} bytes and still verified: {outcome:#?}"
        );
        let named = outcome.stderr.contains("ledger.db") || outcome.stdout.contains("\"ok\": false");
        assert!(
            named,
            "truncated to {keep} bytes: the report names neither the file nor a failure: {outcome:#?}"
        );
    }
}

/// Fold the WAL into the database file and remove it, so the file alone is the ledger.
fn settle(path: &Path) {
    let database = Connection::open(path).unwrap();
    database
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
        .unwrap();
}
