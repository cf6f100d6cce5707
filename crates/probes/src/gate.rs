//! Gate probes: scanners in CI/CD that can block (SAST, SCA, secrets, IaC,
//! container, DAST, licence), their overrides, and source-control protection.

use crate::{Fact, Outcome, Params, Probe, View, categories_of_tool, exists, text};
use model::{Evidence, EvidenceKind as Kind};
use serde_json::Value;
use std::collections::BTreeMap;

fn wanted(params: &Params, categories: &[&str]) -> bool {
    params.categories.is_empty()
        || categories
            .iter()
            .any(|category| params.categories.iter().any(|wanted| wanted == category))
}

fn named(params: &Params) -> String {
    if params.categories.is_empty() {
        "scanner".to_string()
    } else {
        params.categories.join("/")
    }
}

/// Whether a scan report, pipeline step or gate decision concerns the categories.
pub fn concerns(record: &Evidence, params: &Params) -> bool {
    match record.kind {
        Kind::PipelineConfig => text(record, "category").is_some_and(|category| wanted(params, &[category])),
        Kind::ScanReport | Kind::AlertDismissal | Kind::Suppression => {
            text(record, "tool").is_some_and(|tool| wanted(params, &categories_of_tool(tool)))
        }
        Kind::GateDecision => gate_tools(record)
            .iter()
            .any(|tool| wanted(params, &categories_of_tool(tool))),
        _ => false,
    }
}

/// The tools a gate decision judged: `tool` (an observed check run) or `tools`
/// (dsomm-audit's own gate).
pub fn gate_tools(record: &Evidence) -> Vec<String> {
    let mut tools: Vec<String> = record
        .attrs
        .get("tools")
        .and_then(Value::as_array)
        .map(|tools| tools.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default();
    if let Some(tool) = text(record, "tool") {
        tools.push(tool.to_string());
    }
    tools
}

/// The pipeline steps as last recorded: per (repo, file), the records of the
/// latest reading as of the view's time.
pub fn latest_configs<'a>(view: &View<'a>, params: &Params) -> Vec<&'a Evidence> {
    let mut latest: BTreeMap<(String, String), Vec<&'a Evidence>> = BTreeMap::new();
    for record in view.all(Kind::PipelineConfig) {
        let key = (
            record.subject.repo.clone().unwrap_or_default(),
            text(record, "file").unwrap_or_default().to_string(),
        );
        let entry = latest.entry(key).or_default();
        if entry
            .first()
            .is_some_and(|first| first.occurred_at < record.occurred_at)
        {
            entry.clear();
        }
        entry.push(record);
    }
    latest
        .into_values()
        .flatten()
        .filter(|record| concerns(record, params))
        .collect()
}

fn is_blocking_on_pull_requests(record: &Evidence) -> bool {
    text(record, "mode") == Some("blocking") && record.attrs.get("on_pull_request") != Some(&Value::Bool(false))
}

fn where_(record: &Evidence) -> String {
    format!(
        "{} step in {}:{}",
        text(record, "tool").unwrap_or("scanner"),
        text(record, "file").unwrap_or("?"),
        record.attrs.get("line").and_then(Value::as_u64).unwrap_or(0)
    )
}

/// Why a step is advisory, from its first reason.
pub fn advisory_reason(record: &Evidence) -> String {
    let lines = deciding_lines(record);
    if lines.is_empty() {
        format!("{} is {}", where_(record), text(record, "mode").unwrap_or("unknown"))
    } else {
        format!(
            "{} is {} ({})",
            where_(record),
            text(record, "mode").unwrap_or("unknown"),
            lines.join("; ")
        )
    }
}

