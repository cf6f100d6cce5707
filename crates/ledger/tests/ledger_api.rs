//! The ledger through its library API: batches and their numbering, deduplication within and
//! across batches (records without a time included), queries by kind, subject and time,
//! "latest as of", inclusion proofs for every record (and after the tree grew), forged proofs,
//! and two handles on one file appending in turn.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use dsomm_audit_ledger as ledger;
use jiff::Timestamp;
use ledger::{InclusionProof, Ledger, NoteSigner, NoteVerifier, Query};
use model::{CanonicalRecord, EvidenceKind, NewEvidence, OccurredAtSource, SourceRef, Subject};
use serde_json::{Value, json};
use tempfile::TempDir;

const KEY_NAME: &str = "dsomm-audit/ledger-api-test";

fn signer() -> NoteSigner {
    NoteSigner::from_seed(KEY_NAME, [42u8; 32]).unwrap()
}

/// The raw input every test record claims to come from (verify requires its blob).
const RAW: &[u8] = b"ledger api test input\n";

fn raw_digest() -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(RAW).into()
}

/// A new ledger in its own directory (kept alive by the returned guard), holding the raw input.
fn new_ledger() -> (TempDir, PathBuf, Ledger) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger.db");
    let ledger = Ledger::create(&path, signer()).unwrap();
    ledger.store_blob(&raw_digest(), "ledger-api-test.ndjson", RAW).unwrap();
    (dir, path, ledger)
}

fn time(text: &str) -> Timestamp {
    model::time::parse_time(text).unwrap()
}

fn repo(name: &str) -> Subject {
    Subject {
        repo: Some(name.to_string()),
        ..Subject::default()
    }
}

/// A canonical record as a collector would produce it; `line` places it in its source file.
fn record(kind: EvidenceKind, occurred_at: Option<&str>, subject: Subject, attrs: Value, line: u64) -> CanonicalRecord {
    let evidence = NewEvidence {
        kind,
        occurred_at: occurred_at.map(time),
        occurred_at_source: if occurred_at.is_some() {
            OccurredAtSource::Source
        } else {
            OccurredAtSource::Ingested
        },
        subject,
        source: SourceRef {
            collector: "evidence-ndjson".into(),
            origin: "ledger-api-test.ndjson".into(),
            sha256: hex::encode(raw_digest()),
            line: Some(line),
            pointer: None,
        },
        attrs,
    };
    CanonicalRecord::from_evidence(&evidence, &mut Vec::new())
}

/// `count` distinct records starting at line `first`, every fourth without a time.
fn records(first: u64, count: u64) -> Vec<CanonicalRecord> {
    (first..first + count)
        .map(|line| {
            let timed = format!("2025-{:02}-{:02}T10:00:00Z", 1 + line % 12, 1 + line % 28);
            record(
                [EvidenceKind::Deploy, EvidenceKind::Merge, EvidenceKind::ScanReport][(line % 3) as usize],
                (line % 4 != 0).then_some(timed.as_str()),
                repo(&format!("acme/repo-{}", line % 5)),
                json!({"line": line}),
                line,
            )
        })
        .collect()
}

/// `verify` against the ledger's own key passes.
fn check_verifies(ledger: &Ledger) {
    let report = ledger.verify(&signer().verifier()).unwrap();
    assert!(report.ok, "verify failed: {report:#?}");
    assert_eq!(report.records, report.tree_size, "{report:#?}");
}

/// An append added `added` and found `duplicates`.
fn check_append(ledger: &mut Ledger, batch: &[CanonicalRecord], added: u64, duplicates: u64) -> u64 {
    let summary = ledger.append(batch).unwrap();
    assert_eq!(
        (summary.added, summary.duplicates),
        (added, duplicates),
        "added / duplicates of a batch of {}",
        batch.len()
    );
    summary.tree_size
}

// ---------------------------------------------------------------------------
// Appending and deduplication
// ---------------------------------------------------------------------------

