//! GitHub events collector: webhook payloads and REST exports about CI runs,
//! checks, merges, deployments, branch protection, rulesets and code-scanning
//! alert dismissals, as `ci_run`, `check_run`, `gate_decision` (observed),
//! `merge`, `deploy`, `branch_protection` and `alert_dismissal` records.
//!
//! One input may be a webhook payload (`{"action": ..., "workflow_run": {...}}`),
//! a REST object or list (`{"workflow_runs": [...]}`, an array of pulls), an
//! Octokit response (`{data, status, headers, meta}`) or an Octokit recorded
//! fixture (an array of request/response exchanges). Every element of a list is
//! read on its own: one that cannot be read is refused at its JSON pointer and
//! the rest still land. Events that are read but are not evidence (a pull
//! request closed without merge, an open alert, a push) give no record and one
//! note saying so. Attribute keys and the rules applied are in `docs/sources.md`.

use jiff::Timestamp;
use model::{EvidenceKind, Subject};
use serde_json::{Map, Value, json};

use crate::events::{
    Attrs, Collected, Fields, MAX_LIST_ENTRIES, Owned, Read, branch_name, each_object, github_repo_from_url,
    known_scanner, parse_events, put, refuse_unknown,
};
use crate::trivy::{Problems, bounded, type_name};
use crate::{Context, Limits, Parsed};

/// The collector id recorded in every record's source.
pub const COLLECTOR: &str = "github";

/// The `platform` attribute of every record.
const PLATFORM: &str = "github";

/// Parse one GitHub webhook payload or REST export.
///
/// Never panics; every problem becomes a diagnostic that names its line or
/// JSON pointer. See the module documentation and `docs/sources.md`.
pub fn parse(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    parse_events(bytes, context, limits, COLLECTOR, |out, document| {
        Reader { out }.document(document, "", &Scope::default());
    })
}

/// What the enclosing document says about the objects inside it.
#[derive(Default, Clone)]
struct Scope {
    /// `owner/name` from the payload's `repository` or a request path.
    repo: Option<String>,
    /// The branch from a request path (`/branches/{branch}/protection`).
    branch: Option<String>,
    /// The webhook's `action`.
    action: Option<String>,
    /// The time of the response (its `date` header), for REST state.
    observed: Option<Timestamp>,
    /// The commit an alert payload names (`commit_oid`).
    commit: Option<String>,
}

struct Reader<'a, 'c> {
    out: &'a mut Collected<'c>,
}

/// What a GitHub document that is not read is called in messages.
const WHAT: &str = "GitHub webhook payload or REST object";

/// What a REST object or webhook payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    WorkflowRun,
    WorkflowJob,
    CheckRun,
    CheckSuite,
    Pull,
    Deployment,
    DeploymentStatus,
    Protection,
    Ruleset,
    Alert,
}

/// The shape of a bare REST object, from the members only it has.
fn rest_shape(fields: Fields<'_>) -> Option<Shape> {
    let has = |key: &str| fields.has(key);
    if has("workflow_id") && has("run_number") {
        Some(Shape::WorkflowRun)
    } else if has("run_id") && (has("steps") || has("runner_name") || has("workflow_name")) {
        Some(Shape::WorkflowJob)
    } else if has("head_sha") && has("check_suite") && has("name") {
        Some(Shape::CheckRun)
    } else if has("head_sha") && (has("latest_check_runs_count") || has("before") && has("after")) {
        Some(Shape::CheckSuite)
    } else if has("number") && has("base") && has("head") {
        Some(Shape::Pull)
    } else if has("required_status_checks")
        || has("enforce_admins")
        || has("required_pull_request_reviews")
        || has("required_signatures")
    {
        Some(Shape::Protection)
    } else if has("enforcement") && (has("rules") || has("bypass_actors")) {
        Some(Shape::Ruleset)
    } else if has("environment") && has("sha") && has("task") {
        Some(Shape::Deployment)
    } else if has("state") && has("environment") && (has("deployment_url") || has("creator")) {
        Some(Shape::DeploymentStatus)
    } else if has("number") && has("state") && (has("rule") && has("tool") || has("security_advisory")) {
        Some(Shape::Alert)
    } else {
        None
    }
}

/// The webhook payload member holding the event's object, and its shape, in
/// the order they are looked for: some payloads carry related objects too (a
/// `deployment_status` payload its `deployment`, `check_run` and
/// `workflow_run`; a `workflow_job` payload a `deployment`; a `deployment`
/// payload its `workflow_run`), so the event's own member must win.
const WEBHOOK_MEMBERS: &[(&str, Shape)] = &[
    ("deployment_status", Shape::DeploymentStatus),
    ("workflow_job", Shape::WorkflowJob),
    ("deployment", Shape::Deployment),
    ("workflow_run", Shape::WorkflowRun),
    ("check_run", Shape::CheckRun),
    ("check_suite", Shape::CheckSuite),
    ("pull_request", Shape::Pull),
    ("rule", Shape::Protection),
    ("repository_ruleset", Shape::Ruleset),
    ("alert", Shape::Alert),
];

/// REST list wrappers (`{"total_count": n, "workflow_runs": [...]}`).
const LIST_MEMBERS: &[(&str, Shape)] = &[
    ("workflow_runs", Shape::WorkflowRun),
    ("jobs", Shape::WorkflowJob),
    ("check_runs", Shape::CheckRun),
    ("check_suites", Shape::CheckSuite),
];

impl Reader<'_, '_> {
    fn document(&mut self, value: &Value, pointer: &str, scope: &Scope) {
        match value {
            Value::Array(items) if is_recorded_exchanges(items) => {
                each_object(
                    self,
                    items,
                    pointer,
                    "recorded exchange",
                    problems_of,
                    |reader, exchange| {
                        reader.exchange(exchange);
                        true
                    },
                );
            }
            Value::Array(items) => each_object(self, items, pointer, WHAT, problems_of, |reader, fields| {
                reader.object(fields, scope)
            }),
            Value::Object(object) => {
                if !self.object(Fields { object, pointer }, scope) {
                    refuse_unknown(&mut self.out.problems, pointer, value, WHAT);
                }
            }
            other => refuse_unknown(&mut self.out.problems, pointer, other, WHAT),
        }
    }

