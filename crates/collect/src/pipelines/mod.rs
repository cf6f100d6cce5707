//! Scanner gates in CI configuration: find every step or job that runs a
//! security scanner in GitHub Actions workflows, GitLab CI files and Azure
//! Pipelines, and decide whether its findings can fail the job (`blocking`),
//! cannot (`advisory`), or the file alone cannot tell (`unknown`) — by
//! modelling how the step's exit status is really decided (see `shell`,
//! `tools` and docs/pipelines.md). Also whether the step runs for pull or
//! merge requests. Each scanner step becomes one `pipeline_config` record.

pub mod azure;
pub mod expr;
pub mod github;
pub mod gitlab;
pub mod shell;
pub mod tools;
pub mod yaml;

use crate::{Context, Limits, Parsed};
use model::{Diagnostic, EvidenceKind, NewEvidence, Subject};
use serde::Serialize;

/// The CI platform a configuration file belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Platform {
    /// `.github/workflows/*.yml`
    GithubActions,
    /// `.gitlab-ci.yml` and the files it includes.
    GitlabCi,
    /// `azure-pipelines.yml` and step templates.
    AzurePipelines,
}

impl Platform {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::GithubActions => "github-actions",
            Platform::GitlabCi => "gitlab-ci",
            Platform::AzurePipelines => "azure-pipelines",
        }
    }
}

/// Whether a scanner's findings can fail its job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Findings fail the step and its job.
    Blocking,
    /// Findings cannot fail the job.
    Advisory,
    /// The file alone cannot tell.
    Unknown,
}

impl Mode {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Blocking => "blocking",
            Mode::Advisory => "advisory",
            Mode::Unknown => "unknown",
        }
    }
}

/// One fact that decided a mode or whether a step runs on pull requests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The file, when it is not the step's own (an included file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line.
    pub line: u64,
    /// The exact text that decided it.
    pub text: String,
    /// Why, in a sentence.
    pub why: String,
    /// What this fact does: `blocks`, `advisory`, `unknown` or, for pull-request reasons, `runs`/`skips`.
    pub effect: &'static str,
}

/// A scanner step found in CI configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScannerStep {
    /// The file, as given.
    pub file: String,
    /// 1-based line of the step (the `- ` that starts it), the GitLab job key, or the include line.
    pub line: u64,
    /// The platform.
    pub platform: Platform,
    /// Job id (GitHub, Azure) or job name (GitLab).
    pub job: String,
    /// The step's name, or its first `uses`/`run`/`task` text.
    pub step: String,
    /// Stable kebab-case tool id.
    pub tool: String,
    /// `sast`, `sca`, `secrets`, `iac`, `container`, `dast` or `license`.
    pub category: &'static str,
    /// Whether findings fail the job.
    pub mode: Mode,
    /// The facts that decided `mode`, deciding ones first.
    pub reasons: Vec<Reason>,
    /// Whether the step runs for pull/merge requests (`None`: depends on a caller or template).
    pub on_pull_request: Option<bool>,
    /// The facts that decided `on_pull_request`.
    pub pull_request_reasons: Vec<Reason>,
}

/// What linting one configuration produced.
#[derive(Debug, Clone, Default)]
pub struct Lint {
    /// Scanner steps, in file order.
    pub steps: Vec<ScannerStep>,
    /// Problems and notes (includes not followed, unreadable files).
    pub diagnostics: Vec<Diagnostic>,
    /// Local files this configuration included (GitLab `include: local`).
    pub included: Vec<String>,
    /// Local reusable workflows this workflow calls (GitHub `jobs.<id>.uses: ./...`),
    /// with whether the calling job runs for pull requests.
    pub calls: Vec<LocalCall>,
}

/// A call of a local reusable workflow.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalCall {
    /// The path as written (`./.github/workflows/scan.yml`).
    pub path: String,
    /// Whether the calling job runs for pull requests.
    pub on_pull_request: Option<bool>,
    /// The caller's file and line, as a reason for the called workflow's steps.
    pub reason: Reason,
}

/// Give steps of reusable workflows (`on_pull_request: None` because of
/// `workflow_call`) the pull-request status of their local callers.
pub fn resolve_calls(steps: &mut [ScannerStep], calls: &[LocalCall]) {
    for step in steps
        .iter_mut()
        .filter(|step| step.platform == Platform::GithubActions && step.on_pull_request.is_none())
    {
        let normal = step.file.replace('\\', "/");
        let callers: Vec<&LocalCall> = calls
            .iter()
            .filter(|call| {
                let wanted = call.path.trim_start_matches("./");
                !wanted.is_empty() && normal.ends_with(wanted)
            })
            .collect();
        if callers.is_empty() {
            continue;
        }
        let runs = callers.iter().any(|call| call.on_pull_request == Some(true));
        let known = callers.iter().all(|call| call.on_pull_request.is_some());
        step.on_pull_request = if runs {
            Some(true)
        } else if known {
            Some(false)
        } else {
            None
        };
        step.pull_request_reasons = callers.iter().map(|call| call.reason.clone()).collect();
    }
}

