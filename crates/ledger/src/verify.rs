//! `verify`: recompute every record's content hash and leaf from the stored
//! columns, rebuild the Merkle tree, check every stored subtree, every
//! checkpoint's root and signature, and every raw blob's digest.

use std::collections::HashMap;

use model::EvidenceKind;
use model::evidence::{LeafState, SourceParts, canonical_content};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::checkpoint::{Checkpoint, NoteVerifier};
use crate::merkle::{Frontier, Hash};
use crate::schema::STORED_LEVEL;
use crate::{Ledger, LedgerError, Result};

/// Failures listed at most (the first is the one that matters).
const MAX_FAILURES: usize = 50;

/// One thing that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyFailure {
    /// What failed: `record`, `checkpoint`, `tree_node`, `blob` or `key`.
    pub what: String,
    /// The record id, checkpoint size, or node index concerned.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    /// What is wrong.
    pub message: String,
}

/// The outcome of a full verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Whether everything holds.
    pub ok: bool,
    /// Records checked.
    pub records: u64,
    /// Checkpoints checked.
    pub checkpoints: u64,
    /// Raw blobs checked.
    pub blobs: u64,
    /// Bytes of canonical record content hashed.
    pub content_bytes: u64,
    /// Size of the latest checkpoint.
    pub tree_size: u64,
    /// Root hash of the recomputed tree (hex).
    pub root: String,
    /// What does not hold, first failure first.
    pub failures: Vec<VerifyFailure>,
    /// What an interrupted ingest left unfinished (does not fail `ok`).
    pub warnings: Vec<VerifyFailure>,
}

/// What the blob thread found.
struct BlobCheck {
    blobs: u64,
    failures: Vec<VerifyFailure>,
    /// Hex digests of complete blobs.
    complete: std::collections::HashSet<String>,
    /// Hex digests of chunks without a completed blob.
    partial: std::collections::HashSet<String>,
    /// Hex digests of blobs that records already name but that are not complete
    /// (a streamed input whose packing had not finished, or was interrupted).
    pending: std::collections::HashSet<String>,
}

/// Ends a read transaction when dropped.
struct ReadSnapshot<'a>(&'a rusqlite::Connection);

impl Drop for ReadSnapshot<'_> {
    fn drop(&mut self) {
        let _ = self.0.execute_batch("ROLLBACK");
    }
}

struct Failures(Vec<VerifyFailure>);

impl Failures {
    fn push(&mut self, what: &str, id: Option<u64>, message: String) {
        if self.0.len() < MAX_FAILURES {
            self.0.push(VerifyFailure {
                what: what.to_string(),
                id,
                message,
            });
        }
    }
}

impl Ledger {
    /// Verify the whole ledger against `verifier` (the operator's copy of the
    /// ledger's public key; pass the recorded one only when no other exists).
    pub fn verify(&self, verifier: &NoteVerifier) -> Result<VerifyReport> {
        self.verify_with(verifier, false)
    }

