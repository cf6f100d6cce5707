//! The auditor's sample: N claimed activities, seeded and reproducible,
//! weighted toward claims at grade 3 and above, each confirmed or refuted with
//! the evidence or its absence.

use crate::{ActivityGrade, TeamAssessment};
use serde::Serialize;

/// One sampled activity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sampled {
    /// The activity.
    pub uuid: String,
    /// Its name.
    pub name: String,
    /// Sub-dimension.
    pub subdimension: String,
    /// The claimed grade.
    pub claimed_grade: u8,
    /// The grade the evidence shows.
    pub grade: u8,
    /// `confirmed` or `refuted`.
    pub verdict: &'static str,
    /// The evidence (when confirmed) or what is missing (when refuted).
    pub because: Vec<String>,
    /// Records cited.
    pub evidence: Vec<u64>,
}

/// The sample of one team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sample {
    /// The team.
    pub team: String,
    /// The seed used.
    pub seed: u64,
    /// The sampled activities.
    pub items: Vec<Sampled>,
    /// The auditor's summary line.
    pub summary: String,
}

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut value = self.0;
        value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        value ^ (value >> 31)
    }
}

/// Sample `n` claimed activities of a team.
pub fn sample(team: &TeamAssessment, n: usize, seed: u64) -> Sample {
    let mut pool: Vec<&ActivityGrade> = team
        .activities
        .iter()
        .filter(|activity| activity.claimed_grade.is_some_and(|grade| grade >= 1))
        .collect();
    let mut rng = Rng(seed);
    let mut items = Vec::new();
    while items.len() < n && !pool.is_empty() {
        let weights: Vec<u64> = pool
            .iter()
            .map(|activity| if activity.claimed_grade.unwrap_or(0) >= 3 { 3 } else { 1 })
            .collect();
        let total: u64 = weights.iter().sum();
        let mut pick = rng.next() % total;
        let mut index = 0;
        for (position, weight) in weights.iter().enumerate() {
            if pick < *weight {
                index = position;
                break;
            }
            pick -= weight;
        }
        let activity = pool.remove(index);
        let claimed = activity.claimed_grade.unwrap_or(0);
        let confirmed = activity.confirmed == Some(true);
        let because = if confirmed {
            activity
                .facts
                .iter()
                .filter(|(grade, _)| *grade <= claimed)
                .map(|(_, fact)| fact.message.clone())
                .collect()
        } else {
            activity
                .reasons
                .iter()
                .map(|reason| format!("grade {} needs `{}`: {}", reason.grade, reason.probe, reason.message))
                .collect()
        };
        items.push(Sampled {
            uuid: activity.uuid.clone(),
            name: activity.name.clone(),
            subdimension: activity.subdimension.clone(),
            claimed_grade: claimed,
            grade: activity.grade,
            verdict: if confirmed { "confirmed" } else { "refuted" },
            because,
            evidence: activity.evidence.clone(),
        });
    }
    let confirmed = items.iter().filter(|item| item.verdict == "confirmed").count();
    let touched: Vec<&crate::SubdimensionLevel> = team
        .subdimensions
        .iter()
        .filter(|level| items.iter().any(|item| item.subdimension == level.subdimension))
        .collect();
    let claimed_level = touched.iter().map(|level| level.claimed_level).max().unwrap_or(0);
    let holds_at = touched.iter().map(|level| level.audit_level).min().unwrap_or(0);
    let summary = format!(
        "{} sampled: {confirmed} confirmed, {} refuted; claimed level {claimed_level} holds at level {holds_at}",
        items.len(),
        items.len() - confirmed
    );
    Sample {
        team: team.team.clone(),
        seed,
        items,
        summary,
    }
}