#[test]
fn batches_are_numbered_from_zero_and_each_is_signed() {
    let (_dir, _path, mut ledger) = new_ledger();
    assert_eq!(ledger.size().unwrap(), 0);
    assert!(ledger.latest_checkpoint().unwrap().is_none());
    let first = records(0, 3);
    let second = records(3, 2);
    assert_eq!(check_append(&mut ledger, &first, 3, 0), 3);
    assert_eq!(check_append(&mut ledger, &second, 2, 0), 5);
    assert_eq!(ledger.size().unwrap(), 5);
    let (checkpoint, _note) = ledger.latest_checkpoint().unwrap().unwrap();
    assert_eq!(checkpoint.size, 5);
    assert_eq!(checkpoint.origin, KEY_NAME);
    for (id, expected) in first.iter().chain(&second).enumerate() {
        let stored = ledger.get(id as u64).unwrap();
        assert_eq!(stored.id, id as u64);
        assert_eq!(stored.kind, expected.kind);
        assert_eq!(stored.source.line, expected.source.line);
        assert_eq!(serde_json::to_string(&stored.attrs).unwrap(), expected.attrs);
    }
    assert!(matches!(ledger.get(5), Err(ledger::LedgerError::NoSuchRecord(5))));
    check_verifies(&ledger);
}

#[test]
fn an_empty_or_all_duplicate_batch_adds_no_checkpoint() {
    let (_dir, _path, mut ledger) = new_ledger();
    assert_eq!(check_append(&mut ledger, &[], 0, 0), 0);
    let batch = records(0, 4);
    check_append(&mut ledger, &batch, 4, 0);
    check_append(&mut ledger, &batch, 0, 4);
    let report = ledger.verify(&signer().verifier()).unwrap();
    assert_eq!(report.checkpoints, 1, "{report:#?}");
}

#[test]
fn duplicates_within_a_batch_are_added_once_with_or_without_a_time() {
    let (_dir, _path, mut ledger) = new_ledger();
    let timed = record(
        EvidenceKind::Deploy,
        Some("2025-03-02T10:00:00Z"),
        repo("acme/api"),
        json!({"v": 1}),
        1,
    );
    let untimed = record(
        EvidenceKind::AssetSnapshot,
        None,
        repo("acme/api"),
        json!({"owner": "a"}),
        2,
    );
    let batch = vec![timed.clone(), untimed.clone(), timed.clone(), untimed.clone(), untimed];
    assert_eq!(check_append(&mut ledger, &batch, 2, 3), 2);
    check_verifies(&ledger);
}

#[test]
fn duplicates_across_batches_and_handles_are_not_added_again() {
    let (_dir, path, mut ledger) = new_ledger();
    let batch = records(0, 40);
    check_append(&mut ledger, &batch, 40, 0);
    check_append(&mut ledger, &batch, 0, 40);
    // A mixed batch: half old, half new.
    let mixed: Vec<CanonicalRecord> = records(20, 40);
    check_append(&mut ledger, &mixed, 20, 20);
    drop(ledger);
    let mut reopened = Ledger::open(&path).unwrap().with_signer(signer()).unwrap();
    check_append(&mut reopened, &records(0, 60), 0, 60);
    assert_eq!(reopened.size().unwrap(), 60);
    check_verifies(&reopened);
}

#[test]
fn records_without_a_time_deduplicate_through_the_dedup_table() {
    let (_dir, path, mut ledger) = new_ledger();
    let untimed: Vec<CanonicalRecord> = (0..10)
        .map(|line| {
            record(
                EvidenceKind::TrainingRecord,
                None,
                repo("acme/api"),
                json!({"n": line}),
                line,
            )
        })
        .collect();
    check_append(&mut ledger, &untimed, 10, 0);
    // A later batch has a later ingest time, which must not make them new.
    std::thread::sleep(std::time::Duration::from_millis(5));
    check_append(&mut ledger, &untimed, 0, 10);
    let database = rusqlite::Connection::open(&path).unwrap();
    let in_dedup: u64 = database
        .query_row("SELECT COUNT(*) FROM dedup", [], |row| row.get(0))
        .unwrap();
    assert_eq!(in_dedup, 10, "one dedup row per record without a time");
    // A timed record with the same content otherwise is a different record.
    let timed = record(
        EvidenceKind::TrainingRecord,
        Some("2025-01-01T00:00:00Z"),
        repo("acme/api"),
        json!({"n": 0}),
        0,
    );
    check_append(&mut ledger, &[timed], 1, 0);
}

