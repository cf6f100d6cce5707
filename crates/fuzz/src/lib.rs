//! Fuzzing every parser on stable Rust. Each [`Target`] is one entry point
//! that must never panic, whatever the bytes: every collector through
//! `parse_document` (and CI configuration through the pipeline linter), the
//! DSOMM model loader, the claims reader, and inclusion and consistency proof
//! verification. [`run`] is a mutation fuzzer (bit flips, byte edits,
//! truncation, splicing, interesting values) seeded from small samples of our
//! own in each format (`seeds/`); a panic is caught and reported with the
//! input that caused it, which then goes into `regressions/<target>/` where a
//! test replays it on every `cargo test`. The same targets serve `cargo fuzz`
//! on a nightly toolchain (`fuzz/` at the repository root).

use collect::{Collector, Context, Limits, parse_document};
use std::panic::{AssertUnwindSafe, catch_unwind};

/// A fuzz target: a name and an entry point that must not panic.
pub struct Target {
    /// Stable name (also the seed and regression folder).
    pub name: &'static str,
    /// The entry point.
    pub run: fn(&[u8]),
}

fn collector(name: &str, bytes: &[u8]) {
    if let Some(collector) = Collector::from_name(name) {
        let context = Context {
            origin: format!("fuzz.{name}"),
            ..Context::default()
        };
        let limits = Limits {
            max_document_bytes: 1 << 20,
            max_line_bytes: 1 << 16,
            max_depth: 64,
            ..Limits::default()
        };
        let _ = parse_document(collector, bytes, &context, &limits);
        if collector == Collector::Falco {
            // The streamed path of Falco JSON lines, in small blocks.
            let _ = collect::falco::is_json_lines(bytes);
            collect::ndjson::read_blocks(bytes, &limits, 512, |block| {
                let _ = collect::falco::parse_block(&block, &context, &limits);
                true
            });
        }
    }
}

macro_rules! collector_targets {
    ($($name:literal => $function:ident),* $(,)?) => {
        $(fn $function(bytes: &[u8]) { collector($name, bytes) })*
    };
}

collector_targets! {
    "evidence-ndjson" => evidence_ndjson,
    "sarif" => sarif,
    "trivy" => trivy,
    "grype" => grype,
    "cyclonedx" => cyclonedx,
    "spdx" => spdx,
    "suppressions" => suppressions,
    "github" => github,
    "gitlab" => gitlab,
    "falco" => falco,
    "kubernetes" => kubernetes,
    "provenance" => provenance,
    "backstage" => backstage,
    "inventory" => inventory,
    "aws-iam" => aws_iam,
    "github-org" => github_org,
    "kubernetes-rbac" => kubernetes_rbac,
    "training" => training,
    "jira" => jira,
    "pagerduty" => pagerduty,
    "github-issues" => github_issues,
    "threat-model" => threat_model,
    "ics" => ics,
}

fn pipelines(bytes: &[u8]) {
    for platform in [
        collect::pipelines::Platform::GithubActions,
        collect::pipelines::Platform::GitlabCi,
        collect::pipelines::Platform::AzurePipelines,
    ] {
        let mut resolve = |_: &str| -> Result<(String, Vec<u8>), String> { Err("no includes while fuzzing".into()) };
        let _ = collect::pipelines::lint("fuzz.yml", bytes, platform, &Limits::default(), &mut resolve);
    }
}

fn dsomm_model(bytes: &[u8]) {
    let _ = model::dsomm::load_model(bytes, "fuzz-model.yaml");
}

fn claims(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let _ = assess::Claims::read(&text, "fuzz-progress.yaml", None, assess::ClaimGrades::default());
}

/// The verifier key of the ledger the proof seeds came from, so that mutated
/// proofs get past the signature check and exercise the hash paths.
const VERIFIER: &str = include_str!("../verifier.pub");

fn inclusion_proof(bytes: &[u8]) {
    if let (Ok(proof), Ok(verifier)) = (
        serde_json::from_slice::<ledger::InclusionProof>(bytes),
        ledger::NoteVerifier::parse(VERIFIER.trim()),
    ) {
        let _ = proof.verify(&verifier);
    }
}