    /// Read one object: an Octokit response, a list wrapper, a webhook payload or
    /// a REST object. `false` when it is none of these.
    fn object(&mut self, fields: Fields<'_>, outer: &Scope) -> bool {
        let problems = &mut self.out.problems;
        let mut scope = outer.clone();
        if let Some(repo) = fields.nested_text("repository", "full_name", problems) {
            scope.repo = Some(repo);
        }
        // Octokit response: {data, status, headers, url}.
        if fields.has("data") && fields.has("status") && fields.has("headers") {
            if let Some(headers) = fields.object("headers", problems) {
                scope.observed = header_date(headers.fields(), problems).or(scope.observed);
            }
            if let Some(url) = fields.text("url", problems) {
                scope.repo = scope.repo.or_else(|| github_repo_from_url(&url));
            }
            if let Some(data) = fields.get("data") {
                self.document(data, &fields.pointer_of("data"), &scope);
            }
            return true;
        }
        for (member, shape) in LIST_MEMBERS {
            if let Some(items) = fields.get(member).and_then(Value::as_array) {
                let pointer = fields.pointer_of(member);
                each_object(self, items, &pointer, WHAT, problems_of, |reader, item| {
                    reader.shape(*shape, item, &scope);
                    true
                });
                return true;
            }
        }
        if fields.has("action") || fields.has("sender") {
            scope.action = fields.text("action", &mut self.out.problems);
            let deployment = fields.object("deployment", &mut self.out.problems);
            for (member, shape) in WEBHOOK_MEMBERS {
                let Some(inner) = fields.get(member) else {
                    continue;
                };
                let Some(owned) = Owned::new(inner, fields.pointer_of(member)) else {
                    self.out.problems.refuse(
                        Some(fields.pointer_of(member)),
                        format!(
                            "`{member}` is {}, expected an object; nothing recorded",
                            type_name(inner)
                        ),
                    );
                    return true;
                };
                if *shape == Shape::DeploymentStatus {
                    self.deploy(Some(owned.fields()), deployment.as_ref().map(Owned::fields), &scope);
                } else {
                    if *shape == Shape::Alert {
                        let problems = &mut self.out.problems;
                        scope.branch = fields.text("ref", problems).map(|git_ref| branch_name(&git_ref));
                        scope.commit = fields.text("commit_oid", problems);
                    }
                    self.shape(*shape, owned.fields(), &scope);
                }
                return true;
            }
        }
        if fields.has("ref") && fields.has("commits") && fields.has("pusher") {
            self.out.skip("push event (no evidence kind describes a push)");
            return true;
        }
        if fields.has("enforcement") && fields.has("source_type") && !fields.has("rules") {
            // `GET /repos/{owner}/{repo}/rulesets` lists summaries without rules.
            self.out.problems.refuse(
                (!fields.pointer.is_empty()).then(|| fields.pointer.to_string()),
                "a ruleset summary without `rules` (as the rulesets list returns): export each ruleset with \
                 GET /repos/{owner}/{repo}/rulesets/{id}; nothing recorded from it",
            );
            return true;
        }
        match rest_shape(fields) {
            Some(shape) => {
                self.shape(shape, fields, &scope);
                true
            }
            None => false,
        }
    }

    fn shape(&mut self, shape: Shape, fields: Fields<'_>, scope: &Scope) {
        let mut scope = scope.clone();
        if scope.repo.is_none() {
            // Read quietly: a payload's `repository` was already checked by `object`.
            scope.repo = fields
                .get("repository")
                .and_then(|repository| repository.get("full_name"))
                .and_then(Value::as_str)
                .map(bounded)
                .or_else(|| fields.get("url").and_then(Value::as_str).and_then(github_repo_from_url));
        }
        match shape {
            Shape::WorkflowRun => self.workflow_run(fields, &scope),
            Shape::WorkflowJob => self.workflow_job(fields, &scope),
            Shape::CheckRun => self.check_run(fields, &scope),
            Shape::CheckSuite => self.check_suite(fields, &scope),
            Shape::Pull => self.pull(fields, &scope),
            Shape::Deployment => self.deploy(None, Some(fields), &scope),
            Shape::DeploymentStatus => self.deploy(Some(fields), None, &scope),
            Shape::Protection if scope.action.is_some() || fields.has("required_status_checks_enforcement_level") => {
                self.protection_rule(fields, &scope);
            }
            Shape::Protection => self.rest_protection(fields, &scope),
            Shape::Ruleset => self.ruleset(fields, &scope),
            Shape::Alert => self.alert(fields, &scope),
        }
    }

    fn workflow_run(&mut self, fields: Fields<'_>, scope: &Scope) {
        let problems = &mut self.out.problems;
        let mut attrs = Attrs::new(PLATFORM, "workflow_run", scope.action.as_deref());
        attrs.put("id", fields.text("id", problems));
        attrs.put("name", fields.text("name", problems));
        attrs.put("workflow_path", fields.text("path", problems));
        attrs.put("event", fields.text("event", problems));
        let status = fields.text("status", problems);
        let completed = status.as_deref() == Some("completed");
        attrs.put("status", status);
        attrs.put("conclusion", fields.text("conclusion", problems));
        let sha = fields.text("head_sha", problems);
        let branch = fields.text("head_branch", problems);
        attrs.put("head_sha", sha.clone());
        attrs.put("head_branch", branch.clone());
        attrs.put("run_number", fields.number("run_number", problems));
        attrs.put("run_attempt", fields.number("run_attempt", problems));
        attrs.put("actor", fields.nested_text("actor", "login", problems));
        let pulls = pull_numbers(fields, scope.repo.as_deref(), problems);
        attrs.put("pull_requests", Some(pulls.clone()));
        let started = fields.time("run_started_at", problems);
        let created = fields.time("created_at", problems);
        let updated = fields.time("updated_at", problems);
        attrs.time("started_at", started.or(created));
        if completed {
            attrs.time("completed_at", updated);
        }
        let time = if completed {
            updated.or(started).or(created)
        } else {
            started.or(created).or(updated)
        };
        let subject = Subject {
            repo: scope.repo.clone(),
            commit: sha,
            git_ref: branch,
            pull_request: pulls.first().copied(),
            ..Subject::default()
        };
        self.out
            .record(EvidenceKind::CiRun, time, subject, fields.pointer, attrs);
    }

    fn workflow_job(&mut self, fields: Fields<'_>, scope: &Scope) {
        let problems = &mut self.out.problems;
        let mut attrs = Attrs::new(PLATFORM, "workflow_job", scope.action.as_deref());
        attrs.put("id", fields.text("id", problems));
        attrs.put("run_id", fields.text("run_id", problems));
        attrs.put("run_attempt", fields.number("run_attempt", problems));
        attrs.put("name", fields.text("name", problems));
        attrs.put("workflow_name", fields.text("workflow_name", problems));
        attrs.put("status", fields.text("status", problems));
        attrs.put("conclusion", fields.text("conclusion", problems));
        let sha = fields.text("head_sha", problems);
        let branch = fields.text("head_branch", problems);
        attrs.put("head_sha", sha.clone());
        attrs.put("head_branch", branch.clone());
        let started = fields.time("started_at", problems);
        let completed = fields.time("completed_at", problems);
        let created = fields.time("created_at", problems);
        attrs.time("started_at", started);
        attrs.time("completed_at", completed);
        let mut steps = Vec::new();
        for (index, step) in fields.array("steps", problems).unwrap_or_default().iter().enumerate() {
            let Some(owned) = Owned::new(step, format!("{}/{index}", fields.pointer_of("steps"))) else {
                problems.warn(
                    Some(format!("{}/{index}", fields.pointer_of("steps"))),
                    format!("ignored: step is {}, expected an object", type_name(step)),
                );
                continue;
            };
            if steps.len() >= MAX_LIST_ENTRIES {
                break;
            }
            let step = owned.fields();
            let mut entry = Map::new();
            put(&mut entry, "number", step.number("number", problems));
            put(&mut entry, "name", step.text("name", problems));
            put(&mut entry, "status", step.text("status", problems));
            put(&mut entry, "conclusion", step.text("conclusion", problems));
            steps.push(Value::Object(entry));
        }
        attrs.put("steps", Some(steps));
        let subject = Subject {
            repo: scope.repo.clone(),
            commit: sha,
            git_ref: branch,
            ..Subject::default()
        };
        self.out.record(
            EvidenceKind::CiRun,
            completed.or(started).or(created),
            subject,
            fields.pointer,
            attrs,
        );
    }

