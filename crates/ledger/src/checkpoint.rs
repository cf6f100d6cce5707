//! Signed checkpoints in the C2SP `tlog-checkpoint` / `signed-note` text format,
//! and the ed25519 signer and verifier keys in the note key formats
//! (`PRIVATE+KEY+<name>+<hash>+<key>` and `<name>+<hash>+<key>`).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

/// The signature algorithm byte for ed25519 in signed notes.
const ALGORITHM_ED25519: u8 = 0x01;

/// Errors about keys and checkpoints.
#[derive(Debug, thiserror::Error)]
pub enum NoteError {
    /// A key text does not have the expected shape.
    #[error("malformed key: {0}")]
    MalformedKey(String),
    /// A checkpoint text does not have the expected shape.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),
    /// No signature line by the expected key.
    #[error("checkpoint carries no signature by key `{0}`")]
    NoSignature(String),
    /// The signature does not verify.
    #[error("checkpoint signature by `{0}` does not verify")]
    BadSignature(String),
    /// The system random source failed.
    #[error("cannot read the system random source: {0}")]
    Random(String),
}

fn key_id(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update(b"\n");
    hasher.update([ALGORITHM_ED25519]);
    hasher.update(public);
    let digest = hasher.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

fn check_name(name: &str) -> Result<(), NoteError> {
    if name.is_empty() || name.contains(['+', ' ', '\n', '\t']) || name.chars().any(char::is_control) {
        return Err(NoteError::MalformedKey(format!(
            "key name `{name}` must be non-empty without '+', spaces or control characters"
        )));
    }
    Ok(())
}

/// An ed25519 note signer.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("NoteSigner")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A fresh key named `name`, from the operating system's random source.
    pub fn generate(name: &str) -> Result<NoteSigner, NoteError> {
        check_name(name)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|error| NoteError::Random(error.to_string()))?;
        Ok(NoteSigner {
            name: name.to_string(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// A key from a fixed seed (tests and benchmarks only).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<NoteSigner, NoteError> {
        check_name(name)?;
        Ok(NoteSigner {
            name: name.to_string(),
            key: SigningKey::from_bytes(&seed),
        })
    }

    /// Parse `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>`.
    pub fn parse(text: &str) -> Result<NoteSigner, NoteError> {
        let rest = text
            .trim()
            .strip_prefix("PRIVATE+KEY+")
            .ok_or_else(|| NoteError::MalformedKey("signer key must start with PRIVATE+KEY+".into()))?;
        let (name, id, key) = split_key(rest)?;
        let bytes = decode_key(key)?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| NoteError::MalformedKey("ed25519 seed must be 32 bytes".into()))?;
        let signer = NoteSigner::from_seed(name, seed)?;
        if hex::encode(signer.id()) != id {
            return Err(NoteError::MalformedKey("key id does not match the key".into()));
        }
        Ok(signer)
    }

    /// The signer key text (secret).
    pub fn to_text(&self) -> String {
        let mut bytes = vec![ALGORITHM_ED25519];
        bytes.extend_from_slice(&self.key.to_bytes());
        format!(
            "PRIVATE+KEY+{}+{}+{}",
            self.name,
            hex::encode(self.id()),
            STANDARD.encode(bytes)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn id(&self) -> [u8; 4] {
        key_id(&self.name, &self.key.verifying_key().to_bytes())
    }

    /// The matching verifier.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// Sign a note body (which must end with a newline) and return the full note.
    pub fn sign_note(&self, body: &str) -> String {
        let signature = self.key.sign(body.as_bytes());
        let mut bytes = self.id().to_vec();
        bytes.extend_from_slice(&signature.to_bytes());
        format!("{body}\n\u{2014} {} {}\n", self.name, STANDARD.encode(bytes))
    }
}

/// An ed25519 note verifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key: VerifyingKey,
}

fn split_key(text: &str) -> Result<(&str, &str, &str), NoteError> {
    let mut parts = text.splitn(3, '+');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(name), Some(id), Some(key)) if !name.is_empty() && id.len() == 8 => Ok((name, id, key)),
        _ => Err(NoteError::MalformedKey(
            "expected <name>+<8 hex digits>+<base64 key>".into(),
        )),
    }
}

fn decode_key(key: &str) -> Result<Vec<u8>, NoteError> {
    let bytes = STANDARD
        .decode(key.trim())
        .map_err(|error| NoteError::MalformedKey(format!("key is not base64: {error}")))?;
    match bytes.split_first() {
        Some((&ALGORITHM_ED25519, rest)) => Ok(rest.to_vec()),
        _ => Err(NoteError::MalformedKey(
            "only ed25519 keys (algorithm 0x01) are supported".into(),
        )),
    }
}

