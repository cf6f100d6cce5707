//! Provenance collector: in-toto Statements (v0.1, v1) with SLSA provenance
//! (v0.2, v1) predicates, bare or in DSSE envelopes (one per line in
//! `.intoto.jsonl`), Sigstore bundles (v0.1, v0.2, v0.3; DSSE or message
//! signature) and GitHub attestation API responses, into `provenance` records
//! with the subjects, the build facts and a verification result.
//!
//! Verification is offline (see `sigstore.rs`): the DSSE signature over the
//! pre-authentication encoding with the key of the bundle's certificate, the
//! envelope's certificate or `--public-key`; with `--trust-root`, the
//! certificate's chain to a Fulcio root, its validity at the time a signed
//! entry timestamp gives for the transparency log entry, and the entry itself
//! (inclusion proof under a signed checkpoint and/or signed entry timestamp,
//! each checked when present; one entry of the bundle must verify). Every log
//! entry must be about the signature, trust root or not. `verified` is true
//! only when the strongest check the input calls for passed; every other
//! outcome says why not. Attribute keys are listed in `docs/sources.md`.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use jiff::Timestamp;
use model::{EvidenceKind, NewEvidence, Subject};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::sigstore::{self, HashAlgorithm, PublicKey, TrustRoot};
use crate::{Context, Limits, Parsed, json_depth_exceeds, text_at};

/// The collector id recorded in every record's source.
pub const COLLECTOR: &str = "provenance";

/// Longest text kept from any string copied into attributes (characters).
const MAX_TEXT_CHARS: usize = 1024;

/// Most subjects listed per record (the count is always complete).
const MAX_SUBJECTS: usize = 1000;

