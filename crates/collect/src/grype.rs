//! Grype JSON collector: one `scan_report` per report (`matches[]` counted by
//! normalised severity, fixable matches, a bounded list of findings, the
//! scanned target and its digest, the tool version and time).
//!
//! Reading is lenient in the same way as the Trivy collector (see `trivy.rs`):
//! a match that is not an object or has a wrong type in a field that is read is
//! refused with one diagnostic at its JSON pointer and not counted; a wrong
//! type in `source` or `descriptor` is ignored with a warning; a file that is
//! not JSON gives one diagnostic with its line and column and no record.
//! Attribute keys and every rule applied are listed in `docs/sources-scanners.md`.

use jiff::Timestamp;
use model::{EvidenceKind, NewEvidence, Subject};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value, json};

use crate::trivy::{
    Check, Findings, Json, Lenient, MAX_LIST_ENTRIES, OrContext, Problems, SeverityCounts, digest, finding, leaf,
    read_document, read_time, severity, text,
};
use crate::{Context, Limits, Parsed};

/// The collector id recorded in every record's source.
pub const COLLECTOR: &str = "grype";

/// Parse one Grype JSON report into one `scan_report` record.
///
/// Never panics; every problem becomes a diagnostic that names its line or JSON
/// pointer. See the module documentation and `docs/sources-scanners.md`.
pub fn parse(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let mut parsed = Parsed::default();
    let document: Json<Report, IgnoredAny> = match read_document(bytes, context, limits, "Grype JSON report") {
        Ok(document) => document,
        Err(diagnostic) => {
            parsed.diagnostics.push(diagnostic);
            return parsed;
        }
    };
    let mut problems = Problems::default();
    let report = match &document {
        Json::Object(report) => report,
        other => {
            problems.refuse(
                None,
                format!(
                    "not a Grype JSON report: the document is {}, expected an object; nothing recorded",
                    other.found()
                ),
            );
            parsed.diagnostics = problems.into_diagnostics(context);
            return parsed;
        }
    };
    let matches: &[Json<Match, IgnoredAny>] = match &report.matches {
        Json::Array(matches) => matches,
        Json::Other("null") => {
            problems.warn(Some("/matches".into()), "`matches` is null: read as no matches");
            &[]
        }
        Json::Missing => {
            problems.refuse(None, "not a Grype JSON report: no `matches` array; nothing recorded");
            parsed.diagnostics = problems.into_diagnostics(context);
            return parsed;
        }
        other => {
            problems.refuse(
                Some("/matches".into()),
                format!("`matches` is {}, expected an array; nothing recorded", other.found()),
            );
            parsed.diagnostics = problems.into_diagnostics(context);
            return parsed;
        }
    };
    let header = read_header(report, &mut problems);
    let summary = read_matches(matches, report, &mut problems);
    parsed.evidence.push(evidence(&header, summary, context));
    parsed.diagnostics = problems.into_diagnostics(context);
    parsed
}

// ---------------------------------------------------------------------------
// Grype's JSON, as far as it is read (unknown fields are skipped unread)
// ---------------------------------------------------------------------------

type Opt<T> = Option<Lenient<T>>;
type Object<T> = Option<Json<T, IgnoredAny>>;