#[test]
fn records_without_a_time_carry_the_ingest_time_and_say_so() {
    let (_dir, _path, mut ledger) = new_ledger();
    let before = Timestamp::now();
    check_append(
        &mut ledger,
        &[
            record(EvidenceKind::Deploy, None, repo("acme/api"), json!({}), 1),
            record(
                EvidenceKind::Deploy,
                Some("2025-03-02T10:00:00Z"),
                repo("acme/api"),
                json!({}),
                2,
            ),
        ],
        2,
        0,
    );
    let untimed = ledger.get(0).unwrap();
    assert_eq!(untimed.occurred_at_source, OccurredAtSource::Ingested);
    assert_eq!(untimed.occurred_at, untimed.ingested_at);
    assert!(untimed.ingested_at >= before);
    let timed = ledger.get(1).unwrap();
    assert_eq!(timed.occurred_at_source, OccurredAtSource::Source);
    assert_eq!(timed.occurred_at, time("2025-03-02T10:00:00Z"));
    assert!(timed.ingested_at >= before);
}

// ---------------------------------------------------------------------------
// Queries
// ---------------------------------------------------------------------------

/// Six records of three kinds about two repositories over three days.
fn query_ledger() -> (TempDir, PathBuf, Ledger) {
    let (dir, path, mut ledger) = new_ledger();
    let batch = vec![
        record(
            EvidenceKind::Deploy,
            Some("2025-03-01T10:00:00Z"),
            repo("acme/api"),
            json!({"n": 0}),
            1,
        ),
        record(
            EvidenceKind::Deploy,
            Some("2025-03-02T10:00:00Z"),
            repo("acme/web"),
            json!({"n": 1}),
            2,
        ),
        record(
            EvidenceKind::Merge,
            Some("2025-03-02T11:00:00Z"),
            repo("acme/api"),
            json!({"n": 2}),
            3,
        ),
        record(
            EvidenceKind::ScanReport,
            Some("2025-03-03T10:00:00Z"),
            repo("acme/api"),
            json!({"n": 3}),
            4,
        ),
        record(
            EvidenceKind::Deploy,
            Some("2025-03-03T12:00:00Z"),
            repo("acme/api"),
            json!({"n": 4}),
            5,
        ),
        record(
            EvidenceKind::Deploy,
            Some("2025-03-02T09:00:00Z"),
            Subject {
                service: Some("billing".into()),
                environment: Some("prod".into()),
                ..Subject::default()
            },
            json!({"n": 5}),
            6,
        ),
    ];
    check_append(&mut ledger, &batch, 6, 0);
    (dir, path, ledger)
}

fn attrs_n(found: &[model::Evidence]) -> Vec<u64> {
    found
        .iter()
        .map(|evidence| evidence.attrs["n"].as_u64().unwrap())
        .collect()
}

