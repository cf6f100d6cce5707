//! The five audit-reality questions (DESIGN.md section 6), each a built-in
//! query with a status, the answer, the cited evidence and, when it cannot be
//! answered, why not.

use jiff::{SignedDuration, Timestamp};
use model::{Evidence, EvidenceKind as Kind};
use probes::{Params, View};
use serde::Serialize;
use serde_json::{Value, json};

/// The questions, by id.
pub const QUESTIONS: &[&str] = &[
    "blocked-sast",
    "runtime-remediation",
    "inventory",
    "training-permissions",
    "provenance",
];

/// One answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// The question's id.
    pub question: &'static str,
    /// `answered`, `partial` or `cannot-answer`.
    pub status: &'static str,
    /// What the evidence says.
    pub answer: Value,
    /// The records cited.
    pub evidence: Vec<u64>,
    /// Why it is not (fully) answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
}

fn answer(
    question: &'static str,
    status: &'static str,
    answer: Value,
    mut evidence: Vec<u64>,
    why_not: Option<String>,
) -> Answer {
    evidence.sort_unstable();
    evidence.dedup();
    Answer {
        question,
        status,
        answer,
        evidence,
        why_not,
    }
}

fn day(time: Timestamp) -> String {
    model::time::format_time(time).get(..10).unwrap_or_default().to_string()
}

fn text<'a>(record: &'a Evidence, key: &str) -> Option<&'a str> {
    record.attrs.get(key).and_then(Value::as_str)
}

fn before(view: &View<'_>, days: i64) -> Timestamp {
    view.as_of
        .checked_sub(SignedDuration::from_hours(24 * days))
        .unwrap_or(Timestamp::MIN)
}

/// Since when a pipeline step has had its current mode: the earliest record of
/// the same repo, file, job and tool with that mode, after the last one with another.
fn mode_since(view: &View<'_>, step: &Evidence) -> Timestamp {
    let key = |record: &Evidence| {
        (
            record.subject.repo.clone(),
            text(record, "file").map(str::to_string),
            text(record, "job").map(str::to_string),
            text(record, "tool").map(str::to_string),
        )
    };
    let wanted = key(step);
    let mut since = step.occurred_at;
    for record in view
        .all(Kind::PipelineConfig)
        .filter(|record| key(record) == wanted && record.occurred_at <= step.occurred_at)
    {
        if text(record, "mode") == text(step, "mode") {
            since = since.min(record.occurred_at);
        } else {
            since = step.occurred_at;
        }
    }
    since
}

fn blocked_sast(view: &View<'_>) -> Answer {
    let id = "blocked-sast";
    let params = Params {
        categories: vec!["sast".into()],
        activity: String::new(),
    };
    let week = before(view, 7);
    let blocks: Vec<&Evidence> = view
        .all(Kind::GateDecision)
        .filter(|record| text(record, "decision") == Some("block") && probes::gate::concerns(record, &params))
        .collect();
    if let Some(block) = blocks.iter().rev().find(|record| record.occurred_at >= week) {
        return answer(
            id,
            "answered",
            json!({
                "blocked_at": model::time::format_time(block.occurred_at),
                "repo": block.subject.repo,
                "commit": block.subject.commit,
                "pull_request": block.subject.pull_request,
                "tools": probes::gate::gate_tools(block),
                "observed_check": block.attrs.get("check_name"),
            }),
            vec![block.id],
            None,
        );
    }
    let configs = probes::gate::latest_configs(view, &params);
    let advisory: Vec<&&Evidence> = configs
        .iter()
        .filter(|record| text(record, "mode") != Some("blocking"))
        .collect();
    let mut evidence: Vec<u64> = configs.iter().map(|record| record.id).collect();
    let count = blocks.iter().filter(|record| record.occurred_at >= week).count();
    let blocking = configs.len() - advisory.len();
    let why = match advisory.first() {
        Some(step) => format!(
            "{}{} since {}; {count} blocks in 7 days",
            if blocking > 0 {
                format!("{blocking} of {} SAST steps can block, but ", configs.len())
            } else {
                String::new()
            },
            probes::gate::advisory_reason(step),
            day(mode_since(view, step))
        ),
        None if configs.is_empty() => format!(
            "no SAST step is recorded from CI configuration and no SAST gate decision exists; {count} blocks in 7 days"
        ),
        None => format!(
            "SAST steps can block, but {count} blocks were observed in 7 days (no check run or gate decision shows one)"
        ),
    };
    if let Some(older) = blocks.last() {
        evidence.push(older.id);
        return answer(
            id,
            "partial",
            json!({"latest_block": model::time::format_time(older.occurred_at), "repo": older.subject.repo}),
            evidence,
            Some(format!(
                "the latest SAST block is from {}, older than 7 days; {why}",
                day(older.occurred_at)
            )),
        );
    }
    // Some SAST step can block: the control exists, it was not seen firing.
    let status = if blocking > 0 { "partial" } else { "cannot-answer" };
    answer(id, status, Value::Null, evidence, Some(why))
}

