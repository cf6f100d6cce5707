//! The plan: actions from the gaps of an assessment, each with the activities
//! and grades it raises and its effort, ordered by grade gained per week of
//! effort and fitted into the days given.

use crate::{ActivityGrade, TeamAssessment};
use probes::{Outcome, View};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// An activity an action raises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Raise {
    /// The activity.
    pub uuid: String,
    /// Its name.
    pub name: String,
    /// Grade now.
    pub from: u8,
    /// Grade once this action, and the earlier actions the activity also
    /// needs, are done.
    pub to: u8,
}

/// One action.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    /// What to do.
    pub title: String,
    /// The probes whose failures it fixes.
    pub probes: Vec<String>,
    /// Concrete places (file and line of advisory steps, overrides to sunset, ...).
    pub details: Vec<String>,
    /// Effort in weeks.
    pub effort_weeks: u32,
    /// Activities whose next grade this action completes, given the actions
    /// before it: an activity that fails conditions fixed by several actions
    /// is credited once, to the last of them in the plan.
    pub raises: Vec<Raise>,
    /// Grades gained in total (the length of `raises`).
    pub gain: u32,
    /// Activities this action is needed for whose next grade also waits for
    /// later actions (uuids).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub prepares: Vec<String>,
    /// Titles of earlier actions it waits for (DSOMM `dependsOn` between the activities raised).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub after: Vec<String>,
    /// Day the action starts (0 = today), when it fits.
    pub start_day: Option<u32>,
    /// Day it ends.
    pub end_day: Option<u32>,
}

/// The plan of one team.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// The team.
    pub team: String,
    /// Days planned.
    pub days: u32,
    /// Actions in order; those without `start_day` do not fit.
    pub actions: Vec<Action>,
}

fn title_for(probe: &str, categories: &str) -> String {
    match probe {
        "gate-can-block" | "gate-blocks-on-coverage" => format!("Move {categories} gates from advisory to enforcing"),
        "gate-block-observed" => {
            format!("Show the {categories} gate blocking (ingest check runs or run `dsomm-audit gate`)")
        }
        "overrides-disciplined" | "findings-triaged" => {
            "Sunset undisciplined overrides, dismissals and suppressions".to_string()
        }
        "evidence-covers-lookback" | "scan-results-recorded" | "scanner-ran" | "pipeline-configs-recorded" => {
            format!("Extend the {categories} evidence pipeline over the look-back")
        }
        "champion-time-protected" | "champion-time-honoured" => {
            "Give security champions protected, honoured time".to_string()
        }
        "threat-model-before-deploy"
        | "threat-models-for-services"
        | "threat-model-exists"
        | "threat-models-revisited" => "Make threat modelling part of design review".to_string(),
        "alerts-routed-to-tickets" | "alerts-remediated-within-sla" => {
            "Route runtime alerts to tickets and remediate within the SLA".to_string()
        }
        "admission-verifies-in-enforce" | "admission-policies-enforce" => {
            "Switch admission policies from audit/warn to enforce".to_string()
        }
        "attested" | "attestation-reviewed" => {
            "Attest manual activities and have the attestations reviewed".to_string()
        }
        other => probes::probe(other).map_or_else(|| other.to_string(), |probe| probe.remediation.to_string()),
    }
}

/// Advisory pipeline steps of the categories, as `file:line: why` for gate actions.
fn advisory_steps(view: &View<'_>, categories: &[String]) -> Vec<String> {
    let params = probes::Params {
        categories: categories.to_vec(),
        activity: String::new(),
    };
    probes::gate::latest_configs(view, &params)
        .into_iter()
        .filter(|record| record.attrs.get("mode").and_then(Value::as_str) != Some("blocking"))
        .map(|record| {
            // Every fact that keeps the step from blocking: all must change.
            let reasons: Vec<&Value> = record
                .attrs
                .get("reasons")
                .and_then(Value::as_array)
                .map(|reasons| reasons.iter().collect())
                .unwrap_or_default();
            let mut deciding: Vec<&Value> = reasons
                .iter()
                .copied()
                .filter(|reason| {
                    matches!(
                        reason.get("effect").and_then(Value::as_str),
                        Some("advisory" | "unknown")
                    )
                })
                .collect();
            if deciding.is_empty() {
                deciding.extend(reasons.first());
            }
            let file = record.attrs.get("file").and_then(Value::as_str).unwrap_or("?");
            let facts: Vec<String> = deciding
                .iter()
                .map(|reason| {
                    format!(
                        "{}:{}: `{}` — {}",
                        reason.get("file").and_then(Value::as_str).unwrap_or(file),
                        reason.get("line").and_then(Value::as_u64).unwrap_or(0),
                        reason.get("text").and_then(Value::as_str).unwrap_or(""),
                        reason.get("why").and_then(Value::as_str).unwrap_or("")
                    )
                })
                .collect();
            format!(
                "{}: {}",
                record.subject.repo.as_deref().unwrap_or("?"),
                if facts.is_empty() {
                    format!(
                        "{file}: {}",
                        record.attrs.get("mode").and_then(Value::as_str).unwrap_or("unknown")
                    )
                } else {
                    facts.join("; and ")
                }
            )
        })
        .collect()
}

