//! Claims: what teams say they implemented, from the DSOMM app's
//! `team-progress.yaml` (with the `meta.yaml` that defines the progress
//! states) or the older v3 per-activity `teamsImplemented`. States are mapped
//! by their score, never by their name; the current state of a team for an
//! activity is the highest-scoring state dated on or before the as-of time.
//! Claims are read strictly: 100% claims grade 3, 50% or more grade 2, more
//! than 0% grade 1 (configurable).

use jiff::Timestamp;
use serde_json::Value;
use std::collections::BTreeMap;

/// Largest claims file read.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;

/// The grade a progress score claims, by thresholds (percent).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimGrades {
    /// At or above this score a claim is grade 3.
    pub grade3: f64,
    /// At or above this score, grade 2.
    pub grade2: f64,
    /// Above this score, grade 1.
    pub grade1_above: f64,
}

impl Default for ClaimGrades {
    fn default() -> Self {
        ClaimGrades {
            grade3: 100.0,
            grade2: 50.0,
            grade1_above: 0.0,
        }
    }
}

impl ClaimGrades {
    /// The grade claimed by a score in percent.
    pub fn grade(&self, score: f64) -> u8 {
        if score >= self.grade3 {
            3
        } else if score >= self.grade2 {
            2
        } else if score > self.grade1_above {
            1
        } else {
            0
        }
    }
}

/// One team's claim for one activity.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    /// The state's name, as written.
    pub state: String,
    /// Its score in percent.
    pub score: f64,
    /// The grade it claims.
    pub grade: u8,
}

/// The dated states of one team for one activity: (state, score, date).
type States = Vec<(String, f64, Timestamp)>;

/// Every claim: activity uuid -> team -> [(state, score, date)].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Claims {
    entries: BTreeMap<String, BTreeMap<String, States>>,
    grades: ClaimGrades,
    /// Problems found while reading (unknown states, bad dates), for the operator.
    pub warnings: Vec<String>,
}

fn parse_yaml(text: &str, origin: &str) -> Result<Value, String> {
    if text.len() > MAX_BYTES {
        return Err(format!("{origin}: larger than {MAX_BYTES} bytes"));
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(MAX_BYTES),
            max_depth: 64,
            flow_nesting_limit: 64,
            max_documents: 16,
            max_aliases: 10_000,
            max_anchors: 10_000,
            max_nodes: 2_000_000,
            max_events: 4_000_000,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 1_000_000,
            max_replay_stack_depth: 64,
        },
        with_snippet: false,
    };
    let documents: Vec<Value> =
        serde_saphyr::from_str_multiple_with_options(text, options).map_err(|error| format!("{origin}: {error}"))?;
    documents
        .into_iter()
        .rev()
        .find(|document| document.is_object())
        .ok_or_else(|| format!("{origin}: no mapping at the top level"))
}

fn score_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number
            .as_f64()
            .map(|score| if score <= 1.0 { score * 100.0 } else { score }),
        Value::String(text) => {
            let text = text.trim();
            match text.strip_suffix('%') {
                Some(percent) => percent.trim().parse().ok(),
                None => text
                    .parse::<f64>()
                    .ok()
                    .map(|score| if score <= 1.0 { score * 100.0 } else { score }),
            }
        }
        _ => None,
    }
}

fn date_of(value: &Value) -> Option<Timestamp> {
    match value {
        Value::String(text) => model::time::parse_time(text.trim()).ok(),
        _ => None,
    }
}

/// The progress states a `meta.yaml` defines: name and score in percent.
pub fn progress_states(meta: &str, origin: &str) -> Result<Vec<(String, f64)>, String> {
    let meta = parse_yaml(meta, origin)?;
    let definition = meta
        .get("progressDefinition")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{origin}: no `progressDefinition` mapping"))?;
    definition
        .iter()
        .map(|(name, state)| {
            state
                .get("score")
                .and_then(score_of)
                .map(|score| (name.clone(), score))
                .ok_or_else(|| format!("{origin}: progress state `{name}` has no readable `score`"))
        })
        .collect()
}

