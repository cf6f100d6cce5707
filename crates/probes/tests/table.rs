//! Table tests for every registered probe: for each, at least one input where it
//! answers `true`, one where it answers `false` and one where it answers
//! `not-available` (or, for the few probes that cannot give one of those answers
//! by design, a comment saying so and a test of what they can answer).
//!
//! The as-of time is fixed at 2025-06-30T00:00:00Z with the default thresholds:
//! the 90-day look-back window starts 2025-04-01T00:00:00Z and its second half
//! starts 2025-05-16T00:00:00Z. Nothing here reads the clock, the disk or the
//! network.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use dsomm_audit_probes::{self as probes, Fact, Outcome, Params, Scope, Thresholds, View};
use model::{Evidence, EvidenceKind, OccurredAtSource, SourceRef, Subject};
use serde_json::{Value, json};

use Outcome::{False, NotAvailable, True};

/// The moment every assessment here is made for.
const AS_OF: &str = "2025-06-30T00:00:00Z";

/// Probes that may answer `true` without citing a record, because the condition
/// holds vacuously:
/// - `overrides-disciplined`: no exception (override, dismissal, suppression) at all;
/// - `findings-triaged`: scanners ran but no exception was taken;
/// - `incident-response-timed`: incidents are recorded, but none in the window;
/// - `alerts-remediated-within-sla`: no high or critical alert in the window
///   (it then cites the low alerts, but need not).
const VACUOUS_TRUE: &[&str] = &[
    "overrides-disciplined",
    "findings-triaged",
    "incident-response-timed",
    "alerts-remediated-within-sla",
];

fn at(text: &str) -> jiff::Timestamp {
    model::time::parse_time(text).unwrap()
}

/// One evidence record: `kind` by its snake_case name, `when` a date or RFC 3339
/// time, `subject` a JSON object of [`Subject`] fields.
fn record(id: u64, kind: &str, when: &str, subject: Value, attrs: Value) -> Evidence {
    let kind = EvidenceKind::from_name(kind).unwrap_or_else(|| panic!("unknown kind {kind}"));
    let subject: Subject = serde_json::from_value(subject).unwrap();
    Evidence {
        id,
        kind,
        occurred_at: at(when),
        occurred_at_source: OccurredAtSource::Source,
        ingested_at: at(when),
        subject,
        source: SourceRef {
            collector: "table-test".into(),
            origin: format!("table.rs#{id}"),
            sha256: "00".repeat(32),
            line: None,
            pointer: None,
        },
        attrs,
        leaf_hash: String::new(),
    }
}

/// No parameters: every scanner category counts.
fn any() -> Params {
    Params::default()
}

/// Only these scanner categories count.
fn only(categories: &[&str]) -> Params {
    Params {
        categories: categories.iter().map(|category| category.to_string()).collect(),
        activity: String::new(),
    }
}

/// Parameters of the activity with this uuid.
fn activity(uuid: &str) -> Params {
    Params {
        categories: Vec::new(),
        activity: uuid.to_string(),
    }
}

/// Run `probe` over `records` for the whole organisation and check its answer.
fn check(probe: &str, records: &[Evidence], params: &Params, expected: Outcome) -> Fact {
    check_scoped(probe, &Scope::default(), records, params, expected)
}

/// Run `probe` over `records` for `scope` and check its answer: the outcome
/// is `expected`; a `true` fact cites at least one record (unless the probe is
/// in [`VACUOUS_TRUE`]); every cited id is one of the records, visible in the view.
fn check_scoped(probe: &str, scope: &Scope, records: &[Evidence], params: &Params, expected: Outcome) -> Fact {
    let thresholds = Thresholds::default();
    let view = View::new(records, at(AS_OF), scope, &thresholds);
    let fact = probes::run(probe, &view, params);
    assert_eq!(fact.probe, probe, "fact names another probe");
    assert_eq!(
        fact.outcome, expected,
        "{probe}: expected {expected:?}, got {:?}: {}",
        fact.outcome, fact.message
    );
    assert!(!fact.message.trim().is_empty(), "{probe}: empty message");
    if fact.outcome == True && !VACUOUS_TRUE.contains(&probe) {
        assert!(
            !fact.evidence.is_empty(),
            "{probe}: a true fact cites no evidence: {}",
            fact.message
        );
    }
    for id in &fact.evidence {
        assert!(
            records.iter().any(|record| record.id == *id),
            "{probe}: cites id {id}, which is not an input record"
        );
        assert!(
            view.records.iter().any(|record| record.id == *id),
            "{probe}: cites id {id}, which is not visible as of {AS_OF} in scope"
        );
    }
    fact
}

// --- common records ---------------------------------------------------------

fn scan(id: u64, when: &str, tool: &str) -> Evidence {
    record(
        id,
        "scan_report",
        when,
        json!({"repo": "acme/api", "commit": "0123456789abcdef"}),
        json!({"tool": tool, "counts": {"high": 1}}),
    )
}

fn step(id: u64, when: &str, repo: &str, tool: &str, category: &str, mode: &str) -> Evidence {
    record(
        id,
        "pipeline_config",
        when,
        json!({"repo": repo}),
        json!({
            "tool": tool,
            "category": category,
            "mode": mode,
            "on_pull_request": true,
            "file": ".github/workflows/ci.yml",
            "line": 12,
            "reasons": if mode == "blocking" { json!([]) } else { json!([{"line": 14, "text": "continue-on-error: true"}]) },
        }),
    )
}

fn gate(id: u64, when: &str, repo: &str, decision: &str) -> Evidence {
    record(
        id,
        "gate_decision",
        when,
        json!({"repo": repo}),
        json!({"decision": decision, "tools": ["semgrep"]}),
    )
}

/// A disciplined override added at `when` (sunset 60 days later).
fn good_override(id: u64, when: &str, sunset: &str) -> Evidence {
    record(
        id,
        "override",
        when,
        json!({}),
        json!({
            "action": "add",
            "rule": "CVE-2025-0001",
            "tool": "trivy",
            "owner": "ana@acme.example",
            "approver": "bo@acme.example",
            "ticket": "SEC-1",
            "reason": "not reachable",
            "created": when,
            "sunset": sunset,
        }),
    )
}

fn alert(id: u64, when: &str, severity: &str) -> Evidence {
    record(
        id,
        "runtime_alert",
        when,
        json!({"service": "api", "host": "node-1"}),
        json!({"severity": severity, "rule": "Terminal shell in container"}),
    )
}

fn ticket(id: u64, when: &str, attrs: Value) -> Evidence {
    record(id, "remediation", when, json!({"service": "api"}), attrs)
}

fn prod_deploy(id: u64, when: &str, commit: &str, creator: &str) -> Evidence {
    record(
        id,
        "deploy",
        when,
        json!({"repo": "acme/api", "service": "api", "environment": "production", "commit": commit}),
        json!({"creator": creator, "state": "success"}),
    )
}

fn provenance(id: u64, when: &str, commit: &str, verified: bool) -> Evidence {
    record(
        id,
        "provenance",
        when,
        json!({"repo": "acme/api", "commit": commit}),
        json!({"verified": verified, "reason": if verified { "ok" } else { "no signature" }}),
    )
}

fn policy(id: u64, when: &str, kind: &str, name: &str, mode: &str) -> Evidence {
    record(
        id,
        "admission_policy",
        when,
        json!({}),
        json!({
            "kind": kind,
            "name": name,
            "rule_type": if kind == "ClusterImagePolicy" { "verifyImages" } else { "validate" },
            "mode": mode,
            "mode_source": "spec.mode",
        }),
    )
}

fn snapshot(id: u64, when: &str, assets: Value) -> Evidence {
    record(id, "asset_snapshot", when, json!({}), json!({"assets": assets}))
}

fn good_assets() -> Value {
    json!([
        {"name": "api", "environment": "production", "owner": "team-a", "last_security_review": "2025-01-15"},
        {"name": "sandbox", "environment": "dev", "owner": ""},
    ])
}

/// Weekly snapshots from `first` on, `count` of them, ids from `first_id`.
fn weekly_snapshots(first_id: u64, first: &str, count: i64) -> Vec<Evidence> {
    let start = at(first);
    (0..count)
        .map(|week| {
            let when = start
                .checked_add(jiff::SignedDuration::from_hours(24 * 7 * week))
                .unwrap();
            snapshot(first_id + week as u64, &when.to_string(), good_assets())
        })
        .collect()
}

fn grant(id: u64, person: &str, elevated: bool, reviewed_at: Option<&str>) -> Evidence {
    let mut attrs = json!({"role": if elevated { "admin" } else { "read" }, "elevated": elevated});
    if let Some(reviewed) = reviewed_at {
        attrs["reviewed_at"] = json!(reviewed);
    }
    record(id, "iam_grant", "2025-06-01", json!({"person": person}), attrs)
}

