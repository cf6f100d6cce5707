//! Collectors: one module per evidence source. Each turns the bytes of one input
//! into evidence records plus diagnostics; one bad record never loses the rest.
//! Collectors never score and never write: the ledger is the only writer.

pub mod aws_iam;
pub mod calendar;
pub mod events;
pub mod falco;
pub mod github;
pub mod github_org;
pub mod gitlab;
pub mod grype;
pub mod iam;
pub mod inventory;
pub mod kubernetes;
pub mod kubernetes_rbac;
pub mod ndjson;
pub mod pipelines;
pub mod provenance;
pub mod registry;
pub mod sarif;
pub mod sbom;
pub mod sigstore;
pub mod suppressions;
pub mod threat_model;
pub mod tickets;
pub mod training;
pub mod trivy;

use jiff::Timestamp;
use model::{Diagnostic, NewEvidence, OccurredAtSource};

pub use registry::{Collector, detect, parse_document};

/// What the operator and the file system tell a collector about one input.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The path (absolute, resolved), URL or delivery id the bytes came from;
    /// recorded in each record's source.
    pub origin: String,
    /// The input as the operator named it, for diagnostics (empty: `origin`).
    pub shown_as: String,
    /// SHA-256 (hex) of the original bytes.
    pub sha256: String,
    /// `--repo`: the repository the input belongs to, when the input does not say.
    pub repo: Option<String>,
    /// `--commit`: the commit the input was produced at, when the input does not say.
    pub commit: Option<String>,
    /// `--ref`: the branch or tag, when the input does not say.
    pub git_ref: Option<String>,
    /// `--occurred-at`: the time to use when the input states none.
    pub occurred_at: Option<Timestamp>,
    /// `--person`: whose input this is (a calendar's owner), by e-mail.
    pub person: Option<String>,
    /// `--trust-root`, `--public-key` and the trusted builders, for provenance.
    pub provenance: Option<std::sync::Arc<provenance::Verification>>,
    /// `[people] aliases`: principal names (lower case) to e-mail addresses,
    /// for the IAM collectors (see [`iam::person`]).
    pub aliases: Option<std::sync::Arc<std::collections::BTreeMap<String, String>>>,
    /// `--columns`: a field name (`email`, `course`, ...) to the header that
    /// holds it, for tabular inputs (see [`training`]).
    pub columns: Option<std::sync::Arc<std::collections::BTreeMap<String, String>>>,
}

impl Context {
    /// The time for a record: the input's own time when it has one, else the
    /// operator's `--occurred-at`, else none (the ledger then stamps the ingest
    /// time and the record says `occurred_at_source: "ingested"`).
    pub fn time(&self, from_input: Option<Timestamp>) -> (Option<Timestamp>, OccurredAtSource) {
        match (from_input, self.occurred_at) {
            (Some(time), _) => (Some(time), OccurredAtSource::Source),
            (None, Some(time)) => (Some(time), OccurredAtSource::Flag),
            (None, None) => (None, OccurredAtSource::Ingested),
        }
    }

    /// A record about this whole input, or the part of it at `pointer`; the
    /// time follows [`Context::time`].
    pub fn record(
        &self,
        collector: &str,
        kind: model::EvidenceKind,
        time: Option<Timestamp>,
        subject: model::Subject,
        pointer: Option<String>,
        attrs: serde_json::Value,
    ) -> NewEvidence {
        let (occurred_at, occurred_at_source) = self.time(time);
        NewEvidence {
            kind,
            occurred_at,
            occurred_at_source,
            subject,
            source: model::SourceRef {
                collector: collector.to_string(),
                origin: self.origin.clone(),
                sha256: self.sha256.clone(),
                line: None,
                pointer,
            },
            attrs,
        }
    }

    /// A warning about this input: about something that still landed, or a
    /// note that is not a refusal.
    pub fn warning(&self, line: Option<u64>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            warning: true,
            ..self.diagnostic(line, None, message)
        }
    }

    /// A diagnostic about this input.
    pub fn diagnostic(&self, line: Option<u64>, pointer: Option<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: if self.shown_as.is_empty() {
                self.origin.clone()
            } else {
                self.shown_as.clone()
            },
            line,
            pointer,
            message: message.into(),
            warning: false,
        }
    }
}

/// Size and depth limits every collector honours (documented in docs/sources.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest whole-document input (SARIF, YAML, JSON documents), in bytes.
    pub max_document_bytes: u64,
    /// Longest single line of a line-oriented input, in bytes.
    pub max_line_bytes: usize,
    /// Deepest JSON/YAML nesting accepted.
    pub max_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_document_bytes: 256 * 1024 * 1024,
            max_line_bytes: 16 * 1024 * 1024,
            max_depth: 64,
        }
    }
}

