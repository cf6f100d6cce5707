//! Corpus test: every file in `../shared/fixtures/sbom-vulns/` is read in place,
//! detected by content, and must give exactly the records derived independently
//! below (kinds, counts, findings, subject, time).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use dsomm_audit_collect::{Collector, Context, Limits, detect, parse_document};
use model::{EvidenceKind, OccurredAtSource, Subject};
use serde_json::{Value, json};

/// The shared fixtures folder, next to the repository checkout.
const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/sbom-vulns");

/// One expected record.
struct Record {
    kind: EvidenceKind,
    pointer: Option<&'static str>,
    /// RFC 3339 as `jiff` prints it, or `None` when the file states no time.
    time: Option<&'static str>,
    subject: Subject,
    attrs: Value,
}

/// What one file must give.
struct File {
    name: &'static str,
    collector: Collector,
    records: Vec<Record>,
}

fn severities(critical: u64, high: u64, medium: u64, low: u64, info: u64, unknown: u64) -> Value {
    json!({"critical": critical, "high": high, "medium": medium, "low": low, "info": info, "unknown": unknown})
}

fn vulnerability(target: &str, id: &str, severity: &str, package: &str, installed: &str, fixed: &str) -> Value {
    json!({"type": "vulnerability", "id": id, "severity": severity, "target": target,
           "package": package, "installed_version": installed, "fixed_version": fixed})
}

fn grype_match(
    id: &str,
    severity: &str,
    package: &str,
    installed: &str,
    fixed: &str,
    state: &str,
    alias: &str,
) -> Value {
    let mut finding = json!({"type": "vulnerability", "id": id, "severity": severity, "package": package,
                             "installed_version": installed, "fix_state": state});
    if let Some(object) = finding.as_object_mut() {
        if !fixed.is_empty() {
            object.insert("fixed_version".into(), json!(fixed));
        }
        if !alias.is_empty() {
            object.insert("aliases".into(), json!([alias]));
        }
    }
    finding
}