#[derive(Default, Deserialize)]
#[serde(default)]
struct Report {
    matches: Json<IgnoredAny, Json<Match, IgnoredAny>>,
    #[serde(rename = "ignoredMatches")]
    ignored_matches: Option<Json<IgnoredAny, IgnoredAny>>,
    source: Object<Source>,
    descriptor: Object<Descriptor>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Source {
    #[serde(rename = "type")]
    source_type: Opt<String>,
    /// An object for images (`userInput`, `imageID`, `manifestDigest`,
    /// `repoDigests`), a string for directories and files.
    target: Opt<Value>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Descriptor {
    name: Opt<String>,
    version: Opt<String>,
    timestamp: Opt<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Match {
    vulnerability: Object<Vulnerability>,
    artifact: Object<Artifact>,
    #[serde(rename = "relatedVulnerabilities")]
    related: Opt<Vec<Related>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Vulnerability {
    id: Opt<String>,
    severity: Opt<String>,
    fix: Object<Fix>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Fix {
    state: Opt<String>,
    versions: Opt<Vec<String>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Artifact {
    name: Opt<String>,
    version: Opt<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Related {
    id: Option<String>,
}

// ---------------------------------------------------------------------------
// What a report says
// ---------------------------------------------------------------------------

#[derive(Default)]
struct Header {
    tool_version: Option<String>,
    target: Option<String>,
    artifact_type: Option<String>,
    time: Option<Timestamp>,
    subject: Subject,
}

#[derive(Default)]
struct Summary {
    counts: SeverityCounts,
    vulnerabilities: u64,
    fixable: u64,
    suppressed: u64,
    refused: u64,
    findings: Findings,
}

fn read_header(report: &Report, problems: &mut Problems) -> Header {
    let mut header = Header::default();
    let mut check = Check::new(String::new());
    if let Some(descriptor) = check.object("descriptor", &report.descriptor) {
        let name = text(check.get("descriptor/name", &descriptor.name));
        if let Some(name) = name.filter(|name| !name.eq_ignore_ascii_case("grype")) {
            problems.warn(
                Some("/descriptor/name".into()),
                format!("descriptor names `{name}`, not grype; read as a Grype report"),
            );
        }
        header.tool_version = text(check.get("descriptor/version", &descriptor.version));
        header.time = read_time(
            check.get("descriptor/timestamp", &descriptor.timestamp),
            "/descriptor/timestamp",
            problems,
        );
    }
    if let Some(source) = check.object("source", &report.source) {
        header.artifact_type = text(check.get("source/type", &source.source_type));
        match check.get("source/target", &source.target) {
            Some(Value::String(target)) => header.target = text(Some(target)),
            Some(Value::Object(target)) => {
                let string = |key: &str| target.get(key).and_then(Value::as_str).map(str::to_string);
                header.target = text(string("userInput").as_ref());
                let repo_digest = target
                    .get("repoDigests")
                    .and_then(Value::as_array)
                    .and_then(|digests| digests.iter().filter_map(Value::as_str).find_map(digest));
                header.subject.artifact = repo_digest
                    .or_else(|| string("manifestDigest").as_deref().and_then(digest))
                    .or_else(|| string("imageID").as_deref().and_then(digest));
                if header.artifact_type.as_deref() == Some("image") {
                    header.subject.image = header.target.clone();
                }
            }
            Some(Value::Null) | None => {}
            Some(_) => problems.warn(
                Some("/source/target".into()),
                "ignored: `target` is neither a string nor an object",
            ),
        }
    }
    check.warn_all(problems);
    header
}

fn read_matches(matches: &[Json<Match, IgnoredAny>], report: &Report, problems: &mut Problems) -> Summary {
    let mut summary = Summary::default();
    for (index, item) in matches.iter().enumerate() {
        let pointer = format!("/matches/{index}");
        let Some(found) = leaf(item, &pointer, &mut summary.refused, problems) else {
            continue;
        };
        let mut check = Check::new(pointer);
        let mut id = None;
        let mut word = None;
        let mut fix_state = None;
        let mut fix_versions: Vec<String> = Vec::new();
        if let Some(vulnerability) = check.object("vulnerability", &found.vulnerability) {
            id = text(check.get("vulnerability/id", &vulnerability.id));
            word = check.get("vulnerability/severity", &vulnerability.severity);
            if let Some(fix) = check.object("vulnerability/fix", &vulnerability.fix) {
                fix_state = text(check.get("vulnerability/fix/state", &fix.state));
                if let Some(versions) = check.get("vulnerability/fix/versions", &fix.versions) {
                    fix_versions = versions.iter().filter_map(|version| text(Some(version))).collect();
                }
            }
        }
        let mut package = None;
        let mut installed = None;
        if let Some(artifact) = check.object("artifact", &found.artifact) {
            package = text(check.get("artifact/name", &artifact.name));
            installed = text(check.get("artifact/version", &artifact.version));
        }
        let aliases: Vec<String> = check
            .get("relatedVulnerabilities", &found.related)
            .map(|related| {
                let mut aliases: Vec<String> = Vec::new();
                for alias in related.iter().filter_map(|related| text(related.id.as_ref())) {
                    if Some(&alias) != id.as_ref() && !aliases.contains(&alias) && aliases.len() < MAX_LIST_ENTRIES {
                        aliases.push(alias);
                    }
                }
                aliases
            })
            .unwrap_or_default();
        let severity = severity(word);
        if check.refuse_first(&mut summary.refused, problems) {
            continue;
        }
        summary.vulnerabilities += 1;
        let fixable = fix_state
            .as_deref()
            .is_some_and(|state| state.eq_ignore_ascii_case("fixed"));
        summary.fixable += u64::from(fixable);
        summary.counts.add(severity);
        fix_versions.truncate(MAX_LIST_ENTRIES);
        summary.findings.push(finding(&[
            ("type", Some(json!("vulnerability"))),
            ("id", id.map(Value::from)),
            ("severity", Some(json!(severity.as_str()))),
            ("package", package.map(Value::from)),
            ("installed_version", installed.map(Value::from)),
            (
                "fixed_version",
                (!fix_versions.is_empty()).then(|| json!(fix_versions.join(", "))),
            ),
            ("fix_state", fix_state.map(Value::from)),
            ("aliases", (!aliases.is_empty()).then(|| json!(aliases))),
        ]));
    }
    match &report.ignored_matches {
        None | Some(Json::Missing) => {}
        Some(Json::Array(ignored)) => summary.suppressed = ignored.len() as u64,
        Some(other) => problems.warn(
            Some("/ignoredMatches".into()),
            format!("ignored: `ignoredMatches` is {}, expected an array", other.found()),
        ),
    }
    summary
}

fn evidence(header: &Header, summary: Summary, context: &Context) -> NewEvidence {
    let mut attrs = Map::new();
    attrs.insert("tool".into(), json!("grype"));
    if let Some(version) = &header.tool_version {
        attrs.insert("tool_version".into(), json!(version));
    }
    attrs.insert("format".into(), json!("grype-json"));
    if let Some(target) = &header.target {
        attrs.insert("target".into(), json!(target));
    }
    if let Some(artifact_type) = &header.artifact_type {
        attrs.insert("artifact_type".into(), json!(artifact_type));
    }
    attrs.insert("vulnerabilities".into(), json!(summary.vulnerabilities));
    attrs.insert("counts_by_severity".into(), summary.counts.to_json());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trivy::MAX_FINDINGS;
    use model::OccurredAtSource;

    fn context() -> Context {
        Context {
            origin: "grype.json".into(),
            sha256: "00".into(),
            ..Context::default()
        }
    }

    fn check(text: &str) -> Parsed {
        parse(text.as_bytes(), &context(), &Limits::default())
    }

    fn a_match(id: &str, severity: &str, state: &str, versions: &str) -> String {
        format!(
            r#"{{"vulnerability":{{"id":"{id}","severity":"{severity}","fix":{{"versions":{versions},"state":"{state}"}}}},
               "relatedVulnerabilities":[{{"id":"{id}"}},{{"id":"CVE-9"}}],
               "matchDetails":[],"artifact":{{"name":"pkg","version":"1.0","type":"deb"}}}}"#
        )
    }

    fn report(matches: &str) -> String {
        let digest = "a".repeat(64);
        format!(
            r#"{{"matches":[{matches}],"ignoredMatches":[{{}},{{}}],
               "source":{{"type":"image","target":{{"userInput":"acme/api:1","imageID":"sha256:{zeros}",
                 "manifestDigest":"sha256:{digest}"}}}},
               "distro":{{"name":"debian","version":"12"}},
               "descriptor":{{"name":"grype","version":"0.74.0","timestamp":"2024-01-29T10:45:22.806215-05:00"}}}}"#,
            zeros = "0".repeat(64)
        )
    }

    #[test]
    fn a_report_gives_one_record() {
        let matches = [
            a_match("CVE-1", "Critical", "fixed", r#"["1.1"]"#),
            a_match("GHSA-x", "High", "not-fixed", "[]"),
            a_match("CVE-3", "Negligible", "wont-fix", r#"["a","b"]"#),
            a_match("CVE-4", "Unknown", "unknown", "[]"),
        ]
        .join(",");
        let parsed = check(&report(&matches));
        assert_eq!(parsed.diagnostics, vec![]);
        assert_eq!(parsed.evidence.len(), 1);
        let record = &parsed.evidence[0];
        assert_eq!(record.source.collector, "grype");
        assert_eq!(record.occurred_at_source, OccurredAtSource::Source);
        assert_eq!(
            record.occurred_at.map(|time| time.to_string()).as_deref(),
            Some("2024-01-29T15:45:22.806215Z")
        );
        assert_eq!(record.subject.image.as_deref(), Some("acme/api:1"));
        assert_eq!(record.subject.artifact, Some(format!("sha256:{}", "a".repeat(64))));
        let attrs = &record.attrs;
        assert_eq!(attrs["tool"], json!("grype"));
        assert_eq!(attrs["tool_version"], json!("0.74.0"));
        assert_eq!(attrs["format"], json!("grype-json"));
        assert_eq!(attrs["target"], json!("acme/api:1"));
        assert_eq!(attrs["artifact_type"], json!("image"));
        assert_eq!(attrs["vulnerabilities"], json!(4));
        assert_eq!(
            attrs["counts_by_severity"],
            json!({"critical": 1, "high": 1, "medium": 0, "low": 0, "info": 1, "unknown": 1})
        );
        assert_eq!(attrs["fixable"], json!(1));
        assert_eq!(attrs["suppressed"], json!(2));
        assert_eq!(attrs["refused"], json!(0));
        assert_eq!(
            attrs["findings"][0],
            json!({"type": "vulnerability", "id": "CVE-1", "severity": "critical", "package": "pkg",
                   "installed_version": "1.0", "fixed_version": "1.1", "fix_state": "fixed", "aliases": ["CVE-9"]})
        );
        assert_eq!(attrs["findings"][2]["fixed_version"], json!("a, b"));
        assert!(attrs["findings"][1].get("fixed_version").is_none());
    }

    #[test]
    fn a_directory_target_is_a_string() {
        let parsed = check(
            r#"{"matches":[],"source":{"type":"directory","target":"/src"},"descriptor":{"name":"grype","version":"0.80.0"}}"#,
        );
        assert_eq!(parsed.diagnostics, vec![]);
        let record = &parsed.evidence[0];
        assert_eq!(record.attrs["target"], json!("/src"));
        assert_eq!(record.subject, Subject::default());
        assert_eq!(record.occurred_at, None);
        assert_eq!(record.attrs["findings"], json!([]));
    }

    #[test]
    fn a_string_among_good_matches_is_refused_alone() {
        let matches = [
            a_match("CVE-1", "High", "fixed", "[]"),
            r#""CVE-2""#.to_string(),
            r#"{"vulnerability":{"id":"CVE-3","severity":["High"]}}"#.to_string(),
            r#"{"vulnerability":{"id":"CVE-4","fix":{"versions":"1.0"}}}"#.to_string(),
            r#"{"vulnerability":"CVE-5"}"#.to_string(),
            a_match("CVE-6", "Low", "not-fixed", "[]"),
        ]
        .join(",");
        let parsed = check(&format!(
            r#"{{"matches":[{matches}],"source":7,"descriptor":{{"name":"syft","timestamp":"noon"}}}}"#
        ));
        let attrs = &parsed.evidence[0].attrs;
        assert_eq!(attrs["vulnerabilities"], json!(2));
        assert_eq!(attrs["refused"], json!(4));
        let got: Vec<(&str, bool)> = parsed
            .diagnostics
            .iter()
            .map(|diagnostic| (diagnostic.pointer.as_deref().unwrap_or(""), diagnostic.warning))
            .collect();
        assert_eq!(
            got,
            vec![
                ("/descriptor/name", true),
                ("/descriptor/timestamp", true),
                ("/source", true),
                ("/matches/1", false),
                ("/matches/2/vulnerability/severity", false),
                ("/matches/3/vulnerability/fix/versions", false),
                ("/matches/4/vulnerability", false),
            ]
        );
    }

    #[test]
    fn not_a_grype_report_is_said_so() {
        for text in [
            r#"{"source":{}}"#,
            r#"{"matches":{}}"#,
            r#"{"matches":"none"}"#,
            "[]",
            "7",
        ] {
            let parsed = check(text);
            assert!(parsed.evidence.is_empty(), "{text}");
            assert_eq!(parsed.diagnostics.len(), 1, "{text}");
        }
        let parsed = check(r#"{"matches":null}"#);
        assert_eq!(parsed.evidence.len(), 1);
        assert!(parsed.diagnostics[0].warning);
    }

    #[test]
    fn malformed_files_give_one_diagnostic() {
        let full = report(&a_match("CVE-1", "High", "fixed", "[]"));
        for end in [0, 1, full.len() / 3, full.len() - 1] {
            let parsed = check(&full[..end]);
            assert!(parsed.evidence.is_empty(), "{end}");
            assert_eq!(parsed.diagnostics.len(), 1, "{end}");
        }
        let deep = format!(r#"{{"matches":[{}"#, r#"{"a":"#.repeat(100));
        let parsed = check(&deep);
        assert!(parsed.diagnostics[0].message.contains("deeper than 64"));
    }

    #[test]
    fn findings_are_bounded() {
        let matches = vec![a_match("CVE-1", "High", "fixed", r#"["2"]"#); MAX_FINDINGS + 1].join(",");
        let parsed = check(&report(&matches));
        let attrs = &parsed.evidence[0].attrs;
        assert_eq!(attrs["fixable"], json!(MAX_FINDINGS + 1));
        assert_eq!(attrs["findings"].as_array().map(Vec::len), Some(MAX_FINDINGS));
        assert_eq!(attrs["findings_truncated"], json!(true));
    }
}
