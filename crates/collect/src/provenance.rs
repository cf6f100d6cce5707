//! Provenance collector: in-toto Statements (v0.1, v1) with SLSA provenance
//! (v0.2, v1) predicates, bare or in DSSE envelopes (one per line in
//! `.intoto.jsonl`), Sigstore bundles (v0.1, v0.2, v0.3; DSSE or message
//! signature) and GitHub attestation API responses, into `provenance` records
//! with the subjects, the build facts and a verification result.
//!
//! Verification is offline (see `sigstore.rs`): the DSSE signature over the
//! pre-authentication encoding with the key of the bundle's certificate, the
//! envelope's certificate or `--public-key`; with `--trust-root`, the
//! certificate's chain to a Fulcio root, its validity at the time the
//! transparency log recorded the entry, and the entry itself (inclusion proof
//! under a signed checkpoint, or signed entry timestamp). `verified` is true
//! only when the strongest check the input calls for passed; every other
//! outcome says why not. Attribute keys are listed in `docs/sources.md`.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use jiff::Timestamp;
use model::{EvidenceKind, NewEvidence, Subject};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::sigstore::{self, PublicKey, TrustRoot};
use crate::{Context, Limits, Parsed, json_depth_exceeds, text_at};

/// The collector id recorded in every record's source.
pub const COLLECTOR: &str = "provenance";

/// Longest text kept from any string copied into attributes (characters).
const MAX_TEXT_CHARS: usize = 1024;

/// Most subjects listed per record (the count is always complete).
const MAX_SUBJECTS: usize = 1000;

/// What the operator gives for verification (`--trust-root`,
/// `--public-key`, `--trusted-builder` and the config's trusted builders).
#[derive(Debug, Clone, Default)]
pub struct Verification {
    /// A Sigstore trust root: Fulcio authorities and transparency log keys.
    pub trust_root: Option<TrustRoot>,
    /// A key that signatures may be checked against instead of a certificate.
    pub public_key: Option<PublicKey>,
    /// Builder ids the organisation trusts (exact, or up to an `@` version).
    pub trusted_builders: Vec<String>,
}

/// The verification settings of a context (none given: the defaults).
fn settings(context: &Context) -> Arc<Verification> {
    context.provenance.clone().unwrap_or_default()
}

/// Parse provenance (one JSON document or JSON lines) into `provenance` records.
///
/// Never panics; every problem becomes a diagnostic naming its line or pointer.
pub fn parse(bytes: &[u8], context: &Context, limits: &Limits) -> Parsed {
    let mut parsed = Parsed::default();
    let Some(text) = crate::utf8_text(bytes, context, &mut parsed.diagnostics) else {
        return parsed;
    };
    let verification = settings(context);
    for (line, document) in crate::json_documents(text, context, limits, &mut parsed.diagnostics) {
        let mut items = Vec::new();
        // A GitHub attestations API response: {"attestations": [{"bundle": ...}]}.
        if let Some(list) = document.get("attestations").and_then(Value::as_array) {
            for (index, item) in list.iter().enumerate() {
                match item.get("bundle") {
                    Some(bundle) => items.push((format!("/attestations/{index}/bundle"), bundle, true)),
                    None => parsed.diagnostics.push(context.diagnostic(
                        Some(line),
                        Some(format!("/attestations/{index}")),
                        "attestation without a `bundle`; skipped",
                    )),
                }
            }
        } else if let Some(list) = document.as_array() {
            for (index, item) in list.iter().enumerate() {
                items.push((format!("/{index}"), item, false));
            }
        } else {
            items.push((String::new(), &document, false));
        }
        for (pointer, item, from_github) in items {
            match read_item(item, from_github, limits, &verification) {
                Ok(read) => {
                    let mut record = to_record(read, context);
                    record.source.line = Some(line);
                    record.source.pointer = (!pointer.is_empty()).then_some(pointer);
                    parsed.evidence.push(record);
                }
                Err(message) => {
                    let pointer = (!pointer.is_empty()).then_some(pointer);
                    parsed
                        .diagnostics
                        .push(context.diagnostic(Some(line), pointer, message));
                }
            }
        }
    }
    parsed
}

