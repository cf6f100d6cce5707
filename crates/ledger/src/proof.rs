//! Inclusion proofs: produced from the ledger, verified offline with only the
//! proof file and the ledger's public verifier key.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use model::SourceRef;
use model::evidence::{LeafState, SourceParts, canonical_content};
use rusqlite::OptionalExtension;
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, NoteVerifier};
use crate::merkle::{self, Hash};
use crate::{Ledger, LedgerError, Result};

/// A self-contained inclusion proof for one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Proof format marker.
    pub format: String,
    /// The record id, which is its leaf index.
    pub leaf_index: u64,
    /// Size of the tree the proof is against.
    pub tree_size: u64,
    /// The record's stored fields, from which the leaf is recomputed.
    pub record: ProofRecord,
    /// Leaf hash (hex).
    pub leaf_hash: String,
    /// Audit path, leaf to root (base64 hashes, RFC 6962 order).
    pub audit_path: Vec<String>,
    /// The signed checkpoint (C2SP signed note) the path leads to.
    pub checkpoint: String,
    /// The signed checkpoint of the batch that added the record; its `time`
    /// line is the record's ingest time.
    pub batch_checkpoint: String,
    /// The signed checkpoint just before that batch (absent for the first
    /// batch), which shows the batch is the one that added the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_checkpoint: Option<String>,
}

/// The parts of a record that determine its leaf.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProofRecord {
    /// Kind name.
    pub kind: String,
    /// Stored occurred-at time.
    pub occurred_at: String,
    /// Where that time came from.
    pub occurred_at_source: String,
    /// Ingest time.
    pub ingested_at: String,
    /// Canonical subject JSON text.
    pub subject: String,
    /// Canonical source JSON text.
    pub source: String,
    /// Canonical attributes JSON text.
    pub attrs: String,
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The proof file is not a proof.
    #[error("not an inclusion proof: {0}")]
    Malformed(String),
    /// The recorded fields do not hash to the stated leaf.
    #[error("the record's fields do not hash to the stated leaf hash (the record was altered)")]
    LeafMismatch,
    /// The path does not lead to the checkpoint's root.
    #[error("the audit path does not lead to the checkpoint's root hash")]
    RootMismatch,
    /// The checkpoint signature is bad or from another key.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The batch checkpoint does not account for the record's ingest time.
    #[error("batch checkpoint: {0}")]
    Batch(String),
    /// The checkpoint is for another tree size.
    #[error("the checkpoint is for tree size {checkpoint}, the proof for {proof}")]
    SizeMismatch {
        /// Size in the checkpoint.
        checkpoint: u64,
        /// Size in the proof.
        proof: u64,
    },
}

/// Recompute a record's leaf hash from its stored fields; `None` when the
/// source is not a valid source object.
pub fn leaf_of(id: u64, record: &ProofRecord) -> Option<Hash> {
    let source: SourceRef = serde_json::from_str(&record.source).ok()?;
    let mut content = Vec::with_capacity(512);
    let content_time = (record.occurred_at_source != "ingested").then_some(record.occurred_at.as_str());
    canonical_content(
        &record.kind,
        content_time,
        &record.occurred_at_source,
        source.parts(),
        record.subject.as_bytes(),
        record.attrs.as_bytes(),
        &mut content,
    );
    Some(LeafState::new(&content).leaf_hash(id))
}

