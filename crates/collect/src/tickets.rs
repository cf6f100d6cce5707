//! Ticket and incident collectors: Jira issues and GitHub issues into
//! `remediation` records, PagerDuty incidents into `incident` records, with
//! every timestamp the input gives kept.
//!
//! Jira (`--source jira`): REST v2 and v3 issues (one issue, a search result's
//! `issues`, or a list), with `changelog.histories` status transitions when the
//! export expanded them and v3 descriptions (Atlassian Document Format)
//! flattened to text; a VCR cassette (YAML, as recorded by Python's vcrpy)
//! holding Jira JSON bodies as strings under `interactions[].response.body.string`
//! is opened too. PagerDuty (`--source pagerduty`): REST v2 `incident` /
//! `incidents`, bare incident objects, and v3 webhooks (`event.data`); the
//! acknowledgement time comes from `acknowledgements`, else from
//! `last_status_change_at` when the status is `acknowledged`, else from
//! acknowledge log entries when the document holds them. GitHub issues
//! (`--source github-issues`): REST issues (one, a list, an Octokit response)
//! and `issues` webhooks; pull requests listed by the issues API are noted
//! and skipped.
//!
//! A ticket is linked to runtime alerts when it names them (see
//! [`AlertLinks::scan`]): alert ids or uuids (`alerts`), a Falco rule
//! (`alert_rule`), a container image (`image`) or container (`container`).
//! One bad element gives one diagnostic at its JSON pointer; the rest land.
//! Attribute keys are listed in `docs/sources.md`.

use jiff::Timestamp;
use model::{EvidenceKind, Subject};
use serde_json::Value;

use crate::events::{Attrs, Collected, Fields, Owned, parse_events, refuse_unknown, walk_events};
use crate::trivy::{Problems, bounded, read_service_time};
use crate::{Context, Limits, Parsed};

/// The collector id of Jira records.
pub const JIRA: &str = "jira";
/// The collector id of PagerDuty records.
pub const PAGERDUTY: &str = "pagerduty";
/// The collector id of GitHub issue records.
pub const GITHUB_ISSUES: &str = "github-issues";

/// Most status transitions kept per ticket (the first ones; the count is kept).
const MAX_TRANSITIONS: usize = 200;

/// Longest description text scanned for alert links and kept (characters).
const MAX_DESCRIPTION_CHARS: usize = 65_536;

/// Most alert ids kept per ticket.
const MAX_ALERTS: usize = 100;

// ---------------------------------------------------------------------------
// Jira
// ---------------------------------------------------------------------------

/// Parse Jira issues (JSON, or a VCR cassette in YAML) into `remediation` records.
pub fn parse_jira(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(64)]);
    let trimmed = head.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return parse_events(bytes, context, limits, JIRA, |collected, document| {
            jira_document(collected, document, "");
        });
    }
    parse_cassette(bytes, context, limits)
}

/// A VCR cassette: each recorded response body that is a Jira issue or search.
fn parse_cassette(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let mut parsed = Parsed::default();
    let Some(text) = crate::utf8_text(bytes, context, &mut parsed.diagnostics) else {
        return parsed;
    };
    let budget = limits.yaml_budget();
    let document: Value = match serde_saphyr::from_str_with_options::<Value>(text, budget.options()) {
        Ok(document) => document,
        Err(error) => {
            let problem = budget.describe(&error);
            let column = problem
                .column
                .map(|column| format!(" (column {column})"))
                .unwrap_or_default();
            parsed.diagnostics.push(context.diagnostic(
                problem.line,
                None,
                format!(
                    "not a Jira JSON document or a YAML cassette{column}: {}; nothing recorded",
                    problem.message
                ),
            ));
            return parsed;
        }
    };
    let max_depth = limits.max_depth;
    walk_events(&document, context, JIRA, |collected, document| {
        let Some(interactions) = document.get("interactions").and_then(Value::as_array) else {
            refuse_unknown(
                &mut collected.problems,
                "",
                document,
                "Jira issue, search result or VCR cassette",
            );
            return;
        };
        for (index, interaction) in interactions.iter().enumerate() {
            let pointer = format!("/interactions/{index}/response/body/string");
            let Some(body) = interaction.pointer("/response/body/string").and_then(Value::as_str) else {
                collected.skip("recorded exchange without a text response body");
                continue;
            };
            if crate::json_depth_exceeds(body.as_bytes(), max_depth).is_some() {
                collected.problems.refuse(
                    Some(pointer),
                    format!("response body nested deeper than {max_depth} levels; skipped"),
                );
                continue;
            }
            match serde_json::from_str::<Value>(body) {
                Ok(value) => jira_document(collected, &value, &pointer),
                Err(_) => collected.skip("recorded response body that is not JSON"),
            }
        }
    })
}

/// One Jira JSON document: an issue, a search result, a list, or a body that is
/// not an issue (server info, metadata, a create response: noted, not refused).
fn jira_document(collected: &mut Collected<'_>, document: &Value, pointer: &str) {
    match document {
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                jira_object(collected, item, &format!("{pointer}/{index}"), true);
            }
        }
        other => jira_object(collected, other, pointer, false),
    }
}

