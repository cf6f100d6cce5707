//! Detection and supply-chain probes: runtime alerts and their remediation,
//! incidents, signed provenance, admission control, SBOMs and deployments.

use crate::{Fact, Outcome, Params, Probe, View, exists, text, time_attr};
use jiff::{SignedDuration, Timestamp};
use model::{Evidence, EvidenceKind as Kind};
use serde_json::Value;
use std::collections::BTreeMap;

fn is_serious(record: &Evidence) -> bool {
    matches!(text(record, "severity"), Some("high" | "critical"))
}

/// Whether remediation `ticket` is linked to `alert`: the ticket lists the
/// alert's ledger id or uuid in `alerts`, or names its rule in `alert_rule`
/// and was opened at or after the alert.
pub fn remediates(ticket: &Evidence, alert: &Evidence) -> bool {
    let listed = ticket
        .attrs
        .get("alerts")
        .and_then(Value::as_array)
        .is_some_and(|alerts| {
            alerts.iter().any(|entry| {
                entry.as_u64() == Some(alert.id)
                    || entry
                        .as_str()
                        .is_some_and(|entry| Some(entry) == text(alert, "uuid") || entry == alert.id.to_string())
            })
        });
    listed
        || (text(ticket, "alert_rule").is_some()
            && text(ticket, "alert_rule") == text(alert, "rule")
            && ticket.occurred_at >= alert.occurred_at)
}

/// When a remediation was resolved (`resolved_at`), if it was.
pub fn resolved_at(ticket: &Evidence) -> Option<Timestamp> {
    time_attr(ticket, "resolved_at")
}

fn alerts_routed_to_tickets(view: &View<'_>, _: &Params) -> Fact {
    let id = "alerts-routed-to-tickets";
    let alerts: Vec<&Evidence> = view.in_window(Kind::RuntimeAlert).collect();
    if alerts.is_empty() {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            "no runtime_alert evidence in the window",
            Vec::new(),
        );
    }
    if !view.has(Kind::Remediation) {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            format!(
                "{} runtime alerts but no remediation (ticket) evidence for this team: tickets are not ingested, or none links these alerts",
                alerts.len()
            ),
            Vec::new(),
        );
    }
    let tickets: Vec<&Evidence> = view.all(Kind::Remediation).collect();
    let routed: Vec<(&Evidence, &Evidence)> = alerts
        .iter()
        .filter_map(|alert| {
            tickets
                .iter()
                .find(|ticket| remediates(ticket, alert))
                .map(|ticket| (*alert, *ticket))
        })
        .collect();
    let mut ids: Vec<u64> = routed
        .iter()
        .flat_map(|(alert, ticket)| [alert.id, ticket.id])
        .collect();
    if routed.is_empty() {
        ids.extend(alerts.iter().take(5).map(|alert| alert.id));
        return Fact::new(
            id,
            Outcome::False,
            format!(
                "none of {} runtime alerts in the window has a linked ticket",
                alerts.len()
            ),
            ids,
        );
    }
    // Routed automatically means (nearly) every alert gets its ticket, not one in a hundred.
    let share = routed.len() as f64 / alerts.len() as f64;
    Fact::new(
        id,
        if share >= view.thresholds.coverage {
            Outcome::True
        } else {
            Outcome::False
        },
        format!(
            "{} of {} runtime alerts have a linked ticket ({:.0}%, required {:.0}%)",
            routed.len(),
            alerts.len(),
            share * 100.0,
            view.thresholds.coverage * 100.0
        ),
        ids,
    )
}

/// Alerts routed.
pub static ALERTS_ROUTED_TO_TICKETS: Probe = Probe {
    id: "alerts-routed-to-tickets",
    question: "Are runtime alerts routed to tickets (a remediation record linked to the alert)?",
    kinds: &[Kind::RuntimeAlert, Kind::Remediation],
    remediation: "Route detection alerts to the ticket system or on-call automatically (e.g. Falcosidekick to Jira) and ingest the tickets.",
    effort_weeks: 2,
    run: alerts_routed_to_tickets,
};