/// Whether a file looks like provenance: by name (`.intoto.jsonl`,
/// `.sigstore.json`, `.sigstore`, `.dsse.json`) or by the first 4 KiB (with
/// whitespace removed): a Sigstore bundle media type, an in-toto payload type
/// or statement type, or a DSSE payload that starts with `{"_type"`.
pub fn detect(lower_path: &str, compact_head: &str) -> bool {
    [
        ".intoto.jsonl",
        ".intoto.json",
        ".sigstore.json",
        ".sigstore",
        ".dsse.json",
    ]
    .iter()
    .any(|suffix| lower_path.ends_with(suffix))
        || compact_head.contains("\"mediaType\":\"application/vnd.dev.sigstore.bundle")
        || compact_head.contains("\"payloadType\":\"application/vnd.in-toto+json\"")
        || compact_head.contains("\"_type\":\"https://in-toto.io/Statement/")
        || compact_head.contains("\"payload\":\"eyJfdHlwZSI")
}

// ---------------------------------------------------------------------------
// Reading one item
// ---------------------------------------------------------------------------

/// What one item (bundle, envelope or statement) says, before it is a record.
struct Read {
    format: &'static str,
    media_type: Option<String>,
    statement: Option<Value>,
    payload_type: Option<String>,
    message_digest: Option<(String, String)>,
    outcome: Outcome,
    certificate: Option<sigstore::CertificateFacts>,
    key_source: Option<&'static str>,
    key_type: Option<&'static str>,
    log: Option<Value>,
}

/// The verification result.
#[derive(Debug, Clone)]
struct Outcome {
    verified: bool,
    reason: String,
    checks: Map<String, Value>,
}

impl Outcome {
    fn failed(reason: impl Into<String>, checks: Map<String, Value>) -> Outcome {
        Outcome {
            verified: false,
            reason: reason.into(),
            checks,
        }
    }
}

fn bounded(text: &str) -> String {
    crate::cut_text(text, MAX_TEXT_CHARS)
}

/// Decode standard or URL-safe base64 (DSSE allows both).
fn base64_decode(text: &str, what: &str) -> Result<Vec<u8>, String> {
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text.trim_end_matches('=')))
        .map_err(|error| format!("{what} is not base64: {error}"))
}

fn read_item(item: &Value, from_github: bool, limits: &Limits, verification: &Verification) -> Result<Read, String> {
    let object = item
        .as_object()
        .ok_or_else(|| format!("not provenance: {}, expected an object", crate::trivy::type_name(item)))?;
    if let Some(media_type) = object.get("mediaType").and_then(Value::as_str)
        && media_type.starts_with("application/vnd.dev.sigstore.bundle")
    {
        return read_bundle(item, media_type, from_github, limits, verification);
    }
    if object.contains_key("payload") && object.contains_key("signatures") {
        return read_envelope(item, None, limits, verification, &BundleMaterial::default());
    }
    if object.get("_type").and_then(Value::as_str).is_some() || object.contains_key("predicateType") {
        let mut checks = Map::new();
        checks.insert("signature".into(), "absent".into());
        return Ok(Read {
            format: "in-toto-statement",
            media_type: None,
            statement: Some(item.clone()),
            payload_type: None,
            message_digest: None,
            outcome: Outcome::failed("not signed: a bare in-toto statement carries no signature", checks),
            certificate: None,
            key_source: None,
            key_type: None,
            log: None,
        });
    }
    Err("not provenance: neither a Sigstore bundle, a DSSE envelope nor an in-toto statement; skipped".into())
}

/// The verification material of a bundle, read.
#[derive(Default)]
struct BundleMaterial {
    leaf: Option<Result<x509_cert::Certificate, String>>,
    intermediates: Vec<x509_cert::Certificate>,
    has_public_key_hint: bool,
    log_entries: Vec<Value>,
    has_timestamps: bool,
}

fn read_material(bundle: &Value) -> Result<BundleMaterial, String> {
    let material = bundle
        .get("verificationMaterial")
        .ok_or("Sigstore bundle without verificationMaterial")?;
    let mut read = BundleMaterial::default();
    let raw_certificates: Vec<&Value> = if let Some(single) = material.pointer("/certificate/rawBytes") {
        vec![single]
    } else {
        material
            .pointer("/x509CertificateChain/certificates")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(|entry| entry.get("rawBytes")).collect())
            .unwrap_or_default()
    };
    for (index, raw) in raw_certificates.iter().enumerate() {
        let certificate = raw
            .as_str()
            .ok_or_else(|| "certificate rawBytes is not a string".to_string())
            .and_then(|text| base64_decode(text, "certificate rawBytes"))
            .and_then(|der| sigstore::parse_certificate(&der));
        if index == 0 {
            read.leaf = Some(certificate);
        } else if let Ok(certificate) = certificate {
            read.intermediates.push(certificate);
        }
    }
    read.has_public_key_hint = material.get("publicKey").is_some();
    read.log_entries = material
        .get("tlogEntries")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    read.has_timestamps = material
        .pointer("/timestampVerificationData/rfc3161Timestamps")
        .and_then(Value::as_array)
        .is_some_and(|list| !list.is_empty());
    Ok(read)
}

