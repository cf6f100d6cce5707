//! Queries the later layers need: records by kind, subject and `occurred_at`
//! range, one record by id, and the latest state of something as of a time.

use jiff::Timestamp;
use model::{Evidence, EvidenceKind, OccurredAtSource, SourceRef, Subject};
use rusqlite::types::Value as SqlValue;
use rusqlite::{Row, params_from_iter};

use crate::{Ledger, LedgerError, Result};

/// A selection of evidence. Empty fields do not restrict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Only these kinds.
    pub kinds: Vec<EvidenceKind>,
    /// Subject fields that must equal the given values (`repo`, `service`, `ref`, ...).
    pub subject: Vec<(String, String)>,
    /// `occurred_at >= from`.
    pub from: Option<Timestamp>,
    /// `occurred_at <= to` (the as-of time: later evidence is invisible).
    pub to: Option<Timestamp>,
    /// At most this many records (newest first when set with `newest_first`).
    pub limit: Option<u64>,
    /// Order by `occurred_at` descending instead of ascending.
    pub newest_first: bool,
}

const SUBJECT_FIELDS: &[&str] = &[
    "repo",
    "commit",
    "ref",
    "pull_request",
    "service",
    "environment",
    "artifact",
    "image",
    "namespace",
    "host",
    "person",
    "team",
];

const COLUMNS: &str = "e.id, e.kind, e.occurred_at, e.occurred_at_source, e.ingested_at, e.subject, \
                       s.collector, s.origin, s.sha256, e.source_line, e.source_pointer, e.attrs, e.leaf_hash";
const FROM: &str = "evidence e JOIN source_file s ON s.id = e.source_id";

fn decode(row: &Row<'_>) -> rusqlite::Result<std::result::Result<Evidence, String>> {
    let id: u64 = row.get(0)?;
    let kind: String = row.get(1)?;
    let occurred_at: String = row.get(2)?;
    let occurred_at_source: String = row.get(3)?;
    let ingested_at: String = row.get(4)?;
    let subject: String = row.get(5)?;
    let source = SourceRef {
        collector: row.get(6)?,
        origin: row.get(7)?,
        sha256: row.get(8)?,
        line: row.get(9)?,
        pointer: row.get(10)?,
    };
    let attrs: String = row.get(11)?;
    let leaf: Vec<u8> = row.get(12)?;
    Ok((|| {
        Ok(Evidence {
            id,
            kind: EvidenceKind::from_name(&kind).ok_or(format!("unknown kind `{kind}`"))?,
            occurred_at: occurred_at.parse().map_err(|error| format!("occurred_at: {error}"))?,
            occurred_at_source: OccurredAtSource::from_name(&occurred_at_source)
                .ok_or(format!("unknown occurred_at_source `{occurred_at_source}`"))?,
            ingested_at: ingested_at.parse().map_err(|error| format!("ingested_at: {error}"))?,
            subject: serde_json::from_str::<Subject>(&subject).map_err(|error| format!("subject: {error}"))?,
            source,
            attrs: serde_json::from_str(&attrs).map_err(|error| format!("attrs: {error}"))?,
            leaf_hash: hex::encode(leaf),
        })
    })())
}

impl Ledger {
    fn collect(&self, sql: &str, values: Vec<SqlValue>) -> Result<Vec<Evidence>> {
        let mut statement = self.conn.prepare_cached(sql).map_err(self.sql())?;
        let mut rows = statement.query(params_from_iter(values)).map_err(self.sql())?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(self.sql())? {
            let id: u64 = row.get(0).map_err(self.sql())?;
            match decode(row).map_err(self.sql())? {
                Ok(evidence) => out.push(evidence),
                Err(reason) => {
                    return Err(LedgerError::Inconsistent(format!(
                        "record {id} cannot be read: {reason}"
                    )));
                }
            }
        }
        Ok(out)
    }

    /// One record by id.
    pub fn get(&self, id: u64) -> Result<Evidence> {
        let sql = format!("SELECT {COLUMNS} FROM {FROM} WHERE e.id = ?1");
        self.collect(&sql, vec![SqlValue::Integer(id as i64)])?
            .pop()
            .ok_or(LedgerError::NoSuchRecord(id))
    }

    /// Records matching `query`, ordered by `occurred_at` then id.
    pub fn query(&self, query: &Query) -> Result<Vec<Evidence>> {
        let mut clauses = Vec::new();
        let mut values = Vec::new();
        if !query.kinds.is_empty() {
            let marks = vec!["?"; query.kinds.len()].join(", ");
            clauses.push(format!("e.kind IN ({marks})"));
            values.extend(query.kinds.iter().map(|kind| SqlValue::Text(kind.as_str().to_string())));
        }
        for (field, value) in &query.subject {
            let Some(field) = SUBJECT_FIELDS.iter().find(|known| *known == field) else {
                return Err(LedgerError::Inconsistent(format!(
                    "unknown subject field `{field}` (known: {})",
                    SUBJECT_FIELDS.join(", ")
                )));
            };
            clauses.push(format!("CAST(json_extract(e.subject, '$.\"{field}\"') AS TEXT) = ?"));
            values.push(SqlValue::Text(value.clone()));
        }
        if let Some(from) = query.from {
            clauses.push("e.occurred_at >= ?".into());
            values.push(SqlValue::Text(model::time::format_time(from)));
        }
        if let Some(to) = query.to {
            clauses.push("e.occurred_at <= ?".into());
            values.push(SqlValue::Text(model::time::format_time(to)));
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        let order = if query.newest_first { "DESC" } else { "ASC" };
        let limit = query.limit.map(|limit| format!(" LIMIT {limit}")).unwrap_or_default();
        let sql = format!("SELECT {COLUMNS} FROM {FROM} {filter} ORDER BY e.occurred_at {order}, e.id {order}{limit}");
        self.collect(&sql, values)
    }

    /// The latest record of `kind` about `subject` as it stood at `as_of`:
    /// the one with the greatest `occurred_at <= as_of` (ties: highest id).
    pub fn latest_as_of(
        &self,
        kind: EvidenceKind,
        subject: &[(String, String)],
        as_of: Timestamp,
    ) -> Result<Option<Evidence>> {
        let query = Query {
            kinds: vec![kind],
            subject: subject.to_vec(),
            to: Some(as_of),
            limit: Some(1),
            newest_first: true,
            ..Query::default()
        };
        Ok(self.query(&query)?.pop())
    }
}
