//! GitHub Actions workflows.

use super::expr::{self, Scope};
use super::shell::{self, Shell};
use super::tools::{self, Env, EnvVar};
use super::yaml::Node;
use super::{Lint, Platform, Reason, ScannerStep, decide, find_line, locate_lines, tool_reason};

const PULL_REQUEST_EVENTS: &[&str] = &["pull_request", "pull_request_target", "merge_group"];

fn reason(line: u64, text: impl Into<String>, why: impl Into<String>, effect: &'static str) -> Reason {
    Reason {
        file: None,
        line,
        text: text.into(),
        why: why.into(),
        effect,
    }
}

/// The shell a `run:` step uses, from `shell:`, `defaults.run.shell` and the runner.
fn shell_for(name: Option<&str>, windows: bool) -> Shell {
    match name.map(str::trim) {
        None if windows => Shell::PowerShell {
            name: "pwsh (Windows default)".into(),
            checks_last_exit_code: true,
            error_action_stop: true,
        },
        None => Shell::Posix {
            name: "bash -e {0} (default shell)".into(),
            errexit: true,
            pipefail: false,
        },
        Some("bash") => Shell::Posix {
            name: "shell: bash (bash --noprofile --norc -eo pipefail {0})".into(),
            errexit: true,
            pipefail: true,
        },
        Some("sh") => Shell::Posix {
            name: "shell: sh (sh -e {0})".into(),
            errexit: true,
            pipefail: false,
        },
        Some(name @ ("pwsh" | "powershell")) => Shell::PowerShell {
            name: format!("shell: {name}"),
            checks_last_exit_code: true,
            error_action_stop: true,
        },
        Some("cmd") => Shell::LastStatus {
            name: "shell: cmd".into(),
        },
        Some(custom) if custom.starts_with("bash") || custom.starts_with("sh ") || custom.starts_with("/bin/") => {
            let words: Vec<&str> = custom.split_whitespace().collect();
            let errexit = words
                .iter()
                .any(|word| word.starts_with('-') && !word.starts_with("--") && word.contains('e'));
            let pipefail = custom.contains("pipefail");
            Shell::Posix {
                name: format!("shell: {custom}"),
                errexit,
                pipefail,
            }
        }
        Some(other) => Shell::Other {
            name: format!("shell: {other}"),
        },
    }
}

struct Triggers {
    pull_request: Vec<(String, u64)>,
    /// Pull-request triggers limited to `types: [closed]`: they run after the merge.
    closed_only: Vec<(String, u64, String)>,
    callable: Option<u64>,
    all: Vec<String>,
    line: u64,
}

fn triggers(root: &Node, file_lines: &[&str]) -> Triggers {
    let mut found = Triggers {
        pull_request: Vec::new(),
        closed_only: Vec::new(),
        callable: None,
        all: Vec::new(),
        line: 1,
    };
    let Some((key, on)) = root.entry("on").or_else(|| root.entry("true")) else {
        return found;
    };
    found.line = key.line;
    let mut add = |name: &str, line: u64| {
        found.all.push(name.to_string());
        if PULL_REQUEST_EVENTS.contains(&name) {
            found.pull_request.push((name.to_string(), line));
        }
        if name == "workflow_call" {
            found.callable = Some(line);
        }
    };
    let mut closed = Vec::new();
    if on.is_map() {
        for (name, settings) in on.entries() {
            let Some(text) = name.as_str() else {
                continue;
            };
            let types = settings.get("types").map(Node::strings).unwrap_or_default();
            if text.starts_with("pull_request") && !types.is_empty() && types.iter().all(|kind| *kind == "closed") {
                let line = settings.entry("types").map_or(name.line, |(key, _)| key.line);
                let written = file_lines
                    .get(line.saturating_sub(1) as usize)
                    .map_or("types: [closed]", |written| written.trim())
                    .to_string();
                closed.push((text.to_string(), line, written));
                continue;
            }
            add(text, name.line);
        }
    } else {
        for item in on.items() {
            if let Some(text) = item.as_str() {
                add(text, item.line);
            }
        }
        if let Some(text) = on.as_str() {
            add(text, on.line);
        }
    }
    for (event, line, written) in closed {
        found.all.push(event.clone());
        found.closed_only.push((event, line, written));
    }
    found
}