fn alerts_remediated_within_sla(view: &View<'_>, _: &Params) -> Fact {
    let id = "alerts-remediated-within-sla";
    let alerts: Vec<&Evidence> = view.in_window(Kind::RuntimeAlert).collect();
    if alerts.is_empty() {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            "no runtime_alert evidence in the window",
            Vec::new(),
        );
    }
    let serious: Vec<&&Evidence> = alerts.iter().filter(|alert| is_serious(alert)).collect();
    if serious.is_empty() {
        return Fact::new(
            id,
            Outcome::True,
            format!("no high or critical alert among {} alerts in the window", alerts.len()),
            alerts.iter().take(5).map(|alert| alert.id).collect(),
        );
    }
    if !view.has(Kind::Remediation) {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            format!(
                "{} high/critical alerts but no remediation evidence for this team: tickets are not ingested, or none links these alerts",
                serious.len()
            ),
            serious.iter().take(5).map(|alert| alert.id).collect(),
        );
    }
    let sla = SignedDuration::from_hours(24 * view.thresholds.remediation_sla_days);
    let tickets: Vec<&Evidence> = view.all(Kind::Remediation).collect();
    let mut ids = Vec::new();
    let mut within = 0usize;
    // Open alerts younger than the SLA have not missed it yet: they count
    // neither way.
    let mut pending = 0usize;
    for alert in &serious {
        let fixed = tickets.iter().find(|ticket| {
            remediates(ticket, alert)
                && resolved_at(ticket).is_some_and(|resolved| {
                    resolved <= view.as_of
                        && resolved >= alert.occurred_at
                        && resolved.duration_since(alert.occurred_at) <= sla
                })
        });
        if let Some(ticket) = fixed {
            within += 1;
            ids.push(alert.id);
            ids.push(ticket.id);
        } else if view.as_of.duration_since(alert.occurred_at) < sla {
            pending += 1;
        } else {
            ids.push(alert.id);
        }
    }
    let judged = serious.len() - pending;
    if judged == 0 {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            format!(
                "all {} high/critical alerts are open and younger than the {}-day SLA: none has missed it or met it yet",
                serious.len(),
                view.thresholds.remediation_sla_days
            ),
            serious.iter().take(5).map(|alert| alert.id).collect(),
        );
    }
    let share = within as f64 / judged as f64;
    let outcome = if share >= view.thresholds.coverage {
        Outcome::True
    } else {
        Outcome::False
    };
    Fact::new(
        id,
        outcome,
        format!(
            "{within} of {judged} high/critical alerts remediated within {} days ({:.0}%, required {:.0}%){}",
            view.thresholds.remediation_sla_days,
            share * 100.0,
            view.thresholds.coverage * 100.0,
            if pending > 0 {
                format!("; {pending} more are open and younger than the SLA")
            } else {
                String::new()
            }
        ),
        ids,
    )
}

/// Remediated within SLA.
pub static ALERTS_REMEDIATED_WITHIN_SLA: Probe = Probe {
    id: "alerts-remediated-within-sla",
    question: "Do at least 90% of high and critical runtime alerts have a timestamped remediation within the SLA (default 7 days)?",
    kinds: &[Kind::RuntimeAlert, Kind::Remediation],
    remediation: "Give every high/critical alert a ticket with a resolution time and work them within the SLA.",
    effort_weeks: 4,
    run: alerts_remediated_within_sla,
};

fn median_hours(values: &mut [i64]) -> Option<i64> {
    values.sort_unstable();
    values.get(values.len() / 2).copied()
}

fn remediation_time_trend(view: &View<'_>, _: &Params) -> Fact {
    let id = "remediation-time-trend";
    let middle = view.days_before(view.thresholds.lookback_days / 2);
    let start = view.window_start();
    let mut first = Vec::new();
    let mut second = Vec::new();
    let mut ids = Vec::new();
    for ticket in view.all(Kind::Remediation).chain(view.all(Kind::Incident)) {
        let opened = time_attr(ticket, "opened_at").unwrap_or(ticket.occurred_at);
        let Some(resolved) = resolved_at(ticket) else { continue };
        if resolved > view.as_of || opened < start {
            continue;
        }
        let hours = resolved.duration_since(opened).as_hours();
        ids.push(ticket.id);
        if opened < middle {
            first.push(hours)
        } else {
            second.push(hours)
        }
    }
    match (median_hours(&mut first), median_hours(&mut second)) {
        (Some(before), Some(after)) => Fact::new(
            id,
            if after <= before { Outcome::True } else { Outcome::False },
            format!(
                "median time to remediate: {before} h, then {after} h ({})",
                if after <= before { "not worsening" } else { "worsening" }
            ),
            ids,
        ),
        _ => Fact::new(
            id,
            Outcome::NotAvailable,
            "resolved remediations or incidents are needed in both halves of the window",
            ids,
        ),
    }
}

