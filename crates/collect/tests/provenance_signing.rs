//! Provenance verification against material made in the test: a certificate
//! authority, a signing certificate and a transparency log key, all generated
//! here. A bundle signed with them verifies; the same bundle with one payload
//! byte changed does not; one signed under an authority outside the trust root
//! does not; a key-signed bundle verifies only with its own `--public-key`.
//! Then hostile inputs: bad base64, truncated JSON, huge and deep payloads.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::{Encode, EncodePem};
use dsomm_audit_collect::provenance::Verification;
use dsomm_audit_collect::sigstore::{PublicKey, TrustRoot, pae};
use dsomm_audit_collect::{Collector, Context, Limits, Parsed, parse_document};
use p256::ecdsa::{DerSignature, SigningKey, signature::Signer};
use p256::pkcs8::EncodePublicKey;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::SubjectPublicKeyInfoOwned;
use x509_cert::time::{Time, Validity};

/// 2025-01-01T00:00:00Z: the signing certificate is valid for ten minutes from here.
const START: u64 = 1_735_689_600;

fn validity(from: u64, seconds: u64) -> Validity {
    let time = |at: u64| Time::UtcTime(der::asn1::UtcTime::from_unix_duration(Duration::from_secs(at)).unwrap());
    Validity {
        not_before: time(from),
        not_after: time(from + seconds),
    }
}

fn key() -> SigningKey {
    SigningKey::random(&mut rand_core::OsRng)
}

fn spki(key: &SigningKey) -> SubjectPublicKeyInfoOwned {
    SubjectPublicKeyInfoOwned::from_key(*key.verifying_key()).unwrap()
}

/// A self-signed certificate authority.
fn authority(key: &SigningKey, name: &str) -> x509_cert::Certificate {
    let subject = Name::from_str(&format!("CN={name},O=test")).unwrap();
    CertificateBuilder::new(
        Profile::Root,
        SerialNumber::from(1u32),
        validity(START - 86_400 * 365, 86_400 * 365 * 5),
        subject,
        spki(key),
        key,
    )
    .unwrap()
    .build::<DerSignature>()
    .unwrap()
}

/// A Fulcio-like signing certificate for `leaf` issued by `issuer` (with the
/// codeSigning extended key usage when `code_signing`).
fn signing_certificate(
    issuer_key: &SigningKey,
    issuer: &x509_cert::Certificate,
    leaf: &SigningKey,
    code_signing: bool,
) -> x509_cert::Certificate {
    let mut builder = CertificateBuilder::new(
        Profile::Leaf {
            issuer: issuer.tbs_certificate.subject.clone(),
            enable_key_agreement: false,
            enable_key_encipherment: false,
        },
        SerialNumber::from(2u32),
        validity(START, 600),
        Name::default(),
        spki(leaf),
        issuer_key,
    )
    .unwrap();
    let uri =
        der::asn1::Ia5String::new("https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main").unwrap();
    builder
        .add_extension(&SubjectAltName(vec![GeneralName::UniformResourceIdentifier(uri)]))
        .unwrap();
    if code_signing {
        builder
            .add_extension(&ExtendedKeyUsage(vec![der::oid::ObjectIdentifier::new_unwrap(
                "1.3.6.1.5.5.7.3.3",
            )]))
            .unwrap();
    }
    builder.build::<DerSignature>().unwrap()
}

fn statement() -> Value {
    json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "app.tar.gz", "digest": {"sha256": "aa".repeat(32)}}],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {"workflow": {"ref": "refs/heads/main", "repository": "https://github.com/acme/app", "path": ".github/workflows/release.yml"}},
                "internalParameters": {"github": {"event_name": "push"}}
            },
            "runDetails": {"builder": {"id": "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"}}
        }
    })
}

/// The test's transparency log: a key and its id.
struct Log {
    key: SigningKey,
}

impl Log {
    fn key_id(&self) -> Vec<u8> {
        Sha256::digest(self.key.verifying_key().to_public_key_der().unwrap().as_bytes()).to_vec()
    }

    /// A log entry for `body` at index 0 of a one-leaf tree, with an inclusion
    /// proof under a checkpoint the log signed, and a signed entry timestamp.
    fn entry(&self, body: &[u8], integrated: u64) -> Value {
        let key_id = self.key_id();
        let set_message = json!({
            "body": STANDARD.encode(body),
            "integratedTime": integrated,
            "logID": hex::encode(&key_id),
            "logIndex": 7,
        })
        .to_string();
        let set: DerSignature = self.key.sign(set_message.as_bytes());
        let mut leaf = Sha256::new();
        leaf.update([0u8]);
        leaf.update(body);
        let root = leaf.finalize();
        let note = format!("test.log - 1\n1\n{}\n", STANDARD.encode(root));
        let note_signature: DerSignature = self.key.sign(note.as_bytes());
        let mut signed = key_id[..4].to_vec();
        signed.extend_from_slice(note_signature.as_bytes());
        let envelope = format!("{note}\n\u{2014} test.log {}\n", STANDARD.encode(signed));
        json!({
            "logIndex": "7",
            "logId": {"keyId": STANDARD.encode(&key_id)},
            "kindVersion": {"kind": "dsse", "version": "0.0.1"},
            "integratedTime": integrated.to_string(),
            "inclusionPromise": {"signedEntryTimestamp": STANDARD.encode(set.as_bytes())},
            "inclusionProof": {
                "logIndex": "0",
                "rootHash": STANDARD.encode(root),
                "treeSize": "1",
                "hashes": [],
                "checkpoint": {"envelope": envelope}
            },
            "canonicalizedBody": STANDARD.encode(body)
        })
    }
}