/// Every fact that makes a step non-blocking, as `line N: `text``: all of
/// them must change for the step to block (the reasons whose `effect` is
/// `advisory` or `unknown`; the first reason when none says).
pub fn deciding_lines(record: &Evidence) -> Vec<String> {
    let reasons: Vec<&Value> = record
        .attrs
        .get("reasons")
        .and_then(Value::as_array)
        .map(|reasons| reasons.iter().collect())
        .unwrap_or_default();
    let line = |reason: &Value| {
        format!(
            "line {}: `{}`",
            reason.get("line").and_then(Value::as_u64).unwrap_or(0),
            reason.get("text").and_then(Value::as_str).unwrap_or("")
        )
    };
    let deciding: Vec<String> = reasons
        .iter()
        .filter(|reason| {
            matches!(
                reason.get("effect").and_then(Value::as_str),
                Some("advisory" | "unknown")
            )
        })
        .map(|reason| line(reason))
        .collect();
    if deciding.is_empty() {
        reasons.first().map(|reason| line(reason)).into_iter().collect()
    } else {
        deciding
    }
}

fn own_gate_decisions<'a>(view: &'a View<'_>, params: &'a Params) -> impl Iterator<Item = &'a Evidence> + 'a {
    view.in_window(Kind::GateDecision)
        .filter(move |record| record.attrs.get("observed").is_none() && concerns(record, params))
}

fn scanner_ran(view: &View<'_>, params: &Params) -> Fact {
    let id = "scanner-ran";
    let ran: Vec<&Evidence> = [Kind::ScanReport, Kind::PipelineConfig, Kind::GateDecision]
        .into_iter()
        .flat_map(|kind| view.in_window(kind).collect::<Vec<_>>())
        .filter(|record| concerns(record, params))
        .collect();
    if !ran.is_empty() {
        let reports = ran.iter().filter(|record| record.kind == Kind::ScanReport).count();
        let steps = ran.iter().filter(|record| record.kind == Kind::PipelineConfig).count();
        return Fact::new(
            id,
            Outcome::True,
            format!(
                "{} scanning ran in the window: {reports} scan reports, {steps} pipeline steps recorded",
                named(params)
            ),
            ran.iter().map(|record| record.id).collect(),
        );
    }
    if !(view.has(Kind::ScanReport) || view.has(Kind::PipelineConfig) || view.has(Kind::GateDecision)) {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            "no scan_report, pipeline_config or gate_decision evidence",
            Vec::new(),
        );
    }
    Fact::new(
        id,
        Outcome::False,
        format!(
            "no {} scan report or pipeline step in the last {} days",
            named(params),
            view.thresholds.lookback_days
        ),
        Vec::new(),
    )
}

/// Does a scanner of the activity's categories run for pull requests in a mode that can block?
pub static SCANNER_RAN: Probe = Probe {
    id: "scanner-ran",
    question: "Did a scanner of the activity's categories run in the window?",
    kinds: &[Kind::ScanReport, Kind::PipelineConfig, Kind::GateDecision],
    remediation: "Run the scanner in CI on every pull request and ingest its output (SARIF, Trivy or Grype JSON) and the workflow files.",
    effort_weeks: 1,
    run: scanner_ran,
};

fn gate_can_block(view: &View<'_>, params: &Params) -> Fact {
    let id = "gate-can-block";
    let configs = latest_configs(view, params);
    let blocking: Vec<&&Evidence> = configs
        .iter()
        .filter(|record| is_blocking_on_pull_requests(record))
        .collect();
    let gates: Vec<&Evidence> = own_gate_decisions(view, params).collect();
    if !blocking.is_empty() || !gates.is_empty() {
        let mut ids: Vec<u64> = blocking.iter().map(|record| record.id).collect();
        ids.extend(gates.iter().map(|record| record.id));
        let first = blocking
            .first()
            .map(|record| where_(record))
            .unwrap_or_else(|| "dsomm-audit gate".to_string());
        return Fact::new(
            id,
            Outcome::True,
            format!(
                "{} can block pull requests: {first} ({} blocking steps, {} gate decisions)",
                named(params),
                blocking.len(),
                gates.len()
            ),
            ids,
        );
    }
    if configs.is_empty() && !view.has(Kind::GateDecision) {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            format!(
                "no pipeline_config for {} steps and no gate_decision: run lint-pipelines/ingest on the CI files",
                named(params)
            ),
            Vec::new(),
        );
    }
    let message = match configs.first() {
        Some(first) => format!(
            "every {} step is advisory or skips pull requests: {}",
            named(params),
            advisory_reason(first)
        ),
        None => format!("no {} step in CI configuration", named(params)),
    };
    Fact::new(
        id,
        Outcome::False,
        message,
        configs.iter().map(|record| record.id).collect(),
    )
}