/// Evaluate an `if:` for each pull-request trigger: `Some(true)` if it holds for
/// one, `None` if unknown, `Some(false)` if false for all.
fn holds_on_pull_request(condition: &str, events: &[(String, u64)]) -> Option<Option<bool>> {
    let mut result = Some(false);
    for (event, _) in events {
        let known = expr::github_pull_request(event);
        let value = expr::evaluate(
            condition,
            &Scope {
                known: &known,
                unset_is_null: false,
            },
        )?;
        match value.truthy() {
            Some(true) => return Some(Some(true)),
            None => result = None,
            Some(false) => {}
        }
    }
    Some(result)
}

/// Whether a `continue-on-error:` value is true on pull requests.
fn continue_on_error(node: &Node, events: &[(String, u64)]) -> Option<Reason> {
    let text = node.as_str()?.trim().to_string();
    if let Some(value) = node.as_bool() {
        return value.then(|| {
            reason(
                node.line,
                format!("continue-on-error: {text}"),
                "`continue-on-error: true`: a failing step does not fail the job",
                "advisory",
            )
        });
    }
    let pull_request = if events.is_empty() {
        vec![("pull_request".to_string(), 0)]
    } else {
        events.to_vec()
    };
    let mut unknown = false;
    for (event, _) in &pull_request {
        let known = expr::github_pull_request(event);
        match expr::evaluate(
            &text,
            &Scope {
                known: &known,
                unset_is_null: false,
            },
        )
        .map(|value| value.truthy())
        {
            Some(Some(true)) => {
                return Some(reason(
                    node.line,
                    format!("continue-on-error: {text}"),
                    "the `continue-on-error` expression is true on pull requests: a failing step does not fail the job",
                    "advisory",
                ));
            }
            Some(Some(false)) => {}
            _ => unknown = true,
        }
    }
    unknown.then(|| {
        reason(
            node.line,
            format!("continue-on-error: {text}"),
            "`continue-on-error` depends on a value outside the file (a matrix entry, an input or a variable)",
            "unknown",
        )
    })
}

fn pull_request_facts(triggers: &Triggers, conditions: &[(&str, u64, &str)]) -> (Option<bool>, Vec<Reason>) {
    if triggers.pull_request.is_empty() {
        if let Some(line) = triggers.callable {
            return (
                None,
                vec![reason(
                    line,
                    "workflow_call",
                    "a reusable workflow runs for pull requests only when a caller does",
                    "unknown",
                )],
            );
        }
        if let Some((event, line, written)) = triggers.closed_only.first() {
            return (
                Some(false),
                vec![reason(
                    *line,
                    written.clone(),
                    format!(
                        "`{event}` runs only when a pull request is closed (after the merge), so it cannot gate it"
                    ),
                    "skips",
                )],
            );
        }
        let listed = if triggers.all.is_empty() {
            "none".to_string()
        } else {
            triggers.all.join(", ")
        };
        return (
            Some(false),
            vec![reason(
                triggers.line,
                format!("on: {listed}"),
                "the workflow has no pull_request, pull_request_target or merge_group trigger",
                "skips",
            )],
        );
    }
    let (event, line) = &triggers.pull_request[0];
    let mut reasons = vec![reason(
        *line,
        event.clone(),
        "the workflow runs for pull requests",
        "runs",
    )];
    let mut runs = Some(true);
    for (condition, line, level) in conditions {
        match holds_on_pull_request(condition, &triggers.pull_request) {
            Some(Some(true)) => {}
            Some(Some(false)) => {
                reasons.insert(0, reason(*line, format!("if: {condition}"), format!("the {level} condition is false on pull requests"), "skips"));
                runs = Some(false);
            }
            Some(None) | None => reasons.push(reason(
                *line,
                format!("if: {condition}"),
                format!("the {level} runs on pull requests only when this condition holds (it depends on values outside the file)"),
                "runs",
            )),
        }
    }
    (runs, reasons)
}

