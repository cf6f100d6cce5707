//! Every rule of docs/pipelines.md, in both directions, on workflows written
//! for the test. `rule(id, ...)` names the rule; a meta-test checks that every
//! rule in the document has a blocking/advisory (or runs/skips) pair here.

use dsomm_audit_collect::Limits;
use dsomm_audit_collect::pipelines::{Lint, Mode, Platform, lint};

fn run(platform: Platform, text: &str, files: &[(&str, &str)]) -> Lint {
    let mut resolve = |wanted: &str| -> Result<(String, Vec<u8>), String> {
        files
            .iter()
            .find(|(name, _)| *name == wanted.trim_start_matches('/'))
            .map(|(name, body)| (name.to_string(), body.as_bytes().to_vec()))
            .ok_or_else(|| format!("{wanted}: not found"))
    };
    let shown = match platform {
        Platform::GithubActions => ".github/workflows/test.yml",
        Platform::GitlabCi => ".gitlab-ci.yml",
        Platform::AzurePipelines => "azure-pipelines.yml",
    };
    lint(shown, text.as_bytes(), platform, &Limits::default(), &mut resolve)
}

/// Assert the one scanner step's mode (and tool), naming the rule on failure.
fn rule(id: &str, platform: Platform, text: &str, tool: &str, mode: Mode) -> Lint {
    rule_with(id, platform, text, &[], tool, mode)
}

fn rule_with(id: &str, platform: Platform, text: &str, files: &[(&str, &str)], tool: &str, mode: Mode) -> Lint {
    let linted = run(platform, text, files);
    let found: Vec<_> = linted.steps.iter().filter(|step| step.tool == tool).collect();
    assert_eq!(
        found.len(),
        1,
        "rule {id}: expected one {tool} step, got {:#?}\n{:?}",
        linted.steps,
        linted.diagnostics
    );
    assert_eq!(found[0].mode, mode, "rule {id}: {:#?}", found[0]);
    assert!(!found[0].reasons.is_empty(), "rule {id}: no reasons");
    linted
}

fn pull_request(id: &str, platform: Platform, text: &str, expected: Option<bool>) {
    let linted = run(platform, text, &[]);
    assert!(!linted.steps.is_empty(), "rule {id}: no step: {:?}", linted.diagnostics);
    for step in &linted.steps {
        assert_eq!(step.on_pull_request, expected, "rule {id}: {step:#?}");
        assert!(
            !step.pull_request_reasons.is_empty(),
            "rule {id}: no pull-request reasons"
        );
    }
}

fn gha(steps: &str) -> String {
    format!("on: pull_request\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    steps:\n{steps}")
}

use Mode::{Advisory, Blocking, Unknown};
use Platform::{AzurePipelines as Azure, GithubActions as Gha, GitlabCi as Gitlab};

#[test]
fn shell_errexit() {
    rule(
        "shell-errexit",
        Gha,
        &gha("      - run: |\n          semgrep scan --error .\n          echo done\n"),
        "semgrep",
        Blocking,
    );
    rule(
        "shell-errexit",
        Gha,
        &gha("      - shell: bash {0}\n        run: |\n          semgrep scan --error .\n          echo done\n"),
        "semgrep",
        Advisory,
    );
}

#[test]
fn shell_or_handler() {
    let linted = rule(
        "shell-or-handler",
        Gha,
        &gha("      - run: |\n          gitleaks detect \\\n            --redact \\\n            || true\n"),
        "gitleaks",
        Advisory,
    );
    assert_eq!(linted.steps[0].line, 6);
    assert_eq!(linted.steps[0].reasons[0].line, 9, "{:#?}", linted.steps[0].reasons);
    assert_eq!(linted.steps[0].reasons[0].text, "|| true");
    rule(
        "shell-or-handler",
        Gha,
        &gha("      - run: gitleaks detect || exit 1\n"),
        "gitleaks",
        Blocking,
    );
    rule(
        "shell-or-handler",
        Gha,
        &gha("      - run: gitleaks detect || ./notify.sh\n"),
        "gitleaks",
        Unknown,
    );
}

#[test]
fn shell_pipe() {
    rule(
        "shell-pipe",
        Gha,
        &gha("      - run: trivy fs --exit-code 1 . | tee trivy.txt\n"),
        "trivy",
        Advisory,
    );
    rule(
        "shell-pipe",
        Gha,
        &gha("      - shell: bash\n        run: trivy fs --exit-code 1 . | tee trivy.txt\n"),
        "trivy",
        Blocking,
    );
}

#[test]
fn shell_and_list() {
    rule(
        "shell-and-list",
        Gha,
        &gha("      - run: |\n          checkov -d . && echo clean\n          echo next\n"),
        "checkov",
        Advisory,
    );
    rule(
        "shell-and-list",
        Gha,
        &gha("      - run: |\n          cat header.md > out.md && checkov -d .\n          echo next\n"),
        "checkov",
        Blocking,
    );
}

#[test]
fn shell_set_plus_e() {
    rule(
        "shell-set-e",
        Gha,
        &gha("      - run: |\n          set +e\n          gitleaks detect\n          echo scanned\n"),
        "gitleaks",
        Advisory,
    );
    rule(
        "shell-set-e",
        Gha,
        &gha(
            "      - run: |\n          set +e\n          gitleaks detect\n          status=$?\n          echo scanned\n          exit $status\n",
        ),
        "gitleaks",
        Blocking,
    );
}

#[test]
fn shell_if_condition() {
    rule(
        "shell-if-condition",
        Gha,
        &gha("      - run: |\n          if gitleaks detect; then echo clean; fi\n          echo next\n"),
        "gitleaks",
        Advisory,
    );
    rule(
        "shell-if-condition",
        Gha,
        &gha(
            "      - run: |\n          if ! gitleaks detect; then\n            echo leaks\n            exit 1\n          fi\n",
        ),
        "gitleaks",
        Blocking,
    );
}

