//! Kubernetes admission collector: policy configuration into `admission_policy`
//! records (one per policy, one per Kyverno rule) with the mode it runs in, and
//! policy results and audit events into `admission_decision` records.
//!
//! Read: Kyverno `ClusterPolicy`/`Policy` (`validate` and `verifyImages` rules)
//! and `ValidatingPolicy`, Gatekeeper constraints (`constraints.gatekeeper.sh`,
//! with `status.violations`), sigstore policy-controller `ClusterImagePolicy`,
//! `ValidatingAdmissionPolicyBinding`, `PolicyReport`/`ClusterPolicyReport`
//! (`wgpolicyk8s.io`), OpenReports `Report`/`ClusterReport`, and Kubernetes
//! audit events (`audit.k8s.io` `Event` and `EventList`). Input: multi-document
//! YAML, one JSON document, or JSON lines; kubectl `List`s are opened.
//!
//! Every policy gets a `mode` (`enforce`, `audit`, `warn`; `unknown` with a
//! warning when the input names an action this collector does not know) and a
//! `mode_source`: the JSON pointer of the field that decided it, or `default`.
//! A document that does not parse gives one diagnostic with its line and the
//! other documents still land. Attribute keys are listed in `docs/sources.md`.

use jiff::Timestamp;
use model::{EvidenceKind, Subject};
use serde_json::{Map, Value, json};

use crate::{Context, Limits, Parsed, text_at};

/// The collector id recorded in every record's source.
pub const COLLECTOR: &str = "kubernetes";

/// Longest text kept from any string copied into attributes (characters).
const MAX_TEXT_CHARS: usize = 1024;

/// Gatekeeper enforcement points that act at admission (`*` is every point):
/// only these decide the mode of a constraint with `enforcementAction: scoped`.
const ADMISSION_POINTS: &[&str] = &["validation.gatekeeper.sh", "vap.k8s.io", "*"];

/// API groups (the part of `apiVersion` before `/`) this collector reads; used
/// by format detection.
pub const API_GROUPS: &[&str] = &[
    "kyverno.io",
    "policies.kyverno.io",
    "constraints.gatekeeper.sh",
    "policy.sigstore.dev",
    "admissionregistration.k8s.io",
    "wgpolicyk8s.io",
    "openreports.io",
    "audit.k8s.io",
];

/// Parse Kubernetes admission policies, policy reports and audit events.
///
/// Never panics; every problem becomes a diagnostic naming its line or pointer.
pub fn parse(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let mut parsed = Parsed::default();
    let documents = if std::str::from_utf8(bytes).is_err() && crate::is_json_lines_despite_encoding(bytes) {
        // Audit events as JSON lines with a line that is not UTF-8: that line
        // alone is refused.
        crate::json_lines(bytes, context, limits, &mut parsed.diagnostics)
    } else {
        let Some(text) = crate::utf8_text(bytes, context, &mut parsed.diagnostics) else {
            return parsed;
        };
        read_documents(text, context, limits, &mut parsed)
    };
    let mut walker = Walker {
        context,
        parsed: &mut parsed,
        skipped_audit_events: 0,
        recognised: 0,
    };
    for (line, document) in documents {
        walker.object(&document, String::new(), line);
    }
    let (recognised, skipped_audit_events) = (walker.recognised, walker.skipped_audit_events);
    if recognised == 0 && !parsed.refused_any() {
        // Nothing in the file is a resource this collector reads: the wrong
        // file, or the wrong `--source`.
        parsed.diagnostics.push(context.diagnostic(
            None,
            None,
            "no admission policy, policy report or audit event (apiVersion in kyverno.io, \
             constraints.gatekeeper.sh, admissionregistration.k8s.io, policy.sigstore.dev, wgpolicyk8s.io, \
             openreports.io or audit.k8s.io); nothing recorded",
        ));
    }
    if skipped_audit_events > 0 {
        let count = skipped_audit_events;
        parsed.diagnostics.push(model::Diagnostic {
            warning: true,
            ..context.diagnostic(
                None,
                None,
                format!(
                    "{count} audit event(s) not recorded: read-only requests (get, list, watch) or stages \
                     before ResponseComplete, without admission annotations"
                ),
            )
        });
    }
    parsed
}

/// Whether the head of a file looks like a resource this collector reads:
/// an `apiVersion` in one of [`API_GROUPS`] (YAML or JSON).
pub fn detect(head: &str) -> bool {
    let compact: String = head.chars().filter(|character| !character.is_whitespace()).collect();
    let json = API_GROUPS
        .iter()
        .any(|group| compact.contains(&format!("\"apiVersion\":\"{group}/")));
    if json {
        return true;
    }
    head.lines().any(|line| {
        let line = line.trim_start_matches('\u{feff}').trim_start();
        let line = line.strip_prefix("- ").map_or(line, str::trim_start);
        let Some(value) = line.strip_prefix("apiVersion:") else {
            return false;
        };
        let value = value.trim().trim_matches(['"', '\'']);
        API_GROUPS
            .iter()
            .any(|group| value.strip_prefix(group).is_some_and(|rest| rest.starts_with('/')))
    })
}

// ---------------------------------------------------------------------------
// Reading documents
// ---------------------------------------------------------------------------

/// The documents of the input with the line each starts on: one JSON document,
/// JSON lines, or multi-document YAML (each document under the budget of
/// `model::yaml`). Shared with the inventory and RBAC collectors.
pub(crate) fn read_documents(text: &str, context: &Context, limits: &Limits, parsed: &mut Parsed) -> Vec<(u64, Value)> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return crate::json_documents(text, context, limits, &mut parsed.diagnostics);
    }
    read_yaml(text, context, limits, parsed)
}

/// Multi-document YAML: each document (separated by `---` lines) is parsed on
/// its own under the budget, so one bad document does not lose the others. A
/// document whose content starts on its `---` line is kept with its marker.
fn read_yaml(text: &str, context: &Context, limits: &Limits, parsed: &mut Parsed) -> Vec<(u64, Value)> {
    let budget = limits.yaml_budget();
    let mut documents = Vec::new();
    let mut chunks: Vec<(u64, usize, usize)> = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1u64;
    let mut offset = 0usize;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end();
        if bare == "---" || bare.starts_with("--- ") {
            chunks.push((start_line, start, offset));
            // Content may start on the marker line (`--- {...}`, `--- !!map`,
            // `--- |`): the document then starts with its marker, which YAML reads.
            let rest = bare["---".len()..].trim_start();
            if rest.is_empty() || rest.starts_with('#') {
                start = offset + line.len();
                start_line = index as u64 + 2;
            } else {
                start = offset;
                start_line = index as u64 + 1;
            }
        }
        offset += line.len();
    }
    chunks.push((start_line, start, text.len()));
    let has_content = |chunk: &str| {
        chunk.lines().any(|line| {
            let line = line.trim();
            !line.is_empty() && !line.starts_with('#') && line != "..."
        })
    };
    let mut chunks = chunks
        .into_iter()
        .map(|(line, begin, end)| (line, &text[begin..end]))
        .filter(|(_, chunk)| has_content(chunk));
    let limit = limits.max_yaml_documents;
    for (line, chunk) in chunks.by_ref().take(limit) {
        match serde_saphyr::from_str_with_options::<Value>(chunk, budget.options()) {
            Ok(Value::Null) => {}
            Ok(value) => documents.push((line, value)),
            Err(error) => {
                let problem = budget.describe(&error);
                let at = problem.line.map(|inner| inner + line - 1);
                let column = problem
                    .column
                    .map(|column| format!(", column {column}"))
                    .unwrap_or_default();
                parsed.diagnostics.push(context.diagnostic(
                    at.or(Some(line)),
                    None,
                    format!("YAML document not read{column}: {}; skipped", problem.message),
                ));
            }
        }
    }
    if let Some((line, _)) = chunks.next() {
        let dropped = 1 + chunks.count();
        parsed.diagnostics.push(context.diagnostic(
            Some(line),
            None,
            format!("more than {limit} YAML documents: the first {limit} read, the {dropped} from here on not read"),
        ));
    }
    documents
}

