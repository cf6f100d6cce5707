//! GitLab events collector: webhook payloads (pipeline, job, merge request and
//! deployment hooks) and REST exports (pipelines, jobs, merge requests,
//! deployments; one object or a list) as `ci_run`, `merge` and `deploy` records.
//!
//! Statuses are normalised to GitHub's pair so that probes read one form:
//! `success`, `failed`, `canceled` and `skipped` become `status: "completed"`
//! with `conclusion` `success`, `failure`, `cancelled`, `skipped`; any other
//! status is kept as is, without a conclusion. GitLab's own word is kept in
//! `gitlab_status`. A merge request that is not merged gives no record and one
//! note. Every element of a list is read on its own. Attribute keys and the
//! rules applied are in `docs/sources.md`.

use jiff::Timestamp;
use model::{EvidenceKind, Subject};
use serde_json::Value;

use crate::events::{
    Attrs, Collected, Fields, MAX_LIST_ENTRIES, Owned, branch_name, each_object, known_scanner, parse_events,
    refuse_unknown,
};
use crate::trivy::{Problems, type_name};
use crate::{Context, Limits, Parsed};

/// The collector id recorded in every record's source.
pub const COLLECTOR: &str = "gitlab";

/// The `platform` attribute of every record.
const PLATFORM: &str = "gitlab";

/// Parse one GitLab webhook payload or REST export.
///
/// Never panics; every problem becomes a diagnostic that names its line or
/// JSON pointer. See the module documentation and `docs/sources.md`.
pub fn parse(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    parse_events(bytes, context, limits, COLLECTOR, |out, document| {
        let mut reader = Reader { out };
        match document {
            Value::Array(items) => each_object(&mut reader, items, "", WHAT, problems_of, Reader::object),
            Value::Object(object) => {
                if !reader.object(Fields { object, pointer: "" }) {
                    refuse_unknown(&mut reader.out.problems, "", document, WHAT);
                }
            }
            other => refuse_unknown(&mut reader.out.problems, "", other, WHAT),
        }
    })
}

/// What a GitLab document that is not read is called in messages.
const WHAT: &str = "GitLab webhook payload or REST object";

struct Reader<'a, 'c> {
    out: &'a mut Collected<'c>,
}

/// The problems of a reader, for [`each_object`].
fn problems_of<'r>(reader: &'r mut Reader<'_, '_>) -> &'r mut Problems {
    &mut reader.out.problems
}

/// `status` and `conclusion` in GitHub's form for a GitLab status.
fn normalise_status(status: &str) -> (String, Option<&'static str>) {
    let conclusion = match status {
        "success" => Some("success"),
        "failed" => Some("failure"),
        "canceled" => Some("cancelled"),
        "skipped" => Some("skipped"),
        _ => None,
    };
    match conclusion {
        Some(conclusion) => ("completed".to_string(), Some(conclusion)),
        None => (status.to_string(), None),
    }
}

/// What a job record needs besides the job's own members.
struct Job {
    /// The members read: id, name, stage, status, allow_failure,
    /// failure_reason, created_at, started_at, finished_at.
    names: [&'static str; 9],
    /// The pipeline's id.
    run_id: Option<String>,
    /// The commit.
    sha: Option<String>,
    /// The ref, as given.
    git_ref: Option<String>,
}

/// A REST job's members (and a pipeline hook's `builds[]`).
const JOB_MEMBERS: [&str; 9] = [
    "id",
    "name",
    "stage",
    "status",
    "allow_failure",
    "failure_reason",
    "created_at",
    "started_at",
    "finished_at",
];

/// The job hook's members.
const JOB_HOOK_MEMBERS: [&str; 9] = [
    "build_id",
    "build_name",
    "build_stage",
    "build_status",
    "build_allow_failure",
    "build_failure_reason",
    "build_created_at",
    "build_started_at",
    "build_finished_at",
];

/// `status`, `conclusion` and `gitlab_status` from a GitLab status; whether it failed.
fn put_status(attrs: &mut Attrs, raw: Option<String>) -> bool {
    let Some(raw) = raw else {
        return false;
    };
    let (status, conclusion) = normalise_status(&raw);
    attrs.put("status", Some(status));
    attrs.put("conclusion", conclusion);
    attrs.put("gitlab_status", Some(raw));
    conclusion == Some("failure")
}

/// `group/project` from a web URL (`https://host/group/sub/project/-/pipelines/1`).
fn project_from_web_url(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let (_, path) = rest.split_once('/')?;
    let path = path.split("/-/").next().unwrap_or(path).trim_end_matches('/');
    (path.contains('/')).then(|| path.to_string())
}

/// The value at a path of members below an object (no wrong-type warning:
/// for optional members whose absence is normal).
fn member_at<'a>(fields: Fields<'a>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(fields.object.get(*first)?, |value, member| value.get(*member))
}

