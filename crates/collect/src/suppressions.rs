//! Undisciplined overrides: inline suppression comments (`nosemgrep`, `# nosec`,
//! `//nolint:gosec`, `checkov:skip=`, `#tfsec:ignore:`, `trivy:ignore:`,
//! `kics-scan ignore`, `gitleaks:allow`) and scanner ignore files (`.trivyignore`,
//! `.gitleaksignore`, `.snyk`, `.semgrepignore`, `.checkov.yaml`) found in a
//! repository, and the `suppression` evidence records they become.
//!
//! Detection is textual and line-based, like the scanners' own: one file's bytes
//! in, one [`SuppressionFound`] per suppressed rule out (a marker naming two rules
//! gives two; a marker naming none gives one with no rule). Binary files and files
//! larger than `max_document_bytes` are skipped; invalid UTF-8 is read lossily;
//! nothing panics. Every marker, file and limit is listed in `docs/suppressions.md`.

use std::borrow::Cow;
use std::fmt;

use model::{EvidenceKind, NewEvidence, Subject};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::trivy::OrContext;
use crate::{Context, Limits};

/// The collector id recorded in every record's source.
pub const COLLECTOR: &str = "suppressions";

/// Longest `text` (and longest rule id) kept, in characters.
pub const MAX_TEXT_CHARS: usize = 200;

/// Most suppressions reported for one line; the rest of a longer list is dropped.
pub const MAX_PER_LINE: usize = 20;

/// How much of a file is searched for a NUL byte to call it binary.
pub const BINARY_PROBE_BYTES: usize = 8 * 1024;

/// Every tool id a suppression can name (kebab-case).
pub const TOOLS: &[&str] = &[
    "bandit",
    "checkov",
    "gitleaks",
    "golangci-lint",
    "gosec",
    "kics",
    "semgrep",
    "snyk",
    "tfsec",
    "trivy",
];

/// File extensions of prose documents: they mention markers without suppressing anything.
const PROSE_EXTENSIONS: &[&str] = &["md", "markdown", "rst", "adoc"];

/// Where a suppression was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SuppressionKind {
    /// A comment or annotation next to the code it silences.
    Inline,
    /// An entry of a scanner's ignore or configuration file.
    IgnoreFile,
}

impl SuppressionKind {
    /// The name used in output and in records: `inline` or `ignore-file`.
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionKind::Inline => "inline",
            SuppressionKind::IgnoreFile => "ignore-file",
        }
    }
}

impl fmt::Display for SuppressionKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

