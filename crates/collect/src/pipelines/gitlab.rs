//! GitLab CI: `.gitlab-ci.yml`, the files it includes locally, and GitLab's
//! security templates.

use super::expr::{self, Scope, Val};
use super::shell::{self, Shell};
use super::tools::Category;
use super::yaml::{self, Node, Value};
use super::{Lint, Platform, Reason, Resolver, ScannerStep, decide, tool_reason};
use crate::Limits;
use std::collections::HashMap;

/// Top-level keys that are not jobs.
const RESERVED: &[&str] = &[
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "types",
    "spec",
];

/// Deepest `extends` and `!reference` chains followed, and most included
/// files. GitLab refuses an `extends` entry with more than 10 ancestors that
/// itself extends (lib/gitlab/ci/config/extendable/entry.rb), so 11 levels of
/// inheritance resolve and a 12th is refused; includes stop at 150 files.
const MAX_CHAIN: usize = 11;
const MAX_INCLUDES: usize = 150;

struct TemplateJob {
    job: &'static str,
    tool: &'static str,
    category: Category,
    /// Reported only when this variable is true in the file, or the job is overridden.
    enabled_by: Option<&'static str>,
    /// Reported only when the file overrides the job.
    only_if_overridden: bool,
}

const fn job(job: &'static str, tool: &'static str, category: Category) -> TemplateJob {
    TemplateJob {
        job,
        tool,
        category,
        enabled_by: None,
        only_if_overridden: false,
    }
}

const fn optional(job: &'static str, tool: &'static str, category: Category) -> TemplateJob {
    TemplateJob {
        job,
        tool,
        category,
        enabled_by: None,
        only_if_overridden: true,
    }
}

const SAST: &[TemplateJob] = &[
    job("semgrep-sast", "semgrep", Category::Sast),
    TemplateJob {
        job: "gitlab-advanced-sast",
        tool: "gitlab-advanced-sast",
        category: Category::Sast,
        enabled_by: Some("GITLAB_ADVANCED_SAST_ENABLED"),
        only_if_overridden: false,
    },
    optional("brakeman-sast", "brakeman", Category::Sast),
    optional("flawfinder-sast", "flawfinder", Category::Sast),
    optional("kubesec-sast", "kubesec", Category::Iac),
    optional("nodejs-scan-sast", "nodejs-scan", Category::Sast),
    optional("phpcs-security-audit-sast", "phpcs-security-audit", Category::Sast),
    optional("pmd-apex-sast", "pmd-apex", Category::Sast),
    optional("security-code-scan-sast", "security-code-scan", Category::Sast),
    optional("sobelow-sast", "sobelow", Category::Sast),
    optional("spotbugs-sast", "spotbugs", Category::Sast),
    optional("mobsf-android-sast", "mobsf", Category::Sast),
    optional("mobsf-ios-sast", "mobsf", Category::Sast),
];
const DEPENDENCY_SCANNING: &[TemplateJob] = &[
    job("gemnasium-dependency_scanning", "gemnasium", Category::Sca),
    optional("gemnasium-maven-dependency_scanning", "gemnasium", Category::Sca),
    optional("gemnasium-python-dependency_scanning", "gemnasium", Category::Sca),
    optional("dependency-scanning", "gitlab-dependency-scanning", Category::Sca),
];
const SECRET_DETECTION: &[TemplateJob] = &[job("secret_detection", "gitlab-secret-detection", Category::Secrets)];
const CONTAINER_SCANNING: &[TemplateJob] = &[job(
    "container_scanning",
    "gitlab-container-scanning",
    Category::Container,
)];
const DAST: &[TemplateJob] = &[job("dast", "gitlab-dast", Category::Dast)];
const SAST_IAC: &[TemplateJob] = &[job("kics-iac-sast", "kics", Category::Iac)];
const LICENSE_SCANNING: &[TemplateJob] = &[job("license_scanning", "gitlab-license-scanning", Category::License)];

/// GitLab's security templates and the scanner jobs each defines.
fn template_jobs(template: &str) -> Option<&'static [TemplateJob]> {
    let name = template
        .trim()
        .trim_end_matches(".gitlab-ci.yml")
        .trim_end_matches(".latest");
    let name = name.rsplit('/').next().unwrap_or(name);
    match name {
        "SAST" => Some(SAST),
        "Dependency-Scanning" => Some(DEPENDENCY_SCANNING),
        "Secret-Detection" => Some(SECRET_DETECTION),
        "Container-Scanning" => Some(CONTAINER_SCANNING),
        "DAST" => Some(DAST),
        "SAST-IaC" => Some(SAST_IAC),
        "License-Scanning" => Some(LICENSE_SCANNING),
        _ => None,
    }
}

