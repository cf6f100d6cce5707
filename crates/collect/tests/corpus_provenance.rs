//! Corpus test: every file in `../shared/fixtures/provenance/` is read in
//! place, detected, and must give the provenance facts and verification
//! outcomes derived independently (jq over the decoded payloads), both without
//! a trust root and with Sigstore's public-good `trusted_root.json`
//! (`tests/data/`, from sigstore-python 4.5.1, Apache-2.0).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dsomm_audit_collect::provenance::Verification;
use dsomm_audit_collect::sigstore::TrustRoot;
use dsomm_audit_collect::{Collector, Context, Limits, Parsed, detect, parse_document};
use model::EvidenceKind;

fn fixtures() -> Option<PathBuf> {
    common::fixtures("provenance")
}

fn public_good() -> TrustRoot {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigstore-public-good-trusted_root.json");
    TrustRoot::from_json(&std::fs::read(path).unwrap()).unwrap()
}

fn ingest(folder: &Path, name: &str, verification: Option<Verification>) -> Parsed {
    let bytes = std::fs::read(folder.join(name)).unwrap();
    assert_eq!(detect(name, &bytes), Some(Collector::Provenance), "{name} detected");
    let context = Context {
        origin: name.to_string(),
        sha256: "00".into(),
        provenance: verification.map(Arc::new),
        ..Context::default()
    };
    parse_document(Collector::Provenance, &bytes, &context, &Limits::default())
}