/// Most signatures of one DSSE envelope checked (each may cost a chain and log check).
const MAX_SIGNATURES: usize = 16;

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
    let verification = settings(context);
    for (line, document) in crate::json_documents_of_bytes(bytes, context, limits, &mut parsed.diagnostics) {
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

/// The verification material of one signature of a bare DSSE envelope: the
/// PEM certificate it may carry (slsa-github-generator writes one per signature).
fn envelope_material(signature: &Value) -> BundleMaterial {
    let mut material = BundleMaterial::default();
    if let Some(pem) = signature.get("cert").and_then(Value::as_str)
        && !pem.is_empty()
    {
        material.leaf = Some(
            sigstore::pem_body(pem, "CERTIFICATE")
                .map_err(|error| format!("certificate does not parse: {error}"))
                .and_then(|der| sigstore::parse_certificate(&der)),
        );
    }
    material
}

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
    let stated = text_at(signature, "/messageDigest/algorithm").unwrap_or_default();
    let digest_text = text_at(signature, "/messageDigest/digest").ok_or("messageSignature without messageDigest")?;
    let digest = base64_decode(&digest_text, "messageDigest")?;
    // The algorithm as Rekor's hashedrekord names it, and its digest length.
    let hash = HashAlgorithm::from_bundle_name(&stated);
    let (algorithm, length) = hash.map_or(("unknown", digest.len()), |hash| (hash.rekor_name(), hash.digest_len()));
    if digest.len() != length {
        return Err(format!(
            "messageDigest is {} bytes, not a {} digest ({length} bytes); skipped",
            digest.len(),
            bounded(&stated)
        ));
    }
    let signature_text = text_at(signature, "/signature").ok_or("messageSignature without signature")?;
    let check = |key: &PublicKey, signature: &[u8]| match hash {
        Some(hash) => key.verify_digest_with(hash, &digest, signature),
        None => key.verify_digest(&digest, signature),
    };
    let (outcome, facts, key_source, key_type, log) = verify(
        &signature_text,
        check,
        &Signed::Digest(&digest, algorithm),
        verification,
        material,
    );
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
    let check = |key: &PublicKey, signature: &[u8]| key.verify(&message, signature);
    // A threshold of one: the envelope is verified when one of its signatures
    // verifies, whatever their order; signatures by other keys are ignored.
    let mut attempts = signatures.iter().take(MAX_SIGNATURES).map(|signature| {
        let signature_text = signature.get("sig").and_then(Value::as_str).unwrap_or_default();
        let own_material;
        let material = if bundle.is_none() {
            own_material = envelope_material(signature);
            &own_material
        } else {
            material
        };
        verify(
            signature_text,
            check,
            &Signed::Envelope(&payload),
            verification,
            material,
        )
    });
    let (outcome, facts, key_source, key_type, log) = match attempts.next() {
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
        Some(first) if first.0.verified || signatures.len() == 1 => first,
        Some(mut first) => match attempts.find(|attempt| attempt.0.verified) {
            Some(verified) => verified,
            None => {
                let checked = signatures.len().min(MAX_SIGNATURES);
                first.0.reason = format!(
                    "none of the {checked} signatures checked (of {}) verified; the first: {}",
                    signatures.len(),
                    first.0.reason
                );
                first
            }
        },
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
    /// A DSSE envelope: its payload.
    Envelope(&'a [u8]),
    /// A message signature: the digest and its algorithm as Rekor names it (`sha256`).
    Digest(&'a [u8], &'a str),
}

/// The key a signature was checked with, which a log entry must name as its verifier.
enum Signer<'a> {
    /// The bundle's (or envelope's) certificate.
    Certificate(&'a x509_cert::Certificate),
    /// The operator's `--public-key`.
    Key(&'a PublicKey),
}

impl Signer<'_> {
    /// Whether a logged verifier (base64 of a PEM certificate or public key) is this signer.
    fn is(&self, verifier: &str) -> bool {
        let Some(pem) = base64_decode(verifier, "verifier")
            .ok()
            .and_then(|pem| String::from_utf8(pem).ok())
        else {
            return false;
        };
        match self {
            Signer::Certificate(certificate) => sigstore::pem_body(&pem, "CERTIFICATE")
                .is_ok_and(|der| der::Encode::to_der(*certificate).is_ok_and(|own| own == der)),
            Signer::Key(key) => sigstore::pem_body(&pem, "PUBLIC KEY")
                .ok()
                .and_then(|der| PublicKey::from_spki_der(&der).ok())
                .is_some_and(|logged| logged == **key),
        }
    }

    fn differs(&self) -> &'static str {
        match self {
            Signer::Certificate(_) => "the logged certificate differs from the bundle's",
            Signer::Key(_) => "the logged public key differs from the given --public-key",
        }
    }
}

type Verified = (
    Outcome,
    Option<sigstore::CertificateFacts>,
    Option<&'static str>,
    Option<&'static str>,
    Option<Value>,
);

/// Verify one signature: with the certificate (and, given a trust root, its
/// chain and the transparency log), or with the operator's public key (and,
/// given a trust root, the transparency log).
fn verify(
    signature_text: &str,
    check: impl Fn(&PublicKey, &[u8]) -> bool,
    signed: &Signed<'_>,
    verification: &Verification,
    material: &BundleMaterial,
) -> Verified {
    let mut checks = Map::new();
    let first_entry = material.log_entries.first().map(log_summary);
    let signature = match base64_decode(signature_text, "signature") {
        Ok(signature) if !signature.is_empty() => signature,
        Ok(_) => {
            checks.insert("signature".into(), "absent".into());
            let outcome = Outcome::failed("not signed: the signature is empty", checks);
            return (outcome, None, None, None, first_entry);
        }
        Err(error) => {
            checks.insert("signature".into(), "failed".into());
            return (Outcome::failed(error, checks), None, None, None, first_entry);
        }
    };
    let (signer, key, facts) = match &material.leaf {
        Some(Err(error)) => {
            checks.insert("certificate".into(), "failed".into());
            return (Outcome::failed(error.clone(), checks), None, None, None, first_entry);
        }
        Some(Ok(leaf)) => {
            let facts = sigstore::certificate_facts(leaf);
            match sigstore::certificate_key(leaf) {
                Ok(key) => (Signer::Certificate(leaf), key, Some(facts)),
                Err(error) => {
                    checks.insert("certificate".into(), "failed".into());
                    let outcome = Outcome::failed(format!("certificate key unusable: {error}"), checks);
                    return (outcome, Some(facts), Some("certificate"), None, first_entry);
                }
            }
        }
        // Key-based: only the operator's key can verify.
        None => match &verification.public_key {
            Some(key) => (Signer::Key(key), key.clone(), None),
            None => {
                checks.insert("signature".into(), "not_checked".into());
                let reason = if material.has_public_key_hint {
                    "signed with a key (publicKey hint) and no --public-key given: signature not checked"
                } else {
                    "no certificate and no --public-key given: signature not checked"
                };
                return (Outcome::failed(reason, checks), None, None, None, first_entry);
            }
        },
    };
    let key_source = Some(match signer {
        Signer::Certificate(_) => "certificate",
        Signer::Key(_) => "public-key",
    });
    let mut entry_used = None;
    let result = verify_signed(
        &signature,
        check(&key, &signature),
        signed,
        &signer,
        verification,
        material,
        &mut checks,
        &mut entry_used,
    );
    let outcome = match result {
        Ok(reason) => Outcome {
            verified: true,
            reason,
            checks,
        },
        Err(reason) => Outcome::failed(reason, checks),
    };
    let log = entry_used.map(log_summary).or(first_entry);
    (outcome, facts, key_source, Some(key.kind()), log)
}

/// The checks after the key is known: `Ok` with the reason when verified.
/// `entry_used` is set to the log entry that verified.
#[allow(clippy::too_many_arguments)]
fn verify_signed<'a>(
    signature: &[u8],
    signature_ok: bool,
    signed: &Signed<'_>,
    signer: &Signer<'_>,
    verification: &Verification,
    material: &'a BundleMaterial,
    checks: &mut Map<String, Value>,
    entry_used: &mut Option<&'a Value>,
) -> Result<String, String> {
    if !signature_ok {
        checks.insert("signature".into(), "failed".into());
        return Err(match signer {
            Signer::Certificate(_) => "signature does not match payload under the certificate's key".into(),
            Signer::Key(_) => "signature does not match payload under the given public key".into(),
        });
    }
    checks.insert("signature".into(), "ok".into());
    // Every log entry of the bundle must be about this signature, trust root
    // or not: comparing the two needs no trust.
    let mut logged = Vec::new();
    for entry in &material.log_entries {
        let body = entry
            .get("canonicalizedBody")
            .and_then(Value::as_str)
            .ok_or_else(|| "transparency log entry without canonicalizedBody".to_string())
            .and_then(|text| base64_decode(text, "canonicalizedBody"))
            .and_then(|body| body_matches(&body, signed, signature, signer).map(|()| body));
        match body {
            Ok(body) => logged.push((entry, body)),
            Err(error) => {
                checks.insert("transparency_log".into(), "mismatch".into());
                return Err(format!("signature does not match the transparency log entry: {error}"));
            }
        }
    }
    let Some(root) = &verification.trust_root else {
        if !logged.is_empty() {
            checks.insert("transparency_log".into(), "not_checked".into());
        }
        return match signer {
            Signer::Key(_) => Ok("signature verified with the given public key".into()),
            Signer::Certificate(_) => {
                checks.insert("chain".into(), "not_checked".into());
                checks.insert("transparency_log".into(), "not_checked".into());
                Err(
                    "no trust root given: signature checked against the embedded certificate only; chain not verified"
                        .into(),
                )
            }
        };
    };
    if logged.is_empty() {
        if let Signer::Key(_) = signer {
            // A key needs no signing time: the signature stands on its own.
            return Ok("signature verified with the given public key".into());
        }
        checks.insert("transparency_log".into(), "absent".into());
        return Err(if material.has_timestamps {
            "no transparency log entry; signed timestamps (RFC 3161) are not checked by this tool: \
             the certificate's validity at signing time is not established"
                .into()
        } else {
            "no transparency log entry: the certificate's validity at signing time cannot be established".into()
        });
    }
    // With a trust root: one entry must verify (entries from logs the trust
    // root does not know, or that fail, are passed over), and for a
    // certificate its signed time must fall in the chain's validity.
    let mut failures: Vec<(Map<String, Value>, String)> = Vec::new();
    for (entry, body) in &logged {
        let mut tried = Map::new();
        match check_entry(root, entry, body, signer, material, &mut tried) {
            Ok(reason) => {
                checks.extend(tried);
                *entry_used = Some(*entry);
                return Ok(reason);
            }
            Err(reason) => failures.push((tried, reason)),
        }
    }
    let many = failures.len() > 1;
    let mut reasons = Vec::new();
    for (index, (tried, reason)) in failures.into_iter().enumerate() {
        if index == 0 {
            checks.extend(tried);
        }
        reasons.push(if many {
            format!("entry {index}: {reason}")
        } else {
            reason
        });
    }
    Err(if many {
        format!("no transparency log entry verified ({})", reasons.join("; "))
    } else {
        reasons.concat()
    })
}