fn training(id: u64, person: &str, completed: &str) -> Evidence {
    record(
        id,
        "training_record",
        completed,
        json!({"person": person}),
        json!({"course": "secure coding", "completed_at": completed, "status": "completed"}),
    )
}

fn block(id: u64, when: &str, person: &str) -> Evidence {
    record(
        id,
        "calendar_block",
        when,
        json!({"person": person}),
        json!({"title": "security champion time"}),
    )
}

/// One calendar block a week for `weeks` weeks from the window's start.
fn weekly_blocks(first_id: u64, weeks: i64, person: &str) -> Vec<Evidence> {
    let start = at("2025-04-01T09:00:00Z");
    (0..weeks)
        .map(|week| {
            let when = start
                .checked_add(jiff::SignedDuration::from_hours(24 * 7 * week))
                .unwrap();
            block(first_id + week as u64, &when.to_string(), person)
        })
        .collect()
}

fn threat_model(id: u64, when: &str, service: &str) -> Evidence {
    record(
        id,
        "threat_model",
        when,
        json!({"service": service}),
        json!({"title": format!("{service} threat model"), "mitigations": 3}),
    )
}

fn attestation(id: u64, uuid: &str, attester: &str, reviewer: &str, document_date: &str) -> Evidence {
    record(
        id,
        "attestation",
        "2025-06-01",
        json!({}),
        json!({
            "activity": uuid,
            "attester": attester,
            "reviewer": reviewer,
            "document": "https://wiki.acme.example/security/process",
            "document_date": document_date,
        }),
    )
}

const ACTIVITY: &str = "44d7f3a4-0000-4c1b-9d0e-000000000001";

// --- gate probes --------------------------------------------------------------

#[test]
fn scanner_ran() {
    check("scanner-ran", &[scan(1, "2025-06-01", "Semgrep OSS")], &any(), True);
    check(
        "scanner-ran",
        &[step(1, "2025-06-01", "acme/api", "semgrep", "sast", "advisory")],
        &only(&["sast"]),
        True,
    );
    // Only a scan from before the window.
    check("scanner-ran", &[scan(1, "2025-01-01", "semgrep")], &any(), False);
    // A SAST scan does not show that DAST ran.
    check(
        "scanner-ran",
        &[scan(1, "2025-06-01", "semgrep")],
        &only(&["dast"]),
        False,
    );
    check(
        "scanner-ran",
        &[record(
            1,
            "ci_run",
            "2025-06-01",
            json!({"repo": "acme/api"}),
            json!({}),
        )],
        &any(),
        NotAvailable,
    );
}

#[test]
fn gate_can_block() {
    check(
        "gate-can-block",
        &[step(1, "2025-06-01", "acme/api", "semgrep", "sast", "blocking")],
        &only(&["sast"]),
        True,
    );
    // dsomm-audit's own gate (no `observed` attribute) counts too.
    check(
        "gate-can-block",
        &[gate(1, "2025-06-01", "acme/api", "pass")],
        &any(),
        True,
    );
    check(
        "gate-can-block",
        &[step(1, "2025-06-01", "acme/api", "semgrep", "sast", "advisory")],
        &any(),
        False,
    );
    // The latest reading of a file wins: blocking earlier, advisory now.
    check(
        "gate-can-block",
        &[
            step(1, "2025-05-01", "acme/api", "semgrep", "sast", "blocking"),
            step(2, "2025-06-01", "acme/api", "semgrep", "sast", "advisory"),
        ],
        &any(),
        False,
    );
    // Blocking, but not on pull requests.
    let mut push_only = step(1, "2025-06-01", "acme/api", "semgrep", "sast", "blocking");
    push_only.attrs["on_pull_request"] = json!(false);
    check("gate-can-block", &[push_only], &any(), False);
    check("gate-can-block", &[], &any(), NotAvailable);
    // A SAST step says nothing about SCA.
    check(
        "gate-can-block",
        &[step(1, "2025-06-01", "acme/api", "semgrep", "sast", "blocking")],
        &only(&["sca"]),
        NotAvailable,
    );
}

#[test]
fn gate_blocks_on_coverage() {
    check(
        "gate-blocks-on-coverage",
        &[
            step(1, "2025-06-01", "acme/api", "semgrep", "sast", "blocking"),
            step(2, "2025-06-01", "acme/web", "semgrep", "sast", "blocking"),
        ],
        &any(),
        True,
    );
    let fact = check(
        "gate-blocks-on-coverage",
        &[
            step(1, "2025-06-01", "acme/api", "semgrep", "sast", "blocking"),
            step(2, "2025-06-01", "acme/web", "semgrep", "sast", "advisory"),
        ],
        &any(),
        False,
    );
    assert!(fact.message.contains("acme/web"), "{}", fact.message);
    // A repository with no scanner step at all is uncovered.
    check(
        "gate-blocks-on-coverage",
        &[
            step(1, "2025-06-01", "acme/api", "semgrep", "sast", "blocking"),
            record(2, "ci_run", "2025-06-01", json!({"repo": "acme/web"}), json!({})),
        ],
        &any(),
        False,
    );
    check("gate-blocks-on-coverage", &[], &any(), NotAvailable);
    // Gate decisions, but about no repository.
    check(
        "gate-blocks-on-coverage",
        &[record(
            1,
            "gate_decision",
            "2025-06-01",
            json!({}),
            json!({"decision": "pass", "tool": "semgrep"}),
        )],
        &any(),
        NotAvailable,
    );
}

#[test]
fn gate_blocks_on_coverage_matches_scope_repos_case_insensitively() {
    // The scope matches repositories case-insensitively (GitHub names are), so
    // the coverage must too.
    let scope = Scope {
        team: "a".into(),
        repos: vec!["acme/api".into()],
        services: Vec::new(),
    };
    check_scoped(
        "gate-blocks-on-coverage",
        &scope,
        &[step(1, "2025-06-01", "Acme/API", "semgrep", "sast", "blocking")],
        &any(),
        True,
    );
    let protected = record(
        1,
        "branch_protection",
        "2025-06-01",
        json!({"repo": "Acme/API"}),
        json!({"protected": true, "required_status_checks": ["build"], "admin_enforced": true}),
    );
    check_scoped(
        "branch-protection-requires-checks",
        &scope,
        std::slice::from_ref(&protected),
        &any(),
        True,
    );
}

#[test]
fn gate_block_observed() {
    check(
        "gate-block-observed",
        &[
            gate(1, "2025-06-01", "acme/api", "pass"),
            gate(2, "2025-06-02", "acme/api", "block"),
        ],
        &any(),
        True,
    );
    check(
        "gate-block-observed",
        &[gate(1, "2025-06-01", "acme/api", "pass")],
        &any(),
        False,
    );
    // A block before the window does not count.
    check(
        "gate-block-observed",
        &[gate(1, "2025-01-01", "acme/api", "block")],
        &any(),
        False,
    );
    // Check runs alone make the question answerable, but show no block.
    check(
        "gate-block-observed",
        &[record(
            1,
            "check_run",
            "2025-06-01",
            json!({"repo": "acme/api"}),
            json!({"conclusion": "failure"}),
        )],
        &any(),
        False,
    );
    check(
        "gate-block-observed",
        &[scan(1, "2025-06-01", "semgrep")],
        &any(),
        NotAvailable,
    );
}

#[test]
fn overrides_disciplined() {
    // Never not-available by design: with no exception at all it is (vacuously) true.
    check("overrides-disciplined", &[], &any(), True);
    check(
        "overrides-disciplined",
        &[good_override(1, "2025-06-01T00:00:00Z", "2025-07-31T00:00:00Z")],
        &any(),
        True,
    );
    let mut no_approver = good_override(1, "2025-06-01T00:00:00Z", "2025-07-31T00:00:00Z");
    no_approver.attrs["approver"] = json!("");
    let fact = check("overrides-disciplined", &[no_approver], &any(), False);
    assert_eq!(fact.evidence, vec![1]);
    // A sunset more than 90 days after the review.
    check(
        "overrides-disciplined",
        &[good_override(1, "2025-06-01T00:00:00Z", "2025-12-31T00:00:00Z")],
        &any(),
        False,
    );
    let dismissal = record(
        2,
        "alert_dismissal",
        "2025-06-01",
        json!({"repo": "acme/api"}),
        json!({"tool": "CodeQL", "rule_id": "js/xss", "dismissed_by": "ana", "dismissed_reason": "won't fix"}),
    );
    check("overrides-disciplined", std::slice::from_ref(&dismissal), &any(), False);
    // A CodeQL (SAST) dismissal is not an exception to the SCA gate.
    check(
        "overrides-disciplined",
        std::slice::from_ref(&dismissal),
        &only(&["sca"]),
        True,
    );
}

