//! The files of the demo organisation, in the tools' own formats.

use crate::{Rng, Team, days_before, rfc3339};
use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Writes files under a root and counts them.
pub struct Writer {
    root: PathBuf,
    pub files: usize,
    pub bytes: u64,
}

impl Writer {
    pub fn new(root: &Path) -> Writer {
        Writer {
            root: root.join("evidence"),
            files: 0,
            bytes: 0,
        }
    }

    /// Write `bytes` at `relative` (directories created) and return the path.
    pub fn write(&mut self, relative: &str, bytes: &[u8]) -> Result<PathBuf, String> {
        let path = self.root.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|error| format!("{}: {error}", parent.display()))?;
        }
        std::fs::write(&path, bytes).map_err(|error| format!("{}: {error}", path.display()))?;
        self.files += 1;
        self.bytes += bytes.len() as u64;
        Ok(path)
    }
}

/// A GitHub Actions workflow with SAST, SCA and secret scanning.
pub fn workflow(team: &Team, repo_index: usize, rng: &mut Rng) -> String {
    let node = 18 + rng.below(3) * 2;
    let (sast, sca, secrets) = match team.style {
        0 => (
            "      - name: Semgrep\n        run: semgrep ci\n        env:\n          SEMGREP_APP_TOKEN: ${{ secrets.SEMGREP_APP_TOKEN }}\n".to_string(),
            "      - name: Trivy\n        uses: aquasecurity/trivy-action@0.28.0\n        with:\n          scan-type: fs\n          severity: HIGH,CRITICAL\n          exit-code: '1'\n".to_string(),
            "      - name: Gitleaks\n        uses: gitleaks/gitleaks-action@v2\n        env:\n          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n".to_string(),
        ),
        1 => (
            "      - name: Semgrep\n        run: semgrep scan --error --config p/default .\n        continue-on-error: true\n".to_string(),
            "      - name: Trivy\n        uses: aquasecurity/trivy-action@0.28.0\n        with:\n          scan-type: fs\n          exit-code: '1'\n".to_string(),
            "      - name: Gitleaks\n        run: gitleaks detect --redact --report-path gitleaks.json || true\n".to_string(),
        ),
        2 => (
            if repo_index == 0 {
                "      - name: Semgrep\n        run: semgrep scan --error --config p/default .\n".to_string()
            } else {
                "      - name: Semgrep\n        run: semgrep scan --config p/default --sarif --output semgrep.sarif .\n".to_string()
            },
            "      - name: Trivy\n        uses: aquasecurity/trivy-action@0.28.0\n        with:\n          scan-type: fs\n          format: sarif\n          output: trivy.sarif\n".to_string(),
            "      - name: Gitleaks\n        run: gitleaks detect --exit-code 0\n".to_string(),
        ),
        _ => (
            "      - name: Semgrep\n        run: semgrep scan --error --config p/default . | tee semgrep.txt\n".to_string(),
            "      - name: Trivy\n        uses: aquasecurity/trivy-action@0.28.0\n        continue-on-error: ${{ github.event_name == 'pull_request' }}\n        with:\n          scan-type: fs\n          exit-code: '1'\n".to_string(),
            "      - name: Gitleaks\n        uses: gitleaks/gitleaks-action@v2\n        if: github.ref == 'refs/heads/main'\n".to_string(),
        ),
    };
    format!(
        "name: security\non:\n  pull_request:\n  push:\n    branches: [main]\npermissions:\n  contents: read\n  security-events: write\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-node@v4\n        with:\n          node-version: {node}\n{sast}{sca}{secrets}"
    )
}

fn weeks(start: Timestamp, end: Timestamp) -> Vec<Timestamp> {
    let mut times = Vec::new();
    let mut at = start;
    while at < end {
        times.push(at);
        at = at.checked_add(SignedDuration::from_hours(24 * 7)).unwrap_or(end);
    }
    times
}