impl PartialEq<&str> for SuppressionKind {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One suppression found in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SuppressionFound {
    /// The file, as the caller named it.
    pub file: String,
    /// 1-based line of the marker or ignore entry.
    pub line: u64,
    /// The tool whose finding is silenced (one of [`TOOLS`]).
    pub tool: &'static str,
    /// The rule, check, vulnerability or fingerprint silenced, when the marker names one.
    pub rule: Option<String>,
    /// Inline marker or ignore-file entry.
    pub kind: SuppressionKind,
    /// The line, trimmed, at most [`MAX_TEXT_CHARS`] characters (a longer line
    /// is cut around the marker, with `…` where text was left out).
    pub text: String,
}

/// Why a file is not searched at all, if it is not: too large, or binary.
pub fn skip_reason(bytes: &[u8], limits: &Limits) -> Option<String> {
    if bytes.len() as u64 > limits.max_document_bytes {
        return Some(format!(
            "{} bytes exceeds the limit of {} bytes; not searched for suppressions",
            bytes.len(),
            limits.max_document_bytes
        ));
    }
    if memchr::memchr(0, &bytes[..bytes.len().min(BINARY_PROBE_BYTES)]).is_some() {
        return Some("binary file (a NUL byte in the first 8 KiB); not searched for suppressions".to_string());
    }
    None
}

/// Every suppression in one file. `path_display` names the file in the
/// findings; its last component selects the ignore-file readers and its
/// extension the tool of a `#nosec` marker (`.go`: gosec) and the prose
/// documents that are skipped. Never panics.
pub fn scan(path_display: &str, bytes: &[u8], limits: &Limits) -> Vec<SuppressionFound> {
    if skip_reason(bytes, limits).is_some() {
        return Vec::new();
    }
    let name = path_display.rsplit(['/', '\\']).next().unwrap_or(path_display);
    let extension = name
        .rsplit_once('.')
        .map(|(_, extension)| extension.to_ascii_lowercase())
        .unwrap_or_default();
    let mut found = Found {
        file: path_display,
        list: Vec::new(),
    };
    match IgnoreFile::from_name(name) {
        Some(IgnoreFile::Trivy) => read_list(bytes, &mut found, "trivy", first_token),
        Some(IgnoreFile::TrivyYaml) => read_trivy_yaml(bytes, &mut found),
        Some(IgnoreFile::Gitleaks) => read_list(bytes, &mut found, "gitleaks", gitleaks_rule),
        Some(IgnoreFile::Semgrep) => read_list(bytes, &mut found, "semgrep", |_| None),
        Some(IgnoreFile::Snyk) => read_snyk(bytes, &mut found),
        Some(IgnoreFile::Checkov) => read_checkov(bytes, &mut found),
        None if PROSE_EXTENSIONS.contains(&extension.as_str()) => {}
        None => {
            let go_file = extension == "go";
            for (number, line) in lines(bytes) {
                let mut markers = inline_markers(&line, go_file);
                markers.sort_by_key(|marker| marker.offset);
                for marker in markers.into_iter().take(MAX_PER_LINE) {
                    found.push(
                        number,
                        marker.tool,
                        marker.rule,
                        SuppressionKind::Inline,
                        &line,
                        marker.offset,
                    );
                }
            }
        }
    }
    found.list
}

/// One `suppression` record per finding: attributes `tool`, `rule` (when
/// named), `kind`, `text`, `file` and `line`; the source's `line` is the
/// finding's line and it has no pointer. The input states no time, so the time
/// follows [`Context::time`] (`--occurred-at`, else the ingest time, never invented).
pub fn to_evidence(found: &[SuppressionFound], context: &Context) -> Vec<NewEvidence> {
    found
        .iter()
        .map(|suppression| {
            let mut attrs = Map::new();
            attrs.insert("tool".into(), json!(suppression.tool));
            if let Some(rule) = &suppression.rule {
                attrs.insert("rule".into(), json!(rule));
            }
            attrs.insert("kind".into(), json!(suppression.kind.as_str()));
            attrs.insert("text".into(), json!(suppression.text));
            attrs.insert("file".into(), json!(suppression.file));
            attrs.insert("line".into(), json!(suppression.line));
            let mut record = context.record(
                COLLECTOR,
                EvidenceKind::Suppression,
                None,
                Subject::default().or_context(context),
                None,
                Value::Object(attrs),
            );
            record.source.line = Some(suppression.line);
            record
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Reading lines and collecting findings
// ---------------------------------------------------------------------------

/// The findings of one file, in line order.
struct Found<'a> {
    file: &'a str,
    list: Vec<SuppressionFound>,
}

impl Found<'_> {
    /// Record one finding; `offset` is the byte offset of the marker in `line`.
    fn push(
        &mut self,
        line_number: u64,
        tool: &'static str,
        rule: Option<String>,
        kind: SuppressionKind,
        line: &str,
        offset: usize,
    ) {
        self.list.push(SuppressionFound {
            file: self.file.to_string(),
            line: line_number,
            tool,
            rule: rule.map(|rule| bounded(&rule)),
            kind,
            text: bounded_text(line, offset),
        });
    }
}

/// The lines of a file with their 1-based numbers: split at `\n`, a `\r`
/// before it dropped, a leading UTF-8 byte order mark ignored, invalid UTF-8
/// replaced.
fn lines(bytes: &[u8]) -> impl Iterator<Item = (u64, Cow<'_, str>)> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.split(|&byte| byte == b'\n').zip(1u64..).map(|(line, number)| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        (number, String::from_utf8_lossy(line))
    })
}

/// `text` cut to [`MAX_TEXT_CHARS`] characters.
fn bounded(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        Some((end, _)) => text[..end].to_string(),
        None => text.to_string(),
    }
}

/// The line trimmed; when longer than [`MAX_TEXT_CHARS`] characters, a window
/// that starts shortly before the marker at byte `offset`, with `…` for what
/// was left out on either side.
fn bounded_text(line: &str, offset: usize) -> String {
    let leading = line.len() - line.trim_start().len();
    let trimmed = line.trim();
    let total = trimmed.chars().count();
    if total <= MAX_TEXT_CHARS {
        return trimmed.to_string();
    }
    let marker = offset.saturating_sub(leading).min(trimmed.len());
    let marker_char = trimmed.char_indices().take_while(|(index, _)| *index < marker).count();
    // Room for the window and up to two ellipses.
    let window = MAX_TEXT_CHARS - 2;
    let start = marker_char.saturating_sub(40).min(total - window);
    let mut text = String::new();
    if start > 0 {
        text.push('…');
    }
    text.extend(trimmed.chars().skip(start).take(window));
    if start + window < total {
        text.push('…');
    }
    text
}

// ---------------------------------------------------------------------------
// Inline markers
// ---------------------------------------------------------------------------

