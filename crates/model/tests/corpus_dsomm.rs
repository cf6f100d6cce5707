//! Corpus test: the official DSOMM 4.3.1 `model.yaml` from `../shared/fixtures/dsomm/`, read in
//! place (never copied into the repository: it is GPL-3.0 data), against the loader and the
//! embedded catalogue.
//!
//! When the fixtures folder is absent the tests say so and pass, except under `CI=true`, where
//! they fail. `DSOMM_AUDIT_FIXTURES` points the tests at another `dsomm` fixtures folder. With `DSOMM_AUDIT_REGENERATE_CATALOGUE=1` the test
//! `regenerate_catalogue_when_asked` rewrites `rubric/catalogue.tsv` from the model (or from
//! the file named by `DSOMM_AUDIT_MODEL`); see `tools/regenerate-catalogue.sh`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use dsomm_audit_model::catalogue::{Catalogue, EMBEDDED_CATALOGUE, describe};
use dsomm_audit_model::dsomm::{DsommModel, ModelFormat, load_model};

/// The fixtures folder `../shared/fixtures/dsomm` seen from the workspace root, or the
/// folder named by `DSOMM_AUDIT_FIXTURES` (used to check the skip behaviour).
fn fixtures_dir() -> PathBuf {
    match std::env::var_os("DSOMM_AUDIT_FIXTURES") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/dsomm"),
    }
}

/// The official model file, or `None` (with a message) when the fixtures are absent.
/// Under `CI=true` an absent fixture is a failure.
fn model_path() -> Option<PathBuf> {
    let path = fixtures_dir().join("default/model.yaml");
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("CI").is_ok_and(|value| value == "true") {
        panic!(
            "corpus_dsomm: DSOMM fixture not found at {}; CI=true, so the corpus test must run",
            path.display()
        );
    }
    println!("corpus_dsomm: skipped, DSOMM fixture not found at {}", path.display());
    None
}

fn load_fixture() -> Option<(DsommModel, String)> {
    let path = model_path()?;
    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let model = load_model(&bytes, &path.display().to_string()).unwrap();
    Some((model, text))
}

#[test]
fn official_model_4_3_1_has_the_documented_shape() {
    let Some((model, _)) = load_fixture() else {
        return;
    };
    assert_eq!(model.version.as_deref(), Some("4.3.1"));
    assert_eq!(model.released.as_deref(), Some("2026-05-19"));
    assert_eq!(model.format, ModelFormat::V4);
    assert_eq!(model.dimension_count(), 5);
    assert_eq!(model.subdimension_count(), 19);
    assert_eq!(model.activity_count(), 194);
    assert_eq!(
        model.dimensions(),
        vec![
            "Build and Deployment",
            "Culture and Organization",
            "Implementation",
            "Information Gathering",
            "Test and Verification",
        ]
    );
    assert!(model.unresolved_dependencies().is_empty());
    assert!(model.activities.iter().all(|activity| activity.line.is_some()));
}

#[test]
fn known_activities_have_their_exact_facts() {
    let Some((model, _)) = load_fixture() else {
        return;
    };
    let defined_build = model.activity_by_uuid("f6f7737f-25a9-4317-8de2-09bf59f29b5b").unwrap();
    assert_eq!(defined_build.name, "Defined build process");
    assert_eq!(defined_build.dimension, "Build and Deployment");
    assert_eq!(defined_build.subdimension, "Build");
    assert_eq!(defined_build.level, 1);
    assert_eq!(defined_build.line, Some(9));
    assert_eq!(
        defined_build.implementation,
        vec![
            "Jenkins",
            "Maven",
            "CI/CD tools",
            "Container technologies and orchestration like Docker, Kubernetes"
        ]
    );
    assert_eq!(
        defined_build.references.get("iso27001-2017").unwrap(),
        &vec!["12.1.1".to_string(), "14.2.2".to_string()]
    );
    assert_eq!(
        defined_build.references.get("iso27001-2022").unwrap(),
        &vec!["5.37".to_string(), "8.32".to_string()]
    );

    let virtual_environments = model
        .activity_by_name("Building and testing of artifacts in virtual environments")
        .unwrap();
    assert_eq!(virtual_environments.uuid, "a340f46b-6360-4cb8-847b-a0d3483d09d3");
    assert_eq!(virtual_environments.level, 2);
    assert!(virtual_environments.implementation_guide.is_some());

    let blue_green = model.activity_by_uuid("0cb2626b-fb0d-4a0f-9688-57f787310d97").unwrap();
    assert_eq!(blue_green.name, "Blue/Green Deployment");
    assert_eq!(blue_green.level, 5);
    assert_eq!(blue_green.depends_on, vec!["73aaae0b-5d68-4953-9fa4-fd25bf665f2a"]);

    // The two uuids of 4.3.1 that are not RFC 4122 load as they are.
    let medium = model
        .activity_by_uuid("f0e01814-3b88-4bd0-a3a9-f91db001d20b-medium")
        .unwrap();
    assert_eq!((medium.name.as_str(), medium.level), ("WAF medium", 4));
    let advanced = model
        .activity_by_uuid("f0e01814-3b88-4bd0-a3a9-f91db001d20b-advanced")
        .unwrap();
    assert_eq!((advanced.name.as_str(), advanced.level), ("WAF Advanced", 5));

    // `implementation: ""` and a missing list both give an empty list.
    let empty_implementations = model
        .activities
        .iter()
        .filter(|activity| activity.implementation.is_empty())
        .count();
    assert!(empty_implementations >= 9);
}