/// The DSSE signature (base64) of an in-toto `payload` by `signer`.
fn dsse_signature(signer: &SigningKey, payload: &[u8]) -> String {
    let signature: DerSignature = signer.sign(&pae("application/vnd.in-toto+json", payload));
    STANDARD.encode(signature.as_bytes())
}

/// A Rekor `dsse` entry body: `payload` signed with `signature` (base64) by `verifier` (PEM).
fn dsse_body(payload: &[u8], signature: &str, verifier: &str) -> String {
    json!({
        "apiVersion": "0.0.1",
        "kind": "dsse",
        "spec": {
            "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(payload))},
            "signatures": [{"signature": signature, "verifier": STANDARD.encode(verifier)}]
        }
    })
    .to_string()
}

/// A v0.3 bundle: `payload` signed by `signer` under `certificate`, logged in `log`.
fn bundle(payload: &[u8], signer: &SigningKey, certificate: &x509_cert::Certificate, log: &Log) -> Value {
    let payload_type = "application/vnd.in-toto+json";
    let signature = dsse_signature(signer, payload);
    let pem = certificate.to_pem(der::pem::LineEnding::LF).unwrap();
    let body = dsse_body(payload, &signature, &pem);
    json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {
            "certificate": {"rawBytes": STANDARD.encode(certificate.to_der().unwrap())},
            "tlogEntries": [log.entry(body.as_bytes(), START + 60)]
        },
        "dsseEnvelope": {
            "payload": STANDARD.encode(payload),
            "payloadType": payload_type,
            "signatures": [{"sig": signature}]
        }
    })
}

fn trust_root(authority: &x509_cert::Certificate, log: &Log) -> TrustRoot {
    trust_root_of(&[(vec![authority], json!({"start": "2024-01-01T00:00:00Z"}))], log)
}

/// A trust root with `log` and one certificate authority per `(chain, validFor)`.
fn trust_root_of(authorities: &[(Vec<&x509_cert::Certificate>, Value)], log: &Log) -> TrustRoot {
    let authorities: Vec<Value> = authorities
        .iter()
        .map(|(chain, valid_for)| {
            let certificates: Vec<Value> = chain
                .iter()
                .map(|certificate| json!({"rawBytes": STANDARD.encode(certificate.to_der().unwrap())}))
                .collect();
            json!({
                "subject": {"organization": "test", "commonName": "test-ca"},
                "uri": "https://ca.test",
                "certChain": {"certificates": certificates},
                "validFor": valid_for
            })
        })
        .collect();
    let root = json!({
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{
            "baseUrl": "https://log.test",
            "hashAlgorithm": "SHA2_256",
            "publicKey": {
                "rawBytes": STANDARD.encode(log.key.verifying_key().to_public_key_der().unwrap().as_bytes()),
                "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                "validFor": {"start": "2024-01-01T00:00:00Z"}
            },
            "logId": {"keyId": STANDARD.encode(log.key_id())}
        }],
        "certificateAuthorities": authorities
    });
    TrustRoot::from_json(root.to_string().as_bytes()).unwrap()
}

fn run(input: &[u8], verification: Verification, limits: &Limits) -> Parsed {
    let context = Context {
        origin: "test.sigstore.json".into(),
        sha256: "00".into(),
        provenance: Some(Arc::new(verification)),
        ..Context::default()
    };
    parse_document(Collector::Provenance, input, &context, limits)
}

/// (verified, reason) of the one record made from `input`.
fn outcome(input: &Value, verification: Verification) -> (bool, String) {
    let parsed = run(input.to_string().as_bytes(), verification, &Limits::default());
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let attrs = &parsed.evidence[0].attrs;
    (
        attrs["verified"].as_bool().unwrap(),
        attrs["verification_reason"].as_str().unwrap().to_string(),
    )
}

/// A certificate authority, a signing key with its certificate, a log and the
/// trust root that holds the authority and the log.
struct Material {
    ca_key: SigningKey,
    ca: x509_cert::Certificate,
    signer: SigningKey,
    certificate: x509_cert::Certificate,
    log: Log,
    root: TrustRoot,
}

impl Material {
    /// The test statement, and a bundle of it signed and logged with this material.
    fn signed(&self) -> (Vec<u8>, Value) {
        let payload = serde_json::to_vec(&statement()).unwrap();
        let good = bundle(&payload, &self.signer, &self.certificate, &self.log);
        (payload, good)
    }
}

fn material() -> Material {
    let ca_key = key();
    let ca = authority(&ca_key, "test-ca");
    let signer = key();
    let certificate = signing_certificate(&ca_key, &ca, &signer, true);
    let log = Log { key: key() };
    let root = trust_root(&ca, &log);
    Material {
        ca_key,
        ca,
        signer,
        certificate,
        log,
        root,
    }
}