/// SARIF 2.1.0 with one run per week.
pub fn sarif(tool: &str, repo: &str, start: Timestamp, end: Timestamp, rng: &mut Rng) -> String {
    let (driver, rules): (&str, Vec<(&str, &str, &str)>) = match tool {
        "semgrep" => (
            "Semgrep OSS",
            vec![
                (
                    "javascript.express.security.audit.xss.direct-response-write",
                    "error",
                    "6.1",
                ),
                ("javascript.lang.security.audit.sqli.node-postgres-sqli", "error", "8.8"),
                ("javascript.jsonwebtoken.security.jwt-none-alg", "warning", "5.3"),
            ],
        ),
        "trivy" => (
            "Trivy",
            vec![
                ("CVE-2024-45337", "error", "9.1"),
                ("CVE-2024-21538", "error", "7.5"),
                ("CVE-2023-45857", "warning", "6.5"),
            ],
        ),
        _ => (
            "gitleaks",
            vec![("generic-api-key", "warning", ""), ("aws-access-token", "error", "")],
        ),
    };
    let rule_objects: Vec<Value> = rules
        .iter()
        .map(|(id, level, severity)| {
            let mut rule =
                json!({"id": id, "shortDescription": {"text": id}, "defaultConfiguration": {"level": level}});
            if !severity.is_empty() {
                rule["properties"] = json!({"security-severity": severity});
            }
            rule
        })
        .collect();
    let mut runs = Vec::new();
    for at in weeks(start, end) {
        let count = rng.below(if tool == "gitleaks" { 2 } else { 5 });
        let results: Vec<Value> = (0..count)
            .map(|index| {
                let (id, level, _) = rules[rng.below(rules.len() as u64) as usize];
                json!({
                    "ruleId": id,
                    "level": level,
                    "message": {"text": format!("{id} in {repo}")},
                    "locations": [{"physicalLocation": {"artifactLocation": {"uri": format!("src/handler{index}.js")}, "region": {"startLine": 10 + rng.below(200)}}}],
                    "partialFingerprints": {"primaryLocationLineHash": rng.hex(16)}
                })
            })
            .collect();
        runs.push(json!({
            "tool": {"driver": {"name": driver, "semanticVersion": "1.0.0", "rules": rule_objects}},
            "invocations": [{"executionSuccessful": true, "endTimeUtc": rfc3339(at)}],
            "versionControlProvenance": [{"repositoryUri": format!("https://github.com/{repo}")}],
            "results": results
        }));
    }
    serde_json::to_string_pretty(
        &json!({"version": "2.1.0", "$schema": "https://json.schemastore.org/sarif-2.1.0.json", "runs": runs}),
    )
    .unwrap_or_default()
}

/// A Trivy JSON report (schema version 2).
pub fn trivy_json(repo: &str, at: Timestamp, rng: &mut Rng) -> String {
    let vulnerabilities: Vec<Value> = (0..1 + rng.below(4))
        .map(|index| {
            let package = ["express", "jsonwebtoken", "axios", "lodash"][index as usize % 4];
            let severity = ["HIGH", "MEDIUM", "CRITICAL", "LOW"][index as usize % 4];
            json!({
                "VulnerabilityID": format!("CVE-2024-{}", 20000 + rng.below(9999)),
                "PkgName": package,
                "InstalledVersion": "1.0.0",
                "FixedVersion": "1.0.1",
                "Severity": severity,
                "Title": "demo vulnerability"
            })
        })
        .collect();
    serde_json::to_string_pretty(&json!({
        "SchemaVersion": 2,
        "CreatedAt": rfc3339(at),
        "ArtifactName": repo,
        "ArtifactType": "repository",
        "Results": [{"Target": "package-lock.json", "Class": "lang-pkgs", "Type": "npm", "Vulnerabilities": vulnerabilities}]
    }))
    .unwrap_or_default()
}