// How the expected figures were derived, independently of the Rust code, with
// jq over each file (and, for the Trivy counts, a second reading in python3):
//
// Trivy (both reports):
//   jq -c '{results: (.Results|length),
//           vulns: ([.Results[].Vulnerabilities[]?]|length),
//           fixable: ([.Results[].Vulnerabilities[]? | select((.FixedVersion//"") != "")]|length),
//           fail: ([.Results[].Misconfigurations[]? | select(.Status=="FAIL")]|length),
//           passed: ([.Results[] | (.MisconfSummary.Successes // 0)]|add),
//           excepted: ([.Results[] | (.MisconfSummary.Exceptions // 0)]|add),
//           secrets: ([.Results[].Secrets[]?]|length),
//           sev: ([.Results[] | (.Vulnerabilities[]?, (.Misconfigurations[]? | select(.Status=="FAIL")),
//                  .Secrets[]?, .Licenses[]?) | .Severity] | group_by(.) | map({(.[0]): length}) | add)}'
//   jq -r '.Results[] | .Target as $t | (.Vulnerabilities[]? | [$t, .VulnerabilityID, .Severity, .PkgName,
//          .InstalledVersion, .FixedVersion]), (.Misconfigurations[]? | [$t, .ID, .Severity, .Status]),
//          (.Secrets[]? | [$t, .RuleID, .Severity, .StartLine]) | @tsv'
//   plus .SchemaVersion, .ArtifactName, .ArtifactType, .CreatedAt (absent in both), .Metadata.ImageID and
//   .Metadata.RepoDigests (absent in both), .Trivy.Version (absent in both).
// Grype:
//   jq -c '{n: (.matches|length), sev: ([.matches[].vulnerability.severity] | group_by(.) | map({(.[0]): length}) | add),
//           fixed: ([.matches[] | select(.vulnerability.fix.state=="fixed")]|length), ignored: (.ignoredMatches|length),
//           version: .descriptor.version, timestamp: .descriptor.timestamp, type: .source.type,
//           target: .source.target.userInput, repoDigests: .source.target.repoDigests,
//           manifest: .source.target.manifestDigest}'
//   jq -r '.matches[] | [.vulnerability.id, .vulnerability.severity, .artifact.name, .artifact.version,
//          (.vulnerability.fix.versions|join(", ")), .vulnerability.fix.state,
//          ([.relatedVulnerabilities[]?.id]|join(","))] | @tsv'
// CycloneDX:
//   jq -c '{spec: .specVersion, serial: .serialNumber, ts: .metadata.timestamp, tools: .metadata.tools,
//           component: (.metadata.component | {name, version, "bom-ref", purl, hashes}),
//           components: ([.components | recurse(.[]?.components? // empty) | .[]?]|length),
//           licensed: ([.components | recurse(.[]?.components? // empty) | .[]? | select((.licenses//[])|length > 0)]|length),
//           vulns: [.vulnerabilities[]? | {id, sev: [.ratings[]?.severity], state: .analysis.state,
//                   just: .analysis.justification, ref: .affects[0].ref}]}'
// SPDX:
//   jq -c '{v: .spdxVersion, ns: .documentNamespace, created: .creationInfo.created, creators: .creationInfo.creators,
//           packages: (.packages|length),
//           licensed: ([.packages[] | select([.licenseConcluded, .licenseDeclared]
//                      | map(select(. != null and . != "NOASSERTION" and . != "NONE")) | length > 0)]|length),
//           described: [.relationships[] | select(.relationshipType=="DESCRIBES" and .spdxElementId=="SPDXRef-DOCUMENT")
//                       | .relatedSpdxElement]}'
//   and `.packages[] | {SPDXID, name, versionInfo, checksums}` for the described package (no checksums).
fn expected() -> Vec<File> {
    vec![
        // SOURCES.md: "Real CycloneDX JSON SBOM of CERN LHC vdM editor (npm components with
        // purls, hashes, licenses)". jq: specVersion 1.2, 43 components (none nested), all 43
        // with licenses; metadata.tools is the 1.2 list form; metadata.component has no hashes
        // and its purl has no digest; no vulnerabilities.
        File {
            name: "cyclonedx-sbom-cern-vdm-editor.json",
            collector: Collector::CycloneDx,
            records: vec![Record {
                kind: EvidenceKind::Sbom,
                pointer: None,
                time: Some("2020-08-03T01:28:52.765Z"),
                subject: Subject::default(),
                attrs: json!({
                    "format": "cyclonedx", "spec_version": "1.2",
                    "document_id": "urn:uuid:699b6458-60da-4f52-b1b3-34915dc01eb6",
                    "components": 43, "components_with_licenses": 43,
                    "tool": "node-js-module",
                    "tools": [{"vendor": "CycloneDX", "name": "Node.js module", "version": "2.0.0"}],
                    "subject_name": "lhc-vdm-editor", "subject_version": "0.0.1", "refused": 0,
                }),
            }],
        },
        // SOURCES.md: "CycloneDX VEX document (CISA use case 1): vulnerability analysis state
        // not_affected with justification". jq: specVersion 1.4, no components, no tools, one
        // vulnerability without ratings (-> unknown), state not_affected, justification
        // code_not_present, affects ref product-ABC.
        File {
            name: "cyclonedx-vex-not-affected.json",
            collector: Collector::CycloneDx,
            records: vec![
                Record {
                    kind: EvidenceKind::Sbom,
                    pointer: None,
                    time: Some("2022-03-03T00:00:00Z"),
                    subject: Subject::default(),
                    attrs: json!({
                        "format": "cyclonedx", "spec_version": "1.4", "components": 0,
                        "components_with_licenses": 0, "subject_name": "ABC", "subject_version": "4.2",
                        "refused": 0,
                    }),
                },
                Record {
                    kind: EvidenceKind::ScanReport,
                    pointer: Some("/vulnerabilities"),
                    time: Some("2022-03-03T00:00:00Z"),
                    subject: Subject::default(),
                    attrs: json!({
                        "tool": "unknown", "format": "cyclonedx-vex", "spec_version": "1.4", "target": "ABC",
                        "vulnerabilities": 1,
                        "counts_by_severity": severities(0, 0, 0, 0, 0, 1),
                        "open_by_severity": severities(0, 0, 0, 0, 0, 0),
                        "counts_by_analysis_state": {
                            "resolved": 0, "resolved_with_pedigree": 0, "exploitable": 0, "in_triage": 0,
                            "false_positive": 0, "not_affected": 1, "unanalysed": 0, "other": 0,
                        },
                        "refused": 0,
                        "findings": [{"type": "vulnerability", "id": "CVE-2021-44228", "severity": "unknown",
                                      "package": "product-ABC", "analysis_state": "not_affected",
                                      "justification": "code_not_present"}],
                        "findings_truncated": false,
                    }),
                },
            ],
        },
        // SOURCES.md: "Grype 0.28.0 JSON report for an image: 6 matches (2 Critical, 3 High,
        // 1 Negligible) with fix.state fixed / not-fixed / wont-fix". jq: 6 matches; Critical 2,
        // High 3, Negligible 1 (-> info); fix.state fixed on 2 (the two Django matches); no
        // ignoredMatches; descriptor.version 0.28.0 and no timestamp; source.type image,
        // userInput vulnerable-image:latest, no repoDigests, manifestDigest sha256:9d88...
        File {
            name: "grype-image-report-all-fields.json",
            collector: Collector::Grype,
            records: vec![Record {
                kind: EvidenceKind::ScanReport,
                pointer: None,
                time: None,
                subject: Subject {
                    image: Some("vulnerable-image:latest".into()),
                    artifact: Some("sha256:9d8825ab20ac86b40eb71495bece1608a302fb180384740697a28c2b0a5a0fc6".into()),
                    ..Subject::default()
                },
                attrs: json!({
                    "tool": "grype", "tool_version": "0.28.0", "format": "grype-json",
                    "target": "vulnerable-image:latest", "artifact_type": "image",
                    "vulnerabilities": 6,
                    "counts_by_severity": severities(2, 3, 0, 0, 1, 0),
                    "fixable": 2, "suppressed": 0, "refused": 0,
                    "findings": [
                        grype_match("CVE-2004-0971", "info", "libgssapi-krb5-2", "1.17-3+deb10u3", "", "not-fixed", ""),
                        grype_match("CVE-2021-32626", "high", "redis", "4.0.2", "fix_1, fix_2", "wont-fix", ""),
                        grype_match("CVE-2021-33574", "critical", "libc-bin", "2.28-10", "", "wont-fix", ""),
                        grype_match("CVE-2021-33574", "critical", "libc6", "2.28-10", "", "wont-fix", ""),
                        grype_match("GHSA-v6rh-hp5x-86rv", "high", "Django", "3.2.9", "3.2.10", "fixed", "CVE-2021-44420"),
                        grype_match("GHSA-v6rh-hp5x-86rv", "high", "Django", "3.2.9", "3.2.10", "fixed", "CVE-2021-44420"),
                    ],
                    "findings_truncated": false,
                }),
            }],
        },
        // SOURCES.md: "Trivy-generated SPDX 2.3 JSON SBOM (golden test output), 3 packages with
        // relationships". jq: 3 packages, 2 with a licence other than NOASSERTION/NONE (openssl,
        // pip); creators "Organization: aquasecurity", "Tool: trivy-dev"; the document DESCRIBES
        // SPDXRef-Filesystem-2e2426fd0f2580ef (name testdata/fixtures/repo/conda, no version, no
        // checksums).
        File {
            name: "trivy-conda-spdx-2.3.json",
            collector: Collector::Spdx,
            records: vec![Record {
                kind: EvidenceKind::Sbom,
                pointer: None,
                time: Some("2021-08-25T12:20:30Z"),
                subject: Subject::default(),
                attrs: json!({
                    "format": "spdx", "spec_version": "2.3",
                    "document_id": "http://trivy.dev/filesystem/testdata/fixtures/repo/conda-3ff14136-e09f-4df9-80ea-000000000005",
                    "components": 3, "components_with_licenses": 2,
                    "tool": "trivy", "tools": [{"name": "trivy", "version": "dev"}],
                    "subject_name": "testdata/fixtures/repo/conda", "refused": 0,
                }),
            }],
        },
        // SOURCES.md: "Trivy JSON report (SchemaVersion 2, fs scan): 2 vulnerabilities, 1 HIGH
        // misconfiguration with Status FAIL, 2 secrets". jq: 4 results; vulnerabilities HIGH +
        // MEDIUM, both with FixedVersion; misconfiguration DS002 HIGH FAIL with MisconfSummary
        // Successes 22, Exceptions 0; secrets github-pat CRITICAL x2 (lines 24 and 1). Severity
        // over all findings: CRITICAL 2, HIGH 2, MEDIUM 1 (python3 agrees). No CreatedAt, no
        // image metadata, ArtifactType filesystem (so no image subject).
        File {
            name: "trivy-fs-misconfig-and-secrets.json",
            collector: Collector::Trivy,
            records: vec![Record {
                kind: EvidenceKind::ScanReport,
                pointer: None,
                time: None,
                subject: Subject::default(),
                attrs: json!({
                    "tool": "trivy", "format": "trivy-json", "schema_version": 2,
                    "target": ".", "artifact_type": "filesystem", "results": 4,
                    "counts_by_severity": severities(2, 2, 1, 0, 0, 0),
                    "vulnerabilities": 2, "misconfigurations": 1, "misconfigurations_passed": 22,
                    "misconfigurations_excepted": 0, "secrets": 2, "licenses": 0, "fixable": 2,
                    "suppressed": 0, "refused": 0,
                    "findings": [
                        vulnerability("requirements.txt", "CVE-2021-33503", "high", "urllib3", "1.26.3", "1.26.5"),
                        vulnerability("requirements.txt", "CVE-2021-28363", "medium", "urllib3", "1.26.3", "1.26.4"),
                        {"type": "misconfiguration", "id": "DS002", "severity": "high", "target": "Dockerfile"},
                        {"type": "secret", "id": "github-pat", "severity": "critical", "target": "Dockerfile", "line": 24},
                        {"type": "secret", "id": "github-pat", "severity": "critical", "target": "secret.txt", "line": 1},
                    ],
                    "findings_truncated": false,
                }),
            }],
        },
        // SOURCES.md: "Trivy JSON report (SchemaVersion 2) for image teamdojo:latest: 5
        // vulnerabilities (1 CRITICAL without CVSS block, 1 HIGH, 3 MEDIUM), all with
        // FixedVersion". jq: 3 results (one jar without vulnerabilities); ArtifactType
        // container_image; Metadata has OS and RepoTags only (no ImageID, no RepoDigests), so
        // the subject is the image name without a digest.
        File {
            name: "trivy-image-report-schema2.json",
            collector: Collector::Trivy,
            records: vec![Record {
                kind: EvidenceKind::ScanReport,
                pointer: None,
                time: None,
                subject: Subject {
                    image: Some("teamdojo:latest".into()),
                    ..Subject::default()
                },
                attrs: json!({
                    "tool": "trivy", "format": "trivy-json", "schema_version": 2,
                    "target": "teamdojo:latest", "artifact_type": "container_image", "results": 3,
                    "counts_by_severity": severities(1, 1, 3, 0, 0, 0),
                    "vulnerabilities": 5, "misconfigurations": 0, "misconfigurations_passed": 0,
                    "misconfigurations_excepted": 0, "secrets": 0, "licenses": 0, "fixable": 5,
                    "suppressed": 0, "refused": 0,
                    "findings": [
                        vulnerability("teamdojo:latest (alpine 3.9.4)", "CVE-2020-15999", "medium", "freetype", "2.9.1-r2", "2.9.1-r3"),
                        vulnerability("teamdojo:latest (alpine 3.9.4)", "CVE-2020-28196", "high", "krb5-libs", "1.15.5-r0", "1.15.5-r1"),
                        vulnerability("teamdojo:latest (alpine 3.9.4)", "CVE-2019-12900", "critical", "libbz2", "1.0.6-r6", "1.0.6-r7"),
                        vulnerability("app/libs/commons-compress-1.14.jar", "CVE-2018-11771", "medium",
                                      "org.apache.commons:commons-compress", "1.14", "1.18"),
                        vulnerability("app/libs/commons-compress-1.14.jar", "CVE-2018-1324", "medium",
                                      "org.apache.commons:commons-compress", "1.14", "1.16"),
                    ],
                    "findings_truncated": false,
                }),
            }],
        },
        // SOURCES.md: "Trivy-generated CycloneDX 1.7 SBOM (golden test output) for an npm
        // project: 13 components, dependency graph, 1 embedded vulnerability". jq: 13 components
        // (none nested), 5 with licenses; tools in the 1.5+ object form (group aquasecurity,
        // name trivy, version dev); one vulnerability CVE-2019-11358 with ratings 10x medium
        // and 1x low (most severe: medium), no analysis, affects pkg:npm/jquery@3.3.9.
        File {
            name: "trivy-npm-cyclonedx-with-vuln.cdx.json",
            collector: Collector::CycloneDx,
            records: vec![
                Record {
                    kind: EvidenceKind::Sbom,
                    pointer: None,
                    time: Some("2021-08-25T12:20:30Z"),
                    subject: Subject::default(),
                    attrs: json!({
                        "format": "cyclonedx", "spec_version": "1.7",
                        "document_id": "urn:uuid:3ff14136-e09f-4df9-80ea-000000000015",
                        "components": 13, "components_with_licenses": 5,
                        "tool": "trivy", "tools": [{"vendor": "aquasecurity", "name": "trivy", "version": "dev"}],
                        "subject_name": "testdata/fixtures/repo/npm", "refused": 0,
                    }),
                },
                Record {
                    kind: EvidenceKind::ScanReport,
                    pointer: Some("/vulnerabilities"),
                    time: Some("2021-08-25T12:20:30Z"),
                    subject: Subject::default(),
                    attrs: json!({
                        "tool": "trivy", "tool_version": "dev", "format": "cyclonedx-vulnerabilities",
                        "spec_version": "1.7", "target": "testdata/fixtures/repo/npm",
                        "vulnerabilities": 1,
                        "counts_by_severity": severities(0, 0, 1, 0, 0, 0),
                        "open_by_severity": severities(0, 0, 1, 0, 0, 0),
                        "counts_by_analysis_state": {
                            "resolved": 0, "resolved_with_pedigree": 0, "exploitable": 0, "in_triage": 0,
                            "false_positive": 0, "not_affected": 0, "unanalysed": 1, "other": 0,
                        },
                        "refused": 0,
                        "findings": [{"type": "vulnerability", "id": "CVE-2019-11358", "severity": "medium",
                                      "package": "pkg:npm/jquery@3.3.9"}],
                        "findings_truncated": false,
                    }),
                },
            ],
        },
    ]
}