/// The `env:` of a workflow, job or step over the environment it inherits,
/// each entry with its line and its text as written.
pub(crate) fn env_of(node: &Node, file_lines: &[&str], inherited: &Env) -> Env {
    let mut env = inherited.clone();
    for (key, value) in node.get("env").map(Node::entries).unwrap_or(&[]) {
        let (Some(name), Some(text)) = (key.as_str(), value.as_str()) else {
            continue;
        };
        let written = file_lines
            .get(key.line.saturating_sub(1) as usize)
            .map_or_else(|| format!("{name}: {text}"), |line| line.trim().to_string());
        env.insert(
            name.to_string(),
            EnvVar {
                value: text.to_string(),
                text: written,
                line: key.line,
                file: None,
            },
        );
    }
    env
}

/// The line of the `-` that starts a sequence item: the item's own line, or
/// the line above when the dash stands alone (`-` then `name: x` below it).
pub(crate) fn dash_line(file_lines: &[&str], line: u64) -> u64 {
    let own = file_lines
        .get(line.saturating_sub(1) as usize)
        .map_or("", |text| text.trim());
    if own.starts_with('-') {
        return line;
    }
    let mut candidate = line.saturating_sub(1);
    while candidate >= 1 {
        let text = file_lines.get(candidate as usize - 1).map_or("", |text| text.trim());
        if text == "-" || text.starts_with("- #") {
            return candidate;
        }
        if !(text.is_empty() || text.starts_with('#')) {
            break;
        }
        candidate -= 1;
    }
    line
}