/// MTTR trend.
pub static REMEDIATION_TIME_TREND: Probe = Probe {
    id: "remediation-time-trend",
    question: "Is the time to remediate tracked over two periods and not worsening?",
    kinds: &[Kind::Remediation, Kind::Incident],
    remediation: "Track time to remediate per period and act on regressions.",
    effort_weeks: 2,
    run: remediation_time_trend,
};

fn runtime_alerts_exist(view: &View<'_>, _: &Params) -> Fact {
    exists("runtime-alerts-exist", view, Kind::RuntimeAlert, true, "runtime alerts")
}

/// Alerts exist.
pub static RUNTIME_ALERTS_EXIST: Probe = Probe {
    id: "runtime-alerts-exist",
    question: "Does runtime detection produce alerts (recorded in the window)?",
    kinds: &[Kind::RuntimeAlert],
    remediation: "Deploy runtime detection (e.g. Falco) and ingest its alerts.",
    effort_weeks: 2,
    run: runtime_alerts_exist,
};

fn incidents_recorded(view: &View<'_>, _: &Params) -> Fact {
    exists("incidents-recorded", view, Kind::Incident, true, "incidents")
}

/// Incidents recorded.
pub static INCIDENTS_RECORDED: Probe = Probe {
    id: "incidents-recorded",
    question: "Are incidents recorded in the window?",
    kinds: &[Kind::Incident],
    remediation: "Ingest the incident tool's export (acknowledge and resolve times).",
    effort_weeks: 1,
    run: incidents_recorded,
};

fn incident_response_timed(view: &View<'_>, _: &Params) -> Fact {
    let id = "incident-response-timed";
    let incidents: Vec<&Evidence> = view.in_window(Kind::Incident).collect();
    if incidents.is_empty() {
        return Fact::new(
            id,
            if view.has(Kind::Incident) {
                Outcome::True
            } else {
                Outcome::NotAvailable
            },
            "no incident in the window",
            Vec::new(),
        );
    }
    let sla = SignedDuration::from_hours(24 * view.thresholds.remediation_sla_days);
    let timed: Vec<&&Evidence> = incidents
        .iter()
        .filter(|incident| {
            time_attr(incident, "acknowledged_at").is_some()
                && resolved_at(incident).is_some_and(|resolved| {
                    resolved <= view.as_of && resolved.duration_since(incident.occurred_at) <= sla
                })
        })
        .collect();
    let share = timed.len() as f64 / incidents.len() as f64;
    Fact::new(
        id,
        if share >= view.thresholds.coverage {
            Outcome::True
        } else {
            Outcome::False
        },
        format!(
            "{} of {} incidents acknowledged and resolved within {} days",
            timed.len(),
            incidents.len(),
            view.thresholds.remediation_sla_days
        ),
        incidents.iter().map(|incident| incident.id).collect(),
    )
}

/// Incident response timed.
pub static INCIDENT_RESPONSE_TIMED: Probe = Probe {
    id: "incident-response-timed",
    question: "Are at least 90% of incidents in the window acknowledged and resolved within the SLA?",
    kinds: &[Kind::Incident],
    remediation: "Record acknowledge and resolve times for every incident and meet the SLA.",
    effort_weeks: 3,
    run: incident_response_timed,
};

fn verified(record: &Evidence) -> bool {
    record.attrs.get("verified") == Some(&Value::Bool(true))
}

fn artefacts_signed(view: &View<'_>, _: &Params) -> Fact {
    let id = "artefacts-signed";
    let all: Vec<&Evidence> = view.in_window(Kind::Provenance).collect();
    if all.is_empty() {
        return Fact::new(
            id,
            if view.has(Kind::Provenance) {
                Outcome::False
            } else {
                Outcome::NotAvailable
            },
            "no provenance evidence in the window",
            Vec::new(),
        );
    }
    let good: Vec<u64> = all
        .iter()
        .filter(|record| verified(record))
        .map(|record| record.id)
        .collect();
    if good.is_empty() {
        let reason = text(all[0], "verification_reason")
            .or(text(all[0], "reason"))
            .unwrap_or("not verified");
        return Fact::new(
            id,
            Outcome::False,
            format!("{} provenance records, none verified (first: {reason})", all.len()),
            all.iter().map(|record| record.id).collect(),
        );
    }
    Fact::new(
        id,
        Outcome::True,
        format!("{} of {} provenance records verified", good.len(), all.len()),
        good,
    )
}