/// One dismissal recorded three times (the webhook, a later
/// `appeared_in_branch` event of the dismissed alert, a REST export) is one
/// exception.
#[test]
fn one_dismissal_recorded_thrice_counts_once() {
    let dismissal = |id, action: &str| {
        record(
            id,
            "alert_dismissal",
            "2025-06-01",
            json!({"repo": "acme/api"}),
            json!({"tool": "codeql", "number": 10, "action": action, "dismissed_at": "2025-06-01T00:00:00Z",
                "rule_id": "js/xss", "dismissed_by": "ana"}),
        )
    };
    let records = [
        dismissal(1, "closed_by_user"),
        dismissal(2, "appeared_in_branch"),
        dismissal(3, "rest"),
    ];
    let fact = check("overrides-disciplined", &records, &any(), False);
    assert_eq!(fact.evidence, vec![1]);
    assert!(fact.message.contains("1 of 1"), "{}", fact.message);
}

#[test]
fn findings_triaged() {
    check(
        "findings-triaged",
        &[
            scan(1, "2025-06-01", "trivy"),
            good_override(2, "2025-06-01T00:00:00Z", "2025-07-31T00:00:00Z"),
        ],
        &any(),
        True,
    );
    let suppression = record(
        2,
        "suppression",
        "2025-06-01",
        json!({"repo": "acme/api"}),
        json!({"tool": "semgrep", "text": "nosemgrep", "file": "src/app.py", "line": 7}),
    );
    let fact = check(
        "findings-triaged",
        &[scan(1, "2025-06-01", "trivy"), suppression.clone()],
        &only(&["sca"]),
        False,
    );
    assert_eq!(fact.evidence, vec![2]);
    // An exception, but no scanner evidence to triage.
    check("findings-triaged", &[suppression], &any(), NotAvailable);
    check("findings-triaged", &[], &any(), NotAvailable);
}

#[test]
fn evidence_covers_lookback() {
    check(
        "evidence-covers-lookback",
        &[scan(1, "2025-03-20", "semgrep"), scan(2, "2025-06-01", "semgrep")],
        &any(),
        True,
    );
    // Exactly at the first day of the window still counts (one day of slack).
    check(
        "evidence-covers-lookback",
        &[scan(1, "2025-04-02", "semgrep")],
        &any(),
        True,
    );
    check(
        "evidence-covers-lookback",
        &[scan(1, "2025-06-01", "semgrep")],
        &any(),
        False,
    );
    check("evidence-covers-lookback", &[], &any(), NotAvailable);
    check(
        "evidence-covers-lookback",
        &[scan(1, "2025-03-20", "semgrep")],
        &only(&["dast"]),
        NotAvailable,
    );
}

#[test]
fn override_volume_trend() {
    let history = scan(1, "2025-03-20", "trivy");
    check(
        "override-volume-trend",
        &[
            history.clone(),
            good_override(2, "2025-04-10T00:00:00Z", "2025-06-01T00:00:00Z"),
            good_override(3, "2025-04-20T00:00:00Z", "2025-06-01T00:00:00Z"),
            good_override(4, "2025-06-01T00:00:00Z", "2025-07-31T00:00:00Z"),
        ],
        &any(),
        True,
    );
    check(
        "override-volume-trend",
        &[
            history.clone(),
            good_override(2, "2025-06-01T00:00:00Z", "2025-07-31T00:00:00Z"),
            good_override(3, "2025-06-02T00:00:00Z", "2025-07-31T00:00:00Z"),
        ],
        &any(),
        False,
    );
    // Evidence from half the window only: two periods cannot be compared.
    check(
        "override-volume-trend",
        &[
            scan(1, "2025-06-01", "trivy"),
            good_override(2, "2025-06-02T00:00:00Z", "2025-07-31T00:00:00Z"),
        ],
        &any(),
        NotAvailable,
    );
}

#[test]
fn pipeline_configs_recorded() {
    // Never false by design: it asks whether any pipeline_config was recorded
    // at all, so "none" is always not-available.
    check(
        "pipeline-configs-recorded",
        &[step(1, "2024-01-01", "acme/api", "semgrep", "sast", "advisory")],
        &any(),
        True,
    );
    check("pipeline-configs-recorded", &[], &any(), NotAvailable);
    // A reading after the as-of time is not seen.
    check(
        "pipeline-configs-recorded",
        &[step(1, "2025-07-01", "acme/api", "semgrep", "sast", "blocking")],
        &any(),
        NotAvailable,
    );
}

#[test]
fn scan_results_recorded() {
    check(
        "scan-results-recorded",
        &[scan(1, "2025-06-01", "trivy")],
        &only(&["sca"]),
        True,
    );
    check(
        "scan-results-recorded",
        &[scan(1, "2025-01-01", "trivy")],
        &any(),
        False,
    );
    check(
        "scan-results-recorded",
        &[scan(1, "2025-06-01", "trivy")],
        &only(&["sast"]),
        False,
    );
    check(
        "scan-results-recorded",
        &[step(1, "2025-06-01", "acme/api", "trivy", "sca", "blocking")],
        &any(),
        NotAvailable,
    );
}

#[test]
fn ci_runs_recorded() {
    let run = |id, when| {
        record(
            id,
            "ci_run",
            when,
            json!({"repo": "acme/api"}),
            json!({"conclusion": "success"}),
        )
    };
    check("ci-runs-recorded", &[run(1, "2025-06-01")], &any(), True);
    check("ci-runs-recorded", &[run(1, "2025-01-01")], &any(), False);
    check(
        "ci-runs-recorded",
        &[scan(1, "2025-06-01", "trivy")],
        &any(),
        NotAvailable,
    );
}

fn protection(id: u64, repo: &str, attrs: Value) -> Evidence {
    record(
        id,
        "branch_protection",
        "2025-06-01",
        json!({"repo": repo, "ref": "main"}),
        attrs,
    )
}

#[test]
fn branch_protection_requires_checks() {
    let good = json!({"protected": true, "required_status_checks": ["build", "semgrep"]});
    check(
        "branch-protection-requires-checks",
        &[protection(1, "acme/api", good.clone())],
        &any(),
        True,
    );
    check(
        "branch-protection-requires-checks",
        &[protection(
            1,
            "acme/api",
            json!({"protected": true, "required_status_checks": []}),
        )],
        &any(),
        False,
    );
    // A repository seen elsewhere with no protection record fails.
    check(
        "branch-protection-requires-checks",
        &[
            protection(1, "acme/api", good),
            record(2, "ci_run", "2025-06-01", json!({"repo": "acme/web"}), json!({})),
        ],
        &any(),
        False,
    );
    check("branch-protection-requires-checks", &[], &any(), NotAvailable);
}

/// GitHub layers protections: an active ruleset keeps protecting the default
/// branch when a later evaluate-mode ruleset or a classic rule for another
/// branch is recorded; a protection of another branch alone does not count.
#[test]
fn branch_protection_layers_rules_and_rulesets() {
    let active = json!({"ruleset_id": "7", "ruleset_enforcement": "active", "include": ["~DEFAULT_BRANCH"],
        "exclude": [], "required_status_checks": ["CodeQL"], "status_checks_enforcement": "everyone", "bypass_actors": []});
    let trial = json!({"ruleset_id": "8", "ruleset_enforcement": "evaluate", "include": ["~DEFAULT_BRANCH"],
        "exclude": [], "required_status_checks": [], "status_checks_enforcement": "off", "bypass_actors": []});
    let docs = json!({"protected": true, "pattern": "docs/*", "required_status_checks": []});
    for probe in [
        "branch-protection-requires-checks",
        "branch-protection-enforced-for-admins",
    ] {
        check(
            probe,
            &[
                protection(1, "acme/api", active.clone()),
                protection(2, "acme/api", trial.clone()),
                protection(3, "acme/api", docs.clone()),
            ],
            &any(),
            True,
        );
    }
    // Only another branch is protected: the default branch is not.
    let docs_checked = json!({"protected": true, "pattern": "docs/*", "required_status_checks": ["build"]});
    check(
        "branch-protection-requires-checks",
        &[protection(1, "acme/api", docs_checked)],
        &any(),
        False,
    );
    // A ruleset that excludes the default branch does not protect it.
    let mut excluded = active.clone();
    excluded["include"] = json!(["~ALL"]);
    excluded["exclude"] = json!(["refs/heads/main"]);
    check(
        "branch-protection-requires-checks",
        &[protection(1, "acme/api", excluded)],
        &any(),
        False,
    );
    // The same ruleset's later record (deleted) replaces the earlier one.
    let mut deleted = active.clone();
    deleted["protected"] = json!(false);
    check(
        "branch-protection-requires-checks",
        &[
            protection(1, "acme/api", active.clone()),
            protection(2, "acme/api", deleted),
        ],
        &any(),
        False,
    );
    // A classic rule on `main` or a glob matching it counts.
    for pattern in ["main", "ma*", "**"] {
        check(
            "branch-protection-requires-checks",
            &[protection(
                1,
                "acme/api",
                json!({"protected": true, "pattern": pattern, "required_status_checks": ["build"]}),
            )],
            &any(),
            True,
        );
    }
}