fn jira_object(collected: &mut Collected<'_>, value: &Value, pointer: &str, in_list: bool) {
    let Some(owned) = Owned::new(value, pointer.to_string()) else {
        refuse_unknown(&mut collected.problems, pointer, value, "Jira issue");
        return;
    };
    let fields = owned.fields();
    if fields.has("fields") && fields.has("key") {
        jira_issue(collected, fields);
    } else if let Some(issues) = fields.get("issues") {
        match issues.as_array() {
            Some(items) => {
                // A cassette records every call an integration made, often
                // each page of a search: its pages are not checked one by one.
                if !pointer.starts_with("/interactions/") {
                    partial_page(&mut collected.problems, &fields, items.len());
                }
                for (index, item) in items.iter().enumerate() {
                    let item_pointer = format!("{}/{index}", fields.pointer_of("issues"));
                    match Owned::new(item, item_pointer.clone()) {
                        Some(issue) if issue.fields().has("fields") && issue.fields().has("key") => {
                            jira_issue(collected, issue.fields());
                        }
                        _ => refuse_unknown(&mut collected.problems, &item_pointer, item, "Jira issue"),
                    }
                }
            }
            None => refuse_unknown(
                &mut collected.problems,
                &fields.pointer_of("issues"),
                issues,
                "list of Jira issues",
            ),
        }
    } else if fields.has("key") && fields.has("self") && fields.has("id") {
        collected.skip("Jira create response (key only, no fields)");
    } else if fields.has("baseUrl") || fields.has("projects") || fields.has("serverTitle") {
        collected.skip("Jira response that is not an issue (server info or metadata)");
    } else if in_list || pointer.is_empty() {
        refuse_unknown(&mut collected.problems, pointer, value, "Jira issue or search result");
    } else {
        collected.skip("recorded Jira response that is not an issue");
    }
}

/// A warning when a search result's pagination fields say it is one page
/// of more: `total` above the issues held, `isLast: false` or a
/// `nextPageToken` (the enhanced search, which gives no total).
fn partial_page(problems: &mut Problems, fields: &Fields<'_>, held: usize) {
    let total = fields.get("total").and_then(Value::as_u64);
    let more = total.is_some_and(|total| total > held as u64)
        || fields.get("isLast").and_then(Value::as_bool) == Some(false)
        || fields.get("nextPageToken").is_some_and(|token| !token.is_null());
    if !more {
        return;
    }
    let of = total.map_or_else(
        || "more (isLast: false or a nextPageToken)".to_string(),
        |total| total.to_string(),
    );
    let start = fields.get("startAt").and_then(Value::as_u64).unwrap_or(0);
    problems.warn(
        Some(fields.pointer_of("issues")),
        format!(
            "the export holds {held} of {of} issues (one page of the search, from startAt {start}): the remediation \
             history is incomplete; export every page"
        ),
    );
}

fn jira_issue(collected: &mut Collected<'_>, issue: Fields<'_>) {
    let problems = &mut collected.problems;
    let key = issue.text("key", problems);
    let Some(body) = issue.object("fields", problems) else {
        refuse_unknown(problems, issue.pointer, &Value::Null, "Jira issue");
        return;
    };
    let body = body.fields();
    let created = jira_time(body, "created", problems);
    let mut resolved = jira_time(body, "resolutiondate", problems);
    let status = nested_name(body, "status", problems);
    let resolution = nested_name(body, "resolution", problems);
    let transitions = issue
        .object("changelog", problems)
        .map(|changelog| jira_transitions(changelog.fields(), problems))
        .unwrap_or_default();
    // No resolution date but a resolution: the last move into the current status.
    if resolved.is_none() && resolution.is_some() {
        resolved = transitions
            .iter()
            .rev()
            .find(|transition| transition.to.as_deref() == status.as_deref())
            .and_then(|transition| transition.at);
    }
    let labels = body.texts("labels", problems).unwrap_or_default();
    let description = match body.get("description") {
        Some(Value::String(text)) => Some(crate::cut_text(text.trim(), MAX_DESCRIPTION_CHARS)),
        Some(document @ Value::Object(_)) => {
            let mut text = String::new();
            flatten_adf(document, &mut text, 0);
            Some(crate::cut_text(text.trim(), MAX_DESCRIPTION_CHARS))
        }
        _ => None,
    }
    .filter(|text| !text.is_empty());
    let summary = body.text("summary", problems);
    let components: Vec<String> = body
        .array("components", problems)
        .unwrap_or_default()
        .iter()
        .filter_map(|component| component.get("name").and_then(Value::as_str))
        .map(bounded)
        .collect();
    let mut links = AlertLinks::default();
    let texts: Vec<&str> = summary.iter().chain(description.iter()).map(String::as_str).collect();
    links.scan(&labels, &texts);
    // Custom fields holding an alert id alone (e.g. a Falcosidekick uuid).
    for (name, value) in body.object {
        if name.starts_with("customfield_")
            && let Some(text) = value.as_str()
            && is_uuid(text.trim())
        {
            links.add_alert(text.trim());
        }
    }
    let mut attrs = Attrs::new("jira", "issue", None);
    attrs.put("key", key.clone());
    attrs.put("id", issue.text("id", problems));
    attrs.put("title", summary);
    attrs.put("type", nested_name(body, "issuetype", problems));
    attrs.put("status", status);
    attrs.put(
        "status_category",
        body.object("status", problems)
            .and_then(|status| status.fields().nested_text("statusCategory", "key", problems)),
    );
    attrs.put("resolution", resolution);
    attrs.put("priority", nested_name(body, "priority", problems));
    attrs.put("labels", Some(labels));
    attrs.put("project", body.nested_text("project", "key", problems));
    if !components.is_empty() {
        attrs.put("components", Some(components.clone()));
    }
    attrs.put("assignee", person_name(body, "assignee", problems));
    attrs.put("reporter", person_name(body, "reporter", problems));
    attrs.time("opened_at", created);
    attrs.time("updated_at", jira_time(body, "updated", problems));
    attrs.time("resolved_at", resolved);
    attrs.time("due_at", jira_time(body, "duedate", problems));
    attrs.put("links", Some(jira_links(body, problems)));
    attrs.put("transitions", Some(transitions_json(&transitions)));
    attrs.put("description", description);
    links.put_into(&mut attrs);
    let subject = Subject {
        service: components.first().cloned(),
        image: links.image.clone(),
        ..Subject::default()
    };
    collected.record(EvidenceKind::Remediation, created, subject, issue.pointer, attrs);
}

