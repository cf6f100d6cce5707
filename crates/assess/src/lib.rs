//! The assessment: every activity graded 0..4 by the probes of its rubric
//! ladder, beside the team's claim; claimed and audit-real levels per
//! sub-dimension; the five audit questions; an auditor's sample; the plan; and
//! the evidence-pipeline report. Everything is a pure function of the records,
//! the rubric, the catalogue, the claims and the as-of time (the clock is a
//! parameter), so the same inputs give the same bytes out.

pub mod claims;
pub mod docs;
pub mod plan;
pub mod questions;
pub mod rubric;
pub mod sample;
pub mod sources;

use jiff::Timestamp;
use model::Evidence;
use model::catalogue::Catalogue;
use probes::{Fact, Outcome, Params, Scope, Thresholds, View};
use serde::Serialize;
use std::collections::BTreeMap;

pub use claims::{ClaimGrades, Claims};
pub use rubric::{Entry, Rubric};

/// A failed condition of the next grade.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    /// The grade this condition belongs to.
    pub grade: u8,
    /// The probe.
    pub probe: &'static str,
    /// `false` or `not-available`.
    pub outcome: Outcome,
    /// What the evidence shows (or which evidence is missing).
    pub message: String,
    /// The records behind it.
    pub evidence: Vec<u64>,
}

/// One activity, graded.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActivityGrade {
    /// The activity's uuid.
    pub uuid: String,
    /// Its name.
    pub name: String,
    /// Dimension.
    pub dimension: String,
    /// Sub-dimension.
    pub subdimension: String,
    /// DSOMM level 1..5.
    pub level: u8,
    /// Archetype.
    pub archetype: String,
    /// The grade the team's claim means (strict reading), if it claims anything.
    pub claimed_grade: Option<u8>,
    /// The claim's progress state, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_state: Option<String>,
    /// The grade the evidence shows.
    pub grade: u8,
    /// The grade needed to count as implemented.
    pub required_grade: u8,
    /// Whether the evidence confirms the claim (`null` without a claim, or
    /// with a claim of grade 0, which claims nothing to confirm).
    pub confirmed: Option<bool>,
    /// The failed conditions of the next grade, with their evidence.
    pub reasons: Vec<Reason>,
    /// Every record the grade rests on.
    pub evidence: Vec<u64>,
    /// For manual activities: what to present (the model's `assessment` text, when the model is given).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assessment: Option<String>,
    /// Every fact the probes returned, for the report.
    #[serde(skip)]
    pub facts: Vec<(u8, Fact)>,
}

/// Claimed and audit-real level of one sub-dimension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SubdimensionLevel {
    /// Dimension.
    pub dimension: String,
    /// Sub-dimension.
    pub subdimension: String,
    /// Highest level whose activities, and all below, are claimed at their required grade.
    pub claimed_level: u8,
    /// Highest level whose activities, and all below, are confirmed by evidence at their required grade.
    pub audit_level: u8,
}

/// A dimension's levels as vectors over its sub-dimensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DimensionLevels {
    /// Dimension.
    pub dimension: String,
    /// Its sub-dimensions, in catalogue order.
    pub subdimensions: Vec<String>,
    /// Claimed level per sub-dimension.
    pub claimed_level: Vec<u8>,
    /// Audit-real level per sub-dimension.
    pub audit_level: Vec<u8>,
}

/// One team's assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TeamAssessment {
    /// The team.
    pub team: String,
    /// Every activity.
    pub activities: Vec<ActivityGrade>,
    /// Per sub-dimension.
    pub subdimensions: Vec<SubdimensionLevel>,
    /// Per dimension.
    pub dimensions: Vec<DimensionLevels>,
}

/// The whole assessment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// The time everything is evaluated at.
    pub as_of: String,
    /// The DSOMM model (or catalogue) version.
    pub model_version: String,
    /// The rubric version.
    pub rubric_version: String,
    /// The ledger checkpoint the assessment rests on (`size` and `root`).
    pub ledger_checkpoint: serde_json::Value,
    /// One entry per team.
    pub teams: Vec<TeamAssessment>,
}

/// What the assessment reads.
pub struct Inputs<'a> {
    /// Every record (any order; records after `as_of` are ignored).
    pub records: &'a [Evidence],
    /// The catalogue (from the model when given).
    pub catalogue: &'a Catalogue,
    /// The rubric.
    pub rubric: &'a Rubric,
    /// Teams and what they own.
    pub teams: &'a [Scope],
    /// Claims per team, if given.
    pub claims: Option<&'a Claims>,
    /// Thresholds.
    pub thresholds: &'a Thresholds,
    /// The as-of time.
    pub as_of: Timestamp,
    /// The model's `assessment` text per activity uuid (manual activities).
    pub assessment_texts: &'a BTreeMap<String, String>,
    /// The ledger checkpoint (`{"size", "root"}`), or null.
    pub checkpoint: serde_json::Value,
}

