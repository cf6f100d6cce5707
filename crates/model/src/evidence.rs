//! Evidence records (DESIGN.md 4.1): kinds, subjects, where a record came from,
//! and the canonical encodings that the ledger hashes.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

#[cfg(test)]
use crate::canonical::to_canonical_vec;
use crate::canonical::{to_canonical_string, write_string};

macro_rules! evidence_kinds {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// What a piece of evidence is about (DESIGN.md section 4.2).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum EvidenceKind {
            $(#[doc = $doc] $variant,)*
        }

        impl EvidenceKind {
            /// Every kind, in declaration order.
            pub const ALL: &'static [EvidenceKind] = &[$(EvidenceKind::$variant,)*];

            /// The stable snake_case name used in storage and formats.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(EvidenceKind::$variant => $name,)*
                }
            }

            /// Parse a snake_case kind name.
            pub fn from_name(name: &str) -> Option<EvidenceKind> {
                match name {
                    $($name => Some(EvidenceKind::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

evidence_kinds! {
    PipelineConfig => "pipeline_config", "A scanner step in CI configuration and its gate mode.";
    ScanReport => "scan_report", "A scanner ran: tool, ref, counts by severity.";
    CiRun => "ci_run", "A CI workflow run or pipeline.";
    CheckRun => "check_run", "A check run or check suite.";
    GateDecision => "gate_decision", "A gate decided pass, pass-with-overrides or block.";
    Merge => "merge", "A change was merged into a branch.";
    Deploy => "deploy", "A deployment happened.";
    BranchProtection => "branch_protection", "Branch protection or ruleset configuration.";
    AlertDismissal => "alert_dismissal", "A dismissed code-scanning alert.";
    AdmissionPolicy => "admission_policy", "An admission policy and its mode.";
    AdmissionDecision => "admission_decision", "An admission or policy-report decision.";
    RuntimeAlert => "runtime_alert", "A runtime detection alert.";
    Remediation => "remediation", "A ticket tracking a fix, with its timestamps.";
    Incident => "incident", "An incident with acknowledge and resolve times.";
    AssetSnapshot => "asset_snapshot", "An inventory as observed at a time.";
    IamGrant => "iam_grant", "A permission granted to a person or principal.";
    TrainingRecord => "training_record", "A completed (or assigned) training.";
    Provenance => "provenance", "Build provenance and its signature verification.";
    Sbom => "sbom", "A software bill of materials.";
    ThreatModel => "threat_model", "A threat model of a service.";
    CalendarBlock => "calendar_block", "A block of protected time in a calendar.";
    Override => "override", "An entry of dsomm-audit's override registry.";
    Suppression => "suppression", "An inline suppression or ignore file entry.";
    Attestation => "attestation", "A manual attestation with document, attester and reviewer.";
}

impl std::fmt::Display for EvidenceKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What a record is about. Every field is optional; collectors fill what applies.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    /// Repository, as `owner/name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// Commit SHA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// Git ref (branch or tag).
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    /// Pull or merge request number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pull_request: Option<u64>,
    /// Service name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Deployment environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Artefact digest, `algorithm:hex`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    /// Container image reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Kubernetes namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// A person (e-mail address where known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub person: Option<String>,
    /// A team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// Where the value of `occurred_at` came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OccurredAtSource {
    /// The input itself states the time.
    Source,
    /// The operator gave it (`--occurred-at`).
    Flag,
    /// Nothing stated a time: the ingest time stands in, and the record says so.
    Ingested,
}

impl OccurredAtSource {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            OccurredAtSource::Source => "source",
            OccurredAtSource::Flag => "flag",
            OccurredAtSource::Ingested => "ingested",
        }
    }

    /// Parse a stable name.
    pub fn from_name(name: &str) -> Option<OccurredAtSource> {
        match name {
            "source" => Some(OccurredAtSource::Source),
            "flag" => Some(OccurredAtSource::Flag),
            "ingested" => Some(OccurredAtSource::Ingested),
            _ => None,
        }
    }
}

/// A position inside an input: a 1-based line or a JSON pointer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Locator {
    /// 1-based line number.
    Line(u64),
    /// RFC 6901 JSON pointer.
    Pointer(String),
}

