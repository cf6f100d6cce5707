//! Exports: the audit-real state as a DSOMM app `team-progress.yaml`, and
//! OSCAL 1.1 `assessment-results` and `plan-of-action-and-milestones`.

use assess::plan::Plan;
use assess::{Assessment, TeamAssessment};
use model::Evidence;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// A progress state of the DSOMM app (`meta.yaml` `progressDefinition`).
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    /// Its name.
    pub name: String,
    /// Its score in percent.
    pub score: f64,
}

/// The app's default states.
pub fn default_states() -> Vec<State> {
    [
        ("Not implemented", 0.0),
        ("Started", 20.0),
        ("Partly implemented", 50.0),
        ("Fully implemented", 100.0),
    ]
    .iter()
    .map(|(name, score)| State {
        name: name.to_string(),
        score: *score,
    })
    .collect()
}

/// The state to export for `grade` under `grades`: the lowest-scoring state
/// the strict reading maps to exactly that grade (capped at 3); when the
/// states have none for it, the highest-scoring state whose grade is below it
/// (the export then says less than the evidence shows, never more).
fn state_for<'a>(grade: u8, states: &'a [State], grades: &assess::ClaimGrades) -> Option<&'a State> {
    let grade = grade.min(3);
    let mut sorted: Vec<&State> = states.iter().collect();
    sorted.sort_by(|a, b| a.score.total_cmp(&b.score));
    sorted
        .iter()
        .find(|state| grades.grade(state.score) == grade)
        .or_else(|| {
            sorted
                .iter()
                .rev()
                .find(|state| (1..grade).contains(&grades.grade(state.score)))
        })
        .copied()
}

/// A text as a YAML double-quoted scalar (JSON's string syntax is valid YAML):
/// quotes, backslashes and line breaks are escaped, so any name stays one key.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_string())
}