fn consistency_proof(bytes: &[u8]) {
    if let (Ok(proof), Ok(verifier)) = (
        serde_json::from_slice::<ledger::ConsistencyProof>(bytes),
        ledger::NoteVerifier::parse(VERIFIER.trim()),
    ) {
        let _ = proof.verify(&verifier);
    }
}

/// Every target.
pub const TARGETS: &[Target] = &[
    Target {
        name: "evidence-ndjson",
        run: evidence_ndjson,
    },
    Target {
        name: "sarif",
        run: sarif,
    },
    Target {
        name: "trivy",
        run: trivy,
    },
    Target {
        name: "grype",
        run: grype,
    },
    Target {
        name: "cyclonedx",
        run: cyclonedx,
    },
    Target {
        name: "spdx",
        run: spdx,
    },
    Target {
        name: "suppressions",
        run: suppressions,
    },
    Target {
        name: "github",
        run: github,
    },
    Target {
        name: "gitlab",
        run: gitlab,
    },
    Target {
        name: "falco",
        run: falco,
    },
    Target {
        name: "kubernetes",
        run: kubernetes,
    },
    Target {
        name: "provenance",
        run: provenance,
    },
    Target {
        name: "backstage",
        run: backstage,
    },
    Target {
        name: "inventory",
        run: inventory,
    },
    Target {
        name: "aws-iam",
        run: aws_iam,
    },
    Target {
        name: "github-org",
        run: github_org,
    },
    Target {
        name: "kubernetes-rbac",
        run: kubernetes_rbac,
    },
    Target {
        name: "training",
        run: training,
    },
    Target {
        name: "jira",
        run: jira,
    },
    Target {
        name: "pagerduty",
        run: pagerduty,
    },
    Target {
        name: "github-issues",
        run: github_issues,
    },
    Target {
        name: "threat-model",
        run: threat_model,
    },
    Target { name: "ics", run: ics },
    Target {
        name: "pipelines",
        run: pipelines,
    },
    Target {
        name: "dsomm-model",
        run: dsomm_model,
    },
    Target {
        name: "claims",
        run: claims,
    },
    Target {
        name: "inclusion-proof",
        run: inclusion_proof,
    },
    Target {
        name: "consistency-proof",
        run: consistency_proof,
    },
];

/// The target with this name.
pub fn target(name: &str) -> Option<&'static Target> {
    TARGETS.iter().find(|target| target.name == name)
}

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut value = self.0;
        value = (value ^ (value >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        value = (value ^ (value >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        value ^ (value >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next_u64() % bound.max(1) as u64) as usize
    }
}

const INTERESTING: &[&[u8]] = &[
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b",",
    b"\n",
    b"\r\n",
    b"\\u0000",
    b"\\ud800",
    b"1e400",
    b"-0",
    b"null",
    b"&a ",
    b"*a",
    b"<<: ",
    b"!reference ",
    b"- ",
    b"  ",
    b"\t",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\x00",
    b"9999999999999999999999",
    b"%YAML 1.2\n",
    b"---\n",
    b"...\n",
    b"|\n",
    b">\n",
];

/// One mutation of `input`, drawing from `seeds` for splices.
fn mutate(input: &[u8], seeds: &[Vec<u8>], rng: &mut Rng) -> Vec<u8> {
    let mut data = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(8) {
            0 if !data.is_empty() => {
                let at = rng.below(data.len());
                data[at] ^= 1 << rng.below(8);
            }
            1 if !data.is_empty() => {
                let at = rng.below(data.len());
                data[at] = rng.next_u64() as u8;
            }
            2 => {
                let at = rng.below(data.len() + 1);
                let value = INTERESTING[rng.below(INTERESTING.len())];
                data.splice(at..at, value.iter().copied());
            }
            3 if !data.is_empty() => {
                let at = rng.below(data.len());
                let end = (at + 1 + rng.below(16)).min(data.len());
                data.drain(at..end);
            }
            4 => data.truncate(rng.below(data.len() + 1)),
            5 if !seeds.is_empty() => {
                let other = &seeds[rng.below(seeds.len())];
                let cut = rng.below(data.len() + 1);
                let from = rng.below(other.len() + 1);
                data.truncate(cut);
                data.extend_from_slice(&other[from..]);
            }
            6 if !data.is_empty() => {
                // Repeat a slice: deep nesting and long lines come from here.
                let at = rng.below(data.len());
                let end = (at + 1 + rng.below(8)).min(data.len());
                let slice = data[at..end].to_vec();
                for _ in 0..rng.below(64) {
                    data.splice(at..at, slice.iter().copied());
                }
            }
            _ => {
                let at = rng.below(data.len() + 1);
                data.insert(at, rng.next_u64() as u8);
            }
        }
    }
    data.truncate(1 << 18);
    data
}

/// A panic found: the input and the message.
#[derive(Debug, Clone)]
pub struct Crash {
    /// The input that panicked.
    pub input: Vec<u8>,
    /// The panic message.
    pub message: String,
}

/// Run `target` on one input; `Err` with the panic message when it panicked.
pub fn execute(target: &Target, input: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| (target.run)(input))).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|text| text.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panic".to_string())
    })
}