/// Some artefacts signed.
pub static ARTEFACTS_SIGNED: Probe = Probe {
    id: "artefacts-signed",
    question: "Are some artefacts signed, with provenance that verifies?",
    kinds: &[Kind::Provenance],
    remediation: "Sign build artefacts and attach provenance (e.g. actions/attest-build-provenance, cosign).",
    effort_weeks: 2,
    run: artefacts_signed,
};

/// Deployments to production that shipped, in the window, in time order. The
/// latest record of a deployment (by repository and `deployment_id`) decides
/// its state: a deployment that was created and then failed did not ship. A
/// deployment ships when its state is `success` (GitHub's and GitLab's word)
/// or the record states none; `created`, `queued`, `pending`, `in_progress`,
/// `running`, `failure`, `error`, `failed`, `canceled`, `inactive` (superseded)
/// and the rest do not count. Production is decided by [`is_production_deploy`].
pub fn prod_deploys<'a>(view: &View<'a>) -> Vec<&'a Evidence> {
    shipped_to_production(view.in_window(Kind::Deploy))
}

/// The deploy records among `records` (in time order) that shipped to
/// production, as [`prod_deploys`] decides.
pub fn shipped_to_production<'a>(records: impl Iterator<Item = &'a Evidence>) -> Vec<&'a Evidence> {
    let records: Vec<&'a Evidence> = records.collect();
    let key = |record: &Evidence| {
        text(record, "deployment_id").map(|deployment| {
            (
                record.subject.repo.as_deref().unwrap_or_default().to_ascii_lowercase(),
                deployment.to_string(),
            )
        })
    };
    let mut latest: BTreeMap<(String, String), u64> = BTreeMap::new();
    for record in &records {
        if let Some(key) = key(record) {
            latest.insert(key, record.id);
        }
    }
    records
        .into_iter()
        .filter(|record| {
            key(record).is_none_or(|key| latest.get(&key) == Some(&record.id))
                && is_production_deploy(record)
                && text(record, "state").is_none_or(|state| state.eq_ignore_ascii_case("success"))
        })
        .collect()
}

/// Whether a deploy went to production: GitLab's `environment_tier` or
/// GitHub's `production_environment` when the record has them, else the
/// environment's name (see [`crate::is_production_name`]).
pub fn is_production_deploy(record: &Evidence) -> bool {
    if let Some(tier) = text(record, "environment_tier") {
        return tier.eq_ignore_ascii_case("production");
    }
    if let Some(flag) = record.attrs.get("production_environment").and_then(Value::as_bool) {
        return flag;
    }
    record
        .subject
        .environment
        .as_deref()
        .or(text(record, "environment"))
        .is_some_and(crate::is_production_name)
}

/// Whether `record` (provenance, SBOM) names the deployed commit, artefact or image.
pub fn names_deploy(record: &Evidence, deploy: &Evidence) -> bool {
    let haystack = format!(
        "{} {}",
        record.attrs,
        serde_json::to_string(&record.subject).unwrap_or_default()
    );
    [
        deploy.subject.commit.as_deref(),
        deploy.subject.artifact.as_deref(),
        deploy.subject.image.as_deref(),
        text(deploy, "sha"),
    ]
    .into_iter()
    .flatten()
    .filter(|needle| needle.len() >= 7)
    .any(|needle| haystack.contains(needle))
}

fn per_prod_deploy(id: &'static str, view: &View<'_>, kind: Kind, accept: fn(&Evidence) -> bool, what: &str) -> Fact {
    let deploys = prod_deploys(view);
    if deploys.is_empty() {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            "no production deploy evidence in the window",
            Vec::new(),
        );
    }
    let candidates: Vec<&Evidence> = view.all(kind).filter(|record| accept(record)).collect();
    let mut ids = Vec::new();
    let mut missing = Vec::new();
    for deploy in &deploys {
        ids.push(deploy.id);
        match candidates.iter().find(|record| names_deploy(record, deploy)) {
            Some(record) => ids.push(record.id),
            None => missing.push(
                deploy
                    .subject
                    .commit
                    .clone()
                    .or_else(|| deploy.subject.image.clone())
                    .unwrap_or_else(|| format!("deploy {}", deploy.id)),
            ),
        }
    }
    if missing.is_empty() {
        return Fact::new(
            id,
            Outcome::True,
            format!("all {} production deploys in the window have {what}", deploys.len()),
            ids,
        );
    }
    let shown: Vec<&str> = missing.iter().take(3).map(String::as_str).collect();
    Fact::new(
        id,
        Outcome::False,
        format!(
            "{} of {} production deploys lack {what}: {}",
            missing.len(),
            deploys.len(),
            shown.join(", ")
        ),
        ids,
    )
}