/// One inline marker found on a line.
struct Marker {
    /// Byte offset of the marker in the line.
    offset: usize,
    tool: &'static str,
    rule: Option<String>,
}

/// A byte that continues a word (so a marker glued to it is not a marker).
fn is_word_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_'
}

/// Whether a marker may start at `at`: the byte before is not part of a word.
fn starts_word(bytes: &[u8], at: usize) -> bool {
    at == 0 || !is_word_byte(bytes[at - 1])
}

/// Whether a marker may end at `end`: the byte after is not part of a word or a `-`.
fn ends_word(bytes: &[u8], end: usize) -> bool {
    bytes.get(end).is_none_or(|&byte| !(is_word_byte(byte) || byte == b'-'))
}

/// The offset of the first byte from `at` that is not a space or a tab.
fn skip_blanks(bytes: &[u8], mut at: usize) -> usize {
    while bytes.get(at).is_some_and(|&byte| byte == b' ' || byte == b'\t') {
        at += 1;
    }
    at
}

/// The run of bytes accepted by `accept` from `at` (ASCII only, so the slice
/// is always on character boundaries), and where it ends.
fn take_while(line: &str, at: usize, accept: impl Fn(u8) -> bool) -> (&str, usize) {
    let bytes = line.as_bytes();
    let mut end = at.min(bytes.len());
    while bytes.get(end).is_some_and(|&byte| byte.is_ascii() && accept(byte)) {
        end += 1;
    }
    (&line[at.min(end)..end], end)
}

/// A list of ids from `at`: `id[, id]...`, blanks allowed around the commas;
/// at most [`MAX_PER_LINE`].
fn id_list(line: &str, mut at: usize, accept: impl Fn(u8) -> bool + Copy) -> Vec<String> {
    let bytes = line.as_bytes();
    let mut ids = Vec::new();
    while ids.len() < MAX_PER_LINE {
        at = skip_blanks(bytes, at);
        let (id, end) = take_while(line, at, accept);
        if id.is_empty() {
            break;
        }
        ids.push(id.to_string());
        at = skip_blanks(bytes, end);
        if bytes.get(at) != Some(&b',') {
            break;
        }
        at += 1;
    }
    ids
}

/// A byte of a semgrep rule id (`python.lang.security.audit.eval-detected`).
fn semgrep_id_byte(byte: u8) -> bool {
    is_word_byte(byte) || matches!(byte, b'.' | b'-')
}

/// A byte of a tfsec or Trivy check id (`aws-s3-enable-bucket-logging`, `AVD-AWS-0089`, `*`).
fn check_id_byte(byte: u8) -> bool {
    is_word_byte(byte) || matches!(byte, b'.' | b'-' | b'*')
}