impl Claims {
    /// Read a `team-progress.yaml` with the progress states of `meta` (the
    /// `meta.yaml` text; `None`: the app's default states).
    pub fn from_team_progress(
        progress: &str,
        origin: &str,
        meta: Option<(&str, &str)>,
        grades: ClaimGrades,
    ) -> Result<Claims, String> {
        let mut states: BTreeMap<String, f64> = BTreeMap::from([
            ("Not implemented".to_string(), 0.0),
            ("Started".to_string(), 20.0),
            ("Partly implemented".to_string(), 50.0),
            ("Fully implemented".to_string(), 100.0),
        ]);
        if let Some((meta_text, meta_origin)) = meta {
            let meta = parse_yaml(meta_text, meta_origin)?;
            let definition = meta
                .get("progressDefinition")
                .and_then(Value::as_object)
                .ok_or_else(|| format!("{meta_origin}: no `progressDefinition` mapping"))?;
            states.clear();
            for (name, state) in definition {
                let score = state
                    .get("score")
                    .and_then(score_of)
                    .ok_or_else(|| format!("{meta_origin}: progress state `{name}` has no readable `score`"))?;
                states.insert(name.clone(), score);
            }
        }
        let states_from = if meta.is_some() {
            "meta.yaml"
        } else {
            "the DSOMM app's default progress states (give the team's meta.yaml with --meta)"
        };
        let document = parse_yaml(progress, origin)?;
        let mut claims = Claims {
            grades,
            ..Claims::default()
        };
        let Some(progress) = document.get("progress") else {
            return Err(format!("{origin}: no `progress` key (is this a team-progress.yaml?)"));
        };
        let Some(progress) = progress.as_object() else {
            // An empty template (`progress:` with nothing) claims nothing.
            return if progress.is_null() {
                Ok(claims)
            } else {
                Err(format!("{origin}: `progress` is not a mapping"))
            };
        };
        for (uuid, teams) in progress {
            for (team, team_states) in teams.as_object().into_iter().flatten() {
                for (state, date) in team_states.as_object().into_iter().flatten() {
                    let Some(score) = states.get(state).copied() else {
                        claims.warnings.push(format!(
                            "{origin}: {uuid} / {team}: progress state `{state}` is not defined in {states_from}; ignored"
                        ));
                        continue;
                    };
                    let Some(date) = date_of(date) else {
                        claims.warnings.push(format!(
                            "{origin}: {uuid} / {team} / {state}: `{date}` is not a date; ignored"
                        ));
                        continue;
                    };
                    claims
                        .entries
                        .entry(uuid.clone())
                        .or_default()
                        .entry(team.clone())
                        .or_default()
                        .push((state.clone(), score, date));
                }
            }
        }
        Ok(claims)
    }

    /// Read the v3 model's per-activity `teamsImplemented` (`generated.yaml`):
    /// `true` (or a date) claims full implementation (100%), as the v3 app did.
    pub fn from_v3_model(text: &str, origin: &str, grades: ClaimGrades) -> Result<Claims, String> {
        let document = parse_yaml(text, origin)?;
        let mut claims = Claims {
            grades,
            ..Claims::default()
        };
        let epoch = Timestamp::UNIX_EPOCH;
        let mut activities_seen = 0usize;
        for (_, subdimensions) in document.as_object().into_iter().flatten() {
            for (_, activities) in subdimensions.as_object().into_iter().flatten() {
                for (name, activity) in activities.as_object().into_iter().flatten() {
                    if activity.get("uuid").is_some() {
                        activities_seen += 1;
                    }
                    let Some(implemented) = activity.get("teamsImplemented").and_then(Value::as_object) else {
                        continue;
                    };
                    let Some(uuid) = activity.get("uuid").and_then(Value::as_str) else {
                        claims.warnings.push(format!(
                            "{origin}: activity `{name}` has teamsImplemented but no uuid; ignored"
                        ));
                        continue;
                    };
                    for (team, value) in implemented {
                        let date = match value {
                            Value::Bool(true) => Some(epoch),
                            // `false` and null say "not implemented".
                            Value::Bool(false) | Value::Null => continue,
                            Value::String(_) => date_of(value),
                            _ => None,
                        };
                        if date.is_none() {
                            claims.warnings.push(format!(
                                "{origin}: activity `{name}` teamsImplemented `{team}`: {value} is neither true, false nor a date; no claim read"
                            ));
                        }
                        if let Some(date) = date {
                            claims
                                .entries
                                .entry(uuid.to_string())
                                .or_default()
                                .entry(team.clone())
                                .or_default()
                                .push(("implemented".into(), 100.0, date));
                        }
                    }
                }
            }
        }
        if activities_seen == 0 {
            return Err(format!(
                "{origin}: neither a team-progress.yaml (no `progress` key) nor a v3 model (no activity with a uuid under dimension / sub-dimension)"
            ));
        }
        Ok(claims)
    }

