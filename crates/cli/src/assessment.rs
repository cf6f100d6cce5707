//! `assess`, `ask`, `sample`, `plan` and `sources`: load the ledger's records
//! as of a time, the catalogue (or model), the rubric and the claims, run the
//! assessment library, and render tables and Markdown.

use crate::config::Config;
use anyhow::{Result, anyhow, bail};
use assess::{Assessment, Claims, Rubric};
use jiff::Timestamp;
use model::Evidence;
use model::catalogue::Catalogue;
use probes::Scope;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Everything an assessment command reads.
pub struct Loaded {
    /// The configuration.
    pub config: Config,
    /// Records up to the as-of time.
    pub records: Vec<Evidence>,
    /// The catalogue (from the model when one is given).
    pub catalogue: Catalogue,
    /// The model's `assessment` texts.
    pub assessment_texts: BTreeMap<String, String>,
    /// The model's `dependsOn`, as uuids (empty without the model).
    pub depends_on: BTreeMap<String, Vec<String>>,
    /// The rubric.
    pub rubric: Rubric,
    /// The teams assessed.
    pub teams: Vec<Scope>,
    /// Claims, if given.
    pub claims: Option<Claims>,
    /// The as-of time.
    pub as_of: Timestamp,
    /// The latest ledger checkpoint (`{"size", "root"}`).
    pub checkpoint: serde_json::Value,
}

/// Parse `--as-of` (RFC 3339 or a date); without it, now.
pub fn as_of(text: Option<&str>, now: Timestamp) -> Result<Timestamp> {
    match text {
        Some(text) => model::time::parse_time(text).map_err(|error| anyhow!("--as-of `{text}`: {error}")),
        None => Ok(now),
    }
}

