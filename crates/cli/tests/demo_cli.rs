//! `dsomm-audit demo` through the real binary: the generated organisation is
//! ingested, verified and assessed, the reports are written, and the
//! assessment tells the truth the generator planted — payments genuinely at
//! the bar on its gates, the other teams' gates advisory for the reasons in
//! their workflows. Same seed, same assessment.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

mod common;

use common::run_in;

fn activity<'a>(assessment: &'a Value, team: &str, name: &str) -> &'a Value {
    let team = assessment["teams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["team"] == team)
        .unwrap();
    team["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|activity| activity["name"] == name)
        .unwrap()
}

#[test]
fn the_demo_plants_a_known_truth_and_the_assessment_finds_it() {
    let dir = tempfile::tempdir().unwrap();
    let outcome = run_in(dir.path(), &["demo", "--out", "acme", "--seed", "3"]);
    assert_eq!(outcome.code, 0, "{outcome:#?}");
    assert!(outcome.stdout.contains("payments: claimed Level"), "{}", outcome.stdout);
    // The summary shows where each team's claims hold: payments' gates do.
    let confirmed = |team: &str| -> usize {
        let at = outcome.stdout.find(&format!("{team}: claimed Level")).unwrap();
        let line = outcome.stdout[at..]
            .lines()
            .find(|line| line.trim_start().starts_with("claims confirmed by evidence:"))
            .unwrap();
        line.split_whitespace().nth(4).unwrap().parse().unwrap()
    };
    for team in ["checkout", "identity", "platform"] {
        assert!(confirmed("payments") > 2 * confirmed(team), "{}", outcome.stdout);
    }
    let out = dir.path().join("acme");
    for file in [
        "report.html",
        "report.md",
        "assessment.json",
        "answers.json",
        "sample.json",
        "plan.json",
        "sources.json",
        "ledger.db",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let assessment: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("assessment.json")).unwrap()).unwrap();
    assert_eq!(assessment["as_of"], "2026-11-01T00:00:00.000000000Z");

    // Payments blocks on SAST, SCA and secrets, was seen blocking, and keeps its exceptions disciplined.
    for name in [
        "Static analysis for important server side components",
        "Software Composition Analysis (server side)",
        "Test for stored secrets in code",
    ] {
        let gate = activity(&assessment, "payments", name);
        assert_eq!(gate["confirmed"], true, "payments / {name}: {gate:#}");
        assert!(gate["grade"].as_u64().unwrap() >= 3);
    }
    // Checkout's Semgrep step has continue-on-error: the SAST gate stays at grade 1, citing the line.
    let sast = activity(
        &assessment,
        "checkout",
        "Static analysis for important server side components",
    );
    assert_eq!(sast["grade"], 1, "{sast:#}");
    assert!(
        sast["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains("continue-on-error"),
        "{sast:#}"
    );
    // Checkout's Trivy step blocks (exit-code 1), but no block was ever observed: grade 2.
    let sca = activity(&assessment, "checkout", "Software Composition Analysis (server side)");
    assert_eq!(sca["grade"], 2, "{sca:#}");
    assert_eq!(sca["confirmed"], false);
    // Only payments' champion has protected time; one team's calendar is not
    // every team's.
    assert_eq!(
        activity(&assessment, "payments", "Each team has a security champion")["grade"],
        4
    );
    for team in ["checkout", "identity", "platform"] {
        let champion = activity(&assessment, team, "Each team has a security champion");
        assert_eq!(champion["grade"], 0, "{team}: {champion:#}");
    }
    // Every other team claims more than the evidence shows.
    for team in ["checkout", "identity", "platform"] {
        let entry = assessment["teams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["team"] == team)
            .unwrap();
        let refuted = entry["activities"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|activity| activity["confirmed"] == false)
            .count();
        assert!(refuted > 50, "{team}: only {refuted} claims refuted");
    }
    // The five answers: payments can show a SAST block from this week; the others cannot.
    let answers: Value = serde_json::from_str(&std::fs::read_to_string(out.join("answers.json")).unwrap()).unwrap();
    let status = |team: &str, question: &str| {
        answers
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["team"] == team && entry["answer"]["question"] == question)
            .map(|entry| entry["answer"]["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(status("payments", "blocked-sast"), "answered");
    assert_eq!(status("checkout", "blocked-sast"), "cannot-answer");
    // identity's semgrep step runs with `--error`: it can block, no block was seen.
    assert_eq!(status("identity", "blocked-sast"), "partial");
    // Payments routes its alerts to Jira and fixes them; checkout's alerts stay audit-only.
    assert_eq!(status("payments", "runtime-remediation"), "answered");
    assert_eq!(status("checkout", "runtime-remediation"), "cannot-answer");
    // Payments' inventory has owners and fresh reviews, its admins are trained; checkout's are not.
    assert_eq!(status("payments", "inventory"), "answered");
    assert_eq!(status("checkout", "inventory"), "partial");
    assert_eq!(status("payments", "training-permissions"), "answered");
    assert_eq!(status("checkout", "training-permissions"), "partial");
    // Everyone's builds are signed and verify, but the admission policy only warns.
    let provenance = answers
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["team"] == "payments" && entry["answer"]["question"] == "provenance")
        .unwrap();
    assert_eq!(provenance["answer"]["status"], "partial");
    assert_eq!(provenance["answer"]["answer"]["provenance"]["verified"], true);
    assert!(
        provenance["answer"]["why_not"].as_str().unwrap().contains("warn mode"),
        "{provenance:#}"
    );
    // The HTML report is self-contained: no external references, a headline and a chart per team.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // The only URL is the SVG namespace (and https links nowhere).
    assert_eq!(
        html.matches("http://").count(),
        html.matches("http://www.w3.org/2000/svg").count()
    );
    assert!(
        !html.contains("https://") || html.matches("https://").count() == html.matches("https://github.com/").count()
    );
    assert!(
        !html.contains("<script src") && !html.contains("<link"),
        "external assets in the report"
    );
    assert_eq!(html.matches("class=\"headline\"").count(), 4);
    assert_eq!(html.matches("<svg").count(), 8, "a chart and a plan timeline per team");
    // Evidence lists that are cut say how many ids they do not show: the
    // Markdown table shows 10 per activity, the HTML table 6.
    let markdown = std::fs::read_to_string(out.join("report.md")).unwrap();
    let assessment: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("assessment.json")).unwrap()).unwrap();
    let longest = assessment["teams"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|team| team["activities"].as_array().unwrap())
        .map(|activity| activity["evidence"].as_array().unwrap().len())
        .max()
        .unwrap();
    assert!(longest > 10, "some activity cites more than 10 records");
    assert!(markdown.contains(&format!("and {} more", longest - 10)), "report.md");
    assert!(
        html.contains(&format!("and {} more</summary>", longest - 6)),
        "report.html"
    );

    // The same seed again (the previous demo is replaced): the same assessment, byte for byte.
    let again = run_in(dir.path(), &["demo", "--out", "acme", "--seed", "3"]);
    assert_eq!(again.code, 0, "{again:#?}");
    let second = std::fs::read_to_string(out.join("assessment.json")).unwrap();
    assert_eq!(
        serde_json::to_string(&assessment).unwrap(),
        serde_json::to_string(&serde_json::from_str::<Value>(&second).unwrap()).unwrap()
    );
    // Without [[team]] in the configuration, the teams come from the Backstage catalog.
    let config = std::fs::read_to_string(out.join("dsomm-audit.toml")).unwrap();
    let without_teams = config.split("\n[[team]]").next().unwrap().to_string();
    std::fs::write(out.join("dsomm-audit.toml"), without_teams).unwrap();
    let derived = run_in(&out, &["assess", "--as-of", "2026-11-01", "--format", "json"]);
    assert_eq!(derived.code, 0, "{derived:#?}");
    let teams: Vec<String> = derived.json()["teams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|team| team["team"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(teams, vec!["checkout", "identity", "payments", "platform"]);
    // A directory that is not a demo is never replaced.
    std::fs::create_dir_all(dir.path().join("precious")).unwrap();
    std::fs::write(dir.path().join("precious/notes.txt"), "keep").unwrap();
    let refused = run_in(dir.path(), &["demo", "--out", "precious"]);
    assert_eq!(refused.code, 2, "{refused:#?}");
    assert!(dir.path().join("precious/notes.txt").is_file());
}