/// A status change from a Jira changelog.
struct Transition {
    at: Option<Timestamp>,
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
}

fn jira_transitions(changelog: Fields<'_>, problems: &mut Problems) -> Vec<Transition> {
    let mut transitions = Vec::new();
    for (index, history) in changelog
        .array("histories", problems)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let Some(history) = Owned::new(history, format!("{}/{index}", changelog.pointer_of("histories"))) else {
            continue;
        };
        let history = history.fields();
        let at = jira_time(history, "created", problems);
        let by = person_name(history, "author", problems);
        for item in history.array("items", problems).unwrap_or_default() {
            let is_status = item
                .get("field")
                .and_then(Value::as_str)
                .is_some_and(|field| field.eq_ignore_ascii_case("status"));
            if is_status && transitions.len() < MAX_TRANSITIONS {
                let text = |key: &str| item.get(key).and_then(Value::as_str).map(bounded);
                transitions.push(Transition {
                    at,
                    from: text("fromString"),
                    to: text("toString"),
                    by: by.clone(),
                });
            }
        }
    }
    transitions.sort_by_key(|transition| transition.at);
    transitions
}

fn transitions_json(transitions: &[Transition]) -> Vec<Value> {
    transitions
        .iter()
        .map(|transition| {
            let mut map = serde_json::Map::new();
            crate::events::put(&mut map, "at", transition.at.map(model::time::format_time));
            crate::events::put(&mut map, "from", transition.from.clone());
            crate::events::put(&mut map, "to", transition.to.clone());
            crate::events::put(&mut map, "by", transition.by.clone());
            Value::Object(map)
        })
        .collect()
}

/// Issue links as `{type, direction, key}`.
fn jira_links(body: Fields<'_>, problems: &mut Problems) -> Vec<Value> {
    let mut links = Vec::new();
    for link in body
        .array("issuelinks", problems)
        .unwrap_or_default()
        .iter()
        .take(MAX_ALERTS)
    {
        for (member, direction) in [("outwardIssue", "outward"), ("inwardIssue", "inward")] {
            if let Some(key) = link.pointer(&format!("/{member}/key")).and_then(Value::as_str) {
                let mut map = serde_json::Map::new();
                crate::events::put(
                    &mut map,
                    "type",
                    link.pointer("/type/name").and_then(Value::as_str).map(bounded),
                );
                map.insert("direction".into(), Value::from(direction));
                map.insert("key".into(), Value::from(bounded(key)));
                links.push(Value::Object(map));
            }
        }
    }
    links
}

/// `name` of an object member (`status.name`, `priority.name`).
fn nested_name(fields: Fields<'_>, key: &str, problems: &mut Problems) -> Option<String> {
    fields.nested_text(key, "name", problems)
}

/// A person object's e-mail address, else display name, else name.
fn person_name(fields: Fields<'_>, key: &str, problems: &mut Problems) -> Option<String> {
    let person = fields.object(key, problems)?;
    let person = person.fields();
    ["emailAddress", "displayName", "name", "login", "summary"]
        .iter()
        .find_map(|member| person.text(member, problems))
}

/// A Jira time (`2020-12-03T14:05:20.974+0100`, offsets without a colon).
fn jira_time(fields: Fields<'_>, key: &str, problems: &mut Problems) -> Option<Timestamp> {
    let text = fields.text(key, problems)?;
    let normalised = colon_offset(&text);
    read_service_time(Some(&normalised), &fields.pointer_of(key), problems)
}

/// `…+0100` as `…+01:00`; other texts unchanged.
fn colon_offset(text: &str) -> String {
    let bytes = text.as_bytes();
    if bytes.len() > 15 && bytes.contains(&b'T') {
        let sign = bytes.len() - 5;
        if matches!(bytes[sign], b'+' | b'-') && bytes[sign + 1..].iter().all(u8::is_ascii_digit) {
            return format!("{}:{}", &text[..sign + 3], &text[sign + 3..]);
        }
    }
    text.to_string()
}

/// The text of an Atlassian Document Format node: text nodes joined, block
/// nodes on their own lines, mentions and emoji by their text.
fn flatten_adf(node: &Value, out: &mut String, depth: usize) {
    if depth > 64 || out.len() > MAX_DESCRIPTION_CHARS {
        return;
    }
    if let Some(text) = node.get("text").and_then(Value::as_str) {
        out.push_str(text);
    } else if let Some(text) = node.pointer("/attrs/text").and_then(Value::as_str) {
        out.push_str(text);
    }
    let kind = node.get("type").and_then(Value::as_str).unwrap_or_default();
    if kind == "hardBreak" {
        out.push('\n');
    }
    if let Some(content) = node.get("content").and_then(Value::as_array) {
        for child in content {
            flatten_adf(child, out, depth + 1);
        }
    }
    if matches!(
        kind,
        "paragraph" | "heading" | "codeBlock" | "listItem" | "blockquote" | "rule" | "tableRow" | "panel"
    ) {
        out.push('\n');
    }
}