/// Load records (of `kinds`, or all when empty), model, rubric, teams and claims.
pub fn load(
    config: Config,
    model: Option<PathBuf>,
    claims: Option<&Path>,
    meta: Option<&Path>,
    team: Option<&str>,
    as_of: Timestamp,
    kinds: &[model::EvidenceKind],
) -> Result<Loaded> {
    let ledger = ledger::Ledger::open(&config.ledger_path)?;
    // Only the kinds asked for (all when none are named).
    let records = ledger.query(&ledger::Query {
        to: Some(as_of),
        kinds: kinds.to_vec(),
        ..ledger::Query::default()
    })?;
    let checkpoint = match ledger.latest_checkpoint()? {
        Some((checkpoint, _)) => serde_json::json!({"size": checkpoint.size, "root": hex::encode(checkpoint.root)}),
        None => serde_json::Value::Null,
    };
    let model_path = model.or_else(|| config.model_path.clone());
    let (catalogue, assessment_texts, depends_on) = match &model_path {
        Some(path) => {
            let bytes = crate::files::read_input(path, "model file", model::dsomm::MAX_MODEL_BYTES as u64)
                .map_err(|error| anyhow!(error))?;
            let loaded = model::dsomm::load_model(&bytes, &path.display().to_string())?;
            let texts = loaded
                .activities
                .iter()
                .filter_map(|activity| activity.assessment.clone().map(|text| (activity.uuid.clone(), text)))
                .collect();
            // v4 names dependencies by uuid, v3 by activity name.
            let by_name: BTreeMap<&str, &str> = loaded
                .activities
                .iter()
                .map(|activity| (activity.name.as_str(), activity.uuid.as_str()))
                .collect();
            let depends = loaded
                .activities
                .iter()
                .filter(|activity| !activity.depends_on.is_empty())
                .map(|activity| {
                    let uuids = activity
                        .depends_on
                        .iter()
                        .map(|entry| {
                            by_name
                                .get(entry.as_str())
                                .map_or_else(|| entry.clone(), |uuid| uuid.to_string())
                        })
                        .collect();
                    (activity.uuid.clone(), uuids)
                })
                .collect();
            (Catalogue::from_model(&loaded), texts, depends)
        }
        None => (Catalogue::embedded()?, BTreeMap::new(), BTreeMap::new()),
    };
    let rubric = Rubric::embedded().map_err(|error| anyhow!("the embedded rubric: {error}"))?;
    let unmapped = rubric.unmapped(&catalogue);
    if !unmapped.is_empty() {
        let names: Vec<String> = unmapped
            .iter()
            .take(10)
            .map(|activity| format!("{} ({})", activity.name, activity.uuid))
            .collect();
        eprintln!(
            "warning: {} activities of the model are not in the rubric (rubric/rubric.tsv); they are graded as manual activities, by attestation: {}{}",
            unmapped.len(),
            names.join(", "),
            if unmapped.len() > 10 { ", ..." } else { "" }
        );
    }
    let claims = match claims {
        Some(path) => {
            let text = crate::files::read_input_text(path, "claims file", assess::claims::MAX_BYTES as u64)
                .map_err(|error| anyhow!(error))?;
            let meta_path = meta.map(Path::to_path_buf).or_else(|| {
                let beside = path.parent().unwrap_or(Path::new(".")).join("meta.yaml");
                beside.is_file().then_some(beside)
            });
            let meta_text = match &meta_path {
                Some(meta) => Some(
                    crate::files::read_input_text(meta, "meta file", assess::claims::MAX_BYTES as u64)
                        .map_err(|error| anyhow!(error))?,
                ),
                None => None,
            };
            let meta_shown = meta_path
                .as_ref()
                .map(|meta| meta.display().to_string())
                .unwrap_or_default();
            let loaded = Claims::read(
                &text,
                &path.display().to_string(),
                meta_text.as_deref().map(|meta| (meta, meta_shown.as_str())),
                config.claim_grades.clone(),
            )
            .map_err(|error| anyhow!(error))?;
            for warning in &loaded.warnings {
                eprintln!("warning: {warning}");
            }
            let known: std::collections::BTreeSet<&str> = catalogue
                .activities
                .iter()
                .map(|activity| activity.uuid.as_str())
                .collect();
            let unknown: Vec<&str> = loaded.uuids().filter(|uuid| !known.contains(uuid)).collect();
            if !unknown.is_empty() {
                eprintln!(
                    "warning: {}: {} claimed activities are not in the {}; their claims are ignored: {}{}",
                    path.display(),
                    unknown.len(),
                    if model_path.is_some() {
                        "model"
                    } else {
                        "embedded catalogue (give the model with --model)"
                    },
                    unknown.iter().take(10).copied().collect::<Vec<_>>().join(", "),
                    if unknown.len() > 10 { ", ..." } else { "" }
                );
            }
            Some(loaded)
        }
        None => None,
    };
    let mut teams = if !config.teams.is_empty() {
        config.teams.clone()
    } else {
        let owned = teams_from_inventory(&records);
        if owned.is_empty() {
            vec![Scope {
                team: "all".into(),
                ..Scope::default()
            }]
        } else {
            owned
        }
    };
    if let Some(claims) = &claims {
        for claimed in claims.teams() {
            if !teams.iter().any(|scope| scope.team == claimed) {
                eprintln!(
                    "warning: team `{claimed}` in the claims is not declared in {} ([[team]]); its claims are not assessed",
                    config.file.display()
                );
            }
        }
    }
    if let Some(team) = team {
        teams.retain(|scope| scope.team == team);
        if teams.is_empty() {
            bail!(
                "no team `{team}` (declare it with [[team]] in {})",
                config.file.display()
            );
        }
    }
    Ok(Loaded {
        config,
        records,
        catalogue,
        assessment_texts,
        depends_on,
        rubric,
        teams,
        claims,
        as_of,
        checkpoint,
    })
}

