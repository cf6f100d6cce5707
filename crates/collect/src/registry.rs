//! The collector registry: every source by name, and format auto-detection.

use crate::{Context, Limits, Parsed};

/// Every evidence source the `ingest` command knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Collector {
    /// The generic format: one JSON evidence object per line.
    EvidenceNdjson,
    /// SARIF 2.1.0 from any scanner.
    Sarif,
    /// Trivy JSON reports (SchemaVersion 2 and the older list of results).
    Trivy,
    /// Grype JSON reports.
    Grype,
    /// CycloneDX JSON SBOMs, VEX and vulnerability reports.
    CycloneDx,
    /// SPDX 2.x JSON SBOMs.
    Spdx,
    /// Inline suppressions and ignore files in a repository (`nosemgrep`,
    /// `# nosec`, `.trivyignore`, ...): one `suppression` record each.
    Suppressions,
    /// CI configuration (GitHub Actions, GitLab CI, Azure Pipelines): one
    /// `pipeline_config` record per scanner step (see docs/pipelines.md).
    Pipelines,
    /// GitHub webhook payloads and REST exports: workflow runs and jobs, checks,
    /// merged pull requests, deployments, branch protection, rulesets and
    /// code-scanning alert dismissals.
    Github,
    /// GitLab webhook payloads and REST exports: pipelines, jobs, merged merge
    /// requests and deployments.
    Gitlab,
    /// Falco JSON alerts (one per line) and Falcosidekick wrappers.
    Falco,
    /// Kubernetes admission policies (Kyverno, Gatekeeper, sigstore
    /// policy-controller, ValidatingAdmissionPolicyBinding), policy reports and
    /// audit events.
    Kubernetes,
    /// in-toto statements, SLSA provenance, DSSE envelopes, Sigstore bundles and
    /// GitHub attestations, with offline signature verification.
    Provenance,
    /// Backstage catalog files: one `asset_snapshot` per file.
    Backstage,
    /// CSV/JSON inventories: one `asset_snapshot` per file.
    Inventory,
    /// AWS IAM authorization details, credential reports and CloudTrail: `iam_grant`.
    AwsIam,
    /// GitHub organisation members, teams and repository permissions: `iam_grant`.
    GithubOrg,
    /// Kubernetes RoleBindings and ClusterRoleBindings: `iam_grant`.
    KubernetesRbac,
    /// LMS CSV exports and the Mimecast awareness export: `training_record`.
    Training,
    /// Jira REST v2/v3 issues and search results (and VCR cassettes of them):
    /// one `remediation` record per issue.
    Jira,
    /// PagerDuty incidents (REST v2, webhooks): one `incident` record each.
    Pagerduty,
    /// GitHub REST issues and `issues` webhooks: one `remediation` record each.
    GithubIssues,
    /// Threat models: OWASP Threat Dragon, Threagile risks, pytm (report and
    /// TMBOM), markdown with front matter; one `threat_model` record each.
    ThreatModel,
    /// iCalendar files: one `calendar_block` record per occurrence of each
    /// event in the window (recurrences expanded).
    Ics,
}