// ---------------------------------------------------------------------------
// Alert links
// ---------------------------------------------------------------------------

/// What a ticket names of the runtime alerts it remediates.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AlertLinks {
    /// Alert ids or uuids.
    pub alerts: Vec<String>,
    /// A Falco rule.
    pub alert_rule: Option<String>,
    /// A container image.
    pub image: Option<String>,
    /// A container id or name.
    pub container: Option<String>,
}

impl AlertLinks {
    /// Read links from a ticket's labels and texts (title, description, body):
    ///
    /// - a label `alert:ID`, `alert-id:ID`, `alert_id=ID`, `falco:UUID`,
    ///   `falco-uuid:UUID` or `uuid:UUID` (`:`, `=`, `-` or `_` after the
    ///   prefix), or a label that is a UUID alone, names an alert;
    /// - in a text, a UUID on a line that says `alert`, `falco` or `uuid`
    ///   before it names an alert;
    /// - a line `rule: NAME` (or `Falco rule: NAME`, `alert rule = NAME`)
    ///   names the Falco rule;
    /// - `image=`, `image:`, `container.image=` name the image, and
    ///   `container=`, `container_id=`, `container.id=`, `container_name=`,
    ///   `container.name=` the container (Falco's output text writes them so).
    pub fn scan(&mut self, labels: &[String], texts: &[&str]) {
        for label in labels {
            let trimmed = label.trim();
            if is_uuid(trimmed) {
                self.add_alert(trimmed);
                continue;
            }
            let lower = trimmed.to_ascii_lowercase();
            for prefix in ["falco-uuid", "alert-id", "alert_id", "alert", "falco", "uuid"] {
                if let Some(rest) = lower.strip_prefix(prefix)
                    && let Some(separator) = rest.chars().next()
                    && matches!(separator, ':' | '=' | '-' | '_')
                {
                    let id = trimmed[prefix.len() + 1..].trim();
                    if !id.is_empty() && (prefix.starts_with("alert") || is_uuid(id)) {
                        self.add_alert(id);
                    }
                    break;
                }
            }
        }
        for text in texts {
            for line in text.lines() {
                self.scan_line(line);
            }
        }
    }

    fn scan_line(&mut self, line: &str) {
        let lower = line.to_ascii_lowercase();
        // UUIDs after a word that says they are alerts.
        let mut start = 0;
        while let Some((at, uuid)) = next_uuid(line, start) {
            let before = &lower[..at];
            if before.contains("alert") || before.contains("falco") || before.contains("uuid") {
                self.add_alert(uuid);
            }
            start = at + uuid.len();
        }
        // `rule: NAME` lines.
        let bare = lower.trim_start_matches(|character: char| character.is_whitespace() || "-*#>".contains(character));
        for prefix in ["falco rule", "alert rule", "rule"] {
            if let Some(rest) = bare.strip_prefix(prefix) {
                let rest_trimmed = rest.trim_start();
                if let Some(value) = rest_trimmed.strip_prefix([':', '=']) {
                    let offset = line.len() - value.len();
                    let name = line[offset..].trim().trim_matches(['"', '\'', '`']);
                    if !name.is_empty() && self.alert_rule.is_none() {
                        self.alert_rule = Some(bounded(name));
                    }
                }
                break;
            }
        }
        // key=value tokens.
        for token in line.split(|character: char| character.is_whitespace() || "(),;[]{}\"'".contains(character)) {
            let Some((key, value)) = token.split_once(['=', ':']) else {
                continue;
            };
            let value = value.trim_matches(['.', '`']);
            if value.is_empty() {
                continue;
            }
            match key.to_ascii_lowercase().as_str() {
                "image" | "container.image" if self.image.is_none() => self.image = Some(bounded(value)),
                "container" | "container_id" | "container.id" | "container_name" | "container.name"
                    if self.container.is_none() =>
                {
                    self.container = Some(bounded(value));
                }
                _ => {}
            }
        }
    }

    /// Add one alert id (kept once, at most [`MAX_ALERTS`]).
    pub fn add_alert(&mut self, id: &str) {
        let id = bounded(id);
        if self.alerts.len() < MAX_ALERTS && !self.alerts.contains(&id) {
            self.alerts.push(id);
        }
    }

    fn put_into(&self, attrs: &mut Attrs) {
        if !self.alerts.is_empty() {
            attrs.put("alerts", Some(self.alerts.clone()));
        }
        attrs.put("alert_rule", self.alert_rule.clone());
        attrs.put("image", self.image.clone());
        attrs.put("container", self.container.clone());
    }
}

/// Whether `text` is a UUID (8-4-4-4-12 hex digits).
pub fn is_uuid(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() == 36
        && bytes.iter().enumerate().all(|(index, byte)| match index {
            8 | 13 | 18 | 23 => *byte == b'-',
            _ => byte.is_ascii_hexdigit(),
        })
}

/// The next UUID in `line` at or after byte `start`, not inside a longer hex run.
fn next_uuid(line: &str, start: usize) -> Option<(usize, &str)> {
    let bytes = line.as_bytes();
    let mut at = start;
    while at + 36 <= bytes.len() {
        let boundary_before = at == 0 || !(bytes[at - 1].is_ascii_hexdigit() || bytes[at - 1] == b'-');
        let boundary_after = at + 36 == bytes.len() || !(bytes[at + 36].is_ascii_hexdigit() || bytes[at + 36] == b'-');
        if boundary_before
            && boundary_after
            && line.is_char_boundary(at)
            && line.is_char_boundary(at + 36)
            && is_uuid(&line[at..at + 36])
        {
            return Some((at, &line[at..at + 36]));
        }
        at += 1;
    }
    None
}