impl NoteVerifier {
    /// Parse `<name>+<hex id>+<base64(0x01 || public key)>`.
    pub fn parse(text: &str) -> Result<NoteVerifier, NoteError> {
        let (name, id, key) = split_key(text.trim())?;
        check_name(name)?;
        let bytes: [u8; 32] = decode_key(key)?
            .try_into()
            .map_err(|_| NoteError::MalformedKey("ed25519 public key must be 32 bytes".into()))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|error| NoteError::MalformedKey(format!("not an ed25519 public key: {error}")))?;
        if hex::encode(key_id(name, &bytes)) != id {
            return Err(NoteError::MalformedKey("key id does not match the key".into()));
        }
        Ok(NoteVerifier {
            name: name.to_string(),
            key,
        })
    }

    /// The verifier key text (public).
    pub fn to_text(&self) -> String {
        let public = self.key.to_bytes();
        let mut bytes = vec![ALGORITHM_ED25519];
        bytes.extend_from_slice(&public);
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(key_id(&self.name, &public)),
            STANDARD.encode(bytes)
        )
    }

    /// The key name (also the checkpoint origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Verify a signed note; returns its body on success.
    pub fn verify_note<'a>(&self, note: &'a str) -> Result<&'a str, NoteError> {
        let split = note
            .find("\n\n")
            .ok_or_else(|| NoteError::MalformedCheckpoint("no blank line before the signatures".into()))?;
        let body = &note[..split + 1];
        let expected_id = key_id(&self.name, &self.key.to_bytes());
        let mut saw_our_name = false;
        for line in note[split + 2..].lines() {
            let Some(rest) = line.strip_prefix("\u{2014} ") else {
                return Err(NoteError::MalformedCheckpoint(format!("bad signature line `{line}`")));
            };
            let Some((name, signature)) = rest.split_once(' ') else {
                return Err(NoteError::MalformedCheckpoint(format!("bad signature line `{line}`")));
            };
            if name != self.name {
                continue;
            }
            saw_our_name = true;
            let Ok(bytes) = STANDARD.decode(signature) else {
                continue;
            };
            if bytes.len() != 68 || bytes[..4] != expected_id {
                continue;
            }
            let Ok(signature) = Signature::from_slice(&bytes[4..]) else {
                continue;
            };
            if self.key.verify(body.as_bytes(), &signature).is_ok() {
                return Ok(body);
            }
            return Err(NoteError::BadSignature(self.name.clone()));
        }
        if saw_our_name {
            Err(NoteError::BadSignature(self.name.clone()))
        } else {
            Err(NoteError::NoSignature(self.name.clone()))
        }
    }
}

/// A checkpoint: the state of the log at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line (also the key name).
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 6962 root hash.
    pub root: Hash,
    /// When it was made (extension line `time <RFC 3339>`).
    pub time: String,
}

impl Checkpoint {
    /// The note body: origin, size, base64 root, then the `time` extension line.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\ntime {}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root),
            self.time
        )
    }

    /// Parse a note body (signatures already checked or stripped).
    pub fn parse_body(body: &str) -> Result<Checkpoint, NoteError> {
        let mut lines = body.lines();
        let origin = lines
            .next()
            .filter(|line| !line.is_empty())
            .ok_or_else(|| NoteError::MalformedCheckpoint("missing origin line".into()))?;
        let size = lines
            .next()
            .and_then(|line| line.parse::<u64>().ok())
            .ok_or_else(|| NoteError::MalformedCheckpoint("missing or bad tree size line".into()))?;
        let root: Hash = lines
            .next()
            .and_then(|line| STANDARD.decode(line).ok())
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| NoteError::MalformedCheckpoint("missing or bad root hash line".into()))?;
        let time = lines
            .find_map(|line| line.strip_prefix("time "))
            .unwrap_or_default()
            .to_string();
        Ok(Checkpoint {
            origin: origin.to_string(),
            size,
            root,
            time,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> NoteSigner {
        NoteSigner::from_seed("dsomm-audit/test", [7u8; 32]).unwrap_or_else(|_| unreachable!())
    }

    #[test]
    fn keys_round_trip() {
        let signer = signer();
        let parsed = NoteSigner::parse(&signer.to_text()).map(|key| key.verifier());
        assert_eq!(parsed.ok(), Some(signer.verifier()));
        let verifier = NoteVerifier::parse(&signer.verifier().to_text());
        assert_eq!(verifier.ok(), Some(signer.verifier()));
        assert!(NoteVerifier::parse("name+00000000+AAAA").is_err());
        assert!(NoteVerifier::parse("garbage").is_err());
    }

    #[test]
    fn signed_checkpoints_verify_and_edits_fail() {
        let signer = signer();
        let checkpoint = Checkpoint {
            origin: "dsomm-audit/test".into(),
            size: 12,
            root: [3u8; 32],
            time: "2025-01-01T00:00:00.000000000Z".into(),
        };
        let note = signer.sign_note(&checkpoint.body());
        let body = signer.verifier().verify_note(&note).unwrap_or_default();
        assert_eq!(Checkpoint::parse_body(body).ok(), Some(checkpoint));
        let edited = note.replacen("\n12\n", "\n13\n", 1);
        assert!(matches!(
            signer.verifier().verify_note(&edited),
            Err(NoteError::BadSignature(_))
        ));
        let other = NoteSigner::from_seed("dsomm-audit/test", [8u8; 32]).unwrap_or_else(|_| unreachable!());
        assert!(other.verifier().verify_note(&note).is_err());
    }
}
