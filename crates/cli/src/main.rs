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
use dsomm_audit::config::Config;
use dsomm_audit::files;
use dsomm_audit::ingest::{IngestOptions, expand_paths, ingest_paths};
use ledger::{InclusionProof, Ledger, NoteVerifier};

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
enum ExportKind {
    /// The audit-real state of one team as a DSOMM app team-progress.yaml (states from --meta).
    DsommProgress {
        #[command(flatten)]
        args: AssessArgs,
        /// Where to write the YAML.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// OSCAL 1.1 assessment-results.json and plan-of-action-and-milestones.json into DIR.
    Oscal {
        #[command(flatten)]
        args: AssessArgs,
        /// Directory to write into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Days of the plan.
        #[arg(long, default_value_t = 90)]
        days: u32,
    },
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum DemoScale {
    Small,
    Org,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ReportKind {
    Html,
    Md,
    Json,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum ReportFormat {
    Table,
    Json,
    Md,
}

/// What the assessment commands share.
#[derive(clap::Args, Clone)]
struct AssessArgs {
    /// Only this team (a `[[team]]` of the configuration).
    #[arg(long)]
    team: Option<String>,
    /// The teams' claims: the DSOMM app's team-progress.yaml, or a v3 model with teamsImplemented.
    #[arg(long, value_name = "FILE")]
    claims: Option<PathBuf>,
    /// The meta.yaml defining the progress states (default: meta.yaml beside the claims, else the app's defaults).
    #[arg(long, value_name = "FILE")]
    meta: Option<PathBuf>,
    /// Evaluate as of this time (RFC 3339 or YYYY-MM-DD); later evidence is invisible. Default: now.
    #[arg(long, value_name = "TIME")]
    as_of: Option<String>,
    /// The official model.yaml (else DSOMM_MODEL, else the config's [model] path, else the embedded catalogue).
    #[arg(long, env = "DSOMM_MODEL", value_name = "PATH")]
    model: Option<PathBuf>,
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
        /// grype, cyclonedx, spdx, suppressions, pipelines, github, gitlab, falco,
        /// kubernetes, provenance, backstage, inventory, aws-iam, github-org,
        /// kubernetes-rbac, training, jira, pagerduty, github-issues, threat-model,
        /// ics (see docs/sources.md).
        #[arg(long, value_name = "NAME")]
        source: Option<String>,
        /// Which header holds each field of a tabular export, e.g.
        /// `email=Learner,course=Module,completed_at=Finished` (training).
        #[arg(long, value_name = "FIELD=HEADER,...")]
        columns: Option<String>,
        #[command(flatten)]
        code: CodeArgs,
        #[command(flatten)]
        provenance: ProvenanceArgs,
        /// Time to record when the input states none (RFC 3339 with zone, or
        /// YYYY-MM-DD); for calendars (ics), the end of the expansion window
        /// (a date includes that whole day).
        #[arg(long, value_name = "TIME")]
        occurred_at: Option<String>,
        /// The person (e-mail) a calendar (ics) belongs to; its blocks are
        /// recorded as theirs (see docs/sources.md, section ics).
        #[arg(long, value_name = "EMAIL")]
        person: Option<String>,
        /// Output format of the summary.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Progress on standard error: a spinner when it is a terminal (auto), one
        /// JSON line per committed batch (json), or nothing (none).
        #[arg(long, value_enum, default_value = "auto")]
        progress: Progress,
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
        /// A signed checkpoint kept outside the ledger (a note file, or a proof
        /// file holding one), repeatable: the ledger must not be behind it and
        /// must have the same root at its size (detects rollback and rewriting).
        #[arg(long, value_name = "FILE")]
        checkpoint: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Print an inclusion proof for record ID against the latest checkpoint.
    Prove {
        /// Record id (its leaf index).
        id: u64,
    },
    /// Print the ledger's latest signed checkpoint (a C2SP signed note) — keep it
    /// elsewhere and give it to `verify --checkpoint` later to detect a rollback.
    Checkpoint,
    /// Print a consistency proof between two signed checkpoints (by tree size):
    /// the older tree is a prefix of the newer one (RFC 6962 section 2.1.2).
    ProveConsistency {
        /// The older checkpoint's tree size.
        old_size: u64,
        /// The newer checkpoint's tree size (default: the latest).
        new_size: Option<u64>,
    },
    /// Check a consistency proof offline, without the ledger.
    VerifyConsistency {
        /// The proof file (JSON from `prove-consistency`).
        file: PathBuf,
        /// The ledger's verifier key text or file.
        #[arg(long, value_name = "KEY|FILE")]
        public_key: String,
    },
    /// Check an inclusion proof offline, without the ledger.
    VerifyProof {
        /// The proof file (JSON from `prove`).
        file: PathBuf,
        /// The ledger's verifier key text or file.
        #[arg(long, value_name = "KEY|FILE")]
        public_key: String,
    },
    /// Find every scanner step in CI configuration (GitHub Actions, GitLab CI,
    /// Azure Pipelines) and say whether its findings can fail the job, with the
    /// lines that decide it (see docs/pipelines.md).
    LintPipelines {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Exit 1 when any scanner step is advisory.
        #[arg(long)]
        fail_on_advisory: bool,
        /// Files or directories.
        #[arg(required = true, value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
    },
    /// Generate the Acme demo organisation, ingest it into a fresh ledger in DIR,
    /// verify, assess, answer the five questions, sample, plan, and write the reports.
    Demo {
        /// Where to write (replaced when it holds a previous demo).
        #[arg(long, default_value = "demo", value_name = "DIR")]
        out: PathBuf,
        /// Seed: the same seed gives the same organisation.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// `small` (4 teams) or `org` (40 teams, 400 repositories).
        #[arg(long, value_enum, default_value = "small")]
        scale: DemoScale,
    },
    /// Export the audit-real state: a DSOMM app team-progress.yaml, or OSCAL 1.1
    /// assessment-results and plan-of-action-and-milestones.
    Export {
        #[command(subcommand)]
        what: ExportKind,
    },
    /// The reports people read: HTML (self-contained, with charts), Markdown, or the assessment as JSON.
    Report {
        #[command(flatten)]
        args: AssessArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "html")]
        format: ReportKind,
        /// Write here instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Grade every DSOMM activity 0..4 by the evidence, beside the teams' claims:
    /// claimed vs audit-real level per sub-dimension, each grade with its reasons
    /// and evidence (see docs/rubric.md and docs/probes.md).
    Assess {
        #[command(flatten)]
        args: AssessArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: ReportFormat,
    },
    /// Answer one of the five audit questions (blocked-sast, runtime-remediation,
    /// inventory, training-permissions, provenance) or `all`, with cited evidence.
    Ask {
        /// The question, or `all`.
        question: String,
        #[command(flatten)]
        args: AssessArgs,
        /// For `inventory`: the date the inventory is wanted as of (default: 30 days before --as-of).
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// An auditor's sample of N claimed activities, each confirmed or refuted.
    Sample {
        /// How many activities to sample.
        #[arg(long, default_value_t = 9)]
        n: usize,
        /// Seed (the same seed gives the same sample).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[command(flatten)]
        args: AssessArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// A plan from the gaps: actions ordered by grades gained per week of effort, fitted into the days given.
    Plan {
        /// Days to plan.
        #[arg(long, default_value_t = 90)]
        days: u32,
        #[command(flatten)]
        args: AssessArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// The evidence-pipeline report: per kind and source, oldest and newest record,
    /// cadence gaps, and whether history covers the look-back and retention.
    Sources {
        /// Evaluate as of this time (default: now).
        #[arg(long, value_name = "TIME")]
        as_of: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// List inline suppressions and scanner ignore files (undisciplined overrides)
    /// in files and directories (see docs/suppressions.md).
    Suppressions {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
        /// Files or directories.
        #[arg(required = true, value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
    },
    /// Key management.
    Key {
        #[command(subcommand)]
        action: KeyAction,
    },
    /// The enforcing gate: judge scanner output against a severity threshold and
    /// the override registry, record the scans and the decision, exit 1 to block.
    Gate {
        /// SARIF file (repeatable).
        #[arg(long, value_name = "FILE")]
        sarif: Vec<PathBuf>,
        /// Trivy JSON report (repeatable).
        #[arg(long, value_name = "FILE")]
        trivy: Vec<PathBuf>,
        /// Grype JSON report (repeatable).
        #[arg(long, value_name = "FILE")]
        grype: Vec<PathBuf>,
        /// Block on findings of this severity and above.
        #[arg(long, value_enum)]
        fail_on: FailOn,
        #[command(flatten)]
        code: CodeArgs,
        /// Pull or merge request number.
        #[arg(long, value_name = "N")]
        pull_request: Option<u64>,
        /// Deployment environment.
        #[arg(long, value_name = "ENV")]
        environment: Option<String>,
        /// Output: a summary, a pull-request comment (md), or the decision (json).
        #[arg(long, value_enum, default_value = "table")]
        format: GateFormat,
    },
    /// The override registry: documented, time-bound exceptions to a gate.
    Override {
        #[command(subcommand)]
        action: OverrideAction,
    },
    /// Record a manual attestation of an activity for a team: a document (a
    /// file, hashed and stored, or a URL), who attests and who reviewed it.
    Attest {
        /// The activity's uuid in the DSOMM catalogue.
        #[arg(long, value_name = "UUID")]
        activity: String,
        /// The team the attestation is for.
        #[arg(long, value_name = "TEAM")]
        team: String,
        /// The document that shows the activity: a file path or an http(s) URL.
        #[arg(long, value_name = "PATH|URL")]
        document: String,
        /// Who attests (the activity's owner).
        #[arg(long, value_name = "WHO")]
        attested_by: String,
        /// Who reviewed the attestation (someone other than the attester).
        #[arg(long, value_name = "WHO")]
        reviewed_by: Option<String>,
        /// The document's date (RFC 3339 with zone, or YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        date: Option<String>,
        /// A note.
        #[arg(long, value_name = "TEXT")]
        note: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// How `ingest` verifies provenance signatures (see docs/sources.md, `provenance`).
#[derive(clap::Args)]
struct ProvenanceArgs {
    /// A Sigstore trusted_root.json: certificates must chain to its Fulcio roots
    /// and transparency log entries verify against its log keys.
    #[arg(long, value_name = "FILE")]
    trust_root: Option<PathBuf>,
    /// A PEM public key (ECDSA P-256/P-384 or Ed25519) for key-signed provenance.
    #[arg(long, value_name = "FILE")]
    public_key: Option<PathBuf>,
    /// A builder id the organisation trusts (repeatable; added to the config's
    /// [provenance] trusted_builders).
    #[arg(long = "trusted-builder", value_name = "ID")]
    trusted_builders: Vec<String>,
}

impl ProvenanceArgs {
    /// The verification settings, with the files read and checked now.
    fn verification(self, config: &Config) -> Result<collect::provenance::Verification> {
        let trust_root = self
            .trust_root
            .map(|path| {
                let bytes =
                    files::read_input(&path, "trust root file", files::KEY_LIMIT).map_err(|error| anyhow!(error))?;
                collect::sigstore::TrustRoot::from_json(&bytes)
                    .with_context(|| format!("--trust-root {}", path.display()))
            })
            .transpose()?;
        let public_key = self
            .public_key
            .map(|path| {
                let text = files::read_input_text(&path, "public key file", files::KEY_LIMIT)
                    .map_err(|error| anyhow!(error))?;
                collect::sigstore::PublicKey::from_pem(&text)
                    .with_context(|| format!("--public-key {}", path.display()))
            })
            .transpose()?;
        let mut trusted_builders = config.trusted_builders.clone();
        trusted_builders.extend(self.trusted_builders);
        Ok(collect::provenance::Verification {
            trust_root,
            public_key,
            trusted_builders,
        })
    }
}

/// The code an input or a gate run is about, when the input does not say.
#[derive(clap::Args)]
struct CodeArgs {
    /// Repository (owner/name).
    #[arg(long)]
    repo: Option<String>,
    /// Commit.
    #[arg(long)]
    commit: Option<String>,
    /// Branch or tag.
    #[arg(long = "ref", value_name = "REF")]
    git_ref: Option<String>,
}

/// How `ingest` reports progress on standard error.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Progress {
    /// A spinner when standard error is a terminal, else nothing.
    Auto,
    /// After every committed batch, one line
    /// `{"event":"committed","tree_size":N,"highest_id":N-1,"added":A,"duplicates":D}`.
    Json,
    /// Nothing.
    None,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum FailOn {
    Critical,
    High,
    Medium,
    Low,
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum GateFormat {
    Table,
    Md,
    Json,
}

#[derive(Subcommand)]
enum OverrideAction {
    /// Record an override. Owner, approver (not the owner), ticket, reason and
    /// sunset (in the future, within the configured maximum) are all required.
    Add {
        /// Rule or vulnerability id it waives.
        #[arg(long)]
        rule: String,
        /// Only for this tool.
        #[arg(long)]
        tool: Option<String>,
        /// Only in this repository.
        #[arg(long)]
        repo: Option<String>,
        /// Only for paths matching this glob.
        #[arg(long, value_name = "GLOB")]
        path: Option<String>,
        /// Only for this finding fingerprint.
        #[arg(long, value_name = "FP")]
        fingerprint: Option<String>,
        /// Who owns the exception.
        #[arg(long, value_name = "WHO", default_value = "")]
        owner: String,
        /// Who approved it (someone other than the owner).
        #[arg(long, value_name = "WHO", default_value = "")]
        approver: String,
        /// The ticket that tracks it.
        #[arg(long, value_name = "REF", default_value = "")]
        ticket: String,
        /// Why it is needed.
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
        /// When it stops waiving (RFC 3339 or YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        sunset: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// List overrides (active ones by default).
    List {
        /// Only active overrides (the default).
        #[arg(long, conflicts_with_all = ["expired", "all"])]
        active: bool,
        /// Only expired overrides.
        #[arg(long, conflicts_with = "all")]
        expired: bool,
        /// Every override, revoked ones included.
        #[arg(long)]
        all: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// Revoke override ID.
    Revoke {
        /// The override's id (from `override list`).
        id: u64,
        /// Why.
        #[arg(long, value_name = "TEXT", default_value = "")]
        reason: String,
    },
    /// Extend override ID: a new review with a new sunset and approver.
    Extend {
        /// The override's id.
        id: u64,
        /// The new sunset.
        #[arg(long, value_name = "DATE")]
        sunset: Option<String>,
        /// Who approved the extension (not the owner).
        #[arg(long, value_name = "WHO", default_value = "")]
        approver: String,
    },
    /// Override volume over time and discipline (registry, suppressions, dismissed alerts).
    Stats {
        /// Group by month (the only grouping; accepted for clarity).
        #[arg(long, value_name = "PERIOD", value_parser = ["month"])]
        by: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
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

/// `--columns email=Learner,course=Module`: field to header.
fn parse_columns(text: &str) -> Result<std::collections::BTreeMap<String, String>> {
    let mut columns = std::collections::BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|pair| !pair.is_empty()) {
        let Some((field, header)) = pair.split_once('=') else {
            bail!("--columns: `{pair}` is not FIELD=HEADER (e.g. email=Learner)");
        };
        if header.trim().is_empty() {
            bail!("--columns: `{pair}` names no header");
        }
        columns.insert(field.trim().to_ascii_lowercase(), header.trim().to_string());
    }
    Ok(columns)
}

fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Init { dir } => init(dir.as_deref().unwrap_or(Path::new("."))),
        Command::Model { model, format } => describe_model(cli.config.as_deref(), model, format),
        Command::Ingest {
            source,
            columns,
            code: CodeArgs { repo, commit, git_ref },
            provenance,
            occurred_at,
            person,
            format,
            progress,
            paths,
        } => {
            let config = Config::find(cli.config.as_deref())?;
            let provenance = Some(std::sync::Arc::new(provenance.verification(&config)?));
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
            let occurred_at_is_date = occurred_at
                .as_deref()
                .is_some_and(|text| text.trim().len() == 10 && !text.contains('T'));
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
                occurred_at_is_date,
                person: person
                    .map(|person| person.trim().to_ascii_lowercase())
                    .filter(|person| !person.is_empty()),
                limits: config.limits,
                batch_size: 0,
                batch_bytes: 0,
                provenance,
                aliases: (!config.aliases.is_empty()).then(|| std::sync::Arc::new(config.aliases.clone())),
                columns: columns
                    .as_deref()
                    .map(parse_columns)
                    .transpose()?
                    .map(std::sync::Arc::new),
            };
            ingest(&config, &paths, &options, format, progress)
        }
        Command::Verify {
            public_key,
            deep,
            checkpoint,
            format,
        } => {
            let config = Config::find(cli.config.as_deref())?;
            verify(&config, public_key.as_deref(), deep, &checkpoint, format)
        }
        Command::Prove { id } => {
            let config = Config::find(cli.config.as_deref())?;
            let ledger = Ledger::open(&config.ledger_path)?;
            let proof = ledger.prove(id)?;
            outln!("{}", serde_json::to_string_pretty(&proof)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Checkpoint => {
            let config = Config::find(cli.config.as_deref())?;
            let ledger = Ledger::open(&config.ledger_path)?;
            match ledger.latest_checkpoint()? {
                Some((_, note)) => {
                    outln!("{}", note.trim_end());
                    Ok(ExitCode::SUCCESS)
                }
                None => bail!("the ledger has no checkpoint yet (nothing was ingested)"),
            }
        }
        Command::ProveConsistency { old_size, new_size } => {
            let config = Config::find(cli.config.as_deref())?;
            let ledger = Ledger::open(&config.ledger_path)?;
            let proof = ledger.prove_consistency(old_size, new_size)?;
            outln!("{}", serde_json::to_string_pretty(&proof)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::VerifyConsistency { file, public_key } => {
            let verifier = read_verifier(&public_key)?;
            let text =
                files::read_input_text(&file, "proof file", files::PROOF_LIMIT).map_err(|error| anyhow!(error))?;
            let proof: ledger::ConsistencyProof = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a consistency proof", file.display()))?;
            match proof.verify(&verifier) {
                Ok((old, new)) => {
                    outln!(
                        "ok: the tree of size {} is a prefix of the tree of size {} (both signed by {})",
                        old.size,
                        new.size,
                        verifier.name()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(error) => {
                    outln!("FAILED: {error}");
                    Ok(ExitCode::from(1))
                }
            }
        }
        Command::VerifyProof { file, public_key } => {
            let verifier = read_verifier(&public_key)?;
            let text =
                files::read_input_text(&file, "proof file", files::PROOF_LIMIT).map_err(|error| anyhow!(error))?;
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
        Command::Demo { out, seed, scale } => {
            let scale = match scale {
                DemoScale::Small => demo::Scale::Small,
                DemoScale::Org => demo::Scale::Org,
            };
            let outcome = dsomm_audit::demo::run(&out, seed, scale)?;
            outln!("{}", outcome.summary.trim_end());
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { what } => match what {
            ExportKind::DsommProgress { args, out } => {
                let Some(team) = args.team.clone() else {
                    bail!("export dsomm-progress needs --team (one team per team-progress.yaml)");
                };
                let loaded = load_assessment(cli.config.as_deref(), &args)?;
                let assessment = loaded.assess();
                let team = assessment
                    .teams
                    .iter()
                    .find(|entry| entry.team == team)
                    .ok_or_else(|| anyhow!("no team `{team}`"))?;
                let states = match &args.meta {
                    Some(meta) => {
                        let text = files::read_input_text(meta, "meta file", assess::claims::MAX_BYTES as u64)
                            .map_err(|error| anyhow!(error))?;
                        assess::claims::progress_states(&text, &meta.display().to_string())
                            .map_err(|error| anyhow!(error))?
                            .into_iter()
                            .map(|(name, score)| report::export::State { name, score })
                            .collect()
                    }
                    None => report::export::default_states(),
                };
                let export =
                    report::export::dsomm_progress(team, &loaded.records, &states, &loaded.config.claim_grades);
                std::fs::write(&out, export.yaml).with_context(|| format!("cannot write {}", out.display()))?;
                for warning in &export.warnings {
                    eprintln!("warning: {warning}");
                }
                if !export.warnings.is_empty() {
                    eprintln!(
                        "warning: {} activities are exported below their grade or left out: reading the file back gives lower grades",
                        export.warnings.len()
                    );
                }
                outln!("wrote {}", out.display());
                Ok(ExitCode::SUCCESS)
            }
            ExportKind::Oscal { args, out, days } => {
                let loaded = load_assessment(cli.config.as_deref(), &args)?;
                let computed = dsomm_audit::demo::compute(&loaded, 9, 1, days);
                std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
                let results = out.join("assessment-results.json");
                let poam = out.join("plan-of-action-and-milestones.json");
                std::fs::write(
                    &results,
                    serde_json::to_string_pretty(&report::export::oscal_assessment_results(&computed.assessment))?
                        + "\n",
                )
                .with_context(|| format!("cannot write {}", results.display()))?;
                std::fs::write(
                    &poam,
                    serde_json::to_string_pretty(&report::export::oscal_poam(&computed.assessment, &computed.plans))?
                        + "\n",
                )
                .with_context(|| format!("cannot write {}", poam.display()))?;
                outln!("wrote {}\nwrote {}", results.display(), poam.display());
                Ok(ExitCode::SUCCESS)
            }
        },
        Command::Report { args, format, out } => {
            let loaded = load_assessment(cli.config.as_deref(), &args)?;
            let computed = dsomm_audit::demo::compute(&loaded, 9, 1, 90);
            let text = match format {
                ReportKind::Html => {
                    report::html(&computed.input()).map_err(|error| anyhow!("the HTML report: {error}"))?
                }
                ReportKind::Md => report::markdown(&computed.input()),
                ReportKind::Json => serde_json::to_string_pretty(&computed.assessment)?,
            };
            match out {
                Some(path) => std::fs::write(&path, format!("{}\n", text.trim_end()))
                    .with_context(|| format!("cannot write {}", path.display()))?,
                None => outln!("{}", text.trim_end()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Assess { args, format } => {
            let loaded = load_assessment(cli.config.as_deref(), &args)?;
            let assessment = loaded.assess();
            match format {
                ReportFormat::Json => outln!("{}", serde_json::to_string_pretty(&assessment)?),
                ReportFormat::Table => outln!("{}", dsomm_audit::assessment::table(&assessment).trim_end()),
                ReportFormat::Md => outln!("{}", dsomm_audit::assessment::markdown(&assessment).trim_end()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Ask {
            question,
            args,
            date,
            format,
        } => {
            let questions: Vec<&str> = if question == "all" {
                assess::questions::QUESTIONS.to_vec()
            } else if assess::questions::QUESTIONS.contains(&question.as_str()) {
                vec![question.as_str()]
            } else {
                bail!(
                    "unknown question `{question}` (one of: {}, all)",
                    assess::questions::QUESTIONS.join(", ")
                );
            };
            let date = date
                .as_deref()
                .map(|text| dsomm_audit::assessment::as_of(Some(text), jiff::Timestamp::now()))
                .transpose()?;
            // Only what the questions read, and the inventory (teams, members).
            let kinds = assess::questions::kinds_for(&questions);
            let loaded = load_kinds(cli.config.as_deref(), &args, &kinds)?;
            let mut answers = Vec::new();
            for scope in &loaded.teams {
                let view = loaded.view(scope);
                for question in &questions {
                    if let Some(answer) = assess::questions::ask(question, &view, date) {
                        answers.push((scope.team.clone(), answer));
                    }
                }
            }
            match format {
                Format::Json => {
                    let items: Vec<serde_json::Value> = answers
                        .iter()
                        .map(|(team, answer)| {
                            let mut value = serde_json::to_value(answer).unwrap_or_default();
                            value["team"] = serde_json::json!(team);
                            value
                        })
                        .collect();
                    let body = if items.len() == 1 {
                        items[0].clone()
                    } else {
                        serde_json::json!(items)
                    };
                    outln!("{}", serde_json::to_string_pretty(&body)?)
                }
                Format::Table => {
                    for (team, answer) in &answers {
                        outln!("[{team}] {}", dsomm_audit::assessment::answer_table(answer).trim_end());
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Sample { n, seed, args, format } => {
            let loaded = load_assessment(cli.config.as_deref(), &args)?;
            let assessment = loaded.assess();
            let samples: Vec<assess::sample::Sample> = assessment
                .teams
                .iter()
                .map(|team| assess::sample::sample(team, n, seed))
                .collect();
            match format {
                Format::Json => outln!("{}", serde_json::to_string_pretty(&samples)?),
                Format::Table => {
                    for sample in &samples {
                        outln!("{}", dsomm_audit::assessment::sample_table(sample).trim_end());
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan { days, args, format } => {
            let loaded = load_assessment(cli.config.as_deref(), &args)?;
            let assessment = loaded.assess();
            let plans: Vec<assess::plan::Plan> = assessment
                .teams
                .iter()
                .zip(&loaded.teams)
                .map(|(team, scope)| {
                    assess::plan::plan(team, &loaded.view(scope), &loaded.rubric, &loaded.depends_on, days)
                })
                .collect();
            match format {
                Format::Json => outln!("{}", serde_json::to_string_pretty(&plans)?),
                Format::Table => {
                    for plan in &plans {
                        outln!("{}", dsomm_audit::assessment::plan_table(plan).trim_end());
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Sources { as_of, format } => {
            let config = Config::find(cli.config.as_deref())?;
            let as_of = dsomm_audit::assessment::as_of(as_of.as_deref(), jiff::Timestamp::now())?;
            let ledger = Ledger::open(&config.ledger_path)?;
            let records = ledger.query(&ledger::Query {
                to: Some(as_of),
                ..ledger::Query::default()
            })?;
            let report = assess::sources::report(
                &records,
                as_of,
                config.thresholds.lookback_days,
                config.thresholds.retention_days,
            );
            match format {
                Format::Json => outln!("{}", serde_json::to_string_pretty(&report)?),
                Format::Table => outln!("{}", dsomm_audit::assessment::sources_table(&report).trim_end()),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Suppressions { format, paths } => {
            let limits = optional_limits(cli.config.as_deref())?;
            suppressions(&paths, &limits, format)
        }
        Command::LintPipelines {
            format,
            fail_on_advisory,
            paths,
        } => {
            let limits = optional_limits(cli.config.as_deref())?;
            lint_pipelines(&paths, &limits, format, fail_on_advisory)
        }
        Command::Override { action } => {
            let config = Config::find(cli.config.as_deref())?;
            run_override(&config, action)
        }
        Command::Gate {
            sarif,
            trivy,
            grype,
            fail_on,
            code: CodeArgs { repo, commit, git_ref },
            pull_request,
            environment,
            format,
        } => {
            let config = Config::find(cli.config.as_deref())?;
            let threshold = match fail_on {
                FailOn::Critical => model::Severity::Critical,
                FailOn::High => model::Severity::High,
                FailOn::Medium => model::Severity::Medium,
                FailOn::Low => model::Severity::Low,
            };
            let options = dsomm_audit::gate::GateOptions {
                threshold: Some(threshold),
                repo,
                commit,
                git_ref,
                pull_request,
                environment,
                limits: config.limits,
                override_max_days: config.override_max_days,
            };
            let inputs = dsomm_audit::gate::inputs(&sarif, &trivy, &grype);
            let mut ledger = open_for_append(&config)?;
            let outcome = dsomm_audit::gate::run(&mut ledger, &inputs, &options, jiff::Timestamp::now())?;
            match format {
                GateFormat::Table => outln!("{}", dsomm_audit::gate::summary(&outcome).trim_end()),
                GateFormat::Md => outln!("{}", dsomm_audit::gate::markdown(&outcome).trim_end()),
                GateFormat::Json => outln!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({"record": outcome.record, "decision": outcome.decision})
                    )?
                ),
            }
            Ok(ExitCode::from(outcome.exit_code))
        }
        Command::Attest {
            activity,
            team,
            document,
            attested_by,
            reviewed_by,
            date,
            note,
            format,
        } => {
            let config = Config::find(cli.config.as_deref())?;
            let request = dsomm_audit::attest::AttestRequest {
                activity,
                team,
                document,
                attested_by,
                reviewed_by,
                date: parse_date(date.as_deref(), "--date")?,
                note,
            };
            let mut ledger = open_for_append(&config)?;
            let attested = dsomm_audit::attest::attest(&mut ledger, &request, &config.limits, jiff::Timestamp::now())?;
            match format {
                Format::Table => outln!(
                    "recorded attestation #{} of `{}` for team {}",
                    attested.id,
                    attested.activity_name,
                    request.team.trim()
                ),
                Format::Json => outln!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({"id": attested.id, "attrs": attested.attrs}))?
                ),
            }
            Ok(ExitCode::SUCCESS)
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

fn parse_date(text: Option<&str>, flag: &str) -> Result<Option<jiff::Timestamp>> {
    text.map(|text| model::time::parse_time(text).with_context(|| flag.to_string()))
        .transpose()
}

fn run_override(config: &Config, action: OverrideAction) -> Result<ExitCode> {
    use dsomm_audit::overrides;
    let now = jiff::Timestamp::now();
    let max_days = config.override_max_days;
    match action {
        OverrideAction::Add {
            rule,
            tool,
            repo,
            path,
            fingerprint,
            owner,
            approver,
            ticket,
            reason,
            sunset,
            format,
        } => {
            let request = policy::OverrideRequest {
                rule,
                tool,
                repo,
                path,
                fingerprint,
                owner,
                approver,
                ticket,
                reason,
                sunset: parse_date(sunset.as_deref(), "--sunset")?,
            };
            let mut ledger = open_for_append(config)?;
            let id = overrides::add(&mut ledger, &request, now, max_days)?;
            match format {
                Format::Json => outln!("{}", serde_json::json!({"id": id})),
                Format::Table => outln!(
                    "override {id} recorded (rule {}, sunset {})",
                    request.rule,
                    request.sunset.map(model::time::format_time).unwrap_or_default()
                ),
            }
        }
        OverrideAction::List {
            active: _,
            expired,
            all,
            format,
        } => {
            let ledger = Ledger::open(&config.ledger_path)?;
            let listing = if all {
                overrides::Listing::All
            } else if expired {
                overrides::Listing::Expired
            } else {
                overrides::Listing::Active
            };
            let states = overrides::list(&ledger, listing, now, max_days)?;
            match format {
                Format::Json => outln!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({"overrides": states}))?
                ),
                Format::Table => {
                    if states.is_empty() {
                        outln!("no overrides");
                    }
                    for state in &states {
                        let discipline = if state.disciplined {
                            "disciplined".to_string()
                        } else {
                            format!("UNDISCIPLINED: {}", state.undisciplined_because.join(", "))
                        };
                        outln!(
                            "{:>6}  {:<8} {}  owner {}  ticket {}  sunset {}  {}",
                            state.id,
                            format!("{:?}", state.status).to_lowercase(),
                            state.rule,
                            state.owner,
                            state.ticket,
                            state.sunset.as_deref().unwrap_or("-"),
                            discipline
                        );
                    }
                }
            }
        }
        OverrideAction::Revoke { id, reason } => {
            let mut ledger = open_for_append(config)?;
            let record = overrides::revoke(&mut ledger, id, &reason, now, max_days)?;
            outln!("override {id} revoked (record {record})");
        }
        OverrideAction::Extend { id, sunset, approver } => {
            let sunset = parse_date(sunset.as_deref(), "--sunset")?;
            let mut ledger = open_for_append(config)?;
            let record = overrides::extend(&mut ledger, id, sunset, &approver, now, max_days)?;
            outln!("override {id} extended (record {record})");
        }
        OverrideAction::Stats { by: _, format } => {
            let ledger = Ledger::open(&config.ledger_path)?;
            let stats = overrides::stats(&ledger, now, max_days)?;
            match format {
                Format::Json => outln!("{}", serde_json::to_string_pretty(&stats)?),
                Format::Table => {
                    outln!("as of {}", stats.as_of);
                    outln!(
                        "registry: {:?} ({} undisciplined)",
                        stats.registry,
                        stats.registry_undisciplined
                    );
                    outln!("suppressions in code and ignore files: {}", stats.suppressions);
                    outln!("dismissed alerts: {}", stats.alert_dismissals);
                    outln!("share undisciplined: {:.1}%", stats.share_undisciplined * 100.0);
                    if !stats.expired_not_revoked.is_empty() {
                        outln!(
                            "expired, not revoked (owners should act): {:?}",
                            stats.expired_not_revoked
                        );
                    }
                    for (month, paths) in &stats.by_month {
                        outln!("{month}: {paths:?}");
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn init(dir: &Path) -> Result<ExitCode> {
    let config = dsomm_audit::demo::create_workspace(dir, "")?;
    let verifier = read_verifier(&config.public_key_path.display().to_string())?;
    outln!("created {}", config.file.display());
    outln!("created {} (empty ledger)", config.ledger_path.display());
    outln!(
        "created {} (signing key, mode 0600: keep it secret)",
        config.key_path.display()
    );
    outln!("created {}", config.public_key_path.display());
    outln!("verifier key: {}", verifier.to_text());
    Ok(ExitCode::SUCCESS)
}

fn open_for_append(config: &Config) -> Result<Ledger> {
    dsomm_audit::demo::open_for_append(config)
}

fn ingest(
    config: &Config,
    paths: &[PathBuf],
    options: &IngestOptions,
    format: Format,
    progress: Progress,
) -> Result<ExitCode> {
    let mut ledger = open_for_append(config)?;
    let spinner = if progress == Progress::Auto && std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message("ingesting");
        Some(bar)
    } else {
        None
    };
    let mut committed = 0u64;
    let summary = ingest_paths(&mut ledger, paths, options, |batch| {
        committed += batch.added;
        if let Some(bar) = &spinner {
            bar.set_message(format!("{committed} records committed (tree size {})", batch.tree_size));
            bar.tick();
        }
        if progress == Progress::Json {
            report_committed(batch);
        }
    })?;
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    match format {
        Format::Json => outln!("{}", serde_json::to_string_pretty(&summary)?),
        Format::Table => {
            for diagnostic in &summary.diagnostics {
                // A warning concerns input that still landed (its Display says "warning").
                // Control characters escaped: a file name holding a newline
                // cannot forge a line of this output.
                let label = if diagnostic.warning { "note" } else { "rejected" };
                eprintln!("{label}: {}", files::for_terminal(&diagnostic.to_string()));
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

/// `--progress json`: one line on standard error for a batch that has just been
/// committed (its records are acknowledged), flushed at once. A batch of only
/// duplicates commits nothing new; its line repeats the current tree size.
fn report_committed(batch: &ledger::AppendSummary) {
    use std::io::Write;
    // Written by hand to keep the documented key order; every value is a number.
    let highest_id = batch
        .tree_size
        .checked_sub(1)
        .map_or_else(|| "null".to_string(), |id| id.to_string());
    let line = format!(
        r#"{{"event":"committed","tree_size":{},"highest_id":{highest_id},"added":{},"duplicates":{}}}"#,
        batch.tree_size, batch.added, batch.duplicates
    );
    let mut stderr = std::io::stderr().lock();
    // Progress is advisory: a closed standard error must not stop the ingest.
    let _ = writeln!(stderr, "{line}").and_then(|()| stderr.flush());
}

fn load_assessment(config: Option<&Path>, args: &AssessArgs) -> Result<dsomm_audit::assessment::Loaded> {
    load_kinds(config, args, &[])
}

/// Load only the records of `kinds` (all when empty).
fn load_kinds(
    config: Option<&Path>,
    args: &AssessArgs,
    kinds: &[model::EvidenceKind],
) -> Result<dsomm_audit::assessment::Loaded> {
    let config = Config::find(config)?;
    let as_of = dsomm_audit::assessment::as_of(args.as_of.as_deref(), jiff::Timestamp::now())?;
    dsomm_audit::assessment::load(
        config,
        args.model.clone(),
        args.claims.as_deref(),
        args.meta.as_deref(),
        args.team.as_deref(),
        as_of,
        kinds,
    )
}

/// The limits of the config file when one is named or present, else the defaults.
fn optional_limits(config: Option<&Path>) -> Result<collect::Limits> {
    Ok(match config {
        Some(path) => Config::load(path)?.limits,
        None if Path::new("dsomm-audit.toml").is_file() => Config::find(None)?.limits,
        None => collect::Limits::default(),
    })
}

fn lint_pipelines(
    paths: &[PathBuf],
    limits: &collect::Limits,
    format: Format,
    fail_on_advisory: bool,
) -> Result<ExitCode> {
    use collect::pipelines::{Mode, summarise};
    for path in paths {
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    }
    let linted = dsomm_audit::pipelines::lint_paths(paths, limits);
    for diagnostic in &linted.diagnostics {
        eprintln!("{}", files::for_terminal(&diagnostic.to_string()));
    }
    match format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "steps": linted.steps,
                "summary": summarise(&linted.steps, linted.files),
            }))?
        ),
        Format::Table => outln!("{}", dsomm_audit::pipelines::table(&linted).trim_end()),
    }
    let advisory = linted.steps.iter().any(|step| step.mode == Mode::Advisory);
    let errors = linted.diagnostics.iter().any(|diagnostic| !diagnostic.warning);
    Ok(if errors {
        ExitCode::from(2)
    } else if fail_on_advisory && advisory {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn suppressions(paths: &[PathBuf], limits: &collect::Limits, format: Format) -> Result<ExitCode> {
    use collect::suppressions::scan;
    for path in paths {
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    }
    let mut diagnostics = Vec::new();
    let files = expand_paths(paths, &mut diagnostics);
    let mut found = Vec::new();
    let mut unreadable = false;
    for file in &files {
        let shown = files::path_text(file);
        let too_large = std::fs::metadata(file).is_ok_and(|metadata| metadata.len() > limits.max_document_bytes);
        if too_large {
            eprintln!(
                "warning: {}: larger than {} bytes; not searched",
                files::for_terminal(&shown),
                limits.max_document_bytes
            );
            continue;
        }
        // Only a regular file, never more than the limit: a FIFO or `/dev/zero`
        // is an error for that file, not a hang or a read that fills memory.
        match files::read_limited(file, limits.max_document_bytes) {
            Ok(bytes) => found.extend(scan(&shown, &bytes, limits)),
            Err(error) => {
                unreadable = true;
                eprintln!("error: cannot read {}", files::for_terminal(&error));
            }
        }
    }
    for diagnostic in &diagnostics {
        // The walk's diagnostics name a file or directory, no line.
        let problem = format!("{}: {}", diagnostic.file, diagnostic.message);
        eprintln!("warning: {}", files::for_terminal(&problem));
    }
    let mut by_tool: std::collections::BTreeMap<&str, u64> = std::collections::BTreeMap::new();
    for suppression in &found {
        *by_tool.entry(suppression.tool).or_default() += 1;
    }
    match format {
        Format::Json => outln!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "suppressions": found,
                "by_tool": by_tool,
                "total": found.len(),
                "files": files.len(),
            }))?
        ),
        Format::Table => {
            let locations: Vec<String> = found
                .iter()
                .map(|suppression| format!("{}:{}", files::for_terminal(&suppression.file), suppression.line))
                .collect();
            let location_width = locations
                .iter()
                .map(|location| location.chars().count())
                .max()
                .unwrap_or(0);
            let tool_width = found
                .iter()
                .map(|suppression| suppression.tool.len())
                .max()
                .unwrap_or(0);
            let rule_width = found
                .iter()
                .map(|suppression| suppression.rule.as_deref().unwrap_or("-").chars().count())
                .max()
                .unwrap_or(0);
            let mut previous_file: Option<&str> = None;
            for (suppression, location) in found.iter().zip(&locations) {
                if previous_file.is_some_and(|file| file != suppression.file) {
                    outln!("");
                }
                previous_file = Some(&suppression.file);
                let line = format!(
                    "{location:location_width$}  {:tool_width$}  {:rule_width$}  {}",
                    suppression.tool,
                    suppression.rule.as_deref().unwrap_or("-"),
                    printable(&suppression.text)
                );
                outln!("{}", line.trim_end());
            }
            let files_with = found
                .iter()
                .map(|suppression| suppression.file.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len();
            if !found.is_empty() {
                outln!("");
            }
            outln!(
                "{} suppression{} in {files_with} file{} ({} file{} searched)",
                found.len(),
                if found.len() == 1 { "" } else { "s" },
                if files_with == 1 { "" } else { "s" },
                files.len(),
                if files.len() == 1 { "" } else { "s" },
            );
            let tool_width = by_tool.keys().map(|tool| tool.len()).max().unwrap_or(0);
            for (tool, count) in &by_tool {
                outln!("  {tool:tool_width$}  {count}");
            }
        }
    }
    Ok(if unreadable {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// Text from a scanned file, safe for a terminal: control characters become spaces.
fn printable(text: &str) -> String {
    text.chars()
        .map(|character| if character.is_control() { ' ' } else { character })
        .collect()
}

/// A verifier key given as text or as the name of a file holding it. Anything
/// that exists at that path (a FIFO, a device, a huge file) is read as a file,
/// and so refused unless it is a regular file of at most `files::KEY_LIMIT`
/// bytes; an error quotes at most a short prefix of the key.
fn read_verifier(text_or_file: &str) -> Result<NoteVerifier> {
    let path = Path::new(text_or_file);
    let text = if std::fs::metadata(path).is_ok() {
        files::read_input_text(path, "verifier key file", files::KEY_LIMIT).map_err(|error| anyhow!(error))?
    } else {
        text_or_file.to_string()
    };
    NoteVerifier::parse(text.trim()).with_context(|| format!("bad verifier key `{}`", files::quote_prefix(text.trim())))
}

/// The signed checkpoint notes in a file: a note itself, or the checkpoints of a proof file.
fn kept_checkpoints(path: &Path) -> Result<Vec<String>> {
    let text = files::read_input_text(path, "checkpoint file", files::PROOF_LIMIT).map_err(|error| anyhow!(error))?;
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&text) {
        let notes: Vec<String> = [
            "checkpoint",
            "batch_checkpoint",
            "previous_checkpoint",
            "old_checkpoint",
            "new_checkpoint",
        ]
        .iter()
        .filter_map(|key| value.get(key).and_then(serde_json::Value::as_str).map(str::to_string))
        .collect();
        if notes.is_empty() {
            bail!("{} holds no signed checkpoint", path.display());
        }
        return Ok(notes);
    }
    Ok(vec![text])
}

fn verify(config: &Config, public_key: Option<&str>, deep: bool, kept: &[PathBuf], format: Format) -> Result<ExitCode> {
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
    let mut report = ledger.verify_with(&verifier, deep)?;
    let mut notes = Vec::new();
    for path in kept {
        notes.extend(kept_checkpoints(path)?);
    }
    if !notes.is_empty() {
        let failures = ledger.check_against(&notes, &verifier)?;
        if !failures.is_empty() {
            report.ok = false;
            report.failures.extend(failures);
        }
    }
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
            let bytes = files::read_input(path, "model file", model::dsomm::MAX_MODEL_BYTES as u64)
                .map_err(|error| anyhow!(error))?;
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