#[test]
fn bundles_signed_here_verify_only_when_everything_holds() {
    let Material {
        ca_key,
        ca,
        signer,
        certificate,
        log,
        root,
    } = material();
    let with_root = || Verification {
        trust_root: Some(root.clone()),
        ..Verification::default()
    };
    let payload = serde_json::to_vec(&statement()).unwrap();

    // Valid: signature, chain, validity at the logged time, inclusion proof.
    let good = bundle(&payload, &signer, &certificate, &log);
    let (verified, reason) = outcome(&good, with_root());
    assert!(verified, "{reason}");
    assert!(reason.contains("inclusion proof under a signed checkpoint"), "{reason}");
    let parsed = run(good.to_string().as_bytes(), with_root(), &Limits::default());
    let attrs = &parsed.evidence[0].attrs;
    assert_eq!(
        attrs["signer"]["identity"],
        json!(["https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main"])
    );
    assert_eq!(attrs["trigger"], "push");
    assert_eq!(attrs["source_repo"], "https://github.com/acme/app");
    // Without the trust root the same bundle is not verified, and says why.
    let (verified, reason) = outcome(&good, Verification::default());
    assert!(!verified);
    assert!(reason.starts_with("no trust root given"), "{reason}");

    // One payload byte changed after signing.
    let mut changed = good.clone();
    let mut tampered = payload.clone();
    let position = tampered.iter().position(|&byte| byte == b'a').unwrap();
    tampered[position] = b'b';
    changed["dsseEnvelope"]["payload"] = STANDARD.encode(&tampered).into();
    for verification in [with_root(), Verification::default()] {
        let (verified, reason) = outcome(&changed, verification);
        assert!(!verified);
        assert_eq!(reason, "signature does not match payload under the certificate's key");
    }

    // Signed under an authority that is not in the trust root.
    let other_key = key();
    let other = authority(&other_key, "test-ca");
    let outsider = key();
    let outsider_certificate = signing_certificate(&other_key, &other, &outsider, true);
    let foreign = bundle(&payload, &outsider, &outsider_certificate, &log);
    let (verified, reason) = outcome(&foreign, with_root());
    assert!(!verified);
    assert_eq!(reason, "certificate not issued by a trusted root");

    // A certificate from the trusted authority, but not for code signing.
    let not_for_signing = signing_certificate(&ca_key, &ca, &signer, false);
    let (verified, reason) = outcome(&bundle(&payload, &signer, &not_for_signing, &log), with_root());
    assert!(!verified);
    assert_eq!(
        reason,
        "certificate is not for code signing (no codeSigning extended key usage)"
    );
    // A leaf that issued another leaf: the issuer is not an authority.
    let sub_key = key();
    let sub_certificate = signing_certificate(&signer, &certificate, &sub_key, true);
    let (verified, reason) = outcome(&bundle(&payload, &sub_key, &sub_certificate, &log), with_root());
    assert!(!verified);
    assert_eq!(reason, "certificate not issued by a trusted root");

    // Logged after the certificate expired.
    let late = {
        let mut late = good.clone();
        let body = STANDARD
            .decode(
                late["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]
                    .as_str()
                    .unwrap(),
            )
            .unwrap();
        late["verificationMaterial"]["tlogEntries"][0] = log.entry(&body, START + 3600);
        late
    };
    let (verified, reason) = outcome(&late, with_root());
    assert!(!verified);
    assert!(
        reason.starts_with("certificate not valid at the signing time"),
        "{reason}"
    );

    // Logged in a log the trust root does not know.
    let unknown_log = Log { key: key() };
    let (verified, reason) = outcome(&bundle(&payload, &signer, &certificate, &unknown_log), with_root());
    assert!(!verified);
    assert_eq!(reason, "transparency log entry from a log not in the trust root");
}

#[test]
fn key_signed_envelopes_verify_with_their_own_key_only() {
    let signer = key();
    let payload = serde_json::to_vec(&statement()).unwrap();
    let payload_type = "application/vnd.in-toto+json";
    let signature: DerSignature = signer.sign(&pae(payload_type, &payload));
    let envelope = json!({
        "payloadType": payload_type,
        "payload": STANDARD.encode(&payload),
        "signatures": [{"keyid": "", "sig": STANDARD.encode(signature.as_bytes())}]
    });
    let pem = |key: &SigningKey| {
        key.verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap()
    };
    let with_key = |key: &SigningKey| Verification {
        public_key: Some(PublicKey::from_pem(&pem(key)).unwrap()),
        ..Verification::default()
    };
    let (verified, reason) = outcome(&envelope, with_key(&signer));
    assert!(verified, "{reason}");
    assert_eq!(reason, "signature verified with the given public key");
    let (verified, reason) = outcome(&envelope, with_key(&key()));
    assert!(!verified);
    assert_eq!(reason, "signature does not match payload under the given public key");
    let (verified, reason) = outcome(&envelope, Verification::default());
    assert!(!verified);
    assert!(reason.contains("no --public-key given"), "{reason}");
}

#[test]
fn hostile_inputs_give_clear_diagnostics_and_never_panic() {
    let payload = STANDARD.encode(serde_json::to_vec(&statement()).unwrap());
    let envelope = |payload: &str, signature: &str| {
        json!({"payloadType": "application/vnd.in-toto+json", "payload": payload,
               "signatures": [{"sig": signature}]})
        .to_string()
    };
    let limits = Limits::default();
    // Bad base64 in the payload: no record, a diagnostic naming it.
    let parsed = run(
        envelope("@@not base64@@", "AAAA").as_bytes(),
        Verification::default(),
        &limits,
    );
    assert!(parsed.evidence.is_empty());
    assert!(
        parsed.diagnostics[0].message.starts_with("DSSE payload is not base64"),
        "{:?}",
        parsed.diagnostics
    );
    // Bad base64 in the signature: a record, not verified, saying why.
    let parsed = run(envelope(&payload, "%%%").as_bytes(), Verification::default(), &limits);
    assert_eq!(parsed.evidence[0].attrs["verified"], false);
    assert!(
        parsed.evidence[0].attrs["verification_reason"]
            .as_str()
            .unwrap()
            .starts_with("signature is not base64")
    );
    // A payload that is base64 but not JSON.
    let parsed = run(
        envelope(&STANDARD.encode("{\"_type\": "), "AAAA").as_bytes(),
        Verification::default(),
        &limits,
    );
    assert!(parsed.diagnostics[0].message.starts_with("DSSE payload is not JSON"));
    // Truncated JSON.
    let whole = envelope(&payload, "AAAA");
    let parsed = run(&whole.as_bytes()[..whole.len() / 2], Verification::default(), &limits);
    assert!(parsed.evidence.is_empty());
    assert!(
        parsed.diagnostics[0].message.starts_with("not JSON"),
        "{:?}",
        parsed.diagnostics
    );
    assert_eq!(parsed.diagnostics[0].line, Some(1));
    // A certificate that does not parse.
    let bundle = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
        "verificationMaterial": {"certificate": {"rawBytes": STANDARD.encode(b"not a certificate")}, "tlogEntries": []},
        "dsseEnvelope": {"payload": payload, "payloadType": "application/vnd.in-toto+json", "signatures": [{"sig": "AAAA"}]}
    });
    let parsed = run(bundle.to_string().as_bytes(), Verification::default(), &limits);
    assert!(
        parsed.evidence[0].attrs["verification_reason"]
            .as_str()
            .unwrap()
            .starts_with("certificate does not parse")
    );
    // A payload nested too deeply.
    let deep = format!("{}{}", "[".repeat(500), "]".repeat(500));
    let parsed = run(
        envelope(&STANDARD.encode(deep), "AAAA").as_bytes(),
        Verification::default(),
        &limits,
    );
    assert!(parsed.diagnostics[0].message.contains("nested deeper"));
    // A huge line in .intoto.jsonl form: skipped with its line number, the next line lands.
    let small = Limits {
        max_line_bytes: 64 * 1024,
        ..Limits::default()
    };
    let huge = envelope(&STANDARD.encode(vec![b' '; 200 * 1024]), "AAAA");
    let input = format!("{whole}\n{huge}\n{whole}\n");
    let parsed = run(input.as_bytes(), Verification::default(), &small);
    assert_eq!(parsed.evidence.len(), 2);
    assert_eq!(parsed.diagnostics.len(), 1);
    assert_eq!(parsed.diagnostics[0].line, Some(2));
    assert!(parsed.diagnostics[0].message.contains("exceeds the line limit"));
    // A huge but well-formed payload is read whole.
    let mut big = statement();
    big["predicate"]["padding"] = "x".repeat(8 * 1024 * 1024).into();
    let parsed = run(
        envelope(&STANDARD.encode(serde_json::to_vec(&big).unwrap()), "AAAA").as_bytes(),
        Verification::default(),
        &limits,
    );
    assert_eq!(parsed.evidence.len(), 1);
    assert_eq!(
        parsed.evidence[0].attrs["builder_id"],
        statement()["predicate"]["runDetails"]["builder"]["id"]
    );
}

