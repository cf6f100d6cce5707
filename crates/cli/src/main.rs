//! The `dsomm-audit` command line: clap commands, glue only.
//!
//! Exit codes: 0 success; 1 the check failed (verify found a difference, a
//! proof does not verify, ingest rejected input); 2 usage, configuration or
//! tool error.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow, bail};
use clap::{Parser, Subcommand, ValueEnum};
use dsomm_audit::config::{Config, DEFAULT_CONFIG};
use dsomm_audit::ingest::{IngestOptions, ingest_paths};
use ledger::{InclusionProof, Ledger, NoteSigner, NoteVerifier};

/// mimalloc: records are allocated on parser threads and freed on the writer
/// thread, a pattern the system allocator handles poorly.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// dsomm-audit: grade every DSOMM activity by what the evidence shows.
#[derive(Parser)]
#[command(name = "dsomm-audit", version, about, long_about = None)]
struct Cli {
    /// The configuration file (default: ./dsomm-audit.toml).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Table,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Create dsomm-audit.toml, the ledger and its signing key in DIR (default: .).
    Init {
        /// Directory to initialise.
        dir: Option<PathBuf>,
    },
    /// Describe the DSOMM model (or the embedded catalogue) and compare them.
    Model {
        /// The official model.yaml (else DSOMM_MODEL, else the config's [model] path).
        #[arg(long, env = "DSOMM_MODEL", value_name = "PATH")]
        model: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Parse evidence files and append them to the ledger.
    Ingest {
        /// Collector to use instead of detection: evidence-ndjson, sarif, trivy,
        /// grype, cyclonedx, spdx (see docs/sources.md).
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
        /// Repository the input belongs to, when it does not say.
        #[arg(long)]
        repo: Option<String>,
        /// Commit the input was produced at, when it does not say.
        #[arg(long)]
        commit: Option<String>,
        /// Branch or tag, when the input does not say.
        #[arg(long = "ref", value_name = "REF")]
        git_ref: Option<String>,
        /// Time to record when the input states none (RFC 3339 with zone, or YYYY-MM-DD).
        #[arg(long, value_name = "TIME")]
        occurred_at: Option<String>,
        /// Output format of the summary.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Files or directories.
        #[arg(required = true, value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
    },
    /// Recompute every record, the Merkle tree, every checkpoint and blob.
    Verify {
        /// Verifier key text or file (default: the config's public_key file).
        #[arg(long, value_name = "KEY|FILE")]
        public_key: Option<String>,
        /// Also decompress every raw blob and re-hash its original bytes
        /// (by default the signed hash of the stored compressed bytes is checked).
        #[arg(long)]
        deep: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Print an inclusion proof for record ID against the latest checkpoint.
    Prove {
        /// Record id (its leaf index).
        id: u64,
    },
    /// Check an inclusion proof offline, without the ledger.
    VerifyProof {
        /// The proof file (JSON from `prove`).
        file: PathBuf,
        /// The ledger's verifier key text or file.
        #[arg(long, value_name = "KEY|FILE")]
        public_key: String,
    },
    /// Key management.
    Key {
        #[command(subcommand)]
        action: KeyAction,
    },
}

#[derive(Subcommand)]
enum KeyAction {
    /// Print the ledger's public verifier key.
    Public,
}

/// Write a line to standard output. A closed pipe (`| head`) ends the program
/// quietly instead of panicking; other write errors are reported.
macro_rules! outln {
    ($($argument:tt)*) => {
        write_stdout(&format!($($argument)*))
    };
}

fn write_stdout(text: &str) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    match written {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(error) => {
            eprintln!("error: cannot write to standard output: {error}");
            std::process::exit(2);
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            if let Some(help) = hint(&error) {
                eprintln!("help: {help}");
            }
            ExitCode::from(2)
        }
    }
}

fn hint(error: &anyhow::Error) -> Option<&'static str> {
    let text = format!("{error:#}");
    if text.contains("no dsomm-audit.toml") || text.contains("run `dsomm-audit init`") {
        Some("run `dsomm-audit init` in this directory, or pass --config FILE")
    } else if text.contains("verifier key") || text.contains("malformed key") {
        Some("`dsomm-audit key public` prints the ledger's verifier key")
    } else {
        None
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Init { dir } => init(dir.as_deref().unwrap_or(Path::new("."))),
        Command::Model { model, format } => describe_model(cli.config.as_deref(), model, format),
        Command::Ingest {
            source,
            repo,
            commit,
            git_ref,
            occurred_at,
            format,
            paths,
        } => {
            let config = Config::find(cli.config.as_deref())?;
            let source = source
                .map(|name| {
                    collect::Collector::from_name(&name).ok_or_else(|| {
                        let known: Vec<&str> = collect::Collector::ALL
                            .iter()
                            .map(|collector| collector.name())
                            .collect();
                        anyhow!("unknown --source `{name}` (known: {})", known.join(", "))
                    })
                })
                .transpose()?;
            let occurred_at = occurred_at
                .map(|text| model::time::parse_time(&text))
                .transpose()
                .context("--occurred-at")?;
            let options = IngestOptions {
                source,
                repo,
                commit,
                git_ref,
                occurred_at,
                limits: config.limits,
                batch_size: 0,
            };
            ingest(&config, &paths, &options, format)
        }
        Command::Verify {
            public_key,
            deep,
            format,
        } => {
            let config = Config::find(cli.config.as_deref())?;
            verify(&config, public_key.as_deref(), deep, format)
        }
        Command::Prove { id } => {
            let config = Config::find(cli.config.as_deref())?;
            let ledger = Ledger::open(&config.ledger_path)?;
            let proof = ledger.prove(id)?;
            outln!("{}", serde_json::to_string_pretty(&proof)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::VerifyProof { file, public_key } => {
            let verifier = read_verifier(&public_key)?;
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let proof: InclusionProof =
                serde_json::from_str(&text).with_context(|| format!("{} is not an inclusion proof", file.display()))?;
            match proof.verify(&verifier) {
                Ok(checkpoint) => {
                    outln!(
                        "ok: record {} is included in the tree of size {} signed by {}",
                        proof.leaf_index,
                        checkpoint.size,
                        verifier.name()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => {
                    outln!("FAILED: record {}: {error}", proof.leaf_index);
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::Key {
            action: KeyAction::Public,
        } => {
            let config = Config::find(cli.config.as_deref())?;
            let ledger = Ledger::open(&config.ledger_path)?;
            outln!("{}", ledger.recorded_verifier().to_text());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn init(dir: &Path) -> Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let config_path = dir.join("dsomm-audit.toml");
    if config_path.exists() {
        bail!("{} already exists; refusing to overwrite it", config_path.display());
    }
    std::fs::write(&config_path, DEFAULT_CONFIG).with_context(|| format!("cannot write {}", config_path.display()))?;
    let config = Config::load(&config_path)?;
    let mut suffix = [0u8; 6];
    getrandom::fill(&mut suffix).map_err(|error| anyhow!("cannot read the system random source: {error}"))?;
    let signer = NoteSigner::generate(&format!("dsomm-audit/{}", hex::encode(suffix)))?;
    write_private(&config.key_path, &format!("{}\n", signer.to_text()))?;
    std::fs::write(&config.public_key_path, format!("{}\n", signer.verifier().to_text()))
        .with_context(|| format!("cannot write {}", config.public_key_path.display()))?;
    let verifier = signer.verifier();
    Ledger::create(&config.ledger_path, signer)?;
    outln!("created {}", config_path.display());
    outln!("created {} (empty ledger)", config.ledger_path.display());
    outln!(
        "created {} (signing key, mode 0600: keep it secret)",
        config.key_path.display()
    );
    outln!("created {}", config.public_key_path.display());
    outln!("verifier key: {}", verifier.to_text());
    Ok(ExitCode::SUCCESS)
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {} (does it already exist?)", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn open_for_append(config: &Config) -> Result<Ledger> {
    let key = std::fs::read_to_string(&config.key_path)
        .with_context(|| format!("cannot read the signing key {}", config.key_path.display()))?;
    let signer = NoteSigner::parse(&key).with_context(|| format!("{}", config.key_path.display()))?;
    Ok(Ledger::open(&config.ledger_path)?.with_signer(signer)?)
}

fn ingest(config: &Config, paths: &[PathBuf], options: &IngestOptions, format: Format) -> Result<ExitCode> {
    let mut ledger = open_for_append(config)?;
    let progress = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message("ingesting");
        Some(bar)
    } else {
        None
    };
    let mut committed = 0u64;
    let summary = ingest_paths(&mut ledger, paths, options, |batch| {
        committed += batch.added;
        if let Some(bar) = &progress {
            bar.set_message(format!("{committed} records committed (tree size {})", batch.tree_size));
            bar.tick();
        }
    })?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    match format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&summary)?),
        Format::Table => {
            for diagnostic in &summary.diagnostics {
                eprintln!("rejected: {diagnostic}");
            }
            outln!(
                "{} files: {} added, {} duplicates, {} rejected",
                summary.files,
                summary.added,
                summary.duplicates,
                summary.rejected
            );
        }
    }
    Ok(if summary.rejected > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn read_verifier(text_or_file: &str) -> Result<NoteVerifier> {
    let text = if Path::new(text_or_file).is_file() {
        std::fs::read_to_string(text_or_file).with_context(|| format!("cannot read {text_or_file}"))?
    } else {
        text_or_file.to_string()
    };
    NoteVerifier::parse(text.trim()).with_context(|| format!("bad verifier key `{}`", text.trim()))
}

fn verify(config: &Config, public_key: Option<&str>, deep: bool, format: Format) -> Result<ExitCode> {
    let ledger = Ledger::open(&config.ledger_path)?;
    let verifier = match public_key {
        Some(key) => read_verifier(key)?,
        None if config.public_key_path.is_file() => read_verifier(&config.public_key_path.display().to_string())?,
        None => {
            eprintln!(
                "warning: no public key file {}; checking against the key the ledger records about itself",
                config.public_key_path.display()
            );
            ledger.recorded_verifier().clone()
        }
    };
    let report = ledger.verify_with(&verifier, deep)?;
    match format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
        Format::Table => {
            for warning in &report.warnings {
                outln!("warning: {}: {}", warning.what, warning.message);
            }
            if report.ok {
                outln!(
                    "ok: {} records, {} checkpoints, {} raw blobs verified; tree size {}, root {}",
                    report.records,
                    report.checkpoints,
                    report.blobs,
                    report.tree_size,
                    report.root
                );
            } else {
                for failure in &report.failures {
                    let at = failure.id.map(|id| format!(" {id}")).unwrap_or_default();
                    outln!("FAILED {}{at}: {}", failure.what, failure.message);
                }
            }
        }
    }
    Ok(if report.ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn describe_model(config: Option<&Path>, model_path: Option<PathBuf>, format: Format) -> Result<ExitCode> {
    let model_path = match model_path {
        Some(path) => Some(path),
        None => match config {
            Some(_) => Config::find(config)?.model_path,
            None => Config::find(None).ok().and_then(|config| config.model_path),
        },
    };
    let catalogue = model::catalogue::Catalogue::embedded()?;
    let loaded = match &model_path {
        Some(path) => {
            let bytes = std::fs::read(path).with_context(|| format!("cannot read model {}", path.display()))?;
            Some(model::dsomm::load_model(&bytes, &path.display().to_string())?)
        }
        None => None,
    };
    let report = model::catalogue::describe(&catalogue, loaded.as_ref());
    match format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
        Format::Table => outln!("{}", report.render_table().trim_end()),
    }
    Ok(ExitCode::SUCCESS)
}
