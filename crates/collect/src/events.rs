//! Reading of CI and code-host event payloads (GitHub and GitLab webhooks and
//! REST exports), shared by `github.rs` and `gitlab.rs`: typed field access on a
//! parsed JSON object that reports a wrong type at its JSON pointer instead of
//! failing, and the few normalisations both sources need.
//!
//! A field of the wrong type is read as absent with a warning; a field that is
//! absent or `null` is simply absent. Texts are trimmed and bounded like every
//! other collector's (`trivy::text`).

use std::collections::BTreeMap;

use jiff::Timestamp;
use model::{EvidenceKind, NewEvidence, Subject};
use serde_json::{Map, Value};

use crate::trivy::{OrContext, Problems, bounded, read_document, read_service_time, type_name};
use crate::{Context, Limits, Parsed};

/// Most elements of one list read from an event (pull requests of a run, steps
/// of a job, required checks, bypass actors); the rest are counted, not kept.
pub const MAX_LIST_ENTRIES: usize = 200;

/// What one event document gave so far: records, problems, and the objects
/// read that are not evidence (one note per reason, with a count).
pub(crate) struct Collected<'c> {
    context: &'c Context,
    collector: &'static str,
    /// Problems found, each at its pointer.
    pub(crate) problems: Problems,
    records: Vec<NewEvidence>,
    skipped: BTreeMap<&'static str, u64>,
    /// Records that name no repository (neither the input nor `--repo`).
    without_repo: u64,
}

impl Collected<'_> {
    /// An object that was read but is not evidence, for `reason`.
    pub(crate) fn skip(&mut self, reason: &'static str) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    /// A record from the object at `pointer`; the operator's `--repo`,
    /// `--commit` and `--ref` fill what the subject does not say.
    pub(crate) fn record(
        &mut self,
        kind: EvidenceKind,
        time: Option<Timestamp>,
        subject: Subject,
        pointer: &str,
        attrs: Attrs,
    ) {
        let subject = subject.or_context(self.context);
        // CI and code-host records belong to a repository; tickets need not.
        if subject.repo.is_none() && matches!(self.collector, "github" | "gitlab") {
            self.without_repo += 1;
        }
        self.records.push(self.context.record(
            self.collector,
            kind,
            time,
            subject,
            (!pointer.is_empty()).then(|| pointer.to_string()),
            Value::Object(attrs.0),
        ));
    }
}

