//! Content-addressed raw blobs: the original bytes of every input, stored as
//! zstd-compressed 1 MiB chunks under the SHA-256 of the original bytes.
//!
//! Each blob carries a manifest signed with the ledger key (a signed note
//! naming the original digest, size, chunk count and the SHA-256 of the stored
//! compressed chunks), so `verify` can check every stored byte by hashing the
//! compressed chunks; `verify --deep` also decompresses and re-hashes the
//! original bytes.

use std::io::Read;

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::checkpoint::NoteError;
use crate::merkle::Hash;
use crate::{Ledger, LedgerError, Result};

/// What a blob's signed manifest states.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobManifest {
    /// SHA-256 of the original bytes (the blob's name).
    pub sha256: Hash,
    /// Original size in bytes.
    pub size: u64,
    /// Number of stored chunks.
    pub chunks: u64,
    /// SHA-256 over the stored compressed chunks, in order.
    pub stored_sha256: Hash,
}

impl BlobManifest {
    /// The note body that is signed.
    pub fn body(&self) -> String {
        format!(
            "dsomm-audit raw blob\nsha256 {}\nsize {}\nchunks {}\nstored-sha256 {}\n",
            hex::encode(self.sha256),
            self.size,
            self.chunks,
            hex::encode(self.stored_sha256)
        )
    }

    /// Parse a (verified) note body.
    pub fn parse(body: &str) -> Result<BlobManifest, NoteError> {
        let bad = || NoteError::MalformedCheckpoint("malformed raw blob manifest".into());
        let mut lines = body.lines();
        if lines.next() != Some("dsomm-audit raw blob") {
            return Err(bad());
        }
        let mut field = |name: &str| lines.next().and_then(|line| line.strip_prefix(name)).ok_or_else(bad);
        let hash = |text: &str| -> Result<Hash, NoteError> {
            hex::decode(text)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(bad)
        };
        let sha256 = hash(field("sha256 ")?)?;
        let size = field("size ")?.parse().map_err(|_| bad())?;
        let chunks = field("chunks ")?.parse().map_err(|_| bad())?;
        let stored_sha256 = hash(field("stored-sha256 ")?)?;
        Ok(BlobManifest {
            sha256,
            size,
            chunks,
            stored_sha256,
        })
    }
}

/// Size of one uncompressed chunk.
pub const CHUNK_BYTES: usize = 1024 * 1024;
/// zstd level used for raw blobs (a fast level: about 3.5x on JSON evidence).
const LEVEL: i32 = -3;
/// Chunks written per transaction.
const CHUNKS_PER_TRANSACTION: u64 = 64;

/// Compresses input into stored chunks. It needs no database, so it can run on
/// the thread that reads the input; the ledger then stores what it packed.
pub struct BlobPacker {
    buffer: Vec<u8>,
    original: Sha256,
    stored: Sha256,
    sequence: u64,
    total: u64,
}

/// One compressed chunk, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedChunk {
    /// Position of the chunk (0, 1, 2, ...).
    pub sequence: u64,
    /// zstd-compressed bytes of up to [`CHUNK_BYTES`] original bytes.
    pub data: Vec<u8>,
}

/// What a finished packer saw: the blob's manifest (its `sha256` is the
/// digest of the bytes actually read).
pub type PackedBlob = BlobManifest;

impl Default for BlobPacker {
    fn default() -> Self {
        BlobPacker::new()
    }
}

impl BlobPacker {
    /// An empty packer.
    pub fn new() -> BlobPacker {
        BlobPacker {
            buffer: Vec::with_capacity(CHUNK_BYTES),
            original: Sha256::new(),
            stored: Sha256::new(),
            sequence: 0,
            total: 0,
        }
    }

    fn pack(&mut self) -> std::io::Result<PackedChunk> {
        let mut data = zstd::bulk::compress(&self.buffer, LEVEL)?;
        // zstd allocates for the worst case; keep only what was written.
        data.shrink_to_fit();
        self.stored.update(&data);
        self.buffer.clear();
        let chunk = PackedChunk {
            sequence: self.sequence,
            data,
        };
        self.sequence += 1;
        Ok(chunk)
    }

    /// Add bytes; returns the chunks completed by them.
    pub fn update(&mut self, mut bytes: &[u8]) -> std::io::Result<Vec<PackedChunk>> {
        self.original.update(bytes);
        self.total += bytes.len() as u64;
        let mut done = Vec::new();
        while !bytes.is_empty() {
            let room = CHUNK_BYTES - self.buffer.len();
            let take = room.min(bytes.len());
            self.buffer.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.buffer.len() == CHUNK_BYTES {
                done.push(self.pack()?);
            }
        }
        Ok(done)
    }

    /// Finish: the last chunk (always one for empty input) and the manifest.
    pub fn finish(mut self) -> std::io::Result<(Vec<PackedChunk>, PackedBlob)> {
        let last = if !self.buffer.is_empty() || self.sequence == 0 {
            vec![self.pack()?]
        } else {
            Vec::new()
        };
        let manifest = BlobManifest {
            sha256: self.original.finalize().into(),
            size: self.total,
            chunks: self.sequence,
            stored_sha256: self.stored.finalize().into(),
        };
        Ok((last, manifest))
    }
}