impl Ledger {
    /// An inclusion proof for record `id` against the latest checkpoint.
    pub fn prove(&self, id: u64) -> Result<InclusionProof> {
        let (checkpoint, note) = self.latest_checkpoint()?.ok_or_else(|| LedgerError::NoSuchRecord(id))?;
        if id >= checkpoint.size {
            return Err(LedgerError::NoSuchRecord(id));
        }
        let (record, leaf_hash) = self
            .conn
            .query_row(
                "SELECT e.kind, e.occurred_at, e.occurred_at_source, e.ingested_at, e.subject, s.collector, \
                 s.origin, s.sha256, e.source_line, e.source_pointer, e.attrs, e.leaf_hash \
                 FROM evidence e JOIN source_file s ON s.id = e.source_id WHERE e.id = ?1",
                [id],
                |row| {
                    let (collector, origin, sha256): (String, String, String) = (row.get(5)?, row.get(6)?, row.get(7)?);
                    let pointer: Option<String> = row.get(9)?;
                    let mut source = Vec::with_capacity(256);
                    SourceParts {
                        collector: &collector,
                        origin: &origin,
                        sha256: &sha256,
                        line: row.get(8)?,
                        pointer: pointer.as_deref(),
                    }
                    .write_canonical(&mut source);
                    Ok((
                        ProofRecord {
                            kind: row.get(0)?,
                            occurred_at: row.get(1)?,
                            occurred_at_source: row.get(2)?,
                            ingested_at: row.get(3)?,
                            subject: row.get(4)?,
                            source: String::from_utf8_lossy(&source).into_owned(),
                            attrs: row.get(10)?,
                        },
                        row.get::<_, Vec<u8>>(11)?,
                    ))
                },
            )
            .map_err(|error| match error {
                rusqlite::Error::QueryReturnedNoRows => LedgerError::NoSuchRecord(id),
                source => LedgerError::Sqlite {
                    path: self.path.clone(),
                    source,
                },
            })?;
        let path = merkle::inclusion_path(id, 0, checkpoint.size, &mut |start, len| self.range_hash(start, len))?;
        let batch_checkpoint: String = self
            .conn
            .query_row(
                "SELECT note FROM checkpoint WHERE tree_size > ?1 ORDER BY tree_size LIMIT 1",
                [id],
                |row| row.get(0),
            )
            .map_err(self.sql())?;
        let previous_checkpoint: Option<String> = self
            .conn
            .query_row(
                "SELECT note FROM checkpoint WHERE tree_size <= ?1 ORDER BY tree_size DESC LIMIT 1",
                [id],
                |row| row.get(0),
            )
            .optional()
            .map_err(self.sql())?;
        Ok(InclusionProof {
            format: "dsomm-audit-inclusion-proof/v1".into(),
            leaf_index: id,
            tree_size: checkpoint.size,
            record,
            leaf_hash: hex::encode(leaf_hash),
            audit_path: path.iter().map(|hash| STANDARD.encode(hash)).collect(),
            checkpoint: note,
            batch_checkpoint,
            previous_checkpoint,
        })
    }
}

impl InclusionProof {
    /// Verify offline: the record hashes to the leaf, the path leads to the
    /// checkpoint's root, and the checkpoint is signed by `verifier`.
    pub fn verify(&self, verifier: &NoteVerifier) -> Result<Checkpoint, ProofError> {
        if self.format != "dsomm-audit-inclusion-proof/v1" {
            return Err(ProofError::Malformed(format!(
                "format `{}` is not dsomm-audit-inclusion-proof/v1",
                self.format
            )));
        }
        let body = verifier
            .verify_note(&self.checkpoint)
            .map_err(|error| ProofError::Checkpoint(error.to_string()))?;
        let checkpoint = Checkpoint::parse_body(body).map_err(|error| ProofError::Checkpoint(error.to_string()))?;
        if checkpoint.size != self.tree_size {
            return Err(ProofError::SizeMismatch {
                checkpoint: checkpoint.size,
                proof: self.tree_size,
            });
        }
        let stated: Hash = hex::decode(&self.leaf_hash)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| ProofError::Malformed("leaf_hash is not 32 hex-encoded bytes".into()))?;
        if leaf_of(self.leaf_index, &self.record) != Some(stated) {
            return Err(ProofError::LeafMismatch);
        }
        let mut path = Vec::with_capacity(self.audit_path.len());
        for (position, text) in self.audit_path.iter().enumerate() {
            let hash: Hash = STANDARD
                .decode(text)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| ProofError::Malformed(format!("audit_path[{position}] is not a base64 hash")))?;
            path.push(hash);
        }
        match merkle::root_from_inclusion(self.leaf_index, self.tree_size, stated, &path) {
            Some(root) if root == checkpoint.root => {}
            _ => return Err(ProofError::RootMismatch),
        }
        let batch = verifier
            .verify_note(&self.batch_checkpoint)
            .map_err(|error| ProofError::Batch(error.to_string()))
            .and_then(|body| Checkpoint::parse_body(body).map_err(|error| ProofError::Batch(error.to_string())))?;
        let previous_size = match &self.previous_checkpoint {
            None => 0,
            Some(note) => {
                verifier
                    .verify_note(note)
                    .map_err(|error| ProofError::Batch(error.to_string()))
                    .and_then(|body| {
                        Checkpoint::parse_body(body).map_err(|error| ProofError::Batch(error.to_string()))
                    })?
                    .size
            }
        };
        if previous_size > self.leaf_index || batch.size <= self.leaf_index || batch.size > self.tree_size {
            return Err(ProofError::Batch(format!(
                "batch {}..{} does not contain record {}",
                previous_size, batch.size, self.leaf_index
            )));
        }
        if batch.time != self.record.ingested_at {
            return Err(ProofError::Batch(format!(
                "time {} differs from the record's ingested_at {}",
                batch.time, self.record.ingested_at
            )));
        }
        if self.record.occurred_at_source == "ingested" && self.record.occurred_at != self.record.ingested_at {
            return Err(ProofError::Batch(
                "occurred_at differs from ingested_at for a record without a time".into(),
            ));
        }
        Ok(checkpoint)
    }
}