/// Every item of every `iso27001-*` list, read from the raw text line by line: quotes
/// removed, folded continuation lines joined with a space.
fn iso_references_by_scanning(text: &str) -> BTreeMap<String, usize> {
    let mut found = BTreeMap::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut index = 0;
    while index < lines.len() {
        let line = lines[index];
        let trimmed = line.trim_start();
        index += 1;
        if !(trimmed.starts_with("iso27001-") && trimmed.ends_with(':')) {
            continue;
        }
        let key_indent = line.len() - trimmed.len();
        while index < lines.len() {
            let item_line = lines[index];
            let item = item_line.trim_start();
            let indent = item_line.len() - item.len();
            if indent != key_indent || !item.starts_with("- ") {
                break;
            }
            let mut value = item[2..].trim().to_string();
            index += 1;
            while index < lines.len() {
                let next = lines[index];
                let next_trimmed = next.trim_start();
                if next.len() - next_trimmed.len() <= key_indent || next_trimmed.is_empty() {
                    break;
                }
                value.push(' ');
                value.push_str(next_trimmed.trim_end());
                index += 1;
            }
            let unquoted = value
                .strip_prefix('"')
                .and_then(|rest| rest.strip_suffix('"'))
                .or_else(|| value.strip_prefix('\'').and_then(|rest| rest.strip_suffix('\'')))
                .unwrap_or(&value)
                .to_string();
            *found.entry(unquoted).or_insert(0) += 1;
        }
    }
    found
}

#[test]
fn every_iso_reference_text_survives() {
    let Some((model, text)) = load_fixture() else {
        return;
    };
    let mut loaded = BTreeMap::new();
    for activity in &model.activities {
        for (framework, references) in &activity.references {
            if framework.starts_with("iso27001-") {
                for reference in references {
                    *loaded.entry(reference.clone()).or_insert(0) += 1;
                }
            }
        }
    }
    let scanned = iso_references_by_scanning(&text);
    assert!(scanned.values().sum::<usize>() > 800);
    assert_eq!(loaded, scanned);
    // Unquoted YAML floats keep their text: `8.1`, `5.37`; version-like strings too.
    for reference in ["8.1", "5.37", "8.32", "12.1.1", "14.2.6", "8.8", "8.27"] {
        assert!(loaded.contains_key(reference), "{reference} missing");
    }
    // 4.3.1 writes no ISO reference as `8.10`; if a later model does, it must stay `8.10`.
    if text.lines().any(|line| line.trim() == "- 8.10") {
        assert!(loaded.contains_key("8.10"));
    }
}

#[test]
fn embedded_catalogue_equals_the_official_model() {
    let Some((model, _)) = load_fixture() else {
        return;
    };
    if regenerating() {
        return;
    }
    let catalogue = Catalogue::embedded().unwrap();
    assert_eq!(catalogue.version, "4.3.1");
    assert_eq!(catalogue.activities.len(), 194);
    let diff = catalogue.diff(&model);
    assert!(diff.is_empty(), "{diff:#?}");
    // Byte for byte what the generator writes from this model.
    assert_eq!(EMBEDDED_CATALOGUE, Catalogue::from_model(&model).to_tsv());

    let report = describe(&catalogue, Some(&model));
    assert_eq!(report.version.as_deref(), Some("4.3.1"));
    assert_eq!(
        (report.dimensions, report.subdimensions, report.activities),
        (5, 19, 194)
    );
    assert!(report.catalogue_diff.is_empty());
    assert!(report.source.ends_with("model.yaml"));

    let stand_in = catalogue.as_model();
    assert_eq!(stand_in.format, ModelFormat::Catalogue);
    assert_eq!(
        (
            stand_in.dimension_count(),
            stand_in.subdimension_count(),
            stand_in.activity_count()
        ),
        (5, 19, 194)
    );
    assert_eq!(stand_in.dimensions(), model.dimensions());
    assert_eq!(stand_in.subdimensions(), model.subdimensions());
}

#[test]
fn other_dsomm_fixtures_are_present() {
    // team-progress.yaml and meta.yaml belong to the claims importer; here only check they
    // sit next to the model, as the DSOMM app expects.
    if model_path().is_none() {
        return;
    }
    for name in ["meta.yaml", "team-progress.yaml", "default/teams.yaml"] {
        assert!(fixtures_dir().join(name).is_file(), "{name} missing");
    }
    // They are not models: loading one gives a clear error, not a panic.
    let meta = std::fs::read(fixtures_dir().join("meta.yaml")).unwrap();
    assert!(load_model(&meta, "meta.yaml").is_err());
    let progress = std::fs::read(fixtures_dir().join("team-progress.yaml")).unwrap();
    assert!(load_model(&progress, "team-progress.yaml").is_err());
}

fn regenerating() -> bool {
    std::env::var("DSOMM_AUDIT_REGENERATE_CATALOGUE").is_ok_and(|value| value == "1")
}

#[test]
fn regenerate_catalogue_when_asked() {
    if !regenerating() {
        return;
    }
    let path = match std::env::var_os("DSOMM_AUDIT_MODEL") {
        Some(path) => PathBuf::from(path),
        None => model_path().expect("no model: set DSOMM_AUDIT_MODEL"),
    };
    let bytes = std::fs::read(&path).unwrap();
    let model = load_model(&bytes, &path.display().to_string()).unwrap();
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rubric/catalogue.tsv");
    let text = Catalogue::from_model(&model).to_tsv();
    Catalogue::parse(&text, "regenerated catalogue").unwrap();
    std::fs::write(&target, text).unwrap();
    println!(
        "corpus_dsomm: wrote {} ({} activities of model {})",
        target.display(),
        model.activity_count(),
        model.version.as_deref().unwrap_or("unknown")
    );
}
