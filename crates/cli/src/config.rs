//! `dsomm-audit.toml`: where the ledger, key and model live, and the input limits.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use serde::Deserialize;

/// The commented default configuration that `init` writes.
pub const DEFAULT_CONFIG: &str = r#"# dsomm-audit configuration.
# Paths are relative to the directory of this file.

[ledger]
# The evidence ledger (SQLite, WAL, synchronous commits).
path = "ledger.db"
# The ed25519 key that signs checkpoints (C2SP signed-note format, mode 0600).
# Keep it secret; its public half is in ledger.pub and `dsomm-audit key public`.
key = "ledger.key"
# The public verifier key that `verify` checks checkpoints against.
public_key = "ledger.pub"

[model]
# The official DSOMM model.yaml (GPL-3.0 data, read at run time, never bundled).
# Also settable with --model or the DSOMM_MODEL environment variable.
# Without it, the embedded activity catalogue (rubric/catalogue.tsv) is used.
# path = "/path/to/model.yaml"

[overrides]
# Longest lifetime of one override review, in days (a sunset further away is refused).
max_days = 90

[provenance]
# Builder ids the organisation trusts; a provenance record says whether its
# builder is one of them (exactly, or with any `@ref` after it). Added to the
# ingest command's --trusted-builder values.
# trusted_builders = ["https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml"]

[people]
# Principal names in IAM exports (GitHub logins, AWS user names, Kubernetes
# users) to e-mail addresses, so one person is matched across sources. A key
# may name its source (`github:octocat`, `aws:alice`, `kubernetes:alice`).
# aliases = { "github:octocat" = "mona@example.com", "alice" = "alice@example.com" }

[thresholds]
# The assessment window, in days back from the as-of time.
lookback_days = 90
# Share of in-scope repositories a gate must block on (grade 3).
coverage = 0.9
# Days within which a high or critical runtime alert must be remediated.
remediation_sla_days = 7
# Security training must have been completed within this many days.
training_period_days = 365
# Share of weeks a champion's protected time must be kept.
champion_share = 0.8
# Longest gap between inventory snapshots for "refreshed automatically".
snapshot_cadence_days = 7
# A production service's last security review must be this recent (days).
review_days = 365
# Evidence must be retained this long (days).
retention_days = 365

[claims]
# How strictly a DSOMM progress score is read: at or above grade3_at percent a
# claim means grade 3, at or above grade2_at grade 2, above grade1_above grade 1.
grade3_at = 100
grade2_at = 50
grade1_above = 0

# Teams and what they own: evidence about these repositories and services is
# the team's. Without any team, everything is assessed as one team, "all".
# [[team]]
# name = "payments"
# repos = ["acme/payments-api"]
# services = ["payments-api"]

[limits]
# Largest whole-document input (SARIF, YAML, JSON), in bytes.
max_document_bytes = 268435456
# Longest line of a line-oriented input (NDJSON), in bytes.
max_line_bytes = 16777216
# Deepest JSON/YAML nesting accepted (at most 256).
max_depth = 64
# Most documents read from one multi-document YAML file.
max_yaml_documents = 100000
# Most YAML nodes in one document.
max_yaml_nodes = 2000000
# Most entries (inventory assets, Backstage entities, calendar events) read from one file.
max_entries = 100000
"#;

/// The largest `[limits] max_depth` accepted: the JSON and YAML parsers and
/// the walkers over their trees recurse once per level, and a few thousand
/// levels overflow a thread's stack (a debug build overflows YAML at 500).
pub const MAX_DEPTH_CEILING: usize = 256;

