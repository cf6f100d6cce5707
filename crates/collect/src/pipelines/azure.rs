//! Azure Pipelines: pipelines and step templates.

use super::shell::{self, Shell};
use super::tools::Category;
use super::yaml::Node;
use super::{Lint, Platform, Reason, ScannerStep, decide, find_line, locate_lines, tool_reason};

fn reason(line: u64, text: impl Into<String>, why: impl Into<String>, effect: &'static str) -> Reason {
    Reason {
        file: None,
        line,
        text: text.into(),
        why: why.into(),
        effect,
    }
}

/// Every `steps:` list with the job it belongs to.
fn step_lists<'a>(root: &'a Node, out: &mut Vec<(String, &'a Node)>) {
    if let Some(steps) = root.get("steps") {
        out.push((String::new(), steps));
    }
    for job in root.get("jobs").map(Node::items).unwrap_or(&[]) {
        let name = job
            .get("job")
            .or_else(|| job.get("deployment"))
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_string();
        if let Some(steps) = job.get("steps") {
            out.push((name.clone(), steps));
        }
        if let Some(steps) = job
            .get("strategy")
            .and_then(|strategy| strategy.get("runOnce"))
            .and_then(|run| run.get("deploy"))
            .and_then(|deploy| deploy.get("steps"))
        {
            out.push((name, steps));
        }
    }
    for stage in root.get("stages").map(Node::items).unwrap_or(&[]) {
        step_lists(stage, out);
    }
}

fn input<'a>(step: &'a Node, name: &str) -> Option<(&'a Node, &'a Node)> {
    step.get("inputs")?
        .entries()
        .iter()
        .find(|(key, _)| key.as_str().is_some_and(|key| key.eq_ignore_ascii_case(name)))
        .map(|(key, value)| (key, value))
}

fn bash_without_e(name: &str) -> Shell {
    Shell::Posix {
        name: format!("{name} (Azure runs bash without -e)"),
        errexit: false,
        pipefail: false,
    }
}

/// PowerShell as Azure runs it: `errorActionPreference` (default `stop`) and,
/// unless `ignoreLASTEXITCODE: true`, `exit $LASTEXITCODE` appended.
fn powershell(name: &str, setting: &dyn Fn(&str) -> Option<String>) -> Shell {
    let ignore = setting("ignoreLASTEXITCODE").is_some_and(|value| value.trim().eq_ignore_ascii_case("true"));
    let stop = setting("errorActionPreference").is_none_or(|value| value.trim().eq_ignore_ascii_case("stop"));
    Shell::PowerShell {
        name: if ignore {
            format!("{name} with ignoreLASTEXITCODE: true")
        } else {
            name.to_string()
        },
        checks_last_exit_code: !ignore,
        error_action_stop: stop,
    }
}

/// The inline scripts of a step: the `script`/`bash`/`pwsh`/`powershell`
/// shorthands and the `CmdLine@2`, `Bash@3` and `PowerShell@2` tasks, each
/// with its label, key node, script node and shell. A task that runs a script
/// file is noted as not followed.
fn scripts<'a>(
    step: &'a Node,
    file_lines: &[&str],
    shown: &str,
    result: &mut Lint,
) -> Vec<(String, Node, &'a Node, Shell)> {
    let mut found = Vec::new();
    let own = |name: &str| {
        step.entries()
            .iter()
            .find(|(key, _)| key.as_str().is_some_and(|key| key.eq_ignore_ascii_case(name)))
            .and_then(|(_, value)| value.as_str().map(str::to_string))
    };
    for key in ["script", "bash", "pwsh", "powershell"] {
        let Some((script_key, script_node)) = step.entry(key) else {
            continue;
        };
        let shell = match key {
            "script" | "bash" => bash_without_e(key),
            _ => powershell(key, &own),
        };
        found.push((key.to_string(), script_key.clone(), script_node, shell));
    }
    let Some(task) = step.get("task").and_then(Node::as_str) else {
        return found;
    };
    let name = task.rsplit('.').next().unwrap_or(task).to_ascii_lowercase();
    let kind = name.split('@').next().unwrap_or(&name);
    let setting = |wanted: &str| input(step, wanted).and_then(|(_, value)| value.as_str().map(str::to_string));
    let inline = setting("targetType").is_some_and(|kind| kind.eq_ignore_ascii_case("inline"));
    let shell = match kind {
        "cmdline" => Some(bash_without_e(&format!("task: {task}"))),
        "bash" if inline => Some(bash_without_e(&format!("task: {task}"))),
        "powershell" | "powershell++" if inline => Some(powershell(&format!("task: {task}"), &setting)),
        "bash" | "powershell" => {
            let file = setting("filePath").unwrap_or_default();
            result.diagnostics.push(model::Diagnostic {
                file: shown.to_string(),
                line: Some(super::github::dash_line(file_lines, step.line)),
                pointer: None,
                message: format!(
                    "`task: {task}` runs the script file `{file}`, which is not followed: a scanner inside it is not reported"
                ),
                warning: true,
            });
            None
        }
        _ => None,
    };
    if let Some(shell) = shell
        && let Some((script_key, script_node)) = input(step, "script")
    {
        found.push((format!("task: {task}"), script_key.clone(), script_node, shell));
    }
    found
}