#[test]
fn message_signature_bundles_verify_against_their_logged_digest() {
    let setup = material();
    let (ca, signer, certificate, log) = (&setup.ca, &setup.signer, &setup.certificate, &setup.log);
    let root = setup.root.clone();
    let artefact = b"release tarball bytes";
    let digest = Sha256::digest(artefact);
    let signature: DerSignature = signer.sign(artefact);
    let signature = STANDARD.encode(signature.as_bytes());
    let pem = certificate.to_pem(der::pem::LineEnding::LF).unwrap();
    let body = json!({
        "apiVersion": "0.0.1",
        "kind": "hashedrekord",
        "spec": {
            "data": {"hash": {"algorithm": "sha256", "value": hex::encode(digest)}},
            "signature": {"content": signature, "publicKey": {"content": STANDARD.encode(pem)}}
        }
    })
    .to_string();
    let mut entry = log.entry(body.as_bytes(), START + 30);
    entry["kindVersion"] = json!({"kind": "hashedrekord", "version": "0.0.1"});
    let bundle = json!({
        "mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.2",
        "verificationMaterial": {
            "x509CertificateChain": {"certificates": [
                {"rawBytes": STANDARD.encode(certificate.to_der().unwrap())},
                {"rawBytes": STANDARD.encode(ca.to_der().unwrap())}
            ]},
            "tlogEntries": [entry]
        },
        "messageSignature": {
            "messageDigest": {"algorithm": "SHA2_256", "digest": STANDARD.encode(digest)},
            "signature": signature
        }
    });
    let with_root = Verification {
        trust_root: Some(root),
        ..Verification::default()
    };
    let parsed = run(bundle.to_string().as_bytes(), with_root.clone(), &Limits::default());
    let attrs = &parsed.evidence[0].attrs;
    assert_eq!(attrs["verified"], true, "{}", attrs["verification_reason"]);
    assert_eq!(
        parsed.evidence[0].subject.artifact.as_deref(),
        Some(format!("sha256:{}", hex::encode(digest)).as_str())
    );
    // A different digest in the bundle: the signature no longer matches it.
    let mut other = bundle.clone();
    other["messageSignature"]["messageDigest"]["digest"] = STANDARD.encode(Sha256::digest(b"other")).into();
    let (verified, reason) = outcome(&other, with_root.clone());
    assert!(!verified);
    assert_eq!(reason, "signature does not match payload under the certificate's key");

    // The same bundle as a GitHub attestations API response.
    let response = json!({"attestations": [{"bundle": bundle, "repository_id": 1}]});
    let parsed = run(response.to_string().as_bytes(), with_root, &Limits::default());
    assert_eq!(parsed.evidence[0].attrs["format"], "github-attestation");
    assert_eq!(parsed.evidence[0].attrs["verified"], true);
    assert_eq!(
        parsed.evidence[0].source.pointer.as_deref(),
        Some("/attestations/0/bundle")
    );
}

fn with_root(root: &TrustRoot) -> Verification {
    Verification {
        trust_root: Some(root.clone()),
        ..Verification::default()
    }
}

/// The bundle's first log entry, changed by `edit`.
fn edit_entry(bundle: &Value, edit: impl FnOnce(&mut Value)) -> Value {
    let mut edited = bundle.clone();
    edit(&mut edited["verificationMaterial"]["tlogEntries"][0]);
    edited
}

/// The decoded `canonicalizedBody` of the bundle's first log entry.
fn logged_body(bundle: &Value) -> Vec<u8> {
    let text = bundle["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"]
        .as_str()
        .unwrap();
    STANDARD.decode(text).unwrap()
}

