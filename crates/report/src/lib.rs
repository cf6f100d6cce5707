//! Reports people read: one self-contained HTML file (no network, no external
//! assets; inline SVG charts; printable), the same content as Markdown, and
//! the assessment as JSON. Templates go through minijinja; the charts are
//! drawn here as SVG.

pub mod export;

use assess::plan::Plan;
use assess::questions::Answer;
use assess::sample::Sample;
use assess::sources::SourcesReport;
use assess::{Assessment, TeamAssessment};
use model::Evidence;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What one cited record says and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceNote {
    /// Ledger id.
    pub id: u64,
    /// Kind.
    pub kind: String,
    /// When.
    pub occurred_at: String,
    /// Input file and line or pointer.
    pub source: String,
    /// Subject, as JSON.
    pub subject: String,
    /// The attributes, cut to a readable length.
    pub says: String,
}

/// The first `shown` evidence ids as `#id`, and how many more there are.
fn cited(ids: &[u64], shown: usize) -> Vec<String> {
    let mut cells: Vec<String> = ids.iter().take(shown).map(|id| format!("#{id}")).collect();
    if ids.len() > shown {
        cells.push(format!("and {} more", ids.len() - shown));
    }
    cells
}

/// The notes for every id cited by the assessment, answers and sample.
pub fn evidence_notes(records: &[Evidence], ids: impl IntoIterator<Item = u64>) -> BTreeMap<u64, EvidenceNote> {
    let by_id: BTreeMap<u64, &Evidence> = records.iter().map(|record| (record.id, record)).collect();
    let mut notes = BTreeMap::new();
    for id in ids {
        let Some(record) = by_id.get(&id) else { continue };
        let mut says = record.attrs.to_string();
        if says.chars().count() > 600 {
            says = format!("{}…", says.chars().take(600).collect::<String>());
        }
        let position = match (&record.source.line, &record.source.pointer) {
            (Some(line), _) => format!(":{line}"),
            (None, Some(pointer)) => format!(" at {pointer}"),
            _ => String::new(),
        };
        notes.insert(
            id,
            EvidenceNote {
                id,
                kind: record.kind.as_str().to_string(),
                occurred_at: model::time::format_time(record.occurred_at),
                source: format!("{} ({}){position}", record.source.origin, record.source.collector),
                subject: serde_json::to_string(&record.subject).unwrap_or_default(),
                says,
            },
        );
    }
    notes
}

/// Everything a report shows.
pub struct Input<'a> {
    /// The assessment.
    pub assessment: &'a Assessment,
    /// The five answers per team.
    pub answers: &'a [(String, Answer)],
    /// The sample per team.
    pub samples: &'a [Sample],
    /// The plan per team.
    pub plans: &'a [Plan],
    /// The evidence-pipeline report.
    pub sources: &'a SourcesReport,
    /// Notes for the cited records.
    pub evidence: &'a BTreeMap<u64, EvidenceNote>,
}

fn median(mut levels: Vec<u8>) -> u8 {
    levels.sort_unstable();
    levels.get(levels.len() / 2).copied().unwrap_or(0)
}

/// A team's headline levels: the median over its sub-dimensions.
pub fn headline(team: &TeamAssessment) -> (u8, u8) {
    (
        median(team.subdimensions.iter().map(|level| level.claimed_level).collect()),
        median(team.subdimensions.iter().map(|level| level.audit_level).collect()),
    )
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Claimed vs audit-real level per sub-dimension, as horizontal bars (inline SVG).
pub fn chart_svg(team: &TeamAssessment) -> String {
    let row = 26;
    let label = 260;
    let unit = 60;
    let height = 40 + row * team.subdimensions.len();
    let width = label + unit * 5 + 40;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" aria-label=\"claimed and audit-real level per sub-dimension for {}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\">",
        escape(&team.team)
    );
    for level in 0..=5 {
        let x = label + unit * level;
        let _ = write!(
            svg,
            "<line x1=\"{x}\" y1=\"20\" x2=\"{x}\" y2=\"{}\" stroke=\"#ddd\"/><text x=\"{x}\" y=\"14\" font-size=\"11\" text-anchor=\"middle\">{level}</text>",
            height - 10
        );
    }
    for (index, level) in team.subdimensions.iter().enumerate() {
        let y = 24 + row * index;
        let claimed = unit * usize::from(level.claimed_level);
        let audit = unit * usize::from(level.audit_level);
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text><rect class=\"claimed\" x=\"{label}\" y=\"{y}\" width=\"{claimed}\" height=\"9\" fill=\"#b0b7c3\"><title>claimed {}</title></rect><rect class=\"audit\" x=\"{label}\" y=\"{}\" width=\"{audit}\" height=\"9\" fill=\"#1f6feb\"><title>audit-real {}</title></rect>",
            label - 8,
            y + 14,
            escape(&level.subdimension),
            level.claimed_level,
            y + 10,
            level.audit_level
        );
    }
    svg.push_str("</svg>");
    svg
}

