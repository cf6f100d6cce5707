//! Corpus test: every file in `../shared/fixtures/falco/` (and, below, the
//! admission fixtures) is read in place, detected by content, and must give the
//! records derived independently with jq (counts, times, fields).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use dsomm_audit_collect::{Collector, Context, Limits, Parsed, detect, parse_document};
use model::EvidenceKind;
use serde_json::json;

/// The shared fixtures folder `name`, next to the repository checkout; `None`
/// (with a message) when it is absent outside CI, a failure when `CI=true`.
fn fixtures(name: &str) -> Option<PathBuf> {
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
fn files(folder: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Detect and parse one fixture file as `ingest` would.
fn ingest(folder: &Path, name: &str, expected: Collector) -> Parsed {
    let bytes = std::fs::read(folder.join(name)).unwrap();
    assert_eq!(detect(name, &bytes), Some(expected), "{name} detected");
    let context = Context {
        origin: name.to_string(),
        sha256: "00".into(),
        ..Context::default()
    };
    parse_document(expected, &bytes, &context, &Limits::default())
}

// jq -c '[.time, .hostname, .rule, .priority, .source, .tags]' over each file:
// 8 alerts each, rule open_from_cat, priority Warning, source syscall, tags
// [filesystem, process, testing]; hostname test-falco-hostname in one file,
// absent in the 2021 one; the first time 2016-08-04T16:17:57.881781397Z and the
// last 2016-08-04T16:17:57.882054739Z.
#[test]
fn falco_corpus() {
    let Some(folder) = fixtures("falco") else { return };
    let expected = [
        ("falco-json-output-2021-no-hostname.jsonl", None),
        ("falco-json-output-open_from_cat.jsonl", Some("test-falco-hostname")),
    ];
    assert_eq!(
        files(&folder),
        expected.iter().map(|(name, _)| name.to_string()).collect::<Vec<_>>(),
        "every falco fixture needs an entry here"
    );
    for (name, hostname) in expected {
        let parsed = ingest(&folder, name, Collector::Falco);
        assert!(parsed.diagnostics.is_empty(), "{name}: {:?}", parsed.diagnostics);
        assert_eq!(parsed.evidence.len(), 8, "{name}");
        for (index, record) in parsed.evidence.iter().enumerate() {
            assert_eq!(record.kind, EvidenceKind::RuntimeAlert);
            assert_eq!(record.source.line, Some(index as u64 + 1));
            assert_eq!(record.source.collector, "falco");
            assert_eq!(record.attrs["rule"], "open_from_cat");
            assert_eq!(record.attrs["priority"], "Warning");
            assert_eq!(record.attrs["severity"], "medium");
            assert_eq!(record.attrs["source"], "syscall");
            assert_eq!(record.attrs["tags"], json!(["filesystem", "process", "testing"]));
            assert_eq!(record.attrs["output_fields"]["proc.cmdline"], "cat /dev/null");
            assert!(
                record.attrs["output"]
                    .as_str()
                    .unwrap()
                    .ends_with("Warning An open was seen (command=cat /dev/null)")
            );
            assert_eq!(record.attrs.get("hostname").and_then(|value| value.as_str()), hostname);
            assert_eq!(record.subject.host.as_deref(), hostname);
            assert_eq!(record.subject.namespace, None);
        }
        let time = |index: usize| parsed.evidence[index].occurred_at.unwrap().to_string();
        assert_eq!(time(0), "2016-08-04T16:17:57.881781397Z");
        assert_eq!(time(7), "2016-08-04T16:17:57.882054739Z");
    }
}
