//! Policy: the override registry's rules (what a disciplined override is, and
//! the state of each override folded from its ledger records). Pure functions;
//! the clock is a parameter. The CLI turns requests into `override` evidence
//! and the ledger keeps them; nothing here touches disk.

pub mod gate;

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use model::{Evidence, EvidenceKind};
use serde::Serialize;
use serde_json::{Value, json};

/// Default longest lifetime of an override, in days (DESIGN.md section 5).
pub const DEFAULT_MAX_DAYS: i64 = 90;

/// A request to add an override (`dsomm-audit override add`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OverrideRequest {
    /// The rule it waives (scanner rule or vulnerability id).
    pub rule: String,
    /// Only for this tool.
    pub tool: Option<String>,
    /// Only in this repository.
    pub repo: Option<String>,
    /// Only for paths matching this glob.
    pub path: Option<String>,
    /// Only for this finding fingerprint.
    pub fingerprint: Option<String>,
    /// Who owns the exception.
    pub owner: String,
    /// Who approved it (not the owner).
    pub approver: String,
    /// The ticket tracking it.
    pub ticket: String,
    /// Why.
    pub reason: String,
    /// When it stops waiving.
    pub sunset: Option<Timestamp>,
}

fn blank(text: &str) -> bool {
    text.trim().is_empty()
}

/// Check a request; every problem is reported at once, in plain words.
pub fn validate_add(request: &OverrideRequest, now: Timestamp, max_days: i64) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    for (value, name) in [
        (&request.rule, "a rule (--rule)"),
        (&request.owner, "an owner (--owner)"),
        (&request.approver, "an approver (--approver)"),
        (&request.ticket, "a ticket (--ticket)"),
        (&request.reason, "a reason (--reason)"),
    ] {
        if blank(value) {
            problems.push(format!("an override needs {name}"));
        }
    }
    if !blank(&request.owner) && request.owner.trim().eq_ignore_ascii_case(request.approver.trim()) {
        problems.push(format!(
            "the approver must be someone other than the owner (both are `{}`)",
            request.owner.trim()
        ));
    }
    check_sunset(request.sunset, now, max_days, &mut problems);
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

fn check_sunset(sunset: Option<Timestamp>, now: Timestamp, max_days: i64, problems: &mut Vec<String>) {
    match sunset {
        None => problems.push("an override needs a sunset date (--sunset)".into()),
        Some(sunset) if sunset <= now => problems.push(format!(
            "the sunset {} is not in the future",
            model::time::format_time(sunset)
        )),
        Some(sunset) if sunset.duration_since(now) > SignedDuration::from_hours(24 * max_days) => {
            problems.push(format!(
                "the sunset {} is more than {max_days} days away (the configured maximum)",
                model::time::format_time(sunset)
            ));
        }
        Some(_) => {}
    }
}

/// Check an extension (`override extend`): a new review with a new sunset.
pub fn validate_extend(
    state: &OverrideState,
    approver: &str,
    sunset: Option<Timestamp>,
    now: Timestamp,
    max_days: i64,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    if state.revoked.is_some() {
        problems.push(format!("override {} was revoked; add a new one instead", state.id));
    }
    if blank(approver) {
        problems.push("an extension needs an approver (--approver)".into());
    } else if approver.trim().eq_ignore_ascii_case(state.owner.trim()) {
        problems.push(format!(
            "the approver must be someone other than the owner (both are `{}`)",
            state.owner.trim()
        ));
    }
    check_sunset(sunset, now, max_days, &mut problems);
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// The attributes of an `override` record that adds one.
pub fn add_attrs(request: &OverrideRequest, now: Timestamp) -> Value {
    let mut attrs = json!({
        "action": "add",
        "rule": request.rule.trim(),
        "owner": request.owner.trim(),
        "approver": request.approver.trim(),
        "ticket": request.ticket.trim(),
        "reason": request.reason.trim(),
        "created": model::time::format_time(now),
    });
    if let Some(sunset) = request.sunset {
        attrs["sunset"] = json!(model::time::format_time(sunset));
    }
    for (key, value) in [
        ("tool", &request.tool),
        ("repo", &request.repo),
        ("path", &request.path),
        ("fingerprint", &request.fingerprint),
    ] {
        if let Some(value) = value {
            attrs[key] = json!(value);
        }
    }
    attrs
}

/// The attributes of an `override` record that revokes override `id`.
pub fn revoke_attrs(id: u64, reason: &str) -> Value {
    json!({"action": "revoke", "override": id, "reason": reason.trim()})
}

/// The attributes of an `override` record that extends override `id` (a new review).
pub fn extend_attrs(id: u64, sunset: Timestamp, approver: &str) -> Value {
    json!({
        "action": "extend",
        "override": id,
        "sunset": model::time::format_time(sunset),
        "approver": approver.trim(),
    })
}

/// Where an override stands at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Before its sunset and not revoked.
    Active,
    /// Past its sunset.
    Expired,
    /// Revoked.
    Revoked,
}