    /// Every activity uuid the claims name.
    pub fn uuids(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Read either format: a document with `progress` is team progress, else a v3 model.
    pub fn read(text: &str, origin: &str, meta: Option<(&str, &str)>, grades: ClaimGrades) -> Result<Claims, String> {
        let document = parse_yaml(text, origin)?;
        if document.get("progress").is_some() {
            Claims::from_team_progress(text, origin, meta, grades)
        } else {
            Claims::from_v3_model(text, origin, grades)
        }
    }

    /// The team's claim for an activity as of `as_of`: the highest-scoring state dated on or before it.
    pub fn claim(&self, team: &str, uuid: &str, as_of: Timestamp) -> Option<Claim> {
        let states = self.entries.get(uuid)?.get(team)?;
        states
            .iter()
            .filter(|(_, _, date)| *date <= as_of)
            .max_by(|a, b| a.1.total_cmp(&b.1).then(a.2.cmp(&b.2)))
            .map(|(state, score, _)| Claim {
                state: state.clone(),
                score: *score,
                grade: self.grades.grade(*score),
            })
    }

    /// Every team named in the claims.
    pub fn teams(&self) -> Vec<String> {
        let mut teams: Vec<String> = self.entries.values().flat_map(|teams| teams.keys().cloned()).collect();
        teams.sort();
        teams.dedup();
        teams
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const META: &str = "progressDefinition:\n  Nope:\n    score: 0%\n  Begun:\n    score: 20%\n  Half:\n    score: 50%\n  Done:\n    score: 100%\n";

    fn time(text: &str) -> Timestamp {
        model::time::parse_time(text).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn states_are_mapped_by_score_and_date() {
        let progress = "progress:\n  u1:\n    'Team A':\n      Begun: 2025-01-01\n      Done: 2025-03-01\n    'Team B':\n      Half: 2025-02-01\n      Planned: 2025-01-01\n";
        let claims = Claims::from_team_progress(progress, "p.yaml", Some((META, "meta.yaml")), ClaimGrades::default())
            .unwrap_or_default();
        assert_eq!(
            claims
                .claim("Team A", "u1", time("2025-02-01"))
                .map(|claim| claim.grade),
            Some(1)
        );
        assert_eq!(
            claims
                .claim("Team A", "u1", time("2025-06-01"))
                .map(|claim| (claim.grade, claim.state)),
            Some((3, "Done".to_string()))
        );
        assert_eq!(
            claims
                .claim("Team B", "u1", time("2025-06-01"))
                .map(|claim| claim.grade),
            Some(2)
        );
        assert_eq!(claims.claim("Team A", "u1", time("2024-06-01")), None);
        assert_eq!(claims.warnings.len(), 1, "{:?}", claims.warnings);
    }

    #[test]
    fn default_states_v3_and_errors() {
        let progress = "progress:\n  u1:\n    t:\n      Fully implemented: 2025-01-01\n";
        let claims = Claims::read(progress, "p", None, ClaimGrades::default()).unwrap_or_default();
        assert_eq!(
            claims.claim("t", "u1", time("2025-02-01")).map(|claim| claim.grade),
            Some(3)
        );
        let v3 = "Build and Deployment:\n  Build:\n    Defined build process:\n      uuid: u2\n      teamsImplemented:\n        Default: true\n        B: false\n";
        let claims = Claims::read(v3, "g", None, ClaimGrades::default()).unwrap_or_default();
        assert_eq!(
            claims
                .claim("Default", "u2", time("2025-02-01"))
                .map(|claim| claim.grade),
            Some(3)
        );
        assert_eq!(claims.claim("B", "u2", time("2025-02-01")), None);
        assert!(claims.warnings.is_empty(), "{:?}", claims.warnings);
        // A value that is neither a boolean nor a date is named, not dropped silently.
        let v3 = "Build and Deployment:\n  Build:\n    Defined build process:\n      uuid: u2\n      teamsImplemented:\n        A: \"true\"\n";
        let claims = Claims::read(v3, "g", None, ClaimGrades::default()).unwrap_or_default();
        assert_eq!(claims.claim("A", "u2", time("2025-02-01")), None);
        assert!(
            claims
                .warnings
                .iter()
                .any(|warning| warning.contains("`A`") && warning.contains("neither true")),
            "{:?}",
            claims.warnings
        );
        assert!(Claims::read("progress: [1, 2", "bad", None, ClaimGrades::default()).is_err());
        assert!(
            Claims::read("progress:\n", "empty", None, ClaimGrades::default())
                .is_ok_and(|claims| claims.teams().is_empty())
        );
        // Neither format: refused, not read as "no claims".
        let error = Claims::read("foo: bar\n", "other.yaml", None, ClaimGrades::default()).unwrap_err();
        assert!(error.contains("neither a team-progress.yaml"), "{error}");
        // Without a meta.yaml an unknown state is named against the defaults.
        let claims = Claims::read(
            "progress:\n  u1:\n    t:\n      Planned: 2025-01-01\n",
            "p",
            None,
            ClaimGrades::default(),
        )
        .unwrap();
        assert!(
            claims.warnings[0].contains("default progress states"),
            "{:?}",
            claims.warnings
        );
        // The ignored state leaves no claim behind.
        assert_eq!(claims.uuids().count(), 0);
        let claims = Claims::read(progress, "p", None, ClaimGrades::default()).unwrap();
        assert_eq!(claims.uuids().collect::<Vec<_>>(), vec!["u1"]);
    }
}
