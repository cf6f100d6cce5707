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