#[test]
fn shell_last_status() {
    let windows = "on: pull_request\njobs:\n  scan:\n    runs-on: windows-latest\n    steps:\n";
    rule(
        "shell-last-status",
        Gha,
        &format!("{windows}      - shell: cmd\n        run: |\n          gitleaks detect\n          echo done\n"),
        "gitleaks",
        Advisory,
    );
    rule(
        "shell-last-status",
        Gha,
        &format!("{windows}      - shell: cmd\n        run: |\n          echo start\n          gitleaks detect\n"),
        "gitleaks",
        Blocking,
    );
    rule(
        "shell-last-status",
        Azure,
        "pr:\n  - main\nsteps:\n- script: |\n    trivy fs --exit-code 1 .\n    echo done\n",
        "trivy",
        Advisory,
    );
    rule(
        "shell-last-status",
        Azure,
        "pr:\n  - main\nsteps:\n- script: |\n    echo start\n    trivy fs --exit-code 1 .\n",
        "trivy",
        Blocking,
    );
}

#[test]
fn shell_powershell() {
    // GitHub appends `exit $LASTEXITCODE`: cmdlets after the scanner keep its status.
    let windows = "on: pull_request\njobs:\n  scan:\n    runs-on: windows-latest\n    steps:\n";
    rule(
        "shell-powershell",
        Gha,
        &format!("{windows}      - run: |\n          gitleaks detect\n          Write-Host done\n          $x = 1\n"),
        "gitleaks",
        Blocking,
    );
    let linted = rule(
        "shell-powershell",
        Gha,
        &gha("      - shell: pwsh\n        run: |\n          gitleaks detect\n          git status\n"),
        "gitleaks",
        Advisory,
    );
    assert_eq!(linted.steps[0].reasons[0].text, "git status");
    rule(
        "shell-powershell",
        Gha,
        &gha(
            "      - shell: pwsh\n        run: |\n          $PSNativeCommandUseErrorActionPreference = $true\n          gitleaks detect\n          git status\n",
        ),
        "gitleaks",
        Blocking,
    );
    rule(
        "shell-powershell",
        Azure,
        "pr: [main]\nsteps:\n- pwsh: |\n    gitleaks detect\n    Write-Host done\n",
        "gitleaks",
        Blocking,
    );
    rule(
        "shell-powershell",
        Azure,
        "pr: [main]\nsteps:\n- pwsh: |\n    gitleaks detect\n    Write-Host done\n  ignoreLASTEXITCODE: true\n",
        "gitleaks",
        Advisory,
    );
    rule(
        "shell-powershell",
        Azure,
        "pr: [main]\nsteps:\n- task: PowerShell@2\n  inputs:\n    targetType: inline\n    script: |\n      gitleaks detect\n      Write-Host done\n",
        "gitleaks",
        Blocking,
    );
}

#[test]
fn shell_background() {
    rule(
        "shell-background",
        Gha,
        &gha("      - run: |\n          gitleaks detect &\n          echo started\n"),
        "gitleaks",
        Advisory,
    );
    rule(
        "shell-background",
        Gha,
        &gha("      - run: |\n          gitleaks detect &\n          pid=$!\n          wait $pid\n"),
        "gitleaks",
        Blocking,
    );
}

#[test]
fn tool_exit_flags() {
    for (advisory, blocking, tool) in [
        ("trivy image alpine", "trivy image --exit-code 1 alpine", "trivy"),
        (
            "semgrep scan --config auto",
            "semgrep scan --error --config auto",
            "semgrep",
        ),
        ("gitleaks detect --exit-code 0", "gitleaks detect", "gitleaks"),
        ("checkov -d . --soft-fail", "checkov -d .", "checkov"),
        ("govulncheck -format sarif ./...", "govulncheck ./...", "govulncheck"),
        ("snyk monitor", "snyk test", "snyk"),
        ("grype alpine", "grype alpine --fail-on high", "grype"),
        (
            "trufflehog git file://.",
            "trufflehog git file://. --fail",
            "trufflehog",
        ),
        ("bandit -r . --exit-zero", "bandit -r .", "bandit"),
        (
            "sonar-scanner",
            "sonar-scanner -Dsonar.qualitygate.wait=true",
            "sonarqube",
        ),
        // Found by the review: ZAP `-I`, `trivy config`, `-v` meaning verbose, checkov fail lists.
        (
            "docker run -t ghcr.io/zaproxy/zaproxy:stable zap-baseline.py -t https://x -I",
            "docker run -t ghcr.io/zaproxy/zaproxy:stable zap-baseline.py -t https://x",
            "zap",
        ),
        (
            "trivy config ./terraform",
            "trivy config --exit-code 1 ./terraform",
            "trivy",
        ),
        ("gitleaks -v detect --exit-code 0", "gitleaks -v detect", "gitleaks"),
        ("bandit -v -r src --exit-zero", "bandit -v -r src", "bandit"),
        (
            "checkov -d . --soft-fail --soft-fail-on CKV_AWS_20",
            "checkov -d . --soft-fail --hard-fail-on HIGH",
            "checkov",
        ),
        (
            "checkov -d . --soft-fail=true",
            "checkov -d . --soft-fail-on CKV_AWS_20",
            "checkov",
        ),
    ] {
        rule(
            "tool-exit-flags",
            Gha,
            &gha(&format!("      - run: {advisory}\n")),
            tool,
            Advisory,
        );
        rule(
            "tool-exit-flags",
            Gha,
            &gha(&format!("      - run: {blocking}\n")),
            tool,
            Blocking,
        );
    }
}

#[test]
fn tool_wrappers() {
    rule(
        "tool-wrappers",
        Gha,
        &gha("      - run: docker run --rm -v $PWD:/src aquasec/trivy fs --exit-code 1 /src\n"),
        "trivy",
        Blocking,
    );
    rule(
        "tool-wrappers",
        Gha,
        &gha("      - run: docker run --rm -v $PWD:/src aquasec/trivy fs /src\n"),
        "trivy",
        Advisory,
    );
    let none = run(
        Gha,
        &gha("      - run: |\n          pip install checkov\n          gitleaks version\n          echo trivy\n"),
        &[],
    );
    assert!(
        none.steps.is_empty(),
        "installs and versions are not scans: {:#?}",
        none.steps
    );
}