/// What one file must give (one record each).
struct Expected {
    name: &'static str,
    format: &'static str,
    predicate_type: &'static str,
    builder_id: &'static str,
    source_repo: &'static str,
    source_ref: &'static str,
    trigger: Option<&'static str>,
    /// `(name, sha256)` of each subject.
    subjects: Vec<(&'static str, &'static str)>,
    /// Without a trust root: (verified, reason starts with).
    bare: (bool, &'static str),
    /// With the public-good trust root: (verified, reason starts with).
    trusted: (bool, &'static str),
}

const NO_ROOT: &str = "no trust root given: signature checked against the embedded certificate only";
const VERIFIED: &str = "signature, certificate chain to a trusted root, certificate validity at the logged time";
const MISMATCH: &str = "signature does not match the transparency log entry: the logged DSSE signature differs";

// Derived with jq: `.dsseEnvelope.payload | @base64d | fromjson | {subject, predicateType,
// builder: .predicate.runDetails.builder.id // .predicate.builder.id, ...}` and for the
// trigger `.predicate.buildDefinition.internalParameters.github.event_name`, or
// `.predicate.invocation.environment.github_event_name` (v0.2); the container-based
// build states no trigger in its predicate, so it comes from the certificate's
// Build Trigger extension (1.3.6.1.4.1.57264.1.20: push).
fn expected() -> Vec<Expected> {
    let attestation_subject = vec![(
        "a.txt",
        "a0cfc71271d6e278e57cd332ff957c3f7043fdda354c4cbb190a30d56efa01bf",
    )];
    let aa_builder = "https://github.com/loosebazooka/aa-test/.github/workflows/provenance.yaml@refs/heads/main";
    vec![
        Expected {
            name: "sigstore-bundle-dsse-signature-mismatch-FAIL.json",
            format: "sigstore-bundle",
            predicate_type: "https://slsa.dev/provenance/v1",
            builder_id: aa_builder,
            source_repo: "https://github.com/loosebazooka/aa-test",
            source_ref: "refs/heads/main",
            trigger: Some("workflow_dispatch"),
            subjects: attestation_subject.clone(),
            bare: (false, MISMATCH),
            trusted: (false, MISMATCH),
        },
        Expected {
            name: "sigstore-bundle-slsa-v1-container-based-builder.json",
            format: "sigstore-bundle",
            predicate_type: "https://slsa.dev/provenance/v1",
            builder_id: "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_container-based_slsa3.yml@refs/tags/v2.1.0",
            source_repo: "https://github.com/slsa-framework/example-package",
            source_ref: "refs/tags/v14",
            trigger: Some("push"),
            subjects: vec![(
                "gha_container-based-binary-linux-amd64-v14",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            )],
            bare: (false, NO_ROOT),
            trusted: (true, VERIFIED),
        },
        Expected {
            name: "sigstore-bundle-v0.3-github-attestation-slsa-v1.json",
            format: "sigstore-bundle",
            predicate_type: "https://slsa.dev/provenance/v1",
            builder_id: aa_builder,
            source_repo: "https://github.com/loosebazooka/aa-test",
            source_ref: "refs/heads/main",
            trigger: Some("workflow_dispatch"),
            subjects: attestation_subject,
            bare: (false, NO_ROOT),
            trusted: (true, VERIFIED),
        },
        Expected {
            name: "slsa-v0.2-generic-generator.intoto.jsonl",
            format: "dsse",
            predicate_type: "https://slsa.dev/provenance/v0.2",
            builder_id: "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v1.2.2",
            source_repo: "https://github.com/asraa/slsa-on-github-test",
            source_ref: "refs/tags/v1.5.0",
            trigger: Some("push"),
            subjects: vec![
                (
                    "artifact1",
                    "482ce8c8f7e867da3a3c05a9aee637703e17470ed1cf882a9e5b405e8f82619d",
                ),
                (
                    "artifact2",
                    "89cfc6954e88b2f92a7c2879d9eb085c42f3c7065d012a5066f450dbe59b2c00",
                ),
            ],
            bare: (false, NO_ROOT),
            // An envelope with a certificate but no log entry: no signing time.
            trusted: (false, "no transparency log entry"),
        },
    ]
}

#[test]
fn provenance_corpus() {
    let Some(folder) = fixtures() else { return };
    let expected = expected();
    let mut names: Vec<String> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut listed: Vec<String> = expected.iter().map(|file| file.name.to_string()).collect();
    listed.sort();
    assert_eq!(names, listed, "every provenance fixture needs an entry here");
    for file in &expected {
        let name = file.name;
        let trusted = Verification {
            trust_root: Some(public_good()),
            trusted_builders: vec![
                "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml"
                    .into(),
            ],
            ..Verification::default()
        };
        for (verification, (verified, reason)) in [(None, file.bare), (Some(trusted), file.trusted)] {
            let with_root = verification.is_some();
            let parsed = ingest(&folder, name, verification);
            assert!(parsed.diagnostics.is_empty(), "{name}: {:?}", parsed.diagnostics);
            let [record] = parsed.evidence.as_slice() else {
                panic!("{name}: one record expected, got {}", parsed.evidence.len())
            };
            let attrs = &record.attrs;
            assert_eq!(record.kind, EvidenceKind::Provenance);
            assert_eq!(attrs["format"], file.format, "{name}");
            assert_eq!(attrs["predicate_type"], file.predicate_type, "{name}");
            assert_eq!(attrs["builder_id"], file.builder_id, "{name}");
            assert_eq!(attrs["source_repo"], file.source_repo, "{name}");
            assert_eq!(attrs["source_ref"], file.source_ref, "{name}");
            let owner_and_name = file.source_repo.trim_start_matches("https://github.com/");
            assert_eq!(record.subject.repo.as_deref(), Some(owner_and_name), "{name}");
            assert_eq!(record.subject.git_ref.as_deref(), Some(file.source_ref), "{name}");
            assert_eq!(attrs["trigger"].as_str(), file.trigger, "{name}");
            let subjects: Vec<(&str, &str)> = attrs["subjects"]
                .as_array()
                .unwrap()
                .iter()
                .map(|subject| {
                    (
                        subject["name"].as_str().unwrap(),
                        subject["digest"]["sha256"].as_str().unwrap(),
                    )
                })
                .collect();
            assert_eq!(subjects, file.subjects, "{name}");
            assert_eq!(
                record.subject.artifact.as_deref(),
                Some(format!("sha256:{}", file.subjects[0].1).as_str())
            );
            assert_eq!(
                attrs["verified"], verified,
                "{name} (trust root: {with_root}): {}",
                attrs["verification_reason"]
            );
            let text = attrs["verification_reason"].as_str().unwrap();
            assert!(text.starts_with(reason), "{name} (trust root: {with_root}): {text}");
            // Every signature here is keyless: a Fulcio certificate for a GitHub workflow.
            assert_eq!(
                attrs["signer"]["oidc_issuer"], "https://token.actions.githubusercontent.com",
                "{name}"
            );
            let trusted_builder = if with_root {
                serde_json::Value::Bool(name.starts_with("slsa-v0.2"))
            } else {
                serde_json::Value::Null
            };
            assert_eq!(attrs["builder_trusted"], trusted_builder, "{name}");
        }
    }
}

/// The v0.3 bundle, changed by `edit`, verified against the public-good root.
fn edited_bundle(edit: impl FnOnce(&mut serde_json::Value)) -> serde_json::Value {
    let folder = fixtures().unwrap();
    let bytes = std::fs::read(folder.join("sigstore-bundle-v0.3-github-attestation-slsa-v1.json")).unwrap();
    let mut bundle: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    edit(&mut bundle);
    let context = Context {
        origin: "edited.sigstore.json".into(),
        provenance: Some(Arc::new(Verification {
            trust_root: Some(public_good()),
            ..Verification::default()
        })),
        ..Context::default()
    };
    let parsed = parse_document(
        Collector::Provenance,
        bundle.to_string().as_bytes(),
        &context,
        &Limits::default(),
    );
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    parsed.evidence[0].attrs.clone()
}

#[test]
fn real_bundle_variants() {
    if fixtures().is_none() {
        return;
    }
    // Without the inclusion proof, the signed entry timestamp carries the entry.
    let attrs = edited_bundle(|bundle| {
        bundle["verificationMaterial"]["tlogEntries"][0]
            .as_object_mut()
            .unwrap()
            .remove("inclusionProof");
    });
    assert_eq!(attrs["verified"], true, "{}", attrs["verification_reason"]);
    assert_eq!(attrs["checks"]["transparency_log"], "signed_entry_timestamp");
    // A broken inclusion proof is final: the signed entry timestamp does not stand in.
    let attrs = edited_bundle(|bundle| {
        bundle["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0] =
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
    });
    assert_eq!(attrs["verified"], false);
    assert!(
        attrs["verification_reason"]
            .as_str()
            .unwrap()
            .contains("inclusion proof")
    );
    // A changed integrated time breaks the signed entry timestamp.
    let attrs = edited_bundle(|bundle| {
        let entry = &mut bundle["verificationMaterial"]["tlogEntries"][0];
        entry.as_object_mut().unwrap().remove("inclusionProof");
        entry["integratedTime"] = "1734374577".into();
    });
    assert_eq!(attrs["verified"], false);
    assert!(
        attrs["verification_reason"]
            .as_str()
            .unwrap()
            .contains("signed entry timestamp")
    );
    // The real bundle carries both an inclusion proof and a signed entry timestamp: both are checked.
    let attrs = edited_bundle(|_| {});
    assert_eq!(attrs["verified"], true, "{}", attrs["verification_reason"]);
    assert_eq!(
        attrs["checks"]["transparency_log"],
        "inclusion_proof_and_signed_entry_timestamp"
    );
    // The integrated time is not covered by the inclusion proof: moved by five
    // minutes, the signed entry timestamp refuses it.
    let attrs = edited_bundle(|bundle| {
        let entry = &mut bundle["verificationMaterial"]["tlogEntries"][0];
        let time: i64 = entry["integratedTime"].as_str().unwrap().parse().unwrap();
        entry["integratedTime"] = (time + 300).to_string().into();
    });
    assert_eq!(attrs["verified"], false);
    assert_eq!(
        attrs["verification_reason"],
        "signed entry timestamp does not verify against the log's key"
    );
    // A garbage signed entry timestamp fails beside a good inclusion proof.
    let attrs = edited_bundle(|bundle| {
        bundle["verificationMaterial"]["tlogEntries"][0]["inclusionPromise"]["signedEntryTimestamp"] = "AAAA".into();
    });
    assert_eq!(attrs["verified"], false);
    // Without the signed entry timestamp the logged time is not signed.
    let attrs = edited_bundle(|bundle| {
        bundle["verificationMaterial"]["tlogEntries"][0]
            .as_object_mut()
            .unwrap()
            .remove("inclusionPromise");
    });
    assert_eq!(attrs["verified"], false);
    assert_eq!(
        attrs["verification_reason"],
        dsomm_audit_collect::sigstore::UNSIGNED_TIME
    );
    // A certificate that does not parse.
    let attrs = edited_bundle(|bundle| {
        bundle["verificationMaterial"]["certificate"]["rawBytes"] = "MIIBAAAA".into();
    });
    assert_eq!(attrs["verified"], false);
    assert!(
        attrs["verification_reason"]
            .as_str()
            .unwrap()
            .starts_with("certificate does not parse")
    );
    // Without a log entry there is no trusted signing time.
    let attrs = edited_bundle(|bundle| {
        bundle["verificationMaterial"]["tlogEntries"] = serde_json::json!([]);
    });
    assert_eq!(attrs["verified"], false);
    assert!(
        attrs["verification_reason"]
            .as_str()
            .unwrap()
            .starts_with("no transparency log entry")
    );
}
