//! Probes: pure functions from an evidence view (a team's records as of a
//! time, a look-back window, thresholds) to a fact — `true`, `false` or
//! `not-available` — with the ids of the records it rests on and a message.
//! A probe never guesses: when the evidence kinds it needs are absent it
//! answers `not-available` and names them. Every probe is registered once in
//! [`REGISTRY`] and documented in docs/probes.md.

mod view;

pub mod gate;
pub mod org;
pub mod runtime;

pub use view::{Scope, Thresholds, View, categories_of_tool};

use model::{Evidence, EvidenceKind};
use serde::Serialize;
use serde_json::Value;

/// A probe's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The condition holds.
    True,
    /// The evidence shows it does not.
    False,
    /// The evidence needed is not in the ledger.
    NotAvailable,
}

impl Outcome {
    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::True => "true",
            Outcome::False => "false",
            Outcome::NotAvailable => "not-available",
        }
    }
}

/// A probe's answer with what it rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fact {
    /// The probe's id.
    pub probe: &'static str,
    /// The answer.
    pub outcome: Outcome,
    /// A sentence an auditor can read, naming files, lines, counts and dates.
    pub message: String,
    /// Ledger ids of the records the answer rests on (sorted, unique).
    pub evidence: Vec<u64>,
}

impl Fact {
    /// A fact; the evidence ids are sorted and deduplicated.
    pub fn new(probe: &'static str, outcome: Outcome, message: impl Into<String>, mut evidence: Vec<u64>) -> Fact {
        evidence.sort_unstable();
        evidence.dedup();
        evidence.truncate(MAX_CITED);
        Fact {
            probe,
            outcome,
            message: message.into(),
            evidence,
        }
    }
}

/// Most evidence ids one fact cites (the message gives the full counts).
pub const MAX_CITED: usize = 50;

/// Parameters an activity gives its probes (from the rubric).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    /// Scanner categories that count for a gate activity (`sast`, `sca`, ...).
    pub categories: Vec<String>,
    /// The activity's uuid (manual attestations name it).
    pub activity: String,
}

/// A registered probe.
pub struct Probe {
    /// Kebab-case id phrased as a yes/no question.
    pub id: &'static str,
    /// The question in words.
    pub question: &'static str,
    /// The evidence kinds it reads.
    pub kinds: &'static [EvidenceKind],
    /// What to do when it is false.
    pub remediation: &'static str,
    /// Rough effort to make it true, in weeks.
    pub effort_weeks: u32,
    /// The probe itself.
    pub run: fn(&View<'_>, &Params) -> Fact,
}

impl std::fmt::Debug for Probe {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Probe").field("id", &self.id).finish()
    }
}

