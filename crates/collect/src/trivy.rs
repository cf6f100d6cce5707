//! Trivy JSON collector: one `scan_report` per report (vulnerabilities,
//! misconfigurations, secrets and licences; counts by severity; a bounded list
//! of findings; subject and time). Also home of the lenient JSON reading shared
//! by the other whole-document report collectors (`grype`, `sbom`).
//!
//! Reading is lenient at every level: each container (the report, a result, a
//! finding) is walked with a serde visitor that accepts any JSON type, and each
//! field that is read is buffered on its own and checked. A finding that is not
//! an object, or has a wrong type in a field that is read, is refused with one
//! diagnostic at its JSON pointer and is not counted (the `refused` attribute
//! says how many); the rest still lands. A wrong type in a field of the report
//! or of a result is ignored with a warning. A file that is not JSON gives one
//! diagnostic with its line and column and no record.
//! Attribute keys and every rule applied are listed in `docs/sources-scanners.md`.

use std::fmt;
use std::marker::PhantomData;

use jiff::Timestamp;
use model::time::parse_time;
use model::{Diagnostic, EvidenceKind, NewEvidence, Severity, Subject};
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, DeserializeOwned, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::sarif::repository_name;
use crate::{Context, Limits, Parsed, json_depth_exceeds, line_column};

/// The collector id recorded in every record's source.
pub const COLLECTOR: &str = "trivy";

/// Most findings listed (with id, severity, package) in one record's `findings`;
/// the counts always cover every finding.
pub const MAX_FINDINGS: usize = 1_000;

/// Most diagnostics reported for one file; the rest are counted in a last one.
pub const MAX_DIAGNOSTICS: usize = 100;

/// Longest text copied from the input into a record or a message, in characters.
pub(crate) const MAX_TEXT_CHARS: usize = 256;

/// Most entries of a short list copied into a record (tools, aliases).
pub(crate) const MAX_LIST_ENTRIES: usize = 20;

/// The Trivy JSON schema version this collector reads.
const SCHEMA_VERSION: u64 = 2;

/// Parse one Trivy JSON report into one `scan_report` record.
///
/// Never panics; every problem becomes a diagnostic that names its line or JSON
/// pointer. See the module documentation and `docs/sources-scanners.md`.
pub fn parse(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let mut parsed = Parsed::default();
    let document: Json<Report, Json<TrivyResult, IgnoredAny>> =
        match read_document(bytes, context, limits, "Trivy JSON report") {
            Ok(document) => document,
            Err(diagnostic) => {
                parsed.diagnostics.push(diagnostic);
                return parsed;
            }
        };
    let mut problems = Problems::default();
    let mut summary = Summary::default();
    let mut header = Header::default();
    match &document {
        Json::Object(report) => {
            if report.schema_version.is_none() && report.artifact_name.is_none() && report.results.is_none() {
                problems.refuse(
                    None,
                    "not a Trivy JSON report: none of `SchemaVersion`, `ArtifactName`, `Results`; nothing recorded",
                );
                parsed.diagnostics = problems.into_diagnostics(context);
                return parsed;
            }
            header = read_header(report, &mut problems);
            match &report.results {
                None | Some(Json::Missing) => {}
                Some(Json::Array(results)) => read_results(results, "/Results", &mut summary, &mut problems),
                Some(other) => {
                    problems.refuse(
                        Some("/Results".into()),
                        format!("`Results` is {}, expected an array; nothing recorded", other.found()),
                    );
                    parsed.diagnostics = problems.into_diagnostics(context);
                    return parsed;
                }
            }
        }
        Json::Array(results) => {
            if results.is_empty() {
                problems.warn(None, "an empty list of results (the older Trivy form): no findings");
            }
            read_results(results, "", &mut summary, &mut problems);
        }
        other => {
            problems.refuse(
                None,
                format!(
                    "not a Trivy JSON report: the document is {}, expected an object (or the older list of results); \
                     nothing recorded",
                    other.found()
                ),
            );
            parsed.diagnostics = problems.into_diagnostics(context);
            return parsed;
        }
    }
    parsed.evidence.push(evidence(&header, summary, context));
    parsed.diagnostics = problems.into_diagnostics(context);
    parsed
}

// ---------------------------------------------------------------------------
// Trivy's JSON, as far as it is read (unknown fields are skipped unread)
// ---------------------------------------------------------------------------

/// Opt<T>: a field that may be absent (or null) and may have a wrong type.
type Opt<T> = Option<Lenient<T>>;
/// An array of objects, each read leniently.
type Objects<T> = Option<Json<IgnoredAny, Json<T, IgnoredAny>>>;
/// An object read leniently.
type Object<T> = Option<Json<T, IgnoredAny>>;