impl Reader<'_, '_> {
    /// Read one object; `false` when it is not one this collector knows.
    fn object(&mut self, fields: Fields<'_>) -> bool {
        let kind = fields.text("object_kind", &mut self.out.problems);
        match kind.as_deref() {
            Some("pipeline") => self.pipeline_hook(fields),
            Some("build") => self.job_hook(fields),
            Some("merge_request") => self.merge_request_hook(fields),
            Some("deployment") => self.deployment_hook(fields),
            Some("push" | "tag_push" | "note" | "issue" | "wiki_page" | "release" | "emoji" | "feature_flag") => {
                self.out.skip("GitLab hook of a kind that is not evidence");
            }
            Some(_) => return false,
            None => return self.rest_object(fields),
        }
        true
    }

    /// A REST object, recognised by the members only it has.
    fn rest_object(&mut self, fields: Fields<'_>) -> bool {
        let has = |key: &str| fields.has(key);
        let repo = self.repo_of(fields);
        if has("iid") && has("target_branch") && has("source_branch") {
            self.rest_merge_request(fields, repo);
        } else if has("stage") && has("pipeline") && has("status") {
            self.job(fields, None, repo, None);
        } else if has("environment") && has("sha") && (has("deployable") || has("iid")) {
            self.rest_deployment(fields, repo);
        } else if has("id") && has("status") && has("ref") && has("sha") {
            self.pipeline(fields, repo, None, None);
        } else {
            return false;
        }
        true
    }

    /// `group/project` of a hook (`project.path_with_namespace`) or a REST object (`web_url`).
    fn repo_of(&mut self, fields: Fields<'_>) -> Option<String> {
        fields
            .nested_text("project", "path_with_namespace", &mut self.out.problems)
            .or_else(|| {
                // A REST deployment names its project only in its job's URLs.
                [
                    &["web_url"][..],
                    &["deployable", "web_url"],
                    &["deployable", "pipeline", "web_url"],
                ]
                .iter()
                .find_map(|path| member_at(fields, path).and_then(Value::as_str))
                .and_then(project_from_web_url)
            })
    }

    fn pipeline_hook(&mut self, hook: Fields<'_>) {
        let Some(pipeline) = hook.object("object_attributes", &mut self.out.problems) else {
            self.out
                .problems
                .refuse(None, "pipeline hook without `object_attributes`; nothing recorded");
            return;
        };
        let repo = self.repo_of(hook);
        let merge_request = hook
            .object("merge_request", &mut self.out.problems)
            .and_then(|request| request.fields().number("iid", &mut self.out.problems));
        let user = hook.nested_text("user", "username", &mut self.out.problems);
        self.pipeline(pipeline.fields(), repo.clone(), merge_request, user);
        let builds = hook.array("builds", &mut self.out.problems).unwrap_or_default();
        if builds.len() > MAX_LIST_ENTRIES {
            self.out.problems.refuse(
                Some(format!("{}/{MAX_LIST_ENTRIES}", hook.pointer_of("builds"))),
                format!(
                    "{} jobs in `builds`, more than {MAX_LIST_ENTRIES}: the first {MAX_LIST_ENTRIES} read, the {} \
                     from here on not read",
                    builds.len(),
                    builds.len().saturating_sub(MAX_LIST_ENTRIES)
                ),
            );
        }
        for (index, build) in builds.iter().enumerate().take(MAX_LIST_ENTRIES) {
            let pointer = format!("{}/{index}", hook.pointer_of("builds"));
            match Owned::new(build, pointer.clone()) {
                Some(owned) => self.job(owned.fields(), Some(pipeline.fields()), repo.clone(), merge_request),
                None => self.out.problems.refuse(
                    Some(pointer),
                    format!("job is {}, expected an object; skipped", type_name(build)),
                ),
            }
        }
    }

