//! Organisation evidence through the real binary: inventory snapshots read
//! "as of" a date, IAM grants matched to people by the alias table, training
//! exports with `--columns`, and manual attestations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Workspace;
use ledger::Ledger;
use model::EvidenceKind;
use sha2::{Digest, Sha256};

fn catalog(lifecycle: &str, review: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-api
  annotations:
    github.com/project-slug: acme/payments-api
    dsomm-audit.io/last-security-review: {review}
spec:
  type: service
  owner: group:payments
  lifecycle: {lifecycle}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {{name: payments}}
spec: {{type: team, children: []}}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {{name: ana}}
spec: {{profile: {{email: ana@acme.example}}, memberOf: [payments]}}
"
    )
}

fn time(text: &str) -> jiff::Timestamp {
    model::time::parse_time(text).unwrap()
}

#[test]
fn inventory_snapshots_are_read_as_of_a_date() {
    let workspace = Workspace::new();
    workspace.write("january/catalog-info.yaml", catalog("experimental", "2024-06-01"));
    workspace.write("february/catalog-info.yaml", catalog("production", "2025-02-01"));
    for (folder, date) in [("january", "2025-01-01"), ("february", "2025-02-10")] {
        let outcome = workspace.run(&[
            "ingest",
            "--source",
            "backstage",
            "--occurred-at",
            date,
            "--format",
            "json",
            &format!("{folder}/catalog-info.yaml"),
        ]);
        assert_eq!(outcome.code, 0, "{outcome:#?}");
        assert_eq!(outcome.json()["added"], 1, "{outcome:#?}");
    }
    let ledger = Ledger::open(&workspace.path("ledger.db")).unwrap();
    let as_of = |date: &str| {
        ledger
            .latest_as_of(EvidenceKind::AssetSnapshot, &[], time(date))
            .unwrap()
    };
    let between = as_of("2025-01-20").expect("the January snapshot");
    assert_eq!(between.attrs["assets"][0]["lifecycle"], "experimental");
    assert_eq!(between.attrs["assets"][0]["last_security_review"], "2024-06-01");
    assert_eq!(between.attrs["groups"][0]["members"][0], "ana@acme.example");
    assert_eq!(
        model::time::format_time(between.occurred_at),
        "2025-01-01T00:00:00.000000000Z"
    );
    let later = as_of("2025-02-15").expect("the February snapshot");
    assert_eq!(later.attrs["assets"][0]["lifecycle"], "production");
    assert!(as_of("2024-12-31").is_none());
    // The audit question reads the snapshot of 30 days before the as-of time.
    let outcome = workspace.run(&[
        "ask",
        "inventory",
        "--as-of",
        "2025-03-15T00:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let answer = outcome.json();
    let answer = answer.as_array().map_or(&answer, |answers| &answers[0]);
    assert_eq!(answer["status"], "answered", "{answer:#}");
    assert_eq!(
        answer["answer"]["production_services"][0]["name"], "payments-api",
        "{answer:#}"
    );
    assert_eq!(
        answer["answer"]["production_services"][0]["last_security_review"],
        "2025-02-01"
    );
    // Detected by content, without --source: a CSV inventory.
    workspace.write(
        "inventory.csv",
        "name,type,environment,owner,lifecycle,last_security_review\napi,service,production,payments,production,2025-01-05\n",
    );
    let outcome = workspace.run(&[
        "ingest",
        "--occurred-at",
        "2025-03-01",
        "--format",
        "json",
        "inventory.csv",
    ]);
    assert_eq!(outcome.json()["added"], 1, "{outcome:#?}");
}

#[test]
fn grants_and_training_are_matched_to_people() {
    let workspace = Workspace::new();
    let config = std::fs::read_to_string(workspace.path("dsomm-audit.toml")).unwrap();
    let config = config.replace(
        "[people]\n",
        "[people]\naliases = { \"github:octocat\" = \"Mona@acme.example\" }\n",
    );
    workspace.write("dsomm-audit.toml", config);
    workspace.write(
        "org.json",
        r#"{"organization": "acme", "admins": [{"login": "octocat"}], "members": [{"login": "octocat"}, {"login": "hubot"}],
            "repositories": [{"full_name": "acme/api", "collaborators": [{"login": "hubot", "role_name": "admin"}]}]}"#,
    );
    let outcome = workspace.run(&["ingest", "--occurred-at", "2025-02-01", "--format", "json", "org.json"]);
    assert_eq!(outcome.json()["added"], 3, "{outcome:#?}");
    workspace.write(
        "lms.csv",
        "Learner,Module,Finished,Result\nmona@acme.example,Secure coding,2025-01-10,passed\n,Secure coding,2025-01-10,passed\nhubot@acme.example,Secure coding,not a date,passed\n",
    );
    let outcome = workspace.run(&[
        "ingest",
        "--source",
        "training",
        "--columns",
        "email=Learner,course=Module,completed_at=Finished,status=Result",
        "--format",
        "json",
        "lms.csv",
    ]);
    let summary = outcome.json();
    assert_eq!(summary["added"], 1, "{outcome:#?}");
    assert_eq!(summary["rejected"], 2, "{outcome:#?}");
    let lines: Vec<u64> = summary["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|diagnostic| diagnostic["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [3, 4], "{outcome:#?}");
    let outcome = workspace.run(&["ingest", "--source", "training", "--columns", "email", "lms.csv"]);
    assert_ne!(outcome.code, 0);
    assert!(outcome.stderr.contains("FIELD=HEADER"), "{outcome:#?}");

    let ledger = Ledger::open(&workspace.path("ledger.db")).unwrap();
    let grants = ledger
        .query(&ledger::Query {
            kinds: vec![EvidenceKind::IamGrant],
            ..ledger::Query::default()
        })
        .unwrap();
    let people: Vec<(Option<&str>, &str, bool)> = grants
        .iter()
        .map(|grant| {
            (
                grant.subject.person.as_deref(),
                grant.attrs["what"].as_str().unwrap(),
                grant.attrs["elevated"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        people,
        [
            (None, "member", false),
            (Some("mona@acme.example"), "admin", true),
            (None, "admin", true)
        ]
    );
    // The audit question: hubot holds admin on acme/api and has no training.
    let outcome = workspace.run(&[
        "ask",
        "training-permissions",
        "--as-of",
        "2025-03-01T00:00:00Z",
        "--format",
        "json",
    ]);
    let answer = outcome.json();
    let answer = answer.as_array().map_or(&answer, |answers| &answers[0]);
    assert_eq!(answer["status"], "partial", "{answer:#}");
    let overdue = &answer["answer"]["overdue_with_elevated_access"];
    assert_eq!(overdue.as_array().map(Vec::len), Some(1), "{answer:#}");
    assert_eq!(overdue[0]["person"], "hubot");
    let places: Vec<(&str, &serde_json::Value)> = overdue[0]["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|grant| (grant["where"].as_str().unwrap(), &grant["elevated_because"]))
        .collect();
    assert_eq!(
        places,
        [
            ("github:acme", &serde_json::Value::Null),
            ("acme/api", &serde_json::json!("admin"))
        ]
    );
    let training = ledger
        .query(&ledger::Query {
            kinds: vec![EvidenceKind::TrainingRecord],
            ..ledger::Query::default()
        })
        .unwrap();
    assert_eq!(training[0].subject.person.as_deref(), Some("mona@acme.example"));
    assert_eq!(training[0].attrs["status"], "completed");
}

/// `attest` for `activity` with `document`, attested by ana, plus `extra` options.
fn attest(workspace: &Workspace, activity: &str, document: &str, extra: &[&str]) -> common::Outcome {
    let mut args = vec![
        "attest",
        "--activity",
        activity,
        "--team",
        "payments",
        "--document",
        document,
        "--attested-by",
        "ana@acme.example",
    ];
    args.extend_from_slice(extra);
    workspace.run(&args)
}

#[test]
fn attestations_record_the_document_and_refuse_unknown_activities() {
    let workspace = Workspace::new();
    let catalogue = model::catalogue::Catalogue::embedded().unwrap();
    let activity = &catalogue.activities[0];
    let document = b"# Incident response plan\nReviewed quarterly.\n";
    workspace.write("plan.md", document);
    let outcome = attest(
        &workspace,
        &activity.uuid,
        "plan.md",
        &[
            "--reviewed-by",
            "bo@acme.example",
            "--date",
            "2025-01-15",
            "--note",
            "signed off in the security guild",
            "--format",
            "json",
        ],
    );
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let attrs = &outcome.json()["attrs"];
    assert_eq!(attrs["activity"], activity.uuid.as_str());
    assert_eq!(attrs["team"], "payments");
    assert_eq!(attrs["attester"], "ana@acme.example");
    assert_eq!(attrs["reviewer"], "bo@acme.example");
    assert_eq!(attrs["document"], "plan.md");
    assert_eq!(attrs["document_sha256"], hex::encode(Sha256::digest(document)));
    assert_eq!(attrs["document_date"], "2025-01-15T00:00:00.000000000Z");
    assert_eq!(attrs["note"], "signed off in the security guild");

    let outcome = attest(&workspace, &activity.uuid, "https://wiki.acme.example/ir-plan", &[]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    assert!(outcome.stdout.contains("recorded attestation #1"), "{outcome:#?}");

    let outcome = attest(&workspace, "00000000-0000-0000-0000-000000000000", "plan.md", &[]);
    assert_ne!(outcome.code, 0);
    assert!(outcome.stderr.contains("unknown activity"), "{outcome:#?}");
    let outcome = attest(&workspace, &activity.uuid, "missing.pdf", &[]);
    assert_ne!(outcome.code, 0);
    assert!(outcome.stderr.contains("missing.pdf"), "{outcome:#?}");

    let ledger = Ledger::open(&workspace.path("ledger.db")).unwrap();
    let records = ledger
        .query(&ledger::Query {
            kinds: vec![EvidenceKind::Attestation],
            ..ledger::Query::default()
        })
        .unwrap();
    assert_eq!(records.len(), 2);
    assert_eq!(records[0].subject.team.as_deref(), Some("payments"));
    assert_eq!(records[1].attrs["document_sha256"], serde_json::Value::Null);
    let outcome = workspace.run(&["verify", "--deep"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
}