/// Reads a local include (`include: local:` in GitLab): given the path as
/// written, returns the name to show and the bytes, or why it cannot.
pub type Resolver<'a> = &'a mut dyn FnMut(&str) -> Result<(String, Vec<u8>), String>;

/// Which platform a file belongs to, from its path and then its content.
pub fn platform_of(path: &str, text: &str) -> Option<Platform> {
    let normal = path.replace('\\', "/").to_ascii_lowercase();
    let name = normal.rsplit('/').next().unwrap_or(&normal);
    let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
    if !yaml {
        return None;
    }
    if normal.contains(".github/workflows/") {
        return Some(Platform::GithubActions);
    }
    if name.ends_with(".gitlab-ci.yml") || name.ends_with(".gitlab-ci.yaml") || name.starts_with(".gitlab-ci") {
        return Some(Platform::GitlabCi);
    }
    if name.starts_with("azure-pipelines") || normal.contains(".azure-pipelines/") || normal.contains("/.azuredevops/")
    {
        return Some(Platform::AzurePipelines);
    }
    // By content: a workflow has `jobs:` with `runs-on:`, Azure has `- task:`/`pool:`,
    // GitLab has `script:` jobs or `include: - template:`. A UTF-8 byte order
    // mark would hide the first line's key.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let has = |needle: &str| text.lines().any(|line| line.trim_start().starts_with(needle));
    if has("runs-on:")
        && text.lines().any(|line| line.starts_with("jobs:"))
        && text
            .lines()
            .any(|line| line.starts_with("on:") || line.starts_with("\"on\":"))
    {
        return Some(Platform::GithubActions);
    }
    // A steps template: top-level `steps:` of `- script:`/`- bash:`/`- pwsh:` items.
    let top_level_steps = text.lines().any(|line| line.starts_with("steps:"));
    let script_steps = ["- script:", "- bash:", "- pwsh:", "- powershell:", "- template:"]
        .iter()
        .any(|needle| has(needle));
    if has("- task:") || (has("pool:") && has("steps:")) || (top_level_steps && script_steps) {
        return Some(Platform::AzurePipelines);
    }
    if has("script:") && (has("stage:") || has("stages:") || has("- template:") || has("allow_failure:")) {
        return Some(Platform::GitlabCi);
    }
    None
}

/// Lint one CI configuration file. `shown` names it in the output; local
/// includes are read through `resolve`.
pub fn lint(shown: &str, bytes: &[u8], platform: Platform, limits: &Limits, resolve: Resolver<'_>) -> Lint {
    let mut result = Lint::default();
    let diagnostic = |line: Option<u64>, message: String| Diagnostic {
        file: shown.to_string(),
        line,
        pointer: None,
        message,
        warning: false,
    };
    if bytes.len() as u64 > limits.max_document_bytes.min(64 * 1024 * 1024) {
        result.diagnostics.push(diagnostic(
            None,
            format!(
                "{} bytes is larger than the 64 MiB a CI configuration may have",
                bytes.len()
            ),
        ));
        return result;
    }
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => {
            let (line, _) = crate::line_column(bytes, error.valid_up_to());
            result
                .diagnostics
                .push(diagnostic(Some(line), "not UTF-8 text".to_string()));
            return result;
        }
    };
    let documents = match yaml::parse_documents(text, limits.max_depth, 0) {
        Ok(documents) => documents,
        Err(error) => {
            result.diagnostics.push(diagnostic(
                Some(error.line),
                format!("column {}: {}", error.column, error.message),
            ));
            return result;
        }
    };
    let Some(root) = documents.into_iter().find(|document| document.is_map()) else {
        result.diagnostics.push(Diagnostic {
            warning: true,
            ..diagnostic(None, "empty: no mapping at the top level".to_string())
        });
        return result;
    };
    match platform {
        Platform::GithubActions => github::lint(shown, text, &root, limits, resolve, &mut result),
        Platform::GitlabCi => gitlab::lint(shown, text, root, limits, resolve, &mut result),
        Platform::AzurePipelines => {
            azure::lint(shown, text, &root, &mut result);
            azure::follow_templates(shown, &root, limits, resolve, &mut result);
        }
    }
    result
}

/// Turn a step's facts into its mode: any fact that makes findings unable to
/// fail the job makes it advisory; else any unknown fact makes it unknown;
/// else blocking. Deciding reasons come first.
pub fn decide(mut reasons: Vec<Reason>) -> (Mode, Vec<Reason>) {
    let mode = if reasons.iter().any(|reason| reason.effect == "advisory") {
        Mode::Advisory
    } else if reasons.iter().any(|reason| reason.effect == "unknown") {
        Mode::Unknown
    } else {
        Mode::Blocking
    };
    let rank = |reason: &Reason| match (mode, reason.effect) {
        (Mode::Advisory, "advisory") | (Mode::Unknown, "unknown") | (Mode::Blocking, "blocks") => 0,
        _ => 1,
    };
    reasons.sort_by_key(rank);
    (mode, reasons)
}