/// Where a record came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceRef {
    /// The collector that parsed it (`sarif`, `evidence-ndjson`, ...).
    pub collector: String,
    /// The file path, URL or webhook delivery the bytes came from.
    pub origin: String,
    /// SHA-256 (hex) of the original bytes; also the key of the stored raw blob.
    pub sha256: String,
    /// 1-based line inside the original, when line-oriented.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// JSON pointer inside the original, when structured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
}

/// A record as a collector produces it, before the ledger numbers and stamps it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvidence {
    /// Kind of evidence.
    pub kind: EvidenceKind,
    /// When it happened or was observed; `None` when nothing said (then the ingest time stands in).
    pub occurred_at: Option<Timestamp>,
    /// Where `occurred_at` came from.
    pub occurred_at_source: OccurredAtSource,
    /// What it is about.
    pub subject: Subject,
    /// Where it came from.
    pub source: SourceRef,
    /// Normalised, kind-specific fields.
    pub attrs: Value,
}

impl Subject {
    /// Write the RFC 8785 text of the subject (fields in canonical order, absent ones omitted).
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        let fields: [(&str, Option<&str>); 12] = [
            ("artifact", self.artifact.as_deref()),
            ("commit", self.commit.as_deref()),
            ("environment", self.environment.as_deref()),
            ("host", self.host.as_deref()),
            ("image", self.image.as_deref()),
            ("namespace", self.namespace.as_deref()),
            ("person", self.person.as_deref()),
            ("pull_request", None),
            ("ref", self.git_ref.as_deref()),
            ("repo", self.repo.as_deref()),
            ("service", self.service.as_deref()),
            ("team", self.team.as_deref()),
        ];
        out.push(b'{');
        let mut first = true;
        for (name, value) in fields {
            let number = (name == "pull_request").then_some(self.pull_request).flatten();
            if value.is_none() && number.is_none() {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            write_string(name, out);
            out.push(b':');
            match (value, number) {
                (Some(text), _) => write_string(text, out),
                (None, Some(number)) => out.extend_from_slice(number.to_string().as_bytes()),
                (None, None) => {}
            }
        }
        out.push(b'}');
    }

    /// The RFC 8785 text of the subject.
    pub fn to_canonical_string(&self) -> String {
        let mut out = Vec::with_capacity(128);
        self.write_canonical(&mut out);
        crate::canonical::into_string(out)
    }
}

/// The parts of a [`SourceRef`], borrowed, as the ledger stores them
/// (the file-level parts once per file, the position per record).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceParts<'a> {
    /// Collector name.
    pub collector: &'a str,
    /// Origin (path, URL, delivery).
    pub origin: &'a str,
    /// SHA-256 (hex) of the original bytes.
    pub sha256: &'a str,
    /// 1-based line.
    pub line: Option<u64>,
    /// JSON pointer.
    pub pointer: Option<&'a str>,
}

impl SourceParts<'_> {
    /// Write the RFC 8785 text of the source.
    pub fn write_canonical(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"collector\":");
        write_string(self.collector, out);
        if let Some(line) = self.line {
            out.extend_from_slice(b",\"line\":");
            out.extend_from_slice(line.to_string().as_bytes());
        }
        out.extend_from_slice(b",\"origin\":");
        write_string(self.origin, out);
        if let Some(pointer) = self.pointer {
            out.extend_from_slice(b",\"pointer\":");
            write_string(pointer, out);
        }
        out.extend_from_slice(b",\"sha256\":");
        write_string(self.sha256, out);
        out.push(b'}');
    }
}

impl SourceRef {
    /// Borrow the parts.
    pub fn parts(&self) -> SourceParts<'_> {
        SourceParts {
            collector: &self.collector,
            origin: &self.origin,
            sha256: &self.sha256,
            line: self.line,
            pointer: self.pointer.as_deref(),
        }
    }
}