#[derive(Default, Deserialize)]
#[serde(default)]
struct Report {
    #[serde(rename = "SchemaVersion")]
    schema_version: Opt<Value>,
    #[serde(rename = "CreatedAt")]
    created_at: Opt<String>,
    #[serde(rename = "ArtifactName")]
    artifact_name: Opt<String>,
    #[serde(rename = "ArtifactType")]
    artifact_type: Opt<String>,
    #[serde(rename = "Metadata")]
    metadata: Object<Metadata>,
    #[serde(rename = "Results")]
    results: Objects<TrivyResult>,
    #[serde(rename = "Trivy")]
    trivy: Object<TrivyInfo>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct TrivyInfo {
    #[serde(rename = "Version")]
    version: Opt<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Metadata {
    #[serde(rename = "ImageID")]
    image_id: Opt<String>,
    #[serde(rename = "RepoDigests")]
    repo_digests: Opt<Vec<String>>,
    #[serde(rename = "RepoURL")]
    repo_url: Opt<String>,
    #[serde(rename = "Branch")]
    branch: Opt<String>,
    #[serde(rename = "Commit")]
    commit: Opt<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct TrivyResult {
    #[serde(rename = "Target")]
    target: Opt<String>,
    #[serde(rename = "Vulnerabilities")]
    vulnerabilities: Objects<Vulnerability>,
    #[serde(rename = "Misconfigurations")]
    misconfigurations: Objects<Misconfiguration>,
    #[serde(rename = "MisconfSummary")]
    misconf_summary: Object<MisconfSummary>,
    #[serde(rename = "Secrets")]
    secrets: Objects<Secret>,
    #[serde(rename = "Licenses")]
    licenses: Objects<License>,
    #[serde(rename = "ModifiedFindings")]
    modified_findings: Option<Json<IgnoredAny, IgnoredAny>>,
    #[serde(rename = "ExperimentalModifiedFindings")]
    experimental_modified_findings: Option<Json<IgnoredAny, IgnoredAny>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Vulnerability {
    #[serde(rename = "VulnerabilityID")]
    id: Opt<String>,
    #[serde(rename = "PkgName")]
    package: Opt<String>,
    #[serde(rename = "InstalledVersion")]
    installed_version: Opt<String>,
    #[serde(rename = "FixedVersion")]
    fixed_version: Opt<String>,
    #[serde(rename = "Severity")]
    severity: Opt<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Misconfiguration {
    #[serde(rename = "ID")]
    id: Opt<String>,
    #[serde(rename = "AVDID")]
    avd_id: Opt<String>,
    #[serde(rename = "Severity")]
    severity: Opt<String>,
    #[serde(rename = "Status")]
    status: Opt<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct MisconfSummary {
    #[serde(rename = "Successes")]
    successes: Opt<u64>,
    #[serde(rename = "Exceptions")]
    exceptions: Opt<u64>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Secret {
    #[serde(rename = "RuleID")]
    rule_id: Opt<String>,
    #[serde(rename = "Severity")]
    severity: Opt<String>,
    #[serde(rename = "StartLine")]
    start_line: Opt<u64>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct License {
    #[serde(rename = "Name")]
    name: Opt<String>,
    #[serde(rename = "Severity")]
    severity: Opt<String>,
    #[serde(rename = "PkgName")]
    package: Opt<String>,
}

// ---------------------------------------------------------------------------
// What a report says
// ---------------------------------------------------------------------------

/// The report-level facts (all optional).
#[derive(Default)]
struct Header {
    tool_version: Option<String>,
    schema_version: Option<u64>,
    target: Option<String>,
    artifact_type: Option<String>,
    time: Option<Timestamp>,
    subject: Subject,
}

/// Counts over every finding read, and the first [`MAX_FINDINGS`] findings.
#[derive(Default)]
struct Summary {
    results: u64,
    counts: SeverityCounts,
    vulnerabilities: u64,
    misconfigurations: u64,
    misconfigurations_passed: u64,
    misconfigurations_excepted: u64,
    secrets: u64,
    licenses: u64,
    fixable: u64,
    suppressed: u64,
    refused: u64,
    findings: Findings,
}

fn read_header(report: &Report, problems: &mut Problems) -> Header {
    let mut header = Header::default();
    let mut check = Check::new(String::new());
    if let Some(version) = check.get("SchemaVersion", &report.schema_version) {
        match version.as_u64() {
            Some(SCHEMA_VERSION) => header.schema_version = Some(SCHEMA_VERSION),
            Some(other) => {
                header.schema_version = Some(other);
                problems.warn(
                    Some("/SchemaVersion".into()),
                    format!("`SchemaVersion` {other} is not {SCHEMA_VERSION}; read as {SCHEMA_VERSION}"),
                );
            }
            None => problems.warn(
                Some("/SchemaVersion".into()),
                format!(
                    "`SchemaVersion` is {}, not a whole number; read as {SCHEMA_VERSION}",
                    type_name(version)
                ),
            ),
        }
    }
    header.target = text(check.get("ArtifactName", &report.artifact_name));
    header.artifact_type = text(check.get("ArtifactType", &report.artifact_type));
    header.time = read_time(check.get("CreatedAt", &report.created_at), "/CreatedAt", problems);
    if let Some(info) = check.object("Trivy", &report.trivy) {
        header.tool_version = text(check.get("Trivy/Version", &info.version));
    }
    if header.artifact_type.as_deref() == Some("container_image") {
        header.subject.image = header.target.clone();
    }
    if let Some(metadata) = check.object("Metadata", &report.metadata) {
        let from_repo_digests = check
            .get("Metadata/RepoDigests", &metadata.repo_digests)
            .and_then(|digests| digests.iter().find_map(|reference| digest(reference)));
        let from_image_id = check
            .get("Metadata/ImageID", &metadata.image_id)
            .and_then(|id| digest(id));
        header.subject.artifact = from_repo_digests.or(from_image_id);
        header.subject.repo = check
            .get("Metadata/RepoURL", &metadata.repo_url)
            .and_then(|url| repository_name(url));
        header.subject.commit = text(check.get("Metadata/Commit", &metadata.commit));
        header.subject.git_ref = text(check.get("Metadata/Branch", &metadata.branch));
    }
    check.warn_all(problems);
    header
}

fn read_results(
    results: &[Json<TrivyResult, IgnoredAny>],
    prefix: &str,
    summary: &mut Summary,
    problems: &mut Problems,
) {
    for (index, result) in results.iter().enumerate() {
        let pointer = format!("{prefix}/{index}");
        let Some(result) = object_or_refuse(result, &pointer, "result not read", &mut summary.refused, problems) else {
            continue;
        };
        summary.results += 1;
        let mut check = Check::new(pointer.clone());
        let target = text(check.get("Target", &result.target));
        check.warn_all(problems);

        let items = list(&result.vulnerabilities, &pointer, "Vulnerabilities", summary, problems);
        for (index, item) in items.iter().enumerate() {
            let pointer = format!("{pointer}/Vulnerabilities/{index}");
            let Some(vulnerability) = leaf(item, &pointer, &mut summary.refused, problems) else {
                continue;
            };
            let mut check = Check::new(pointer);
            let id = text(check.get("VulnerabilityID", &vulnerability.id));
            let package = text(check.get("PkgName", &vulnerability.package));
            let installed = text(check.get("InstalledVersion", &vulnerability.installed_version));
            let fixed = text(check.get("FixedVersion", &vulnerability.fixed_version));
            let severity = severity(check.get("Severity", &vulnerability.severity));
            if check.refuse_first(&mut summary.refused, problems) {
                continue;
            }
            summary.vulnerabilities += 1;
            summary.fixable += u64::from(fixed.is_some());
            summary.counts.add(severity);
            summary.findings.push(finding(&[
                ("type", Some(json!("vulnerability"))),
                ("id", id.map(Value::from)),
                ("severity", Some(json!(severity.as_str()))),
                ("target", target.clone().map(Value::from)),
                ("package", package.map(Value::from)),
                ("installed_version", installed.map(Value::from)),
                ("fixed_version", fixed.map(Value::from)),
            ]));
        }

        let mut passed_listed = 0u64;
        let mut excepted_listed = 0u64;
        let items = list(
            &result.misconfigurations,
            &pointer,
            "Misconfigurations",
            summary,
            problems,
        );
        for (index, item) in items.iter().enumerate() {
            let pointer = format!("{pointer}/Misconfigurations/{index}");
            let Some(misconfiguration) = leaf(item, &pointer, &mut summary.refused, problems) else {
                continue;
            };
            let mut check = Check::new(pointer.clone());
            let id = text(check.get("ID", &misconfiguration.id)).or(text(check.get("AVDID", &misconfiguration.avd_id)));
            let severity = severity(check.get("Severity", &misconfiguration.severity));
            let status = text(check.get("Status", &misconfiguration.status));
            if check.refuse_first(&mut summary.refused, problems) {
                continue;
            }
            match status.as_deref().map(str::to_ascii_uppercase).as_deref() {
                Some("PASS") => {
                    passed_listed += 1;
                    continue;
                }
                Some("EXCEPTION") => {
                    excepted_listed += 1;
                    continue;
                }
                None | Some("FAIL") => {}
                Some(other) => problems.warn(
                    Some(format!("{pointer}/Status")),
                    format!("unknown `Status` `{}`; counted as FAIL", bounded(other)),
                ),
            }
            summary.misconfigurations += 1;
            summary.counts.add(severity);
            summary.findings.push(finding(&[
                ("type", Some(json!("misconfiguration"))),
                ("id", id.map(Value::from)),
                ("severity", Some(json!(severity.as_str()))),
                ("target", target.clone().map(Value::from)),
            ]));
        }
        let mut check = Check::new(pointer.clone());
        let (mut passed, mut excepted) = (passed_listed, excepted_listed);
        if let Some(misconf_summary) = check.object("MisconfSummary", &result.misconf_summary) {
            passed = check
                .get("MisconfSummary/Successes", &misconf_summary.successes)
                .copied()
                .unwrap_or(passed_listed);
            excepted = check
                .get("MisconfSummary/Exceptions", &misconf_summary.exceptions)
                .copied()
                .unwrap_or(excepted_listed);
        }
        check.warn_all(problems);
        summary.misconfigurations_passed = summary.misconfigurations_passed.saturating_add(passed);
        summary.misconfigurations_excepted = summary.misconfigurations_excepted.saturating_add(excepted);

        let items = list(&result.secrets, &pointer, "Secrets", summary, problems);
        for (index, item) in items.iter().enumerate() {
            let pointer = format!("{pointer}/Secrets/{index}");
            let Some(secret) = leaf(item, &pointer, &mut summary.refused, problems) else {
                continue;
            };
            let mut check = Check::new(pointer);
            let id = text(check.get("RuleID", &secret.rule_id));
            let severity = severity(check.get("Severity", &secret.severity));
            let line = check.get("StartLine", &secret.start_line).copied();
            if check.refuse_first(&mut summary.refused, problems) {
                continue;
            }
            summary.secrets += 1;
            summary.counts.add(severity);
            summary.findings.push(finding(&[
                ("type", Some(json!("secret"))),
                ("id", id.map(Value::from)),
                ("severity", Some(json!(severity.as_str()))),
                ("target", target.clone().map(Value::from)),
                ("line", line.map(Value::from)),
            ]));
        }

        let items = list(&result.licenses, &pointer, "Licenses", summary, problems);
        for (index, item) in items.iter().enumerate() {
            let pointer = format!("{pointer}/Licenses/{index}");
            let Some(license) = leaf(item, &pointer, &mut summary.refused, problems) else {
                continue;
            };
            let mut check = Check::new(pointer);
            let id = text(check.get("Name", &license.name));
            let severity = severity(check.get("Severity", &license.severity));
            let package = text(check.get("PkgName", &license.package));
            if check.refuse_first(&mut summary.refused, problems) {
                continue;
            }
            summary.licenses += 1;
            summary.counts.add(severity);
            summary.findings.push(finding(&[
                ("type", Some(json!("license"))),
                ("id", id.map(Value::from)),
                ("severity", Some(json!(severity.as_str()))),
                ("target", target.clone().map(Value::from)),
                ("package", package.map(Value::from)),
            ]));
        }

        for (name, field) in [
            ("ModifiedFindings", &result.modified_findings),
            ("ExperimentalModifiedFindings", &result.experimental_modified_findings),
        ] {
            match field {
                None | Some(Json::Missing) => {}
                Some(Json::Array(items)) => {
                    summary.suppressed = summary.suppressed.saturating_add(items.len() as u64);
                }
                Some(other) => problems.warn(
                    Some(format!("{pointer}/{name}")),
                    format!("ignored: `{name}` is {}, expected an array", other.found()),
                ),
            }
        }
    }
}

/// The elements of an array field of findings; a field of another type is
/// refused (counted in `refused`) and gives no elements.
fn list<'a, T>(
    field: &'a Objects<T>,
    pointer: &str,
    name: &str,
    summary: &mut Summary,
    problems: &mut Problems,
) -> &'a [Json<T, IgnoredAny>] {
    match field {
        None | Some(Json::Missing) => &[],
        Some(Json::Array(items)) => items,
        Some(other) => {
            summary.refused += 1;
            problems.refuse(
                Some(format!("{pointer}/{name}")),
                format!("not counted: `{name}` is {}, expected an array", other.found()),
            );
            &[]
        }
    }
}

fn evidence(header: &Header, summary: Summary, context: &Context) -> NewEvidence {
    let mut attrs = Map::new();
    attrs.insert("tool".into(), json!("trivy"));
    if let Some(version) = &header.tool_version {
        attrs.insert("tool_version".into(), json!(version));
    }
    attrs.insert("format".into(), json!("trivy-json"));
    if let Some(version) = header.schema_version {
        attrs.insert("schema_version".into(), json!(version));
    }
    if let Some(target) = &header.target {
        attrs.insert("target".into(), json!(target));
    }
    if let Some(artifact_type) = &header.artifact_type {
        attrs.insert("artifact_type".into(), json!(artifact_type));
    }
    attrs.insert("results".into(), json!(summary.results));
    attrs.insert("counts_by_severity".into(), summary.counts.to_json());
    attrs.insert("vulnerabilities".into(), json!(summary.vulnerabilities));
    attrs.insert("misconfigurations".into(), json!(summary.misconfigurations));
    attrs.insert(
        "misconfigurations_passed".into(),
        json!(summary.misconfigurations_passed),
    );
    attrs.insert(
        "misconfigurations_excepted".into(),
        json!(summary.misconfigurations_excepted),
    );
    attrs.insert("secrets".into(), json!(summary.secrets));
    attrs.insert("licenses".into(), json!(summary.licenses));
    attrs.insert("fixable".into(), json!(summary.fixable));
    attrs.insert("suppressed".into(), json!(summary.suppressed));
    attrs.insert("refused".into(), json!(summary.refused));
    summary.findings.insert_into(&mut attrs);

    context.record(
        COLLECTOR,
        EvidenceKind::ScanReport,
        header.time,
        header.subject.clone().or_context(context),
        None,
        Value::Object(attrs),
    )
}

// ---------------------------------------------------------------------------
// Lenient JSON reading, shared with grype.rs and sbom.rs
// ---------------------------------------------------------------------------

/// Any JSON value, read without failing on its type: an object read as `M`, an
/// array of `S`, or the name of what else it was. Objects are read through `M`'s
/// own (derived) deserializer without buffering; unknown members are skipped.
#[derive(Default)]
pub(crate) enum Json<M, S> {
    /// The member was absent (only with `#[serde(default)]`).
    #[default]
    Missing,
    /// An object.
    Object(M),
    /// An array.
    Array(Vec<S>),
    /// Anything else: `"a string"`, `"a number"`, `"a boolean"`, `"null"`.
    Other(&'static str),
}

impl<M, S> Json<M, S> {
    /// What the value was, for messages.
    pub(crate) fn found(&self) -> &'static str {
        match self {
            Json::Missing => "missing",
            Json::Object(_) => "an object",
            Json::Array(_) => "an array",
            Json::Other(what) => what,
        }
    }
}

impl<'de, M: Deserialize<'de>, S: Deserialize<'de>> Deserialize<'de> for Json<M, S> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor(PhantomData))
    }
}

struct JsonVisitor<M, S>(PhantomData<fn() -> (M, S)>);

impl<'de, M: Deserialize<'de>, S: Deserialize<'de>> Visitor<'de> for JsonVisitor<M, S> {
    type Value = Json<M, S>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        M::deserialize(MapAccessDeserializer::new(map)).map(Json::Object)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<S>()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_bool<E: de::Error>(self, _value: bool) -> Result<Self::Value, E> {
        Ok(Json::Other("a boolean"))
    }

    fn visit_i64<E: de::Error>(self, _value: i64) -> Result<Self::Value, E> {
        Ok(Json::Other("a number"))
    }

    fn visit_u64<E: de::Error>(self, _value: u64) -> Result<Self::Value, E> {
        Ok(Json::Other("a number"))
    }

    fn visit_f64<E: de::Error>(self, _value: f64) -> Result<Self::Value, E> {
        Ok(Json::Other("a number"))
    }

    fn visit_str<E: de::Error>(self, _value: &str) -> Result<Self::Value, E> {
        Ok(Json::Other("a string"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Json::Other("null"))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Json::Other("null"))
    }
}

/// A field buffered on its own and then read as `T`; a wrong type is kept as
/// serde's message instead of failing the document.
pub(crate) enum Lenient<T> {
    /// The field had the expected type.
    Read(T),
    /// It did not: what serde said.
    Wrong(String),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        Ok(match T::deserialize(&value) {
            Ok(read) => Lenient::Read(read),
            Err(error) => Lenient::Wrong(bounded(&error.to_string())),
        })
    }
}

/// Field checks for one object at `base`: each wrong type is remembered with
/// its pointer, so the caller can refuse the object (a finding) or warn and
/// go on (a container).
pub(crate) struct Check {
    base: String,
    wrong: Vec<(String, String)>,
}

impl Check {
    /// Checks for the object at JSON pointer `base`.
    pub(crate) fn new(base: String) -> Check {
        Check {
            base,
            wrong: Vec::new(),
        }
    }

    /// The field's value when present with the expected type; `path` is the
    /// field's pointer relative to the object (`fix/state`).
    pub(crate) fn get<'v, T>(&mut self, path: &str, field: &'v Option<Lenient<T>>) -> Option<&'v T> {
        match field {
            Some(Lenient::Read(value)) => Some(value),
            Some(Lenient::Wrong(message)) => {
                self.wrong.push((format!("{}/{path}", self.base), message.clone()));
                None
            }
            None => None,
        }
    }