/// A reason from a tool's own exit rule.
pub(crate) fn tool_reason(exit: &tools::ExitRule, line: u64, fallback_text: &str) -> Reason {
    let (line, file) = match &exit.located {
        Some((at, file)) => (*at, file.clone()),
        None => (line, None),
    };
    Reason {
        file,
        line,
        text: if exit.text.is_empty() {
            fallback_text.to_string()
        } else {
            exit.text.clone()
        },
        why: exit.why.clone(),
        effect: match exit.fails_on_findings {
            Some(true) => "blocks",
            Some(false) => "advisory",
            None => "unknown",
        },
    }
}

/// The line, at or after `from` (within the next 50 lines), where `text`
/// appears as written; `from` when it does not (a flag on a continuation line
/// is cited where it is).
pub(crate) fn find_line(file_lines: &[&str], from: u64, text: &str) -> u64 {
    if text.is_empty() {
        return from;
    }
    let start = from.saturating_sub(1) as usize;
    file_lines
        .iter()
        .enumerate()
        .skip(start)
        .take(50)
        .find(|(_, line)| {
            line.split_whitespace().any(|word| word == text) || (text.contains(' ') && line.contains(text))
        })
        .map_or(from, |(index, _)| index as u64 + 1)
}

/// Where each line of a script sits in the file: script lines are looked up
/// in order from `start` (block scalars begin on the line after their key).
pub(crate) fn locate_lines(file_lines: &[&str], start: u64, script: &str) -> Vec<u64> {
    let mut cursor = start.saturating_sub(1) as usize;
    let mut located = Vec::new();
    for script_line in script.lines() {
        let needle = script_line.trim();
        if needle.is_empty() {
            located.push(cursor as u64 + 1);
            continue;
        }
        match file_lines
            .iter()
            .enumerate()
            .skip(cursor)
            .find(|(_, line)| line.contains(needle))
        {
            Some((index, _)) => {
                cursor = index;
                located.push(index as u64 + 1);
            }
            None => located.push(cursor as u64 + 1),
        }
    }
    located
}

/// One `pipeline_config` record per scanner step.
pub fn to_evidence(lint: &Lint, context: &Context) -> Vec<NewEvidence> {
    lint.steps
        .iter()
        .map(|step| {
            let subject = Subject {
                repo: context.repo.clone(),
                commit: context.commit.clone(),
                git_ref: context.git_ref.clone(),
                ..Subject::default()
            };
            let attrs = serde_json::to_value(step).unwrap_or(serde_json::Value::Null);
            let mut record = context.record("pipelines", EvidenceKind::PipelineConfig, None, subject, None, attrs);
            record.source.line = Some(step.line);
            record
        })
        .collect()
}

/// Parse one CI configuration for `ingest` (local includes are not read here;
/// `ingest` on a directory reads the included files itself, and
/// `lint-pipelines` follows them).
pub fn parse(bytes: &[u8], context: &Context, limits: &Limits, resolve: Resolver<'_>) -> Parsed {
    let shown = if context.shown_as.is_empty() {
        &context.origin
    } else {
        &context.shown_as
    };
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(64 * 1024)]);
    let Some(platform) = platform_of(shown, &text).or_else(|| platform_of(&context.origin, &text)) else {
        return Parsed {
            evidence: Vec::new(),
            diagnostics: vec![context.diagnostic(
                None,
                None,
                "not recognised as a GitHub Actions, GitLab CI or Azure Pipelines file",
            )],
        };
    };
    let lint = lint(shown, bytes, platform, limits, resolve);
    Parsed {
        evidence: to_evidence(&lint, context),
        diagnostics: lint.diagnostics,
    }
}

/// Counts over a set of steps, for `--format json`'s `summary`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Summary {
    /// Files read.
    pub files: usize,
    /// Scanner steps found.
    pub steps: usize,
    /// Blocking steps.
    pub blocking: usize,
    /// Advisory steps.
    pub advisory: usize,
    /// Steps whose mode cannot be told from the file.
    pub unknown: usize,
    /// Steps that run for pull/merge requests.
    pub on_pull_request: usize,
    /// Blocking steps that run for pull/merge requests: real merge gates.
    pub blocking_on_pull_request: usize,
    /// Steps per category.
    pub by_category: std::collections::BTreeMap<String, usize>,
}

/// Summarise steps.
pub fn summarise(steps: &[ScannerStep], files: usize) -> Summary {
    let mut summary = Summary {
        files,
        steps: steps.len(),
        ..Summary::default()
    };
    for step in steps {
        match step.mode {
            Mode::Blocking => summary.blocking += 1,
            Mode::Advisory => summary.advisory += 1,
            Mode::Unknown => summary.unknown += 1,
        }
        if step.on_pull_request == Some(true) {
            summary.on_pull_request += 1;
            if step.mode == Mode::Blocking {
                summary.blocking_on_pull_request += 1;
            }
        }
        *summary.by_category.entry(step.category.to_string()).or_default() += 1;
    }
    summary
}