fn read_bundle(
    bundle: &Value,
    media_type: &str,
    from_github: bool,
    limits: &Limits,
    verification: &Verification,
) -> Result<Read, String> {
    let material = read_material(bundle)?;
    let mut read = if let Some(envelope) = bundle.get("dsseEnvelope") {
        read_envelope(envelope, Some(bundle), limits, verification, &material)?
    } else if let Some(signature) = bundle.get("messageSignature") {
        read_message_signature(signature, verification, &material)?
    } else {
        return Err("Sigstore bundle with neither dsseEnvelope nor messageSignature; skipped".into());
    };
    read.format = if from_github {
        "github-attestation"
    } else {
        "sigstore-bundle"
    };
    read.media_type = Some(bounded(media_type));
    Ok(read)
}

/// A hashedrekord-style bundle: a signature over an artefact digest.
fn read_message_signature(
    signature: &Value,
    verification: &Verification,
    material: &BundleMaterial,
) -> Result<Read, String> {
    let algorithm = text_at(signature, "/messageDigest/algorithm").unwrap_or_default();
    let digest_text = text_at(signature, "/messageDigest/digest").ok_or("messageSignature without messageDigest")?;
    let digest = base64_decode(&digest_text, "messageDigest")?;
    let signature_text = text_at(signature, "/signature").ok_or("messageSignature without signature")?;
    let check = |key: &PublicKey, signature: &[u8]| key.verify_digest(&digest, signature);
    let (outcome, facts, key_source, key_type, log) = verify(
        &signature_text,
        check,
        &Signed::Digest(&digest, &signature_text),
        verification,
        material,
    );
    let algorithm = match algorithm.as_str() {
        "SHA2_256" => "sha256",
        "SHA2_384" => "sha384",
        "SHA2_512" => "sha512",
        _ => "unknown",
    };
    Ok(Read {
        format: "sigstore-bundle",
        media_type: None,
        statement: None,
        payload_type: None,
        message_digest: Some((algorithm.to_string(), hex::encode(&digest))),
        outcome,
        certificate: facts,
        key_source,
        key_type,
        log,
    })
}

fn read_envelope(
    envelope: &Value,
    bundle: Option<&Value>,
    limits: &Limits,
    verification: &Verification,
    material: &BundleMaterial,
) -> Result<Read, String> {
    let payload_text = envelope
        .get("payload")
        .and_then(Value::as_str)
        .ok_or("DSSE envelope without a string payload; skipped")?;
    let payload = base64_decode(payload_text, "DSSE payload").map_err(|error| format!("{error}; skipped"))?;
    let payload_type = envelope.get("payloadType").and_then(Value::as_str).unwrap_or_default();
    let statement = if payload_type == "application/vnd.in-toto+json" || payload_type.is_empty() {
        if json_depth_exceeds(&payload, limits.max_depth).is_some() {
            return Err(format!(
                "DSSE payload nested deeper than {} levels; skipped",
                limits.max_depth
            ));
        }
        Some(
            serde_json::from_slice::<Value>(&payload)
                .map_err(|error| format!("DSSE payload is not JSON: {error}; skipped"))?,
        )
    } else {
        None
    };
    let signatures = envelope
        .get("signatures")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let message = sigstore::pae(payload_type, &payload);
    let mut own_material = BundleMaterial::default();
    let material = if bundle.is_none() {
        // A bare envelope may carry a PEM certificate per signature (slsa-github-generator).
        if let Some(pem) = signatures
            .first()
            .and_then(|signature| signature.get("cert"))
            .and_then(Value::as_str)
            && !pem.is_empty()
        {
            own_material.leaf = Some(
                sigstore::pem_body(pem, "CERTIFICATE")
                    .map_err(|error| format!("certificate does not parse: {error}"))
                    .and_then(|der| sigstore::parse_certificate(&der)),
            );
        }
        &own_material
    } else {
        material
    };
    let (outcome, facts, key_source, key_type, log) = match signatures.first() {
        None => {
            let mut checks = Map::new();
            checks.insert("signature".into(), "absent".into());
            (
                Outcome::failed("not signed: the DSSE envelope has no signatures", checks),
                None,
                None,
                None,
                None,
            )
        }
        Some(signature) => {
            let signature_text = signature
                .get("sig")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let check = |key: &PublicKey, signature: &[u8]| key.verify(&message, signature);
            verify(
                &signature_text,
                check,
                &Signed::Envelope(&payload, &signature_text),
                verification,
                material,
            )
        }
    };
    Ok(Read {
        format: "dsse",
        media_type: None,
        statement,
        payload_type: Some(bounded(payload_type)),
        message_digest: None,
        outcome,
        certificate: facts,
        key_source,
        key_type,
        log,
    })
}

