//! The gate's decision: which findings at or above the threshold block, which
//! an active, disciplined override waives, and which expired overrides would
//! have matched (so their owners can act). Pure: inputs are the scan reports'
//! attributes and the overrides' state at the moment of the decision.

use globset::Glob;
use model::Severity;
use serde::Serialize;
use serde_json::Value;

use crate::{OverrideState, Status};

/// One finding as the gate sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The scanner (`semgrep`, `trivy`, ...).
    pub tool: String,
    /// Rule or vulnerability id.
    pub rule: String,
    /// Normalised severity.
    pub severity: Severity,
    /// File path or scan target, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Fingerprint, when the scanner gives one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
}

/// The findings of one `scan_report`, and how many at or above a threshold
/// were not listed (scan reports list the first 1,000 findings; counts cover all).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ReportFindings {
    /// Listed findings.
    pub findings: Vec<Finding>,
    /// Findings at or above the threshold that the report counts but does not list.
    pub unlisted_at_or_above: u64,
}

/// Read the findings of a `scan_report`'s attributes.
pub fn report_findings(attrs: &Value, threshold: Severity) -> ReportFindings {
    let tool = attrs
        .get("tool")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_string();
    let text = |finding: &Value, key: &str| finding.get(key).and_then(Value::as_str).map(str::to_string);
    let findings: Vec<Finding> = attrs
        .get("findings")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|finding| Finding {
                    tool: tool.clone(),
                    rule: text(finding, "id").unwrap_or_else(|| "unknown".into()),
                    severity: text(finding, "severity").map_or(Severity::Unknown, |word| Severity::from_name(&word)),
                    path: text(finding, "path").or_else(|| text(finding, "target")),
                    line: finding.get("line").and_then(Value::as_u64),
                    fingerprint: text(finding, "fingerprint"),
                })
                .collect()
        })
        .unwrap_or_default();
    let counted: u64 = Severity::ALL
        .iter()
        .filter(|severity| **severity >= threshold && **severity != Severity::Unknown)
        .map(|severity| {
            attrs
                .get("counts_by_severity")
                .and_then(|counts| counts.get(severity.as_str()))
                .and_then(Value::as_u64)
                .unwrap_or(0)
        })
        .sum();
    let listed = findings
        .iter()
        .filter(|finding| blocks_at(finding.severity, threshold))
        .count() as u64;
    ReportFindings {
        unlisted_at_or_above: counted.saturating_sub(listed),
        findings,
    }
}

/// Whether a severity reaches the threshold. Unknown never does on its own.
pub fn blocks_at(severity: Severity, threshold: Severity) -> bool {
    severity != Severity::Unknown && severity >= threshold
}

/// Whether `state` covers `finding`: same rule, and the tool, repository, path
/// glob and fingerprint it is limited to (when set) match.
pub fn covers(state: &OverrideState, finding: &Finding, repo: Option<&str>) -> bool {
    if state.rule != finding.rule {
        return false;
    }
    if let Some(tool) = &state.tool
        && !tool.eq_ignore_ascii_case(&finding.tool)
    {
        return false;
    }
    if let Some(limit) = &state.repo
        && repo != Some(limit.as_str())
    {
        return false;
    }
    if let Some(pattern) = &state.path {
        let matched = Glob::new(pattern)
            .map(|glob| glob.compile_matcher())
            .ok()
            .zip(finding.path.as_deref())
            .is_some_and(|(matcher, path)| matcher.is_match(path));
        if !matched {
            return false;
        }
    }
    if let Some(fingerprint) = &state.fingerprint
        && finding.fingerprint.as_deref() != Some(fingerprint.as_str())
    {
        return false;
    }
    true
}

/// A finding waived by an override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Waived {
    /// The finding.
    pub finding: Finding,
    /// The override's id.
    pub override_id: u64,
    /// Its owner.
    pub owner: String,
    /// Its ticket.
    pub ticket: String,
    /// Its sunset.
    pub sunset: Option<String>,
}

/// An override that matched a blocking finding but could not waive it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unusable {
    /// The override's id.
    pub override_id: u64,
    /// Rule.
    pub rule: String,
    /// Owner, who should act.
    pub owner: String,
    /// Why it did not waive: expired, revoked or undisciplined (with reasons).
    pub why: String,
}