    /// [`Ledger::verify`], and with `deep` also decompress every raw blob and
    /// re-hash its original bytes (slower; the default checks the signed hash
    /// of the stored compressed bytes).
    pub fn verify_with(&self, verifier: &NoteVerifier, deep: bool) -> Result<VerifyReport> {
        let sql = self.sql();
        // Every read below sees one snapshot of the ledger, so a batch that
        // another process commits meanwhile is either wholly seen or not at all.
        self.conn.execute_batch("BEGIN DEFERRED").map_err(&sql)?;
        let _snapshot = ReadSnapshot(&self.conn);
        let mut failures = Failures(Vec::new());
        if verifier != &self.verifier {
            failures.push(
                "key",
                None,
                format!(
                    "the ledger records verifier key `{}`, not the given `{}`",
                    self.verifier.to_text(),
                    verifier.to_text()
                ),
            );
        }

        // Checkpoints, smallest first.
        let mut checkpoints: Vec<(u64, Hash, String)> = Vec::new();
        // Every stored checkpoint size, with its time when its signature holds.
        let mut batch_times: Vec<(u64, Option<String>)> = Vec::new();
        {
            let mut statement = self
                .conn
                .prepare("SELECT tree_size, root, note FROM checkpoint ORDER BY tree_size")
                .map_err(&sql)?;
            let mut rows = statement.query([]).map_err(&sql)?;
            while let Some(row) = rows.next().map_err(&sql)? {
                let size: u64 = row.get(0).map_err(&sql)?;
                let root: Vec<u8> = row.get(1).map_err(&sql)?;
                let note: String = row.get(2).map_err(&sql)?;
                let parsed = verifier
                    .verify_note(&note)
                    .map_err(|error| error.to_string())
                    .and_then(|body| Checkpoint::parse_body(body).map_err(|error| error.to_string()));
                batch_times.push((
                    size,
                    parsed
                        .as_ref()
                        .ok()
                        .map(|checkpoint: &Checkpoint| checkpoint.time.clone()),
                ));
                match parsed {
                    Err(message) => failures.push("checkpoint", Some(size), message),
                    Ok(checkpoint) if checkpoint.size != size || checkpoint.root.as_slice() != root.as_slice() => {
                        failures.push(
                            "checkpoint",
                            Some(size),
                            "the stored size or root differs from the signed note".into(),
                        );
                    }
                    Ok(checkpoint) => checkpoints.push((checkpoint.size, checkpoint.root, checkpoint.time)),
                }
            }
        }
        let tree_size = checkpoints.last().map_or(0, |(size, _, _)| *size);
        let stored_size = batch_times.last().map_or(0, |(size, _)| *size);

        // Stored subtrees.
        let mut stored_nodes: HashMap<(u32, u64), Hash> = HashMap::new();
        {
            let mut statement = self
                .conn
                .prepare("SELECT level, idx, hash FROM tree_node")
                .map_err(&sql)?;
            let mut rows = statement.query([]).map_err(&sql)?;
            while let Some(row) = rows.next().map_err(&sql)? {
                let level: u32 = row.get(0).map_err(&sql)?;
                let index: u64 = row.get(1).map_err(&sql)?;
                let hash: Vec<u8> = row.get(2).map_err(&sql)?;
                match Hash::try_from(hash.as_slice()) {
                    Ok(hash) => {
                        stored_nodes.insert((level, index), hash);
                    }
                    Err(_) => failures.push("tree_node", Some(index), format!("level {level}: malformed hash")),
                }
            }
        }

        // Source files.
        let mut sources: HashMap<i64, (String, String, String)> = HashMap::new();
        {
            let mut statement = self
                .conn
                .prepare("SELECT id, collector, origin, sha256 FROM source_file")
                .map_err(&sql)?;
            let mut rows = statement.query([]).map_err(&sql)?;
            while let Some(row) = rows.next().map_err(&sql)? {
                sources.insert(
                    row.get(0).map_err(&sql)?,
                    (
                        row.get(1).map_err(&sql)?,
                        row.get(2).map_err(&sql)?,
                        row.get(3).map_err(&sql)?,
                    ),
                );
            }
        }

        // Raw blobs, on their own connection and thread.
        let blob_path = self.path.clone();
        let blob_verifier = verifier.clone();
        let blob_thread = std::thread::spawn(move || -> Result<BlobCheck> {
            let conn = rusqlite::Connection::open_with_flags(&blob_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(|source| LedgerError::Sqlite {
                    path: blob_path.clone(),
                    source,
                })?;
            let sql = |source| LedgerError::Sqlite {
                path: blob_path.clone(),
                source,
            };
            // One snapshot for the blob checks too; it starts after the main
            // one, and blobs are never removed, so every blob complete in the
            // main snapshot is complete here.
            conn.execute_batch("BEGIN DEFERRED").map_err(&sql)?;
            let _snapshot = ReadSnapshot(&conn);
            let mut failures = Failures(Vec::new());
            let (blobs, complete) = verify_blobs(&conn, &blob_path, &blob_verifier, deep, &mut failures)?;
            let mut pending = std::collections::HashSet::new();
            let mut statement = conn.prepare("SELECT sha256 FROM blob_pending").map_err(&sql)?;
            let mut rows = statement.query([]).map_err(&sql)?;
            while let Some(row) = rows.next().map_err(&sql)? {
                let digest: String = row.get(0).map_err(&sql)?;
                pending.insert(digest.to_ascii_lowercase());
            }
            drop(rows);
            drop(statement);
            let mut partial = std::collections::HashSet::new();
            let mut statement = conn
                .prepare("SELECT DISTINCT sha256 FROM blob_chunk WHERE sha256 NOT IN (SELECT sha256 FROM blob)")
                .map_err(&sql)?;
            let mut rows = statement.query([]).map_err(&sql)?;
            while let Some(row) = rows.next().map_err(&sql)? {
                let digest: Vec<u8> = row.get(0).map_err(&sql)?;
                partial.insert(hex::encode(digest));
            }
            drop(rows);
            drop(statement);
            Ok(BlobCheck {
                blobs,
                failures: failures.0,
                complete,
                partial,
                pending,
            })
        });
        let source_digests: Vec<(i64, String)> = sources
            .iter()
            .map(|(id, (_, _, sha256))| (*id, sha256.to_ascii_lowercase()))
            .collect();

        // Records. This thread reads rows into chunks; a worker hashes chunks
        // (rebuilding each record's content and leaf), and when the worker is
        // behind this thread hashes the chunk itself, so both cores stay busy.
        // A third thread puts the leaves in order, rebuilds the tree and checks
        // stored subtrees and checkpoint roots.
        let context = std::sync::Arc::new(HashContext { sources, batch_times });
        let (work_sender, work_receiver) = crossbeam_channel::bounded::<Chunk>(2);
        let (result_sender, result_receiver) = crossbeam_channel::bounded::<ChunkResult>(8);
        let (recycle, recycled) = crossbeam_channel::bounded::<Chunk>(8);
        let worker = {
            let context = context.clone();
            let result_sender = result_sender.clone();
            let recycle = recycle.clone();
            std::thread::spawn(move || {
                for chunk in work_receiver {
                    let result = hash_chunk(&context, &chunk);
                    let _ = recycle.try_send(chunk.emptied());
                    if result_sender.send(result).is_err() {
                        break;
                    }
                }
            })
        };
        let checkpoint_list: Vec<(u64, Hash)> = checkpoints.iter().map(|(size, root, _)| (*size, *root)).collect();
        let tree = std::thread::spawn(move || build_tree(result_receiver, stored_nodes, checkpoint_list));
        let mut expected_id = 0u64;
        let mut records = 0u64;
        let mut sequence = 0u64;
        let mut chunk = Chunk::with_capacity(sequence);
        let dispatch = |full: Chunk| -> bool {
            match work_sender.try_send(full) {
                Ok(()) => true,
                Err(crossbeam_channel::TrySendError::Full(full)) => {
                    let result = hash_chunk(&context, &full);
                    let _ = recycle.try_send(full.emptied());
                    result_sender.send(result).is_ok()
                }
                Err(crossbeam_channel::TrySendError::Disconnected(_)) => false,
            }
        };
        let read_result: Result<()> = (|| {
            let mut statement = self
                .conn
                .prepare(
                    "SELECT id, kind, occurred_at, occurred_at_source, ingested_at, subject, source_id, \
                     source_line, source_pointer, attrs, leaf_hash, dedup_key FROM evidence ORDER BY id",
                )
                .map_err(&sql)?;
            let mut rows = statement.query([]).map_err(&sql)?;
            while let Some(row) = rows.next().map_err(&sql)? {
                let id: u64 = row.get(0).map_err(&sql)?;
                records += 1;
                if id != expected_id {
                    if id > expected_id {
                        failures.push(
                            "record",
                            Some(expected_id),
                            format!("records {expected_id}..{} are missing (deleted)", id - 1),
                        );
                    } else {
                        failures.push("record", Some(id), "record id out of order".into());
                    }
                }
                expected_id = id + 1;
                let bytes = |index: usize| -> &[u8] {
                    row.get_ref(index)
                        .ok()
                        .and_then(|value| value.as_bytes().ok())
                        .unwrap_or(b"\0")
                };
                let mut field = |index: usize| -> (usize, usize) {
                    let start = chunk.bytes.len();
                    chunk.bytes.extend_from_slice(bytes(index));
                    (start, chunk.bytes.len())
                };
                let fields = [field(1), field(2), field(3), field(4), field(5), field(9)];
                let pointer = match row.get_ref(8) {
                    Ok(rusqlite::types::ValueRef::Null) => None,
                    _ => Some(field(8)),
                };
                let stored_leaf = row
                    .get_ref(10)
                    .ok()
                    .and_then(|value| value.as_blob().ok())
                    .and_then(|bytes| Hash::try_from(bytes).ok());
                chunk.items.push(Item {
                    id,
                    fields,
                    pointer,
                    source_id: row.get(6).unwrap_or(-1),
                    dedup_key: row.get(11).ok(),
                    line: row.get(7).unwrap_or(None),
                    stored_leaf,
                });
                if chunk.items.len() >= CHUNK_RECORDS {
                    sequence += 1;
                    let mut next = recycled.try_recv().unwrap_or_else(|_| Chunk::with_capacity(sequence));
                    next.sequence = sequence;
                    if !dispatch(std::mem::replace(&mut chunk, next)) {
                        break;
                    }
                }
            }
            if !chunk.items.is_empty() {
                dispatch(std::mem::take(&mut chunk));
            }
            Ok(())
        })();
        drop(work_sender);
        drop(result_sender);
        drop(recycle);
        let _ = worker.join();
        let built = tree
            .join()
            .map_err(|_| LedgerError::Inconsistent("the verification thread failed".into()))?;
        read_result?;
        let (frontier, next_checkpoint, content_bytes) = (built.frontier, built.next_checkpoint, built.content_bytes);
        failures.0.extend(built.failures);
        for (level, index) in built.unvisited_nodes {
            let first = index << level;
            failures.push(
                "tree_node",
                Some(first),
                format!("subtree level {level} from record {first} lies beyond the records"),
            );
        }
        for (size, _, _) in &checkpoints[next_checkpoint.min(checkpoints.len())..] {
            failures.push(
                "checkpoint",
                Some(*size),
                format!(
                    "signed for {size} records but only {} are present (records deleted or truncated)",
                    frontier.size()
                ),
            );
        }
        if frontier.size() > stored_size {
            failures.push(
                "record",
                Some(stored_size),
                format!(
                    "{} records after the latest checkpoint (size {stored_size}) are not covered by any signature",
                    frontier.size() - stored_size
                ),
            );
        }
        let checked = blob_thread
            .join()
            .map_err(|_| LedgerError::Inconsistent("the blob verification thread failed".into()))??;
        let blobs = checked.blobs;
        failures.0.extend(checked.failures);
        // Every input that records came from keeps its raw bytes. A blob still
        // marked pending (the mark is written with the records and removed
        // with the blob's signed manifest) is what an interrupted ingest
        // leaves: re-running it completes the blob, so a warning. Chunks
        // without a manifest and without the mark were completed once and
        // their manifest removed since: a failure.
        let mut warnings = Vec::new();
        for (id, digest) in source_digests {
            if checked.complete.contains(&digest) {
                continue;
            }
            let unfinished = checked.pending.contains(&digest);
            let (what, message) = if unfinished {
                (
                    "blob",
                    format!("raw blob {digest} of source file {id} is incomplete (an interrupted ingest; re-run it)"),
                )
            } else if checked.partial.contains(&digest) {
                (
                    "blob",
                    format!(
                        "raw blob {digest} of source file {id} has chunks but no signed manifest, and no ingest left it pending: its manifest was removed"
                    ),
                )
            } else {
                ("blob", format!("raw blob {digest} of source file {id} is missing"))
            };
            let failure = VerifyFailure {
                what: what.into(),
                id: None,
                message,
            };
            if unfinished {
                warnings.push(failure);
            } else {
                failures.0.push(failure);
            }
        }
        // Records first (the first record that differs is what matters), then
        // blobs; subtree and checkpoint failures mostly follow from them.
        let rank = |what: &str| match what {
            "key" => 0,
            "record" => 1,
            "blob" => 2,
            "tree_node" => 3,
            _ => 4,
        };
        failures
            .0
            .sort_by_key(|failure| (rank(&failure.what), failure.id.unwrap_or(u64::MAX)));
        failures.0.truncate(MAX_FAILURES);
        let report = VerifyReport {
            ok: failures.0.is_empty(),
            records,
            checkpoints: checkpoints.len() as u64,
            blobs,
            content_bytes,
            tree_size,
            root: hex::encode(frontier.root()),
            failures: failures.0,
            warnings,
        };
        Ok(report)
    }
}

/// Check every raw blob: its manifest's signature and fields, its chunks'
/// sequence and the SHA-256 of the stored compressed bytes; with `deep`, also
/// decompress every chunk and check the original bytes' size and SHA-256.
fn verify_blobs(
    conn: &rusqlite::Connection,
    path: &str,
    verifier: &NoteVerifier,
    deep: bool,
    failures: &mut Failures,
) -> Result<(u64, std::collections::HashSet<String>)> {
    let sql = |source| LedgerError::Sqlite {
        path: path.to_string(),
        source,
    };
    let mut blobs = 0u64;
    let mut complete = std::collections::HashSet::new();
    let mut list = conn
        .prepare("SELECT sha256, size, chunks, stored_sha256, note FROM blob ORDER BY sha256")
        .map_err(&sql)?;
    let mut chunks = conn
        .prepare("SELECT seq, data FROM blob_chunk WHERE sha256 = ?1 ORDER BY seq")
        .map_err(&sql)?;
    let mut rows = list.query([]).map_err(&sql)?;
    while let Some(row) = rows.next().map_err(&sql)? {
        blobs += 1;
        let digest: Vec<u8> = row.get(0).map_err(&sql)?;
        let size: u64 = row.get(1).map_err(&sql)?;
        let count: u64 = row.get(2).map_err(&sql)?;
        let stored_digest: Vec<u8> = row.get(3).map_err(&sql)?;
        let note: String = row.get(4).map_err(&sql)?;
        let name = hex::encode(&digest);
        complete.insert(name.clone());
        let manifest = verifier.verify_note(&note).and_then(crate::blob::BlobManifest::parse);
        let mut problem = match manifest {
            Err(error) => Some(format!("manifest: {error}")),
            Ok(manifest)
                if manifest.sha256.as_slice() != digest.as_slice()
                    || manifest.size != size
                    || manifest.chunks != count
                    || manifest.stored_sha256.as_slice() != stored_digest.as_slice() =>
            {
                Some("its stored size, chunk count or digests differ from its signed manifest".into())
            }
            Ok(_) => None,
        };
        let mut stored_hasher = Sha256::new();
        let mut original_hasher = Sha256::new();
        let mut total = 0u64;
        let mut seen = 0u64;
        let mut chunk_rows = chunks.query([digest.as_slice()]).map_err(&sql)?;
        while let Some(chunk) = chunk_rows.next().map_err(&sql)? {
            let sequence: u64 = chunk.get(0).map_err(&sql)?;
            if sequence != seen {
                problem.get_or_insert(format!("chunk {seen} is missing"));
                break;
            }
            seen += 1;
            let data = chunk
                .get_ref(1)
                .ok()
                .and_then(|value| value.as_blob().ok())
                .unwrap_or(&[]);
            stored_hasher.update(data);
            if deep {
                match zstd::bulk::decompress(data, crate::blob::CHUNK_BYTES) {
                    Ok(bytes) => {
                        total += bytes.len() as u64;
                        original_hasher.update(&bytes);
                    }
                    Err(error) => {
                        problem.get_or_insert(format!("chunk {sequence} does not decompress: {error}"));
                        break;
                    }
                }
            }
        }
        if seen != count {
            problem.get_or_insert(format!("holds {seen} chunks, its manifest {count}"));
        }
        let stored: Hash = stored_hasher.finalize().into();
        if stored.as_slice() != stored_digest.as_slice() {
            problem.get_or_insert("its stored chunks do not hash to its signed manifest (replaced or edited)".into());
        }
        if deep {
            let original: Hash = original_hasher.finalize().into();
            if total != size || original.as_slice() != digest.as_slice() {
                problem.get_or_insert("its decompressed bytes do not hash to its name".into());
            }
        }
        if let Some(message) = problem {
            failures.push("blob", None, format!("raw blob {name}: {message}"));
        }
    }
    Ok((blobs, complete))
}

/// Records per chunk handed from the reader to the hashers.
const CHUNK_RECORDS: usize = 4096;

/// Records read but not yet hashed: their column bytes, copied as stored.
#[derive(Default)]
struct Chunk {
    sequence: u64,
    bytes: Vec<u8>,
    items: Vec<Item>,
}

impl Chunk {
    fn with_capacity(sequence: u64) -> Chunk {
        Chunk {
            sequence,
            bytes: Vec::with_capacity(CHUNK_RECORDS * 512),
            items: Vec::with_capacity(CHUNK_RECORDS),
        }
    }