/// What one fix touches: the probes it answers, the activities whose next grade
/// it is needed for, and the messages it answers.
#[derive(Default)]
struct Group<'a> {
    probes: Vec<String>,
    activities: Vec<&'a ActivityGrade>,
    details: Vec<String>,
}

/// Build the plan for a team from its assessment (and the view, for details).
/// `depends_on` is the model's `dependsOn` (activity uuid -> the uuids it
/// depends on; empty without the model): an action that raises an activity
/// is placed after the actions that raise what it depends on.
///
/// One action per fix (title): an activity whose next grade fails conditions
/// of several fixes rises once, when the last of them is done, and only that
/// action counts the grade. Actions are chosen greedily by the grades they
/// complete per week of effort, given those already chosen.
pub fn plan(
    team: &TeamAssessment,
    view: &View<'_>,
    rubric: &crate::Rubric,
    depends_on: &BTreeMap<String, Vec<String>>,
    days: u32,
) -> Plan {
    // Group the failed conditions of each activity's next grade by what fixes them.
    let mut groups: BTreeMap<String, Group<'_>> = BTreeMap::new();
    // Activity uuid -> the fixes its next grade needs.
    let mut needs: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for activity in team.activities.iter().filter(|activity| {
        activity.grade < activity.required_grade
            || activity.claimed_grade.is_some_and(|claimed| claimed > activity.grade)
    }) {
        let categories = rubric
            .entry(&activity.uuid)
            .map(|entry| entry.categories.join("/"))
            .unwrap_or_default();
        for reason in &activity.reasons {
            let title = title_for(
                reason.probe,
                if categories.is_empty() { "scanner" } else { &categories },
            );
            needs.entry(activity.uuid.as_str()).or_default().insert(title.clone());
            let entry = groups.entry(title).or_default();
            if !entry.probes.iter().any(|probe| probe == reason.probe) {
                entry.probes.push(reason.probe.to_string());
            }
            if !entry.activities.iter().any(|known| known.uuid == activity.uuid) {
                entry.activities.push(activity);
            }
            if (reason.outcome == Outcome::NotAvailable || entry.details.len() < 5)
                && !entry.details.contains(&reason.message)
            {
                entry.details.push(reason.message.clone());
            }
        }
    }
    let mut actions: Vec<Action> = groups
        .into_iter()
        .map(|(title, group)| {
            let Group {
                mut probes,
                activities,
                mut details,
            } = group;
            probes.sort();
            if probes
                .iter()
                .any(|probe| matches!(probe.as_str(), "gate-can-block" | "gate-blocks-on-coverage"))
            {
                let mut categories: Vec<String> = activities
                    .iter()
                    .filter_map(|activity| rubric.entry(&activity.uuid))
                    .flat_map(|entry| entry.categories.clone())
                    .collect();
                categories.sort();
                categories.dedup();
                let steps = advisory_steps(view, &categories);
                if !steps.is_empty() {
                    details = steps;
                }
            }
            details.truncate(10);
            let effort_weeks = probes
                .iter()
                .map(|probe| probes::probe(probe).map_or(2, |found| found.effort_weeks))
                .max()
                .unwrap_or(2)
                .max(1);
            Action {
                title,
                effort_weeks,
                probes,
                details,
                // Filled in once the order is known.
                raises: Vec::new(),
                gain: 0,
                prepares: activities.iter().map(|activity| activity.uuid.clone()).collect(),
                after: Vec::new(),
                start_day: None,
                end_day: None,
            }
        })
        .collect();
    order_by_gain(&mut actions, &needs);
    order_by_dependencies(&mut actions, depends_on);
    credit(&mut actions, &needs, team);
    let mut day = 0u32;
    for action in &mut actions {
        let length = action.effort_weeks * 7;
        if day + length <= days {
            action.start_day = Some(day);
            action.end_day = Some(day + length);
            day += length;
        }
    }
    Plan {
        team: team.team.clone(),
        days,
        actions,
    }
}