/// A record canonicalised and hashed, ready for the ledger's writer.
/// Building it is the expensive, parallelisable part of ingest and needs no
/// database; collectors that stream build it directly from their input text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalRecord {
    /// Kind of evidence.
    pub kind: EvidenceKind,
    /// Fixed-width time, or `None` when the ingest time must stand in.
    pub occurred_at: Option<String>,
    /// Where the time came from (`Ingested` exactly when `occurred_at` is `None`).
    pub occurred_at_source: OccurredAtSource,
    /// RFC 8785 text of the subject.
    pub subject: String,
    /// Where it came from.
    pub source: SourceRef,
    /// RFC 8785 text of the attributes.
    pub attrs: String,
    /// SHA-256 state over the leaf's id-independent prefix (see
    /// [`LeafState`]): its content key is the dedup key, and the writer
    /// finishes the leaf hash with one more block once it knows the id.
    pub leaf_state: LeafState,
}

/// SHA-256 state over `0x00 || {"content":<content>` (see [`leaf_encoding`]).
#[derive(Clone)]
pub struct LeafState(Sha256);

impl LeafState {
    /// Hash the id-independent prefix of a record's leaf.
    pub fn new(content: &[u8]) -> LeafState {
        let mut hasher = Sha256::new();
        hasher.update([0u8]);
        hasher.update(LEAF_PREFIX);
        hasher.update(content);
        LeafState(hasher)
    }

    /// The content key: SHA-256 of `0x00 || {"content":<content>` — a hash of
    /// the canonical content alone (no id, no ingest time), used to deduplicate.
    pub fn content_key(&self) -> [u8; 32] {
        self.0.clone().finalize().into()
    }

    /// The RFC 6962 leaf hash of the record at `id`: `SHA-256(0x00 || leaf_encoding)`.
    pub fn leaf_hash(&self, id: u64) -> [u8; 32] {
        let mut hasher = self.0.clone();
        hasher.update(b",\"id\":");
        hasher.update(id.to_string().as_bytes());
        hasher.update(b"}");
        hasher.finalize().into()
    }
}

impl std::fmt::Debug for LeafState {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("LeafState")
    }
}

/// Leaf states are equal when they hash the same bytes, which their content
/// keys show.
impl PartialEq for LeafState {
    fn eq(&self, other: &LeafState) -> bool {
        self.content_key() == other.content_key()
    }
}

impl Eq for LeafState {}

const LEAF_PREFIX: &[u8] = b"{\"content\":";

impl CanonicalRecord {
    /// Assemble a record from canonical parts, computing its content hash.
    /// `scratch` is reused between calls.
    pub fn new(
        kind: EvidenceKind,
        occurred_at: Option<Timestamp>,
        occurred_at_source: OccurredAtSource,
        subject: String,
        source: SourceRef,
        attrs: String,
        scratch: &mut Vec<u8>,
    ) -> CanonicalRecord {
        let occurred_at = match occurred_at_source {
            OccurredAtSource::Ingested => None,
            _ => occurred_at.map(crate::time::format_time),
        };
        let occurred_at_source = if occurred_at.is_none() {
            OccurredAtSource::Ingested
        } else {
            occurred_at_source
        };
        scratch.clear();
        canonical_content(
            kind.as_str(),
            occurred_at.as_deref(),
            occurred_at_source.as_str(),
            source.parts(),
            subject.as_bytes(),
            attrs.as_bytes(),
            scratch,
        );
        CanonicalRecord {
            kind,
            occurred_at,
            occurred_at_source,
            subject,
            source,
            attrs,
            leaf_state: LeafState::new(scratch),
        }
    }

    /// The SHA-256 state over the leaf's id-independent prefix: its
    /// [`LeafState::content_key`] is the dedup key, and
    /// [`LeafState::leaf_hash`] finishes the leaf once the id is known.
    pub fn leaf_state(&self) -> LeafState {
        self.leaf_state.clone()
    }

    /// The same record naming another SHA-256 for its source (for records
    /// parsed before their input's digest was known); the content is rebuilt
    /// and re-hashed.
    pub fn with_source_sha256(mut self, sha256: &str, scratch: &mut Vec<u8>) -> CanonicalRecord {
        self.source.sha256 = sha256.to_string();
        scratch.clear();
        canonical_content(
            self.kind.as_str(),
            self.occurred_at.as_deref(),
            self.occurred_at_source.as_str(),
            self.source.parts(),
            self.subject.as_bytes(),
            self.attrs.as_bytes(),
            scratch,
        );
        self.leaf_state = LeafState::new(scratch);
        self
    }

