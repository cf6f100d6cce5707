//! SARIF 2.1.0 collector: one `scan_report` record per run (tool, version, counts
//! of results by level and by severity, suppressions, the first
//! [`MAX_FINDINGS`] non-suppressed results as findings, subject and time).
//!
//! The file is read as a stream: the top level and each run are walked with serde
//! visitors, each result is held as a `serde_json::Value` only while it is read,
//! and large parts that are not needed (artifacts, code flows, logical locations)
//! are skipped without being kept. Of the results only the counts and the first
//! [`MAX_FINDINGS`] findings are kept. Only what a record needs is read, through small
//! serde structs that ignore unknown fields (published SARIF crates lag the spec).
//!
//! Failure is local: a run with a wrong type somewhere in what is read is refused
//! with one diagnostic at its JSON pointer and the other runs still land. A file
//! that is not JSON (syntax error, truncation, invalid UTF-8, NUL bytes, numbers
//! out of range) gives one diagnostic with its line and column and no record.
//! Attribute keys and every rule applied are listed in `docs/sources.md` (section `sarif`).

use std::collections::HashMap;
use std::fmt;

use jiff::Timestamp;
use model::time::parse_time;
use model::{EvidenceKind, NewEvidence, Severity, Subject};
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value, json};

use crate::trivy::{MAX_FINDINGS, finding};
use crate::{Context, Limits, Parsed, json_depth_exceeds, line_column};

/// The collector id recorded in every record's source.
pub const COLLECTOR: &str = "sarif";

/// Most runs read from one file; later runs are skipped with a diagnostic
/// (real logs carry a handful; this bounds memory on hostile input).
pub const MAX_RUNS: usize = 10_000;

/// Most diagnostics reported for one file; the rest are counted in a last one.
pub const MAX_DIAGNOSTICS: usize = 100;

/// Longest text copied from the input into a record or a message, in characters.
const MAX_TEXT_CHARS: usize = 256;

/// The SARIF version this collector reads.
const SARIF_VERSION: &str = "2.1.0";

/// A SARIF result level (SARIF 2.1.0 section 3.27.10).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// A serious problem.
    Error,
    /// A problem; also SARIF's default when nothing states a level.
    Warning,
    /// A minor problem or an opportunity for improvement.
    Note,
    /// No problem level (used by results whose `kind` is not `fail`).
    None,
}

impl Level {
    /// Every level, in the order used for counts.
    pub const ALL: [Level; 4] = [Level::Error, Level::Warning, Level::Note, Level::None];

    /// The SARIF spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
            Level::None => "none",
        }
    }

    /// Read a SARIF level; any ASCII case is accepted, anything else is `None`.
    pub fn from_name(text: &str) -> Option<Level> {
        let trimmed = text.trim();
        Level::ALL
            .into_iter()
            .find(|level| trimmed.eq_ignore_ascii_case(level.as_str()))
    }

    /// The severity a level stands for when no `security-severity` score applies:
    /// `error` -> high, `warning` -> medium, `note` -> low, `none` -> info
    /// (the mapping of [`Severity::from_name`] for these words).
    pub fn severity(self) -> Severity {
        match self {
            Level::Error => Severity::High,
            Level::Warning => Severity::Medium,
            Level::Note => Severity::Low,
            Level::None => Severity::Info,
        }
    }

    fn position(self) -> usize {
        match self {
            Level::Error => 0,
            Level::Warning => 1,
            Level::Note => 2,
            Level::None => 3,
        }
    }
}

/// Parse one SARIF file into one `scan_report` record per run.
///
/// Never panics; every problem becomes a diagnostic that names its line or JSON
/// pointer. See the module documentation and `docs/sources.md` (section `sarif`).
pub fn parse(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let mut parsed = Parsed::default();
    if let Some(diagnostic) = crate::too_large(bytes, context, limits) {
        parsed.diagnostics.push(diagnostic);
        return parsed;
    }
    if let Some(encoding) = crate::byte_order_mark_encoding(bytes) {
        parsed.diagnostics.push(context.diagnostic(
            Some(1),
            None,
            format!("file is {encoding} (byte order mark); SARIF must be UTF-8; not read"),
        ));
        return parsed;
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Some(offset) = json_depth_exceeds(bytes, limits.max_depth) {
        let (line, column) = line_column(bytes, offset);
        parsed.diagnostics.push(context.diagnostic(
            Some(line),
            None,
            format!(
                "JSON nested deeper than {} levels (column {column}); not read",
                limits.max_depth
            ),
        ));
        return parsed;
    }

    let mut state = FileState::default();
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let header = LogSeed { state: &mut state }
        .deserialize(&mut deserializer)
        .and_then(|header| deserializer.end().map(|()| header));
    let header = match header {
        Ok(header) => header,
        Err(error) => {
            parsed.diagnostics.push(json_error(context, &error));
            return parsed;
        }
    };

    let sarif_version = match &header.version {
        Some(Value::String(version)) => {
            if version.trim() != SARIF_VERSION {
                state.warn(
                    Some("/version".into()),
                    format!(
                        "SARIF version `{}` is not {SARIF_VERSION}; read as {SARIF_VERSION}",
                        bounded(version)
                    ),
                );
            }
            Some(bounded(version))
        }
        Some(other) => {
            state.warn(
                Some("/version".into()),
                format!(
                    "`version` is {}, not a string; read as {SARIF_VERSION}",
                    type_name(other)
                ),
            );
            None
        }
        None => {
            state.warn(None, format!("no `version`; read as SARIF {SARIF_VERSION}"));
            None
        }
    };
    match header.runs {
        RunsField::Missing => state.report(None, "not a SARIF log: no `runs` array; nothing recorded".into()),
        RunsField::Null => state.warn(
            Some("/runs".into()),
            "`runs` is null: the tool did not run (SARIF 3.13.4); nothing recorded".into(),
        ),
        RunsField::Array(0) => state.warn(Some("/runs".into()), "`runs` is empty; nothing recorded".into()),
        RunsField::Array(_) => {}
    }

    for summary in &state.runs {
        parsed
            .evidence
            .push(evidence(summary, sarif_version.as_deref(), context));
    }
    parsed.diagnostics = state
        .problems
        .into_iter()
        .map(|reported| {
            let diagnostic = context.diagnostic(None, reported.problem.pointer, reported.problem.message);
            model::Diagnostic {
                warning: reported.warning,
                ..diagnostic
            }
        })
        .collect();
    if state.dropped_problems > 0 {
        parsed.diagnostics.push(context.diagnostic(
            None,
            None,
            format!("{} more problems not shown", state.dropped_problems),
        ));
    }
    parsed
}

/// One diagnostic for a file serde_json could not read, with line and column.
fn json_error(context: &Context, error: &serde_json::Error) -> model::Diagnostic {
    let text = error.to_string();
    let location = format!(" at line {} column {}", error.line(), error.column());
    let reason = text.strip_suffix(&location).unwrap_or(&text);
    let what = match error.classify() {
        serde_json::error::Category::Eof => "truncated or empty JSON",
        serde_json::error::Category::Syntax => "not valid JSON",
        serde_json::error::Category::Data => "not a SARIF log",
        serde_json::error::Category::Io => "could not read",
    };
    let line = (error.line() > 0).then(|| u64::try_from(error.line()).unwrap_or(u64::MAX));
    context.diagnostic(
        line,
        None,
        format!(
            "{what} (column {}): {}; nothing recorded",
            error.column(),
            bounded(reason)
        ),
    )
}

/// The record for one run.
fn evidence(summary: &RunSummary, sarif_version: Option<&str>, context: &Context) -> NewEvidence {
    let mut attrs = Map::new();
    attrs.insert("tool".into(), json!(summary.tool));
    attrs.insert("tool_name".into(), json!(summary.tool_name));
    if let Some(version) = &summary.tool_version {
        attrs.insert("tool_version".into(), json!(version));
    }
    attrs.insert("format".into(), json!("sarif"));
    if let Some(version) = sarif_version {
        attrs.insert("sarif_version".into(), json!(version));
    }
    attrs.insert("run_index".into(), json!(summary.index));
    attrs.insert("results_available".into(), json!(summary.results_available));
    attrs.insert("results".into(), json!(summary.counts.open_total()));
    attrs.insert("counts_by_level".into(), summary.counts.by_level_json());
    attrs.insert("counts_by_severity".into(), severity_json(&summary.counts.by_severity));
    attrs.insert("suppressed".into(), json!(summary.counts.suppressed_total()));
    attrs.insert(
        "suppressed_by_severity".into(),
        severity_json(&summary.counts.suppressed_by_severity),
    );
    attrs.insert("rules".into(), json!(summary.rules));
    attrs.insert("tool_notifications".into(), json!(summary.tool_notifications));
    if let Some(successful) = summary.invocation_successful {
        attrs.insert("invocation_successful".into(), json!(successful));
    }
    if let Some(id) = &summary.automation_id {
        attrs.insert("automation_id".into(), json!(id));
        if let Some(category) = category(id) {
            attrs.insert("category".into(), json!(category));
        }
    }
    attrs.insert("findings".into(), Value::Array(summary.findings.clone()));
    attrs.insert("findings_truncated".into(), json!(summary.findings_truncated));

    let subject = Subject {
        repo: summary.repo.clone().or_else(|| context.repo.clone()),
        commit: summary.commit.clone().or_else(|| context.commit.clone()),
        git_ref: summary.git_ref.clone().or_else(|| context.git_ref.clone()),
        ..Subject::default()
    };
    let pointer = Some(format!("/runs/{}", summary.index));
    context.record(
        COLLECTOR,
        EvidenceKind::ScanReport,
        summary.time,
        subject,
        pointer,
        Value::Object(attrs),
    )
}

fn severity_json(counts: &[u64; 6]) -> Value {
    let map: Map<String, Value> = Severity::ALL
        .iter()
        .zip(counts)
        .map(|(severity, count)| (severity.as_str().to_string(), json!(count)))
        .collect();
    Value::Object(map)
}

/// GitHub's analysis category: the automation id up to its last `/`
/// (`my-analysis/tool1/2022-01-02` -> `my-analysis/tool1`, `/language:java/` ->
/// `/language:java`); none without a `/` or when nothing precedes it.
fn category(automation_id: &str) -> Option<String> {
    let (category, _run) = automation_id.rsplit_once('/')?;
    (!category.is_empty()).then(|| category.to_string())
}

/// A text from the input, cut at [`MAX_TEXT_CHARS`] characters (marked with `…`).
fn bounded(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The kebab-case tool id: a known scanner named anywhere in the driver name
/// (`Semgrep OSS` -> `semgrep`, `CodeQL command-line toolchain` -> `codeql`),
/// else the whole name in kebab case (`LGTM.com` -> `lgtm-com`), else `unknown`.
pub fn tool_id(name: &str) -> String {
    const KNOWN: &[&str] = &[
        "codeql",
        "semgrep",
        "opengrep",
        "trivy",
        "gitleaks",
        "trufflehog",
        "checkov",
        "kics",
        "tfsec",
        "bandit",
        "gosec",
        "eslint",
        "snyk",
        "grype",
        "hadolint",
        "devskim",
        "zap",
        "osv-scanner",
    ];
    let mut kebab = String::new();
    for character in name.chars().take(MAX_TEXT_CHARS) {
        if character.is_ascii_alphanumeric() {
            kebab.push(character.to_ascii_lowercase());
        } else if !kebab.is_empty() && !kebab.ends_with('-') {
            kebab.push('-');
        }
    }
    let kebab = kebab.trim_end_matches('-').to_string();
    let padded = format!("-{kebab}-");
    if let Some(known) = KNOWN.iter().find(|known| padded.contains(&format!("-{known}-"))) {
        return (*known).to_string();
    }
    if kebab.is_empty() { "unknown".into() } else { kebab }
}

/// `owner/name` for a GitHub or GitLab repository URL (https, ssh or scp-like
/// `git@host:path`, with or without `.git`); any other URI is kept as written.
pub fn repository_name(uri: &str) -> Option<String> {
    let trimmed = uri.trim();
    if trimmed.is_empty() {
        return None;
    }
    let without_prefix = trimmed.strip_prefix("git+").unwrap_or(trimmed);
    let (authority, path) = if let Some((_scheme, rest)) = without_prefix.split_once("://") {
        rest.split_once('/').unwrap_or((rest, ""))
    } else if let Some((authority, path)) = without_prefix.split_once(':') {
        if authority.contains('@') {
            (authority, path)
        } else {
            return Some(bounded(trimmed));
        }
    } else {
        return Some(bounded(trimmed));
    };
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host);
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').filter(|segment| !segment.is_empty()).collect();
    let segments: Vec<&str> = match host {
        "github.com" => segments.into_iter().take(2).collect(),
        "gitlab.com" => segments.into_iter().take_while(|segment| *segment != "-").collect(),
        _ => return Some(bounded(trimmed)),
    };
    if segments.len() < 2 {
        return Some(bounded(trimmed));
    }
    let joined = segments.join("/");
    let name = joined.strip_suffix(".git").unwrap_or(&joined);
    Some(bounded(name))
}

// ---------------------------------------------------------------------------
// File state and the streaming visitors
// ---------------------------------------------------------------------------

/// A problem found inside the document, before it becomes a diagnostic.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem {
    pointer: Option<String>,
    message: String,
}