/// GitLab analyzer images (`$SECURE_ANALYZERS_PREFIX/<name>`) and what they are.
fn analyzer(image: &str) -> Option<(&'static str, Category)> {
    let lower = image.to_ascii_lowercase();
    if !(lower.contains("security-products/analyzers/")
        || lower.contains("$secure_analyzers_prefix/")
        || lower.contains("${secure_analyzers_prefix}/"))
    {
        return None;
    }
    let name = lower.rsplit('/').next().unwrap_or(&lower);
    let name = name.split(':').next().unwrap_or(name);
    Some(match name {
        "secrets" => ("gitlab-secret-detection", Category::Secrets),
        "semgrep" => ("semgrep", Category::Sast),
        "gitlab-advanced-sast" => ("gitlab-advanced-sast", Category::Sast),
        "kics" => ("kics", Category::Iac),
        "kubesec" => ("kubesec", Category::Iac),
        "container-scanning" => ("gitlab-container-scanning", Category::Container),
        "dast" | "api-security" => ("gitlab-dast", Category::Dast),
        "license-finder" => ("gitlab-license-scanning", Category::License),
        name if name.starts_with("gemnasium") || name == "dependency-scanning" => ("gemnasium", Category::Sca),
        _ => ("gitlab-sast", Category::Sast),
    })
}

/// Exit codes a tool uses for findings, for `allow_failure: exit_codes`.
fn findings_exit_codes(tool: &str, rule_text: &str) -> Vec<i64> {
    if let Some(code) = rule_text
        .split([' ', '='])
        .skip_while(|word| *word != "--exit-code" && *word != "exit-code:")
        .nth(1)
        .and_then(|value| value.trim().parse().ok())
    {
        return vec![code];
    }
    match tool {
        "terrascan" | "govulncheck" | "brakeman" => vec![3],
        "trufflehog" => vec![183],
        "retire" => vec![13],
        "zap" => vec![1, 2],
        "kics" => vec![20, 30, 40, 50, 60],
        _ => vec![1],
    }
}

fn reason(
    file: Option<String>,
    line: u64,
    text: impl Into<String>,
    why: impl Into<String>,
    effect: &'static str,
) -> Reason {
    Reason {
        file,
        line,
        text: text.into(),
        why: why.into(),
        effect,
    }
}

struct Config {
    /// Top-level entries, the main file's over included ones.
    entries: Vec<(Node, Node)>,
    /// Names of the inputs, by `Node::source`.
    sources: Vec<String>,
    /// The text of each input, by `Node::source`, for columns and lines as written.
    texts: Vec<String>,
    /// Included templates: name and include line (in the main file or an included one).
    templates: Vec<(String, u64, u16)>,
    /// `extends`/`!reference` chains refused (too deep, cyclic): source, line, message.
    refused: std::cell::RefCell<Vec<(u16, u64, String)>>,
}

impl Config {
    fn get(&self, key: &str) -> Option<&Node> {
        self.entries
            .iter()
            .find(|(name, _)| name.as_str() == Some(key))
            .map(|(_, value)| value)
    }

    /// The line `line` of input `source`, trimmed.
    fn line_text(&self, source: u16, line: u64) -> Option<&str> {
        self.texts
            .get(source as usize)?
            .lines()
            .nth(line.checked_sub(1)? as usize)
            .map(str::trim)
    }

    /// Record a refused chain once.
    fn refuse(&self, node: &Node, message: String) {
        let mut refused = self.refused.borrow_mut();
        if !refused
            .iter()
            .any(|(source, line, known)| *source == node.source && *line == node.line && *known == message)
        {
            refused.push((node.source, node.line, message));
        }
    }

    fn file_of(&self, node: &Node) -> Option<String> {
        (node.source != 0).then(|| self.sources.get(node.source as usize).cloned().unwrap_or_default())
    }

    /// Follow `!reference [path...]` tags, up to [`MAX_CHAIN`] references
    /// deep; a deeper (or cyclic) chain is refused.
    fn deref(&self, node: &Node, depth: usize) -> Node {
        if node.tag.as_deref() == Some("!reference") {
            if depth >= MAX_CHAIN {
                self.refuse(
                    node,
                    format!("`!reference` chain deeper than {MAX_CHAIN} (or cyclic): refused, as GitLab does"),
                );
                return node.clone();
            }
            let path: Vec<&str> = node.items().iter().filter_map(Node::as_str).collect();
            let mut current = self.get(path.first().copied().unwrap_or_default());
            for key in path.iter().skip(1) {
                current = current.and_then(|found| found.get(key));
            }
            return match current {
                Some(found) => self.deref(found, depth + 1),
                None => node.clone(),
            };
        }
        match &node.value {
            Value::Seq(items) => {
                let mut flat = Vec::new();
                for item in items {
                    let resolved = self.deref(item, depth);
                    if item.tag.as_deref() == Some("!reference")
                        && let Value::Seq(inner) = resolved.value
                    {
                        flat.extend(inner);
                        continue;
                    }
                    flat.push(resolved);
                }
                Node {
                    value: Value::Seq(flat),
                    ..node.clone()
                }
            }
            Value::Map(entries) => Node {
                value: Value::Map(
                    entries
                        .iter()
                        .map(|(key, value)| (key.clone(), self.deref(value, depth)))
                        .collect(),
                ),
                ..node.clone()
            },
            Value::Scalar { .. } => node.clone(),
        }
    }