/// Teams and what they own from the latest inventory snapshot (Backstage
/// `Group`s and the `owner` of each component): used when dsomm-audit.toml
/// declares no `[[team]]`.
pub fn teams_from_inventory(records: &[Evidence]) -> Vec<Scope> {
    let Some(latest) = records
        .iter()
        .filter(|record| record.kind == model::EvidenceKind::AssetSnapshot)
        .map(|record| record.occurred_at)
        .max()
    else {
        return Vec::new();
    };
    let mut teams: BTreeMap<String, Scope> = BTreeMap::new();
    for record in records
        .iter()
        .filter(|record| record.kind == model::EvidenceKind::AssetSnapshot && record.occurred_at == latest)
    {
        for group in record
            .attrs
            .get("groups")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = group.get("name").and_then(serde_json::Value::as_str) {
                teams.entry(name.to_string()).or_insert_with(|| Scope {
                    team: name.to_string(),
                    ..Scope::default()
                });
            }
        }
        for asset in record
            .attrs
            .get("assets")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
        {
            let owner = asset
                .get("owner")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default();
            let owner = owner.rsplit([':', '/']).next().unwrap_or(owner);
            let Some(team) = teams.get_mut(owner) else { continue };
            if let Some(repo) = asset.get("repo").and_then(serde_json::Value::as_str) {
                team.repos.push(repo.to_string());
            }
            if let Some(name) = asset.get("name").and_then(serde_json::Value::as_str) {
                team.services.push(name.to_string());
            }
        }
    }
    teams
        .into_values()
        .filter(|team| !team.repos.is_empty() || !team.services.is_empty())
        .collect()
}

impl Loaded {
    /// Run the assessment.
    pub fn assess(&self) -> Assessment {
        assess::assess(&assess::Inputs {
            records: &self.records,
            catalogue: &self.catalogue,
            rubric: &self.rubric,
            teams: &self.teams,
            claims: self.claims.as_ref(),
            thresholds: &self.config.thresholds,
            as_of: self.as_of,
            assessment_texts: &self.assessment_texts,
            checkpoint: self.checkpoint.clone(),
        })
    }

    /// A team's evidence view.
    pub fn view<'a>(&'a self, scope: &'a Scope) -> probes::View<'a> {
        probes::View::new(&self.records, self.as_of, scope, &self.config.thresholds)
    }
}

fn grade_text(grade: Option<u8>) -> String {
    grade.map_or("-".to_string(), |grade| grade.to_string())
}

/// The assessment as a table for a person: per team, the sub-dimension levels,
/// then every activity that is claimed or graded above 0, with its first reason.
pub fn table(assessment: &Assessment) -> String {
    let mut out = format!(
        "as of {} · model {} · rubric {}\n",
        assessment.as_of, assessment.model_version, assessment.rubric_version
    );
    for team in &assessment.teams {
        out.push_str(&format!("\nteam {}\n", team.team));
        out.push_str(&format!(
            "  {:<28} {:<38} {:>7} {:>10}\n",
            "dimension", "sub-dimension", "claimed", "audit-real"
        ));
        for level in &team.subdimensions {
            let marker = if level.claimed_level > level.audit_level {
                " !"
            } else {
                ""
            };
            out.push_str(&format!(
                "  {:<28} {:<38} {:>7} {:>10}{marker}\n",
                level.dimension, level.subdimension, level.claimed_level, level.audit_level
            ));
        }
        let shown: Vec<&assess::ActivityGrade> = team
            .activities
            .iter()
            .filter(|activity| activity.claimed_grade.unwrap_or(0) > 0 || activity.grade > 0)
            .collect();
        out.push_str(&format!(
            "\n  {} activities claimed or evidenced (of {}):\n",
            shown.len(),
            team.activities.len()
        ));
        for activity in shown {
            let verdict = match activity.confirmed {
                Some(true) => "confirmed",
                Some(false) => "REFUTED",
                None => "",
            };
            out.push_str(&format!(
                "  grade {} claimed {} {:<9} {} ({} / {}, level {})\n",
                activity.grade,
                grade_text(activity.claimed_grade),
                verdict,
                activity.name,
                activity.subdimension,
                activity.archetype,
                activity.level
            ));
            if let Some(reason) = activity.reasons.first() {
                out.push_str(&format!(
                    "      next grade {}: {} — {}\n",
                    reason.grade, reason.probe, reason.message
                ));
            }
        }
    }
    out
}