    fn emptied(mut self) -> Chunk {
        self.bytes.clear();
        self.items.clear();
        self
    }
}

/// One record's columns: ranges into `Chunk::bytes` for kind, occurred_at,
/// occurred_at_source, ingested_at, subject and attrs.
struct Item {
    id: u64,
    fields: [(usize, usize); 6],
    pointer: Option<(usize, usize)>,
    source_id: i64,
    dedup_key: Option<i64>,
    line: Option<u64>,
    stored_leaf: Option<Hash>,
}

/// What hashing needs besides the rows.
struct HashContext {
    sources: HashMap<i64, (String, String, String)>,
    /// (tree size, time) of every stored checkpoint, smallest first; no time
    /// when its signature does not hold (reported on its own).
    batch_times: Vec<(u64, Option<String>)>,
}

/// The leaves of one chunk, in order, and what did not hold.
struct ChunkResult {
    sequence: u64,
    leaves: Vec<Hash>,
    content_bytes: u64,
    failures: Vec<VerifyFailure>,
}

fn eight(hash: &Hash, part: usize) -> [u8; 8] {
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hash[part * 8..part * 8 + 8]);
    bytes
}

/// Rebuild each record's canonical content from its columns, check its dedup
/// key, ingest time and stored leaf, and compute its leaf hash.
fn hash_chunk(context: &HashContext, chunk: &Chunk) -> ChunkResult {
    let missing_source = (String::new(), String::new(), String::new());
    let mut failures = Failures(Vec::new());
    let mut content = Vec::with_capacity(1024);
    let mut leaves = Vec::with_capacity(chunk.items.len());
    let mut content_bytes = 0u64;
    for item in &chunk.items {
        let text = |(start, end): (usize, usize)| std::str::from_utf8(&chunk.bytes[start..end]).unwrap_or("\u{0}");
        let bytes = |(start, end): (usize, usize)| &chunk.bytes[start..end];
        let [kind, occurred_at, occurred_at_source, ingested_at] =
            [item.fields[0], item.fields[1], item.fields[2], item.fields[3]].map(text);
        let (subject, attrs) = (bytes(item.fields[4]), bytes(item.fields[5]));
        if EvidenceKind::from_name(kind).is_none() {
            failures.push("record", Some(item.id), format!("unknown kind `{kind}`"));
        }
        let (collector, origin, sha256) = match context.sources.get(&item.source_id) {
            Some(source) => source,
            None => {
                failures.push(
                    "record",
                    Some(item.id),
                    format!("refers to source file {}, which is missing", item.source_id),
                );
                &missing_source
            }
        };
        // The ingest time is bound by the signed checkpoint of the record's
        // batch; a record without a time of its own carries the ingest time.
        let batch = context.batch_times.partition_point(|(size, _)| *size <= item.id);
        if let Some((_, Some(batch_time))) = context.batch_times.get(batch)
            && batch_time != ingested_at
        {
            failures.push(
                "record",
                Some(item.id),
                format!("ingested_at {ingested_at} differs from its batch's signed checkpoint time {batch_time}"),
            );
        }
        if occurred_at_source == "ingested" && occurred_at != ingested_at {
            failures.push(
                "record",
                Some(item.id),
                "occurred_at differs from ingested_at although the input stated no time".into(),
            );
        }
        let source = SourceParts {
            collector,
            origin,
            sha256,
            line: item.line,
            pointer: item.pointer.map(text),
        };
        let content_time = (occurred_at_source != "ingested").then_some(occurred_at);
        content.clear();
        canonical_content(
            kind,
            content_time,
            occurred_at_source,
            source,
            subject,
            attrs,
            &mut content,
        );
        content_bytes += content.len() as u64;
        let state = LeafState::new(&content);
        let key = state.content_key();
        // The first eight bytes, or the next ones after a (rare) prefix collision.
        let candidates = [0usize, 1, 2].map(|part| i64::from_be_bytes(eight(&key, part)));
        if !item.dedup_key.is_some_and(|stored| candidates.contains(&stored)) {
            failures.push(
                "record",
                Some(item.id),
                "its dedup_key does not match its content (the dedup index was edited)".into(),
            );
        }
        let leaf = state.leaf_hash(item.id);
        if item.stored_leaf != Some(leaf) {
            failures.push(
                "record",
                Some(item.id),
                "its stored fields do not hash to its leaf hash (the record was edited, moved or swapped)".into(),
            );
        }
        leaves.push(leaf);
    }
    ChunkResult {
        sequence: chunk.sequence,
        leaves,
        content_bytes,
        failures: failures.0,
    }
}

