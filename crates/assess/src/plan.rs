//! The plan: actions from the gaps of an assessment, each with the activities
//! and grades it raises and its effort, ordered by grade gained per week of
//! effort and fitted into the days given.

use crate::{ActivityGrade, TeamAssessment};
use probes::{Outcome, View};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// An activity an action raises.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Raise {
    /// The activity.
    pub uuid: String,
    /// Its name.
    pub name: String,
    /// Grade now.
    pub from: u8,
    /// Grade once this action (and the ones before it for the same activity) is done.
    pub to: u8,
}

/// One action.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    /// What to do.
    pub title: String,
    /// The probe whose failure it fixes.
    pub probe: String,
    /// Concrete places (file and line of advisory steps, overrides to sunset, ...).
    pub details: Vec<String>,
    /// Effort in weeks.
    pub effort_weeks: u32,
    /// Activities raised.
    pub raises: Vec<Raise>,
    /// Grades gained in total.
    pub gain: u32,
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
            let reason = record
                .attrs
                .get("reasons")
                .and_then(Value::as_array)
                .and_then(|reasons| reasons.first());
            format!(
                "{}: {}:{}: `{}` — {}",
                record.subject.repo.as_deref().unwrap_or("?"),
                record.attrs.get("file").and_then(Value::as_str).unwrap_or("?"),
                reason
                    .and_then(|reason| reason.get("line"))
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
                reason
                    .and_then(|reason| reason.get("text"))
                    .and_then(Value::as_str)
                    .unwrap_or(""),
                reason
                    .and_then(|reason| reason.get("why"))
                    .and_then(Value::as_str)
                    .unwrap_or("")
            )
        })
        .collect()
}

/// The activities a fix raises and the messages it answers.
type Group<'a> = (Vec<&'a ActivityGrade>, Vec<String>);

/// Build the plan for a team from its assessment (and the view, for details).
/// `depends_on` is the model's `dependsOn` (activity uuid -> the uuids it
/// depends on; empty without the model): an action that raises an activity
/// is placed after the actions that raise what it depends on.
pub fn plan(
    team: &TeamAssessment,
    view: &View<'_>,
    rubric: &crate::Rubric,
    depends_on: &BTreeMap<String, Vec<String>>,
    days: u32,
) -> Plan {
    // Group the failed conditions of each activity's next grade by what fixes them.
    let mut groups: BTreeMap<(String, String), Group<'_>> = BTreeMap::new();
    for activity in team.activities.iter().filter(|activity| {
        activity.grade < activity.required_grade
            || activity.claimed_grade.is_some_and(|claimed| claimed > activity.grade)
    }) {
        let categories = rubric
            .entry(&activity.uuid)
            .map(|entry| entry.categories.join("/"))
            .unwrap_or_default();
        for reason in &activity.reasons {
            let key = (
                title_for(
                    reason.probe,
                    if categories.is_empty() { "scanner" } else { &categories },
                ),
                reason.probe.to_string(),
            );
            let entry = groups.entry(key).or_default();
            entry.0.push(activity);
            if (reason.outcome == Outcome::NotAvailable || entry.1.len() < 5) && !entry.1.contains(&reason.message) {
                entry.1.push(reason.message.clone());
            }
        }
    }
    let mut actions: Vec<Action> = groups
        .into_iter()
        .map(|((title, probe), (activities, mut details))| {
            if matches!(probe.as_str(), "gate-can-block" | "gate-blocks-on-coverage") {
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
            let raises: Vec<Raise> = activities
                .iter()
                .map(|activity| Raise {
                    uuid: activity.uuid.clone(),
                    name: activity.name.clone(),
                    from: activity.grade,
                    to: activity.grade + 1,
                })
                .collect();
            Action {
                title,
                effort_weeks: probes::probe(&probe).map_or(2, |found| found.effort_weeks).max(1),
                probe,
                details,
                gain: raises.len() as u32,
                raises,
                after: Vec::new(),
                start_day: None,
                end_day: None,
            }
        })
        .collect();
    actions.sort_by(|a, b| {
        let ratio = |action: &Action| action.gain as f64 / action.effort_weeks as f64;
        ratio(b)
            .total_cmp(&ratio(a))
            .then(a.title.cmp(&b.title))
            .then(a.probe.cmp(&b.probe))
    });
    order_by_dependencies(&mut actions, depends_on);
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

/// Move each action after the actions that raise activities its own activities
/// depend on (stable otherwise; a dependency cycle leaves the order as it is).
fn order_by_dependencies(actions: &mut Vec<Action>, depends_on: &BTreeMap<String, Vec<String>>) {
    if depends_on.is_empty() {
        return;
    }
    let needs = |action: &Action, other: &Action| {
        action.raises.iter().any(|raise| {
            depends_on.get(&raise.uuid).is_some_and(|prerequisites| {
                other
                    .raises
                    .iter()
                    .any(|other| prerequisites.contains(&other.uuid) && other.uuid != raise.uuid)
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
mod tests {
    use super::*;

    fn action(title: &str, uuid: &str) -> Action {
        Action {
            title: title.into(),
            probe: title.into(),
            details: Vec::new(),
            effort_weeks: 1,
            raises: vec![Raise {
                uuid: uuid.into(),
                name: uuid.into(),
                from: 0,
                to: 1,
            }],
            gain: 1,
            after: Vec::new(),
            start_day: None,
            end_day: None,
        }
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