// ---------------------------------------------------------------------------
// Small readers
// ---------------------------------------------------------------------------

/// A JSON pointer for a diagnostic: `None` for the whole document (the empty pointer).
fn non_empty(pointer: String) -> Option<String> {
    (!pointer.is_empty()).then_some(pointer)
}

fn bounded(text: &str) -> String {
    crate::cut_text(text, MAX_TEXT_CHARS)
}

/// A time at `pointer` (RFC 3339), if there is one that reads.
fn time_at(value: &Value, pointer: &str) -> Option<Timestamp> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|text| model::time::parse_time(text).ok())
}

/// Insert `value` under `key` when present.
fn put(attrs: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(value) = value {
        attrs.insert(key.to_string(), value.into());
    }
}

// ---------------------------------------------------------------------------
// Walking resources
// ---------------------------------------------------------------------------

struct Walker<'a> {
    context: &'a Context,
    parsed: &'a mut Parsed,
    skipped_audit_events: u64,
    /// Resources of a kind this collector reads (recorded or not).
    recognised: u64,
}

/// Where a resource is: the document's first line and its pointer in the document.
#[derive(Clone, Copy)]
struct At<'a> {
    line: u64,
    base: &'a str,
}

impl At<'_> {
    fn pointer(&self, suffix: &str) -> String {
        format!("{}{suffix}", self.base)
    }
}