#[test]
fn branch_protection_enforced_for_admins() {
    let enforced = json!({"protected": true, "required_status_checks": ["build"], "admin_enforced": true});
    check(
        "branch-protection-enforced-for-admins",
        &[protection(1, "acme/api", enforced.clone())],
        &any(),
        True,
    );
    let mut bypass = enforced;
    bypass["bypass_actors"] = json!(["OrganizationAdmin"]);
    check(
        "branch-protection-enforced-for-admins",
        &[protection(1, "acme/api", bypass)],
        &any(),
        False,
    );
    check(
        "branch-protection-enforced-for-admins",
        &[protection(
            1,
            "acme/api",
            json!({"protected": true, "required_status_checks": ["build"]}),
        )],
        &any(),
        False,
    );
    check(
        "branch-protection-enforced-for-admins",
        &[scan(1, "2025-06-01", "trivy")],
        &any(),
        NotAvailable,
    );
}

// --- runtime probes -----------------------------------------------------------

#[test]
fn runtime_alerts_exist() {
    check("runtime-alerts-exist", &[alert(1, "2025-06-01", "low")], &any(), True);
    check("runtime-alerts-exist", &[alert(1, "2025-01-01", "high")], &any(), False);
    check("runtime-alerts-exist", &[], &any(), NotAvailable);
}

#[test]
fn alerts_routed_to_tickets() {
    let fact = check(
        "alerts-routed-to-tickets",
        &[
            alert(1, "2025-06-01", "high"),
            ticket(2, "2025-06-01T01:00:00Z", json!({"alerts": [1]})),
        ],
        &any(),
        True,
    );
    assert_eq!(fact.evidence, vec![1, 2]);
    // Linked by rule, opened after the alert.
    check(
        "alerts-routed-to-tickets",
        &[
            alert(1, "2025-06-01", "high"),
            ticket(2, "2025-06-02", json!({"alert_rule": "Terminal shell in container"})),
        ],
        &any(),
        True,
    );
    // A ticket naming the rule but opened before the alert is not its ticket.
    check(
        "alerts-routed-to-tickets",
        &[
            ticket(1, "2025-05-01", json!({"alert_rule": "Terminal shell in container"})),
            alert(2, "2025-06-01", "high"),
        ],
        &any(),
        False,
    );
    check(
        "alerts-routed-to-tickets",
        &[
            alert(1, "2025-06-01", "high"),
            ticket(2, "2025-06-01", json!({"alerts": [99]})),
        ],
        &any(),
        False,
    );
    // Alerts, but tickets are not ingested.
    check(
        "alerts-routed-to-tickets",
        &[alert(1, "2025-06-01", "high")],
        &any(),
        NotAvailable,
    );
    check(
        "alerts-routed-to-tickets",
        &[ticket(1, "2025-06-01", json!({"alerts": [1]}))],
        &any(),
        NotAvailable,
    );
}

#[test]
fn alerts_remediated_within_sla() {
    check(
        "alerts-remediated-within-sla",
        &[
            alert(1, "2025-06-01", "critical"),
            ticket(
                2,
                "2025-06-01T01:00:00Z",
                json!({"alerts": [1], "resolved_at": "2025-06-03T00:00:00Z"}),
            ),
        ],
        &any(),
        True,
    );
    // Vacuously true: no high or critical alert.
    check(
        "alerts-remediated-within-sla",
        &[alert(1, "2025-06-01", "low")],
        &any(),
        True,
    );
    check(
        "alerts-remediated-within-sla",
        &[
            alert(1, "2025-06-01", "high"),
            ticket(
                2,
                "2025-06-01T01:00:00Z",
                json!({"alerts": [1], "resolved_at": "2025-06-20T00:00:00Z"}),
            ),
        ],
        &any(),
        False,
    );
    // Resolved within the SLA, but after the as-of time: not yet resolved,
    // and two days old, so it has not missed its 7-day SLA yet either.
    check(
        "alerts-remediated-within-sla",
        &[
            alert(1, "2025-06-28", "high"),
            ticket(
                2,
                "2025-06-28T01:00:00Z",
                json!({"alerts": [1], "resolved_at": "2025-07-01T00:00:00Z"}),
            ),
        ],
        &any(),
        NotAvailable,
    );
    // An old open alert missed it; a young open one is not counted.
    let fact = check(
        "alerts-remediated-within-sla",
        &[
            alert(1, "2025-06-01", "high"),
            alert(2, "2025-06-29", "high"),
            ticket(3, "2025-06-01T01:00:00Z", json!({"alerts": [9]})),
        ],
        &any(),
        False,
    );
    assert!(fact.message.starts_with("0 of 1 "), "{}", fact.message);
    assert!(fact.message.contains("1 more are open"), "{}", fact.message);
    check("alerts-remediated-within-sla", &[], &any(), NotAvailable);
    check(
        "alerts-remediated-within-sla",
        &[alert(1, "2025-06-01", "high")],
        &any(),
        NotAvailable,
    );
}

#[test]
fn remediation_time_trend() {
    let fixed =
        |id, opened: &str, resolved: &str| ticket(id, opened, json!({"opened_at": opened, "resolved_at": resolved}));
    check(
        "remediation-time-trend",
        &[
            fixed(1, "2025-04-10T00:00:00Z", "2025-04-12T00:00:00Z"),
            fixed(2, "2025-06-01T00:00:00Z", "2025-06-02T00:00:00Z"),
        ],
        &any(),
        True,
    );
    check(
        "remediation-time-trend",
        &[
            fixed(1, "2025-04-10T00:00:00Z", "2025-04-11T00:00:00Z"),
            fixed(2, "2025-06-01T00:00:00Z", "2025-06-03T00:00:00Z"),
        ],
        &any(),
        False,
    );
    // Incidents count as well.
    check(
        "remediation-time-trend",
        &[
            fixed(1, "2025-04-10T00:00:00Z", "2025-04-11T00:00:00Z"),
            record(
                2,
                "incident",
                "2025-06-01",
                json!({"service": "api"}),
                json!({"resolved_at": "2025-06-05T00:00:00Z"}),
            ),
        ],
        &any(),
        False,
    );
    check(
        "remediation-time-trend",
        &[fixed(1, "2025-06-01T00:00:00Z", "2025-06-02T00:00:00Z")],
        &any(),
        NotAvailable,
    );
    check("remediation-time-trend", &[], &any(), NotAvailable);
}

fn incident(id: u64, when: &str, attrs: Value) -> Evidence {
    record(id, "incident", when, json!({"service": "api"}), attrs)
}

#[test]
fn incidents_recorded() {
    check(
        "incidents-recorded",
        &[incident(1, "2025-06-01", json!({}))],
        &any(),
        True,
    );
    check(
        "incidents-recorded",
        &[incident(1, "2025-01-01", json!({}))],
        &any(),
        False,
    );
    check(
        "incidents-recorded",
        &[alert(1, "2025-06-01", "high")],
        &any(),
        NotAvailable,
    );
}

#[test]
fn incident_response_timed() {
    check(
        "incident-response-timed",
        &[incident(
            1,
            "2025-06-01",
            json!({"acknowledged_at": "2025-06-01T00:10:00Z", "resolved_at": "2025-06-02T00:00:00Z"}),
        )],
        &any(),
        True,
    );
    // Vacuously true: incidents are recorded, none in the window.
    check(
        "incident-response-timed",
        &[incident(1, "2025-01-01", json!({}))],
        &any(),
        True,
    );
    // Resolved, but never acknowledged.
    check(
        "incident-response-timed",
        &[incident(
            1,
            "2025-06-01",
            json!({"resolved_at": "2025-06-02T00:00:00Z"}),
        )],
        &any(),
        False,
    );
    check(
        "incident-response-timed",
        &[incident(
            1,
            "2025-06-01",
            json!({"acknowledged_at": "2025-06-01T00:10:00Z", "resolved_at": "2025-06-20T00:00:00Z"}),
        )],
        &any(),
        False,
    );
    check("incident-response-timed", &[], &any(), NotAvailable);
}