    fn check_run(&mut self, fields: Fields<'_>, scope: &Scope) {
        let problems = &mut self.out.problems;
        let mut attrs = Attrs::new(PLATFORM, "check_run", scope.action.as_deref());
        let name = fields.text("name", problems);
        let app = app_slug(fields, problems);
        let conclusion = fields.text("conclusion", problems);
        let id = fields.text("id", problems);
        attrs.put("id", id.clone());
        attrs.put("name", name.clone());
        attrs.put("app", app.clone());
        attrs.put("status", fields.text("status", problems));
        attrs.put("conclusion", conclusion.clone());
        let sha = fields.text("head_sha", problems);
        attrs.put("head_sha", sha.clone());
        let suite = fields.object("check_suite", problems);
        let branch = suite
            .as_ref()
            .and_then(|suite| suite.fields().text("head_branch", problems));
        attrs.put("head_branch", branch.clone());
        let pulls = pull_numbers(fields, scope.repo.as_deref(), problems);
        attrs.put("pull_requests", Some(pulls.clone()));
        let started = fields.time("started_at", problems);
        let completed = fields.time("completed_at", problems);
        attrs.time("started_at", started);
        attrs.time("completed_at", completed);
        let time = completed.or(started);
        let subject = Subject {
            repo: scope.repo.clone(),
            commit: sha.clone(),
            git_ref: branch.clone(),
            pull_request: pulls.first().copied(),
            ..Subject::default()
        };
        self.out
            .record(EvidenceKind::CheckRun, time, subject.clone(), fields.pointer, attrs);

        let tool = known_scanner(&[name.as_deref(), app.as_deref()]);
        if let (Some(tool), Some("failure"), false) = (tool, conclusion.as_deref(), pulls.is_empty()) {
            let mut gate = Attrs::observed_block(PLATFORM, "check_run", scope.action.as_deref(), tool, sha, pulls);
            gate.put("check_run_id", id);
            gate.put("check_name", name);
            gate.put("app", app);
            gate.put("conclusion", conclusion);
            self.out
                .record(EvidenceKind::GateDecision, time, subject, fields.pointer, gate);
        }
    }

    fn check_suite(&mut self, fields: Fields<'_>, scope: &Scope) {
        let problems = &mut self.out.problems;
        let mut attrs = Attrs::new(PLATFORM, "check_suite", scope.action.as_deref());
        attrs.put("id", fields.text("id", problems));
        attrs.put("app", app_slug(fields, problems));
        attrs.put("status", fields.text("status", problems));
        attrs.put("conclusion", fields.text("conclusion", problems));
        let sha = fields.text("head_sha", problems);
        let branch = fields.text("head_branch", problems);
        attrs.put("head_sha", sha.clone());
        attrs.put("head_branch", branch.clone());
        let pulls = pull_numbers(fields, scope.repo.as_deref(), problems);
        attrs.put("pull_requests", Some(pulls.clone()));
        attrs.put("check_runs", fields.number("latest_check_runs_count", problems));
        let created = fields.time("created_at", problems);
        let updated = fields.time("updated_at", problems);
        attrs.time("created_at", created);
        attrs.time("updated_at", updated);
        let subject = Subject {
            repo: scope.repo.clone(),
            commit: sha,
            git_ref: branch,
            pull_request: pulls.first().copied(),
            ..Subject::default()
        };
        self.out.record(
            EvidenceKind::CheckRun,
            updated.or(created),
            subject,
            fields.pointer,
            attrs,
        );
    }

    fn pull(&mut self, fields: Fields<'_>, scope: &Scope) {
        let problems = &mut self.out.problems;
        let merged_at = fields.time("merged_at", problems);
        let merged = fields.flag("merged", problems).unwrap_or(false) || merged_at.is_some();
        if !merged {
            let reason = match fields.text("state", problems).as_deref() {
                Some("closed") => "pull request closed without merge",
                _ => "pull request not merged (open)",
            };
            self.out.skip(reason);
            return;
        }
        // A merged pull request keeps sending events (labels, comments); only
        // `closed` is the merge, so one merge gives one record.
        if scope.action.as_deref().is_some_and(|action| action != "closed") {
            self.out.skip("event about a pull request merged earlier");
            return;
        }
        let mut attrs = Attrs::new(PLATFORM, "pull_request", scope.action.as_deref());
        let number = fields.number("number", problems);
        attrs.put("number", number);
        attrs.put("title", fields.text("title", problems));
        let base = fields.object("base", problems);
        let head = fields.object("head", problems);
        let base_ref = base.as_ref().and_then(|base| base.fields().text("ref", problems));
        let head_sha = head.as_ref().and_then(|head| head.fields().text("sha", problems));
        attrs.put("base_ref", base_ref.clone());
        attrs.put(
            "head_ref",
            head.as_ref().and_then(|head| head.fields().text("ref", problems)),
        );
        attrs.put("head_sha", head_sha.clone());
        attrs.put("merge_commit_sha", fields.text("merge_commit_sha", problems));
        attrs.put("merged_by", fields.nested_text("merged_by", "login", problems));
        attrs.put("author", fields.nested_text("user", "login", problems));
        attrs.time("merged_at", merged_at);
        let repo = scope.repo.clone().or_else(|| {
            base.as_ref()
                .and_then(|base| base.fields().object("repo", problems))
                .and_then(|repo| repo.fields().text("full_name", problems))
        });
        let time = merged_at.or_else(|| fields.time("closed_at", problems));
        let subject = Subject {
            repo,
            commit: head_sha,
            git_ref: base_ref,
            pull_request: number,
            ..Subject::default()
        };
        self.out
            .record(EvidenceKind::Merge, time, subject, fields.pointer, attrs);
    }