/// Every inline marker on one line. `go_file`: a `#nosec` is gosec's even
/// without `//` right before it.
fn inline_markers(line: &str, go_file: bool) -> Vec<Marker> {
    let lower = line.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut markers = Vec::new();
    let mut push = |offset: usize, tool: &'static str, rules: Vec<String>| {
        if rules.is_empty() {
            markers.push(Marker {
                offset,
                tool,
                rule: None,
            });
        }
        for rule in rules {
            markers.push(Marker {
                offset,
                tool,
                rule: Some(rule),
            });
        }
    };

    // semgrep: `nosemgrep` or `nosem`, optionally `: rule-id[, rule-id]`.
    for (at, _) in lower.match_indices("nosem").take(MAX_PER_LINE) {
        let mut end = at + "nosem".len();
        if lower[end..].starts_with("grep") {
            end += "grep".len();
        }
        if !starts_word(bytes, at) || !ends_word(bytes, end) {
            continue;
        }
        let colon = skip_blanks(bytes, end);
        let rules = if bytes.get(colon) == Some(&b':') {
            id_list(line, colon + 1, semgrep_id_byte)
        } else {
            Vec::new()
        };
        push(at, "semgrep", rules);
    }

    // bandit `# nosec [B101[, B102]]` and gosec `// #nosec [G401]`.
    for (at, _) in lower.match_indices("nosec").take(MAX_PER_LINE) {
        let end = at + "nosec".len();
        if !ends_word(bytes, end) {
            continue;
        }
        let hash = skip_blanks_backwards(bytes, at);
        if hash == 0 || bytes[hash - 1] != b'#' {
            continue;
        }
        let before = line[..hash - 1].trim_end();
        let gosec = go_file || before.ends_with("//") || before.ends_with("/*");
        let rules = nosec_ids(line, end, gosec);
        push(at, if gosec { "gosec" } else { "bandit" }, rules);
    }

    // golangci-lint: `//nolint:gosec[,errcheck]` silences gosec; a bare `//nolint` every linter.
    for (at, _) in lower.match_indices("//nolint").take(MAX_PER_LINE) {
        let end = at + "//nolint".len();
        if bytes.get(end) == Some(&b':') {
            let linters = id_list(&lower, end + 1, |byte| is_word_byte(byte) || byte == b'-');
            if linters.iter().any(|linter| linter == "gosec") {
                push(at, "gosec", Vec::new());
            }
        } else if ends_word(bytes, end) {
            push(at, "golangci-lint", Vec::new());
        }
    }

    // checkov: `checkov:skip=CKV_AWS_20:reason` and the Kubernetes annotation
    // `checkov.io/skip1: CKV_K8S_20=reason`.
    for (at, _) in lower.match_indices("checkov:skip=").take(MAX_PER_LINE) {
        if starts_word(bytes, at) {
            let (rule, _) = take_while(line, at + "checkov:skip=".len(), is_word_byte);
            push(at, "checkov", optional(rule));
        }
    }
    for (at, _) in lower.match_indices("checkov.io/skip").take(MAX_PER_LINE) {
        if !starts_word(bytes, at) {
            continue;
        }
        let (_, digits_end) = take_while(&lower, at + "checkov.io/skip".len(), |byte| byte.is_ascii_digit());
        let (_, colon) = take_while(&lower, digits_end, |byte| byte == b'"' || byte == b'\'');
        if bytes.get(colon) != Some(&b':') {
            continue;
        }
        let (_, value) = take_while(&lower, skip_blanks(bytes, colon + 1), |byte| {
            byte == b'"' || byte == b'\''
        });
        let (rule, _) = take_while(line, value, is_word_byte);
        push(at, "checkov", optional(rule));
    }

    // tfsec and Trivy: `#tfsec:ignore:aws-s3-enable-bucket-logging[:exp:2025-01-01]`,
    // `#trivy:ignore:AVD-AWS-0089`, `trivy:ignore:CVE-2024-1234`.
    for (needle, tool) in [("tfsec:ignore:", "tfsec"), ("trivy:ignore:", "trivy")] {
        for (at, _) in lower.match_indices(needle).take(MAX_PER_LINE) {
            if starts_word(bytes, at) {
                let (rule, _) = take_while(line, at + needle.len(), check_id_byte);
                push(at, tool, optional(rule));
            }
        }
    }

    // KICS: `# kics-scan ignore`, `ignore-line`, `ignore-block`, `disable=<query-id>[,<query-id>]`.
    for (at, _) in lower.match_indices("kics-scan").take(MAX_PER_LINE) {
        if !starts_word(bytes, at) {
            continue;
        }
        let command = skip_blanks(bytes, at + "kics-scan".len());
        if command == at + "kics-scan".len() {
            continue;
        }
        let rest = &lower[command..];
        if rest.starts_with("disable=") {
            let rules = id_list(line, command + "disable=".len(), |byte| {
                is_word_byte(byte) || byte == b'-'
            });
            push(at, "kics", rules);
        } else if ["ignore-line", "ignore-block", "ignore"]
            .iter()
            .any(|word| rest.starts_with(word) && ends_word(bytes, command + word.len()))
        {
            push(at, "kics", Vec::new());
        }
    }

    // gitleaks: `gitleaks:allow`.
    for (at, _) in lower.match_indices("gitleaks:allow").take(MAX_PER_LINE) {
        if starts_word(bytes, at) && ends_word(bytes, at + "gitleaks:allow".len()) {
            push(at, "gitleaks", Vec::new());
        }
    }

    markers
}

/// The offset after stepping back over spaces and tabs before `at`.
fn skip_blanks_backwards(bytes: &[u8], mut at: usize) -> usize {
    while at > 0 && (bytes[at - 1] == b' ' || bytes[at - 1] == b'\t') {
        at -= 1;
    }
    at
}

/// The rule ids after `nosec`: blank- or comma-separated, optionally after a
/// `:`; gosec ids look like `G401`, bandit ids like `B101` or a test name with
/// an underscore (`assert_used`). The list stops at the first other word.
fn nosec_ids(line: &str, at: usize, gosec: bool) -> Vec<String> {
    let bytes = line.as_bytes();
    let mut at = skip_blanks(bytes, at);
    if bytes.get(at) == Some(&b':') {
        at += 1;
    }
    let mut ids = Vec::new();
    while ids.len() < MAX_PER_LINE {
        let (_, start) = take_while(line, at, |byte| matches!(byte, b' ' | b'\t' | b','));
        let (token, end) = take_while(line, start, is_word_byte);
        let numbered = |letter: u8| {
            token.len() > 1 && token.as_bytes()[0] == letter && token.bytes().skip(1).all(|byte| byte.is_ascii_digit())
        };
        let accepted = if gosec {
            numbered(b'G')
        } else {
            numbered(b'B') || token.contains('_') && token.bytes().all(|byte| byte.is_ascii_lowercase() || byte == b'_')
        };
        if !accepted {
            break;
        }
        ids.push(token.to_string());
        at = end;
    }
    ids
}

