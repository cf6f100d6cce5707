//! Opening, creating and appending to the ledger.

use std::path::Path;

use jiff::Timestamp;
use std::collections::HashMap;

use model::CanonicalRecord;
use model::evidence::{SourceParts, canonical_content, content_sha256};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::checkpoint::{Checkpoint, NoteSigner, NoteVerifier};
use crate::merkle::{self, CompletedNode, Frontier, Hash};
use crate::schema::{CREATE, SCHEMA_VERSION, STORED_LEVEL};
use crate::{LedgerError, Result};

/// What one append did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendSummary {
    /// Records added.
    pub added: u64,
    /// Records already present (same content).
    pub duplicates: u64,
    /// Tree size after the batch (the highest committed id is `tree_size - 1`).
    pub tree_size: u64,
}

/// An open ledger.
pub struct Ledger {
    pub(crate) conn: Connection,
    pub(crate) path: String,
    pub(crate) verifier: NoteVerifier,
    signer: Option<NoteSigner>,
    frontier: Option<Frontier>,
    source_ids: HashMap<(String, String, String), i64>,
    unsynced_pages: u64,
    background_checkpoints: Option<crossbeam_channel::Sender<()>>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Ledger")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

/// Whether SQLite failed because of the environment (I/O, a full disk, a
/// lock, permissions, memory) rather than because the file is not a ledger.
fn is_environment_failure(error: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(
        error.sqlite_error_code(),
        Some(
            SystemIoFailure
                | DiskFull
                | CannotOpen
                | DatabaseBusy
                | DatabaseLocked
                | ReadOnly
                | PermissionDenied
                | OutOfMemory
                | FileLockingProtocolFailed
        )
    )
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(120))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "cache_size", -65536)?;
    // Checkpoints are run by `append` every CHECKPOINT_PAGES pages and when the
    // ledger is closed, instead of after every commit.
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    Ok(())
}

impl Ledger {
    pub(crate) fn sql(&self) -> impl Fn(rusqlite::Error) -> LedgerError + '_ {
        |source| LedgerError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    /// Create a new, empty ledger at `path` whose checkpoints `signer` signs.
    /// Refuses to touch an existing file.
    pub fn create(path: &Path, signer: NoteSigner) -> Result<Ledger> {
        let display = path.display().to_string();
        let sql = |source| LedgerError::Sqlite {
            path: display.clone(),
            source,
        };
        if path.exists() {
            return Err(LedgerError::NotALedger {
                path: display,
                reason: "the file already exists; refusing to overwrite it".into(),
            });
        }
        let mut conn = Connection::open(path).map_err(sql)?;
        // Larger pages halve the per-page work of appends and sequential scans.
        conn.pragma_update(None, "page_size", PAGE_SIZE).map_err(sql)?;
        configure(&conn).map_err(sql)?;
        let transaction = conn.transaction().map_err(sql)?;
        transaction.execute_batch(CREATE).map_err(sql)?;
        let verifier = signer.verifier();
        for (key, value) in [
            ("schema_version", SCHEMA_VERSION.to_string()),
            ("origin", signer.name().to_string()),
            ("verifier_key", verifier.to_text()),
            ("created_at", model::time::format_time(Timestamp::now())),
        ] {
            transaction
                .execute("INSERT INTO meta (key, value) VALUES (?1, ?2)", params![key, value])
                .map_err(sql)?;
        }
        transaction.commit().map_err(sql)?;
        Ok(Ledger {
            conn,
            path: display,
            verifier,
            signer: Some(signer),
            frontier: Some(Frontier::new()),
            source_ids: HashMap::new(),
            unsynced_pages: 0,
            background_checkpoints: None,
        })
    }