impl Collector {
    /// Every collector (one registration line each).
    pub const ALL: &'static [Collector] = &[
        Collector::EvidenceNdjson,
        Collector::Sarif,
        Collector::Trivy,
        Collector::Grype,
        Collector::CycloneDx,
        Collector::Spdx,
        Collector::Suppressions,
        Collector::Pipelines,
        Collector::Github,
        Collector::Gitlab,
        Collector::Falco,
        Collector::Kubernetes,
        Collector::Provenance,
        Collector::Backstage,
        Collector::Inventory,
        Collector::AwsIam,
        Collector::GithubOrg,
        Collector::KubernetesRbac,
        Collector::Training,
        Collector::Jira,
        Collector::Pagerduty,
        Collector::GithubIssues,
        Collector::ThreatModel,
        Collector::Ics,
    ];

    /// The name used by `--source` and recorded in each record's source.
    pub fn name(self) -> &'static str {
        match self {
            Collector::EvidenceNdjson => "evidence-ndjson",
            Collector::Sarif => "sarif",
            Collector::Trivy => "trivy",
            Collector::Grype => "grype",
            Collector::CycloneDx => "cyclonedx",
            Collector::Spdx => "spdx",
            Collector::Suppressions => "suppressions",
            Collector::Pipelines => "pipelines",
            Collector::Github => "github",
            Collector::Gitlab => "gitlab",
            Collector::Falco => "falco",
            Collector::Kubernetes => "kubernetes",
            Collector::Provenance => "provenance",
            Collector::Backstage => "backstage",
            Collector::Inventory => "inventory",
            Collector::AwsIam => "aws-iam",
            Collector::GithubOrg => "github-org",
            Collector::KubernetesRbac => "kubernetes-rbac",
            Collector::Training => "training",
            Collector::Jira => "jira",
            Collector::Pagerduty => "pagerduty",
            Collector::GithubIssues => "github-issues",
            Collector::ThreatModel => "threat-model",
            Collector::Ics => "ics",
        }
    }

    /// Look a collector up by its `--source` name.
    pub fn from_name(name: &str) -> Option<Collector> {
        Collector::ALL
            .iter()
            .copied()
            .find(|collector| collector.name() == name)
    }

    /// Whether the collector reads its input line by line (streamed) rather than whole.
    pub fn is_streamed(self) -> bool {
        matches!(self, Collector::EvidenceNdjson)
    }
}

/// Parse a whole document with `collector`. Streamed collectors read their
/// input line by line instead (see [`crate::ndjson::stream`]); given a whole
/// buffer here, they stream over it.
pub fn parse_document(collector: Collector, bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    match collector {
        Collector::Sarif => crate::sarif::parse(bytes, context, limits),
        Collector::Trivy => crate::trivy::parse(bytes, context, limits),
        Collector::Grype => crate::grype::parse(bytes, context, limits),
        Collector::CycloneDx => crate::sbom::parse_cyclonedx(bytes, context, limits),
        Collector::Spdx => crate::sbom::parse_spdx(bytes, context, limits),
        Collector::Pipelines => {
            let mut refuse = |wanted: &str| -> Result<(String, Vec<u8>), String> {
                Err(format!(
                    "local include `{wanted}` is read by `ingest` and `lint-pipelines`, not by the collector alone"
                ))
            };
            crate::pipelines::parse(bytes, context, limits, &mut refuse)
        }
        Collector::Github => crate::github::parse(bytes, context, limits),
        Collector::Gitlab => crate::gitlab::parse(bytes, context, limits),
        Collector::Falco => crate::falco::parse(bytes, context, limits),
        Collector::Kubernetes => crate::kubernetes::parse(bytes, context, limits),
        Collector::Provenance => crate::provenance::parse(bytes, context, limits),
        Collector::Backstage => crate::inventory::parse_backstage(bytes, context, limits),
        Collector::Inventory => crate::inventory::parse_inventory(bytes, context, limits),
        Collector::AwsIam => crate::aws_iam::parse(bytes, context, limits),
        Collector::GithubOrg => crate::github_org::parse(bytes, context, limits),
        Collector::KubernetesRbac => crate::kubernetes_rbac::parse(bytes, context, limits),
        Collector::Training => crate::training::parse(bytes, context, limits),
        Collector::Jira => crate::tickets::parse_jira(bytes, context, limits),
        Collector::Pagerduty => crate::tickets::parse_pagerduty(bytes, context, limits),
        Collector::GithubIssues => crate::tickets::parse_github_issues(bytes, context, limits),
        Collector::ThreatModel => crate::threat_model::parse(bytes, context, limits),
        Collector::Ics => crate::calendar::parse(bytes, context, limits),
        Collector::Suppressions => {
            let mut parsed = Parsed::default();
            if let Some(reason) = crate::suppressions::skip_reason(bytes, limits) {
                parsed.diagnostics.push(model::Diagnostic {
                    warning: true,
                    ..context.diagnostic(None, None, format!("not searched for suppressions: {reason}"))
                });
                return parsed;
            }
            let shown = if context.shown_as.is_empty() {
                &context.origin
            } else {
                &context.shown_as
            };
            let found = crate::suppressions::scan(shown, bytes, limits);
            parsed.evidence = crate::suppressions::to_evidence(&found, context);
            parsed
        }
        Collector::EvidenceNdjson => {
            let mut records = Vec::new();
            let mut errors = Vec::new();
            crate::ndjson::stream(
                bytes,
                context,
                limits,
                |record| records.push(record),
                |line, message| {
                    errors.push(context.diagnostic(Some(line), None, message));
                },
            );
            let mut parsed = Parsed::default();
            for record in records {
                match record.to_evidence() {
                    Ok(evidence) => parsed.evidence.push(evidence),
                    Err(message) => errors.push(context.diagnostic(record.source.line, None, message)),
                }
            }
            parsed.diagnostics = errors;
            parsed
        }
    }
}