    /// A job with its `extends` chain merged in (deep merge of mappings).
    /// `None` when there is no such job, or its chain is refused (more than
    /// [`MAX_CHAIN`] levels, or cyclic): the refusal is recorded with its position.
    fn resolve_job(&self, name: &str) -> Option<Node> {
        self.resolve_chain(name, &mut Vec::new()).ok().flatten()
    }

    fn resolve_chain(&self, name: &str, ancestors: &mut Vec<String>) -> Result<Option<Node>, ()> {
        let Some(own) = self.get(name) else {
            return Ok(None);
        };
        let mut base: Option<Node> = None;
        if let Some((extends_key, parents)) = own.entry("extends") {
            if ancestors.iter().any(|ancestor| ancestor == name) {
                self.refuse(
                    extends_key,
                    format!(
                        "`{name}`: circular dependency in `extends` ({} -> {name}): refused, as GitLab does",
                        ancestors.join(" -> ")
                    ),
                );
                return Err(());
            }
            if ancestors.len() >= MAX_CHAIN {
                self.refuse(
                    extends_key,
                    format!(
                        "`{}`: `extends` nested deeper than {MAX_CHAIN} levels: refused, as GitLab does",
                        ancestors.first().map_or(name, String::as_str)
                    ),
                );
                return Err(());
            }
            ancestors.push(name.to_string());
            for parent in parents.strings() {
                if let Some(resolved) = self.resolve_chain(parent, ancestors)? {
                    base = Some(match base {
                        Some(existing) => merge(existing, resolved),
                        None => resolved,
                    });
                }
            }
            ancestors.pop();
        }
        let own = self.deref(own, 0);
        Ok(Some(match base {
            Some(base) => merge(base, own),
            None => own,
        }))
    }
}

fn merge(base: Node, over: Node) -> Node {
    match (base.value, over.value) {
        (Value::Map(mut entries), Value::Map(over_entries)) => {
            for (key, value) in over_entries {
                if key.as_str() == Some("extends") {
                    continue;
                }
                if let Some(index) = entries
                    .iter()
                    .position(|(existing, _)| existing.as_str() == key.as_str())
                {
                    let existing = entries.remove(index).1;
                    entries.insert(index, (key, merge(existing, value)));
                } else {
                    entries.push((key, value));
                }
            }
            Node {
                line: over.line,
                source: over.source,
                tag: over.tag,
                value: Value::Map(entries),
            }
        }
        (_, value) => Node {
            line: over.line,
            source: over.source,
            tag: over.tag,
            value,
        },
    }
}