/// What a transparency log entry body must match.
enum Signed<'a> {
    /// A DSSE envelope: its payload and signature (base64).
    Envelope(&'a [u8], &'a str),
    /// A message signature: the digest and signature (base64).
    Digest(&'a [u8], &'a str),
}

type Verified = (
    Outcome,
    Option<sigstore::CertificateFacts>,
    Option<&'static str>,
    Option<&'static str>,
    Option<Value>,
);

/// Verify one signature: with the certificate (and, given a trust root, its
/// chain and the transparency log), or with the operator's public key.
fn verify(
    signature_text: &str,
    check: impl Fn(&PublicKey, &[u8]) -> bool,
    signed: &Signed<'_>,
    verification: &Verification,
    material: &BundleMaterial,
) -> Verified {
    let mut checks = Map::new();
    let log_summary = material.log_entries.first().map(log_summary);
    let signature = match base64_decode(signature_text, "signature") {
        Ok(signature) if !signature.is_empty() => signature,
        Ok(_) => {
            checks.insert("signature".into(), "absent".into());
            return (
                Outcome::failed("not signed: the signature is empty", checks),
                None,
                None,
                None,
                log_summary,
            );
        }
        Err(error) => {
            checks.insert("signature".into(), "failed".into());
            return (Outcome::failed(error, checks), None, None, None, log_summary);
        }
    };
    let leaf = match &material.leaf {
        Some(Ok(certificate)) => Some(certificate),
        Some(Err(error)) => {
            checks.insert("certificate".into(), "failed".into());
            return (Outcome::failed(error.clone(), checks), None, None, None, log_summary);
        }
        None => None,
    };
    let Some(leaf) = leaf else {
        // Key-based: only the operator's key can verify.
        let Some(key) = &verification.public_key else {
            checks.insert("signature".into(), "not_checked".into());
            let reason = if material.has_public_key_hint {
                "signed with a key (publicKey hint) and no --public-key given: signature not checked"
            } else {
                "no certificate and no --public-key given: signature not checked"
            };
            return (Outcome::failed(reason, checks), None, None, None, log_summary);
        };
        if !check(key, &signature) {
            checks.insert("signature".into(), "failed".into());
            return (
                Outcome::failed("signature does not match payload under the given public key", checks),
                None,
                Some("public-key"),
                Some(key.kind()),
                log_summary,
            );
        }
        checks.insert("signature".into(), "ok".into());
        if !material.log_entries.is_empty() {
            checks.insert("transparency_log".into(), "not_checked".into());
        }
        return (
            Outcome {
                verified: true,
                reason: "signature verified with the given public key".into(),
                checks,
            },
            None,
            Some("public-key"),
            Some(key.kind()),
            log_summary,
        );
    };
    let facts = sigstore::certificate_facts(leaf);
    let key = match sigstore::certificate_key(leaf) {
        Ok(key) => key,
        Err(error) => {
            checks.insert("certificate".into(), "failed".into());
            return (
                Outcome::failed(format!("certificate key unusable: {error}"), checks),
                Some(facts),
                Some("certificate"),
                None,
                log_summary,
            );
        }
    };
    let key_type = Some(key.kind());
    if !check(&key, &signature) {
        checks.insert("signature".into(), "failed".into());
        return (
            Outcome::failed("signature does not match payload under the certificate's key", checks),
            Some(facts),
            Some("certificate"),
            key_type,
            log_summary,
        );
    }
    checks.insert("signature".into(), "ok".into());
    // The bundle's own log entry must be about this signature, trust root or
    // not: comparing the two needs no trust.
    let logged_body = match material.log_entries.first() {
        None => None,
        Some(entry) => {
            let body = entry
                .get("canonicalizedBody")
                .and_then(Value::as_str)
                .ok_or_else(|| "transparency log entry without canonicalizedBody".to_string())
                .and_then(|text| base64_decode(text, "canonicalizedBody"))
                .and_then(|body| body_matches(&body, signed, leaf).map(|()| body));
            match body {
                Ok(body) => Some((entry, body)),
                Err(error) => {
                    checks.insert("transparency_log".into(), "mismatch".into());
                    return (
                        Outcome::failed(
                            format!("signature does not match the transparency log entry: {error}"),
                            checks,
                        ),
                        Some(facts),
                        Some("certificate"),
                        key_type,
                        log_summary,
                    );
                }
            }
        }
    };
    let Some(root) = &verification.trust_root else {
        checks.insert("chain".into(), "not_checked".into());
        checks.insert("transparency_log".into(), "not_checked".into());
        return (
            Outcome::failed(
                "no trust root given: signature checked against the embedded certificate only; chain not verified",
                checks,
            ),
            Some(facts),
            Some("certificate"),
            key_type,
            log_summary,
        );
    };
    // With a trust root: the log entry gives the signing time, the chain must
    // hold at that time.
    let Some((entry, body)) = logged_body else {
        checks.insert("transparency_log".into(), "absent".into());
        let reason = if material.has_timestamps {
            "no transparency log entry; signed timestamps (RFC 3161) are not checked by this tool: \
             the certificate's validity at signing time is not established"
        } else {
            "no transparency log entry: the certificate's validity at signing time cannot be established"
        };
        return (
            Outcome::failed(reason, checks),
            Some(facts),
            Some("certificate"),
            key_type,
            log_summary,
        );
    };
    let logged = match sigstore::check_log_entry(root, entry, &body) {
        Ok(logged) => logged,
        Err(error) => {
            checks.insert("transparency_log".into(), "failed".into());
            return (
                Outcome::failed(error, checks),
                Some(facts),
                Some("certificate"),
                key_type,
                log_summary,
            );
        }
    };
    checks.insert("transparency_log".into(), logged.method.into());
    if let Err(error) = root.chain(leaf, &material.intermediates, logged.integrated_time) {
        checks.insert("chain".into(), "failed".into());
        return (
            Outcome::failed(error, checks),
            Some(facts),
            Some("certificate"),
            key_type,
            log_summary,
        );
    }
    checks.insert("chain".into(), "ok".into());
    let method = if logged.method == "inclusion_proof" {
        "inclusion proof under a signed checkpoint"
    } else {
        "signed entry timestamp"
    };
    (
        Outcome {
            verified: true,
            reason: format!(
                "signature, certificate chain to a trusted root, certificate validity at the logged time \
                 {} and transparency log entry ({method}) verified",
                logged.integrated_time
            ),
            checks,
        },
        Some(facts),
        Some("certificate"),
        key_type,
        log_summary,
    )
}

