//! `dsomm-audit gate`: the enforcing control. It reads scanner outputs,
//! records them as `scan_report` evidence, decides with the override registry
//! (`policy::gate`), and records one `gate_decision` in the same ledger
//! transaction as the scans, so the control and its evidence are one act.

use std::path::{Path, PathBuf};

use anyhow::Result;
use collect::{Collector, Context, Limits};
use jiff::Timestamp;
use ledger::Ledger;
use model::{CanonicalRecord, EvidenceKind, NewEvidence, Severity, Subject};
use policy::gate::{Decision, ReportFindings};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Longest list of findings kept in one `gate_decision` record (counts stay complete).
const MAX_LISTED: usize = 1_000;

/// One scanner output to judge.
#[derive(Debug, Clone)]
pub struct GateInput {
    /// Its format.
    pub collector: Collector,
    /// The file.
    pub path: PathBuf,
}

/// What the pipeline tells the gate.
#[derive(Debug, Clone, Default)]
pub struct GateOptions {
    /// `--fail-on`.
    pub threshold: Option<Severity>,
    /// `--repo`.
    pub repo: Option<String>,
    /// `--commit`.
    pub commit: Option<String>,
    /// `--ref`.
    pub git_ref: Option<String>,
    /// `--pull-request`.
    pub pull_request: Option<u64>,
    /// `--environment`.
    pub environment: Option<String>,
    /// Input limits.
    pub limits: Limits,
    /// Longest override lifetime.
    pub override_max_days: i64,
}

/// The decision, the id of its record, and the exit code it implies.
#[derive(Debug, Clone)]
pub struct GateOutcome {
    /// The decision.
    pub decision: Decision,
    /// Ledger id of the `gate_decision` record.
    pub record: u64,
    /// 0 pass, 1 block, 2 an input could not be read or parsed (which blocks).
    pub exit_code: u8,
}

struct ReadInput {
    bytes: Vec<u8>,
    digest: [u8; 32],
    records: Vec<NewEvidence>,
    reports: Vec<ReportFindings>,
    read: Value,
}

fn read_input(input: &GateInput, options: &GateOptions, threshold: Severity) -> Result<ReadInput, String> {
    let shown = crate::files::path_text(&input.path);
    // Only a regular file, never more than the limit: a FIFO or `/dev/zero` is
    // refused by name instead of blocking or filling memory.
    let bytes = crate::files::read_limited(&input.path, options.limits.max_document_bytes)?;
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    let origin =
        std::fs::canonicalize(&input.path).map_or_else(|_| shown.clone(), |full| crate::files::path_text(&full));
    let context = Context {
        origin,
        shown_as: shown.clone(),
        sha256: hex::encode(digest),
        repo: options.repo.clone(),
        commit: options.commit.clone(),
        git_ref: options.git_ref.clone(),
        occurred_at: None,
        ..Context::default()
    };
    let parsed = collect::parse_document(input.collector, &bytes, &context, &options.limits);
    if let Some(problem) = parsed.diagnostics.iter().find(|diagnostic| !diagnostic.warning) {
        return Err(problem.to_string());
    }
    let reports: Vec<ReportFindings> = parsed
        .evidence
        .iter()
        .filter(|record| record.kind == EvidenceKind::ScanReport)
        .map(|record| policy::gate::report_findings(&record.attrs, threshold))
        .collect();
    if reports.is_empty() {
        return Err(format!(
            "{shown}: no scan results in it (is it a {} report?)",
            input.collector.name()
        ));
    }
    Ok(ReadInput {
        read: json!({"file": shown, "sha256": hex::encode(digest), "format": input.collector.name(), "scan_reports": reports.len()}),
        records: parsed.evidence,
        reports,
        bytes,
        digest,
    })
}