fn load(shown: &str, text: &str, root: Node, limits: &Limits, resolve: Resolver<'_>, result: &mut Lint) -> Config {
    let mut config = Config {
        entries: Vec::new(),
        sources: vec![shown.to_string()],
        texts: vec![text.to_string()],
        templates: Vec::new(),
        refused: std::cell::RefCell::new(Vec::new()),
    };
    let mut pending: Vec<Node> = vec![root];
    let mut layers: Vec<Node> = Vec::new();
    while let Some(document) = pending.pop() {
        if let Some(include) = document.get("include") {
            let items: Vec<&Node> = match &include.value {
                Value::Seq(items) => items.iter().collect(),
                _ => vec![include],
            };
            for item in items {
                let source_file = config.sources.get(item.source as usize).cloned().unwrap_or_default();
                let (kind, value) = match &item.value {
                    Value::Scalar { text, .. } if text.starts_with("http://") || text.starts_with("https://") => {
                        ("remote", text.clone())
                    }
                    Value::Scalar { text, .. } => ("local", text.clone()),
                    Value::Map(_) => ["local", "template", "project", "remote", "component"]
                        .iter()
                        .find_map(|kind| {
                            item.get(kind)
                                .and_then(Node::as_str)
                                .map(|value| (*kind, value.to_string()))
                        })
                        .unwrap_or(("unknown", String::new())),
                    Value::Seq(_) => ("unknown", String::new()),
                };
                match kind {
                    "template" => config.templates.push((value, item.line, item.source)),
                    "local" if config.sources.len() > MAX_INCLUDES => result.diagnostics.push(model::Diagnostic {
                        file: source_file,
                        line: Some(item.line),
                        pointer: None,
                        message: format!(
                            "local include `{value}` refused: more than {MAX_INCLUDES} included files, as GitLab refuses"
                        ),
                        warning: false,
                    }),
                    "local" => match resolve(&value) {
                        // Each file is read once: an include cycle, or a file included twice, adds nothing.
                        Ok((name, _)) if config.sources.contains(&name) => {}
                        Ok((name, bytes)) => {
                            let index = config.sources.len() as u16;
                            config.sources.push(name.clone());
                            result.included.push(name.clone());
                            config.texts.push(String::from_utf8_lossy(&bytes).into_owned());
                            let parsed = std::str::from_utf8(&bytes)
                                .map_err(|_| "not UTF-8 text".to_string())
                                .and_then(|text| {
                                    yaml::parse_documents(text, limits.max_depth, index).map_err(|error| error.to_string())
                                });
                            match parsed {
                                Ok(documents) => pending.extend(documents.into_iter().filter(Node::is_map)),
                                Err(message) => result.diagnostics.push(model::Diagnostic {
                                    file: name,
                                    line: None,
                                    pointer: None,
                                    message,
                                    warning: false,
                                }),
                            }
                        }
                        Err(message) => result.diagnostics.push(model::Diagnostic {
                            file: source_file,
                            line: Some(item.line),
                            pointer: None,
                            message: format!("local include `{value}` not read: {message}"),
                            warning: true,
                        }),
                    },
                    _ => result.diagnostics.push(model::Diagnostic {
                        file: source_file,
                        line: Some(item.line),
                        pointer: None,
                        message: format!(
                            "{kind} include `{value}` not followed: it lives outside this repository, so scanner jobs it defines are not reported"
                        ),
                        warning: true,
                    }),
                }
            }
        }
        layers.push(document);
    }
    // The main file (first layer) wins over included files.
    for layer in layers {
        for (key, value) in layer.entries() {
            match config
                .entries
                .iter()
                .position(|(existing, _)| existing.as_str() == key.as_str())
            {
                Some(index) => {
                    let existing = config.entries[index].1.clone();
                    config.entries[index].1 = merge(value.clone(), existing);
                }
                None => config.entries.push((key.clone(), value.clone())),
            }
        }
    }
    config
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Pipeline {
    MergeRequest,
    Branch,
}

impl Pipeline {
    fn name(self) -> &'static str {
        match self {
            Pipeline::MergeRequest => "merge request pipeline",
            Pipeline::Branch => "branch pipeline of the merge request's source branch",
        }
    }

    fn variables(self, config: &Config) -> HashMap<String, Val> {
        let mut known = HashMap::new();
        if let Some(variables) = config.get("variables") {
            for (key, value) in variables.entries() {
                let text = value.as_str().or_else(|| value.get("value").and_then(Node::as_str));
                if let (Some(name), Some(text)) = (key.as_str(), text) {
                    known.insert(name.to_string(), Val::Str(text.to_string()));
                }
            }
        }
        let mut set = |name: &str, value: &str| {
            known.insert(name.to_string(), Val::Str(value.to_string()));
        };
        set("CI_DEFAULT_BRANCH", "main");
        set("CI_COMMIT_REF_NAME", "feature/change");
        set("CI_COMMIT_REF_SLUG", "feature-change");
        match self {
            Pipeline::MergeRequest => {
                set("CI_PIPELINE_SOURCE", "merge_request_event");
                set("CI_MERGE_REQUEST_IID", "1");
                set("CI_MERGE_REQUEST_ID", "1");
                set("CI_MERGE_REQUEST_SOURCE_BRANCH_NAME", "feature/change");
                set("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", "main");
                set("CI_MERGE_REQUEST_EVENT_TYPE", "detached");
            }
            Pipeline::Branch => {
                set("CI_PIPELINE_SOURCE", "push");
                set("CI_COMMIT_BRANCH", "feature/change");
                set("CI_OPEN_MERGE_REQUESTS", "group/project!1");
            }
        }
        known
    }
}

/// The outcome of `rules:` in one pipeline: whether the job is added, with
/// `when` and `allow_failure` of the matching rule.
struct RuleOutcome {
    added: bool,
    manual: bool,
    allow_failure: Option<(Node, u64)>,
    reason: Option<Reason>,
}