fn runtime_remediation(view: &View<'_>) -> Answer {
    let id = "runtime-remediation";
    let month = before(view, 30);
    let alerts: Vec<&Evidence> = view
        .all(Kind::RuntimeAlert)
        .filter(|record| record.occurred_at >= month)
        .collect();
    if alerts.is_empty() {
        let why = if view.has(Kind::RuntimeAlert) {
            "no runtime alert in the last 30 days"
        } else {
            "no runtime_alert evidence: runtime detection is not ingested"
        };
        return answer(id, "cannot-answer", Value::Null, Vec::new(), Some(why.into()));
    }
    let tickets: Vec<&Evidence> = view.all(Kind::Remediation).collect();
    let mut open = None;
    for alert in alerts.iter().rev() {
        for ticket in tickets
            .iter()
            .filter(|ticket| probes::runtime::remediates(ticket, alert))
        {
            match probes::runtime::resolved_at(ticket).filter(|resolved| *resolved <= view.as_of) {
                Some(resolved) => {
                    return answer(
                        id,
                        "answered",
                        json!({
                            "alert": {"id": alert.id, "rule": text(alert, "rule"), "severity": text(alert, "severity"), "at": model::time::format_time(alert.occurred_at)},
                            "ticket": {"id": ticket.id, "key": text(ticket, "key").or(text(ticket, "ticket")), "opened_at": model::time::format_time(ticket.occurred_at), "resolved_at": model::time::format_time(resolved)},
                            "time_to_fix_hours": resolved.duration_since(alert.occurred_at).as_hours(),
                        }),
                        vec![alert.id, ticket.id],
                        None,
                    );
                }
                None => open = open.or(Some((alert.id, ticket.id))),
            }
        }
    }
    if let Some((alert, ticket)) = open {
        return answer(
            id,
            "partial",
            json!({"alert": alert, "ticket": ticket}),
            vec![alert, ticket],
            Some("the alert has a ticket, but it is not resolved".into()),
        );
    }
    let why = if tickets.is_empty() {
        format!(
            "{} runtime alerts in 30 days, none with a ticket: no remediation evidence for this team (tickets are not ingested, or none links these alerts; detection is audit-only)",
            alerts.len()
        )
    } else {
        format!("{} runtime alerts in 30 days, none linked to a ticket", alerts.len())
    };
    answer(
        id,
        "cannot-answer",
        Value::Null,
        alerts.iter().take(10).map(|alert| alert.id).collect(),
        Some(why),
    )
}

fn inventory(view: &View<'_>, at: Option<Timestamp>) -> Answer {
    let id = "inventory";
    // Nothing after the as-of time is visible: a later date is the as-of time.
    let at = at.unwrap_or_else(|| before(view, 30)).min(view.as_of);
    let snapshots = probes::org::snapshots(view);
    let Some((taken, records)) = snapshots.range(..=at).next_back() else {
        let why = match snapshots.keys().next() {
            Some(first) => format!(
                "the oldest inventory snapshot is from {}, after {}",
                day(*first),
                day(at)
            ),
            None => "no asset_snapshot evidence: the inventory is not ingested".into(),
        };
        return answer(id, "cannot-answer", Value::Null, Vec::new(), Some(why));
    };
    let limit = at
        .checked_sub(SignedDuration::from_hours(24 * view.thresholds.review_days))
        .unwrap_or(Timestamp::MIN);
    let mut services = Vec::new();
    let mut missing = Vec::new();
    for record in records {
        for asset in probes::org::assets(record)
            .into_iter()
            .filter(|asset| probes::org::in_scope(view, asset))
        {
            if !probes::org::is_production(asset) {
                continue;
            }
            let name = asset.get("name").and_then(Value::as_str).unwrap_or("?");
            let owner = asset.get("owner").and_then(Value::as_str);
            let review = asset.get("last_security_review").and_then(Value::as_str);
            let stale = review
                .and_then(|review| model::time::parse_time(review).ok())
                .is_none_or(|review| review < limit);
            if owner.is_none() || stale {
                missing.push(format!(
                    "{name}: {}",
                    if owner.is_none() {
                        "no owner"
                    } else {
                        "no security review within 12 months"
                    }
                ));
            }
            services.push(json!({"name": name, "owner": owner, "last_security_review": review}));
        }
    }
    let ids: Vec<u64> = records.iter().map(|record| record.id).collect();
    let body =
        json!({"as_of": day(at), "snapshot_taken": model::time::format_time(*taken), "production_services": services});
    if missing.is_empty() {
        answer(id, "answered", body, ids, None)
    } else {
        let shown: Vec<&str> = missing.iter().take(5).map(String::as_str).collect();
        answer(
            id,
            "partial",
            body,
            ids,
            Some(format!(
                "{} of {} production services: {}",
                missing.len(),
                services.len(),
                shown.join("; ")
            )),
        )
    }
}

