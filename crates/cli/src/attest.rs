//! `dsomm-audit attest`: a manual attestation of one DSOMM activity for one
//! team, recorded as an `attestation` record through the ledger. A document
//! given as a file is hashed (SHA-256) and stored as a raw blob; a URL is
//! recorded as given. Activities that no machine source can show get their
//! evidence this way (DESIGN.md section 5, archetype `manual`).

use std::path::Path;

use anyhow::{Context as _, Result, bail};
use jiff::Timestamp;
use ledger::Ledger;
use model::{CanonicalRecord, EvidenceKind, Subject};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::overrides::own_record;

/// What the operator attests.
#[derive(Debug, Clone)]
pub struct AttestRequest {
    /// `--activity`: the activity's uuid in the DSOMM catalogue.
    pub activity: String,
    /// `--team`.
    pub team: String,
    /// `--document`: a file path or an `http(s)://` URL.
    pub document: String,
    /// `--attested-by`.
    pub attested_by: String,
    /// `--reviewed-by`.
    pub reviewed_by: Option<String>,
    /// `--date`: the document's date.
    pub date: Option<Timestamp>,
    /// `--note`.
    pub note: Option<String>,
}

/// The recorded attestation.
#[derive(Debug, Clone)]
pub struct Attested {
    /// The record's id in the ledger.
    pub id: u64,
    /// The activity's name in the catalogue.
    pub activity_name: String,
    /// The record's attributes.
    pub attrs: Value,
}

/// Check the request, store the document's bytes (a file) and append one
/// `attestation` record. Unknown activities, empty names and unreadable or
/// oversized documents are refused before anything is written.
pub fn attest(
    ledger: &mut Ledger,
    request: &AttestRequest,
    limits: &collect::Limits,
    now: Timestamp,
) -> Result<Attested> {
    let catalogue = model::catalogue::Catalogue::embedded()?;
    let activity = request.activity.trim();
    let Some(found) = catalogue.activity_by_uuid(activity) else {
        bail!(
            "unknown activity `{activity}`: it is not in the DSOMM activity catalogue (model {}); \
             `dsomm-audit model` lists the activities",
            catalogue.version
        );
    };
    for (flag, value) in [("--team", &request.team), ("--attested-by", &request.attested_by)] {
        if value.trim().is_empty() {
            bail!("{flag} is empty");
        }
    }
    let reviewer = request
        .reviewed_by
        .as_deref()
        .map(str::trim)
        .filter(|reviewer| !reviewer.is_empty());
    let document = request.document.trim();
    if document.is_empty() {
        bail!("--document is empty");
    }
    let is_url = document.starts_with("https://") || document.starts_with("http://");
    let (document_kind, sha256, size) = if is_url {
        ("url", None, None)
    } else {
        let path = Path::new(document);
        let metadata = std::fs::metadata(path).with_context(|| format!("--document {document}: cannot read"))?;
        if !metadata.is_file() {
            bail!("--document {document} is not a file (give a file or an http(s) URL)");
        }
        if metadata.len() > limits.max_document_bytes {
            bail!(
                "--document {document}: {} bytes exceeds the document limit of {} bytes ([limits] max_document_bytes)",
                metadata.len(),
                limits.max_document_bytes
            );
        }
        // Checked again as it is read: a file swapped for a FIFO or grown since is refused.
        let bytes = crate::files::read_limited(path, limits.max_document_bytes)
            .map_err(|error| anyhow::anyhow!("--document {error}"))?;
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        let origin =
            std::fs::canonicalize(path).map_or_else(|_| document.to_string(), |full| crate::files::path_text(&full));
        ledger.store_blob(&digest, &origin, bytes.as_slice())?;
        ("file", Some(hex::encode(digest)), Some(bytes.len()))
    };
    let attrs = json!({
        "activity": found.uuid,
        "activity_name": found.name,
        "team": request.team.trim(),
        "attester": request.attested_by.trim(),
        "reviewer": reviewer,
        "document": document,
        "document_kind": document_kind,
        "document_sha256": sha256,
        "document_bytes": size,
        "document_date": request.date.map(model::time::format_time),
        "note": request.note.as_deref().map(str::trim).filter(|note| !note.is_empty()),
    });
    let subject = Subject {
        team: Some(request.team.trim().to_string()),
        ..Subject::default()
    };
    let evidence = own_record(
        ledger,
        EvidenceKind::Attestation,
        "attest",
        "dsomm-audit attest",
        subject,
        attrs.clone(),
        now,
    )?;
    let record = CanonicalRecord::from_evidence(&evidence, &mut Vec::new());
    let appended = ledger.append(std::slice::from_ref(&record))?;
    if appended.added != 1 {
        bail!("the ledger already holds this exact attestation");
    }
    Ok(Attested {
        id: appended.tree_size - 1,
        activity_name: found.name.clone(),
        attrs,
    })
}
