//! SBOM collector: CycloneDX JSON and SPDX 2.x JSON documents become one `sbom`
//! record each (format, spec version, component or package count, licence
//! presence, producing tools, subject digest, time). A CycloneDX document with a
//! `vulnerabilities` array (a VEX or a vulnerability report) also gives one
//! `scan_report` (counts by severity and by analysis state, a bounded list of
//! findings).
//!
//! Reading is lenient in the same way as the Trivy collector (see `trivy.rs`):
//! a component, package or vulnerability that is not an object is refused with
//! one diagnostic at its JSON pointer (counted in `refused`); a vulnerability
//! with a wrong type in a field that is read is refused the same way; a wrong
//! type in a field of the document, its metadata, a component or a package is
//! ignored with a warning; a file that is not JSON gives one diagnostic with its
//! line and column and no record.
//! Attribute keys and every rule applied are listed in `docs/sources-scanners.md`.

use jiff::Timestamp;
use model::{EvidenceKind, NewEvidence, Severity, Subject};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value, json};

use crate::sarif::tool_id;
use crate::trivy::{
    Check, Findings, Json, Lenient, MAX_LIST_ENTRIES, OrContext, Problems, SeverityCounts, ToolName, digest, finding,
    hash_digest, leaf, read_document, read_time, text,
};
use crate::{Context, Limits, Parsed};

/// The collector id of records read from CycloneDX documents.
pub const COLLECTOR_CYCLONEDX: &str = "cyclonedx";

/// The collector id of records read from SPDX documents.
pub const COLLECTOR_SPDX: &str = "spdx";

/// The two SBOM formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SbomFormat {
    /// CycloneDX JSON (`"bomFormat": "CycloneDX"`).
    CycloneDx,
    /// SPDX 2.x JSON (`"spdxVersion": "SPDX-2.x"`).
    Spdx,
}

impl SbomFormat {
    /// The `format` attribute and collector id.
    pub fn as_str(self) -> &'static str {
        match self {
            SbomFormat::CycloneDx => COLLECTOR_CYCLONEDX,
            SbomFormat::Spdx => COLLECTOR_SPDX,
        }
    }

    fn title(self) -> &'static str {
        match self {
            SbomFormat::CycloneDx => "CycloneDX",
            SbomFormat::Spdx => "SPDX",
        }
    }
}

/// Parse a CycloneDX or SPDX JSON document, whichever it is.
///
/// Never panics; every problem becomes a diagnostic that names its line or JSON
/// pointer. See the module documentation and `docs/sources-scanners.md`.
pub fn parse(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    parse_as(None, bytes, context, limits)
}

/// Parse a CycloneDX JSON document (`--source cyclonedx`); an SPDX document is refused.
pub fn parse_cyclonedx(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    parse_as(Some(SbomFormat::CycloneDx), bytes, context, limits)
}

/// Parse an SPDX JSON document (`--source spdx`); a CycloneDX document is refused.
pub fn parse_spdx(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    parse_as(Some(SbomFormat::Spdx), bytes, context, limits)
}

fn parse_as(expected: Option<SbomFormat>, bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let mut parsed = Parsed::default();
    let what = expected.map_or("CycloneDX or SPDX JSON document", |format| match format {
        SbomFormat::CycloneDx => "CycloneDX JSON document",
        SbomFormat::Spdx => "SPDX JSON document",
    });
    let document: Json<Document, IgnoredAny> = match read_document(bytes, context, limits, what) {
        Ok(document) => document,
        Err(diagnostic) => {
            parsed.diagnostics.push(diagnostic);
            return parsed;
        }
    };
    let mut problems = Problems::default();
    let document = match &document {
        Json::Object(document) => document,
        other => {
            problems.refuse(
                None,
                format!(
                    "not a {what}: the document is {}, expected an object; nothing recorded",
                    other.found()
                ),
            );
            parsed.diagnostics = problems.into_diagnostics(context);
            return parsed;
        }
    };
    let mut check = Check::new(String::new());
    let is_cyclonedx = check
        .get("bomFormat", &document.bom_format)
        .is_some_and(|format| format.trim().eq_ignore_ascii_case("CycloneDX"));
    let spdx_version = text(check.get("spdxVersion", &document.spdx_version));
    check.warn_all(&mut problems);
    let format = match (expected, is_cyclonedx, spdx_version.is_some()) {
        (None, true, _) => SbomFormat::CycloneDx,
        (None, false, true) => SbomFormat::Spdx,
        (None, false, false) => {
            problems.refuse(
                None,
                "not a CycloneDX (`\"bomFormat\": \"CycloneDX\"`) or SPDX (`spdxVersion`) JSON document; nothing recorded",
            );
            parsed.diagnostics = problems.into_diagnostics(context);
            return parsed;
        }
        (Some(SbomFormat::CycloneDx), true, _) | (Some(SbomFormat::Spdx), false, true) => {
            expected.unwrap_or(SbomFormat::CycloneDx)
        }
        (Some(wanted), is_cyclonedx, is_spdx) => {
            let found = if is_cyclonedx && wanted == SbomFormat::Spdx {
                Some(SbomFormat::CycloneDx)
            } else if is_spdx && wanted == SbomFormat::CycloneDx {
                Some(SbomFormat::Spdx)
            } else {
                None
            };
            if let Some(found) = found {
                problems.refuse(
                    None,
                    format!(
                        "a {} document, not {}; name it with --source {}; nothing recorded",
                        found.title(),
                        wanted.title(),
                        found.as_str()
                    ),
                );
                parsed.diagnostics = problems.into_diagnostics(context);
                return parsed;
            }
            problems.warn(
                None,
                match wanted {
                    SbomFormat::CycloneDx => "no `\"bomFormat\": \"CycloneDX\"`; read as CycloneDX",
                    SbomFormat::Spdx => "no `spdxVersion`; read as SPDX 2",
                },
            );
            wanted
        }
    };
    match format {
        SbomFormat::CycloneDx => read_cyclonedx(document, context, &mut parsed, &mut problems),
        SbomFormat::Spdx => read_spdx(document, spdx_version, context, &mut parsed, &mut problems),
    }
    parsed.diagnostics = problems.into_diagnostics(context);
    parsed
}

