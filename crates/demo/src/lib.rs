//! A synthetic organisation, "Acme", deterministic from a seed, whose evidence
//! is written as the real tools write it: GitHub Actions workflows, SARIF from
//! Semgrep, Trivy and Gitleaks, Trivy JSON, GitHub check runs and deployment
//! webhooks, Falco JSON lines, Kyverno policies and policy reports, and a DSOMM
//! `team-progress.yaml` in which every team claims more than it has. The gaps
//! follow the seed story: SAST advisory on most repositories, runtime detection
//! audit-only, an image-verification policy in audit mode; one team
//! ("payments") genuinely reaches the audit-real bar on its gates.
//!
//! [`generate`] only writes files and returns the [`Manifest`] saying how to
//! ingest them; the `demo` command ingests them through the real `ingest`
//! path. The benchmark and the tests reuse it.

mod files;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// How large an organisation to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// 4 teams, 3 repositories each.
    Small,
    /// 40 teams, 10 repositories each (400 repositories).
    Org,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Where to write (the evidence goes under `evidence/`).
    pub out: PathBuf,
    /// The seed: the same seed gives the same bytes.
    pub seed: u64,
    /// How large.
    pub scale: Scale,
}

/// A team of the organisation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Team {
    /// Its name.
    pub name: String,
    /// Its repositories (`acme/...`).
    pub repos: Vec<String>,
    /// Its production service.
    pub service: String,
    /// Whether the team genuinely runs blocking gates (the one at the bar).
    pub exemplary: bool,
    /// How its workflows run the scanners: 0 blocking everywhere; 1 SAST with
    /// `continue-on-error`, SCA blocking, secrets `|| true`; 2 SAST without
    /// `--error` (but on one repository), SCA with trivy's default exit code,
    /// secrets `--exit-code 0`; 3 SAST piped into `tee`, SCA with
    /// `continue-on-error` on pull requests, secrets only on `main`.
    pub style: u8,
}

/// One `ingest` invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ingest {
    /// Files or directories.
    pub paths: Vec<PathBuf>,
    /// `--source`, when detection is not enough.
    pub source: Option<String>,
    /// `--repo`.
    pub repo: Option<String>,
    /// `--commit`.
    pub commit: Option<String>,
    /// `--occurred-at`.
    pub occurred_at: Option<Timestamp>,
    /// `--person`: whose calendar an iCalendar file is.
    pub person: Option<String>,
    /// `--public-key`: the PEM key signed provenance verifies against.
    pub public_key: Option<PathBuf>,
}

/// An override to record through the override registry, at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverrideSpec {
    /// When it was added.
    pub at: Timestamp,
    /// Rule waived.
    pub rule: String,
    /// Tool.
    pub tool: String,
    /// Repository.
    pub repo: String,
    /// Owner.
    pub owner: String,
    /// Approver.
    pub approver: String,
    /// Ticket.
    pub ticket: String,
    /// Reason.
    pub reason: String,
    /// Sunset.
    pub sunset: Timestamp,
}

/// What was generated and how to ingest it.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// The moment the demo describes (the assessment's as-of time).
    pub as_of: Timestamp,
    /// The teams.
    pub teams: Vec<Team>,
    /// Ingests, in order.
    pub ingests: Vec<Ingest>,
    /// Overrides to add.
    pub overrides: Vec<OverrideSpec>,
    /// The claims file (`team-progress.yaml`) and its `meta.yaml`.
    pub claims: PathBuf,
    /// `meta.yaml`.
    pub meta: PathBuf,
    /// Files written.
    pub files: usize,
    /// Bytes written.
    pub bytes: u64,
}

/// The fixed moment the demo describes, so that the same seed gives the same output on any day.
pub const AS_OF: &str = "2026-11-01T00:00:00Z";

/// SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut value = self.0;
        value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        value ^ (value >> 31)
    }

    /// A number below `bound` (bound > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound.max(1)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// A hex string of `length` characters.
    pub fn hex(&mut self, length: usize) -> String {
        let mut text = String::new();
        while text.len() < length {
            text.push_str(&format!("{:016x}", self.next_u64()));
        }
        text.truncate(length);
        text
    }
}

/// The teams of a scale.
pub fn teams(scale: Scale) -> Vec<Team> {
    match scale {
        Scale::Small => ["payments", "checkout", "identity", "platform"]
            .iter()
            .enumerate()
            .map(|(index, name)| Team {
                name: name.to_string(),
                repos: ["api", "web", "worker"]
                    .iter()
                    .map(|part| format!("acme/{name}-{part}"))
                    .collect(),
                service: format!("{name}-api"),
                exemplary: index == 0,
                style: index as u8,
            })
            .collect(),
        Scale::Org => (0..40)
            .map(|index| {
                let name = if index == 0 {
                    "payments".to_string()
                } else {
                    format!("team-{index:02}")
                };
                Team {
                    repos: (0..10).map(|repo| format!("acme/{name}-svc{repo:02}")).collect(),
                    service: format!("{name}-svc00"),
                    exemplary: index == 0,
                    style: if index == 0 { 0 } else { 1 + (index % 3) as u8 },
                    name,
                }
            })
            .collect(),
    }
}

/// `days` days before `time`.
pub fn days_before(time: Timestamp, days: i64) -> Timestamp {
    time.checked_sub(SignedDuration::from_hours(24 * days)).unwrap_or(time)
}

