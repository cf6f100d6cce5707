//! Offline signature checks for provenance: public keys (ECDSA P-256/P-384,
//! Ed25519), X.509 certificates and their chain to a Sigstore trust root
//! (`trusted_root.json`), DSSE's pre-authentication encoding, and transparency
//! log entries (RFC 6962 inclusion proof under a signed checkpoint and signed
//! entry timestamp, each checked when present; only the latter signs the
//! entry's time). The cryptography is RustCrypto's (`p256`, `p384`,
//! `ed25519-dalek`, `sha2`, `x509-cert`); nothing here is a primitive of its own.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use der::{Decode, Encode};
use ecdsa::signature::hazmat::PrehashVerifier;
use jiff::Timestamp;
use serde_json::Value;
use sha2::{Digest, Sha256, Sha384, Sha512};
use x509_cert::Certificate;

/// A problem with a trust root or key file given by the operator.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The trust root is not a Sigstore `trusted_root.json`.
    #[error("trust root: {0}")]
    TrustRoot(String),
    /// The public key file holds no key this tool can use.
    #[error("public key: {0}")]
    PublicKey(String),
}

/// A signature verification key.
#[derive(Debug, Clone, PartialEq)]
pub enum PublicKey {
    /// ECDSA over NIST P-256.
    P256(p256::ecdsa::VerifyingKey),
    /// ECDSA over NIST P-384.
    P384(p384::ecdsa::VerifyingKey),
    /// Ed25519.
    Ed25519(ed25519_dalek::VerifyingKey),
    /// RSA (2048 bits or more): PKCS #1 v1.5 or PSS signatures.
    Rsa(Box<rsa::RsaPublicKey>),
}

/// The hash a signature was made over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// The hash a Sigstore bundle's `messageDigest.algorithm` names
    /// (`SHA2_256`, `SHA2_384`, `SHA2_512`), if supported.
    pub fn from_bundle_name(name: &str) -> Option<HashAlgorithm> {
        match name {
            "SHA2_256" => Some(HashAlgorithm::Sha256),
            "SHA2_384" => Some(HashAlgorithm::Sha384),
            "SHA2_512" => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }

    /// The hash whose digests are `length` bytes long, if any.
    fn from_len(length: usize) -> Option<HashAlgorithm> {
        match length {
            32 => Some(HashAlgorithm::Sha256),
            48 => Some(HashAlgorithm::Sha384),
            64 => Some(HashAlgorithm::Sha512),
            _ => None,
        }
    }

    /// The length of a digest, in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// The name Rekor's hashedrekord entries give the hash.
    pub fn rekor_name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha384 => "sha384",
            HashAlgorithm::Sha512 => "sha512",
        }
    }

    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha256 => Sha256::digest(message).to_vec(),
            HashAlgorithm::Sha384 => Sha384::digest(message).to_vec(),
            HashAlgorithm::Sha512 => Sha512::digest(message).to_vec(),
        }
    }
}

/// The paddings an RSA signature is checked under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RsaPadding {
    /// PKCS #1 v1.5 only (a certificate signed `sha*WithRSAEncryption`).
    Pkcs1v15,
    /// PSS only (a certificate signed `RSASSA-PSS`).
    Pss,
    /// Either: a signature whose padding nothing names (DSSE, key signatures).
    Either,
}

const ID_ED25519: &str = "1.3.101.112";
const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
const ECDSA_WITH_SHA384: &str = "1.2.840.10045.4.3.3";
const ECDSA_WITH_SHA512: &str = "1.2.840.10045.4.3.4";
const RSA_ENCRYPTION: &str = "1.2.840.113549.1.1.1";
const RSA_WITH_SHA256: &str = "1.2.840.113549.1.1.11";
const RSA_WITH_SHA384: &str = "1.2.840.113549.1.1.12";
const RSA_WITH_SHA512: &str = "1.2.840.113549.1.1.13";
const RSASSA_PSS: &str = "1.2.840.113549.1.1.10";
/// The smallest RSA modulus accepted, in bits.
const RSA_MIN_BITS: usize = 2048;