impl Walker<'_> {
    fn warn(&mut self, line: u64, pointer: String, message: String) {
        self.parsed.diagnostics.push(model::Diagnostic {
            warning: true,
            ..self.context.diagnostic(Some(line), non_empty(pointer), message)
        });
    }

    fn refuse(&mut self, line: u64, pointer: String, message: String) {
        self.parsed
            .diagnostics
            .push(self.context.diagnostic(Some(line), non_empty(pointer), message));
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        kind: EvidenceKind,
        at: At<'_>,
        suffix: &str,
        time: Option<Timestamp>,
        subject: Subject,
        attrs: Map<String, Value>,
    ) {
        let pointer = at.pointer(suffix);
        let mut record = self.context.record(
            COLLECTOR,
            kind,
            time,
            subject,
            Some(if pointer.is_empty() { String::new() } else { pointer }),
            Value::Object(attrs),
        );
        record.source.line = Some(at.line);
        if record.source.pointer.as_deref() == Some("") {
            record.source.pointer = None;
        }
        self.parsed.evidence.push(record);
    }

    fn subject(&self, namespace: Option<String>) -> Subject {
        Subject {
            repo: self.context.repo.clone(),
            namespace,
            ..Subject::default()
        }
    }

    /// One document or list item.
    fn object(&mut self, value: &Value, base: String, line: u64) {
        let at = At { line, base: &base };
        let Some(object) = value.as_object() else {
            let found = crate::trivy::type_name(value);
            self.refuse(
                line,
                at.pointer(""),
                format!("not a Kubernetes resource: {found}, expected an object; skipped"),
            );
            return;
        };
        let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or_default();
        let group = api_version.split_once('/').map_or("", |(group, _)| group);
        if let Some(items) = object.get("items").and_then(Value::as_array)
            && (kind.ends_with("List") || kind.is_empty())
        {
            for (index, item) in items.iter().enumerate() {
                self.object(item, format!("{base}/items/{index}"), line);
            }
            return;
        }
        let recognised = match (group, kind) {
            ("kyverno.io", "ClusterPolicy" | "Policy") => {
                self.kyverno(value, at);
                true
            }
            ("policies.kyverno.io", _) if kind.ends_with("ValidatingPolicy") => {
                self.validation_actions(value, at, "kyverno");
                true
            }
            ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding") => {
                self.validation_actions(value, at, "kubernetes");
                true
            }
            ("constraints.gatekeeper.sh", _) if !kind.is_empty() => {
                self.gatekeeper(value, at);
                true
            }
            ("policy.sigstore.dev", "ClusterImagePolicy") => {
                self.image_policy(value, at);
                true
            }
            ("wgpolicyk8s.io", "PolicyReport" | "ClusterPolicyReport")
            | ("openreports.io", "Report" | "ClusterReport") => {
                self.report(value, at);
                true
            }
            ("audit.k8s.io", "Event") => {
                self.audit_event(value, at);
                true
            }
            _ => {
                let shown = match (api_version.is_empty(), kind.is_empty()) {
                    (true, true) => "has no apiVersion or kind".to_string(),
                    (true, false) => format!("has kind `{}` and no apiVersion", bounded(kind)),
                    (false, true) => format!("has apiVersion `{}` and no kind", bounded(api_version)),
                    (false, false) => format!("is apiVersion `{}` kind `{}`", bounded(api_version), bounded(kind)),
                };
                let place = if base.is_empty() {
                    format!("the document at line {line}")
                } else {
                    format!("item {base} of the document at line {line}")
                };
                self.warn(
                    line,
                    at.pointer(""),
                    format!("{place} {shown}: not an admission policy, policy report or audit event; not recorded"),
                );
                false
            }
        };
        if recognised {
            self.recognised += 1;
        }
    }

    /// The attributes every policy record starts with.
    fn policy_attrs(&self, value: &Value, engine: &str) -> Map<String, Value> {
        let mut attrs = Map::new();
        attrs.insert("engine".into(), engine.into());
        put(&mut attrs, "api_version", text_at(value, "/apiVersion"));
        put(&mut attrs, "kind", text_at(value, "/kind"));
        put(&mut attrs, "name", text_at(value, "/metadata/name"));
        put(&mut attrs, "namespace", text_at(value, "/metadata/namespace"));
        put(&mut attrs, "created_at", text_at(value, "/metadata/creationTimestamp"));
        attrs
    }

    fn set_mode(attrs: &mut Map<String, Value>, mode: &str, mode_source: &str, action: Option<&str>) {
        attrs.insert("mode".into(), mode.into());
        attrs.insert("mode_source".into(), mode_source.into());
        attrs.insert(
            "action".into(),
            action.map_or(Value::Null, |action| Value::from(bounded(action))),
        );
    }

    /// Kyverno `ClusterPolicy`/`Policy`: one record per `validate` or
    /// `verifyImages` rule. The rule's `validate.failureAction` (or each
    /// `verifyImages[].failureAction`) wins over the policy's
    /// `spec.validationFailureAction`; without either the mode is Kyverno's
    /// default, Audit. `spec.admission: false` (background scans only) is audit.
    fn kyverno(&mut self, value: &Value, at: At<'_>) {
        let namespace = text_at(value, "/metadata/namespace");
        let spec_action = value.pointer("/spec/validationFailureAction").and_then(Value::as_str);
        let admission_off = value.pointer("/spec/admission").and_then(Value::as_bool) == Some(false);
        let rules = value.pointer("/spec/rules").and_then(Value::as_array);
        let Some(rules) = rules.filter(|rules| !rules.is_empty()) else {
            self.refuse(
                at.line,
                at.pointer("/spec/rules"),
                "Kyverno policy without rules; nothing recorded".into(),
            );
            return;
        };
        let mut recorded = 0;
        for (index, rule) in rules.iter().enumerate() {
            let rule_pointer = format!("/spec/rules/{index}");
            let (rule_type, rule_action, action_pointer) = if let Some(validate) = rule.get("validate") {
                let action = validate.get("failureAction").and_then(Value::as_str);
                ("validate", action, format!("{rule_pointer}/validate/failureAction"))
            } else if let Some(verify) = rule.get("verifyImages").and_then(Value::as_array) {
                // The entry that enforces, when one does; else the first that says.
                let action_of = |entry: &Value| entry.get("failureAction").and_then(Value::as_str).map(str::to_string);
                let position = verify
                    .iter()
                    .position(|entry| action_of(entry).is_some_and(|action| action.eq_ignore_ascii_case("enforce")))
                    .or_else(|| verify.iter().position(|entry| action_of(entry).is_some()));
                let action = position
                    .and_then(|position| verify[position].get("failureAction"))
                    .and_then(Value::as_str);
                let pointer = format!("{rule_pointer}/verifyImages/{}/failureAction", position.unwrap_or(0));
                ("verifyImages", action, pointer)
            } else {
                continue;
            };
            let (action, mode_source) = match (rule_action, spec_action) {
                (Some(action), _) => (Some(action), action_pointer),
                (None, Some(action)) => (Some(action), "/spec/validationFailureAction".to_string()),
                (None, None) => (None, "default".to_string()),
            };
            let mut mode = match action.map(str::to_ascii_lowercase).as_deref() {
                None | Some("audit") => "audit",
                Some("enforce") => "enforce",
                Some(other) => {
                    self.warn(
                        at.line,
                        at.pointer(&mode_source),
                        format!(
                            "failure action `{}` is neither Enforce nor Audit; mode unknown",
                            bounded(other)
                        ),
                    );
                    "unknown"
                }
            };
            // `admission: false`: the rules run in background scans only and never block.
            let mut mode_source = mode_source;
            if admission_off {
                mode = "audit";
                mode_source = "/spec/admission".to_string();
            }
            let mut attrs = self.policy_attrs(value, "kyverno");
            put(&mut attrs, "rule", text_at(rule, "/name"));
            attrs.insert("rule_type".into(), rule_type.into());
            Self::set_mode(&mut attrs, mode, &mode_source, action);
            put(&mut attrs, "background", value.pointer("/spec/background").cloned());
            let overrides = rule
                .pointer("/validate/failureActionOverrides")
                .or_else(|| value.pointer("/spec/validationFailureActionOverrides"));
            put(&mut attrs, "action_overrides", overrides.map(crate::bounded_json));
            put(&mut attrs, "message", text_at(rule, "/validate/message"));
            if rule_type == "verifyImages" {
                let references: Vec<Value> = rule
                    .get("verifyImages")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .flat_map(|entry| {
                        entry
                            .get("imageReferences")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .chain(entry.get("image"))
                    })
                    .take(100)
                    .map(crate::bounded_json)
                    .collect();
                attrs.insert("image_references".into(), Value::Array(references));
            }
            self.push(
                EvidenceKind::AdmissionPolicy,
                at,
                &rule_pointer,
                None,
                self.subject(namespace.clone()),
                attrs,
            );
            recorded += 1;
        }
        if recorded == 0 {
            self.warn(
                at.line,
                at.pointer("/spec/rules"),
                "Kyverno policy with no validate or verifyImages rule (mutate or generate only); not recorded".into(),
            );
        }
    }

    /// `ValidatingAdmissionPolicyBinding` and Kyverno `ValidatingPolicy`:
    /// `validationActions` with `Deny` is enforce, else `Warn` is warn, else
    /// `Audit` is audit.
    fn validation_actions(&mut self, value: &Value, at: At<'_>, engine: &str) {
        let mut attrs = self.policy_attrs(value, engine);
        let actions: Vec<String> = value
            .pointer("/spec/validationActions")
            .and_then(Value::as_array)
            .map(|actions| actions.iter().filter_map(Value::as_str).map(bounded).collect())
            .unwrap_or_default();
        let has = |name: &str| actions.iter().any(|action| action.eq_ignore_ascii_case(name));
        let admission_off = engine == "kyverno"
            && value
                .pointer("/spec/evaluation/admission/enabled")
                .and_then(Value::as_bool)
                == Some(false);
        let (mode, mode_source) = if admission_off {
            // Evaluated in background scans only: never blocks.
            ("audit", "/spec/evaluation/admission/enabled")
        } else if has("Deny") {
            ("enforce", "/spec/validationActions")
        } else if has("Warn") {
            ("warn", "/spec/validationActions")
        } else if has("Audit") {
            ("audit", "/spec/validationActions")
        } else if engine == "kyverno" && actions.is_empty() {
            // Kyverno's ValidatingPolicy defaults to Audit.
            ("audit", "default")
        } else {
            self.warn(
                at.line,
                at.pointer("/spec/validationActions"),
                "no Deny, Warn or Audit in validationActions; mode unknown".into(),
            );
            ("unknown", "/spec/validationActions")
        };
        Self::set_mode(&mut attrs, mode, mode_source, None);
        attrs.insert("validation_actions".into(), json!(actions));
        put(&mut attrs, "policy_name", text_at(value, "/spec/policyName"));
        put(
            &mut attrs,
            "match_resources",
            value.pointer("/spec/matchResources").map(crate::bounded_json),
        );
        let namespace = text_at(value, "/metadata/namespace");
        self.push(
            EvidenceKind::AdmissionPolicy,
            at,
            "",
            None,
            self.subject(namespace),
            attrs,
        );
    }

    /// A Gatekeeper constraint: `spec.enforcementAction` deny (the default) is
    /// enforce, dryrun is audit, warn is warn; `scoped` takes the strongest of
    /// the `spec.scopedEnforcementActions[].action`s whose enforcement points
    /// include an admission point ([`ADMISSION_POINTS`]), and is audit when
    /// every entry names only other points (audit, gator). Each
    /// `status.violations` entry is an `admission_decision`.
    fn gatekeeper(&mut self, value: &Value, at: At<'_>) {
        let mut attrs = self.policy_attrs(value, "gatekeeper");
        let action = value.pointer("/spec/enforcementAction").and_then(Value::as_str);
        // Gatekeeper compares actions case-sensitively, and skips a result
        // whose action is not one of these: `Deny` never denies.
        let gate_mode = |action: &str| match action {
            "deny" => Some("enforce"),
            "dryrun" => Some("audit"),
            "warn" => Some("warn"),
            _ => None,
        };
        let ignored = |action: &str| {
            format!(
                "enforcementAction `{}` is not deny, dryrun, warn or scoped (Gatekeeper compares them \
                 case-sensitively and ignores any other value, so it never blocks); mode unknown",
                bounded(action)
            )
        };
        let (mode, mode_source) = match action {
            // Gatekeeper's default, also for an empty value.
            None | Some("") => ("enforce", "default".to_string()),
            Some("scoped") => {
                let entries: Vec<(&str, Vec<&str>)> = value
                    .pointer("/spec/scopedEnforcementActions")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|entry| {
                        let action = entry.get("action").and_then(Value::as_str)?;
                        let points = entry
                            .get("enforcementPoints")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                            .filter_map(|point| point.get("name").and_then(Value::as_str))
                            .collect();
                        Some((action, points))
                    })
                    .collect();
                // Only the admission enforcement points decide whether a request
                // is stopped: `gator.gatekeeper.sh` (the shift-left CLI) and
                // `audit.gatekeeper.sh` (the audit of existing resources) do not.
                let admission_actions: Vec<&str> = entries
                    .iter()
                    .filter(|(_, points)| points.iter().any(|point| ADMISSION_POINTS.contains(point)))
                    .map(|(action, _)| *action)
                    .collect();
                let at_admission: Vec<&str> = admission_actions
                    .iter()
                    .filter_map(|action| gate_mode(action))
                    .collect();
                let invalid = admission_actions.iter().find(|action| gate_mode(action).is_none());
                if let Some(action) = invalid {
                    self.warn(
                        at.line,
                        at.pointer("/spec/scopedEnforcementActions"),
                        format!("a scoped {}", ignored(action)),
                    );
                }
                let strongest = ["enforce", "warn", "audit"]
                    .into_iter()
                    .find(|mode| at_admission.contains(mode));
                let mode = match strongest {
                    Some(mode) => mode,
                    None if invalid.is_some() => "unknown",
                    None if entries.iter().any(|(_, points)| points.is_empty()) => {
                        self.warn(
                            at.line,
                            at.pointer("/spec/scopedEnforcementActions"),
                            "a scoped enforcement action names no enforcementPoints, and none names an admission \
                             point (validation.gatekeeper.sh, vap.k8s.io); mode unknown"
                                .into(),
                        );
                        "unknown"
                    }
                    // Scoped to the audit or to gator only: reported, never stopped at admission.
                    None if !entries.is_empty() => "audit",
                    None => {
                        self.warn(
                            at.line,
                            at.pointer("/spec/scopedEnforcementActions"),
                            "enforcementAction `scoped` without scopedEnforcementActions; mode unknown".into(),
                        );
                        "unknown"
                    }
                };
                attrs.insert(
                    "scoped_actions".into(),
                    json!(entries.iter().map(|(action, _)| bounded(action)).collect::<Vec<_>>()),
                );
                attrs.insert(
                    "scoped_enforcement_points".into(),
                    json!(
                        entries
                            .iter()
                            .map(|(action, points)| json!({
                                "action": bounded(action),
                                "enforcement_points": points.iter().map(|point| bounded(point)).collect::<Vec<_>>(),
                            }))
                            .collect::<Vec<_>>()
                    ),
                );
                (mode, "/spec/scopedEnforcementActions".to_string())
            }
            Some(action) => match gate_mode(action) {
                Some(mode) => (mode, "/spec/enforcementAction".to_string()),
                None => {
                    self.warn(at.line, at.pointer("/spec/enforcementAction"), ignored(action));
                    ("unknown", "/spec/enforcementAction".to_string())
                }
            },
        };
        Self::set_mode(&mut attrs, mode, &mode_source, action);
        put(
            &mut attrs,
            "match",
            value.pointer("/spec/match").map(crate::bounded_json),
        );
        put(
            &mut attrs,
            "parameters",
            value.pointer("/spec/parameters").map(crate::bounded_json),
        );
        put(
            &mut attrs,
            "total_violations",
            value.pointer("/status/totalViolations").cloned(),
        );
        put(&mut attrs, "audit_timestamp", text_at(value, "/status/auditTimestamp"));
        self.push(EvidenceKind::AdmissionPolicy, at, "", None, self.subject(None), attrs);

        let audit_time = time_at(value, "/status/auditTimestamp");
        let violations = value.pointer("/status/violations").and_then(Value::as_array);
        for (index, violation) in violations.into_iter().flatten().enumerate() {
            let mut attrs = Map::new();
            attrs.insert("origin".into(), "gatekeeper_audit".into());
            attrs.insert("engine".into(), "gatekeeper".into());
            put(&mut attrs, "policy", text_at(value, "/metadata/name"));
            put(&mut attrs, "constraint_kind", text_at(value, "/kind"));
            attrs.insert("result".into(), "fail".into());
            put(&mut attrs, "action", text_at(violation, "/enforcementAction"));
            put(&mut attrs, "message", text_at(violation, "/message"));
            let mut resource = Map::new();
            put(&mut resource, "api_version", text_at(violation, "/version"));
            put(&mut resource, "group", text_at(violation, "/group"));
            put(&mut resource, "kind", text_at(violation, "/kind"));
            put(&mut resource, "name", text_at(violation, "/name"));
            put(&mut resource, "namespace", text_at(violation, "/namespace"));
            attrs.insert("resources".into(), json!([resource]));
            let namespace = text_at(violation, "/namespace");
            self.push(
                EvidenceKind::AdmissionDecision,
                at,
                &format!("/status/violations/{index}"),
                audit_time,
                self.subject(namespace),
                attrs,
            );
        }
    }

    /// sigstore policy-controller `ClusterImagePolicy`: `spec.mode` enforce
    /// (the default) or warn.
    fn image_policy(&mut self, value: &Value, at: At<'_>) {
        let mut attrs = self.policy_attrs(value, "sigstore-policy-controller");
        let action = value.pointer("/spec/mode").and_then(Value::as_str);
        let (mode, mode_source) = match action.map(str::to_ascii_lowercase).as_deref() {
            None => ("enforce", "default"),
            Some("enforce") => ("enforce", "/spec/mode"),
            Some("warn") => ("warn", "/spec/mode"),
            Some(other) => {
                self.warn(
                    at.line,
                    at.pointer("/spec/mode"),
                    format!("mode `{}` is neither enforce nor warn; mode unknown", bounded(other)),
                );
                ("unknown", "/spec/mode")
            }
        };
        Self::set_mode(&mut attrs, mode, mode_source, action);
        let images: Vec<Value> = value
            .pointer("/spec/images")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|image| image.get("glob").or_else(|| image.get("regex")))
            .take(100)
            .map(crate::bounded_json)
            .collect();
        attrs.insert("images".into(), Value::Array(images));
        let authorities: Vec<Value> = value
            .pointer("/spec/authorities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .take(100)
            .map(|authority| {
                let mut summary = Map::new();
                let kind = ["keyless", "key", "static"]
                    .into_iter()
                    .find(|kind| authority.get(*kind).is_some());
                put(&mut summary, "type", kind);
                put(&mut summary, "url", text_at(authority, "/keyless/url"));
                let identities: Vec<Value> = authority
                    .pointer("/keyless/identities")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .take(100)
                    .map(crate::bounded_json)
                    .collect();
                if !identities.is_empty() {
                    summary.insert("identities".into(), Value::Array(identities));
                }
                put(&mut summary, "static_action", text_at(authority, "/static/action"));
                put(&mut summary, "ctlog_url", text_at(authority, "/ctlog/url"));
                put(
                    &mut summary,
                    "attestations",
                    authority.get("attestations").map(crate::bounded_json),
                );
                Value::Object(summary)
            })
            .collect();
        attrs.insert("authorities".into(), Value::Array(authorities));
        self.push(EvidenceKind::AdmissionPolicy, at, "", None, self.subject(None), attrs);
    }

    /// `PolicyReport`/`ClusterPolicyReport` and OpenReports: one
    /// `admission_decision` per result.
    fn report(&mut self, value: &Value, at: At<'_>) {
        let Some(results) = value.get("results").and_then(Value::as_array) else {
            self.warn(
                at.line,
                at.pointer("/results"),
                "policy report without results; not recorded".into(),
            );
            return;
        };
        let report_namespace = text_at(value, "/metadata/namespace");
        let report_time = time_at(value, "/metadata/creationTimestamp");
        let engine = text_at(value, "/metadata/labels/app.kubernetes.io~1managed-by")
            .or_else(|| text_at(value, "/metadata/labels/policy.kubernetes.io~1engine"));
        let scope = value.get("scope").map(resource_reference);
        for (index, result) in results.iter().enumerate() {
            let pointer = format!("/results/{index}");
            if !result.is_object() {
                self.refuse(
                    at.line,
                    at.pointer(&pointer),
                    "policy report result is not an object; skipped".into(),
                );
                continue;
            }
            let mut attrs = Map::new();
            attrs.insert("origin".into(), "policy_report".into());
            put(&mut attrs, "report_api_version", text_at(value, "/apiVersion"));
            put(&mut attrs, "report_kind", text_at(value, "/kind"));
            put(&mut attrs, "report_name", text_at(value, "/metadata/name"));
            put(&mut attrs, "report_namespace", report_namespace.clone());
            put(&mut attrs, "engine", engine.clone());
            put(&mut attrs, "source", text_at(result, "/source"));
            put(&mut attrs, "policy", text_at(result, "/policy"));
            put(&mut attrs, "rule", text_at(result, "/rule"));
            put(
                &mut attrs,
                "result",
                text_at(result, "/result").map(|result| result.to_ascii_lowercase()),
            );
            put(&mut attrs, "severity", text_at(result, "/severity"));
            put(&mut attrs, "category", text_at(result, "/category"));
            put(&mut attrs, "message", text_at(result, "/message"));
            put(&mut attrs, "scored", result.get("scored").and_then(Value::as_bool));
            let resources: Vec<Value> = match result.get("resources").and_then(Value::as_array) {
                Some(resources) => resources.iter().take(100).map(resource_reference).collect(),
                None => scope.clone().into_iter().collect(),
            };
            let namespace = report_namespace.clone().or_else(|| {
                resources
                    .iter()
                    .find_map(|resource| resource.get("namespace").and_then(Value::as_str).map(str::to_string))
            });
            attrs.insert("resources".into(), Value::Array(resources));
            put(
                &mut attrs,
                "properties",
                result.get("properties").map(crate::bounded_json),
            );
            let (time, problem) = result_time(result);
            if let Some(message) = problem {
                self.warn(at.line, at.pointer(&format!("{pointer}/timestamp")), message);
            }
            let time = time.or(report_time);
            self.push(
                EvidenceKind::AdmissionDecision,
                at,
                &pointer,
                time,
                self.subject(namespace),
                attrs,
            );
        }
    }

    /// A Kubernetes audit event: the request, the response code and the
    /// admission annotations. Read-only requests and early stages without
    /// admission annotations are counted, not recorded.
    fn audit_event(&mut self, value: &Value, at: At<'_>) {
        let verb = text_at(value, "/verb").unwrap_or_default();
        let stage = text_at(value, "/stage");
        let annotations = value.get("annotations").and_then(Value::as_object);
        let admission_annotations: Map<String, Value> = annotations
            .into_iter()
            .flatten()
            .filter(|(key, _)| is_admission_annotation(key))
            .take(100)
            .map(|(key, value)| (bounded(key), crate::bounded_json(value)))
            .collect();
        let read_only = matches!(verb.as_str(), "get" | "list" | "watch");
        let early = stage
            .as_deref()
            .is_some_and(|stage| stage == "RequestReceived" || stage == "ResponseStarted");
        if (read_only || early) && admission_annotations.is_empty() {
            self.skipped_audit_events += 1;
            return;
        }
        let code = value.pointer("/responseStatus/code").and_then(Value::as_u64);
        let message = text_at(value, "/responseStatus/message");
        let mut attrs = Map::new();
        attrs.insert("origin".into(), "audit_event".into());
        put(&mut attrs, "api_version", text_at(value, "/apiVersion"));
        put(&mut attrs, "audit_id", text_at(value, "/auditID"));
        put(&mut attrs, "stage", stage);
        put(&mut attrs, "level", text_at(value, "/level"));
        attrs.insert("verb".into(), verb.into());
        put(&mut attrs, "request_uri", text_at(value, "/requestURI"));
        put(&mut attrs, "user", text_at(value, "/user/username"));
        put(&mut attrs, "response_code", code);
        put(&mut attrs, "response_reason", text_at(value, "/responseStatus/reason"));
        put(&mut attrs, "response_message", message.clone());
        let denied_by = message.as_deref().and_then(webhook_denial);
        let pod_security_denied = message
            .as_deref()
            .is_some_and(|message| message.contains("violates PodSecurity"));
        // An admission denial: a webhook, Pod Security or a ValidatingAdmissionPolicy said no.
        let denied = code.is_some_and(|code| code >= 400)
            && (denied_by.is_some()
                || pod_security_denied
                || message.as_deref().is_some_and(|message| {
                    message.contains("ValidatingAdmissionPolicy") && message.contains("denied request")
                }));
        attrs.insert(
            "result".into(),
            match code {
                Some(code) if code < 400 => "allowed",
                Some(_) if denied => "denied",
                Some(_) => "failed",
                None => "unknown",
            }
            .into(),
        );
        put(&mut attrs, "denied_by_webhook", denied_by);
        if pod_security_denied {
            attrs.insert("denied_by".into(), "pod-security".into());
        }
        let mut pod_security = Map::new();
        for (key, name) in [
            ("pod-security.kubernetes.io/enforce-policy", "enforce_policy"),
            ("pod-security.kubernetes.io/audit-violations", "audit_violations"),
            ("pod-security.kubernetes.io/exempt", "exempt"),
        ] {
            put(
                &mut pod_security,
                name,
                annotations
                    .and_then(|annotations| annotations.get(key))
                    .and_then(Value::as_str)
                    .map(bounded),
            );
        }
        if !pod_security.is_empty() {
            attrs.insert("pod_security".into(), Value::Object(pod_security));
        }
        attrs.insert("annotations".into(), Value::Object(admission_annotations));
        let mut resource = Map::new();
        put(&mut resource, "resource", text_at(value, "/objectRef/resource"));
        put(&mut resource, "subresource", text_at(value, "/objectRef/subresource"));
        put(&mut resource, "api_group", text_at(value, "/objectRef/apiGroup"));
        put(&mut resource, "api_version", text_at(value, "/objectRef/apiVersion"));
        put(
            &mut resource,
            "name",
            text_at(value, "/objectRef/name").or_else(|| text_at(value, "/responseObject/metadata/name")),
        );
        put(&mut resource, "namespace", text_at(value, "/objectRef/namespace"));
        attrs.insert("resources".into(), json!([resource]));
        let images = request_images(value);
        let image = (images.len() == 1).then(|| images[0].clone());
        attrs.insert("images".into(), json!(images));
        let time = time_at(value, "/stageTimestamp")
            .or_else(|| time_at(value, "/requestReceivedTimestamp"))
            .or_else(|| time_at(value, "/timestamp"));
        let subject = Subject {
            image,
            ..self.subject(text_at(value, "/objectRef/namespace"))
        };
        self.push(EvidenceKind::AdmissionDecision, at, "", time, subject, attrs);
    }
}