/// A consistency proof between two signed checkpoints of the ledger: the
/// older tree is a prefix of the newer one (RFC 6962 section 2.1.2), so
/// nothing that was in the ledger at the older checkpoint was changed or
/// removed by the time of the newer one. Checkable offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// Proof format marker.
    pub format: String,
    /// The older tree size.
    pub old_size: u64,
    /// The newer tree size.
    pub new_size: u64,
    /// The older signed checkpoint (C2SP signed note).
    pub old_checkpoint: String,
    /// The newer signed checkpoint.
    pub new_checkpoint: String,
    /// The proof's hashes (base64, RFC 6962 order).
    pub path: Vec<String>,
}

/// Why a consistency proof was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsistencyError {
    /// The file is not a consistency proof.
    #[error("not a consistency proof: {0}")]
    Malformed(String),
    /// A checkpoint's signature is bad or from another key.
    #[error("{0} checkpoint: {1}")]
    Checkpoint(&'static str, String),
    /// A checkpoint is for another size than the proof says.
    #[error("the {0} checkpoint is for tree size {1}, the proof says {2}")]
    SizeMismatch(&'static str, u64, u64),
    /// The hashes do not show the older tree is a prefix of the newer one.
    #[error(
        "the hashes do not show the older tree (size {0}) is a prefix of the newer one (size {1}): the proof is bent or the ledger was rewritten between them"
    )]
    Inconsistent(u64, u64),
}

impl Ledger {
    /// A consistency proof from the checkpoint of tree size `old_size` to the
    /// checkpoint of `new_size` (the latest when `None`); both must be
    /// checkpoints the ledger signed.
    pub fn prove_consistency(&self, old_size: u64, new_size: Option<u64>) -> Result<ConsistencyProof> {
        let note_of = |size: u64| -> Result<String> {
            self.conn
                .query_row("SELECT note FROM checkpoint WHERE tree_size = ?1", [size], |row| {
                    row.get(0)
                })
                .optional()
                .map_err(self.sql())?
                .ok_or_else(|| LedgerError::NoSuchCheckpoint {
                    size,
                    example: self
                        .latest_checkpoint()
                        .ok()
                        .flatten()
                        .map_or(0, |(checkpoint, _)| checkpoint.size),
                })
        };
        let (new_size, new_note) = match new_size {
            Some(size) => (size, note_of(size)?),
            None => {
                let (checkpoint, note) = self
                    .latest_checkpoint()?
                    .ok_or(LedgerError::NoSuchCheckpoint { size: 0, example: 0 })?;
                (checkpoint.size, note)
            }
        };
        if old_size == 0 || old_size > new_size {
            return Err(LedgerError::NotOlder {
                old: old_size,
                new: new_size,
            });
        }
        let old_note = note_of(old_size)?;
        let path = merkle::consistency_path(old_size, new_size, &mut |start, len| self.range_hash(start, len))?;
        Ok(ConsistencyProof {
            format: "dsomm-audit-consistency-proof/v1".into(),
            old_size,
            new_size,
            old_checkpoint: old_note,
            new_checkpoint: new_note,
            path: path.iter().map(|hash| STANDARD.encode(hash)).collect(),
        })
    }