/// Is blocking configured somewhere?
pub static GATE_CAN_BLOCK: Probe = Probe {
    id: "gate-can-block",
    question: "Is a scanner step of the categories configured to block pull requests in some repository?",
    kinds: &[Kind::PipelineConfig, Kind::GateDecision],
    remediation: "Make the scanner step fail the job on findings (remove continue-on-error, `|| true`, `--exit-code 0`, soft_fail, allow_failure) or use `dsomm-audit gate`.",
    effort_weeks: 1,
    run: gate_can_block,
};

fn gate_blocks_on_coverage(view: &View<'_>, params: &Params) -> Fact {
    let id = "gate-blocks-on-coverage";
    let repos = view.repos();
    let configs = latest_configs(view, params);
    let gates: Vec<&Evidence> = own_gate_decisions(view, params).collect();
    if configs.is_empty() && gates.is_empty() {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            format!("no pipeline_config or gate_decision for {}", named(params)),
            Vec::new(),
        );
    }
    if repos.is_empty() {
        return Fact::new(id, Outcome::NotAvailable, "no repositories in scope", Vec::new());
    }
    let mut covered = Vec::new();
    let mut uncovered = Vec::new();
    let mut ids = Vec::new();
    for repo in &repos {
        // Repository names compare without case, as the scope matches them.
        let about = |record: &&&Evidence| {
            record
                .subject
                .repo
                .as_deref()
                .is_some_and(|named| named.eq_ignore_ascii_case(repo))
        };
        let blocking: Vec<&&Evidence> = configs
            .iter()
            .filter(|record| about(record) && is_blocking_on_pull_requests(record))
            .collect();
        let gated: Vec<&&Evidence> = gates.iter().filter(about).collect();
        if blocking.is_empty() && gated.is_empty() {
            uncovered.push(repo.clone());
            ids.extend(configs.iter().filter(about).map(|record| record.id));
        } else {
            covered.push(repo.clone());
            ids.extend(blocking.iter().map(|record| record.id));
            ids.extend(gated.iter().map(|record| record.id));
        }
    }
    let share = covered.len() as f64 / repos.len() as f64;
    let outcome = if share >= view.thresholds.coverage {
        Outcome::True
    } else {
        Outcome::False
    };
    let mut message = format!(
        "{} blocks on {} of {} in-scope repositories ({:.0}%, required {:.0}%)",
        named(params),
        covered.len(),
        repos.len(),
        share * 100.0,
        view.thresholds.coverage * 100.0
    );
    if !uncovered.is_empty() {
        let shown: Vec<&str> = uncovered.iter().take(5).map(String::as_str).collect();
        message.push_str(&format!("; not blocking: {}", shown.join(", ")));
        if let Some(advisory) = configs.iter().find(|record| !is_blocking_on_pull_requests(record)) {
            message.push_str(&format!("; {}", advisory_reason(advisory)));
        }
    }
    Fact::new(id, outcome, message, ids)
}

/// Coverage of blocking.
pub static GATE_BLOCKS_ON_COVERAGE: Probe = Probe {
    id: "gate-blocks-on-coverage",
    question: "Does the gate block on at least the required share (default 90%) of in-scope repositories?",
    kinds: &[Kind::PipelineConfig, Kind::GateDecision],
    remediation: "Roll the blocking scanner step (or `dsomm-audit gate`) out to every in-scope repository.",
    effort_weeks: 3,
    run: gate_blocks_on_coverage,
};