/// GitHub's REST list of check runs: the scanners on pull requests, weekly.
/// The exemplary team's gates fail the check when they find something.
pub fn check_runs(team: &Team, repo: &str, start: Timestamp, end: Timestamp, rng: &mut Rng) -> String {
    let mut runs = Vec::new();
    let mut id = 1000 + rng.below(1000);
    let all = weeks(start, end);
    let last = all.len().saturating_sub(1);
    for (week, at) in all.into_iter().enumerate() {
        let number = 100 + week as u64;
        let head = rng.hex(40);
        for name in ["Semgrep", "Trivy", "Gitleaks"] {
            id += 1;
            // The exemplary team's gates fire now and then, and SAST blocked a pull request this week.
            let blocked = team.exemplary && (rng.chance(8) || (week == last && name == "Semgrep"));
            runs.push(json!({
                "id": id,
                "name": name,
                "head_sha": head,
                "status": "completed",
                "conclusion": if blocked { "failure" } else { "success" },
                "started_at": rfc3339(at),
                "completed_at": rfc3339(at.checked_add(SignedDuration::from_mins(3)).unwrap_or(at)),
                "url": format!("https://api.github.com/repos/{repo}/check-runs/{id}"),
                "app": {"slug": "github-actions", "name": "GitHub Actions"},
                "pull_requests": [{"number": number, "url": format!("https://api.github.com/repos/{repo}/pulls/{number}"), "head": {"ref": format!("change-{number}"), "sha": head}, "base": {"ref": "main", "sha": rng.hex(40)}}]
            }));
        }
    }
    serde_json::to_string_pretty(&json!({"total_count": runs.len(), "check_runs": runs})).unwrap_or_default()
}

/// GitHub's REST list of deployments' statuses, as a list of webhook payloads' objects.
pub fn deployments(repo: &str, start: Timestamp, end: Timestamp, rng: &mut Rng) -> (String, Vec<(Timestamp, String)>) {
    let mut payloads = Vec::new();
    let mut deployed = Vec::new();
    for (index, at) in weeks(start, end)
        .into_iter()
        .enumerate()
        .filter(|(index, _)| index % 2 == 1)
    {
        let sha = rng.hex(40);
        deployed.push((at, sha.clone()));
        payloads.push(json!({
            "action": "created",
            "deployment_status": {"id": 50_000 + index, "state": "success", "created_at": rfc3339(at), "creator": {"login": "github-actions[bot]"}, "environment": "production", "url": format!("https://api.github.com/repos/{repo}/deployments/{}/statuses/{}", 40_000 + index, 50_000 + index)},
            "deployment": {"id": 40_000 + index, "sha": sha, "ref": "main", "task": "deploy", "environment": "production", "created_at": rfc3339(at), "creator": {"login": "github-actions[bot]"}, "url": format!("https://api.github.com/repos/{repo}/deployments/{}", 40_000 + index)},
            "repository": {"full_name": repo, "url": format!("https://api.github.com/repos/{repo}")}
        }));
    }
    (
        serde_json::to_string_pretty(&Value::Array(payloads)).unwrap_or_default(),
        deployed,
    )
}

/// Falco alerts (JSON lines) in the team's namespace: detection in audit-only mode.
/// An alert Falco raised: its uuid, time, rule and priority.
pub struct Alert {
    /// Falcosidekick's uuid.
    pub uuid: String,
    /// When.
    pub at: Timestamp,
    /// The rule.
    pub rule: String,
    /// Falco's priority.
    pub priority: String,
}

/// Falco alerts (JSON lines) in the team's namespace, and the alerts themselves.
pub fn falco(team: &Team, start: Timestamp, end: Timestamp, rng: &mut Rng) -> (String, Vec<Alert>) {
    let rules = [
        ("Terminal shell in container", "Critical"),
        ("Read sensitive file untrusted", "Warning"),
        ("Write below etc", "Error"),
        ("Contact K8S API Server From Container", "Notice"),
    ];
    let mut lines = Vec::new();
    let mut alerts = Vec::new();
    for at in weeks(start, end) {
        if !rng.chance(40) {
            continue;
        }
        let (rule, priority) = rules[rng.below(rules.len() as u64) as usize];
        let uuid = format!(
            "{}-{}-{}-{}-{}",
            rng.hex(8),
            rng.hex(4),
            rng.hex(4),
            rng.hex(4),
            rng.hex(12)
        );
        let when = at
            .checked_add(SignedDuration::from_hours(rng.below(150) as i64))
            .unwrap_or(at);
        alerts.push(Alert {
            uuid: uuid.clone(),
            at: when,
            rule: rule.to_string(),
            priority: priority.to_string(),
        });
        let alert = json!({
            "uuid": uuid,
            "hostname": format!("node-{}", rng.below(6)),
            "output": format!("{rule} (user=root container={}-{})", team.service, rng.hex(6)),
            "priority": priority,
            "rule": rule,
            "source": "syscall",
            "tags": ["container", "mitre_execution"],
            "time": rfc3339(when),
            "output_fields": {
                "container.id": rng.hex(12),
                "container.image.repository": format!("ghcr.io/acme/{}", team.service),
                "container.image.tag": format!("1.{}.{}", rng.below(9), rng.below(9)),
                "k8s.ns.name": team.name,
                "k8s.pod.name": format!("{}-{}", team.service, rng.hex(5)),
                "proc.cmdline": "sh -c id"
            }
        });
        lines.push(alert.to_string());
    }
    (lines.join("\n") + "\n", alerts)
}