impl Ledger {
    /// Whether a complete blob with this digest is stored.
    pub fn has_blob(&self, sha256: &Hash) -> Result<bool> {
        self.conn
            .query_row("SELECT 1 FROM blob WHERE sha256 = ?1", [sha256.as_slice()], |_| Ok(()))
            .optional()
            .map(|found| found.is_some())
            .map_err(self.sql())
    }

    /// Store the bytes read from `reader`, which the caller has hashed to
    /// `sha256`. The digest is checked again while storing; a mismatch (the file
    /// changed underneath) stores nothing under the wrong name. Returns whether
    /// anything new was stored.
    pub fn store_blob(&self, sha256: &Hash, origin: &str, mut reader: impl Read) -> Result<bool> {
        if self.has_blob(sha256)? {
            return Ok(false);
        }
        let io = |source| LedgerError::Io {
            path: origin.to_string(),
            source,
        };
        let mut packer = BlobPacker::new();
        let mut pending = Vec::new();
        let mut buffer = vec![0u8; CHUNK_BYTES];
        loop {
            let read = match reader.read(&mut buffer) {
                Ok(read) => read,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(io(error)),
            };
            if read == 0 {
                break;
            }
            pending.extend(packer.update(&buffer[..read]).map_err(io)?);
            if pending.len() as u64 >= CHUNKS_PER_TRANSACTION {
                self.put_blob_chunks(sha256, &pending)?;
                pending.clear();
            }
        }
        let (last, manifest) = packer.finish().map_err(io)?;
        pending.extend(last);
        self.put_blob_chunks(sha256, &pending)?;
        self.finish_blob(sha256, origin, &manifest)?;
        Ok(true)
    }

    /// Store packed chunks of the blob `sha256` (one transaction).
    pub fn put_blob_chunks(&self, sha256: &Hash, chunks: &[PackedChunk]) -> Result<()> {
        let sql = self.sql();
        let transaction = self.conn.unchecked_transaction().map_err(&sql)?;
        {
            let mut insert = transaction
                .prepare_cached("INSERT OR REPLACE INTO blob_chunk (sha256, seq, data) VALUES (?1, ?2, ?3)")
                .map_err(&sql)?;
            for chunk in chunks {
                insert
                    .execute(params![sha256.as_slice(), chunk.sequence, chunk.data])
                    .map_err(&sql)?;
            }
        }
        transaction.commit().map_err(&sql)
    }

    /// Complete the blob `sha256` whose chunks are stored: when the bytes
    /// packed hash to `sha256`, sign its manifest and record it; otherwise
    /// remove the chunks and report that the input changed while it was read.
    pub fn finish_blob(&self, sha256: &Hash, origin: &str, manifest: &BlobManifest) -> Result<()> {
        let sql = self.sql();
        if &manifest.sha256 != sha256 {
            self.conn
                .execute("DELETE FROM blob_chunk WHERE sha256 = ?1", [sha256.as_slice()])
                .map_err(&sql)?;
            return Err(LedgerError::Io {
                path: origin.to_string(),
                source: std::io::Error::other("the input changed while it was being read"),
            });
        }
        let signer = self.signer().ok_or_else(|| LedgerError::WrongKey {
            key: "(none)".into(),
            ledger: self.verifier.name().to_string(),
        })?;
        let note = signer.sign_note(&manifest.body());
        // The signed manifest replaces the pending mark in one transaction: a
        // kill between the two never leaves chunks with neither (which
        // `verify` reports as a removed manifest).
        let transaction = self.conn.unchecked_transaction().map_err(&sql)?;
        transaction
            .execute("DELETE FROM blob_pending WHERE sha256 = ?1", [hex::encode(sha256)])
            .map_err(&sql)?;
        transaction
            .execute(
                "INSERT INTO blob (sha256, size, compression, chunks, stored_sha256, note) \
                 VALUES (?1, ?2, 'zstd', ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                params![
                    sha256.as_slice(),
                    manifest.size,
                    manifest.chunks,
                    manifest.stored_sha256.as_slice(),
                    note
                ],
            )
            .map_err(&sql)?;
        transaction.commit().map_err(&sql)?;
        Ok(())
    }

    /// The original bytes of a stored blob (whole; for display and export).
    pub fn read_blob(&self, sha256: &Hash) -> Result<Option<Vec<u8>>> {
        if !self.has_blob(sha256)? {
            return Ok(None);
        }
        let mut statement = self
            .conn
            .prepare("SELECT data FROM blob_chunk WHERE sha256 = ?1 ORDER BY seq")
            .map_err(self.sql())?;
        let mut rows = statement.query([sha256.as_slice()]).map_err(self.sql())?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(self.sql())? {
            let data: Vec<u8> = row.get(0).map_err(self.sql())?;
            let chunk = zstd::bulk::decompress(&data, CHUNK_BYTES).map_err(|source| LedgerError::Io {
                path: format!("blob {}", hex::encode(sha256)),
                source,
            })?;
            out.extend_from_slice(&chunk);
        }
        Ok(Some(out))
    }
}