/// How many bytes of a file [`detect`] is given. Most rules read the first
/// 4 KiB only; a Falco log is judged by the keys of its first whole line, which
/// a long `output` can push beyond that.
pub const DETECTION_HEAD_BYTES: usize = 1024 * 1024;

/// Guess the collector for a file from its name and its first bytes (up to
/// [`DETECTION_HEAD_BYTES`]).
/// Returns `None` when nothing matches; `ingest` then reports the file and skips it.
pub fn detect(path: &str, head: &[u8]) -> Option<Collector> {
    let lower = path.to_ascii_lowercase();
    if lower.ends_with(".sarif") || lower.ends_with(".sarif.json") {
        return Some(Collector::Sarif);
    }
    if lower.ends_with(".ndjson") || lower.ends_with(".evidence.jsonl") {
        return Some(Collector::EvidenceNdjson);
    }
    let name = lower.rsplit(['/', '\\']).next().unwrap_or(&lower);
    if matches!(
        name,
        ".trivyignore"
            | ".trivyignore.yaml"
            | ".gitleaksignore"
            | ".snyk"
            | ".semgrepignore"
            | ".checkov.yaml"
            | ".checkov.yml"
    ) {
        return Some(Collector::Suppressions);
    }
    let normal = lower.replace('\\', "/");
    let yaml = lower.ends_with(".yml") || lower.ends_with(".yaml");
    if yaml
        && (normal.contains(".github/workflows/")
            || name.starts_with(".gitlab-ci")
            || name.ends_with(".gitlab-ci.yml")
            || name.starts_with("azure-pipelines"))
    {
        return Some(Collector::Pipelines);
    }
    if crate::provenance::detect(&lower, "") {
        return Some(Collector::Provenance);
    }
    // Threat models before the CycloneDX name rule: a TMBOM is a `.cdx.json`.
    let head_text = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    let head_compact: String = head_text
        .chars()
        .filter(|character| !character.is_whitespace())
        .collect();
    if crate::threat_model::detect_json(&head_compact) || crate::threat_model::detect_markdown(&lower, &head_text) {
        return Some(Collector::ThreatModel);
    }
    if lower.ends_with(".ics") || lower.ends_with(".ical") || crate::calendar::detect(&head_text) {
        return Some(Collector::Ics);
    }
    if lower.ends_with(".cdx.json") {
        return Some(Collector::CycloneDx);
    }
    if lower.ends_with(".spdx.json") {
        return Some(Collector::Spdx);
    }
    let text = String::from_utf8_lossy(&head[..head.len().min(4096)]);
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if let Some(collector) = detect_organisation(trimmed) {
        return Some(collector);
    }
    if trimmed.starts_with('{') {
        let compact: String = trimmed.chars().filter(|character| !character.is_whitespace()).collect();
        if compact.contains("\"$schema\":\"https://") && compact.contains("sarif")
            || compact.contains("\"version\":\"2.1.0\"") && compact.contains("\"runs\"")
        {
            return Some(Collector::Sarif);
        }
        let first_line = trimmed.lines().next().unwrap_or_default();
        if first_line.contains("\"kind\"") && first_line.contains("\"attrs\"") {
            return Some(Collector::EvidenceNdjson);
        }
        if compact.contains("\"bomFormat\":\"CycloneDX\"") {
            return Some(Collector::CycloneDx);
        }
        if compact.contains("\"spdxVersion\":\"SPDX-") {
            return Some(Collector::Spdx);
        }
        if compact.contains("\"SchemaVersion\":")
            && (compact.contains("\"Results\"") || compact.contains("\"ArtifactName\""))
        {
            return Some(Collector::Trivy);
        }
        // Grype writes `matches` first and its `descriptor` last, so a large
        // report shows only its first match in the head.
        if compact.contains("\"matches\":[")
            && (compact.contains("\"descriptor\":{\"name\":\"grype\"")
                || compact.contains("\"matches\":[{\"vulnerability\":{"))
        {
            return Some(Collector::Grype);
        }
        if let Some(collector) = detect_tickets(&compact) {
            return Some(collector);
        }
        if let Some(collector) = detect_event(&compact) {
            return Some(collector);
        }
        if is_falco(&compact) {
            return Some(Collector::Falco);
        }
        if crate::kubernetes::detect(trimmed) {
            return Some(Collector::Kubernetes);
        }
        if crate::provenance::detect(&lower, &compact) {
            return Some(Collector::Provenance);
        }
        // A Falco alert whose `output` fills the first 4 KiB before `rule`
        // and `priority`: judged by the keys of the first whole line.
        if head.len() > 4096 && crate::falco::first_line_is_alert(head) {
            return Some(Collector::Falco);
        }
    } else if trimmed.starts_with('[') {
        // Trivy's older JSON: a list of results.
        let compact: String = trimmed.chars().filter(|character| !character.is_whitespace()).collect();
        if compact.starts_with("[{\"Target\":") {
            return Some(Collector::Trivy);
        }
        if let Some(collector) = detect_tickets(&compact) {
            return Some(collector);
        }
        if let Some(collector) = detect_event(&compact) {
            return Some(collector);
        }
        if is_falco(&compact) {
            return Some(Collector::Falco);
        }
        if crate::kubernetes::detect(trimmed) {
            return Some(Collector::Kubernetes);
        }
    } else if trimmed.starts_with("interactions:") && text.contains("/rest/api/") {
        // A VCR cassette of Jira REST calls.
        return Some(Collector::Jira);
    } else if crate::kubernetes::detect(trimmed) {
        // YAML (or JSON) Kubernetes resources.
        return Some(Collector::Kubernetes);
    }
    None
}