/// Jira search results: a ticket per serious alert, created within the hour
/// (routed by Falcosidekick, the alert's uuid in a label) and resolved within
/// two days.
pub fn jira(team: &Team, alerts: &[Alert], rng: &mut Rng) -> String {
    let issues: Vec<Value> = alerts
        .iter()
        .filter(|alert| matches!(alert.priority.as_str(), "Critical" | "Error" | "Emergency" | "Alert"))
        .enumerate()
        .map(|(index, alert)| {
            let created = alert
                .at
                .checked_add(SignedDuration::from_mins(20 + rng.below(30) as i64))
                .unwrap_or(alert.at);
            let resolved = created
                .checked_add(SignedDuration::from_hours(6 + rng.below(40) as i64))
                .unwrap_or(created);
            let jira_time = |time: Timestamp| time.strftime("%Y-%m-%dT%H:%M:%S.000+0000").to_string();
            json!({
                "id": format!("{}", 10_000 + index),
                "key": format!("SEC-{}", 100 + index),
                "self": format!("https://acme.atlassian.net/rest/api/2/issue/{}", 10_000 + index),
                "fields": {
                    "summary": format!("Falco: {} in {}", alert.rule, team.service),
                    "issuetype": {"name": "Bug"},
                    "status": {"name": "Done", "statusCategory": {"key": "done"}},
                    "resolution": {"name": "Fixed"},
                    "priority": {"name": "High"},
                    "labels": ["falco", format!("falco-uuid:{}", alert.uuid)],
                    "components": [{"name": team.service}],
                    "created": jira_time(created),
                    "updated": jira_time(resolved),
                    "resolutiondate": jira_time(resolved),
                    "description": format!("rule: {}\nRouted by Falcosidekick.", alert.rule)
                }
            })
        })
        .collect();
    serde_json::to_string_pretty(
        &json!({"expand": "schema,names", "startAt": 0, "maxResults": 50, "total": issues.len(), "issues": issues}),
    )
    .unwrap_or_default()
}

/// A champion's calendar: two protected hours every Tuesday for the whole history.
pub fn champion_calendar(team: &Team, start: Timestamp) -> String {
    let lead = people(team).into_iter().next().unwrap_or_default();
    let first = start.strftime("%Y%m%d").to_string();
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Acme//Demo//EN\r\nBEGIN:VEVENT\r\nUID:champion-{team}@acme.example\r\nDTSTAMP:{first}T080000Z\r\nDTSTART:{first}T090000Z\r\nDTEND:{first}T110000Z\r\nRRULE:FREQ=WEEKLY;BYDAY=TU\r\nSUMMARY:Security champion time ({team})\r\nORGANIZER:mailto:{lead}\r\nSTATUS:CONFIRMED\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
        team = team.name
    )
}

/// An OWASP Threat Dragon v2 model of the team's service.
pub fn threat_dragon(team: &Team) -> String {
    serde_json::to_string_pretty(&json!({
        "version": "2.2.0",
        "summary": {"title": team.service, "owner": team.name, "description": format!("{} threat model", team.service), "id": 0},
        "detail": {
            "contributors": [{"name": people(team)[0]}],
            "diagrams": [{
                "id": 0,
                "title": "Payment flow",
                "diagramType": "STRIDE",
                "version": "2.2.0",
                "cells": [
                    {"id": "p1", "shape": "process", "data": {"name": "api", "type": "tm.Process", "threats": [
                        {"id": "t1", "title": "Spoofed card holder", "status": "Mitigated", "severity": "High", "type": "Spoofing", "mitigation": "3-D Secure and signed sessions"},
                        {"id": "t2", "title": "Tampered amount", "status": "Mitigated", "severity": "High", "type": "Tampering", "mitigation": "server-side totals, signed requests"},
                        {"id": "t3", "title": "Verbose errors", "status": "Open", "severity": "Low", "type": "Information disclosure", "mitigation": ""}
                    ]}}
                ]
            }],
            "reviewer": "ciso@acme.example"
        }
    }))
    .unwrap_or_default()
}