impl Limits {
    /// The YAML budget for one document of an input under these limits: its
    /// size and depth, one document, at most 1,000 aliases and 100,000 events
    /// replayed through them.
    pub fn yaml_budget(&self) -> model::yaml::YamlBudget {
        model::yaml::YamlBudget {
            max_bytes: usize::try_from(self.max_document_bytes).unwrap_or(usize::MAX),
            max_depth: self.max_depth,
            max_documents: 1,
            max_aliases: 1_000,
            max_replayed_events: 100_000,
        }
    }
}

/// The diagnostic for a whole-document input larger than
/// `limits.max_document_bytes`, or `None` when it fits.
pub fn too_large(bytes: &[u8], context: &Context, limits: &Limits) -> Option<Diagnostic> {
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    (size > limits.max_document_bytes).then(|| {
        context.diagnostic(
            None,
            None,
            format!(
                "file is {size} bytes, larger than the limit of {} bytes for one document; not read",
                limits.max_document_bytes
            ),
        )
    })
}

/// A whole-document input as text: refused (one diagnostic) when it is larger
/// than `limits.max_document_bytes` or not UTF-8; a byte order mark is dropped.
pub fn whole_text<'a>(
    bytes: &'a [u8],
    context: &Context,
    limits: &Limits,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<&'a str> {
    if let Some(diagnostic) = too_large(bytes, context, limits) {
        diagnostics.push(diagnostic);
        return None;
    }
    utf8_text(bytes, context, diagnostics)
}

/// Records and diagnostics from one whole-document input.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    /// The records found.
    pub evidence: Vec<NewEvidence>,
    /// Problems found; each names its position.
    pub diagnostics: Vec<Diagnostic>,
}

/// Depth of the deepest nesting of `[`/`{` in a JSON text, counted without
/// parsing (strings skipped), so hostile nesting is refused before any parser
/// recurses. Returns the byte offset where `limit` was first exceeded.
pub fn json_depth_exceeds(bytes: &[u8], limit: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (offset, &byte) in bytes.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if byte == b'\\' {
                escaped = true;
            } else if byte == b'"' {
                in_string = false;
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > limit {
                    return Some(offset);
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// The JSON values of a JSON-lines text with their 1-based line numbers. Blank
/// lines are skipped; a line longer than `max_line_bytes`, nested deeper than
/// `max_depth` or not JSON gives one diagnostic with its number and is skipped.
pub fn json_lines(
    text: &str,
    context: &Context,
    limits: &Limits,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(u64, serde_json::Value)> {
    let mut values = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let number = index as u64 + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let problem = if line.len() > limits.max_line_bytes {
            format!(
                "line of {} bytes exceeds the line limit of {} bytes; skipped",
                line.len(),
                limits.max_line_bytes
            )
        } else if json_depth_exceeds(line.as_bytes(), limits.max_depth).is_some() {
            format!("JSON nested deeper than {} levels; skipped", limits.max_depth)
        } else {
            match serde_json::from_str(line) {
                Ok(value) => {
                    values.push((number, value));
                    continue;
                }
                Err(error) => format!("not JSON (column {}): {error}; skipped", error.column()),
            }
        };
        diagnostics.push(context.diagnostic(Some(number), None, problem));
    }
    values
}

/// One JSON document (with the line it starts on), or, when the text is not
/// one document but its first line is, JSON lines (see [`json_lines`]). A text
/// that is neither gives one diagnostic with the line where reading failed.
pub fn json_documents(
    text: &str,
    context: &Context,
    limits: &Limits,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(u64, serde_json::Value)> {
    let leading = text.len() - text.trim_start().len();
    let first_line = line_column(text.as_bytes(), leading).0;
    let whole = match json_depth_exceeds(text.as_bytes(), limits.max_depth) {
        Some(offset) => Err((
            Some(line_column(text.as_bytes(), offset).0),
            format!("JSON nested deeper than {} levels", limits.max_depth),
        )),
        None => serde_json::from_str::<serde_json::Value>(text).map_err(|error| {
            (
                Some(error.line() as u64),
                format!("not JSON (line {}, column {}): {error}", error.line(), error.column()),
            )
        }),
    };
    let (line, message) = match whole {
        Ok(value) => return vec![(first_line, value)],
        Err(error) => error,
    };
    let first = text.lines().find(|line| !line.trim().is_empty()).unwrap_or_default();
    if serde_json::from_str::<serde_json::Value>(first).is_err() {
        diagnostics.push(context.diagnostic(line, None, format!("{message}; nothing recorded")));
        return Vec::new();
    }
    json_lines(text, context, limits, diagnostics)
}

/// The input as text without a leading byte order mark, or `None` with one
/// diagnostic (the line of the first byte that is not UTF-8).
pub fn utf8_text<'a>(bytes: &'a [u8], context: &Context, diagnostics: &mut Vec<Diagnostic>) -> Option<&'a str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Some(text.trim_start_matches('\u{feff}')),
        Err(error) => {
            let (line, _) = line_column(bytes, error.valid_up_to());
            diagnostics.push(context.diagnostic(Some(line), None, "not UTF-8 text; nothing recorded"));
            None
        }
    }
}

/// The non-empty, trimmed string at JSON `pointer` in `value`, cut at 1,024
/// characters (marked with `…`).
pub fn text_at(value: &serde_json::Value, pointer: &str) -> Option<String> {
    value
        .pointer(pointer)
        .and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| cut_text(text, 1024))
}

