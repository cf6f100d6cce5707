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

pub use registry::{Collector, DETECTION_HEAD_BYTES, detect, parse_document};

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
    /// Most YAML documents read from one multi-document stream (Kubernetes
    /// admission, Kubernetes RBAC, Backstage); the rest is refused with a
    /// diagnostic.
    pub max_yaml_documents: usize,
    /// Most YAML nodes (mappings, lists and scalars as written, aliases not
    /// expanded) in one YAML document; a larger document is refused.
    pub max_yaml_nodes: usize,
    /// Most entries read from one file: inventory and Backstage assets,
    /// groups and users, iCalendar events; the rest is refused with a
    /// diagnostic naming the first entry not read.
    pub max_entries: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_document_bytes: 256 * 1024 * 1024,
            max_line_bytes: 16 * 1024 * 1024,
            max_depth: 64,
            max_yaml_documents: 100_000,
            max_yaml_nodes: 2_000_000,
            max_entries: 100_000,
        }
    }
}

impl Limits {
    /// The YAML budget for one document of an input under these limits: its
    /// size, depth and nodes, one document, at most 1,000 aliases and 100,000
    /// events replayed through them.
    pub fn yaml_budget(&self) -> model::yaml::YamlBudget {
        model::yaml::YamlBudget {
            max_bytes: usize::try_from(self.max_document_bytes).unwrap_or(usize::MAX),
            max_depth: self.max_depth,
            max_documents: 1,
            max_aliases: 1_000,
            max_replayed_events: 100_000,
            max_nodes: self.max_yaml_nodes,
        }
    }

