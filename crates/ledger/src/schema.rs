//! The SQLite schema of the ledger (documented in docs/ledger.md).

/// Schema version stored in `meta`.
pub const SCHEMA_VERSION: &str = "1";

/// Subtrees of at least `2^STORED_LEVEL` leaves are stored in `tree_node`;
/// smaller ones are recomputed from the leaf hashes of at most 255 records.
pub const STORED_LEVEL: u32 = 8;

/// Statements that create an empty ledger.
pub const CREATE: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE source_file (
    id        INTEGER PRIMARY KEY,
    collector TEXT NOT NULL,
    origin    TEXT NOT NULL,
    sha256    TEXT NOT NULL,
    UNIQUE (collector, origin, sha256)
);
CREATE TABLE evidence (
    id                 INTEGER PRIMARY KEY,
    kind               TEXT NOT NULL,
    occurred_at        TEXT NOT NULL,
    occurred_at_source TEXT NOT NULL,
    ingested_at        TEXT NOT NULL,
    subject            TEXT NOT NULL,
    source_id          INTEGER NOT NULL,
    source_line        INTEGER,
    source_pointer     TEXT,
    attrs              TEXT NOT NULL,
    dedup_key          INTEGER NOT NULL,
    leaf_hash          BLOB NOT NULL
);
CREATE UNIQUE INDEX evidence_kind_time ON evidence (kind, occurred_at, dedup_key);
CREATE TABLE dedup (
    key INTEGER PRIMARY KEY,
    id  INTEGER NOT NULL
);
CREATE TABLE dedup_overflow (
    content_sha256 BLOB PRIMARY KEY,
    id             INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE tree_node (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE checkpoint (
    tree_size  INTEGER PRIMARY KEY,
    root       BLOB NOT NULL,
    created_at TEXT NOT NULL,
    note       TEXT NOT NULL
);
CREATE TABLE blob (
    sha256        BLOB PRIMARY KEY,
    size          INTEGER NOT NULL,
    compression   TEXT NOT NULL,
    chunks        INTEGER NOT NULL,
    stored_sha256 BLOB NOT NULL,
    note          TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE blob_pending (
    sha256 TEXT PRIMARY KEY
) WITHOUT ROWID;
CREATE TABLE blob_chunk (
    sha256 BLOB NOT NULL,
    seq    INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (sha256, seq)
) WITHOUT ROWID;
";