    /// The member object when present and an object.
    pub(crate) fn object<'v, M, S>(&mut self, path: &str, field: &'v Option<Json<M, S>>) -> Option<&'v M> {
        match field {
            Some(Json::Object(value)) => Some(value),
            None | Some(Json::Missing) => None,
            Some(other) => {
                self.wrong.push((
                    format!("{}/{path}", self.base),
                    format!("invalid type: {}, expected an object", other.found()),
                ));
                None
            }
        }
    }

    /// Refuse the object for its first wrong field (one diagnostic, counted in
    /// `refused`); returns whether it was refused.
    pub(crate) fn refuse_first(self, refused: &mut u64, problems: &mut Problems) -> bool {
        match self.wrong.into_iter().next() {
            Some((pointer, message)) => {
                *refused += 1;
                problems.refuse(Some(pointer), format!("finding not counted: {message}"));
                true
            }
            None => false,
        }
    }

    /// Warn about every wrong field: each was ignored, the object still landed.
    pub(crate) fn warn_all(self, problems: &mut Problems) {
        for (pointer, message) in self.wrong {
            problems.warn(Some(pointer), format!("ignored: {message}"));
        }
    }
}

/// The object of a finding; anything else is refused (one diagnostic, counted).
pub(crate) fn leaf<'a, T>(
    item: &'a Json<T, IgnoredAny>,
    pointer: &str,
    refused: &mut u64,
    problems: &mut Problems,
) -> Option<&'a T> {
    object_or_refuse(item, pointer, "finding not counted", refused, problems)
}

