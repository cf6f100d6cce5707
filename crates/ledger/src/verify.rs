//! `verify`: recompute every record's content hash and leaf from the stored
//! columns, rebuild the Merkle tree, check every stored subtree, every
//! checkpoint's root and signature, and every raw blob's digest.

use std::collections::HashMap;

use model::EvidenceKind;
use model::evidence::{SourceParts, canonical_content, content_sha256, leaf_encoding};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::checkpoint::{Checkpoint, NoteVerifier};
use crate::merkle::{self, Frontier, Hash};
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
        let sql = self.sql();
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
        let mut checkpoints: Vec<(u64, Hash)> = Vec::new();
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
                match parsed {
                    Err(message) => failures.push("checkpoint", Some(size), message),
                    Ok(checkpoint) if checkpoint.size != size || checkpoint.root.as_slice() != root.as_slice() => {
                        failures.push(
                            "checkpoint",
                            Some(size),
                            "the stored size or root differs from the signed note".into(),
                        );
                    }
                    Ok(checkpoint) => checkpoints.push((checkpoint.size, checkpoint.root)),
                }
            }
        }
        let tree_size = checkpoints.last().map_or(0, |(size, _)| *size);

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
        let blob_thread = std::thread::spawn(move || -> Result<(u64, Vec<VerifyFailure>)> {
            let conn = rusqlite::Connection::open_with_flags(&blob_path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
                .map_err(|source| LedgerError::Sqlite {
                    path: blob_path.clone(),
                    source,
                })?;
            let mut failures = Failures(Vec::new());
            let blobs = verify_blobs(&conn, &blob_path, &mut failures)?;
            Ok((blobs, failures.0))
        });

        // Records: this thread reads rows and rebuilds each record's canonical
        // content; a second thread hashes, rebuilds the tree and checks it.
        let (sender, receiver) = crossbeam_channel::bounded::<Chunk>(4);
        // Emptied chunks come back for reuse, so the reader does not keep
        // allocating (and page-faulting) fresh buffers.
        let (recycle, recycled) = crossbeam_channel::bounded::<Chunk>(8);
        let checkpoint_list = checkpoints.clone();
        let hasher =
            std::thread::spawn(move || hash_records(receiver, recycle, stored_nodes, checkpoint_list, sources));
        let mut expected_id = 0u64;
        let mut records = 0u64;
        let mut chunk = Chunk::with_capacity();
        let read_result: Result<()> = (|| {
            // Memory-mapped reads avoid copying every page through the page cache.
            let _ = self.conn.pragma_update(None, "mmap_size", 1i64 << 40);
            let mut statement = self
                .conn
                .prepare(
                    "SELECT id, kind, occurred_at, occurred_at_source, ingested_at, subject, source_id, \
                     source_line, source_pointer, attrs, leaf_hash FROM evidence ORDER BY id",
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
                    line: row.get(7).unwrap_or(None),
                    stored_leaf,
                });
                if chunk.items.len() >= CHUNK_RECORDS {
                    let next = recycled.try_recv().unwrap_or_else(|_| Chunk::with_capacity());
                    if sender.send(std::mem::replace(&mut chunk, next)).is_err() {
                        break;
                    }
                }
            }
            if !chunk.items.is_empty() {
                let _ = sender.send(std::mem::take(&mut chunk));
            }
            Ok(())
        })();
        drop(sender);
        let hashed = hasher
            .join()
            .map_err(|_| LedgerError::Inconsistent("the verification thread failed".into()))?;
        read_result?;
        let (frontier, next_checkpoint, content_bytes) =
            (hashed.frontier, hashed.next_checkpoint, hashed.content_bytes);
        failures.0.extend(hashed.failures);
        for (level, index) in hashed.unvisited_nodes {
            failures.push(
                "tree_node",
                Some(index),
                format!("subtree level {level} beyond the records"),
            );
        }
        for (size, _) in &checkpoints[next_checkpoint.min(checkpoints.len())..] {
            failures.push(
                "checkpoint",
                Some(*size),
                format!(
                    "signed for {size} records but only {} are present (records deleted or truncated)",
                    frontier.size()
                ),
            );
        }
        if frontier.size() > tree_size {
            failures.push(
                "record",
                Some(tree_size),
                format!(
                    "{} records after the latest signed checkpoint (size {tree_size}) are not covered by any signature",
                    frontier.size() - tree_size
                ),
            );
        }
        let (blobs, blob_failures) = blob_thread
            .join()
            .map_err(|_| LedgerError::Inconsistent("the blob verification thread failed".into()))??;
        failures.0.extend(blob_failures);
        failures.0.sort_by_key(|failure| failure.id.unwrap_or(u64::MAX));
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
        };
        Ok(report)
    }
}