/// Every probe, one registration line each.
pub static REGISTRY: &[&Probe] = &[
    &gate::SCANNER_RAN,
    &gate::GATE_CAN_BLOCK,
    &gate::GATE_BLOCKS_ON_COVERAGE,
    &gate::GATE_BLOCK_OBSERVED,
    &gate::OVERRIDES_DISCIPLINED,
    &gate::EVIDENCE_COVERS_LOOKBACK,
    &gate::OVERRIDE_VOLUME_TREND,
    &gate::PIPELINE_CONFIGS_RECORDED,
    &gate::SCAN_RESULTS_RECORDED,
    &gate::FINDINGS_TRIAGED,
    &gate::CI_RUNS_RECORDED,
    &gate::BRANCH_PROTECTION_REQUIRES_CHECKS,
    &gate::BRANCH_PROTECTION_ENFORCED_FOR_ADMINS,
    &runtime::RUNTIME_ALERTS_EXIST,
    &runtime::ALERTS_ROUTED_TO_TICKETS,
    &runtime::ALERTS_REMEDIATED_WITHIN_SLA,
    &runtime::REMEDIATION_TIME_TREND,
    &runtime::INCIDENTS_RECORDED,
    &runtime::INCIDENT_RESPONSE_TIMED,
    &runtime::ARTEFACTS_SIGNED,
    &runtime::PROD_ARTEFACTS_VERIFIED,
    &runtime::ADMISSION_VERIFIES_IN_ENFORCE,
    &runtime::ADMISSION_OBSERVED_FOR_LATEST,
    &runtime::PROVENANCE_CONTINUOUS,
    &runtime::ADMISSION_POLICIES_EXIST,
    &runtime::ADMISSION_POLICIES_ENFORCE,
    &runtime::SBOM_EXISTS,
    &runtime::SBOM_FOR_PROD_ARTEFACTS,
    &runtime::DEPLOYS_RECORDED,
    &runtime::DEPLOYS_AUTOMATED,
    &org::INVENTORY_EXISTS,
    &org::INVENTORY_REFRESHED,
    &org::INVENTORY_RECONSTRUCTABLE,
    &org::SERVICES_OWNED_AND_REVIEWED,
    &org::INVENTORY_DRIFT_TRACKED,
    &org::TRAINING_RECORDS_EXIST,
    &org::TRAINING_COVERAGE,
    &org::ELEVATED_ACCESS_TRAINED,
    &org::TRAINING_TREND,
    &org::IAM_GRANTS_RECORDED,
    &org::ELEVATED_ACCESS_REVIEWED,
    &org::CHAMPION_TIME_PROTECTED,
    &org::CHAMPION_TIME_HONOURED,
    &org::THREAT_MODEL_EXISTS,
    &org::THREAT_MODELS_FOR_SERVICES,
    &org::THREAT_MODEL_BEFORE_DEPLOY,
    &org::THREAT_MODELS_REVISITED,
    &org::ATTESTED,
    &org::ATTESTATION_REVIEWED,
];

/// The probe with this id.
pub fn probe(id: &str) -> Option<&'static Probe> {
    REGISTRY.iter().copied().find(|probe| probe.id == id)
}

/// Run probe `id`; an unknown id is a `not-available` fact saying so.
pub fn run(id: &str, view: &View<'_>, params: &Params) -> Fact {
    match probe(id) {
        Some(probe) => (probe.run)(view, params),
        None => Fact::new(
            "unknown",
            Outcome::NotAvailable,
            format!("no probe named `{id}`"),
            Vec::new(),
        ),
    }
}

/// Whether an environment or lifecycle name means production: one of its
/// words (split at anything not a letter or digit) is `prod`, `production`
/// or `prd`, and none is `non` or `pre` (`non-prod`). So `prod-eu-1` and
/// `Production` are production; `preprod`, `nonprod`, `non-prod` and
/// `product-demo` are not.
pub fn is_production_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let words: Vec<&str> = lower
        .split(|character: char| !character.is_ascii_alphanumeric())
        .filter(|word| !word.is_empty())
        .collect();
    words.iter().any(|word| matches!(*word, "prod" | "production" | "prd"))
        && !words.iter().any(|word| matches!(*word, "non" | "pre"))
}

/// A text attribute.
pub(crate) fn text<'a>(record: &'a Evidence, key: &str) -> Option<&'a str> {
    record.attrs.get(key).and_then(Value::as_str)
}

/// A time attribute (RFC 3339 or a date).
pub(crate) fn time_attr(record: &Evidence, key: &str) -> Option<jiff::Timestamp> {
    text(record, key).and_then(|value| model::time::parse_time(value).ok())
}

/// "Some record of `kind` exists" (in the window, or at all).
pub(crate) fn exists(id: &'static str, view: &View<'_>, kind: EvidenceKind, in_window: bool, what: &str) -> Fact {
    let found: Vec<u64> = if in_window {
        view.in_window(kind).map(|record| record.id).collect()
    } else {
        view.all(kind).map(|record| record.id).collect()
    };
    if found.is_empty() {
        let outcome = if view.has(kind) {
            Outcome::False
        } else {
            Outcome::NotAvailable
        };
        let scope = if in_window {
            format!(" in the last {} days", view.thresholds.lookback_days)
        } else {
            String::new()
        };
        return Fact::new(id, outcome, format!("no {what} ({kind} evidence){scope}"), Vec::new());
    }
    Fact::new(id, Outcome::True, format!("{} {what} recorded", found.len()), found)
}