impl PublicKey {
    /// A key from its DER `SubjectPublicKeyInfo`.
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, String> {
        use p256::pkcs8::DecodePublicKey;
        if let Ok(key) = p256::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P256(key));
        }
        if let Ok(key) = p384::ecdsa::VerifyingKey::from_public_key_der(der) {
            return Ok(PublicKey::P384(key));
        }
        let info = spki::SubjectPublicKeyInfoRef::from_der(der)
            .map_err(|error| format!("not a DER SubjectPublicKeyInfo: {error}"))?;
        if info.algorithm.oid.to_string() == RSA_ENCRYPTION {
            use rsa::pkcs8::DecodePublicKey as _;
            use rsa::traits::PublicKeyParts as _;
            let key =
                rsa::RsaPublicKey::from_public_key_der(der).map_err(|error| format!("not an RSA key: {error}"))?;
            let bits = key.n().bits();
            if bits < RSA_MIN_BITS {
                return Err(format!(
                    "an RSA key of {bits} bits is too weak to rely on ({RSA_MIN_BITS} bits at least)"
                ));
            }
            return Ok(PublicKey::Rsa(Box::new(key)));
        }
        if info.algorithm.oid.to_string() == ID_ED25519 {
            let bytes: [u8; 32] = info
                .subject_public_key
                .raw_bytes()
                .try_into()
                .map_err(|_| "an Ed25519 key must be 32 bytes".to_string())?;
            return ed25519_dalek::VerifyingKey::from_bytes(&bytes)
                .map(PublicKey::Ed25519)
                .map_err(|error| format!("not an Ed25519 key: {error}"));
        }
        Err(format!(
            "key algorithm {} is not supported (ECDSA P-256, P-384, Ed25519 and RSA are)",
            info.algorithm.oid
        ))
    }

    /// A key from PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_pem(text: &str) -> Result<PublicKey, TrustError> {
        let der = pem_body(text, "PUBLIC KEY").map_err(TrustError::PublicKey)?;
        PublicKey::from_spki_der(&der).map_err(TrustError::PublicKey)
    }

    /// The key type's name as recorded.
    pub fn kind(&self) -> &'static str {
        match self {
            PublicKey::P256(_) => "ecdsa-p256",
            PublicKey::P384(_) => "ecdsa-p384",
            PublicKey::Ed25519(_) => "ed25519",
            PublicKey::Rsa(_) => "rsa",
        }
    }

    /// The hash ECDSA uses with this key by default (SHA-256 for P-256, SHA-384 for P-384).
    fn default_hash(&self) -> HashAlgorithm {
        match self {
            PublicKey::P384(_) => HashAlgorithm::Sha384,
            _ => HashAlgorithm::Sha256,
        }
    }

    /// Check `signature` over `message` (hashed with the key's default hash for ECDSA).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Ed25519(key) => ed25519_dalek::Signature::from_slice(signature)
                .is_ok_and(|signature| key.verify_strict(message, &signature).is_ok()),
            _ => self.verify_digest_with(self.default_hash(), &self.default_hash().digest(message), signature),
        }
    }

    /// Check `signature` over `message` hashed with `hash` (ECDSA and RSA,
    /// either padding; Ed25519 signs the message).
    pub fn verify_with(&self, hash: HashAlgorithm, message: &[u8], signature: &[u8]) -> bool {
        self.verify_hashed(hash, RsaPadding::Either, message, signature)
    }

    /// Check an ECDSA `signature` (DER or fixed-size) or an RSA one (PKCS #1
    /// v1.5, or PSS with a salt as long as the hash or as long as possible)
    /// over a precomputed digest; the digest's length names the hash.
    pub fn verify_digest(&self, digest: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Rsa(key) => HashAlgorithm::from_len(digest.len())
                .is_some_and(|hash| verify_rsa(key, hash, RsaPadding::Either, digest, signature)),
            _ => self.verify_ecdsa_digest(digest, signature),
        }
    }

    /// [`PublicKey::verify_digest`] over a digest made with `hash`: an RSA
    /// signature is checked under that hash (and refused when the digest is
    /// not that hash's length); ECDSA signs the digest whatever made it.
    pub fn verify_digest_with(&self, hash: HashAlgorithm, digest: &[u8], signature: &[u8]) -> bool {
        self.verify_prehashed(hash, RsaPadding::Either, digest, signature)
    }

    /// Check `signature` over `message` hashed with `hash`, an RSA one under `padding` only.
    fn verify_hashed(&self, hash: HashAlgorithm, padding: RsaPadding, message: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Ed25519(_) => self.verify(message, signature),
            _ => self.verify_prehashed(hash, padding, &hash.digest(message), signature),
        }
    }

    fn verify_prehashed(&self, hash: HashAlgorithm, padding: RsaPadding, digest: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Rsa(key) => verify_rsa(key, hash, padding, digest, signature),
            _ => self.verify_ecdsa_digest(digest, signature),
        }
    }

    /// An ECDSA `signature` (DER or fixed-size) over `digest`; false for other keys.
    fn verify_ecdsa_digest(&self, digest: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::P256(key) => p256::ecdsa::Signature::from_der(signature)
                .or_else(|_| p256::ecdsa::Signature::from_slice(signature))
                .is_ok_and(|signature| key.verify_prehash(digest, &signature).is_ok()),
            PublicKey::P384(key) => p384::ecdsa::Signature::from_der(signature)
                .or_else(|_| p384::ecdsa::Signature::from_slice(signature))
                .is_ok_and(|signature| key.verify_prehash(digest, &signature).is_ok()),
            PublicKey::Ed25519(_) | PublicKey::Rsa(_) => false,
        }
    }
}

/// An RSA signature over a `hash` digest under `padding` (refused when the
/// digest is not that hash's length).
fn verify_rsa(
    key: &rsa::RsaPublicKey,
    hash: HashAlgorithm,
    padding: RsaPadding,
    digest: &[u8],
    signature: &[u8],
) -> bool {
    if digest.len() != hash.digest_len() {
        return false;
    }
    match hash {
        HashAlgorithm::Sha256 => verify_rsa_with::<Sha256>(key, padding, digest, signature),
        HashAlgorithm::Sha384 => verify_rsa_with::<Sha384>(key, padding, digest, signature),
        HashAlgorithm::Sha512 => verify_rsa_with::<Sha512>(key, padding, digest, signature),
    }
}