#[test]
fn every_scanner_and_sbom_fixture_gives_the_expected_records() {
    let folder = Path::new(FIXTURES);
    if !folder.is_dir() {
        let message = format!("sbom-vulns fixtures folder {FIXTURES} is absent");
        if std::env::var("CI").is_ok_and(|value| value == "true") {
            panic!("{message}; it is required when CI=true");
        }
        eprintln!("{message}; corpus test skipped (set CI=true to make this fail)");
        return;
    }

    let expected = expected();
    let mut present: Vec<String> = std::fs::read_dir(folder)
        .expect("fixtures folder is readable")
        .map(|entry| {
            entry
                .expect("directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    present.sort();
    let mut known: Vec<String> = expected.iter().map(|file| file.name.to_string()).collect();
    known.sort();
    assert_eq!(
        present, known,
        "every file in {FIXTURES} needs an entry in expected() (and every entry a file)"
    );

    for file in &expected {
        let path = folder.join(file.name);
        let bytes = std::fs::read(&path).expect("fixture is readable");
        // Detection from the first 4096 bytes, as `ingest` does, and from a
        // neutral name, so the content decides.
        let head = &bytes[..bytes.len().min(4096)];
        assert_eq!(
            detect("report.json", head),
            Some(file.collector),
            "{}: detection",
            file.name
        );
        let context = Context {
            origin: path.display().to_string(),
            sha256: "not-computed".into(),
            ..Context::default()
        };
        let parsed = parse_document(file.collector, &bytes, &context, &Limits::default());
        assert_eq!(parsed.diagnostics, vec![], "{}: no diagnostics expected", file.name);
        assert_eq!(parsed.evidence.len(), file.records.len(), "{}: record count", file.name);
        for (index, (record, expected)) in parsed.evidence.iter().zip(&file.records).enumerate() {
            assert_eq!(record.kind, expected.kind, "{} record {index}", file.name);
            assert_eq!(record.attrs, expected.attrs, "{} record {index}", file.name);
            assert_eq!(record.subject, expected.subject, "{} record {index}", file.name);
            assert_eq!(record.source.collector, file.collector.name());
            assert_eq!(record.source.origin, context.origin);
            assert_eq!(record.source.pointer.as_deref(), expected.pointer);
            assert_eq!(record.source.line, None);
            assert_eq!(
                record.occurred_at.map(|time| time.to_string()).as_deref(),
                expected.time,
                "{} record {index}",
                file.name
            );
            let source = if expected.time.is_some() {
                OccurredAtSource::Source
            } else {
                OccurredAtSource::Ingested
            };
            assert_eq!(record.occurred_at_source, source, "{} record {index}", file.name);
        }
    }
}

/// The headline figures of `../shared/fixtures/SOURCES.md`, asserted on their own
/// so that a change to the attribute layout cannot hide a change in what is counted.
#[test]
fn the_figures_stated_in_sources_md_hold() {
    let folder = Path::new(FIXTURES);
    if !folder.is_dir() {
        eprintln!("sbom-vulns fixtures folder {FIXTURES} is absent; skipped");
        return;
    }
    let read = |name: &str, collector: Collector| {
        let bytes = std::fs::read(folder.join(name)).expect("fixture is readable");
        parse_document(collector, &bytes, &Context::default(), &Limits::default()).evidence
    };
    let grype = read("grype-image-report-all-fields.json", Collector::Grype);
    assert_eq!(grype[0].attrs["counts_by_severity"], severities(2, 3, 0, 0, 1, 0));
    let image = read("trivy-image-report-schema2.json", Collector::Trivy);
    assert_eq!(image[0].attrs["counts_by_severity"], severities(1, 1, 3, 0, 0, 0));
    let filesystem = read("trivy-fs-misconfig-and-secrets.json", Collector::Trivy);
    assert_eq!(filesystem[0].attrs["vulnerabilities"], json!(2));
    assert_eq!(filesystem[0].attrs["misconfigurations"], json!(1));
    assert_eq!(filesystem[0].attrs["secrets"], json!(2));
    let vex = read("cyclonedx-vex-not-affected.json", Collector::CycloneDx);
    assert_eq!(vex[1].attrs["counts_by_analysis_state"]["not_affected"], json!(1));
    let npm = read("trivy-npm-cyclonedx-with-vuln.cdx.json", Collector::CycloneDx);
    assert_eq!(npm[0].attrs["spec_version"], json!("1.7"));
    assert_eq!(npm[0].attrs["components"], json!(13));
    assert_eq!(npm[1].attrs["vulnerabilities"], json!(1));
    let spdx = read("trivy-conda-spdx-2.3.json", Collector::Spdx);
    assert_eq!(spdx[0].attrs["spec_version"], json!("2.3"));
    assert_eq!(spdx[0].attrs["components"], json!(3));
}