#[test]
fn artefacts_signed() {
    check(
        "artefacts-signed",
        &[
            provenance(1, "2025-06-01", "0123456789abcdef", false),
            provenance(2, "2025-06-02", "0123456789abcdef", true),
        ],
        &any(),
        True,
    );
    check(
        "artefacts-signed",
        &[provenance(1, "2025-06-01", "0123456789abcdef", false)],
        &any(),
        False,
    );
    check(
        "artefacts-signed",
        &[provenance(1, "2025-01-01", "0123456789abcdef", true)],
        &any(),
        False,
    );
    check("artefacts-signed", &[], &any(), NotAvailable);
}

/// A deployment's latest record decides whether it shipped; only `success`
/// (or no state) ships; GitLab's tier and GitHub's flag decide production
/// before the name; `preprod` and `non-prod` are not production.
#[test]
fn production_deploys_are_those_that_shipped_to_production() {
    let commit = "0123456789abcdef";
    let deploy = |id, when, state: &str, deployment: &str, environment: &str| {
        let mut record = prod_deploy(id, when, commit, "github-actions[bot]");
        record.subject.environment = Some(environment.to_string());
        record.attrs["state"] = json!(state);
        record.attrs["deployment_id"] = json!(deployment);
        record
    };
    let verified = provenance(1, "2025-06-01", commit, true);
    // Created, then errored: never shipped.
    check(
        "prod-artefacts-verified",
        &[
            verified.clone(),
            deploy(2, "2025-06-01T01:00:00Z", "created", "101", "production"),
            deploy(3, "2025-06-01T01:05:00Z", "error", "101", "production"),
        ],
        &any(),
        NotAvailable,
    );
    // Created, then succeeded: shipped.
    check(
        "prod-artefacts-verified",
        &[
            verified.clone(),
            deploy(2, "2025-06-01T01:00:00Z", "created", "101", "production"),
            deploy(3, "2025-06-01T01:05:00Z", "success", "101", "production"),
        ],
        &any(),
        True,
    );
    for state in ["failed", "canceled", "running", "created"] {
        check(
            "prod-artefacts-verified",
            &[
                verified.clone(),
                deploy(2, "2025-06-01T01:00:00Z", state, "7", "production"),
            ],
            &any(),
            NotAvailable,
        );
    }
    for environment in ["preprod", "non-prod", "product-demo", "staging"] {
        check(
            "prod-artefacts-verified",
            &[
                verified.clone(),
                deploy(2, "2025-06-01T01:00:00Z", "success", "7", environment),
            ],
            &any(),
            NotAvailable,
        );
    }
    for environment in ["prod-eu-1", "Production", "prd"] {
        check(
            "prod-artefacts-verified",
            &[
                verified.clone(),
                deploy(2, "2025-06-01T01:00:00Z", "success", "7", environment),
            ],
            &any(),
            True,
        );
    }
    // GitLab's tier wins over the name, both ways.
    let mut live = deploy(2, "2025-06-01T01:00:00Z", "success", "7", "live");
    live.attrs["environment_tier"] = json!("production");
    check("prod-artefacts-verified", &[verified.clone(), live], &any(), True);
    let mut tiered = deploy(2, "2025-06-01T01:00:00Z", "success", "7", "production-mirror");
    tiered.attrs["environment_tier"] = json!("staging");
    check("prod-artefacts-verified", &[verified, tiered], &any(), NotAvailable);
}

#[test]
fn prod_artefacts_verified() {
    let commit = "0123456789abcdef";
    check(
        "prod-artefacts-verified",
        &[
            provenance(1, "2025-06-01", commit, true),
            prod_deploy(2, "2025-06-01T01:00:00Z", commit, "github-actions[bot]"),
        ],
        &any(),
        True,
    );
    check(
        "prod-artefacts-verified",
        &[
            provenance(1, "2025-06-01", commit, false),
            prod_deploy(2, "2025-06-01T01:00:00Z", commit, "github-actions[bot]"),
        ],
        &any(),
        False,
    );
    check(
        "prod-artefacts-verified",
        &[
            provenance(1, "2025-06-01", "fedcba9876543210", true),
            prod_deploy(2, "2025-06-01T01:00:00Z", commit, "github-actions[bot]"),
        ],
        &any(),
        False,
    );
    // Only a staging deploy.
    let mut staging = prod_deploy(2, "2025-06-01T01:00:00Z", commit, "github-actions[bot]");
    staging.subject.environment = Some("staging".into());
    check(
        "prod-artefacts-verified",
        &[provenance(1, "2025-06-01", commit, true), staging],
        &any(),
        NotAvailable,
    );
    // A failed production deploy shipped nothing.
    let mut failed = prod_deploy(2, "2025-06-01T01:00:00Z", commit, "github-actions[bot]");
    failed.attrs["state"] = json!("failure");
    check("prod-artefacts-verified", &[failed], &any(), NotAvailable);
}

#[test]
fn admission_verifies_in_enforce() {
    check(
        "admission-verifies-in-enforce",
        &[policy(
            1,
            "2025-06-01",
            "ClusterImagePolicy",
            "signed-images",
            "enforce",
        )],
        &any(),
        True,
    );
    check(
        "admission-verifies-in-enforce",
        &[policy(1, "2025-06-01", "ClusterImagePolicy", "signed-images", "warn")],
        &any(),
        False,
    );
    // Enforcing earlier, switched to warn since: the latest export wins.
    check(
        "admission-verifies-in-enforce",
        &[
            policy(1, "2025-05-01", "ClusterImagePolicy", "signed-images", "enforce"),
            policy(2, "2025-06-01", "ClusterImagePolicy", "signed-images", "warn"),
        ],
        &any(),
        False,
    );
    // Policies exist, none verifies images.
    check(
        "admission-verifies-in-enforce",
        &[policy(1, "2025-06-01", "ClusterPolicy", "no-latest-tag", "enforce")],
        &any(),
        False,
    );
    check("admission-verifies-in-enforce", &[], &any(), NotAvailable);
}

#[test]
fn admission_observed_for_latest() {
    let image = "ghcr.io/acme/api@sha256:abcdef0123456789";
    let deploy = |id, when| {
        record(
            id,
            "deploy",
            when,
            json!({"service": "api", "environment": "prod", "image": image}),
            json!({"creator": "argo-pipeline"}),
        )
    };
    let decision = |id, when, image: &str| {
        record(
            id,
            "admission_decision",
            when,
            json!({"namespace": "api", "image": image}),
            json!({"result": "allowed", "policy": "signed-images"}),
        )
    };
    let fact = check(
        "admission-observed-for-latest",
        &[deploy(1, "2025-06-01"), decision(2, "2025-06-01T00:01:00Z", image)],
        &any(),
        True,
    );
    assert_eq!(fact.evidence, vec![1, 2]);
    check(
        "admission-observed-for-latest",
        &[
            deploy(1, "2025-06-01"),
            decision(2, "2025-06-01T00:01:00Z", "ghcr.io/acme/web@sha256:9999999999999999"),
        ],
        &any(),
        False,
    );
    check(
        "admission-observed-for-latest",
        &[deploy(1, "2025-06-01")],
        &any(),
        NotAvailable,
    );
    check(
        "admission-observed-for-latest",
        &[decision(1, "2025-06-01", image)],
        &any(),
        NotAvailable,
    );
}

#[test]
fn provenance_continuous() {
    let commit = "0123456789abcdef";
    check(
        "provenance-continuous",
        &[
            provenance(1, "2025-04-10", commit, true),
            provenance(2, "2025-06-01", commit, true),
        ],
        &any(),
        True,
    );
    check(
        "provenance-continuous",
        &[
            provenance(1, "2025-04-10", commit, false),
            provenance(2, "2025-06-01", commit, true),
        ],
        &any(),
        False,
    );
    check(
        "provenance-continuous",
        &[provenance(1, "2025-06-01", commit, false)],
        &any(),
        False,
    );
    check("provenance-continuous", &[], &any(), NotAvailable);
}

#[test]
fn admission_policies_exist() {
    // Never false by design: it asks whether any admission_policy was recorded
    // at all, so "none" is always not-available.
    check(
        "admission-policies-exist",
        &[policy(1, "2024-01-01", "ClusterPolicy", "no-latest-tag", "audit")],
        &any(),
        True,
    );
    check("admission-policies-exist", &[], &any(), NotAvailable);
    check(
        "admission-policies-exist",
        &[policy(1, "2025-07-01", "ClusterPolicy", "no-latest-tag", "audit")],
        &any(),
        NotAvailable,
    );
}

#[test]
fn admission_policies_enforce() {
    check(
        "admission-policies-enforce",
        &[
            policy(1, "2025-06-01", "ClusterPolicy", "no-latest-tag", "enforce"),
            policy(2, "2025-06-01", "ClusterImagePolicy", "signed-images", "enforce"),
        ],
        &any(),
        True,
    );
    let fact = check(
        "admission-policies-enforce",
        &[
            policy(1, "2025-06-01", "ClusterPolicy", "no-latest-tag", "audit"),
            policy(2, "2025-06-01", "ClusterImagePolicy", "signed-images", "enforce"),
        ],
        &any(),
        False,
    );
    assert_eq!(fact.evidence, vec![1]);
    check("admission-policies-enforce", &[], &any(), NotAvailable);
}

