//! The generic `evidence-ndjson` source: one JSON evidence object per line.
//!
//! ```json
//! {"kind":"scan_report","occurred_at":"2025-03-02T10:00:00Z","subject":{"repo":"acme/api"},"attrs":{"tool":"semgrep"}}
//! ```
//!
//! `kind` (required) is an evidence kind name; `occurred_at` (optional) an RFC
//! 3339 time with a zone; `subject` (optional) an object of known subject
//! fields; `attrs` (required) an object. Lines are streamed: a file of any size
//! is read with memory bounded by the longest accepted line. Blank lines are
//! skipped; a bad line becomes a diagnostic with its line number and the rest
//! of the file still lands.

use std::io::BufRead;

use std::borrow::Cow;

use model::{CanonicalRecord, EvidenceKind, SourceRef, Subject};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{Context, Limits};

/// One line as written. `attrs` stays raw text and is canonicalised directly.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    #[serde(borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    occurred_at: Option<Cow<'a, str>>,
    #[serde(default)]
    subject: Option<Subject>,
    #[serde(borrow)]
    attrs: &'a RawValue,
}

/// A line too long to accept, or one that could not be read.
#[derive(Debug)]
pub enum LineError {
    /// The line exceeded the limit; it was skipped without being held in memory.
    TooLong {
        /// Bytes in the line.
        length: u64,
    },
    /// The reader failed.
    Io(std::io::Error),
}

/// Reads lines with a length limit: an over-long line is skipped in bounded
/// memory and reported, never loaded whole.
pub struct LineReader<R> {
    reader: R,
    limit: usize,
    line_number: u64,
}

impl<R: BufRead> LineReader<R> {
    /// Wrap `reader`; lines longer than `limit` bytes are refused.
    pub fn new(reader: R, limit: usize) -> Self {
        LineReader {
            reader,
            limit,
            line_number: 0,
        }
    }

    /// Read the next line into `buffer` (without its line ending). Returns the
    /// 1-based line number, or `None` at the end of input.
    pub fn next_line(&mut self, buffer: &mut Vec<u8>) -> Option<(u64, Result<(), LineError>)> {
        buffer.clear();
        let mut length = 0u64;
        let mut too_long = false;
        let mut any = false;
        loop {
            let available = match self.reader.fill_buf() {
                Ok(available) => available,
                Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(error) => {
                    self.line_number += 1;
                    return Some((self.line_number, Err(LineError::Io(error))));
                }
            };
            if available.is_empty() {
                if !any {
                    return None;
                }
                break;
            }
            any = true;
            let (chunk, consumed, done) = match memchr::memchr(b'\n', available) {
                Some(end) => (&available[..end], end + 1, true),
                None => (available, available.len(), false),
            };
            length += chunk.len() as u64;
            if !too_long {
                if buffer.len() + chunk.len() > self.limit {
                    too_long = true;
                    buffer.clear();
                } else {
                    buffer.extend_from_slice(chunk);
                }
            }
            self.reader.consume(consumed);
            if done {
                break;
            }
        }
        self.line_number += 1;
        if too_long {
            return Some((self.line_number, Err(LineError::TooLong { length })));
        }
        if buffer.last() == Some(&b'\r') {
            buffer.pop();
        }
        Some((self.line_number, Ok(())))
    }
}