#[test]
fn action_inputs() {
    rule(
        "action-inputs",
        Gha,
        &gha("      - uses: aquasecurity/trivy-action@0.28.0\n        with:\n          image-ref: alpine\n"),
        "trivy",
        Advisory,
    );
    rule(
        "action-inputs",
        Gha,
        &gha("      - uses: aquasecurity/trivy-action@0.28.0\n        with:\n          exit-code: '1'\n"),
        "trivy",
        Blocking,
    );
    rule(
        "action-inputs",
        Gha,
        &gha("      - uses: bridgecrewio/checkov-action@v12\n        with:\n          soft_fail: true\n"),
        "checkov",
        Advisory,
    );
    rule(
        "action-inputs",
        Gha,
        &gha("      - uses: bridgecrewio/checkov-action@v12\n"),
        "checkov",
        Blocking,
    );
    rule(
        "action-inputs",
        Gha,
        &gha("      - uses: zaproxy/action-baseline@v0.12.0\n"),
        "zap",
        Advisory,
    );
    rule(
        "action-inputs",
        Gha,
        &gha("      - uses: zaproxy/action-baseline@v0.12.0\n        with:\n          fail_action: true\n"),
        "zap",
        Blocking,
    );
    rule(
        "action-inputs",
        Gha,
        &gha("      - uses: actions/dependency-review-action@v4\n        with:\n          warn-only: true\n"),
        "dependency-review",
        Advisory,
    );
    rule(
        "action-inputs",
        Gha,
        &gha("      - uses: actions/dependency-review-action@v4\n"),
        "dependency-review",
        Blocking,
    );
    let codeql = rule(
        "action-inputs",
        Gha,
        &gha("      - uses: github/codeql-action/init@v3\n      - uses: github/codeql-action/analyze@v3\n"),
        "codeql",
        Advisory,
    );
    assert!(codeql.steps[0].reasons[0].why.contains("outside this file"));
    let trivy_config = rule(
        "action-inputs",
        Gha,
        &gha("      - uses: aquasecurity/trivy-action@0.28.0\n        with:\n          trivy-config: trivy.yaml\n"),
        "trivy",
        Unknown,
    );
    assert_eq!(trivy_config.steps[0].reasons[0].line, 8);
}

#[test]
fn gha_continue_on_error() {
    rule(
        "gha-continue-on-error",
        Gha,
        &gha("      - run: trivy fs --exit-code 1 .\n        continue-on-error: true\n"),
        "trivy",
        Advisory,
    );
    rule(
        "gha-continue-on-error",
        Gha,
        &gha("      - run: trivy fs --exit-code 1 .\n        continue-on-error: false\n"),
        "trivy",
        Blocking,
    );
    rule(
        "gha-continue-on-error",
        Gha,
        &gha(
            "      - run: trivy fs --exit-code 1 .\n        continue-on-error: ${{ github.event_name == 'pull_request' }}\n",
        ),
        "trivy",
        Advisory,
    );
    rule(
        "gha-continue-on-error",
        Gha,
        &gha("      - run: trivy fs --exit-code 1 .\n        continue-on-error: ${{ github.event_name == 'push' }}\n"),
        "trivy",
        Blocking,
    );
    rule(
        "gha-continue-on-error",
        Gha,
        &gha("      - run: trivy fs --exit-code 1 .\n        continue-on-error: ${{ matrix.experimental }}\n"),
        "trivy",
        Unknown,
    );
    let job = "on: pull_request\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    continue-on-error: true\n    steps:\n      - run: trivy fs --exit-code 1 .\n";
    let linted = rule("gha-continue-on-error", Gha, job, "trivy", Advisory);
    assert!(linted.steps[0].reasons[0].why.contains("required status check"));
}

#[test]
fn gha_triggers_and_conditions() {
    pull_request("gha-triggers", Gha, &gha("      - run: gitleaks detect\n"), Some(true));
    pull_request(
        "gha-triggers",
        Gha,
        "on:\n  push:\n    branches: [main]\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    steps:\n      - run: gitleaks detect\n",
        Some(false),
    );
    pull_request(
        "gha-triggers",
        Gha,
        "on:\n  workflow_call:\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    steps:\n      - run: gitleaks detect\n",
        None,
    );
    let job_if = |condition: &str| {
        format!(
            "on: [push, pull_request]\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    if: {condition}\n    steps:\n      - run: gitleaks detect\n"
        )
    };
    pull_request("gha-if", Gha, &job_if("github.event_name == 'push'"), Some(false));
    pull_request(
        "gha-if",
        Gha,
        &job_if("github.event_name == 'pull_request'"),
        Some(true),
    );
    pull_request("gha-if", Gha, &job_if("github.ref == 'refs/heads/main'"), Some(false));
    pull_request("gha-if", Gha, &job_if("github.ref_name == 'main'"), Some(false));
    pull_request("gha-if", Gha, &job_if("github.ref_name != 'main'"), Some(true));
    pull_request("gha-if", Gha, &job_if("github.actor != 'dependabot[bot]'"), Some(true));
    pull_request(
        "gha-if",
        Gha,
        &gha("      - run: gitleaks detect\n        if: ${{ github.event_name != 'pull_request' }}\n"),
        Some(false),
    );
}

#[test]
fn gha_reusable_workflow_jobs() {
    let text = "on: pull_request\njobs:\n  osv:\n    uses: google/osv-scanner-action/.github/workflows/osv-scanner-reusable-pr.yml@v1\n    with:\n      fail-on-vuln: false\n";
    let linted = rule("action-inputs", Gha, text, "osv-scanner", Advisory);
    assert_eq!(linted.steps[0].line, 3);
    rule(
        "action-inputs",
        Gha,
        "on: pull_request\njobs:\n  osv:\n    uses: google/osv-scanner-action/.github/workflows/osv-scanner-reusable-pr.yml@v1\n",
        "osv-scanner",
        Blocking,
    );
}

#[test]
fn gitlab_allow_failure() {
    rule(
        "gl-allow-failure",
        Gitlab,
        "trivy:\n  script:\n    - trivy fs --exit-code 1 .\n  allow_failure: true\n",
        "trivy",
        Advisory,
    );
    rule(
        "gl-allow-failure",
        Gitlab,
        "trivy:\n  script:\n    - trivy fs --exit-code 1 .\n  allow_failure: false\n",
        "trivy",
        Blocking,
    );
    rule(
        "gl-allow-failure-exit-codes",
        Gitlab,
        "terrascan:\n  script:\n    - terrascan scan\n  allow_failure:\n    exit_codes: [3]\n",
        "terrascan",
        Advisory,
    );
    rule(
        "gl-allow-failure-exit-codes",
        Gitlab,
        "terrascan:\n  script:\n    - terrascan scan\n  allow_failure:\n    exit_codes: [137]\n",
        "terrascan",
        Blocking,
    );
    rule(
        "gl-allow-failure",
        Gitlab,
        "trivy:\n  script:\n    - trivy fs --exit-code 1 .\n  rules:\n    - if: $CI_MERGE_REQUEST_IID\n      allow_failure: true\n",
        "trivy",
        Advisory,
    );
}

