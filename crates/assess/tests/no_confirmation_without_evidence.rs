//! Property: over random evidence sets and random claims, no activity is ever
//! confirmed (or graded above 0) without cited evidence, every cited id is a
//! visible record, and the assessment is the same when run twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dsomm_audit_assess::{Claims, Inputs, Rubric, assess};
use jiff::Timestamp;
use model::catalogue::Catalogue;
use model::{Evidence, EvidenceKind, OccurredAtSource, SourceRef, Subject};
use probes::{Scope, Thresholds};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const KINDS: &[EvidenceKind] = &[
    EvidenceKind::PipelineConfig,
    EvidenceKind::ScanReport,
    EvidenceKind::GateDecision,
    EvidenceKind::CheckRun,
    EvidenceKind::Override,
    EvidenceKind::AlertDismissal,
    EvidenceKind::Suppression,
    EvidenceKind::RuntimeAlert,
    EvidenceKind::Remediation,
    EvidenceKind::Incident,
    EvidenceKind::AssetSnapshot,
    EvidenceKind::IamGrant,
    EvidenceKind::TrainingRecord,
    EvidenceKind::Provenance,
    EvidenceKind::AdmissionPolicy,
    EvidenceKind::AdmissionDecision,
    EvidenceKind::Deploy,
    EvidenceKind::Sbom,
    EvidenceKind::ThreatModel,
    EvidenceKind::CalendarBlock,
    EvidenceKind::Attestation,
    EvidenceKind::BranchProtection,
    EvidenceKind::CiRun,
];

fn attrs(kind: EvidenceKind, pick: u64, uuid: &str) -> Value {
    let tools = ["semgrep", "trivy", "gitleaks", "checkov", "zap", "fossa"];
    let tool = tools[(pick % tools.len() as u64) as usize];
    let yes = pick.is_multiple_of(2);
    let category = ["sast", "sca", "secrets", "iac", "dast", "license"][(pick % 6) as usize];
    match kind {
        EvidenceKind::PipelineConfig => {
            json!({"tool": tool, "category": category, "mode": if yes {"blocking"} else {"advisory"}, "on_pull_request": yes, "file": "ci.yml", "line": 3, "reasons": [{"line": 4, "text": "x", "why": "y"}]})
        }
        EvidenceKind::ScanReport => json!({"tool": tool}),
        EvidenceKind::GateDecision => json!({"decision": if yes {"block"} else {"pass"}, "tools": [tool]}),
        EvidenceKind::Override => {
            // Some are training exceptions for the person with grants.
            let rule = if pick.is_multiple_of(3) { "training" } else { "r" };
            json!({"action": "add", "rule": rule, "fingerprint": "ana@example.com", "owner": "a", "approver": if yes {"b"} else {"a"}, "ticket": "T-1", "reason": "why", "created": "2025-05-01T00:00:00Z", "sunset": "2025-07-01T00:00:00Z"})
        }
        EvidenceKind::AlertDismissal | EvidenceKind::Suppression => json!({"tool": tool, "rule_id": "r"}),
        EvidenceKind::RuntimeAlert => json!({"severity": if yes {"high"} else {"low"}, "rule": "shell"}),
        EvidenceKind::Remediation => json!({"alert_rule": "shell", "resolved_at": "2025-06-10T00:00:00Z"}),
        EvidenceKind::Incident => {
            json!({"acknowledged_at": "2025-06-01T00:00:00Z", "resolved_at": "2025-06-02T00:00:00Z"})
        }
        EvidenceKind::AssetSnapshot => {
            json!({"assets": [{"name": "api", "environment": "production", "owner": if yes {"team"} else {""}, "last_security_review": "2025-01-01"}]})
        }
        EvidenceKind::IamGrant => json!({"person": "ana@example.com", "elevated": yes}),
        EvidenceKind::TrainingRecord => json!({"person": "ana@example.com", "completed_at": "2024-01-01", "score": 90}),
        EvidenceKind::Provenance => json!({"verified": yes, "subjects": [{"digest": {"sha256": "abcdef1234567"}}]}),
        EvidenceKind::AdmissionPolicy => {
            json!({"kind": "ClusterImagePolicy", "name": "p", "mode": if yes {"enforce"} else {"warn"}})
        }
        EvidenceKind::AdmissionDecision => json!({"result": "allowed", "images": ["abcdef1234567"]}),
        EvidenceKind::Deploy => json!({"creator": if yes {"github-actions[bot]"} else {"ana"}, "state": "success"}),
        EvidenceKind::ThreatModel => json!({"mitigations": pick % 3}),
        EvidenceKind::Attestation => {
            json!({"activity": uuid, "attester": "ana", "reviewer": if yes {"bob"} else {"ana"}, "document": "doc"})
        }
        EvidenceKind::BranchProtection => {
            json!({"protected": true, "required_status_checks": if yes {json!(["ci"])} else {json!([])}, "status_checks_enforcement": "everyone"})
        }
        _ => json!({}),
    }
}