/// The outcome of a gate run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// `pass`, `pass-with-overrides` or `block`.
    pub decision: String,
    /// The threshold (`--fail-on`).
    pub threshold: Severity,
    /// Findings listed, by severity.
    pub counts_by_severity: std::collections::BTreeMap<String, u64>,
    /// Findings at or above the threshold that no override waives.
    pub blocking: Vec<Finding>,
    /// Findings at or above the threshold counted by a report but not listed in
    /// it (beyond its first 1,000): they cannot be matched and so they block.
    pub unlisted_blocking: u64,
    /// Findings waived, with the override that waived each.
    pub waived: Vec<Waived>,
    /// Overrides that matched a blocking finding but could not waive it.
    pub unusable_overrides: Vec<Unusable>,
    /// Inputs that could not be read or parsed (each blocks).
    pub input_errors: Vec<String>,
}

/// Decide. Findings below the threshold never block.
pub fn decide(
    reports: &[ReportFindings],
    overrides: &[OverrideState],
    threshold: Severity,
    repo: Option<&str>,
    input_errors: Vec<String>,
) -> Decision {
    let mut counts: std::collections::BTreeMap<String, u64> = Severity::ALL
        .iter()
        .map(|severity| (severity.as_str().to_string(), 0))
        .collect();
    let mut blocking = Vec::new();
    let mut waived = Vec::new();
    let mut unusable: Vec<Unusable> = Vec::new();
    let mut unlisted_blocking = 0u64;
    for report in reports {
        unlisted_blocking += report.unlisted_at_or_above;
        for finding in &report.findings {
            *counts.entry(finding.severity.as_str().to_string()).or_default() += 1;
            if !blocks_at(finding.severity, threshold) {
                continue;
            }
            let matching: Vec<&OverrideState> = overrides.iter().filter(|state| covers(state, finding, repo)).collect();
            let usable = matching
                .iter()
                .copied()
                .find(|state| state.status == Status::Active && state.disciplined);
            match usable {
                Some(state) => waived.push(Waived {
                    finding: finding.clone(),
                    override_id: state.id,
                    owner: state.owner.clone(),
                    ticket: state.ticket.clone(),
                    sunset: state.sunset.clone(),
                }),
                None => blocking.push(finding.clone()),
            }
            for state in &matching {
                if usable.is_some_and(|used| used.id == state.id)
                    || unusable.iter().any(|known| known.override_id == state.id)
                {
                    continue;
                }
                let why = match state.status {
                    Status::Expired => format!("expired (sunset {})", state.sunset.as_deref().unwrap_or("none")),
                    Status::Revoked => "revoked".to_string(),
                    Status::Active if !state.disciplined => {
                        format!("undisciplined: {}", state.undisciplined_because.join(", "))
                    }
                    Status::Active => continue,
                };
                unusable.push(Unusable {
                    override_id: state.id,
                    rule: state.rule.clone(),
                    owner: state.owner.clone(),
                    why,
                });
            }
        }
    }
    let decision = if !blocking.is_empty() || unlisted_blocking > 0 || !input_errors.is_empty() {
        "block"
    } else if !waived.is_empty() {
        "pass-with-overrides"
    } else {
        "pass"
    };
    Decision {
        decision: decision.to_string(),
        threshold,
        counts_by_severity: counts,
        blocking,
        unlisted_blocking,
        waived,
        unusable_overrides: unusable,
        input_errors,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state(id: u64, rule: &str, status: Status, disciplined: bool) -> OverrideState {
        OverrideState {
            id,
            rule: rule.into(),
            tool: None,
            repo: Some("acme/api".into()),
            path: None,
            fingerprint: None,
            owner: "ana".into(),
            approvers: vec!["bo".into()],
            ticket: "SEC-1".into(),
            reason: "r".into(),
            created: "2025-01-01T00:00:00.000000000Z".into(),
            sunset: Some("2025-04-01T00:00:00.000000000Z".into()),
            evidence: vec![id],
            revoked: None,
            status,
            disciplined,
            undisciplined_because: if disciplined { vec![] } else { vec!["no ticket".into()] },
        }
    }

    fn report() -> ReportFindings {
        report_findings(
            &json!({
                "tool": "trivy",
                "counts_by_severity": {"critical": 1, "high": 0, "medium": 1, "low": 0, "info": 0, "unknown": 0},
                "findings": [
                    {"id": "CVE-1", "severity": "critical", "target": "alpine"},
                    {"id": "CVE-2", "severity": "medium", "target": "alpine"}
                ]
            }),
            Severity::High,
        )
    }

    #[test]
    fn a_critical_finding_blocks() {
        let decision = decide(&[report()], &[], Severity::High, Some("acme/api"), vec![]);
        assert_eq!(decision.decision, "block");
        assert_eq!(decision.blocking.len(), 1);
        assert_eq!(decision.blocking[0].rule, "CVE-1");
    }

    #[test]
    fn an_active_disciplined_override_waives_and_is_named() {
        let overrides = [state(7, "CVE-1", Status::Active, true)];
        let decision = decide(&[report()], &overrides, Severity::High, Some("acme/api"), vec![]);
        assert_eq!(decision.decision, "pass-with-overrides");
        assert_eq!(decision.waived[0].override_id, 7);
        assert_eq!(decision.waived[0].owner, "ana");
    }

    #[test]
    fn expired_revoked_undisciplined_or_misplaced_overrides_do_not_waive() {
        for overrides in [
            vec![state(7, "CVE-1", Status::Expired, true)],
            vec![state(7, "CVE-1", Status::Revoked, true)],
            vec![state(7, "CVE-1", Status::Active, false)],
        ] {
            let decision = decide(&[report()], &overrides, Severity::High, Some("acme/api"), vec![]);
            assert_eq!(decision.decision, "block");
            assert_eq!(decision.unusable_overrides[0].override_id, 7, "{decision:?}");
        }
        let elsewhere = [state(7, "CVE-1", Status::Active, true)];
        let decision = decide(&[report()], &elsewhere, Severity::High, Some("acme/web"), vec![]);
        assert_eq!(decision.decision, "block");
        assert!(decision.unusable_overrides.is_empty());
    }

    #[test]
    fn below_the_threshold_passes_and_input_errors_block() {
        assert_eq!(
            decide(&[report()], &[], Severity::Critical, None, vec![]).decision,
            "block"
        );
        let clean = report_findings(&json!({"tool": "semgrep", "findings": []}), Severity::Low);
        assert_eq!(
            decide(std::slice::from_ref(&clean), &[], Severity::Low, None, vec![]).decision,
            "pass"
        );
        assert_eq!(
            decide(&[clean], &[], Severity::Low, None, vec!["bad.sarif: not SARIF".into()]).decision,
            "block"
        );
    }

    #[test]
    fn findings_counted_but_not_listed_block() {
        let truncated = report_findings(
            &json!({"tool": "grype", "counts_by_severity": {"high": 1500}, "findings": [{"id": "X", "severity": "high"}]}),
            Severity::High,
        );
        assert_eq!(truncated.unlisted_at_or_above, 1499);
        let overrides = [state(1, "X", Status::Active, true)];
        let decision = decide(&[truncated], &overrides, Severity::High, Some("acme/api"), vec![]);
        assert_eq!(decision.decision, "block");
        assert_eq!(decision.unlisted_blocking, 1499);
    }

    #[test]
    fn path_globs_and_fingerprints_limit_an_override() {
        let finding = Finding {
            tool: "semgrep".into(),
            rule: "r".into(),
            severity: Severity::High,
            path: Some("src/app/main.py".into()),
            line: Some(3),
            fingerprint: Some("abc".into()),
        };
        let mut limited = state(1, "r", Status::Active, true);
        limited.path = Some("src/**/*.py".into());
        assert!(covers(&limited, &finding, Some("acme/api")));
        limited.path = Some("tests/**".into());
        assert!(!covers(&limited, &finding, Some("acme/api")));
        limited.path = None;
        limited.fingerprint = Some("other".into());
        assert!(!covers(&limited, &finding, Some("acme/api")));
    }
}