/// `certificate` re-signed by `issuer_key` after `edit` changed what it says.
fn resigned(
    certificate: &x509_cert::Certificate,
    issuer_key: &SigningKey,
    edit: impl FnOnce(&mut x509_cert::TbsCertificate),
) -> x509_cert::Certificate {
    let mut certificate = certificate.clone();
    edit(&mut certificate.tbs_certificate);
    let signature: DerSignature = issuer_key.sign(&certificate.tbs_certificate.to_der().unwrap());
    certificate.signature = der::asn1::BitString::from_bytes(signature.as_bytes()).unwrap();
    certificate
}

#[test]
fn the_integrated_time_counts_only_under_a_verified_signed_entry_timestamp() {
    let setup = material();
    let (_payload, good) = setup.signed();
    let (_signer, _certificate, log, root) = (&setup.signer, &setup.certificate, &setup.log, &setup.root);
    let parsed = run(good.to_string().as_bytes(), with_root(root), &Limits::default());
    let attrs = &parsed.evidence[0].attrs;
    assert_eq!(attrs["verified"], true, "{}", attrs["verification_reason"]);
    assert_eq!(
        attrs["checks"]["transparency_log"],
        "inclusion_proof_and_signed_entry_timestamp"
    );

    // Logged an hour later, after the certificate expired; the inclusion proof
    // still holds when only the integrated time is moved back into validity,
    // but the signed entry timestamp no longer does.
    let body = logged_body(&good);
    let late = edit_entry(&good, |entry| *entry = log.entry(&body, START + 3600));
    let (verified, reason) = outcome(&late, with_root(root));
    assert!(!verified);
    assert!(
        reason.starts_with("certificate not valid at the signing time"),
        "{reason}"
    );
    let edited = edit_entry(&late, |entry| entry["integratedTime"] = (START + 60).to_string().into());
    let (verified, reason) = outcome(&edited, with_root(root));
    assert!(!verified);
    assert_eq!(reason, "signed entry timestamp does not verify against the log's key");

    // Without a signed entry timestamp the time is not signed: no verdict on the certificate.
    for unsigned in [&edited, &good] {
        let unsigned = edit_entry(unsigned, |entry| {
            entry.as_object_mut().unwrap().remove("inclusionPromise");
        });
        let parsed = run(unsigned.to_string().as_bytes(), with_root(root), &Limits::default());
        let attrs = &parsed.evidence[0].attrs;
        assert_eq!(attrs["verified"], false);
        assert_eq!(
            attrs["verification_reason"],
            dsomm_audit_collect::sigstore::UNSIGNED_TIME
        );
        assert!(attrs["verification_reason"].as_str().unwrap().contains("RFC 3161"));
        assert_eq!(attrs["checks"]["transparency_log"], "inclusion_proof");
        assert_eq!(attrs["checks"]["chain"], "not_checked");
    }

    // A garbage signed entry timestamp fails even beside a good inclusion proof.
    let garbage = edit_entry(&good, |entry| {
        entry["inclusionPromise"]["signedEntryTimestamp"] = STANDARD.encode(b"not a signature").into();
    });
    let (verified, reason) = outcome(&garbage, with_root(root));
    assert!(!verified);
    assert_eq!(reason, "signed entry timestamp does not verify against the log's key");
}

/// A Rekor `intoto` v0.0.2 entry body: the signature base64-encoded once more, as Rekor logs it.
fn intoto_body(payload: &[u8], signature: &str, verifier: &str) -> String {
    json!({
        "apiVersion": "0.0.2",
        "kind": "intoto",
        "spec": {"content": {
            "envelope": {
                "payloadType": "application/vnd.in-toto+json",
                "signatures": [{"sig": STANDARD.encode(signature), "publicKey": STANDARD.encode(verifier)}]
            },
            "hash": {"algorithm": "sha256", "value": "00".repeat(32)},
            "payloadHash": {"algorithm": "sha256", "value": hex::encode(Sha256::digest(payload))}
        }}
    })
    .to_string()
}

#[test]
fn an_intoto_entry_must_log_this_signature_and_certificate() {
    let setup = material();
    let (payload, good) = setup.signed();
    let (ca_key, ca, signer, certificate, log, root) = (
        &setup.ca_key,
        &setup.ca,
        &setup.signer,
        &setup.certificate,
        &setup.log,
        &setup.root,
    );
    let signature = dsse_signature(signer, &payload);
    let pem = certificate.to_pem(der::pem::LineEnding::LF).unwrap();
    let with_intoto = |body: String| {
        edit_entry(&good, |entry| {
            *entry = log.entry(body.as_bytes(), START + 60);
            entry["kindVersion"] = json!({"kind": "intoto", "version": "0.0.2"});
        })
    };
    let (verified, reason) = outcome(&with_intoto(intoto_body(&payload, &signature, &pem)), with_root(root));
    assert!(verified, "{reason}");

    // Another identity logged the same payload: its signature and certificate are not this bundle's.
    let other = key();
    let other_certificate = signing_certificate(ca_key, ca, &other, true);
    let other_pem = other_certificate.to_pem(der::pem::LineEnding::LF).unwrap();
    let borrowed = with_intoto(intoto_body(&payload, &dsse_signature(&other, &payload), &other_pem));
    for verification in [with_root(root), Verification::default()] {
        let (verified, reason) = outcome(&borrowed, verification);
        assert!(!verified);
        assert_eq!(
            reason,
            "signature does not match the transparency log entry: the logged DSSE signature differs from the bundle's"
        );
    }
    // This signature, logged under another certificate.
    let (verified, reason) = outcome(
        &with_intoto(intoto_body(&payload, &signature, &other_pem)),
        with_root(root),
    );
    assert!(!verified);
    assert_eq!(
        reason,
        "signature does not match the transparency log entry: the logged certificate differs from the bundle's"
    );
}

