//! `dsomm-audit.toml`: where the ledger, key and model live, and the input limits.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
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

[limits]
# Largest whole-document input (SARIF, YAML, JSON), in bytes.
max_document_bytes = 268435456
# Longest line of a line-oriented input (NDJSON), in bytes.
max_line_bytes = 16777216
# Deepest JSON/YAML nesting accepted.
max_depth = 64
"#;

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
    /// Builder ids the organisation trusts (`[provenance] trusted_builders`).
    pub trusted_builders: Vec<String>,
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
    provenance: RawProvenance,
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
}

impl Config {
    /// Read and validate a config file; every problem names the file and line.
    pub fn load(file: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
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
        };
        if limits.max_depth == 0 || limits.max_line_bytes == 0 || limits.max_document_bytes == 0 {
            bail!("{}: [limits] values must be greater than zero", file.display());
        }
        let override_max_days = raw.overrides.max_days.unwrap_or(policy::DEFAULT_MAX_DAYS);
        if !(1..=3650).contains(&override_max_days) {
            bail!("{}: [overrides] max_days must be between 1 and 3650", file.display());
        }
        Ok(Config {
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
}