/// The transparency log entry as recorded (not a verification result).
fn log_summary(entry: &Value) -> Value {
    let mut summary = Map::new();
    let number = |pointer: &str| match entry.pointer(pointer) {
        Some(Value::String(text)) => text.parse::<u64>().ok().map(Value::from),
        Some(Value::Number(number)) => Some(Value::Number(number.clone())),
        _ => None,
    };
    if let Some(index) = number("/logIndex") {
        summary.insert("log_index".into(), index);
    }
    if let Some(time) = number("/integratedTime") {
        summary.insert("integrated_time".into(), time);
    }
    if let Some(id) = text_at(entry, "/logId/keyId") {
        summary.insert("log_id".into(), id.into());
    }
    if let Some(kind) = text_at(entry, "/kindVersion/kind") {
        summary.insert("kind".into(), kind.into());
    }
    summary.insert("inclusion_proof".into(), entry.get("inclusionProof").is_some().into());
    summary.insert(
        "signed_entry_timestamp".into(),
        entry.pointer("/inclusionPromise/signedEntryTimestamp").is_some().into(),
    );
    Value::Object(summary)
}

/// Whether a log entry body (dsse, intoto or hashedrekord) is about this
/// payload or digest, signature and certificate.
fn body_matches(body: &[u8], signed: &Signed<'_>, leaf: &x509_cert::Certificate) -> Result<(), String> {
    let body: Value = serde_json::from_slice(body).map_err(|error| format!("body is not JSON: {error}"))?;
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default();
    let leaf_der = der::Encode::to_der(leaf).map_err(|error| error.to_string())?;
    let certificate_matches = |verifier: &str| {
        base64_decode(verifier, "verifier")
            .ok()
            .and_then(|pem| String::from_utf8(pem).ok())
            .and_then(|pem| sigstore::pem_body(&pem, "CERTIFICATE").ok())
            .is_some_and(|der| der == leaf_der)
    };
    match (kind, signed) {
        ("dsse", Signed::Envelope(payload, signature)) => {
            let payload_hash = hex::encode(Sha256::digest(payload));
            if text_at(&body, "/spec/payloadHash/value").as_deref() != Some(payload_hash.as_str()) {
                return Err("the logged payload hash differs from the payload".into());
            }
            let signed = body
                .pointer("/spec/signatures")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|entry| {
                    entry.get("signature").and_then(Value::as_str) == Some(*signature)
                        && entry
                            .get("verifier")
                            .and_then(Value::as_str)
                            .is_some_and(certificate_matches)
                });
            if !signed {
                let logged_signature = body
                    .pointer("/spec/signatures")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .any(|entry| entry.get("signature").and_then(Value::as_str) == Some(*signature));
                return Err(if logged_signature {
                    "the logged certificate differs from the bundle's".into()
                } else {
                    "the logged DSSE signature differs from the bundle's".into()
                });
            }
            Ok(())
        }
        ("intoto", Signed::Envelope(payload, _)) => {
            let payload_hash = hex::encode(Sha256::digest(payload));
            if text_at(&body, "/spec/content/payloadHash/value").as_deref() != Some(payload_hash.as_str()) {
                return Err("the logged payload hash differs from the payload".into());
            }
            Ok(())
        }
        ("hashedrekord", Signed::Digest(digest, signature)) => {
            if text_at(&body, "/spec/data/hash/value").as_deref() != Some(hex::encode(digest).as_str()) {
                return Err("the logged digest differs from the bundle's".into());
            }
            if text_at(&body, "/spec/signature/content").as_deref() != Some(*signature) {
                return Err("the logged signature differs from the bundle's".into());
            }
            if !text_at(&body, "/spec/signature/publicKey/content").is_some_and(|text| certificate_matches(&text)) {
                return Err("the logged certificate differs from the bundle's".into());
            }
            Ok(())
        }
        (kind, _) => Err(format!("entry kind `{}` does not fit this bundle", bounded(kind))),
    }
}