    /// A pipeline (the hook's `object_attributes` or a REST pipeline).
    fn pipeline(&mut self, fields: Fields<'_>, repo: Option<String>, merge_request: Option<u64>, user: Option<String>) {
        let problems = &mut self.out.problems;
        let mut attrs = Attrs::new(PLATFORM, "pipeline", None);
        attrs.put("id", fields.text("id", problems));
        attrs.put("iid", fields.number("iid", problems));
        attrs.put("name", fields.text("name", problems));
        put_status(&mut attrs, fields.text("status", problems));
        attrs.put("event", fields.text("source", problems));
        let sha = fields.text("sha", problems);
        let git_ref = fields.text("ref", problems).map(|git_ref| branch_name(&git_ref));
        attrs.put("head_sha", sha.clone());
        attrs.put("head_branch", git_ref.clone());
        attrs.put("tag", fields.flag("tag", problems));
        attrs.put("pull_requests", Some(merge_request.into_iter().collect::<Vec<u64>>()));
        attrs.put(
            "actor",
            user.or_else(|| fields.nested_text("user", "username", problems)),
        );
        let created = fields.time("created_at", problems);
        let started = fields.time("started_at", problems);
        let finished = fields.time("finished_at", problems);
        let updated = fields.time("updated_at", problems);
        attrs.time("started_at", started.or(created));
        attrs.time("completed_at", finished);
        attrs.put("duration_seconds", fields.number("duration", problems));
        let subject = Subject {
            repo,
            commit: sha,
            git_ref,
            pull_request: merge_request,
            ..Subject::default()
        };
        let time = finished.or(updated).or(started).or(created);
        self.out
            .record(EvidenceKind::CiRun, time, subject, fields.pointer, attrs);
    }

    /// A job: an element of a pipeline hook's `builds` or a REST job.
    fn job(
        &mut self,
        fields: Fields<'_>,
        hook_pipeline: Option<Fields<'_>>,
        repo: Option<String>,
        merge_request: Option<u64>,
    ) {
        let problems = &mut self.out.problems;
        let rest_pipeline = fields.object("pipeline", problems);
        let pipeline = hook_pipeline.or(rest_pipeline.as_ref().map(Owned::fields));
        let job = Job {
            names: JOB_MEMBERS,
            run_id: pipeline.and_then(|pipeline| pipeline.text("id", problems)),
            sha: pipeline
                .and_then(|pipeline| pipeline.text("sha", problems))
                .or_else(|| fields.nested_text("commit", "id", problems)),
            git_ref: fields
                .text("ref", problems)
                .or_else(|| pipeline.and_then(|pipeline| pipeline.text("ref", problems))),
        };
        self.job_record(fields, job, repo, merge_request);
    }

    /// The job hook (`object_kind: "build"`): the job's members sit at the top, prefixed `build_`.
    fn job_hook(&mut self, hook: Fields<'_>) {
        let repo = self.repo_of(hook).or_else(|| {
            hook.nested_text("repository", "homepage", &mut self.out.problems)
                .as_deref()
                .and_then(project_from_web_url)
        });
        let problems = &mut self.out.problems;
        let job = Job {
            names: JOB_HOOK_MEMBERS,
            run_id: hook.text("pipeline_id", problems),
            sha: hook.text("sha", problems),
            git_ref: hook.text("ref", problems),
        };
        self.job_record(hook, job, repo, None);
    }