    /// A deployment status (with its deployment, in webhooks) or a deployment alone.
    fn deploy(&mut self, status: Option<Fields<'_>>, deployment: Option<Fields<'_>>, scope: &Scope) {
        let problems = &mut self.out.problems;
        let mut attrs = Attrs::new(
            PLATFORM,
            if status.is_some() {
                "deployment_status"
            } else {
                "deployment"
            },
            scope.action.as_deref(),
        );
        let read = |fields: Option<Fields<'_>>, key: &str, problems: &mut Problems| {
            fields.and_then(|fields| fields.text(key, problems))
        };
        let environment = read(status, "environment", problems).or_else(|| read(deployment, "environment", problems));
        let sha = read(deployment, "sha", problems);
        let git_ref = read(deployment, "ref", problems);
        // A deployment without a status has been requested, not yet reported on.
        let state = status.map_or(Some("created".to_string()), |status| status.text("state", problems));
        attrs.put("environment", environment.clone());
        attrs.put("state", state);
        attrs.put("sha", sha.clone());
        attrs.put("ref", git_ref.clone());
        attrs.put("task", read(deployment, "task", problems));
        attrs.put(
            "production_environment",
            deployment.and_then(|deployment| deployment.flag("production_environment", problems)),
        );
        attrs.put("deployment_id", read(deployment, "id", problems));
        attrs.put("status_id", read(status, "id", problems));
        attrs.put("description", read(status, "description", problems));
        let creator = status
            .and_then(|status| status.nested_text("creator", "login", problems))
            .or_else(|| deployment.and_then(|deployment| deployment.nested_text("creator", "login", problems)));
        attrs.put("creator", creator);
        let time = status
            .and_then(|status| status.time("created_at", problems))
            .or_else(|| deployment.and_then(|deployment| deployment.time("created_at", problems)));
        attrs.time("created_at", time);
        let subject = Subject {
            repo: scope.repo.clone(),
            commit: sha,
            git_ref,
            environment,
            ..Subject::default()
        };
        let pointer = status.or(deployment).map_or("", |fields| fields.pointer);
        self.out.record(EvidenceKind::Deploy, time, subject, pointer, attrs);
    }

    /// The `branch_protection_rule` webhook's rule (GitHub's enforcement levels).
    fn protection_rule(&mut self, fields: Fields<'_>, scope: &Scope) {
        let problems = &mut self.out.problems;
        let mut attrs = Attrs::new(PLATFORM, "branch_protection_rule", scope.action.as_deref());
        let pattern = fields.text("name", problems);
        attrs.put("protected", Some(scope.action.as_deref() != Some("deleted")));
        attrs.put("rule_id", fields.text("id", problems));
        attrs.put("pattern", pattern.clone());
        attrs.copy(fields, problems, RULE_MEMBERS);
        if fields.flag("authorized_actors_only", problems) == Some(true) {
            attrs.put("push_allowed_actors", fields.texts("authorized_actor_names", problems));
        }
        let time = fields
            .time("updated_at", problems)
            .or_else(|| fields.time("created_at", problems));
        let subject = Subject {
            repo: scope.repo.clone(),
            git_ref: pattern,
            ..Subject::default()
        };
        self.out
            .record(EvidenceKind::BranchProtection, time, subject, fields.pointer, attrs);
    }

    /// A REST branch protection (GET or PUT `/branches/{branch}/protection`).
    fn rest_protection(&mut self, fields: Fields<'_>, scope: &Scope) {
        let problems = &mut self.out.problems;
        let mut attrs = Attrs::new(PLATFORM, "rest_branch_protection", scope.action.as_deref());
        let url = fields.text("url", problems);
        let branch = scope
            .branch
            .clone()
            .or_else(|| url.as_deref().and_then(branch_from_protection_path));
        let enabled = |key: &str, problems: &mut Problems| {
            fields
                .object(key, problems)
                .and_then(|object| object.fields().flag("enabled", problems))
        };
        let admin_enforced = enabled("enforce_admins", problems);
        let level = |present: bool| match (present, admin_enforced) {
            (false, _) => "off",
            (true, Some(true)) => "everyone",
            (true, _) => "non_admins",
        };
        attrs.put("protected", Some(true));
        attrs.put("pattern", branch.clone());
        let checks = fields.object("required_status_checks", problems);
        let mut contexts: Vec<String> = Vec::new();
        if let Some(checks) = &checks {
            let checks = checks.fields();
            contexts = checks.texts("contexts", problems).unwrap_or_default();
            for check in checks.array("checks", problems).unwrap_or_default() {
                let context = check.get("context").and_then(Value::as_str).map(bounded);
                if let Some(context) = context.filter(|context| !contexts.contains(context))
                    && contexts.len() < MAX_LIST_ENTRIES
                {
                    contexts.push(context);
                }
            }
            attrs.put("strict", checks.flag("strict", problems));
        }
        attrs.put("required_status_checks", Some(contexts));
        attrs.put("status_checks_enforcement", Some(level(checks.is_some())));
        let reviews = fields.object("required_pull_request_reviews", problems);
        if let Some(reviews) = &reviews {
            let reviews = reviews.fields();
            attrs.put(
                "required_approving_review_count",
                reviews.number("required_approving_review_count", problems),
            );
            attrs.put("dismiss_stale_reviews", reviews.flag("dismiss_stale_reviews", problems));
            attrs.put(
                "require_code_owner_review",
                reviews.flag("require_code_owner_reviews", problems),
            );
            if let Some(allowances) = reviews.object("bypass_pull_request_allowances", problems) {
                attrs.put("review_bypass_actors", Some(actors(allowances.fields(), problems)));
            }
        }
        attrs.put("reviews_enforcement", Some(level(reviews.is_some())));
        attrs.put("admin_enforced", admin_enforced);
        attrs.put("signatures_required", enabled("required_signatures", problems));
        attrs.put("linear_history_required", enabled("required_linear_history", problems));
        attrs.put("force_pushes_allowed", enabled("allow_force_pushes", problems));
        attrs.put("deletions_allowed", enabled("allow_deletions", problems));
        if let Some(restrictions) = fields.object("restrictions", problems) {
            attrs.put("push_allowed_actors", Some(actors(restrictions.fields(), problems)));
        }
        let subject = Subject {
            repo: scope.repo.clone(),
            git_ref: branch,
            ..Subject::default()
        };
        self.out.record(
            EvidenceKind::BranchProtection,
            scope.observed,
            subject,
            fields.pointer,
            attrs,
        );
    }

    /// A repository ruleset (REST or the `repository_ruleset` webhook).
    fn ruleset(&mut self, fields: Fields<'_>, scope: &Scope) {
        let problems = &mut self.out.problems;
        let mut attrs = Attrs::new(PLATFORM, "ruleset", scope.action.as_deref());
        // A repository's own ruleset names the repository as its source.
        let repo = scope.repo.clone().or_else(|| {
            (fields.text("source_type", problems).as_deref() == Some("Repository"))
                .then(|| fields.text("source", problems))
                .flatten()
        });
        let enforcement = fields.text("enforcement", problems);
        attrs.put("protected", Some(scope.action.as_deref() != Some("deleted")));
        attrs.put("ruleset_id", fields.text("id", problems));
        attrs.put("name", fields.text("name", problems));
        attrs.put("target", fields.text("target", problems));
        attrs.put("ruleset_enforcement", enforcement.clone());
        let mut include = Vec::new();
        if let Some(conditions) = fields.object("conditions", problems)
            && let Some(names) = conditions.fields().object("ref_name", problems)
        {
            include = names.fields().texts("include", problems).unwrap_or_default();
            attrs.put("include", Some(include.clone()));
            attrs.put("exclude", names.fields().texts("exclude", problems));
        }
        let mut bypass = Vec::new();
        for actor in fields.array("bypass_actors", problems).unwrap_or_default() {
            if bypass.len() >= MAX_LIST_ENTRIES {
                break;
            }
            let text = |key: &str| match actor.get(key) {
                Some(Value::String(text)) => Some(json!(bounded(text))),
                Some(Value::Number(number)) => Some(json!(number.to_string())),
                _ => None,
            };
            let mut entry = Map::new();
            put(&mut entry, "actor_type", text("actor_type"));
            put(&mut entry, "actor_id", text("actor_id"));
            put(&mut entry, "bypass_mode", text("bypass_mode"));
            bypass.push(Value::Object(entry));
        }
        attrs.put("bypass_actors", Some(bypass));
        let mut rule_types = Vec::new();
        let mut checks: Vec<String> = Vec::new();
        let mut has_checks_rule = false;
        let mut has_review_rule = false;
        for (index, rule) in fields.array("rules", problems).unwrap_or_default().iter().enumerate() {
            let Some(owned) = Owned::new(rule, format!("{}/{index}", fields.pointer_of("rules"))) else {
                continue;
            };
            let rule = owned.fields();
            let Some(rule_type) = rule.text("type", problems) else {
                continue;
            };
            let parameters = rule.object("parameters", problems);
            match rule_type.as_str() {
                "required_status_checks" => {
                    has_checks_rule = true;
                    if let Some(parameters) = &parameters {
                        let parameters = parameters.fields();
                        for check in parameters.array("required_status_checks", problems).unwrap_or_default() {
                            if let Some(context) = check.get("context").and_then(Value::as_str)
                                && checks.len() < MAX_LIST_ENTRIES
                            {
                                checks.push(bounded(context));
                            }
                        }
                        attrs.put(
                            "strict",
                            parameters.flag("strict_required_status_checks_policy", problems),
                        );
                    }
                }
                "pull_request" => {
                    has_review_rule = true;
                    if let Some(parameters) = &parameters {
                        let parameters = parameters.fields();
                        attrs.put(
                            "required_approving_review_count",
                            parameters.number("required_approving_review_count", problems),
                        );
                        attrs.put(
                            "dismiss_stale_reviews",
                            parameters.flag("dismiss_stale_reviews_on_push", problems),
                        );
                        attrs.put(
                            "require_code_owner_review",
                            parameters.flag("require_code_owner_review", problems),
                        );
                    }
                }
                _ => {}
            }
            if rule_types.len() < MAX_LIST_ENTRIES {
                rule_types.push(rule_type);
            }
        }
        // Only an active ruleset enforces; `evaluate` reports without blocking.
        let level = |present: bool| {
            if present && enforcement.as_deref() == Some("active") {
                "everyone"
            } else {
                "off"
            }
        };
        attrs.put("rules", Some(rule_types));
        attrs.put("required_status_checks", Some(checks));
        attrs.put("status_checks_enforcement", Some(level(has_checks_rule)));
        attrs.put("reviews_enforcement", Some(level(has_review_rule)));
        let time = fields
            .time("updated_at", problems)
            .or_else(|| fields.time("created_at", problems))
            .or(scope.observed);
        let git_ref = match include.as_slice() {
            [only] => Some(branch_name(only)),
            _ => None,
        };
        let subject = Subject {
            repo,
            git_ref,
            ..Subject::default()
        };
        self.out
            .record(EvidenceKind::BranchProtection, time, subject, fields.pointer, attrs);
    }

    /// A code-scanning alert: only a dismissal is evidence.
    fn alert(&mut self, fields: Fields<'_>, scope: &Scope) {
        let problems = &mut self.out.problems;
        let dependabot = fields.has("security_advisory") || fields.has("dependency");
        if !dependabot && !fields.has("rule") && !fields.has("tool") {
            self.out
                .skip("alert that is neither code scanning nor Dependabot (secret scanning is not read)");
            return;
        }
        let state = fields.text("state", problems);
        // Dependabot's auto-triage rules dismiss alerts too (`auto_dismissed`).
        let automatic = state.as_deref() == Some("auto_dismissed")
            || scope.action.as_deref() == Some("auto_dismissed")
            || fields.has("auto_dismissed_at");
        let dismissed = automatic
            || state.as_deref() == Some("dismissed")
            || matches!(scope.action.as_deref(), Some("closed_by_user" | "dismissed"))
            || fields.has("dismissed_at");
        if !dismissed {
            self.out
                .skip("alert not dismissed (open, fixed, reopened or auto-reopened)");
            return;
        }
        let object = if dependabot {
            "dependabot_alert"
        } else {
            "code_scanning_alert"
        };
        let mut attrs = Attrs::new(PLATFORM, object, scope.action.as_deref());
        attrs.put("number", fields.number("number", problems));
        attrs.put("state", state);
        if let Some(advisory) = fields.object("security_advisory", problems) {
            let advisory = advisory.fields();
            attrs.put("rule_id", advisory.text("ghsa_id", problems));
            attrs.put("rule_severity", advisory.text("severity", problems));
            attrs.put("cve_id", advisory.text("cve_id", problems));
            attrs.put("tool", Some("dependabot"));
        }
        if let Some(dependency) = fields.object("dependency", problems) {
            attrs.put("package", dependency.fields().nested_text("package", "name", problems));
            attrs.put("manifest_path", dependency.fields().text("manifest_path", problems));
        }
        if let Some(rule) = fields.object("rule", problems) {
            let rule = rule.fields();
            attrs.put("rule_id", rule.text("id", problems));
            attrs.put("rule_severity", rule.text("severity", problems));
            attrs.put(
                "security_severity_level",
                rule.text("security_severity_level", problems),
            );
        }
        if let Some(tool) = fields.object("tool", problems) {
            let name = tool.fields().text("name", problems);
            // The same tool id as the SARIF the alert came from gives its
            // `scan_report` (`CodeQL` -> `codeql`); the name is kept as given.
            let id = name.as_deref().map(crate::sarif::tool_id);
            attrs.put("tool", id);
            attrs.put("tool_name", name);
            attrs.put("tool_version", tool.fields().text("version", problems));
        }
        let mut dismissed_by = fields.nested_text("dismissed_by", "login", problems);
        let mut dismissed_reason = fields.text("dismissed_reason", problems);
        let mut dismissed_at = fields.time("dismissed_at", problems);
        if automatic {
            attrs.put("auto_dismissed", Some(true));
            dismissed_by = dismissed_by.or_else(|| Some("dependabot auto-triage rule".to_string()));
            dismissed_reason = dismissed_reason.or_else(|| Some("auto-triage rule".to_string()));
            dismissed_at = dismissed_at.or_else(|| fields.time("auto_dismissed_at", problems));
        }
        attrs.put("dismissed_by", dismissed_by.clone());
        attrs.put("dismissed_reason", dismissed_reason);
        attrs.put("dismissed_comment", fields.text("dismissed_comment", problems));
        attrs.time("dismissed_at", dismissed_at);
        let instance = fields.object("most_recent_instance", problems);
        let commit = instance
            .as_ref()
            .and_then(|instance| instance.fields().text("commit_sha", problems))
            .or_else(|| scope.commit.clone());
        let git_ref = scope.branch.clone().or_else(|| {
            instance
                .as_ref()
                .and_then(|instance| instance.fields().text("ref", problems))
                .map(|git_ref| branch_name(&git_ref))
        });
        let time = dismissed_at.or_else(|| fields.time("updated_at", problems));
        let subject = Subject {
            repo: scope.repo.clone(),
            commit,
            git_ref,
            person: dismissed_by,
            ..Subject::default()
        };
        self.out
            .record(EvidenceKind::AlertDismissal, time, subject, fields.pointer, attrs);
    }

    /// One exchange of an Octokit recorded fixture: its response read on its own.
    fn exchange(&mut self, exchange: Fields<'_>) {
        let problems = &mut self.out.problems;
        let method = exchange
            .text("method", problems)
            .unwrap_or_default()
            .to_ascii_lowercase();
        let path = exchange.text("path", problems).unwrap_or_default();
        let status = exchange.number("status", problems).unwrap_or(0);
        let mut scope = Scope {
            repo: github_repo_from_url(&path),
            branch: branch_from_protection_path(&path),
            ..Scope::default()
        };
        if let Some(headers) = exchange.object("headers", problems) {
            scope.observed = header_date(headers.fields(), problems);
        }
        let response = exchange
            .get("response")
            .filter(|response| response.is_object() || response.is_array());
        let is_protection = path.ends_with("/protection") && scope.branch.is_some();
        // A 404 also answers for a missing branch or repository: only GitHub's
        // "Branch not protected" says the branch exists without protection.
        let not_protected = response
            .and_then(|response| response.get("message"))
            .and_then(Value::as_str)
            .is_some_and(|message| message.eq_ignore_ascii_case("Branch not protected"));
        match (is_protection, method.as_str(), status, response) {
            (true, "get", 404, _) if not_protected => self.unprotected(&exchange, &method, status, &scope),
            (true, "delete", 204, _) => self.unprotected(&exchange, &method, status, &scope),
            (_, _, 200..=299, Some(response)) => self.document(response, &exchange.pointer_of("response"), &scope),
            _ => self.out.skip("recorded exchange without a readable body"),
        }
    }

    /// A branch without protection (GET 404) or whose protection was removed (DELETE 204).
    fn unprotected(&mut self, exchange: &Fields<'_>, method: &str, status: u64, scope: &Scope) {
        let mut attrs = Attrs::new(PLATFORM, "rest_branch_protection", scope.action.as_deref());
        attrs.put("protected", Some(false));
        attrs.put("pattern", scope.branch.clone());
        attrs.put("http_method", Some(method.to_ascii_uppercase()));
        attrs.put("http_status", Some(status));
        let subject = Subject {
            repo: scope.repo.clone(),
            git_ref: scope.branch.clone(),
            ..Subject::default()
        };
        self.out.record(
            EvidenceKind::BranchProtection,
            scope.observed,
            subject,
            exchange.pointer,
            attrs,
        );
    }
}