/// An RSA signature over a digest made with `D`: PKCS #1 v1.5 and/or (as
/// `padding` allows) PSS with the salt lengths signers use (the hash's
/// length: Go's and OpenSSL's default; the largest possible: Python's
/// `PSS.MAX_LENGTH`).
fn verify_rsa_with<D>(key: &rsa::RsaPublicKey, padding: RsaPadding, digest: &[u8], signature: &[u8]) -> bool
where
    D: 'static + sha2::Digest + sha2::digest::DynDigest + sha2::digest::const_oid::AssociatedOid + Send + Sync,
{
    use rsa::traits::PublicKeyParts as _;
    let pkcs1 = || key.verify(rsa::Pkcs1v15Sign::new::<D>(), digest, signature).is_ok();
    let pss = || {
        let hash_length = <D as sha2::Digest>::output_size();
        let encoded_length = (key.n().bits() - 1).div_ceil(8);
        let longest = encoded_length.saturating_sub(hash_length + 2);
        [hash_length, longest].into_iter().any(|salt| {
            key.verify(rsa::Pss::new_with_salt::<D>(salt), digest, signature)
                .is_ok()
        })
    };
    match padding {
        RsaPadding::Pkcs1v15 => pkcs1(),
        RsaPadding::Pss => pss(),
        RsaPadding::Either => pkcs1() || pss(),
    }
}

/// The DER inside a PEM block labelled `label`.
pub fn pem_body(text: &str, label: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin).ok_or_else(|| format!("no `{begin}` block"))? + begin.len();
    let stop = text[start..]
        .find(&end)
        .ok_or_else(|| format!("`{begin}` without `{end}`"))?
        + start;
    let body: String = text[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    STANDARD
        .decode(body)
        .map_err(|error| format!("PEM body is not base64: {error}"))
}

/// DSSE's pre-authentication encoding: `DSSEv1 <len> <type> <len> <body>`.
pub fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!("DSSEv1 {} {payload_type} {} ", payload_type.len(), payload.len()).into_bytes();
    out.extend_from_slice(payload);
    out
}

// ---------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------

/// What a (Fulcio) signing certificate says.
#[derive(Debug, Clone, Default)]
pub struct CertificateFacts {
    /// Subject alternative names (URIs, e-mail addresses).
    pub san: Vec<String>,
    /// The OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8, else .1.1).
    pub issuer: Option<String>,
    /// The issuer's distinguished name.
    pub issuer_name: String,
    /// The serial number (hex).
    pub serial: String,
    /// Start of validity.
    pub not_before: Option<Timestamp>,
    /// End of validity.
    pub not_after: Option<Timestamp>,
    /// Fulcio's build extensions that were present, by short name.
    pub build: Vec<(&'static str, String)>,
}

/// Fulcio's extensions read into [`CertificateFacts::build`] (OID suffix under 1.3.6.1.4.1.57264.1.).
const FULCIO_EXTENSIONS: &[(&str, &str)] = &[
    ("9", "build_signer_uri"),
    ("11", "runner_environment"),
    ("12", "source_repository_uri"),
    ("13", "source_repository_digest"),
    ("14", "source_repository_ref"),
    ("18", "build_config_uri"),
    ("20", "build_trigger"),
    ("21", "run_invocation_uri"),
];

/// Parse a DER certificate.
pub fn parse_certificate(der: &[u8]) -> Result<Certificate, String> {
    Certificate::from_der(der).map_err(|error| format!("certificate does not parse: {error}"))
}

fn time_of(time: &x509_cert::time::Time) -> Option<Timestamp> {
    let seconds = i64::try_from(time.to_unix_duration().as_secs()).ok()?;
    Timestamp::from_second(seconds).ok()
}

/// The facts of a certificate.
pub fn certificate_facts(certificate: &Certificate) -> CertificateFacts {
    let tbs = &certificate.tbs_certificate;
    let mut facts = CertificateFacts {
        issuer_name: tbs.issuer.to_string(),
        serial: hex::encode(tbs.serial_number.as_bytes()),
        not_before: time_of(&tbs.validity.not_before),
        not_after: time_of(&tbs.validity.not_after),
        ..CertificateFacts::default()
    };
    let mut legacy_issuer = None;
    for extension in tbs.extensions.iter().flatten() {
        let oid = extension.extn_id.to_string();
        let value = extension.extn_value.as_bytes();
        if oid == SUBJECT_ALT_NAME {
            if let Ok(names) = x509_cert::ext::pkix::SubjectAltName::from_der(value) {
                for name in names.0 {
                    match name {
                        x509_cert::ext::pkix::name::GeneralName::UniformResourceIdentifier(uri) => {
                            facts.san.push(uri.to_string());
                        }
                        x509_cert::ext::pkix::name::GeneralName::Rfc822Name(mail) => {
                            facts.san.push(mail.to_string());
                        }
                        _ => {}
                    }
                }
            }
        } else if let Some(suffix) = oid.strip_prefix("1.3.6.1.4.1.57264.1.") {
            let text = der::asn1::Utf8StringRef::from_der(value)
                .map(|text| text.as_str().to_string())
                .ok()
                .or_else(|| std::str::from_utf8(value).ok().map(str::to_string));
            match (suffix, text) {
                ("8", Some(text)) => facts.issuer = Some(crate::cut_text(&text, 1024)),
                ("1", Some(text)) => legacy_issuer = Some(crate::cut_text(&text, 1024)),
                (suffix, Some(text)) => {
                    if let Some((_, name)) = FULCIO_EXTENSIONS.iter().find(|(known, _)| *known == suffix) {
                        facts.build.push((name, crate::cut_text(&text, 1024)));
                    }
                }
                _ => {}
            }
        }
    }
    if facts.issuer.is_none() {
        facts.issuer = legacy_issuer;
    }
    facts
}

/// The public key of a certificate.
pub fn certificate_key(certificate: &Certificate) -> Result<PublicKey, String> {
    let der = certificate
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|error| format!("certificate key does not encode: {error}"))?;
    PublicKey::from_spki_der(&der)
}