    /// The diagnostic for the entries of one file past [`Limits::max_entries`]
    /// (`total` of them were found): an error, so that the file counts as
    /// partly refused, at the first entry not read (its `line` or `pointer`),
    /// saying how many were not read. The entries up to the limit land.
    pub fn entries_dropped(
        &self,
        context: &Context,
        line: Option<u64>,
        pointer: Option<String>,
        what: &str,
        total: usize,
    ) -> Diagnostic {
        let limit = self.max_entries;
        let dropped = total.saturating_sub(limit);
        context.diagnostic(
            line,
            pointer,
            format!(
                "{total} {what}, more than the limit of {limit} per file: the first {limit} read, the {dropped} from \
                 here on not read"
            ),
        )
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

impl Parsed {
    /// Whether some input was refused (a diagnostic that is not a warning).
    /// A collector that found nothing and refused nothing says so itself.
    pub fn refused_any(&self) -> bool {
        self.diagnostics.iter().any(|diagnostic| !diagnostic.warning)
    }
}

#[cfg(test)]
impl Parsed {
    /// (line, warning, message) of each diagnostic, for tests.
    pub(crate) fn lines_and_messages(&self) -> Vec<(Option<u64>, bool, &str)> {
        self.diagnostics
            .iter()
            .map(|diagnostic| (diagnostic.line, diagnostic.warning, diagnostic.message.as_str()))
            .collect()
    }
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

/// The JSON values of a JSON-lines input with their 1-based line numbers.
/// Blank lines are skipped; a line longer than `max_line_bytes`, not UTF-8,
/// nested deeper than `max_depth` or not JSON gives one diagnostic with its
/// number and is skipped: the other lines still count. A byte order mark may
/// start the input.
pub fn json_lines(
    bytes: &[u8],
    context: &Context,
    limits: &Limits,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(u64, serde_json::Value)> {
    let mut values = Vec::new();
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    for (index, line) in bytes.split(|byte| *byte == b'\n').enumerate() {
        let number = index as u64 + 1;
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        if let Some(value) = json_line(line, number, context, limits, diagnostics) {
            values.push((number, value));
        }
    }
    values
}

/// One line of a JSON-lines input (without its line ending) as a JSON value,
/// or `None` with one diagnostic naming line `number` (see [`json_lines`]).
pub fn json_line(
    line: &[u8],
    number: u64,
    context: &Context,
    limits: &Limits,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<serde_json::Value> {
    let problem = if line.len() > limits.max_line_bytes {
        format!(
            "line of {} bytes exceeds the line limit of {} bytes; skipped",
            line.len(),
            limits.max_line_bytes
        )
    } else {
        match std::str::from_utf8(line) {
            Err(error) => format!(
                "not UTF-8 text (byte {} of the line); line skipped",
                error.valid_up_to() + 1
            ),
            Ok(_) if json_depth_exceeds(line, limits.max_depth).is_some() => {
                format!("JSON nested deeper than {} levels; skipped", limits.max_depth)
            }
            Ok(text) => match serde_json::from_str(text) {
                Ok(value) => return Some(value),
                Err(error) => format!("not JSON (column {}): {error}; skipped", error.column()),
            },
        }
    };
    diagnostics.push(context.diagnostic(Some(number), None, problem));
    None
}

/// Whether an input that is not all UTF-8 is still to be read as JSON lines:
/// it starts with `{` and its first non-blank line that is UTF-8 is one JSON
/// value. Such an input is read line by line ([`json_lines`]), so a line that
/// is not UTF-8 loses only itself; any other input that is not UTF-8 is
/// refused whole ([`utf8_text`]).
pub fn is_json_lines_despite_encoding(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes.trim_ascii_start().first() != Some(&b'{') {
        return false;
    }
    bytes
        .split(|byte| *byte == b'\n')
        .map(<[u8]>::trim_ascii)
        .filter(|line| !line.is_empty())
        .find_map(|line| std::str::from_utf8(line).ok())
        .is_some_and(|line| serde_json::from_str::<serde::de::IgnoredAny>(line).is_ok())
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
    json_lines(text.as_bytes(), context, limits, diagnostics)
}

/// [`json_documents`] of raw bytes: JSON lines with a line that is not UTF-8
/// lose only that line ([`is_json_lines_despite_encoding`]); any other input
/// that is not UTF-8 is refused whole with one diagnostic ([`utf8_text`]).
pub fn json_documents_of_bytes(
    bytes: &[u8],
    context: &Context,
    limits: &Limits,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<(u64, serde_json::Value)> {
    if std::str::from_utf8(bytes).is_err() && is_json_lines_despite_encoding(bytes) {
        return json_lines(bytes, context, limits, diagnostics);
    }
    match utf8_text(bytes, context, diagnostics) {
        Some(text) => json_documents(text, context, limits, diagnostics),
        None => Vec::new(),
    }
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

/// The encoding a UTF-16 or UTF-32 byte order mark at the start of `bytes`
/// announces (`UTF-32` is tested first: its little-endian mark starts with
/// UTF-16's), or `None`.
pub fn byte_order_mark_encoding(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xFE, 0x00, 0x00]) || bytes.starts_with(&[0x00, 0x00, 0xFE, 0xFF]) {
        Some("UTF-32")
    } else if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        Some("UTF-16")
    } else {
        None
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

/// A CSV input read whole: the header cells (trimmed) and each row with the
/// 1-based line it starts on (the same with `\n` and `\r\n` line endings; a
/// quoted cell may span lines). A byte order mark may start the input. The
/// delimiter is `,`, `;` or a tab, whichever the header line holds most of. A
/// row that does not read, is not UTF-8 text or is longer than the line limit
/// gives one diagnostic with its line and is skipped; the other rows still
/// count. `None` (with one diagnostic) when there is no header.
pub fn csv_rows(
    bytes: &[u8],
    context: &Context,
    limits: &Limits,
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<CsvTable> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = bytes.split(|byte| *byte == b'\n').next().unwrap_or_default();
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|delimiter| first.iter().filter(|byte| *byte == delimiter).count())
        .unwrap_or(b',');
    let mut header: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    let mut record = csv::ByteRecord::new();
    // Lines are counted here from byte offsets: the reader's own count is one
    // short after a `\r\n` ending (it ends a record at `\r`).
    let mut lines = LineCounter::default();
    // A row whose quote never closes would swallow the rest of the input as
    // one cell: it is refused, and reading starts again on the line after
    // the one it began on. `base` is where the current reader starts.
    let mut base = 0usize;
    'segments: while base < bytes.len() {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(&bytes[base..]);
        loop {
            let start = reader.position().byte();
            match reader.read_byte_record(&mut record) {
                Ok(false) => break 'segments,
                Ok(true) => {
                    let mut start = base
                        + usize::try_from(record.position().map_or(start, csv::Position::byte)).unwrap_or(usize::MAX);
                    // After a `\r\n` the reader's record starts at the `\n`.
                    while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
                        start += 1;
                    }
                    let line = lines.line_of_record(bytes, start as u64);
                    let end = base + usize::try_from(reader.position().byte()).unwrap_or(usize::MAX);
                    let columns = header.as_ref().map_or(0, Vec::len);
                    if (end >= bytes.len() && unclosed_quote(&bytes[start.min(bytes.len())..]))
                        || swallowed_rows(&record, delimiter, columns)
                    {
                        diagnostics.push(context.diagnostic(
                            Some(line),
                            None,
                            "row has a quote that never closes; skipped (the rows after it are read again from the next line)",
                        ));
                        match memchr::memchr(b'\n', &bytes[start.min(bytes.len())..]) {
                            Some(newline) => {
                                base = start + newline + 1;
                                continue 'segments;
                            }
                            None => break 'segments,
                        }
                    }
                    let length: usize = record.iter().map(<[u8]>::len).sum();
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
                    let cells: Result<Vec<String>, std::str::Utf8Error> = record
                        .iter()
                        .map(|cell| std::str::from_utf8(cell).map(|cell| cell.trim().to_string()))
                        .collect();
                    let Ok(cells) = cells else {
                        diagnostics.push(context.diagnostic(
                            Some(line),
                            None,
                            "row is not UTF-8 text (save the export as UTF-8); row skipped",
                        ));
                        continue;
                    };
                    if cells.iter().all(String::is_empty) {
                        continue;
                    }
                    match header {
                        None => header = Some(cells),
                        Some(_) => rows.push((line, cells)),
                    }
                }
                Err(error) => {
                    let at = base as u64 + error.position().map_or(start, csv::Position::byte);
                    let at = lines.line_of_record(bytes, at);
                    diagnostics.push(context.diagnostic(Some(at), None, format!("CSV row not read: {error}; skipped")));
                    if !matches!(
                        error.kind(),
                        csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. }
                    ) {
                        break 'segments;
                    }
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

/// Whether a CSV record that ran to the end of the input (`rest`, from its
/// first byte) did so inside a quote that never closes: it spans more than
/// one line and holds an odd number of quote characters (quoted cells and
/// doubled quotes come in pairs).
fn unclosed_quote(rest: &[u8]) -> bool {
    let trimmed = rest.strip_suffix(b"\n").unwrap_or(rest);
    let trimmed = trimmed.strip_suffix(b"\r").unwrap_or(trimmed);
    memchr::memchr(b'\n', trimmed).is_some() && memchr::memchr_iter(b'"', trimmed).count() % 2 == 1
}

/// Whether a cell of `record` spans lines one of which looks like a whole row
/// of a table with `columns` (at least 3) columns: a quote opened by mistake
/// that a later row's quote closed. (Notes that span lines rarely hold as
/// many delimiters as a row.)
fn swallowed_rows(record: &csv::ByteRecord, delimiter: u8, columns: usize) -> bool {
    columns >= 3
        && record.iter().any(|cell| {
            cell.split(|byte| *byte == b'\n')
                .skip(1)
                .any(|line| line.iter().filter(|byte| **byte == delimiter).count() + 1 >= columns)
        })
}

/// 1-based line numbers of byte offsets met in increasing order, counted once.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    newlines: u64,
}

impl LineCounter {
    /// The line a record starting at byte `start` begins on: line endings
    /// before its first byte (the `\n` of a `\r\n` the reader stopped short
    /// of, blank lines) are skipped.
    fn line_of_record(&mut self, bytes: &[u8], start: u64) -> u64 {
        let mut start = usize::try_from(start).unwrap_or(usize::MAX).min(bytes.len());
        while matches!(bytes.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start >= self.offset {
            self.newlines += memchr::memchr_iter(b'\n', &bytes[self.offset..start]).count() as u64;
        } else {
            self.newlines = memchr::memchr_iter(b'\n', &bytes[..start]).count() as u64;
        }
        self.offset = start;
        self.newlines + 1
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

/// The one refusal (a diagnostic that is not a warning) of a parse; panics,
/// naming them all, when there is not exactly one. For tests.
#[cfg(test)]
pub(crate) fn only_refusal(parsed: &Parsed) -> &Diagnostic {
    let refusals: Vec<&Diagnostic> = parsed
        .diagnostics
        .iter()
        .filter(|diagnostic| !diagnostic.warning)
        .collect();
    assert_eq!(refusals.len(), 1, "{:?}", parsed.diagnostics);
    refusals[0]
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

    fn context() -> Context {
        Context {
            origin: "export.csv".into(),
            ..Context::default()
        }
    }

    /// The rows' lines and first cells, and the diagnostics' lines.
    fn rows(bytes: &[u8]) -> (Vec<(u64, String)>, Vec<Option<u64>>) {
        let mut diagnostics = Vec::new();
        let (_, rows) = csv_rows(bytes, &context(), &Limits::default(), &mut diagnostics).unwrap_or_default();
        (
            rows.into_iter().map(|(line, cells)| (line, cells[0].clone())).collect(),
            diagnostics.iter().map(|diagnostic| diagnostic.line).collect(),
        )
    }

    #[test]
    fn csv_rows_name_the_line_they_start_on_whatever_the_line_ending() {
        let lf = "name,note\nann,\"two\nlines\"\n\nbob,x\ncy,\"a\"\"b\"\n";
        let expected = vec![(2, "ann".to_string()), (5, "bob".to_string()), (6, "cy".to_string())];
        assert_eq!(rows(lf.as_bytes()), (expected.clone(), vec![]));
        let crlf = lf.replace('\n', "\r\n");
        assert_eq!(rows(crlf.as_bytes()), (expected.clone(), vec![]));
        // A byte order mark and no final line ending change nothing.
        let marked = format!("\u{feff}{}", crlf.trim_end());
        assert_eq!(rows(marked.as_bytes()), (expected, vec![]));
    }

    #[test]
    fn a_csv_row_whose_quote_never_closes_loses_only_itself() {
        for ending in ["\n", "\r\n"] {
            // dave's quote never closes: the row is refused and the rows after
            // it are read again from line 4, whether the quote runs to the end
            // of the input or a later row's quote closes it.
            let input =
                format!("name,course,date{ending}ann,a,1{ending}dave,\"Secure Coding, 101,2{ending}eve,b,3{ending}");
            let (found, problems) = rows(input.as_bytes());
            assert_eq!(
                found,
                vec![(2, "ann".to_string()), (4, "eve".to_string())],
                "{ending:?}"
            );
            assert_eq!(problems, vec![Some(3)], "{ending:?}");
            let input = format!(
                "name,course,date{ending}ann,a,1{ending}dave,\"Secure Coding, 101,2{ending}eve,b,3{ending}fay,\"c{ending}d\",4{ending}"
            );
            let (found, problems) = rows(input.as_bytes());
            assert_eq!(
                found,
                vec![(2, "ann".to_string()), (4, "eve".to_string()), (5, "fay".to_string())],
                "{ending:?}"
            );
            assert_eq!(problems, vec![Some(3)], "{ending:?}");
        }
        // A note that spans lines is one cell.
        let (found, problems) = rows(b"name,note,date\nann,\"first line\nsecond, line\",1\nbob,x,2\n");
        assert_eq!(found, vec![(2, "ann".to_string()), (4, "bob".to_string())]);
        assert!(problems.is_empty());
        // A literal quote inside the last, one-line row is not a broken quote.
        let (found, problems) = rows(b"name,size\nann,5\" screen\n");
        assert_eq!(found, vec![(2, "ann".to_string())]);
        assert!(problems.is_empty());
    }

    #[test]
    fn a_csv_row_that_is_not_utf8_loses_only_itself() {
        for ending in ["\n", "\r\n"] {
            let mut input = format!("name,course{ending}ann,a{ending}").into_bytes();
            input.extend_from_slice(b"Jos\xe9,b");
            input.extend_from_slice(format!("{ending}bob,c{ending}").as_bytes());
            let (found, problems) = rows(&input);
            assert_eq!(
                found,
                vec![(2, "ann".to_string()), (4, "bob".to_string())],
                "{ending:?}"
            );
            assert_eq!(problems, vec![Some(3)], "{ending:?}");
        }
    }

    #[test]
    fn a_json_line_that_is_not_utf8_loses_only_itself() {
        let input = b"\xEF\xBB\xBF{\"a\":1}\r\n{\"b\":\"\xe9\"}\n\n{\"c\":3}";
        let mut diagnostics = Vec::new();
        let values = json_lines(input, &context(), &Limits::default(), &mut diagnostics);
        let lines: Vec<u64> = values.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [1, 4]);
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].line, Some(2));
        assert!(
            diagnostics[0].message.contains("not UTF-8"),
            "{}",
            diagnostics[0].message
        );
        assert!(is_json_lines_despite_encoding(input));
        assert!(!is_json_lines_despite_encoding(b"{\n  \"a\": \"\xe9\"\n}\n"));
        assert!(!is_json_lines_despite_encoding(b"kind: x\xe9\n"));
    }

    #[test]
    fn line_column_counts_from_one() {
        assert_eq!(line_column(b"ab\ncd", 0), (1, 1));
        assert_eq!(line_column(b"ab\ncd", 4), (2, 2));
    }
}