    /// Open an existing ledger (for reading, proving and verifying).
    pub fn open(path: &Path) -> Result<Ledger> {
        let display = path.display().to_string();
        if !path.is_file() {
            return Err(LedgerError::NotALedger {
                path: display,
                reason: "no such file (run `dsomm-audit init` first)".into(),
            });
        }
        let sql = |source| LedgerError::Sqlite {
            path: display.clone(),
            source,
        };
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .or_else(|_| Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY))
        .map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(120)).map_err(sql)?;
        let _ = configure(&conn);
        let meta = |key: &str| -> Result<Option<String>> {
            conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| row.get(0))
                .optional()
                .map_err(|source| {
                    if is_environment_failure(&source) {
                        // The disk, the file system or another process is at
                        // fault, not the file's contents: say what SQLite said.
                        LedgerError::Sqlite {
                            path: display.clone(),
                            source,
                        }
                    } else {
                        LedgerError::NotALedger {
                            path: display.clone(),
                            reason: format!("cannot read its meta table: {source}"),
                        }
                    }
                })
        };
        match meta("schema_version")? {
            Some(version) if version == SCHEMA_VERSION => {}
            Some(version) => {
                return Err(LedgerError::NotALedger {
                    path: display,
                    reason: format!("schema version {version} is not supported (expected {SCHEMA_VERSION})"),
                });
            }
            None => {
                return Err(LedgerError::NotALedger {
                    path: display,
                    reason: "no schema version".into(),
                });
            }
        }
        let verifier = meta("verifier_key")?.ok_or_else(|| LedgerError::NotALedger {
            path: display.clone(),
            reason: "no verifier key".into(),
        })?;
        let verifier = NoteVerifier::parse(&verifier)?;
        // Ledgers made before `blob_pending` existed gain it (a no-op otherwise;
        // a read-only ledger simply does not).
        let _ = conn.execute_batch("CREATE TABLE IF NOT EXISTS blob_pending (sha256 TEXT PRIMARY KEY) WITHOUT ROWID");
        Ok(Ledger {
            conn,
            path: display,
            verifier,
            signer: None,
            frontier: None,
            source_ids: HashMap::new(),
            unsynced_pages: 0,
            background_checkpoints: None,
        })
    }

    /// Attach the signing key, which appending needs. It must be the ledger's key.
    pub fn with_signer(mut self, signer: NoteSigner) -> Result<Ledger> {
        if signer.verifier() != self.verifier {
            return Err(LedgerError::WrongKey {
                key: signer.name().to_string(),
                ledger: self.verifier.name().to_string(),
            });
        }
        self.signer = Some(signer);
        Ok(self)
    }

    /// The signing key, when attached.
    pub(crate) fn signer(&self) -> Option<NoteSigner> {
        self.signer.clone()
    }

    /// The verifier key recorded in the ledger (checked by `verify` against the operator's copy).
    pub fn recorded_verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// The database path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The latest signed checkpoint and its note text.
    pub fn latest_checkpoint(&self) -> Result<Option<(Checkpoint, String)>> {
        let row: Option<String> = self
            .conn
            .query_row(
                "SELECT note FROM checkpoint ORDER BY tree_size DESC LIMIT 1",
                [],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.sql())?;
        match row {
            None => Ok(None),
            Some(note) => {
                let body = self.verifier.verify_note(&note)?;
                Ok(Some((Checkpoint::parse_body(body)?, note)))
            }
        }
    }

    /// Number of records committed (the size of the latest checkpoint).
    pub fn size(&self) -> Result<u64> {
        committed_size(&self.conn).map_err(self.sql())
    }

    /// The hash of the leaves `[start, start + len)`, from stored subtrees and leaf hashes.
    pub(crate) fn range_hash(&self, start: u64, len: u64) -> Result<Hash> {
        range_hash(&self.conn, start, len).map_err(|error| match error {
            RangeError::Sql(source) => LedgerError::Sqlite {
                path: self.path.clone(),
                source,
            },
            RangeError::Missing(what) => LedgerError::Inconsistent(what),
        })
    }

    /// Append a batch atomically: the records and a signed checkpoint commit
    /// together or not at all. Records whose content is already present are
    /// counted as duplicates and not added. Waits (up to two minutes) while
    /// another process writes.
    pub fn append(&mut self, records: &[CanonicalRecord]) -> Result<AppendSummary> {
        let signer = self.signer.clone().ok_or_else(|| LedgerError::WrongKey {
            key: "(none)".into(),
            ledger: self.verifier.name().to_string(),
        })?;
        let path = self.path.clone();
        let sql = |source| LedgerError::Sqlite {
            path: path.clone(),
            source,
        };
        let cached = self.frontier.take();
        let transaction = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sql)?;
        let size = committed_size(&transaction).map_err(sql)?;
        let last_id: Option<u64> = transaction
            .query_row("SELECT MAX(id) FROM evidence", [], |row| row.get(0))
            .map_err(sql)?;
        if last_id.map_or(0, |id| id + 1) != size {
            return Err(LedgerError::Inconsistent(format!(
                "the latest checkpoint covers {size} records but the highest record id is {last_id:?}"
            )));
        }
        let mut frontier = match cached {
            Some(frontier) if frontier.size() == size => frontier,
            _ => load_frontier(&transaction, size).map_err(|error| match error {
                RangeError::Sql(source) => sql(source),
                RangeError::Missing(what) => LedgerError::Inconsistent(what),
            })?,
        };
        let ingested_at = model::time::format_time(Timestamp::now());
        let mut summary = AppendSummary::default();
        let mut completed: Vec<CompletedNode> = Vec::new();
        let mut bytes = 0u64;
        {
            let mut insert_dedup = transaction
                .prepare_cached("INSERT INTO dedup (key, id) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING")
                .map_err(sql)?;
            let mut insert_overflow = transaction
                .prepare_cached(
                    "INSERT INTO dedup_overflow (content_sha256, id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                )
                .map_err(sql)?;
            let mut insert_evidence = transaction
                .prepare_cached(
                    "INSERT INTO evidence (id, kind, occurred_at, occurred_at_source, ingested_at, subject, \
                     source_id, source_line, source_pointer, attrs, dedup_key, leaf_hash) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) ON CONFLICT DO NOTHING",
                )
                .map_err(sql)?;
            let mut insert_node = transaction
                .prepare_cached("INSERT OR REPLACE INTO tree_node (level, idx, hash) VALUES (?1, ?2, ?3)")
                .map_err(sql)?;
            let mut same_key = transaction
                .prepare_cached("SELECT id FROM evidence WHERE kind = ?1 AND occurred_at = ?2 AND dedup_key = ?3")
                .map_err(sql)?;
            let lookup = |error| match error {
                RangeError::Sql(source) => sql(source),
                RangeError::Missing(what) => LedgerError::Inconsistent(what),
            };
            for record in records {
                let id = frontier.size();
                let state = &record.leaf_state;
                let content_key = state.content_key();
                let timed = record.occurred_at.is_some();
                let occurred_at = record.occurred_at.as_deref().unwrap_or(&ingested_at);
                // Records without a time of their own are deduplicated through the
                // `dedup` table; timed records through the unique index on
                // (kind, occurred_at, dedup_key), in the same insert.
                let mut key = dedup_key(&content_key, 0);
                if !timed && insert_dedup.execute(params![key, id]).map_err(sql)? == 0 {
                    let existing_id: u64 = transaction
                        .query_row("SELECT id FROM dedup WHERE key = ?1", [key], |row| row.get(0))
                        .map_err(sql)?;
                    let existing = content_of(&transaction, existing_id).map_err(lookup)?;
                    if existing == content_key
                        || insert_overflow
                            .execute(params![content_key.as_slice(), id])
                            .map_err(sql)?
                            == 0
                    {
                        summary.duplicates += 1;
                        continue;
                    }
                }
                let source_id = source_id(&transaction, &mut self.source_ids, record).map_err(sql)?;
                let leaf = state.leaf_hash(id);
                let mut inserted = false;
                for attempt in 0..3 {
                    key = dedup_key(&content_key, attempt);
                    let changed = insert_evidence
                        .execute(params![
                            id,
                            record.kind.as_str(),
                            occurred_at,
                            record.occurred_at_source.as_str(),
                            ingested_at,
                            record.subject,
                            source_id,
                            record.source.line,
                            record.source.pointer,
                            record.attrs,
                            key,
                            leaf.as_slice(),
                        ])
                        .map_err(sql)?;
                    if changed == 1 {
                        inserted = true;
                        break;
                    }
                    // The same kind, time and key prefix exist: the same content
                    // (a duplicate), or a 64-bit prefix collision (try the next 8 bytes).
                    let existing_id: u64 = same_key
                        .query_row(params![record.kind.as_str(), occurred_at, key], |row| row.get(0))
                        .map_err(sql)?;
                    if content_of(&transaction, existing_id).map_err(lookup)? == content_key {
                        break;
                    }
                }
                if !inserted {
                    summary.duplicates += 1;
                    continue;
                }
                bytes += (record.subject.len() + record.attrs.len() + 128) as u64;
                frontier.push(leaf, STORED_LEVEL, &mut |node| completed.push(node));
                for node in completed.drain(..) {
                    insert_node
                        .execute(params![node.level, node.index, node.hash.as_slice()])
                        .map_err(sql)?;
                }
                summary.added += 1;
            }
        }
        if summary.added > 0 {
            let checkpoint = Checkpoint {
                origin: self.verifier.name().to_string(),
                size: frontier.size(),
                root: frontier.root(),
                time: ingested_at.clone(),
            };
            let note = signer.sign_note(&checkpoint.body());
            transaction
                .execute(
                    "INSERT INTO checkpoint (tree_size, root, created_at, note) VALUES (?1, ?2, ?3, ?4)",
                    params![checkpoint.size, checkpoint.root.as_slice(), ingested_at, note],
                )
                .map_err(sql)?;
        }
        transaction.commit().map_err(sql)?;
        summary.tree_size = frontier.size();
        self.frontier = Some(frontier);
        self.unsynced_pages += bytes / 4096 + 1;
        if let Some(signal) = &self.background_checkpoints {
            // A background checkpointer copies the log; just tell it there is work.
            let _ = signal.try_send(());
        } else if self.unsynced_pages >= CHECKPOINT_PAGES {
            self.checkpoint_wal()?;
        }
        Ok(summary)
    }

    /// Run write-ahead-log checkpoints on a thread of their own (with its own
    /// connection) while this handle appends, instead of on the appending
    /// thread. The returned guard stops the thread when dropped; call
    /// [`Ledger::checkpoint_wal`] afterwards to fold in what remains.
    pub fn background_checkpoints(&mut self) -> Result<BackgroundCheckpoints> {
        let conn = Connection::open(&self.path).map_err(self.sql())?;
        conn.busy_timeout(std::time::Duration::from_secs(120))
            .map_err(self.sql())?;
        let (signal, signals) = crossbeam_channel::bounded::<()>(1);
        let thread = std::thread::spawn(move || {
            for () in signals {
                // PASSIVE copies the log while the writer goes on appending.
                // Once most of it is copied, RESTART copies the rest and lets
                // the next transaction write the log from its start again
                // (the writer waits only for that short tail), so the log
                // stays small instead of growing through the whole ingest.
                let passive = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
                    Ok((row.get::<_, i64>(1)?, row.get::<_, i64>(2)?))
                });
                if let Ok((log, copied)) = passive
                    && log >= RESTART_FRAMES
                    && log - copied < RESTART_FRAMES / 4
                {
                    let _ = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()));
                }
            }
        });
        self.background_checkpoints = Some(signal);
        Ok(BackgroundCheckpoints { thread: Some(thread) })
    }

    /// Stop using a background checkpointer (its guard ends the thread).
    pub fn stop_background_checkpoints(&mut self) {
        self.background_checkpoints = None;
    }

    /// Copy the write-ahead log into the database file (a passive SQLite
    /// checkpoint: it never blocks readers or other writers).
    pub fn checkpoint_wal(&mut self) -> Result<()> {
        self.unsynced_pages = 0;
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .map_err(self.sql())
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        if self.unsynced_pages > 0 {
            let _ = self.checkpoint_wal();
        }
    }
}

