//! Content-addressed raw blobs: the original bytes of every input, stored as
//! zstd-compressed 1 MiB chunks under the SHA-256 of the original bytes.

use std::io::Read;

use rusqlite::{OptionalExtension, params};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;
use crate::{Ledger, LedgerError, Result};

/// Size of one uncompressed chunk.
pub const CHUNK_BYTES: usize = 1024 * 1024;
/// zstd level used for raw blobs (a fast level: about 3.5x on JSON evidence).
const LEVEL: i32 = -3;
/// Chunks written per transaction.
const CHUNKS_PER_TRANSACTION: u64 = 64;

/// A blob being stored in steps (see [`Ledger::begin_blob`]).
pub struct BlobWriter<R> {
    digest: Hash,
    origin: String,
    reader: R,
    hasher: Sha256,
    sequence: u64,
    total: u64,
    buffer: Vec<u8>,
    finished: bool,
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
    pub fn store_blob(&self, sha256: &Hash, origin: &str, reader: impl Read) -> Result<bool> {
        let Some(mut writer) = self.begin_blob(sha256, origin, reader)? else {
            return Ok(false);
        };
        while !self.blob_step(&mut writer, CHUNKS_PER_TRANSACTION)? {}
        Ok(true)
    }

    /// Start storing a blob in steps (so that a writer can interleave it with
    /// appends); `None` when it is already stored.
    pub fn begin_blob<R: Read>(&self, sha256: &Hash, origin: &str, reader: R) -> Result<Option<BlobWriter<R>>> {
        if self.has_blob(sha256)? {
            return Ok(None);
        }
        Ok(Some(BlobWriter {
            digest: *sha256,
            origin: origin.to_string(),
            reader,
            hasher: Sha256::new(),
            sequence: 0,
            total: 0,
            buffer: vec![0u8; CHUNK_BYTES],
            finished: false,
        }))
    }

    /// Store up to `chunks` more chunks in one transaction; returns `true` once
    /// the whole blob is stored (its `blob` row commits with the last chunk).
    pub fn blob_step<R: Read>(&self, writer: &mut BlobWriter<R>, chunks: u64) -> Result<bool> {
        if writer.finished {
            return Ok(true);
        }
        let io = |source| LedgerError::Io {
            path: writer.origin.clone(),
            source,
        };
        let sql = self.sql();
        let transaction = self.conn.unchecked_transaction().map_err(&sql)?;
        for _ in 0..chunks {
            let mut filled = 0;
            while filled < CHUNK_BYTES {
                let read = writer.reader.read(&mut writer.buffer[filled..]).map_err(io)?;
                if read == 0 {
                    break;
                }
                filled += read;
            }
            if filled > 0 || writer.sequence == 0 {
                writer.hasher.update(&writer.buffer[..filled]);
                writer.total += filled as u64;
                let compressed = zstd::bulk::compress(&writer.buffer[..filled], LEVEL).map_err(io)?;
                transaction
                    .execute(
                        "INSERT OR REPLACE INTO blob_chunk (sha256, seq, data) VALUES (?1, ?2, ?3)",
                        params![writer.digest.as_slice(), writer.sequence, compressed],
                    )
                    .map_err(&sql)?;
                writer.sequence += 1;
            }
            if filled < CHUNK_BYTES {
                writer.finished = true;
                break;
            }
        }
        if writer.finished {
            let actual: Hash = writer.hasher.clone().finalize().into();
            if actual != writer.digest {
                transaction
                    .execute("DELETE FROM blob_chunk WHERE sha256 = ?1", [writer.digest.as_slice()])
                    .map_err(&sql)?;
                transaction.commit().map_err(&sql)?;
                return Err(LedgerError::Io {
                    path: writer.origin.clone(),
                    source: std::io::Error::other("the input changed while it was being stored"),
                });
            }
            transaction
                .execute(
                    "INSERT INTO blob (sha256, size, compression, chunks) VALUES (?1, ?2, 'zstd', ?3) \
                     ON CONFLICT DO NOTHING",
                    params![writer.digest.as_slice(), writer.total, writer.sequence],
                )
                .map_err(&sql)?;
        }
        transaction.commit().map_err(&sql)?;
        Ok(writer.finished)
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