#[test]
fn gitlab_shell() {
    rule(
        "gl-script",
        Gitlab,
        "trivy:\n  script:\n    - trivy fs --exit-code 1 . | tee trivy.txt\n    - echo done\n",
        "trivy",
        Blocking,
    );
    rule(
        "gl-script",
        Gitlab,
        "trivy:\n  script:\n    - trivy fs --exit-code 1 . || echo failed\n    - echo done\n",
        "trivy",
        Advisory,
    );
    rule(
        "gl-after-script",
        Gitlab,
        "trivy:\n  script:\n    - echo build\n  after_script:\n    - trivy fs --exit-code 1 .\n",
        "trivy",
        Advisory,
    );
    rule(
        "gl-after-script",
        Gitlab,
        "trivy:\n  script:\n    - echo build\n    - trivy fs --exit-code 1 .\n",
        "trivy",
        Blocking,
    );
    let linted = rule(
        "gl-script",
        Gitlab,
        "trivy:\n  before_script:\n    - echo setup\n  script:\n    - echo first\n    - trivy fs --exit-code 1 .\n",
        "trivy",
        Blocking,
    );
    assert_eq!(linted.steps[0].line, 1);
    assert_eq!(linted.steps[0].reasons[0].line, 6, "{:#?}", linted.steps[0].reasons);
}

#[test]
fn gitlab_templates_and_analyzers() {
    let linted = rule(
        "gl-templates",
        Gitlab,
        "stages: [test]\ninclude:\n  - template: Security/SAST.gitlab-ci.yml\n",
        "semgrep",
        Advisory,
    );
    assert_eq!(linted.steps[0].line, 3);
    assert_eq!(linted.steps[0].on_pull_request, None);
    rule(
        "gl-templates",
        Gitlab,
        "include:\n  - template: Jobs/Secret-Detection.gitlab-ci.yml\nsecret_detection:\n  allow_failure: false\n",
        "gitlab-secret-detection",
        Advisory,
    );
    // The blocking counterpart: the same scanner run as an own job that fails on findings.
    rule(
        "gl-templates",
        Gitlab,
        "gitleaks:\n  image: zricethezav/gitleaks\n  script:\n    - gitleaks detect\n",
        "gitleaks",
        Blocking,
    );
    rule(
        "gl-analyzer-image",
        Gitlab,
        "secrets:\n  image: $SECURE_ANALYZERS_PREFIX/secrets:5\n  script:\n    - /analyzer run\n",
        "gitlab-secret-detection",
        Advisory,
    );
    rule(
        "gl-analyzer-image",
        Gitlab,
        "secrets:\n  image: zricethezav/gitleaks:latest\n  script:\n    - gitleaks detect\n",
        "gitleaks",
        Blocking,
    );
}

#[test]
fn gitlab_manual_and_rules() {
    rule(
        "gl-manual",
        Gitlab,
        "trivy:\n  when: manual\n  script:\n    - trivy fs --exit-code 1 .\n",
        "trivy",
        Advisory,
    );
    rule(
        "gl-manual",
        Gitlab,
        "trivy:\n  when: on_success\n  script:\n    - trivy fs --exit-code 1 .\n",
        "trivy",
        Blocking,
    );
    pull_request(
        "gl-rules",
        Gitlab,
        "trivy:\n  script:\n    - trivy fs --exit-code 1 .\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n",
        Some(true),
    );
    pull_request(
        "gl-rules",
        Gitlab,
        "trivy:\n  script:\n    - trivy fs --exit-code 1 .\n  rules:\n    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH\n",
        Some(false),
    );
    pull_request(
        "gl-rules",
        Gitlab,
        "workflow:\n  rules:\n    - if: $CI_COMMIT_TAG\ntrivy:\n  script:\n    - trivy fs --exit-code 1 .\n",
        Some(false),
    );
    pull_request(
        "gl-only-except",
        Gitlab,
        "trivy:\n  only: [merge_requests]\n  script:\n    - trivy fs --exit-code 1 .\n",
        Some(true),
    );
    pull_request(
        "gl-only-except",
        Gitlab,
        "trivy:\n  only: [main]\n  script:\n    - trivy fs --exit-code 1 .\n",
        Some(false),
    );
    pull_request(
        "gl-only-except",
        Gitlab,
        "trivy:\n  except: [merge_requests, branches]\n  script:\n    - trivy fs --exit-code 1 .\n",
        Some(false),
    );
}

#[test]
fn gitlab_extends_reference_and_includes() {
    let text = ".scan:\n  allow_failure: true\n.commands:\n  run:\n    - trivy fs --exit-code 1 .\ntrivy:\n  extends: .scan\n  script: !reference [.commands, run]\n";
    rule("gl-extends-reference", Gitlab, text, "trivy", Advisory);
    let text = ".scan:\n  allow_failure: true\n.commands:\n  run:\n    - trivy fs --exit-code 1 .\ntrivy:\n  extends: .scan\n  allow_failure: false\n  script: !reference [.commands, run]\n";
    rule("gl-extends-reference", Gitlab, text, "trivy", Blocking);
    let files = [(
        "ci/scan.yml",
        "trivy:\n  script:\n    - trivy fs --exit-code 1 .\n  allow_failure: true\n",
    )];
    let linted = rule_with(
        "gl-include-local",
        Gitlab,
        "include:\n  - local: /ci/scan.yml\n",
        &files,
        "trivy",
        Advisory,
    );
    assert_eq!(linted.steps[0].file, "ci/scan.yml");
    assert_eq!(linted.steps[0].reasons[0].line, 4);
    let files = [(
        "ci/scan.yml",
        "trivy:\n  script:\n    - trivy fs --exit-code 1 .\n  allow_failure: true\n",
    )];
    rule_with(
        "gl-include-local",
        Gitlab,
        "include:\n  - local: ci/scan.yml\ntrivy:\n  allow_failure: false\n",
        &files,
        "trivy",
        Blocking,
    );
    let missing = run(
        Gitlab,
        "include:\n  - local: ci/absent.yml\n  - project: group/other\n    file: ci.yml\n",
        &[],
    );
    assert_eq!(missing.diagnostics.len(), 2, "{:?}", missing.diagnostics);
}