/// The members of a `branch_protection_rule` webhook's rule copied as they
/// are: `(attribute, member, how)`. The levels are GitHub's own words
/// (`off`, `non_admins`, `everyone`).
const RULE_MEMBERS: &[(&str, &str, Read)] = &[
    ("required_status_checks", "required_status_checks", Read::Texts),
    (
        "status_checks_enforcement",
        "required_status_checks_enforcement_level",
        Read::Text,
    ),
    ("strict", "strict_required_status_checks_policy", Read::Flag),
    (
        "required_approving_review_count",
        "required_approving_review_count",
        Read::Number,
    ),
    (
        "reviews_enforcement",
        "pull_request_reviews_enforcement_level",
        Read::Text,
    ),
    ("dismiss_stale_reviews", "dismiss_stale_reviews_on_push", Read::Flag),
    ("require_code_owner_review", "require_code_owner_review", Read::Flag),
    ("admin_enforced", "admin_enforced", Read::Flag),
    (
        "signatures_enforcement",
        "signature_requirement_enforcement_level",
        Read::Text,
    ),
    (
        "linear_history_enforcement",
        "linear_history_requirement_enforcement_level",
        Read::Text,
    ),
    (
        "force_pushes_enforcement",
        "allow_force_pushes_enforcement_level",
        Read::Text,
    ),
    ("deletions_enforcement", "allow_deletions_enforcement_level", Read::Text),
];