fn object_or_refuse<'a, T>(
    item: &'a Json<T, IgnoredAny>,
    pointer: &str,
    what: &str,
    refused: &mut u64,
    problems: &mut Problems,
) -> Option<&'a T> {
    match item {
        Json::Object(value) => Some(value),
        other => {
            *refused += 1;
            problems.refuse(
                Some(pointer.to_string()),
                format!("{what}: {}, expected an object", other.found()),
            );
            None
        }
    }
}

/// Problems found in one document, bounded to [`MAX_DIAGNOSTICS`].
#[derive(Default)]
pub(crate) struct Problems {
    list: Vec<(Option<String>, String, bool)>,
    dropped: u64,
}

impl Problems {
    fn push(&mut self, pointer: Option<String>, message: String, warning: bool) {
        if self.list.len() < MAX_DIAGNOSTICS {
            self.list.push((pointer, message, warning));
        } else {
            self.dropped += 1;
        }
    }

    /// Something was refused: it did not land.
    pub(crate) fn refuse(&mut self, pointer: Option<String>, message: impl Into<String>) {
        self.push(pointer, message.into(), false);
    }

    /// Something odd about input that still landed.
    pub(crate) fn warn(&mut self, pointer: Option<String>, message: impl Into<String>) {
        self.push(pointer, message.into(), true);
    }