/// The assessment as Markdown.
pub fn markdown(assessment: &Assessment) -> String {
    let mut out = format!(
        "# DSOMM assessment\n\nAs of {} · model {} · rubric {} · ledger checkpoint {}\n",
        assessment.as_of, assessment.model_version, assessment.rubric_version, assessment.ledger_checkpoint
    );
    for team in &assessment.teams {
        out.push_str(&format!(
            "\n## Team {}\n\n| dimension | sub-dimension | claimed | audit-real |\n|---|---|---|---|\n",
            team.team
        ));
        for level in &team.subdimensions {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                level.dimension, level.subdimension, level.claimed_level, level.audit_level
            ));
        }
        out.push_str("\n| activity | level | archetype | claimed | grade | required | confirmed | next grade fails because | evidence |\n|---|---|---|---|---|---|---|---|---|\n");
        for activity in &team.activities {
            let reasons: Vec<String> = activity
                .reasons
                .iter()
                .map(|reason| format!("`{}`: {}", reason.probe, reason.message.replace('|', "\\|")))
                .collect();
            let evidence: Vec<String> = activity.evidence.iter().take(10).map(u64::to_string).collect();
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
                activity.name.replace('|', "\\|"),
                activity.level,
                activity.archetype,
                grade_text(activity.claimed_grade),
                activity.grade,
                activity.required_grade,
                activity
                    .confirmed
                    .map_or("-", |confirmed| if confirmed { "yes" } else { "no" }),
                reasons.join("<br>"),
                evidence.join(", ")
            ));
        }
    }
    out
}

/// An answer for a person.
pub fn answer_table(answer: &assess::questions::Answer) -> String {
    let mut out = format!("{}: {}\n", answer.question, answer.status);
    if !answer.answer.is_null() {
        out.push_str(&format!("  answer: {}\n", answer.answer));
    }
    if let Some(why) = &answer.why_not {
        out.push_str(&format!("  why not: {why}\n"));
    }
    if !answer.evidence.is_empty() {
        let ids: Vec<String> = answer.evidence.iter().map(u64::to_string).collect();
        out.push_str(&format!("  evidence: {}\n", ids.join(", ")));
    }
    out
}

/// A sample for a person.
pub fn sample_table(sample: &assess::sample::Sample) -> String {
    let mut out = format!("team {} (seed {})\n", sample.team, sample.seed);
    for item in &sample.items {
        out.push_str(&format!(
            "  {:<9} claimed {} grade {}  {}\n",
            item.verdict, item.claimed_grade, item.grade, item.name
        ));
        for because in item.because.iter().take(3) {
            out.push_str(&format!("      {because}\n"));
        }
    }
    out.push_str(&format!("  {}\n", sample.summary));
    out
}

/// A plan for a person.
pub fn plan_table(plan: &assess::plan::Plan) -> String {
    let mut out = format!("team {}: {}-day plan\n", plan.team, plan.days);
    for action in &plan.actions {
        let when = match (action.start_day, action.end_day) {
            (Some(start), Some(end)) => format!("day {start:>3}-{end:<3}"),
            _ => "later      ".to_string(),
        };
        out.push_str(&format!(
            "  {when} {} ({} weeks, raises {} activities)\n",
            action.title, action.effort_weeks, action.gain
        ));
        for detail in action.details.iter().take(5) {
            out.push_str(&format!("      {detail}\n"));
        }
    }
    out
}

/// The evidence-pipeline report for a person.
pub fn sources_table(report: &assess::sources::SourcesReport) -> String {
    let mut out = format!(
        "as of {} · look-back {} days · retention {} days\n",
        report.as_of, report.lookback_days, report.retention_days
    );
    out.push_str(&format!(
        "  {:<20} {:<16} {:>8} {:<11} {:<11} {:>7} {:<9} {:<9}\n",
        "kind", "source", "records", "oldest", "newest", "max gap", "lookback", "retention"
    ));
    for line in &report.sources {
        out.push_str(&format!(
            "  {:<20} {:<16} {:>8} {:<11} {:<11} {:>6}d {:<9} {:<9}\n",
            line.kind,
            line.source,
            line.records,
            line.oldest.get(..10).unwrap_or(""),
            line.newest.get(..10).unwrap_or(""),
            line.largest_gap_days,
            if line.covers_lookback { "yes" } else { "SHORT" },
            if line.covers_retention { "yes" } else { "SHORT" }
        ));
    }
    out.push_str(&format!("  no evidence at all: {}\n", report.missing_kinds.join(", ")));
    out
}