fn gate_block_observed(view: &View<'_>, params: &Params) -> Fact {
    let id = "gate-block-observed";
    let blocks: Vec<&Evidence> = view
        .in_window(Kind::GateDecision)
        .filter(|record| text(record, "decision") == Some("block") && concerns(record, params))
        .collect();
    if let Some(latest) = blocks.last() {
        return Fact::new(
            id,
            Outcome::True,
            format!(
                "{} blocks observed in the window; latest {} on {}",
                blocks.len(),
                model::time::format_time(latest.occurred_at),
                latest.subject.repo.as_deref().unwrap_or("?")
            ),
            blocks.iter().map(|record| record.id).collect(),
        );
    }
    if !view.has(Kind::GateDecision) && !view.has(Kind::CheckRun) {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            "no gate_decision or check_run evidence: a block cannot be shown",
            Vec::new(),
        );
    }
    Fact::new(
        id,
        Outcome::False,
        format!(
            "0 {} blocks observed in the last {} days",
            named(params),
            view.thresholds.lookback_days
        ),
        Vec::new(),
    )
}

/// A block observed.
pub static GATE_BLOCK_OBSERVED: Probe = Probe {
    id: "gate-block-observed",
    question: "Was at least one block by the gate observed in the window?",
    kinds: &[Kind::GateDecision, Kind::CheckRun],
    remediation: "Ingest check runs (GitHub/GitLab events) or run `dsomm-audit gate`; if nothing was blocked, document a canary finding that the gate blocks.",
    effort_weeks: 1,
    run: gate_block_observed,
};

fn undisciplined(view: &View<'_>, params: &Params, all_categories: bool) -> (Vec<u64>, Vec<String>, usize) {
    let owned: Vec<Evidence> = view.all(Kind::Override).cloned().collect();
    let states = policy::fold(&owned, view.as_of, view.thresholds.override_max_days);
    let start = view.window_start();
    let mut ids = Vec::new();
    let mut why = Vec::new();
    let mut total = 0;
    for state in &states {
        let tool_matches = all_categories
            || state
                .tool
                .as_deref()
                .is_none_or(|tool| wanted(params, &categories_of_tool(tool)));
        if !tool_matches {
            continue;
        }
        total += 1;
        if !state.disciplined {
            ids.push(state.id);
            why.push(format!(
                "override {} ({}): {}",
                state.id,
                state.rule,
                state.undisciplined_because.join(", ")
            ));
        }
    }
    for record in distinct_dismissals(view)
        .into_iter()
        .chain(view.all(Kind::Suppression).filter(|record| record.occurred_at >= start))
    {
        if all_categories || concerns(record, params) {
            total += 1;
            ids.push(record.id);
            why.push(match record.kind {
                Kind::AlertDismissal => format!(
                    "alert {} dismissed by {} ({}) with no owner or sunset",
                    text(record, "rule_id").unwrap_or("?"),
                    text(record, "dismissed_by").unwrap_or("?"),
                    text(record, "dismissed_reason").unwrap_or("no reason")
                ),
                _ => format!(
                    "inline suppression `{}` in {}:{}",
                    text(record, "text").unwrap_or("?"),
                    text(record, "file").unwrap_or("?"),
                    record.attrs.get("line").and_then(Value::as_u64).unwrap_or(0)
                ),
            });
        }
    }
    (ids, why, total)
}