/// Kyverno verifies image signatures, but only in audit mode.
pub const KYVERNO_VERIFY_IMAGES: &str = "apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: verify-acme-images
  annotations:
    policies.kyverno.io/title: Verify Acme images
spec:
  validationFailureAction: Audit
  background: false
  rules:
    - name: verify-signature
      match:
        any:
          - resources:
              kinds: [Pod]
      verifyImages:
        - imageReferences: [\"ghcr.io/acme/*\"]
          mutateDigest: true
          attestors:
            - entries:
                - keyless:
                    subject: \"https://github.com/acme/*\"
                    issuer: \"https://token.actions.githubusercontent.com\"
";

/// Policy reports of the audit-mode policy: some images fail verification, nothing is stopped.
pub fn policy_reports(teams: &[Team], at: Timestamp) -> String {
    let seconds = at.as_second();
    let mut documents = Vec::new();
    for (index, team) in teams.iter().enumerate() {
        let result = if team.exemplary || index % 3 == 1 {
            "pass"
        } else {
            "fail"
        };
        documents.push(format!(
            "apiVersion: wgpolicyk8s.io/v1alpha2
kind: PolicyReport
metadata:
  name: cpol-verify-acme-images
  namespace: {ns}
  labels:
    app.kubernetes.io/managed-by: kyverno
summary:
  pass: {pass}
  fail: {fail}
results:
  - policy: verify-acme-images
    rule: verify-signature
    result: {result}
    scored: true
    source: kyverno
    message: image verification {result}
    timestamp:
      seconds: {seconds}
      nanos: 0
    resources:
      - apiVersion: v1
        kind: Pod
        name: {service}-0
        namespace: {ns}
",
            ns = team.name,
            service = team.service,
            pass = u8::from(result == "pass"),
            fail = u8::from(result == "fail"),
        ));
    }
    documents.join("---\n")
}

/// The DSOMM app's progress states.
pub const META: &str = "---
progressDefinition:
  Not implemented:
    score: 0%
    definition: Activity not started and not planned
  Started:
    score: 20%
    definition: Activity has been started, or completed for a few applications
  Partly implemented:
    score: 50%
    definition: Activity has been implemented for at least half of the applications
  Fully implemented:
    score: 100%
    definition: Fully implemented for (almost) all applications
";

/// team-progress.yaml: every team claims level 1 and 2 fully, level 3 partly or fully, some of level 4.
pub fn team_progress(teams: &[Team], rng: &mut Rng) -> String {
    let catalogue = model::catalogue::Catalogue::embedded().ok();
    let mut out = String::from("progress:\n");
    let claimed = days_before(
        crate::days_before(model::time::parse_time(crate::AS_OF).unwrap_or_default(), 0),
        200,
    );
    let date = rfc3339(claimed).get(..10).unwrap_or("2026-04-15").to_string();
    for activity in catalogue.iter().flat_map(|catalogue| catalogue.activities.iter()) {
        let mut lines = String::new();
        for team in teams {
            let state = match activity.level {
                1 | 2 => Some("Fully implemented"),
                3 => Some(if rng.chance(50) {
                    "Fully implemented"
                } else {
                    "Partly implemented"
                }),
                4 => rng.chance(30).then_some("Started"),
                _ => None,
            };
            match state {
                Some("Started") => lines.push_str(&format!("    '{}':\n      'Started': {date}\n", team.name)),
                Some(state) => lines.push_str(&format!(
                    "    '{}':\n      'Started': {date}\n      '{state}': {date}\n",
                    team.name
                )),
                None => {}
            }
        }
        if !lines.is_empty() {
            out.push_str(&format!(
                "  {}:  # {}\n{lines}",
                activity.uuid,
                activity.name.replace(['\n', '#'], " ")
            ));
        }
    }
    out
}

/// Dismissed code-scanning alerts (webhook payloads): exceptions without owner or sunset.
pub fn dismissals(repo: &str, at: Timestamp, count: u64, rng: &mut Rng) -> String {
    let payloads: Vec<Value> = (0..count)
        .map(|index| {
            let number = 10 + index;
            let when = rfc3339(at.checked_add(SignedDuration::from_hours(24 * 3 * index as i64)).unwrap_or(at));
            json!({
                "action": "closed_by_user",
                "alert": {
                    "number": number,
                    "created_at": when,
                    "url": format!("https://api.github.com/repos/{repo}/code-scanning/alerts/{number}"),
                    "state": "dismissed",
                    "dismissed_by": {"login": format!("dev{}", rng.below(9))},
                    "dismissed_at": when,
                    "dismissed_reason": "won't fix",
                    "dismissed_comment": null,
                    "rule": {"id": "javascript.express.security.audit.xss.direct-response-write", "severity": "error", "security_severity_level": "medium", "description": "XSS"},
                    "tool": {"name": "Semgrep OSS", "version": "1.0.0"},
                    "most_recent_instance": {"ref": "refs/heads/main", "commit_sha": rng.hex(40), "location": {"path": "src/handler0.js", "start_line": 12}}
                },
                "ref": "refs/heads/main",
                "commit_oid": rng.hex(40),
                "repository": {"full_name": repo, "url": format!("https://api.github.com/repos/{repo}")},
                "sender": {"login": "dev"}
            })
        })
        .collect();
    serde_json::to_string_pretty(&Value::Array(payloads)).unwrap_or_default()
}

/// The people of a team: a lead (the security champion) and two engineers.
pub fn people(team: &Team) -> Vec<String> {
    ["lead", "dev1", "dev2"]
        .iter()
        .map(|role| format!("{role}.{}@acme.example", team.name))
        .collect()
}

/// A Backstage catalog as exported on one day: a Group and Users per team, a
/// Component per repository with its owner, lifecycle, repository and the date
/// of its last security review. The exemplary team reviews within a year;
/// the others' reviews go stale.
pub fn backstage(teams: &[Team], taken: Timestamp) -> String {
    let mut documents = Vec::new();
    for team in teams {
        let members: Vec<String> = people(team)
            .iter()
            .map(|email| format!("user:{}", email.split('@').next().unwrap_or_default()))
            .collect();
        documents.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: {name}\nspec:\n  type: team\n  children: []\n  members: [{members}]\n",
            name = team.name,
            members = members.join(", ")
        ));
        for email in people(team) {
            let user = email.split('@').next().unwrap_or_default().to_string();
            documents.push(format!(
                "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: {user}\nspec:\n  profile:\n    email: {email}\n  memberOf: [{team}]\n",
                team = team.name
            ));
        }
        for (index, repo) in team.repos.iter().enumerate() {
            let name = repo.trim_start_matches("acme/");
            let review_days = if team.exemplary {
                60 + 30 * index as i64
            } else {
                400 + 90 * index as i64
            };
            let review = rfc3339(days_before(taken, review_days))
                .get(..10)
                .unwrap_or_default()
                .to_string();
            let lifecycle = if index == 0 || team.exemplary {
                "production"
            } else {
                "experimental"
            };
            documents.push(format!(
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  annotations:\n    github.com/project-slug: {repo}\n    dsomm-audit.io/last-security-review: \"{review}\"\nspec:\n  type: service\n  lifecycle: {lifecycle}\n  owner: group:{team}\n  system: {team}\n",
                team = team.name
            ));
        }
    }
    documents.join("---\n")
}