/// Inventories, IAM exports and training exports from the head of a file.
fn detect_organisation(trimmed: &str) -> Option<Collector> {
    if crate::inventory::detect_backstage(trimmed) {
        return Some(Collector::Backstage);
    }
    if crate::kubernetes_rbac::detect(trimmed) {
        return Some(Collector::KubernetesRbac);
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        let compact: String = trimmed.chars().filter(|character| !character.is_whitespace()).collect();
        let aws = ["\"UserDetailList\":", "\"GroupDetailList\":", "\"RoleDetailList\":"]
            .iter()
            .any(|key| compact.contains(key))
            || compact.contains("\"Content\":") && compact.contains("\"ReportFormat\":")
            || compact.starts_with("{\"Records\":[") && compact.contains("\"userIdentity\":");
        if aws {
            return Some(Collector::AwsIam);
        }
        if crate::github_org::detect(&compact) {
            return Some(Collector::GithubOrg);
        }
        return None;
    }
    let first_line = trimmed.lines().next().unwrap_or_default();
    if first_line.starts_with("user,arn,user_creation_time") {
        return Some(Collector::AwsIam);
    }
    if crate::training::detect_header(first_line) {
        return Some(Collector::Training);
    }
    if crate::inventory::detect_inventory_header(first_line) {
        return Some(Collector::Inventory);
    }
    None
}