#[test]
fn azure_tasks() {
    let credscan = "steps:\n- task: CredScan@3\n  inputs:\n    toolVersion: 2\n";
    rule("az-postanalysis", Azure, credscan, "credscan", Advisory);
    let broken = format!("{credscan}- task: PostAnalysis@2\n  inputs:\n    GdnBreakGdnToolCredScan: true\n");
    let linted = rule("az-postanalysis", Azure, &broken, "credscan", Blocking);
    assert_eq!(linted.steps[0].reasons[0].line, 7);
    rule(
        "az-continue-on-error",
        Azure,
        "pr: [main]\nsteps:\n- script: trivy fs --exit-code 1 .\n  continueOnError: true\n",
        "trivy",
        Advisory,
    );
    rule(
        "az-continue-on-error",
        Azure,
        "pr: [main]\nsteps:\n- script: trivy fs --exit-code 1 .\n  continueOnError: false\n",
        "trivy",
        Blocking,
    );
}

#[test]
fn hostile_yaml_is_refused_with_a_position() {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..12 {
        let previous = level - 1;
        let aliases = vec![format!("*a{previous}"); 10].join(", ");
        bomb.push_str(&format!("a{level}: &a{level} [{aliases}]\n"));
    }
    bomb.push_str("jobs: {}\n");
    let linted = run(Gha, &bomb, &[]);
    assert!(
        linted
            .diagnostics
            .iter()
            .any(|diagnostic| diagnostic.message.contains("alias") && diagnostic.line.is_some()),
        "{:?}",
        linted.diagnostics
    );
    let deep = format!("jobs: {}{}\n", "[".repeat(200), "]".repeat(200));
    let linted = run(Gha, &deep, &[]);
    assert!(
        linted
            .diagnostics
            .iter()
            .any(|diagnostic| diagnostic.message.contains("nesting")),
        "{:?}",
        linted.diagnostics
    );
    let broken = run(Gitlab, "job:\n  script: [a, b\n  stage: test\n", &[]);
    assert!(
        broken
            .diagnostics
            .iter()
            .any(|diagnostic| diagnostic.line.is_some() && !diagnostic.warning),
        "{:?}",
        broken.diagnostics
    );
    let limits = Limits {
        max_document_bytes: 64,
        ..Limits::default()
    };
    let mut refuse = |_: &str| -> Result<(String, Vec<u8>), String> { Err("no".into()) };
    let big = format!("jobs:\n{}", "  # padding\n".repeat(20));
    let linted = lint("big.yml", big.as_bytes(), Gha, &limits, &mut refuse);
    assert!(
        linted
            .diagnostics
            .iter()
            .any(|diagnostic| diagnostic.message.contains("larger")),
        "{:?}",
        linted.diagnostics
    );
}

#[test]
fn every_documented_rule_is_tested_both_ways() {
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/pipelines.md")).unwrap_or_default();
    let tests = include_str!("pipeline_rules.rs");
    let ids: Vec<&str> = docs
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|rest| rest.split('`').next())
        .filter(|id| id.contains('-'))
        .collect();
    assert!(ids.len() >= 20, "docs/pipelines.md lists {} rules", ids.len());
    for id in ids {
        let needle = format!("\"{id}\"");
        // Each call that names the rule, up to the end of its statement.
        let calls: Vec<&str> = tests
            .match_indices(&needle)
            .map(|(start, _)| {
                let rest = &tests[start..];
                &rest[..rest.find(";\n").unwrap_or(rest.len())]
            })
            .collect();
        let has = |word: &str| calls.iter().any(|call| call.contains(word));
        let both = (has("Advisory") && has("Blocking")) || (has("Some(true)") && has("Some(false)"));
        assert!(
            both || id == "tool-wrappers",
            "rule {id} lacks a test in both directions"
        );
    }
}

#[test]
fn tool_flags_found_by_the_review() {
    let linted = run(Gha, &gha("      - run: trivy config --exit-code 1 ./terraform\n"), &[]);
    assert_eq!(linted.steps[0].category, "iac");
    let linted = run(Gha, &gha("      - run: trivy --exit-code 1 image alpine\n"), &[]);
    assert_eq!(linted.steps[0].category, "container");
    // ZAP with a rules file, and tools given a configuration file that can set the exit code.
    for unknown in [
        "zap-baseline.py -t https://x -I -c rules.conf",
        "trivy fs --config trivy.yaml .",
        "grype dir:. --config .grype.yaml",
        "checkov --config-file .checkov.yaml -d .",
    ] {
        rule(
            "tool-config-file",
            Gha,
            &gha(&format!("      - run: {unknown}\n")),
            unknown
                .split(['.', ' '])
                .next()
                .map_or("", |name| if name == "zap-baseline" { "zap" } else { name }),
            Unknown,
        );
    }
    rule(
        "tool-config-file",
        Gha,
        &gha("      - run: trivy fs --config trivy.yaml --exit-code 1 .\n"),
        "trivy",
        Blocking,
    );
    rule(
        "tool-config-file",
        Gha,
        &gha("      - run: checkov --config-file .checkov.yaml --soft-fail -d .\n"),
        "checkov",
        Advisory,
    );
}

#[test]
fn help_version_and_other_subcommands_are_not_scans() {
    let commands = [
        "trivy image --help",
        "trivy -v",
        "trivy image --download-db-only",
        "semgrep --help",
        "cargo audit --help",
        "cargo audit -h",
        "cargo audit --version",
        "npm audit --help",
        "npm audit signatures",
        "govulncheck -version",
        "checkov --list",
        "checkov --list --framework terraform",
        "hadolint -v",
        "gitleaks version",
    ];
    let steps: String = commands
        .iter()
        .map(|command| format!("      - run: {command}\n"))
        .collect();
    let linted = run(Gha, &gha(&steps), &[]);
    assert!(linted.steps.is_empty(), "{:#?}", linted.steps);
    rule(
        "tool-wrappers",
        Gha,
        &gha("      - run: trivy --help && trivy image --exit-code 1 alpine\n"),
        "trivy",
        Blocking,
    );
}

