//! End-to-end tests of `dsomm-audit lint-pipelines` and of ingesting CI
//! configuration as `pipeline_config` evidence, through the real binary.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

mod common;

use common::Workspace;

const WORKFLOW: &str = "name: scan
on:
  pull_request:
jobs:
  sast:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - name: Semgrep
        run: semgrep scan --error --config p/ci .
      - name: Trivy
        uses: aquasecurity/trivy-action@0.28.0
        with:
          scan-type: fs
          exit-code: 0
";

const GITLAB: &str = "include:
  - template: Security/Secret-Detection.gitlab-ci.yml
  - local: ci/iac.yml
stages: [test]
";

const GITLAB_IAC: &str = "checkov:
  stage: test
  script:
    - checkov -d infra
  rules:
    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"
";

fn repository() -> Workspace {
    let workspace = Workspace::new();
    workspace.write("repo/.github/workflows/scan.yml", WORKFLOW);
    workspace.write("repo/.gitlab-ci.yml", GITLAB);
    workspace.write("repo/ci/iac.yml", GITLAB_IAC);
    workspace.write("repo/src/config.yml", "name: not ci\nitems: [1, 2]\n");
    workspace
}

#[test]
fn lint_pipelines_reports_every_scanner_step_as_json_and_table() {
    let workspace = repository();
    let outcome = workspace.run(&["lint-pipelines", "--format", "json", "repo"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let report = outcome.json();
    let steps = report["steps"].as_array().unwrap();
    let summary: Vec<(String, u64, String, String, Value)> = steps
        .iter()
        .map(|step| {
            (
                step["file"].as_str().unwrap().replace('\\', "/"),
                step["line"].as_u64().unwrap(),
                step["tool"].as_str().unwrap().to_string(),
                step["mode"].as_str().unwrap().to_string(),
                step["on_pull_request"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                "repo/.gitlab-ci.yml".into(),
                2,
                "gitlab-secret-detection".into(),
                "advisory".into(),
                Value::Null
            ),
            (
                "repo/ci/iac.yml".into(),
                1,
                "checkov".into(),
                "blocking".into(),
                Value::Bool(true)
            ),
            (
                "repo/.github/workflows/scan.yml".into(),
                9,
                "semgrep".into(),
                "blocking".into(),
                Value::Bool(true)
            ),
            (
                "repo/.github/workflows/scan.yml".into(),
                11,
                "trivy".into(),
                "advisory".into(),
                Value::Bool(true)
            ),
        ],
        "{report:#}"
    );
    let trivy = &steps[3];
    assert_eq!(trivy["reasons"][0]["line"], 15);
    assert_eq!(trivy["reasons"][0]["text"], "exit-code: 0");
    assert_eq!(trivy["category"], "sca");
    assert_eq!(report["summary"]["steps"], 4);
    assert_eq!(report["summary"]["advisory"], 2);
    assert_eq!(report["summary"]["blocking_on_pull_request"], 2);
    assert_eq!(report["summary"]["files"], 3);

    let table = workspace.run(&["lint-pipelines", "repo"]);
    assert_eq!(table.code, 0, "{table:#?}");
    assert!(table.stdout.contains("!! ADVISORY  line 11"), "{}", table.stdout);
    assert!(
        table
            .stdout
            .contains("4 scanner step(s) in 3 file(s): 2 blocking, 2 advisory"),
        "{}",
        table.stdout
    );

    let failing = workspace.run(&["lint-pipelines", "--fail-on-advisory", "repo"]);
    assert_eq!(failing.code, 1, "{failing:#?}");
    let clean = workspace.run(&["lint-pipelines", "--fail-on-advisory", "repo/ci/iac.yml"]);
    assert_eq!(clean.code, 0, "{clean:#?}");
}

#[test]
fn unreadable_and_hostile_files_are_errors_with_a_position() {
    let workspace = Workspace::new();
    workspace.write("bad/.gitlab-ci.yml", "job:\n  script: [a, b\n  stage: test\n");
    let mut bomb = String::from("on: push\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..12 {
        let aliases = vec![format!("*a{}", level - 1); 10].join(", ");
        bomb.push_str(&format!("a{level}: &a{level} [{aliases}]\n"));
    }
    bomb.push_str("jobs: {}\n");
    workspace.write("bad/.github/workflows/bomb.yml", bomb);
    let outcome = workspace.run(&["lint-pipelines", "bad"]);
    assert_eq!(outcome.code, 2, "{outcome:#?}");
    assert!(outcome.stderr.contains("bad/.gitlab-ci.yml:"), "{}", outcome.stderr);
    assert!(outcome.stderr.contains("alias"), "{}", outcome.stderr);
    let missing = workspace.run(&["lint-pipelines", "nowhere"]);
    assert_eq!(missing.code, 2, "{missing:#?}");
}

#[test]
fn ingest_records_one_pipeline_config_per_scanner_step_idempotently() {
    let workspace = repository();
    let args = [
        "ingest",
        "repo/.github/workflows/scan.yml",
        "repo/.gitlab-ci.yml",
        "--repo",
        "acme/shop",
        "--commit",
        "0123abc",
    ];
    let first = workspace.run(&args);
    assert_eq!(first.code, 0, "{first:#?}");
    assert!(first.stdout.contains("4 added"), "{first:#?}");
    let again = workspace.run(&args);
    assert!(again.stdout.contains("0 added, 4 duplicates"), "{again:#?}");
    let database = rusqlite::Connection::open(workspace.path("ledger.db")).unwrap();
    let mut statement = database
        .prepare("SELECT kind, subject, source_line, attrs FROM evidence ORDER BY id")
        .unwrap();
    let rows: Vec<(String, String, Option<u64>, Value)> = statement
        .query_map([], |row| {
            let attrs: String = row.get(3)?;
            Ok((
                row.get(0)?,
                row.get(1)?,
                row.get(2)?,
                serde_json::from_str(&attrs).unwrap(),
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(rows.len(), 4);
    for (kind, subject, line, attrs) in &rows {
        assert_eq!(kind, "pipeline_config");
        assert!(
            subject.contains("acme/shop") && subject.contains("0123abc"),
            "{subject}"
        );
        assert_eq!(*line, attrs["line"].as_u64());
        assert!(attrs["reasons"].as_array().is_some_and(|reasons| !reasons.is_empty()));
    }
    let tools: Vec<&str> = rows.iter().map(|row| row.3["tool"].as_str().unwrap()).collect();
    // The local include is followed: its job is recorded with its own file.
    assert_eq!(tools, vec!["semgrep", "trivy", "gitlab-secret-detection", "checkov"]);
    // Files are named as the repository names them, whatever path was typed.
    let files: Vec<&str> = rows.iter().map(|row| row.3["file"].as_str().unwrap()).collect();
    assert_eq!(
        files,
        vec![
            ".github/workflows/scan.yml",
            ".github/workflows/scan.yml",
            ".gitlab-ci.yml",
            "ci/iac.yml"
        ]
    );
    let respelled = workspace.run(&[
        "ingest",
        "./repo/.github/../.github/workflows/scan.yml",
        "repo/./.gitlab-ci.yml",
        "--repo",
        "acme/shop",
        "--commit",
        "0123abc",
    ]);
    assert!(respelled.stdout.contains("0 added, 4 duplicates"), "{respelled:#?}");
    let verify = workspace.run(&["verify"]);
    assert_eq!(verify.code, 0, "{verify:#?}");
}

#[test]
fn include_cycles_extends_cycles_and_empty_directories() {
    let workspace = Workspace::new();
    workspace.write("cycle/.gitlab-ci.yml", "include:\n  - local: ci/a.yml\n");
    workspace.write(
        "cycle/ci/a.yml",
        "include:\n  - local: ci/b.yml\nja:\n  script: [gitleaks detect]\n",
    );
    workspace.write(
        "cycle/ci/b.yml",
        "include:\n  - local: ci/a.yml\njb:\n  script: [gitleaks detect]\n",
    );
    let outcome = workspace.run(&["lint-pipelines", "--format", "json", "cycle"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    assert!(!outcome.stderr.contains("outside"), "{}", outcome.stderr);
    let report: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(report["summary"]["files"], 3);
    assert_eq!(report["summary"]["steps"], 2);
    // A cyclic `extends` is refused with file, line and column.
    workspace.write(
        "extends/.gitlab-ci.yml",
        "a:\n  extends: b\n  script: [semgrep ci]\nb:\n  extends: a\n",
    );
    let outcome = workspace.run(&["lint-pipelines", "extends"]);
    assert_eq!(outcome.code, 2, "{outcome:#?}");
    assert!(
        outcome.stderr.contains(".gitlab-ci.yml:2: column 3:"),
        "{}",
        outcome.stderr
    );
    // A directory without CI configuration says so.
    workspace.write("empty/README.md", "nothing here\n");
    let outcome = workspace.run(&["lint-pipelines", "empty"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    assert!(
        outcome.stderr.contains("no CI configuration found"),
        "{}",
        outcome.stderr
    );
}

#[test]
fn symbolic_links_out_of_the_repository_are_refused_with_a_warning() {
    let workspace = Workspace::new();
    workspace.write("secret.yml", "leak:\n  stage: test\n  script: [trivy fs .]\n");
    workspace.write(
        "repo/.gitlab-ci.yml",
        "include:\n  - local: ci/evil.yml\njob:\n  script:\n    - gitleaks detect\n",
    );
    std::fs::create_dir_all(workspace.path("repo/ci")).unwrap();
    std::os::unix::fs::symlink(workspace.path("secret.yml"), workspace.path("repo/ci/evil.yml")).unwrap();
    std::os::unix::fs::symlink(
        workspace.path("secret.yml"),
        workspace.path("repo/azure-pipelines-x.yml"),
    )
    .unwrap();
    let outcome = workspace.run(&["lint-pipelines", "--format", "json", "repo"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let report: Value = serde_json::from_str(&outcome.stdout).unwrap();
    // Only the repository's own job: nothing from the file outside.
    assert_eq!(report["summary"]["steps"], 1, "{report:#}");
    assert_eq!(report["steps"][0]["tool"], "gitleaks", "{report:#}");
    assert!(
        outcome.stderr.contains("local include `ci/evil.yml` not read")
            && outcome.stderr.contains("outside the repository"),
        "{}",
        outcome.stderr
    );
    assert!(
        outcome
            .stderr
            .contains("azure-pipelines-x.yml: warning: symbolic link resolving outside"),
        "{}",
        outcome.stderr
    );
    // A link that stays inside the repository is followed.
    std::fs::remove_file(workspace.path("repo/ci/evil.yml")).unwrap();
    workspace.write("repo/ci/real.yml", "leak:\n  stage: test\n  script: [trivy fs .]\n");
    std::os::unix::fs::symlink("real.yml", workspace.path("repo/ci/evil.yml")).unwrap();
    let outcome = workspace.run(&["lint-pipelines", "--format", "json", "repo"]);
    let report: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(report["summary"]["steps"], 2, "{report:#} {}", outcome.stderr);
}

#[test]
fn azure_templates_are_followed_inside_the_repository_only() {
    let workspace = Workspace::new();
    workspace.write(
        "repo/azure-pipelines.yml",
        "trigger: [main]\npr: [main]\npool:\n  vmImage: ubuntu-latest\nsteps:\n  - template: templates/scan.yml\n  - template: templates/evil.yml\n",
    );
    workspace.write(
        "repo/templates/scan.yml",
        "parameters:\n  - name: soft\n    default: false\nsteps:\n  - script: |\n      checkov -d infra\n      echo checked\n",
    );
    workspace.write("outside.yml", "steps:\n  - script: trivy fs .\n");
    std::os::unix::fs::symlink(workspace.path("outside.yml"), workspace.path("repo/templates/evil.yml")).unwrap();
    // The pipeline alone: its template is followed, the link out is refused.
    let outcome = workspace.run(&["lint-pipelines", "--format", "json", "repo/azure-pipelines.yml"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let report: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(report["summary"]["steps"], 1, "{report:#}");
    assert_eq!(report["steps"][0]["tool"], "checkov", "{report:#}");
    assert_eq!(report["steps"][0]["mode"], "advisory", "{report:#}");
    assert_eq!(report["steps"][0]["on_pull_request"], Value::Null, "{report:#}");
    assert!(
        outcome.stderr.contains("template `templates/evil.yml` not read")
            && outcome.stderr.contains("outside the repository"),
        "{}",
        outcome.stderr
    );
    // The directory: the template is linted once, as part of the pipeline.
    let outcome = workspace.run(&["lint-pipelines", "--format", "json", "repo"]);
    let report: Value = serde_json::from_str(&outcome.stdout).unwrap();
    assert_eq!(report["summary"]["steps"], 1, "{report:#} {}", outcome.stderr);
    assert_eq!(report["summary"]["files"], 2, "{report:#}");
}