    /// One `ci_run` record for a job, its members read under `job.names`.
    fn job_record(&mut self, fields: Fields<'_>, job: Job, repo: Option<String>, merge_request: Option<u64>) {
        let problems = &mut self.out.problems;
        let [
            id,
            name,
            stage,
            status,
            allow_failure,
            failure_reason,
            created_at,
            started_at,
            finished_at,
        ] = job.names;
        let mut attrs = Attrs::new(PLATFORM, "job", None);
        let job_id = fields.text(id, problems);
        let job_name = fields.text(name, problems);
        attrs.put("id", job_id.clone());
        attrs.put("name", job_name.clone());
        attrs.put("stage", fields.text(stage, problems));
        let failed = put_status(&mut attrs, fields.text(status, problems));
        let allowed_to_fail = fields.flag(allow_failure, problems);
        attrs.put("allow_failure", allowed_to_fail);
        if failed {
            attrs.put("failure_reason", fields.text(failure_reason, problems));
        }
        attrs.put("run_id", job.run_id);
        let git_ref = job.git_ref.map(|git_ref| branch_name(&git_ref));
        attrs.put("head_sha", job.sha.clone());
        attrs.put("head_branch", git_ref.clone());
        let created = fields.time(created_at, problems);
        let started = fields.time(started_at, problems);
        let finished = fields.time(finished_at, problems);
        attrs.time("started_at", started);
        attrs.time("completed_at", finished);
        let subject = Subject {
            repo,
            commit: job.sha,
            git_ref,
            pull_request: merge_request,
            ..Subject::default()
        };
        let time = finished.or(started).or(created);
        let sha = subject.commit.clone();
        self.out
            .record(EvidenceKind::CiRun, time, subject.clone(), fields.pointer, attrs);
        // A known scanner's job that failed a merge request pipeline without
        // being allowed to fail blocked the merge request: an observed block,
        // as a failing scanner check run on a GitHub pull request is.
        let tool = known_scanner(&[job_name.as_deref()]);
        if let (Some(tool), true, false, Some(number)) = (tool, failed, allowed_to_fail == Some(true), merge_request) {
            let mut gate = Attrs::observed_block(PLATFORM, "job", None, tool, sha, vec![number]);
            gate.put("job_id", job_id);
            gate.put("job_name", job_name);
            self.out
                .record(EvidenceKind::GateDecision, time, subject, fields.pointer, gate);
        }
    }

    fn merge_request_hook(&mut self, hook: Fields<'_>) {
        let Some(request) = hook.object("object_attributes", &mut self.out.problems) else {
            self.out
                .problems
                .refuse(None, "merge request hook without `object_attributes`; nothing recorded");
            return;
        };
        let request = request.fields();
        let repo = self.repo_of(hook);
        let problems = &mut self.out.problems;
        let action = request.text("action", problems);
        let state = request.text("state", problems);
        // A merged merge request keeps sending events (`update`, ...); only the
        // `merge` action (or, without an action, the merged state) is the merge.
        let is_merge = match action.as_deref() {
            Some(action) => action == "merge",
            None => state.as_deref() == Some("merged"),
        };
        if !is_merge {
            self.out.skip("merge request event that is not a merge");
            return;
        }
        // The hook's user is the one who acted: for `action: merge`, who merged.
        let merged_by = (action.as_deref() == Some("merge"))
            .then(|| hook.nested_text("user", "username", problems))
            .flatten();
        let time = request
            .time("merged_at", problems)
            .or_else(|| request.time("updated_at", problems));
        let head_sha = request.nested_text("last_commit", "id", problems);
        self.merge(request, repo, action, head_sha, merged_by, time);
    }

    fn rest_merge_request(&mut self, fields: Fields<'_>, repo: Option<String>) {
        let problems = &mut self.out.problems;
        if fields.text("state", problems).as_deref() != Some("merged") {
            self.out.skip("merge request not merged");
            return;
        }
        let merged_by = fields
            .nested_text("merge_user", "username", problems)
            .or_else(|| fields.nested_text("merged_by", "username", problems));
        let time = fields.time("merged_at", problems);
        let head_sha = fields.text("sha", problems);
        self.merge(fields, repo, None, head_sha, merged_by, time);
    }

    fn merge(
        &mut self,
        request: Fields<'_>,
        repo: Option<String>,
        action: Option<String>,
        head_sha: Option<String>,
        merged_by: Option<String>,
        time: Option<Timestamp>,
    ) {
        let problems = &mut self.out.problems;
        let mut attrs = Attrs::new(PLATFORM, "merge_request", action.as_deref());
        let number = request.number("iid", problems);
        let base = request.text("target_branch", problems);
        attrs.put("number", number);
        attrs.put("title", request.text("title", problems));
        attrs.put("base_ref", base.clone());
        attrs.put("head_ref", request.text("source_branch", problems));
        attrs.put("head_sha", head_sha.clone());
        attrs.put(
            "merge_commit_sha",
            request
                .text("merge_commit_sha", problems)
                .or_else(|| request.text("squash_commit_sha", problems)),
        );
        attrs.put("merged_by", merged_by);
        attrs.time("merged_at", time);
        let subject = Subject {
            repo,
            commit: head_sha,
            git_ref: base,
            pull_request: number,
            ..Subject::default()
        };
        self.out
            .record(EvidenceKind::Merge, time, subject, request.pointer, attrs);
    }

