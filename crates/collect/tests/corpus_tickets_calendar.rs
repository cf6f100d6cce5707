//! Corpus test: every file in `../shared/fixtures/tickets-calendar/` is read in
//! place, detected by content, and must give the records derived independently
//! from the files (keys, times, statuses, occurrence counts).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::fixtures;

use dsomm_audit_collect::{Collector, Context, Limits, Parsed, detect, parse_document};
use model::EvidenceKind;
use serde_json::json;

/// Detect and parse one fixture file as `ingest` would.
fn ingest(folder: &Path, name: &str, expected: Collector, context: Context) -> Parsed {
    let bytes = std::fs::read(folder.join(name)).unwrap();
    assert_eq!(detect(name, &bytes), Some(expected), "{name} detected");
    let context = Context {
        origin: name.to_string(),
        sha256: "00".into(),
        ..context
    };
    parse_document(expected, &bytes, &context, &Limits::default())
}

fn text(parsed: &Parsed, index: usize, key: &str) -> String {
    parsed.evidence[index].attrs[key]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

// The cassette records four exchanges: serverInfo, createmeta, the POST that
// created NTEST-3079 (key only) and the GET of the whole issue (Epic, Backlog,
// Medium, created 2025-07-25T21:01:27.654+0200 by valentijn@defectdojo.com).
#[test]
fn jira_cassette_gives_the_recorded_issue() {
    let Some(folder) = fixtures("tickets-calendar") else {
        return;
    };
    let parsed = ingest(
        &folder,
        "jira-cloud-v2-recorded-epic.vcr.yaml",
        Collector::Jira,
        Context::default(),
    );
    assert!(
        parsed.diagnostics.iter().all(|diagnostic| diagnostic.warning),
        "{:?}",
        parsed.diagnostics
    );
    assert_eq!(parsed.evidence.len(), 1);
    let record = &parsed.evidence[0];
    assert_eq!(record.kind, EvidenceKind::Remediation);
    assert_eq!(record.source.collector, "jira");
    assert_eq!(
        record.source.pointer.as_deref(),
        Some("/interactions/3/response/body/string")
    );
    assert_eq!(text(&parsed, 0, "key"), "NTEST-3079");
    assert_eq!(text(&parsed, 0, "title"), "weekly engagement");
    assert_eq!(text(&parsed, 0, "status"), "Backlog");
    assert_eq!(text(&parsed, 0, "priority"), "Medium");
    assert_eq!(text(&parsed, 0, "type"), "Epic");
    assert_eq!(text(&parsed, 0, "opened_at"), "2025-07-25T19:01:27.654000000Z");
    assert_eq!(
        record.occurred_at.map(model::time::format_time).as_deref(),
        Some("2025-07-25T19:01:27.654000000Z")
    );
    assert!(record.attrs.get("resolved_at").is_none(), "unresolved");
    assert_eq!(record.attrs["transitions"], json!([]));
}

// jira-cli's search fixture: TEST-1 Bug To Do Medium, TEST-2 Story In Progress
// High with labels critical and feature, TEST-3 Task Done Low with resolution
// Done (no resolution date and no changelog: no resolution time is invented);
// all created 2020-12-03T14:05:20.974+0100.
#[test]
fn jira_search_and_v3_issue() {
    let Some(folder) = fixtures("tickets-calendar") else {
        return;
    };
    let parsed = ingest(
        &folder,
        "jira-search-three-issues.json",
        Collector::Jira,
        Context::default(),
    );
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    let rows: Vec<(String, String, String)> = (0..parsed.evidence.len())
        .map(|index| {
            (
                text(&parsed, index, "key"),
                text(&parsed, index, "status"),
                text(&parsed, index, "priority"),
            )
        })
        .collect();
    let expected = [
        ("TEST-1", "To Do", "Medium"),
        ("TEST-2", "In Progress", "High"),
        ("TEST-3", "Done", "Low"),
    ];
    assert_eq!(
        rows,
        expected.map(|(key, status, priority)| (key.to_string(), status.to_string(), priority.to_string()))
    );
    assert_eq!(parsed.evidence[1].attrs["labels"], json!(["critical", "feature"]));
    assert_eq!(text(&parsed, 2, "resolution"), "Done");
    for record in &parsed.evidence {
        assert_eq!(record.attrs["opened_at"], "2020-12-03T13:05:20.974000000Z");
        assert!(record.attrs.get("resolved_at").is_none());
    }
    assert_eq!(parsed.evidence[2].source.pointer.as_deref(), Some("/issues/2"));

    let parsed = ingest(&folder, "jira-v3-issue-adf.json", Collector::Jira, Context::default());
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    assert_eq!(parsed.evidence.len(), 1);
    assert_eq!(text(&parsed, 0, "key"), "TEST-1");
    assert_eq!(text(&parsed, 0, "description"), "Test description", "ADF flattened");
    // The second link names no issue key, so only TEST-2 is linked.
    assert_eq!(
        parsed.evidence[0].attrs["links"],
        json!([{"direction": "outward", "key": "TEST-2"}])
    );
}

// The rapid7 PagerDuty response: incident #22 Q0Y3S4INEWMXN2, triggered (no
// acknowledgement, not resolved), urgency high, priority P1, service "new test
// service", created 2023-10-13T16:10:00Z.
#[test]
fn pagerduty_incident() {
    let Some(folder) = fixtures("tickets-calendar") else {
        return;
    };
    let parsed = ingest(
        &folder,
        "pagerduty-incident-triggered-p1.json",
        Collector::Pagerduty,
        Context::default(),
    );
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    assert_eq!(parsed.evidence.len(), 1);
    let record = &parsed.evidence[0];
    assert_eq!(record.kind, EvidenceKind::Incident);
    assert_eq!(record.source.pointer.as_deref(), Some("/incident"));
    assert_eq!(record.subject.service.as_deref(), Some("new test service"));
    assert_eq!(text(&parsed, 0, "id"), "Q0Y3S4INEWMXN2");
    assert_eq!(record.attrs["number"], 22);
    assert_eq!(text(&parsed, 0, "status"), "triggered");
    assert_eq!(text(&parsed, 0, "urgency"), "high");
    assert_eq!(text(&parsed, 0, "priority"), "P1");
    assert_eq!(text(&parsed, 0, "title"), "test additional fields assignments");
    assert_eq!(text(&parsed, 0, "opened_at"), "2023-10-13T16:10:00.000000000Z");
    assert!(record.attrs.get("acknowledged_at").is_none());
    assert!(record.attrs.get("resolved_at").is_none());
}

/// Parse a calendar fixture (or a text derived from one) with an optional
/// `--occurred-at`, and return the records' starts (UTC, to the minute).
fn calendar(name: &str, text: &str, occurred_at: Option<&str>) -> (Parsed, Vec<String>) {
    assert_eq!(detect(name, text.as_bytes()), Some(Collector::Ics), "{name} detected");
    let context = Context {
        origin: name.to_string(),
        sha256: "00".into(),
        occurred_at: occurred_at.map(|time| model::time::parse_time(time).unwrap()),
        ..Context::default()
    };
    let parsed = parse_document(Collector::Ics, text.as_bytes(), &context, &Limits::default());
    let starts = parsed
        .evidence
        .iter()
        .map(|record| {
            assert_eq!(record.kind, EvidenceKind::CalendarBlock);
            assert_eq!(record.source.collector, "ics");
            assert_eq!(
                record.occurred_at.map(model::time::format_time).as_ref(),
                record.attrs["start"].as_str().map(str::to_string).as_ref(),
                "occurred_at is the occurrence's start"
            );
            record.attrs["start"].as_str().unwrap()[..16].to_string()
        })
        .collect();
    (parsed, starts)
}

fn read(folder: &Path, name: &str) -> String {
    std::fs::read_to_string(folder.join(name)).unwrap()
}

// RFC 7265's example: daily at 12:00 US/Eastern (17:00Z) COUNT=5 from
// 2006-01-02, an RDATE period 15:00-17:00 on the first day, and the 4 January
// occurrence moved to 14:00 (19:00Z) by a RECURRENCE-ID override.
#[test]
fn rfc7265_count_rdate_and_moved_instance() {
    let Some(folder) = fixtures("tickets-calendar") else {
        return;
    };
    let name = "rfc7265-recurring-with-override.ics";
    // Without --occurred-at the window ends at the DTSTAMP, 2006-02-06.
    let (parsed, starts) = calendar(name, &read(&folder, name), None);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    assert_eq!(
        starts,
        [
            "2006-01-02T17:00",
            "2006-01-02T20:00",
            "2006-01-03T17:00",
            "2006-01-04T19:00",
            "2006-01-05T17:00",
            "2006-01-06T17:00"
        ]
    );
    let rdate = &parsed.evidence[1];
    assert_eq!(
        rdate.attrs["end"], "2006-01-02T22:00:00.000000000Z",
        "the RDATE period lasts two hours"
    );
    let moved = &parsed.evidence[3];
    assert_eq!(moved.attrs["recurrence_id"], "2006-01-04T17:00:00.000000000Z");
    assert_eq!(moved.attrs["end"], "2006-01-04T20:00:00.000000000Z");
    assert_eq!(moved.attrs["uid"], "00959BC664CA650E933C892C@example.com");
    assert_eq!(moved.attrs["summary"], "Event #2");
    for (index, record) in parsed.evidence.iter().enumerate() {
        if index != 3 {
            assert!(record.attrs.get("recurrence_id").is_none());
        }
        assert_eq!(record.attrs["time_zone"], "US/Eastern");
    }
    // A window that ends on 3 January keeps the first three.
    let (_, starts) = calendar(name, &read(&folder, name), Some("2006-01-03T23:00:00Z"));
    assert_eq!(starts.len(), 3);
}

// Google Calendar: weekdays at 14:00 Europe/Zurich from Friday 2016-10-28
// (12:00Z in summer time, 13:00Z after 30 October), no end. The DTSTAMP
// (2016-10-31T19:28:28Z) ends the default window: 28 and 31 October. To the end
// of November: 2 + 22 weekdays. An EXDATE added to the real file removes
// 1 November.
#[test]
fn google_weekly_rule_over_windows_and_an_exdate() {
    let Some(folder) = fixtures("tickets-calendar") else {
        return;
    };
    let name = "google-calendar-weekly-daily-sync.ics";
    let text = read(&folder, name);
    let (parsed, starts) = calendar(name, &text, None);
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    assert_eq!(starts, ["2016-10-28T12:00", "2016-10-31T13:00"]);
    let first = &parsed.evidence[0];
    assert_eq!(first.attrs["summary"], "Daily Sync");
    assert_eq!(first.attrs["status"], "confirmed");
    assert_eq!(first.attrs["uid"], "BFE33ADD-5553-48B5-B5A5-F9DA5CA4C393");
    assert_eq!(first.attrs["end"], "2016-10-28T12:30:00.000000000Z");
    assert!(
        first.subject.person.is_none(),
        "the export names no organizer or attendee"
    );

    let (_, november) = calendar(name, &text, Some("2016-11-30T23:59:59Z"));
    assert_eq!(november.len(), 24);
    assert_eq!(november.last().map(String::as_str), Some("2016-11-30T13:00"));
    let (_, year) = calendar(name, &text, Some("2016-12-31T00:00:00Z"));
    assert_eq!(year.len(), 46);

    let with_exdate = text.replace(
        "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR\n",
        "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR\nEXDATE;TZID=Europe/Zurich:20161101T140000\n",
    );
    assert_ne!(with_exdate, text);
    let (_, excluded) = calendar(name, &with_exdate, Some("2016-11-30T23:59:59Z"));
    assert_eq!(excluded.len(), 23);
    assert!(!excluded.contains(&"2016-11-01T13:00".to_string()));
    assert!(excluded.contains(&"2016-11-02T13:00".to_string()));
}

// Exchange: weekdays at 10:00 in a VTIMEZONE named "GMT +0100 (Standard) / GMT
// +0200 (Daylight)" (08:00Z in July) from Friday 2015-07-03 UNTIL
// 2015-07-22T08:00:00Z, with a folded RRULE line and spaces in BYDAY: 3 July,
// 6-10, 13-17 and 20-22 July, 14 in all. The invitation was sent (DTSTAMP
// 2015-07-03T07:10:09Z) before the first occurrence, so the default window
// holds none.
#[test]
fn exchange_until_with_custom_time_zone() {
    let Some(folder) = fixtures("tickets-calendar") else {
        return;
    };
    let name = "exchange-daily-standup-rrule-until.ics";
    let text = read(&folder, name);
    let (parsed, starts) = calendar(name, &text, Some("2015-08-01T00:00:00Z"));
    assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
    assert_eq!(starts.len(), 14, "{starts:?}");
    assert_eq!(starts.first().map(String::as_str), Some("2015-07-03T08:00"));
    assert_eq!(
        starts.last().map(String::as_str),
        Some("2015-07-22T08:00"),
        "UNTIL is inclusive"
    );
    assert!(
        !starts
            .iter()
            .any(|start| start.starts_with("2015-07-04") || start.starts_with("2015-07-05"))
    );
    let first = &parsed.evidence[0];
    assert_eq!(first.attrs["summary"], "Sprint 25 Daily Standup");
    assert_eq!(first.attrs["end"], "2015-07-03T08:30:00.000000000Z");
    assert!(first.attrs.get("uid").is_none(), "the invitation has no UID");
    let (parsed, starts) = calendar(name, &text, None);
    assert!(starts.is_empty());
    assert_eq!(parsed.diagnostics.len(), 1, "{:?}", parsed.diagnostics);
    assert!(parsed.diagnostics[0].warning);
    assert!(parsed.diagnostics[0].message.contains("no occurrence in the window"));
}

#[test]
fn every_fixture_has_a_test() {
    let Some(folder) = fixtures("tickets-calendar") else {
        return;
    };
    let names = common::files(&folder);
    assert_eq!(
        names,
        [
            "exchange-daily-standup-rrule-until.ics",
            "google-calendar-weekly-daily-sync.ics",
            "jira-cloud-v2-recorded-epic.vcr.yaml",
            "jira-search-three-issues.json",
            "jira-v3-issue-adf.json",
            "pagerduty-incident-triggered-p1.json",
            "rfc7265-recurring-with-override.ics",
        ],
        "every tickets-calendar fixture needs a test here"
    );
}