fn training_permissions(view: &View<'_>) -> Answer {
    let id = "training-permissions";
    if !view.has(Kind::IamGrant) {
        return answer(
            id,
            "cannot-answer",
            Value::Null,
            Vec::new(),
            Some("no iam_grant evidence: role permissions are not ingested".into()),
        );
    }
    if !view.has(Kind::TrainingRecord) {
        return answer(
            id,
            "cannot-answer",
            Value::Null,
            Vec::new(),
            Some("no training_record evidence: training completions are not ingested".into()),
        );
    }
    let overdue = probes::org::overdue_elevated(view);
    let fact = probes::run("elevated-access-trained", view, &Params::default());
    let mut people = Vec::new();
    let mut ids: Vec<u64> = fact.evidence.clone();
    for (person, grants) in &overdue {
        ids.extend(grants.iter().take(5));
        let detail: Vec<Value> = grants
            .iter()
            .filter_map(|grant| view.records.iter().find(|record| record.id == *grant))
            .map(|grant| json!({"id": grant.id, "what": text(grant, "what").or(text(grant, "permission")).or(text(grant, "policy")), "where": text(grant, "where").or(text(grant, "resource")), "elevated_because": text(grant, "reason")}))
            .collect();
        people.push(json!({"person": person, "grants": detail}));
    }
    let body = json!({"overdue_with_elevated_access": people});
    match fact.outcome {
        probes::Outcome::True => answer(id, "answered", body, ids, None),
        _ => answer(id, "partial", body, ids, Some(fact.message)),
    }
}

fn provenance(view: &View<'_>) -> Answer {
    let id = "provenance";
    let Some(deploy) = probes::runtime::prod_deploys(view).into_iter().last().or_else(|| {
        probes::runtime::shipped_to_production(view.all(Kind::Deploy))
            .into_iter()
            .last()
    }) else {
        return answer(
            id,
            "cannot-answer",
            Value::Null,
            Vec::new(),
            Some("no production deploy evidence: the latest production artefact is unknown".into()),
        );
    };
    let provenance: Vec<&Evidence> = view
        .all(Kind::Provenance)
        .filter(|record| probes::runtime::names_deploy(record, deploy))
        .collect();
    let decisions: Vec<&Evidence> = view
        .all(Kind::AdmissionDecision)
        .filter(|record| probes::runtime::names_deploy(record, deploy))
        .collect();
    let artefact = deploy
        .subject
        .image
        .clone()
        .or_else(|| deploy.subject.artifact.clone())
        .or_else(|| deploy.subject.commit.clone());
    let Some(record) = provenance.last() else {
        return answer(
            id,
            "cannot-answer",
            json!({"deploy": deploy.id, "artefact": artefact}),
            vec![deploy.id],
            Some(format!(
                "no provenance names the latest production artefact ({})",
                artefact.unwrap_or_default()
            )),
        );
    };
    let verified = record.attrs.get("verified") == Some(&Value::Bool(true));
    let policies: Vec<&Evidence> = view
        .all(Kind::AdmissionPolicy)
        .filter(|policy| {
            text(policy, "kind") == Some("ClusterImagePolicy") || text(policy, "rule_type") == Some("verifyImages")
        })
        .collect();
    let policy = policies.last();
    let body = json!({
        "deploy": {"id": deploy.id, "at": model::time::format_time(deploy.occurred_at), "environment": deploy.subject.environment, "artefact": artefact},
        "provenance": {"id": record.id, "verified": verified, "reason": record.attrs.get("verification_reason").or(record.attrs.get("reason")), "builder_id": record.attrs.get("builder_id")},
        "admission_decision": decisions.last().map(|decision| json!({"id": decision.id, "result": text(decision, "result")})),
        "policy": policy.map(|policy| json!({"id": policy.id, "name": text(policy, "name"), "mode": text(policy, "mode")})),
    });
    let mut ids = vec![deploy.id, record.id];
    ids.extend(decisions.last().map(|decision| decision.id));
    ids.extend(policy.map(|policy| policy.id));
    let mut missing = Vec::new();
    if !verified {
        missing.push(format!(
            "the provenance does not verify ({})",
            text(record, "verification_reason")
                .or(text(record, "reason"))
                .unwrap_or("no reason given")
        ));
    }
    if decisions.is_empty() {
        missing.push("no admission decision names the artefact".to_string());
    }
    match policy {
        Some(policy) if text(policy, "mode") != Some("enforce") => missing.push(format!(
            "the verifying policy {} is in {} mode",
            text(policy, "name").unwrap_or("?"),
            text(policy, "mode").unwrap_or("unknown")
        )),
        None => missing.push("no deploy-time policy verifies provenance".to_string()),
        _ => {}
    }
    if missing.is_empty() {
        answer(id, "answered", body, ids, None)
    } else {
        answer(id, "partial", body, ids, Some(missing.join("; ")))
    }
}