    /// Check the ledger against checkpoints it signed that were kept elsewhere
    /// (a witness, an auditor's copy, a proof file): a rolled-back or truncated
    /// ledger is behind them; a rewritten one has another root at their size.
    /// Returns one failure per checkpoint that does not hold.
    pub fn check_against(&self, notes: &[String], verifier: &NoteVerifier) -> Result<Vec<crate::VerifyFailure>> {
        // The size the ledger claims; whether its own checkpoints verify is
        // `verify_with`'s business, and a failure there must not stop this check.
        let size = self.size()?;
        let mut failures = Vec::new();
        for note in notes {
            let failure = |id: Option<u64>, message: String| crate::VerifyFailure {
                what: "checkpoint".into(),
                id,
                message,
            };
            let checkpoint = match verifier
                .verify_note(note)
                .map_err(|error| error.to_string())
                .and_then(|body| Checkpoint::parse_body(body).map_err(|error| error.to_string()))
            {
                Ok(checkpoint) => checkpoint,
                Err(message) => {
                    failures.push(failure(None, format!("a kept checkpoint does not verify: {message}")));
                    continue;
                }
            };
            if checkpoint.size > size {
                failures.push(failure(
                    Some(checkpoint.size),
                    format!(
                        "the ledger (tree size {size}) is behind a checkpoint it signed for tree size {}: it was rolled back or truncated",
                        checkpoint.size
                    ),
                ));
                continue;
            }
            let root = if checkpoint.size == 0 {
                merkle::empty_root()
            } else {
                match self.range_hash(0, checkpoint.size) {
                    Ok(root) => root,
                    Err(error @ crate::LedgerError::Sqlite { .. }) => return Err(error),
                    // A record or stored subtree under the kept checkpoint is gone.
                    Err(error) => {
                        failures.push(failure(
                            Some(checkpoint.size),
                            format!(
                                "the ledger's first {} records cannot be recomputed against the kept checkpoint: {error}",
                                checkpoint.size
                            ),
                        ));
                        continue;
                    }
                }
            };
            if root != checkpoint.root {
                failures.push(failure(
                    Some(checkpoint.size),
                    format!("the ledger's first {} records no longer hash to the root of the kept checkpoint: it was rewritten", checkpoint.size),
                ));
            }
        }
        Ok(failures)
    }

    /// Every signed checkpoint's tree size, oldest first.
    pub fn checkpoint_sizes(&self) -> Result<Vec<u64>> {
        let mut statement = self
            .conn
            .prepare("SELECT tree_size FROM checkpoint ORDER BY tree_size")
            .map_err(self.sql())?;
        let sizes = statement
            .query_map([], |row| row.get::<_, i64>(0))
            .map_err(self.sql())?
            .collect::<std::result::Result<Vec<i64>, _>>()
            .map_err(self.sql())?;
        Ok(sizes.into_iter().map(|size| size as u64).collect())
    }
}

impl ConsistencyProof {
    /// Verify offline: both checkpoints are signed by `verifier` for the
    /// stated sizes, and the hashes show the older tree is a prefix of the newer.
    pub fn verify(&self, verifier: &NoteVerifier) -> std::result::Result<(Checkpoint, Checkpoint), ConsistencyError> {
        if self.format != "dsomm-audit-consistency-proof/v1" {
            return Err(ConsistencyError::Malformed(format!(
                "format `{}` is not dsomm-audit-consistency-proof/v1",
                self.format
            )));
        }
        let checkpoint = |which: &'static str, note: &str, size: u64| {
            let body = verifier
                .verify_note(note)
                .map_err(|error| ConsistencyError::Checkpoint(which, error.to_string()))?;
            let checkpoint =
                Checkpoint::parse_body(body).map_err(|error| ConsistencyError::Checkpoint(which, error.to_string()))?;
            if checkpoint.size != size {
                return Err(ConsistencyError::SizeMismatch(which, checkpoint.size, size));
            }
            Ok(checkpoint)
        };
        let old = checkpoint("older", &self.old_checkpoint, self.old_size)?;
        let new = checkpoint("newer", &self.new_checkpoint, self.new_size)?;
        let mut path = Vec::with_capacity(self.path.len());
        for (position, text) in self.path.iter().enumerate() {
            let hash: Hash = STANDARD
                .decode(text)
                .ok()
                .and_then(|bytes| bytes.try_into().ok())
                .ok_or_else(|| ConsistencyError::Malformed(format!("path[{position}] is not a base64 hash")))?;
            path.push(hash);
        }
        if merkle::verify_consistency(self.old_size, self.new_size, &old.root, &new.root, &path) {
            Ok((old, new))
        } else {
            Err(ConsistencyError::Inconsistent(self.old_size, self.new_size))
        }
    }
}