/// One override as its records make it, at a moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverrideState {
    /// The ledger id of the record that added it (the override's id).
    pub id: u64,
    /// Rule waived.
    pub rule: String,
    /// Tool, repository, path glob and fingerprint it is limited to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// Repository it is limited to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Path glob it is limited to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Fingerprint it is limited to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// Owner.
    pub owner: String,
    /// Approvers, first review first.
    pub approvers: Vec<String>,
    /// Ticket.
    pub ticket: String,
    /// Reason.
    pub reason: String,
    /// When it was added.
    pub created: String,
    /// Current sunset (after extensions).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sunset: Option<String>,
    /// Ledger ids of the records that make it (add, extensions, revocation).
    pub evidence: Vec<u64>,
    /// Revocation reason, when revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
    /// Status at the moment asked.
    pub status: Status,
    /// Whether it is disciplined: owner, an approver other than the owner,
    /// ticket, reason and a sunset within the maximum lifetime of each review.
    pub disciplined: bool,
    /// Why it is not disciplined.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undisciplined_because: Vec<String>,
}

fn text(attrs: &Value, key: &str) -> Option<String> {
    attrs.get(key).and_then(Value::as_str).map(str::to_string)
}

fn time(attrs: &Value, key: &str) -> Option<Timestamp> {
    attrs
        .get(key)
        .and_then(Value::as_str)
        .and_then(|value| value.parse().ok())
}

/// One review of an override: when it was granted and the sunset it set.
type Review = (Timestamp, Option<Timestamp>);