fn sbom(id: u64, when: &str, commit: &str) -> Evidence {
    record(
        id,
        "sbom",
        when,
        json!({"repo": "acme/api", "commit": commit}),
        json!({"format": "cyclonedx", "components": 120}),
    )
}

#[test]
fn sbom_exists() {
    // Never false by design: it asks whether any SBOM was recorded at all.
    check(
        "sbom-exists",
        &[sbom(1, "2024-01-01", "0123456789abcdef")],
        &any(),
        True,
    );
    check("sbom-exists", &[], &any(), NotAvailable);
    check(
        "sbom-exists",
        &[sbom(1, "2025-07-01", "0123456789abcdef")],
        &any(),
        NotAvailable,
    );
}

#[test]
fn sbom_for_prod_artefacts() {
    let commit = "0123456789abcdef";
    check(
        "sbom-for-prod-artefacts",
        &[
            sbom(1, "2025-06-01", commit),
            prod_deploy(2, "2025-06-01T01:00:00Z", commit, "github-actions[bot]"),
        ],
        &any(),
        True,
    );
    check(
        "sbom-for-prod-artefacts",
        &[
            sbom(1, "2025-06-01", "fedcba9876543210"),
            prod_deploy(2, "2025-06-01T01:00:00Z", commit, "github-actions[bot]"),
        ],
        &any(),
        False,
    );
    check(
        "sbom-for-prod-artefacts",
        &[sbom(1, "2025-06-01", commit)],
        &any(),
        NotAvailable,
    );
}

#[test]
fn deploys_recorded() {
    let commit = "0123456789abcdef";
    check(
        "deploys-recorded",
        &[prod_deploy(1, "2025-06-01", commit, "ana")],
        &any(),
        True,
    );
    check(
        "deploys-recorded",
        &[prod_deploy(1, "2025-01-01", commit, "ana")],
        &any(),
        False,
    );
    check("deploys-recorded", &[], &any(), NotAvailable);
}

#[test]
fn deploys_automated() {
    let commit = "0123456789abcdef";
    check(
        "deploys-automated",
        &[prod_deploy(1, "2025-06-01", commit, "github-actions[bot]")],
        &any(),
        True,
    );
    // A GitLab deploy from a job.
    let mut from_job = prod_deploy(1, "2025-06-01", commit, "ana");
    from_job.attrs["job_id"] = json!(4242);
    check("deploys-automated", &[from_job], &any(), True);
    check(
        "deploys-automated",
        &[
            prod_deploy(1, "2025-06-01", commit, "github-actions[bot]"),
            prod_deploy(2, "2025-06-02", commit, "ana@acme.example"),
        ],
        &any(),
        False,
    );
    // People whose names merely contain "ci" are people.
    check(
        "deploys-automated",
        &[prod_deploy(1, "2025-06-01", commit, "cindy@acme.example")],
        &any(),
        False,
    );
    check(
        "deploys-automated",
        &[prod_deploy(1, "2025-06-01", commit, "francisco")],
        &any(),
        False,
    );
    check("deploys-automated", &[], &any(), NotAvailable);
}

// --- organisation probes ------------------------------------------------------

#[test]
fn inventory_exists() {
    // Never false by design: it asks whether any inventory snapshot was recorded.
    check(
        "inventory-exists",
        &[snapshot(1, "2024-01-01", good_assets())],
        &any(),
        True,
    );
    check("inventory-exists", &[], &any(), NotAvailable);
    check(
        "inventory-exists",
        &[snapshot(1, "2025-07-01", good_assets())],
        &any(),
        NotAvailable,
    );
}

#[test]
fn inventory_refreshed() {
    // 2025-04-01 .. 2025-06-24, weekly: the last is 6 days before the as-of time.
    check(
        "inventory-refreshed",
        &weekly_snapshots(1, "2025-04-01", 13),
        &any(),
        True,
    );
    // Weekly, but stopped two weeks before the as-of time.
    check(
        "inventory-refreshed",
        &weekly_snapshots(1, "2025-04-01", 11),
        &any(),
        False,
    );
    check(
        "inventory-refreshed",
        &[
            snapshot(1, "2025-04-01", good_assets()),
            snapshot(2, "2025-06-29", good_assets()),
        ],
        &any(),
        False,
    );
    check(
        "inventory-refreshed",
        &[snapshot(1, "2025-01-01", good_assets())],
        &any(),
        False,
    );
    check("inventory-refreshed", &[], &any(), NotAvailable);
}

#[test]
fn inventory_reconstructable() {
    let mut records = vec![snapshot(100, "2025-03-25", good_assets())];
    records.extend(weekly_snapshots(1, "2025-04-01", 13));
    check("inventory-reconstructable", &records, &any(), True);
    // Snapshots only from inside the window.
    check(
        "inventory-reconstructable",
        &weekly_snapshots(1, "2025-04-08", 12),
        &any(),
        False,
    );
    // From before the window, but never refreshed.
    check(
        "inventory-reconstructable",
        &[snapshot(1, "2025-03-25", good_assets())],
        &any(),
        False,
    );
    check("inventory-reconstructable", &[], &any(), NotAvailable);
}

#[test]
fn services_owned_and_reviewed() {
    check(
        "services-owned-and-reviewed",
        &[snapshot(1, "2025-06-01", good_assets())],
        &any(),
        True,
    );
    // Only the latest snapshot counts.
    check(
        "services-owned-and-reviewed",
        &[
            snapshot(1, "2025-05-01", json!([{"name": "api", "environment": "production"}])),
            snapshot(2, "2025-06-01", good_assets()),
        ],
        &any(),
        True,
    );
    check(
        "services-owned-and-reviewed",
        &[snapshot(
            1,
            "2025-06-01",
            json!([{"name": "api", "environment": "production", "owner": " ", "last_security_review": "2025-01-15"}]),
        )],
        &any(),
        False,
    );
    check(
        "services-owned-and-reviewed",
        &[snapshot(
            1,
            "2025-06-01",
            json!([{"name": "api", "lifecycle": "production", "owner": "team-a", "last_security_review": "2024-01-15"}]),
        )],
        &any(),
        False,
    );
    // No production service listed.
    check(
        "services-owned-and-reviewed",
        &[snapshot(
            1,
            "2025-06-01",
            json!([{"name": "sandbox", "environment": "dev"}]),
        )],
        &any(),
        False,
    );
    check("services-owned-and-reviewed", &[], &any(), NotAvailable);
}

#[test]
fn inventory_drift_tracked() {
    check(
        "inventory-drift-tracked",
        &[
            snapshot(1, "2025-04-10", good_assets()),
            snapshot(2, "2025-06-01", good_assets()),
        ],
        &any(),
        True,
    );
    check(
        "inventory-drift-tracked",
        &[
            snapshot(1, "2025-01-10", good_assets()),
            snapshot(2, "2025-06-01", good_assets()),
        ],
        &any(),
        False,
    );
    check("inventory-drift-tracked", &[], &any(), NotAvailable);
}

#[test]
fn training_records_exist() {
    // Never false by design: it asks whether any training record was recorded.
    check(
        "training-records-exist",
        &[training(1, "ana@acme.example", "2023-01-01")],
        &any(),
        True,
    );
    check("training-records-exist", &[], &any(), NotAvailable);
    check(
        "training-records-exist",
        &[training(1, "ana@acme.example", "2025-07-01")],
        &any(),
        NotAvailable,
    );
}

#[test]
fn training_coverage() {
    let fact = check(
        "training-coverage",
        &[
            grant(1, "ana@acme.example", false, None),
            // The person is matched case-insensitively.
            training(2, "Ana@Acme.example", "2025-03-01"),
        ],
        &any(),
        True,
    );
    assert_eq!(fact.evidence, vec![2]);
    let fact = check(
        "training-coverage",
        &[
            grant(1, "ana@acme.example", false, None),
            grant(2, "bo@acme.example", true, None),
            training(3, "ana@acme.example", "2025-03-01"),
        ],
        &any(),
        False,
    );
    // The failure cites bo's grant, the person not trained.
    assert!(fact.evidence.contains(&2), "{:?}", fact.evidence);
    // Trained too long ago.
    check(
        "training-coverage",
        &[
            grant(1, "ana@acme.example", false, None),
            training(2, "ana@acme.example", "2024-03-01"),
        ],
        &any(),
        False,
    );
    // A role is not a person to train: only ana's coverage counts.
    let mut role = grant(3, "", true, None);
    role.subject.person = None;
    role.attrs = json!({"principal": "deployer", "principal_type": "role", "elevated": true});
    check(
        "training-coverage",
        &[
            grant(1, "ana@acme.example", false, None),
            training(2, "ana@acme.example", "2025-03-01"),
            role,
        ],
        &any(),
        True,
    );
    check(
        "training-coverage",
        &[grant(1, "ana@acme.example", false, None)],
        &any(),
        NotAvailable,
    );
    check(
        "training-coverage",
        &[training(1, "ana@acme.example", "2025-03-01")],
        &any(),
        NotAvailable,
    );
}