/// A JSON value copied into attributes with its size bounded: strings cut at
/// 1,024 characters, at most 100 entries per object or array, 4 levels deep
/// (deeper is `"…"`).
pub fn bounded_json(value: &serde_json::Value) -> serde_json::Value {
    fn copy(value: &serde_json::Value, depth: usize) -> serde_json::Value {
        use serde_json::Value;
        match value {
            Value::String(text) => Value::String(cut_text(text, 1024)),
            Value::Array(items) if depth < 4 => {
                Value::Array(items.iter().take(100).map(|item| copy(item, depth + 1)).collect())
            }
            Value::Object(object) if depth < 4 => Value::Object(
                object
                    .iter()
                    .take(100)
                    .map(|(key, item)| (cut_text(key, 1024), copy(item, depth + 1)))
                    .collect(),
            ),
            Value::Array(_) | Value::Object(_) => Value::String("…".into()),
            other => other.clone(),
        }
    }
    copy(value, 0)
}

/// A CSV table: the header cells and the rows, each with its 1-based line.
pub type CsvTable = (Vec<String>, Vec<(u64, Vec<String>)>);

/// A CSV text read whole: the header cells (trimmed) and each row with its
/// 1-based line. The delimiter is `,`, `;` or a tab, whichever the header line
/// holds most of. A row that does not read, or is longer than the line limit,
/// gives one diagnostic with its line and is skipped. `None` (with one
/// diagnostic) when there is no header.
pub fn csv_rows(text: &str, context: &Context, limits: &Limits, diagnostics: &mut Vec<Diagnostic>) -> Option<CsvTable> {
    let first = text.lines().next().unwrap_or_default();
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|delimiter| first.bytes().filter(|byte| byte == delimiter).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(line, csv::Position::line);
                let length: usize = record.iter().map(str::len).sum();
                if length > limits.max_line_bytes {
                    diagnostics.push(context.diagnostic(
                        Some(line),
                        None,
                        format!(
                            "row of {length} bytes exceeds the line limit of {} bytes; skipped",
                            limits.max_line_bytes
                        ),
                    ));
                    continue;
                }
                let cells: Vec<String> = record.iter().map(|cell| cell.trim().to_string()).collect();
                if cells.iter().all(String::is_empty) {
                    continue;
                }
                match header {
                    None => header = Some(cells),
                    Some(_) => rows.push((line, cells)),
                }
            }
            Err(error) => {
                let at = error.position().map_or(line, csv::Position::line);
                diagnostics.push(context.diagnostic(Some(at), None, format!("CSV row not read: {error}; skipped")));
                if !matches!(
                    error.kind(),
                    csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }
                ) {
                    break;
                }
            }
        }
    }
    match header {
        Some(header) => Some((header, rows)),
        None => {
            diagnostics.push(context.diagnostic(Some(1), None, "no CSV header row; nothing recorded"));
            None
        }
    }
}

/// A header cell made comparable: lower case, letters and digits only
/// (`"Completion Date"`, `completion_date` and `completionDate` are the same).
pub fn header_key(cell: &str) -> String {
    cell.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|character| character.to_ascii_lowercase())
        .collect()
}

/// `text` cut at `limit` characters, marked with `…` when cut.
pub fn cut_text(text: &str, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// 1-based line and column of byte `offset` in `bytes`.
pub fn line_column(bytes: &[u8], offset: usize) -> (u64, u64) {
    let end = offset.min(bytes.len());
    let before = &bytes[..end];
    let line = memchr::memchr_iter(b'\n', before).count() as u64 + 1;
    let line_start = memchr::memrchr(b'\n', before).map_or(0, |index| index + 1);
    (line, (end - line_start) as u64 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn depth_counter_skips_strings() {
        assert_eq!(json_depth_exceeds(br#"{"a":"[[[[[["}"#, 2), None);
        assert_eq!(json_depth_exceeds(b"[[[1]]]", 2), Some(2));
        assert_eq!(json_depth_exceeds(br#"["\"[[[["]"#, 1), None);
    }

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column(b"ab\ncd", 0), (1, 1));
        assert_eq!(line_column(b"ab\ncd", 4), (2, 2));
    }
}
