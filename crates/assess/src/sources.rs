//! The evidence-pipeline report: per evidence kind and source, the oldest and
//! newest record, gaps in cadence, and whether the history covers the
//! look-back and the retention period.

use jiff::{SignedDuration, Timestamp};
use model::{Evidence, EvidenceKind};
use serde::Serialize;
use std::collections::BTreeMap;

/// One kind from one collector.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceLine {
    /// Evidence kind.
    pub kind: String,
    /// Collector.
    pub source: String,
    /// Records up to the as-of time.
    pub records: usize,
    /// Oldest record.
    pub oldest: String,
    /// Newest record.
    pub newest: String,
    /// Longest gap between consecutive records, in days.
    pub largest_gap_days: i64,
    /// Whether the oldest record is at or before the start of the look-back.
    pub covers_lookback: bool,
    /// Whether the oldest record is at or before the start of the retention period.
    pub covers_retention: bool,
}

/// The report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourcesReport {
    /// As of.
    pub as_of: String,
    /// Look-back in days.
    pub lookback_days: i64,
    /// Retention in days.
    pub retention_days: i64,
    /// One line per kind and source.
    pub sources: Vec<SourceLine>,
    /// Kinds with no record at all.
    pub missing_kinds: Vec<String>,
}

/// Build the report over all records visible as of `as_of`.
pub fn report(records: &[Evidence], as_of: Timestamp, lookback_days: i64, retention_days: i64) -> SourcesReport {
    let mut grouped: BTreeMap<(String, String), Vec<Timestamp>> = BTreeMap::new();
    for record in records.iter().filter(|record| record.occurred_at <= as_of) {
        grouped
            .entry((record.kind.as_str().to_string(), record.source.collector.clone()))
            .or_default()
            .push(record.occurred_at);
    }
    let back = |days: i64| {
        as_of
            .checked_sub(SignedDuration::from_hours(24 * days))
            .unwrap_or(Timestamp::MIN)
    };
    let mut sources = Vec::new();
    for ((kind, source), mut times) in grouped {
        times.sort();
        let (Some(oldest), Some(newest)) = (times.first().copied(), times.last().copied()) else {
            continue;
        };
        let largest_gap = times
            .windows(2)
            .map(|pair| pair[1].duration_since(pair[0]))
            .max()
            .unwrap_or(SignedDuration::ZERO)
            .max(as_of.duration_since(newest));
        sources.push(SourceLine {
            kind,
            source,
            records: times.len(),
            oldest: model::time::format_time(oldest),
            newest: model::time::format_time(newest),
            largest_gap_days: largest_gap.as_hours() / 24,
            covers_lookback: oldest <= back(lookback_days),
            covers_retention: oldest <= back(retention_days),
        });
    }
    let missing_kinds = EvidenceKind::ALL
        .iter()
        .filter(|kind| !sources.iter().any(|line| line.kind == kind.as_str()))
        .map(|kind| kind.as_str().to_string())
        .collect();
    SourcesReport {
        as_of: model::time::format_time(as_of),
        lookback_days,
        retention_days,
        sources,
        missing_kinds,
    }
}