/// The activities (of those `action` prepares) whose every needed fix is done
/// once `action` is, given the fixes already `done`.
fn completed_by<'a>(
    action: &'a Action,
    done: &BTreeSet<&str>,
    needs: &BTreeMap<&str, BTreeSet<String>>,
) -> Vec<&'a str> {
    action
        .prepares
        .iter()
        .map(String::as_str)
        .filter(|uuid| {
            needs.get(uuid).is_some_and(|fixes| {
                fixes
                    .iter()
                    .all(|fix| *fix == action.title || done.contains(fix.as_str()))
            })
        })
        .collect()
}

/// Order greedily: next is the action completing the most grades per week of
/// effort given those before it; ties go to the action needed by more
/// activities, then by title.
fn order_by_gain(actions: &mut Vec<Action>, needs: &BTreeMap<&str, BTreeSet<String>>) {
    let mut remaining = std::mem::take(actions);
    let mut done: BTreeSet<String> = BTreeSet::new();
    while !remaining.is_empty() {
        let done_titles: BTreeSet<&str> = done.iter().map(String::as_str).collect();
        let mut best = 0;
        let mut best_key = (f64::MIN, 0usize);
        for (index, action) in remaining.iter().enumerate() {
            let ratio = completed_by(action, &done_titles, needs).len() as f64 / action.effort_weeks as f64;
            let key = (ratio, action.prepares.len());
            let better = key.0 > best_key.0
                || (key.0 == best_key.0 && key.1 > best_key.1)
                || (key == best_key && action.title < remaining[best].title);
            if index == 0 || better {
                best = index;
                best_key = key;
            }
        }
        let action = remaining.remove(best);
        done.insert(action.title.clone());
        actions.push(action);
    }
}

/// Credit each grade to the action that completes it in the final order.
fn credit(actions: &mut [Action], needs: &BTreeMap<&str, BTreeSet<String>>, team: &TeamAssessment) {
    let mut done: BTreeSet<String> = BTreeSet::new();
    for action in actions.iter_mut() {
        let done_titles: BTreeSet<&str> = done.iter().map(String::as_str).collect();
        let completed: BTreeSet<String> = completed_by(action, &done_titles, needs)
            .into_iter()
            .map(str::to_string)
            .collect();
        action.raises = team
            .activities
            .iter()
            .filter(|activity| completed.contains(&activity.uuid))
            .map(|activity| Raise {
                uuid: activity.uuid.clone(),
                name: activity.name.clone(),
                from: activity.grade,
                to: activity.grade + 1,
            })
            .collect();
        action.gain = action.raises.len() as u32;
        action.prepares.retain(|uuid| !completed.contains(uuid));
        done.insert(action.title.clone());
    }
}