/// The plan as a timeline (inline SVG).
pub fn timeline_svg(plan: &Plan) -> String {
    let scheduled: Vec<&assess::plan::Action> = plan
        .actions
        .iter()
        .filter(|action| action.start_day.is_some())
        .collect();
    let row = 22;
    let label = 420;
    let scale = 4;
    let width = label + scale * plan.days as usize + 20;
    let height = 30 + row * scheduled.len();
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\">"
    );
    for day in (0..=plan.days).step_by(30) {
        let x = label + scale * day as usize;
        let _ = write!(
            svg,
            "<line x1=\"{x}\" y1=\"16\" x2=\"{x}\" y2=\"{height}\" stroke=\"#ddd\"/><text x=\"{x}\" y=\"12\" font-size=\"10\" text-anchor=\"middle\">day {day}</text>"
        );
    }
    for (index, action) in scheduled.iter().enumerate() {
        let y = 20 + row * index;
        let start = action.start_day.unwrap_or(0) as usize;
        let end = action.end_day.unwrap_or(0) as usize;
        let mut title = action.title.clone();
        if title.chars().count() > 64 {
            title = format!("{}…", title.chars().take(63).collect::<String>());
        }
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text><rect x=\"{}\" y=\"{y}\" width=\"{}\" height=\"14\" rx=\"3\" fill=\"#2da44e\"><title>{} ({} weeks, raises {})</title></rect>",
            label - 8,
            y + 11,
            escape(&title),
            label + scale * start,
            (scale * (end - start)).max(2),
            escape(&action.title),
            action.effort_weeks,
            action.gain
        );
    }
    svg.push_str("</svg>");
    svg
}

const HTML: &str = include_str!("report.html");

#[derive(Serialize)]
struct TeamView<'a> {
    team: &'a TeamAssessment,
    claimed: u8,
    audit: u8,
    chart: String,
    answers: Vec<&'a Answer>,
    sample: Option<&'a Sample>,
    plan: Option<&'a Plan>,
    timeline: String,
}

fn team_views<'a>(input: &'a Input<'a>) -> Vec<TeamView<'a>> {
    input
        .assessment
        .teams
        .iter()
        .map(|team| {
            let (claimed, audit) = headline(team);
            let plan = input.plans.iter().find(|plan| plan.team == team.team);
            TeamView {
                team,
                claimed,
                audit,
                chart: chart_svg(team),
                answers: input
                    .answers
                    .iter()
                    .filter(|(name, _)| *name == team.team)
                    .map(|(_, answer)| answer)
                    .collect(),
                sample: input.samples.iter().find(|sample| sample.team == team.team),
                timeline: plan.map(timeline_svg).unwrap_or_default(),
                plan,
            }
        })
        .collect()
}