/// An activity's grade, the failed conditions of the next grade, the records
/// the grade rests on, and every fact run (with the grade it belongs to).
pub type Graded = (u8, Vec<Reason>, Vec<u64>, Vec<(u8, Fact)>);

/// Grade one activity for one team's view.
pub fn grade_activity(view: &View<'_>, entry: &Entry, params: &Params) -> Graded {
    let mut grade = 0u8;
    let mut evidence = Vec::new();
    let mut facts = Vec::new();
    let mut reasons = Vec::new();
    for candidate in 1..=entry.max_grade() {
        let probes = entry.ladder.get(&candidate).cloned().unwrap_or_default();
        let results: Vec<Fact> = probes.iter().map(|id| probes::run(id, view, params)).collect();
        let failed: Vec<&Fact> = results.iter().filter(|fact| fact.outcome != Outcome::True).collect();
        if failed.is_empty() {
            grade = candidate;
            evidence.extend(results.iter().flat_map(|fact| fact.evidence.iter().copied()));
            facts.extend(results.into_iter().map(|fact| (candidate, fact)));
            continue;
        }
        reasons = failed
            .iter()
            .map(|fact| Reason {
                grade: candidate,
                probe: fact.probe,
                outcome: fact.outcome,
                message: fact.message.clone(),
                evidence: fact.evidence.clone(),
            })
            .collect();
        facts.extend(results.into_iter().map(|fact| (candidate, fact)));
        break;
    }
    evidence.sort_unstable();
    evidence.dedup();
    // No grade without cited evidence: a ladder satisfied only vacuously shows nothing.
    if grade > 0 && evidence.is_empty() {
        reasons = vec![Reason {
            grade: 1,
            probe: "cited-evidence",
            outcome: Outcome::NotAvailable,
            message: "the conditions hold only vacuously: no record shows the activity".to_string(),
            evidence: Vec::new(),
        }];
        grade = 0;
    }
    (grade, reasons, evidence, facts)
}

/// Levels of one sub-dimension: the highest level L such that every activity
/// of level <= L meets `meets` and at least one of them exists. A level with
/// no activities is passed through, but never reached on its own: a
/// sub-dimension whose first activities sit at level 2 is at level 0 until
/// they are met (absence is not a level).
fn level_of(activities: &[&ActivityGrade], meets: impl Fn(&ActivityGrade) -> bool) -> u8 {
    let mut level = 0;
    let mut met_any = false;
    for candidate in 1..=5u8 {
        let at: Vec<&&ActivityGrade> = activities
            .iter()
            .filter(|activity| activity.level == candidate)
            .collect();
        if at.is_empty() {
            if activities.iter().any(|activity| activity.level > candidate) {
                if met_any {
                    level = candidate;
                }
                continue;
            }
            break;
        }
        if at.iter().all(|activity| meets(activity)) {
            level = candidate;
            met_any = true;
        } else {
            break;
        }
    }
    level
}