fn evaluate_rules(rules: &Node, pipeline: Pipeline, config: &Config, what: &str) -> RuleOutcome {
    let known = pipeline.variables(config);
    let scope = Scope {
        known: &known,
        unset_is_null: true,
    };
    for rule in rules.items() {
        let condition = rule
            .entry("if")
            .and_then(|(key, value)| value.as_str().map(|text| (text.to_string(), key.line)));
        let matched = match &condition {
            Some((text, _)) => expr::evaluate(text, &scope)
                .and_then(|value| value.truthy())
                .unwrap_or(true),
            None => true,
        };
        if !matched {
            continue;
        }
        let when = rule.get("when").and_then(Node::as_str).unwrap_or("on_success");
        let text = match &condition {
            Some((text, _)) => format!("if: {text}"),
            None => "rule without if".into(),
        };
        let line = condition.as_ref().map_or(rule.line, |(_, line)| *line);
        let file = config.file_of(rule);
        let changes = if rule.get("changes").is_some() || rule.get("exists").is_some() {
            " (only when the listed files change or exist)"
        } else {
            ""
        };
        if when == "never" {
            return RuleOutcome {
                added: false,
                manual: false,
                allow_failure: None,
                reason: Some(reason(
                    file,
                    line,
                    format!("{text}, when: never"),
                    format!("{what} is excluded from the {}", pipeline.name()),
                    "skips",
                )),
            };
        }
        return RuleOutcome {
            added: true,
            manual: when == "manual",
            allow_failure: rule
                .entry("allow_failure")
                .map(|(key, value)| (value.clone(), key.line)),
            reason: Some(reason(
                file,
                line,
                text,
                if when == "manual" {
                    format!("{what} is only a manual job in the {}", pipeline.name())
                } else {
                    format!("{what} runs in the {}{changes}", pipeline.name())
                },
                if when == "manual" { "skips" } else { "runs" },
            )),
        };
    }
    RuleOutcome {
        added: false,
        manual: false,
        allow_failure: None,
        reason: rules.items().first().map(|first| {
            reason(
                config.file_of(first),
                first.line,
                "rules",
                format!("no rule matches in the {}, so {what} is not added", pipeline.name()),
                "skips",
            )
        }),
    }
}

fn only_except(job: &Node, pipeline: Pipeline, config: &Config) -> Option<(bool, Reason)> {
    let matches_refs = |node: &Node| -> bool {
        let refs: Vec<&str> = match node.get("refs") {
            Some(refs) => refs.strings(),
            None => node.strings(),
        };
        refs.iter().any(|entry| match *entry {
            "merge_requests" => pipeline == Pipeline::MergeRequest,
            "branches" | "pushes" => pipeline == Pipeline::Branch,
            pattern if pattern.starts_with('/') => {
                let inner = pattern
                    .trim_start_matches('/')
                    .trim_end_matches("/i")
                    .trim_end_matches('/');
                pipeline == Pipeline::Branch
                    && regex::Regex::new(inner).is_ok_and(|regex| regex.is_match("feature/change"))
            }
            _ => false,
        })
    };
    // The line as written: the key's, or for a block list the entry that decided.
    let written = |key: &Node, value: &Node, fallback: String| -> (u64, String) {
        let entries = value.get("refs").unwrap_or(value).items();
        let key_text = config.line_text(key.source, key.line).unwrap_or_default();
        if key_text.ends_with(':') || entries.is_empty() {
            let entry = entries
                .iter()
                .find(|entry| entry.as_str() == Some("merge_requests"))
                .or_else(|| entries.first());
            if let Some(entry) = entry
                && let Some(text) = config.line_text(entry.source, entry.line)
            {
                return (entry.line, text.to_string());
            }
        }
        if key_text.is_empty() {
            (key.line, fallback)
        } else {
            (key.line, key_text.to_string())
        }
    };
    if let Some((key, only)) = job.entry("only") {
        let runs = matches_refs(only);
        let (line, text) = written(key, only, format!("only: {}", only.strings().join(", ")));
        return Some((
            runs,
            reason(
                config.file_of(key),
                line,
                text,
                format!(
                    "`only` {} the {}",
                    if runs { "includes" } else { "excludes" },
                    pipeline.name()
                ),
                if runs { "runs" } else { "skips" },
            ),
        ));
    }
    if let Some((key, except)) = job.entry("except") {
        let skipped = matches_refs(except);
        let (line, text) = written(key, except, format!("except: {}", except.strings().join(", ")));
        return Some((
            !skipped,
            reason(
                config.file_of(key),
                line,
                text,
                format!(
                    "`except` {} the {}",
                    if skipped { "excludes" } else { "does not exclude" },
                    pipeline.name()
                ),
                if skipped { "skips" } else { "runs" },
            ),
        ));
    }
    None
}

/// Whether the job runs for merge requests (in a merge request pipeline or the
/// source branch's pipeline), with the rules that decided it, and the
/// `allow_failure` of a matching rule.
/// Whether a job runs for merge requests, why, a matching rule's `allow_failure`, and whether it is only manual.
type MergeRequestRuns = (Option<bool>, Vec<Reason>, Option<(Node, u64)>, bool);