fn prod_artefacts_verified(view: &View<'_>, _: &Params) -> Fact {
    per_prod_deploy(
        "prod-artefacts-verified",
        view,
        Kind::Provenance,
        verified,
        "verified provenance",
    )
}

/// Prod artefacts verified.
pub static PROD_ARTEFACTS_VERIFIED: Probe = Probe {
    id: "prod-artefacts-verified",
    question: "Does every production deploy in the window ship an artefact with verified provenance?",
    kinds: &[Kind::Deploy, Kind::Provenance],
    remediation: "Attach signed provenance to every artefact that reaches production.",
    effort_weeks: 3,
    run: prod_artefacts_verified,
};

fn is_image_policy(record: &Evidence) -> bool {
    text(record, "kind") == Some("ClusterImagePolicy") || text(record, "rule_type") == Some("verifyImages")
}

/// The policies as last exported: per (kind, namespace, name, rule), the latest.
fn latest_policies<'a>(view: &View<'a>) -> Vec<&'a Evidence> {
    let mut latest: std::collections::BTreeMap<String, &'a Evidence> = std::collections::BTreeMap::new();
    for record in view.all(Kind::AdmissionPolicy) {
        let key = format!(
            "{}/{}/{}/{}",
            text(record, "kind").unwrap_or(""),
            text(record, "namespace").unwrap_or(""),
            text(record, "name").unwrap_or(""),
            text(record, "rule").unwrap_or("")
        );
        latest.insert(key, record);
    }
    latest.into_values().collect()
}

fn describe_policy(record: &Evidence) -> String {
    format!(
        "{} {} is in {} mode ({})",
        text(record, "kind").unwrap_or("policy"),
        text(record, "name").unwrap_or("?"),
        text(record, "mode").unwrap_or("unknown"),
        text(record, "mode_source").unwrap_or("default")
    )
}

fn admission_verifies_in_enforce(view: &View<'_>, _: &Params) -> Fact {
    let id = "admission-verifies-in-enforce";
    let policies: Vec<&Evidence> = latest_policies(view)
        .into_iter()
        .filter(|record| is_image_policy(record))
        .collect();
    if policies.is_empty() {
        let outcome = if view.has(Kind::AdmissionPolicy) {
            Outcome::False
        } else {
            Outcome::NotAvailable
        };
        return Fact::new(
            id,
            outcome,
            "no image-verification admission policy (ClusterImagePolicy or Kyverno verifyImages)",
            Vec::new(),
        );
    }
    let enforcing: Vec<&&Evidence> = policies
        .iter()
        .filter(|record| text(record, "mode") == Some("enforce"))
        .collect();
    if let Some(policy) = enforcing.first() {
        return Fact::new(
            id,
            Outcome::True,
            describe_policy(policy),
            enforcing.iter().map(|record| record.id).collect(),
        );
    }
    Fact::new(
        id,
        Outcome::False,
        format!(
            "no image-verification policy enforces: {}",
            describe_policy(policies[0])
        ),
        policies.iter().map(|record| record.id).collect(),
    )
}

/// Admission verifies in enforce mode.
pub static ADMISSION_VERIFIES_IN_ENFORCE: Probe = Probe {
    id: "admission-verifies-in-enforce",
    question: "Does a deploy-time admission policy verify image signatures or provenance in enforce mode?",
    kinds: &[Kind::AdmissionPolicy],
    remediation: "Switch the image-verification policy from warn/audit to enforce (policy-controller `mode: enforce`, Kyverno `failureAction: Enforce`).",
    effort_weeks: 2,
    run: admission_verifies_in_enforce,
};