/// Log frames (pages) after which the background checkpointer restarts the log.
const RESTART_FRAMES: i64 = 2_048;

/// A background checkpoint thread (see [`Ledger::background_checkpoints`]).
pub struct BackgroundCheckpoints {
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for BackgroundCheckpoints {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("BackgroundCheckpoints")
    }
}

impl BackgroundCheckpoints {
    /// Wait for the thread to finish (after the ledger stopped signalling it).
    pub fn finish(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Estimated 4 KiB pages written after which `append` checkpoints: keeping the
/// write-ahead log small (about 32 MiB) lets SQLite reuse it instead of growing
/// it, which measured a third faster than rare large checkpoints.
const CHECKPOINT_PAGES: u64 = 8_192;

/// SQLite page size of new ledgers: 16 KiB pages measured faster than 4 KiB
/// for both appends and `verify`'s sequential scan (docs/benchmarks.md).
const PAGE_SIZE: i64 = 16_384;

fn source_id(
    conn: &Connection,
    cache: &mut HashMap<(String, String, String), i64>,
    record: &CanonicalRecord,
) -> rusqlite::Result<i64> {
    let source = &record.source;
    // Records of one file share their source: look it up without allocating.
    if let Some((_, id)) = cache.iter().find(|((collector, origin, sha256), _)| {
        *sha256 == source.sha256 && *origin == source.origin && *collector == source.collector
    }) {
        return Ok(*id);
    }
    conn.execute(
        "INSERT INTO source_file (collector, origin, sha256) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![source.collector, source.origin, source.sha256],
    )?;
    // Records may commit before their input's raw blob is complete (a streamed
    // input is packed while it is read): mark the blob as expected, in the same
    // transaction, so `verify` can tell an unfinished blob from a missing one.
    conn.execute(
        "INSERT INTO blob_pending (sha256) SELECT ?1 WHERE NOT EXISTS \
         (SELECT 1 FROM blob WHERE hex(sha256) = upper(?1)) ON CONFLICT DO NOTHING",
        params![source.sha256],
    )?;
    let id: i64 = conn.query_row(
        "SELECT id FROM source_file WHERE collector = ?1 AND origin = ?2 AND sha256 = ?3",
        params![source.collector, source.origin, source.sha256],
        |row| row.get(0),
    )?;
    if cache.len() >= 64 {
        cache.clear();
    }
    cache.insert(
        (source.collector.clone(), source.origin.clone(), source.sha256.clone()),
        id,
    );
    Ok(id)
}

/// A dedup key: eight bytes of the content hash (`part` 0 = the first eight).
fn dedup_key(content: &Hash, part: usize) -> i64 {
    let mut prefix = [0u8; 8];
    prefix.copy_from_slice(&content[part * 8..part * 8 + 8]);
    i64::from_be_bytes(prefix)
}

/// Recompute the content hash of record `id` from its stored columns.
fn content_of(conn: &Connection, id: u64) -> Result<Hash, RangeError> {
    let mut statement = conn.prepare_cached(
        "SELECT e.kind, e.occurred_at, e.occurred_at_source, e.subject, s.collector, s.origin, s.sha256, \
         e.source_line, e.source_pointer, e.attrs FROM evidence e JOIN source_file s ON s.id = e.source_id \
         WHERE e.id = ?1",
    )?;
    let mut rows = statement.query([id])?;
    let row = rows
        .next()?
        .ok_or_else(|| RangeError::Missing(format!("record {id} is missing")))?;
    let text = |index: usize| -> rusqlite::Result<String> { row.get(index) };
    let occurred_at_source = text(2)?;
    let occurred_at = text(1)?;
    let pointer: Option<String> = row.get(8)?;
    let (collector, origin, sha256) = (text(4)?, text(5)?, text(6)?);
    let mut content = Vec::with_capacity(512);
    canonical_content(
        &text(0)?,
        (occurred_at_source != "ingested").then_some(occurred_at.as_str()),
        &occurred_at_source,
        SourceParts {
            collector: &collector,
            origin: &origin,
            sha256: &sha256,
            line: row.get(7)?,
            pointer: pointer.as_deref(),
        },
        text(3)?.as_bytes(),
        text(9)?.as_bytes(),
        &mut content,
    );
    Ok(content_sha256(&content))
}

pub(crate) fn committed_size(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row("SELECT COALESCE(MAX(tree_size), 0) FROM checkpoint", [], |row| {
        row.get(0)
    })
}

pub(crate) enum RangeError {
    Sql(rusqlite::Error),
    Missing(String),
}

impl From<rusqlite::Error> for RangeError {
    fn from(error: rusqlite::Error) -> Self {
        RangeError::Sql(error)
    }
}

fn leaf_hashes(conn: &Connection, start: u64, len: u64) -> Result<Vec<Hash>, RangeError> {
    let mut statement =
        conn.prepare_cached("SELECT id, leaf_hash FROM evidence WHERE id >= ?1 AND id < ?2 ORDER BY id")?;
    let mut rows = statement.query(params![start, start + len])?;
    let mut hashes = Vec::with_capacity(len as usize);
    while let Some(row) = rows.next()? {
        let id: u64 = row.get(0)?;
        let bytes: Vec<u8> = row.get(1)?;
        let hash: Hash = bytes
            .try_into()
            .map_err(|_| RangeError::Missing(format!("record {id} has a malformed leaf hash")))?;
        if id != start + hashes.len() as u64 {
            return Err(RangeError::Missing(format!(
                "record {} is missing",
                start + hashes.len() as u64
            )));
        }
        hashes.push(hash);
    }
    if hashes.len() as u64 != len {
        return Err(RangeError::Missing(format!(
            "record {} is missing",
            start + hashes.len() as u64
        )));
    }
    Ok(hashes)
}

fn stored_node(conn: &Connection, level: u32, index: u64) -> Result<Hash, RangeError> {
    let mut statement = conn.prepare_cached("SELECT hash FROM tree_node WHERE level = ?1 AND idx = ?2")?;
    let bytes: Option<Vec<u8>> = statement
        .query_row(params![level, index], |row| row.get(0))
        .optional()?;
    bytes
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| RangeError::Missing(format!("tree node level {level} index {index} is missing")))
}

/// Hash of leaves `[start, start + len)` (RFC 6962 MTH of that range).
pub(crate) fn range_hash(conn: &Connection, start: u64, len: u64) -> Result<Hash, RangeError> {
    let width = 1u64 << STORED_LEVEL;
    if len.is_power_of_two() && len >= width && start.is_multiple_of(len) {
        return stored_node(conn, len.trailing_zeros(), start / len);
    }
    if len <= width {
        return Ok(merkle::root_of(&leaf_hashes(conn, start, len)?));
    }
    let mut k = 1u64;
    while k << 1 < len {
        k <<= 1;
    }
    let left = range_hash(conn, start, k)?;
    let right = range_hash(conn, start + k, len - k)?;
    Ok(merkle::node_hash(&left, &right))
}

fn load_frontier(conn: &Connection, size: u64) -> Result<Frontier, RangeError> {
    let mut parts = Vec::new();
    for (level, start) in merkle::subtree_ranges(size) {
        parts.push((level, range_hash(conn, start, 1u64 << level)?));
    }
    Ok(Frontier::from_parts(size, parts))
}