/// Write the organisation's evidence under `options.out` and say how to ingest it.
pub fn generate(options: &Options) -> Result<Manifest, String> {
    let as_of: Timestamp = model::time::parse_time(AS_OF).map_err(|error| error.to_string())?;
    let mut writer = files::Writer::new(&options.out);
    let mut rng = Rng::new(options.seed);
    let teams = teams(options.scale);
    let start = days_before(as_of, 395);
    let mut ingests = Vec::new();
    let mut overrides = Vec::new();
    // Every build is signed: SLSA provenance in DSSE envelopes under the demo key.
    let (signing_key, public_pem) = files::signing_key(options.seed);
    let public_key = writer.write("provenance/acme-demo-key.pub", public_pem.as_bytes())?;
    for team in &teams {
        for (index, repo) in team.repos.iter().enumerate() {
            let short = repo.trim_start_matches("acme/");
            let commit = rng.hex(40);
            // CI configuration as of the start of the history.
            let workflow = files::workflow(team, index, &mut rng);
            let workflow_path = writer.write(
                &format!("repos/{short}/.github/workflows/security.yml"),
                workflow.as_bytes(),
            )?;
            ingests.push(Ingest {
                paths: vec![workflow_path],
                source: None,
                repo: Some(repo.clone()),
                commit: Some(commit.clone()),
                occurred_at: Some(start),
                person: None,
                public_key: None,
            });
            // Scanner output: one SARIF file per tool with a run per week.
            let mut scans = Vec::new();
            for tool in ["semgrep", "trivy", "gitleaks"] {
                let sarif = files::sarif(tool, repo, start, as_of, &mut rng);
                scans.push(writer.write(&format!("scans/{short}/{tool}.sarif"), sarif.as_bytes())?);
            }
            let trivy = files::trivy_json(repo, days_before(as_of, 2), &mut rng);
            scans.push(writer.write(&format!("scans/{short}/trivy-latest.json"), trivy.as_bytes())?);
            ingests.push(Ingest {
                paths: scans,
                source: None,
                repo: Some(repo.clone()),
                commit: None,
                occurred_at: None,
                person: None,
                public_key: None,
            });
            // GitHub: check runs of the scanners on pull requests, and deployments.
            let checks = files::check_runs(team, repo, start, as_of, &mut rng);
            let (deploys, deployed) = files::deployments(repo, start, as_of, &mut rng);
            let mut github = vec![
                writer.write(&format!("github/{short}/check-runs.json"), checks.as_bytes())?,
                writer.write(&format!("github/{short}/deployment-statuses.json"), deploys.as_bytes())?,
            ];
            if !team.exemplary {
                // Findings waved through by dismissing the alert: no owner, no sunset.
                let dismissals = files::dismissals(repo, days_before(as_of, 60), 1 + rng.below(3), &mut rng);
                github.push(writer.write(
                    &format!("github/{short}/code-scanning-dismissals.json"),
                    dismissals.as_bytes(),
                )?);
            }
            ingests.push(Ingest {
                paths: github,
                source: Some("github".into()),
                repo: None,
                commit: None,
                occurred_at: None,
                person: None,
                public_key: None,
            });
            // The signed provenance of what was deployed.
            ingests.push(Ingest {
                paths: vec![writer.write(
                    &format!("provenance/{short}.intoto.jsonl"),
                    files::provenance(repo, &deployed, &signing_key).as_bytes(),
                )?],
                source: Some("provenance".into()),
                repo: Some(repo.clone()),
                commit: None,
                occurred_at: None,
                person: None,
                public_key: Some(public_key.clone()),
            });
            // The exemplary team takes its exceptions through the override registry.
            if team.exemplary && index == 0 {
                let at = days_before(as_of, 20 + rng.below(40) as i64);
                overrides.push(OverrideSpec {
                    at,
                    rule: "CVE-2024-45337".into(),
                    tool: "trivy".into(),
                    repo: repo.clone(),
                    owner: format!("lead@{}.acme.example", team.name),
                    approver: "ciso@acme.example".into(),
                    ticket: format!("SEC-{}", 100 + rng.below(900)),
                    reason: "fixed upstream in the next release; not reachable from our handlers".into(),
                    sunset: at.checked_add(SignedDuration::from_hours(24 * 30)).unwrap_or(at),
                });
            }
        }
        // Runtime detection: Falco alerts in the team's namespace, audit-only.
        let (falco, alerts) = files::falco(team, start, as_of, &mut rng);
        ingests.push(Ingest {
            paths: vec![writer.write(&format!("runtime/{}/falco.jsonl", team.name), falco.as_bytes())?],
            source: Some("falco".into()),
            repo: Some(team.repos[0].clone()),
            commit: None,
            occurred_at: None,
            person: None,
            public_key: None,
        });
        if team.exemplary {
            // Its alerts reach Jira and are fixed; its champion keeps protected
            // time; its service has a threat model from before the history.
            ingests.push(Ingest {
                paths: vec![writer.write(
                    &format!("jira/{}-search.json", team.name),
                    files::jira(team, &alerts, &mut rng).as_bytes(),
                )?],
                source: Some("jira".into()),
                repo: Some(team.repos[0].clone()),
                commit: None,
                occurred_at: None,
                person: None,
                public_key: None,
            });
            let lead = files::people(team).into_iter().next();
            ingests.push(Ingest {
                paths: vec![writer.write(
                    &format!("calendars/{}-champion.ics", team.name),
                    files::champion_calendar(team, start).as_bytes(),
                )?],
                source: Some("ics".into()),
                repo: None,
                commit: None,
                occurred_at: Some(as_of),
                person: lead,
                public_key: None,
            });
            ingests.push(Ingest {
                paths: vec![writer.write(
                    &format!("threat-models/{}.json", team.service),
                    files::threat_dragon(team).as_bytes(),
                )?],
                source: Some("threat-model".into()),
                repo: Some(team.repos[0].clone()),
                commit: None,
                occurred_at: Some(days_before(start, 10)),
                person: None,
                public_key: None,
            });
        }
    }
    // The cluster: an image-verification policy in audit mode and its reports.
    let cluster = vec![
        writer.write("cluster/verify-images.yaml", files::KYVERNO_VERIFY_IMAGES.as_bytes())?,
        writer.write(
            "cluster/cluster-image-policy.yaml",
            files::CLUSTER_IMAGE_POLICY_WARN.as_bytes(),
        )?,
        writer.write(
            "cluster/policy-reports.yaml",
            files::policy_reports(&teams, days_before(as_of, 3)).as_bytes(),
        )?,
    ];
    ingests.push(Ingest {
        paths: cluster,
        source: Some("kubernetes".into()),
        repo: None,
        commit: None,
        occurred_at: Some(days_before(as_of, 1)),
        person: None,
        public_key: None,
    });
    // The inventory: a Backstage export at the start of every month.
    let mut month = start;
    let mut index = 0;
    while month <= as_of {
        let path = writer.write(
            &format!("backstage/catalog-{index:02}.yaml"),
            files::backstage(&teams, month).as_bytes(),
        )?;
        ingests.push(Ingest {
            paths: vec![path],
            source: Some("backstage".into()),
            repo: None,
            commit: None,
            occurred_at: Some(month),
            person: None,
            public_key: None,
        });
        month = month.checked_add(SignedDuration::from_hours(24 * 30)).unwrap_or(as_of);
        index += 1;
        if index > 20 {
            break;
        }
    }
    // Who may do what, and who is trained.
    ingests.push(Ingest {
        paths: vec![writer.write(
            "iam/get-account-authorization-details.json",
            files::aws_iam(&teams).as_bytes(),
        )?],
        source: Some("aws-iam".into()),
        repo: None,
        commit: None,
        occurred_at: Some(days_before(as_of, 2)),
        person: None,
        public_key: None,
    });
    ingests.push(Ingest {
        paths: vec![writer.write("lms/completions.csv", files::lms_csv(&teams, as_of).as_bytes())?],
        source: Some("training".into()),
        repo: None,
        commit: None,
        occurred_at: None,
        person: None,
        public_key: None,
    });
    // Claims: every team claims more than it has.
    let claims = writer.write(
        "claims/team-progress.yaml",
        files::team_progress(&teams, &mut rng).as_bytes(),
    )?;
    let meta = writer.write("claims/meta.yaml", files::META.as_bytes())?;
    Ok(Manifest {
        as_of,
        teams,
        ingests,
        overrides,
        claims,
        meta,
        files: writer.files,
        bytes: writer.bytes,
    })
}