fn admission_observed_for_latest(view: &View<'_>, _: &Params) -> Fact {
    let id = "admission-observed-for-latest";
    let decisions: Vec<&Evidence> = view.in_window(Kind::AdmissionDecision).collect();
    if decisions.is_empty() {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            "no admission_decision evidence in the window",
            Vec::new(),
        );
    }
    let Some(latest) = prod_deploys(view).into_iter().last() else {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            "no production deploy evidence in the window",
            Vec::new(),
        );
    };
    let observed: Vec<&&Evidence> = decisions
        .iter()
        .filter(|decision| names_deploy(decision, latest))
        .collect();
    match observed.last() {
        Some(decision) => Fact::new(
            id,
            Outcome::True,
            format!(
                "admission decision `{}` observed for the latest production artefact",
                text(decision, "result").unwrap_or("?")
            ),
            vec![latest.id, decision.id],
        ),
        None => Fact::new(
            id,
            Outcome::False,
            format!(
                "no admission decision names the latest production deploy ({})",
                latest
                    .subject
                    .commit
                    .as_deref()
                    .or(latest.subject.image.as_deref())
                    .unwrap_or("?")
            ),
            vec![latest.id],
        ),
    }
}

/// Admission observed for the latest artefact.
pub static ADMISSION_OBSERVED_FOR_LATEST: Probe = Probe {
    id: "admission-observed-for-latest",
    question: "Was an admission decision (a denial or a verified admission) observed for the latest production artefact?",
    kinds: &[Kind::AdmissionDecision, Kind::Deploy],
    remediation: "Ingest Kubernetes audit events or policy reports for production namespaces.",
    effort_weeks: 1,
    run: admission_observed_for_latest,
};

fn provenance_continuous(view: &View<'_>, _: &Params) -> Fact {
    let id = "provenance-continuous";
    let middle = view.days_before(view.thresholds.lookback_days / 2);
    let good: Vec<&Evidence> = view
        .in_window(Kind::Provenance)
        .filter(|record| verified(record))
        .collect();
    if good.is_empty() {
        return Fact::new(
            id,
            if view.has(Kind::Provenance) {
                Outcome::False
            } else {
                Outcome::NotAvailable
            },
            "no verified provenance in the window",
            Vec::new(),
        );
    }
    let first = good.iter().filter(|record| record.occurred_at < middle).count();
    let second = good.len() - first;
    Fact::new(
        id,
        if first > 0 && second > 0 {
            Outcome::True
        } else {
            Outcome::False
        },
        format!("verified provenance per half of the window: {first} then {second}"),
        good.iter().map(|record| record.id).collect(),
    )
}

/// Provenance in both periods.
pub static PROVENANCE_CONTINUOUS: Probe = Probe {
    id: "provenance-continuous",
    question: "Is verified provenance produced continuously (in both halves of the window)?",
    kinds: &[Kind::Provenance],
    remediation: "Produce provenance on every release build and track the share verified.",
    effort_weeks: 1,
    run: provenance_continuous,
};

fn admission_policies_exist(view: &View<'_>, _: &Params) -> Fact {
    exists(
        "admission-policies-exist",
        view,
        Kind::AdmissionPolicy,
        false,
        "admission policies",
    )
}

/// Admission policies exist.
pub static ADMISSION_POLICIES_EXIST: Probe = Probe {
    id: "admission-policies-exist",
    question: "Are Kubernetes admission policies in place?",
    kinds: &[Kind::AdmissionPolicy],
    remediation: "Define admission policies (Kyverno, Gatekeeper, ValidatingAdmissionPolicy) and ingest them.",
    effort_weeks: 2,
    run: admission_policies_exist,
};

fn admission_policies_enforce(view: &View<'_>, _: &Params) -> Fact {
    let id = "admission-policies-enforce";
    let policies = latest_policies(view);
    if policies.is_empty() {
        return Fact::new(id, Outcome::NotAvailable, "no admission_policy evidence", Vec::new());
    }
    let weak: Vec<&&Evidence> = policies
        .iter()
        .filter(|record| text(record, "mode") != Some("enforce"))
        .collect();
    if weak.is_empty() {
        return Fact::new(
            id,
            Outcome::True,
            format!("all {} admission policies enforce", policies.len()),
            policies.iter().map(|record| record.id).collect(),
        );
    }
    Fact::new(
        id,
        Outcome::False,
        format!(
            "{} of {} admission policies do not enforce: {}",
            weak.len(),
            policies.len(),
            describe_policy(weak[0])
        ),
        weak.iter().map(|record| record.id).collect(),
    )
}