/// The DER value of the certificate's extension `oid`.
fn extension<'a>(certificate: &'a Certificate, oid: &str) -> Option<&'a [u8]> {
    certificate
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|extension| extension.extn_id.to_string() == oid)
        .map(|extension| extension.extn_value.as_bytes())
}

const BASIC_CONSTRAINTS: &str = "2.5.29.19";
const KEY_USAGE: &str = "2.5.29.15";
const EXTENDED_KEY_USAGE: &str = "2.5.29.37";
const SUBJECT_ALT_NAME: &str = "2.5.29.17";
const NAME_CONSTRAINTS: &str = "2.5.29.30";
const AUTHORITY_KEY_IDENTIFIER: &str = "2.5.29.35";
const SUBJECT_KEY_IDENTIFIER: &str = "2.5.29.14";

/// Extensions that may be critical: the ones this tool processes (basic
/// constraints, key usage, extended key usage, subject alternative names) and
/// the key identifiers, which only help find an issuer. Fulcio marks no other
/// extension critical.
const HANDLED_EXTENSIONS: &[&str] = &[
    BASIC_CONSTRAINTS,
    KEY_USAGE,
    EXTENDED_KEY_USAGE,
    SUBJECT_ALT_NAME,
    AUTHORITY_KEY_IDENTIFIER,
    SUBJECT_KEY_IDENTIFIER,
];

fn basic_constraints(certificate: &Certificate) -> Option<x509_cert::ext::pkix::BasicConstraints> {
    extension(certificate, BASIC_CONSTRAINTS)
        .and_then(|value| x509_cert::ext::pkix::BasicConstraints::from_der(value).ok())
}

/// Whether the certificate is a certificate authority (basic constraints `cA`).
fn is_authority(certificate: &Certificate) -> bool {
    basic_constraints(certificate).is_some_and(|constraints| constraints.ca)
}

/// Whether the certificate may sign code (extended key usage `codeSigning`).
fn for_code_signing(certificate: &Certificate) -> bool {
    extension(certificate, EXTENDED_KEY_USAGE)
        .and_then(|value| x509_cert::ext::pkix::ExtendedKeyUsage::from_der(value).ok())
        .is_some_and(|usage| usage.0.iter().any(|oid| oid.to_string() == "1.3.6.1.5.5.7.3.3"))
}

/// Whether `issuer` is an authority whose key signed `child` under `child`'s issuer name.
fn signed_by(child: &Certificate, issuer: &Certificate) -> bool {
    if !is_authority(issuer) || child.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return false;
    }
    let Ok(tbs) = child.tbs_certificate.to_der() else {
        return false;
    };
    let Ok(key) = certificate_key(issuer) else {
        return false;
    };
    let algorithm = child.signature_algorithm.oid.to_string();
    let signature = child.signature.raw_bytes();
    // The algorithm's family must be the key's: no RSA signature checked
    // against an ECDSA key's rules, or the reverse.
    // The padding is the one the algorithm names.
    let rsa_key = matches!(key, PublicKey::Rsa(_));
    let check = |hash, padding| key.verify_hashed(hash, padding, &tbs, signature);
    match algorithm.as_str() {
        ECDSA_WITH_SHA256 if !rsa_key => key.verify_with(HashAlgorithm::Sha256, &tbs, signature),
        ECDSA_WITH_SHA384 if !rsa_key => key.verify_with(HashAlgorithm::Sha384, &tbs, signature),
        ECDSA_WITH_SHA512 if !rsa_key => key.verify_with(HashAlgorithm::Sha512, &tbs, signature),
        RSA_WITH_SHA256 if rsa_key => check(HashAlgorithm::Sha256, RsaPadding::Pkcs1v15),
        RSA_WITH_SHA384 if rsa_key => check(HashAlgorithm::Sha384, RsaPadding::Pkcs1v15),
        RSA_WITH_SHA512 if rsa_key => check(HashAlgorithm::Sha512, RsaPadding::Pkcs1v15),
        // PSS names its hash in parameters; the signature decides among them.
        RSASSA_PSS if rsa_key => [HashAlgorithm::Sha256, HashAlgorithm::Sha384, HashAlgorithm::Sha512]
            .into_iter()
            .any(|hash| check(hash, RsaPadding::Pss)),
        ID_ED25519 if matches!(key, PublicKey::Ed25519(_)) => key.verify(&tbs, signature),
        _ => false,
    }
}