/// Annotations that admission writes into audit events.
fn is_admission_annotation(key: &str) -> bool {
    key.starts_with("pod-security.kubernetes.io/")
        || key.starts_with("validation.policy.admission.k8s.io/")
        || key.starts_with("admission.k8s.io/")
        || key.starts_with("mutation.webhook.admission.k8s.io/")
        || key.contains("gatekeeper")
        || key.contains("kyverno")
        || key.contains("policy.sigstore.dev")
}

/// The webhook named in `admission webhook "NAME" denied the request`.
fn webhook_denial(message: &str) -> Option<String> {
    let rest = message.split("admission webhook \"").nth(1)?;
    let (name, after) = rest.split_once('"')?;
    after.trim_start().starts_with("denied").then(|| bounded(name))
}

/// Container images of the pod (or pod template) in the request.
fn request_images(event: &Value) -> Vec<String> {
    let Some(object) = event.get("requestObject") else {
        return Vec::new();
    };
    let spec = object
        .pointer("/spec/template/spec")
        .or_else(|| object.pointer("/spec/jobTemplate/spec/template/spec"))
        .or_else(|| object.get("spec"));
    let mut images = Vec::new();
    for list in ["initContainers", "containers", "ephemeralContainers"] {
        for container in spec
            .and_then(|spec| spec.get(list))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(image) = container.get("image").and_then(Value::as_str)
                && images.len() < 100
            {
                images.push(bounded(image));
            }
        }
    }
    images
}