/// AWS `get-account-authorization-details`: every engineer a user (named by
/// e-mail, as with SSO), each team's lead with AdministratorAccess.
pub fn aws_iam(teams: &[Team]) -> String {
    let mut users = Vec::new();
    for team in teams {
        for (index, email) in people(team).iter().enumerate() {
            let policy = if index == 0 {
                ("AdministratorAccess", "arn:aws:iam::aws:policy/AdministratorAccess")
            } else {
                ("ReadOnlyAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess")
            };
            users.push(json!({
                "Path": "/",
                "UserName": email,
                "UserId": format!("AIDA{}", email.len() * 7919 + index),
                "Arn": format!("arn:aws:iam::123456789012:user/{email}"),
                "CreateDate": "2024-01-15T09:00:00Z",
                "GroupList": [],
                "AttachedManagedPolicies": [{"PolicyName": policy.0, "PolicyArn": policy.1}],
                "Tags": []
            }));
        }
    }
    serde_json::to_string_pretty(
        &json!({"UserDetailList": users, "GroupDetailList": [], "RoleDetailList": [], "Policies": []}),
    )
    .unwrap_or_default()
}

/// An LMS export (CSV): the exemplary team trained this year; elsewhere the
/// leads (who hold AdministratorAccess) last trained two years ago.
pub fn lms_csv(teams: &[Team], as_of: Timestamp) -> String {
    let mut out = String::from("Email,Course,Completion Date,Status,Score\n");
    for team in teams {
        for (index, email) in people(team).iter().enumerate() {
            let days = if team.exemplary || index > 0 {
                40 + 20 * index as i64
            } else {
                730
            };
            let date = rfc3339(days_before(as_of, days))
                .get(..10)
                .unwrap_or_default()
                .to_string();
            out.push_str(&format!(
                "{email},Secure Coding Fundamentals,{date},Completed,{}\n",
                70 + (index * 9) % 30
            ));
        }
    }
    out
}