/// `Some(rule)` unless it is empty.
fn optional(rule: &str) -> Vec<String> {
    if rule.is_empty() {
        Vec::new()
    } else {
        vec![rule.to_string()]
    }
}

// ---------------------------------------------------------------------------
// Ignore files
// ---------------------------------------------------------------------------

/// The ignore files recognised by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IgnoreFile {
    /// `.trivyignore`: one id per line.
    Trivy,
    /// `.trivyignore.yaml` / `.trivyignore.yml`: `- id: ...` entries.
    TrivyYaml,
    /// `.gitleaksignore`: one finding fingerprint per line.
    Gitleaks,
    /// `.semgrepignore`: one path pattern per line.
    Semgrep,
    /// `.snyk`: the `ignore:` map of vulnerability ids.
    Snyk,
    /// `.checkov.yaml` / `.checkov.yml`: the `skip-check:` list.
    Checkov,
}

impl IgnoreFile {
    fn from_name(name: &str) -> Option<IgnoreFile> {
        match name {
            ".trivyignore" => Some(IgnoreFile::Trivy),
            ".trivyignore.yaml" | ".trivyignore.yml" => Some(IgnoreFile::TrivyYaml),
            ".gitleaksignore" => Some(IgnoreFile::Gitleaks),
            ".semgrepignore" => Some(IgnoreFile::Semgrep),
            ".snyk" => Some(IgnoreFile::Snyk),
            ".checkov.yaml" | ".checkov.yml" => Some(IgnoreFile::Checkov),
            _ => None,
        }
    }
}

/// The line without a trailing ` # comment` (a `#` at the start or after a blank).
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let cut = (0..bytes.len())
        .find(|&index| bytes[index] == b'#' && (index == 0 || matches!(bytes[index - 1], b' ' | b'\t')));
    cut.map_or(line, |index| &line[..index])
}

/// A YAML scalar without surrounding quotes.
fn unquote(text: &str) -> &str {
    let text = text.trim();
    for quote in ['"', '\''] {
        if let Some(inner) = text.strip_prefix(quote).and_then(|rest| rest.strip_suffix(quote)) {
            return inner;
        }
    }
    text
}

/// The first blank-separated word of an entry.
fn first_token(entry: &str) -> Option<String> {
    entry.split_whitespace().next().map(str::to_string)
}

/// The rule id of a gitleaks fingerprint (`[commit:]file:rule-id:line`).
fn gitleaks_rule(entry: &str) -> Option<String> {
    let mut fields = entry.rsplitn(3, ':');
    let line = fields.next()?;
    let rule = fields.next()?;
    fields.next()?;
    (!line.is_empty() && line.bytes().all(|byte| byte.is_ascii_digit()) && !rule.is_empty()).then(|| rule.to_string())
}

/// A list file: each line that is neither blank nor a `#` comment is one suppression.
fn read_list(bytes: &[u8], found: &mut Found<'_>, tool: &'static str, rule: impl Fn(&str) -> Option<String>) {
    for (number, line) in lines(bytes) {
        let entry = line.trim();
        if entry.is_empty() || entry.starts_with('#') {
            continue;
        }
        let offset = line.len() - line.trim_start().len();
        found.push(number, tool, rule(entry), SuppressionKind::IgnoreFile, &line, offset);
    }
}

/// `.trivyignore.yaml`: every `id:` entry (under `vulnerabilities`, `misconfigurations`, `secrets`, `licenses`).
fn read_trivy_yaml(bytes: &[u8], found: &mut Found<'_>) {
    for (number, line) in lines(bytes) {
        let entry = strip_comment(&line).trim();
        let entry = entry.strip_prefix('-').map_or(entry, str::trim_start);
        if let Some(id) = entry.strip_prefix("id:") {
            let id = unquote(id);
            if !id.is_empty() {
                let offset = line.len() - line.trim_start().len();
                found.push(
                    number,
                    "trivy",
                    Some(id.to_string()),
                    SuppressionKind::IgnoreFile,
                    &line,
                    offset,
                );
            }
        }
    }
}