#[test]
fn query_selects_by_kind_subject_and_time_range() {
    let (_dir, _path, ledger) = query_ledger();
    let check = |query: Query, expected: &[u64]| {
        let found = ledger.query(&query).unwrap();
        assert_eq!(attrs_n(&found), expected, "{query:?}");
    };
    check(Query::default(), &[0, 5, 1, 2, 3, 4]);
    check(
        Query {
            kinds: vec![EvidenceKind::Deploy],
            ..Query::default()
        },
        &[0, 5, 1, 4],
    );
    check(
        Query {
            kinds: vec![EvidenceKind::Merge, EvidenceKind::ScanReport],
            ..Query::default()
        },
        &[2, 3],
    );
    check(
        Query {
            subject: vec![("repo".into(), "acme/api".into())],
            ..Query::default()
        },
        &[0, 2, 3, 4],
    );
    check(
        Query {
            kinds: vec![EvidenceKind::Deploy],
            subject: vec![
                ("service".into(), "billing".into()),
                ("environment".into(), "prod".into()),
            ],
            ..Query::default()
        },
        &[5],
    );
    check(
        Query {
            from: Some(time("2025-03-02T00:00:00Z")),
            to: Some(time("2025-03-02T23:59:59Z")),
            ..Query::default()
        },
        &[5, 1, 2],
    );
    // Both ends are inclusive.
    check(
        Query {
            from: Some(time("2025-03-02T10:00:00Z")),
            to: Some(time("2025-03-03T10:00:00Z")),
            ..Query::default()
        },
        &[1, 2, 3],
    );
    check(
        Query {
            kinds: vec![EvidenceKind::Deploy],
            subject: vec![("repo".into(), "acme/api".into())],
            newest_first: true,
            limit: Some(1),
            ..Query::default()
        },
        &[4],
    );
    check(
        Query {
            subject: vec![("repo".into(), "acme/nothing".into())],
            ..Query::default()
        },
        &[],
    );
    let unknown = Query {
        subject: vec![("planet".into(), "mars".into())],
        ..Query::default()
    };
    assert!(ledger.query(&unknown).is_err(), "an unknown subject field is an error");
}

#[test]
fn latest_as_of_returns_the_snapshot_that_stood_at_that_time() {
    let (_dir, _path, mut ledger) = new_ledger();
    let service = || Subject {
        service: Some("billing".into()),
        ..Subject::default()
    };
    // Appended newest first, so that id order is not time order.
    let newer = record(
        EvidenceKind::AssetSnapshot,
        Some("2025-06-01T00:00:00Z"),
        service(),
        json!({"owner": "team-b"}),
        2,
    );
    let older = record(
        EvidenceKind::AssetSnapshot,
        Some("2025-01-01T00:00:00Z"),
        service(),
        json!({"owner": "team-a"}),
        1,
    );
    let other = record(
        EvidenceKind::AssetSnapshot,
        Some("2025-03-01T00:00:00Z"),
        Subject {
            service: Some("search".into()),
            ..Subject::default()
        },
        json!({"owner": "team-c"}),
        3,
    );
    check_append(&mut ledger, &[newer, older, other], 3, 0);
    let subject = [("service".to_string(), "billing".to_string())];
    let owner_at = |at: &str| {
        ledger
            .latest_as_of(EvidenceKind::AssetSnapshot, &subject, time(at))
            .unwrap()
            .map(|evidence| evidence.attrs["owner"].as_str().unwrap().to_string())
    };
    assert_eq!(
        owner_at("2025-03-15T00:00:00Z").as_deref(),
        Some("team-a"),
        "between the two"
    );
    assert_eq!(
        owner_at("2025-01-01T00:00:00Z").as_deref(),
        Some("team-a"),
        "at the older one"
    );
    assert_eq!(
        owner_at("2025-06-01T00:00:00Z").as_deref(),
        Some("team-b"),
        "at the newer one"
    );
    assert_eq!(
        owner_at("2026-01-01T00:00:00Z").as_deref(),
        Some("team-b"),
        "after both"
    );
    assert_eq!(owner_at("2024-12-31T23:59:59Z"), None, "before both");
    assert_eq!(
        ledger
            .latest_as_of(EvidenceKind::Deploy, &subject, time("2026-01-01T00:00:00Z"))
            .unwrap(),
        None,
        "another kind"
    );
}

// ---------------------------------------------------------------------------
// Proofs
// ---------------------------------------------------------------------------