/// Parse one line (without its ending) into a canonical record. `scratch` is reused between calls.
pub fn parse_line(
    line: &[u8],
    line_number: u64,
    context: &Context,
    limits: &Limits,
    scratch: &mut Vec<u8>,
) -> Result<CanonicalRecord, String> {
    // Nesting needs no separate scan: serde_json refuses more than 128 levels
    // in the typed fields and skips the raw attributes without recursing, and
    // the attributes' canonicaliser enforces `max_depth`.
    let parsed: Line = serde_json::from_slice(line).map_err(|error| {
        let message = error.to_string();
        match message.rfind(" at line ") {
            Some(position) => format!("column {}: {}", error.column(), &message[..position]),
            None => message,
        }
    })?;
    let kind = EvidenceKind::from_name(&parsed.kind).ok_or_else(|| {
        format!(
            "unknown kind `{}` (expected one of: {})",
            parsed.kind,
            EvidenceKind::ALL
                .iter()
                .map(|kind| kind.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    })?;
    if !parsed.attrs.get().starts_with('{') {
        return Err("`attrs` must be a JSON object".into());
    }
    scratch.clear();
    model::canonical::canonicalize_text(parsed.attrs.get(), limits.max_depth, scratch)
        .map_err(|error| format!("attrs: {error}"))?;
    let attrs = model::canonical::into_string(scratch.clone());
    let from_input = match parsed.occurred_at.as_deref() {
        Some(text) => Some(model::time::parse_time(text).map_err(|error| format!("occurred_at: {error}"))?),
        None => None,
    };
    let (occurred_at, occurred_at_source) = context.time(from_input);
    let mut subject = parsed.subject.unwrap_or_default();
    if subject.repo.is_none() {
        subject.repo.clone_from(&context.repo);
    }
    if subject.commit.is_none() {
        subject.commit.clone_from(&context.commit);
    }
    if subject.git_ref.is_none() {
        subject.git_ref.clone_from(&context.git_ref);
    }
    let source = SourceRef {
        collector: "evidence-ndjson".into(),
        origin: context.origin.clone(),
        sha256: context.sha256.clone(),
        line: Some(line_number),
        pointer: None,
    };
    Ok(CanonicalRecord::new(
        kind,
        occurred_at,
        occurred_at_source,
        subject.to_canonical_string(),
        source,
        attrs,
        scratch,
    ))
}

/// Lines gathered for parsing elsewhere (another thread): complete lines, each
/// ending in `\n`, the first of which is line `first_line`. An over-long or
/// unreadable line is kept as an empty line (so numbering holds) and reported
/// in `problems`.
#[derive(Debug, Default)]
pub struct Block {
    /// Position of the block in the input (0, 1, 2, ...).
    pub sequence: u64,
    /// 1-based number of the first line.
    pub first_line: u64,
    /// The lines.
    pub bytes: Vec<u8>,
    /// (line, message) for lines that could not be kept.
    pub problems: Vec<(u64, String)>,
    /// Whether reading stopped here on an I/O error.
    pub truncated: bool,
}

/// Read `reader` into blocks of about `block_bytes`, calling `on_block` for
/// each (stop early by returning `false`). Memory stays bounded by the block
/// size plus the longest accepted line.
pub fn read_blocks(reader: impl BufRead, limits: &Limits, block_bytes: usize, mut on_block: impl FnMut(Block) -> bool) {
    let mut lines = LineReader::new(reader, limits.max_line_bytes);
    let mut buffer = Vec::with_capacity(4096);
    let mut block = Block {
        first_line: 1,
        bytes: Vec::with_capacity(block_bytes + 4096),
        ..Block::default()
    };
    while let Some((line_number, read)) = lines.next_line(&mut buffer) {
        match read {
            Ok(()) => block.bytes.extend_from_slice(&buffer),
            Err(LineError::TooLong { length }) => block.problems.push((
                line_number,
                format!(
                    "line of {length} bytes exceeds the limit of {} bytes; skipped",
                    limits.max_line_bytes
                ),
            )),
            Err(LineError::Io(error)) => {
                block.problems.push((
                    line_number,
                    format!("read error: {error}; the rest of the file was not read"),
                ));
                block.truncated = true;
                on_block(block);
                return;
            }
        }
        block.bytes.push(b'\n');
        if block.bytes.len() >= block_bytes {
            let next = Block {
                sequence: block.sequence + 1,
                first_line: line_number + 1,
                bytes: Vec::with_capacity(block_bytes + 4096),
                ..Block::default()
            };
            if !on_block(std::mem::replace(&mut block, next)) {
                return;
            }
        }
    }
    if !block.bytes.is_empty() || !block.problems.is_empty() {
        on_block(block);
    }
}

/// Parse the lines of a block: records in line order, and (line, message) for
/// every line that was refused (including the block's own problems).
pub fn parse_block(block: &Block, context: &Context, limits: &Limits) -> (Vec<CanonicalRecord>, Vec<(u64, String)>) {
    let mut records = Vec::with_capacity(block.bytes.len() / 256);
    let mut errors = block.problems.clone();
    let mut scratch = Vec::with_capacity(4096);
    for (line_number, line) in (block.first_line..).zip(block.bytes.split(|byte| *byte == b'\n')) {
        // A UTF-8 byte order mark may start the file.
        let line = if line_number == 1 {
            line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
        } else {
            line
        };
        if !line.iter().all(u8::is_ascii_whitespace) {
            match parse_line(line, line_number, context, limits, &mut scratch) {
                Ok(record) => records.push(record),
                Err(message) => errors.push((line_number, message)),
            }
        }
    }
    errors.sort_by_key(|(line, _)| *line);
    (records, errors)
}

/// Stream records from `reader`, calling `on_record` for each good line and
/// `on_error` with (line, message) for each bad one.
pub fn stream(
    reader: impl BufRead,
    context: &Context,
    limits: &Limits,
    mut on_record: impl FnMut(CanonicalRecord),
    mut on_error: impl FnMut(u64, String),
) {
    read_blocks(reader, limits, BLOCK_BYTES, |block| {
        let (records, errors) = parse_block(&block, context, limits);
        records.into_iter().for_each(&mut on_record);
        errors.into_iter().for_each(|(line, message)| on_error(line, message));
        true
    });
}

/// Default block size for [`read_blocks`].
pub const BLOCK_BYTES: usize = 1 << 20;

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use model::OccurredAtSource;

    fn run(input: &[u8], limits: Limits) -> (Vec<CanonicalRecord>, Vec<(u64, String)>) {
        let context = Context {
            origin: "sample.ndjson".into(),
            sha256: "ab".into(),
            ..Context::default()
        };
        let mut records = Vec::new();
        let mut errors = Vec::new();
        stream(
            input,
            &context,
            &limits,
            |record| records.push(record),
            |line, message| errors.push((line, message)),
        );
        (records, errors)
    }

    #[test]
    fn good_lines_land_and_bad_lines_are_reported_with_their_number() {
        let input = concat!(
            "{\"kind\":\"scan_report\",\"occurred_at\":\"2025-03-02T10:00:00Z\",\"subject\":{\"repo\":\"acme/api\"},\"attrs\":{\"tool\":\"semgrep\"}}\n",
            "\n",
            "{\"kind\":\"bogus\",\"attrs\":{}}\n",
            "{\"kind\":\"deploy\",\"attrs\":[]}\n",
            "{\"kind\":\"deploy\",\"attrs\":{},\"subject\":{\"planet\":\"mars\"}}\n",
            "{\"kind\":\"deploy\",\"occurred_at\":\"2025-03-02T10:00:00\",\"attrs\":{}}\n",
            "{\"kind\":\"deploy\",\"attrs\":{\"a\":1}\n",
            "{\"kind\":\"deploy\",\"attrs\":{}}\r\n",
        );
        let (records, errors) = run(input.as_bytes(), Limits::default());
        assert_eq!(records.len(), 2);
        assert_eq!(records[0].subject, r#"{"repo":"acme/api"}"#);
        assert_eq!(records[0].attrs, r#"{"tool":"semgrep"}"#);
        assert_eq!(records[0].occurred_at_source, OccurredAtSource::Source);
        assert_eq!(records[0].source.line, Some(1));
        assert_eq!(records[1].occurred_at_source, OccurredAtSource::Ingested);
        assert_eq!(records[1].source.line, Some(8));
        let lines: Vec<u64> = errors.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, vec![3, 4, 5, 6, 7]);
        assert!(errors[0].1.contains("unknown kind `bogus`"));
        assert!(errors[1].1.contains("must be a JSON object"));
        assert!(errors[2].1.contains("planet"));
        assert!(errors[3].1.contains("zone"));
        assert!(errors[4].1.contains("EOF"), "{}", errors[4].1);
    }

    #[test]
    fn over_long_lines_are_skipped_in_bounded_memory() {
        let limits = Limits {
            max_line_bytes: 64,
            ..Limits::default()
        };
        let mut input = b"{\"kind\":\"deploy\",\"attrs\":{\"x\":\"".to_vec();
        input.extend(std::iter::repeat_n(b'a', 10_000));
        input.extend_from_slice(b"\"}}\n{\"kind\":\"deploy\",\"attrs\":{}}\n");
        let (records, errors) = run(&input, limits);
        assert_eq!(records.len(), 1);
        assert_eq!(errors.len(), 1);
        assert!(errors[0].1.contains("exceeds the limit"));
    }

    #[test]
    fn hostile_lines_give_errors_not_panics() {
        let deep = format!(
            "{{\"kind\":\"deploy\",\"attrs\":{}{}}}",
            "[".repeat(5000),
            "]".repeat(5000)
        );
        let cases: Vec<Vec<u8>> = vec![
            deep.into_bytes(),
            b"\xff\xfe\x00garbage".to_vec(),
            b"{\"kind\":\"deploy\",\"attrs\":{\"n\":1e999999}}".to_vec(),
            b"{\"kind\":\"deploy\",\"occurred_at\":\"1800-01-01T00:00:00Z\",\"attrs\":{}}".to_vec(),
            b"{\"kind\":\"deploy\",\"occurred_at\":\"99999-01-01T00:00:00Z\",\"attrs\":{}}".to_vec(),
            b"{\"kind\":\"deploy\",\"subject\":{\"pull_request\":-1},\"attrs\":{}}".to_vec(),
            b"\x00\x00\x00".to_vec(),
            b"[]".to_vec(),
        ];
        for case in cases {
            let (records, errors) = run(&case, Limits::default());
            assert!(records.is_empty(), "{:?}", String::from_utf8_lossy(&case));
            assert_eq!(errors.len(), 1, "{:?}", String::from_utf8_lossy(&case));
        }
    }

    #[test]
    fn attrs_are_canonicalised_and_hashed_like_the_value_path() {
        let line = br#"{"kind":"deploy","occurred_at":"2025-03-02T12:00:00+02:00","subject":{"service":"api","repo":"a/b"},"attrs":{"z":1.0,"a":{"y":"\u00e9","x":[1e2]}}}"#;
        let context = Context {
            origin: "f".into(),
            sha256: "00".into(),
            ..Context::default()
        };
        let fast = parse_line(line, 4, &context, &Limits::default(), &mut Vec::new()).unwrap();
        let value: serde_json::Value = serde_json::from_slice(line).unwrap();
        let evidence = model::NewEvidence {
            kind: EvidenceKind::Deploy,
            occurred_at: Some("2025-03-02T10:00:00Z".parse().unwrap()),
            occurred_at_source: model::OccurredAtSource::Source,
            subject: serde_json::from_value(value["subject"].clone()).unwrap(),
            source: fast.source.clone(),
            attrs: value["attrs"].clone(),
        };
        assert_eq!(fast, CanonicalRecord::from_evidence(&evidence, &mut Vec::new()));
        assert_eq!(fast.attrs, r#"{"a":{"x":[100],"y":"é"},"z":1}"#);
    }

    #[test]
    fn a_record_parsed_before_its_digest_was_known_completes_to_the_same_record() {
        let line =
            br#"{"kind":"deploy","occurred_at":"2025-03-02T10:00:00Z","subject":{"repo":"a/b"},"attrs":{"x":1}}"#;
        let known = Context {
            origin: "/data/e.ndjson".into(),
            sha256: "ab".repeat(32),
            ..Context::default()
        };
        let pending = Context {
            sha256: String::new(),
            ..known.clone()
        };
        let direct = parse_line(line, 3, &known, &Limits::default(), &mut Vec::new()).unwrap();
        let completed = parse_line(line, 3, &pending, &Limits::default(), &mut Vec::new())
            .unwrap()
            .with_source_sha256(&"ab".repeat(32), &mut Vec::new());
        assert_eq!(completed, direct);
        assert_eq!(completed.leaf_state().leaf_hash(9), direct.leaf_state().leaf_hash(9));
    }

    #[test]
    fn a_byte_order_mark_before_the_first_line_is_ignored() {
        let (records, errors) = run(b"\xEF\xBB\xBF{\"kind\":\"deploy\",\"attrs\":{}}\n", Limits::default());
        assert_eq!((records.len(), errors.len()), (1, 0));
    }

    #[test]
    fn context_fills_subject_and_time() {
        let context = Context {
            origin: "x".into(),
            repo: Some("acme/web".into()),
            occurred_at: Some("2025-01-01T00:00:00Z".parse().unwrap()),
            ..Context::default()
        };
        let record = parse_line(
            br#"{"kind":"merge","attrs":{}}"#,
            1,
            &context,
            &Limits::default(),
            &mut Vec::new(),
        )
        .unwrap();
        assert_eq!(record.subject, r#"{"repo":"acme/web"}"#);
        assert_eq!(record.occurred_at_source, OccurredAtSource::Flag);
    }
}
