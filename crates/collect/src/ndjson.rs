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

use std::io::Read;

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

/// Read `reader` into blocks of about `block_bytes` of whole lines, calling
/// `on_block` for each (stop early by returning `false`). The input is read in
/// large pieces and cut at line ends, without copying line by line. Memory
/// stays bounded by the block size plus the longest accepted line: a longer
/// line is skipped as it streams past, kept as an empty line (so numbering
/// holds) and reported.
pub fn read_blocks(
    mut reader: impl Read,
    limits: &Limits,
    block_bytes: usize,
    mut on_block: impl FnMut(Block) -> bool,
) {
    let mut piece = vec![0u8; READ_BYTES];
    let mut block = Block {
        first_line: 1,
        bytes: Vec::with_capacity(block_bytes + READ_BYTES),
        ..Block::default()
    };
    // An over-long line being skipped: its number and the bytes seen so far.
    let mut skipping: Option<(u64, u64)> = None;
    loop {
        let read = match reader.read(&mut piece) {
            Ok(0) => break,
            Ok(read) => read,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(error) => {
                let line = block.first_line + newlines(&block.bytes);
                block
                    .problems
                    .push((line, format!("read error: {error}; the rest of the file was not read")));
                block.truncated = true;
                on_block(block);
                return;
            }
        };
        let mut data = &piece[..read];
        if let Some((line, length)) = skipping {
            match memchr::memchr(b'\n', data) {
                None => {
                    skipping = Some((line, length + data.len() as u64));
                    continue;
                }
                Some(end) => {
                    block.problems.push((line, too_long(length + end as u64, limits)));
                    block.bytes.push(b'\n');
                    data = &data[end + 1..];
                    skipping = None;
                }
            }
        }
        block.bytes.extend_from_slice(data);
        let complete = memchr::memrchr(b'\n', &block.bytes).map_or(0, |end| end + 1);
        let partial = block.bytes.len() - complete;
        if partial > limits.max_line_bytes {
            // The unfinished line is already too long: skip the rest of it.
            let line = block.first_line + newlines(&block.bytes[..complete]);
            skipping = Some((line, partial as u64));
            block.bytes.truncate(complete);
        }
        if complete >= block_bytes {
            let tail = block.bytes.split_off(complete);
            let next_line = block.first_line + newlines(&block.bytes);
            let mut next = Block {
                sequence: block.sequence + 1,
                first_line: next_line,
                bytes: Vec::with_capacity(block_bytes + READ_BYTES),
                ..Block::default()
            };
            next.bytes.extend_from_slice(&tail);
            // A line being skipped belongs to the next block.
            if !on_block(std::mem::replace(&mut block, next)) {
                return;
            }
        }
    }
    if let Some((line, length)) = skipping {
        block.problems.push((line, too_long(length, limits)));
        block.bytes.push(b'\n');
    } else if block.bytes.last().is_some_and(|byte| *byte != b'\n') {
        block.bytes.push(b'\n');
    }
    if !block.bytes.is_empty() || !block.problems.is_empty() {
        on_block(block);
    }
}

/// Bytes read from the input at a time.
const READ_BYTES: usize = 256 * 1024;

fn newlines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

fn too_long(length: u64, limits: &Limits) -> String {
    format!(
        "line of {length} bytes exceeds the limit of {} bytes; skipped",
        limits.max_line_bytes
    )
}

/// Parse the lines of a block: records in line order, and (line, message) for
/// every line that was refused (including the block's own problems).
pub fn parse_block(block: &Block, context: &Context, limits: &Limits) -> (Vec<CanonicalRecord>, Vec<(u64, String)>) {
    let mut records = Vec::with_capacity(block.bytes.len() / 256);
    let mut errors = block.problems.clone();
    let mut scratch = Vec::with_capacity(4096);
    for (line_number, line) in (block.first_line..).zip(block.bytes.split(|byte| *byte == b'\n')) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        // A UTF-8 byte order mark may start the file.
        let line = if line_number == 1 {
            line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
        } else {
            line
        };
        if line.len() > limits.max_line_bytes {
            errors.push((line_number, too_long(line.len() as u64, limits)));
        } else if !line.iter().all(u8::is_ascii_whitespace) {
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
    reader: impl Read,
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

    /// A reader that hands out at most `step` bytes per call.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            let take = self.step.min(buffer.len()).min(self.data.len());
            buffer[..take].copy_from_slice(&self.data[..take]);
            self.data = &self.data[take..];
            Ok(take)
        }
    }

    proptest::proptest! {
        #[test]
        fn blocks_keep_every_line_and_its_number(
            lengths in proptest::collection::vec(0usize..40, 0..60),
            step in 1usize..17,
            block_bytes in 1usize..64,
            final_newline in proptest::bool::ANY,
        ) {
            let limits = Limits { max_line_bytes: 25, ..Limits::default() };
            let lines: Vec<String> = lengths.iter().enumerate()
                .map(|(index, length)| format!("{}", index % 10).repeat(*length))
                .collect();
            let mut input = lines.join("\n");
            if final_newline && !lines.is_empty() {
                input.push('\n');
            }
            let mut seen: Vec<(u64, String)> = Vec::new();
            let mut problems: Vec<u64> = Vec::new();
            let mut expected_sequence = 0;
            read_blocks(Trickle { data: input.as_bytes(), step }, &limits, block_bytes, |block| {
                assert_eq!(block.sequence, expected_sequence);
                expected_sequence += 1;
                problems.extend(block.problems.iter().map(|(line, _)| *line));
                let text = String::from_utf8(block.bytes.clone()).unwrap();
                assert!(text.is_empty() || text.ends_with('\n'));
                for (offset, line) in text.split_terminator('\n').enumerate() {
                    seen.push((block.first_line + offset as u64, line.to_string()));
                }
                true
            });
            let mut expected_problems = Vec::new();
            for (index, line) in lines.iter().enumerate() {
                let number = index as u64 + 1;
                if line.len() > 25 {
                    // Kept short or empty: long lines split across reads are skipped as they pass.
                    let kept = seen.iter().find(|(at, _)| *at == number).map(|(_, text)| text.clone());
                    if kept.as_deref() != Some(line.as_str()) {
                        expected_problems.push(number);
                        proptest::prop_assert_eq!(kept.as_deref(), Some(""));
                    }
                } else if !(line.is_empty() && index + 1 == lines.len() && !final_newline) {
                    proptest::prop_assert!(seen.contains(&(number, line.clone())), "line {} missing", number);
                }
            }
            proptest::prop_assert_eq!(problems, expected_problems);
        }
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
