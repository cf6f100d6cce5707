//! The evidence view probes read: one team's records as of a time.

use jiff::{SignedDuration, Timestamp};
use model::{Evidence, EvidenceKind};

/// What a team owns: records about these repositories and services are the
/// team's, and so are records whose subject names the team (a manual
/// attestation); records about none of these (an IAM export, a training
/// record, an inventory snapshot) are organisation-wide and visible to every
/// team.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The team's name.
    pub team: String,
    /// Repositories (`owner/name`); empty with `services` empty: everything.
    pub repos: Vec<String>,
    /// Services.
    pub services: Vec<String>,
}

impl Scope {
    /// Whether a record belongs to this scope.
    pub fn contains(&self, record: &Evidence) -> bool {
        if self.repos.is_empty() && self.services.is_empty() {
            return true;
        }
        let subject = &record.subject;
        // A record about a team (a manual attestation) is that team's alone.
        if let Some(team) = &subject.team {
            return team.eq_ignore_ascii_case(&self.team);
        }
        match (&subject.repo, &subject.service) {
            (None, None) => true,
            (repo, service) => {
                repo.as_ref()
                    .is_some_and(|repo| self.repos.iter().any(|owned| owned.eq_ignore_ascii_case(repo)))
                    || service
                        .as_ref()
                        .is_some_and(|service| self.services.iter().any(|owned| owned == service))
            }
        }
    }
}

/// Thresholds (DESIGN.md section 5 defaults; `[thresholds]` in dsomm-audit.toml).
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds {
    /// The assessment window, in days back from the as-of time.
    pub lookback_days: i64,
    /// Share of in-scope repositories a gate must block on.
    pub coverage: f64,
    /// Days within which a high or critical alert must be remediated.
    pub remediation_sla_days: i64,
    /// Longest an override may live.
    pub override_max_days: i64,
    /// Training must have been completed within this many days.
    pub training_period_days: i64,
    /// Share of weeks a champion's protected time must be kept.
    pub champion_share: f64,
    /// Longest gap between inventory snapshots for "refreshed automatically".
    pub snapshot_cadence_days: i64,
    /// A production service's last security review must be this recent.
    pub review_days: i64,
    /// Evidence must be retained this long.
    pub retention_days: i64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            lookback_days: 90,
            coverage: 0.9,
            remediation_sla_days: 7,
            override_max_days: 90,
            training_period_days: 365,
            champion_share: 0.8,
            snapshot_cadence_days: 7,
            review_days: 365,
            retention_days: 365,
        }
    }
}

/// One team's evidence as of a time.
#[derive(Debug)]
pub struct View<'a> {
    /// The team's records with `occurred_at <= as_of`, ordered by time then id.
    pub records: Vec<&'a Evidence>,
    /// The moment the assessment is made for.
    pub as_of: Timestamp,
    /// What the team owns.
    pub scope: &'a Scope,
    /// Thresholds.
    pub thresholds: &'a Thresholds,
}

