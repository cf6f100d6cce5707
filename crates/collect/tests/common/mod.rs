//! What the corpus tests share: the shared fixtures folders, read in place.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};

use dsomm_audit_collect::{Collector, Context, Limits, Parsed, detect, parse_document};

/// The shared fixtures folder `name`, next to the repository checkout; `None`
/// (with a message) when it is absent outside CI, a failure when `CI=true`.
pub fn fixtures(name: &str) -> Option<PathBuf> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/fixtures")
        .join(name);
    if folder.is_dir() {
        return Some(folder);
    }
    let message = format!("{name} fixtures folder {} is absent", folder.display());
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!("{message}; it is required when CI=true");
    }
    eprintln!("{message}; corpus test skipped (set CI=true to make this fail)");
    None
}

/// Every file of a fixtures folder, sorted by name.
pub fn files(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Detect and parse one fixture file as `ingest` would.
pub fn ingest(folder: &Path, name: &str, expected: Collector) -> Parsed {
    let bytes = std::fs::read(folder.join(name)).unwrap();
    assert_eq!(detect(name, &bytes), Some(expected), "{name} detected");
    let context = Context {
        origin: name.to_string(),
        sha256: "00".into(),
        ..Context::default()
    };
    parse_document(expected, &bytes, &context, &Limits::default())
}