/// What RFC 5280 path validation refuses in a path (leaf first, trust anchor
/// last) whose signatures and names already link: an unhandled critical
/// extension, name constraints (not processed here, so refused), an authority
/// whose key usage lacks `keyCertSign`, or more authorities below one than its
/// `pathLenConstraint` allows (self-issued ones do not count).
fn path_problem(path: &[&Certificate]) -> Option<String> {
    for certificate in path {
        let subject = &certificate.tbs_certificate.subject;
        // A Fulcio leaf has an empty subject: name it by its place.
        let named = if subject.0.is_empty() {
            "the signing certificate (no subject)".to_string()
        } else {
            format!("certificate `{subject}`")
        };
        for extension in certificate.tbs_certificate.extensions.iter().flatten() {
            let oid = extension.extn_id.to_string();
            if oid == NAME_CONSTRAINTS {
                return Some(format!(
                    "{named} has name constraints, which this tool does not process"
                ));
            }
            if extension.critical && !HANDLED_EXTENSIONS.contains(&oid.as_str()) {
                return Some(format!("{named} has an unhandled critical extension {oid}"));
            }
        }
    }
    for (position, authority) in path.iter().enumerate().skip(1) {
        let subject = &authority.tbs_certificate.subject;
        let usage = extension(authority, KEY_USAGE).map(x509_cert::ext::pkix::KeyUsage::from_der);
        if usage.is_some_and(|usage| !usage.is_ok_and(|usage| usage.key_cert_sign())) {
            return Some(format!(
                "certificate authority `{subject}` may not sign certificates (its key usage lacks keyCertSign)"
            ));
        }
        let below = path[1..position]
            .iter()
            .filter(|certificate| certificate.tbs_certificate.issuer != certificate.tbs_certificate.subject)
            .count();
        let limit = basic_constraints(authority).and_then(|constraints| constraints.path_len_constraint);
        if limit.is_some_and(|limit| below > usize::from(limit)) {
            return Some(format!(
                "path length constraint of certificate authority `{subject}` exceeded"
            ));
        }
    }
    None
}

