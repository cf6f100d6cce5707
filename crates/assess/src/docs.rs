//! docs/rubric.md and docs/probes.md are generated from the rubric data and
//! the probe registry, so they cannot drift: a test compares them with what
//! these functions produce (run it with `DSOMM_UPDATE_DOCS=1` to rewrite them).

use crate::rubric::{ARCHETYPES, Rubric, default_ladder};
use model::catalogue::Catalogue;
use std::collections::BTreeMap;
use std::fmt::Write as _;

fn ladder_text(ladder: &BTreeMap<u8, Vec<String>>) -> String {
    ladder
        .iter()
        .map(|(grade, probes)| {
            format!(
                "{grade}: {}",
                probes
                    .iter()
                    .map(|probe| format!("`{probe}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// docs/rubric.md.
pub fn rubric_markdown(rubric: &Rubric, catalogue: &Catalogue) -> String {
    let mut out = String::new();
    let automated = rubric
        .entries
        .iter()
        .filter(|entry| {
            entry.archetype != "manual"
                || entry
                    .ladder
                    .values()
                    .flatten()
                    .any(|probe| !probe.starts_with("attest"))
        })
        .count();
    let _ = writeln!(out, "# The rubric\n");
    let _ = writeln!(
        out,
        "<!-- Generated from rubric/rubric.tsv and the probe registry by `assess::docs::rubric_markdown`; do not edit. -->\n"
    );
    let _ = writeln!(
        out,
        "Every activity of the DSOMM catalogue (model {}) is mapped, in `rubric/rubric.tsv` (rubric version {}), to an archetype and the probes that decide each grade (DESIGN.md section 5). An activity's grade is the highest grade whose probes, and those of every grade below, all answer `true`; a grade the ladder leaves out adds no condition; grades above the highest listed cannot be reached. A grade above 0 needs at least one cited record. The required grade is 3 unless stated.\n",
        catalogue.version, rubric.version
    );
    let _ = writeln!(
        out,
        "{} of {} activities have automated probes; the others are `manual` (attested by the owner, reviewed by someone else).\n",
        automated,
        rubric.entries.len()
    );
    let _ = writeln!(out, "## File format\n");
    let _ = writeln!(
        out,
        "Tab-separated, one row per catalogue activity in catalogue order, after `#` comment lines (one of them `# rubric-version: N`) and the header `uuid archetype categories required_grade probes name`. `categories` is a comma list of `sast`, `sca`, `secrets`, `iac`, `container`, `dast`, `license` for gates and `-` otherwise; `probes` is `-` for the archetype's default ladder or `1=a,b;2=c;3=d;4=e`. The name is checked against the catalogue by a test.\n"
    );
    let _ = writeln!(out, "## Default ladders\n\n| archetype | ladder |\n|---|---|");
    for archetype in ARCHETYPES {
        let _ = writeln!(out, "| {archetype} | {} |", ladder_text(&default_ladder(archetype)));
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for entry in &rubric.entries {
        *counts.entry(entry.archetype.as_str()).or_default() += 1;
    }
    let _ = writeln!(
        out,
        "\n## Activities per archetype\n\n| archetype | activities |\n|---|---|"
    );
    for (archetype, count) in counts {
        let _ = writeln!(out, "| {archetype} | {count} |");
    }
    let mut current = (String::new(), String::new());
    for activity in &catalogue.activities {
        let Some(entry) = rubric.entry(&activity.uuid) else {
            continue;
        };
        if (activity.dimension.clone(), activity.subdimension.clone()) != current {
            current = (activity.dimension.clone(), activity.subdimension.clone());
            let _ = writeln!(
                out,
                "\n## {} / {}\n\n| level | activity | archetype | categories | required | ladder |\n|---|---|---|---|---|---|",
                current.0, current.1
            );
        }
        let ladder = if entry.default_ladder {
            "default".to_string()
        } else {
            ladder_text(&entry.ladder)
        };
        let categories = if entry.categories.is_empty() {
            "-".to_string()
        } else {
            entry.categories.join(", ")
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            activity.level,
            activity.name.replace('|', "\\|"),
            entry.archetype,
            categories,
            entry.required_grade,
            ladder
        );
    }
    out
}

/// docs/probes.md.
pub fn probes_markdown(rubric: &Rubric) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Probes\n");
    let _ = writeln!(
        out,
        "<!-- Generated from the probe registry (crates/probes) by `assess::docs::probes_markdown`; do not edit. -->\n"
    );
    let _ = writeln!(
        out,
        "A probe is a pure function from one team's evidence (records about the team's repositories and services, plus organisation-wide records about neither; only records with `occurred_at` at or before the as-of time) to a fact: `true`, `false` or `not-available`, with a message and the ids of the records it rests on. A probe answers `not-available` when the evidence kinds it needs are absent — never a guess. Thresholds come from `[thresholds]` in dsomm-audit.toml (look-back 90 days, coverage 90%, remediation SLA 7 days, override lifetime 90 days, training period 365 days, champion share 80%, snapshot cadence 7 days, review period 365 days, retention 365 days).\n"
    );
    let _ = writeln!(
        out,
        "Attributes the probes read, by kind (collectors that land later must write these names): `pipeline_config` as `lint-pipelines` writes it; `gate_decision` `decision`, `tool` or `tools`, `observed`; `scan_report` `tool`; `override` as `dsomm-audit override` writes it; `alert_dismissal` `tool`, `rule_id`, `dismissed_by`, `number` and `dismissed_at` (one dismissal recorded several times counts once); `suppression` `tool`, `file`, `line`, `text`; `branch_protection` `protected`, `required_status_checks`, `status_checks_enforcement`, `admin_enforced`, `bypass_actors`, `pattern` or `ruleset_id` with `include`/`exclude` (each classic rule and ruleset keeps its latest record; those that target the default branch, `main`/`master`/`~DEFAULT_BRANCH`/`~ALL`, count together); `runtime_alert` `severity`, `rule`, `uuid`; `remediation` `alerts` (alert ids or uuids) or `alert_rule`, `opened_at`, `resolved_at`; `incident` `acknowledged_at`, `resolved_at`; `provenance` `verified`, `verification_reason` (as the provenance collector writes them); `admission_policy` `kind`, `name`, `rule`, `rule_type`, `mode`, `mode_source`; `admission_decision` `result`; `deploy` subject `environment` (production when GitLab's `environment_tier` or GitHub's `production_environment` says so, else when one of the name's words is `prod`, `production` or `prd` and none is `pre` or `non`), `commit`, `image`, attrs `creator`, `state` (a deployment's latest record decides; only `success` or no state counts as shipped), `deployment_id`; `asset_snapshot` `assets` (each `name`, `environment` or `lifecycle`, `owner`, `last_security_review`) or one asset per record; `training_record` subject `person` or `person`/`email`, `completed_at`, `status`, `score`; `iam_grant` person, `elevated`, `reviewed_at`; `calendar_block` person, `status`; `threat_model` subject `service` or `repo`, `mitigations`; `attestation` `activity` (uuid), `attester`, `reviewer`, `document`, `document_date`. Exceptions for people use overrides with rule `training` or `access` and the person's e-mail as fingerprint.\n"
    );
    for probe in probes::REGISTRY {
        let used: Vec<&str> = rubric
            .entries
            .iter()
            .filter(|entry| entry.ladder.values().flatten().any(|id| id == probe.id))
            .map(|entry| entry.name.as_str())
            .collect();
        let kinds: Vec<&str> = probe.kinds.iter().map(|kind| kind.as_str()).collect();
        let _ = writeln!(out, "## `{}`\n", probe.id);
        let _ = writeln!(out, "{}\n", probe.question);
        let _ = writeln!(
            out,
            "- evidence: {}",
            kinds
                .iter()
                .map(|kind| format!("`{kind}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(out, "- when false: {}", probe.remediation);
        let _ = writeln!(
            out,
            "- effort: {} week{}",
            probe.effort_weeks,
            if probe.effort_weeks == 1 { "" } else { "s" }
        );
        let _ = writeln!(
            out,
            "- used by {} activities{}\n",
            used.len(),
            if used.is_empty() {
                String::new()
            } else {
                format!(", e.g. {}", used.iter().take(3).copied().collect::<Vec<_>>().join("; "))
            }
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(path: &str, expected: &str) {
        let full = format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"));
        if std::env::var("DSOMM_UPDATE_DOCS").is_ok_and(|value| value == "1") {
            std::fs::write(&full, expected).unwrap_or_else(|error| panic!("{full}: {error}"));
            return;
        }
        let found = std::fs::read_to_string(&full).unwrap_or_default();
        assert!(
            found == expected,
            "{path} is stale: run `DSOMM_UPDATE_DOCS=1 cargo test -p dsomm-audit-assess docs` and commit it"
        );
    }

    #[test]
    fn generated_docs_are_current() {
        let rubric = Rubric::embedded().unwrap_or_else(|error| panic!("{error}"));
        let catalogue = Catalogue::embedded().unwrap_or_else(|error| panic!("{error:?}"));
        check("docs/rubric.md", &rubric_markdown(&rubric, &catalogue));
        check("docs/probes.md", &probes_markdown(&rubric));
    }
}
