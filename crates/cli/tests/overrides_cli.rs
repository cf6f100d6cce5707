//! The override registry through the real binary: disciplined overrides are
//! recorded, undisciplined requests are refused with every reason, extensions
//! are new reviews, revocations end them, and the ledger still verifies.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Outcome, Workspace};
use jiff::{SignedDuration, Timestamp};

fn date_in(days: i64) -> String {
    let when = Timestamp::now() + SignedDuration::from_hours(24 * days);
    when.strftime("%Y-%m-%d").to_string()
}

/// `override add` with complete, disciplined defaults; `changes` replace some
/// of them (`--format json` adds an option).
fn add(workspace: &Workspace, changes: &[&str]) -> Outcome {
    let sunset = date_in(30);
    let mut options: Vec<(&str, &str)> = vec![
        ("--rule", "CVE-2024-0001"),
        ("--tool", "trivy"),
        ("--repo", "acme/api"),
        ("--owner", "ana@acme.example"),
        ("--approver", "bo@acme.example"),
        ("--ticket", "SEC-12"),
        ("--reason", "no fix released; not reachable"),
        ("--sunset", &sunset),
    ];
    for change in changes.chunks(2) {
        match options.iter_mut().find(|(name, _)| *name == change[0]) {
            Some(option) => option.1 = change[1],
            None => options.push((change[0], change[1])),
        }
    }
    let mut args = vec!["override", "add"];
    for (name, value) in &options {
        args.push(name);
        args.push(value);
    }
    workspace.run(&args)
}

fn list(workspace: &Workspace, which: &str) -> serde_json::Value {
    let outcome = workspace.run(&["override", "list", which, "--format", "json"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    outcome.json()
}

#[test]
fn a_disciplined_override_is_recorded_and_listed() {
    let workspace = Workspace::new();
    let added = add(&workspace, &["--format", "json"]);
    assert_eq!(added.code, 0, "{added:#?}");
    let id = added.json()["id"].as_u64().unwrap();
    let active = list(&workspace, "--active");
    let overrides = active["overrides"].as_array().unwrap();
    assert_eq!(overrides.len(), 1);
    assert_eq!(overrides[0]["id"], id);
    assert_eq!(overrides[0]["status"], "active");
    assert_eq!(overrides[0]["disciplined"], true);
    assert_eq!(overrides[0]["owner"], "ana@acme.example");
    assert_eq!(workspace.run(&["verify"]).code, 0);
}

#[test]
fn a_request_missing_owner_approver_ticket_and_sunset_is_refused_with_every_reason() {
    let workspace = Workspace::new();
    let outcome = workspace.run(&["override", "add", "--rule", "r1", "--reason", "because"]);
    assert_eq!(outcome.code, 2, "{outcome:#?}");
    for needed in ["--owner", "--approver", "--ticket", "--sunset"] {
        assert!(outcome.stderr.contains(needed), "{needed}: {outcome:#?}");
    }
    assert!(list(&workspace, "--all")["overrides"].as_array().unwrap().is_empty());
}

#[test]
fn approver_equal_to_owner_is_refused() {
    let workspace = Workspace::new();
    let outcome = add(&workspace, &["--approver", "Ana@acme.example"]);
    assert_eq!(outcome.code, 2);
    assert!(outcome.stderr.contains("other than the owner"), "{outcome:#?}");
}

#[test]
fn sunsets_in_the_past_or_beyond_the_maximum_are_refused() {
    let workspace = Workspace::new();
    let past = date_in(-1);
    let outcome = add(&workspace, &["--sunset", &past]);
    assert_eq!(outcome.code, 2);
    assert!(outcome.stderr.contains("not in the future"), "{outcome:#?}");
    let far = date_in(200);
    let outcome = add(&workspace, &["--sunset", &far]);
    assert_eq!(outcome.code, 2);
    assert!(outcome.stderr.contains("more than 90 days"), "{outcome:#?}");
}

#[test]
fn extension_is_a_new_review_and_revocation_ends_the_override() {
    let workspace = Workspace::new();
    let id = add(&workspace, &["--format", "json"]).json()["id"]
        .as_u64()
        .unwrap()
        .to_string();
    let later = date_in(60);
    let same_owner = workspace.run(&[
        "override",
        "extend",
        &id,
        "--sunset",
        &later,
        "--approver",
        "ana@acme.example",
    ]);
    assert_eq!(same_owner.code, 2, "{same_owner:#?}");
    let extended = workspace.run(&[
        "override",
        "extend",
        &id,
        "--sunset",
        &later,
        "--approver",
        "cy@acme.example",
    ]);
    assert_eq!(extended.code, 0, "{extended:#?}");
    let state = &list(&workspace, "--active")["overrides"][0];
    assert_eq!(
        state["approvers"],
        serde_json::json!(["bo@acme.example", "cy@acme.example"])
    );
    assert!(state["sunset"].as_str().unwrap().starts_with(&later));
    assert_eq!(state["evidence"].as_array().unwrap().len(), 2);

    let revoked = workspace.run(&["override", "revoke", &id, "--reason", "fixed upstream"]);
    assert_eq!(revoked.code, 0, "{revoked:#?}");
    assert!(list(&workspace, "--active")["overrides"].as_array().unwrap().is_empty());
    let all = list(&workspace, "--all");
    assert_eq!(all["overrides"][0]["status"], "revoked");
    let again = workspace.run(&["override", "revoke", &id, "--reason", "twice"]);
    assert_eq!(again.code, 2);
    let unknown = workspace.run(&["override", "revoke", "999", "--reason", "none"]);
    assert_eq!(unknown.code, 2);
    assert_eq!(workspace.run(&["verify"]).code, 0);
}

#[test]
fn stats_count_the_registry_and_its_discipline() {
    let workspace = Workspace::new();
    assert_eq!(add(&workspace, &[]).code, 0);
    assert_eq!(add(&workspace, &["--rule", "CVE-2024-0002"]).code, 0);
    let outcome = workspace.run(&["override", "stats", "--format", "json"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    let stats = outcome.json();
    assert_eq!(stats["registry"]["active"], 2);
    assert_eq!(stats["registry_undisciplined"], 0);
    assert_eq!(stats["share_undisciplined"], 0.0);
    let month = &Timestamp::now().strftime("%Y-%m").to_string();
    assert_eq!(stats["by_month"][month]["registry"], 2);
}
