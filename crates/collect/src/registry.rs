//! The collector registry: every source by name, and format auto-detection.

use crate::{Context, Limits, Parsed};

/// Every evidence source the `ingest` command knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collector {
    /// The generic format: one JSON evidence object per line.
    EvidenceNdjson,
    /// SARIF 2.1.0 from any scanner.
    Sarif,
}

impl Collector {
    /// Every collector (one registration line each).
    pub const ALL: &'static [Collector] = &[Collector::EvidenceNdjson, Collector::Sarif];

    /// The name used by `--source` and recorded in each record's source.
    pub fn name(self) -> &'static str {
        match self {
            Collector::EvidenceNdjson => "evidence-ndjson",
            Collector::Sarif => "sarif",
        }
    }

    /// Look a collector up by its `--source` name.
    pub fn from_name(name: &str) -> Option<Collector> {
        Collector::ALL
            .iter()
            .copied()
            .find(|collector| collector.name() == name)
    }

    /// Whether the collector reads its input line by line (streamed) rather than whole.
    pub fn is_streamed(self) -> bool {
        matches!(self, Collector::EvidenceNdjson)
    }
}

/// Parse a whole document with `collector`. Streamed collectors read their
/// input line by line instead (see [`crate::ndjson::stream`]); given a whole
/// buffer here, they stream over it.
pub fn parse_document(collector: Collector, bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    match collector {
        Collector::Sarif => crate::sarif::parse(bytes, context, limits),
        Collector::EvidenceNdjson => {
            let mut records = Vec::new();
            let mut errors = Vec::new();
            crate::ndjson::stream(
                bytes,
                context,
                limits,
                |record| records.push(record),
                |line, message| {
                    errors.push(context.diagnostic(Some(line), None, message));
                },
            );
            let mut parsed = Parsed::default();
            for record in records {
                match record.to_evidence() {
                    Ok(evidence) => parsed.evidence.push(evidence),
                    Err(message) => errors.push(context.diagnostic(record.source.line, None, message)),
                }
            }
            parsed.diagnostics = errors;
            parsed
        }
    }
}

/// Guess the collector for a file from its name and its first bytes.
/// Returns `None` when nothing matches; `ingest` then reports the file and skips it.
pub fn detect(path: &str, head: &[u8]) -> Option<Collector> {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".sarif") || lower.ends_with(".sarif.json") {
        return Some(Collector::Sarif);
    }
    if lower.ends_with(".ndjson") || lower.ends_with(".evidence.jsonl") {
        return Some(Collector::EvidenceNdjson);
    }
    let text = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') {
        let compact: String = trimmed.chars().filter(|character| !character.is_whitespace()).collect();
        if compact.contains("\"$schema\":\"https://") && compact.contains("sarif")
            || compact.contains("\"version\":\"2.1.0\"") && compact.contains("\"runs\"")
        {
            return Some(Collector::Sarif);
        }
        let first_line = trimmed.lines().next().unwrap_or_default();
        if first_line.contains("\"kind\"") && first_line.contains("\"attrs\"") {
            return Some(Collector::EvidenceNdjson);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_extension_and_content() {
        assert_eq!(detect("x.sarif", b""), Some(Collector::Sarif));
        assert_eq!(
            detect("x.json", br#"{"version": "2.1.0", "runs": []}"#),
            Some(Collector::Sarif)
        );
        assert_eq!(
            detect(
                "x.jsonl",
                br#"{"kind":"scan_report","occurred_at":null,"subject":{},"attrs":{}}"#
            ),
            Some(Collector::EvidenceNdjson)
        );
        assert_eq!(detect("x.txt", b"hello"), None);
    }

    #[test]
    fn names_are_unique_and_round_trip() {
        for collector in Collector::ALL {
            assert_eq!(Collector::from_name(collector.name()), Some(*collector));
        }
    }
}