// ---------------------------------------------------------------------------
// GitHub issues
// ---------------------------------------------------------------------------

/// Parse GitHub issues (REST objects, lists, Octokit responses, `issues`
/// webhooks) into `remediation` records.
pub fn parse_github_issues(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    parse_events(bytes, context, limits, GITHUB_ISSUES, |collected, document| {
        github_document(collected, document, "");
    })
}

fn github_document(collected: &mut Collected<'_>, document: &Value, pointer: &str) {
    match document {
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                github_object(collected, item, &format!("{pointer}/{index}"));
            }
        }
        other => github_object(collected, other, pointer),
    }
}

fn github_object(collected: &mut Collected<'_>, value: &Value, pointer: &str) {
    let Some(owned) = Owned::new(value, pointer.to_string()) else {
        refuse_unknown(&mut collected.problems, pointer, value, "GitHub issue");
        return;
    };
    let fields = owned.fields();
    if fields.has("data") && fields.has("status") && fields.has("headers") {
        if let Some(data) = fields.get("data") {
            github_document(collected, data, &fields.pointer_of("data"));
        }
        return;
    }
    if let Some(issue) = fields.get("issue").filter(|_| fields.has("action")) {
        github_object(collected, issue, &fields.pointer_of("issue"));
        return;
    }
    if fields.has("pull_request") {
        collected.skip("pull request listed by the issues API");
        return;
    }
    if !(fields.has("number") && fields.has("state") && fields.has("created_at")) {
        refuse_unknown(&mut collected.problems, pointer, value, "GitHub issue");
        return;
    }
    let problems = &mut collected.problems;
    let created = fields.time("created_at", problems);
    let closed = fields.time("closed_at", problems);
    let number = fields.number("number", problems);
    let repo = fields
        .text("repository_url", problems)
        .and_then(|url| url.split("/repos/").nth(1).map(str::to_string))
        .filter(|repo| repo.contains('/'));
    let labels: Vec<String> = fields
        .array("labels", problems)
        .unwrap_or_default()
        .iter()
        .filter_map(|label| label.as_str().or_else(|| label.get("name").and_then(Value::as_str)))
        .map(bounded)
        .collect();
    let assignees: Vec<String> = fields
        .array("assignees", problems)
        .unwrap_or_default()
        .iter()
        .filter_map(|assignee| assignee.get("login").and_then(Value::as_str))
        .map(bounded)
        .collect();
    let title = fields.text("title", problems);
    let body = match fields.get("body") {
        Some(Value::String(text)) => Some(crate::cut_text(text.trim(), MAX_DESCRIPTION_CHARS)),
        _ => None,
    }
    .filter(|text| !text.is_empty());
    let mut links = AlertLinks::default();
    let texts: Vec<&str> = title.iter().chain(body.iter()).map(String::as_str).collect();
    links.scan(&labels, &texts);
    let state = fields.text("state", problems);
    let state_reason = fields.text("state_reason", problems);
    let mut attrs = Attrs::new("github", "issue", None);
    attrs.put(
        "key",
        match (&repo, number) {
            (Some(repo), Some(number)) => Some(format!("{repo}#{number}")),
            (None, Some(number)) => Some(format!("#{number}")),
            _ => None,
        },
    );
    attrs.put("number", number);
    attrs.put("title", title);
    attrs.put("status", state.clone());
    attrs.put("state_reason", state_reason.clone());
    attrs.put("labels", Some(labels));
    attrs.put("assignees", Some(assignees));
    attrs.put("author", fields.nested_text("user", "login", problems));
    attrs.put("url", fields.text("html_url", problems));
    attrs.time("opened_at", created);
    attrs.time("updated_at", fields.time("updated_at", problems));
    // A closed issue is resolved when it was closed, unless GitHub says it was not planned.
    let not_planned = state_reason.as_deref() == Some("not_planned");
    attrs.time("closed_at", closed);
    attrs.time("resolved_at", closed.filter(|_| !not_planned));
    attrs.put("description", body);
    links.put_into(&mut attrs);
    let subject = Subject {
        repo,
        image: links.image.clone(),
        ..Subject::default()
    };
    collected.record(EvidenceKind::Remediation, created, subject, pointer, attrs);
}

// ---------------------------------------------------------------------------
// PagerDuty
// ---------------------------------------------------------------------------

/// Parse PagerDuty incidents into `incident` records.
pub fn parse_pagerduty(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    parse_events(bytes, context, limits, PAGERDUTY, |collected, document| {
        let log_entries = document
            .get("log_entries")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        pagerduty_document(collected, document, "", log_entries);
    })
}