    /// The record as a collector's record again (parses the canonical texts).
    pub fn to_evidence(&self) -> Result<NewEvidence, String> {
        let occurred_at = match &self.occurred_at {
            Some(text) => Some(text.parse().map_err(|error| format!("occurred_at: {error}"))?),
            None => None,
        };
        Ok(NewEvidence {
            kind: self.kind,
            occurred_at,
            occurred_at_source: self.occurred_at_source,
            subject: serde_json::from_str(&self.subject).map_err(|error| format!("subject: {error}"))?,
            source: self.source.clone(),
            attrs: serde_json::from_str(&self.attrs).map_err(|error| format!("attrs: {error}"))?,
        })
    }

    /// Canonicalise a collector's record.
    pub fn from_evidence(evidence: &NewEvidence, scratch: &mut Vec<u8>) -> CanonicalRecord {
        CanonicalRecord::new(
            evidence.kind,
            evidence.occurred_at,
            evidence.occurred_at_source,
            evidence.subject.to_canonical_string(),
            evidence.source.clone(),
            to_canonical_string(&evidence.attrs),
            scratch,
        )
    }
}

/// A record as stored in the ledger.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evidence {
    /// Ledger sequence number, also the Merkle leaf index (0-based).
    pub id: u64,
    /// Kind of evidence.
    pub kind: EvidenceKind,
    /// When it happened or was observed (UTC); the ingest time when `occurred_at_source` is `ingested`.
    pub occurred_at: Timestamp,
    /// Where `occurred_at` came from.
    pub occurred_at_source: OccurredAtSource,
    /// When the ledger received it.
    pub ingested_at: Timestamp,
    /// What it is about.
    pub subject: Subject,
    /// Where it came from.
    pub source: SourceRef,
    /// Normalised, kind-specific fields.
    pub attrs: Value,
    /// RFC 6962 leaf hash (hex).
    pub leaf_hash: String,
}

/// The canonical content of a record: RFC 8785 JSON of
/// `{attrs, kind, occurred_at, occurred_at_source, source, subject}`, with
/// `occurred_at` null when the ingest time stands in. It excludes the id and the
/// ingest time, so the same input always has the same content (the dedup key).
///
/// Subject and attributes are passed as their canonical texts and the source
/// as its parts; the result is built by concatenation so that `verify` can
/// rebuild it from stored columns without re-parsing JSON. The bytes are
/// appended to `out`.
pub fn canonical_content(
    kind: &str,
    occurred_at: Option<&str>,
    occurred_at_source: &str,
    source: SourceParts<'_>,
    subject_json: &[u8],
    attrs_json: &[u8],
    out: &mut Vec<u8>,
) {
    out.extend_from_slice(b"{\"attrs\":");
    out.extend_from_slice(attrs_json);
    out.extend_from_slice(b",\"kind\":");
    write_string(kind, out);
    out.extend_from_slice(b",\"occurred_at\":");
    match occurred_at {
        Some(time) => write_string(time, out),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"occurred_at_source\":");
    write_string(occurred_at_source, out);
    out.extend_from_slice(b",\"source\":");
    source.write_canonical(out);
    out.extend_from_slice(b",\"subject\":");
    out.extend_from_slice(subject_json);
    out.push(b'}');
}

/// The content key of canonical content (see [`LeafState::content_key`]).
pub fn content_sha256(content: &[u8]) -> [u8; 32] {
    LeafState::new(content).content_key()
}

/// The leaf of a record: RFC 8785 JSON of `{"content": <canonical content>,
/// "id": <leaf index>}`, binding the content to its position; the Merkle leaf
/// hash is `SHA-256(0x00 || leaf)`. The prefix before `,"id"` does not depend on
/// the id, so one pass over the content yields both the content key and (with
/// one more block) the leaf hash. The ingest time is bound by the signed
/// checkpoint of the batch that added the record (its `time` line), and a
/// record without a time of its own has the ingest time as `occurred_at`.
pub fn leaf_encoding(content: &[u8], id: u64, out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(LEAF_PREFIX);
    out.extend_from_slice(content);
    out.extend_from_slice(b",\"id\":");
    out.extend_from_slice(id.to_string().as_bytes());
    out.push(b'}');
}