/// The indentation of a line in spaces (a tab counts as one).
fn indentation(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

/// The key of a YAML mapping entry `key:` or `key: value` (quotes removed).
fn mapping_key(entry: &str) -> Option<&str> {
    let entry = entry.trim();
    for quote in ['"', '\''] {
        if let Some(rest) = entry.strip_prefix(quote) {
            let close = rest.find(quote)?;
            return rest[close + 1..].trim_start().starts_with(':').then(|| &rest[..close]);
        }
    }
    let end = entry.find(": ").or_else(|| entry.strip_suffix(':').map(str::len))?;
    Some(entry[..end].trim()).filter(|key| !key.is_empty())
}

/// `.snyk`: one suppression per key of the top-level `ignore:` map.
fn read_snyk(bytes: &[u8], found: &mut Found<'_>) {
    let mut in_ignore = false;
    let mut key_indent = None;
    for (number, line) in lines(bytes) {
        let content = strip_comment(&line);
        if content.trim().is_empty() {
            continue;
        }
        let indent = indentation(content);
        if indent == 0 {
            in_ignore = mapping_key(content) == Some("ignore");
            key_indent = None;
            continue;
        }
        if !in_ignore {
            continue;
        }
        let indent_of_keys = *key_indent.get_or_insert(indent);
        if indent != indent_of_keys || content.trim_start().starts_with('-') {
            continue;
        }
        if let Some(id) = mapping_key(content) {
            found.push(
                number,
                "snyk",
                Some(id.to_string()),
                SuppressionKind::IgnoreFile,
                &line,
                indent,
            );
        }
    }
}

/// `.checkov.yaml`: one suppression per check of `skip-check:`, written as a
/// block list, a flow list `[A, B]` or a comma-separated string.
fn read_checkov(bytes: &[u8], found: &mut Found<'_>) {
    let mut in_list = false;
    for (number, line) in lines(bytes) {
        let content = strip_comment(&line);
        let entry = content.trim();
        if entry.is_empty() {
            continue;
        }
        let offset = indentation(content);
        if in_list {
            if let Some(item) = entry.strip_prefix('-') {
                let item = unquote(item);
                if !item.is_empty() {
                    found.push(
                        number,
                        "checkov",
                        Some(item.to_string()),
                        SuppressionKind::IgnoreFile,
                        &line,
                        offset,
                    );
                }
                continue;
            }
            in_list = false;
        }
        if let Some(value) = entry.strip_prefix("skip-check:") {
            let value = value.trim();
            if value.is_empty() {
                in_list = true;
                continue;
            }
            let value = value
                .strip_prefix('[')
                .and_then(|rest| rest.strip_suffix(']'))
                .unwrap_or(value);
            for check in value
                .split(',')
                .map(unquote)
                .filter(|check| !check.is_empty())
                .take(MAX_PER_LINE)
            {
                found.push(
                    number,
                    "checkov",
                    Some(check.to_string()),
                    SuppressionKind::IgnoreFile,
                    &line,
                    offset,
                );
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    /// Scan `text` as `path` and compare `(line, tool, rule, kind)` of every finding.
    fn check(path: &str, text: &str, expected: &[(u64, &str, Option<&str>, &str)]) {
        let found = scan(path, text.as_bytes(), &Limits::default());
        let actual: Vec<(u64, &str, Option<&str>, &str)> = found
            .iter()
            .map(|suppression| {
                (
                    suppression.line,
                    suppression.tool,
                    suppression.rule.as_deref(),
                    suppression.kind.as_str(),
                )
            })
            .collect();
        assert_eq!(actual, expected, "{path}:\n{text}");
    }

    #[test]
    fn semgrep_markers() {
        check(
            "a.js",
            "eval(x) // nosemgrep\neval(y) // nosemgrep: rule-a, python.lang.eval-b\n# nosem:c\nnosemgrepx\n",
            &[
                (1, "semgrep", None, "inline"),
                (2, "semgrep", Some("rule-a"), "inline"),
                (2, "semgrep", Some("python.lang.eval-b"), "inline"),
                (3, "semgrep", Some("c"), "inline"),
            ],
        );
    }

    #[test]
    fn nosec_is_bandit_or_gosec() {
        check(
            "a.py",
            "assert x  # nosec B101\nx = 1 #nosec\ny = 2  # nosec B602, B101 because\nz # nosec assert_used\n",
            &[
                (1, "bandit", Some("B101"), "inline"),
                (2, "bandit", None, "inline"),
                (3, "bandit", Some("B602"), "inline"),
                (3, "bandit", Some("B101"), "inline"),
                (4, "bandit", Some("assert_used"), "inline"),
            ],
        );
        check(
            "a.go",
            "h := md5.New() // #nosec G401\nx() //#nosec G401 G501 -- reviewed\ny() /* #nosec */\n",
            &[
                (1, "gosec", Some("G401"), "inline"),
                (2, "gosec", Some("G401"), "inline"),
                (2, "gosec", Some("G501"), "inline"),
                (3, "gosec", None, "inline"),
            ],
        );
        check("a.ts", "x() // #nosec", &[(1, "gosec", None, "inline")]);
    }

    #[test]
    fn words_containing_markers_are_not_markers() {
        check(
            "a.py",
            "nosecret = 1  # nosecret\n# the nosec marker\nmynosemgrep\ncheckov:skipper\nx//nolintlint\n# kics-scanner ignore\n",
            &[],
        );
    }

    #[test]
    fn nolint() {
        check(
            "a.go",
            "a() //nolint:gosec\nb() //nolint:errcheck,gosec // reviewed\nc() //nolint:errcheck\nd() //nolint\n",
            &[
                (1, "gosec", None, "inline"),
                (2, "gosec", None, "inline"),
                (4, "golangci-lint", None, "inline"),
            ],
        );
    }

    #[test]
    fn infrastructure_as_code_markers() {
        check(
            "main.tf",
            concat!(
                "resource \"aws_s3_bucket\" \"b\" {\n",
                "  #tfsec:ignore:aws-s3-enable-bucket-logging:exp:2025-01-01\n",
                "  # checkov:skip=CKV_AWS_20:The bucket is a public static website\n",
                "  #trivy:ignore:AVD-AWS-0089 trivy:ignore:CVE-2024-1234\n",
                "}\n",
            ),
            &[
                (2, "tfsec", Some("aws-s3-enable-bucket-logging"), "inline"),
                (3, "checkov", Some("CKV_AWS_20"), "inline"),
                (4, "trivy", Some("AVD-AWS-0089"), "inline"),
                (4, "trivy", Some("CVE-2024-1234"), "inline"),
            ],
        );
        check(
            "pod.yaml",
            "metadata:\n  annotations:\n    checkov.io/skip1: CKV_K8S_20=reviewed\n",
            &[(3, "checkov", Some("CKV_K8S_20"), "inline")],
        );
        check(
            "Dockerfile",
            "# kics-scan ignore\n# kics-scan ignore-line\n# kics-scan ignore-block\n# kics-scan disable=a-1,b-2\n",
            &[
                (1, "kics", None, "inline"),
                (2, "kics", None, "inline"),
                (3, "kics", None, "inline"),
                (4, "kics", Some("a-1"), "inline"),
                (4, "kics", Some("b-2"), "inline"),
            ],
        );
        check(
            "config.py",
            "TOKEN = 'x'  # gitleaks:allow\n",
            &[(1, "gitleaks", None, "inline")],
        );
    }

    #[test]
    fn ignore_files() {
        check(
            "repo/.trivyignore",
            "# accepted until the base image moves\nCVE-2023-1111\n\n  CVE-2023-2222 exp:2026-01-01\n",
            &[
                (2, "trivy", Some("CVE-2023-1111"), "ignore-file"),
                (4, "trivy", Some("CVE-2023-2222"), "ignore-file"),
            ],
        );
        check(
            ".trivyignore.yaml",
            "vulnerabilities:\n  - id: CVE-2022-40897\n    statement: ok\nmisconfigurations:\n  - id: \"AVD-DS-0002\"\n",
            &[
                (2, "trivy", Some("CVE-2022-40897"), "ignore-file"),
                (5, "trivy", Some("AVD-DS-0002"), "ignore-file"),
            ],
        );
        check(
            ".gitleaksignore",
            "# false positives\n0123abcd:config/app.env:generic-api-key:12\nsrc/x.py:aws-access-token:3\nweird\n",
            &[
                (2, "gitleaks", Some("generic-api-key"), "ignore-file"),
                (3, "gitleaks", Some("aws-access-token"), "ignore-file"),
                (4, "gitleaks", None, "ignore-file"),
            ],
        );
        check(
            "x/.semgrepignore",
            "# generated\nvendor/\n:include .gitignore\n",
            &[(2, "semgrep", None, "ignore-file"), (3, "semgrep", None, "ignore-file")],
        );
        check(
            ".checkov.yml",
            "framework: terraform\nskip-check:\n  - CKV_AWS_20 # public site\n  - 'CKV_DOCKER_3'\nquiet: true\n",
            &[
                (3, "checkov", Some("CKV_AWS_20"), "ignore-file"),
                (4, "checkov", Some("CKV_DOCKER_3"), "ignore-file"),
            ],
        );
        check(
            ".checkov.yaml",
            "skip-check: [CKV_A, \"CKV_B\"]\nskip-check: CKV_C,CKV_D\n",
            &[
                (1, "checkov", Some("CKV_A"), "ignore-file"),
                (1, "checkov", Some("CKV_B"), "ignore-file"),
                (2, "checkov", Some("CKV_C"), "ignore-file"),
                (2, "checkov", Some("CKV_D"), "ignore-file"),
            ],
        );
    }

    #[test]
    fn snyk_policy() {
        check(
            ".snyk",
            concat!(
                "# Snyk (https://snyk.io) policy file\n",
                "version: v1.25.0\n",
                "ignore:\n",
                "  SNYK-JS-LODASH-567746:\n",
                "    - '*':\n",
                "        reason: no fix yet\n",
                "        expires: 2026-01-01T00:00:00.000Z\n",
                "  'npm:hawk:20160119':\n",
                "    - hawk:\n",
                "        reason: not reachable\n",
                "patch: {}\n",
                "exclude:\n",
                "  global:\n",
                "    - tests/**\n",
            ),
            &[
                (4, "snyk", Some("SNYK-JS-LODASH-567746"), "ignore-file"),
                (8, "snyk", Some("npm:hawk:20160119"), "ignore-file"),
            ],
        );
        check(".snyk", "version: v1.25.0\nignore: {}\npatch: {}\n", &[]);
    }

    #[test]
    fn prose_binary_and_large_files_are_skipped() {
        check("README.md", "Use `# nosec` sparingly.\n", &[]);
        assert!(scan("a.py", b"\0# nosec\n", &Limits::default()).is_empty());
        let limits = Limits {
            max_document_bytes: 4,
            ..Limits::default()
        };
        assert!(scan("a.py", b"# nosec\n", &limits).is_empty());
        assert!(skip_reason(b"# nosec\n", &limits).unwrap().contains("exceeds"));
    }

    #[test]
    fn lines_are_lossy_crlf_and_bom_aware() {
        let found = scan(
            "a.py",
            b"\xEF\xBB\xBFx # nosec\r\n\xFF\xFE y # nosec B101\r\n",
            &Limits::default(),
        );
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].text, "x # nosec");
        assert_eq!(found[1].text, "\u{FFFD}\u{FFFD} y # nosec B101");
        assert_eq!(found[1].rule.as_deref(), Some("B101"));
    }

    #[test]
    fn long_lines_are_cut_around_the_marker() {
        let line = format!("{}x = 1  # nosec B101 {}", "a".repeat(5_000), "b".repeat(5_000));
        let found = scan("a.py", line.as_bytes(), &Limits::default());
        assert_eq!(found.len(), 1);
        let text = &found[0].text;
        assert!(text.chars().count() <= MAX_TEXT_CHARS, "{}", text.chars().count());
        assert!(text.contains("# nosec B101"), "{text}");
        assert!(text.starts_with('…') && text.ends_with('…'), "{text}");
        let short = bounded_text("  é # nosec  ", 5);
        assert_eq!(short, "é # nosec");
    }

    #[test]
    fn many_markers_on_one_line_are_bounded() {
        let line = "tfsec:ignore:a ".repeat(1_000);
        assert_eq!(scan("a.tf", line.as_bytes(), &Limits::default()).len(), MAX_PER_LINE);
        let line = format!("# nosemgrep: {}", "r, ".repeat(1_000));
        assert_eq!(scan("a.py", line.as_bytes(), &Limits::default()).len(), MAX_PER_LINE);
    }

    #[test]
    fn evidence_records() {
        let found = scan("src/a.py", b"x\nassert y  # nosec B101\n", &Limits::default());
        let context = Context {
            origin: "/repo/src/a.py".into(),
            sha256: "00".repeat(32),
            repo: Some("acme/api".into()),
            ..Context::default()
        };
        let records = to_evidence(&found, &context);
        assert_eq!(records.len(), 1);
        let record = &records[0];
        assert_eq!(record.kind, EvidenceKind::Suppression);
        assert_eq!(record.occurred_at, None);
        assert_eq!(record.occurred_at_source, model::OccurredAtSource::Ingested);
        assert_eq!(record.subject.repo.as_deref(), Some("acme/api"));
        assert_eq!(record.source.collector, COLLECTOR);
        assert_eq!(record.source.line, Some(2));
        assert_eq!(record.source.pointer, None);
        assert_eq!(
            record.attrs,
            json!({"tool": "bandit", "rule": "B101", "kind": "inline", "text": "assert y  # nosec B101",
                   "file": "src/a.py", "line": 2})
        );
        let found = scan(".gitleaksignore", b"weird\n", &Limits::default());
        let attrs = &to_evidence(&found, &context)[0].attrs;
        assert!(attrs.get("rule").is_none(), "{attrs}");
    }
}