/// The self-contained HTML report.
pub fn html(input: &Input<'_>) -> Result<String, String> {
    let mut environment = minijinja::Environment::new();
    environment
        .add_template("report.html", HTML)
        .map_err(|error| error.to_string())?;
    let template = environment
        .get_template("report.html")
        .map_err(|error| error.to_string())?;
    template
        .render(minijinja::context! {
            assessment => input.assessment,
            teams => team_views(input),
            sources => input.sources,
            evidence => input.evidence.iter().map(|(id, note)| (id.to_string(), note)).collect::<BTreeMap<String, &EvidenceNote>>(),
        })
        .map_err(|error| error.to_string())
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// The same content as Markdown.
pub fn markdown(input: &Input<'_>) -> String {
    let assessment = input.assessment;
    let mut out = format!(
        "# DSOMM audit report\n\nAs of {} · model {} · rubric {} · ledger checkpoint {}\n",
        assessment.as_of, assessment.model_version, assessment.rubric_version, assessment.ledger_checkpoint
    );
    for view in team_views(input) {
        let team = view.team;
        let _ = write!(
            out,
            "\n## Team {}: claimed Level {}, audit-real Level {}\n\n",
            team.team, view.claimed, view.audit
        );
        out.push_str("| dimension | sub-dimension | claimed | audit-real |\n|---|---|---|---|\n");
        for level in &team.subdimensions {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&level.dimension),
                cell(&level.subdimension),
                level.claimed_level,
                level.audit_level
            );
        }
        out.push_str("\n### The five questions\n\n| question | status | why not | evidence |\n|---|---|---|---|\n");
        for answer in &view.answers {
            let ids = cited(&answer.evidence, 10);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                answer.question,
                answer.status,
                cell(answer.why_not.as_deref().unwrap_or("")),
                ids.join(" ")
            );
        }
        if let Some(sample) = view.sample {
            let _ = write!(
                out,
                "\n### Auditor's sample (seed {})\n\n{}\n\n",
                sample.seed, sample.summary
            );
            for item in &sample.items {
                let _ = writeln!(
                    out,
                    "- **{}** {} (claimed {}, grade {}): {}",
                    item.verdict,
                    item.name,
                    item.claimed_grade,
                    item.grade,
                    cell(&item.because.first().cloned().unwrap_or_default())
                );
            }
        }
        if let Some(plan) = view.plan {
            let _ = write!(
                out,
                "\n### {}-day plan\n\n| days | action | effort | raises | details |\n|---|---|---|---|---|\n",
                plan.days
            );
            for action in &plan.actions {
                let days = match (action.start_day, action.end_day) {
                    (Some(start), Some(end)) => format!("{start}–{end}"),
                    _ => "later".into(),
                };
                let _ = writeln!(
                    out,
                    "| {days} | {} | {} wk | {} | {} |",
                    cell(&action.title),
                    action.effort_weeks,
                    action.gain,
                    cell(&action.details.first().cloned().unwrap_or_default())
                );
            }
        }
        out.push_str("\n### Activities\n\n| activity | level | archetype | claimed | grade | confirmed | next grade fails because | evidence |\n|---|---|---|---|---|---|---|---|\n");
        for activity in &team.activities {
            let reasons: Vec<String> = activity
                .reasons
                .iter()
                .map(|reason| format!("`{}`: {}", reason.probe, cell(&reason.message)))
                .collect();
            let ids = cited(&activity.evidence, 10);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&activity.name),
                activity.level,
                activity.archetype,
                activity
                    .claimed_grade
                    .map_or("-".to_string(), |grade| grade.to_string()),
                activity.grade,
                activity
                    .confirmed
                    .map_or("-", |confirmed| if confirmed { "yes" } else { "no" }),
                reasons.join("<br>"),
                ids.join(" ")
            );
        }
    }
    out.push_str("\n## Evidence pipelines\n\n| kind | source | records | oldest | newest | largest gap (days) | look-back | retention |\n|---|---|---|---|---|---|---|---|\n");
    for line in &input.sources.sources {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            line.kind,
            line.source,
            line.records,
            line.oldest,
            line.newest,
            line.largest_gap_days,
            if line.covers_lookback { "covered" } else { "short" },
            if line.covers_retention { "covered" } else { "short" }
        );
    }
    let _ = writeln!(out, "\nNo evidence at all: {}", input.sources.missing_kinds.join(", "));
    out.push_str("\n## Evidence cited\n\n| id | kind | when | source | says |\n|---|---|---|---|---|\n");
    for note in input.evidence.values() {
        let _ = writeln!(
            out,
            "| #{} | {} | {} | {} | {} |",
            note.id,
            note.kind,
            note.occurred_at,
            cell(&note.source),
            cell(&note.says)
        );
    }
    out
}