/// The parsed configuration, with paths resolved against the config's directory.
#[derive(Debug, Clone)]
pub struct Config {
    /// The config file itself.
    pub file: PathBuf,
    /// Ledger database.
    pub ledger_path: PathBuf,
    /// Private signing key.
    pub key_path: PathBuf,
    /// Public verifier key.
    pub public_key_path: PathBuf,
    /// DSOMM model file, when configured.
    pub model_path: Option<PathBuf>,
    /// Input limits.
    pub limits: collect::Limits,
    /// Longest lifetime of one override review, in days.
    pub override_max_days: i64,
    /// Assessment thresholds (`[thresholds]`, `[overrides] max_days`).
    pub thresholds: probes::Thresholds,
    /// How claims are read (`[claims]`).
    pub claim_grades: assess::ClaimGrades,
    /// Teams (`[[team]]`).
    pub teams: Vec<probes::Scope>,
    /// Builder ids the organisation trusts (`[provenance] trusted_builders`).
    pub trusted_builders: Vec<String>,
    /// Principal names (lower case) to e-mail addresses (`[people] aliases`).
    pub aliases: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    ledger: RawLedger,
    #[serde(default)]
    model: RawModel,
    #[serde(default)]
    limits: RawLimits,
    #[serde(default)]
    overrides: RawOverrides,
    #[serde(default)]
    thresholds: RawThresholds,
    #[serde(default)]
    claims: RawClaims,
    #[serde(default)]
    team: Vec<RawTeam>,
    #[serde(default)]
    provenance: RawProvenance,
    #[serde(default)]
    people: RawPeople,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPeople {
    #[serde(default)]
    aliases: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawThresholds {
    lookback_days: Option<i64>,
    coverage: Option<f64>,
    remediation_sla_days: Option<i64>,
    training_period_days: Option<i64>,
    champion_share: Option<f64>,
    snapshot_cadence_days: Option<i64>,
    review_days: Option<i64>,
    retention_days: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawClaims {
    grade3_at: Option<f64>,
    grade2_at: Option<f64>,
    grade1_above: Option<f64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTeam {
    name: String,
    #[serde(default)]
    repos: Vec<String>,
    #[serde(default)]
    services: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawProvenance {
    trusted_builders: Option<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawOverrides {
    max_days: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLedger {
    path: Option<PathBuf>,
    key: Option<PathBuf>,
    public_key: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawModel {
    path: Option<PathBuf>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawLimits {
    max_document_bytes: Option<u64>,
    max_line_bytes: Option<usize>,
    max_depth: Option<usize>,
    max_yaml_documents: Option<usize>,
    max_yaml_nodes: Option<usize>,
    max_entries: Option<usize>,
}

impl Config {
    /// Read and validate a config file; every problem names the file and line.
    pub fn load(file: &Path) -> Result<Config> {
        let text = crate::files::read_input_text(file, "config file", crate::files::CONFIG_LIMIT)
            .map_err(|error| anyhow::anyhow!(error))?;
        let raw: RawConfig = toml::from_str(&text).map_err(|error| {
            let position = error
                .span()
                .map(|span| {
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    format!(":{line}")
                })
                .unwrap_or_default();
            anyhow::anyhow!("{}{position}: {}", file.display(), error.message())
        })?;
        let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolve = |path: Option<PathBuf>, default: &str| base.join(path.unwrap_or_else(|| PathBuf::from(default)));
        let defaults = collect::Limits::default();
        let limits = collect::Limits {
            max_document_bytes: raw.limits.max_document_bytes.unwrap_or(defaults.max_document_bytes),
            max_line_bytes: raw.limits.max_line_bytes.unwrap_or(defaults.max_line_bytes),
            max_depth: raw.limits.max_depth.unwrap_or(defaults.max_depth),
            max_yaml_documents: raw.limits.max_yaml_documents.unwrap_or(defaults.max_yaml_documents),
            max_yaml_nodes: raw.limits.max_yaml_nodes.unwrap_or(defaults.max_yaml_nodes),
            max_entries: raw.limits.max_entries.unwrap_or(defaults.max_entries),
        };
        if limits.max_depth == 0
            || limits.max_line_bytes == 0
            || limits.max_document_bytes == 0
            || limits.max_yaml_documents == 0
            || limits.max_yaml_nodes == 0
            || limits.max_entries == 0
        {
            bail!("{}: [limits] values must be greater than zero", file.display());
        }
        if limits.max_depth > MAX_DEPTH_CEILING {
            bail!(
                "{}: [limits] max_depth must be at most {MAX_DEPTH_CEILING}: the parsers recurse, and deeper input would overflow the stack",
                file.display()
            );
        }
        let override_max_days = raw.overrides.max_days.unwrap_or(policy::DEFAULT_MAX_DAYS);
        if !(1..=3650).contains(&override_max_days) {
            bail!("{}: [overrides] max_days must be between 1 and 3650", file.display());
        }
        let defaults = probes::Thresholds::default();
        let raw_thresholds = &raw.thresholds;
        let thresholds = probes::Thresholds {
            lookback_days: raw_thresholds.lookback_days.unwrap_or(defaults.lookback_days),
            coverage: raw_thresholds.coverage.unwrap_or(defaults.coverage),
            remediation_sla_days: raw_thresholds
                .remediation_sla_days
                .unwrap_or(defaults.remediation_sla_days),
            override_max_days,
            training_period_days: raw_thresholds
                .training_period_days
                .unwrap_or(defaults.training_period_days),
            champion_share: raw_thresholds.champion_share.unwrap_or(defaults.champion_share),
            snapshot_cadence_days: raw_thresholds
                .snapshot_cadence_days
                .unwrap_or(defaults.snapshot_cadence_days),
            review_days: raw_thresholds.review_days.unwrap_or(defaults.review_days),
            retention_days: raw_thresholds.retention_days.unwrap_or(defaults.retention_days),
        };
        let days = [
            thresholds.lookback_days,
            thresholds.remediation_sla_days,
            thresholds.training_period_days,
            thresholds.snapshot_cadence_days,
            thresholds.review_days,
            thresholds.retention_days,
        ];
        if days.iter().any(|days| !(1..=36500).contains(days)) {
            bail!(
                "{}: [thresholds] day counts must be between 1 and 36500",
                file.display()
            );
        }
        if !(0.0..=1.0).contains(&thresholds.coverage) || !(0.0..=1.0).contains(&thresholds.champion_share) {
            bail!(
                "{}: [thresholds] coverage and champion_share are shares between 0 and 1",
                file.display()
            );
        }
        let claim_defaults = assess::ClaimGrades::default();
        let claim_grades = assess::ClaimGrades {
            grade3: raw.claims.grade3_at.unwrap_or(claim_defaults.grade3),
            grade2: raw.claims.grade2_at.unwrap_or(claim_defaults.grade2),
            grade1_above: raw.claims.grade1_above.unwrap_or(claim_defaults.grade1_above),
        };
        if !(claim_grades.grade1_above < claim_grades.grade2 && claim_grades.grade2 <= claim_grades.grade3) {
            bail!(
                "{}: [claims] needs grade1_above < grade2_at <= grade3_at",
                file.display()
            );
        }
        let mut teams = Vec::new();
        for team in raw.team {
            if team.name.trim().is_empty() {
                bail!("{}: a [[team]] has an empty name", file.display());
            }
            if teams.iter().any(|known: &probes::Scope| known.team == team.name) {
                bail!("{}: team `{}` is declared twice", file.display(), team.name);
            }
            teams.push(probes::Scope {
                team: team.name,
                repos: team.repos,
                services: team.services,
            });
        }
        let mut aliases = std::collections::BTreeMap::new();
        for (name, email) in raw.people.aliases {
            if !email.contains('@') {
                bail!(
                    "{}: [people] aliases: `{name}` maps to `{email}`, which is not an e-mail address",
                    file.display()
                );
            }
            aliases.insert(name.trim().to_ascii_lowercase(), email.trim().to_ascii_lowercase());
        }
        Ok(Config {
            aliases,
            thresholds,
            claim_grades,
            teams,
            file: file.to_path_buf(),
            ledger_path: resolve(raw.ledger.path, "ledger.db"),
            key_path: resolve(raw.ledger.key, "ledger.key"),
            public_key_path: resolve(raw.ledger.public_key, "ledger.pub"),
            model_path: raw.model.path.map(|path| base.join(path)),
            limits,
            override_max_days,
            trusted_builders: raw.provenance.trusted_builders.unwrap_or_default(),
        })
    }

    /// Find the config: `--config`, else `./dsomm-audit.toml`.
    pub fn find(explicit: Option<&Path>) -> Result<Config> {
        match explicit {
            Some(path) => Config::load(path),
            None => {
                let default = Path::new("dsomm-audit.toml");
                if default.is_file() {
                    Config::load(default)
                } else {
                    bail!("no dsomm-audit.toml in the current directory and no --config given")
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn default_config_parses_and_resolves_paths() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("dsomm-audit.toml");
        std::fs::write(&file, DEFAULT_CONFIG).unwrap();
        let config = Config::load(&file).unwrap();
        assert_eq!(config.ledger_path, directory.path().join("ledger.db"));
        assert_eq!(config.limits, collect::Limits::default());
        assert!(config.model_path.is_none());
        assert!(config.trusted_builders.is_empty());
        assert!(config.aliases.is_empty());
    }

    #[test]
    fn aliases_are_read_in_lower_case() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("dsomm-audit.toml");
        std::fs::write(
            &file,
            "[people]\naliases = { \"GitHub:OctoCat\" = \"Mona@Example.com\" }\n",
        )
        .unwrap();
        let config = Config::load(&file).unwrap();
        assert_eq!(
            config.aliases.get("github:octocat").map(String::as_str),
            Some("mona@example.com")
        );
        std::fs::write(&file, "[people]\naliases = { octocat = \"mona\" }\n").unwrap();
        let error = Config::load(&file).unwrap_err().to_string();
        assert!(error.contains("not an e-mail address"), "{error}");
    }

    #[test]
    fn trusted_builders_are_read() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("dsomm-audit.toml");
        std::fs::write(
            &file,
            "[provenance]\ntrusted_builders = [\"https://builder.example/a\"]\n",
        )
        .unwrap();
        let config = Config::load(&file).unwrap();
        assert_eq!(config.trusted_builders, ["https://builder.example/a"]);
    }

    #[test]
    fn errors_name_file_and_line() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("bad.toml");
        std::fs::write(&file, "[ledger]\npath = \"x\"\nbogus = 1\n").unwrap();
        let error = Config::load(&file).unwrap_err().to_string();
        assert!(error.contains("bad.toml:3"), "{error}");
        assert!(error.contains("bogus"), "{error}");
    }

    #[test]
    fn max_depth_is_capped_where_the_parsers_stay_safe() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("deep.toml");
        std::fs::write(&file, "[limits]\nmax_depth = 10000\n").unwrap();
        let error = Config::load(&file).unwrap_err().to_string();
        assert!(error.contains("max_depth must be at most 256"), "{error}");
        std::fs::write(&file, "[limits]\nmax_depth = 256\n").unwrap();
        assert_eq!(Config::load(&file).unwrap().limits.max_depth, 256);
    }
}