    fn deployment_hook(&mut self, hook: Fields<'_>) {
        let repo = self.repo_of(hook);
        let problems = &mut self.out.problems;
        let mut attrs = Attrs::new(PLATFORM, "deployment", None);
        let environment = hook.text("environment", problems);
        let git_ref = hook.text("ref", problems);
        // The hook carries the short SHA; the full one ends `commit_url`.
        let sha = hook
            .text("commit_url", problems)
            .and_then(|url| url.rsplit('/').next().map(str::to_string))
            .filter(|sha| sha.len() >= 7 && sha.chars().all(|character| character.is_ascii_hexdigit()))
            .or_else(|| hook.text("short_sha", problems));
        attrs.put("environment", environment.clone());
        attrs.put("environment_tier", hook.text("environment_tier", problems));
        attrs.put("state", hook.text("status", problems));
        attrs.put("sha", sha.clone());
        attrs.put("ref", git_ref.clone());
        attrs.put("deployment_id", hook.text("deployment_id", problems));
        attrs.put("job_id", hook.text("deployable_id", problems));
        attrs.put("creator", hook.nested_text("user", "username", problems));
        let time = hook.time("status_changed_at", problems);
        attrs.time("created_at", time);
        let subject = Subject {
            repo,
            commit: sha,
            git_ref,
            environment,
            ..Subject::default()
        };
        self.out
            .record(EvidenceKind::Deploy, time, subject, hook.pointer, attrs);
    }