/// The evidence kinds a question reads (besides `asset_snapshot`, which names
/// teams and their members and is always needed): `ask` loads only these, so
/// that an answer on a large ledger does not wait for records it never reads.
/// A test asks every question over random evidence with and without the other
/// kinds and requires the same answer.
pub fn kinds(question: &str) -> &'static [Kind] {
    match question {
        "blocked-sast" => &[Kind::GateDecision, Kind::PipelineConfig],
        "runtime-remediation" => &[Kind::RuntimeAlert, Kind::Remediation],
        "inventory" => &[Kind::AssetSnapshot],
        "training-permissions" => &[Kind::IamGrant, Kind::TrainingRecord, Kind::Override],
        "provenance" => &[
            Kind::Deploy,
            Kind::Provenance,
            Kind::AdmissionDecision,
            Kind::AdmissionPolicy,
        ],
        _ => &[],
    }
}

/// The kinds to load to answer `questions`: what each reads ([`kinds`]) and
/// the inventory (teams and their members), each once.
pub fn kinds_for(questions: &[&str]) -> Vec<Kind> {
    let mut kinds = vec![Kind::AssetSnapshot];
    for question in questions {
        kinds.extend_from_slice(self::kinds(question));
    }
    kinds.sort_by_key(|kind| kind.as_str());
    kinds.dedup();
    kinds
}

/// Answer one question (`inventory_at` is the date for `inventory`, default 30 days before as-of).
pub fn ask(question: &str, view: &View<'_>, inventory_at: Option<Timestamp>) -> Option<Answer> {
    Some(match question {
        "blocked-sast" => blocked_sast(view),
        "runtime-remediation" => runtime_remediation(view),
        "inventory" => inventory(view, inventory_at),
        "training-permissions" => training_permissions(view),
        "provenance" => provenance(view),
        _ => return None,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use model::{OccurredAtSource, SourceRef, Subject};
    use probes::{Scope, Thresholds};

    #[test]
    fn an_inventory_date_after_the_as_of_time_is_the_as_of_time() {
        let at = |text: &str| model::time::parse_time(text).unwrap();
        let snapshot = Evidence {
            id: 1,
            kind: Kind::AssetSnapshot,
            occurred_at: at("2025-05-01"),
            occurred_at_source: OccurredAtSource::Source,
            ingested_at: at("2025-05-01"),
            subject: Subject::default(),
            source: SourceRef {
                collector: "inventory".into(),
                origin: "i.csv".into(),
                sha256: String::new(),
                line: None,
                pointer: None,
            },
            attrs: json!({"assets": [{"name": "api", "environment": "production", "owner": "a", "last_security_review": "2025-01-01"}]}),
            leaf_hash: String::new(),
        };
        let records = [snapshot];
        let scope = Scope {
            team: "all".into(),
            repos: Vec::new(),
            services: Vec::new(),
        };
        let thresholds = Thresholds::default();
        let view = View::new(&records, at("2025-06-30"), &scope, &thresholds);
        let answer = ask("inventory", &view, Some(at("2027-01-01"))).unwrap();
        assert_eq!(answer.status, "answered", "{answer:?}");
        assert_eq!(answer.answer["as_of"], "2025-06-30");
    }
}
