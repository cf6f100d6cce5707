//! Falco collector: Falco's JSON output (`json_output: true`, one alert per
//! line) and Falcosidekick-style wrappers into `runtime_alert` records.
//!
//! An alert is an object with `rule` and `priority` and at least one of
//! `output_fields`, `output` or `time` (Falco leaves `output_fields` out when
//! `json_include_output_fields_property` is off; the record then has empty
//! `output_fields`); `time`, `output`, `source`, `tags` and `hostname` are
//! read when present (the fields Falco added over the years). The time is
//! `time`, else `output_fields.evt.time.iso8601`, else `evt.rawtime` or
//! `evt.time` in nanoseconds; an alert with none is recorded with a warning. A Falcosidekick CloudEvent (`specversion` plus
//! an alert in `data`) or a wrapper object holding the alert under `falco`,
//! `event`, `payload` or `alert` is unwrapped. The input may be JSON lines, one
//! JSON document holding one alert, or a JSON array of alerts.
//!
//! A line that is not JSON, not UTF-8, or not an alert, gives one diagnostic
//! with its line number; the other lines still land. Attribute keys are listed in
//! `docs/sources.md`.

use jiff::Timestamp;
use model::{EvidenceKind, NewEvidence, Severity, Subject};
use serde_json::{Map, Value, json};

use crate::{Context, Limits, Parsed, json_depth_exceeds};

/// The collector id recorded in every record's source.
pub const COLLECTOR: &str = "falco";

/// Longest text kept from an alert's `output` (characters; longer is cut, marked `…`).
const MAX_OUTPUT_CHARS: usize = 4096;

/// Longest text kept from any other string field (characters).
const MAX_FIELD_CHARS: usize = 1024;

/// Parse Falco alerts (JSON lines, one document or an array) into `runtime_alert` records.
///
/// Never panics; every problem becomes a diagnostic naming its line.
pub fn parse(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let mut parsed = Parsed::default();
    if std::str::from_utf8(bytes).is_err() && crate::is_json_lines_despite_encoding(bytes) {
        // JSON lines with a line that is not UTF-8: that line alone is refused.
        let values = crate::json_lines(bytes, context, limits, &mut parsed.diagnostics);
        return lines(values, parsed, context);
    }
    let Some(text) = crate::utf8_text(bytes, context, &mut parsed.diagnostics) else {
        return parsed;
    };
    // One JSON document spread over several lines (a captured webhook body or
    // an array of alerts) is read whole; anything else line by line.
    let trimmed = text.trim_start();
    let multi_line_document = (trimmed.starts_with('[')
        || trimmed.starts_with('{') && trimmed.lines().filter(|line| !line.trim().is_empty()).count() > 1)
        && json_depth_exceeds(trimmed.as_bytes(), limits.max_depth).is_none();
    if multi_line_document && let Ok(document) = serde_json::from_str::<Value>(trimmed) {
        match document {
            Value::Array(alerts) => {
                for (index, alert) in alerts.iter().enumerate() {
                    let pointer = format!("/{index}");
                    match record(alert, context) {
                        Ok((evidence, warning)) => {
                            if let Some(message) = warning {
                                parsed.diagnostics.push(model::Diagnostic {
                                    warning: true,
                                    ..context.diagnostic(None, Some(pointer.clone()), message)
                                });
                            }
                            parsed.evidence.push(with_position(evidence, None, Some(pointer)));
                        }
                        Err(message) => parsed
                            .diagnostics
                            .push(context.diagnostic(None, Some(pointer), message)),
                    }
                }
            }
            other => match record(&other, context) {
                Ok((evidence, warning)) => {
                    if let Some(message) = warning {
                        parsed.diagnostics.push(context.warning(Some(1), message));
                    }
                    parsed.evidence.push(evidence);
                }
                Err(message) => parsed.diagnostics.push(context.diagnostic(Some(1), None, message)),
            },
        }
        return parsed;
    }
    let values = crate::json_lines(text.as_bytes(), context, limits, &mut parsed.diagnostics);
    lines(values, parsed, context)
}

