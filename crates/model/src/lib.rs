//! Plain domain types shared by every dsomm-audit crate: evidence records, subjects,
//! severities, the canonical JSON encoding, the DSOMM model and the activity catalogue.
//!
//! Nothing here touches the disk or the network; parsing functions take bytes.

pub mod canonical;
pub mod catalogue;
pub mod dsomm;
pub mod evidence;
pub mod severity;
pub mod time;
pub mod yaml;

pub use evidence::{
    CanonicalRecord, Diagnostic, Evidence, EvidenceKind, Locator, NewEvidence, OccurredAtSource, SourceRef, Subject,
};
pub use severity::Severity;