// ---------------------------------------------------------------------------
// The JSON of both formats, as far as it is read (unknown fields are skipped)
// ---------------------------------------------------------------------------

type Opt<T> = Option<Lenient<T>>;
type Object<T> = Option<Json<T, IgnoredAny>>;
type Objects<T> = Option<Json<IgnoredAny, Json<T, IgnoredAny>>>;

#[derive(Default, Deserialize)]
#[serde(default)]
struct Document {
    // CycloneDX
    #[serde(rename = "bomFormat")]
    bom_format: Opt<String>,
    #[serde(rename = "specVersion")]
    spec_version: Opt<String>,
    #[serde(rename = "serialNumber")]
    serial_number: Opt<String>,
    metadata: Object<CycloneDxMetadata>,
    components: Objects<Component>,
    vulnerabilities: Objects<CycloneDxVulnerability>,
    // SPDX
    #[serde(rename = "spdxVersion")]
    spdx_version: Opt<String>,
    #[serde(rename = "SPDXID")]
    spdx_id: Opt<String>,
    #[serde(rename = "documentNamespace")]
    document_namespace: Opt<String>,
    #[serde(rename = "creationInfo")]
    creation_info: Object<CreationInfo>,
    packages: Objects<Package>,
    #[serde(rename = "documentDescribes")]
    document_describes: Opt<Vec<String>>,
    relationships: Objects<Relationship>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct CycloneDxMetadata {
    timestamp: Opt<String>,
    /// A list of tools (CycloneDX 1.2 to 1.4) or an object with `components`
    /// and `services` (1.5 and later).
    tools: Opt<Value>,
    component: Object<MetadataComponent>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct MetadataComponent {
    name: Opt<String>,
    version: Opt<String>,
    #[serde(rename = "bom-ref")]
    bom_ref: Opt<String>,
    purl: Opt<String>,
    hashes: Opt<Vec<Hash>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Hash {
    alg: Option<String>,
    content: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Component {
    licenses: Opt<Vec<IgnoredAny>>,
    components: Objects<Component>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct CycloneDxVulnerability {
    id: Opt<String>,
    ratings: Opt<Vec<Rating>>,
    analysis: Object<Analysis>,
    affects: Opt<Vec<Affect>>,
}

/// Members read as any JSON value, so a rating never fails on a type.
#[derive(Default, Deserialize)]
#[serde(default)]
struct Rating {
    severity: Option<Value>,
    score: Option<Value>,
    method: Option<Value>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Analysis {
    state: Opt<String>,
    justification: Opt<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Affect {
    #[serde(rename = "ref")]
    reference: Option<Value>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct CreationInfo {
    created: Opt<String>,
    creators: Opt<Vec<String>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Package {
    #[serde(rename = "SPDXID")]
    spdx_id: Opt<String>,
    name: Opt<String>,
    #[serde(rename = "versionInfo")]
    version: Opt<String>,
    #[serde(rename = "licenseConcluded")]
    license_concluded: Opt<String>,
    #[serde(rename = "licenseDeclared")]
    license_declared: Opt<String>,
    checksums: Opt<Vec<Checksum>>,
    #[serde(rename = "externalRefs")]
    external_refs: Opt<Vec<ExternalRef>>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Checksum {
    algorithm: Option<String>,
    #[serde(rename = "checksumValue")]
    value: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct ExternalRef {
    #[serde(rename = "referenceType")]
    reference_type: Option<String>,
    #[serde(rename = "referenceLocator")]
    locator: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(default)]
struct Relationship {
    #[serde(rename = "spdxElementId")]
    element: Opt<String>,
    #[serde(rename = "relatedSpdxElement")]
    related: Opt<String>,
    #[serde(rename = "relationshipType")]
    relationship_type: Opt<String>,
}

// ---------------------------------------------------------------------------
// The `sbom` record
// ---------------------------------------------------------------------------

/// What both formats say about the document.
#[derive(Default)]
struct SbomFacts {
    spec_version: Option<String>,
    document_id: Option<String>,
    components: u64,
    components_with_licenses: u64,
    tools: Vec<ToolName>,
    subject_name: Option<String>,
    subject_version: Option<String>,
    artifact: Option<String>,
    time: Option<Timestamp>,
    refused: u64,
}

fn sbom_evidence(format: SbomFormat, facts: &SbomFacts, context: &Context) -> NewEvidence {
    let mut attrs = Map::new();
    attrs.insert("format".into(), json!(format.as_str()));
    if let Some(version) = &facts.spec_version {
        attrs.insert("spec_version".into(), json!(version));
    }
    if let Some(id) = &facts.document_id {
        attrs.insert("document_id".into(), json!(id));
    }
    attrs.insert("components".into(), json!(facts.components));
    attrs.insert("components_with_licenses".into(), json!(facts.components_with_licenses));
    if let Some(first) = facts.tools.first() {
        attrs.insert("tool".into(), json!(tool_id(&first.name)));
        attrs.insert("tools".into(), json!(facts.tools));
    }
    if let Some(name) = &facts.subject_name {
        attrs.insert("subject_name".into(), json!(name));
    }
    if let Some(version) = &facts.subject_version {
        attrs.insert("subject_version".into(), json!(version));
    }
    attrs.insert("refused".into(), json!(facts.refused));
    record(EvidenceKind::Sbom, format, None, facts, Value::Object(attrs), context)
}

fn record(
    kind: EvidenceKind,
    format: SbomFormat,
    pointer: Option<String>,
    facts: &SbomFacts,
    attrs: Value,
    context: &Context,
) -> NewEvidence {
    let subject = Subject {
        artifact: facts.artifact.clone(),
        ..Subject::default()
    }
    .or_context(context);
    context.record(format.as_str(), kind, facts.time, subject, pointer, attrs)
}

// ---------------------------------------------------------------------------
// CycloneDX
// ---------------------------------------------------------------------------

fn read_cyclonedx(document: &Document, context: &Context, parsed: &mut Parsed, problems: &mut Problems) {
    let mut facts = SbomFacts::default();
    let mut check = Check::new(String::new());
    facts.spec_version = text(check.get("specVersion", &document.spec_version));
    if let Some(version) = &facts.spec_version
        && !version.starts_with("1.")
    {
        problems.warn(
            Some("/specVersion".into()),
            format!("CycloneDX `specVersion` `{version}` is not 1.x; read as 1.x"),
        );
    }
    facts.document_id = text(check.get("serialNumber", &document.serial_number));
    if let Some(metadata) = check.object("metadata", &document.metadata) {
        facts.time = read_time(
            check.get("metadata/timestamp", &metadata.timestamp),
            "/metadata/timestamp",
            problems,
        );
        if let Some(tools) = check.get("metadata/tools", &metadata.tools) {
            facts.tools = cyclonedx_tools(tools, problems);
        }
        if let Some(component) = check.object("metadata/component", &metadata.component) {
            facts.subject_name = text(check.get("metadata/component/name", &component.name));
            facts.subject_version = text(check.get("metadata/component/version", &component.version));
            let from_hashes = check
                .get("metadata/component/hashes", &component.hashes)
                .and_then(|hashes| {
                    best_digest(
                        hashes
                            .iter()
                            .filter_map(|hash| hash_digest(hash.alg.as_deref()?, hash.content.as_deref()?)),
                    )
                });
            let purl = check.get("metadata/component/purl", &component.purl);
            let bom_ref = check.get("metadata/component/bom-ref", &component.bom_ref);
            facts.artifact = from_hashes
                .or_else(|| purl.and_then(|purl| digest(purl)))
                .or_else(|| bom_ref.and_then(|bom_ref| digest(bom_ref)));
        }
    }
    match &document.components {
        None | Some(Json::Missing) => {}
        Some(Json::Array(components)) => count_components(components, "/components", &mut facts, problems),
        Some(other) => {
            facts.refused += 1;
            problems.refuse(
                Some("/components".into()),
                format!("not counted: `components` is {}, expected an array", other.found()),
            );
        }
    }
    check.warn_all(problems);
    parsed
        .evidence
        .push(sbom_evidence(SbomFormat::CycloneDx, &facts, context));

    match &document.vulnerabilities {
        None | Some(Json::Missing) => {}
        Some(Json::Array(vulnerabilities)) => {
            let attrs = cyclonedx_vulnerabilities(vulnerabilities, &facts, problems);
            parsed.evidence.push(record(
                EvidenceKind::ScanReport,
                SbomFormat::CycloneDx,
                Some("/vulnerabilities".into()),
                &facts,
                attrs,
                context,
            ));
        }
        Some(other) => problems.refuse(
            Some("/vulnerabilities".into()),
            format!(
                "`vulnerabilities` is {}, expected an array; no scan report recorded",
                other.found()
            ),
        ),
    }
}

/// The strongest digest among candidates: SHA-256 first, then SHA-512, SHA-384.
fn best_digest(candidates: impl Iterator<Item = String>) -> Option<String> {
    let rank = |digest: &String| match digest.split(':').next() {
        Some("sha256") => 0,
        Some("sha512") => 1,
        _ => 2,
    };
    candidates.min_by_key(rank)
}

/// Tools of CycloneDX `metadata.tools`: the 1.2-1.4 list of `{vendor, name,
/// version}`, or the 1.5+ object of `components` and `services`.
fn cyclonedx_tools(tools: &Value, problems: &mut Problems) -> Vec<ToolName> {
    let entries: Vec<&Value> = match tools {
        Value::Array(list) => list.iter().collect(),
        Value::Object(object) => ["components", "services"]
            .iter()
            .filter_map(|key| object.get(*key).and_then(Value::as_array))
            .flatten()
            .collect(),
        Value::Null => Vec::new(),
        _ => {
            problems.warn(
                Some("/metadata/tools".into()),
                "ignored: `tools` is neither an array nor an object",
            );
            Vec::new()
        }
    };
    let string = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_string);
    entries
        .into_iter()
        .filter_map(|entry| {
            let name = text(string(entry.get("name")).as_ref())?;
            let vendor = ["vendor", "group"]
                .iter()
                .find_map(|key| text(string(entry.get(*key)).as_ref()))
                .or_else(|| {
                    ["manufacturer", "supplier", "provider"]
                        .iter()
                        .find_map(|key| text(string(entry.get(*key).and_then(|party| party.get("name"))).as_ref()))
                });
            Some(ToolName {
                vendor,
                name,
                version: text(string(entry.get("version")).as_ref()),
            })
        })
        .take(MAX_LIST_ENTRIES)
        .collect()
}

fn count_components(
    components: &[Json<Component, IgnoredAny>],
    prefix: &str,
    facts: &mut SbomFacts,
    problems: &mut Problems,
) {
    for (index, item) in components.iter().enumerate() {
        let pointer = format!("{prefix}/{index}");
        let Json::Object(component) = item else {
            facts.refused += 1;
            problems.refuse(
                Some(pointer),
                format!("component not counted: {}, expected an object", item.found()),
            );
            continue;
        };
        facts.components += 1;
        let mut check = Check::new(pointer.clone());
        if check
            .get("licenses", &component.licenses)
            .is_some_and(|licenses| !licenses.is_empty())
        {
            facts.components_with_licenses += 1;
        }
        check.warn_all(problems);
        match &component.components {
            None | Some(Json::Missing) => {}
            Some(Json::Array(nested)) => {
                count_components(nested, &format!("{pointer}/components"), facts, problems);
            }
            Some(other) => {
                facts.refused += 1;
                problems.refuse(
                    Some(format!("{pointer}/components")),
                    format!("not counted: `components` is {}, expected an array", other.found()),
                );
            }
        }
    }
}

/// CycloneDX analysis states (`vulnerabilities[].analysis.state`), plus
/// `unanalysed` (no analysis or no state) and `other` (a word not in the spec).
const ANALYSIS_STATES: [&str; 8] = [
    "resolved",
    "resolved_with_pedigree",
    "exploitable",
    "in_triage",
    "false_positive",
    "not_affected",
    "unanalysed",
    "other",
];

/// States that take a vulnerability out of `open_by_severity`.
const CLOSED_STATES: [&str; 4] = ["resolved", "resolved_with_pedigree", "false_positive", "not_affected"];

fn cyclonedx_vulnerabilities(
    vulnerabilities: &[Json<CycloneDxVulnerability, IgnoredAny>],
    facts: &SbomFacts,
    problems: &mut Problems,
) -> Value {
    let mut counts = SeverityCounts::default();
    let mut open = SeverityCounts::default();
    let mut states = [0u64; ANALYSIS_STATES.len()];
    let mut findings = Findings::default();
    let mut refused = 0u64;
    let mut read = 0u64;
    let mut analysed = false;
    for (index, item) in vulnerabilities.iter().enumerate() {
        let pointer = format!("/vulnerabilities/{index}");
        let Some(vulnerability) = leaf(item, &pointer, &mut refused, problems) else {
            continue;
        };
        let mut check = Check::new(pointer.clone());
        let id = text(check.get("id", &vulnerability.id));
        let severity = check
            .get("ratings", &vulnerability.ratings)
            .map_or(Severity::Unknown, |ratings| rating_severity(ratings));
        let package = check.get("affects", &vulnerability.affects).and_then(|affects| {
            affects.iter().find_map(|affect| {
                text(
                    affect
                        .reference
                        .as_ref()
                        .and_then(Value::as_str)
                        .map(str::to_string)
                        .as_ref(),
                )
            })
        });
        let mut state = None;
        let mut justification = None;
        let analysis = check.object("analysis", &vulnerability.analysis);
        if let Some(analysis) = analysis {
            state = text(check.get("analysis/state", &analysis.state));
            justification = text(check.get("analysis/justification", &analysis.justification));
        }
        if check.refuse_first(&mut refused, problems) {
            continue;
        }
        read += 1;
        analysed |= analysis.is_some();
        let state_key = match state.as_deref() {
            None => "unanalysed",
            Some(word) => match ANALYSIS_STATES[..6].iter().copied().find(|known| *known == word) {
                Some(known) => known,
                None => {
                    problems.warn(
                        Some(format!("{pointer}/analysis/state")),
                        format!("unknown analysis state `{word}`; counted as `other`"),
                    );
                    "other"
                }
            },
        };
        if let Some(position) = ANALYSIS_STATES.iter().position(|known| *known == state_key) {
            states[position] += 1;
        }
        counts.add(severity);
        if !CLOSED_STATES.contains(&state_key) {
            open.add(severity);
        }
        findings.push(finding(&[
            ("type", Some(json!("vulnerability"))),
            ("id", id.map(Value::from)),
            ("severity", Some(json!(severity.as_str()))),
            ("package", package.map(Value::from)),
            ("analysis_state", state.map(Value::from)),
            ("justification", justification.map(Value::from)),
        ]));
    }
    let mut attrs = Map::new();
    match facts.tools.first() {
        Some(tool) => {
            attrs.insert("tool".into(), json!(tool_id(&tool.name)));
            if let Some(version) = &tool.version {
                attrs.insert("tool_version".into(), json!(version));
            }
        }
        None => {
            attrs.insert("tool".into(), json!("unknown"));
        }
    }
    let format = if analysed {
        "cyclonedx-vex"
    } else {
        "cyclonedx-vulnerabilities"
    };
    attrs.insert("format".into(), json!(format));
    if let Some(version) = &facts.spec_version {
        attrs.insert("spec_version".into(), json!(version));
    }
    if let Some(name) = &facts.subject_name {
        attrs.insert("target".into(), json!(name));
    }
    attrs.insert("vulnerabilities".into(), json!(read));
    attrs.insert("counts_by_severity".into(), counts.to_json());
    attrs.insert("open_by_severity".into(), open.to_json());
    let states: Map<String, Value> = ANALYSIS_STATES
        .iter()
        .zip(states)
        .map(|(state, count)| ((*state).to_string(), json!(count)))
        .collect();
    attrs.insert("counts_by_analysis_state".into(), Value::Object(states));
    attrs.insert("refused".into(), json!(refused));
    findings.insert_into(&mut attrs);
    Value::Object(attrs)
}

/// The most severe of a vulnerability's ratings: each rating's `severity` word,
/// else its `score` when its `method` is a CVSS one; no rating is `unknown`.
fn rating_severity(ratings: &[Rating]) -> Severity {
    ratings
        .iter()
        .map(|rating| {
            let from_word = rating
                .severity
                .as_ref()
                .and_then(Value::as_str)
                .map(Severity::from_name)
                .filter(|severity| *severity != Severity::Unknown);
            let is_cvss = rating
                .method
                .as_ref()
                .and_then(Value::as_str)
                .is_some_and(|method| method.to_ascii_uppercase().starts_with("CVSS"));
            let score = rating.score.as_ref().and_then(|score| match score {
                Value::Number(number) => number.as_f64(),
                Value::String(text) => text.trim().parse::<f64>().ok(),
                _ => None,
            });
            from_word
                .or_else(|| score.filter(|_| is_cvss).and_then(Severity::from_security_severity))
                .unwrap_or(Severity::Unknown)
        })
        .max()
        .unwrap_or(Severity::Unknown)
}

// ---------------------------------------------------------------------------
// SPDX
// ---------------------------------------------------------------------------

/// A tool of an SPDX `Tool: name-version` creator: the name, and the version
/// when the text after the last `-` or space looks like one (`0.100.0`,
/// `v1.4.0`, `dev`).
fn spdx_tool(text_after_colon: &str) -> Option<ToolName> {
    let whole = text(Some(&text_after_colon.to_string()))?;
    let split = whole.rsplit_once(['-', ' ']).filter(|(name, version)| {
        let digits = version.strip_prefix('v').unwrap_or(version);
        !name.trim().is_empty()
            && (*version == "dev" || digits.chars().next().is_some_and(|first| first.is_ascii_digit()))
    });
    Some(match split {
        Some((name, version)) => ToolName {
            vendor: None,
            name: name.trim().to_string(),
            version: Some(version.to_string()),
        },
        None => ToolName {
            vendor: None,
            name: whole,
            version: None,
        },
    })
}

/// A package as remembered for finding the described one.
struct PackageFacts {
    id: Option<String>,
    name: Option<String>,
    version: Option<String>,
    digest: Option<String>,
}

fn read_spdx(
    document: &Document,
    spdx_version: Option<String>,
    context: &Context,
    parsed: &mut Parsed,
    problems: &mut Problems,
) {
    let mut facts = SbomFacts::default();
    if let Some(version) = &spdx_version {
        match version.strip_prefix("SPDX-") {
            Some(number) if number.starts_with("2.") => facts.spec_version = Some(number.to_string()),
            _ => {
                problems.warn(
                    Some("/spdxVersion".into()),
                    format!("`spdxVersion` `{version}` is not SPDX-2.x; read as SPDX 2"),
                );
                facts.spec_version = Some(version.clone());
            }
        }
    }
    let mut check = Check::new(String::new());
    facts.document_id = text(check.get("documentNamespace", &document.document_namespace));
    let document_id = text(check.get("SPDXID", &document.spdx_id)).unwrap_or_else(|| "SPDXRef-DOCUMENT".into());
    if let Some(info) = check.object("creationInfo", &document.creation_info) {
        facts.time = read_time(
            check.get("creationInfo/created", &info.created),
            "/creationInfo/created",
            problems,
        );
        if let Some(creators) = check.get("creationInfo/creators", &info.creators) {
            facts.tools = creators
                .iter()
                .filter_map(|creator| {
                    let (kind, tool) = creator.split_once(':')?;
                    (kind.trim() == "Tool").then(|| spdx_tool(tool))?
                })
                .take(MAX_LIST_ENTRIES)
                .collect();
        }
    }

    let mut packages = Vec::new();
    match &document.packages {
        None | Some(Json::Missing) => {}
        Some(Json::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                let pointer = format!("/packages/{index}");
                let Json::Object(package) = item else {
                    facts.refused += 1;
                    problems.refuse(
                        Some(pointer),
                        format!("package not counted: {}, expected an object", item.found()),
                    );
                    continue;
                };
                facts.components += 1;
                let mut check = Check::new(pointer);
                let licensed = [
                    check.get("licenseConcluded", &package.license_concluded),
                    check.get("licenseDeclared", &package.license_declared),
                ]
                .into_iter()
                .flatten()
                .any(|license| {
                    let license = license.trim();
                    !license.is_empty()
                        && !license.eq_ignore_ascii_case("NOASSERTION")
                        && !license.eq_ignore_ascii_case("NONE")
                });
                facts.components_with_licenses += u64::from(licensed);
                let from_checksums =
                    check.get("checksums", &package.checksums).and_then(|checksums| {
                        best_digest(checksums.iter().filter_map(|checksum| {
                            hash_digest(checksum.algorithm.as_deref()?, checksum.value.as_deref()?)
                        }))
                    });
                let from_purl = check
                    .get("externalRefs", &package.external_refs)
                    .and_then(|references| {
                        references
                            .iter()
                            .filter(|reference| reference.reference_type.as_deref() == Some("purl"))
                            .find_map(|reference| digest(reference.locator.as_deref()?))
                    });
                packages.push(PackageFacts {
                    id: text(check.get("SPDXID", &package.spdx_id)),
                    name: text(check.get("name", &package.name)),
                    version: text(check.get("versionInfo", &package.version)),
                    digest: from_checksums.or(from_purl),
                });
                check.warn_all(problems);
            }
        }
        Some(other) => {
            facts.refused += 1;
            problems.refuse(
                Some("/packages".into()),
                format!("not counted: `packages` is {}, expected an array", other.found()),
            );
        }
    }

    let mut described: Vec<String> = check
        .get("documentDescribes", &document.document_describes)
        .cloned()
        .unwrap_or_default();
    match &document.relationships {
        None | Some(Json::Missing) => {}
        Some(Json::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                let Json::Object(relationship) = item else {
                    problems.warn(
                        Some(format!("/relationships/{index}")),
                        format!("ignored: {}, expected an object", item.found()),
                    );
                    continue;
                };
                let mut check = Check::new(format!("/relationships/{index}"));
                let element = text(check.get("spdxElementId", &relationship.element));
                let related = text(check.get("relatedSpdxElement", &relationship.related));
                let kind = text(check.get("relationshipType", &relationship.relationship_type));
                check.warn_all(problems);
                let target = match kind.as_deref() {
                    Some("DESCRIBES") if element.as_deref() == Some(document_id.as_str()) => related,
                    Some("DESCRIBED_BY") if related.as_deref() == Some(document_id.as_str()) => element,
                    _ => None,
                };
                if let Some(target) = target
                    && !described.contains(&target)
                {
                    described.push(target);
                }
            }
        }
        Some(other) => problems.warn(
            Some("/relationships".into()),
            format!("ignored: `relationships` is {}, expected an array", other.found()),
        ),
    }
    check.warn_all(problems);
    if let Some(package) = described.iter().find_map(|id| {
        packages
            .iter()
            .find(|package| package.id.as_deref() == Some(id.as_str()))
    }) {
        facts.subject_name = package.name.clone();
        facts.subject_version = package.version.clone();
        facts.artifact = package.digest.clone();
    }
    parsed.evidence.push(sbom_evidence(SbomFormat::Spdx, &facts, context));
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::OccurredAtSource;

    fn context() -> Context {
        Context {
            origin: "bom.json".into(),
            sha256: "00".into(),
            ..Context::default()
        }
    }

    fn check(text: &str) -> Parsed {
        parse(text.as_bytes(), &context(), &Limits::default())
    }

    fn pointers(parsed: &Parsed) -> Vec<(&str, bool)> {
        parsed
            .diagnostics
            .iter()
            .map(|diagnostic| (diagnostic.pointer.as_deref().unwrap_or(""), diagnostic.warning))
            .collect()
    }

    #[test]
    fn a_cyclonedx_1_4_sbom_with_nested_components() {
        let hash = "c".repeat(64);
        let parsed = check(&format!(
            r#"{{"bomFormat":"CycloneDX","specVersion":"1.4","serialNumber":"urn:uuid:1","version":1,
               "metadata":{{"timestamp":"2024-05-01T12:00:00Z",
                 "tools":[{{"vendor":"CycloneDX","name":"cyclonedx-npm","version":"1.19.0"}}],
                 "component":{{"name":"app","version":"2.0","bom-ref":"app",
                   "hashes":[{{"alg":"SHA-1","content":"{sha1}"}},{{"alg":"SHA-256","content":"{hash}"}}]}}}},
               "components":[
                 {{"name":"a","licenses":[{{"license":{{"id":"MIT"}}}}]}},
                 {{"name":"b","licenses":[],"components":[{{"name":"b1","licenses":[{{"expression":"MIT OR Apache-2.0"}}]}}]}},
                 {{"name":"c"}}]}}"#,
            sha1 = "d".repeat(40)
        ));
        assert_eq!(parsed.diagnostics, vec![]);
        assert_eq!(parsed.evidence.len(), 1);
        let record = &parsed.evidence[0];
        assert_eq!(record.kind, EvidenceKind::Sbom);
        assert_eq!(record.source.collector, "cyclonedx");
        assert_eq!(record.subject.artifact, Some(format!("sha256:{hash}")));
        assert_eq!(record.occurred_at_source, OccurredAtSource::Source);
        assert_eq!(
            record.attrs,
            json!({"format": "cyclonedx", "spec_version": "1.4", "document_id": "urn:uuid:1",
                   "components": 4, "components_with_licenses": 2, "tool": "cyclonedx-npm",
                   "tools": [{"vendor": "CycloneDX", "name": "cyclonedx-npm", "version": "1.19.0"}],
                   "subject_name": "app", "subject_version": "2.0", "refused": 0})
        );
    }

    #[test]
    fn cyclonedx_1_5_tools_and_an_oci_purl() {
        let hex = "e".repeat(64);
        let parsed = check(&format!(
            r#"{{"bomFormat":"CycloneDX","specVersion":"1.6",
               "metadata":{{"tools":{{"components":[{{"group":"aquasecurity","name":"trivy","version":"0.50.0"}}],
                 "services":[{{"provider":{{"name":"Acme"}},"name":"scan-service"}}]}},
                 "component":{{"name":"alpine:3.19","purl":"pkg:oci/alpine@sha256%3A{hex}?arch=amd64"}}}},
               "components":[]}}"#
        ));
        assert_eq!(parsed.diagnostics, vec![]);
        let attrs = &parsed.evidence[0].attrs;
        assert_eq!(attrs["tool"], json!("trivy"));
        assert_eq!(
            attrs["tools"],
            json!([{"vendor": "aquasecurity", "name": "trivy", "version": "0.50.0"},
                   {"vendor": "Acme", "name": "scan-service"}])
        );
        assert_eq!(parsed.evidence[0].subject.artifact, Some(format!("sha256:{hex}")));
    }

    #[test]
    fn a_cyclonedx_vex_gives_an_sbom_and_a_scan_report() {
        let parsed = check(
            r#"{"bomFormat":"CycloneDX","specVersion":"1.5","metadata":{"timestamp":"2024-01-01T00:00:00Z","component":{"name":"ABC"}},
               "vulnerabilities":[
                 {"id":"CVE-1","ratings":[{"severity":"low"},{"severity":"high"},{"score":9.8,"method":"OWASP"}],
                  "analysis":{"state":"not_affected","justification":"code_not_present"},"affects":[{"ref":"pkg:a"}]},
                 {"id":"CVE-2","ratings":[{"score":9.8,"method":"CVSSv31"}],"analysis":{"state":"exploitable"}},
                 {"id":"CVE-3"},
                 {"id":"CVE-4","ratings":[{"severity":"none"}],"analysis":{"state":"maybe"}},
                 "CVE-5",
                 {"id":"CVE-6","analysis":{"state":7}},
                 {"id":"CVE-7","ratings":"high"}]}"#,
        );
        assert_eq!(parsed.evidence.len(), 2);
        assert_eq!(parsed.evidence[0].kind, EvidenceKind::Sbom);
        assert_eq!(parsed.evidence[0].attrs["components"], json!(0));
        let report = &parsed.evidence[1];
        assert_eq!(report.kind, EvidenceKind::ScanReport);
        assert_eq!(report.source.pointer.as_deref(), Some("/vulnerabilities"));
        assert_eq!(report.occurred_at, parsed.evidence[0].occurred_at);
        let attrs = &report.attrs;
        assert_eq!(attrs["tool"], json!("unknown"));
        assert_eq!(attrs["format"], json!("cyclonedx-vex"));
        assert_eq!(attrs["target"], json!("ABC"));
        assert_eq!(attrs["vulnerabilities"], json!(4));
        assert_eq!(attrs["refused"], json!(3));
        assert_eq!(
            attrs["counts_by_severity"],
            json!({"critical": 1, "high": 1, "medium": 0, "low": 0, "info": 1, "unknown": 1})
        );
        assert_eq!(
            attrs["open_by_severity"],
            json!({"critical": 1, "high": 0, "medium": 0, "low": 0, "info": 1, "unknown": 1})
        );
        assert_eq!(
            attrs["counts_by_analysis_state"],
            json!({"resolved": 0, "resolved_with_pedigree": 0, "exploitable": 1, "in_triage": 0,
                   "false_positive": 0, "not_affected": 1, "unanalysed": 1, "other": 1})
        );
        assert_eq!(
            attrs["findings"][0],
            json!({"type": "vulnerability", "id": "CVE-1", "severity": "high", "package": "pkg:a",
                   "analysis_state": "not_affected", "justification": "code_not_present"})
        );
        assert_eq!(
            pointers(&parsed),
            vec![
                ("/vulnerabilities/3/analysis/state", true),
                ("/vulnerabilities/4", false),
                ("/vulnerabilities/5/analysis/state", false),
                ("/vulnerabilities/6/ratings", false),
            ]
        );
    }

    #[test]
    fn an_empty_vulnerabilities_array_is_a_clean_report() {
        let parsed = check(r#"{"bomFormat":"CycloneDX","specVersion":"1.6","vulnerabilities":[]}"#);
        assert_eq!(parsed.evidence.len(), 2);
        assert_eq!(parsed.evidence[1].attrs["format"], json!("cyclonedx-vulnerabilities"));
        assert_eq!(parsed.evidence[1].attrs["vulnerabilities"], json!(0));
    }

    #[test]
    fn bad_components_are_refused_alone() {
        let parsed = check(
            r#"{"bomFormat":"CycloneDX","specVersion":"1.4","metadata":"x",
               "components":[{"name":"a"},"b",{"name":"c","licenses":"MIT","components":{"name":"d"}}],
               "vulnerabilities":"none"}"#,
        );
        assert_eq!(parsed.evidence.len(), 1);
        assert_eq!(parsed.evidence[0].attrs["components"], json!(2));
        assert_eq!(parsed.evidence[0].attrs["components_with_licenses"], json!(0));
        assert_eq!(parsed.evidence[0].attrs["refused"], json!(2));
        assert_eq!(
            pointers(&parsed),
            vec![
                ("/components/1", false),
                ("/components/2/licenses", true),
                ("/components/2/components", false),
                ("/metadata", true),
                ("/vulnerabilities", false),
            ]
        );
    }

    #[test]
    fn an_spdx_document_with_a_described_package() {
        let hex = "b".repeat(64);
        let parsed = check(&format!(
            r#"{{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","documentNamespace":"https://x/1",
               "creationInfo":{{"created":"2023-02-03T04:05:06Z","creators":["Organization: Acme","Tool: syft-0.100.0","Tool: trivy-dev"]}},
               "packages":[
                 {{"SPDXID":"SPDXRef-a","name":"a","licenseConcluded":"MIT"}},
                 {{"SPDXID":"SPDXRef-img","name":"img","versionInfo":"1.0","licenseConcluded":"NOASSERTION","licenseDeclared":"NONE",
                   "checksums":[{{"algorithm":"SHA1","checksumValue":"{sha1}"}},{{"algorithm":"SHA256","checksumValue":"{hex}"}}]}},
                 "c",
                 {{"SPDXID":"SPDXRef-d","name":"d","licenseDeclared":["MIT"]}}],
               "relationships":[{{"spdxElementId":"SPDXRef-DOCUMENT","relatedSpdxElement":"SPDXRef-img","relationshipType":"DESCRIBES"}},
                 {{"spdxElementId":"SPDXRef-img","relatedSpdxElement":"SPDXRef-a","relationshipType":"CONTAINS"}}]}}"#,
            sha1 = "1".repeat(40)
        ));
        assert_eq!(parsed.evidence.len(), 1);
        let record = &parsed.evidence[0];
        assert_eq!(record.source.collector, "spdx");
        assert_eq!(record.subject.artifact, Some(format!("sha256:{hex}")));
        assert_eq!(
            record.occurred_at.map(|time| time.to_string()).as_deref(),
            Some("2023-02-03T04:05:06Z")
        );
        assert_eq!(
            record.attrs,
            json!({"format": "spdx", "spec_version": "2.3", "document_id": "https://x/1",
                   "components": 3, "components_with_licenses": 1, "tool": "syft",
                   "tools": [{"name": "syft", "version": "0.100.0"}, {"name": "trivy", "version": "dev"}],
                   "subject_name": "img", "subject_version": "1.0", "refused": 1})
        );
        assert_eq!(
            pointers(&parsed),
            vec![("/packages/2", false), ("/packages/3/licenseDeclared", true)]
        );
    }

    #[test]
    fn spdx_2_2_document_describes() {
        let parsed = check(
            r#"{"spdxVersion":"SPDX-2.2","documentDescribes":["SPDXRef-x"],"packages":[{"SPDXID":"SPDXRef-x","name":"x"}]}"#,
        );
        assert_eq!(parsed.diagnostics, vec![]);
        assert_eq!(parsed.evidence[0].attrs["subject_name"], json!("x"));
        assert_eq!(parsed.evidence[0].occurred_at, None);
        assert_eq!(parsed.evidence[0].occurred_at_source, OccurredAtSource::Ingested);
    }

    #[test]
    fn the_named_format_must_match() {
        let spdx = br#"{"spdxVersion":"SPDX-2.3","packages":[]}"#;
        let cyclonedx = br#"{"bomFormat":"CycloneDX","specVersion":"1.5"}"#;
        let limits = Limits::default();
        assert_eq!(parse_spdx(spdx, &context(), &limits).evidence.len(), 1);
        assert_eq!(parse_cyclonedx(cyclonedx, &context(), &limits).evidence.len(), 1);
        let refused = parse_cyclonedx(spdx, &context(), &limits);
        assert!(refused.evidence.is_empty());
        assert!(refused.diagnostics[0].message.contains("--source spdx"));
        let refused = parse_spdx(cyclonedx, &context(), &limits);
        assert!(refused.evidence.is_empty());
        assert!(refused.diagnostics[0].message.contains("--source cyclonedx"));
        let unnamed = parse_cyclonedx(br#"{"specVersion":"1.5","components":[{}]}"#, &context(), &limits);
        assert_eq!(unnamed.evidence.len(), 1);
        assert!(unnamed.diagnostics[0].warning);
        let neither = check(r#"{"components":[]}"#);
        assert!(neither.evidence.is_empty());
        assert_eq!(neither.diagnostics.len(), 1);
    }

    #[test]
    fn malformed_files_give_one_diagnostic() {
        for text in [
            "",
            r#"{"bomFormat":"CycloneDX","components":[{"name":"a"},"#,
            "[]",
            r#"{"bomFormat":"CycloneDX","bomFormat":"CycloneDX"}"#,
        ] {
            let parsed = check(text);
            assert!(parsed.evidence.is_empty(), "{text}");
            assert_eq!(parsed.diagnostics.len(), 1, "{text}");
        }
        let deep = format!(
            r#"{{"bomFormat":"CycloneDX","components":[{}]}}"#,
            r#"{"components":["#.repeat(70) + &"]}".repeat(70)
        );
        let parsed = check(&deep);
        assert!(parsed.diagnostics[0].message.contains("deeper than 64"));
    }

    #[test]
    fn spdx_tool_names_split_their_version() {
        let cases = [
            ("trivy-dev", "trivy", Some("dev")),
            (" syft-0.100.0", "syft", Some("0.100.0")),
            ("cyclonedx-gomod-v1.4.0", "cyclonedx-gomod", Some("v1.4.0")),
            ("ScanCode.io 32.0", "ScanCode.io", Some("32.0")),
            ("my-tool", "my-tool", None),
            ("-1.0", "-1.0", None),
        ];
        for (creator, name, version) in cases {
            let tool = spdx_tool(creator);
            assert_eq!(tool.as_ref().map(|tool| tool.name.as_str()), Some(name), "{creator}");
            assert_eq!(tool.and_then(|tool| tool.version).as_deref(), version, "{creator}");
        }
        assert_eq!(spdx_tool("  "), None);
    }

    #[test]
    fn rating_severity_takes_the_most_severe() {
        let rating = |severity: Value, score: Value, method: Value| Rating {
            severity: Some(severity),
            score: Some(score),
            method: Some(method),
        };
        assert_eq!(rating_severity(&[]), Severity::Unknown);
        assert_eq!(
            rating_severity(&[
                rating(json!("medium"), json!(null), json!(null)),
                rating(json!("unknown"), json!("7.5"), json!("CVSSv3"))
            ]),
            Severity::High
        );
        assert_eq!(
            rating_severity(&[rating(json!("critical"), json!(1), json!("CVSSv2"))]),
            Severity::Critical
        );
        assert_eq!(
            rating_severity(&[rating(json!(5), json!(true), json!("other"))]),
            Severity::Unknown
        );
    }
}