fn verify_blobs(conn: &rusqlite::Connection, path: &str, failures: &mut Failures) -> Result<u64> {
    let sql = |source| LedgerError::Sqlite {
        path: path.to_string(),
        source,
    };
    let mut blobs = 0u64;
    let mut list = conn
        .prepare("SELECT sha256, size, chunks FROM blob ORDER BY sha256")
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
        let name = hex::encode(&digest);
        let mut hasher = Sha256::new();
        let mut total = 0u64;
        let mut seen = 0u64;
        let mut problem = None;
        let mut chunk_rows = chunks.query([digest.as_slice()]).map_err(&sql)?;
        while let Some(chunk) = chunk_rows.next().map_err(&sql)? {
            let sequence: u64 = chunk.get(0).map_err(&sql)?;
            if sequence != seen {
                problem = Some(format!("chunk {seen} is missing"));
                break;
            }
            seen += 1;
            let data = chunk
                .get_ref(1)
                .ok()
                .and_then(|value| value.as_blob().ok())
                .unwrap_or(&[]);
            match zstd::bulk::decompress(data, crate::blob::CHUNK_BYTES) {
                Ok(bytes) => {
                    total += bytes.len() as u64;
                    hasher.update(&bytes);
                }
                Err(error) => {
                    problem = Some(format!("chunk {sequence} does not decompress: {error}"));
                    break;
                }
            }
        }
        let actual: Hash = hasher.finalize().into();
        if problem.is_none() && (seen != count || total != size) {
            problem = Some(format!(
                "holds {seen} chunks / {total} bytes, recorded {count} / {size}"
            ));
        }
        if problem.is_none() && actual.as_slice() != digest.as_slice() {
            problem = Some("its bytes do not hash to its name (replaced or edited)".into());
        }
        if let Some(message) = problem {
            failures.push("blob", None, format!("raw blob {name}: {message}"));
        }
    }
    Ok(blobs)
}

/// Records per chunk handed from the reader to the hasher.
const CHUNK_RECORDS: usize = 4096;

/// Records read but not yet hashed: their column bytes, copied as stored.
#[derive(Default)]
struct Chunk {
    bytes: Vec<u8>,
    items: Vec<Item>,
}

impl Chunk {
    fn with_capacity() -> Chunk {
        Chunk {
            bytes: Vec::with_capacity(CHUNK_RECORDS * 512),
            items: Vec::with_capacity(CHUNK_RECORDS),
        }
    }
}

/// One record's columns: ranges into `Chunk::bytes` for kind, occurred_at,
/// occurred_at_source, ingested_at, subject and attrs.
struct Item {
    id: u64,
    fields: [(usize, usize); 6],
    pointer: Option<(usize, usize)>,
    source_id: i64,
    line: Option<u64>,
    stored_leaf: Option<Hash>,
}

struct Hashed {
    frontier: Frontier,
    next_checkpoint: usize,
    content_bytes: u64,
    failures: Vec<VerifyFailure>,
    unvisited_nodes: Vec<(u32, u64)>,
}

/// Hash every record's content and leaf, compare with the stored leaf, rebuild
/// the tree, compare stored subtrees and every checkpoint's root.
fn hash_records(
    receiver: crossbeam_channel::Receiver<Chunk>,
    recycle: crossbeam_channel::Sender<Chunk>,
    mut stored_nodes: HashMap<(u32, u64), Hash>,
    checkpoints: Vec<(u64, Hash)>,
    sources: HashMap<i64, (String, String, String)>,
) -> Hashed {
    let missing_source = (String::new(), String::new(), String::new());
    let mut content = Vec::with_capacity(1024);
    let mut failures = Failures(Vec::new());
    let mut frontier = Frontier::new();
    let mut next_checkpoint = 0usize;
    let mut content_bytes = 0u64;
    let mut leaf_buffer = Vec::with_capacity(192);
    let mut node_failures: Vec<(u32, u64, String)> = Vec::new();
    for chunk in receiver {
        for item in &chunk.items {
            let text = |(start, end): (usize, usize)| std::str::from_utf8(&chunk.bytes[start..end]).unwrap_or("\u{0}");
            let [kind, occurred_at, occurred_at_source, ingested_at, subject, attrs] = item.fields.map(text);
            if EvidenceKind::from_name(kind).is_none() {
                failures.push("record", Some(item.id), format!("unknown kind `{kind}`"));
            }
            let (collector, origin, sha256) = match sources.get(&item.source_id) {
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
            let digest = content_sha256(&content);
            leaf_encoding(&digest, item.id, ingested_at, occurred_at, &mut leaf_buffer);
            let leaf = merkle::leaf_hash(&leaf_buffer);
            if item.stored_leaf != Some(leaf) {
                failures.push(
                    "record",
                    Some(item.id),
                    "its stored fields do not hash to its leaf hash (the record was edited, moved or swapped)".into(),
                );
            }
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
        let mut emptied = chunk;
        emptied.bytes.clear();
        emptied.items.clear();
        let _ = recycle.try_send(emptied);
    }
    Hashed {
        frontier,
        next_checkpoint,
        content_bytes,
        failures: failures.0,
        unvisited_nodes: stored_nodes.into_keys().collect(),
    }
}

impl From<LedgerError> for VerifyFailure {
    fn from(error: LedgerError) -> Self {
        VerifyFailure {
            what: "ledger".into(),
            id: None,
            message: error.to_string(),
        }
    }
}
