//! `dsomm-audit override`: add, list, revoke and extend overrides, and their
//! statistics. Each change is a new `override` record in the ledger (nothing is
//! edited in place); the rules live in the `policy` crate.

use std::collections::BTreeMap;

use anyhow::{Result, anyhow, bail};
use jiff::Timestamp;
use ledger::{Ledger, Query};
use model::{CanonicalRecord, Evidence, EvidenceKind, NewEvidence, OccurredAtSource, SourceRef, Subject};
use policy::{OverrideRequest, OverrideState, Status};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A record that dsomm-audit itself makes (an override change, a gate
/// decision): its canonical attributes are kept as its raw blob, so it has its
/// original bytes like any other evidence. The blob is stored now; the record
/// is returned for the caller to append.
pub fn own_record(
    ledger: &Ledger,
    kind: EvidenceKind,
    collector: &str,
    origin: &str,
    subject: Subject,
    attrs: Value,
    now: Timestamp,
) -> Result<NewEvidence> {
    let raw = model::canonical::to_canonical_vec(&attrs);
    let digest: [u8; 32] = Sha256::digest(&raw).into();
    ledger.store_blob(&digest, origin, raw.as_slice())?;
    Ok(NewEvidence {
        kind,
        occurred_at: Some(now),
        occurred_at_source: OccurredAtSource::Source,
        subject,
        source: SourceRef {
            collector: collector.into(),
            origin: origin.into(),
            sha256: hex::encode(digest),
            line: None,
            pointer: None,
        },
        attrs,
    })
}

/// Record one `override` change.
pub fn record_change(
    ledger: &mut Ledger,
    action: &str,
    repo: Option<String>,
    attrs: Value,
    now: Timestamp,
) -> Result<u64> {
    let subject = Subject {
        repo,
        ..Subject::default()
    };
    let origin = format!("dsomm-audit override {action}");
    let evidence = own_record(ledger, EvidenceKind::Override, "override", &origin, subject, attrs, now)?;
    let record = CanonicalRecord::from_evidence(&evidence, &mut Vec::new());
    let appended = ledger.append(std::slice::from_ref(&record))?;
    if appended.added != 1 {
        bail!("the ledger already holds this exact override change");
    }
    Ok(appended.tree_size - 1)
}

/// Every `override` record in the ledger.
pub fn override_records(ledger: &Ledger) -> Result<Vec<Evidence>> {
    Ok(ledger.query(&Query {
        kinds: vec![EvidenceKind::Override],
        ..Query::default()
    })?)
}

/// The state of every override at `now`.
pub fn states(ledger: &Ledger, now: Timestamp, max_days: i64) -> Result<Vec<OverrideState>> {
    Ok(policy::fold(&override_records(ledger)?, now, max_days))
}

/// `override add`: validate, then record.
pub fn add(ledger: &mut Ledger, request: &OverrideRequest, now: Timestamp, max_days: i64) -> Result<u64> {
    if let Err(problems) = policy::validate_add(request, now, max_days) {
        bail!("override refused:\n  - {}", problems.join("\n  - "));
    }
    record_change(
        ledger,
        "add",
        request.repo.clone(),
        policy::add_attrs(request, now),
        now,
    )
}

fn find(states: &[OverrideState], id: u64) -> Result<&OverrideState> {
    states
        .iter()
        .find(|state| state.id == id)
        .ok_or_else(|| anyhow!("no override with id {id} (see `dsomm-audit override list --all`)"))
}

/// `override revoke ID --reason TEXT`.
pub fn revoke(ledger: &mut Ledger, id: u64, reason: &str, now: Timestamp, max_days: i64) -> Result<u64> {
    let all = states(ledger, now, max_days)?;
    let state = find(&all, id)?;
    if state.revoked.is_some() {
        bail!("override {id} is already revoked");
    }
    if reason.trim().is_empty() {
        bail!("a revocation needs a reason (--reason)");
    }
    record_change(
        ledger,
        "revoke",
        state.repo.clone(),
        policy::revoke_attrs(id, reason),
        now,
    )
}

/// `override extend ID --sunset DATE --approver WHO`: a new review.
pub fn extend(
    ledger: &mut Ledger,
    id: u64,
    sunset: Option<Timestamp>,
    approver: &str,
    now: Timestamp,
    max_days: i64,
) -> Result<u64> {
    let all = states(ledger, now, max_days)?;
    let state = find(&all, id)?;
    if let Err(problems) = policy::validate_extend(state, approver, sunset, now, max_days) {
        bail!("extension refused:\n  - {}", problems.join("\n  - "));
    }
    let sunset = sunset.ok_or_else(|| anyhow!("an extension needs a sunset (--sunset)"))?;
    record_change(
        ledger,
        "extend",
        state.repo.clone(),
        policy::extend_attrs(id, sunset, approver),
        now,
    )
}

/// Which overrides `override list` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Active only.
    Active,
    /// Expired only.
    Expired,
    /// Every override, revoked ones included.
    All,
}

/// `override list`.
pub fn list(ledger: &Ledger, listing: Listing, now: Timestamp, max_days: i64) -> Result<Vec<OverrideState>> {
    Ok(states(ledger, now, max_days)?
        .into_iter()
        .filter(|state| match listing {
            Listing::Active => state.status == Status::Active,
            Listing::Expired => state.status == Status::Expired,
            Listing::All => true,
        })
        .collect())
}