/// Lint a parsed Azure Pipelines file.
pub fn lint(shown: &str, text: &str, root: &Node, result: &mut Lint) {
    let file_lines: Vec<&str> = text.lines().collect();
    let template_only = root.get("trigger").is_none()
        && root.get("pr").is_none()
        && root.get("pool").is_none()
        && root.get("resources").is_none();
    let pull_request = |condition: Option<(&Node, &Node)>| -> (Option<bool>, Vec<Reason>) {
        if let Some((key, value)) = condition {
            let text = value.as_str().unwrap_or_default();
            let compact: String = text
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
                .to_ascii_lowercase();
            if compact.contains("ne(variables['build.reason'],'pullrequest')") {
                return (
                    Some(false),
                    vec![reason(
                        key.line,
                        format!("condition: {text}"),
                        "the step is skipped for pull request builds",
                        "skips",
                    )],
                );
            }
            if compact.contains("eq(variables['build.reason'],'pullrequest')") {
                return (
                    Some(true),
                    vec![reason(
                        key.line,
                        format!("condition: {text}"),
                        "the step runs only for pull request builds",
                        "runs",
                    )],
                );
            }
        }
        if let Some((key, pr)) = root.entry("pr") {
            if pr.as_str() == Some("none") {
                return (
                    Some(false),
                    vec![reason(
                        key.line,
                        "pr: none",
                        "pull request builds are turned off",
                        "skips",
                    )],
                );
            }
            return (
                Some(true),
                vec![reason(
                    key.line,
                    "pr",
                    "the pipeline has a pull request trigger",
                    "runs",
                )],
            );
        }
        if template_only {
            return (
                None,
                vec![reason(
                    root.line,
                    "steps template",
                    "a steps template runs for pull requests only where a pipeline that includes it does",
                    "unknown",
                )],
            );
        }
        (
            None,
            vec![reason(
                root.line,
                "no pr trigger",
                "without `pr:` GitHub-hosted repositories build pull requests by default, Azure Repos only through a branch policy (outside this file)",
                "unknown",
            )],
        )
    };
    let mut lists = Vec::new();
    step_lists(root, &mut lists);
    for (job, steps) in lists {
        let items = steps.items();
        for (index, step) in items.iter().enumerate() {
            let name = step.get("displayName").and_then(Node::as_str).map(str::to_string);
            let continue_on_error = step
                .entry("continueOnError")
                .filter(|(_, value)| value.as_bool() == Some(true))
                .map(|(key, _)| {
                    reason(
                        key.line,
                        "continueOnError: true",
                        "`continueOnError: true`: a failing step does not fail the job",
                        "advisory",
                    )
                });
            let mut found: Vec<(&'static str, Category, Vec<Reason>, String)> = Vec::new();
            if let Some(task) = step.get("task").and_then(Node::as_str) {
                let task_name = task
                    .rsplit('.')
                    .next()
                    .unwrap_or(task)
                    .split('@')
                    .next()
                    .unwrap_or(task)
                    .to_ascii_lowercase();
                let label = name.clone().unwrap_or_else(|| format!("task: {task}"));
                match task_name.as_str() {
                    "credscan" | "semmle" | "binskim" | "eslint" | "roslynanalyzers" => {
                        let (tool, category) = match task_name.as_str() {
                            "credscan" => ("credscan", Category::Secrets),
                            "semmle" => ("codeql", Category::Sast),
                            "eslint" => ("eslint-security", Category::Sast),
                            "roslynanalyzers" => ("roslyn-analyzers", Category::Sast),
                            _ => ("binskim", Category::Sast),
                        };
                        let tool_key = match tool {
                            "credscan" => "gdnbreakgdntoolcredscan",
                            "codeql" => "gdnbreakgdntoolsemmle",
                            "eslint-security" => "gdnbreakgdntooleslint",
                            "roslyn-analyzers" => "gdnbreakgdntoolroslynanalyzers",
                            _ => "gdnbreakgdntoolbinskim",
                        };
                        let post = items[index + 1..].iter().find(|later| {
                            later
                                .get("task")
                                .and_then(Node::as_str)
                                .is_some_and(|later| later.to_ascii_lowercase().contains("postanalysis"))
                        });
                        let breaking = post.and_then(|post| {
                            [tool_key, "gdnbreakalltools"]
                                .iter()
                                .find_map(|key| input(post, key).filter(|(_, value)| value.as_bool() == Some(true)))
                        });
                        let fact = match (post, breaking) {
                            (_, Some((key, value))) => reason(
                                key.line,
                                format!(
                                    "{}: {}",
                                    key.as_str().unwrap_or_default(),
                                    value.as_str().unwrap_or_default()
                                ),
                                "a later PostAnalysis task breaks the build on this tool's results",
                                "blocks",
                            ),
                            (Some(post), None) => reason(
                                post.line,
                                "PostAnalysis",
                                "the PostAnalysis task does not break on this tool's results",
                                "advisory",
                            ),
                            (None, None) => reason(
                                step.line,
                                format!("task: {task}"),
                                "the task only writes results; without a PostAnalysis task that breaks on them, findings never fail the job",
                                "advisory",
                            ),
                        };
                        found.push((tool, category, vec![fact], label));
                    }
                    "snyksecurityscan" => {
                        let fact = match input(step, "failOnIssues") {
                            Some((key, value)) if value.as_bool() == Some(false) => reason(
                                key.line,
                                "failOnIssues: false",
                                "`failOnIssues: false` never fails",
                                "advisory",
                            ),
                            _ => reason(
                                step.line,
                                format!("task: {task}"),
                                "SnykSecurityScan's `failOnIssues` defaults to true",
                                "blocks",
                            ),
                        };
                        found.push(("snyk", Category::Sca, vec![fact], label));
                    }
                    "dependency-check-build-task" => {
                        let fact = match input(step, "failOnCVSS") {
                            Some((key, value)) => reason(
                                key.line,
                                format!("failOnCVSS: {}", value.as_str().unwrap_or_default()),
                                "`failOnCVSS` fails the build at that score",
                                "blocks",
                            ),
                            None => reason(
                                step.line,
                                format!("task: {task}"),
                                "dependency-check fails nothing unless `failOnCVSS` is set",
                                "advisory",
                            ),
                        };
                        found.push(("dependency-check", Category::Sca, vec![fact], label));
                    }
                    _ => {}
                }
            }
            let step_env = super::github::env_of(step, &file_lines, &super::tools::Env::new());
            for (key, script_key, script_node, shell) in scripts(step, &file_lines, shown, result) {
                let script_key = &script_key;
                let script = script_node.as_str().unwrap_or_default();
                let lines = locate_lines(&file_lines, script_key.line, script);
                let first = script
                    .lines()
                    .find(|line| !line.trim().is_empty())
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                for invocation in shell::analyse_in(script, &shell, &step_env) {
                    let at = |index: usize| lines.get(index).copied().unwrap_or(script_key.line);
                    let effect = invocation.propagation.effect();
                    let mut reasons = vec![tool_reason(
                        &invocation.scanner.exit,
                        find_line(&file_lines, at(invocation.line), &invocation.scanner.exit.text),
                        &invocation.text,
                    )];
                    reasons.extend(
                        invocation
                            .reasons
                            .iter()
                            .map(|fact| reason(at(fact.line), fact.text.clone(), fact.why.clone(), effect)),
                    );
                    found.push((
                        invocation.scanner.tool,
                        invocation.scanner.category,
                        reasons,
                        name.clone().unwrap_or_else(|| {
                            if key.starts_with("task:") {
                                key.clone()
                            } else {
                                format!("{key}: {first}")
                            }
                        }),
                    ));
                }
            }
            for (tool, category, mut reasons, label) in found {
                reasons.extend(continue_on_error.clone());
                let (mode, reasons) = decide(reasons);
                let (on_pull_request, pull_request_reasons) = pull_request(step.entry("condition"));
                result.steps.push(ScannerStep {
                    file: shown.to_string(),
                    line: super::github::dash_line(&file_lines, step.line),
                    platform: Platform::AzurePipelines,
                    job: job.clone(),
                    step: label,
                    tool: tool.to_string(),
                    category: category.as_str(),
                    mode,
                    reasons,
                    on_pull_request,
                    pull_request_reasons,
                });
            }
        }
    }
}

/// At most this many template files are followed from one pipeline.
const MAX_TEMPLATES: usize = 150;

/// `template:` references in a file's step, job and stage lists (`- template: x.yml`),
/// with their lines.
fn template_references(node: &Node, out: &mut Vec<(String, u64)>) {
    match &node.value {
        super::yaml::Value::Seq(items) => {
            for item in items {
                if let Some((key, value)) = item.entry("template")
                    && let Some(path) = value.as_str()
                {
                    out.push((path.to_string(), key.line));
                }
                template_references(item, out);
            }
        }
        super::yaml::Value::Map(entries) => {
            for (_, value) in entries {
                template_references(value, out);
            }
        }
        super::yaml::Value::Scalar { .. } => {}
    }
}

/// Follow `- template: path` references from a pipeline as GitLab local
/// includes are followed: through `resolve` (inside the repository only), each
/// file once, nested references relative to the template that makes them, up
/// to 150 files. Their steps are linted as steps templates.
pub fn follow_templates(
    shown: &str,
    root: &Node,
    limits: &crate::Limits,
    resolve: super::Resolver<'_>,
    result: &mut Lint,
) {
    let warn = |file: &str, line: u64, message: String| model::Diagnostic {
        file: file.to_string(),
        line: Some(line),
        pointer: None,
        message,
        warning: true,
    };
    let mut pending: Vec<(String, u64, String, String)> = Vec::new();
    let mut found = Vec::new();
    template_references(root, &mut found);
    pending.extend(
        found
            .into_iter()
            .rev()
            .map(|(path, line)| (path, line, shown.to_string(), String::new())),
    );
    let mut seen: Vec<String> = vec![shown.to_string()];
    while let Some((wanted, line, from, directory)) = pending.pop() {
        if wanted.contains('@') || wanted.contains("${{") || wanted.contains("$(") {
            result.diagnostics.push(warn(
                &from,
                line,
                format!("template `{wanted}` not followed: it names another repository or is computed at run time"),
            ));
            continue;
        }
        if seen.len() > MAX_TEMPLATES {
            result.diagnostics.push(warn(
                &from,
                line,
                format!("template `{wanted}` not followed: more than {MAX_TEMPLATES} template files"),
            ));
            continue;
        }
        // Relative to the file that names it; `/path` from the repository root.
        let path = if wanted.starts_with('/') || directory.is_empty() {
            wanted.clone()
        } else {
            format!("{directory}/{wanted}")
        };
        match resolve(&path) {
            Ok((name, _)) if seen.contains(&name) => {}
            Ok((name, bytes)) => {
                seen.push(name.clone());
                result.included.push(name.clone());
                let parsed = std::str::from_utf8(&bytes)
                    .map_err(|_| "not UTF-8 text".to_string())
                    .and_then(|text| {
                        super::yaml::parse_documents(text, limits.max_depth, 0)
                            .map(|documents| (text, documents))
                            .map_err(|error| error.to_string())
                    });
                match parsed {
                    Ok((text, documents)) => {
                        let Some(document) = documents.into_iter().find(Node::is_map) else {
                            continue;
                        };
                        lint(&name, text, &document, result);
                        let mut nested = Vec::new();
                        template_references(&document, &mut nested);
                        let directory = path.rsplit_once('/').map(|(directory, _)| directory.to_string());
                        pending.extend(
                            nested
                                .into_iter()
                                .rev()
                                .map(|(path, line)| (path, line, name.clone(), directory.clone().unwrap_or_default())),
                        );
                    }
                    Err(message) => result.diagnostics.push(model::Diagnostic {
                        file: name,
                        line: None,
                        pointer: None,
                        message,
                        warning: false,
                    }),
                }
            }
            Err(message) => {
                result
                    .diagnostics
                    .push(warn(&from, line, format!("template `{wanted}` not read: {message}")))
            }
        }
    }
}