/// The demo's signing key (Ed25519, from the seed) and its public key as PEM.
pub fn signing_key(seed: u64) -> (ed25519_dalek::SigningKey, String) {
    use sha2::Digest as _;
    let secret: [u8; 32] = sha2::Sha256::digest(format!("acme demo provenance key {seed}").as_bytes()).into();
    let key = ed25519_dalek::SigningKey::from_bytes(&secret);
    // SubjectPublicKeyInfo for Ed25519 (RFC 8410): a fixed prefix and the 32-byte key.
    let mut der = vec![0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
    der.extend_from_slice(key.verifying_key().as_bytes());
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, der)
    );
    (key, pem)
}

/// SLSA v1 provenance of each deployed build, as DSSE envelopes signed with
/// the demo key, one per line (`.intoto.jsonl`).
pub fn provenance(repo: &str, deployed: &[(Timestamp, String)], key: &ed25519_dalek::SigningKey) -> String {
    use base64::Engine as _;
    use ed25519_dalek::Signer as _;
    use sha2::Digest as _;
    let service = repo.trim_start_matches("acme/");
    let mut lines = Vec::new();
    for (at, sha) in deployed {
        let built = at.checked_sub(SignedDuration::from_mins(15)).unwrap_or(*at);
        let digest = hex(&sha2::Sha256::digest(format!("{repo}@{sha}").as_bytes()));
        let statement = json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": format!("ghcr.io/{repo}"), "digest": {"sha256": digest}}],
            "predicateType": "https://slsa.dev/provenance/v1",
            "predicate": {
                "buildDefinition": {
                    "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                    "externalParameters": {"workflow": {"ref": "refs/heads/main", "repository": format!("https://github.com/{repo}"), "path": ".github/workflows/release.yml"}},
                    "resolvedDependencies": [{"uri": format!("git+https://github.com/{repo}@refs/heads/main"), "digest": {"gitCommit": sha}}]
                },
                "runDetails": {
                    "builder": {"id": "https://github.com/acme/.github/.github/workflows/release.yml@refs/heads/main"},
                    "metadata": {"invocationId": format!("https://github.com/{repo}/actions/runs/{}", at.as_second()), "startedOn": rfc3339(built)}
                }
            }
        });
        let payload = serde_json::to_vec(&statement).unwrap_or_default();
        let payload_type = "application/vnd.in-toto+json";
        let mut pae = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).into_bytes();
        pae.extend_from_slice(&payload);
        let signature = key.sign(&pae);
        let envelope = json!({
            "payloadType": payload_type,
            "payload": base64::engine::general_purpose::STANDARD.encode(&payload),
            "signatures": [{"keyid": format!("acme-demo-{service}"), "sig": base64::engine::general_purpose::STANDARD.encode(signature.to_bytes())}]
        });
        lines.push(envelope.to_string());
    }
    lines.join("\n") + "\n"
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// sigstore policy-controller: images must be signed, but the policy only warns.
pub const CLUSTER_IMAGE_POLICY_WARN: &str = "apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: acme-images-signed
spec:
  mode: warn
  images:
    - glob: \"ghcr.io/acme/**\"
  authorities:
    - key:
        hashAlgorithm: sha256
        data: |
          -----BEGIN PUBLIC KEY-----
          MCowBQYDK2VwAyEA
          -----END PUBLIC KEY-----
";