/// Run the gate: read every input, decide, and record the scans and the
/// decision in one ledger transaction.
pub fn run(ledger: &mut Ledger, inputs: &[GateInput], options: &GateOptions, now: Timestamp) -> Result<GateOutcome> {
    let threshold = options.threshold.unwrap_or(Severity::High);
    let mut input_errors = Vec::new();
    let mut reports = Vec::new();
    let mut records = Vec::new();
    let mut read = Vec::new();
    for input in inputs {
        match read_input(input, options, threshold) {
            Ok(input_read) => {
                // The bytes parsed are the bytes kept: the file is read once.
                let origin = crate::files::path_text(&input.path);
                ledger.store_blob(&input_read.digest, &origin, input_read.bytes.as_slice())?;
                records.extend(input_read.records);
                reports.extend(input_read.reports);
                read.push(input_read.read);
            }
            Err(message) => input_errors.push(message),
        }
    }
    if inputs.is_empty() {
        input_errors.push("no scanner output given (--sarif, --trivy or --grype)".into());
    }
    let overrides = crate::overrides::states(ledger, now, options.override_max_days)?;
    let decision = policy::gate::decide(&reports, &overrides, threshold, options.repo.as_deref(), input_errors);
    let mut attrs = serde_json::to_value(&decision)?;
    for list in ["blocking", "waived"] {
        if let Some(items) = attrs.get_mut(list).and_then(Value::as_array_mut)
            && items.len() > MAX_LISTED
        {
            let total = items.len();
            items.truncate(MAX_LISTED);
            attrs[format!("{list}_total")] = json!(total);
        }
    }
    attrs["inputs"] = json!(read);
    // The scanners judged, so probes can tell which categories this gate covers.
    let mut tools: Vec<&str> = records
        .iter()
        .filter_map(|record| record.attrs.get("tool").and_then(Value::as_str))
        .collect();
    tools.sort_unstable();
    tools.dedup();
    attrs["tools"] = json!(tools);
    let subject = Subject {
        repo: options.repo.clone(),
        commit: options.commit.clone(),
        git_ref: options.git_ref.clone(),
        pull_request: options.pull_request,
        environment: options.environment.clone(),
        ..Subject::default()
    };
    let decision_record = crate::overrides::own_record(
        ledger,
        EvidenceKind::GateDecision,
        "gate",
        "dsomm-audit gate",
        subject,
        attrs,
        now,
    )?;
    records.push(decision_record);
    let mut scratch = Vec::new();
    let canonical: Vec<CanonicalRecord> = records
        .iter()
        .map(|record| CanonicalRecord::from_evidence(record, &mut scratch))
        .collect();
    // One append: the scans and the decision commit together, with one checkpoint.
    let appended = ledger.append(&canonical)?;
    let exit_code = if !decision.input_errors.is_empty() {
        2
    } else if decision.decision == "block" {
        1
    } else {
        0
    };
    Ok(GateOutcome {
        decision,
        record: appended.tree_size - 1,
        exit_code,
    })
}

fn finding_line(finding: &policy::gate::Finding) -> String {
    let place = match (&finding.path, finding.line) {
        (Some(path), Some(line)) => format!(" at {path}:{line}"),
        (Some(path), None) => format!(" in {path}"),
        _ => String::new(),
    };
    format!("{} {} ({}){place}", finding.severity, finding.rule, finding.tool)
}