/// A problem and whether the input it concerns still landed (a warning).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Reported {
    problem: Problem,
    warning: bool,
}

impl Problem {
    fn at(pointer: &str, message: impl Into<String>) -> Problem {
        Problem {
            pointer: Some(pointer.to_string()),
            message: message.into(),
        }
    }
}

/// What has been read from the file so far.
#[derive(Default)]
struct FileState {
    runs: Vec<RunSummary>,
    problems: Vec<Reported>,
    dropped_problems: u64,
}

impl FileState {
    fn push(&mut self, pointer: Option<String>, message: String, warning: bool) {
        if self.problems.len() < MAX_DIAGNOSTICS {
            self.problems.push(Reported {
                problem: Problem { pointer, message },
                warning,
            });
        } else {
            self.dropped_problems += 1;
        }
    }

    /// Something was refused: it did not land.
    fn report(&mut self, pointer: Option<String>, message: String) {
        self.push(pointer, message, false);
    }

    /// Something odd about input that still landed.
    fn warn(&mut self, pointer: Option<String>, message: String) {
        self.push(pointer, message, true);
    }

    fn report_problem(&mut self, problem: Problem) {
        self.report(problem.pointer, problem.message);
    }
}

/// The `runs` member of the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum RunsField {
    #[default]
    Missing,
    Null,
    /// An array with this many runs.
    Array(usize),
}

/// The top level of the log, apart from the runs (which land in the state).
#[derive(Default)]
struct LogHeader {
    version: Option<Value>,
    runs: RunsField,
}

struct LogSeed<'s> {
    state: &'s mut FileState,
}

impl<'de> DeserializeSeed<'de> for LogSeed<'_> {
    type Value = LogHeader;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<LogHeader, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for LogSeed<'_> {
    type Value = LogHeader;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a SARIF log (a JSON object with a `runs` array)")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LogHeader, A::Error> {
        let state = self.state;
        let mut header = LogHeader::default();
        let mut runs_seen = false;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "version" => {
                    if header.version.is_some() {
                        return Err(de::Error::duplicate_field("version"));
                    }
                    header.version = Some(map.next_value::<Value>()?);
                }
                "runs" => {
                    if runs_seen {
                        return Err(de::Error::duplicate_field("runs"));
                    }
                    runs_seen = true;
                    header.runs = map.next_value_seed(RunsSeed { state: &mut *state })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(header)
    }
}

struct RunsSeed<'s> {
    state: &'s mut FileState,
}