/// Parse one event document: the size, encoding and depth checks every
/// whole-document collector makes, then `walk` over the parsed JSON, then one
/// note per reason objects were skipped.
pub(crate) fn parse_events(
    bytes: &[u8],
    context: &Context,
    limits: &Limits,
    collector: &'static str,
    walk: impl FnOnce(&mut Collected<'_>, &Value),
) -> Parsed {
    let document: Value = match read_document(bytes, context, limits, &format!("{collector} event")) {
        Ok(document) => document,
        Err(diagnostic) => {
            let mut parsed = Parsed::default();
            parsed.diagnostics.push(diagnostic);
            return parsed;
        }
    };
    walk_events(&document, context, collector, walk)
}

/// Walk an already parsed document (JSON, or YAML read into JSON values) with
/// `walk`, then one note per reason objects were skipped.
pub(crate) fn walk_events(
    document: &Value,
    context: &Context,
    collector: &'static str,
    walk: impl FnOnce(&mut Collected<'_>, &Value),
) -> Parsed {
    let mut parsed = Parsed::default();
    let mut collected = Collected {
        context,
        collector,
        problems: Problems::default(),
        records: Vec::new(),
        skipped: BTreeMap::new(),
        without_repo: 0,
    };
    walk(&mut collected, document);
    for (reason, count) in &collected.skipped {
        collected.problems.warn(None, format!("{count} × {reason}: no record"));
    }
    if collected.without_repo > 0 {
        collected.problems.warn(
            None,
            format!(
                "{} record(s) name no repository (the input does not say which): they apply to every team; \
                 pass --repo OWNER/NAME to attribute them",
                collected.without_repo
            ),
        );
    }
    parsed.evidence = collected.records;
    parsed.diagnostics = collected.problems.into_diagnostics(context);
    parsed
}

/// Refuse the value at `pointer` (empty: the document) as not a `what` this
/// collector reads, naming what it was (an object's first members, or its type).
pub(crate) fn refuse_unknown(problems: &mut Problems, pointer: &str, value: &Value, what: &str) {
    let found = match value.as_object() {
        Some(object) => {
            let mut keys: Vec<&str> = object.keys().map(String::as_str).take(8).collect();
            keys.sort_unstable();
            format!("not a {what} this collector reads (members: {})", keys.join(", "))
        }
        None => format!(
            "{} is {}, expected an object",
            if pointer.is_empty() {
                "the document"
            } else {
                "the element"
            },
            type_name(value)
        ),
    };
    problems.refuse(
        (!pointer.is_empty()).then(|| pointer.to_string()),
        format!("{found}; nothing recorded from it"),
    );
}

/// Read each element of `items` (at `pointer`) with `read`; an element that is
/// not an object, or that `read` does not know (`false`), is refused on its own.
pub(crate) fn each_object<R>(
    reader: &mut R,
    items: &[Value],
    pointer: &str,
    what: &str,
    problems: fn(&mut R) -> &mut Problems,
    mut read: impl FnMut(&mut R, Fields<'_>) -> bool,
) {
    for (index, item) in items.iter().enumerate() {
        let item_pointer = format!("{pointer}/{index}");
        let known = Owned::new(item, item_pointer.clone()).is_some_and(|owned| read(reader, owned.fields()));
        if !known {
            refuse_unknown(problems(reader), &item_pointer, item, what);
        }
    }
}

/// One JSON object of an event and its JSON pointer.
#[derive(Clone, Copy)]
pub(crate) struct Fields<'a> {
    /// The members.
    pub(crate) object: &'a Map<String, Value>,
    /// RFC 6901 pointer of the object (empty: the document).
    pub(crate) pointer: &'a str,
}

/// A [`Fields`] whose pointer is owned (for nested objects).
pub(crate) struct Owned<'a> {
    object: &'a Map<String, Value>,
    pointer: String,
}

impl<'a> Owned<'a> {
    /// The object at `pointer`, when `value` is one.
    pub(crate) fn new(value: &'a Value, pointer: String) -> Option<Owned<'a>> {
        value.as_object().map(|object| Owned { object, pointer })
    }

    /// Borrow as [`Fields`].
    pub(crate) fn fields(&self) -> Fields<'_> {
        Fields {
            object: self.object,
            pointer: &self.pointer,
        }
    }
}

impl<'a> Fields<'a> {
    /// Pointer of member `key`.
    pub(crate) fn pointer_of(&self, key: &str) -> String {
        format!("{}/{}", self.pointer, key.replace('~', "~0").replace('/', "~1"))
    }

    /// Whether member `key` is present and not `null`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.object.get(key).is_some_and(|value| !value.is_null())
    }

    /// The raw member.
    pub(crate) fn get(&self, key: &str) -> Option<&'a Value> {
        self.object.get(key).filter(|value| !value.is_null())
    }

    fn wrong(&self, key: &str, expected: &str, found: &Value, problems: &mut Problems) {
        problems.warn(
            Some(self.pointer_of(key)),
            format!("ignored: `{key}` is {}, expected {expected}", type_name(found)),
        );
    }

    /// A text member (numbers are written as text, for ids).
    pub(crate) fn text(&self, key: &str, problems: &mut Problems) -> Option<String> {
        match self.get(key)? {
            Value::String(text) => Some(text.trim()).filter(|text| !text.is_empty()).map(bounded),
            Value::Number(number) => Some(number.to_string()),
            other => {
                self.wrong(key, "a string", other, problems);
                None
            }
        }
    }

    /// A non-negative integer member (a string of digits is accepted).
    pub(crate) fn number(&self, key: &str, problems: &mut Problems) -> Option<u64> {
        match self.get(key)? {
            Value::Number(number) if number.as_u64().is_some() => number.as_u64(),
            Value::String(text) if text.trim().parse::<u64>().is_ok() => text.trim().parse().ok(),
            other => {
                self.wrong(key, "a non-negative integer", other, problems);
                None
            }
        }
    }

    /// A boolean member.
    pub(crate) fn flag(&self, key: &str, problems: &mut Problems) -> Option<bool> {
        match self.get(key)? {
            Value::Bool(flag) => Some(*flag),
            other => {
                self.wrong(key, "a boolean", other, problems);
                None
            }
        }
    }

    /// A time member (RFC 3339, or GitLab's `2016-08-12 15:23:28 UTC`).
    pub(crate) fn time(&self, key: &str, problems: &mut Problems) -> Option<Timestamp> {
        let text = self.text(key, problems)?;
        let normalised = gitlab_time(&text).unwrap_or(text);
        read_service_time(Some(&normalised), &self.pointer_of(key), problems)
    }

    /// An object member, with its pointer.
    pub(crate) fn object(&self, key: &str, problems: &mut Problems) -> Option<Owned<'a>> {
        let value = self.get(key)?;
        let owned = Owned::new(value, self.pointer_of(key));
        if owned.is_none() {
            self.wrong(key, "an object", value, problems);
        }
        owned
    }

    /// An array member.
    pub(crate) fn array(&self, key: &str, problems: &mut Problems) -> Option<&'a [Value]> {
        match self.get(key)? {
            Value::Array(items) => Some(items),
            other => {
                self.wrong(key, "an array", other, problems);
                None
            }
        }
    }

    /// The texts of an array member (strings only; at most [`MAX_LIST_ENTRIES`]).
    pub(crate) fn texts(&self, key: &str, problems: &mut Problems) -> Option<Vec<String>> {
        let items = self.array(key, problems)?;
        Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .take(MAX_LIST_ENTRIES)
                .map(bounded)
                .collect(),
        )
    }

    /// A text member of an object member (`user.login`, `repository.full_name`).
    pub(crate) fn nested_text(&self, outer: &str, key: &str, problems: &mut Problems) -> Option<String> {
        let owned = self.object(outer, problems)?;
        owned.fields().text(key, problems)
    }
}