/// A short summary for a terminal.
pub fn summary(outcome: &GateOutcome) -> String {
    let decision = &outcome.decision;
    let mut out = format!(
        "gate: {} (fail on {} and above; decision recorded as evidence {})\n",
        decision.decision.to_uppercase(),
        decision.threshold,
        outcome.record
    );
    for error in &decision.input_errors {
        // One line each: a file name or report text with a newline cannot forge lines.
        out.push_str(&format!("  input error: {}\n", crate::files::for_terminal(error)));
    }
    for finding in decision.blocking.iter().take(50) {
        out.push_str(&format!(
            "  blocks: {}\n",
            crate::files::for_terminal(&finding_line(finding))
        ));
    }
    if decision.blocking.len() > 50 {
        out.push_str(&format!(
            "  ... and {} more blocking findings\n",
            decision.blocking.len() - 50
        ));
    }
    if decision.unlisted_blocking > 0 {
        out.push_str(&format!(
            "  blocks: {} more findings at or above the threshold that the reports count but do not list\n",
            decision.unlisted_blocking
        ));
    }
    for waived in &decision.waived {
        out.push_str(&format!(
            "  waived: {} by override {} (owner {}, ticket {}, sunset {})\n",
            crate::files::for_terminal(&finding_line(&waived.finding)),
            waived.override_id,
            waived.owner,
            waived.ticket,
            waived.sunset.as_deref().unwrap_or("-")
        ));
    }
    for unusable in &decision.unusable_overrides {
        out.push_str(&format!(
            "  override {} for {} did not waive: {} (owner {} should act)\n",
            unusable.override_id, unusable.rule, unusable.why, unusable.owner
        ));
    }
    out
}

/// A pull-request comment.
pub fn markdown(outcome: &GateOutcome) -> String {
    let decision = &outcome.decision;
    let icon = match decision.decision.as_str() {
        "block" => "Blocked",
        "pass-with-overrides" => "Passed with overrides",
        _ => "Passed",
    };
    let mut out = format!(
        "### dsomm-audit gate: {icon}\n\nThreshold: **{}** and above. Decision recorded as ledger evidence {}.\n\n",
        decision.threshold, outcome.record
    );
    if !decision.input_errors.is_empty() {
        out.push_str("**Inputs that could not be read (they block):**\n\n");
        for error in &decision.input_errors {
            out.push_str(&format!("- {}\n", error.replace('|', "\\|")));
        }
        out.push('\n');
    }
    if !decision.blocking.is_empty() {
        out.push_str("| blocking finding | severity | tool | where |\n|---|---|---|---|\n");
        for finding in decision.blocking.iter().take(100) {
            let place = finding.path.clone().map(|path| match finding.line {
                Some(line) => format!("{path}:{line}"),
                None => path,
            });
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                finding.rule.replace('|', "\\|"),
                finding.severity,
                finding.tool,
                place.unwrap_or_default().replace('|', "\\|")
            ));
        }
        out.push('\n');
    }
    if decision.unlisted_blocking > 0 {
        out.push_str(&format!(
            "{} more findings at or above the threshold are counted but not listed by the reports.\n\n",
            decision.unlisted_blocking
        ));
    }
    if !decision.waived.is_empty() {
        out.push_str("| waived finding | override | owner | ticket | sunset |\n|---|---|---|---|---|\n");
        for waived in &decision.waived {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                waived.finding.rule.replace('|', "\\|"),
                waived.override_id,
                waived.owner.replace('|', "\\|"),
                waived.ticket.replace('|', "\\|"),
                waived.sunset.as_deref().unwrap_or("-")
            ));
        }
        out.push('\n');
    }
    for unusable in &decision.unusable_overrides {
        out.push_str(&format!(
            "- Override {} for `{}` did not waive: {} (owner {} should act).\n",
            unusable.override_id, unusable.rule, unusable.why, unusable.owner
        ));
    }
    out
}

/// Gate inputs from the command line's repeated options.
pub fn inputs(sarif: &[PathBuf], trivy: &[PathBuf], grype: &[PathBuf]) -> Vec<GateInput> {
    let tagged = |paths: &[PathBuf], collector: Collector| {
        paths
            .iter()
            .map(move |path| GateInput {
                collector,
                path: Path::to_path_buf(path),
            })
            .collect::<Vec<_>>()
    };
    let mut all = tagged(sarif, Collector::Sarif);
    all.extend(tagged(trivy, Collector::Trivy));
    all.extend(tagged(grype, Collector::Grype));
    all
}
