//! End-to-end: Falco alerts, Kubernetes admission files and provenance go
//! through the real binary (detection, the provenance flags, the ledger), and
//! bad verification inputs stop the command with a clear error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use common::{Workspace, fixture_folder};

fn trust_root() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../collect/tests/data/sigstore-public-good-trusted_root.json")
        .display()
        .to_string()
}

#[test]
fn runtime_admission_and_provenance_fixtures_ingest_and_verify() {
    let (Some(falco), Some(admission), Some(provenance)) = (
        fixture_folder("falco"),
        fixture_folder("k8s-admission"),
        fixture_folder("provenance"),
    ) else {
        return;
    };
    let workspace = Workspace::new();
    let root = trust_root();
    let args = [
        "ingest",
        "--format",
        "json",
        "--trust-root",
        root.as_str(),
        "--trusted-builder",
        "https://github.com/slsa-framework/slsa-github-generator/.github/workflows/builder_container-based_slsa3.yml",
        falco.to_str().unwrap(),
        admission.to_str().unwrap(),
        provenance.to_str().unwrap(),
    ];
    let first = workspace.run(&args);
    assert_eq!(first.code, 0, "{first:#?}");
    let summary = first.json();
    // 16 Falco alerts; 7 admission policies and 13 decisions; 4 provenance records.
    assert_eq!(summary["files"], 2 + 11 + 4, "{summary}");
    assert_eq!(summary["added"], 16 + 20 + 4, "{summary}");
    assert_eq!(summary["rejected"], 0, "{summary}");
    let again = workspace.run(&args);
    assert_eq!(again.json()["added"], 0, "re-ingest adds nothing");
    let verify = workspace.run(&["verify"]);
    assert_eq!(verify.code, 0, "{verify:#?}");
}

#[test]
fn bad_verification_inputs_stop_with_a_clear_error() {
    let workspace = Workspace::new();
    workspace.write(
        "statement.intoto.json",
        "{\"_type\":\"https://in-toto.io/Statement/v1\",\"subject\":[]}",
    );
    workspace.write(
        "root.json",
        "{\"tlogs\": [{\"publicKey\": {\"rawBytes\": \"not base64!\"}}]}",
    );
    workspace.write(
        "key.pem",
        "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    );
    let cases: [(&[&str], &str); 3] = [
        (&["--trust-root", "missing.json"], "cannot read missing.json"),
        (&["--trust-root", "root.json"], "--trust-root root.json"),
        (&["--public-key", "key.pem"], "--public-key key.pem"),
    ];
    for (flags, message) in cases {
        let mut args = vec!["ingest"];
        args.extend_from_slice(flags);
        args.push("statement.intoto.json");
        let outcome = workspace.run(&args);
        assert_ne!(outcome.code, 0, "{outcome:#?}");
        assert!(outcome.stderr.contains("error: "), "{outcome:#?}");
        assert!(outcome.stderr.contains(message), "{message}: {outcome:#?}");
    }
    let fine = workspace.run(&["ingest", "--format", "json", "statement.intoto.json"]);
    assert_eq!(fine.json()["added"], 1, "{fine:#?}");
}

#[test]
fn a_falco_log_larger_than_the_document_limit_is_streamed_line_by_line() {
    let workspace = Workspace::new();
    // A document limit of 8 KiB, far below the 2,000-alert log.
    let config = std::fs::read_to_string(workspace.path("dsomm-audit.toml")).unwrap();
    let config = config.replace("max_document_bytes = 268435456", "max_document_bytes = 8192");
    assert!(config.contains("max_document_bytes = 8192"));
    workspace.write("dsomm-audit.toml", config);
    let mut log = String::new();
    for index in 0..2_000 {
        if index == 777 {
            log.push_str("{\"rule\": \"broken\"\n");
            continue;
        }
        log.push_str(&format!(
            r#"{{"hostname":"node-1","output":"shell {index}","priority":"Notice","rule":"Terminal shell in container","source":"syscall","tags":["shell"],"time":"2025-03-02T12:{:02}:{:02}.000000000Z","output_fields":{{"k8s.ns.name":"payments","proc.cmdline":"sh -c {index}"}}}}"#,
            (index / 60) % 60,
            index % 60
        ));
        log.push('\n');
    }
    assert!(log.len() > 40 * 8192);
    workspace.write("falco.jsonl", &log);
    let outcome = workspace.run(&["ingest", "--format", "json", "falco.jsonl"]);
    let report = outcome.json();
    assert_eq!(report["added"], 1_999, "{outcome:#?}");
    assert_eq!(report["rejected"], 1, "{outcome:#?}");
    assert!(
        outcome.stdout.contains("falco.jsonl") && outcome.stdout.contains("778"),
        "{outcome:#?}"
    );
    let again = workspace.run(&["ingest", "--format", "json", "falco.jsonl"]);
    assert_eq!(again.json()["added"], 0, "{again:#?}");
    assert_eq!(again.json()["duplicates"], 1_999, "{again:#?}");
    let verify = workspace.run(&["verify", "--deep"]);
    assert_eq!(verify.code, 0, "{verify:#?}");
    // An array of alerts is one document: over the limit, it is refused whole.
    workspace.write(
        "array.json",
        format!(
            "[\n{}\n]\n",
            log.lines()
                .take(100)
                .filter(|line| line.contains("output_fields"))
                .collect::<Vec<_>>()
                .join(",\n")
        ),
    );
    let array = workspace.run(&["ingest", "--format", "json", "--source", "falco", "array.json"]);
    assert!(array.stdout.contains("document limit"), "{array:#?}");
}