/// `override stats`: volume over time and discipline, registry and
/// undisciplined paths (inline suppressions, dismissed alerts, results
/// suppressed inside scanner output) together.
#[derive(Debug, Clone, Serialize)]
pub struct Stats {
    /// When the figures hold.
    pub as_of: String,
    /// Overrides in the registry, by status.
    pub registry: BTreeMap<String, u64>,
    /// Registry overrides that are not disciplined.
    pub registry_undisciplined: u64,
    /// Suppressions found in code and ignore files (never disciplined).
    pub suppressions: u64,
    /// Dismissed code-scanning alerts (never disciplined).
    pub alert_dismissals: u64,
    /// Results suppressed inside scanner output (SARIF `suppressions`, Trivy and
    /// Grype ignore rules), summed over the scan reports in the ledger (never disciplined).
    pub scanner_suppressed: u64,
    /// Share of all overrides (registry, suppressions, dismissals) that are undisciplined.
    pub share_undisciplined: f64,
    /// The oldest active registry override.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_active: Option<Value>,
    /// Expired, not revoked registry overrides: their owners should act.
    pub expired_not_revoked: Vec<u64>,
    /// Of those, the ones a gate run found still matching a finding.
    pub expired_still_matching: Vec<u64>,
    /// New overrides per month (`YYYY-MM`), per path.
    pub by_month: BTreeMap<String, BTreeMap<String, u64>>,
}

/// Compute `override stats` at `now`.
pub fn stats(ledger: &Ledger, now: Timestamp, max_days: i64) -> Result<Stats> {
    let registry_states = states(ledger, now, max_days)?;
    let others = ledger.query(&Query {
        kinds: vec![EvidenceKind::Suppression, EvidenceKind::AlertDismissal],
        to: Some(now),
        ..Query::default()
    })?;
    let scans_and_gates = ledger.query(&Query {
        kinds: vec![EvidenceKind::ScanReport, EvidenceKind::GateDecision],
        to: Some(now),
        ..Query::default()
    })?;
    let mut scanner_suppressed = 0u64;
    let mut named_expired: std::collections::BTreeSet<u64> = std::collections::BTreeSet::new();
    for record in &scans_and_gates {
        if record.kind == EvidenceKind::ScanReport {
            scanner_suppressed += record.attrs.get("suppressed").and_then(Value::as_u64).unwrap_or(0);
        } else if let Some(unusable) = record.attrs.get("unusable_overrides").and_then(Value::as_array) {
            for entry in unusable {
                if entry
                    .get("why")
                    .and_then(Value::as_str)
                    .is_some_and(|why| why.starts_with("expired"))
                {
                    named_expired.extend(entry.get("override_id").and_then(Value::as_u64));
                }
            }
        }
    }
    let mut registry: BTreeMap<String, u64> = BTreeMap::new();
    let mut by_month: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for state in &registry_states {
        let status = serde_json::to_value(state.status)?
            .as_str()
            .unwrap_or("unknown")
            .to_string();
        *registry.entry(status).or_default() += 1;
        let month = state.created.get(..7).unwrap_or("unknown").to_string();
        *by_month.entry(month).or_default().entry("registry".into()).or_default() += 1;
    }
    let mut suppressions = 0u64;
    let mut alert_dismissals = 0u64;
    for record in &others {
        let path = if record.kind == EvidenceKind::Suppression {
            suppressions += 1;
            "suppression"
        } else {
            alert_dismissals += 1;
            "alert_dismissal"
        };
        let month = model::time::format_time(record.occurred_at)
            .get(..7)
            .unwrap_or("unknown")
            .to_string();
        *by_month.entry(month).or_default().entry(path.into()).or_default() += 1;
    }
    let registry_undisciplined = registry_states.iter().filter(|state| !state.disciplined).count() as u64;
    let total = registry_states.len() as u64 + suppressions + alert_dismissals + scanner_suppressed;
    let undisciplined = registry_undisciplined + suppressions + alert_dismissals + scanner_suppressed;
    let share_undisciplined = if total == 0 {
        0.0
    } else {
        (undisciplined as f64 / total as f64 * 1000.0).round() / 1000.0
    };
    let oldest_active = registry_states
        .iter()
        .filter(|state| state.status == Status::Active)
        .min_by(|left, right| left.created.cmp(&right.created))
        .map(|state| json!({"id": state.id, "rule": state.rule, "owner": state.owner, "created": state.created, "sunset": state.sunset}));
    let expired_not_revoked: Vec<u64> = registry_states
        .iter()
        .filter(|state| state.status == Status::Expired)
        .map(|state| state.id)
        .collect();
    let expired_still_matching = expired_not_revoked
        .iter()
        .copied()
        .filter(|id| named_expired.contains(id))
        .collect();
    Ok(Stats {
        as_of: model::time::format_time(now),
        registry,
        registry_undisciplined,
        suppressions,
        alert_dismissals,
        scanner_suppressed,
        share_undisciplined,
        oldest_active,
        expired_not_revoked,
        expired_still_matching,
        by_month,
    })
}