/// Whether a Falco file is JSON lines (one alert per line, as Falco's
/// `json_output` writes its log), judging by `head`, its first bytes: the
/// first non-blank line is a whole JSON object. Such files are streamed by
/// `ingest` block by block ([`parse_block`]) instead of read whole; an array,
/// a pretty-printed document or a webhook capture is read whole by [`parse`].
pub fn is_json_lines(head: &[u8]) -> bool {
    first_line_object(head).is_some()
}

/// Whether the first non-blank line of `head` is one whole JSON object that
/// is a Falco alert, bare or wrapped (the keys decide, wherever Falco put
/// them: its `output`, often long, comes before `priority` and `rule`).
pub fn first_line_is_alert(head: &[u8]) -> bool {
    first_line_object(head).is_some_and(|value| unwrap_alert(&value).is_some())
}

/// The first non-blank line of `head` as a JSON object, when it is one and
/// ends inside the head.
fn first_line_object(head: &[u8]) -> Option<Value> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let first = head
        .split(|byte| *byte == b'\n')
        .map(<[u8]>::trim_ascii)
        .find(|line| !line.is_empty())?;
    // The line must end inside the head to be judged.
    let complete = head.len() > first.len() && memchr::memchr(b'\n', head).is_some();
    if !complete || !first.starts_with(b"{") {
        return None;
    }
    serde_json::from_slice::<Value>(first).ok().filter(Value::is_object)
}

/// The alerts of one block of a JSON-lines Falco file (whole lines, numbered
/// from `block.first_line`), canonical and with their diagnostics, as the
/// streamed ingest reads it: the same records and messages as [`parse`]
/// gives for those lines, without holding the file.
pub fn parse_block(
    block: &crate::ndjson::Block,
    context: &Context,
    limits: &Limits,
) -> (Vec<model::CanonicalRecord>, Vec<model::Diagnostic>) {
    let mut diagnostics: Vec<model::Diagnostic> = block
        .problems
        .iter()
        .map(|(line, message)| context.diagnostic(Some(*line), None, message.clone()))
        .collect();
    let mut records = Vec::new();
    let mut scratch = Vec::with_capacity(4096);
    for (number, line) in (block.first_line..).zip(block.bytes.split(|byte| *byte == b'\n')) {
        let line = if number == 1 {
            line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line)
        } else {
            line
        };
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        let Some(value) = crate::json_line(line, number, context, limits, &mut diagnostics) else {
            continue;
        };
        match record(&value, context) {
            Ok((evidence, warning)) => {
                if let Some(message) = warning {
                    diagnostics.push(context.warning(Some(number), message));
                }
                let evidence = with_position(evidence, Some(number), None);
                records.push(model::CanonicalRecord::from_evidence(&evidence, &mut scratch));
            }
            Err(message) => diagnostics.push(context.diagnostic(Some(number), None, message)),
        }
    }
    diagnostics.sort_by_key(|diagnostic| diagnostic.line);
    (records, diagnostics)
}

/// Alerts from JSON lines, each with its line number.
fn lines(values: Vec<(u64, Value)>, mut parsed: Parsed, context: &Context) -> Parsed {
    for (number, value) in values {
        match record(&value, context) {
            Ok((evidence, warning)) => {
                if let Some(message) = warning {
                    parsed.diagnostics.push(context.warning(Some(number), message));
                }
                parsed.evidence.push(with_position(evidence, Some(number), None));
            }
            Err(message) => parsed.diagnostics.push(context.diagnostic(Some(number), None, message)),
        }
    }
    // Reading problems and alert problems, in line order.
    parsed.diagnostics.sort_by_key(|diagnostic| diagnostic.line);
    parsed
}