fn check_proof(proof: &InclusionProof, verifier: &NoteVerifier) {
    let checkpoint = proof
        .verify(verifier)
        .unwrap_or_else(|error| panic!("proof of {} in {}: {error}", proof.leaf_index, proof.tree_size));
    assert_eq!(checkpoint.size, proof.tree_size);
}

#[test]
fn inclusion_proof_of_every_record_of_a_300_record_ledger_verifies() {
    let (_dir, _path, mut ledger) = new_ledger();
    // Uneven batches, so that checkpoints fall at many sizes.
    let mut line = 0;
    for size in [1, 2, 61, 128, 100, 8] {
        check_append(&mut ledger, &records(line, size), size, 0);
        line += size;
    }
    assert_eq!(ledger.size().unwrap(), 300);
    let verifier = signer().verifier();
    for id in 0..300 {
        let proof = ledger.prove(id).unwrap();
        assert_eq!((proof.leaf_index, proof.tree_size), (id, 300));
        check_proof(&proof, &verifier);
        if id % 50 == 0 {
            // The proof survives its JSON form.
            let text = serde_json::to_string(&proof).unwrap();
            let parsed: InclusionProof = serde_json::from_str(&text).unwrap();
            assert_eq!(parsed, proof);
        }
    }
    assert!(ledger.prove(300).is_err());
    check_verifies(&ledger);
}

#[test]
fn proofs_still_verify_after_the_tree_grew() {
    let (_dir, _path, mut ledger) = new_ledger();
    check_append(&mut ledger, &records(0, 300), 300, 0);
    let verifier = signer().verifier();
    let old: Vec<InclusionProof> = [0, 1, 150, 255, 256, 299]
        .into_iter()
        .map(|id| ledger.prove(id).unwrap())
        .collect();
    check_append(&mut ledger, &records(300, 333), 333, 0);
    for proof in &old {
        check_proof(proof, &verifier);
        let grown = ledger.prove(proof.leaf_index).unwrap();
        assert_eq!(grown.tree_size, 633);
        assert_eq!(grown.leaf_hash, proof.leaf_hash);
        check_proof(&grown, &verifier);
    }
    for id in [300, 511, 512, 632] {
        check_proof(&ledger.prove(id).unwrap(), &verifier);
    }
    check_verifies(&ledger);
}

#[test]
fn forged_proofs_are_rejected() {
    let (_dir, _path, mut ledger) = new_ledger();
    check_append(&mut ledger, &records(0, 300), 300, 0);
    let verifier = signer().verifier();
    let genuine = ledger.prove(42).unwrap();
    check_proof(&genuine, &verifier);
    let another = ledger.prove(43).unwrap();

    // A ledger with a key of the same name but another secret.
    let impostor_dir = tempfile::tempdir().unwrap();
    let impostor_signer = NoteSigner::from_seed(KEY_NAME, [7u8; 32]).unwrap();
    let mut impostor = Ledger::create(&impostor_dir.path().join("ledger.db"), impostor_signer.clone()).unwrap();
    impostor.append(&records(0, 300)).unwrap();
    let impostor_proof = impostor.prove(42).unwrap();

    let forge = |change: &dyn Fn(&mut InclusionProof)| {
        let mut proof = genuine.clone();
        change(&mut proof);
        proof
    };
    let cases: Vec<(&str, InclusionProof, NoteVerifier)> = vec![
        (
            "attrs changed",
            forge(&|proof| proof.record.attrs = proof.record.attrs.replace("42", "41")),
            verifier.clone(),
        ),
        (
            "kind changed",
            forge(&|proof| proof.record.kind = "merge".into()),
            verifier.clone(),
        ),
        (
            "occurred_at changed",
            forge(&|proof| proof.record.occurred_at = "2020-01-01T00:00:00.000000000Z".into()),
            verifier.clone(),
        ),
        (
            "ingested_at changed",
            forge(&|proof| proof.record.ingested_at = "2020-01-01T00:00:00.000000000Z".into()),
            verifier.clone(),
        ),
        (
            "leaf index changed",
            forge(&|proof| proof.leaf_index = 43),
            verifier.clone(),
        ),
        (
            "another record's fields and leaf",
            forge(&|proof| {
                proof.record = another.record.clone();
                proof.leaf_hash = another.leaf_hash.clone();
            }),
            verifier.clone(),
        ),
        (
            "audit path element changed",
            forge(&|proof| proof.audit_path[0] = STANDARD.encode([0u8; 32])),
            verifier.clone(),
        ),
        (
            "audit path element dropped",
            forge(&|proof| {
                proof.audit_path.pop();
            }),
            verifier.clone(),
        ),
        (
            "tree size changed",
            forge(&|proof| proof.tree_size = 299),
            verifier.clone(),
        ),
        (
            "checkpoint from another ledger",
            forge(&|proof| proof.checkpoint = impostor_proof.checkpoint.clone()),
            verifier.clone(),
        ),
        (
            "a whole proof from another ledger",
            impostor_proof.clone(),
            verifier.clone(),
        ),
        (
            "the right proof, another verifier",
            genuine.clone(),
            impostor_signer.verifier(),
        ),
    ];
    let mut accepted = Vec::new();
    for (what, proof, key) in &cases {
        if proof.verify(key).is_ok() {
            accepted.push(*what);
        }
    }
    assert!(accepted.is_empty(), "forged proofs accepted: {accepted:?}");
}