#[test]
fn key_signed_bundles_compare_their_log_entry_and_verify_it_under_a_trust_root() {
    let Material { signer, log, root, .. } = material();
    let payload = serde_json::to_vec(&statement()).unwrap();
    let signature = dsse_signature(&signer, &payload);
    let key_pem = signer
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap();
    let key_bundle = |body: String| {
        json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "publicKey": {"hint": "test-key"},
                "tlogEntries": [log.entry(body.as_bytes(), START + 60)]
            },
            "dsseEnvelope": {
                "payload": STANDARD.encode(&payload),
                "payloadType": "application/vnd.in-toto+json",
                "signatures": [{"sig": signature}]
            }
        })
    };
    let with_key = |root: Option<&TrustRoot>| Verification {
        trust_root: root.cloned(),
        public_key: Some(PublicKey::from_pem(&key_pem).unwrap()),
        ..Verification::default()
    };
    let good = key_bundle(dsse_body(&payload, &signature, &key_pem));
    let (verified, reason) = outcome(&good, with_key(None));
    assert!(verified, "{reason}");
    assert_eq!(reason, "signature verified with the given public key");
    let (verified, reason) = outcome(&good, with_key(Some(&root)));
    assert!(verified, "{reason}");
    assert_eq!(
        reason,
        "signature verified with the given public key and transparency log entry \
         (inclusion proof under a signed checkpoint and signed entry timestamp) verified"
    );

    // An entry for another payload, signature and key: refused with or without a trust root.
    let other = key();
    let other_pem = other
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap();
    let other_payload = b"{\"_type\": \"other\"}";
    let foreign = key_bundle(dsse_body(
        other_payload,
        &dsse_signature(&other, other_payload),
        &other_pem,
    ));
    for root in [None, Some(&root)] {
        let (verified, reason) = outcome(&foreign, with_key(root));
        assert!(!verified);
        assert_eq!(
            reason,
            "signature does not match the transparency log entry: the logged payload hash differs from the payload"
        );
    }
    // This signature logged under another key.
    let (verified, reason) = outcome(&key_bundle(dsse_body(&payload, &signature, &other_pem)), with_key(None));
    assert!(!verified);
    assert!(
        reason.ends_with("the logged public key differs from the given --public-key"),
        "{reason}"
    );
    // With a trust root, the entry itself must verify.
    let broken = edit_entry(&good, |entry| {
        entry["inclusionPromise"]["signedEntryTimestamp"] = STANDARD.encode(b"not a signature").into();
    });
    let (verified, reason) = outcome(&broken, with_key(Some(&root)));
    assert!(!verified);
    assert_eq!(reason, "signed entry timestamp does not verify against the log's key");
    assert!(
        outcome(&broken, with_key(None)).0,
        "without a trust root the entry is not checked"
    );
}

#[test]
fn one_verified_log_entry_among_several_is_enough() {
    let setup = material();
    let (_payload, good) = setup.signed();
    let (_signer, _certificate, log, root) = (&setup.signer, &setup.certificate, &setup.log, &setup.root);
    let body = logged_body(&good);
    let unknown = Log { key: key() };
    let mut two = good.clone();
    two["verificationMaterial"]["tlogEntries"] =
        json!([unknown.entry(&body, START + 60), log.entry(&body, START + 120)]);
    let parsed = run(two.to_string().as_bytes(), with_root(root), &Limits::default());
    let attrs = &parsed.evidence[0].attrs;
    assert_eq!(attrs["verified"], true, "{}", attrs["verification_reason"]);
    // The record names the entry that verified, and its time.
    assert_eq!(attrs["transparency_log"]["integrated_time"], START + 120);

    let mut broken = log.entry(&body, START + 60);
    broken["inclusionPromise"]["signedEntryTimestamp"] = STANDARD.encode(b"x").into();
    two["verificationMaterial"]["tlogEntries"] = json!([unknown.entry(&body, START + 60), broken]);
    let (verified, reason) = outcome(&two, with_root(root));
    assert!(!verified);
    assert_eq!(
        reason,
        "no transparency log entry verified (entry 0: transparency log entry from a log not in the trust root; \
         entry 1: signed entry timestamp does not verify against the log's key)"
    );
}

#[test]
fn every_authority_of_the_trust_root_is_tried() {
    let setup = material();
    let (_payload, good) = setup.signed();
    let (ca, _signer, _certificate, log) = (&setup.ca, &setup.signer, &setup.certificate, &setup.log);
    // The same authority twice: first for a window that ended before the signing time.
    let expired = json!({"start": "2024-01-01T00:00:00Z", "end": "2024-06-01T00:00:00Z"});
    let current = json!({"start": "2024-06-01T00:00:00Z"});
    let root = trust_root_of(&[(vec![&ca], expired.clone()), (vec![&ca], current)], log);
    let (verified, reason) = outcome(&good, with_root(&root));
    assert!(verified, "{reason}");
    let root = trust_root_of(&[(vec![&ca], expired)], log);
    let (verified, reason) = outcome(&good, with_root(&root));
    assert!(!verified);
    assert!(
        reason.starts_with("certificate issued by a trusted authority that was not valid"),
        "{reason}"
    );
}

/// A sub-CA certificate for `key` named `name`, issued by `issuer`.
fn sub_authority(
    issuer_key: &SigningKey,
    issuer: &x509_cert::Certificate,
    key: &SigningKey,
    name: &str,
    path_len: Option<u8>,
) -> x509_cert::Certificate {
    CertificateBuilder::new(
        Profile::SubCA {
            issuer: issuer.tbs_certificate.subject.clone(),
            path_len_constraint: path_len,
        },
        SerialNumber::from(3u32),
        validity(START - 86_400, 86_400 * 30),
        Name::from_str(&format!("CN={name},O=test")).unwrap(),
        spki(key),
        issuer_key,
    )
    .unwrap()
    .build::<DerSignature>()
    .unwrap()
}