/// Assess every team.
pub fn assess(inputs: &Inputs<'_>) -> Assessment {
    let mut teams = Vec::new();
    for scope in inputs.teams {
        let view = View::new(inputs.records, inputs.as_of, scope, inputs.thresholds);
        let mut activities = Vec::new();
        for activity in &inputs.catalogue.activities {
            let fallback;
            let entry = match inputs.rubric.entry(&activity.uuid) {
                Some(entry) => entry,
                None => {
                    fallback = Rubric::manual_entry(&activity.uuid, &activity.name);
                    &fallback
                }
            };
            let params = Params {
                categories: entry.categories.clone(),
                activity: activity.uuid.clone(),
            };
            let (grade, reasons, evidence, facts) = grade_activity(&view, entry, &params);
            let claim = inputs
                .claims
                .and_then(|claims| claims.claim(&scope.team, &activity.uuid, inputs.as_of));
            let claimed_grade = claim.as_ref().map(|claim| claim.grade);
            activities.push(ActivityGrade {
                uuid: activity.uuid.clone(),
                name: activity.name.clone(),
                dimension: activity.dimension.clone(),
                subdimension: activity.subdimension.clone(),
                level: activity.level,
                archetype: entry.archetype.clone(),
                claimed_grade,
                claimed_state: claim.map(|claim| claim.state),
                grade,
                required_grade: entry.required_grade,
                // A claim of grade 0 ("not implemented") claims nothing to confirm.
                confirmed: claimed_grade
                    .filter(|claimed| *claimed > 0)
                    .map(|claimed| grade >= claimed && !evidence.is_empty()),
                reasons,
                evidence,
                assessment: (entry.archetype == "manual")
                    .then(|| inputs.assessment_texts.get(&activity.uuid).cloned())
                    .flatten(),
                facts,
            });
        }
        let mut subdimensions = Vec::new();
        let mut order: Vec<(String, String)> = Vec::new();
        for activity in &activities {
            let key = (activity.dimension.clone(), activity.subdimension.clone());
            if !order.contains(&key) {
                order.push(key);
            }
        }
        for (dimension, subdimension) in &order {
            let members: Vec<&ActivityGrade> = activities
                .iter()
                .filter(|activity| &activity.dimension == dimension && &activity.subdimension == subdimension)
                .collect();
            subdimensions.push(SubdimensionLevel {
                dimension: dimension.clone(),
                subdimension: subdimension.clone(),
                claimed_level: level_of(&members, |activity| {
                    activity
                        .claimed_grade
                        .is_some_and(|claimed| claimed >= activity.required_grade)
                }),
                audit_level: level_of(&members, |activity| activity.grade >= activity.required_grade),
            });
        }
        let mut dimensions: Vec<DimensionLevels> = Vec::new();
        for level in &subdimensions {
            match dimensions
                .iter_mut()
                .find(|dimension| dimension.dimension == level.dimension)
            {
                Some(dimension) => {
                    dimension.subdimensions.push(level.subdimension.clone());
                    dimension.claimed_level.push(level.claimed_level);
                    dimension.audit_level.push(level.audit_level);
                }
                None => dimensions.push(DimensionLevels {
                    dimension: level.dimension.clone(),
                    subdimensions: vec![level.subdimension.clone()],
                    claimed_level: vec![level.claimed_level],
                    audit_level: vec![level.audit_level],
                }),
            }
        }
        teams.push(TeamAssessment {
            team: scope.team.clone(),
            activities,
            subdimensions,
            dimensions,
        });
    }
    Assessment {
        as_of: model::time::format_time(inputs.as_of),
        model_version: inputs.catalogue.version.clone(),
        rubric_version: inputs.rubric.version.clone(),
        ledger_checkpoint: inputs.checkpoint.clone(),
        teams,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn activity(level: u8, grade: u8) -> ActivityGrade {
        ActivityGrade {
            uuid: format!("u-{level}-{grade}"),
            name: String::new(),
            dimension: "D".into(),
            subdimension: "S".into(),
            level,
            archetype: "automated".into(),
            claimed_grade: None,
            claimed_state: None,
            grade,
            required_grade: 3,
            confirmed: None,
            reasons: Vec::new(),
            evidence: Vec::new(),
            assessment: None,
            facts: Vec::new(),
        }
    }

    fn level(activities: &[ActivityGrade]) -> u8 {
        let refs: Vec<&ActivityGrade> = activities.iter().collect();
        level_of(&refs, |activity| activity.grade >= activity.required_grade)
    }

    #[test]
    fn levels_count_met_activities_in_order() {
        assert_eq!(level(&[]), 0);
        assert_eq!(level(&[activity(1, 3), activity(2, 3), activity(3, 1)]), 2);
        assert_eq!(level(&[activity(1, 2), activity(2, 3)]), 0);
        // An empty level between met ones is passed through.
        assert_eq!(level(&[activity(1, 3), activity(3, 3)]), 3);
        // Level 2 has no activities: every activity up to level 2 is met.
        assert_eq!(level(&[activity(1, 3), activity(3, 0)]), 2);
    }

    #[test]
    fn a_level_without_activities_is_never_reached_on_its_own() {
        // The first activities sit at level 2: nothing met, no level.
        assert_eq!(level(&[activity(2, 0)]), 0);
        assert_eq!(level(&[activity(2, 0), activity(3, 0)]), 0);
        assert_eq!(level(&[activity(3, 4)]), 3);
        assert_eq!(level(&[activity(2, 3), activity(4, 0)]), 3);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod unmapped_tests {
    use super::*;
    use model::catalogue::CatalogueActivity;

    #[test]
    fn an_activity_the_rubric_does_not_map_is_graded_as_manual_not_dropped() {
        let mut catalogue = Catalogue::embedded().unwrap();
        let rubric = Rubric::embedded().unwrap();
        assert!(rubric.unmapped(&catalogue).is_empty());
        catalogue.activities.push(CatalogueActivity {
            uuid: "00000000-0000-4000-8000-000000000001".into(),
            name: "An activity newer than the rubric".into(),
            dimension: "Culture and Organization".into(),
            subdimension: "Design".into(),
            level: 1,
        });
        assert_eq!(rubric.unmapped(&catalogue).len(), 1);
        let teams = vec![Scope {
            team: "t".into(),
            repos: Vec::new(),
            services: Vec::new(),
        }];
        let inputs = Inputs {
            records: &[],
            catalogue: &catalogue,
            rubric: &rubric,
            teams: &teams,
            claims: None,
            thresholds: &Thresholds::default(),
            as_of: Timestamp::UNIX_EPOCH,
            assessment_texts: &BTreeMap::new(),
            checkpoint: serde_json::Value::Null,
        };
        let assessment = assess(&inputs);
        let activities = &assessment.teams[0].activities;
        assert_eq!(activities.len(), catalogue.activities.len());
        let newer = activities
            .iter()
            .find(|activity| activity.name == "An activity newer than the rubric")
            .unwrap();
        assert_eq!(newer.archetype, "manual");
        assert_eq!(newer.grade, 0);
        assert!(newer.reasons.iter().any(|reason| reason.probe == "attested"));
    }
}