impl<'de> DeserializeSeed<'de> for RunsSeed<'_> {
    type Value = RunsField;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<RunsField, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RunsSeed<'_> {
    type Value = RunsField;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("`runs` as an array of run objects")
    }

    fn visit_unit<E: de::Error>(self) -> Result<RunsField, E> {
        Ok(RunsField::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RunsField, A::Error> {
        let state = self.state;
        let mut index = 0usize;
        while index < MAX_RUNS {
            match seq.next_element_seed(RunSeed { index })? {
                Some(Ok(summary)) => {
                    for problem in &summary.problems {
                        state.warn(problem.pointer.clone(), problem.message.clone());
                    }
                    state.runs.push(summary);
                }
                Some(Err(problem)) => state.report_problem(problem),
                None => return Ok(RunsField::Array(index)),
            }
            index += 1;
        }
        let mut skipped = 0u64;
        while seq.next_element::<IgnoredAny>()?.is_some() {
            skipped += 1;
        }
        if skipped > 0 {
            state.report(
                Some(format!("/runs/{MAX_RUNS}")),
                format!("{skipped} runs after the first {MAX_RUNS} not read"),
            );
        }
        Ok(RunsField::Array(index))
    }
}

/// Reads one element of `runs`; a run that cannot be summarised gives a problem
/// (the stream itself goes on).
struct RunSeed {
    index: usize,
}

impl RunSeed {
    fn pointer(&self) -> String {
        format!("/runs/{}", self.index)
    }

    fn not_an_object<E>(&self, found: &str) -> Result<Result<RunSummary, Problem>, E> {
        Ok(Err(Problem::at(
            &self.pointer(),
            format!("run is {found}, not an object; run not recorded"),
        )))
    }
}

impl<'de> DeserializeSeed<'de> for RunSeed {
    type Value = Result<RunSummary, Problem>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RunSeed {
    type Value = Result<RunSummary, Problem>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a run object")
    }

    fn visit_bool<E: de::Error>(self, _value: bool) -> Result<Self::Value, E> {
        self.not_an_object("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _value: i64) -> Result<Self::Value, E> {
        self.not_an_object("a number")
    }

    fn visit_u64<E: de::Error>(self, _value: u64) -> Result<Self::Value, E> {
        self.not_an_object("a number")
    }

    fn visit_f64<E: de::Error>(self, _value: f64) -> Result<Self::Value, E> {
        self.not_an_object("a number")
    }

    fn visit_str<E: de::Error>(self, _value: &str) -> Result<Self::Value, E> {
        self.not_an_object("a string")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.not_an_object("null")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        self.not_an_object("an array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let pointer = self.pointer();
        let mut raw = RawRun::default();
        let mut failure: Option<Problem> = None;
        let mut seen: Vec<String> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let wanted = matches!(
                key.as_str(),
                "tool" | "results" | "invocations" | "versionControlProvenance" | "automationDetails"
            );
            if !wanted {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if seen.contains(&key) || failure.is_some() {
                map.next_value::<IgnoredAny>()?;
                if failure.is_none() {
                    failure = Some(Problem::at(
                        &pointer,
                        format!("duplicate key `{key}` (ambiguous); run not recorded"),
                    ));
                }
                continue;
            }
            match key.as_str() {
                "results" => {
                    let field = map.next_value_seed(ResultsSeed {
                        pointer: format!("{pointer}/results"),
                        raw: &mut raw,
                    })?;
                    match field {
                        Ok(available) => raw.results_available = available,
                        Err(problem) => failure = Some(problem),
                    }
                }
                "tool" => raw.tool = Some(map.next_value::<Value>()?),
                "invocations" => raw.invocations = Some(map.next_value::<Value>()?),
                "versionControlProvenance" => raw.version_control = Some(map.next_value::<Value>()?),
                _ => raw.automation_details = Some(map.next_value::<Value>()?),
            }
            seen.push(key);
        }
        if let Some(problem) = failure {
            return Ok(Err(problem));
        }
        Ok(summarize(self.index, raw))
    }
}

/// Reads `results`: `Ok(true)` for an array, `Ok(false)` for null, a problem for
/// anything else or for the first result with a wrong type.
struct ResultsSeed<'r> {
    pointer: String,
    raw: &'r mut RawRun,
}

impl ResultsSeed<'_> {
    fn wrong_type<E>(&self, found: &str) -> Result<Result<bool, Problem>, E> {
        Ok(Err(Problem::at(
            &self.pointer,
            format!("`results` is {found}, not an array; run not recorded"),
        )))
    }
}

impl<'de> DeserializeSeed<'de> for ResultsSeed<'_> {
    type Value = Result<bool, Problem>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ResultsSeed<'_> {
    type Value = Result<bool, Problem>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("`results` as an array")
    }

    fn visit_bool<E: de::Error>(self, _value: bool) -> Result<Self::Value, E> {
        self.wrong_type("a boolean")
    }

    fn visit_i64<E: de::Error>(self, _value: i64) -> Result<Self::Value, E> {
        self.wrong_type("a number")
    }

    fn visit_u64<E: de::Error>(self, _value: u64) -> Result<Self::Value, E> {
        self.wrong_type("a number")
    }

    fn visit_f64<E: de::Error>(self, _value: f64) -> Result<Self::Value, E> {
        self.wrong_type("a number")
    }

    fn visit_str<E: de::Error>(self, _value: &str) -> Result<Self::Value, E> {
        self.wrong_type("a string")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Ok(false))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        self.wrong_type("an object")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut failure: Option<Problem> = None;
        let mut index = 0usize;
        loop {
            if failure.is_some() {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    break;
                }
                continue;
            }
            let Some(value) = seq.next_element::<Value>()? else {
                break;
            };
            let pointer = format!("{}/{index}", self.pointer);
            match decode_result(&value, &pointer, &mut self.raw.notes) {
                Ok(key) => {
                    if !key.suppressed {
                        self.raw.open_results = self.raw.open_results.saturating_add(1);
                        if self.raw.findings.len() < MAX_FINDINGS {
                            self.raw.findings.push(pending_finding(&value, &key));
                        }
                    }
                    *self.raw.results.entry(key).or_insert(0) += 1;
                }
                Err(problem) => failure = Some(problem),
            }
            index += 1;
        }
        Ok(failure.map_or(Ok(true), Err))
    }
}

// ---------------------------------------------------------------------------
// What is read from a run
// ---------------------------------------------------------------------------

/// The parts of a run kept while it is read.
#[derive(Default)]
struct RawRun {
    tool: Option<Value>,
    results_available: bool,
    /// Results grouped by everything that decides their level and severity.
    results: HashMap<ResultKey, u64>,
    /// Number of results that are not suppressed.
    open_results: u64,
    /// The first [`MAX_FINDINGS`] results that are not suppressed.
    findings: Vec<PendingFinding>,
    invocations: Option<Value>,
    version_control: Option<Value>,
    automation_details: Option<Value>,
    notes: Notes,
}

/// Non-fatal oddities of a run, counted, with the first place each was seen.
#[derive(Default)]
struct Notes {
    invalid_level: Note,
    invalid_security_severity: Note,
    missing_rule: Note,
}

#[derive(Default)]
struct Note {
    count: u64,
    first: Option<String>,
}

impl Note {
    fn add(&mut self, pointer: &str) {
        self.count += 1;
        if self.first.is_none() {
            self.first = Some(pointer.to_string());
        }
    }
}

/// A reference from a result to a tool component.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ComponentRef {
    Driver,
    Index(i64),
    Name(String),
    Guid(String),
}

/// Everything about one result that decides how it is counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ResultKey {
    component: ComponentRef,
    rule_index: Option<i64>,
    rule_id: Option<String>,
    /// The result's own valid `level`.
    level: Option<Level>,
    /// `kind` is present and is not `fail` (then a missing level is `none`).
    not_a_failure: bool,
    /// The severity from the result's own `security-severity`.
    security: Option<Severity>,
    suppressed: bool,
}

/// A result kept for the `findings` list until the tool's rules are known
/// (the tool may come after the results in the run).
struct PendingFinding {
    key: ResultKey,
    /// `ruleId`, else `rule.id` (bounded).
    id: Option<String>,
    /// The first location's `physicalLocation.artifactLocation.uri` (bounded).
    path: Option<String>,
    /// The first location's `physicalLocation.region.startLine`.
    line: Option<u64>,
    /// The first `partialFingerprints` value in key order, else the first
    /// `fingerprints` value (bounded).
    fingerprint: Option<String>,
}

/// The finding facts of a result that [`decode_result`] accepted. Locations
/// and fingerprints are read leniently: a member of another type than SARIF
/// states is treated as absent, so they never refuse a run.
fn pending_finding(value: &Value, key: &ResultKey) -> PendingFinding {
    let non_empty = |value: Option<&Value>| {
        value
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(bounded)
    };
    let id = non_empty(value.get("ruleId")).or_else(|| non_empty(value.get("rule").and_then(|rule| rule.get("id"))));
    let physical = value
        .get("locations")
        .and_then(Value::as_array)
        .and_then(|locations| locations.first())
        .and_then(|location| location.get("physicalLocation"));
    let path = non_empty(
        physical
            .and_then(|physical| physical.get("artifactLocation"))
            .and_then(|artifact| artifact.get("uri")),
    );
    let line = physical
        .and_then(|physical| physical.get("region"))
        .and_then(|region| region.get("startLine"))
        .and_then(Value::as_u64)
        .filter(|line| *line >= 1);
    let first_in_key_order = |member: &str| {
        value
            .get(member)
            .and_then(Value::as_object)
            .and_then(|map| {
                map.iter()
                    .filter_map(|(name, value)| non_empty(Some(value)).map(|text| (name, text)))
                    .min_by(|left, right| left.0.cmp(right.0))
            })
            .map(|(_, text)| text)
    };
    let fingerprint = first_in_key_order("partialFingerprints").or_else(|| first_in_key_order("fingerprints"));
    PendingFinding {
        key: key.clone(),
        id,
        path,
        line,
        fingerprint,
    }
}

#[derive(Deserialize)]
#[serde(rename = "result", rename_all = "camelCase")]
struct RawResult {
    rule_id: Option<String>,
    rule_index: Option<i64>,
    rule: Option<RawRuleReference>,
    level: Option<String>,
    kind: Option<String>,
    properties: Option<RawProperties>,
    suppressions: Option<Vec<RawSuppression>>,
}

#[derive(Deserialize)]
#[serde(rename = "reportingDescriptorReference", rename_all = "camelCase")]
struct RawRuleReference {
    id: Option<String>,
    index: Option<i64>,
    tool_component: Option<RawComponentReference>,
}

#[derive(Deserialize)]
#[serde(rename = "toolComponentReference", rename_all = "camelCase")]
struct RawComponentReference {
    name: Option<String>,
    index: Option<i64>,
    guid: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename = "propertyBag")]
struct RawProperties {
    #[serde(rename = "security-severity")]
    security_severity: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename = "suppression")]
struct RawSuppression {
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename = "toolComponent", rename_all = "camelCase")]
struct RawComponent {
    name: Option<String>,
    guid: Option<String>,
    semantic_version: Option<String>,
    version: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename = "reportingDescriptor", rename_all = "camelCase")]
struct RawRule {
    id: Option<String>,
    default_configuration: Option<RawConfiguration>,
    properties: Option<RawProperties>,
}

#[derive(Deserialize)]
#[serde(rename = "reportingConfiguration")]
struct RawConfiguration {
    level: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename = "invocation", rename_all = "camelCase")]
struct RawInvocation {
    start_time_utc: Option<String>,
    end_time_utc: Option<String>,
    execution_successful: Option<bool>,
    tool_execution_notifications: Option<Vec<IgnoredAny>>,
}

#[derive(Deserialize)]
#[serde(rename = "versionControlDetails", rename_all = "camelCase")]
struct RawVersionControl {
    repository_uri: Option<String>,
    revision_id: Option<String>,
    branch: Option<String>,
    revision_tag: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename = "runAutomationDetails")]
struct RawAutomationDetails {
    id: Option<String>,
}