fn record(id: u64, kind: EvidenceKind, day: i64, pick: u64, uuid: &str) -> Evidence {
    let base = model::time::parse_time("2025-01-01").unwrap();
    let at = base.checked_add(jiff::SignedDuration::from_hours(24 * day)).unwrap();
    let repo = ["acme/a", "acme/b", "other/c"][(pick % 3) as usize];
    Evidence {
        id,
        kind,
        occurred_at: at,
        occurred_at_source: OccurredAtSource::Source,
        ingested_at: at,
        subject: Subject {
            repo: (pick % 4 != 3).then(|| repo.to_string()),
            environment: (kind == EvidenceKind::Deploy).then(|| "production".to_string()),
            commit: (kind == EvidenceKind::Deploy).then(|| "abcdef1234567".to_string()),
            service: (kind == EvidenceKind::ThreatModel || kind == EvidenceKind::Deploy).then(|| "api".to_string()),
            ..Subject::default()
        },
        source: SourceRef {
            collector: "evidence-ndjson".into(),
            origin: "random".into(),
            sha256: String::new(),
            line: None,
            pointer: None,
        },
        attrs: attrs(kind, pick, uuid),
        leaf_hash: String::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn no_activity_is_confirmed_without_cited_evidence(
        picks in proptest::collection::vec((0usize..KINDS.len(), 0i64..200, 0u64..1000, 0usize..194), 0..120),
        claimed in proptest::collection::vec(0usize..194, 0..60),
    ) {
        let catalogue = Catalogue::embedded().unwrap();
        let rubric = Rubric::embedded().unwrap();
        let records: Vec<Evidence> = picks
            .iter()
            .enumerate()
            .map(|(id, (kind, day, pick, activity))| record(id as u64, KINDS[*kind], *day, *pick, &catalogue.activities[*activity].uuid))
            .collect();
        let mut progress = String::from("progress:\n");
        let claimed: std::collections::BTreeSet<usize> = claimed.into_iter().collect();
        for index in &claimed {
            // Every third claim is "Not implemented" (grade 0): nothing to confirm.
            let state = if index % 3 == 0 { "Not implemented" } else { "Fully implemented" };
            progress.push_str(&format!("  {}:\n    t:\n      {state}: 2025-01-01\n", catalogue.activities[*index].uuid));
        }
        let claims = Claims::read(&progress, "p", None, Default::default()).unwrap();
        let teams = vec![Scope { team: "t".into(), repos: vec!["acme/a".into(), "acme/b".into()], services: vec!["api".into()] }];
        let as_of: Timestamp = model::time::parse_time("2025-06-30").unwrap();
        let inputs = Inputs {
            records: &records,
            catalogue: &catalogue,
            rubric: &rubric,
            teams: &teams,
            claims: Some(&claims),
            thresholds: &Thresholds::default(),
            as_of,
            assessment_texts: &BTreeMap::new(),
            checkpoint: Value::Null,
        };
        let first = assess(&inputs);
        let again = assess(&inputs);
        prop_assert_eq!(serde_json::to_string(&first).unwrap(), serde_json::to_string(&again).unwrap());
        let ids: std::collections::BTreeSet<u64> = records.iter().filter(|record| record.occurred_at <= as_of).map(|record| record.id).collect();
        for activity in &first.teams[0].activities {
            if activity.grade > 0 || activity.confirmed == Some(true) {
                prop_assert!(!activity.evidence.is_empty(), "{} graded {} without evidence", activity.name, activity.grade);
            }
            if activity.confirmed.is_some() {
                prop_assert!(activity.claimed_grade.unwrap_or(0) > 0, "{}: a claim of grade 0 is neither confirmed nor refuted", activity.name);
            }
            for id in &activity.evidence {
                prop_assert!(ids.contains(id), "{} cites {} which is not visible", activity.name, id);
            }
        }
        // Every question answers the same from only the kinds it declares (and
        // the inventory) as from everything: `ask` loads only those.
        let thresholds = Thresholds::default();
        let view = probes::View::new(&records, as_of, &teams[0], &thresholds);
        for question in dsomm_audit_assess::questions::QUESTIONS {
            let kinds = dsomm_audit_assess::questions::kinds_for(&[question]);
            let some: Vec<Evidence> = records
                .iter()
                .filter(|record| kinds.contains(&record.kind))
                .cloned()
                .collect();
            let narrow = probes::View::new(&some, as_of, &teams[0], &thresholds);
            prop_assert_eq!(
                dsomm_audit_assess::questions::ask(question, &view, None),
                dsomm_audit_assess::questions::ask(question, &narrow, None),
                "{} reads a kind it does not declare", question
            );
        }
        // No audit-real level without an activity of that sub-dimension graded on evidence.
        for level in &first.teams[0].subdimensions {
            if level.audit_level > 0 {
                prop_assert!(
                    first.teams[0].activities.iter().any(|activity| activity.subdimension == level.subdimension
                        && activity.dimension == level.dimension
                        && activity.grade > 0
                        && !activity.evidence.is_empty()),
                    "{}/{} at audit level {} without graded evidence", level.dimension, level.subdimension, level.audit_level
                );
            }
        }
    }
}