fn runs_for_merge_requests(job: &Node, config: &Config) -> MergeRequestRuns {
    let mut reasons = Vec::new();
    let mut runs = false;
    let mut manual_only = false;
    let mut rule_allow = None;
    for pipeline in [Pipeline::MergeRequest, Pipeline::Branch] {
        if let Some(workflow_rules) = config.get("workflow").and_then(|workflow| workflow.get("rules")) {
            let outcome = evaluate_rules(&config.deref(workflow_rules, 0), pipeline, config, "the pipeline");
            if !outcome.added {
                reasons.extend(outcome.reason);
                continue;
            }
        } else if pipeline == Pipeline::MergeRequest && job.get("rules").is_none() && job.get("only").is_none() {
            continue;
        }
        let (added, manual, allow, fact) = if let Some(rules) = job.get("rules") {
            let outcome = evaluate_rules(rules, pipeline, config, "the job");
            (outcome.added, outcome.manual, outcome.allow_failure, outcome.reason)
        } else if let Some((added, fact)) = only_except(job, pipeline, config) {
            (added, false, None, Some(fact))
        } else {
            (
                pipeline == Pipeline::Branch,
                false,
                None,
                (pipeline == Pipeline::Branch).then(|| reason(config.file_of(job), job.line, "no rules", "a job without `rules` or `only` runs in branch pipelines, including the merge request's source branch", "runs")),
            )
        };
        let manual = manual || job.get("when").and_then(Node::as_str) == Some("manual");
        if added && !manual {
            runs = true;
            if rule_allow.is_none() {
                rule_allow = allow;
            }
            reasons.extend(fact);
            break;
        }
        if added && manual {
            manual_only = true;
            // The matching rule's `allow_failure` decides for a manual job too.
            if rule_allow.is_none() {
                rule_allow = allow;
            }
        }
        reasons.extend(fact);
    }
    if runs {
        reasons.retain(|fact| fact.effect == "runs");
    }
    (Some(runs), reasons, rule_allow, manual_only && !runs)
}

fn allow_failure_reasons(
    job: &Node,
    rule_allow: Option<(Node, u64)>,
    tool: &str,
    exit_text: &str,
    config: &Config,
) -> Vec<Reason> {
    let (value, line, file) = match rule_allow {
        Some((value, line)) => {
            let file = config.file_of(&value);
            (value, line, file)
        }
        None => match job.entry("allow_failure") {
            Some((key, value)) => (value.clone(), key.line, config.file_of(key)),
            None => return Vec::new(),
        },
    };
    if let Some(allowed) = value.as_bool() {
        return if allowed {
            vec![reason(
                file,
                line,
                "allow_failure: true",
                "`allow_failure: true`: a failing job only warns and does not fail the pipeline",
                "advisory",
            )]
        } else {
            vec![reason(
                file,
                line,
                "allow_failure: false",
                "`allow_failure: false`: a failing job fails the pipeline",
                "blocks",
            )]
        };
    }
    if let Some(codes) = value.get("exit_codes") {
        let allowed: Vec<i64> = codes
            .strings()
            .iter()
            .filter_map(|code| code.trim().parse().ok())
            .collect();
        let findings = findings_exit_codes(tool, exit_text);
        let text = format!("allow_failure: exit_codes {allowed:?}");
        return if findings.iter().all(|code| allowed.contains(code)) {
            vec![reason(
                file,
                line,
                text,
                format!("the exit codes {tool} uses for findings ({findings:?}) are allowed to fail"),
                "advisory",
            )]
        } else if findings.iter().any(|code| allowed.contains(code)) {
            vec![reason(
                file,
                line,
                text,
                format!("some of the exit codes {tool} uses for findings ({findings:?}) are allowed to fail"),
                "unknown",
            )]
        } else {
            vec![reason(
                file,
                line,
                text,
                format!("the exit codes {tool} uses for findings ({findings:?}) are not among those allowed"),
                "blocks",
            )]
        };
    }
    Vec::new()
}

/// Script items flattened to lines, each with its file line and source.
fn script_lines(node: Option<&Node>, config: &Config) -> Vec<(String, u64, u16)> {
    let Some(node) = node else {
        return Vec::new();
    };
    let node = config.deref(node, 0);
    let items: Vec<&Node> = match &node.value {
        Value::Seq(items) => items.iter().collect(),
        _ => vec![&node],
    };
    let mut lines = Vec::new();
    for item in items {
        if let Some(text) = item.as_str() {
            let block = matches!(&item.value, Value::Scalar { plain: false, .. }) && text.contains('\n');
            for (offset, line) in text.lines().enumerate() {
                lines.push((
                    line.to_string(),
                    item.line + offset as u64 + u64::from(block),
                    item.source,
                ));
            }
        }
    }
    lines
}

/// The file line (and included file, if any) of script line `index`.
fn at_line(lines: &[(String, u64, u16)], index: usize, fallback: u64, config: &Config) -> (u64, Option<String>) {
    lines.get(index).map_or((fallback, None), |(_, line, source)| {
        (
            *line,
            config.sources.get(*source as usize).filter(|_| *source != 0).cloned(),
        )
    })
}

const GITLAB_SHELL: &str = "GitLab Runner's bash (`set -eo pipefail`)";