impl<'a> View<'a> {
    /// The view of `scope` as of `as_of` over all `records` (any order).
    pub fn new(records: &'a [Evidence], as_of: Timestamp, scope: &'a Scope, thresholds: &'a Thresholds) -> View<'a> {
        let mut visible: Vec<&Evidence> = records
            .iter()
            .filter(|record| record.occurred_at <= as_of && scope.contains(record))
            .collect();
        visible.sort_by(|a, b| a.occurred_at.cmp(&b.occurred_at).then(a.id.cmp(&b.id)));
        let mut view = View {
            records: visible,
            as_of,
            scope,
            thresholds,
        };
        // People's evidence (training, grants, calendars) names no repository:
        // when the inventory names the team's members, only theirs is the
        // team's, so one team's training is never another's.
        if let Some(members) = crate::org::team_members(&view) {
            view.records.retain(|record| {
                !matches!(
                    record.kind,
                    EvidenceKind::TrainingRecord | EvidenceKind::IamGrant | EvidenceKind::CalendarBlock
                ) || crate::org::person(record).is_some_and(|person| members.contains(&person))
            });
        }
        view
    }

    /// The start of the look-back window.
    pub fn window_start(&self) -> Timestamp {
        self.days_before(self.thresholds.lookback_days)
    }

    /// `days` days before the as-of time (saturating at the earliest time).
    pub fn days_before(&self, days: i64) -> Timestamp {
        self.as_of
            .checked_sub(SignedDuration::from_hours(24 * days))
            .unwrap_or(Timestamp::MIN)
    }

    /// Every visible record of `kind`.
    pub fn all(&self, kind: EvidenceKind) -> impl Iterator<Item = &'a Evidence> + '_ {
        self.records.iter().copied().filter(move |record| record.kind == kind)
    }

    /// Visible records of `kind` inside the window.
    pub fn in_window(&self, kind: EvidenceKind) -> impl Iterator<Item = &'a Evidence> + '_ {
        let start = self.window_start();
        self.all(kind).filter(move |record| record.occurred_at >= start)
    }

    /// Whether any record of `kind` is visible at all (for `not-available`).
    pub fn has(&self, kind: EvidenceKind) -> bool {
        self.all(kind).next().is_some()
    }

    /// The repositories in scope: the team's, or every repository seen.
    pub fn repos(&self) -> Vec<String> {
        if !self.scope.repos.is_empty() {
            let mut repos = self.scope.repos.clone();
            repos.sort();
            return repos;
        }
        let mut repos: Vec<String> = self
            .records
            .iter()
            .filter_map(|record| record.subject.repo.clone())
            .collect();
        repos.sort_by_key(|repo| repo.to_ascii_lowercase());
        repos.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
        repos
    }
}

/// The categories a scanner's name counts for (scan reports and gate
/// decisions name a tool, not a category).
pub fn categories_of_tool(tool: &str) -> Vec<&'static str> {
    let tool = tool.to_ascii_lowercase();
    let has = |names: &[&str]| names.iter().any(|name| tool.contains(name));
    let mut categories = Vec::new();
    if has(&[
        "semgrep",
        "codeql",
        "sonar",
        "bandit",
        "gosec",
        "brakeman",
        "eslint",
        "spotbugs",
        "advanced-sast",
        "flawfinder",
        "opengrep",
        "snyk code",
    ]) {
        categories.push("sast");
    }
    if has(&[
        "trivy",
        "grype",
        "snyk",
        "dependency",
        "osv",
        "npm",
        "cargo-audit",
        "cargo-deny",
        "gemnasium",
        "govulncheck",
        "pip-audit",
        "safety",
        "retire",
        "owasp",
    ]) {
        categories.push("sca");
    }
    if has(&[
        "gitleaks",
        "trufflehog",
        "ggshield",
        "detect-secrets",
        "secret",
        "credscan",
    ]) {
        categories.push("secrets");
    }
    if has(&["checkov", "tfsec", "kics", "terrascan", "kubesec"]) {
        categories.push("iac");
    }
    if has(&[
        "trivy",
        "grype",
        "hadolint",
        "dockle",
        "scout",
        "container",
        "clair",
        "anchore",
    ]) {
        categories.push("container");
    }
    if has(&["zap", "dast", "nuclei", "burp", "nikto"]) {
        categories.push("dast");
    }
    if has(&["fossa", "license"]) {
        categories.push("license");
    }
    categories
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tools_map_to_categories() {
        assert_eq!(categories_of_tool("Semgrep OSS"), vec!["sast"]);
        assert_eq!(categories_of_tool("Trivy"), vec!["sca", "container"]);
        assert_eq!(categories_of_tool("gitleaks"), vec!["secrets"]);
        assert!(categories_of_tool("unknown-linter").is_empty());
    }
}