/// Whether `time` is within the certificate's validity.
pub fn valid_at(certificate: &Certificate, time: Timestamp) -> bool {
    let validity = &certificate.tbs_certificate.validity;
    match (time_of(&validity.not_before), time_of(&validity.not_after)) {
        (Some(start), Some(end)) => start <= time && time <= end,
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Trust root
// ---------------------------------------------------------------------------

/// A time window of the trust root (`validFor`).
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    start: Option<Timestamp>,
    end: Option<Timestamp>,
}

impl Window {
    fn read(value: Option<&Value>) -> Window {
        let time = |key: &str| {
            value
                .and_then(|value| value.get(key))
                .and_then(Value::as_str)
                .and_then(|text| model::time::parse_time(text).ok())
        };
        Window {
            start: time("start"),
            end: time("end"),
        }
    }

    fn contains(&self, time: Timestamp) -> bool {
        self.start.is_none_or(|start| start <= time) && self.end.is_none_or(|end| time <= end)
    }
}

/// A certificate authority of the trust root: its chain (leafmost first) and window.
#[derive(Debug, Clone)]
struct Authority {
    chain: Vec<Certificate>,
    window: Window,
}

/// A transparency log of the trust root.
#[derive(Debug, Clone)]
struct Log {
    key_id: Vec<u8>,
    key: PublicKey,
    window: Window,
}

/// A Sigstore trust root (`trusted_root.json`): the Fulcio certificate
/// authorities and the transparency logs' keys.
#[derive(Debug, Clone)]
pub struct TrustRoot {
    authorities: Vec<Authority>,
    logs: Vec<Log>,
}

impl TrustRoot {
    /// Read a `trusted_root.json` (media type `application/vnd.dev.sigstore.trustedroot+json`).
    pub fn from_json(bytes: &[u8]) -> Result<TrustRoot, TrustError> {
        let error = |message: String| TrustError::TrustRoot(message);
        let value: Value = serde_json::from_slice(bytes).map_err(|problem| error(format!("not JSON: {problem}")))?;
        let mut authorities = Vec::new();
        for (index, authority) in value
            .get("certificateAuthorities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let mut chain = Vec::new();
            for certificate in authority
                .pointer("/certChain/certificates")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let raw = certificate.get("rawBytes").and_then(Value::as_str).unwrap_or_default();
                let der = STANDARD.decode(raw).map_err(|problem| {
                    error(format!(
                        "certificateAuthorities[{index}]: rawBytes is not base64: {problem}"
                    ))
                })?;
                chain.push(
                    parse_certificate(&der)
                        .map_err(|problem| error(format!("certificateAuthorities[{index}]: {problem}")))?,
                );
            }
            if chain.is_empty() {
                return Err(error(format!("certificateAuthorities[{index}] has no certificates")));
            }
            authorities.push(Authority {
                chain,
                window: Window::read(authority.get("validFor")),
            });
        }
        let mut logs = Vec::new();
        for (index, log) in value
            .get("tlogs")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let decode = |pointer: &str| {
                log.pointer(pointer)
                    .and_then(Value::as_str)
                    .ok_or_else(|| error(format!("tlogs[{index}]: no {pointer}")))
                    .and_then(|text| {
                        STANDARD
                            .decode(text)
                            .map_err(|problem| error(format!("tlogs[{index}]{pointer}: not base64: {problem}")))
                    })
            };
            let key = PublicKey::from_spki_der(&decode("/publicKey/rawBytes")?)
                .map_err(|problem| error(format!("tlogs[{index}]: {problem}")))?;
            logs.push(Log {
                key_id: decode("/logId/keyId")?,
                key,
                window: Window::read(log.pointer("/publicKey/validFor")),
            });
        }
        if authorities.is_empty() && logs.is_empty() {
            return Err(error(
                "no certificateAuthorities and no tlogs: not a Sigstore trusted_root.json".into(),
            ));
        }
        Ok(TrustRoot { authorities, logs })
    }

    /// Chain `leaf` (with the bundle's `intermediates`) to an authority valid
    /// at `time`: the leaf must be for code signing, every issuer an authority
    /// (basic constraints) allowed to sign certificates, every certificate
    /// valid at `time`, and the path must pass [`path_problem`]. Every
    /// authority of the trust root is tried; it fails only when none fits.
    pub fn chain(&self, leaf: &Certificate, intermediates: &[Certificate], time: Timestamp) -> Result<(), String> {
        if !for_code_signing(leaf) {
            return Err("certificate is not for code signing (no codeSigning extended key usage)".into());
        }
        if !valid_at(leaf, time) {
            return Err(format!(
                "certificate not valid at the signing time {time} given by the transparency log entry"
            ));
        }
        // Every authority is tried; the most specific reason is kept for when none fits.
        let mut problem = None;
        for authority in &self.authorities {
            // The path: leaf, then any bundle intermediates the authority
            // does not already hold, then the authority's own chain.
            let mut path = vec![leaf];
            let mut linked = true;
            for intermediate in intermediates {
                if authority.chain.contains(intermediate) {
                    break;
                }
                if !signed_by(path[path.len() - 1], intermediate) || !valid_at(intermediate, time) {
                    linked = false;
                    break;
                }
                path.push(intermediate);
            }
            if !linked {
                continue;
            }
            let current = path[path.len() - 1];
            let Some(position) = authority.chain.iter().position(|ca| signed_by(current, ca)) else {
                continue;
            };
            let rest = &authority.chain[position..];
            if !rest.windows(2).all(|pair| signed_by(&pair[0], &pair[1])) {
                continue;
            }
            path.extend(rest);
            if let Some(refused) = path_problem(&path) {
                problem = Some(refused);
            } else if authority.window.contains(time) && rest.iter().all(|ca| valid_at(ca, time)) {
                return Ok(());
            } else if problem.is_none() {
                problem = Some(format!(
                    "certificate issued by a trusted authority that was not valid at the signing time {time}"
                ));
            }
        }
        Err(problem.unwrap_or_else(|| "certificate not issued by a trusted root".into()))
    }

    fn log(&self, key_id: &[u8]) -> Option<&Log> {
        self.logs.iter().find(|log| log.key_id == key_id)
    }
}

// ---------------------------------------------------------------------------
// Transparency log entries
// ---------------------------------------------------------------------------

/// The RFC 6962 root from a leaf hash and its inclusion proof (RFC 9162, 2.1.3.2).
pub fn inclusion_root(index: u64, size: u64, leaf: [u8; 32], proof: &[[u8; 32]]) -> Option<[u8; 32]> {
    if index >= size {
        return None;
    }
    let node = |left: &[u8; 32], right: &[u8; 32]| -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update([1u8]);
        hasher.update(left);
        hasher.update(right);
        hasher.finalize().into()
    };
    let (mut first, mut last, mut hash) = (index, size - 1, leaf);
    for sibling in proof {
        if last == 0 {
            return None;
        }
        if first & 1 == 1 || first == last {
            hash = node(sibling, &hash);
            while first & 1 == 0 && first != 0 {
                first >>= 1;
                last >>= 1;
            }
        } else {
            hash = node(&hash, sibling);
        }
        first >>= 1;
        last >>= 1;
    }
    (last == 0).then_some(hash)
}

/// The outcome of checking one transparency log entry.
#[derive(Debug, Clone)]
pub struct LogCheck {
    /// Whether a verified inclusion proof backs the entry.
    pub has_proof: bool,
    /// The entry's integrated time when a verified signed entry timestamp
    /// signs it. `None` when only an inclusion proof backs the entry: the
    /// integrated time is in neither the Merkle leaf nor the checkpoint, so it
    /// is not signed and may have been edited.
    pub signed_time: Option<Timestamp>,
}