/// Fold the `override` records (any order; others are ignored) into the
/// state of every override as it stood at `now`. Records after `now` are not
/// seen. Overrides come out in id order.
pub fn fold(records: &[Evidence], now: Timestamp, max_days: i64) -> Vec<OverrideState> {
    let mut ordered: Vec<&Evidence> = records
        .iter()
        .filter(|record| record.kind == EvidenceKind::Override && record.occurred_at <= now)
        .collect();
    ordered.sort_by_key(|record| record.id);
    let mut states: BTreeMap<u64, (OverrideState, Vec<Review>)> = BTreeMap::new();
    // Overrides whose record names no action we know: taken as exceptions
    // (never dropped), and undisciplined for it.
    let mut unknown_action: BTreeMap<u64, String> = BTreeMap::new();
    for record in ordered {
        let attrs = &record.attrs;
        let action = attrs.get("action").and_then(Value::as_str);
        match action {
            Some("extend" | "revoke") if attrs.get("override").and_then(Value::as_u64).is_none() => {
                unknown_action.insert(
                    record.id,
                    format!("action `{}` names no override id", action.unwrap_or_default()),
                );
            }
            Some("add" | "extend" | "revoke") => {}
            None => {
                unknown_action.insert(
                    record.id,
                    "no action (an exception recorded outside `override add`)".into(),
                );
            }
            Some(other) => {
                unknown_action.insert(record.id, format!("unknown action `{other}`"));
            }
        }
        let action = if unknown_action.contains_key(&record.id) {
            Some("add")
        } else {
            action
        };
        match action {
            Some("add") => {
                let state = OverrideState {
                    id: record.id,
                    rule: text(attrs, "rule").unwrap_or_default(),
                    tool: text(attrs, "tool"),
                    repo: text(attrs, "repo"),
                    path: text(attrs, "path"),
                    fingerprint: text(attrs, "fingerprint"),
                    owner: text(attrs, "owner").unwrap_or_default(),
                    approvers: text(attrs, "approver").into_iter().collect(),
                    ticket: text(attrs, "ticket").unwrap_or_default(),
                    reason: text(attrs, "reason").unwrap_or_default(),
                    created: text(attrs, "created").unwrap_or_else(|| model::time::format_time(record.occurred_at)),
                    sunset: text(attrs, "sunset"),
                    evidence: vec![record.id],
                    revoked: None,
                    status: Status::Active,
                    disciplined: true,
                    undisciplined_because: Vec::new(),
                };
                let reviews = vec![(record.occurred_at, time(attrs, "sunset"))];
                states.insert(record.id, (state, reviews));
            }
            Some("extend") => {
                if let Some((state, reviews)) = attrs
                    .get("override")
                    .and_then(Value::as_u64)
                    .and_then(|id| states.get_mut(&id))
                {
                    state.evidence.push(record.id);
                    if let Some(approver) = text(attrs, "approver") {
                        state.approvers.push(approver);
                    }
                    state.sunset = text(attrs, "sunset").or(state.sunset.take());
                    reviews.push((record.occurred_at, time(attrs, "sunset")));
                }
            }
            Some("revoke") => {
                if let Some((state, _)) = attrs
                    .get("override")
                    .and_then(Value::as_u64)
                    .and_then(|id| states.get_mut(&id))
                {
                    state.evidence.push(record.id);
                    state.revoked = Some(text(attrs, "reason").unwrap_or_default());
                }
            }
            _ => {}
        }
    }
    states
        .into_values()
        .map(|(mut state, reviews)| {
            let mut because: Vec<String> = unknown_action.get(&state.id).cloned().into_iter().collect();
            for (field, name) in [
                (&state.owner, "no owner"),
                (&state.ticket, "no ticket"),
                (&state.reason, "no reason"),
            ] {
                if blank(field) {
                    because.push(name.to_string());
                }
            }
            if state.approvers.is_empty() || state.approvers.iter().all(|approver| blank(approver)) {
                because.push("no approver".into());
            } else if state
                .approvers
                .iter()
                .any(|approver| approver.trim().eq_ignore_ascii_case(state.owner.trim()))
            {
                because.push("approved by its own owner".into());
            }
            for (reviewed, sunset) in &reviews {
                match sunset {
                    None => because.push("no sunset".into()),
                    Some(sunset) if sunset.duration_since(*reviewed) > SignedDuration::from_hours(24 * max_days) => {
                        because.push(format!("a review granted more than {max_days} days"));
                    }
                    Some(_) => {}
                }
            }
            because.dedup();
            let sunset = state
                .sunset
                .as_deref()
                .and_then(|sunset| sunset.parse::<Timestamp>().ok());
            state.status = if state.revoked.is_some() {
                Status::Revoked
            } else if sunset.is_none_or(|sunset| sunset <= now) {
                Status::Expired
            } else {
                Status::Active
            };
            state.disciplined = because.is_empty();
            state.undisciplined_because = because;
            state
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use model::{OccurredAtSource, SourceRef, Subject};

    fn at(text: &str) -> Timestamp {
        model::time::parse_time(text).unwrap()
    }

    fn request() -> OverrideRequest {
        OverrideRequest {
            rule: "CVE-2024-0001".into(),
            tool: Some("trivy".into()),
            repo: Some("acme/api".into()),
            owner: "ana@acme.example".into(),
            approver: "bo@acme.example".into(),
            ticket: "SEC-12".into(),
            reason: "no fix released; not reachable".into(),
            sunset: Some(at("2025-04-01")),
            ..OverrideRequest::default()
        }
    }

    fn record(id: u64, when: &str, attrs: Value) -> Evidence {
        Evidence {
            id,
            kind: EvidenceKind::Override,
            occurred_at: at(when),
            occurred_at_source: OccurredAtSource::Source,
            ingested_at: at(when),
            subject: Subject::default(),
            source: SourceRef {
                collector: "override".into(),
                origin: "dsomm-audit override".into(),
                sha256: "00".into(),
                line: None,
                pointer: None,
            },
            attrs,
            leaf_hash: String::new(),
        }
    }

    #[test]
    fn an_override_record_without_a_known_action_is_an_undisciplined_exception() {
        let now = at("2025-03-10");
        // As an evidence-ndjson line might carry it: no `action`.
        let bare = json!({"rule": "CVE-1", "tool": "trivy", "owner": "ana", "approver": "ana", "ticket": "T-1", "reason": "r", "sunset": "2025-09-01T00:00:00Z"});
        let states = fold(&[record(1, "2025-03-01", bare)], now, 90);
        assert_eq!(states.len(), 1, "never dropped");
        assert!(!states[0].disciplined);
        assert!(
            states[0].undisciplined_because[0].starts_with("no action"),
            "{:?}",
            states[0].undisciplined_because
        );
        assert!(
            states[0]
                .undisciplined_because
                .iter()
                .any(|why| why == "approved by its own owner")
        );
        let odd = json!({"action": "approve", "rule": "CVE-2", "owner": "ana", "approver": "bo", "ticket": "T", "reason": "r", "sunset": "2025-04-01T00:00:00Z"});
        let states = fold(&[record(1, "2025-03-01", odd)], now, 90);
        assert_eq!(
            states[0].undisciplined_because,
            vec!["unknown action `approve`".to_string()]
        );
        let stray = json!({"action": "extend", "sunset": "2025-04-01T00:00:00Z"});
        let states = fold(&[record(1, "2025-03-01", stray)], now, 90);
        assert!(states[0].undisciplined_because[0].contains("names no override id"));
    }

    #[test]
    fn a_complete_request_is_accepted() {
        assert_eq!(validate_add(&request(), at("2025-03-01"), 90), Ok(()));
    }

    #[test]
    fn every_missing_piece_is_named_at_once() {
        let empty = OverrideRequest {
            rule: "x".into(),
            ..OverrideRequest::default()
        };
        let problems = validate_add(&empty, at("2025-03-01"), 90).unwrap_err();
        let all = problems.join("\n");
        for needed in ["--owner", "--approver", "--ticket", "--reason", "--sunset"] {
            assert!(all.contains(needed), "{all}");
        }
    }

    #[test]
    fn approver_equal_to_owner_is_refused() {
        let same = OverrideRequest {
            approver: "ANA@acme.example".into(),
            ..request()
        };
        let problems = validate_add(&same, at("2025-03-01"), 90).unwrap_err();
        assert!(problems[0].contains("other than the owner"), "{problems:?}");
    }

    #[test]
    fn sunsets_in_the_past_or_too_far_are_refused() {
        let past = validate_add(&request(), at("2025-04-02"), 90).unwrap_err();
        assert!(past[0].contains("not in the future"));
        let far = OverrideRequest {
            sunset: Some(at("2026-01-01")),
            ..request()
        };
        let problems = validate_add(&far, at("2025-03-01"), 90).unwrap_err();
        assert!(problems[0].contains("more than 90 days"), "{problems:?}");
    }

    #[test]
    fn fold_follows_extensions_revocations_and_sunsets() {
        let now = at("2025-03-01");
        let records = vec![
            record(3, "2025-03-01", add_attrs(&request(), now)),
            record(
                4,
                "2025-03-01",
                add_attrs(
                    &OverrideRequest {
                        rule: "semgrep.rule".into(),
                        ..request()
                    },
                    now,
                ),
            ),
            record(9, "2025-03-20", extend_attrs(3, at("2025-06-01"), "cy@acme.example")),
            record(11, "2025-03-25", revoke_attrs(4, "fixed")),
        ];
        let before = fold(&records, at("2025-03-10"), 90);
        assert_eq!(before.len(), 2);
        assert_eq!(before[0].status, Status::Active);
        assert_eq!(before[0].evidence, vec![3]);
        let later = fold(&records, at("2025-05-01"), 90);
        assert_eq!(later[0].status, Status::Active);
        assert_eq!(later[0].approvers, vec!["bo@acme.example", "cy@acme.example"]);
        assert_eq!(later[0].evidence, vec![3, 9]);
        assert_eq!(later[1].status, Status::Revoked);
        assert!(later.iter().all(|state| state.disciplined));
        let expired = fold(&records, at("2025-06-02"), 90);
        assert_eq!(expired[0].status, Status::Expired);
    }

    #[test]
    fn records_missing_discipline_are_flagged() {
        let now = at("2025-03-01");
        let attrs = json!({"action": "add", "rule": "r", "owner": "ana", "approver": "ana", "created": "2025-03-01T00:00:00.000000000Z"});
        let states = fold(&[record(1, "2025-03-01", attrs)], now, 90);
        let because = &states[0].undisciplined_because;
        assert!(!states[0].disciplined);
        for reason in ["no ticket", "no reason", "approved by its own owner", "no sunset"] {
            assert!(because.iter().any(|text| text == reason), "{because:?}");
        }
        assert_eq!(states[0].status, Status::Expired);
    }
}