/// The alert dismissals in the window, one per dismissal: the same alert
/// (repository, tool, number) dismissed at the same time is often recorded
/// several times (the `closed_by_user` webhook, a later `appeared_in_branch`
/// event of the dismissed alert, a REST export); the first record stands for
/// it. Records without an alert number are each their own dismissal.
fn distinct_dismissals<'a>(view: &View<'a>) -> Vec<&'a Evidence> {
    let mut seen = std::collections::BTreeSet::new();
    view.in_window(Kind::AlertDismissal)
        .filter(|record| {
            let Some(number) = record.attrs.get("number").and_then(Value::as_u64) else {
                return true;
            };
            seen.insert((
                record.subject.repo.as_deref().unwrap_or_default().to_ascii_lowercase(),
                text(record, "tool").unwrap_or_default().to_string(),
                number,
                text(record, "dismissed_at").unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

fn overrides_disciplined(view: &View<'_>, params: &Params) -> Fact {
    let id = "overrides-disciplined";
    let (ids, why, total) = undisciplined(view, params, false);
    if ids.is_empty() {
        return Fact::new(
            id,
            Outcome::True,
            format!(
                "all {total} overrides, dismissals and suppressions for {} are disciplined",
                named(params)
            ),
            Vec::new(),
        );
    }
    let shown: Vec<&str> = why.iter().take(3).map(String::as_str).collect();
    Fact::new(
        id,
        Outcome::False,
        format!(
            "{} of {total} exceptions are undisciplined: {}",
            ids.len(),
            shown.join("; ")
        ),
        ids,
    )
}

/// Overrides disciplined.
pub static OVERRIDES_DISCIPLINED: Probe = Probe {
    id: "overrides-disciplined",
    question: "Is every override of the gate disciplined (owner, approver, ticket, reason, sunset within the limit), with no undocumented dismissals or inline suppressions in the window?",
    kinds: &[Kind::Override, Kind::AlertDismissal, Kind::Suppression],
    remediation: "Replace dismissals and inline suppressions with `dsomm-audit override add` entries that carry an owner, approver, ticket and sunset.",
    effort_weeks: 1,
    run: overrides_disciplined,
};

fn findings_triaged(view: &View<'_>, params: &Params) -> Fact {
    let id = "findings-triaged";
    if !view.has(Kind::ScanReport) && !view.has(Kind::GateDecision) {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            "no scan_report or gate_decision evidence",
            Vec::new(),
        );
    }
    let (ids, why, total) = undisciplined(view, params, true);
    if ids.is_empty() {
        return Fact::new(
            id,
            Outcome::True,
            format!("all {total} exceptions to findings are disciplined"),
            Vec::new(),
        );
    }
    let shown: Vec<&str> = why.iter().take(3).map(String::as_str).collect();
    Fact::new(
        id,
        Outcome::False,
        format!(
            "{} of {total} exceptions are undisciplined: {}",
            ids.len(),
            shown.join("; ")
        ),
        ids,
    )
}

/// Findings triaged.
pub static FINDINGS_TRIAGED: Probe = Probe {
    id: "findings-triaged",
    question: "Are findings handled through disciplined exceptions only (no undocumented dismissals or suppressions) for every scanner?",
    kinds: &[
        Kind::ScanReport,
        Kind::Override,
        Kind::AlertDismissal,
        Kind::Suppression,
    ],
    remediation: "Track every accepted finding as an override with owner, ticket and sunset.",
    effort_weeks: 2,
    run: findings_triaged,
};

fn evidence_covers_lookback(view: &View<'_>, params: &Params) -> Fact {
    let id = "evidence-covers-lookback";
    let oldest = [Kind::ScanReport, Kind::PipelineConfig, Kind::GateDecision]
        .into_iter()
        .filter_map(|kind| view.all(kind).find(|record| concerns(record, params)))
        .min_by_key(|record| record.occurred_at);
    let Some(oldest) = oldest else {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            format!("no {} evidence at all", named(params)),
            Vec::new(),
        );
    };
    let needed = view.days_before(view.thresholds.lookback_days - 1);
    let outcome = if oldest.occurred_at <= needed {
        Outcome::True
    } else {
        Outcome::False
    };
    Fact::new(
        id,
        outcome,
        format!(
            "oldest {} evidence is from {}; the {}-day look-back starts {}",
            named(params),
            model::time::format_time(oldest.occurred_at),
            view.thresholds.lookback_days,
            model::time::format_time(view.window_start())
        ),
        vec![oldest.id],
    )
}

/// History covers the window.
pub static EVIDENCE_COVERS_LOOKBACK: Probe = Probe {
    id: "evidence-covers-lookback",
    question: "Does the gate's evidence reach back over the whole look-back window?",
    kinds: &[Kind::ScanReport, Kind::PipelineConfig, Kind::GateDecision],
    remediation: "Ingest scanner output and gate decisions continuously (from CI on every run) and back-fill the history you still have.",
    effort_weeks: 1,
    run: evidence_covers_lookback,
};

fn override_volume_trend(view: &View<'_>, params: &Params) -> Fact {
    let id = "override-volume-trend";
    let start = view.window_start();
    let middle = view.days_before(view.thresholds.lookback_days / 2);
    let exceptions: Vec<&Evidence> = [Kind::Override, Kind::AlertDismissal, Kind::Suppression]
        .into_iter()
        .flat_map(|kind| match kind {
            Kind::AlertDismissal => distinct_dismissals(view),
            _ => view.in_window(kind).collect::<Vec<_>>(),
        })
        .filter(|record| record.kind == Kind::Override || concerns(record, params))
        .filter(|record| record.kind != Kind::Override || text(record, "action") == Some("add"))
        .collect();
    let covered = evidence_covers_lookback(view, params);
    if covered.outcome != Outcome::True {
        return Fact::new(
            id,
            Outcome::NotAvailable,
            format!("two periods of evidence are needed: {}", covered.message),
            covered.evidence,
        );
    }
    let first = exceptions
        .iter()
        .filter(|record| record.occurred_at >= start && record.occurred_at < middle)
        .count();
    let second = exceptions.iter().filter(|record| record.occurred_at >= middle).count();
    let outcome = if second <= first { Outcome::True } else { Outcome::False };
    Fact::new(
        id,
        outcome,
        format!(
            "exceptions per half of the window: {first} then {second} ({})",
            if second <= first { "not worsening" } else { "worsening" }
        ),
        // The exceptions counted, and the record that shows the evidence covers both periods.
        exceptions
            .iter()
            .map(|record| record.id)
            .chain(covered.evidence.iter().copied())
            .collect(),
    )
}

/// Trend of overrides.
pub static OVERRIDE_VOLUME_TREND: Probe = Probe {
    id: "override-volume-trend",
    question: "Is the volume of overrides, dismissals and suppressions tracked over two periods and not worsening?",
    kinds: &[
        Kind::Override,
        Kind::AlertDismissal,
        Kind::Suppression,
        Kind::ScanReport,
    ],
    remediation: "Review override volume each period and retire the causes of recurring exceptions.",
    effort_weeks: 2,
    run: override_volume_trend,
};

fn pipeline_configs_recorded(view: &View<'_>, _: &Params) -> Fact {
    exists(
        "pipeline-configs-recorded",
        view,
        Kind::PipelineConfig,
        false,
        "scanner steps from CI configuration",
    )
}

/// CI configuration linted and recorded.
pub static PIPELINE_CONFIGS_RECORDED: Probe = Probe {
    id: "pipeline-configs-recorded",
    question: "Has the CI configuration been read and its scanner steps recorded?",
    kinds: &[Kind::PipelineConfig],
    remediation: "Ingest the workflow files (`dsomm-audit ingest .github/workflows`).",
    effort_weeks: 1,
    run: pipeline_configs_recorded,
};

fn scan_results_recorded(view: &View<'_>, params: &Params) -> Fact {
    let id = "scan-results-recorded";
    let found: Vec<u64> = view
        .in_window(Kind::ScanReport)
        .filter(|record| concerns(record, params))
        .map(|record| record.id)
        .collect();
    if found.is_empty() {
        let outcome = if view.has(Kind::ScanReport) {
            Outcome::False
        } else {
            Outcome::NotAvailable
        };
        return Fact::new(
            id,
            outcome,
            format!("no {} scan report in the window", named(params)),
            Vec::new(),
        );
    }
    Fact::new(
        id,
        Outcome::True,
        format!(
            "{} {} scan reports kept in the ledger in the window",
            found.len(),
            named(params)
        ),
        found,
    )
}

/// Scanner output kept.
pub static SCAN_RESULTS_RECORDED: Probe = Probe {
    id: "scan-results-recorded",
    question: "Is scanner output kept in the ledger for the window?",
    kinds: &[Kind::ScanReport],
    remediation: "Ingest every scanner run's SARIF/JSON from CI.",
    effort_weeks: 1,
    run: scan_results_recorded,
};

fn ci_runs_recorded(view: &View<'_>, _: &Params) -> Fact {
    exists("ci-runs-recorded", view, Kind::CiRun, true, "CI runs")
}

/// CI runs recorded.
pub static CI_RUNS_RECORDED: Probe = Probe {
    id: "ci-runs-recorded",
    question: "Are CI runs of the team's repositories recorded in the window?",
    kinds: &[Kind::CiRun],
    remediation: "Send workflow_run/pipeline events (or REST exports) to `dsomm-audit ingest`.",
    effort_weeks: 1,
    run: ci_runs_recorded,
};

/// The protections in force per repository (keyed by the lower-cased name:
/// repository names compare without case, as the scope matches them). GitHub
/// layers protections: the classic rule of each branch pattern and every
/// ruleset apply together, each to the branches it targets. So each
/// protection keeps its own latest record (a classic rule by its pattern, a
/// ruleset by its id), and only those that target the default branch count.
/// Also returns the ids of every protection's latest record, in force or not,
/// which a failing fact cites.
fn protections_in_force<'a>(view: &View<'a>) -> (BTreeMap<String, Vec<&'a Evidence>>, Vec<u64>) {
    let mut latest: BTreeMap<(String, String), &'a Evidence> = BTreeMap::new();
    for record in view.all(Kind::BranchProtection) {
        let repo = record.subject.repo.as_deref().unwrap_or_default().to_ascii_lowercase();
        let identity = match text(record, "ruleset_id") {
            Some(id) => format!("ruleset {id}"),
            None => format!("branch {}", text(record, "pattern").unwrap_or_default()),
        };
        latest.insert((repo, identity), record);
    }
    let mut by_repo: BTreeMap<String, Vec<&'a Evidence>> = BTreeMap::new();
    let considered = latest.values().map(|record| record.id).collect();
    for ((repo, _), record) in latest {
        let entry = by_repo.entry(repo).or_default();
        if targets_default_branch(record) {
            entry.push(record);
        }
    }
    (by_repo, considered)
}

/// The names a repository's default branch has in practice.
const DEFAULT_BRANCHES: &[&str] = &["main", "master"];

/// Whether a protection record targets the default branch: a ruleset that
/// includes `~DEFAULT_BRANCH`, `~ALL` or a pattern matching `main`/`master`
/// (and does not exclude it); a classic rule or REST protection whose pattern
/// matches `main`/`master`, or that names no branch at all.
fn targets_default_branch(record: &Evidence) -> bool {
    let names = |key: &str| -> Vec<&str> {
        record
            .attrs
            .get(key)
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    };
    let matches = |pattern: &str| {
        let pattern = pattern.strip_prefix("refs/heads/").unwrap_or(pattern);
        pattern == "~DEFAULT_BRANCH"
            || pattern == "~ALL"
            || DEFAULT_BRANCHES.iter().any(|branch| glob_matches(pattern, branch))
    };
    if text(record, "ruleset_id").is_some() {
        let include = names("include");
        return include.iter().any(|pattern| matches(pattern))
            && !names("exclude").iter().any(|pattern| matches(pattern));
    }
    text(record, "pattern").is_none_or(matches)
}

/// Whether a branch name matches a GitHub branch pattern (fnmatch: `*`
/// within a path segment, `**` across segments, `?` one character). A
/// pattern that is not a valid glob matches nothing.
fn glob_matches(pattern: &str, name: &str) -> bool {
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .is_ok_and(|glob| glob.compile_matcher().is_match(name))
}

fn protection_probe(id: &'static str, view: &View<'_>, holds: fn(&Evidence) -> bool, what: &str) -> Fact {
    let repos = view.repos();
    let (in_force, considered) = protections_in_force(view);
    if in_force.is_empty() {
        return Fact::new(id, Outcome::NotAvailable, "no branch_protection evidence", Vec::new());
    }
    let failing: Vec<&str> = repos
        .iter()
        .filter(|repo| {
            !in_force
                .get(&repo.to_ascii_lowercase())
                .is_some_and(|records| records.iter().any(|record| holds(record)))
        })
        .map(String::as_str)
        .collect();
    if failing.is_empty() {
        let ids = in_force.values().flatten().map(|record| record.id).collect();
        return Fact::new(
            id,
            Outcome::True,
            format!("all {} repositories {what}", repos.len()),
            ids,
        );
    }
    let shown: Vec<&str> = failing.iter().take(5).copied().collect();
    Fact::new(
        id,
        Outcome::False,
        format!(
            "{} of {} repositories do not {what}: {}",
            failing.len(),
            repos.len(),
            shown.join(", ")
        ),
        considered,
    )
}

fn requires_checks(record: &Evidence) -> bool {
    record.attrs.get("protected") != Some(&Value::Bool(false))
        && record
            .attrs
            .get("required_status_checks")
            .and_then(Value::as_array)
            .is_some_and(|checks| !checks.is_empty())
        && text(record, "status_checks_enforcement") != Some("off")
}

fn branch_protection_requires_checks(view: &View<'_>, _: &Params) -> Fact {
    protection_probe(
        "branch-protection-requires-checks",
        view,
        requires_checks,
        "protect the branch with required status checks",
    )
}

/// Required checks.
pub static BRANCH_PROTECTION_REQUIRES_CHECKS: Probe = Probe {
    id: "branch-protection-requires-checks",
    question: "Is every in-scope repository's default branch protected with required status checks (by its classic rule or an active ruleset)?",
    kinds: &[Kind::BranchProtection],
    remediation: "Require the scanner and build checks in branch protection or an active ruleset.",
    effort_weeks: 1,
    run: branch_protection_requires_checks,
};

fn enforced_for_everyone(record: &Evidence) -> bool {
    requires_checks(record)
        && (text(record, "status_checks_enforcement") == Some("everyone")
            || record.attrs.get("admin_enforced") == Some(&Value::Bool(true)))
        && record
            .attrs
            .get("bypass_actors")
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
}

fn branch_protection_enforced_for_admins(view: &View<'_>, _: &Params) -> Fact {
    protection_probe(
        "branch-protection-enforced-for-admins",
        view,
        enforced_for_everyone,
        "enforce required checks for everyone, admins included, without bypass actors",
    )
}

/// No bypass.
pub static BRANCH_PROTECTION_ENFORCED_FOR_ADMINS: Probe = Probe {
    id: "branch-protection-enforced-for-admins",
    question: "Are required checks enforced for everyone, administrators included, with no bypass actors?",
    kinds: &[Kind::BranchProtection],
    remediation: "Turn on `enforce_admins` (or use an active ruleset without bypass actors).",
    effort_weeks: 1,
    run: branch_protection_enforced_for_admins,
};