impl LogCheck {
    /// What verified the entry, as recorded: `inclusion_proof_and_signed_entry_timestamp`,
    /// `inclusion_proof` or `signed_entry_timestamp`.
    pub fn method(&self) -> &'static str {
        match (self.has_proof, self.signed_time.is_some()) {
            (true, true) => "inclusion_proof_and_signed_entry_timestamp",
            (true, false) => "inclusion_proof",
            (false, _) => "signed_entry_timestamp",
        }
    }

    /// How the entry was verified, in words.
    pub fn describe(&self) -> &'static str {
        match (self.has_proof, self.signed_time.is_some()) {
            (true, true) => "inclusion proof under a signed checkpoint and signed entry timestamp",
            (true, false) => "inclusion proof under a signed checkpoint",
            (false, _) => "signed entry timestamp",
        }
    }
}

/// Why a certificate cannot be checked at signing time when the entry's time is not signed.
pub const UNSIGNED_TIME: &str = "the transparency log entry's time is not signed (no signed entry timestamp): \
     certificate validity at signing time cannot be checked (an RFC 3161 timestamp could establish it; \
     this tool does not check those)";

/// Check a bundle's `tlogEntries[]` entry against the trust root: the log is
/// known and its key valid at the integrated time; the signed entry timestamp,
/// when present, verifies over `{body, integratedTime, logID, logIndex}`; the
/// inclusion proof, when present, leads to the root of a checkpoint the log
/// signed. Both are checked when both are present, and either failing is
/// final. `body` is the decoded `canonicalizedBody`.
pub fn check_log_entry(root: &TrustRoot, entry: &Value, body: &[u8]) -> Result<LogCheck, String> {
    let decode = |pointer: &str| -> Result<Vec<u8>, String> {
        let text = entry
            .pointer(pointer)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("transparency log entry has no {pointer}"))?;
        STANDARD
            .decode(text)
            .map_err(|error| format!("transparency log entry {pointer} is not base64: {error}"))
    };
    let number = |pointer: &str| -> Option<u64> {
        match entry.pointer(pointer)? {
            Value::String(text) => text.parse().ok(),
            Value::Number(number) => number.as_u64(),
            _ => None,
        }
    };
    let key_id = decode("/logId/keyId")?;
    let log = root
        .log(&key_id)
        .ok_or_else(|| "transparency log entry from a log not in the trust root".to_string())?;
    let integrated = number("/integratedTime")
        .and_then(|seconds| i64::try_from(seconds).ok())
        .and_then(|seconds| Timestamp::from_second(seconds).ok())
        .ok_or_else(|| "transparency log entry has no integratedTime".to_string())?;
    if !log.window.contains(integrated) {
        return Err("transparency log key not valid at the entry's integrated time".into());
    }
    let has_proof = entry.get("inclusionProof").is_some();
    let has_set = entry.pointer("/inclusionPromise/signedEntryTimestamp").is_some();
    if !has_proof && !has_set {
        return Err("transparency log entry has neither an inclusion proof nor a signed entry timestamp".into());
    }
    if has_set {
        let set = decode("/inclusionPromise/signedEntryTimestamp")?;
        let log_index = number("/logIndex").ok_or("transparency log entry has no logIndex")?;
        let message = serde_json::json!({
            "body": STANDARD.encode(body),
            "integratedTime": integrated.as_second(),
            "logID": hex::encode(&key_id),
            "logIndex": log_index,
        })
        .to_string();
        if !log.key.verify(message.as_bytes(), &set) {
            return Err("signed entry timestamp does not verify against the log's key".into());
        }
    }
    if has_proof {
        check_inclusion_proof(log, entry, body, &decode, &number)?;
    }
    Ok(LogCheck {
        has_proof,
        signed_time: has_set.then_some(integrated),
    })
}

