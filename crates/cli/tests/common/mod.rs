//! Helpers shared by the tests that run the real `dsomm-audit` binary: a workspace
//! initialised with `init`, and the outcome of one run. Each test binary uses a
//! different part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// What one run of the binary did.
#[derive(Debug)]
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    /// The standard output as JSON (panics with the whole outcome when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {self:#?}"))
    }
}

/// A directory initialised with `dsomm-audit init`; every command runs inside it.
pub struct Workspace {
    pub dir: TempDir,
}

impl Workspace {
    pub fn new() -> Workspace {
        let workspace = Workspace {
            dir: tempfile::tempdir().unwrap(),
        };
        let outcome = workspace.run(&["init"]);
        assert_eq!(outcome.code, 0, "init: {outcome:#?}");
        workspace
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) {
        let path = self.path(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, contents).unwrap();
    }

    pub fn run(&self, args: &[&str]) -> Outcome {
        run_in(self.dir.path(), args)
    }
}

/// Run the binary in `dir` with `args`, without any model from the environment; fails
/// the test when the binary panicked.
pub fn run_in(dir: &Path, args: &[&str]) -> Outcome {
    run_in_within(dir, args, std::time::Duration::from_secs(600))
}

/// [`run_in`], killing the binary after `timeout` (its outcome's code is then
/// -1): a regression that blocks (on a FIFO, say) fails instead of hanging.
pub fn run_in_within(dir: &Path, args: &[&str], timeout: std::time::Duration) -> Outcome {
    let output = Command::cargo_bin("dsomm-audit")
        .unwrap()
        .current_dir(dir)
        .env_remove("DSOMM_MODEL")
        .args(args)
        .timeout(timeout)
        .output()
        .unwrap();
    let outcome = Outcome {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert_ne!(outcome.code, 101, "the binary panicked: {outcome:#?}");
    assert!(
        !outcome.stderr.contains("panicked"),
        "the binary panicked: {outcome:#?}"
    );
    outcome
}

/// SplitMix64: a tiny deterministic generator for the trials.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// A number from the environment (a trial count, a seed), or `default`.
pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(default)
}

/// A Trivy report with one critical and one medium vulnerability: `--fail-on high` blocks.
pub const TRIVY_CRITICAL: &str = r#"{
  "SchemaVersion": 2,
  "ArtifactName": "registry.example/api:1.2.3",
  "ArtifactType": "container_image",
  "Results": [
    {
      "Target": "registry.example/api:1.2.3 (alpine 3.19)",
      "Class": "os-pkgs",
      "Type": "alpine",
      "Vulnerabilities": [
        {"VulnerabilityID": "CVE-2024-0001", "PkgName": "openssl", "InstalledVersion": "3.1.0", "Severity": "CRITICAL"},
        {"VulnerabilityID": "CVE-2024-0002", "PkgName": "zlib", "InstalledVersion": "1.3", "Severity": "MEDIUM"}
      ]
    }
  ]
}"#;

/// The shared fixtures folder `name` (`../shared/fixtures/NAME`), or `None` with
/// a message when it is absent; absent under `CI=true` is a failure.
pub fn fixture_folder(name: &str) -> Option<PathBuf> {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(name);
    if folder.is_dir() {
        return Some(folder);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "CI=true but the fixtures folder {} is missing",
        folder.display()
    );
    println!("skipped: fixtures folder {} is absent", folder.display());
    None
}