/// Fuzz `target` for `iterations` mutations from `seeds`, with `seed`; the seeds
/// themselves are run first. Returns the crashes found (at most 10).
pub fn run(target: &Target, seeds: &[Vec<u8>], iterations: u64, seed: u64) -> Vec<Crash> {
    let mut rng = Rng(seed
        ^ target
            .name
            .bytes()
            .fold(0u64, |hash, byte| hash.wrapping_mul(31).wrapping_add(u64::from(byte))));
    let mut crashes = Vec::new();
    let mut corpus: Vec<Vec<u8>> = seeds.to_vec();
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    for input in corpus.clone() {
        if let Err(message) = execute(target, &input) {
            crashes.push(Crash { input, message });
        }
    }
    for iteration in 0..iterations {
        let base = &corpus[rng.below(corpus.len())];
        let input = mutate(base, seeds, &mut rng);
        if let Err(message) = execute(target, &input) {
            crashes.push(Crash { input, message });
            if crashes.len() >= 10 {
                break;
            }
            continue;
        }
        // Keep some mutants as new bases, so mutations stack.
        if iteration % 16 == 0 && corpus.len() < 256 {
            corpus.push(input);
        }
    }
    crashes
}

/// The seeds of a target: `seeds/<name>/*`, plus the collectors' own event samples for github and gitlab.
pub fn seeds(name: &str) -> Vec<Vec<u8>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(root.join("seeds").join(name))
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .collect();
    if name == "github" || name == "gitlab" {
        let events = root.join("../collect/tests/samples/events");
        files.extend(
            std::fs::read_dir(events)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| {
                    path.file_name()
                        .and_then(|file| file.to_str())
                        .is_some_and(|file| file.starts_with(name))
                }),
        );
    }
    files.sort();
    files.iter().filter_map(|path| std::fs::read(path).ok()).collect()
}

/// Inputs that once made a target panic: `regressions/<name>/*`.
pub fn regressions(name: &str) -> Vec<(String, Vec<u8>)> {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("regressions")
        .join(name);
    let mut found: Vec<(String, Vec<u8>)> = std::fs::read_dir(folder)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            std::fs::read(entry.path())
                .ok()
                .map(|bytes| (entry.path().display().to_string(), bytes))
        })
        .collect();
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_has_seeds() {
        for target in TARGETS {
            assert!(!seeds(target.name).is_empty(), "{} has no seeds", target.name);
        }
    }

    #[test]
    fn every_regression_input_is_replayed_without_a_panic() {
        for target in TARGETS {
            for (path, input) in regressions(target.name) {
                assert_eq!(execute(target, &input), Ok(()), "{path}");
            }
        }
    }

    /// A bounded run on every `cargo test` (`DSOMM_FUZZ_ITERATIONS`, default 300 per target).
    #[test]
    fn bounded_fuzzing_finds_no_panic() {
        let iterations = std::env::var("DSOMM_FUZZ_ITERATIONS")
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(300);
        let mut failures = Vec::new();
        for target in TARGETS {
            for crash in run(target, &seeds(target.name), iterations, 1) {
                failures.push(format!(
                    "{}: {} on {:?}",
                    target.name,
                    crash.message,
                    String::from_utf8_lossy(&crash.input)
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