fn pagerduty_document(collected: &mut Collected<'_>, document: &Value, pointer: &str, log_entries: &[Value]) {
    let Some(owned) = Owned::new(document, pointer.to_string()) else {
        if let Value::Array(items) = document {
            for (index, item) in items.iter().enumerate() {
                pagerduty_document(collected, item, &format!("{pointer}/{index}"), log_entries);
            }
        } else {
            refuse_unknown(&mut collected.problems, pointer, document, "PagerDuty incident");
        }
        return;
    };
    let fields = owned.fields();
    if let Some(incident) = fields.get("incident") {
        pagerduty_document(collected, incident, &fields.pointer_of("incident"), log_entries);
    } else if let Some(incidents) = fields.get("incidents") {
        pagerduty_document(collected, incidents, &fields.pointer_of("incidents"), log_entries);
    } else if let Some(event) = fields.get("event").filter(|event| event.get("data").is_some()) {
        let pointer = format!("{}/data", fields.pointer_of("event"));
        if let Some(data) = event.get("data") {
            pagerduty_document(collected, data, &pointer, log_entries);
        }
    } else if fields.has("messages") {
        // Webhook v2: {"messages": [{"event": "incident.trigger", "incident": {...}}]}
        if let Some(messages) = fields.get("messages") {
            pagerduty_document(collected, messages, &fields.pointer_of("messages"), log_entries);
        }
    } else if fields.has("log_entries") && !fields.has("created_at") {
        collected.skip("PagerDuty log entries without an incident in the same document");
    } else if fields.has("created_at")
        && (fields.has("urgency") || fields.get("type").and_then(Value::as_str) == Some("incident"))
    {
        incident(collected, fields, log_entries);
    } else {
        refuse_unknown(&mut collected.problems, pointer, document, "PagerDuty incident");
    }
}