/// The `[[team]]` tables of dsomm-audit.toml for the teams.
pub fn team_config(teams: &[Team]) -> String {
    let mut out = String::new();
    for team in teams {
        let repos: Vec<String> = team.repos.iter().map(|repo| format!("\"{repo}\"")).collect();
        out.push_str(&format!(
            "\n[[team]]\nname = \"{}\"\nrepos = [{}]\nservices = [\"{}\"]\n",
            team.name,
            repos.join(", "),
            team.service
        ));
    }
    out
}

/// Read back a JSON file the generator wrote (for tests).
pub fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("{}: {error}", path.display()))?;
    serde_json::from_str(&text).map_err(|error| format!("{}: {error}", path.display()))
}

/// A time as the tools print it (RFC 3339, seconds).
pub fn rfc3339(time: Timestamp) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_bytes() {
        let base = std::env::temp_dir().join(format!("dsomm-demo-test-{}", std::process::id()));
        let one = Options {
            out: base.join("a"),
            seed: 7,
            scale: Scale::Small,
        };
        let two = Options {
            out: base.join("b"),
            seed: 7,
            scale: Scale::Small,
        };
        let first = generate(&one).unwrap_or_else(|error| panic!("{error}"));
        let second = generate(&two).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(first.files, second.files);
        for ingest in &first.ingests {
            for path in &ingest.paths {
                let relative = path.strip_prefix(&one.out).unwrap_or(path);
                let a = std::fs::read(path).unwrap_or_default();
                let b = std::fs::read(two.out.join(relative)).unwrap_or_default();
                assert!(a == b, "{} differs", relative.display());
            }
        }
        let _ = std::fs::remove_dir_all(&base);
    }
}