fn check_inclusion_proof(
    log: &Log,
    entry: &Value,
    body: &[u8],
    decode: &dyn Fn(&str) -> Result<Vec<u8>, String>,
    number: &dyn Fn(&str) -> Option<u64>,
) -> Result<(), String> {
    let index = number("/inclusionProof/logIndex").ok_or("inclusion proof has no logIndex")?;
    let size = number("/inclusionProof/treeSize").ok_or("inclusion proof has no treeSize")?;
    let root_hash = decode("/inclusionProof/rootHash")?;
    let mut proof = Vec::new();
    for (position, hash) in entry
        .pointer("/inclusionProof/hashes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let bytes = hash
            .as_str()
            .and_then(|text| STANDARD.decode(text).ok())
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or_else(|| format!("inclusion proof hash {position} is not a base64 SHA-256"))?;
        proof.push(bytes);
    }
    let mut leaf = Sha256::new();
    leaf.update([0u8]);
    leaf.update(body);
    let computed = inclusion_root(index, size, leaf.finalize().into(), &proof)
        .ok_or("inclusion proof does not fit the tree size")?;
    if computed.as_slice() != root_hash.as_slice() {
        return Err("inclusion proof does not lead to the stated root hash".into());
    }
    // The checkpoint: a signed note whose body names the size and root.
    let envelope = entry
        .pointer("/inclusionProof/checkpoint/envelope")
        .and_then(Value::as_str)
        .ok_or("inclusion proof without a signed checkpoint")?;
    let split = envelope.find("\n\n").ok_or("checkpoint is not a signed note")?;
    let note = &envelope[..split + 1];
    let mut lines = note.lines();
    let _origin = lines.next();
    let note_size: Option<u64> = lines.next().and_then(|line| line.parse().ok());
    let note_root = lines.next().and_then(|line| STANDARD.decode(line).ok());
    if note_size != Some(size) || note_root.as_deref() != Some(computed.as_slice()) {
        return Err("checkpoint does not name the inclusion proof's tree size and root".into());
    }
    let signed = envelope[split + 2..].lines().any(|line| {
        let Some(signature) = line.strip_prefix("\u{2014} ").and_then(|rest| rest.split(' ').nth(1)) else {
            return false;
        };
        let Ok(bytes) = STANDARD.decode(signature) else {
            return false;
        };
        bytes.len() > 4
            && bytes[..4] == log.key_id[..4.min(log.key_id.len())]
            && log.key.verify(note.as_bytes(), &bytes[4..])
    });
    if !signed {
        return Err("checkpoint signature does not verify against the log's key".into());
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn leaf(data: &[u8]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update([0u8]);
        hasher.update(data);
        hasher.finalize().into()
    }

    fn node(left: [u8; 32], right: [u8; 32]) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update([1u8]);
        hasher.update(left);
        hasher.update(right);
        hasher.finalize().into()
    }

    #[test]
    fn inclusion_proofs_of_a_five_leaf_tree() {
        let leaves: Vec<[u8; 32]> = (0u8..5).map(|byte| leaf(&[byte])).collect();
        let ab = node(leaves[0], leaves[1]);
        let cd = node(leaves[2], leaves[3]);
        let abcd = node(ab, cd);
        let root = node(abcd, leaves[4]);
        assert_eq!(inclusion_root(4, 5, leaves[4], &[abcd]), Some(root));
        assert_eq!(inclusion_root(2, 5, leaves[2], &[leaves[3], ab, leaves[4]]), Some(root));
        assert_eq!(inclusion_root(0, 5, leaves[0], &[leaves[1], cd, leaves[4]]), Some(root));
        assert_ne!(inclusion_root(1, 5, leaves[0], &[leaves[1], cd, leaves[4]]), Some(root));
        assert_eq!(inclusion_root(5, 5, leaves[0], &[]), None);
        assert_eq!(inclusion_root(0, 1, leaves[0], &[]), Some(leaves[0]));
    }

    #[test]
    fn an_ed25519_issuer_must_be_named_by_the_child() {
        use std::str::FromStr;
        use x509_cert::builder::{Builder, CertificateBuilder, Profile};
        let ecdsa_key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
        let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_key(*ecdsa_key.verifying_key()).unwrap();
        let validity = x509_cert::time::Validity::from_now(std::time::Duration::from_secs(600)).unwrap();
        let name = |text: &str| x509_cert::name::Name::from_str(text).unwrap();
        let build = |profile, subject| {
            CertificateBuilder::new(profile, 1u32.into(), validity, subject, spki.clone(), &ecdsa_key)
                .unwrap()
                .build::<p256::ecdsa::DerSignature>()
                .unwrap()
        };
        // An authority whose key is Ed25519 (its own signature is not looked at).
        let ed25519_key = ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]);
        let mut authority = build(Profile::Root, name("CN=ed-ca"));
        authority.tbs_certificate.subject_public_key_info = x509_cert::spki::SubjectPublicKeyInfoOwned {
            algorithm: x509_cert::spki::AlgorithmIdentifierOwned {
                oid: der::oid::ObjectIdentifier::new_unwrap(ID_ED25519),
                parameters: None,
            },
            subject_public_key: der::asn1::BitString::from_bytes(ed25519_key.verifying_key().as_bytes()).unwrap(),
        };
        // A child signed with the Ed25519 key under the issuer name `issuer`.
        let child = |issuer: &str| {
            let mut child = build(
                Profile::Leaf {
                    issuer: name(issuer),
                    enable_key_agreement: false,
                    enable_key_encipherment: false,
                },
                x509_cert::name::Name::default(),
            );
            let algorithm = x509_cert::spki::AlgorithmIdentifierOwned {
                oid: der::oid::ObjectIdentifier::new_unwrap(ID_ED25519),
                parameters: None,
            };
            child.tbs_certificate.signature = algorithm.clone();
            child.signature_algorithm = algorithm;
            let tbs = child.tbs_certificate.to_der().unwrap();
            let signature = ed25519_dalek::Signer::sign(&ed25519_key, &tbs);
            child.signature = der::asn1::BitString::from_bytes(&signature.to_bytes()).unwrap();
            child
        };
        assert!(signed_by(&child("CN=ed-ca"), &authority));
        assert!(!signed_by(&child("CN=someone-else"), &authority));
    }

    #[test]
    fn pae_is_dsse_v1() {
        assert_eq!(pae("t", b"ab"), b"DSSEv1 1 t 2 ab".to_vec());
    }

    #[test]
    fn keys_that_are_not_keys_are_refused() {
        assert!(PublicKey::from_pem("nothing").is_err());
        assert!(PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----").is_err());
        assert!(PublicKey::from_spki_der(&[0x30, 0x03, 0x02, 0x01, 0x00]).is_err());
        assert!(TrustRoot::from_json(b"{}").is_err());
        assert!(TrustRoot::from_json(b"{\"tlogs\": [{\"publicKey\": {\"rawBytes\": \"@@\"}}]}").is_err());
    }
}