#[test]
fn elevated_access_trained() {
    let fact = check(
        "elevated-access-trained",
        &[
            grant(1, "ana@acme.example", true, None),
            training(2, "ana@acme.example", "2025-03-01"),
        ],
        &any(),
        True,
    );
    assert_eq!(fact.evidence, vec![1, 2]);
    // Nobody holds elevated access: true, resting on the grants.
    let fact = check(
        "elevated-access-trained",
        &[
            grant(1, "ana@acme.example", false, None),
            training(2, "bo@acme.example", "2023-03-01"),
        ],
        &any(),
        True,
    );
    assert_eq!(fact.evidence, vec![1]);
    // Overdue, but with a disciplined, unexpired exception for the person.
    let mut exception = good_override(3, "2025-06-01T00:00:00Z", "2025-07-31T00:00:00Z");
    exception.attrs["rule"] = json!("training");
    exception.attrs["fingerprint"] = json!("ana@acme.example");
    let fact = check(
        "elevated-access-trained",
        &[
            grant(1, "ana@acme.example", true, None),
            training(2, "ana@acme.example", "2023-03-01"),
            exception,
        ],
        &any(),
        True,
    );
    assert!(fact.evidence.contains(&3), "{:?}", fact.evidence);
    check(
        "elevated-access-trained",
        &[
            grant(1, "ana@acme.example", true, None),
            training(2, "ana@acme.example", "2023-03-01"),
        ],
        &any(),
        False,
    );
    // Trained, but someone else with elevated access is not.
    check(
        "elevated-access-trained",
        &[
            grant(1, "ana@acme.example", true, None),
            grant(2, "bo@acme.example", true, None),
            training(3, "ana@acme.example", "2025-03-01"),
        ],
        &any(),
        False,
    );
    check(
        "elevated-access-trained",
        &[training(1, "ana@acme.example", "2025-03-01")],
        &any(),
        NotAvailable,
    );
    check(
        "elevated-access-trained",
        &[grant(1, "ana@acme.example", true, None)],
        &any(),
        NotAvailable,
    );
}

#[test]
fn training_trend() {
    let scored = |id, when: &str, score| {
        let mut record = training(id, "ana@acme.example", when);
        record.attrs["score"] = json!(score);
        record
    };
    check(
        "training-trend",
        &[scored(1, "2025-04-10", 70), scored(2, "2025-06-01", 85)],
        &any(),
        True,
    );
    check("training-trend", &[scored(1, "2025-06-01", 85)], &any(), False);
    // Completions, but no outcome measured.
    check(
        "training-trend",
        &[
            training(1, "ana@acme.example", "2025-04-10"),
            training(2, "ana@acme.example", "2025-06-01"),
        ],
        &any(),
        False,
    );
    check("training-trend", &[], &any(), NotAvailable);
}

#[test]
fn iam_grants_recorded() {
    // Never false by design: it asks whether any grant was recorded at all.
    check(
        "iam-grants-recorded",
        &[grant(1, "ana@acme.example", false, None)],
        &any(),
        True,
    );
    check("iam-grants-recorded", &[], &any(), NotAvailable);
    check(
        "iam-grants-recorded",
        &[training(1, "ana@acme.example", "2025-03-01")],
        &any(),
        NotAvailable,
    );
}

#[test]
fn elevated_access_reviewed() {
    let fact = check(
        "elevated-access-reviewed",
        &[
            grant(1, "ana@acme.example", true, Some("2025-02-01")),
            grant(2, "bo@acme.example", false, None),
        ],
        &any(),
        True,
    );
    assert_eq!(fact.evidence, vec![1]);
    // Nobody holds elevated access: true, resting on the grants.
    let fact = check(
        "elevated-access-reviewed",
        &[grant(1, "ana@acme.example", false, None)],
        &any(),
        True,
    );
    assert_eq!(fact.evidence, vec![1]);
    // Not reviewed, but with a disciplined, unexpired `access` exception.
    let mut exception = good_override(2, "2025-06-01T00:00:00Z", "2025-07-31T00:00:00Z");
    exception.attrs["rule"] = json!("access");
    exception.attrs["fingerprint"] = json!("ana@acme.example");
    let fact = check(
        "elevated-access-reviewed",
        &[grant(1, "ana@acme.example", true, None), exception],
        &any(),
        True,
    );
    assert_eq!(fact.evidence, vec![2]);
    check(
        "elevated-access-reviewed",
        &[grant(1, "ana@acme.example", true, None)],
        &any(),
        False,
    );
    check(
        "elevated-access-reviewed",
        &[grant(1, "ana@acme.example", true, Some("2024-02-01"))],
        &any(),
        False,
    );
    check("elevated-access-reviewed", &[], &any(), NotAvailable);
}

#[test]
fn champion_time_protected() {
    check(
        "champion-time-protected",
        &[block(1, "2025-06-02T09:00:00Z", "ana@acme.example")],
        &any(),
        True,
    );
    // Only before the window.
    check(
        "champion-time-protected",
        &[block(1, "2025-01-06T09:00:00Z", "ana@acme.example")],
        &any(),
        False,
    );
    let mut cancelled = block(1, "2025-06-02T09:00:00Z", "ana@acme.example");
    cancelled.attrs["status"] = json!("cancelled");
    check("champion-time-protected", &[cancelled], &any(), False);
    check("champion-time-protected", &[], &any(), NotAvailable);
}

#[test]
fn champion_time_honoured() {
    check(
        "champion-time-honoured",
        &weekly_blocks(1, 13, "ana@acme.example"),
        &any(),
        True,
    );
    // A 90-day window touches 13 weeks: 11 of 13 is at least 80%, 10 of 13 is not.
    check(
        "champion-time-honoured",
        &weekly_blocks(1, 11, "ana@acme.example"),
        &any(),
        True,
    );
    check(
        "champion-time-honoured",
        &weekly_blocks(1, 10, "ana@acme.example"),
        &any(),
        False,
    );
    check(
        "champion-time-honoured",
        &weekly_blocks(1, 3, "ana@acme.example"),
        &any(),
        False,
    );
    // One champion keeps their time, the other does not.
    let mut records = weekly_blocks(1, 13, "ana@acme.example");
    records.extend(weekly_blocks(100, 2, "bo@acme.example"));
    check("champion-time-honoured", &records, &any(), False);
    check("champion-time-honoured", &[], &any(), NotAvailable);
}

#[test]
fn champion_time_counts_only_the_teams_members() {
    // The inventory names team a's members: bo's blocks are another team's
    // champion time and do not count for a.
    let scope = Scope {
        team: "a".into(),
        repos: vec!["acme/api".into()],
        services: Vec::new(),
    };
    let groups = |id: u64| {
        record(
            id,
            "asset_snapshot",
            "2025-06-01",
            json!({}),
            json!({"assets": [], "groups": [{"name": "a", "members": ["ana@acme.example"]}, {"name": "b", "members": ["bo@acme.example"]}]}),
        )
    };
    // No calendar of a's members was ingested at all.
    let mut records = weekly_blocks(1, 13, "bo@acme.example");
    records.push(groups(500));
    check_scoped("champion-time-protected", &scope, &records, &any(), NotAvailable);
    check_scoped("champion-time-honoured", &scope, &records, &any(), NotAvailable);
    let mut records = weekly_blocks(1, 13, "ana@acme.example");
    records.extend(weekly_blocks(100, 2, "bo@acme.example"));
    records.push(groups(500));
    check_scoped("champion-time-protected", &scope, &records, &any(), True);
    check_scoped("champion-time-honoured", &scope, &records, &any(), True);
}