    fn rest_deployment(&mut self, fields: Fields<'_>, repo: Option<String>) {
        let problems = &mut self.out.problems;
        let mut attrs = Attrs::new(PLATFORM, "deployment", None);
        let environment = match fields.get("environment") {
            Some(Value::String(name)) => Some(name.clone()),
            _ => fields.nested_text("environment", "name", problems),
        };
        let sha = fields.text("sha", problems);
        let git_ref = fields.text("ref", problems);
        attrs.put("environment", environment.clone());
        let tier = member_at(fields, &["environment", "tier"])
            .and_then(Value::as_str)
            .map(crate::trivy::bounded);
        attrs.put("environment_tier", tier);
        attrs.put("state", fields.text("status", problems));
        attrs.put("sha", sha.clone());
        attrs.put("ref", git_ref.clone());
        attrs.put("deployment_id", fields.text("id", problems));
        attrs.put(
            "job_id",
            member_at(fields, &["deployable", "id"])
                .filter(|id| id.is_u64())
                .map(Value::to_string),
        );
        attrs.put("creator", fields.nested_text("user", "username", problems));
        let created = fields.time("created_at", problems);
        let time = fields.time("updated_at", problems).or(created);
        attrs.time("created_at", created);
        let subject = Subject {
            repo,
            commit: sha,
            git_ref,
            environment,
            ..Subject::default()
        };
        self.out
            .record(EvidenceKind::Deploy, time, subject, fields.pointer, attrs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(text: &str) -> Parsed {
        let context = Context {
            origin: "/in/gitlab.json".into(),
            sha256: "00".into(),
            ..Context::default()
        };
        parse(text.as_bytes(), &context, &Limits::default())
    }

    fn kinds(parsed: &Parsed) -> Vec<&'static str> {
        parsed.evidence.iter().map(|record| record.kind.as_str()).collect()
    }

    #[test]
    fn statuses_are_normalised_to_status_and_conclusion() {
        let cases = [
            ("success", "completed", Some("success")),
            ("failed", "completed", Some("failure")),
            ("canceled", "completed", Some("cancelled")),
            ("skipped", "completed", Some("skipped")),
            ("running", "running", None),
            ("manual", "manual", None),
        ];
        for (gitlab, status, conclusion) in cases {
            assert_eq!(normalise_status(gitlab), (status.to_string(), conclusion), "{gitlab}");
        }
    }

    /// A REST deployment names its project only in its job's URLs; its
    /// environment's tier and job id are kept.
    #[test]
    fn rest_deployments_take_the_project_from_the_job() {
        let parsed = check(
            r#"[{"id": 42, "iid": 2, "ref": "main", "sha": "a91957a858320c0e17f3a0eca7cfacbff50ea29a",
            "created_at": "2025-01-02T03:04:05Z", "updated_at": "2025-01-02T03:05:05Z", "status": "success",
            "user": {"username": "ana"}, "environment": {"id": 9, "name": "live", "tier": "production"},
            "deployable": {"id": 17, "status": "success", "web_url": "https://gitlab.example.com/acme/svc/-/jobs/17",
            "pipeline": {"id": 3, "web_url": "https://gitlab.example.com/acme/svc/-/pipelines/3"}}}]"#,
        );
        assert_eq!(kinds(&parsed), vec!["deploy"]);
        let deploy = &parsed.evidence[0];
        assert_eq!(deploy.subject.repo.as_deref(), Some("acme/svc"));
        assert_eq!(deploy.attrs["environment_tier"], json!("production"));
        assert_eq!(deploy.attrs["job_id"], json!("17"));
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    }

    /// A scanner job that fails a merge request pipeline, not allowed to
    /// fail, is an observed block; allowed to fail, or on a branch pipeline,
    /// it is not.
    #[test]
    fn a_failed_scanner_job_on_a_merge_request_pipeline_is_an_observed_block() {
        let hook = |allow_failure: bool, merge_request: &str| {
            format!(
                r#"{{"object_kind": "pipeline", "project": {{"path_with_namespace": "acme/svc"}},
                "object_attributes": {{"id": 31, "ref": "feature", "sha": "abc1234", "status": "failed",
                "finished_at": "2025-01-02 03:04:05 UTC"}}{merge_request},
                "builds": [{{"id": 380, "stage": "test", "name": "semgrep-sast", "status": "failed",
                "allow_failure": {allow_failure}, "finished_at": "2025-01-02 03:04:00 UTC"}},
                {{"id": 381, "stage": "test", "name": "unit-tests", "status": "failed", "allow_failure": false,
                "finished_at": "2025-01-02 03:04:00 UTC"}}]}}"#
            )
        };
        let request = r#", "merge_request": {"id": 99, "iid": 7, "title": "x"}"#;
        let blocked = check(&hook(false, request));
        assert_eq!(kinds(&blocked), vec!["ci_run", "ci_run", "gate_decision", "ci_run"]);
        let gate = &blocked.evidence[2];
        assert_eq!(gate.attrs["tool"], json!("semgrep"));
        assert_eq!(gate.attrs["decision"], json!("block"));
        assert_eq!(gate.subject.pull_request, Some(7));
        assert_eq!(gate.subject.repo.as_deref(), Some("acme/svc"));
        assert_eq!(kinds(&check(&hook(true, request))), vec!["ci_run", "ci_run", "ci_run"]);
        assert_eq!(kinds(&check(&hook(false, ""))), vec!["ci_run", "ci_run", "ci_run"]);
    }

    #[test]
    fn jobs_past_the_limit_of_a_pipeline_hook_are_refused_at_the_first_one_not_read() {
        let jobs: Vec<String> = (0..MAX_LIST_ENTRIES + 2)
            .map(|id| format!(r#"{{"id": {id}, "name": "job-{id}", "status": "success"}}"#))
            .collect();
        let parsed = check(&format!(
            r#"{{"object_kind": "pipeline", "project": {{"path_with_namespace": "acme/svc"}},
            "object_attributes": {{"id": 31, "ref": "main", "sha": "abc1234", "status": "success"}},
            "builds": [{}]}}"#,
            jobs.join(",")
        ));
        assert_eq!(parsed.evidence.len(), 1 + MAX_LIST_ENTRIES);
        assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
        let refused = &parsed.diagnostics[0];
        assert!(!refused.warning);
        assert_eq!(refused.pointer.as_deref(), Some("/builds/200"));
        assert_eq!(
            refused.message,
            "202 jobs in `builds`, more than 200: the first 200 read, the 2 from here on not read"
        );
    }

    #[test]
    fn projects_come_from_web_urls() {
        assert_eq!(
            project_from_web_url("https://gitlab.example.com/a/b/c/-/pipelines/1").as_deref(),
            Some("a/b/c")
        );
        assert_eq!(
            project_from_web_url("https://gitlab.com/acme/web").as_deref(),
            Some("acme/web")
        );
        assert_eq!(project_from_web_url("https://gitlab.com/acme"), None);
        assert_eq!(project_from_web_url("acme/web"), None);
    }

    #[test]
    fn one_bad_pipeline_does_not_lose_the_rest() {
        let good = r#"{"id": 1, "project_id": 2, "status": "failed", "ref": "main", "sha": "abc",
            "web_url": "https://gitlab.example.com/g/p/-/pipelines/1", "updated_at": "2025-01-01T00:00:00Z"}"#;
        let parsed = check(&format!(
            r#"[{good}, 7, {{"id": 3, "status": "success", "ref": "main", "sha": {{"no": 1}},
            "web_url": "https://gitlab.example.com/g/p/-/pipelines/3"}}, {{"x": 1}}, {good}]"#
        ));
        assert_eq!(kinds(&parsed), vec!["ci_run", "ci_run", "ci_run"]);
        let found: Vec<(String, bool)> = parsed
            .diagnostics
            .iter()
            .map(|diagnostic| (diagnostic.pointer.clone().unwrap_or_default(), diagnostic.warning))
            .collect();
        assert_eq!(
            found,
            vec![
                ("/1".to_string(), false),
                ("/2/sha".to_string(), true),
                ("/3".to_string(), false),
            ]
        );
        let record = &parsed.evidence[0];
        assert_eq!(record.subject.repo.as_deref(), Some("g/p"));
        assert_eq!(record.attrs["conclusion"], json!("failure"));
        assert_eq!(record.attrs["gitlab_status"], json!("failed"));
    }

    #[test]
    fn other_hooks_are_noted_and_unknown_ones_refused() {
        let parsed = check(r#"{"object_kind": "push", "ref": "refs/heads/main", "commits": []}"#);
        assert!(parsed.evidence.is_empty());
        assert!(parsed.diagnostics[0].warning);
        let parsed = check(r#"{"object_kind": "vulnerability"}"#);
        assert!(parsed.evidence.is_empty());
        assert!(!parsed.diagnostics[0].warning);
        let parsed = check(r#"{"object_kind": "pipeline", "object_attributes": "x"}"#);
        assert!(parsed.evidence.is_empty());
        assert_eq!(parsed.diagnostics.len(), 2, "{:?}", parsed.diagnostics);
    }

    #[test]
    fn only_the_merge_action_is_a_merge() {
        let hook = |action: &str| {
            format!(
                r#"{{"object_kind": "merge_request", "project": {{"path_with_namespace": "g/p"}},
                   "user": {{"username": "ben"}},
                   "object_attributes": {{"iid": 3, "state": "merged", "action": "{action}",
                     "target_branch": "main", "source_branch": "x", "updated_at": "2025-01-01 10:00:00 UTC"}}}}"#
            )
        };
        let merged = check(&hook("merge"));
        assert_eq!(kinds(&merged), vec!["merge"]);
        assert_eq!(merged.evidence[0].attrs["merged_by"], json!("ben"));
        assert!(check(&hook("update")).evidence.is_empty());
    }

    #[test]
    fn malformed_and_hostile_files_give_one_diagnostic() {
        let parsed = check("{\"object_kind\": \"build\",\n\"build_id\": }");
        assert!(parsed.evidence.is_empty());
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(parsed.diagnostics[0].line, Some(2));
        let deep = format!("{{\"object_kind\":\"pipeline\",\"builds\":{}", "[".repeat(100));
        assert!(check(&deep).diagnostics[0].message.contains("deeper than"));
    }

    #[test]
    fn a_rest_deployment_and_a_rest_job() {
        let parsed = check(
            r#"[{"id": 41, "iid": 1, "ref": "main", "sha": "abc", "status": "success",
                 "created_at": "2025-01-01T00:00:00Z", "updated_at": "2025-01-01T00:05:00Z",
                 "user": {"username": "ana"}, "environment": {"id": 9, "name": "production"},
                 "deployable": {"id": 5}},
                {"id": 5, "status": "failed", "stage": "test", "name": "sast", "ref": "main",
                 "failure_reason": "script_failure", "finished_at": "2025-01-01T00:01:00Z",
                 "pipeline": {"id": 8, "sha": "abc", "ref": "main", "status": "failed"},
                 "web_url": "https://gitlab.com/g/p/-/jobs/5"}]"#,
        );
        assert_eq!(kinds(&parsed), vec!["deploy", "ci_run"]);
        assert_eq!(parsed.evidence[0].subject.environment.as_deref(), Some("production"));
        assert_eq!(parsed.evidence[0].attrs["creator"], json!("ana"));
        let job = &parsed.evidence[1];
        assert_eq!(job.attrs["run_id"], json!("8"));
        assert_eq!(job.attrs["failure_reason"], json!("script_failure"));
        assert_eq!(job.subject.repo.as_deref(), Some("g/p"));
    }
}