// ---------------------------------------------------------------------------
// The record
// ---------------------------------------------------------------------------

/// Build facts read from an in-toto statement with a SLSA predicate.
#[derive(Default)]
struct Build {
    builder_id: Option<String>,
    build_type: Option<String>,
    source_repo: Option<String>,
    source_ref: Option<String>,
    source_digest: Option<String>,
    trigger: Option<String>,
    entry_point: Option<String>,
    invocation_id: Option<String>,
    started: Option<Timestamp>,
    finished: Option<Timestamp>,
}

fn time_at(value: &Value, pointer: &str) -> Option<Timestamp> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .and_then(|text| model::time::parse_time(text).ok())
}

/// A `git+https://host/repo@ref` URI split into repository and ref.
fn split_source(uri: &str) -> (String, Option<String>) {
    let uri = uri.strip_prefix("git+").unwrap_or(uri);
    match uri.rsplit_once('@') {
        Some((repo, reference)) if !repo.ends_with(':') && reference.starts_with("refs/") => {
            (repo.to_string(), Some(reference.to_string()))
        }
        _ => (uri.to_string(), None),
    }
}

fn read_build(statement: &Value) -> Build {
    let predicate_type = text_at(statement, "/predicateType").unwrap_or_default();
    let mut build = Build::default();
    if predicate_type.starts_with("https://slsa.dev/provenance/v1") {
        build.builder_id = text_at(statement, "/predicate/runDetails/builder/id");
        build.build_type = text_at(statement, "/predicate/buildDefinition/buildType");
        build.invocation_id = text_at(statement, "/predicate/runDetails/metadata/invocationId");
        build.started = time_at(statement, "/predicate/runDetails/metadata/startedOn");
        build.finished = time_at(statement, "/predicate/runDetails/metadata/finishedOn");
        let external = statement.pointer("/predicate/buildDefinition/externalParameters");
        let internal = statement.pointer("/predicate/buildDefinition/internalParameters");
        if let Some(workflow) = external.and_then(|external| external.get("workflow")) {
            // GitHub Actions build type.
            build.source_repo = text_at(workflow, "/repository");
            build.source_ref = text_at(workflow, "/ref");
            build.entry_point = text_at(workflow, "/path");
        } else if let Some(uri) = external.and_then(|external| text_at(external, "/source/uri")) {
            // slsa-github-generator's container-based build type.
            let (repo, reference) = split_source(&uri);
            build.source_repo = Some(repo);
            build.source_ref = reference;
            build.source_digest = external.and_then(|external| {
                text_at(external, "/source/digest/sha1").or_else(|| text_at(external, "/source/digest/gitCommit"))
            });
            build.entry_point = external.and_then(|external| text_at(external, "/configPath"));
        }
        build.trigger = internal.and_then(|internal| {
            text_at(internal, "/github/event_name").or_else(|| text_at(internal, "/GITHUB_EVENT_NAME"))
        });
        if build.source_digest.is_none() {
            build.source_digest = statement
                .pointer("/predicate/buildDefinition/resolvedDependencies")
                .and_then(Value::as_array)
                .and_then(|list| list.first())
                .and_then(|first| text_at(first, "/digest/gitCommit").or_else(|| text_at(first, "/digest/sha1")));
        }
    } else if predicate_type.starts_with("https://slsa.dev/provenance/v0.") {
        build.builder_id = text_at(statement, "/predicate/builder/id");
        build.build_type = text_at(statement, "/predicate/buildType");
        build.invocation_id = text_at(statement, "/predicate/metadata/buildInvocationId");
        build.started = time_at(statement, "/predicate/metadata/buildStartedOn");
        build.finished = time_at(statement, "/predicate/metadata/buildFinishedOn");
        if let Some(uri) = text_at(statement, "/predicate/invocation/configSource/uri") {
            let (repo, reference) = split_source(&uri);
            build.source_repo = Some(repo);
            build.source_ref = reference;
        }
        build.source_digest = text_at(statement, "/predicate/invocation/configSource/digest/sha1");
        build.entry_point = text_at(statement, "/predicate/invocation/configSource/entryPoint");
        build.trigger = text_at(statement, "/predicate/invocation/environment/github_event_name");
    }
    build
}

