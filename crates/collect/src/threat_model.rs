//! Threat model collector: one `threat_model` record per model, with its
//! threats counted by status and severity, how many have a mitigation, and
//! whether residual risk was accepted when the model says so.
//!
//! Read: OWASP Threat Dragon models (v2 JSON: `summary` and `detail.diagrams`
//! with threats on the cells' `data.threats`; v1's `diagramJson.cells[].threats`
//! too), Threagile's `risks.json` (a list of risks, or an object with `risks`),
//! pytm output (its JSON report with `findings`, and the Threat Model Bill of
//! Materials, CycloneDX with `threat-model` components), and markdown threat
//! models with YAML front matter (`service`, `system`, `title`, `date`,
//! `reviewers`, `status`, `residual_risk_accepted`, `threats`) whose threats
//! are the front matter's `threats` list or the rows of markdown tables with a
//! `Threat` column. Attribute keys are listed in `docs/sources.md`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use model::{EvidenceKind, Subject};
use serde_json::{Map, Value, json};

use crate::trivy::{OrContext, bounded};
use crate::{Context, Limits, Parsed, text_at};

/// The collector id recorded in every record's source.
pub const COLLECTOR: &str = "threat-model";

/// One threat as the model states it.
#[derive(Debug, Default, Clone)]
struct Threat {
    status: Option<String>,
    severity: Option<String>,
    mitigated: bool,
    accepted: bool,
}

/// What one model says, before it becomes a record.
#[derive(Debug, Default)]
struct Model {
    format: &'static str,
    title: Option<String>,
    service: Option<(String, &'static str)>,
    date: Option<Timestamp>,
    reviewers: Vec<String>,
    status: Option<String>,
    owner: Option<String>,
    contributors: Vec<String>,
    tool: Option<String>,
    residual_risk_accepted: Option<bool>,
    threats: Vec<Threat>,
}

/// Parse one threat model file into a `threat_model` record.
///
/// Never panics; a file that is not a model this collector reads gives one
/// diagnostic with its line or pointer.
pub fn parse(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let mut parsed = Parsed::default();
    let Some(text) = crate::whole_text(bytes, context, limits, &mut parsed.diagnostics) else {
        return parsed;
    };
    let trimmed = text.trim_start();
    let model = if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let documents = crate::json_documents(text, context, limits, &mut parsed.diagnostics);
        let [(_, document)] = documents.as_slice() else {
            if !documents.is_empty() {
                parsed.diagnostics.push(context.diagnostic(
                    None,
                    None,
                    "JSON lines are not a threat model (one JSON document expected); nothing recorded",
                ));
            }
            return parsed;
        };
        json_model(document, context)
    } else {
        markdown_model(text, limits)
    };
    match model {
        Ok(model) => parsed.evidence.push(record(model, context)),
        Err((line, pointer, message)) => {
            parsed
                .diagnostics
                .push(context.diagnostic(line, pointer, format!("{message}; nothing recorded")))
        }
    }
    parsed
}

/// Whether the head of a file (whitespace removed) is a threat model in JSON
/// this collector reads; used by format detection.
pub fn detect_json(compact: &str) -> bool {
    (compact.contains("\"detail\":{") && compact.contains("\"diagrams\":[") && compact.contains("\"summary\":{"))
        || (compact.starts_with("[{\"category\":\"") || compact.starts_with("{\"risks\":[{\"category\":\""))
            && compact.contains("\"risk_status\":\"")
        || compact.contains("\"bomFormat\":\"CycloneDX\"") && compact.contains("\"type\":\"threat-model\"")
}

/// Whether a markdown file is a threat model: front matter first, and the
/// words "threat model" in its head.
pub fn detect_markdown(lower_path: &str, head: &str) -> bool {
    (lower_path.ends_with(".md") || lower_path.ends_with(".markdown"))
        && head.trim_start_matches('\u{feff}').starts_with("---")
        && head.to_ascii_lowercase().contains("threat model")
}

type Refusal = (Option<u64>, Option<String>, String);

fn refuse(pointer: &str, message: impl Into<String>) -> Refusal {
    (None, (!pointer.is_empty()).then(|| pointer.to_string()), message.into())
}

// ---------------------------------------------------------------------------
// JSON formats
// ---------------------------------------------------------------------------

