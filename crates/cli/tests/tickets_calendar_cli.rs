//! End-to-end: tickets, incidents, calendars and threat models go through the
//! real binary (detection, the ledger, re-ingest), and a Jira ticket that names
//! a Falco alert's uuid answers the runtime-remediation question.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Workspace, fixture_folder};

#[test]
fn ticket_calendar_and_threat_model_fixtures_ingest_by_detection() {
    let (Some(tickets), Some(models)) = (fixture_folder("tickets-calendar"), fixture_folder("threat-models")) else {
        return;
    };
    let workspace = Workspace::new();
    let args = [
        "ingest",
        "--format",
        "json",
        tickets.to_str().unwrap(),
        models.to_str().unwrap(),
    ];
    let first = workspace.run(&args);
    assert_eq!(first.code, 0, "{first:#?}");
    let summary = first.json();
    // Jira 1 + 3 + 1, PagerDuty 1; calendar occurrences up to each file's
    // DTSTAMP: RFC 7265 6, Google 2, Exchange 0; 4 threat models.
    assert_eq!(summary["files"], 7 + 4, "{summary}");
    assert_eq!(summary["added"], 5 + 1 + 8 + 4, "{summary}");
    assert_eq!(summary["rejected"], 0, "{summary}");
    let again = workspace.run(&args);
    assert_eq!(again.json()["added"], 0, "re-ingest adds nothing");
    let verify = workspace.run(&["verify"]);
    assert_eq!(verify.code, 0, "{verify:#?}");
}

const ALERT: &str = r#"{"hostname":"node-1","output":"Notice A shell was spawned","priority":"Critical","rule":"Terminal shell in container","source":"syscall","time":"2025-05-10T12:00:00Z","uuid":"9b2f1c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f","output_fields":{"container.id":"0f8d7e2a3296","k8s.ns.name":"payments"}}"#;

const TICKET: &str = r#"{"key":"SEC-42","fields":{"issuetype":{"name":"Bug"},"summary":"Shell in payments pod",
  "created":"2025-05-10T12:30:00.000+0000","resolutiondate":"2025-05-11T09:00:00.000+0000",
  "status":{"name":"Done"},"priority":{"name":"Highest"},"labels":["falco-uuid:9b2f1c4e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"],
  "description":"Rule: Terminal shell in container"}}"#;

#[test]
fn a_jira_ticket_naming_a_falco_alert_answers_runtime_remediation() {
    let workspace = Workspace::new();
    workspace.write("alerts/falco.jsonl", ALERT);
    workspace.write("tickets/SEC-42.json", TICKET);
    let ingest = workspace.run(&["ingest", "--format", "json", "alerts", "tickets"]);
    assert_eq!(ingest.code, 0, "{ingest:#?}");
    assert_eq!(ingest.json()["added"], 2, "{}", ingest.stdout);
    let ask = workspace.run(&[
        "ask",
        "runtime-remediation",
        "--as-of",
        "2025-05-20T00:00:00Z",
        "--format",
        "json",
    ]);
    assert_eq!(ask.code, 0, "{ask:#?}");
    let answers = ask.json();
    let answer = answers
        .as_array()
        .and_then(|list| list.first())
        .cloned()
        .unwrap_or(answers);
    assert_eq!(answer["status"], "answered", "{answer}");
    assert_eq!(answer["answer"]["ticket"]["key"], "SEC-42", "{answer}");
    assert_eq!(
        answer["answer"]["ticket"]["resolved_at"],
        "2025-05-11T09:00:00.000000000Z"
    );
    assert_eq!(answer["answer"]["time_to_fix_hours"], 21, "{answer}");
}

#[test]
fn a_calendar_expands_over_the_occurred_at_window() {
    let workspace = Workspace::new();
    workspace.write(
        "champion.ics",
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:c1\nORGANIZER:mailto:ana@acme.example\nDTSTART;TZID=Europe/Lisbon:20250106T140000\n\
         DTEND;TZID=Europe/Lisbon:20250106T160000\nRRULE:FREQ=WEEKLY;BYDAY=MO\nEXDATE;TZID=Europe/Lisbon:20250113T140000\n\
         SUMMARY:Security champion time\nEND:VEVENT\nEND:VCALENDAR\n",
    );
    let ingest = workspace.run(&[
        "ingest",
        "--format",
        "json",
        "--occurred-at",
        "2025-03-31T00:00:00Z",
        "champion.ics",
    ]);
    assert_eq!(ingest.code, 0, "{ingest:#?}");
    // Mondays 6 January .. 24 March: 12, less the excluded 13 January.
    assert_eq!(ingest.json()["added"], 11, "{}", ingest.stdout);
    // The same calendar as another person's (--person): their own 11 blocks.
    let owned = workspace.run(&[
        "ingest",
        "--format",
        "json",
        "--occurred-at",
        "2025-03-31T00:00:00Z",
        "--person",
        "Rui@Acme.Example",
        "champion.ics",
    ]);
    assert_eq!(owned.code, 0, "{owned:#?}");
    assert_eq!(owned.json()["added"], 11, "{}", owned.stdout);
}

/// `--occurred-at` given as a date ends a calendar's window with that whole
/// day (a period "ending with March" is `--occurred-at 2025-03-31`); given as
/// a time, it ends at that instant.
#[test]
fn a_date_as_the_window_end_includes_that_whole_day() {
    let workspace = Workspace::new();
    workspace.write(
        "last-day.ics",
        "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:d1\nORGANIZER:mailto:ana@acme.example\nDTSTART:20250331T090000Z\n\
         DTEND:20250331T110000Z\nSUMMARY:Security champion time\nEND:VEVENT\nEND:VCALENDAR\n",
    );
    let at_midnight = workspace.run(&[
        "ingest",
        "--format",
        "json",
        "--occurred-at",
        "2025-03-31T00:00:00Z",
        "last-day.ics",
    ]);
    assert_eq!(at_midnight.json()["added"], 0, "{}", at_midnight.stdout);
    let whole_day = workspace.run(&[
        "ingest",
        "--format",
        "json",
        "--occurred-at",
        "2025-03-31",
        "last-day.ics",
    ]);
    assert_eq!(whole_day.code, 0, "{whole_day:#?}");
    assert_eq!(whole_day.json()["added"], 1, "{}", whole_day.stdout);
}