/// Deserialize `T` from `value`, or a problem at `pointer`.
fn decode<'v, T: Deserialize<'v>>(value: &'v Value, pointer: &str, what: &str) -> Result<T, Problem> {
    T::deserialize(value).map_err(|error| {
        Problem::at(
            pointer,
            format!(
                "{what} has a wrong type: {}; run not recorded",
                bounded(&error.to_string())
            ),
        )
    })
}

/// The elements of an optional array member (none when absent or null).
fn array_items<'v>(value: Option<&'v Value>, pointer: &str, what: &str) -> Result<&'v [Value], Problem> {
    match value {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(other) => Err(Problem::at(
            pointer,
            format!("`{what}` is {}, not an array; run not recorded", type_name(other)),
        )),
    }
}

/// A `security-severity` value: `Ok(Some)` for a usable score or severity word,
/// `Ok(None)` when absent, null or not above zero, `Err` when unreadable.
fn security_severity(value: Option<&Value>) -> Result<Option<Severity>, ()> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(number)) => number.as_f64().map(Severity::from_security_severity).ok_or(()),
        Some(Value::String(text)) => {
            let trimmed = text.trim();
            if let Ok(score) = trimmed.parse::<f64>() {
                if score.is_finite() {
                    return Ok(Severity::from_security_severity(score));
                }
                return Err(());
            }
            match Severity::from_name(trimmed) {
                Severity::Unknown => Err(()),
                severity => Ok(Some(severity)),
            }
        }
        Some(_) => Err(()),
    }
}

fn decode_result(value: &Value, pointer: &str, notes: &mut Notes) -> Result<ResultKey, Problem> {
    let raw: RawResult = decode(value, pointer, "result")?;
    let level = match raw.level.as_deref() {
        None => None,
        Some(text) => {
            let level = Level::from_name(text);
            if level.is_none() {
                notes.invalid_level.add(&format!("{pointer}/level"));
            }
            level
        }
    };
    let not_a_failure = raw
        .kind
        .as_deref()
        .is_some_and(|kind| !kind.trim().eq_ignore_ascii_case("fail"));
    let score = raw
        .properties
        .as_ref()
        .and_then(|properties| properties.security_severity.as_ref());
    let security = security_severity(score).unwrap_or_else(|()| {
        notes
            .invalid_security_severity
            .add(&format!("{pointer}/properties/security-severity"));
        None
    });
    let suppressions = raw.suppressions.unwrap_or_default();
    // SARIF 3.27.23: suppressed when some suppression exists and none of them is
    // under review or rejected.
    let suppressed = !suppressions.is_empty()
        && !suppressions.iter().any(|suppression| {
            suppression.status.as_deref().is_some_and(|status| {
                let status = status.trim();
                status.eq_ignore_ascii_case("underReview") || status.eq_ignore_ascii_case("rejected")
            })
        });
    let (reference_id, reference_index, component) = match raw.rule {
        Some(reference) => {
            let component = match reference.tool_component {
                Some(RawComponentReference { index: Some(index), .. }) if index >= 0 => ComponentRef::Index(index),
                Some(RawComponentReference { name: Some(name), .. }) => ComponentRef::Name(name),
                Some(RawComponentReference { guid: Some(guid), .. }) => ComponentRef::Guid(guid),
                _ => ComponentRef::Driver,
            };
            (reference.id, reference.index, component)
        }
        None => (None, None, ComponentRef::Driver),
    };
    Ok(ResultKey {
        component,
        rule_index: reference_index.or(raw.rule_index).filter(|index| *index >= 0),
        rule_id: reference_id.or(raw.rule_id),
        level,
        not_a_failure,
        security,
        suppressed,
    })
}

/// What a rule contributes to a result's level, severity and finding id.
#[derive(Debug, Clone, Default)]
struct RuleFacts {
    id: Option<String>,
    default_level: Option<Level>,
    security: Option<Severity>,
}

/// A tool component (driver or extension) and its rules.
#[derive(Debug, Default)]
struct Component {
    name: Option<String>,
    guid: Option<String>,
    semantic_version: Option<String>,
    version: Option<String>,
    rules: Vec<RuleFacts>,
    by_id: HashMap<String, usize>,
}

impl Component {
    fn rule(&self, index: Option<i64>, id: Option<&str>) -> Option<&RuleFacts> {
        let by_index = index
            .and_then(|index| usize::try_from(index).ok())
            .and_then(|index| self.rules.get(index));
        by_index.or_else(|| {
            id.and_then(|id| self.by_id.get(id))
                .and_then(|index| self.rules.get(*index))
        })
    }
}

fn decode_component(value: &Value, pointer: &str, notes: &mut Notes) -> Result<Component, Problem> {
    let raw: RawComponent = decode(value, pointer, "tool component")?;
    let mut component = Component {
        name: raw.name,
        guid: raw.guid,
        semantic_version: raw.semantic_version,
        version: raw.version,
        ..Component::default()
    };
    let rules_pointer = format!("{pointer}/rules");
    for (index, item) in array_items(value.get("rules"), &rules_pointer, "rules")?
        .iter()
        .enumerate()
    {
        let rule_pointer = format!("{rules_pointer}/{index}");
        let rule: RawRule = decode(item, &rule_pointer, "rule")?;
        let default_level = match rule.default_configuration.and_then(|configuration| configuration.level) {
            None => None,
            Some(text) => {
                let level = Level::from_name(&text);
                if level.is_none() {
                    notes
                        .invalid_level
                        .add(&format!("{rule_pointer}/defaultConfiguration/level"));
                }
                level
            }
        };
        let score = rule
            .properties
            .as_ref()
            .and_then(|properties| properties.security_severity.as_ref());
        let security = security_severity(score).unwrap_or_else(|()| {
            notes
                .invalid_security_severity
                .add(&format!("{rule_pointer}/properties/security-severity"));
            None
        });
        if let Some(id) = &rule.id {
            component.by_id.entry(id.clone()).or_insert(index);
        }
        component.rules.push(RuleFacts {
            id: text(rule.id),
            default_level,
            security,
        });
    }
    Ok(component)
}

/// The tool of a run: its driver and extensions.
struct Tool {
    driver: Component,
    extensions: Vec<Component>,
}

impl Tool {
    /// The rule a result refers to (SARIF 3.52: `rule.toolComponent` names an
    /// extension by index, name or guid; without it the driver). When the driver
    /// has no rule with the id, extensions are searched by id as well.
    fn rule(&self, key: &ResultKey) -> Result<Option<&RuleFacts>, ()> {
        let id = key.rule_id.as_deref();
        let component = match &key.component {
            ComponentRef::Driver => Some(&self.driver),
            ComponentRef::Index(index) => usize::try_from(*index)
                .ok()
                .and_then(|index| self.extensions.get(index)),
            ComponentRef::Name(name) => self
                .extensions
                .iter()
                .find(|extension| extension.name.as_deref() == Some(name.as_str()))
                .or_else(|| (self.driver.name.as_deref() == Some(name.as_str())).then_some(&self.driver)),
            ComponentRef::Guid(guid) => self
                .extensions
                .iter()
                .find(|extension| {
                    extension
                        .guid
                        .as_deref()
                        .is_some_and(|own| own.eq_ignore_ascii_case(guid))
                })
                .or_else(|| {
                    self.driver
                        .guid
                        .as_deref()
                        .is_some_and(|own| own.eq_ignore_ascii_case(guid))
                        .then_some(&self.driver)
                }),
        };
        let Some(component) = component else {
            return Err(());
        };
        if let Some(found) = component.rule(key.rule_index, id) {
            return Ok(Some(found));
        }
        if key.component == ComponentRef::Driver
            && let Some(found) = self.extensions.iter().find_map(|extension| extension.rule(None, id))
        {
            return Ok(Some(found));
        }
        let index_dangles = key
            .rule_index
            .is_some_and(|index| usize::try_from(index).map_or(true, |index| index >= component.rules.len()));
        if index_dangles { Err(()) } else { Ok(None) }
    }

    fn rules(&self) -> usize {
        self.driver.rules.len()
            + self
                .extensions
                .iter()
                .map(|extension| extension.rules.len())
                .sum::<usize>()
    }
}

fn decode_tool(value: Option<&Value>, pointer: &str, notes: &mut Notes) -> Result<Tool, Problem> {
    let object = match value {
        Some(Value::Object(object)) => object,
        None | Some(Value::Null) => {
            return Err(Problem::at(pointer, "run has no `tool`; run not recorded"));
        }
        Some(other) => {
            return Err(Problem::at(
                pointer,
                format!("`tool` is {}, not an object; run not recorded", type_name(other)),
            ));
        }
    };
    let driver_pointer = format!("{pointer}/driver");
    let driver = match object.get("driver") {
        None | Some(Value::Null) => {
            return Err(Problem::at(pointer, "`tool` has no `driver`; run not recorded"));
        }
        Some(driver) => decode_component(driver, &driver_pointer, notes)?,
    };
    let extensions_pointer = format!("{pointer}/extensions");
    let mut extensions = Vec::new();
    for (index, item) in array_items(object.get("extensions"), &extensions_pointer, "extensions")?
        .iter()
        .enumerate()
    {
        extensions.push(decode_component(item, &format!("{extensions_pointer}/{index}"), notes)?);
    }
    Ok(Tool { driver, extensions })
}

/// Counts of a run's results.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Counts {
    by_level: [u64; 4],
    /// In [`Severity::ALL`] order.
    by_severity: [u64; 6],
    suppressed_by_severity: [u64; 6],
}