fn json_model(document: &Value, context: &Context) -> Result<Model, Refusal> {
    if document.get("summary").is_some() && document.pointer("/detail/diagrams").is_some() {
        return threat_dragon(document);
    }
    if document.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        return tmbom(document);
    }
    let risks = match document {
        Value::Array(items) => Some(items.as_slice()),
        Value::Object(object) => object.get("risks").and_then(Value::as_array).map(Vec::as_slice),
        _ => None,
    };
    if let Some(risks) = risks
        && (risks.is_empty() || risks.iter().any(|risk| risk.get("risk_status").is_some()))
    {
        return threagile(document, risks, context);
    }
    if let Some(findings) = document.get("findings").and_then(Value::as_array) {
        return pytm_report(document, findings);
    }
    Err(refuse(
        "",
        "not a threat model this collector reads (Threat Dragon, Threagile risks, pytm report or TMBOM, markdown with front matter)",
    ))
}

fn threat_dragon(document: &Value) -> Result<Model, Refusal> {
    let Some(diagrams) = document.pointer("/detail/diagrams").and_then(Value::as_array) else {
        return Err(refuse("/detail/diagrams", "Threat Dragon `diagrams` is not a list"));
    };
    let mut model = Model {
        format: "threat-dragon",
        title: text_at(document, "/summary/title"),
        owner: text_at(document, "/summary/owner"),
        reviewers: text_at(document, "/detail/reviewer").into_iter().collect(),
        contributors: names(document.pointer("/detail/contributors")),
        tool: text_at(document, "/version").map(|version| format!("threat-dragon {version}")),
        ..Model::default()
    };
    model.service = model.title.clone().map(|title| (title, "title"));
    for diagram in diagrams {
        let cells = diagram
            .get("cells")
            .or_else(|| diagram.pointer("/diagramJson/cells"))
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        for cell in cells {
            let threats = cell
                .pointer("/data/threats")
                .or_else(|| cell.get("threats"))
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or_default();
            for threat in threats {
                let status = text_at(threat, "/status").map(|status| normal_word(&status));
                model.threats.push(Threat {
                    mitigated: text_at(threat, "/mitigation").is_some(),
                    accepted: false,
                    severity: text_at(threat, "/severity").map(|severity| normal_word(&severity)),
                    status,
                });
            }
        }
    }
    Ok(model)
}

fn threagile(document: &Value, risks: &[Value], context: &Context) -> Result<Model, Refusal> {
    // risks.json names no model: the file name (without extension) is its title.
    let stem = context
        .origin
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(&context.origin)
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string();
    let mut model = Model {
        format: "threagile",
        title: text_at(document, "/title").or_else(|| (!stem.is_empty()).then_some(stem)),
        date: text_at(document, "/date").and_then(|date| model::time::parse_time(&date).ok()),
        tool: Some("threagile".into()),
        ..Model::default()
    };
    for (index, risk) in risks.iter().enumerate() {
        if !risk.is_object() {
            return Err(refuse(&format!("/{index}"), "a Threagile risk is not an object"));
        }
        let status = text_at(risk, "/risk_status").map(|status| normal_word(&status));
        let accepted = status.as_deref() == Some("accepted");
        model.threats.push(Threat {
            mitigated: status.as_deref() == Some("mitigated"),
            accepted,
            severity: text_at(risk, "/severity").map(|severity| normal_word(&severity)),
            status,
        });
    }
    if model.threats.iter().any(|threat| threat.accepted) {
        model.residual_risk_accepted = Some(true);
    }
    Ok(model)
}