/// The problems of a reader, for [`each_object`].
fn problems_of<'r>(reader: &'r mut Reader<'_, '_>) -> &'r mut Problems {
    &mut reader.out.problems
}

/// Whether an array is an Octokit recorded fixture (`scope`, `method`, `path`, `status`).
fn is_recorded_exchanges(items: &[Value]) -> bool {
    items.first().and_then(Value::as_object).is_some_and(|first| {
        ["method", "path", "status", "scope"]
            .iter()
            .all(|key| first.contains_key(*key))
    })
}

/// The branch of a `/repos/{owner}/{repo}/branches/{branch}/protection` path or URL.
fn branch_from_protection_path(path: &str) -> Option<String> {
    let (_, after) = path.split_once("/branches/")?;
    let branch = after.strip_suffix("/protection")?;
    (!branch.is_empty()).then(|| branch.to_string())
}

/// The response time from a `date` header (RFC 2822).
fn header_date(headers: Fields<'_>, problems: &mut Problems) -> Option<Timestamp> {
    let date = headers.text("date", problems)?;
    match jiff::fmt::rfc2822::DateTimeParser::new().parse_timestamp(&date) {
        Ok(time) => Some(time),
        Err(error) => {
            problems.warn(Some(headers.pointer_of("date")), format!("time not used: {error}"));
            None
        }
    }
}

/// The numbers of a `pull_requests` member (at most [`MAX_LIST_ENTRIES`]).
fn pull_numbers(fields: Fields<'_>, repo: Option<&str>, problems: &mut Problems) -> Vec<u64> {
    fields
        .array("pull_requests", problems)
        .unwrap_or_default()
        .iter()
        .filter(|pull| repo.is_none_or(|repo| pull_is_of(pull, repo)))
        .filter_map(|pull| pull.get("number").and_then(Value::as_u64))
        .take(MAX_LIST_ENTRIES)
        .collect()
}

/// Whether a `pull_requests` entry is a pull request of `repo`: a run on a
/// fork's branch also lists the upstream repository's pull request, whose
/// `base.repo` (or own `url`) names the other repository. An entry that names
/// no repository is taken as the run's own.
fn pull_is_of(pull: &Value, repo: &str) -> bool {
    let named = pull
        .pointer("/base/repo/url")
        .or_else(|| pull.get("url"))
        .and_then(Value::as_str)
        .and_then(github_repo_from_url);
    named.is_none_or(|named| named.eq_ignore_ascii_case(repo))
}

/// The app of a check: its slug, else its name.
fn app_slug(fields: Fields<'_>, problems: &mut Problems) -> Option<String> {
    let app = fields.object("app", problems)?;
    let app = app.fields();
    app.text("slug", problems).or_else(|| app.text("name", problems))
}