#[test]
fn tool_environment_and_variable_values() {
    // A value the file sets is resolved; the reason keeps the text as written.
    let text = "on: pull_request\nenv:\n  EXIT_CODE: \"0\"\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    steps:\n      - run: trivy fs --exit-code \"$EXIT_CODE\" .\n";
    let linted = rule("tool-env", Gha, text, "trivy", Advisory);
    assert_eq!(linted.steps[0].reasons[0].text, "--exit-code \"$EXIT_CODE\"");
    let text = "on: pull_request\nenv:\n  EXIT_CODE: \"1\"\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    steps:\n      - run: trivy fs --exit-code \"$EXIT_CODE\" .\n";
    rule("tool-env", Gha, text, "trivy", Blocking);
    // Trivy reads TRIVY_EXIT_CODE from step, job or workflow env, also under trivy-action.
    let linted = rule(
        "tool-env",
        Gha,
        &gha("      - env:\n          TRIVY_EXIT_CODE: \"1\"\n        run: trivy fs .\n"),
        "trivy",
        Blocking,
    );
    assert_eq!(linted.steps[0].reasons[0].text, "TRIVY_EXIT_CODE: \"1\"");
    assert_eq!(linted.steps[0].reasons[0].line, 7);
    let job_env = "on: pull_request\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    env:\n      TRIVY_EXIT_CODE: 1\n    steps:\n      - uses: aquasecurity/trivy-action@0.28.0\n";
    rule("tool-env", Gha, job_env, "trivy", Blocking);
    rule(
        "tool-env",
        Gha,
        &gha("      - env:\n          TRIVY_EXIT_CODE: \"0\"\n        run: trivy fs .\n"),
        "trivy",
        Advisory,
    );
    // Values decided at run time.
    for command in [
        "trivy fs --exit-code $EXIT_CODE .",
        "trivy fs --exit-code ${{ inputs.exit }} .",
        "grype dir:. --fail-on ${{ vars.SEVERITY }}",
        "semgrep scan $SEMGREP_FLAGS",
        "checkov -d . $CHECKOV_ARGS",
    ] {
        let linted = rule(
            "tool-env",
            Gha,
            &gha(&format!("      - run: {command}\n")),
            command.split(' ').next().unwrap_or_default(),
            Unknown,
        );
        assert!(
            command.contains(&linted.steps[0].reasons[0].text),
            "{:#?}",
            linted.steps[0]
        );
    }
}

#[test]
fn fossa_and_step_lines() {
    rule(
        "action-inputs",
        Gha,
        &gha("      - uses: fossas/fossa-action@v1\n        with:\n          api-key: x\n"),
        "fossa",
        Advisory,
    );
    rule(
        "action-inputs",
        Gha,
        &gha("      - uses: fossas/fossa-action@v1\n        with:\n          run-tests: true\n"),
        "fossa",
        Blocking,
    );
    // A dash alone on its line starts the step.
    let linted = run(
        Gha,
        &gha("      # secrets\n      -\n        name: leaks\n        run: gitleaks detect\n"),
        &[],
    );
    assert_eq!(linted.steps[0].line, 7, "{:#?}", linted.steps);
}

#[test]
fn gha_needs() {
    let text = "on: [pull_request, push]\njobs:\n  build:\n    if: github.event_name == 'push'\n    runs-on: ubuntu-latest\n    steps:\n      - run: make\n  scan:\n    needs: build\n    runs-on: ubuntu-latest\n    steps:\n      - run: semgrep ci\n";
    let linted = run(Gha, text, &[]);
    assert_eq!(linted.steps[0].on_pull_request, Some(false), "{:#?}", linted.steps);
    assert_eq!(linted.steps[0].pull_request_reasons[0].line, 9);
    assert_eq!(linted.steps[0].pull_request_reasons[0].text, "needs: build");
    pull_request("gha-needs", Gha, text, Some(false));
    let always = text.replace("    needs: build\n", "    needs: build\n    if: always()\n");
    pull_request("gha-needs", Gha, &always, Some(true));
    // Runs only when a pull request is closed: after the merge.
    let closed = "on:\n  pull_request:\n    types: [closed]\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    steps:\n      - run: semgrep ci\n";
    pull_request("gha-triggers", Gha, closed, Some(false));
}

#[test]
fn gitlab_review_fixes() {
    // The first matching rule's allow_failure decides, for a manual job too (also through an anchor).
    let manual = "trivy:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n      when: manual\n      allow_failure: false\n  script:\n    - trivy fs --exit-code 1 .\n";
    rule("gl-manual", Gitlab, manual, "trivy", Blocking);
    let anchored = ".rules-mr: &rules-mr\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n      when: manual\n      allow_failure: false\ntrivy:\n  <<: *rules-mr\n  script:\n    - trivy fs --exit-code 1 .\n";
    rule("gl-manual", Gitlab, anchored, "trivy", Blocking);
    rule(
        "gl-manual",
        Gitlab,
        &manual.replace("      allow_failure: false\n", ""),
        "trivy",
        Advisory,
    );
    // extends: 11 levels resolve, a 12th and a cycle are refused with a position.
    let chain = |levels: usize| {
        let mut text = "e0:\n  extends: .e1\n  script: [semgrep ci]\n".to_string();
        for level in 1..levels {
            text.push_str(&format!(".e{level}:\n  extends: .e{}\n", level + 1));
        }
        text.push_str(&format!(".e{levels}:\n  allow_failure: true\n"));
        text
    };
    rule("gl-extends-reference", Gitlab, &chain(11), "semgrep", Advisory);
    let refused = run(Gitlab, &chain(12), &[]);
    assert!(refused.steps.is_empty(), "{:#?}", refused.steps);
    assert!(
        refused
            .diagnostics
            .iter()
            .any(|found| !found.warning && found.line == Some(25) && found.message.starts_with("column 3:")),
        "{:?}",
        refused.diagnostics
    );
    let cycle = run(
        Gitlab,
        "a:\n  extends: b\n  script: [semgrep ci]\nb:\n  extends: a\n",
        &[],
    );
    assert!(
        cycle
            .diagnostics
            .iter()
            .any(|found| !found.warning && found.message.contains("circular")),
        "{:?}",
        cycle.diagnostics
    );
    // An include cycle reads each file once, with no false warning.
    let files = [
        (
            "ci/a.yml",
            "include:\n  - local: ci/b.yml\nja:\n  script: [gitleaks detect]\n",
        ),
        (
            "ci/b.yml",
            "include:\n  - local: ci/a.yml\njb:\n  script: [gitleaks detect]\n",
        ),
    ];
    let linted = run(Gitlab, "include:\n  - local: ci/a.yml\n", &files);
    assert_eq!(linted.included, vec!["ci/a.yml", "ci/b.yml"]);
    assert!(linted.diagnostics.is_empty(), "{:?}", linted.diagnostics);
    assert_eq!(linted.steps.len(), 2);
    // A pull-request reason from the main file names it when the job lives in an included file.
    let files = [("ci/extra.yml", "snyk:\n  script:\n    - snyk test\n")];
    let linted = run(
        Gitlab,
        "workflow:\n  rules:\n    - if: $CI_COMMIT_BRANCH && $CI_OPEN_MERGE_REQUESTS\n      when: never\n    - if: $CI_COMMIT_BRANCH\ninclude:\n  - local: ci/extra.yml\n",
        &files,
    );
    let step = &linted.steps[0];
    assert_eq!(step.file, "ci/extra.yml");
    assert!(
        step.pull_request_reasons
            .iter()
            .any(|fact| fact.file.as_deref() == Some(".gitlab-ci.yml") && fact.line == 3),
        "{:#?}",
        step.pull_request_reasons
    );
    // only: refs: the line as written.
    let linted = run(
        Gitlab,
        "trivy:\n  only:\n    refs:\n      - merge_requests\n  script:\n    - trivy fs --exit-code 1 .\n",
        &[],
    );
    assert_eq!(linted.steps[0].pull_request_reasons[0].text, "- merge_requests");
}