/// One log entry against the trust root, then (for a certificate) the chain at its signed time.
fn check_entry(
    root: &TrustRoot,
    entry: &Value,
    body: &[u8],
    signer: &Signer<'_>,
    material: &BundleMaterial,
    checks: &mut Map<String, Value>,
) -> Result<String, String> {
    let logged = sigstore::check_log_entry(root, entry, body).inspect_err(|_| {
        checks.insert("transparency_log".into(), "failed".into());
    })?;
    checks.insert("transparency_log".into(), logged.method().into());
    let method = logged.describe();
    let Signer::Certificate(leaf) = signer else {
        return Ok(format!(
            "signature verified with the given public key and transparency log entry ({method}) verified"
        ));
    };
    let Some(time) = logged.signed_time else {
        checks.insert("chain".into(), "not_checked".into());
        return Err(sigstore::UNSIGNED_TIME.into());
    };
    root.chain(leaf, &material.intermediates, time).inspect_err(|_| {
        checks.insert("chain".into(), "failed".into());
    })?;
    checks.insert("chain".into(), "ok".into());
    Ok(format!(
        "signature, certificate chain to a trusted root, certificate validity at the logged time \
         {time} and transparency log entry ({method}) verified"
    ))
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

/// Whether one of the logged (signature, verifier) pairs is this signature by
/// this signer; the error says which half differs.
fn signature_logged(pairs: &[(bool, bool)], signer: &Signer<'_>, what: &str) -> Result<(), String> {
    if pairs.iter().any(|&(signature, verifier)| signature && verifier) {
        Ok(())
    } else if pairs.iter().any(|&(signature, _)| signature) {
        Err(signer.differs().into())
    } else {
        Err(format!("the logged {what} differs from the bundle's"))
    }
}

/// Whether a log entry body (dsse, intoto or hashedrekord) is about this
/// payload or digest, signature and signer.
fn body_matches(body: &[u8], signed: &Signed<'_>, signature: &[u8], signer: &Signer<'_>) -> Result<(), String> {
    let body: Value = serde_json::from_slice(body).map_err(|error| format!("body is not JSON: {error}"))?;
    let kind = body.get("kind").and_then(Value::as_str).unwrap_or_default();
    // Rekor's intoto v0.0.2 logs each signature base64-encoded once more (the
    // base64 text of the DSSE `sig`); dsse and hashedrekord log it once.
    let same_signature = |logged: Option<&str>| {
        logged
            .and_then(|text| base64_decode(text, "signature").ok())
            .is_some_and(|bytes| {
                bytes == signature
                    || std::str::from_utf8(&bytes)
                        .is_ok_and(|inner| base64_decode(inner, "signature").is_ok_and(|bytes| bytes == signature))
            })
    };
    let payload_hash = |payload: &[u8], pointer: &str| {
        let hash = hex::encode(Sha256::digest(payload));
        if text_at(&body, pointer).as_deref() == Some(hash.as_str()) {
            Ok(())
        } else {
            Err("the logged payload hash differs from the payload".to_string())
        }
    };
    // The (signature, verifier) pairs listed at `pointer`, each compared with this one.
    let pairs = |pointer: &str, signature_field: &str, verifier_field: &str| -> Vec<(bool, bool)> {
        body.pointer(pointer)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|entry| {
                let field = |name: &str| entry.get(name).and_then(Value::as_str);
                (
                    same_signature(field(signature_field)),
                    field(verifier_field).is_some_and(|text| signer.is(text)),
                )
            })
            .collect()
    };
    match (kind, signed) {
        ("dsse", Signed::Envelope(payload)) => {
            payload_hash(payload, "/spec/payloadHash/value")?;
            let logged = pairs("/spec/signatures", "signature", "verifier");
            signature_logged(&logged, signer, "DSSE signature")
        }
        ("intoto", Signed::Envelope(payload)) => {
            payload_hash(payload, "/spec/content/payloadHash/value")?;
            let logged = pairs("/spec/content/envelope/signatures", "sig", "publicKey");
            signature_logged(&logged, signer, "DSSE signature")
        }
        ("hashedrekord", Signed::Digest(digest, algorithm)) => {
            let logged_algorithm = text_at(&body, "/spec/data/hash/algorithm").unwrap_or_default();
            if logged_algorithm != *algorithm {
                return Err(format!(
                    "the logged digest algorithm `{}` differs from the bundle's `{algorithm}`",
                    bounded(&logged_algorithm)
                ));
            }
            if text_at(&body, "/spec/data/hash/value").as_deref() != Some(hex::encode(digest).as_str()) {
                return Err("the logged digest differs from the bundle's".into());
            }
            let pair = (
                same_signature(text_at(&body, "/spec/signature/content").as_deref()),
                text_at(&body, "/spec/signature/publicKey/content").is_some_and(|text| signer.is(&text)),
            );
            signature_logged(&[pair], signer, "signature")
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
    fn a_json_lines_file_loses_only_its_line_that_is_not_utf8() {
        let statement =
            r#"{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"p","predicate":{}}"#;
        let mut bytes = format!("{statement}\n").into_bytes();
        bytes.extend_from_slice(b"{\"_type\": \"\xff\"}\n");
        bytes.extend_from_slice(format!("{statement}\n").as_bytes());
        let parsed = parse(&bytes, &Context::default(), &Limits::default());
        assert_eq!(parsed.evidence.len(), 2);
        let lines: Vec<Option<u64>> = parsed.evidence.iter().map(|record| record.source.line).collect();
        assert_eq!(lines, vec![Some(1), Some(3)]);
        assert_eq!(parsed.diagnostics.len(), 1);
        assert_eq!(parsed.diagnostics[0].line, Some(2));
        assert!(parsed.diagnostics[0].message.starts_with("not UTF-8 text"));
        // A whole document that is not UTF-8 is refused whole.
        let parsed = parse(b"{\n\"_type\": \"\xff\"\n}\n", &Context::default(), &Limits::default());
        assert!(parsed.evidence.is_empty());
        assert_eq!(parsed.diagnostics[0].message, "not UTF-8 text; nothing recorded");
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