#[test]
fn chains_are_refused_where_rfc_5280_path_validation_refuses_them() {
    let setup = material();
    let payload = serde_json::to_vec(&statement()).unwrap();
    let (ca_key, ca, signer, certificate, log, root) = (
        &setup.ca_key,
        &setup.ca,
        &setup.signer,
        &setup.certificate,
        &setup.log,
        &setup.root,
    );
    // The bundle carries the leaf and its intermediates (x509CertificateChain).
    let chained = |leaf: &x509_cert::Certificate, intermediates: &[&x509_cert::Certificate]| {
        let mut chained = bundle(&payload, signer, leaf, log);
        let mut certificates = vec![json!({"rawBytes": STANDARD.encode(leaf.to_der().unwrap())})];
        for intermediate in intermediates {
            certificates.push(json!({"rawBytes": STANDARD.encode(intermediate.to_der().unwrap())}));
        }
        let material = chained["verificationMaterial"].as_object_mut().unwrap();
        material.remove("certificate");
        material.insert("x509CertificateChain".into(), json!({"certificates": certificates}));
        chained
    };
    // An intermediate limited to pathLen 0 that issued a sub-CA, which issued the leaf.
    let (intermediate_key, sub_key) = (key(), key());
    let intermediate = sub_authority(ca_key, ca, &intermediate_key, "intermediate", Some(0));
    let sub = sub_authority(&intermediate_key, &intermediate, &sub_key, "sub", None);
    let leaf = signing_certificate(&sub_key, &sub, signer, true);
    let (verified, reason) = outcome(&chained(&leaf, &[&sub, &intermediate]), with_root(root));
    assert!(!verified);
    assert_eq!(
        reason,
        "path length constraint of certificate authority `CN=intermediate,O=test` exceeded"
    );
    // With pathLen 1 the same shape verifies.
    let intermediate = sub_authority(ca_key, ca, &intermediate_key, "intermediate", Some(1));
    let sub = sub_authority(&intermediate_key, &intermediate, &sub_key, "sub", None);
    let leaf = signing_certificate(&sub_key, &sub, signer, true);
    let (verified, reason) = outcome(&chained(&leaf, &[&sub, &intermediate]), with_root(root));
    assert!(verified, "{reason}");

    // A leaf with an unknown critical extension.
    let unknown = resigned(certificate, ca_key, |tbs| {
        tbs.extensions
            .get_or_insert_with(Vec::new)
            .push(x509_cert::ext::Extension {
                extn_id: der::oid::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1"),
                critical: true,
                extn_value: der::asn1::OctetString::new(vec![0x05, 0x00]).unwrap(),
            });
    });
    let (verified, reason) = outcome(&bundle(&payload, signer, &unknown, log), with_root(root));
    assert!(!verified);
    assert_eq!(
        reason,
        "the signing certificate (no subject) has an unhandled critical extension 1.3.6.1.4.1.99999.1"
    );

    // An intermediate that is a CA but whose key usage lacks keyCertSign.
    let intermediate = sub_authority(ca_key, ca, &intermediate_key, "intermediate", None);
    let no_cert_sign = resigned(&intermediate, ca_key, |tbs| {
        for extension in tbs.extensions.iter_mut().flatten() {
            if extension.extn_id.to_string() == "2.5.29.15" {
                let usage = x509_cert::ext::pkix::KeyUsage(x509_cert::ext::pkix::KeyUsages::DigitalSignature.into());
                extension.extn_value = der::asn1::OctetString::new(usage.to_der().unwrap()).unwrap();
            }
        }
    });
    let leaf = signing_certificate(&intermediate_key, &no_cert_sign, signer, true);
    let (verified, reason) = outcome(&chained(&leaf, &[&no_cert_sign]), with_root(root));
    assert!(!verified);
    assert_eq!(
        reason,
        "certificate authority `CN=intermediate,O=test` may not sign certificates (its key usage lacks keyCertSign)"
    );
    // The same intermediate with its usual key usage verifies.
    let leaf = signing_certificate(&intermediate_key, &intermediate, signer, true);
    let (verified, reason) = outcome(&chained(&leaf, &[&intermediate]), with_root(root));
    assert!(verified, "{reason}");
}

#[test]
fn a_message_digest_must_fit_its_algorithm_and_the_logged_one() {
    let Material {
        signer,
        certificate,
        log,
        root,
        ..
    } = material();
    let artefact = b"release tarball bytes";
    let digest = Sha256::digest(artefact);
    let signature: DerSignature = signer.sign(artefact);
    let signature = STANDARD.encode(signature.as_bytes());
    let pem = certificate.to_pem(der::pem::LineEnding::LF).unwrap();
    let message_bundle = |stated: &str, logged: &str| {
        let body = json!({
            "apiVersion": "0.0.1",
            "kind": "hashedrekord",
            "spec": {
                "data": {"hash": {"algorithm": logged, "value": hex::encode(digest)}},
                "signature": {"content": signature, "publicKey": {"content": STANDARD.encode(&pem)}}
            }
        })
        .to_string();
        json!({
            "mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
            "verificationMaterial": {
                "certificate": {"rawBytes": STANDARD.encode(certificate.to_der().unwrap())},
                "tlogEntries": [log.entry(body.as_bytes(), START + 30)]
            },
            "messageSignature": {
                "messageDigest": {"algorithm": stated, "digest": STANDARD.encode(digest)},
                "signature": signature
            }
        })
    };
    let (verified, reason) = outcome(&message_bundle("SHA2_256", "sha256"), with_root(&root));
    assert!(verified, "{reason}");
    // A 32-byte digest labelled SHA-512: no record with a digest that cannot exist.
    let parsed = run(
        message_bundle("SHA2_512", "sha256").to_string().as_bytes(),
        with_root(&root),
        &Limits::default(),
    );
    assert!(parsed.evidence.is_empty());
    assert_eq!(
        parsed.diagnostics[0].message,
        "messageDigest is 32 bytes, not a SHA2_512 digest (64 bytes); skipped"
    );
    // The log names another algorithm than the bundle.
    let (verified, reason) = outcome(&message_bundle("SHA2_256", "sha512"), Verification::default());
    assert!(!verified);
    assert_eq!(
        reason,
        "signature does not match the transparency log entry: the logged digest algorithm `sha512` differs from the bundle's `sha256`"
    );
}