/// `users`, `teams` and `apps` of a restriction or allowance, as `user:login`,
/// `team:slug`, `app:slug`.
fn actors(fields: Fields<'_>, problems: &mut Problems) -> Vec<String> {
    let mut found = Vec::new();
    for (member, prefix, key) in [
        ("users", "user", "login"),
        ("teams", "team", "slug"),
        ("apps", "app", "slug"),
    ] {
        for entry in fields.array(member, problems).unwrap_or_default() {
            let name = match entry {
                Value::String(name) => Some(name.as_str()),
                Value::Object(object) => object.get(key).and_then(Value::as_str),
                _ => None,
            };
            if let Some(name) = name
                && found.len() < MAX_LIST_ENTRIES
            {
                found.push(format!("{prefix}:{}", bounded(name)));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::OccurredAtSource;

    fn context() -> Context {
        Context {
            origin: "/in/events.json".into(),
            shown_as: "events.json".into(),
            sha256: "00".into(),
            ..Context::default()
        }
    }

    fn check(text: &str) -> Parsed {
        parse(text.as_bytes(), &context(), &Limits::default())
    }

    fn kinds(parsed: &Parsed) -> Vec<&'static str> {
        parsed.evidence.iter().map(|record| record.kind.as_str()).collect()
    }

    /// Pointer and whether it is a warning, for each diagnostic.
    fn problems(parsed: &Parsed) -> Vec<(String, bool)> {
        parsed
            .diagnostics
            .iter()
            .map(|diagnostic| (diagnostic.pointer.clone().unwrap_or_default(), diagnostic.warning))
            .collect()
    }

    const RUN: &str = r#"{"id": 1, "workflow_id": 2, "run_number": 3, "status": "completed", "conclusion": "failure",
        "head_sha": "abc", "head_branch": "main", "event": "push", "updated_at": "2025-01-02T03:04:05Z",
        "url": "https://api.github.com/repos/o/r/actions/runs/1", "pull_requests": []}"#;

    #[test]
    fn a_zero_time_is_dropped_with_a_warning() {
        let zero = RUN.replace("2025-01-02T03:04:05Z", "0001-01-01T00:00:00Z");
        let parsed = check(&format!(r#"{{"total_count": 1, "workflow_runs": [{zero}]}}"#));
        assert_eq!(kinds(&parsed), vec!["ci_run"]);
        assert_eq!(parsed.evidence[0].occurred_at, None);
        assert_eq!(
            problems(&parsed),
            vec![("/workflow_runs/0/updated_at".to_string(), true)]
        );
        assert_eq!(
            parsed.diagnostics[0].message,
            "time `0001-01-01T00:00:00Z` is the zero time (year 1); not used"
        );
    }

    #[test]
    fn one_bad_run_does_not_lose_the_rest() {
        let parsed = check(&format!(
            r#"{{"total_count": 4, "workflow_runs": [{RUN}, "run", {{"id": 9, "workflow_id": 2, "run_number": [1],
                "status": true, "head_sha": "def", "url": "https://api.github.com/repos/o/r/actions/runs/9"}}, {RUN}]}}"#
        ));
        assert_eq!(kinds(&parsed), vec!["ci_run", "ci_run", "ci_run"]);
        assert_eq!(
            problems(&parsed),
            vec![
                ("/workflow_runs/1".to_string(), false),
                ("/workflow_runs/2/status".to_string(), true),
                ("/workflow_runs/2/run_number".to_string(), true),
            ]
        );
        let record = &parsed.evidence[0];
        assert_eq!(record.subject.repo.as_deref(), Some("o/r"));
        assert_eq!(record.attrs["conclusion"], json!("failure"));
        assert_eq!(record.occurred_at_source, OccurredAtSource::Source);
        assert_eq!(record.source.pointer.as_deref(), Some("/workflow_runs/0"));
        // The run without a time has none: the ledger will stamp and say so.
        assert_eq!(parsed.evidence[1].occurred_at, None);
        assert_eq!(parsed.evidence[1].subject.commit.as_deref(), Some("def"));
    }

    #[test]
    fn malformed_files_give_one_diagnostic_with_their_position() {
        let parsed = check("{\n  \"action\": \"completed\",\n  \"workflow_run\": {\"id\": 1,,}\n}");
        assert!(parsed.evidence.is_empty());
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(parsed.diagnostics[0].line, Some(3));
        assert!(
            parsed.diagnostics[0].message.contains("column"),
            "{:?}",
            parsed.diagnostics
        );
        assert_eq!(parsed.diagnostics[0].file, "events.json");
        for text in ["", "{\"action\": \"completed\", \"check_run\": {", "[1, 2"] {
            let parsed = check(text);
            assert!(parsed.evidence.is_empty(), "{text}");
            assert_eq!(parsed.diagnostics.len(), 1, "{text}");
        }
        let deep = format!("{{\"action\":\"x\",\"check_run\":{}", "[".repeat(200));
        assert!(check(&deep).diagnostics[0].message.contains("deeper than 64"));
        let small = Limits {
            max_document_bytes: 10,
            ..Limits::default()
        };
        let parsed = parse(RUN.as_bytes(), &context(), &small);
        assert!(parsed.diagnostics[0].message.contains("larger than the limit"));
    }

    #[test]
    fn documents_that_are_not_github_events_are_refused() {
        for text in [r#"{"hello": "world"}"#, "7", r#""text""#, "null"] {
            let parsed = check(text);
            assert!(parsed.evidence.is_empty(), "{text}");
            assert_eq!(problems(&parsed), vec![(String::new(), false)], "{text}");
        }
        let parsed = check(r#"[{"hello": 1}, 2]"#);
        assert_eq!(
            problems(&parsed),
            vec![("/0".to_string(), false), ("/1".to_string(), false)]
        );
        let parsed = check(r#"{"action": "completed", "check_run": "done"}"#);
        assert_eq!(problems(&parsed), vec![("/check_run".to_string(), false)]);
    }

    #[test]
    fn a_failing_scanner_check_is_a_block_only_on_a_pull_request() {
        let check_run = |name: &str, conclusion: &str, pulls: &str| {
            format!(
                r#"{{"action": "completed", "check_run": {{"id": 5, "name": "{name}", "head_sha": "abc",
                   "status": "completed", "conclusion": "{conclusion}", "completed_at": "2025-01-01T00:00:00Z",
                   "app": {{"slug": "some-app"}}, "check_suite": {{"head_branch": "topic"}},
                   "pull_requests": [{pulls}]}}, "repository": {{"full_name": "o/r"}}}}"#
            )
        };
        let pull = r#"{"number": 3}"#;
        let parsed = check(&check_run("Trivy scan", "failure", pull));
        assert_eq!(kinds(&parsed), vec!["check_run", "gate_decision"]);
        let gate = &parsed.evidence[1];
        assert_eq!(gate.attrs["decision"], json!("block"));
        assert_eq!(gate.attrs["observed"], json!(true));
        assert_eq!(gate.attrs["tool"], json!("trivy"));
        assert_eq!(gate.subject.pull_request, Some(3));
        assert_eq!(
            kinds(&check(&check_run("Trivy scan", "failure", ""))),
            vec!["check_run"]
        );
        assert_eq!(
            kinds(&check(&check_run("Trivy scan", "success", pull))),
            vec!["check_run"]
        );
        assert_eq!(
            kinds(&check(&check_run("unit tests", "failure", pull))),
            vec!["check_run"]
        );
    }

    #[test]
    fn a_deployment_without_status_was_requested() {
        let parsed = check(
            r#"{"action": "created", "deployment": {"id": 1, "sha": "abc", "ref": "main", "task": "deploy",
                "environment": "staging", "created_at": "2025-01-01T00:00:00Z", "creator": {"login": "ana"}},
                "repository": {"full_name": "o/r"}}"#,
        );
        assert_eq!(kinds(&parsed), vec!["deploy"]);
        let record = &parsed.evidence[0];
        assert_eq!(record.attrs["state"], json!("created"));
        assert_eq!(record.attrs["creator"], json!("ana"));
        assert_eq!(record.subject.environment.as_deref(), Some("staging"));
    }

    /// A run on a fork's branch lists the upstream repository's pull request:
    /// it is not a pull request of this repository, so no observed block.
    #[test]
    fn pull_requests_of_other_repositories_are_not_this_repositorys() {
        let check_run = |base: &str| {
            format!(
                r#"{{"action": "completed", "repository": {{"full_name": "acme/svc"}}, "sender": {{"login": "x"}},
                "check_run": {{"id": 5, "name": "CodeQL", "status": "completed", "conclusion": "failure",
                "head_sha": "abc", "completed_at": "2025-01-02T03:04:05Z",
                "pull_requests": [{{"number": 9, "url": "https://api.github.com/repos/{base}/pulls/9",
                "base": {{"ref": "main", "repo": {{"url": "https://api.github.com/repos/{base}"}}}}}}]}}}}"#
            )
        };
        let foreign = check(&check_run("other/upstream"));
        assert_eq!(kinds(&foreign), vec!["check_run"]);
        assert_eq!(foreign.evidence[0].subject.pull_request, None);
        assert_eq!(foreign.evidence[0].attrs["pull_requests"], serde_json::json!([]));
        let own = check(&check_run("Acme/Svc"));
        assert_eq!(kinds(&own), vec!["check_run", "gate_decision"]);
        assert_eq!(own.evidence[0].subject.pull_request, Some(9));
    }

    /// GitHub Enterprise Server serves the API under `/api/v3`; a record that
    /// still names no repository is reported.
    #[test]
    fn enterprise_server_urls_name_the_repository_and_a_record_without_one_is_reported() {
        let parsed = check(
            r#"{"total_count": 1, "check_runs": [{"id": 1, "name": "semgrep", "status": "completed",
            "conclusion": "success", "head_sha": "abc", "completed_at": "2025-01-02T03:04:05Z",
            "url": "https://github.acme.internal/api/v3/repos/acme/svc/check-runs/1", "pull_requests": []}]}"#,
        );
        assert_eq!(parsed.evidence[0].subject.repo.as_deref(), Some("acme/svc"));
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        let nameless = check(
            r#"{"total_count": 1, "check_runs": [{"id": 1, "name": "semgrep", "status": "completed",
            "conclusion": "success", "head_sha": "abc", "completed_at": "2025-01-02T03:04:05Z", "pull_requests": []}]}"#,
        );
        assert_eq!(nameless.evidence.len(), 1);
        assert!(
            nameless
                .diagnostics
                .iter()
                .any(|diagnostic| diagnostic.warning && diagnostic.message.contains("name no repository")),
            "{:?}",
            nameless.diagnostics
        );
    }

    /// A Dependabot alert dismissed by an auto-triage rule is a dismissal.
    #[test]
    fn auto_dismissed_dependabot_alerts_are_dismissals() {
        let parsed = check(
            r#"{"action": "auto_dismissed", "repository": {"full_name": "acme/svc"}, "sender": {"login": "dependabot"},
            "alert": {"number": 4, "state": "auto_dismissed", "auto_dismissed_at": "2025-01-02T03:04:05Z",
            "dismissed_at": null, "dismissed_by": null, "dismissed_reason": null,
            "security_advisory": {"ghsa_id": "GHSA-xxxx-yyyy-zzzz", "severity": "low"},
            "dependency": {"package": {"name": "lodash"}, "manifest_path": "package.json"}}}"#,
        );
        assert_eq!(kinds(&parsed), vec!["alert_dismissal"]);
        let record = &parsed.evidence[0];
        assert_eq!(record.attrs["auto_dismissed"], serde_json::json!(true));
        assert_eq!(
            record.attrs["dismissed_at"],
            serde_json::json!("2025-01-02T03:04:05.000000000Z")
        );
        assert_eq!(
            record.attrs["dismissed_by"],
            serde_json::json!("dependabot auto-triage rule")
        );
        assert_eq!(record.attrs["tool"], serde_json::json!("dependabot"));
    }

    /// The rulesets list holds summaries without rules: refused with what to export instead.
    #[test]
    fn a_rulesets_list_says_to_export_each_ruleset() {
        let parsed = check(
            r#"[{"id": 7, "name": "main", "target": "branch", "source_type": "Repository", "source": "acme/svc",
            "enforcement": "active", "node_id": "RRS_1", "_links": {}, "created_at": "2025-01-01T00:00:00Z"}]"#,
        );
        assert!(parsed.evidence.is_empty());
        assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
        assert!(!parsed.diagnostics[0].warning);
        assert!(
            parsed.diagnostics[0].message.contains("rulesets/{id}"),
            "{}",
            parsed.diagnostics[0].message
        );
    }

    #[test]
    fn a_deleted_rule_and_an_active_ruleset_webhook() {
        let parsed = check(
            r#"{"action": "deleted", "rule": {"id": 1, "name": "main", "required_status_checks": [],
                "required_status_checks_enforcement_level": "off", "pull_request_reviews_enforcement_level": "off",
                "admin_enforced": false, "updated_at": "2025-01-01T00:00:00Z"},
                "repository": {"full_name": "o/r"}}"#,
        );
        assert_eq!(parsed.evidence[0].attrs["protected"], json!(false));
        let parsed = check(
            r#"{"action": "created", "repository_ruleset": {"id": 7, "name": "all", "enforcement": "active",
                "bypass_actors": [], "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
                "rules": [{"type": "required_status_checks", "parameters": {"required_status_checks":
                  [{"context": "ci"}], "strict_required_status_checks_policy": false}}, 5]},
                "repository": {"full_name": "o/r"}}"#,
        );
        assert_eq!(kinds(&parsed), vec!["branch_protection"]);
        let attrs = &parsed.evidence[0].attrs;
        assert_eq!(attrs["status_checks_enforcement"], json!("everyone"));
        assert_eq!(attrs["reviews_enforcement"], json!("off"));
        assert_eq!(attrs["required_status_checks"], json!(["ci"]));
        assert_eq!(parsed.evidence[0].subject.git_ref.as_deref(), Some("~DEFAULT_BRANCH"));
    }

    #[test]
    fn the_event_member_wins_over_related_objects_in_the_payload() {
        let parsed = check(
            r#"{"action": "created",
                "deployment_status": {"id": 1, "state": "failure", "environment": "prod",
                                      "created_at": "2025-01-01T00:00:00Z"},
                "deployment": {"id": 2, "sha": "abc", "ref": "main", "task": "deploy", "environment": "prod"},
                "check_run": {"id": 3, "name": "deploy", "head_sha": "abc", "check_suite": {}},
                "workflow_run": {"id": 4, "workflow_id": 5, "run_number": 6, "head_sha": "abc"},
                "repository": {"full_name": "o/r"}}"#,
        );
        assert_eq!(kinds(&parsed), vec!["deploy"]);
        assert_eq!(parsed.evidence[0].attrs["state"], json!("failure"));
        let parsed = check(
            r#"{"action": "completed",
                "workflow_job": {"id": 1, "run_id": 2, "steps": [], "status": "completed", "conclusion": "success"},
                "deployment": {"id": 2, "sha": "abc", "ref": "main", "task": "deploy", "environment": "prod"},
                "repository": {"full_name": "o/r"}}"#,
        );
        assert_eq!(kinds(&parsed), vec!["ci_run"]);
    }

    #[test]
    fn only_the_closing_event_of_a_merged_pull_request_is_a_merge() {
        let payload = |action: &str| {
            format!(
                r#"{{"action": "{action}", "number": 4, "pull_request": {{"number": 4, "state": "closed",
                   "merged": true, "merged_at": "2025-01-01T00:00:00Z", "base": {{"ref": "main"}},
                   "head": {{"ref": "x", "sha": "abc"}}}}, "repository": {{"full_name": "o/r"}}}}"#
            )
        };
        assert_eq!(kinds(&check(&payload("closed"))), vec!["merge"]);
        let labeled = check(&payload("labeled"));
        assert!(labeled.evidence.is_empty());
        assert!(labeled.diagnostics[0].message.contains("merged earlier"));
    }

    #[test]
    fn dependabot_dismissals_are_read_and_secret_scanning_is_noted() {
        let parsed = check(
            r#"{"action": "dismissed", "alert": {"number": 2, "state": "dismissed",
                "dependency": {"package": {"ecosystem": "npm", "name": "lodash"}, "manifest_path": "package.json"},
                "security_advisory": {"ghsa_id": "GHSA-xxxx", "cve_id": "CVE-2021-1", "severity": "high"},
                "dismissed_by": {"login": "ana"}, "dismissed_reason": "tolerable_risk",
                "dismissed_at": "2025-01-01T00:00:00Z"}, "repository": {"full_name": "o/r"}}"#,
        );
        assert_eq!(kinds(&parsed), vec!["alert_dismissal"]);
        let attrs = &parsed.evidence[0].attrs;
        assert_eq!(attrs["object"], json!("dependabot_alert"));
        assert_eq!(attrs["rule_id"], json!("GHSA-xxxx"));
        assert_eq!(attrs["tool"], json!("dependabot"));
        assert_eq!(attrs["package"], json!("lodash"));
        assert_eq!(parsed.evidence[0].subject.person.as_deref(), Some("ana"));
        let parsed = check(
            r#"{"action": "resolved", "alert": {"number": 3, "state": "resolved", "secret_type": "token"},
                "repository": {"full_name": "o/r"}}"#,
        );
        assert!(parsed.evidence.is_empty());
        assert!(parsed.diagnostics[0].warning);
    }

    #[test]
    fn a_recorded_404_is_unprotected_only_when_github_says_so() {
        let exchange = |message: &str| {
            format!(
                r#"[{{"scope": "https://api.github.com:443", "method": "get", "status": 404,
                    "path": "/repos/o/r/branches/main/protection", "response": {{"message": "{message}"}},
                    "headers": {{"date": "Tue, 10 Oct 2017 16:00:00 GMT"}}}}]"#
            )
        };
        let parsed = check(&exchange("Branch not protected"));
        assert_eq!(parsed.evidence[0].attrs["protected"], json!(false));
        assert_eq!(parsed.evidence[0].subject.git_ref.as_deref(), Some("main"));
        assert!(check(&exchange("Branch not found")).evidence.is_empty());
    }

    #[test]
    fn the_same_input_gives_the_same_records() {
        let text = format!(r#"{{"workflow_runs": [{RUN}]}}"#);
        assert_eq!(check(&text).evidence, check(&text).evidence);
    }

    #[test]
    fn operator_options_fill_what_the_input_does_not_say() {
        let context = Context {
            repo: Some("flag/repo".into()),
            occurred_at: Some("2025-06-01T00:00:00Z".parse().unwrap_or_default()),
            ..context()
        };
        let parsed = parse(
            br#"{"action": "completed", "workflow_job": {"id": 1, "run_id": 2, "steps": [], "status": "queued"}}"#,
            &context,
            &Limits::default(),
        );
        let record = &parsed.evidence[0];
        assert_eq!(record.subject.repo.as_deref(), Some("flag/repo"));
        assert_eq!(record.occurred_at_source, OccurredAtSource::Flag);
    }
}