#[test]
fn people_evidence_counts_only_for_the_teams_members() {
    // bo is in team b: his training and grants are not team a's.
    let scope = Scope {
        team: "a".into(),
        repos: vec!["acme/api".into()],
        services: Vec::new(),
    };
    let groups = record(
        500,
        "asset_snapshot",
        "2025-06-01",
        json!({}),
        json!({"assets": [], "groups": [{"name": "a", "members": ["ana@acme.example"]}, {"name": "b", "members": ["bo@acme.example"]}]}),
    );
    let training = |id: u64, person: &str| {
        record(
            id,
            "training_record",
            "2025-06-01",
            json!({"person": person}),
            json!({"course": "secure coding", "completed_at": "2025-06-01", "status": "completed"}),
        )
    };
    let records = vec![groups.clone(), training(1, "bo@acme.example")];
    check_scoped("training-records-exist", &scope, &records, &any(), NotAvailable);
    let records = vec![groups, training(1, "bo@acme.example"), training(2, "ana@acme.example")];
    let fact = check_scoped("training-records-exist", &scope, &records, &any(), True);
    assert_eq!(fact.evidence, vec![2], "only ana's record is a's");
}

#[test]
fn threat_model_exists() {
    // Never false by design: it asks whether any threat model was recorded.
    check(
        "threat-model-exists",
        &[threat_model(1, "2024-01-01", "api")],
        &any(),
        True,
    );
    check("threat-model-exists", &[], &any(), NotAvailable);
    check(
        "threat-model-exists",
        &[threat_model(1, "2025-07-01", "api")],
        &any(),
        NotAvailable,
    );
}

#[test]
fn threat_models_for_services() {
    check(
        "threat-models-for-services",
        &[
            threat_model(1, "2025-01-01", "api"),
            threat_model(2, "2025-02-01", "web"),
        ],
        &any(),
        True,
    );
    // Two versions of one service's model are one service.
    check(
        "threat-models-for-services",
        &[
            threat_model(1, "2025-01-01", "api"),
            threat_model(2, "2025-02-01", "api"),
        ],
        &any(),
        False,
    );
    check("threat-models-for-services", &[], &any(), NotAvailable);
    // A team's own service modelled is enough.
    let scope = Scope {
        team: "a".into(),
        repos: Vec::new(),
        services: vec!["api".into()],
    };
    check_scoped(
        "threat-models-for-services",
        &scope,
        &[threat_model(1, "2025-01-01", "api")],
        &any(),
        True,
    );
}

#[test]
fn threat_model_before_deploy() {
    let commit = "0123456789abcdef";
    check(
        "threat-model-before-deploy",
        &[
            threat_model(1, "2025-03-01", "api"),
            prod_deploy(2, "2025-06-01", commit, "github-actions[bot]"),
        ],
        &any(),
        True,
    );
    check(
        "threat-model-before-deploy",
        &[
            prod_deploy(1, "2025-06-01", commit, "github-actions[bot]"),
            threat_model(2, "2025-06-10", "api"),
        ],
        &any(),
        False,
    );
    // A model with no mitigations does not count.
    let mut empty = threat_model(1, "2025-03-01", "api");
    empty.attrs["mitigations"] = json!(0);
    check(
        "threat-model-before-deploy",
        &[empty, prod_deploy(2, "2025-06-01", commit, "github-actions[bot]")],
        &any(),
        False,
    );
    check(
        "threat-model-before-deploy",
        &[prod_deploy(1, "2025-06-01", commit, "github-actions[bot]")],
        &any(),
        NotAvailable,
    );
    check(
        "threat-model-before-deploy",
        &[threat_model(1, "2025-03-01", "api")],
        &any(),
        NotAvailable,
    );
}

#[test]
fn threat_models_revisited() {
    check(
        "threat-models-revisited",
        &[
            threat_model(1, "2024-10-01", "api"),
            threat_model(2, "2025-05-01", "api"),
        ],
        &any(),
        True,
    );
    check(
        "threat-models-revisited",
        &[threat_model(1, "2025-05-01", "api")],
        &any(),
        False,
    );
    // Revisited, but not in the window.
    check(
        "threat-models-revisited",
        &[
            threat_model(1, "2024-10-01", "api"),
            threat_model(2, "2025-01-01", "api"),
        ],
        &any(),
        False,
    );
    check("threat-models-revisited", &[], &any(), NotAvailable);
}

#[test]
fn attested() {
    check(
        "attested",
        &[attestation(1, ACTIVITY, "ana@acme.example", "", "2025-05-01")],
        &activity(ACTIVITY),
        True,
    );
    check(
        "attested",
        &[attestation(1, "another-activity", "ana@acme.example", "", "2025-05-01")],
        &activity(ACTIVITY),
        False,
    );
    check("attested", &[], &activity(ACTIVITY), NotAvailable);
    // An attestation about a team counts for that team only.
    let mut for_b = attestation(1, ACTIVITY, "ana@acme.example", "", "2025-05-01");
    for_b.subject.team = Some("b".into());
    let team = |name: &str| Scope {
        team: name.into(),
        repos: vec!["acme/api".into()],
        services: Vec::new(),
    };
    check_scoped(
        "attested",
        &team("b"),
        std::slice::from_ref(&for_b),
        &activity(ACTIVITY),
        True,
    );
    check_scoped("attested", &team("a"), &[for_b], &activity(ACTIVITY), NotAvailable);
}

#[test]
fn attestation_reviewed() {
    check(
        "attestation-reviewed",
        &[attestation(
            1,
            ACTIVITY,
            "ana@acme.example",
            "bo@acme.example",
            "2025-05-01",
        )],
        &activity(ACTIVITY),
        True,
    );
    check(
        "attestation-reviewed",
        &[attestation(
            1,
            ACTIVITY,
            "ana@acme.example",
            "ANA@acme.example",
            "2025-05-01",
        )],
        &activity(ACTIVITY),
        False,
    );
    check(
        "attestation-reviewed",
        &[attestation(
            1,
            ACTIVITY,
            "ana@acme.example",
            "bo@acme.example",
            "2024-01-01",
        )],
        &activity(ACTIVITY),
        False,
    );
    check(
        "attestation-reviewed",
        &[attestation(
            1,
            "another-activity",
            "ana@acme.example",
            "bo@acme.example",
            "2025-05-01",
        )],
        &activity(ACTIVITY),
        False,
    );
    check("attestation-reviewed", &[], &activity(ACTIVITY), NotAvailable);
}

#[test]
fn unknown_probe_is_not_available() {
    let thresholds = Thresholds::default();
    let scope = Scope::default();
    let view = View::new(&[], at(AS_OF), &scope, &thresholds);
    let fact = probes::run("no-such-probe", &view, &any());
    assert_eq!(fact.outcome, NotAvailable);
    assert!(fact.evidence.is_empty());
}

/// Every probe id in the registry is the first argument of at least three
/// `check(` calls in this file, so a new probe without table tests fails here.
#[test]
fn every_registered_probe_has_three_checks() {
    let source = include_str!("table.rs");
    let mut counts: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
    for (index, _) in source.match_indices("check(") {
        // Only calls of the plain helper: not `check_scoped(`, nor this text.
        let before = source[..index].chars().next_back();
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let rest = source[index + "check(".len()..].trim_start();
        let Some(rest) = rest.strip_prefix('"') else { continue };
        let Some(end) = rest.find('"') else { continue };
        *counts.entry(rest[..end].to_string()).or_default() += 1;
    }
    let mut missing = Vec::new();
    for probe in probes::REGISTRY {
        let count = counts.get(probe.id).copied().unwrap_or(0);
        if count < 3 {
            missing.push(format!("{} ({count})", probe.id));
        }
    }
    assert!(
        missing.is_empty(),
        "probes with fewer than three check( calls: {}",
        missing.join(", ")
    );
    for id in counts.keys() {
        assert!(
            probes::probe(id).is_some(),
            "check( names `{id}`, which is not a registered probe"
        );
    }
    let mut ids: Vec<&str> = probes::REGISTRY.iter().map(|probe| probe.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), probes::REGISTRY.len(), "a probe id is registered twice");
}

#[test]
fn an_advisory_step_names_every_fact_that_keeps_it_from_blocking() {
    // Both `continue-on-error` and `semgrep scan` without `--error` make the
    // step advisory: fixing one alone leaves it advisory, so both are named.
    let step = record(
        1,
        "pipeline_config",
        "2025-06-01",
        json!({"repo": "acme/api"}),
        json!({"tool": "semgrep", "category": "sast", "mode": "advisory", "file": ".github/workflows/ci.yml", "line": 10,
        "reasons": [
            {"line": 12, "text": "continue-on-error: true", "why": "the job goes on", "effect": "advisory"},
            {"line": 13, "text": "semgrep scan", "why": "exits 0 on findings without --error", "effect": "advisory"},
            {"line": 3, "text": "on: pull_request", "why": "runs on PRs", "effect": "blocks"}
        ]}),
    );
    assert_eq!(
        probes::gate::deciding_lines(&step),
        vec!["line 12: `continue-on-error: true`", "line 13: `semgrep scan`"]
    );
    let message = probes::gate::advisory_reason(&step);
    assert!(message.contains("line 12") && message.contains("line 13"), "{message}");
}
