//! Corpus: the real CI files in ../shared/fixtures (gha-workflows, gitlab-ci,
//! ci-config-other) give exactly the scanner steps SOURCES.md describes, with
//! its verdicts, lines, and nothing that is not a scanner step.

use dsomm_audit_collect::Limits;
use dsomm_audit_collect::pipelines::{Mode, Platform, lint, platform_of};
use std::path::Path;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures");

/// (file, [(line, job, tool, mode, on_pull_request)])
type Expected = (&'static str, Vec<(u64, &'static str, &'static str, Mode, Option<bool>)>);

fn expected() -> Vec<Expected> {
    use Mode::{Advisory, Blocking};
    vec![
        (
            "gha-workflows/chainloop-gitleaks-or-true.yaml",
            vec![(44, "daily-secrets-scan", "gitleaks", Advisory, Some(false))],
        ),
        (
            "gha-workflows/falco-semgrep-error-blocking.yaml",
            vec![(25, "insecure-api", "semgrep", Blocking, Some(true))],
        ),
        (
            "gha-workflows/fluxcd-flux2-scan-snyk-continue-on-error.yaml",
            vec![
                (21, "scan-fossa", "fossa", Advisory, Some(true)),
                (49, "scan-snyk", "snyk", Advisory, Some(true)),
                (85, "scan-codeql", "codeql", Advisory, Some(true)),
            ],
        ),
        (
            "gha-workflows/gitleaks-action-push.yaml",
            vec![(14, "scan", "gitleaks", Blocking, Some(false))],
        ),
        (
            "gha-workflows/juice-shop-codeql-analysis.yaml",
            vec![(35, "analyze", "codeql", Advisory, Some(true))],
        ),
        (
            "gha-workflows/juice-shop-zap-baseline-scheduled.yaml",
            vec![(16, "zap_scan", "zap", Advisory, Some(false))],
        ),
        (
            "gha-workflows/scorecard-dependency-review.yaml",
            vec![(26, "dependency-review", "dependency-review", Blocking, Some(true))],
        ),
        (
            "gha-workflows/terragoat-checkov-action-pr.yaml",
            vec![(12, "checkov-job", "checkov", Blocking, Some(true))],
        ),
        (
            "gha-workflows/terragoat-checkov-cli-soft-fail.yaml",
            vec![(20, "build", "checkov", Advisory, Some(false))],
        ),
        (
            "gha-workflows/threat-dragon-trivy-exit-code-0.yaml",
            vec![(33, "registry", "trivy", Advisory, None)],
        ),
        (
            "gitlab-ci/gitlab-shell-security-templates.gitlab-ci.yml",
            vec![
                (3, "semgrep-sast", "semgrep", Advisory, Some(true)),
                (3, "gitlab-advanced-sast", "gitlab-advanced-sast", Advisory, Some(true)),
                (4, "gemnasium-dependency_scanning", "gemnasium", Advisory, Some(true)),
                (5, "secret_detection", "gitlab-secret-detection", Advisory, Some(true)),
            ],
        ),
        (
            "gitlab-ci/gitlab-template-Jobs-Secret-Detection.gitlab-ci.yml",
            vec![
                (
                    23,
                    "secret_detection_default_branch",
                    "gitlab-secret-detection",
                    Advisory,
                    Some(false),
                ),
                (32, "secret_detection", "gitlab-secret-detection", Advisory, Some(true)),
            ],
        ),
        (
            "gitlab-ci/glab-cli-latest-security-templates.gitlab-ci.yml",
            vec![
                (68, "semgrep-sast", "semgrep", Advisory, None),
                (68, "gitlab-advanced-sast", "gitlab-advanced-sast", Advisory, None),
                (69, "gemnasium-dependency_scanning", "gemnasium", Advisory, None),
                (70, "secret_detection", "gitlab-secret-detection", Advisory, None),
            ],
        ),
        (
            "ci-config-other/azure-pipelines-credscan-postanalysis.yml",
            vec![(37, "", "credscan", Blocking, None)],
        ),
    ]
}

/// The line that decided each verdict SOURCES.md names, where one line does.
fn deciding_lines() -> Vec<(&'static str, &'static str, u64, &'static str)> {
    vec![
        (
            "gha-workflows/chainloop-gitleaks-or-true.yaml",
            "gitleaks",
            50,
            "|| true",
        ),
        (
            "gha-workflows/falco-semgrep-error-blocking.yaml",
            "semgrep",
            28,
            "--error",
        ),
        (
            "gha-workflows/fluxcd-flux2-scan-snyk-continue-on-error.yaml",
            "snyk",
            50,
            "continue-on-error: true",
        ),
        (
            "gha-workflows/terragoat-checkov-cli-soft-fail.yaml",
            "checkov",
            32,
            "-s",
        ),
        (
            "gha-workflows/threat-dragon-trivy-exit-code-0.yaml",
            "trivy",
            41,
            "exit-code: 0",
        ),
        (
            "gitlab-ci/gitlab-template-Jobs-Secret-Detection.gitlab-ci.yml",
            "gitlab-secret-detection",
            14,
            "image: $SECURE_ANALYZERS_PREFIX/secrets:$SECRETS_ANALYZER_VERSION",
        ),
        (
            "ci-config-other/azure-pipelines-credscan-postanalysis.yml",
            "credscan",
            50,
            "GdnBreakGdnToolCredScan: true",
        ),
    ]
}

#[test]
fn every_ci_fixture_gives_the_documented_scanner_steps() {
    let folder = Path::new(FIXTURES);
    if !folder.is_dir() {
        let message = format!("fixtures folder {FIXTURES} is absent");
        if std::env::var("CI").is_ok_and(|value| value == "true") {
            panic!("{message}; it is required when CI=true");
        }
        eprintln!("{message}; corpus test skipped (set CI=true to make this fail)");
        return;
    }
    let expected = expected();
    // Every file in the three folders is covered.
    for directory in ["gha-workflows", "gitlab-ci", "ci-config-other"] {
        for entry in std::fs::read_dir(folder.join(directory))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = format!("{directory}/{}", entry.file_name().to_string_lossy());
            assert!(
                expected.iter().any(|(file, _)| *file == name),
                "{name} has no expectation"
            );
        }
    }
    let mut steps_by_file = Vec::new();
    for (file, wanted) in &expected {
        let path = folder.join(file);
        let bytes = std::fs::read(&path).unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        let platform = platform_of(file, &text).unwrap_or_else(|| panic!("{file}: platform not recognised"));
        let mut refuse =
            |wanted: &str| -> Result<(String, Vec<u8>), String> { Err(format!("{wanted}: not in the corpus")) };
        let linted = lint(file, &bytes, platform, &Limits::default(), &mut refuse);
        assert!(
            linted.diagnostics.iter().all(|diagnostic| diagnostic.warning),
            "{file}: {:?}",
            linted.diagnostics
        );
        let got: Vec<(u64, &str, &str, Mode, Option<bool>)> = linted
            .steps
            .iter()
            .map(|step| {
                (
                    step.line,
                    step.job.as_str(),
                    step.tool.as_str(),
                    step.mode,
                    step.on_pull_request,
                )
            })
            .collect();
        assert_eq!(&got, wanted, "{file}: {:#?}", linted.steps);
        for step in &linted.steps {
            assert!(
                !step.reasons.is_empty() && !step.pull_request_reasons.is_empty(),
                "{file}: {step:#?}"
            );
            assert_eq!(
                step.platform,
                match platform {
                    Platform::GithubActions => Platform::GithubActions,
                    other => other,
                }
            );
        }
        steps_by_file.push((*file, linted.steps));
    }
    for (file, tool, line, text) in deciding_lines() {
        let steps = &steps_by_file
            .iter()
            .find(|(name, _)| *name == file)
            .map(|(_, steps)| steps.clone())
            .unwrap_or_default();
        let step = steps
            .iter()
            .find(|step| step.tool == tool)
            .unwrap_or_else(|| panic!("{file}: no {tool}"));
        let first = &step.reasons[0];
        assert_eq!(
            (first.line, first.text.as_str()),
            (line, text),
            "{file}: {:#?}",
            step.reasons
        );
    }
}