/// A resource reference (`apiVersion`, `kind`, `name`, `namespace`, `uid`).
fn resource_reference(value: &Value) -> Value {
    let mut reference = Map::new();
    put(&mut reference, "api_version", text_at(value, "/apiVersion"));
    put(&mut reference, "kind", text_at(value, "/kind"));
    put(&mut reference, "name", text_at(value, "/name"));
    put(&mut reference, "namespace", text_at(value, "/namespace"));
    put(&mut reference, "uid", text_at(value, "/uid"));
    Value::Object(reference)
}

/// A report result's `timestamp` (`{seconds, nanos}`) and a message when it
/// could not be read as given (nanoseconds outside 0..1e9 are dropped; a
/// missing or out-of-range `seconds` gives no time).
fn result_time(result: &Value) -> (Option<Timestamp>, Option<String>) {
    let Some(timestamp) = result.get("timestamp") else {
        return (None, None);
    };
    let Some(seconds) = timestamp.get("seconds").and_then(Value::as_i64) else {
        return (
            None,
            Some("result timestamp without whole `seconds`; the report's time is used".into()),
        );
    };
    let nanos = timestamp.get("nanos").and_then(Value::as_i64).unwrap_or(0);
    let nanos = i32::try_from(nanos)
        .ok()
        .filter(|nanos| (0..1_000_000_000).contains(nanos));
    let time = Timestamp::new(seconds, nanos.unwrap_or(0))
        .ok()
        .and_then(|time| model::time::check_range(time).ok());
    match (time, nanos) {
        (None, _) => (
            None,
            Some(format!(
                "result timestamp {seconds} s is out of range; the report's time is used"
            )),
        ),
        (Some(time), None) => (
            Some(time),
            Some(format!(
                "result timestamp `nanos` is not within 0..1e9; read as {seconds} s exactly"
            )),
        ),
        (Some(time), Some(_)) => (Some(time), None),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn run(input: &str) -> Parsed {
        let context = Context {
            origin: "/k8s/input.yaml".into(),
            sha256: "ab".into(),
            ..Context::default()
        };
        parse(input.as_bytes(), &context, &Limits::default())
    }

    fn modes(parsed: &Parsed) -> Vec<(String, String)> {
        parsed
            .evidence
            .iter()
            .filter(|record| record.kind == EvidenceKind::AdmissionPolicy)
            .map(|record| {
                (
                    record.attrs["mode"].as_str().unwrap().to_string(),
                    record.attrs["mode_source"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn documents_past_max_yaml_documents_are_refused_at_the_first_one_not_read() {
        let policy = |name: &str| {
            format!(
                "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: {name}}}\n\
                 spec: {{validationFailureAction: Enforce, rules: [{{name: r, validate: {{pattern: {{}}}}}}]}}\n"
            )
        };
        let text = ["a", "b", "c", "d"].map(policy).join("---\n# a comment only\n---\n");
        let two = Limits {
            max_yaml_documents: 2,
            ..Limits::default()
        };
        let context = Context {
            origin: "/k8s/input.yaml".into(),
            ..Context::default()
        };
        let parsed = parse(text.as_bytes(), &context, &two);
        assert_eq!(modes(&parsed).len(), 2);
        assert_eq!(
            parsed.lines_and_messages(),
            [(
                Some(15),
                false,
                "more than 2 YAML documents: the first 2 read, the 2 from here on not read"
            )]
        );
    }

    #[test]
    fn a_plain_large_document_is_refused_for_its_nodes_without_talk_of_alias_bombs() {
        let list = format!(
            "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {{name: p, labels: [{}]}}\n",
            vec!["x"; 50].join(",")
        );
        let small = Limits {
            max_yaml_nodes: 40,
            ..Limits::default()
        };
        let context = Context::default();
        let parsed = parse(list.as_bytes(), &context, &small);
        let messages: Vec<&str> = parsed
            .diagnostics
            .iter()
            .map(|diagnostic| diagnostic.message.as_str())
            .collect();
        assert!(
            messages[0].starts_with("YAML document not read")
                && messages[0].contains("too many YAML nodes (41, limit 40)"),
            "{messages:?}"
        );
        assert!(!messages[0].contains("alias"), "{messages:?}");
        let default = parse(list.as_bytes(), &context, &Limits::default());
        assert!(
            default
                .diagnostics
                .iter()
                .all(|diagnostic| !diagnostic.message.contains("nodes")),
            "{:?}",
            default.diagnostics
        );
    }

    #[test]
    fn kyverno_rule_action_wins_over_the_spec_default() {
        let parsed = run(r#"
apiVersion: kyverno.io/v1
kind: Policy
metadata: {name: p, namespace: team-a}
spec:
  validationFailureAction: Enforce
  rules:
  - name: inherits
    validate: {pattern: {}}
  - name: own
    validate: {failureAction: Audit, pattern: {}}
  - name: images
    verifyImages:
    - imageReferences: ["ghcr.io/acme/*"]
      failureAction: Enforce
  - name: mutates
    mutate: {}
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: q}
spec:
  rules:
  - name: nothing-said
    validate: {pattern: {}}
"#);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert_eq!(
            modes(&parsed),
            [
                ("enforce".into(), "/spec/validationFailureAction".into()),
                ("audit".into(), "/spec/rules/1/validate/failureAction".into()),
                ("enforce".into(), "/spec/rules/2/verifyImages/0/failureAction".into()),
                ("audit".into(), "default".into()),
            ]
        );
        assert_eq!(parsed.evidence[0].subject.namespace.as_deref(), Some("team-a"));
        assert_eq!(parsed.evidence[2].attrs["image_references"], json!(["ghcr.io/acme/*"]));
        assert_eq!(parsed.evidence[3].source.line, Some(19));
        assert_eq!(parsed.evidence[3].source.pointer.as_deref(), Some("/spec/rules/0"));
    }

    #[test]
    fn bindings_and_gatekeeper_scoped_actions() {
        let parsed = run(r#"
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: b}
spec: {policyName: p, validationActions: [Warn, Audit]}
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: c}
spec: {policyName: p, validationActions: [Audit, Deny]}
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sAllowedRepos
metadata: {name: repos}
spec:
  enforcementAction: scoped
  scopedEnforcementActions:
  - action: warn
    enforcementPoints: [{name: validation.gatekeeper.sh}]
  - action: deny
    enforcementPoints: [{name: gator.gatekeeper.sh}, {name: audit.gatekeeper.sh}]
status:
  auditTimestamp: "2025-01-02T03:04:05Z"
  totalViolations: 1
  violations:
  - {enforcementAction: deny, kind: Pod, name: web, namespace: shop, message: "bad repo", version: v1}
"#);
        assert_eq!(
            modes(&parsed),
            [
                ("warn".into(), "/spec/validationActions".into()),
                ("enforce".into(), "/spec/validationActions".into()),
                // Deny only in gator (shift-left) and the audit: warn at admission.
                ("warn".into(), "/spec/scopedEnforcementActions".into()),
            ]
        );
        let decision = parsed.evidence.last().unwrap();
        assert_eq!(decision.kind, EvidenceKind::AdmissionDecision);
        assert_eq!(decision.attrs["result"], "fail");
        assert_eq!(decision.attrs["action"], "deny");
        assert_eq!(decision.subject.namespace.as_deref(), Some("shop"));
        assert_eq!(decision.occurred_at.unwrap().to_string(), "2025-01-02T03:04:05Z");
    }

    #[test]
    fn gatekeeper_scoped_mode_follows_admission_points_only() {
        let constraint = |actions: &str| {
            format!(
                "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sRequiredLabels\nmetadata: {{name: c}}\n\
                 spec:\n  enforcementAction: scoped\n  scopedEnforcementActions:\n{actions}"
            )
        };
        let cases = [
            // Deny at the webhook wins over warn elsewhere.
            (
                "  - {action: deny, enforcementPoints: [{name: validation.gatekeeper.sh}]}\n  - {action: warn, enforcementPoints: [{name: gator.gatekeeper.sh}]}\n",
                "enforce",
            ),
            (
                "  - {action: deny, enforcementPoints: [{name: vap.k8s.io}]}\n",
                "enforce",
            ),
            ("  - {action: deny, enforcementPoints: [{name: \"*\"}]}\n", "enforce"),
            // Deny only in gator and the audit: nothing stops a request.
            (
                "  - {action: deny, enforcementPoints: [{name: gator.gatekeeper.sh}, {name: audit.gatekeeper.sh}]}\n",
                "audit",
            ),
            (
                "  - {action: dryrun, enforcementPoints: [{name: validation.gatekeeper.sh}]}\n",
                "audit",
            ),
            ("  - {action: deny}\n", "unknown"),
            // Gatekeeper compares actions case-sensitively: `Deny` is ignored.
            (
                "  - {action: Deny, enforcementPoints: [{name: validation.gatekeeper.sh}]}\n",
                "unknown",
            ),
        ];
        for (actions, expected) in cases {
            let parsed = run(&constraint(actions));
            assert_eq!(parsed.evidence[0].attrs["mode"], expected, "{actions}");
            let warned = parsed.diagnostics.iter().any(|diagnostic| diagnostic.warning);
            assert_eq!(warned, expected == "unknown", "{actions}: {:?}", parsed.diagnostics);
        }
        let parsed = run(&constraint(
            "  - {action: warn, enforcementPoints: [{name: validation.gatekeeper.sh}]}\n",
        ));
        assert_eq!(
            parsed.evidence[0].attrs["scoped_enforcement_points"],
            json!([{"action": "warn", "enforcement_points": ["validation.gatekeeper.sh"]}])
        );
    }

    #[test]
    fn gatekeeper_actions_are_case_sensitive_and_empty_is_the_default() {
        let constraint = |action: &str| {
            format!(
                "apiVersion: constraints.gatekeeper.sh/v1beta1\nkind: K8sRequiredLabels\nmetadata: {{name: c}}\n\
                 spec:\n  enforcementAction: {action}\n"
            )
        };
        for (action, mode, source, warned) in [
            ("deny", "enforce", "/spec/enforcementAction", false),
            ("dryrun", "audit", "/spec/enforcementAction", false),
            ("Deny", "unknown", "/spec/enforcementAction", true),
            ("DRYRUN", "unknown", "/spec/enforcementAction", true),
            ("Warn", "unknown", "/spec/enforcementAction", true),
            ("\"\"", "enforce", "default", false),
        ] {
            let parsed = run(&constraint(action));
            assert_eq!(modes(&parsed), [(mode.to_string(), source.to_string())], "{action}");
            let warnings: Vec<&str> = parsed
                .diagnostics
                .iter()
                .filter(|diagnostic| diagnostic.warning)
                .map(|diagnostic| diagnostic.message.as_str())
                .collect();
            assert_eq!(!warnings.is_empty(), warned, "{action}: {warnings:?}");
            assert!(
                warnings
                    .iter()
                    .all(|message| message.contains("ignores any other value"))
            );
        }
    }

    #[test]
    fn kyverno_policies_evaluated_in_the_background_only_are_audit() {
        let parsed = run(r#"
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: background-only}
spec:
  admission: false
  background: true
  validationFailureAction: Enforce
  rules:
  - name: r
    validate: {pattern: {}}
---
apiVersion: policies.kyverno.io/v1alpha1
kind: ValidatingPolicy
metadata: {name: cel}
spec:
  validationActions: [Deny]
  evaluation: {admission: {enabled: false}, background: {enabled: true}}
---
apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata: {name: both}
spec:
  admission: true
  validationFailureAction: Enforce
  rules:
  - name: r
    validate: {pattern: {}}
"#);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert_eq!(
            modes(&parsed),
            [
                ("audit".into(), "/spec/admission".into()),
                ("audit".into(), "/spec/evaluation/admission/enabled".into()),
                ("enforce".into(), "/spec/validationFailureAction".into()),
            ]
        );
    }

    #[test]
    fn a_document_starting_on_its_marker_line_is_kept() {
        let report = |kind: &str, name: &str| {
            format!(
                "{{apiVersion: wgpolicyk8s.io/v1alpha2, kind: {kind}, metadata: {{name: {name}}}, \
                 results: [{{policy: p, rule: r, result: fail}}]}}"
            )
        };
        let input = format!(
            "# reports\n{}\n--- {}\n--- # a comment\n{}\n--- !!map\n{}\n",
            report("PolicyReport", "a"),
            report("ClusterPolicyReport", "b"),
            report("PolicyReport", "c"),
            report("PolicyReport", "d"),
        );
        let parsed = run(&input);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let names: Vec<(&str, Option<u64>)> = parsed
            .evidence
            .iter()
            .map(|record| (record.attrs["report_name"].as_str().unwrap(), record.source.line))
            .collect();
        assert_eq!(names, [("a", Some(1)), ("b", Some(3)), ("c", Some(5)), ("d", Some(6))]);
        // A scalar document on its marker line is not lost silently.
        let parsed = run(&format!("# reports\n{}\n--- |\n  text\n", report("PolicyReport", "a")));
        assert_eq!(parsed.evidence.len(), 1);
        assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
        assert_eq!(parsed.diagnostics[0].line, Some(3));
    }

    #[test]
    fn a_file_of_another_format_is_refused() {
        let github =
            r#"{"action": "completed", "check_run": {"id": 1, "name": "CodeQL"}, "repository": {"full_name": "o/r"}}"#;
        let backstage = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a}\n---\nkind: Group\nmetadata: {name: g}\n";
        for input in [github, backstage, ""] {
            let parsed = run(input);
            assert!(parsed.evidence.is_empty());
            let refusal = crate::only_refusal(&parsed);
            assert!(refusal.message.contains("nothing recorded"), "{}", refusal.message);
        }
        let parsed = run(backstage);
        let warnings: Vec<String> = parsed
            .diagnostics
            .iter()
            .filter(|diagnostic| diagnostic.warning)
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            warnings,
            [
                "/k8s/input.yaml:1: warning: the document at line 1 is apiVersion `backstage.io/v1alpha1` kind \
                 `Component`: not an admission policy, policy report or audit event; not recorded",
                "/k8s/input.yaml:5: warning: the document at line 5 has kind `Group` and no apiVersion: not an \
                 admission policy, policy report or audit event; not recorded",
            ]
        );
        // Nothing recorded but nothing wrong: read-only audit events are counted, not refused.
        let read = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","verb":"get"}"#;
        let parsed = run(read);
        assert!(parsed.diagnostics.iter().all(|diagnostic| diagnostic.warning));
    }

    #[test]
    fn an_audit_line_that_is_not_utf8_loses_only_itself() {
        let event = |user: &str| {
            format!(
                r#"{{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","verb":"create","user":{{"username":"{user}"}},"objectRef":{{"resource":"pods","namespace":"shop"}},"responseStatus":{{"code":201}},"annotations":{{"pod-security.kubernetes.io/enforce-policy":"baseline:latest"}}}}"#
            )
        };
        let mut input = format!("{}\n", event("ann")).into_bytes();
        input.extend_from_slice(event("jos\u{e9}").replace('\u{e9}', "\u{1}").as_bytes());
        let bad = input.iter().rposition(|byte| *byte == 1).unwrap();
        input[bad] = 0xe9; // Latin-1 é
        input.extend_from_slice(format!("\n{}\n", event("bob")).as_bytes());
        let context = Context {
            origin: "/k8s/audit.log".into(),
            ..Context::default()
        };
        let parsed = parse(&input, &context, &Limits::default());
        let lines: Vec<Option<u64>> = parsed.evidence.iter().map(|record| record.source.line).collect();
        assert_eq!(lines, [Some(1), Some(3)]);
        assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
        assert_eq!(parsed.diagnostics[0].line, Some(2));
        assert!(parsed.diagnostics[0].message.contains("not UTF-8"));
        // A YAML document that is not UTF-8 is still refused whole.
        let parsed = parse(
            b"apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nmetadata: {name: \xe9}\n",
            &context,
            &Limits::default(),
        );
        assert!(parsed.evidence.is_empty());
        assert!(
            parsed.diagnostics[0]
                .message
                .contains("not UTF-8 text; nothing recorded")
        );
    }

    #[test]
    fn audit_event_with_a_webhook_denial() {
        let line = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","level":"Metadata","auditID":"1","stage":"ResponseComplete","requestURI":"/api/v1/namespaces/shop/pods","verb":"create","user":{"username":"alice"},"objectRef":{"resource":"pods","namespace":"shop","name":"web","apiVersion":"v1"},"responseStatus":{"metadata":{},"status":"Failure","message":"admission webhook \"validate.kyverno.svc-fail\" denied the request: policy require-labels","reason":"Forbidden","code":400},"requestReceivedTimestamp":"2025-02-01T10:00:00.000000Z","stageTimestamp":"2025-02-01T10:00:00.100000Z","annotations":{"authorization.k8s.io/decision":"allow"}}"#;
        let read = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","verb":"get","responseStatus":{"code":200}}"#;
        let input = format!("{line}\n{read}\nnot json\n");
        let parsed = run(&input);
        assert_eq!(parsed.evidence.len(), 1);
        let record = &parsed.evidence[0];
        assert_eq!(record.attrs["result"], "denied");
        assert_eq!(record.attrs["denied_by_webhook"], "validate.kyverno.svc-fail");
        assert_eq!(record.source.line, Some(1));
        assert_eq!(record.occurred_at.unwrap().to_string(), "2025-02-01T10:00:00.1Z");
        let lines: Vec<_> = parsed
            .diagnostics
            .iter()
            .map(|diagnostic| (diagnostic.line, diagnostic.warning))
            .collect();
        assert_eq!(lines, [(Some(3), false), (None, true)]);
    }

    #[test]
    fn pod_security_denial() {
        let event = r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1","stage":"ResponseComplete","verb":"create","objectRef":{"resource":"pods","namespace":"prod"},"responseStatus":{"code":403,"message":"pods \"x\" is forbidden: violates PodSecurity \"restricted:latest\": privileged"},"annotations":{"pod-security.kubernetes.io/enforce-policy":"restricted:latest"},"requestObject":{"kind":"Pod","spec":{"containers":[{"name":"a","image":"nginx:1"}]}}}"#;
        let parsed = run(event);
        let record = &parsed.evidence[0];
        assert_eq!(record.attrs["result"], "denied");
        assert_eq!(record.attrs["denied_by"], "pod-security");
        assert_eq!(record.attrs["pod_security"]["enforce_policy"], "restricted:latest");
        assert_eq!(record.subject.image.as_deref(), Some("nginx:1"));
    }

    #[test]
    fn hostile_and_unknown_documents() {
        let bomb = "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f]\n";
        let deep = format!("x: {}{}", "[".repeat(100), "]".repeat(100));
        let input = format!(
            "{bomb}---\n{deep}\n---\napiVersion: apps/v1\nkind: Deployment\n---\n: : bad\n---\napiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\nmetadata: {{name: ok}}\nspec: {{mode: warn}}\n"
        );
        let parsed = run(&input);
        assert_eq!(modes(&parsed), [("warn".into(), "/spec/mode".into())]);
        assert!(parsed.diagnostics.len() >= 4, "{:?}", parsed.diagnostics);
        assert!(parsed.diagnostics.iter().all(|diagnostic| diagnostic.line.is_some()));
        let truncated = run("{\"apiVersion\": \"kyverno.io/v1\", \"kind\": \"ClusterPolicy\",\n \"spec\": {");
        assert_eq!(truncated.evidence.len(), 0);
        assert_eq!(truncated.diagnostics.len(), 1);
        assert!(truncated.diagnostics[0].message.contains("not JSON"));
    }

    #[test]
    fn detection() {
        assert!(detect("apiVersion: kyverno.io/v1\nkind: ClusterPolicy\n"));
        assert!(detect(
            "\u{feff}apiVersion: v1\nitems:\n- apiVersion: wgpolicyk8s.io/v1alpha2\n"
        ));
        assert!(detect(r#"{"kind":"Event","apiVersion":"audit.k8s.io/v1beta1"}"#));
        assert!(!detect("apiVersion: apps/v1\nkind: Deployment\n"));
        assert!(!detect("apiVersion: kyverno.iox/v1\n"));
    }
}