/// Tickets and incidents from the whitespace-free head of a JSON document:
/// Jira issues (`key` and `fields` with an `issuetype`, a search result's
/// `issues`, or a REST `self` link), PagerDuty incidents (`incident` or
/// `incidents` with `urgency`, `incident_number` or `"type":"incident"`) and
/// GitHub issues (`repository_url` on api.github.com with `labels` and
/// `comments`, which deployments and pull requests do not carry together).
fn detect_tickets(compact: &str) -> Option<Collector> {
    if compact.contains("\"key\":\"")
        && compact.contains("\"fields\":{")
        && (compact.contains("\"issues\":[") || compact.contains("\"issuetype\":{") || compact.contains("/rest/api/"))
    {
        return Some(Collector::Jira);
    }
    if (compact.contains("\"incident\":{") || compact.contains("\"incidents\":["))
        && (compact.contains("\"urgency\":")
            || compact.contains("\"incident_number\":")
            || compact.contains("\"type\":\"incident\""))
    {
        return Some(Collector::Pagerduty);
    }
    if compact.contains("\"repository_url\":\"https://api.github.com/repos/")
        && compact.contains("\"labels\":[")
        && compact.contains("\"comments\":")
    {
        return Some(Collector::GithubIssues);
    }
    None
}

/// GitHub and GitLab events from the whitespace-free head of a JSON document:
/// GitLab hooks name their `object_kind`; GitHub payloads and REST objects
/// link to `https://api.github.com/` (Enterprise servers do not: a webhook is
/// then known by `action` and the member holding its object).
fn detect_event(compact: &str) -> Option<Collector> {
    const GITLAB_KINDS: [&str; 4] = ["pipeline", "build", "merge_request", "deployment"];
    if GITLAB_KINDS
        .iter()
        .any(|kind| compact.contains(&format!("\"object_kind\":\"{kind}\"")))
    {
        return Some(Collector::Gitlab);
    }
    if compact.contains("\"https://api.github.com/") || compact.contains("\"scope\":\"https://api.github.com") {
        return Some(Collector::Github);
    }
    const GITHUB_MEMBERS: [&str; 10] = [
        "workflow_run",
        "workflow_job",
        "check_run",
        "check_suite",
        "pull_request",
        "deployment_status",
        "deployment",
        "rule",
        "repository_ruleset",
        "alert",
    ];
    if compact.starts_with("{\"action\":\"")
        && GITHUB_MEMBERS
            .iter()
            .any(|member| compact.contains(&format!("\"{member}\":{{")))
    {
        return Some(Collector::Github);
    }
    // GitLab REST objects carry `project_id` and a `web_url` with the `/-/` path separator.
    if compact.contains("\"project_id\":") && compact.contains("/-/") && compact.contains("\"web_url\":\"") {
        return Some(Collector::Gitlab);
    }
    None
}

