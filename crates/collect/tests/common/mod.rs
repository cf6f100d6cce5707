//! Helpers shared by the corpus tests of the organisation sources.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};

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

/// The names of the files of a fixtures folder, sorted.
pub fn file_names(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