/// Put a present value into a map.
pub(crate) fn put<T: Into<Value>>(map: &mut Map<String, Value>, key: &str, value: Option<T>) {
    if let Some(value) = value {
        map.insert(key.to_string(), value.into());
    }
}

/// The attributes of one record, starting with its platform, the object it
/// was read from and the webhook's action; absent values are left out.
pub(crate) struct Attrs(pub(crate) Map<String, Value>);

impl Attrs {
    /// The attributes of an observed block: a known scanner's failing check
    /// or job on a pull (merge) request.
    pub(crate) fn observed_block(
        platform: &str,
        object: &str,
        action: Option<&str>,
        tool: &str,
        head_sha: Option<String>,
        pulls: Vec<u64>,
    ) -> Attrs {
        let mut attrs = Attrs::new(platform, object, action);
        attrs.put("decision", Some("block"));
        attrs.put("observed", Some(true));
        attrs.put("tool", Some(tool));
        attrs.put("head_sha", head_sha);
        attrs.put("pull_requests", Some(pulls));
        attrs
    }

    /// Attributes with `platform`, `object` and (when given) `action`.
    pub(crate) fn new(platform: &str, object: &str, action: Option<&str>) -> Attrs {
        let mut map = Map::new();
        map.insert("platform".into(), Value::from(platform));
        map.insert("object".into(), Value::from(object));
        put(&mut map, "action", action);
        Attrs(map)
    }

    /// Add `key` when `value` is present.
    pub(crate) fn put<T: Into<Value>>(&mut self, key: &str, value: Option<T>) {
        put(&mut self.0, key, value);
    }

    /// Add a time in the stored form when present.
    pub(crate) fn time(&mut self, key: &str, time: Option<Timestamp>) {
        self.put(key, time.map(model::time::format_time));
    }
}

/// How a member is read into an attribute by [`Attrs::copy`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Read {
    /// [`Fields::text`].
    Text,
    /// [`Fields::number`].
    Number,
    /// [`Fields::flag`].
    Flag,
    /// [`Fields::texts`].
    Texts,
}