/// Falco alerts: `rule`, `priority` and `output_fields` or `output` in the
/// first object (Falco may leave `output_fields` out).
fn is_falco(compact: &str) -> bool {
    compact.contains("\"rule\":\"")
        && compact.contains("\"priority\":\"")
        && (compact.contains("\"output_fields\":{") || compact.contains("\"output\":\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_extension_and_content() {
        assert_eq!(detect("x.sarif", b""), Some(Collector::Sarif));
        assert_eq!(
            detect("x.json", br#"{"version": "2.1.0", "runs": []}"#),
            Some(Collector::Sarif)
        );
        assert_eq!(
            detect(
                "x.jsonl",
                br#"{"kind":"scan_report","occurred_at":null,"subject":{},"attrs":{}}"#
            ),
            Some(Collector::EvidenceNdjson)
        );
        assert_eq!(detect("x.txt", b"hello"), None);
        assert_eq!(
            detect(
                "alerts.log",
                br#"{"hostname":"h","output":"o","priority":"Warning","rule":"r","output_fields": {"a":1}}"#
            ),
            Some(Collector::Falco)
        );
    }

    #[test]
    fn ignore_files_are_detected_by_name() {
        for name in [
            "repo/.trivyignore",
            ".gitleaksignore",
            "a/b/.snyk",
            ".semgrepignore",
            "x/.checkov.yaml",
        ] {
            assert_eq!(detect(name, b"CVE-2024-1"), Some(Collector::Suppressions), "{name}");
        }
        assert_eq!(detect("main.py", b"import os  # nosec"), None);
    }

    #[test]
    fn detects_scanner_reports_and_sboms() {
        let cases: [(&str, &[u8], Option<Collector>); 11] = [
            (
                "r.json",
                b"{\n  \"SchemaVersion\": 2,\n  \"ArtifactName\": \".\"",
                Some(Collector::Trivy),
            ),
            (
                "r.json",
                b"{\"SchemaVersion\":2,\"Results\":[]}",
                Some(Collector::Trivy),
            ),
            (
                "r.json",
                b"[\n {\n  \"Target\": \"a\",\"Vulnerabilities\": null}]",
                Some(Collector::Trivy),
            ),
            (
                "r.json",
                b"{\"matches\": [ {\"vulnerability\": {\"id\": \"CVE-1\"",
                Some(Collector::Grype),
            ),
            (
                "r.json",
                b"{\"matches\":[],\"source\":{},\"descriptor\":{\"name\":\"grype\",\"version\":\"0.80.0\"}}",
                Some(Collector::Grype),
            ),
            ("r.json", b"{\"matches\":[]}", None),
            (
                "b.json",
                b"{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.6\"}",
                Some(Collector::CycloneDx),
            ),
            ("b.cdx.json", b"", Some(Collector::CycloneDx)),
            ("b.json", b"{\"spdxVersion\": \"SPDX-2.3\"}", Some(Collector::Spdx)),
            ("b.spdx.json", b"", Some(Collector::Spdx)),
            ("b.json", b"[1, 2]", None),
        ];
        for (path, head, expected) in cases {
            assert_eq!(detect(path, head), expected, "{}", String::from_utf8_lossy(head));
        }
        for collector in [
            Collector::Trivy,
            Collector::Grype,
            Collector::CycloneDx,
            Collector::Spdx,
        ] {
            assert!(!collector.is_streamed());
        }
    }

    #[test]
    fn detects_github_and_gitlab_events() {
        let cases: [(&[u8], Option<Collector>); 9] = [
            (
                b"{\"action\": \"completed\", \"repository\": {\"url\": \"https://api.github.com/repos/o/r\"}}",
                Some(Collector::Github),
            ),
            (
                b"[{\"scope\": \"https://api.github.com:443\", \"method\": \"get\"}]",
                Some(Collector::Github),
            ),
            // GitHub Enterprise: no api.github.com, known by action and member.
            (
                b"{\"action\": \"completed\", \"check_run\": {\"id\": 1}}",
                Some(Collector::Github),
            ),
            (b"{\"action\": \"completed\", \"thing\": {}}", None),
            (
                b"{\"object_kind\": \"pipeline\", \"object_attributes\": {}}",
                Some(Collector::Gitlab),
            ),
            (b"{\"object_kind\":\"build\"}", Some(Collector::Gitlab)),
            (b"{\"object_kind\": \"push\"}", None),
            (
                b"[{\"id\": 1, \"project_id\": 2, \"web_url\": \"https://gl.example.com/g/p/-/pipelines/1\"}]",
                Some(Collector::Gitlab),
            ),
            (b"[{\"id\": 1, \"project_id\": 2}]", None),
        ];
        for (head, expected) in cases {
            assert_eq!(detect("e.json", head), expected, "{}", String::from_utf8_lossy(head));
        }
    }

    #[test]
    fn detects_organisation_sources() {
        let cases: [(&str, &[u8], Option<Collector>); 11] = [
            (
                "catalog-info.yaml",
                b"apiVersion: backstage.io/v1alpha1\nkind: Component\n",
                Some(Collector::Backstage),
            ),
            (
                "inventory.csv",
                b"Name,Type,Environment,Owner\napi,service,prod,a\n",
                Some(Collector::Inventory),
            ),
            ("authz.json", b"{\"UserDetailList\": []}", Some(Collector::AwsIam)),
            (
                "report.json",
                b"{\"Content\": \"dXNlcg==\", \"ReportFormat\": \"text/csv\"}",
                Some(Collector::AwsIam),
            ),
            (
                "report.csv",
                b"user,arn,user_creation_time,password_enabled\n",
                Some(Collector::AwsIam),
            ),
            (
                "trail.json",
                b"{\"Records\": [{\"userIdentity\": {}}]}",
                Some(Collector::AwsIam),
            ),
            (
                "org.json",
                b"{\"organization\": \"acme\", \"members\": []}",
                Some(Collector::GithubOrg),
            ),
            (
                "collaborators.json",
                b"[{\"login\": \"a\", \"role_name\": \"admin\"}]",
                Some(Collector::GithubOrg),
            ),
            (
                "rbac.yaml",
                b"apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\n",
                Some(Collector::KubernetesRbac),
            ),
            (
                "lms.csv",
                b"User Name,E-mail,Course,Completion Date\n",
                Some(Collector::Training),
            ),
            ("notes.csv", b"a,b,c\n1,2,3\n", None),
        ];
        for (path, head, expected) in cases {
            assert_eq!(detect(path, head), expected, "{path}");
        }
    }

    #[test]
    fn names_are_unique_and_round_trip() {
        for collector in Collector::ALL {
            assert_eq!(Collector::from_name(collector.name()), Some(*collector));
        }
    }

    #[test]
    fn detects_tickets_and_incidents() {
        let cases: [(&[u8], Option<Collector>); 7] = [
            (
                b"{\"expand\":\"schema\",\"issues\":[{\"key\":\"A-1\",\"fields\":{}}]}",
                Some(Collector::Jira),
            ),
            (
                b"{\"key\": \"A-1\", \"fields\": {\"issuetype\": {}}}",
                Some(Collector::Jira),
            ),
            (
                b"interactions:\n- request:\n    uri: https://x.atlassian.net/rest/api/2/issue/A-1\n",
                Some(Collector::Jira),
            ),
            (
                b"{\"incident\": {\"id\": \"P\", \"urgency\": \"high\"}}",
                Some(Collector::Pagerduty),
            ),
            (b"{\"incidents\":[{\"incident_number\":1}]}", Some(Collector::Pagerduty)),
            (
                b"[{\"repository_url\":\"https://api.github.com/repos/o/r\",\"labels\":[],\"comments\":0}]",
                Some(Collector::GithubIssues),
            ),
            (b"{\"key\":\"A-1\",\"fields\":{}}", None),
        ];
        for (head, expected) in cases {
            assert_eq!(detect("t.json", head), expected, "{}", String::from_utf8_lossy(head));
        }
        let models: [(&str, &[u8], Option<Collector>); 7] = [
            (
                "m.json",
                b"{\"summary\": {\"title\": \"x\"}, \"detail\": {\"diagrams\": []}}",
                Some(Collector::ThreatModel),
            ),
            (
                "risks.json",
                b"[{\"category\": \"c\", \"risk_status\": \"accepted\"}]",
                Some(Collector::ThreatModel),
            ),
            (
                "t.cdx.json",
                b"{\"bomFormat\":\"CycloneDX\",\"components\":[{\"type\":\"threat-model\"}]}",
                Some(Collector::ThreatModel),
            ),
            (
                "t.cdx.json",
                b"{\"bomFormat\":\"CycloneDX\",\"components\":[{\"type\":\"library\"}]}",
                Some(Collector::CycloneDx),
            ),
            (
                "docs/payments.md",
                b"---\nservice: payments\n---\n# Payments threat model\n",
                Some(Collector::ThreatModel),
            ),
            ("README.md", b"---\ntitle: x\n---\n# Readme\n", None),
            ("cal.txt", b"\r\nBEGIN:VCALENDAR\r\nVERSION:2.0", Some(Collector::Ics)),
        ];
        for (path, head, expected) in models {
            assert_eq!(detect(path, head), expected, "{path}");
        }
    }
}