/// Lint a `.gitlab-ci.yml` (or a file of jobs).
pub fn lint(shown: &str, text: &str, root: Node, limits: &Limits, resolve: Resolver<'_>, result: &mut Lint) {
    let config = load(shown, text, root, limits, resolve, result);
    lint_jobs(shown, &config, result);
    // Chains GitLab refuses are refused here too, with their position.
    for (source, line, message) in config.refused.borrow().iter() {
        let column = config
            .texts
            .get(*source as usize)
            .and_then(|text| text.lines().nth(line.saturating_sub(1) as usize))
            .and_then(|written| written.find("extends").or_else(|| written.find("!reference")))
            .map_or(1, |index| index + 1);
        result.diagnostics.push(model::Diagnostic {
            file: config
                .sources
                .get(*source as usize)
                .cloned()
                .unwrap_or_else(|| shown.to_string()),
            line: Some(*line),
            pointer: None,
            message: format!("column {column}: {message}"),
            warning: false,
        });
    }
}

fn lint_jobs(shown: &str, config: &Config, result: &mut Lint) {
    let variable_true = |name: &str| {
        config
            .get("variables")
            .and_then(|variables| variables.get(name))
            .and_then(Node::as_str)
            .is_some_and(|value| matches!(value.to_ascii_lowercase().as_str(), "true" | "1"))
    };
    let mut reported: Vec<String> = Vec::new();
    // Jobs from GitLab's security templates.
    for (template, include_line, include_source) in &config.templates {
        let Some(jobs) = template_jobs(template) else {
            continue;
        };
        for template_job in jobs {
            let overridden = config.resolve_job(template_job.job);
            if template_job.only_if_overridden && overridden.is_none() {
                continue;
            }
            if let Some(variable) = template_job.enabled_by
                && overridden.is_none()
                && !variable_true(variable)
            {
                continue;
            }
            if reported.iter().any(|name| name == template_job.job) {
                continue;
            }
            reported.push(template_job.job.to_string());
            let include_file = (*include_source != 0).then(|| {
                config
                    .sources
                    .get(*include_source as usize)
                    .cloned()
                    .unwrap_or_default()
            });
            let mut reasons = vec![reason(
                include_file.clone(),
                *include_line,
                format!("template: {template}"),
                "GitLab's analyzer jobs write a security report and exit 0 whatever they find; only a merge request approval policy (outside this file) can block on their findings",
                "advisory",
            )];
            let job_node = overridden.clone().unwrap_or(Node {
                line: *include_line,
                source: *include_source,
                tag: None,
                value: Value::Map(Vec::new()),
            });
            let (on_pull_request, pull_request_reasons, rule_allow) =
                if job_node.get("rules").is_some() || job_node.get("only").is_some() {
                    let (runs, facts, allow, _) = runs_for_merge_requests(&job_node, config);
                    (runs, facts, allow)
                } else {
                    (
                        None,
                        vec![reason(
                            include_file.clone(),
                            *include_line,
                            format!("template: {template}"),
                            "the job's rules come from the template, which is not in this file",
                            "unknown",
                        )],
                        None,
                    )
                };
            let overrides = allow_failure_reasons(&job_node, rule_allow, template_job.tool, "", config);
            if overrides.is_empty() {
                reasons.push(reason(
                    include_file,
                    *include_line,
                    format!("template: {template}"),
                    "the template sets `allow_failure: true` on its analyzer jobs",
                    "advisory",
                ));
            } else {
                reasons.extend(overrides.into_iter().map(|mut fact| {
                    if fact.effect == "blocks" {
                        fact.why.push_str(", but the analyzer itself exits 0 on findings");
                    }
                    fact
                }));
            }
            let (mode, reasons) = decide(reasons);
            result.steps.push(ScannerStep {
                file: shown.to_string(),
                line: *include_line,
                platform: Platform::GitlabCi,
                job: template_job.job.to_string(),
                step: format!("template: {template}"),
                tool: template_job.tool.to_string(),
                category: template_job.category.as_str(),
                mode,
                reasons,
                on_pull_request,
                pull_request_reasons,
            });
        }
    }
    // Jobs written in the files.
    let default = config.get("default").cloned();
    for (key, _) in &config.entries {
        let Some(name) = key.as_str() else {
            continue;
        };
        if RESERVED.contains(&name) || name.starts_with('.') || reported.iter().any(|reported| reported == name) {
            continue;
        }
        let Some(job) = config.resolve_job(name).filter(Node::is_map) else {
            continue;
        };
        if job.get("script").is_none()
            && job.get("trigger").is_none()
            && job.get("extends").is_none()
            && job.get("image").is_none()
        {
            continue;
        }
        let file = config.file_of(key);
        let step_file = file.clone().unwrap_or_else(|| shown.to_string());
        let inherit_default = job
            .get("inherit")
            .and_then(|inherit| inherit.get("default"))
            .and_then(Node::as_bool)
            != Some(false);
        let image = job
            .get("image")
            .or_else(|| {
                if inherit_default {
                    default.as_ref().and_then(|default| default.get("image"))
                } else {
                    None
                }
            })
            .and_then(|image| image.as_str().or_else(|| image.get("name").and_then(Node::as_str)))
            .unwrap_or_default()
            .to_string();
        let (on_pull_request, pull_request_reasons, rule_allow, manual) = runs_for_merge_requests(&job, config);
        let mut found: Vec<(&'static str, Category, Vec<Reason>, u64, String)> = Vec::new();
        if let Some((tool, category)) = analyzer(&image) {
            let image_line = job.entry("image").map_or(key.line, |(image_key, _)| image_key.line);
            found.push((
                tool,
                category,
                vec![reason(
                    config.file_of(&job),
                    image_line,
                    format!("image: {image}"),
                    "a GitLab analyzer image: `/analyzer run` writes a security report and exits 0 whatever it finds; only a merge request approval policy (outside this file) can block",
                    "advisory",
                )],
                key.line,
                format!("image: {image}"),
            ));
        } else {
            let before = job.get("before_script").or_else(|| {
                if inherit_default {
                    default.as_ref().and_then(|default| default.get("before_script"))
                } else {
                    None
                }
            });
            let mut lines = script_lines(before, config);
            lines.extend(script_lines(job.get("script"), config));
            let shell = Shell::Posix {
                name: GITLAB_SHELL.into(),
                errexit: true,
                pipefail: true,
            };
            let script: String = lines
                .iter()
                .map(|(text, _, _)| text.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            let at = |index: usize| at_line(&lines, index, key.line, config);
            for invocation in shell::analyse(&script, &shell) {
                let (line, source) = at(invocation.line);
                let mut reasons = vec![Reason {
                    file: source.clone(),
                    ..tool_reason(&invocation.scanner.exit, line, &invocation.text)
                }];
                let effect = invocation.propagation.effect();
                for fact in &invocation.reasons {
                    let (fact_line, fact_source) = at(fact.line);
                    reasons.push(reason(
                        fact_source,
                        fact_line,
                        fact.text.clone(),
                        fact.why.clone(),
                        effect,
                    ));
                }
                let exit_text = invocation.scanner.exit.text.clone();
                let mut extra =
                    allow_failure_reasons(&job, rule_allow.clone(), invocation.scanner.tool, &exit_text, config);
                if extra.is_empty() && manual {
                    extra.push(reason(
                        file.clone(),
                        key.line,
                        "when: manual",
                        "manual jobs are allowed to fail unless `allow_failure: false`",
                        "advisory",
                    ));
                }
                reasons.extend(extra);
                match found.iter_mut().find(|(tool, ..)| *tool == invocation.scanner.tool) {
                    Some(existing) => existing.2.extend(reasons),
                    None => found.push((
                        invocation.scanner.tool,
                        invocation.scanner.category,
                        reasons,
                        key.line,
                        invocation.text.clone(),
                    )),
                }
            }
            let after = script_lines(job.get("after_script"), config);
            let after_text = after
                .iter()
                .map(|(text, _, _)| text.as_str())
                .collect::<Vec<_>>()
                .join("\n");
            for invocation in shell::analyse(&after_text, &shell) {
                let (line, source) = at_line(&after, invocation.line, key.line, config);
                found.push((
                    invocation.scanner.tool,
                    invocation.scanner.category,
                    vec![
                        Reason {
                            file: source.clone(),
                            ..tool_reason(&invocation.scanner.exit, line, &invocation.text)
                        },
                        reason(
                            source,
                            line,
                            invocation.text.clone(),
                            "`after_script` failures never fail the job",
                            "advisory",
                        ),
                    ],
                    key.line,
                    invocation.text.clone(),
                ));
            }
        }
        if found.is_empty() {
            continue;
        }
        for (tool, category, mut reasons, line, text) in found {
            if reasons.iter().all(|fact| !fact.text.starts_with("allow_failure")) {
                reasons.extend(
                    allow_failure_reasons(&job, rule_allow.clone(), tool, "", config)
                        .into_iter()
                        .filter(|fact| fact.effect != "blocks"),
                );
            }
            let (mode, mut reasons) = decide(reasons);
            let mut pull_request_reasons = pull_request_reasons.clone();
            if file.is_some() {
                // The job lives in an included file: a fact from the main file names it.
                for fact in reasons.iter_mut().chain(pull_request_reasons.iter_mut()) {
                    if fact.file.is_none() {
                        fact.file = Some(shown.to_string());
                    }
                }
            }
            result.steps.push(ScannerStep {
                file: step_file.clone(),
                line,
                platform: Platform::GitlabCi,
                job: name.to_string(),
                step: text,
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