/// Whether a JSON object looks like a Falco alert (used by format detection
/// too): `rule` and `priority` (strings) and at least one of `output_fields`
/// (an object), `output` or `time` (strings). Falco leaves `output_fields`
/// out when `json_include_output_fields_property` is off, and older versions
/// did not write it.
pub fn is_alert(object: &Map<String, Value>) -> bool {
    object.get("rule").is_some_and(Value::is_string)
        && object.get("priority").is_some_and(Value::is_string)
        && (object.get("output_fields").is_some_and(Value::is_object)
            || object.get("output").is_some_and(Value::is_string)
            || object.get("time").is_some_and(Value::is_string))
}

/// Falco's priority (any case) as a normalised severity: emergency and alert
/// are critical, debug is info, the rest as [`Severity::from_name`] reads them
/// (critical, error -> high, warning -> medium, notice and informational -> info).
pub fn severity(priority: &str) -> Severity {
    match priority.trim().to_ascii_lowercase().as_str() {
        "emergency" | "alert" => Severity::Critical,
        "debug" => Severity::Info,
        other => Severity::from_name(other),
    }
}

fn with_position(mut evidence: NewEvidence, line: Option<u64>, pointer: Option<String>) -> NewEvidence {
    evidence.source.line = line;
    if pointer.is_some() {
        evidence.source.pointer = pointer;
    }
    evidence
}

/// The alert inside `value`, and the wrapper it came in (`None`: a bare alert).
fn unwrap_alert(value: &Value) -> Option<(&Map<String, Value>, Option<&'static str>)> {
    let object = value.as_object()?;
    if is_alert(object) {
        return Some((object, None));
    }
    if object.contains_key("specversion")
        && let Some(inner) = object.get("data").and_then(Value::as_object)
        && is_alert(inner)
    {
        return Some((inner, Some("cloudevent")));
    }
    for key in ["falco", "event", "payload", "alert", "data"] {
        if let Some(inner) = object.get(key).and_then(Value::as_object)
            && is_alert(inner)
        {
            return Some((inner, Some(key)));
        }
    }
    None
}

fn string_field(object: &Map<String, Value>, key: &str) -> Option<String> {
    object
        .get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .map(|text| crate::cut_text(text, MAX_FIELD_CHARS))
}