#[test]
fn azure_script_tasks() {
    rule(
        "az-script-tasks",
        Azure,
        "pr: [main]\nsteps:\n- task: CmdLine@2\n  inputs:\n    script: |\n      semgrep ci\n",
        "semgrep",
        Blocking,
    );
    rule(
        "az-script-tasks",
        Azure,
        "pr: [main]\nsteps:\n- task: Bash@3\n  inputs:\n    targetType: inline\n    script: |\n      checkov -d . --soft-fail\n",
        "checkov",
        Advisory,
    );
    let linted = run(
        Azure,
        "pr: [main]\nsteps:\n- task: Bash@3\n  inputs:\n    filePath: scripts/scan.sh\n",
        &[],
    );
    assert!(linted.steps.is_empty());
    assert!(
        linted
            .diagnostics
            .iter()
            .any(|found| found.warning && found.message.contains("scripts/scan.sh")),
        "{:?}",
        linted.diagnostics
    );
}

#[test]
fn shell_or_group() {
    let linted = rule(
        "shell-or-group",
        Gha,
        &gha("      - run: 'gitleaks detect || { echo \"leaks\"; exit 0; }'\n"),
        "gitleaks",
        Advisory,
    );
    assert_eq!(
        linted.steps[0].reasons[0].text, "exit 0",
        "{:#?}",
        linted.steps[0].reasons
    );
    let linted = rule(
        "shell-or-group",
        Gha,
        &gha(
            "      - shell: bash {0}\n        run: |\n          gitleaks detect || { echo \"leaks\"; exit 1; }\n          echo done\n",
        ),
        "gitleaks",
        Blocking,
    );
    assert!(
        linted.steps[0].reasons.iter().any(|reason| reason.text == "exit 1"),
        "{:#?}",
        linted.steps[0].reasons
    );
    rule(
        "shell-or-group",
        Gha,
        &gha("      - run: |\n          gitleaks detect || (echo leaks; exit 0)\n"),
        "gitleaks",
        Advisory,
    );
}

#[test]
fn shell_loop_condition() {
    rule(
        "shell-loop-condition",
        Gha,
        &gha("      - run: |\n          until gitleaks detect; do break; done\n          echo ok\n"),
        "gitleaks",
        Advisory,
    );
    rule(
        "shell-loop-condition",
        Gha,
        &gha(
            "      - run: |\n          while ! gitleaks detect; do\n            exit 1\n          done\n          echo ok\n",
        ),
        "gitleaks",
        Blocking,
    );
    rule(
        "shell-loop-condition",
        Gha,
        &gha("      - run: |\n          until gitleaks detect; do exit 1; done\n          echo ok\n"),
        "gitleaks",
        Blocking,
    );
}

#[test]
fn tool_wrappers_with_option_values() {
    for wrapped in [
        "timeout -k 10 15m semgrep ci",
        "nice -n 10 semgrep ci",
        "env SEMGREP_APP_TOKEN=x semgrep ci",
        "stdbuf -oL semgrep ci",
        "nohup semgrep ci",
        "echo . | xargs -n 1 semgrep ci",
    ] {
        rule(
            "tool-wrappers",
            Gha,
            &gha(&format!("      - shell: bash\n        run: {wrapped}\n")),
            "semgrep",
            Blocking,
        );
    }
    rule(
        "tool-wrappers",
        Gha,
        &gha("      - run: echo `gitleaks detect`\n"),
        "gitleaks",
        Unknown,
    );
}

#[test]
fn gha_matrix_shell() {
    let matrix = |script: &str| {
        format!(
            "on: pull_request\njobs:\n  scan:\n    runs-on: ${{{{ matrix.os }}}}\n    strategy:\n      matrix:\n        os: [windows-latest, ubuntu-latest]\n    steps:\n      - run: |\n{script}"
        )
    };
    // bash -e stops at the scanner; pwsh ends with `git status`'s status: the legs differ.
    let linted = rule(
        "gha-matrix-shell",
        Gha,
        &matrix("          gitleaks detect\n          git status\n"),
        "gitleaks",
        Unknown,
    );
    assert!(
        linted.steps[0]
            .reasons
            .iter()
            .any(|reason| reason.line == 4 && reason.why.contains("windows-latest")),
        "{:#?}",
        linted.steps[0].reasons
    );
    // Both legs agree: the verdict is kept.
    rule(
        "gha-matrix-shell",
        Gha,
        &matrix("          gitleaks detect\n"),
        "gitleaks",
        Blocking,
    );
    rule(
        "gha-matrix-shell",
        Gha,
        &matrix("          gitleaks detect || true\n"),
        "gitleaks",
        Advisory,
    );
    // A `shell:` chosen for the step applies on every leg.
    let explicit = matrix("          gitleaks detect\n          git status\n")
        .replace("      - run:", "      - shell: bash\n        run:");
    rule("gha-matrix-shell", Gha, &explicit, "gitleaks", Blocking);
}