impl Attrs {
    /// Copy members as they are: `(attribute, member, how)`, absent ones left out.
    pub(crate) fn copy(&mut self, fields: Fields<'_>, problems: &mut Problems, members: &[(&str, &str, Read)]) {
        for (attribute, member, read) in members {
            let value: Option<Value> = match read {
                Read::Text => fields.text(member, problems).map(Value::from),
                Read::Number => fields.number(member, problems).map(Value::from),
                Read::Flag => fields.flag(member, problems).map(Value::from),
                Read::Texts => fields.texts(member, problems).map(Value::from),
            };
            self.put(attribute, value);
        }
    }
}

/// GitLab's webhook time form `2016-08-12 15:23:28 UTC` (or with `+0200`) as
/// RFC 3339; `None` when the text is not in that form.
pub(crate) fn gitlab_time(text: &str) -> Option<String> {
    let (date, rest) = text.split_once(' ')?;
    let (clock, zone) = rest.split_once(' ')?;
    if date.len() != 10 || !clock.contains(':') {
        return None;
    }
    let zone = match zone {
        "UTC" | "Z" => "Z".to_string(),
        offset if (offset.starts_with('+') || offset.starts_with('-')) && offset.len() == 5 => {
            format!("{}:{}", &offset[..3], &offset[3..])
        }
        _ => return None,
    };
    Some(format!("{date}T{clock}{zone}"))
}

/// `owner/name` from a GitHub or GitLab API or web URL
/// (`https://api.github.com/repos/o/r/...`, `https://github.com/o/r/...`).
pub(crate) fn github_repo_from_url(url: &str) -> Option<String> {
    // GitHub Enterprise Server serves the same API under `https://HOST/api/v3`.
    let enterprise = || {
        let after_scheme = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"))?;
        let (_, path) = after_scheme.split_once("/api/v3/repos/")?;
        Some(path)
    };
    let rest = url
        .strip_prefix("https://api.github.com/repos/")
        .or_else(|| url.strip_prefix("/repos/"))
        .or_else(|| url.strip_prefix("https://github.com/"))
        .or_else(enterprise)?;
    let mut segments = rest.split('/').filter(|segment| !segment.is_empty());
    let owner = segments.next()?;
    let name = segments.next()?;
    Some(bounded(&format!("{owner}/{name}")))
}

/// The branch of a full ref (`refs/heads/main` → `main`); other refs unchanged.
pub(crate) fn branch_name(git_ref: &str) -> String {
    git_ref.strip_prefix("refs/heads/").unwrap_or(git_ref).to_string()
}

/// Scanners whose failing check on a pull request is an observed gate block:
/// (what is matched, lower-case, as a part of the check's name or its app's
/// slug; the tool id recorded). The ids are those of the pipeline linter's
/// tool table (`pipelines::tools`), so a gate decision and the pipeline step
/// that ran the scanner name the same tool: SonarCloud is `sonarqube`, Anchore
/// is `grype`. Scanners the linter does not know keep their own name.
pub const KNOWN_SCANNERS: &[(&str, &str)] = &[
    ("codeql", "codeql"),
    ("semgrep", "semgrep"),
    ("trivy", "trivy"),
    ("snyk", "snyk"),
    ("gitleaks", "gitleaks"),
    ("checkov", "checkov"),
    ("dependency-review", "dependency-review"),
    ("dependency review", "dependency-review"),
    ("sonarqube", "sonarqube"),
    ("sonarcloud", "sonarqube"),
    ("grype", "grype"),
    ("anchore", "grype"),
    ("bandit", "bandit"),
    ("gosec", "gosec"),
    ("trufflehog", "trufflehog"),
    ("kics", "kics"),
    ("tfsec", "tfsec"),
    ("osv-scanner", "osv-scanner"),
    ("zap", "zap"),
    ("brakeman", "brakeman"),
    ("veracode", "veracode"),
    ("checkmarx", "checkmarx"),
    ("mend", "mend"),
    ("code scanning", "code scanning"),
];

