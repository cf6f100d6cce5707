//! The evidence ledger: the only writer of evidence. An append-only SQLite store
//! (WAL, synchronous commits) whose records are leaves of an RFC 6962 Merkle
//! tree, with a signed C2SP checkpoint committed atomically with every batch,
//! content-addressed compressed raw blobs, inclusion proofs, full verification
//! and the queries later layers need.

pub mod blob;
pub mod checkpoint;
pub mod merkle;
pub mod proof;
pub mod query;
mod schema;
pub mod store;
pub mod verify;

pub use checkpoint::{Checkpoint, NoteError, NoteSigner, NoteVerifier};
pub use proof::{ConsistencyError, ConsistencyProof, InclusionProof};
pub use query::Query;
pub use store::{AppendSummary, BackgroundCheckpoints, Ledger};
pub use verify::{VerifyFailure, VerifyReport};

/// Everything that can go wrong inside the ledger.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// SQLite failed (disk full, read-only file, locked beyond the timeout, corrupt file).
    #[error("ledger database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// What SQLite said.
        #[source]
        source: rusqlite::Error,
    },
    /// A key or checkpoint problem.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The file is not a dsomm-audit ledger or has an unknown schema version.
    #[error("{path} is not a dsomm-audit ledger: {reason}")]
    NotALedger {
        /// The database file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The signing key does not belong to this ledger.
    #[error("the signing key `{key}` does not belong to this ledger (its checkpoints are signed by `{ledger}`)")]
    WrongKey {
        /// The key's name.
        key: String,
        /// The ledger's key name.
        ledger: String,
    },
    /// A record asked for does not exist.
    #[error("no evidence record with id {0}")]
    NoSuchRecord(u64),
    /// No checkpoint was signed for the tree size asked for.
    #[error(
        "no checkpoint for tree size {size}: a consistency proof runs between tree sizes the ledger signed (one per ingest batch; the latest is {example})"
    )]
    NoSuchCheckpoint {
        /// The size asked for.
        size: u64,
        /// A size that has one (the latest), or 0.
        example: u64,
    },
    /// A consistency proof asked for from a tree size that is not older than
    /// the newer one (or from the empty tree).
    #[error(
        "a consistency proof runs from an older, non-empty tree to a newer one: tree size {old} is not between 1 and {new}"
    )]
    NotOlder {
        /// The older size asked for.
        old: u64,
        /// The newer size.
        new: u64,
    },
    /// The stored state is inconsistent (run `verify`).
    #[error("ledger state is inconsistent: {0} (run `dsomm-audit verify`)")]
    Inconsistent(String),
    /// Reading input for a blob failed.
    #[error("reading {path}: {source}")]
    Io {
        /// What was being read.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Result alias for ledger operations.
pub type Result<T, E = LedgerError> = std::result::Result<T, E>;