    /// The diagnostics, with a last one counting those not shown.
    pub(crate) fn into_diagnostics(self, context: &Context) -> Vec<Diagnostic> {
        let mut diagnostics: Vec<Diagnostic> = self
            .list
            .into_iter()
            .map(|(pointer, message, warning)| Diagnostic {
                warning,
                ..context.diagnostic(None, pointer, message)
            })
            .collect();
        if self.dropped > 0 {
            diagnostics.push(context.diagnostic(None, None, format!("{} more problems not shown", self.dropped)));
        }
        diagnostics
    }
}

/// Read a whole JSON document as `T`, after the size, encoding and depth checks
/// every whole-document collector makes. `what` names the format in messages.
pub(crate) fn read_document<T: DeserializeOwned>(
    bytes: &[u8],
    context: &Context,
    limits: &Limits,
    what: &str,
) -> Result<T, Diagnostic> {
    let size = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
    if size > limits.max_document_bytes {
        return Err(context.diagnostic(
            None,
            None,
            format!(
                "file is {size} bytes, larger than the limit of {} bytes for one document; not read",
                limits.max_document_bytes
            ),
        ));
    }
    if let Some(encoding) = crate::byte_order_mark_encoding(bytes) {
        return Err(context.diagnostic(
            Some(1),
            None,
            format!("file is {encoding} (byte order mark); a {what} must be UTF-8; not read"),
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Some(offset) = json_depth_exceeds(bytes, limits.max_depth) {
        let (line, column) = line_column(bytes, offset);
        return Err(context.diagnostic(
            Some(line),
            None,
            format!(
                "JSON nested deeper than {} levels (column {column}); not read",
                limits.max_depth
            ),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    T::deserialize(&mut deserializer)
        .and_then(|document| deserializer.end().map(|()| document))
        .map_err(|error| json_error(context, &error, what))
}

/// One diagnostic for a file serde_json could not read, with line and column.
fn json_error(context: &Context, error: &serde_json::Error, what: &str) -> Diagnostic {
    let text = error.to_string();
    let location = format!(" at line {} column {}", error.line(), error.column());
    let reason = text.strip_suffix(&location).unwrap_or(&text);
    let kind = match error.classify() {
        serde_json::error::Category::Eof => "truncated or empty JSON".to_string(),
        serde_json::error::Category::Syntax => "not valid JSON".to_string(),
        serde_json::error::Category::Data => format!("not a {what}"),
        serde_json::error::Category::Io => "could not read".to_string(),
    };
    let line = (error.line() > 0).then(|| u64::try_from(error.line()).unwrap_or(u64::MAX));
    context.diagnostic(
        line,
        None,
        format!(
            "{kind} (column {}): {}; nothing recorded",
            error.column(),
            bounded(reason)
        ),
    )
}

/// Counts by normalised severity, in the order of [`Severity::ALL`].
#[derive(Default, Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct SeverityCounts([u64; 6]);

impl SeverityCounts {
    /// Count one finding.
    pub(crate) fn add(&mut self, severity: Severity) {
        if let Some(position) = Severity::ALL.iter().position(|known| *known == severity) {
            self.0[position] = self.0[position].saturating_add(1);
        }
    }

    /// All six keys, always.
    pub(crate) fn to_json(self) -> Value {
        let map: Map<String, Value> = Severity::ALL
            .iter()
            .zip(self.0)
            .map(|(severity, count)| (severity.as_str().to_string(), json!(count)))
            .collect();
        Value::Object(map)
    }
}

/// The first [`MAX_FINDINGS`] findings and how many there were.
#[derive(Default)]
pub(crate) struct Findings {
    kept: Vec<Value>,
    total: u64,
}

impl Findings {
    /// Add one finding (kept only while fewer than [`MAX_FINDINGS`] are).
    pub(crate) fn push(&mut self, finding: Value) {
        self.total = self.total.saturating_add(1);
        if self.kept.len() < MAX_FINDINGS {
            self.kept.push(finding);
        }
    }

    /// `findings` and `findings_truncated` attributes.
    pub(crate) fn insert_into(self, attrs: &mut Map<String, Value>) {
        let truncated = self.total > self.kept.len() as u64;
        attrs.insert("findings".into(), Value::Array(self.kept));
        attrs.insert("findings_truncated".into(), json!(truncated));
    }
}

/// A finding object from its present members.
pub(crate) fn finding(members: &[(&str, Option<Value>)]) -> Value {
    let map: Map<String, Value> = members
        .iter()
        .filter_map(|(key, value)| value.clone().map(|value| ((*key).to_string(), value)))
        .collect();
    Value::Object(map)
}

/// A tool's severity word, normalised; absent is `unknown`.
pub(crate) fn severity(word: Option<&String>) -> Severity {
    word.map_or(Severity::Unknown, |word| Severity::from_name(word))
}

/// A text from the input: trimmed, empty as absent, cut at [`MAX_TEXT_CHARS`].
pub(crate) fn text(value: Option<&String>) -> Option<String> {
    value
        .map(|value| value.trim())
        .filter(|value| !value.is_empty())
        .map(bounded)
}

/// A time from the input at `pointer`. Go's zero time (`0001-01-01...`) is
/// taken as absent; a time that cannot be read is reported and not used.
pub(crate) fn read_time(value: Option<&String>, pointer: &str, problems: &mut Problems) -> Option<Timestamp> {
    let value = value?.trim();
    if value.is_empty() || value.starts_with("0001-01-01") {
        return None;
    }
    match parse_time(value) {
        Ok(time) => Some(time),
        Err(error) => {
            problems.warn(Some(pointer.to_string()), format!("time not used: {error}"));
            None
        }
    }
}

/// A time from a service's export at `pointer` (code hosts, tickets,
/// incidents): as [`read_time`], but Go's zero time is not a documented
/// "no time" of these services, so dropping it gives a warning.
pub(crate) fn read_service_time(value: Option<&String>, pointer: &str, problems: &mut Problems) -> Option<Timestamp> {
    if let Some(zero) = value
        .map(|value| value.trim())
        .filter(|value| value.starts_with("0001-01-01"))
    {
        problems.warn(
            Some(pointer.to_string()),
            format!("time `{}` is the zero time (year 1); not used", bounded(zero)),
        );
        return None;
    }
    read_time(value, pointer, problems)
}

/// A text from the input, cut at [`MAX_TEXT_CHARS`] characters (marked with `…`).
pub(crate) fn bounded(text: &str) -> String {
    match text.char_indices().nth(MAX_TEXT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The JSON type of a value, for messages.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An artefact digest `algorithm:hex` from a reference that ends in one:
/// `sha256:…`, `repo@sha256:…`, or a package URL `pkg:oci/name@sha256%3A…?…`.
/// Only SHA-256, SHA-384 and SHA-512 with hex of the right length are accepted.
pub(crate) fn digest(reference: &str) -> Option<String> {
    let after_at = reference.rsplit('@').next().unwrap_or(reference);
    let without_query = after_at.split(['?', '#']).next().unwrap_or(after_at);
    let decoded = without_query.replace("%3A", ":").replace("%3a", ":");
    let (algorithm, hex) = decoded.split_once(':')?;
    hash_digest(algorithm, hex)
}

/// `algorithm:hex` for a hash given as algorithm name (`SHA-256`, `SHA256`,
/// `sha256`) and hex value; `None` for other algorithms or malformed hex.
pub(crate) fn hash_digest(algorithm: &str, hex: &str) -> Option<String> {
    let algorithm: String = algorithm
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    let length = match algorithm.as_str() {
        "sha256" => 64,
        "sha384" => 96,
        "sha512" => 128,
        _ => return None,
    };
    let hex = hex.trim();
    (hex.len() == length && hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
        .then(|| format!("{algorithm}:{}", hex.to_ascii_lowercase()))
}

/// Filling a subject's repository, commit and ref from the operator's flags.
pub(crate) trait OrContext {
    /// The subject with `--repo`, `--commit`, `--ref` where it states none.
    fn or_context(self, context: &Context) -> Subject;
}

impl OrContext for Subject {
    fn or_context(mut self, context: &Context) -> Subject {
        self.repo = self.repo.or_else(|| context.repo.clone());
        self.commit = self.commit.or_else(|| context.commit.clone());
        self.git_ref = self.git_ref.or_else(|| context.git_ref.clone());
        self
    }
}

/// A tool named in a document, as kept in records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct ToolName {
    /// Vendor, group or manufacturer, when stated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) vendor: Option<String>,
    /// Name.
    pub(crate) name: String,
    /// Version, when stated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::OccurredAtSource;

    fn context() -> Context {
        Context {
            origin: "trivy.json".into(),
            sha256: "00".into(),
            ..Context::default()
        }
    }

    fn check(text: &str) -> Parsed {
        parse(text.as_bytes(), &context(), &Limits::default())
    }

    const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_utf16_or_utf32_byte_order_mark_is_named_for_what_it_is() {
        for (bytes, encoding) in [
            (&b"\xFF\xFE{\x00}\x00"[..], "UTF-16"),
            (b"\xFE\xFF\x00{\x00}", "UTF-16"),
            (b"\xFF\xFE\x00\x00{\x00\x00\x00", "UTF-32"),
            (b"\x00\x00\xFE\xFF\x00\x00\x00{", "UTF-32"),
        ] {
            let parsed = parse(bytes, &context(), &Limits::default());
            assert_eq!(parsed.diagnostics.len(), 1, "{encoding}");
            assert!(
                parsed.diagnostics[0]
                    .message
                    .starts_with(&format!("file is {encoding} (byte order mark);")),
                "{:?}",
                parsed.diagnostics
            );
        }
    }

    fn image_report() -> String {
        format!(
            r#"{{"SchemaVersion":2,"CreatedAt":"2025-03-02T10:00:00.5+01:00","ArtifactName":"ghcr.io/acme/api:1.2",
            "ArtifactType":"container_image","Trivy":{{"Version":"0.58.1"}},
            "Metadata":{{"ImageID":"sha256:{zeros}","RepoDigests":["ghcr.io/acme/api@{DIGEST}"],
              "RepoURL":"https://github.com/acme/api","Commit":"abc123","Branch":"main"}},
            "Results":[
              {{"Target":"ghcr.io/acme/api:1.2 (alpine 3.19)","Class":"os-pkgs","Type":"alpine","Vulnerabilities":[
                {{"VulnerabilityID":"CVE-2024-0001","PkgName":"openssl","InstalledVersion":"3.1.0","FixedVersion":"3.1.1","Severity":"CRITICAL"}},
                {{"VulnerabilityID":"CVE-2024-0002","PkgName":"zlib","InstalledVersion":"1.2","FixedVersion":"","Severity":"LOW"}},
                {{"VulnerabilityID":"CVE-2024-0003","PkgName":"musl","InstalledVersion":"1.2.4","Severity":"UNKNOWN"}}]}},
              {{"Target":"Dockerfile","Class":"config","Type":"dockerfile",
                "MisconfSummary":{{"Successes":20,"Failures":2,"Exceptions":1}},
                "Misconfigurations":[
                  {{"ID":"DS002","AVDID":"AVD-DS-0002","Severity":"HIGH","Status":"FAIL"}},
                  {{"AVDID":"AVD-DS-0026","Severity":"LOW","Status":"FAIL"}},
                  {{"ID":"DS001","Severity":"MEDIUM","Status":"PASS"}}]}},
              {{"Target":".env","Class":"secret","Secrets":[{{"RuleID":"aws-access-key-id","Severity":"CRITICAL","StartLine":3}}]}},
              {{"Target":"node-pkg","Class":"license","Licenses":[{{"Name":"GPL-3.0","Severity":"HIGH","PkgName":"x"}}]}},
              {{"Target":"go.mod","Class":"lang-pkgs","Type":"gomod","ModifiedFindings":[{{"Status":"not_affected"}}]}}
            ]}}"#,
            zeros = "0".repeat(64)
        )
    }

    #[test]
    fn an_image_report_gives_one_record_with_everything() {
        let parsed = check(&image_report());
        assert_eq!(parsed.diagnostics, vec![]);
        assert_eq!(parsed.evidence.len(), 1);
        let record = &parsed.evidence[0];
        assert_eq!(record.kind, EvidenceKind::ScanReport);
        assert_eq!(record.source.collector, "trivy");
        assert_eq!(record.source.pointer, None);
        assert_eq!(record.occurred_at_source, OccurredAtSource::Source);
        assert_eq!(
            record.occurred_at.map(|time| time.to_string()).as_deref(),
            Some("2025-03-02T09:00:00.5Z")
        );
        assert_eq!(
            record.subject,
            Subject {
                repo: Some("acme/api".into()),
                commit: Some("abc123".into()),
                git_ref: Some("main".into()),
                artifact: Some(DIGEST.into()),
                image: Some("ghcr.io/acme/api:1.2".into()),
                ..Subject::default()
            }
        );
        let attrs = &record.attrs;
        assert_eq!(
            attrs["counts_by_severity"],
            json!({"critical": 2, "high": 2, "medium": 0, "low": 2, "info": 0, "unknown": 1})
        );
        assert_eq!(attrs["tool"], json!("trivy"));
        assert_eq!(attrs["tool_version"], json!("0.58.1"));
        assert_eq!(attrs["format"], json!("trivy-json"));
        assert_eq!(attrs["schema_version"], json!(2));
        assert_eq!(attrs["target"], json!("ghcr.io/acme/api:1.2"));
        assert_eq!(attrs["artifact_type"], json!("container_image"));
        assert_eq!(attrs["results"], json!(5));
        assert_eq!(attrs["vulnerabilities"], json!(3));
        assert_eq!(attrs["misconfigurations"], json!(2));
        assert_eq!(attrs["misconfigurations_passed"], json!(20));
        assert_eq!(attrs["misconfigurations_excepted"], json!(1));
        assert_eq!(attrs["secrets"], json!(1));
        assert_eq!(attrs["licenses"], json!(1));
        assert_eq!(attrs["fixable"], json!(1));
        assert_eq!(attrs["suppressed"], json!(1));
        assert_eq!(attrs["refused"], json!(0));
        assert_eq!(attrs["findings_truncated"], json!(false));
        let findings = attrs["findings"].as_array().cloned().unwrap_or_default();
        assert_eq!(findings.len(), 7);
        assert_eq!(
            findings[0],
            json!({"type": "vulnerability", "id": "CVE-2024-0001", "severity": "critical",
                   "target": "ghcr.io/acme/api:1.2 (alpine 3.19)", "package": "openssl",
                   "installed_version": "3.1.0", "fixed_version": "3.1.1"})
        );
        assert!(findings[1].get("fixed_version").is_none());
        assert_eq!(findings[4]["id"], json!("AVD-DS-0026"));
        assert_eq!(
            findings[5],
            json!({"type": "secret", "id": "aws-access-key-id", "severity": "critical", "target": ".env", "line": 3})
        );
        assert_eq!(findings[6]["type"], json!("license"));
    }

    #[test]
    fn the_older_list_form_is_read() {
        let parsed = check(
            r#"[{"Target":"php-app/composer.lock","Vulnerabilities":null},
               {"Target":"node-app/package-lock.json","Vulnerabilities":[
                 {"VulnerabilityID":"CVE-2018-16487","PkgName":"lodash","InstalledVersion":"4.17.4","FixedVersion":">=4.17.11","Severity":"HIGH"}]}]"#,
        );
        assert_eq!(parsed.diagnostics, vec![]);
        let attrs = &parsed.evidence[0].attrs;
        assert_eq!(attrs["results"], json!(2));
        assert_eq!(attrs["counts_by_severity"]["high"], json!(1));
        assert_eq!(attrs["fixable"], json!(1));
        assert!(attrs.get("schema_version").is_none());
        assert!(attrs.get("target").is_none());
        assert_eq!(parsed.evidence[0].occurred_at, None);
        assert_eq!(parsed.evidence[0].occurred_at_source, OccurredAtSource::Ingested);
    }

    #[test]
    fn a_clean_report_without_results_is_zero_findings() {
        let mut context = context();
        context.repo = Some("flag/repo".into());
        context.commit = Some("ffff".into());
        let parsed = parse(
            br#"{"SchemaVersion":2,"ArtifactName":".","ArtifactType":"filesystem"}"#,
            &context,
            &Limits::default(),
        );
        assert_eq!(parsed.diagnostics, vec![]);
        let record = &parsed.evidence[0];
        assert_eq!(record.attrs["results"], json!(0));
        assert_eq!(record.attrs["findings"], json!([]));
        assert_eq!(record.subject.repo.as_deref(), Some("flag/repo"));
        assert_eq!(record.subject.commit.as_deref(), Some("ffff"));
        assert_eq!(record.subject.image, None);
    }

    #[test]
    fn a_string_among_good_findings_is_refused_alone() {
        let parsed = check(
            r#"{"SchemaVersion":2,"Results":[
                 {"Target":"a","Vulnerabilities":[
                   {"VulnerabilityID":"CVE-1","Severity":"HIGH"},
                   "CVE-2 as a string",
                   {"VulnerabilityID":"CVE-3","Severity":7},
                   {"VulnerabilityID":"CVE-4","Severity":"MEDIUM"}]},
                 42,
                 {"Target":5,"Secrets":"none","Misconfigurations":[{"ID":"X","Status":"MAYBE","Severity":"LOW"}]}]}"#,
        );
        assert_eq!(parsed.evidence.len(), 1);
        let attrs = &parsed.evidence[0].attrs;
        assert_eq!(attrs["vulnerabilities"], json!(2));
        assert_eq!(attrs["misconfigurations"], json!(1));
        assert_eq!(attrs["refused"], json!(4));
        assert_eq!(attrs["results"], json!(2));
        assert_eq!(
            attrs["counts_by_severity"],
            json!({"critical": 0, "high": 1, "medium": 1, "low": 1, "info": 0, "unknown": 0})
        );
        let got: Vec<(&str, bool)> = parsed
            .diagnostics
            .iter()
            .map(|diagnostic| (diagnostic.pointer.as_deref().unwrap_or(""), diagnostic.warning))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/Results/0/Vulnerabilities/1", false),
                ("/Results/0/Vulnerabilities/2/Severity", false),
                ("/Results/1", false),
                ("/Results/2/Target", true),
                ("/Results/2/Misconfigurations/0/Status", true),
                ("/Results/2/Secrets", false),
            ]
        );
        assert!(parsed.diagnostics[1].message.contains("expected a string"));
    }

    #[test]
    fn wrong_report_fields_are_warnings() {
        let parsed = check(
            r#"{"SchemaVersion":"two","CreatedAt":"yesterday","ArtifactName":["x"],"Metadata":"none","Trivy":{"Version":1},"Results":[]}"#,
        );
        assert_eq!(parsed.evidence.len(), 1);
        assert!(parsed.diagnostics.iter().all(|diagnostic| diagnostic.warning));
        let pointers: Vec<&str> = parsed
            .diagnostics
            .iter()
            .map(|diagnostic| diagnostic.pointer.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(
            pointers,
            vec![
                "/SchemaVersion",
                "/CreatedAt",
                "/ArtifactName",
                "/Trivy/Version",
                "/Metadata"
            ]
        );
        assert_eq!(parsed.evidence[0].occurred_at, None);
        let parsed = check(r#"{"SchemaVersion":3,"Results":[]}"#);
        assert_eq!(parsed.evidence[0].attrs["schema_version"], json!(3));
        assert!(parsed.diagnostics[0].warning);
    }

    #[test]
    fn not_a_trivy_report_is_said_so() {
        for text in [
            r#"{"hello":"world"}"#,
            r#"{"SchemaVersion":2,"Results":"many"}"#,
            r#""a string""#,
            "null",
        ] {
            let parsed = check(text);
            assert!(parsed.evidence.is_empty(), "{text}");
            assert_eq!(parsed.diagnostics.len(), 1, "{text}");
            assert!(!parsed.diagnostics[0].warning);
        }
    }

    #[test]
    fn malformed_files_give_one_diagnostic_with_line() {
        let full = image_report();
        let parsed = check(&full[..full.len() / 2]);
        assert!(parsed.evidence.is_empty());
        assert_eq!(parsed.diagnostics.len(), 1);
        assert!(parsed.diagnostics[0].line.is_some());
        assert!(parsed.diagnostics[0].message.starts_with("truncated"));

        let deep = format!(r#"{{"SchemaVersion":2,"Results":{}"#, "[".repeat(100_000));
        let parsed = check(&deep);
        assert!(parsed.evidence.is_empty());
        assert!(parsed.diagnostics[0].message.contains("deeper than 64"));

        let parsed = check(r#"{"SchemaVersion":2,"Results":[],"Results":[]}"#);
        assert!(parsed.evidence.is_empty());
        assert_eq!(parsed.diagnostics.len(), 1);

        let limits = Limits {
            max_document_bytes: 10,
            ..Limits::default()
        };
        let parsed = parse(full.as_bytes(), &context(), &limits);
        assert!(parsed.diagnostics[0].message.contains("larger than the limit"));
    }

    #[test]
    fn findings_are_bounded_but_counts_are_complete() {
        let one = r#"{"VulnerabilityID":"CVE-X","Severity":"HIGH"}"#;
        let many = vec![one; MAX_FINDINGS + 7].join(",");
        let parsed = check(&format!(
            r#"{{"SchemaVersion":2,"Results":[{{"Target":"t","Vulnerabilities":[{many}]}}]}}"#
        ));
        let attrs = &parsed.evidence[0].attrs;
        assert_eq!(attrs["vulnerabilities"], json!(MAX_FINDINGS + 7));
        assert_eq!(attrs["counts_by_severity"]["high"], json!(MAX_FINDINGS + 7));
        assert_eq!(attrs["findings"].as_array().map(Vec::len), Some(MAX_FINDINGS));
        assert_eq!(attrs["findings_truncated"], json!(true));
    }

    #[test]
    fn many_problems_give_bounded_diagnostics() {
        let many = vec!["1"; MAX_DIAGNOSTICS + 9].join(",");
        let parsed = check(&format!(
            r#"{{"SchemaVersion":2,"Results":[{{"Vulnerabilities":[{many}]}}]}}"#
        ));
        assert_eq!(parsed.diagnostics.len(), MAX_DIAGNOSTICS + 1);
        assert_eq!(parsed.diagnostics[MAX_DIAGNOSTICS].message, "9 more problems not shown");
        assert_eq!(parsed.evidence[0].attrs["refused"], json!(MAX_DIAGNOSTICS + 9));
    }

    #[test]
    fn digests_are_normalised() {
        let hex = "AB".repeat(32);
        let cases = [
            (
                format!("sha256:{hex}"),
                Some(format!("sha256:{}", hex.to_ascii_lowercase())),
            ),
            (
                format!("repo@sha256:{hex}"),
                Some(format!("sha256:{}", hex.to_ascii_lowercase())),
            ),
            (
                format!("pkg:oci/alpine@sha256%3A{hex}?arch=amd64"),
                Some(format!("sha256:{}", hex.to_ascii_lowercase())),
            ),
            (format!("sha1:{}", "a".repeat(40)), None),
            ("sha256:abc".to_string(), None),
            ("alpine:3.19".to_string(), None),
            (String::new(), None),
        ];
        for (reference, expected) in cases {
            assert_eq!(digest(&reference), expected, "{reference}");
        }
        assert_eq!(
            hash_digest("SHA-512", &"f".repeat(128)),
            Some(format!("sha512:{}", "f".repeat(128)))
        );
    }

    #[test]
    fn go_zero_time_is_absent() {
        let parsed = check(r#"{"SchemaVersion":2,"CreatedAt":"0001-01-01T00:00:00Z"}"#);
        assert_eq!(parsed.diagnostics, vec![]);
        assert_eq!(parsed.evidence[0].occurred_at, None);
    }
}