/// Admission policies enforce.
pub static ADMISSION_POLICIES_ENFORCE: Probe = Probe {
    id: "admission-policies-enforce",
    question: "Are all admission policies in enforce mode (not audit or warn)?",
    kinds: &[Kind::AdmissionPolicy],
    remediation: "Move audit/warn policies to enforce once their violations are fixed.",
    effort_weeks: 2,
    run: admission_policies_enforce,
};

fn sbom_exists(view: &View<'_>, _: &Params) -> Fact {
    exists("sbom-exists", view, Kind::Sbom, false, "SBOMs")
}

/// SBOMs exist.
pub static SBOM_EXISTS: Probe = Probe {
    id: "sbom-exists",
    question: "Are SBOMs produced for the team's components?",
    kinds: &[Kind::Sbom],
    remediation: "Generate a CycloneDX or SPDX SBOM in the build and ingest it.",
    effort_weeks: 1,
    run: sbom_exists,
};

fn sbom_for_prod_artefacts(view: &View<'_>, _: &Params) -> Fact {
    per_prod_deploy("sbom-for-prod-artefacts", view, Kind::Sbom, |_| true, "an SBOM")
}

/// SBOM per deployed artefact.
pub static SBOM_FOR_PROD_ARTEFACTS: Probe = Probe {
    id: "sbom-for-prod-artefacts",
    question: "Does every production deploy in the window have an SBOM of what it shipped?",
    kinds: &[Kind::Sbom, Kind::Deploy],
    remediation: "Produce an SBOM for every release artefact, named by its commit or digest.",
    effort_weeks: 2,
    run: sbom_for_prod_artefacts,
};

fn deploys_recorded(view: &View<'_>, _: &Params) -> Fact {
    exists("deploys-recorded", view, Kind::Deploy, true, "deployments")
}

/// Deploys recorded.
pub static DEPLOYS_RECORDED: Probe = Probe {
    id: "deploys-recorded",
    question: "Are deployments recorded in the window?",
    kinds: &[Kind::Deploy],
    remediation: "Ingest deployment events (GitHub deployment_status, GitLab deployment hooks).",
    effort_weeks: 1,
    run: deploys_recorded,
};

fn deploys_automated(view: &View<'_>, _: &Params) -> Fact {
    let id = "deploys-automated";
    let deploys: Vec<&Evidence> = view.in_window(Kind::Deploy).collect();
    if deploys.is_empty() {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            "no deploy evidence in the window",
            Vec::new(),
        );
    }
    let automated = |record: &Evidence| {
        text(record, "creator").is_some_and(|creator| {
            let creator = creator.to_ascii_lowercase();
            // `ci` only as a whole word (`gitlab-ci`, `ci-deployer`): as a
            // substring it matches people (Cindy, Patricia, Francisco).
            // The same for `bot` (Abbott, Talbot): whole words only.
            let word = creator
                .split(|character: char| !character.is_ascii_alphanumeric())
                .any(|word| {
                    matches!(
                        word,
                        "ci" | "circleci"
                            | "travisci"
                            | "gitlabci"
                            | "droneci"
                            | "bot"
                            | "pipeline"
                            | "actions"
                            | "deployer"
                    )
                });
            creator.contains("[bot]") || word
        }) || record.attrs.get("job_id").is_some()
    };
    let manual: Vec<&&Evidence> = deploys.iter().filter(|record| !automated(record)).collect();
    let share = 1.0 - manual.len() as f64 / deploys.len() as f64;
    let mut message = format!(
        "{} of {} deploys made by CI",
        deploys.len() - manual.len(),
        deploys.len()
    );
    if let Some(first) = manual.first() {
        message.push_str(&format!(
            "; e.g. deploy {} by {}",
            first.id,
            text(first, "creator").unwrap_or("unknown")
        ));
    }
    Fact::new(
        id,
        if share >= view.thresholds.coverage {
            Outcome::True
        } else {
            Outcome::False
        },
        message,
        deploys.iter().map(|record| record.id).collect(),
    )
}

/// Deploys automated.
pub static DEPLOYS_AUTOMATED: Probe = Probe {
    id: "deploys-automated",
    question: "Are at least 90% of deployments made by CI rather than by people?",
    kinds: &[Kind::Deploy],
    remediation: "Deploy only from the pipeline; remove manual deploy paths.",
    effort_weeks: 3,
    run: deploys_automated,
};