/// The tool id of the known scanner a check's name or app slug names, if any.
pub(crate) fn known_scanner(names: &[Option<&str>]) -> Option<&'static str> {
    names.iter().flatten().find_map(|name| {
        let lower = name.to_ascii_lowercase();
        KNOWN_SCANNERS.iter().find_map(|(pattern, tool)| {
            // `zap` and `mend` are short: whole words only.
            let found = if pattern.len() <= 4 {
                lower
                    .split(|character: char| !character.is_ascii_alphanumeric())
                    .any(|word| word == *pattern)
            } else {
                lower.contains(pattern)
            };
            found.then_some(*tool)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_report_wrong_types_and_read_the_rest() {
        let value = json!({"a": "x", "n": 7, "s": "8", "b": true, "t": "2024-01-02T03:04:05Z",
                           "g": "2016-08-12 15:23:28 UTC", "bad": [1], "o": {"k": "v"}, "z": null});
        let object = value.as_object().unwrap_or_else(|| unreachable!());
        let fields = Fields { object, pointer: "" };
        let mut problems = Problems::default();
        assert_eq!(fields.text("a", &mut problems).as_deref(), Some("x"));
        assert_eq!(fields.text("n", &mut problems).as_deref(), Some("7"));
        assert_eq!(fields.number("s", &mut problems), Some(8));
        assert_eq!(fields.flag("b", &mut problems), Some(true));
        assert_eq!(
            fields.time("t", &mut problems).map(|time| time.to_string()).as_deref(),
            Some("2024-01-02T03:04:05Z")
        );
        assert_eq!(
            fields.time("g", &mut problems).map(|time| time.to_string()).as_deref(),
            Some("2016-08-12T15:23:28Z")
        );
        assert_eq!(fields.nested_text("o", "k", &mut problems).as_deref(), Some("v"));
        assert_eq!(fields.text("z", &mut problems), None);
        assert_eq!(fields.text("missing", &mut problems), None);
        assert_eq!(fields.text("bad", &mut problems), None);
        assert_eq!(fields.number("a", &mut problems), None);
        let diagnostics = problems.into_diagnostics(&crate::Context::default());
        let pointers: Vec<_> = diagnostics
            .iter()
            .map(|d| d.pointer.clone().unwrap_or_default())
            .collect();
        assert_eq!(pointers, vec!["/bad", "/a"]);
        assert!(diagnostics.iter().all(|diagnostic| diagnostic.warning));
    }

    #[test]
    fn gitlab_times_and_urls() {
        assert_eq!(
            gitlab_time("2016-08-12 15:23:28 +0200").as_deref(),
            Some("2016-08-12T15:23:28+02:00")
        );
        assert_eq!(gitlab_time("2016-08-12T15:23:28Z"), None);
        assert_eq!(
            github_repo_from_url("https://api.github.com/repos/o/r/pulls/1").as_deref(),
            Some("o/r")
        );
        assert_eq!(
            github_repo_from_url("/repos/o/r/branches/main/protection").as_deref(),
            Some("o/r")
        );
        assert_eq!(github_repo_from_url("https://example.com/o/r"), None);
        assert_eq!(branch_name("refs/heads/main"), "main");
        assert_eq!(branch_name("refs/tags/v1"), "refs/tags/v1");
    }

    #[test]
    fn scanners_are_matched_by_name_or_app() {
        assert_eq!(known_scanner(&[Some("CodeQL"), None]), Some("codeql"));
        assert_eq!(known_scanner(&[Some("build"), Some("semgrep-app")]), Some("semgrep"));
        assert_eq!(known_scanner(&[Some("ZAP baseline")]), Some("zap"));
        // The pipeline linter's ids: one tool, one name.
        assert_eq!(known_scanner(&[Some("SonarCloud Code Analysis")]), Some("sonarqube"));
        assert_eq!(known_scanner(&[Some("Anchore Container Scan")]), Some("grype"));
        assert_eq!(known_scanner(&[Some("Dependency Review")]), Some("dependency-review"));
        assert_eq!(known_scanner(&[Some("amazing-tests")]), None);
        assert_eq!(
            known_scanner(&[Some("Octocoders-linter"), Some("octocoders-linter")]),
            None
        );
    }
}