// ---------------------------------------------------------------------------
// Several writers
// ---------------------------------------------------------------------------

#[test]
fn two_handles_appending_in_turn_keep_the_ledger_verifiable() {
    let (_dir, path, mut first) = new_ledger();
    let mut second = Ledger::open(&path).unwrap().with_signer(signer()).unwrap();
    let mut line = 0;
    let mut expected_size = 0;
    // Batch sizes cross the stored-subtree boundaries (256, 512) from either handle.
    for (turn, size) in [100u64, 120, 50, 90, 200, 7, 1, 300].into_iter().enumerate() {
        let writer = if turn % 2 == 0 { &mut first } else { &mut second };
        expected_size += size;
        assert_eq!(
            check_append(writer, &records(line, size), size, 0),
            expected_size,
            "turn {turn}"
        );
        check_append(writer, &records(line, size), 0, size);
        line += size;
        // The other handle sees what this one wrote; its cached tree state is now stale,
        // and its next append must notice.
        let other = if turn % 2 == 0 { &second } else { &first };
        assert_eq!(other.size().unwrap(), expected_size);
    }
    check_verifies(&first);
    check_verifies(&second);
    let verifier = signer().verifier();
    for id in (0..expected_size).step_by(37) {
        check_proof(&first.prove(id).unwrap(), &verifier);
        check_proof(&second.prove(id).unwrap(), &verifier);
    }
}

// ---------------------------------------------------------------------------
// Opening
// ---------------------------------------------------------------------------

#[test]
fn create_refuses_an_existing_file_and_open_refuses_a_foreign_one() {
    let (dir, path, ledger) = new_ledger();
    drop(ledger);
    assert!(Ledger::create(&path, signer()).is_err());
    let foreign = dir.path().join("foreign.db");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER);")
        .unwrap();
    assert!(matches!(
        Ledger::open(&foreign),
        Err(ledger::LedgerError::NotALedger { .. })
    ));
    assert!(Ledger::open(Path::new("/nonexistent/ledger.db")).is_err());
}

#[test]
fn appending_needs_the_ledgers_own_key() {
    let (_dir, path, ledger) = new_ledger();
    drop(ledger);
    let stranger = NoteSigner::from_seed("dsomm-audit/stranger", [9u8; 32]).unwrap();
    assert!(matches!(
        Ledger::open(&path).unwrap().with_signer(stranger),
        Err(ledger::LedgerError::WrongKey { .. })
    ));
    let mut read_only = Ledger::open(&path).unwrap();
    assert!(read_only.append(&records(0, 1)).is_err(), "no signer, no append");
    assert_eq!(read_only.recorded_verifier(), &signer().verifier());
}