struct Built {
    frontier: Frontier,
    next_checkpoint: usize,
    content_bytes: u64,
    failures: Vec<VerifyFailure>,
    unvisited_nodes: Vec<(u32, u64)>,
}

/// Put chunk results in order, rebuild the tree, and compare stored subtrees
/// and every checkpoint's root.
fn build_tree(
    results: crossbeam_channel::Receiver<ChunkResult>,
    mut stored_nodes: HashMap<(u32, u64), Hash>,
    checkpoints: Vec<(u64, Hash)>,
) -> Built {
    let mut failures = Failures(Vec::new());
    let mut frontier = Frontier::new();
    let mut next_checkpoint = 0usize;
    let mut content_bytes = 0u64;
    let mut waiting: std::collections::BTreeMap<u64, ChunkResult> = std::collections::BTreeMap::new();
    let mut next_sequence = 0u64;
    let mut node_failures: Vec<(u32, u64, String)> = Vec::new();
    for result in results {
        waiting.insert(result.sequence, result);
        while let Some(result) = waiting.remove(&next_sequence) {
            next_sequence += 1;
            content_bytes += result.content_bytes;
            failures.0.extend(result.failures);
            for leaf in result.leaves {
                frontier.push(
                    leaf,
                    STORED_LEVEL,
                    &mut |node| match stored_nodes.remove(&(node.level, node.index)) {
                        Some(stored) if stored == node.hash => {}
                        Some(_) => {
                            node_failures.push((node.level, node.index, "differs from the recomputed subtree".into()))
                        }
                        None => node_failures.push((node.level, node.index, "is missing".into())),
                    },
                );
                for (level, index, message) in node_failures.drain(..) {
                    let first = index << level;
                    let last = first + (1u64 << level) - 1;
                    failures.push(
                        "tree_node",
                        Some(first),
                        format!("subtree level {level} over records {first}..={last} {message}"),
                    );
                }
                while let Some(&(size, root)) = checkpoints.get(next_checkpoint) {
                    if size != frontier.size() {
                        break;
                    }
                    if root != frontier.root() {
                        failures.push(
                            "checkpoint",
                            Some(size),
                            format!("the signed root for size {size} differs from the recomputed tree"),
                        );
                    }
                    next_checkpoint += 1;
                }
            }
        }
    }
    Built {
        frontier,
        next_checkpoint,
        content_bytes,
        failures: failures.0,
        unvisited_nodes: stored_nodes.into_keys().collect(),
    }
}