/// A text for a one-line YAML comment or OSCAL title: control characters
/// (line breaks included) become spaces, runs of spaces one, ends trimmed.
pub fn one_line(text: &str) -> String {
    let spaced: String = text
        .chars()
        .map(|character| if character.is_control() { ' ' } else { character })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A `team-progress.yaml` and what it could not say exactly.
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressExport {
    /// The YAML.
    pub yaml: String,
    /// One line per activity exported at a lower grade than the evidence
    /// shows (no state of the given `meta.yaml` claims its grade) or left out
    /// (no state claims any grade above 0 up to it).
    pub warnings: Vec<String>,
}

/// The audit-real state of one team as a `team-progress.yaml`: for every
/// activity graded above 0, the state that claims exactly its grade (capped at
/// 3), dated by the newest record the grade rests on. When the states cannot
/// say a grade, the activity is exported at the highest grade below it that a
/// state claims, or left out, and a warning names it: the round trip through
/// the claims importer is exact only when every grade 1..3 has a state.
pub fn dsomm_progress(
    team: &TeamAssessment,
    records: &[Evidence],
    states: &[State],
    grades: &assess::ClaimGrades,
) -> ProgressExport {
    let times: BTreeMap<u64, jiff::Timestamp> = records.iter().map(|record| (record.id, record.occurred_at)).collect();
    let mut warnings = Vec::new();
    let mut out = format!(
        "# The audit-real state of team {}, written by dsomm-audit from the evidence.\n# Load it in the DSOMM app beside the claimed team-progress.yaml.\nprogress:\n",
        one_line(&team.team)
    );
    for activity in team.activities.iter().filter(|activity| activity.grade > 0) {
        let Some(state) = state_for(activity.grade, states, grades) else {
            warnings.push(format!(
                "{} ({}): grade {} left out: no progress state claims a grade from 1 to {}",
                activity.name,
                activity.uuid,
                activity.grade,
                activity.grade.min(3)
            ));
            continue;
        };
        let exported = grades.grade(state.score);
        if exported < activity.grade.min(3) {
            warnings.push(format!(
                "{} ({}): grade {} exported as `{}` (grade {}): no progress state claims grade {}",
                activity.name,
                activity.uuid,
                activity.grade,
                state.name,
                exported,
                activity.grade.min(3)
            ));
        }
        let Some(date) = activity.evidence.iter().filter_map(|id| times.get(id)).max() else {
            continue;
        };
        let day = model::time::format_time(*date)
            .get(..10)
            .unwrap_or_default()
            .to_string();
        let _ = write!(
            out,
            "  {}:  # {}\n    {}:\n      {}: {day}\n",
            activity.uuid,
            one_line(&activity.name).replace('#', " "),
            quoted(&team.team),
            quoted(&state.name)
        );
    }
    ProgressExport { yaml: out, warnings }
}

/// A deterministic UUID (version 4 layout, the bits taken from SHA-256 of `seed`),
/// so the same assessment exports the same documents.
pub fn uuid(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

fn metadata(title: &str, as_of: &str) -> Value {
    json!({
        "title": title,
        "last-modified": as_of,
        "version": "1.0",
        "oscal-version": "1.1.2",
        "parties": [{"uuid": uuid("party dsomm-audit"), "type": "organization", "name": "dsomm-audit"}]
    })
}

fn rfc3339(text: &str) -> String {
    // OSCAL's date-time-with-timezone: keep it as the assessment writes it (RFC 3339, Z).
    text.to_string()
}

/// OSCAL 1.1 `assessment-results`: one result per team; an observation per
/// activity (its grade, citing its evidence records); a finding,
/// `not-satisfied`, per activity below its required grade or whose claim the
/// evidence does not confirm.
pub fn oscal_assessment_results(assessment: &Assessment) -> Value {
    let as_of = rfc3339(&assessment.as_of);
    let checkpoint = &assessment.ledger_checkpoint;
    // Fragment links point at back-matter resources by uuid (OSCAL's
    // convention): the ledger the evidence is in, and the assessment plan
    // (the rubric) the results were made by.
    let ledger_resource = uuid(&format!("resource ledger {checkpoint}"));
    let plan_resource = uuid(&format!(
        "resource assessment plan {} {}",
        assessment.model_version, assessment.rubric_version
    ));
    let mut results = Vec::new();
    for team in &assessment.teams {
        let mut observations = Vec::new();
        let mut findings = Vec::new();
        // OSCAL titles and property values are one line without surrounding spaces.
        let team_name = one_line(&team.team);
        for activity in &team.activities {
            let activity_name = one_line(&activity.name);
            let observation = uuid(&format!(
                "observation {} {} {}",
                assessment.as_of, team.team, activity.uuid
            ));
            let reasons: Vec<String> = activity
                .reasons
                .iter()
                .map(|reason| format!("{}: {}", reason.probe, reason.message))
                .collect();
            let mut entry = json!({
                "uuid": observation,
                "title": format!("{activity_name} — grade {}", activity.grade),
                "description": format!(
                    "DSOMM activity {} ({} / {}, level {}): the evidence shows grade {} of required {}{}.{}",
                    activity.uuid,
                    activity.dimension,
                    activity.subdimension,
                    activity.level,
                    activity.grade,
                    activity.required_grade,
                    activity.claimed_grade.map(|claimed| format!("; claimed {claimed}")).unwrap_or_default(),
                    if reasons.is_empty() { String::new() } else { format!(" Next grade fails because: {}", reasons.join("; ")) }
                ),
                "methods": ["TEST"],
                "collected": as_of,
                "props": [
                    {"name": "dsomm-activity", "ns": "https://dsomm.owasp.org", "value": activity.uuid},
                    {"name": "grade", "ns": "https://dsomm.owasp.org", "value": activity.grade.to_string()}
                ]
            });
            if !activity.evidence.is_empty() {
                entry["relevant-evidence"] = json!(activity
                    .evidence
                    .iter()
                    .take(20)
                    .map(|id| json!({
                        "href": format!("#{ledger_resource}"),
                        "description": format!("ledger record {id} (ledger checkpoint {checkpoint}); `dsomm-audit prove {id}` gives its inclusion proof"),
                        "props": [{"name": "ledger-record", "ns": "https://dsomm.owasp.org", "value": id.to_string()}]
                    }))
                    .collect::<Vec<_>>());
            }
            observations.push(entry);
            if activity.confirmed == Some(false) || activity.grade < activity.required_grade {
                findings.push(json!({
                    "uuid": uuid(&format!("finding {} {} {}", assessment.as_of, team.team, activity.uuid)),
                    "title": format!("{team_name}: {activity_name}"),
                    "description": format!(
                        "{} is at grade {} (required {}{}).",
                        activity.name,
                        activity.grade,
                        activity.required_grade,
                        activity.claimed_grade.map(|claimed| format!(", claimed {claimed}")).unwrap_or_default()
                    ),
                    "target": {
                        "type": "objective-id",
                        "target-id": format!("dsomm-{}", activity.uuid),
                        "status": {"state": "not-satisfied"}
                    },
                    "related-observations": [{"observation-uuid": observation}]
                }));
            }
        }
        let mut result = json!({
            "uuid": uuid(&format!("result {} {}", assessment.as_of, team.team)),
            "title": format!("DSOMM audit-real assessment of team {team_name}"),
            "description": format!("Every DSOMM activity graded by dsomm-audit from the evidence ledger (model {}, rubric {}).", assessment.model_version, assessment.rubric_version),
            "start": as_of,
            "reviewed-controls": {"control-selections": [{"include-all": {}}]},
        });
        if !observations.is_empty() {
            result["observations"] = Value::Array(observations);
        }
        if !findings.is_empty() {
            result["findings"] = Value::Array(findings);
        }
        results.push(result);
    }
    json!({
        "assessment-results": {
            "uuid": uuid(&format!("assessment-results {} {}", assessment.as_of, checkpoint)),
            "metadata": metadata("DSOMM audit-real assessment results", &as_of),
            "import-ap": {"href": format!("#{plan_resource}")},
            "results": results,
            "back-matter": {"resources": [
                {
                    "uuid": plan_resource,
                    "title": "dsomm-audit assessment plan",
                    "description": format!(
                        "Every DSOMM activity (model {}) graded 0..4 by the probes of the dsomm-audit rubric version {} (docs/rubric.md, docs/probes.md) over the evidence ledger.",
                        assessment.model_version, assessment.rubric_version
                    )
                },
                {
                    "uuid": ledger_resource,
                    "title": "dsomm-audit evidence ledger",
                    "description": format!(
                        "The append-only evidence ledger at checkpoint {checkpoint}: records are cited by id; `dsomm-audit prove ID` gives a record with its Merkle inclusion proof, checked offline with `dsomm-audit verify-proof`."
                    )
                }
            ]}
        }
    })
}

/// OSCAL 1.1 `plan-of-action-and-milestones`: one item per planned action.
pub fn oscal_poam(assessment: &Assessment, plans: &[Plan]) -> Value {
    let as_of = rfc3339(&assessment.as_of);
    let mut items = Vec::new();
    for plan in plans {
        for action in &plan.actions {
            let when = match (action.start_day, action.end_day) {
                (Some(start), Some(end)) => format!("days {start} to {end} of the {}-day plan", plan.days),
                _ => format!("after the {}-day plan", plan.days),
            };
            let raised: Vec<String> = action
                .raises
                .iter()
                .take(10)
                .map(|raise| format!("{} ({} to {})", raise.name, raise.from, raise.to))
                .collect();
            items.push(json!({
                "uuid": uuid(&format!("poam {} {} {} {}", assessment.as_of, plan.team, action.probes.join(","), action.title)),
                "title": format!("{}: {}", one_line(&plan.team), one_line(&action.title)),
                "description": format!(
                    "{}; effort {} weeks; {}. Raises {} activities: {}.{}",
                    action.title,
                    action.effort_weeks,
                    when,
                    action.gain,
                    raised.join(", "),
                    if action.details.is_empty() { String::new() } else { format!(" Where: {}", action.details.iter().take(5).cloned().collect::<Vec<_>>().join("; ")) }
                ),
                "props": [
                    {"name": "team", "ns": "https://dsomm.owasp.org", "value": one_line(&plan.team)},
                    {"name": "effort-weeks", "ns": "https://dsomm.owasp.org", "value": action.effort_weeks.to_string()}
                ]
            }));
        }
    }
    json!({
        "plan-of-action-and-milestones": {
            "uuid": uuid(&format!("poam {} {}", assessment.as_of, assessment.ledger_checkpoint)),
            "metadata": metadata("DSOMM 90-day plan of action and milestones", &as_of),
            "poam-items": items
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(scores: &[(&str, f64)]) -> Vec<State> {
        scores
            .iter()
            .map(|(name, score)| State {
                name: name.to_string(),
                score: *score,
            })
            .collect()
    }

    #[test]
    fn a_grade_without_its_state_goes_out_lower_never_higher() {
        let grades = assess::ClaimGrades::default();
        let sparse = states(&[("None", 0.0), ("Started", 20.0), ("Done", 100.0)]);
        let name = |grade| state_for(grade, &sparse, &grades).map(|state| state.name.as_str());
        assert_eq!(name(1), Some("Started"));
        assert_eq!(name(2), Some("Started"));
        assert_eq!(name(3), Some("Done"));
        assert_eq!(name(4), Some("Done"));
        let top_only = states(&[("None", 0.0), ("Done", 100.0)]);
        assert_eq!(state_for(2, &top_only, &grades), None);
        assert_eq!(
            state_for(3, &top_only, &grades).map(|state| state.name.as_str()),
            Some("Done")
        );
    }

    /// Any team or state name stays one YAML key and reads back as itself.
    #[test]
    fn names_with_quotes_and_line_breaks_stay_one_key() {
        let team = "pay\nprogress: evil 'x' \"y\" # z ";
        let state = "Fully: implemented\n";
        let yaml = format!(
            "# {}\nprogress:\n  u1:\n    {}:\n      {}: 2025-01-01\n",
            one_line(team),
            quoted(team),
            quoted(state)
        );
        let meta = format!("progressDefinition:\n  {}:\n    score: 100%\n", quoted(state));
        let claims = assess::claims::Claims::read(&yaml, "p", Some((&meta, "meta")), assess::ClaimGrades::default())
            .unwrap_or_else(|error| panic!("{error}\n{yaml}"));
        assert_eq!(claims.teams(), vec![team.to_string()]);
        let as_of = model::time::parse_time("2025-02-01").unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(claims.claim(team, "u1", as_of).map(|claim| claim.grade), Some(3));
        assert_eq!(one_line(" pay\nments\t "), "pay ments");
    }
}