/// Move each action after the actions that raise activities its own activities
/// depend on (stable otherwise; a dependency cycle leaves the order as it is).
fn order_by_dependencies(actions: &mut Vec<Action>, depends_on: &BTreeMap<String, Vec<String>>) {
    if depends_on.is_empty() {
        return;
    }
    // Ordering runs before crediting: `prepares` then holds every activity an
    // action is needed for (`raises` is still empty).
    let needs = |action: &Action, other: &Action| {
        let others = &other.prepares;
        action.prepares.iter().any(|uuid| {
            depends_on.get(uuid).is_some_and(|prerequisites| {
                others
                    .iter()
                    .any(|other| prerequisites.contains(other) && other != uuid)
            })
        })
    };
    for _ in 0..actions.len() * actions.len() {
        let mut moved = false;
        for index in 0..actions.len() {
            if let Some(later) = (index + 1..actions.len())
                .rev()
                .find(|later| needs(&actions[index], &actions[*later]) && !needs(&actions[*later], &actions[index]))
            {
                let action = actions.remove(index);
                actions.insert(later, action);
                moved = true;
                break;
            }
        }
        if !moved {
            break;
        }
    }
    for index in 0..actions.len() {
        let after: Vec<String> = actions[..index]
            .iter()
            .filter(|earlier| needs(&actions[index], earlier))
            .map(|earlier| earlier.title.clone())
            .collect();
        actions[index].after = after;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn action(title: &str, uuid: &str) -> Action {
        Action {
            title: title.into(),
            probes: vec![title.into()],
            details: Vec::new(),
            effort_weeks: 1,
            raises: Vec::new(),
            gain: 0,
            prepares: vec![uuid.into()],
            after: Vec::new(),
            start_day: None,
            end_day: None,
        }
    }

    fn graded(uuid: &str, probes: &[&'static str]) -> ActivityGrade {
        ActivityGrade {
            uuid: uuid.into(),
            name: uuid.into(),
            dimension: "D".into(),
            subdimension: "S".into(),
            level: 1,
            archetype: "automated".into(),
            claimed_grade: Some(3),
            claimed_state: None,
            grade: 1,
            required_grade: 3,
            confirmed: Some(false),
            reasons: probes
                .iter()
                .map(|probe| crate::Reason {
                    grade: 2,
                    probe,
                    outcome: Outcome::False,
                    message: format!("{probe} failed"),
                    evidence: Vec::new(),
                })
                .collect(),
            evidence: vec![1],
            assessment: None,
            facts: Vec::new(),
        }
    }

    #[test]
    fn a_grade_that_needs_several_fixes_is_counted_once() {
        // X needs two fixes; Y needs only the champion one. Both probes of the
        // override fix are one action.
        let team = TeamAssessment {
            team: "t".into(),
            activities: vec![
                graded(
                    "X",
                    &["findings-triaged", "overrides-disciplined", "champion-time-protected"],
                ),
                graded("Y", &["champion-time-protected"]),
            ],
            subdimensions: Vec::new(),
            dimensions: Vec::new(),
        };
        let rubric = crate::Rubric::embedded().unwrap();
        let thresholds = probes::Thresholds::default();
        let scope = probes::Scope {
            team: "t".into(),
            repos: Vec::new(),
            services: Vec::new(),
        };
        let as_of = jiff::Timestamp::UNIX_EPOCH;
        let view = View::new(&[], as_of, &scope, &thresholds);
        let plan = plan(&team, &view, &rubric, &BTreeMap::new(), 90);
        assert_eq!(plan.actions.len(), 2, "{plan:#?}");
        let total: u32 = plan.actions.iter().map(|action| action.gain).sum();
        assert_eq!(total, 2, "two activities rise once each: {plan:#?}");
        let overrides = plan
            .actions
            .iter()
            .find(|action| action.title.starts_with("Sunset"))
            .unwrap();
        assert_eq!(overrides.probes, vec!["findings-triaged", "overrides-disciplined"]);
        // The champion fix completes Y alone, so it comes first; X is credited
        // to the override fix that finishes it.
        assert!(
            plan.actions[0].title.starts_with("Give security champions"),
            "{plan:#?}"
        );
        assert_eq!(plan.actions[0].raises.len(), 1);
        assert_eq!(plan.actions[0].raises[0].uuid, "Y");
        assert_eq!(plan.actions[0].prepares, vec!["X".to_string()]);
        assert_eq!(plan.actions[1].raises[0].uuid, "X");
    }

    #[test]
    fn dependencies_come_first() {
        let mut actions = vec![action("b", "B"), action("a", "A"), action("c", "C")];
        let depends = BTreeMap::from([("B".to_string(), vec!["A".to_string()])]);
        order_by_dependencies(&mut actions, &depends);
        let titles: Vec<&str> = actions.iter().map(|action| action.title.as_str()).collect();
        assert_eq!(titles, vec!["a", "b", "c"]);
        assert_eq!(actions[1].after, vec!["a".to_string()]);
        let mut cycle = vec![action("b", "B"), action("a", "A")];
        let depends = BTreeMap::from([
            ("B".to_string(), vec!["A".to_string()]),
            ("A".to_string(), vec!["B".to_string()]),
        ]);
        order_by_dependencies(&mut cycle, &depends);
        assert_eq!(cycle.len(), 2);
    }
}