/// Whether `builder` is one of `trusted` (exactly, or up to its `@` version).
fn builder_is_trusted(builder: &str, trusted: &[String]) -> bool {
    trusted.iter().any(|id| {
        builder == id
            || builder
                .strip_prefix(id.as_str())
                .is_some_and(|rest| rest.starts_with('@'))
    })
}

fn to_record(read: Read, context: &Context) -> NewEvidence {
    let verification = settings(context);
    let mut attrs = Map::new();
    attrs.insert("format".into(), read.format.into());
    if let Some(media_type) = read.media_type {
        attrs.insert("bundle_media_type".into(), media_type.into());
    }
    if let Some(payload_type) = read.payload_type {
        attrs.insert("payload_type".into(), payload_type.into());
    }
    let statement = read.statement.unwrap_or(Value::Null);
    let mut subjects = Vec::new();
    let mut subject_count = 0usize;
    for subject in statement.get("subject").and_then(Value::as_array).into_iter().flatten() {
        subject_count += 1;
        if subjects.len() < MAX_SUBJECTS {
            let digest: Map<String, Value> = subject
                .get("digest")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(algorithm, value)| {
                    value.as_str().map(|value| (bounded(algorithm), bounded(value).into()))
                })
                .collect();
            subjects.push(json!({"name": text_at(subject, "/name"), "digest": digest}));
        }
    }
    if let Some((algorithm, digest)) = &read.message_digest {
        subject_count += 1;
        subjects.push(json!({"name": null, "digest": {algorithm: digest}}));
    }
    let first_digest = subjects.first().and_then(|subject| {
        let digest = subject.get("digest")?.as_object()?;
        ["sha256", "sha512", "sha384"].iter().find_map(|algorithm| {
            digest
                .get(*algorithm)
                .and_then(Value::as_str)
                .map(|hex| format!("{algorithm}:{hex}"))
        })
    });
    attrs.insert("subjects".into(), Value::Array(subjects));
    attrs.insert("subject_count".into(), subject_count.into());
    attrs.insert("statement_type".into(), text_at(&statement, "/_type").into());
    attrs.insert("predicate_type".into(), text_at(&statement, "/predicateType").into());
    let build = read_build(&statement);
    let facts = read.certificate;
    // The certificate's build extensions fill what the predicate does not say.
    let extension = |name: &str| {
        facts.as_ref().and_then(|facts| {
            facts
                .build
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| value.clone())
        })
    };
    let source_repo = build.source_repo.clone().or_else(|| extension("source_repository_uri"));
    let source_ref = build.source_ref.clone().or_else(|| extension("source_repository_ref"));
    let source_digest = build
        .source_digest
        .clone()
        .or_else(|| extension("source_repository_digest"));
    let trigger = build.trigger.clone().or_else(|| extension("build_trigger"));
    attrs.insert("builder_id".into(), build.builder_id.clone().into());
    attrs.insert("build_type".into(), build.build_type.clone().into());
    attrs.insert("source_repo".into(), source_repo.clone().into());
    attrs.insert("source_ref".into(), source_ref.clone().into());
    attrs.insert("source_digest".into(), source_digest.clone().into());
    attrs.insert("trigger".into(), trigger.into());
    attrs.insert("entry_point".into(), build.entry_point.clone().into());
    attrs.insert("invocation_id".into(), build.invocation_id.clone().into());
    attrs.insert(
        "build_started_at".into(),
        build.started.map(|time| time.to_string()).into(),
    );
    attrs.insert(
        "build_finished_at".into(),
        build.finished.map(|time| time.to_string()).into(),
    );
    let builder_trusted = {
        if verification.trusted_builders.is_empty() {
            None
        } else {
            Some(
                build
                    .builder_id
                    .as_deref()
                    .is_some_and(|builder| builder_is_trusted(builder, &verification.trusted_builders)),
            )
        }
    };
    attrs.insert("builder_trusted".into(), builder_trusted.into());
    attrs.insert("verified".into(), read.outcome.verified.into());
    attrs.insert("verification_reason".into(), read.outcome.reason.clone().into());
    attrs.insert("checks".into(), Value::Object(read.outcome.checks));
    let mut signer = Map::new();
    signer.insert("key_source".into(), read.key_source.into());
    signer.insert("key_type".into(), read.key_type.into());
    if let Some(facts) = &facts {
        signer.insert("identity".into(), json!(facts.san));
        signer.insert("oidc_issuer".into(), facts.issuer.clone().into());
        signer.insert("certificate_issuer".into(), bounded(&facts.issuer_name).into());
        signer.insert("certificate_serial".into(), facts.serial.clone().into());
        signer.insert(
            "certificate_not_before".into(),
            facts.not_before.map(|time| time.to_string()).into(),
        );
        signer.insert(
            "certificate_not_after".into(),
            facts.not_after.map(|time| time.to_string()).into(),
        );
        let build: Map<String, Value> = facts
            .build
            .iter()
            .map(|(key, value)| ((*key).to_string(), Value::from(value.clone())))
            .collect();
        signer.insert("certificate_build".into(), Value::Object(build));
    }
    attrs.insert("signer".into(), Value::Object(signer));
    attrs.insert("transparency_log".into(), read.log.clone().into());
    let log_time = read
        .log
        .as_ref()
        .and_then(|log| log.get("integrated_time"))
        .and_then(Value::as_i64)
        .and_then(|seconds| Timestamp::from_second(seconds).ok());
    let time = build.finished.or(build.started).or(log_time);
    // What the provenance says wins; --repo, --commit and --ref fill the gaps.
    let subject = Subject {
        repo: source_repo
            .as_deref()
            .and_then(crate::sarif::repository_name)
            .or_else(|| context.repo.clone()),
        commit: source_digest.or_else(|| context.commit.clone()),
        git_ref: source_ref.or_else(|| context.git_ref.clone()),
        artifact: first_digest,
        ..Subject::default()
    };
    context.record(
        COLLECTOR,
        EvidenceKind::Provenance,
        time,
        subject,
        None,
        Value::Object(attrs),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sources_split_into_repository_and_ref() {
        assert_eq!(
            split_source("git+https://github.com/a/b@refs/tags/v1"),
            ("https://github.com/a/b".to_string(), Some("refs/tags/v1".to_string()))
        );
        assert_eq!(
            split_source("https://github.com/a/b"),
            ("https://github.com/a/b".to_string(), None)
        );
    }

    #[test]
    fn trusted_builders_match_exactly_or_up_to_the_version() {
        let trusted = vec!["https://github.com/org/gen/.github/workflows/g.yml".to_string()];
        assert!(builder_is_trusted(
            "https://github.com/org/gen/.github/workflows/g.yml@refs/tags/v1",
            &trusted
        ));
        assert!(builder_is_trusted(
            "https://github.com/org/gen/.github/workflows/g.yml",
            &trusted
        ));
        assert!(!builder_is_trusted(
            "https://github.com/org/gen/.github/workflows/g.yml2",
            &trusted
        ));
    }

    #[test]
    fn a_bare_statement_is_not_verified() {
        let statement = r#"{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"a","digest":{"sha256":"ab"}}],"predicateType":"https://slsa.dev/provenance/v1","predicate":{"runDetails":{"builder":{"id":"b"}},"buildDefinition":{"buildType":"t"}}}"#;
        let parsed = parse(statement.as_bytes(), &Context::default(), &Limits::default());
        let record = &parsed.evidence[0];
        assert_eq!(record.attrs["verified"], false);
        assert_eq!(record.attrs["builder_id"], "b");
        assert_eq!(record.subject.artifact.as_deref(), Some("sha256:ab"));
        assert!(
            record.attrs["verification_reason"]
                .as_str()
                .unwrap()
                .starts_with("not signed")
        );
    }
}