fn tmbom(document: &Value) -> Result<Model, Refusal> {
    let components = document
        .get("components")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    let Some(root) = components
        .iter()
        .find(|component| component.get("type").and_then(Value::as_str) == Some("threat-model"))
    else {
        return Err(refuse(
            "/components",
            "a CycloneDX document without a `threat-model` component is an SBOM (use --source cyclonedx)",
        ));
    };
    let tools: Vec<String> = document
        .pointer("/metadata/tools/components")
        .and_then(Value::as_array)
        .map(|tools| {
            tools
                .iter()
                .filter_map(|tool| {
                    let name = text_at(tool, "/name")?;
                    Some(match text_at(tool, "/version") {
                        Some(version) => format!("{name} {version}"),
                        None => name,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut model = Model {
        format: "tmbom",
        title: text_at(root, "/name"),
        date: text_at(document, "/metadata/timestamp").and_then(|date| model::time::parse_time(&date).ok()),
        contributors: names(document.pointer("/metadata/authors")),
        tool: (!tools.is_empty()).then(|| tools.join(", ")),
        ..Model::default()
    };
    model.service = text_at(document, "/metadata/component/name")
        .map(|name| (name, "system"))
        .or_else(|| model.title.clone().map(|title| (title, "title")));
    // Threats: components typed `threat`, and CycloneDX vulnerabilities.
    let mut stack: Vec<&Value> = vec![root];
    while let Some(component) = stack.pop() {
        if let Some(children) = component.get("components").and_then(Value::as_array) {
            stack.extend(children.iter());
        }
        let model_type = component
            .get("properties")
            .and_then(Value::as_array)
            .and_then(|properties| {
                properties
                    .iter()
                    .find(|property| property.get("name").and_then(Value::as_str) == Some("cdx:model:type"))
            })
            .and_then(|property| property.get("value").and_then(Value::as_str));
        if model_type == Some("threat") {
            model.threats.push(Threat::default());
        }
    }
    for vulnerability in document
        .get("vulnerabilities")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
    {
        let state = text_at(vulnerability, "/analysis/state").map(|state| normal_word(&state));
        model.threats.push(Threat {
            mitigated: vulnerability.pointer("/analysis/response").is_some()
                || text_at(vulnerability, "/recommendation").is_some(),
            accepted: vulnerability
                .pointer("/analysis/response")
                .and_then(Value::as_array)
                .is_some_and(|responses| {
                    responses
                        .iter()
                        .any(|response| response.as_str() == Some("will_not_fix"))
                }),
            severity: text_at(vulnerability, "/ratings/0/severity").map(|severity| normal_word(&severity)),
            status: state,
        });
    }
    if model.threats.iter().any(|threat| threat.accepted) {
        model.residual_risk_accepted = Some(true);
    }
    Ok(model)
}

fn pytm_report(document: &Value, findings: &[Value]) -> Result<Model, Refusal> {
    let mut model = Model {
        format: "pytm",
        title: text_at(document, "/name"),
        tool: Some("pytm".into()),
        ..Model::default()
    };
    model.service = model.title.clone().map(|title| (title, "title"));
    for finding in findings {
        model.threats.push(Threat {
            mitigated: text_at(finding, "/mitigations").is_some(),
            accepted: false,
            severity: text_at(finding, "/severity").map(|severity| normal_word(&severity)),
            status: Some("open".into()),
        });
    }
    Ok(model)
}

/// The `name` of each object of a list (or the strings of a list).
fn names(list: Option<&Value>) -> Vec<String> {
    list.and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| item.as_str().map(bounded).or_else(|| text_at(item, "/name")))
                .take(100)
                .collect()
        })
        .unwrap_or_default()
}

/// A status or severity word: lower-case, words joined by `-`
/// (`NotApplicable` and `Not applicable` are `not-applicable`).
fn normal_word(word: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for character in word.trim().chars() {
        if character.is_whitespace() || character == '_' || character == '-' {
            if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
            previous_lower = false;
            continue;
        }
        if character.is_uppercase() && previous_lower && !out.ends_with('-') {
            out.push('-');
        }
        previous_lower = character.is_lowercase();
        out.extend(character.to_lowercase());
    }
    bounded(out.trim_end_matches('-'))
}

// ---------------------------------------------------------------------------
// Markdown with front matter
// ---------------------------------------------------------------------------

fn markdown_model(text: &str, limits: &Limits) -> Result<Model, Refusal> {
    let text = text.trim_start_matches('\u{feff}');
    let mut lines = text.split_inclusive('\n');
    let first = lines.next().unwrap_or_default();
    if first.trim_end() != "---" {
        return Err((
            Some(1),
            None,
            "not a threat model this collector reads: a markdown model starts with YAML front matter (`---`)"
                .to_string(),
        ));
    }
    let mut front_end = None;
    let mut offset = first.len();
    for line in lines {
        if matches!(line.trim_end(), "---" | "...") {
            front_end = Some((offset, offset + line.len()));
            break;
        }
        offset += line.len();
    }
    let Some((front_stop, body_start)) = front_end else {
        return Err((Some(1), None, "front matter is not closed by a `---` line".to_string()));
    };
    let front_text = &text[first.len()..front_stop];
    let body = &text[body_start..];
    let budget = limits.yaml_budget();
    let front: Value = if front_text.trim().is_empty() {
        Value::Object(Map::new())
    } else {
        serde_saphyr::from_str_with_options::<Value>(front_text, budget.options()).map_err(|error| {
            let problem = budget.describe(&error);
            let column = problem
                .column
                .map(|column| format!(" (column {column})"))
                .unwrap_or_default();
            (
                Some(problem.line.unwrap_or(1) + 1),
                None,
                format!("front matter is not YAML{column}: {}", problem.message),
            )
        })?
    };
    if !front.is_object() {
        return Err((Some(2), None, "front matter is not a YAML mapping".to_string()));
    }
    let scalar = |key: &str| -> Option<String> {
        match front.get(key)? {
            Value::String(text) => Some(text.trim()).filter(|text| !text.is_empty()).map(bounded),
            Value::Number(number) => Some(number.to_string()),
            Value::Bool(flag) => Some(flag.to_string()),
            _ => None,
        }
    };
    let heading = body
        .lines()
        .find_map(|line| line.strip_prefix("# "))
        .map(|title| bounded(title.trim()));
    let mut model = Model {
        format: "markdown",
        title: scalar("title").or(heading),
        status: scalar("status").map(|status| normal_word(&status)),
        owner: scalar("owner"),
        ..Model::default()
    };
    model.service = scalar("service")
        .map(|service| (service, "service"))
        .or_else(|| scalar("system").map(|system| (system, "system")))
        .or_else(|| model.title.clone().map(|title| (title, "title")));
    if let Some(date) = scalar("date") {
        model.date = Some(model::time::parse_time(&date).map_err(|error| {
            (
                line_of_key(front_text, "date").map(|line| line + 1),
                None,
                format!("front matter `date` cannot be read: {error}"),
            )
        })?);
    }
    model.reviewers = match front.get("reviewers").or_else(|| front.get("reviewer")) {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|item| item.as_str().map(bounded).or_else(|| text_at(item, "/name")))
            .collect(),
        Some(Value::String(text)) => text
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .map(bounded)
            .collect(),
        _ => Vec::new(),
    };
    model.residual_risk_accepted = ["residual_risk_accepted", "risk_accepted", "accepted_residual_risk"]
        .iter()
        .find_map(|key| match front.get(*key) {
            Some(Value::Bool(flag)) => Some(*flag),
            Some(Value::String(text)) => match text.trim().to_ascii_lowercase().as_str() {
                "yes" | "true" | "accepted" => Some(true),
                "no" | "false" => Some(false),
                _ => None,
            },
            _ => None,
        });
    match front.get("threats").and_then(Value::as_array) {
        Some(threats) => {
            for threat in threats {
                model.threats.push(Threat {
                    status: text_at(threat, "/status").map(|status| normal_word(&status)),
                    severity: text_at(threat, "/severity").map(|severity| normal_word(&severity)),
                    mitigated: text_at(threat, "/mitigation")
                        .or_else(|| text_at(threat, "/mitigations"))
                        .is_some()
                        || threat
                            .get("mitigations")
                            .and_then(Value::as_array)
                            .is_some_and(|list| !list.is_empty()),
                    accepted: text_at(threat, "/status").is_some_and(|status| normal_word(&status) == "accepted"),
                });
            }
        }
        None => model.threats = table_threats(body),
    }
    if model.residual_risk_accepted.is_none() && model.threats.iter().any(|threat| threat.accepted) {
        model.residual_risk_accepted = Some(true);
    }
    Ok(model)
}

/// The 1-based line of `key:` at the start of a line in `text`.
fn line_of_key(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .position(|line| {
            line.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map(|index| index as u64 + 1)
}

/// The cells of a markdown table row (GFM): the outer pipes dropped, split at
/// each pipe that is not escaped; `\|` is a literal pipe inside a cell.
fn table_cells(line: &str) -> Vec<String> {
    let mut cells = vec![String::new()];
    let mut characters = line.strip_prefix('|').unwrap_or(line).chars().peekable();
    while let Some(character) = characters.next() {
        match character {
            '\\' if characters.peek() == Some(&'|') => {
                characters.next();
                cells.last_mut().into_iter().for_each(|cell| cell.push('|'));
            }
            '|' => cells.push(String::new()),
            other => cells.last_mut().into_iter().for_each(|cell| cell.push(other)),
        }
    }
    // A closing pipe leaves an empty last cell.
    if line.len() > 1 && line.ends_with('|') && !line.ends_with("\\|") {
        cells.pop();
    }
    cells.into_iter().map(|cell| cell.trim().to_string()).collect()
}

/// Threats from markdown tables whose header has a column with `threat` in
/// its name: one per row; `status`, `severity` (or `risk`, `priority`) and
/// `mitigation` (or `control`, `countermeasure`) columns are read when present.
fn table_threats(body: &str) -> Vec<Threat> {
    let mut threats = Vec::new();
    let mut header: Option<Vec<String>> = None;
    let mut in_rows = false;
    for line in body.lines() {
        let line = line.trim();
        if !line.starts_with('|') {
            header = None;
            in_rows = false;
            continue;
        }
        let cells = table_cells(line);
        match &header {
            None => header = Some(cells.iter().map(|cell| cell.to_ascii_lowercase()).collect()),
            Some(_) if !in_rows => {
                in_rows = cells
                    .iter()
                    .all(|cell| !cell.is_empty() && cell.chars().all(|character| "-:".contains(character)));
                if !in_rows {
                    header = None;
                }
            }
            Some(names) => {
                let column = |words: &[&str]| {
                    names
                        .iter()
                        .position(|name| words.iter().any(|word| name.contains(word)))
                };
                if column(&["threat"]).is_none() {
                    continue;
                }
                let cell = |index: Option<usize>| {
                    index
                        .and_then(|index| cells.get(index))
                        .map(|cell| cell.trim())
                        .filter(|cell| {
                            !cell.is_empty()
                                && !matches!(cell.to_ascii_lowercase().as_str(), "-" | "none" | "n/a" | "tbd")
                        })
                };
                let status = cell(column(&["status", "state"])).map(normal_word);
                threats.push(Threat {
                    accepted: status.as_deref() == Some("accepted"),
                    status,
                    severity: cell(column(&["severity", "risk", "priority"])).map(normal_word),
                    mitigated: cell(column(&["mitigation", "control", "countermeasure"])).is_some(),
                });
            }
        }
    }
    threats
}

// ---------------------------------------------------------------------------
// The record
// ---------------------------------------------------------------------------

fn record(model: Model, context: &Context) -> model::NewEvidence {
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_severity: BTreeMap<String, u64> = BTreeMap::new();
    for threat in &model.threats {
        *by_status
            .entry(threat.status.clone().unwrap_or_else(|| "unknown".into()))
            .or_default() += 1;
        *by_severity
            .entry(threat.severity.clone().unwrap_or_else(|| "unknown".into()))
            .or_default() += 1;
    }
    let mitigations = model.threats.iter().filter(|threat| threat.mitigated).count();
    let mut attrs = Map::new();
    let mut put = |key: &str, value: Option<Value>| crate::events::put(&mut attrs, key, value);
    put("format", Some(json!(model.format)));
    put("title", model.title.clone().map(Value::from));
    put("service", model.service.as_ref().map(|(service, _)| json!(service)));
    put("service_from", model.service.as_ref().map(|(_, from)| json!(from)));
    put("date", model.date.map(|date| json!(model::time::format_time(date))));
    put("threats", Some(json!(model.threats.len())));
    put("threats_by_status", Some(json!(by_status)));
    put("threats_by_severity", Some(json!(by_severity)));
    put("mitigations", Some(json!(mitigations)));
    put("residual_risk_accepted", model.residual_risk_accepted.map(Value::from));
    put("reviewers", Some(json!(model.reviewers)));
    put("status", model.status.map(Value::from));
    put("owner", model.owner.map(Value::from));
    put(
        "contributors",
        (!model.contributors.is_empty()).then(|| json!(model.contributors)),
    );
    put("tool", model.tool.map(Value::from));
    let subject = Subject {
        service: model.service.map(|(service, _)| service),
        ..Subject::default()
    }
    .or_context(context);
    context.record(
        COLLECTOR,
        EvidenceKind::ThreatModel,
        model.date,
        subject,
        None,
        Value::Object(attrs),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn check(text: &str) -> Parsed {
        let context = Context {
            origin: "/models/payments.md".into(),
            sha256: "ab".into(),
            ..Context::default()
        };
        parse(text.as_bytes(), &context, &Limits::default())
    }

    #[test]
    fn markdown_front_matter_and_threat_table() {
        let parsed = check(
            "---\nservice: payments\ndate: 2025-02-10\nreviewers: [alice@example.com, bob@example.com]\nstatus: Approved\nresidual_risk_accepted: true\n---\n\
             # Payments threat model\n\n| ID | Threat | Severity | Status | Mitigation |\n|----|--------|----------|--------|------------|\n\
             | T1 | Card data leak | High | Mitigated | TLS everywhere |\n| T2 | Replay | Medium | Open | - |\n| T3 | Insider | Low | Accepted | n/a |\n\nText after.\n",
        );
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let [record] = parsed.evidence.as_slice() else {
            panic!("{parsed:?}")
        };
        assert_eq!(record.kind, EvidenceKind::ThreatModel);
        assert_eq!(record.subject.service.as_deref(), Some("payments"));
        assert_eq!(record.attrs["title"], "Payments threat model");
        assert_eq!(record.attrs["date"], "2025-02-10T00:00:00.000000000Z");
        assert_eq!(record.attrs["threats"], 3);
        assert_eq!(record.attrs["mitigations"], 1);
        assert_eq!(
            record.attrs["threats_by_status"],
            json!({"accepted": 1, "mitigated": 1, "open": 1})
        );
        assert_eq!(
            record.attrs["threats_by_severity"],
            json!({"high": 1, "low": 1, "medium": 1})
        );
        assert_eq!(
            record.attrs["reviewers"],
            json!(["alice@example.com", "bob@example.com"])
        );
        assert_eq!(record.attrs["status"], "approved");
        assert_eq!(record.attrs["residual_risk_accepted"], true);
        assert_eq!(
            record.occurred_at.map(model::time::format_time).as_deref(),
            Some("2025-02-10T00:00:00.000000000Z")
        );
    }

    #[test]
    fn an_escaped_pipe_is_part_of_its_cell() {
        let parsed = check(
            "---\nservice: edge\n---\n| Threat | Severity | Status | Mitigation |\n|---|---|---|---|\n\
             | Token theft | High | Mitigated | short-lived tokens |\n\
             | Weak TLS ciphers \\| legacy clients | Low | Accepted | n/a |\n",
        );
        let [record] = parsed.evidence.as_slice() else {
            panic!("{parsed:?}")
        };
        assert_eq!(record.attrs["threats_by_severity"], json!({"high": 1, "low": 1}));
        assert_eq!(
            record.attrs["threats_by_status"],
            json!({"accepted": 1, "mitigated": 1})
        );
        assert_eq!(record.attrs["mitigations"], 1);
        assert_eq!(record.attrs["residual_risk_accepted"], true);
        assert_eq!(table_cells("| a \\| b | c |"), ["a | b", "c"]);
        assert_eq!(table_cells("a | b"), ["a", "b"]);
    }

    #[test]
    fn malformed_models_give_one_diagnostic_with_a_line() {
        let cases = [
            ("# no front matter\n", Some(1)),
            ("---\nservice: [unclosed\n---\n", Some(3)),
            ("---\nservice: a\ndate: someday\n---\n", Some(3)),
            ("---\nservice: a\n", Some(1)),
            ("{\"summary\": {}", Some(1)),
            ("{\"something\": 1}", None),
        ];
        for (text, line) in cases {
            let parsed = check(text);
            assert!(parsed.evidence.is_empty(), "{text}");
            assert_eq!(parsed.diagnostics.len(), 1, "{text}: {:?}", parsed.diagnostics);
            if line.is_some() {
                assert!(parsed.diagnostics[0].line.is_some(), "{text}: {:?}", parsed.diagnostics);
            }
        }
    }

    #[test]
    fn status_words_are_normalised() {
        assert_eq!(normal_word("NotApplicable"), "not-applicable");
        assert_eq!(normal_word("In Progress"), "in-progress");
        assert_eq!(normal_word("false-positive"), "false-positive");
        assert_eq!(normal_word("Open"), "open");
    }

    #[test]
    fn front_matter_threat_list() {
        let parsed = check(
            "---\nsystem: checkout\nthreats:\n  - {title: a, status: open, severity: high, mitigation: waf}\n  - {title: b, status: accepted}\n---\n",
        );
        let [record] = parsed.evidence.as_slice() else {
            panic!("{parsed:?}")
        };
        assert_eq!(record.attrs["service"], "checkout");
        assert_eq!(record.attrs["service_from"], "system");
        assert_eq!(record.attrs["threats"], 2);
        assert_eq!(record.attrs["mitigations"], 1);
        assert_eq!(record.attrs["residual_risk_accepted"], true);
        assert!(record.attrs.get("date").is_none());
        assert!(
            record.occurred_at.is_none(),
            "no date, no flag: the ingest time stands in"
        );
    }
}