fn incident(collected: &mut Collected<'_>, fields: Fields<'_>, outer_log_entries: &[Value]) {
    let problems = &mut collected.problems;
    let id = fields.text("id", problems);
    let created = fields.time("created_at", problems);
    let status = fields
        .text("status", problems)
        .map(|status| status.to_ascii_lowercase());
    let last_change = fields.time("last_status_change_at", problems);
    // Log entries: the incident's own, or the document's that name this incident.
    let own_entries = fields.array("log_entries", problems).unwrap_or_default();
    let entries_for_incident = outer_log_entries
        .iter()
        .filter(|entry| entry.pointer("/incident/id").and_then(Value::as_str) == id.as_deref() && id.is_some());
    let first_of = |kind: &str| -> Option<Timestamp> {
        own_entries
            .iter()
            .chain(entries_for_incident.clone())
            .filter(|entry| entry.get("type").and_then(Value::as_str) == Some(kind))
            .filter_map(|entry| entry.get("created_at").and_then(Value::as_str))
            .filter_map(|text| model::time::parse_time(text).ok())
            .min()
    };
    let from_log_acknowledged = first_of("acknowledge_log_entry");
    let from_log_resolved = first_of("resolve_log_entry");
    let acknowledgements: Vec<Timestamp> = fields
        .array("acknowledgements", problems)
        .unwrap_or_default()
        .iter()
        .filter_map(|entry| entry.get("at").and_then(Value::as_str))
        .filter_map(|text| model::time::parse_time(text).ok())
        .collect();
    let acknowledged = acknowledgements
        .iter()
        .min()
        .copied()
        .or_else(|| last_change.filter(|_| status.as_deref() == Some("acknowledged")))
        .or(from_log_acknowledged);
    let resolved = fields
        .time("resolved_at", problems)
        .or_else(|| last_change.filter(|_| status.as_deref() == Some("resolved")))
        .or(from_log_resolved);
    let service = fields.object("service", problems).and_then(|service| {
        let service = service.fields();
        service
            .text("summary", problems)
            .or_else(|| service.text("name", problems))
    });
    let title = fields
        .text("title", problems)
        .or_else(|| fields.text("summary", problems))
        .or_else(|| fields.text("description", problems));
    let mut attrs = Attrs::new("pagerduty", "incident", None);
    attrs.put("id", id);
    attrs.put("number", fields.number("incident_number", problems));
    attrs.put("title", title);
    attrs.put("status", status);
    attrs.put("urgency", fields.text("urgency", problems));
    attrs.put(
        "priority",
        fields.object("priority", problems).and_then(|priority| {
            let priority = priority.fields();
            priority
                .text("name", problems)
                .or_else(|| priority.text("summary", problems))
        }),
    );
    attrs.put("service", service.clone());
    attrs.put("service_id", fields.nested_text("service", "id", problems));
    attrs.put(
        "escalation_policy",
        fields.nested_text("escalation_policy", "summary", problems),
    );
    attrs.put("incident_key", fields.text("incident_key", problems));
    attrs.put("url", fields.text("html_url", problems));
    let assignees: Vec<String> = fields
        .array("assignments", problems)
        .unwrap_or_default()
        .iter()
        .filter_map(|assignment| assignment.pointer("/assignee/summary").and_then(Value::as_str))
        .map(bounded)
        .collect();
    attrs.put("assignees", Some(assignees));
    attrs.time("opened_at", created);
    attrs.time("acknowledged_at", acknowledged);
    attrs.time("resolved_at", resolved);
    attrs.time("last_status_change_at", last_change);
    attrs.time("updated_at", fields.time("updated_at", problems));
    let subject = Subject {
        service,
        ..Subject::default()
    };
    let pointer = fields.pointer.to_string();
    collected.record(EvidenceKind::Incident, created, subject, &pointer, attrs);
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn context() -> Context {
        Context {
            origin: "/tickets/export.json".into(),
            sha256: "ab".into(),
            ..Context::default()
        }
    }

    #[test]
    fn jira_offsets_without_colon_are_read() {
        assert_eq!(
            colon_offset("2020-12-03T14:05:20.974+0100"),
            "2020-12-03T14:05:20.974+01:00"
        );
        assert_eq!(colon_offset("2020-12-03T14:05:20Z"), "2020-12-03T14:05:20Z");
        assert_eq!(colon_offset("2020-12-03"), "2020-12-03");
    }

    #[test]
    fn a_jira_issue_with_changelog_links_to_its_alert() {
        let issue = r#"{"key":"SEC-7","id":"1","fields":{"summary":"Falco alert: shell in api","created":"2025-03-02T12:30:00.000+0000",
            "resolutiondate":null,"resolution":{"name":"Done"},"status":{"name":"Done","statusCategory":{"key":"done"}},
            "priority":{"name":"High"},"labels":["falco-uuid:9b2f1c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f","runtime"],
            "description":"Rule: Terminal shell in container\nOutput: shell spawned (container_id=0f8d7e2a3296 image=registry.example/api:1.2.3)",
            "issuelinks":[{"type":{"name":"Blocks"},"inwardIssue":{"key":"SEC-1"}}]},
            "changelog":{"histories":[
              {"created":"2025-03-03T09:00:00.000+0000","author":{"displayName":"Dev"},"items":[{"field":"status","fromString":"To Do","toString":"In Progress"}]},
              {"created":"2025-03-04T10:00:00.000+0000","items":[{"field":"status","fromString":"In Progress","toString":"Done"},{"field":"assignee"}]}]}}"#;
        let parsed = parse_jira(issue.as_bytes(), &context(), &Limits::default());
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let [record] = parsed.evidence.as_slice() else {
            panic!("{:?}", parsed.evidence)
        };
        assert_eq!(record.kind, EvidenceKind::Remediation);
        assert_eq!(record.attrs["key"], "SEC-7");
        assert_eq!(record.attrs["opened_at"], "2025-03-02T12:30:00.000000000Z");
        assert_eq!(record.attrs["resolved_at"], "2025-03-04T10:00:00.000000000Z");
        assert_eq!(
            record.attrs["alerts"],
            serde_json::json!(["9b2f1c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"])
        );
        assert_eq!(record.attrs["alert_rule"], "Terminal shell in container");
        assert_eq!(record.attrs["container"], "0f8d7e2a3296");
        assert_eq!(record.attrs["image"], "registry.example/api:1.2.3");
        assert_eq!(record.attrs["transitions"].as_array().unwrap().len(), 2);
        assert_eq!(record.attrs["transitions"][1]["to"], "Done");
        assert_eq!(record.attrs["links"][0]["key"], "SEC-1");
        assert_eq!(
            record.occurred_at.map(model::time::format_time).as_deref(),
            Some("2025-03-02T12:30:00.000000000Z")
        );
    }

    #[test]
    fn a_jira_zero_time_is_dropped_with_a_warning() {
        let issue = r#"{"key":"A-1","fields":{"created":"2025-01-01T00:00:00.000+0000","summary":"a",
            "resolutiondate":"0001-01-01T00:00:00.000+0000"}}"#;
        let parsed = parse_jira(issue.as_bytes(), &context(), &Limits::default());
        assert_eq!(parsed.evidence.len(), 1);
        assert!(
            parsed.evidence[0]
                .attrs
                .get("resolved_at")
                .is_none_or(serde_json::Value::is_null)
        );
        let [warning] = parsed.diagnostics.as_slice() else {
            panic!("{:?}", parsed.diagnostics)
        };
        assert!(warning.warning);
        assert_eq!(warning.pointer.as_deref(), Some("/fields/resolutiondate"));
        assert!(
            warning.message.contains("is the zero time (year 1); not used"),
            "{}",
            warning.message
        );
    }

    #[test]
    fn a_partial_search_page_gives_a_warning() {
        let issue = r#"{"key":"A-1","fields":{"created":"2025-01-01T00:00:00.000+0000","summary":"a"}}"#;
        for (page, says) in [
            (
                format!(
                    r#"{{"startAt":0,"maxResults":2,"total":5,"isLast":false,"nextPageToken":"abc","issues":[{issue}]}}"#
                ),
                "holds 1 of 5 issues",
            ),
            (
                format!(r#"{{"isLast":false,"nextPageToken":"abc","issues":[{issue}]}}"#),
                "holds 1 of more",
            ),
        ] {
            let parsed = parse_jira(page.as_bytes(), &context(), &Limits::default());
            assert_eq!(parsed.evidence.len(), 1);
            let [warning] = parsed.diagnostics.as_slice() else {
                panic!("{:?}", parsed.diagnostics)
            };
            assert!(warning.warning);
            assert!(warning.message.contains(says), "{}", warning.message);
        }
        let whole = format!(r#"{{"startAt":0,"maxResults":50,"total":1,"isLast":true,"issues":[{issue}]}}"#);
        assert!(
            parse_jira(whole.as_bytes(), &context(), &Limits::default())
                .diagnostics
                .is_empty()
        );
    }

    #[test]
    fn one_bad_issue_does_not_lose_the_others() {
        let search = r#"{"issues":[{"key":"A-1","fields":{"created":"2025-01-01T00:00:00.000+0000","summary":"a"}},
            7, {"key":"A-3","fields":{"created":"yesterday"}}]}"#;
        let parsed = parse_jira(search.as_bytes(), &context(), &Limits::default());
        assert_eq!(parsed.evidence.len(), 2);
        let pointers: Vec<Option<&str>> = parsed.diagnostics.iter().map(|d| d.pointer.as_deref()).collect();
        assert!(pointers.contains(&Some("/issues/1")), "{:?}", parsed.diagnostics);
        assert!(
            pointers.contains(&Some("/issues/2/fields/created")),
            "{:?}",
            parsed.diagnostics
        );
        let broken = parse_jira(b"{\"issues\": [", &context(), &Limits::default());
        assert_eq!(broken.diagnostics.len(), 1);
        assert!(broken.diagnostics[0].line.is_some());
        let not_yaml = parse_jira(b"interactions: [\n  - {", &context(), &Limits::default());
        assert_eq!(not_yaml.diagnostics.len(), 1);
        assert!(not_yaml.diagnostics[0].line.is_some(), "{:?}", not_yaml.diagnostics);
    }

    #[test]
    fn adf_descriptions_are_flattened() {
        let adf: Value = serde_json::from_str(
            r#"{"type":"doc","content":[{"type":"paragraph","content":[{"type":"text","text":"Falco alert "},{"type":"text","text":"6f1c2d3e-0000-4000-8000-000000000001"}]},{"type":"paragraph","content":[{"type":"text","text":"rule: Write below etc"}]}]}"#,
        )
        .unwrap();
        let mut text = String::new();
        flatten_adf(&adf, &mut text, 0);
        let mut links = AlertLinks::default();
        links.scan(&[], &[&text]);
        assert_eq!(links.alerts, ["6f1c2d3e-0000-4000-8000-000000000001"]);
        assert_eq!(links.alert_rule.as_deref(), Some("Write below etc"));
    }

    #[test]
    fn uuids_without_an_alert_word_are_not_links() {
        let mut links = AlertLinks::default();
        links.scan(
            &["alert:42".to_string(), "release-6f1c2d3e".to_string()],
            &["account 6f1c2d3e-0000-4000-8000-000000000001"],
        );
        assert_eq!(links.alerts, ["42"]);
    }

    #[test]
    fn pagerduty_times_come_from_acknowledgements_status_or_log_entries() {
        let acknowledged = r#"{"incident":{"id":"P1","type":"incident","created_at":"2025-03-02T10:00:00Z","status":"acknowledged",
            "last_status_change_at":"2025-03-02T10:05:00Z","urgency":"high","service":{"summary":"payments"},"acknowledgements":[]}}"#;
        let parsed = parse_pagerduty(acknowledged.as_bytes(), &context(), &Limits::default());
        let [record] = parsed.evidence.as_slice() else {
            panic!("{:?}", parsed)
        };
        assert_eq!(record.kind, EvidenceKind::Incident);
        assert_eq!(record.attrs["acknowledged_at"], "2025-03-02T10:05:00.000000000Z");
        assert!(record.attrs.get("resolved_at").is_none());
        assert_eq!(record.subject.service.as_deref(), Some("payments"));
        let with_log = r#"{"incidents":[{"id":"P2","created_at":"2025-03-02T10:00:00Z","status":"resolved","urgency":"low",
            "last_status_change_at":"2025-03-02T12:00:00Z"}],
            "log_entries":[{"type":"acknowledge_log_entry","created_at":"2025-03-02T10:10:00Z","incident":{"id":"P2"}},
                           {"type":"acknowledge_log_entry","created_at":"2025-03-02T10:20:00Z","incident":{"id":"P2"}},
                           {"type":"acknowledge_log_entry","created_at":"2025-03-02T10:01:00Z","incident":{"id":"other"}}]}"#;
        let parsed = parse_pagerduty(with_log.as_bytes(), &context(), &Limits::default());
        let [record] = parsed.evidence.as_slice() else {
            panic!("{:?}", parsed)
        };
        assert_eq!(record.attrs["acknowledged_at"], "2025-03-02T10:10:00.000000000Z");
        assert_eq!(record.attrs["resolved_at"], "2025-03-02T12:00:00.000000000Z");
    }

    #[test]
    fn github_issues_skip_pull_requests_and_keep_close_times() {
        let issues = r#"[{"number":5,"state":"closed","state_reason":"completed","title":"Falco alert 9b2f1c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f",
            "created_at":"2025-03-01T00:00:00Z","closed_at":"2025-03-03T00:00:00Z","labels":[{"name":"security"}],
            "assignees":[{"login":"octocat"}],"repository_url":"https://api.github.com/repos/acme/api"},
            {"number":6,"state":"open","created_at":"2025-03-01T00:00:00Z","pull_request":{}},
            {"number":7,"state":"closed","state_reason":"not_planned","created_at":"2025-03-01T00:00:00Z","closed_at":"2025-03-02T00:00:00Z"}]"#;
        let parsed = parse_github_issues(issues.as_bytes(), &context(), &Limits::default());
        let [record, not_planned] = parsed.evidence.as_slice() else {
            panic!("{:?}", parsed)
        };
        assert_eq!(not_planned.attrs["closed_at"], "2025-03-02T00:00:00.000000000Z");
        assert!(
            not_planned.attrs.get("resolved_at").is_none(),
            "closed as not planned is not a remediation"
        );
        assert_eq!(record.attrs["key"], "acme/api#5");
        assert_eq!(record.subject.repo.as_deref(), Some("acme/api"));
        assert_eq!(record.attrs["resolved_at"], "2025-03-03T00:00:00.000000000Z");
        assert_eq!(
            record.attrs["alerts"],
            serde_json::json!(["9b2f1c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"])
        );
        assert_eq!(record.attrs["assignees"], serde_json::json!(["octocat"]));
        assert!(parsed.diagnostics.iter().all(|d| d.warning), "{:?}", parsed.diagnostics);
    }
}