impl Counts {
    fn add(&mut self, level: Level, severity: Severity, suppressed: bool, count: u64) {
        let slot = Severity::ALL
            .iter()
            .position(|candidate| *candidate == severity)
            .unwrap_or(Severity::ALL.len() - 1);
        if suppressed {
            self.suppressed_by_severity[slot] = self.suppressed_by_severity[slot].saturating_add(count);
        } else {
            self.by_severity[slot] = self.by_severity[slot].saturating_add(count);
            let position = level.position();
            self.by_level[position] = self.by_level[position].saturating_add(count);
        }
    }

    fn open_total(&self) -> u64 {
        self.by_severity
            .iter()
            .fold(0u64, |total, count| total.saturating_add(*count))
    }

    fn suppressed_total(&self) -> u64 {
        self.suppressed_by_severity
            .iter()
            .fold(0u64, |total, count| total.saturating_add(*count))
    }

    fn by_level_json(&self) -> Value {
        let map: Map<String, Value> = Level::ALL
            .iter()
            .map(|level| (level.as_str().to_string(), json!(self.by_level[level.position()])))
            .collect();
        Value::Object(map)
    }
}

/// A result's effective level and severity (see `docs/sources.md`): the
/// result's own level, `none` for a `kind` other than `fail`, the rule's default,
/// else `warning`; the result's score, the rule's score, else the level's severity.
fn effective(key: &ResultKey, rule: Option<&RuleFacts>) -> (Level, Severity) {
    let level = key
        .level
        .or(key.not_a_failure.then_some(Level::None))
        .or(rule.and_then(|rule| rule.default_level))
        .unwrap_or(Level::Warning);
    let severity = key
        .security
        .or(rule.and_then(|rule| rule.security))
        .unwrap_or_else(|| level.severity());
    (level, severity)
}

/// Everything a run's record needs.
#[derive(Debug, Clone)]
struct RunSummary {
    index: usize,
    tool: String,
    tool_name: String,
    tool_version: Option<String>,
    results_available: bool,
    counts: Counts,
    /// The `findings` list, resolved.
    findings: Vec<Value>,
    /// More results are not suppressed than `findings` lists.
    findings_truncated: bool,
    rules: usize,
    tool_notifications: u64,
    invocation_successful: Option<bool>,
    automation_id: Option<String>,
    time: Option<Timestamp>,
    repo: Option<String>,
    commit: Option<String>,
    git_ref: Option<String>,
    /// Non-fatal problems of this run.
    problems: Vec<Problem>,
}

/// A non-empty text from the input, bounded.
fn text(value: Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|trimmed| !trimmed.is_empty())
        .map(bounded)
}