/// An `output_fields` value as text (Falco writes numbers for some fields and
/// `null` for fields that were not available in the event).
fn field_text(fields: &Map<String, Value>, key: &str) -> Option<String> {
    match fields.get(key)? {
        Value::String(text) => Some(text.trim())
            .filter(|text| !text.is_empty() && *text != "<NA>")
            .map(|text| crate::cut_text(text, MAX_FIELD_CHARS)),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// The container image: `container.image` when Falco gives it whole, else
/// repository and tag (or digest) put together.
fn image(fields: &Map<String, Value>) -> Option<String> {
    if let Some(image) = field_text(fields, "container.image") {
        return Some(image);
    }
    let repository = field_text(fields, "container.image.repository")?;
    if let Some(digest) = field_text(fields, "container.image.digest") {
        return Some(format!("{repository}@{digest}"));
    }
    Some(match field_text(fields, "container.image.tag") {
        Some(tag) => format!("{repository}:{tag}"),
        None => repository,
    })
}

/// The alert's time: `time` (RFC 3339), else from `output_fields`:
/// `evt.time.iso8601` (text), or `evt.time.iso8601` / `evt.rawtime` /
/// `evt.time` when Falco printed them as nanoseconds since the epoch (a number,
/// or for the last two a string of digits). A
/// `time` that does not read refuses the alert; none at all is `Ok(None)`.
fn alert_time(alert: &Map<String, Value>, fields: &Map<String, Value>) -> Result<Option<Timestamp>, String> {
    if let Some(text) = alert.get("time").and_then(Value::as_str) {
        return model::time::parse_time(text)
            .map(Some)
            .map_err(|error| format!("`time` {text:?} cannot be read: {error}"));
    }
    if let Some(text) = fields.get("evt.time.iso8601").and_then(Value::as_str) {
        return model::time::parse_time(text)
            .map(Some)
            .map_err(|error| format!("`output_fields.evt.time.iso8601` {text:?} cannot be read: {error}"));
    }
    // Falco's JSON gives `evt.time.iso8601` as the same nanosecond integer.
    for key in ["evt.time.iso8601", "evt.rawtime", "evt.time"] {
        let nanoseconds = match fields.get(key) {
            Some(Value::Number(number)) => number.as_i64(),
            Some(Value::String(text)) if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit()) => {
                text.parse::<i64>().ok()
            }
            _ => None,
        };
        if let Some(nanoseconds) = nanoseconds
            && let Ok(time) = Timestamp::from_nanosecond(i128::from(nanoseconds))
            && model::time::check_range(time).is_ok()
        {
            return Ok(Some(time));
        }
    }
    Ok(None)
}

/// One alert as a `runtime_alert` record (with a warning when the alert
/// states no time), or why it is not one.
fn record(value: &Value, context: &Context) -> Result<(NewEvidence, Option<String>), String> {
    let Some((alert, wrapper)) = unwrap_alert(value) else {
        return Err(match value {
            Value::Object(_) => {
                "not a Falco alert: needs `rule` and `priority` (strings) and `output_fields`, `output` or `time`; skipped"
                    .to_string()
            }
            other => format!(
                "not a Falco alert: {}, expected an object; skipped",
                crate::trivy::type_name(other)
            ),
        });
    };
    let empty = Map::new();
    let fields = alert.get("output_fields").and_then(Value::as_object).unwrap_or(&empty);
    let time = alert_time(alert, fields)?;
    let warning = time.is_none().then(|| {
        format!(
            "alert states no time (`time`, `output_fields.evt.time.iso8601` or `evt.rawtime`); recorded at {}",
            if context.occurred_at.is_some() {
                "the --occurred-at time"
            } else {
                "the ingest time"
            }
        )
    });
    let priority = string_field(alert, "priority").unwrap_or_default();
    let tags: Vec<String> = alert
        .get("tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(Value::as_str)
                .map(|tag| crate::cut_text(tag, MAX_FIELD_CHARS))
                .collect()
        })
        .unwrap_or_default();
    let hostname = string_field(alert, "hostname");
    let namespace = field_text(fields, "k8s.ns.name");
    let image = image(fields);
    let subject = Subject {
        repo: context.repo.clone(),
        namespace: namespace.clone(),
        host: hostname.clone(),
        image: image.clone(),
        ..Subject::default()
    };
    let mut attrs = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            attrs.insert(key.to_string(), value);
        }
    };
    put("rule", string_field(alert, "rule").map(Value::from));
    put("priority", Some(Value::from(priority.clone())));
    put("severity", Some(Value::from(severity(&priority).as_str())));
    put("source", string_field(alert, "source").map(Value::from));
    put("tags", alert.get("tags").is_some().then(|| json!(tags)));
    put("hostname", hostname.map(Value::from));
    put(
        "output",
        alert
            .get("output")
            .and_then(Value::as_str)
            .map(|output| Value::from(crate::cut_text(output.trim(), MAX_OUTPUT_CHARS))),
    );
    put("uuid", string_field(alert, "uuid").map(Value::from));
    put("namespace", namespace.map(Value::from));
    put("pod", field_text(fields, "k8s.pod.name").map(Value::from));
    put("container_id", field_text(fields, "container.id").map(Value::from));
    put("container_name", field_text(fields, "container.name").map(Value::from));
    put("image", image.map(Value::from));
    put("wrapper", wrapper.map(Value::from));
    put(
        "output_fields",
        Some(crate::bounded_json(&Value::Object(fields.clone()))),
    );
    let evidence = context.record(
        COLLECTOR,
        EvidenceKind::RuntimeAlert,
        time,
        subject,
        None,
        Value::Object(attrs),
    );
    Ok((evidence, warning))
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context {
            origin: "/alerts/falco.jsonl".into(),
            sha256: "ab".into(),
            ..Context::default()
        }
    }

    const KUBERNETES_ALERT: &str = r#"{"hostname":"node-1","output":"12:00:00.000000000: Notice A shell was spawned","priority":"Notice","rule":"Terminal shell in container","source":"syscall","tags":["container","shell","mitre_execution"],"time":"2025-03-02T12:00:00.123456789Z","output_fields":{"container.id":"0f8d7e2a3296","container.image.repository":"registry.example/api","container.image.tag":"1.2.3","container.name":"api","k8s.ns.name":"payments","k8s.pod.name":"api-7d9f","proc.cmdline":"sh","user.name":"root"}}"#;

    #[test]
    fn kubernetes_fields_become_subject_and_attributes() {
        let parsed = parse(KUBERNETES_ALERT.as_bytes(), &context(), &Limits::default());
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let [record] = parsed.evidence.as_slice() else {
            panic!("one record expected: {:?}", parsed.evidence)
        };
        assert_eq!(record.kind, EvidenceKind::RuntimeAlert);
        assert_eq!(record.source.line, Some(1));
        assert_eq!(
            record.occurred_at.map(|time| time.to_string()).as_deref(),
            Some("2025-03-02T12:00:00.123456789Z")
        );
        assert_eq!(record.subject.namespace.as_deref(), Some("payments"));
        assert_eq!(record.subject.host.as_deref(), Some("node-1"));
        assert_eq!(record.subject.image.as_deref(), Some("registry.example/api:1.2.3"));
        assert_eq!(record.attrs["pod"], "api-7d9f");
        assert_eq!(record.attrs["container_id"], "0f8d7e2a3296");
        assert_eq!(record.attrs["severity"], "info");
        assert_eq!(record.attrs["priority"], "Notice");
        assert_eq!(record.attrs["tags"], json!(["container", "shell", "mitre_execution"]));
    }

    #[test]
    fn bad_lines_are_reported_by_number_and_the_rest_lands() {
        let input = format!("{KUBERNETES_ALERT}\n{{\"rule\": \"x\"\n\n[1]\n{{\"rule\":\"r\"}}\n{KUBERNETES_ALERT}\n");
        let parsed = parse(input.as_bytes(), &context(), &Limits::default());
        assert_eq!(parsed.evidence.len(), 2);
        let lines: Vec<Option<u64>> = parsed.diagnostics.iter().map(|diagnostic| diagnostic.line).collect();
        assert_eq!(lines, [Some(2), Some(4), Some(5)]);
        assert!(parsed.diagnostics[0].message.contains("not JSON"));
        assert!(parsed.diagnostics[2].message.contains("not a Falco alert"));
        assert_eq!(parsed.evidence[1].source.line, Some(6));
    }

    #[test]
    fn streamed_blocks_give_what_the_whole_file_gives() {
        // Good alerts, a wrapper, a broken line, a line that is not UTF-8, an
        // alert without a time (a warning), blank lines, CRLF endings.
        let mut input = Vec::new();
        input.extend_from_slice(b"\xEF\xBB\xBF");
        for index in 0..40 {
            match index % 8 {
                3 => input.extend_from_slice(b"{\"rule\": \"x\"\n"),
                4 => input.extend_from_slice(b"{\"rule\":\"\xe9\"}\n"),
                5 => input.extend_from_slice(b"{\"rule\":\"None\",\"priority\":\"Warning\",\"output\":\"x\"}\r\n"),
                6 => input.extend_from_slice(b"\n"),
                7 => input.extend_from_slice(format!("{{\"falco\":{KUBERNETES_ALERT}}}\n").as_bytes()),
                _ => input.extend_from_slice(format!("{KUBERNETES_ALERT}\n").as_bytes()),
            }
        }
        assert!(is_json_lines(&input));
        let limits = Limits::default();
        let whole = parse(&input, &context(), &limits);
        let mut scratch = Vec::new();
        let expected: Vec<model::CanonicalRecord> = whole
            .evidence
            .iter()
            .map(|evidence| model::CanonicalRecord::from_evidence(evidence, &mut scratch))
            .collect();
        // Small blocks, so that the file spans many of them.
        let mut records = Vec::new();
        let mut diagnostics = Vec::new();
        crate::ndjson::read_blocks(input.as_slice(), &limits, 700, |block| {
            let (mut found, mut problems) = parse_block(&block, &context(), &limits);
            records.append(&mut found);
            diagnostics.append(&mut problems);
            true
        });
        assert_eq!(records.len(), 25);
        assert_eq!(records, expected);
        assert_eq!(diagnostics, whole.diagnostics);
        assert_eq!(diagnostics.iter().filter(|diagnostic| diagnostic.warning).count(), 5);
    }

    #[test]
    fn only_json_lines_are_streamed() {
        assert!(is_json_lines(
            format!("{KUBERNETES_ALERT}\n{KUBERNETES_ALERT}\n").as_bytes()
        ));
        assert!(!is_json_lines(format!("[\n{KUBERNETES_ALERT}\n]\n").as_bytes()));
        assert!(!is_json_lines(b"{\n  \"rule\": \"x\"\n}\n"));
        assert!(!is_json_lines(b""));
        // A first line the head does not hold whole cannot be judged.
        assert!(!is_json_lines(&KUBERNETES_ALERT.as_bytes()[..40]));
    }

    #[test]
    fn falcosidekick_wrappers_are_unwrapped() {
        let cloud_event = format!(
            "{{\"specversion\":\"1.0\",\"type\":\"falco.rule.output.v1\",\"source\":\"https://falco.org\",\"id\":\"1\",\"data\":{KUBERNETES_ALERT}}}"
        );
        let parsed = parse(cloud_event.as_bytes(), &context(), &Limits::default());
        assert_eq!(parsed.evidence.len(), 1, "{:?}", parsed.diagnostics);
        assert_eq!(parsed.evidence[0].attrs["wrapper"], "cloudevent");
        let pretty = format!("[\n{KUBERNETES_ALERT},\n{KUBERNETES_ALERT}\n]\n");
        let parsed = parse(pretty.as_bytes(), &context(), &Limits::default());
        assert_eq!(parsed.evidence.len(), 2);
        assert_eq!(parsed.evidence[1].source.pointer.as_deref(), Some("/1"));
    }

    #[test]
    fn priorities_are_normalised() {
        let cases = [
            ("Emergency", Severity::Critical),
            ("ALERT", Severity::Critical),
            ("Critical", Severity::Critical),
            ("Error", Severity::High),
            ("Warning", Severity::Medium),
            ("Notice", Severity::Info),
            ("Informational", Severity::Info),
            ("Debug", Severity::Info),
            ("whatever", Severity::Unknown),
        ];
        for (priority, expected) in cases {
            assert_eq!(severity(priority), expected, "{priority}");
        }
    }

    #[test]
    fn hostile_lines_give_diagnostics() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let bad_time = KUBERNETES_ALERT.replace("2025-03-02T12:00:00.123456789Z", "yesterday");
        let input = format!("{deep}\n{bad_time}\n\u{0}\n");
        let parsed = parse(input.as_bytes(), &context(), &Limits::default());
        assert!(parsed.evidence.is_empty());
        assert_eq!(parsed.diagnostics.len(), 3);
        assert!(parsed.diagnostics[0].message.contains("nested deeper"));
        assert!(parsed.diagnostics[1].message.contains("`time`"));
        let not_text = parse(b"\xff\xfe", &context(), &Limits::default());
        assert_eq!(not_text.diagnostics.len(), 1);
    }

    #[test]
    fn a_line_that_is_not_utf8_loses_only_itself() {
        let mut input = format!("{KUBERNETES_ALERT}\n").into_bytes();
        input.extend_from_slice(b"{\"rule\":\"Jos\xe9\",\"priority\":\"Warning\",\"output\":\"x\"}\n");
        input.extend_from_slice(format!("{KUBERNETES_ALERT}\n").as_bytes());
        let parsed = parse(&input, &context(), &Limits::default());
        let lines: Vec<Option<u64>> = parsed.evidence.iter().map(|record| record.source.line).collect();
        assert_eq!(lines, [Some(1), Some(3)]);
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(parsed.diagnostics[0].line, Some(2));
        assert!(parsed.diagnostics[0].message.contains("not UTF-8"));
    }

    #[test]
    fn alerts_without_output_fields_are_read() {
        // Falco with `json_include_output_fields_property: false`.
        let input = r#"{"hostname":"n1","output":"12:00:00: Warning shell","priority":"Warning","rule":"Terminal shell","source":"syscall","tags":[],"time":"2024-08-03T00:00:00Z"}"#;
        let parsed = parse(input.as_bytes(), &context(), &Limits::default());
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let record = &parsed.evidence[0];
        assert_eq!(record.attrs["rule"], "Terminal shell");
        assert_eq!(record.attrs["output_fields"], json!({}));
        assert_eq!(record.occurred_at_source, model::OccurredAtSource::Source);
        assert_eq!(
            crate::registry::detect("alerts.json", input.as_bytes()),
            Some(crate::Collector::Falco)
        );
    }

    #[test]
    fn times_come_from_output_fields_or_a_warning_says_there_is_none() {
        let input = concat!(
            r#"{"rule":"Iso","priority":"Warning","output":"x","output_fields":{"evt.time.iso8601":"2024-07-16T08:15:42.123456789+00:00"}}"#,
            "\n",
            r#"{"rule":"Raw","priority":"Warning","output":"x","output_fields":{"evt.rawtime":"1721117742123456789"}}"#,
            "\n",
            r#"{"rule":"Number","priority":"Warning","output":"x","output_fields":{"evt.time":1721117742123456789}}"#,
            "\n",
            r#"{"rule":"IsoNumber","priority":"Warning","output":"x","output_fields":{"evt.time.iso8601":1721117742123456789}}"#,
            "\n",
            r#"{"rule":"None","priority":"Warning","output":"x","output_fields":{"evt.time":"08:15:42.123456789"}}"#,
            "\n",
            r#"{"rule":"Bad","priority":"Warning","output":"x","output_fields":{"evt.time.iso8601":"soon"}}"#,
            "\n",
        );
        let parsed = parse(input.as_bytes(), &context(), &Limits::default());
        let times: Vec<Option<String>> = parsed
            .evidence
            .iter()
            .map(|record| record.occurred_at.map(model::time::format_time))
            .collect();
        let at = Some("2024-07-16T08:15:42.123456789Z".to_string());
        assert_eq!(times, [at.clone(), at.clone(), at.clone(), at, None]);
        assert_eq!(parsed.evidence[4].occurred_at_source, model::OccurredAtSource::Ingested);
        let found: Vec<(Option<u64>, bool)> = parsed
            .diagnostics
            .iter()
            .map(|diagnostic| (diagnostic.line, diagnostic.warning))
            .collect();
        assert_eq!(found, [(Some(5), true), (Some(6), false)]);
        assert!(parsed.diagnostics[0].message.contains("states no time"));
    }

    #[test]
    fn an_alert_with_a_long_output_before_its_rule_is_detected_by_its_first_line() {
        // Falco's own key order: hostname, output (here 5 KB), priority, rule.
        let alert = |output: &str| {
            format!(
                r#"{{"hostname":"node-1","output":"{output}","priority":"Warning","rule":"Long command","time":"2025-03-02T12:00:00Z","output_fields":{{"proc.cmdline":"x"}}}}"#
            )
        };
        let head = format!("{}\n{}\n", alert(&"a".repeat(5000)), alert("short"));
        assert_eq!(
            crate::registry::detect("events.json", head.as_bytes()),
            Some(crate::Collector::Falco)
        );
        // Cut inside its first line, the head is not judged (and not guessed).
        assert_eq!(crate::registry::detect("events.json", &head.as_bytes()[..4500]), None);
        // A long first line that is not an alert is not taken for one.
        let other = format!("{{\"note\":\"{}\",\"rule\":1}}\n", "a".repeat(5000));
        assert_eq!(crate::registry::detect("events.json", other.as_bytes()), None);
    }
}