/// A problem found while reading an input: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The input file (or origin).
    pub file: String,
    /// 1-based line, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// JSON pointer, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// What was wrong.
    pub message: String,
    /// The input concerned still landed: a note, not a rejection.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub warning: bool,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}", self.file)?;
        if let Some(line) = self.line {
            write!(formatter, ":{line}")?;
        }
        if let Some(pointer) = &self.pointer {
            write!(formatter, " at {pointer}")?;
        }
        if self.warning {
            write!(formatter, ": warning")?;
        }
        write!(formatter, ": {}", self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_round_trip_their_names() {
        for kind in EvidenceKind::ALL {
            assert_eq!(EvidenceKind::from_name(kind.as_str()), Some(*kind));
            assert_eq!(serde_json::to_value(kind).ok(), Some(json!(kind.as_str())));
        }
        assert_eq!(EvidenceKind::ALL.len(), 24);
    }

    #[test]
    fn canonical_content_equals_rfc8785_of_the_whole() {
        let evidence = NewEvidence {
            kind: EvidenceKind::ScanReport,
            occurred_at: None,
            occurred_at_source: OccurredAtSource::Ingested,
            subject: Subject {
                repo: Some("acme/api".into()),
                git_ref: Some("main".into()),
                ..Subject::default()
            },
            source: SourceRef {
                collector: "sarif".into(),
                origin: "a \"b\".sarif".into(),
                sha256: "00".into(),
                line: None,
                pointer: Some("/runs/0".into()),
            },
            attrs: json!({"tool": "semgrep", "counts": {"high": 2}}),
        };
        let mut built = Vec::new();
        let record = CanonicalRecord::from_evidence(&evidence, &mut built);
        assert_eq!(record.leaf_state().content_key(), content_sha256(&built));
        let whole = json!({
            "attrs": evidence.attrs,
            "kind": "scan_report",
            "occurred_at": null,
            "occurred_at_source": "ingested",
            "source": evidence.source,
            "subject": evidence.subject,
        });
        assert_eq!(String::from_utf8(built).ok(), Some(to_canonical_string(&whole)));
    }

    #[test]
    fn manual_canonical_writers_match_rfc8785() {
        let full = Subject {
            repo: Some("acme/\"api\"".into()),
            commit: Some("abc".into()),
            git_ref: Some("main".into()),
            pull_request: Some(42),
            service: Some("s".into()),
            environment: Some("prod".into()),
            artifact: Some("sha256:00".into()),
            image: Some("img".into()),
            namespace: Some("ns".into()),
            host: Some("h".into()),
            person: Some("p@x".into()),
            team: Some("t".into()),
        };
        for subject in [Subject::default(), full] {
            let value = serde_json::to_value(&subject).unwrap_or(Value::Null);
            assert_eq!(subject.to_canonical_string(), to_canonical_string(&value));
        }
        let source = SourceRef {
            collector: "sarif".into(),
            origin: "dir/a\u{1}.sarif".into(),
            sha256: "ff".into(),
            line: Some(3),
            pointer: Some("/runs/0".into()),
        };
        let mut out = Vec::new();
        source.parts().write_canonical(&mut out);
        let value = serde_json::to_value(&source).unwrap_or(Value::Null);
        assert_eq!(String::from_utf8_lossy(&out), to_canonical_string(&value));
    }

    #[test]
    fn leaf_encoding_is_canonical_json_and_matches_the_leaf_state() {
        let content = to_canonical_vec(&json!({"attrs": {"a": 1}, "kind": "deploy", "occurred_at": null}));
        let mut out = Vec::new();
        leaf_encoding(&content, 7, &mut out);
        let parsed: Value = serde_json::from_slice(&out).unwrap_or(Value::Null);
        assert_eq!(parsed["id"], json!(7));
        assert_eq!(to_canonical_string(&parsed).into_bytes(), out);
        let mut preimage = vec![0u8];
        preimage.extend_from_slice(&out);
        let expected: [u8; 32] = Sha256::digest(&preimage).into();
        assert_eq!(LeafState::new(&content).leaf_hash(7), expected);
        assert_ne!(LeafState::new(&content).leaf_hash(8), expected);
    }
}