/// Jobs that do not run for pull requests because a job they `need` does not
/// (GitHub skips a job whose needed job was skipped unless its `if:` uses
/// `always()`, `failure()` or `cancelled()`), with the `needs` line as reason.
fn skipped_by_needs(
    jobs: &Node,
    triggers: &Triggers,
    file_lines: &[&str],
) -> std::collections::HashMap<String, Reason> {
    let mut runs: std::collections::HashMap<String, Option<bool>> = std::collections::HashMap::new();
    for (key, job) in jobs.entries() {
        let Some(id) = key.as_str() else { continue };
        let condition = job
            .entry("if")
            .and_then(|(key, value)| value.as_str().map(|text| (text.to_string(), key.line)));
        let conditions: Vec<(&str, u64, &str)> = condition
            .iter()
            .map(|(text, line)| (text.as_str(), *line, "job"))
            .collect();
        runs.insert(id.to_string(), pull_request_facts(triggers, &conditions).0);
    }
    let mut skipped: std::collections::HashMap<String, Reason> = std::collections::HashMap::new();
    // Each round can only add jobs; a chain is at most as long as the job list.
    for _ in 0..jobs.entries().len() {
        let mut changed = false;
        for (key, job) in jobs.entries() {
            let Some(id) = key.as_str() else { continue };
            if skipped.contains_key(id) {
                continue;
            }
            let Some((needs_key, needs)) = job.entry("needs") else {
                continue;
            };
            let status_check = job.get("if").and_then(Node::as_str).is_some_and(|text| {
                let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
                ["always()", "failure()", "cancelled()"]
                    .iter()
                    .any(|function| compact.contains(function))
            });
            if status_check {
                continue;
            }
            let blocked = needs
                .strings()
                .into_iter()
                .find(|needed| skipped.contains_key(*needed) || runs.get(*needed).copied().flatten() == Some(false));
            if let Some(needed) = blocked {
                let line = needs
                    .items()
                    .iter()
                    .find(|item| item.as_str() == Some(needed))
                    .map_or(needs_key.line, |item| item.line);
                let written = file_lines
                    .get(line.saturating_sub(1) as usize)
                    .map_or_else(|| format!("needs: {needed}"), |text| text.trim().to_string());
                skipped.insert(
                    id.to_string(),
                    reason(
                        line,
                        written,
                        format!(
                            "the job needs `{needed}`, which does not run for pull requests; without `always()`, `failure()` or `cancelled()` in its `if:` it is skipped too"
                        ),
                        "skips",
                    ),
                );
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    skipped
}

fn scalar_text(node: Option<&Node>) -> Option<String> {
    node.and_then(Node::as_str).map(str::to_string)
}

/// Lint a parsed workflow.
pub fn lint(
    shown: &str,
    text: &str,
    root: &Node,
    limits: &crate::Limits,
    resolve: super::Resolver<'_>,
    result: &mut Lint,
) {
    let file_lines: Vec<&str> = text.lines().collect();
    let Some(jobs) = root.get("jobs").filter(|jobs| jobs.is_map()) else {
        result.diagnostics.push(model::Diagnostic {
            file: shown.to_string(),
            line: Some(root.line),
            pointer: None,
            message: "no `jobs:` mapping: not a GitHub Actions workflow".into(),
            warning: true,
        });
        return;
    };
    let triggers = triggers(root, &file_lines);
    let workflow_env = env_of(root, &file_lines, &Env::new());
    let needs_skip = skipped_by_needs(jobs, &triggers, &file_lines);
    let workflow_shell = root
        .get("defaults")
        .and_then(|defaults| defaults.get("run"))
        .and_then(|run| run.get("shell"))
        .and_then(Node::as_str);
    for (job_key, job) in jobs.entries() {
        let job_id = job_key.as_str().unwrap_or_default().to_string();
        let job_condition = job
            .entry("if")
            .and_then(|(key, value)| value.as_str().map(|text| (text.to_string(), key.line)));
        let job_continue = job.get("continue-on-error").and_then(|node| continue_on_error(node, &triggers.pull_request)).map(|mut found| {
            found.why = found.why.replace("a failing step does not fail the job", "a failing job does not fail the workflow run (a required status check on this job may still block, outside this file)");
            found
        });
        let job_env = env_of(job, &file_lines, &workflow_env);
        let facts = |conditions: &[(&str, u64, &str)]| {
            let (mut runs, mut reasons) = pull_request_facts(&triggers, conditions);
            if let Some(needs) = needs_skip.get(&job_id)
                && runs != Some(false)
            {
                runs = Some(false);
                reasons.insert(0, needs.clone());
            }
            (runs, reasons)
        };
        let windows = job
            .get("runs-on")
            .map(|runs_on| {
                runs_on
                    .strings()
                    .iter()
                    .any(|label| label.to_ascii_lowercase().contains("windows"))
            })
            .unwrap_or(false);
        // `runs-on: ${{ matrix.os }}` over Windows and other runners: the
        // default shell differs per leg (pwsh on Windows, bash elsewhere).
        let mixed_matrix = job.get("runs-on").and_then(|runs_on| {
            let labels = runs_on.strings();
            if !labels.iter().any(|label| label.contains("matrix.")) {
                return None;
            }
            let mut values = Vec::new();
            if let Some(matrix) = job.get("strategy").and_then(|strategy| strategy.get("matrix")) {
                scalars(matrix, &mut values);
            }
            let windows = values
                .iter()
                .find(|value| value.to_ascii_lowercase().contains("windows"))?;
            let other = values.iter().find(|value| {
                let value = value.to_ascii_lowercase();
                ["ubuntu", "macos", "linux"].iter().any(|os| value.contains(os))
            })?;
            Some((
                runs_on.line,
                format!("runs-on: {}", labels.join(", ")),
                format!("{windows}` and `{other}"),
            ))
        });
        let job_shell = job
            .get("defaults")
            .and_then(|defaults| defaults.get("run"))
            .and_then(|run| run.get("shell"))
            .and_then(Node::as_str)
            .or(workflow_shell);
        // A job that calls a reusable workflow.
        if let Some(uses) = job.get("uses").and_then(Node::as_str) {
            if uses.starts_with("./") {
                let conditions: Vec<(&str, u64, &str)> = job_condition
                    .iter()
                    .map(|(text, line)| (text.as_str(), *line, "job"))
                    .collect();
                let (on_pull_request, _) = facts(&conditions);
                result.calls.push(super::LocalCall {
                    path: uses.split('@').next().unwrap_or(uses).to_string(),
                    on_pull_request,
                    reason: Reason {
                        file: Some(shown.to_string()),
                        line: job_key.line,
                        text: format!("uses: {uses}"),
                        why: match on_pull_request {
                            Some(true) => "called by a job that runs for pull requests".to_string(),
                            Some(false) => "called only by a job that does not run for pull requests".to_string(),
                            None => "called by a reusable workflow".to_string(),
                        },
                        effect: if on_pull_request == Some(false) {
                            "skips"
                        } else {
                            "runs"
                        },
                    },
                });
            }
            let with = job.get("with");
            let inputs = |name: &str| {
                with.and_then(|with| with.entry(name))
                    .and_then(|(key, value)| value.as_str().map(|text| (text.to_string(), key.line)))
            };
            if let Some((found, decided_line)) = tools::recognise_action_in(uses, &inputs, &job_env) {
                let mut reasons = vec![tool_reason(
                    &found.exit,
                    decided_line.unwrap_or(job_key.line),
                    &format!("uses: {uses}"),
                )];
                reasons.extend(job_continue.clone());
                let (mode, reasons) = decide(reasons);
                let conditions: Vec<(&str, u64, &str)> = job_condition
                    .iter()
                    .map(|(text, line)| (text.as_str(), *line, "job"))
                    .collect();
                let (on_pull_request, pull_request_reasons) = facts(&conditions);
                result.steps.push(ScannerStep {
                    file: shown.to_string(),
                    line: job_key.line,
                    platform: Platform::GithubActions,
                    job: job_id.clone(),
                    step: format!("uses: {uses}"),
                    tool: found.tool.to_string(),
                    category: found.category.as_str(),
                    mode,
                    reasons,
                    on_pull_request,
                    pull_request_reasons,
                });
            }
            continue;
        }
        for step in job.get("steps").map(Node::items).unwrap_or(&[]) {
            let step_env = env_of(step, &file_lines, &job_env);
            let step_line = dash_line(&file_lines, step.line);
            let name = scalar_text(step.get("name"));
            let step_condition = step
                .entry("if")
                .and_then(|(key, value)| value.as_str().map(|text| (text.to_string(), key.line)));
            let mut conditions: Vec<(&str, u64, &str)> = Vec::new();
            if let Some((text, line)) = &job_condition {
                conditions.push((text, *line, "job"));
            }
            if let Some((text, line)) = &step_condition {
                conditions.push((text, *line, "step"));
            }
            let step_continue = step
                .get("continue-on-error")
                .and_then(|node| continue_on_error(node, &triggers.pull_request));
            let mut found_here: Vec<(tools::Recognised, Vec<Reason>, String)> = Vec::new();
            if let Some(uses) = step.get("uses").and_then(Node::as_str) {
                let with = step.get("with");
                let inputs = |input: &str| {
                    with.and_then(|with| with.entry(input))
                        .and_then(|(key, value)| value.as_str().map(|text| (text.to_string(), key.line)))
                };
                if let Some((found, decided_line)) = tools::recognise_action_in(uses, &inputs, &step_env) {
                    let reasons = vec![tool_reason(
                        &found.exit,
                        decided_line.unwrap_or(step_line),
                        &format!("uses: {uses}"),
                    )];
                    found_here.push((found, reasons, name.clone().unwrap_or_else(|| format!("uses: {uses}"))));
                } else if let Some(local) = uses.strip_prefix("./") {
                    let label = name.clone().unwrap_or_else(|| format!("uses: {uses}"));
                    let mut inner = Vec::new();
                    composite_action(
                        (shown, step_line, uses),
                        local,
                        windows,
                        &triggers.pull_request,
                        &step_env,
                        limits,
                        resolve,
                        result,
                        &mut inner,
                    );
                    found_here.extend(
                        inner
                            .into_iter()
                            .map(|(found, reasons)| (found, reasons, label.clone())),
                    );
                }
            }
            if let Some((run_key, run)) = step.entry("run") {
                let script = run.as_str().unwrap_or_default();
                let chosen = step.get("shell").and_then(Node::as_str).or(job_shell);
                let shell = shell_for(chosen, windows);
                let lines = located(&file_lines, run_key.line, run.line, script);
                // On a matrix over Windows and other runners without a `shell:`,
                // each leg runs the script in its own default shell.
                let windows_legs = match (&mixed_matrix, chosen) {
                    (Some(matrix), None) => {
                        Some((matrix, shell::analyse_in(script, &shell_for(None, true), &step_env)))
                    }
                    _ => None,
                };
                for invocation in shell::analyse_in(script, &shell, &step_env) {
                    let differs = windows_legs.as_ref().and_then(|(matrix, on_windows)| {
                        let windows = on_windows.iter().find(|other| {
                            other.scanner.tool == invocation.scanner.tool && other.line == invocation.line
                        })?;
                        (windows.propagation != invocation.propagation).then_some((*matrix, windows.propagation))
                    });
                    let at = |index: usize| lines.get(index).copied().unwrap_or(run.line);
                    let mut reasons = vec![tool_reason(
                        &invocation.scanner.exit,
                        find_line(&file_lines, at(invocation.line), &invocation.scanner.exit.text),
                        &invocation.text,
                    )];
                    for fact in &invocation.reasons {
                        reasons.push(reason(
                            at(fact.line),
                            fact.text.clone(),
                            fact.why.clone(),
                            if differs.is_some() {
                                "unknown"
                            } else {
                                invocation.propagation.effect()
                            },
                        ));
                    }
                    if let Some(((line, text, legs), on_windows)) = differs {
                        reasons.push(reason(
                            *line,
                            text.clone(),
                            format!(
                                "the matrix runs this job on `{legs}`: the default shell is bash on one and pwsh on Windows, where the step is {} instead of {}",
                                on_windows.verdict(),
                                invocation.propagation.verdict()
                            ),
                            "unknown",
                        ));
                    }
                    let first_line = script
                        .lines()
                        .find(|line| !line.trim().is_empty())
                        .unwrap_or_default()
                        .trim()
                        .to_string();
                    // One entry per tool per step: a later invocation of the same tool adds its facts.
                    if let Some(existing) = found_here
                        .iter_mut()
                        .find(|(found, _, _)| found.tool == invocation.scanner.tool)
                    {
                        existing.1.extend(reasons);
                    } else {
                        found_here.push((
                            invocation.scanner,
                            reasons,
                            name.clone().unwrap_or_else(|| format!("run: {first_line}")),
                        ));
                    }
                }
            }
            for (found, mut reasons, label) in found_here {
                reasons.extend(step_continue.clone());
                reasons.extend(job_continue.clone());
                let (mode, reasons) = decide(reasons);
                let (on_pull_request, pull_request_reasons) = facts(&conditions);
                result.steps.push(ScannerStep {
                    file: shown.to_string(),
                    line: step_line,
                    platform: Platform::GithubActions,
                    job: job_id.clone(),
                    step: label,
                    tool: found.tool.to_string(),
                    category: found.category.as_str(),
                    mode,
                    reasons,
                    on_pull_request,
                    pull_request_reasons,
                });
            }
        }
    }
}

/// The scanners in a local composite action (`uses: ./path`, its
/// `action.yml`): each `run:` step analysed in its own `shell:`, with reasons
/// citing the action file. A local action that cannot be read, or is not
/// composite, is a warning: its scanners are not reported.
#[allow(clippy::too_many_arguments)]
fn composite_action(
    (shown, step_line, uses): (&str, u64, &str),
    local: &str,
    windows: bool,
    events: &[(String, u64)],
    env: &super::tools::Env,
    limits: &crate::Limits,
    resolve: super::Resolver<'_>,
    result: &mut Lint,
    found: &mut Vec<(tools::Recognised, Vec<Reason>)>,
) {
    let warn = |message: String| model::Diagnostic {
        file: shown.to_string(),
        line: Some(step_line),
        pointer: None,
        message,
        warning: true,
    };
    let directory = local.trim_end_matches('/');
    let read = resolve(&format!("{directory}/action.yml")).or_else(|_| resolve(&format!("{directory}/action.yaml")));
    let (name, bytes) = match read {
        Ok(read) => read,
        Err(message) => {
            result.diagnostics.push(warn(format!(
                "local action `{uses}` not read ({message}): scanner steps inside it are not reported"
            )));
            return;
        }
    };
    let Ok(text) = std::str::from_utf8(&bytes) else {
        result
            .diagnostics
            .push(warn(format!("local action `{uses}`: {name} is not UTF-8 text")));
        return;
    };
    let document = match super::yaml::parse_documents(text, limits.max_depth, 0) {
        Ok(documents) => documents.into_iter().find(Node::is_map),
        Err(error) => {
            result
                .diagnostics
                .push(warn(format!("local action `{uses}`: {name}: {error}")));
            return;
        }
    };
    let Some(runs) = document.as_ref().and_then(|document| document.get("runs")) else {
        return;
    };
    if runs.get("using").and_then(Node::as_str) != Some("composite") {
        result.diagnostics.push(warn(format!(
            "local action `{uses}` is not a composite action: scanners inside it are not reported"
        )));
        return;
    }
    let file_lines: Vec<&str> = text.lines().collect();
    for step in runs.get("steps").map(Node::items).unwrap_or(&[]) {
        let Some((run_key, run)) = step.entry("run") else {
            continue;
        };
        let script = run.as_str().unwrap_or_default();
        let shell = shell_for(step.get("shell").and_then(Node::as_str), windows);
        let lines = located(&file_lines, run_key.line, run.line, script);
        let continues = step.get("continue-on-error").and_then(|node| {
            let mut found = continue_on_error(node, events)?;
            found.why = if node.as_bool() == Some(true) {
                "the composite action's step continues on error: its failure never fails the action".into()
            } else {
                found.why.replace(
                    "a failing step does not fail the job",
                    "a failing step does not fail the action",
                )
            };
            found.file = Some(name.clone());
            Some(found)
        });
        for invocation in shell::analyse_in(script, &shell, env) {
            let at = |index: usize| lines.get(index).copied().unwrap_or(run.line);
            let mut first = tool_reason(
                &invocation.scanner.exit,
                find_line(&file_lines, at(invocation.line), &invocation.scanner.exit.text),
                &invocation.text,
            );
            first.file = first.file.or_else(|| Some(name.clone()));
            let mut reasons = vec![first];
            for fact in &invocation.reasons {
                let mut fact = reason(
                    at(fact.line),
                    fact.text.clone(),
                    fact.why.clone(),
                    invocation.propagation.effect(),
                );
                fact.file = Some(name.clone());
                reasons.push(fact);
            }
            reasons.extend(continues.clone());
            found.push((invocation.scanner, reasons));
        }
    }
}

/// Every scalar under a node (a matrix's values, `include:` entries too).
fn scalars<'a>(node: &'a Node, out: &mut Vec<&'a str>) {
    match &node.value {
        crate::pipelines::yaml::Value::Scalar { .. } => out.extend(node.as_str()),
        crate::pipelines::yaml::Value::Seq(items) => items.iter().for_each(|item| scalars(item, out)),
        crate::pipelines::yaml::Value::Map(entries) => entries.iter().for_each(|(_, value)| scalars(value, out)),
    }
}

fn located(file_lines: &[&str], key_line: u64, value_line: u64, script: &str) -> Vec<u64> {
    locate_lines(file_lines, key_line.max(value_line), script)
}