fn summarize(index: usize, mut raw: RawRun) -> Result<RunSummary, Problem> {
    let base = format!("/runs/{index}");
    let tool = decode_tool(raw.tool.as_ref(), &format!("{base}/tool"), &mut raw.notes)?;
    let mut problems = Vec::new();

    // Invocations: time, success, notifications.
    let invocations_pointer = format!("{base}/invocations");
    let mut latest_end: Option<Timestamp> = None;
    let mut latest_start: Option<Timestamp> = None;
    let mut invocation_successful: Option<bool> = None;
    let mut tool_notifications = 0u64;
    for (position, item) in array_items(raw.invocations.as_ref(), &invocations_pointer, "invocations")?
        .iter()
        .enumerate()
    {
        let pointer = format!("{invocations_pointer}/{position}");
        let invocation: RawInvocation = decode(item, &pointer, "invocation")?;
        if let Some(successful) = invocation.execution_successful {
            invocation_successful = Some(invocation_successful.unwrap_or(true) && successful);
        }
        let notifications = invocation.tool_execution_notifications.map_or(0, |items| items.len());
        tool_notifications = tool_notifications.saturating_add(u64::try_from(notifications).unwrap_or(u64::MAX));
        for (field, value, latest) in [
            ("endTimeUtc", invocation.end_time_utc, &mut latest_end),
            ("startTimeUtc", invocation.start_time_utc, &mut latest_start),
        ] {
            let Some(value) = value else { continue };
            match parse_time(&value) {
                Ok(time) => *latest = Some(latest.map_or(time, |known: Timestamp| known.max(time))),
                Err(error) => problems.push(Problem::at(
                    &format!("{pointer}/{field}"),
                    format!("{}; time not used", bounded(&error.to_string())),
                )),
            }
        }
    }

    // Version control: the first entry only.
    let version_control_pointer = format!("{base}/versionControlProvenance");
    let version_control = match array_items(
        raw.version_control.as_ref(),
        &version_control_pointer,
        "versionControlProvenance",
    )?
    .first()
    {
        Some(item) => Some(decode::<RawVersionControl>(
            item,
            &format!("{version_control_pointer}/0"),
            "versionControlProvenance entry",
        )?),
        None => None,
    };
    let (repo, commit, git_ref) = match version_control {
        Some(details) => (
            details.repository_uri.as_deref().and_then(repository_name),
            text(details.revision_id),
            text(details.branch).or_else(|| text(details.revision_tag)),
        ),
        None => (None, None, None),
    };

    let automation_id = match &raw.automation_details {
        None | Some(Value::Null) => None,
        Some(value) => {
            let details: RawAutomationDetails =
                decode(value, &format!("{base}/automationDetails"), "automationDetails")?;
            text(details.id)
        }
    };

    // Results: level and severity, by the rules in docs/sources.md.
    let mut counts = Counts::default();
    for (key, count) in &raw.results {
        let rule = tool.rule(key).unwrap_or_else(|()| {
            raw.notes.missing_rule.count = raw.notes.missing_rule.count.saturating_add(*count);
            None
        });
        let (level, severity) = effective(key, rule);
        counts.add(level, severity, key.suppressed, *count);
    }
    let findings_truncated = raw.open_results > u64::try_from(raw.findings.len()).unwrap_or(u64::MAX);
    let findings: Vec<Value> = raw
        .findings
        .iter()
        .map(|pending| {
            let rule = tool.rule(&pending.key).unwrap_or(None);
            let (level, severity) = effective(&pending.key, rule);
            let id = pending
                .id
                .clone()
                .or_else(|| rule.and_then(|rule| rule.id.clone()))
                .unwrap_or_else(|| "unknown".into());
            finding(&[
                ("id", Some(json!(id))),
                ("severity", Some(json!(severity.as_str()))),
                ("level", Some(json!(level.as_str()))),
                ("path", pending.path.clone().map(Value::from)),
                ("line", pending.line.map(Value::from)),
                ("fingerprint", pending.fingerprint.clone().map(Value::from)),
            ])
        })
        .collect();

    let notes = &raw.notes;
    if notes.invalid_level.count > 0 {
        problems.push(Problem {
            pointer: notes.invalid_level.first.clone(),
            message: format!(
                "level is not one of error, warning, note, none ({} in this run, first here); treated as absent",
                notes.invalid_level.count
            ),
        });
    }
    if notes.invalid_security_severity.count > 0 {
        problems.push(Problem {
            pointer: notes.invalid_security_severity.first.clone(),
            message: format!(
                "security-severity is neither a score nor a severity name ({} in this run, first here); level used",
                notes.invalid_security_severity.count
            ),
        });
    }
    if notes.missing_rule.count > 0 {
        problems.push(Problem::at(
            &base,
            format!(
                "rule index or tool component does not exist ({} results in this run); rule defaults not applied",
                notes.missing_rule.count
            ),
        ));
    }

    let tool_name = text(tool.driver.name.clone());
    if tool_name.is_none() {
        problems.push(Problem::at(
            &format!("{base}/tool/driver"),
            "driver has no `name`; tool recorded as `unknown`",
        ));
    }
    let tool_name = tool_name.unwrap_or_default();
    Ok(RunSummary {
        index,
        tool: tool_id(&tool_name),
        tool_version: text(tool.driver.semantic_version.clone()).or_else(|| text(tool.driver.version.clone())),
        tool_name,
        results_available: raw.results_available,
        counts,
        findings,
        findings_truncated,
        rules: tool.rules(),
        tool_notifications,
        invocation_successful,
        automation_id,
        time: latest_end.or(latest_start),
        repo,
        commit,
        git_ref,
        problems,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use model::OccurredAtSource;

    fn context() -> Context {
        Context {
            origin: "test.sarif".into(),
            sha256: "00".into(),
            ..Context::default()
        }
    }

    fn check(text: &str) -> Parsed {
        parse(text.as_bytes(), &context(), &Limits::default())
    }

    /// A one-run log with the given driver rules and results (JSON text).
    fn run_log(rules: &str, results: &str) -> String {
        format!(
            r#"{{"version":"2.1.0","runs":[{{"tool":{{"driver":{{"name":"Semgrep OSS","semanticVersion":"1.2.3","rules":{rules}}}}},"results":{results}}}]}}"#
        )
    }

    fn severities(parsed: &Parsed, run: usize) -> Vec<(String, u64)> {
        let counts = &parsed.evidence[run].attrs["counts_by_severity"];
        Severity::ALL
            .iter()
            .map(|severity| {
                (
                    severity.as_str().to_string(),
                    counts[severity.as_str()].as_u64().unwrap(),
                )
            })
            .filter(|(_, count)| *count > 0)
            .collect()
    }

    fn only(severity: &str, count: u64) -> Vec<(String, u64)> {
        vec![(severity.to_string(), count)]
    }

    #[test]
    fn result_security_severity_wins_over_rule() {
        let parsed = check(&run_log(
            r#"[{"id":"r1","properties":{"security-severity":"5.0"}}]"#,
            r#"[{"ruleId":"r1","level":"note","properties":{"security-severity":9.5}}]"#,
        ));
        assert_eq!(parsed.diagnostics, vec![]);
        assert_eq!(severities(&parsed, 0), only("critical", 1));
        assert_eq!(parsed.evidence[0].attrs["counts_by_level"]["note"], json!(1));
    }

    #[test]
    fn rule_security_severity_wins_over_level() {
        let parsed = check(&run_log(
            r#"[{"id":"r1","properties":{"security-severity":"2.0"}}]"#,
            r#"[{"ruleIndex":0,"level":"error"}]"#,
        ));
        assert_eq!(severities(&parsed, 0), only("low", 1));
        assert_eq!(parsed.evidence[0].attrs["counts_by_level"]["error"], json!(1));
    }

    #[test]
    fn level_then_rule_default_then_warning() {
        let parsed = check(&run_log(
            r#"[{"id":"r1","defaultConfiguration":{"level":"note"}},{"id":"r2"}]"#,
            r#"[{"ruleId":"r1"},{"ruleId":"r1","level":"error"},{"ruleId":"r2"},{"message":{"text":"no rule"}},{"ruleId":"r9","level":"none"}]"#,
        ));
        assert_eq!(parsed.diagnostics, vec![]);
        let attrs = &parsed.evidence[0].attrs;
        assert_eq!(attrs["results"], json!(5));
        assert_eq!(
            attrs["counts_by_level"],
            json!({"error": 1, "warning": 2, "note": 1, "none": 1})
        );
        assert_eq!(
            attrs["counts_by_severity"],
            json!({"critical": 0, "high": 1, "medium": 2, "low": 1, "info": 1, "unknown": 0})
        );
    }

    #[test]
    fn kind_other_than_fail_defaults_to_none() {
        let parsed = check(&run_log(
            r#"[{"id":"r1","defaultConfiguration":{"level":"error"}}]"#,
            r#"[{"ruleId":"r1","kind":"pass"},{"ruleId":"r1","kind":"fail"}]"#,
        ));
        assert_eq!(
            parsed.evidence[0].attrs["counts_by_level"],
            json!({"error": 1, "warning": 0, "note": 0, "none": 1})
        );
    }

    #[test]
    fn security_severity_forms() {
        let cases = [
            (json!(9.0), Ok(Some(Severity::Critical))),
            (json!("7.5"), Ok(Some(Severity::High))),
            (json!(" 4 "), Ok(Some(Severity::Medium))),
            (json!("0.1"), Ok(Some(Severity::Low))),
            (json!("0.0"), Ok(None)),
            (json!(-1), Ok(None)),
            (json!("CRITICAL"), Ok(Some(Severity::Critical))),
            (json!("MEDIUM"), Ok(Some(Severity::Medium))),
            (json!("NaN"), Err(())),
            (json!("bogus"), Err(())),
            (json!(true), Err(())),
            (json!({"a": 1}), Err(())),
            (Value::Null, Ok(None)),
        ];
        for (value, expected) in cases {
            assert_eq!(security_severity(Some(&value)), expected, "{value}");
        }
    }

    #[test]
    fn zero_score_falls_back_and_unreadable_score_is_reported() {
        let parsed = check(&run_log(
            r#"[{"id":"r1","defaultConfiguration":{"level":"error"},"properties":{"security-severity":"0.0"}}]"#,
            r#"[{"ruleId":"r1"},{"ruleId":"r1","properties":{"security-severity":true}}]"#,
        ));
        assert_eq!(severities(&parsed, 0), only("high", 2));
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(
            parsed.diagnostics[0].pointer.as_deref(),
            Some("/runs/0/results/1/properties/security-severity")
        );
    }

    #[test]
    fn invalid_level_is_reported_and_treated_as_absent() {
        let parsed = check(&run_log("[]", r#"[{"level":"critical"},{"level":"Error"}]"#));
        assert_eq!(
            parsed.evidence[0].attrs["counts_by_level"],
            json!({"error": 1, "warning": 1, "note": 0, "none": 0})
        );
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(
            parsed.diagnostics[0].pointer.as_deref(),
            Some("/runs/0/results/0/level")
        );
    }

    #[test]
    fn suppressed_results_are_counted_apart() {
        let parsed = check(&run_log(
            "[]",
            r#"[
                {"level":"error","suppressions":[{"kind":"inSource"}]},
                {"level":"error","suppressions":[{"kind":"external","status":"accepted"}]},
                {"level":"error","suppressions":[{"kind":"external","status":"underReview"}]},
                {"level":"note","suppressions":[{"kind":"inSource"},{"kind":"external","status":"rejected"}]},
                {"level":"warning","suppressions":[]}
            ]"#,
        ));
        let attrs = &parsed.evidence[0].attrs;
        assert_eq!(attrs["results"], json!(3));
        assert_eq!(attrs["suppressed"], json!(2));
        assert_eq!(attrs["suppressed_by_severity"]["high"], json!(2));
        assert_eq!(
            attrs["counts_by_severity"],
            json!({"critical": 0, "high": 1, "medium": 1, "low": 1, "info": 0, "unknown": 0})
        );
        assert_eq!(
            attrs["counts_by_level"],
            json!({"error": 1, "warning": 1, "note": 1, "none": 0})
        );
    }

    #[test]
    fn extension_rules_are_found_through_the_tool_component() {
        let log = r#"{"version":"2.1.0","runs":[{"tool":{
            "driver":{"name":"CodeQL","semanticVersion":"2.15.0"},
            "extensions":[
              {"name":"codeql/javascript-queries","rules":[{"id":"js/xss","defaultConfiguration":{"level":"error"},"properties":{"security-severity":"6.1"}}]},
              {"name":"codeql/other","rules":[{"id":"x/y","defaultConfiguration":{"level":"note"}}]}
            ]},
            "results":[
              {"ruleId":"js/xss","rule":{"id":"js/xss","index":0,"toolComponent":{"index":0}}},
              {"rule":{"id":"x/y","toolComponent":{"name":"codeql/other"}}},
              {"ruleId":"x/y"},
              {"rule":{"index":5,"toolComponent":{"index":0}}},
              {"rule":{"index":0,"toolComponent":{"index":7}}}
            ]}]}"#;
        let parsed = check(log);
        let attrs = &parsed.evidence[0].attrs;
        assert_eq!(attrs["tool"], json!("codeql"));
        assert_eq!(attrs["rules"], json!(2));
        assert_eq!(
            attrs["counts_by_level"],
            json!({"error": 1, "warning": 2, "note": 2, "none": 0})
        );
        assert_eq!(
            attrs["counts_by_severity"],
            json!({"critical": 0, "high": 0, "medium": 3, "low": 2, "info": 0, "unknown": 0})
        );
        assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
        assert!(parsed.diagnostics[0].message.contains("(2 results in this run)"));
    }

    #[test]
    fn two_runs_give_two_records() {
        let log = r#"{"version":"2.1.0","runs":[
            {"tool":{"driver":{"name":"Trivy","version":"0.50.0"}},"results":[{"level":"error"}]},
            {"tool":{"driver":{"name":"gitleaks","semanticVersion":"v8.18.0","rules":[{"id":"a"},{"id":"b"}]}},"results":[]}
        ]}"#;
        let parsed = check(log);
        assert_eq!(parsed.diagnostics, vec![]);
        assert_eq!(parsed.evidence.len(), 2);
        let first = &parsed.evidence[0];
        assert_eq!(first.kind, EvidenceKind::ScanReport);
        assert_eq!(first.source.collector, "sarif");
        assert_eq!(first.source.origin, "test.sarif");
        assert_eq!(first.source.pointer.as_deref(), Some("/runs/0"));
        assert_eq!(
            first.attrs,
            json!({
                "tool": "trivy", "tool_name": "Trivy", "tool_version": "0.50.0", "format": "sarif",
                "sarif_version": "2.1.0", "run_index": 0, "results_available": true, "results": 1,
                "counts_by_level": {"error": 1, "warning": 0, "note": 0, "none": 0},
                "counts_by_severity": {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0, "unknown": 0},
                "suppressed": 0,
                "suppressed_by_severity": {"critical": 0, "high": 0, "medium": 0, "low": 0, "info": 0, "unknown": 0},
                "rules": 0, "tool_notifications": 0,
                "findings": [{"id": "unknown", "severity": "high", "level": "error"}],
                "findings_truncated": false
            })
        );
        let second = &parsed.evidence[1];
        assert_eq!(second.source.pointer.as_deref(), Some("/runs/1"));
        assert_eq!(second.attrs["tool"], json!("gitleaks"));
        assert_eq!(second.attrs["tool_version"], json!("v8.18.0"));
        assert_eq!(second.attrs["run_index"], json!(1));
        assert_eq!(second.attrs["results"], json!(0));
        assert_eq!(second.attrs["rules"], json!(2));
        assert_eq!(second.attrs["findings"], json!([]));
        assert_eq!(second.attrs["findings_truncated"], json!(false));
    }

    #[test]
    fn findings_hold_rule_id_severity_path_line_and_fingerprint() {
        // The tool comes after the results: findings are resolved once the rules are known.
        let log = r#"{"version":"2.1.0","runs":[{"results":[
            {"ruleId":"r1","level":"error","locations":[
                {"physicalLocation":{"artifactLocation":{"uri":"src/a.js"},"region":{"startLine":12,"startColumn":3}}},
                {"physicalLocation":{"artifactLocation":{"uri":"src/other.js"},"region":{"startLine":99}}}],
             "partialFingerprints":{"zeta":"z-1","primaryLocationLineHash":"abc:1"},"fingerprints":{"a":"fp-0"}},
            {"rule":{"id":"r2","index":1},"fingerprints":{"matchBasedId/v1":"m-1","b":7}},
            {"ruleIndex":1,"locations":[{"physicalLocation":{"region":{"startLine":0}}}]},
            {"ruleId":"","rule":{"index":0},"kind":"pass",
             "locations":[{"physicalLocation":{"artifactLocation":{"uri":7},"region":{"startLine":"3"}}}]},
            {"level":"note","locations":"nowhere","partialFingerprints":[]}
        ],"tool":{"driver":{"name":"x","rules":[
            {"id":"r1","properties":{"security-severity":"9.8"}},
            {"id":"r2","defaultConfiguration":{"level":"note"}}]}}}]}"#;
        let parsed = check(log);
        assert_eq!(parsed.diagnostics, vec![]);
        let attrs = &parsed.evidence[0].attrs;
        assert_eq!(
            attrs["findings"],
            json!([
                {"id": "r1", "severity": "critical", "level": "error", "path": "src/a.js", "line": 12,
                 "fingerprint": "abc:1"},
                {"id": "r2", "severity": "low", "level": "note", "fingerprint": "m-1"},
                {"id": "r2", "severity": "low", "level": "note"},
                {"id": "r1", "severity": "critical", "level": "none"},
                {"id": "unknown", "severity": "low", "level": "note"}
            ])
        );
        assert_eq!(attrs["findings_truncated"], json!(false));
        assert_eq!(
            attrs["counts_by_severity"],
            json!({"critical": 2, "high": 0, "medium": 0, "low": 3, "info": 0, "unknown": 0})
        );

        let long = "p".repeat(1_000);
        let parsed = check(&run_log(
            "[]",
            &format!(
                r#"[{{"ruleId":"{long}","locations":[{{"physicalLocation":{{"artifactLocation":{{"uri":"{long}"}}}}}}],"fingerprints":{{"k":"{long}"}}}}]"#
            ),
        ));
        let finding = &parsed.evidence[0].attrs["findings"][0];
        for key in ["id", "path", "fingerprint"] {
            assert_eq!(
                finding[key].as_str().unwrap().chars().count(),
                MAX_TEXT_CHARS + 1,
                "{key}"
            );
        }
    }

    #[test]
    fn suppressed_results_are_not_listed() {
        let parsed = check(&run_log(
            "[]",
            r#"[
                {"ruleId":"gone","level":"error","suppressions":[{"kind":"inSource"}]},
                {"ruleId":"kept-review","level":"error","suppressions":[{"kind":"external","status":"underReview"}]},
                {"ruleId":"gone-too","level":"note","suppressions":[{"kind":"external","status":"accepted"}]},
                {"ruleId":"kept","level":"warning","suppressions":[]}
            ]"#,
        ));
        let attrs = &parsed.evidence[0].attrs;
        let ids: Vec<&str> = attrs["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|finding| finding["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec!["kept-review", "kept"]);
        assert_eq!(attrs["results"], json!(2));
        assert_eq!(attrs["suppressed"], json!(2));
        assert_eq!(attrs["findings_truncated"], json!(false));
    }

    #[test]
    fn findings_are_bounded_but_counts_are_complete() {
        let one = r#"{"ruleId":"r","level":"error"}"#;
        let suppressed = r#"{"ruleId":"s","suppressions":[{"kind":"inSource"}]}"#;
        // Exactly MAX_FINDINGS open results (and suppressed ones): not truncated.
        let mut results = vec![one; MAX_FINDINGS];
        results.extend([suppressed; 3]);
        let parsed = check(&run_log("[]", &format!("[{}]", results.join(","))));
        let attrs = &parsed.evidence[0].attrs;
        assert_eq!(attrs["findings"].as_array().map(Vec::len), Some(MAX_FINDINGS));
        assert_eq!(attrs["findings_truncated"], json!(false));

        // One more open result: truncated, and the counts still cover it.
        let last = r#"{"ruleId":"last","level":"note"}"#;
        let mut results = vec![one; MAX_FINDINGS];
        results.push(last);
        let parsed = check(&run_log("[]", &format!("[{}]", results.join(","))));
        let attrs = &parsed.evidence[0].attrs;
        assert_eq!(attrs["results"], json!(MAX_FINDINGS + 1));
        assert_eq!(attrs["counts_by_severity"]["high"], json!(MAX_FINDINGS));
        assert_eq!(attrs["counts_by_severity"]["low"], json!(1));
        let findings = attrs["findings"].as_array().unwrap();
        assert_eq!(findings.len(), MAX_FINDINGS);
        assert!(findings.iter().all(|finding| finding["id"] == json!("r")));
        assert_eq!(attrs["findings_truncated"], json!(true));
    }

    #[test]
    fn missing_results_are_not_zero_findings() {
        let parsed = check(
            r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}}},{"tool":{"driver":{"name":"x"}},"results":null}]}"#,
        );
        assert_eq!(parsed.evidence.len(), 2);
        for record in &parsed.evidence {
            assert_eq!(record.attrs["results_available"], json!(false));
            assert_eq!(record.attrs["results"], json!(0));
        }
    }

    #[test]
    fn version_control_provenance_gives_the_subject() {
        let log = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"CodeQL"}},"results":[],
            "versionControlProvenance":[
              {"repositoryUri":"https://github.com/acme/api.git","revisionId":"0123abc","branch":"refs/heads/main"},
              {"repositoryUri":"https://github.com/other/repo"}
            ]}]}"#;
        let mut context = context();
        context.repo = Some("flag/repo".into());
        context.commit = Some("ffff".into());
        let parsed = parse(log.as_bytes(), &context, &Limits::default());
        let subject = &parsed.evidence[0].subject;
        assert_eq!(subject.repo.as_deref(), Some("acme/api"));
        assert_eq!(subject.commit.as_deref(), Some("0123abc"));
        assert_eq!(subject.git_ref.as_deref(), Some("refs/heads/main"));

        let bare = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"CodeQL"}},"results":[]}]}"#;
        let parsed = parse(bare.as_bytes(), &context, &Limits::default());
        let subject = &parsed.evidence[0].subject;
        assert_eq!(subject.repo.as_deref(), Some("flag/repo"));
        assert_eq!(subject.commit.as_deref(), Some("ffff"));
        assert_eq!(subject.git_ref, None);
    }

    #[test]
    fn repository_names() {
        let cases = [
            ("https://github.com/acme/api", Some("acme/api")),
            ("https://github.com/acme/api.git", Some("acme/api")),
            ("https://www.github.com/acme/api/tree/main", Some("acme/api")),
            ("git@github.com:acme/api.git", Some("acme/api")),
            ("ssh://git@github.com/acme/api.git", Some("acme/api")),
            (
                "https://gitlab.com/group/sub/project/-/tree/main",
                Some("group/sub/project"),
            ),
            ("https://gitlab.com/group/project.git?x=1", Some("group/project")),
            ("https://github.com/acme", Some("https://github.com/acme")),
            (
                "https://git.example.com/acme/api",
                Some("https://git.example.com/acme/api"),
            ),
            ("file:///src/repo", Some("file:///src/repo")),
            ("  ", None),
        ];
        for (uri, expected) in cases {
            assert_eq!(repository_name(uri).as_deref(), expected, "{uri}");
        }
    }

    #[test]
    fn tool_ids() {
        let cases = [
            ("Semgrep OSS", "semgrep"),
            ("CodeQL command-line toolchain", "codeql"),
            ("CodeQL", "codeql"),
            ("Trivy", "trivy"),
            ("gitleaks", "gitleaks"),
            ("Snyk Open Source", "snyk"),
            ("LGTM.com", "lgtm-com"),
            ("My  Custom_Tool!", "my-custom-tool"),
            ("osv-scanner", "osv-scanner"),
            ("", "unknown"),
            ("äöü", "unknown"),
        ];
        for (name, expected) in cases {
            assert_eq!(tool_id(name), expected, "{name}");
        }
    }

    #[test]
    fn level_mapping_matches_the_model() {
        for level in Level::ALL {
            assert_eq!(level.severity(), Severity::from_name(level.as_str()), "{level:?}");
            assert_eq!(Level::from_name(&level.as_str().to_ascii_uppercase()), Some(level));
        }
        assert_eq!(Level::from_name("critical"), None);
    }

    #[test]
    fn time_comes_from_invocations_else_flag_else_ingested() {
        let log = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[],"invocations":[
            {"executionSuccessful":true,"startTimeUtc":"2025-03-01T09:00:00Z","endTimeUtc":"2025-03-01T10:00:00Z"},
            {"executionSuccessful":false,"endTimeUtc":"2025-03-02T10:00:00+02:00","toolExecutionNotifications":[{},{}]}
        ]}]}"#;
        let parsed = check(log);
        let record = &parsed.evidence[0];
        assert_eq!(record.occurred_at_source, OccurredAtSource::Source);
        assert_eq!(
            record.occurred_at.map(|time| time.to_string()).as_deref(),
            Some("2025-03-02T08:00:00Z")
        );
        assert_eq!(record.attrs["invocation_successful"], json!(false));
        assert_eq!(record.attrs["tool_notifications"], json!(2));

        let start_only = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[],"invocations":[
            {"executionSuccessful":true,"startTimeUtc":"2025-03-01T09:00:00Z","endTimeUtc":"yesterday"}]}]}"#;
        let parsed = check(start_only);
        assert_eq!(
            parsed.evidence[0].occurred_at.map(|time| time.to_string()).as_deref(),
            Some("2025-03-01T09:00:00Z")
        );
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(
            parsed.diagnostics[0].pointer.as_deref(),
            Some("/runs/0/invocations/0/endTimeUtc")
        );

        let timeless = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[]}]}"#;
        let parsed = check(timeless);
        assert_eq!(parsed.evidence[0].occurred_at, None);
        assert_eq!(parsed.evidence[0].occurred_at_source, OccurredAtSource::Ingested);
        assert!(parsed.evidence[0].attrs.get("invocation_successful").is_none());

        let mut flagged = context();
        let flag: Timestamp = "2025-01-01T00:00:00Z".parse().unwrap();
        flagged.occurred_at = Some(flag);
        let parsed = parse(timeless.as_bytes(), &flagged, &Limits::default());
        assert_eq!(parsed.evidence[0].occurred_at, Some(flag));
        assert_eq!(parsed.evidence[0].occurred_at_source, OccurredAtSource::Flag);
    }

    #[test]
    fn automation_details_give_id_and_category() {
        let log = r#"{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[],
            "automationDetails":{"id":"/language:javascript/"}},
            {"tool":{"driver":{"name":"x"}},"results":[],"automationDetails":{"id":"nightly"}}]}"#;
        let parsed = check(log);
        assert_eq!(
            parsed.evidence[0].attrs["automation_id"],
            json!("/language:javascript/")
        );
        assert_eq!(parsed.evidence[0].attrs["category"], json!("/language:javascript"));
        assert_eq!(parsed.evidence[1].attrs["automation_id"], json!("nightly"));
        assert!(parsed.evidence[1].attrs.get("category").is_none());
    }

    #[test]
    fn truncated_file_gives_one_diagnostic_with_line() {
        let full = run_log("[]", r#"[{"level":"error"}]"#);
        let parsed = check(&full[..full.len() - 5]);
        assert!(parsed.evidence.is_empty());
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(parsed.diagnostics[0].line, Some(1));
        assert!(
            parsed.diagnostics[0].message.starts_with("truncated"),
            "{}",
            parsed.diagnostics[0].message
        );
    }

    #[test]
    fn syntax_error_names_line_and_column() {
        let parsed = check("{\n  \"version\": \"2.1.0\",\n  \"runs\": [}\n");
        assert!(parsed.evidence.is_empty());
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(parsed.diagnostics[0].line, Some(3));
        assert!(
            parsed.diagnostics[0].message.contains("column 12"),
            "{}",
            parsed.diagnostics[0].message
        );
    }

    #[test]
    fn wrong_types_refuse_only_their_run() {
        let log = r#"{"version":"2.1.0","runs":[
            {"tool":{"driver":{"name":"a"}},"results":"many"},
            "a run that is a string",
            {"tool":{"driver":{"name":"b"}},"results":[{"level":"error"},{"ruleIndex":"zero"}]},
            {"tool":{"driver":{"name":"c","rules":[{"id":"r","defaultConfiguration":{"level":3}}]}},"results":[]},
            {"tool":"semgrep","results":[]},
            {"tool":{"driver":{"name":"d"}},"results":[],"results":[]},
            {"tool":{"driver":{"name":"e"}},"results":[{"ruleIndex":1e30}]},
            {"tool":{"driver":{"name":"ok"}},"results":[{"level":"note"}]}
        ]}"#;
        let parsed = check(log);
        assert_eq!(parsed.evidence.len(), 1, "{:?}", parsed.diagnostics);
        assert_eq!(parsed.evidence[0].attrs["tool_name"], json!("ok"));
        assert_eq!(parsed.evidence[0].source.pointer.as_deref(), Some("/runs/7"));
        let pointers: Vec<_> = parsed
            .diagnostics
            .iter()
            .map(|d| d.pointer.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(
            pointers,
            vec![
                "/runs/0/results",
                "/runs/1",
                "/runs/2/results/1",
                "/runs/3/tool/driver/rules/0",
                "/runs/4/tool",
                "/runs/5",
                "/runs/6/results/0",
            ]
        );
    }

    #[test]
    fn deep_nesting_is_refused_before_parsing() {
        let deep = format!(r#"{{"version":"2.1.0","runs":{}"#, "[".repeat(10_000));
        let parsed = check(&deep);
        assert!(parsed.evidence.is_empty());
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(parsed.diagnostics[0].line, Some(1));
        assert!(parsed.diagnostics[0].message.contains("deeper than 64"));
    }

    #[test]
    fn hostile_bytes_are_diagnostics() {
        let cases: [&[u8]; 10] = [
            b"",
            b"   ",
            b"\x00",
            b"{\"version\":\"2.1.0\",\"runs\":[{\"tool\":{\"driver\":{\"name\":\"\xff\xfe\"}}}]}",
            b"{\"version\":\"2.1.0\",\"runs\":[1e400]}",
            b"{\"version\":\"2.1.0\",\"runs\":[]} trailing",
            b"[1,2,3]",
            b"\"just a string\"",
            b"{\"version\":\"2.1.0\",\"runs\":7}",
            b"{\"runs\":[],\"runs\":[]}",
        ];
        for bytes in cases {
            let parsed = parse(bytes, &context(), &Limits::default());
            assert!(parsed.evidence.is_empty(), "{bytes:?}");
            assert_eq!(parsed.diagnostics.len(), 1, "{bytes:?}: {:?}", parsed.diagnostics);
        }
    }

    #[test]
    fn not_a_sarif_log_is_said_so() {
        for text in [
            r#"{"hello":"world"}"#,
            r#"{"version":"2.1.0","runs":null}"#,
            r#"{"version":"2.1.0","runs":[]}"#,
        ] {
            let parsed = check(text);
            assert!(parsed.evidence.is_empty());
            assert_eq!(
                parsed.diagnostics.len(),
                if text.contains("version") { 1 } else { 2 },
                "{text}"
            );
        }
    }

    #[test]
    fn version_other_than_2_1_0_is_reported_but_read() {
        let parsed = check(r#"{"version":"2.0.0","runs":[{"tool":{"driver":{"name":"x"}},"results":[]}]}"#);
        assert_eq!(parsed.evidence.len(), 1);
        assert_eq!(parsed.evidence[0].attrs["sarif_version"], json!("2.0.0"));
        assert_eq!(parsed.diagnostics[0].pointer.as_deref(), Some("/version"));
    }

    #[test]
    fn byte_order_marks() {
        let log = run_log("[]", "[]");
        let mut with_bom = b"\xEF\xBB\xBF".to_vec();
        with_bom.extend_from_slice(log.as_bytes());
        assert_eq!(parse(&with_bom, &context(), &Limits::default()).evidence.len(), 1);
        let parsed = parse(b"\xFF\xFE{\x00", &context(), &Limits::default());
        assert!(parsed.diagnostics[0].message.contains("UTF-16"));
        for utf32 in [&b"\xFF\xFE\x00\x00{\x00\x00\x00"[..], b"\x00\x00\xFE\xFF\x00\x00\x00{"] {
            let parsed = parse(utf32, &context(), &Limits::default());
            assert_eq!(
                parsed.diagnostics[0].message,
                "file is UTF-32 (byte order mark); SARIF must be UTF-8; not read"
            );
        }
    }

    #[test]
    fn size_limit_is_honoured() {
        let log = run_log("[]", "[]");
        let limits = Limits {
            max_document_bytes: 10,
            ..Limits::default()
        };
        let parsed = parse(log.as_bytes(), &context(), &limits);
        assert!(parsed.evidence.is_empty());
        assert!(parsed.diagnostics[0].message.contains("larger than the limit"));
    }

    #[test]
    fn many_bad_runs_give_bounded_diagnostics() {
        let runs = vec!["0"; MAX_RUNS + 5].join(",");
        let parsed = check(&format!(r#"{{"version":"2.1.0","runs":[{runs}]}}"#));
        assert!(parsed.evidence.is_empty());
        assert_eq!(parsed.diagnostics.len(), MAX_DIAGNOSTICS + 1);
        assert_eq!(
            parsed.diagnostics[MAX_DIAGNOSTICS].message,
            format!("{} more problems not shown", MAX_RUNS - MAX_DIAGNOSTICS + 1)
        );
    }

    #[test]
    fn long_texts_are_bounded() {
        let name = "x".repeat(10_000);
        let parsed = check(&format!(
            r#"{{"version":"2.1.0","runs":[{{"tool":{{"driver":{{"name":"{name}"}}}},"results":[]}}]}}"#
        ));
        let tool_name = parsed.evidence[0].attrs["tool_name"].as_str().unwrap();
        assert_eq!(tool_name.chars().count(), MAX_TEXT_CHARS + 1);
        assert!(parsed.evidence[0].attrs["tool"].as_str().unwrap().len() <= MAX_TEXT_CHARS);
    }
}