#[test]
fn az_steps_template() {
    let pipeline =
        "trigger: [main]\npr: [main]\npool:\n  vmImage: ubuntu-latest\nsteps:\n  - template: templates/scan.yml\n";
    let template = |script: &str| {
        format!("parameters:\n  - name: soft\n    type: boolean\n    default: false\nsteps:\n  - script: |\n{script}")
    };
    let advisory = template("      checkov -d infra\n      echo checked\n");
    let linted = rule_with(
        "az-steps-template",
        Azure,
        pipeline,
        &[("templates/scan.yml", &advisory)],
        "checkov",
        Advisory,
    );
    assert_eq!(linted.steps[0].file, "templates/scan.yml");
    assert_eq!(linted.steps[0].on_pull_request, None, "{:#?}", linted.steps[0]);
    assert_eq!(linted.included, vec!["templates/scan.yml".to_string()]);
    let blocking = template("      checkov -d infra\n");
    rule_with(
        "az-steps-template",
        Azure,
        pipeline,
        &[("templates/scan.yml", &blocking)],
        "checkov",
        Blocking,
    );
    // Named on its own, a steps template is recognised by its content.
    assert_eq!(
        dsomm_audit_collect::pipelines::platform_of("ci/steps.yml", &blocking),
        Some(Azure)
    );
    // Nested references are relative to the template; other repositories are not followed.
    let nested = "steps:\n  - template: more.yml\n  - template: x.yml@other\n";
    let linted = run(
        Azure,
        pipeline,
        &[("templates/scan.yml", nested), ("templates/more.yml", &blocking)],
    );
    assert_eq!(linted.steps.len(), 1, "{:#?}", linted.diagnostics);
    assert_eq!(linted.steps[0].file, "templates/more.yml");
    assert!(
        linted
            .diagnostics
            .iter()
            .any(|found| found.warning && found.message.contains("x.yml@other")),
        "{:#?}",
        linted.diagnostics
    );
}

#[test]
fn shell_err_trap() {
    rule(
        "shell-err-trap",
        Gha,
        &gha(
            "      - run: |\n          set +e\n          trap 'echo \"scan failed\"; exit 1' ERR\n          gitleaks detect --source .\n          echo done\n",
        ),
        "gitleaks",
        Blocking,
    );
    rule(
        "shell-err-trap",
        Gha,
        &gha(
            "      - run: |\n          set +e\n          trap 'echo \"scan failed\"' ERR\n          gitleaks detect --source .\n          echo done\n",
        ),
        "gitleaks",
        Advisory,
    );
}

#[test]
fn gha_local_action() {
    let action = |run: &str| {
        format!(
            "name: scan\nruns:\n  using: composite\n  steps:\n    - name: gitleaks\n      shell: bash\n      run: {run}\n"
        )
    };
    let workflow = gha("      - uses: ./.github/actions/scan\n");
    let advisory = action("gitleaks detect --source . || true");
    let linted = rule_with(
        "gha-local-action",
        Gha,
        &workflow,
        &[(".github/actions/scan/action.yml", &advisory)],
        "gitleaks",
        Advisory,
    );
    assert_eq!(
        linted.steps[0].reasons[0].file.as_deref(),
        Some(".github/actions/scan/action.yml")
    );
    assert_eq!(linted.steps[0].on_pull_request, Some(true));
    let blocking = action("gitleaks detect --source .");
    rule_with(
        "gha-local-action",
        Gha,
        &workflow,
        &[(".github/actions/scan/action.yaml", &blocking)],
        "gitleaks",
        Blocking,
    );
    // A step's `continue-on-error:` is read as the workflow's own steps read it:
    // literal, or an expression evaluated for pull requests.
    let continues = |value: &str| {
        format!(
            "name: scan\nruns:\n  using: composite\n  steps:\n    - name: gitleaks\n      shell: bash\n      run: gitleaks detect --source .\n      continue-on-error: {value}\n"
        )
    };
    for (value, mode) in [
        ("true", Advisory),
        ("false", Blocking),
        ("${{ github.event_name == 'pull_request' }}", Advisory),
        ("${{ github.event_name == 'push' }}", Blocking),
        ("${{ inputs.soft }}", Unknown),
    ] {
        rule_with(
            "gha-local-action",
            Gha,
            &workflow,
            &[(".github/actions/scan/action.yml", &continues(value))],
            "gitleaks",
            mode,
        );
    }
    // Not found: a warning that its scanners are not reported.
    let linted = run(Gha, &workflow, &[]);
    assert!(linted.steps.is_empty());
    assert!(
        linted
            .diagnostics
            .iter()
            .any(|found| found.warning && found.message.contains("not reported")),
        "{:#?}",
        linted.diagnostics
    );
}

#[test]
fn a_workflow_with_a_utf8_byte_order_mark_is_recognised_by_its_content() {
    let workflow =
        "on: pull_request\njobs:\n  scan:\n    runs-on: ubuntu-latest\n    steps:\n      - run: semgrep ci\n";
    let marked = format!("\u{feff}{workflow}");
    assert_eq!(
        dsomm_audit_collect::pipelines::platform_of("ci/build.yml", &marked),
        Some(Platform::GithubActions)
    );
    let context = dsomm_audit_collect::Context {
        origin: "ci/build.yml".into(),
        ..dsomm_audit_collect::Context::default()
    };
    let mut refuse = |name: &str| -> Result<(String, Vec<u8>), String> { Err(format!("{name} not read")) };
    let parsed = dsomm_audit_collect::pipelines::parse(marked.as_bytes(), &context, &Limits::default(), &mut refuse);
    assert!(!parsed.evidence.is_empty(), "{:?}", parsed.diagnostics);
    assert!(
        parsed.diagnostics.iter().all(|diagnostic| diagnostic.warning),
        "{:?}",
        parsed.diagnostics
    );
}