#[test]
fn a_dsse_envelope_verifies_when_any_of_its_signatures_does() {
    let (trusted, unknown) = (key(), key());
    let payload = serde_json::to_vec(&statement()).unwrap();
    let envelope = |signers: &[&SigningKey]| {
        let signatures: Vec<Value> = signers
            .iter()
            .map(|signer| json!({"keyid": "", "sig": dsse_signature(signer, &payload)}))
            .collect();
        json!({
            "payloadType": "application/vnd.in-toto+json",
            "payload": STANDARD.encode(&payload),
            "signatures": signatures
        })
    };
    let pem = trusted
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap();
    let with_key = || Verification {
        public_key: Some(PublicKey::from_pem(&pem).unwrap()),
        ..Verification::default()
    };
    for order in [[&trusted, &unknown], [&unknown, &trusted]] {
        let (verified, reason) = outcome(&envelope(&order), with_key());
        assert!(verified, "{reason}");
    }
    let (verified, reason) = outcome(&envelope(&[&unknown, &unknown]), with_key());
    assert!(!verified);
    assert_eq!(
        reason,
        "none of the 2 signatures checked (of 2) verified; the first: \
         signature does not match payload under the given public key"
    );
}

/// RSA: a key-signed envelope verifies with PKCS #1 v1.5 and with PSS
/// signatures, a changed payload does not, a 1024-bit key is refused; a chain
/// whose authority is an RSA key verifies with either padding, and one from
/// another RSA authority does not. The keys and certificates are in
/// `tests/samples/rsa/` (see its README).
#[test]
fn rsa_keys_and_authorities_verify() {
    use der::DecodePem as _;
    use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey as _};
    let sample = |name: &str| std::fs::read_to_string(format!("tests/samples/rsa/{name}")).unwrap();
    let signer = rsa::RsaPrivateKey::from_pkcs8_pem(&sample("signer.pem")).unwrap();
    let public = signer
        .to_public_key()
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .unwrap();
    let payload = serde_json::to_vec(&statement()).unwrap();
    let payload_type = "application/vnd.in-toto+json";
    let digest = Sha256::digest(pae(payload_type, &payload));
    let pkcs1 = signer.sign(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest).unwrap();
    let pss = signer
        .sign_with_rng(&mut rand_core::OsRng, rsa::Pss::new::<Sha256>(), &digest)
        .unwrap();
    let envelope = |payload: &[u8], signature: &[u8]| {
        json!({
            "payloadType": payload_type,
            "payload": STANDARD.encode(payload),
            "signatures": [{"keyid": "", "sig": STANDARD.encode(signature)}]
        })
    };
    let with_key = || Verification {
        public_key: Some(PublicKey::from_pem(&public).unwrap()),
        ..Verification::default()
    };
    for signature in [&pkcs1, &pss] {
        let (verified, reason) = outcome(&envelope(&payload, signature), with_key());
        assert!(verified, "{reason}");
    }
    let mut changed = payload.clone();
    changed[10] ^= 1;
    let (verified, reason) = outcome(&envelope(&changed, &pkcs1), with_key());
    assert!(!verified);
    assert_eq!(reason, "signature does not match payload under the given public key");
    let weak = PublicKey::from_pem(&sample("weak.pub.pem")).unwrap_err().to_string();
    assert!(weak.contains("1024 bits is too weak"), "{weak}");

    let certificate = |name: &str| x509_cert::Certificate::from_pem(sample(name).as_bytes()).unwrap();
    let root = certificate("root.pem");
    let log = Log { key: key() };
    let trust = trust_root(&root, &log);
    let signed_at = jiff::Timestamp::from_second(START as i64 + 300).unwrap();
    for leaf in ["leaf_pkcs1.pem", "leaf_pss.pem"] {
        trust
            .chain(&certificate(leaf), &[], signed_at)
            .unwrap_or_else(|error| panic!("{leaf}: {error}"));
    }
    let error = trust.chain(&certificate("leaf_other.pem"), &[], signed_at).unwrap_err();
    assert!(error.contains("trusted"), "{error}");
    // The padding is the one the certificate's signature algorithm names: a
    // PKCS #1 v1.5 signature labelled RSASSA-PSS, or a PSS one labelled
    // sha256WithRSAEncryption, does not verify.
    let (pkcs1_leaf, pss_leaf) = (certificate("leaf_pkcs1.pem"), certificate("leaf_pss.pem"));
    for (leaf, algorithm) in [
        (&pkcs1_leaf, &pss_leaf.signature_algorithm),
        (&pss_leaf, &pkcs1_leaf.signature_algorithm),
    ] {
        let mut relabelled = leaf.clone();
        relabelled.signature_algorithm = algorithm.clone();
        let error = trust.chain(&relabelled, &[], signed_at).unwrap_err();
        assert!(error.contains("trusted"), "{error}");
    }
}
