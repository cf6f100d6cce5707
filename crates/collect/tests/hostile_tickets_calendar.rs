//! Hostile input for the ticket, incident, calendar and threat-model
//! collectors: arbitrary bytes and text, and every real fixture truncated and
//! with bytes flipped at many places, must give records or diagnostics, never
//! a panic; a file that gives no record says why.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use dsomm_audit_collect::{Collector, Context, Limits, Parsed, detect, parse_document};
use proptest::prelude::*;

const COLLECTORS: [Collector; 5] = [
    Collector::Jira,
    Collector::Pagerduty,
    Collector::GithubIssues,
    Collector::Ics,
    Collector::ThreatModel,
];

fn run(collector: Collector, bytes: &[u8]) -> Parsed {
    let context = Context {
        origin: "hostile".into(),
        sha256: "00".into(),
        occurred_at: Some(model::time::parse_time("2030-01-01T00:00:00Z").unwrap()),
        ..Context::default()
    };
    parse_document(collector, bytes, &context, &Limits::default())
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(index in 0usize..5, bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let collector = COLLECTORS[index];
        let parsed = run(collector, &bytes);
        prop_assert!(!parsed.evidence.is_empty() || !parsed.diagnostics.is_empty());
    }

    #[test]
    fn calendar_like_text_never_panics(text in "(BEGIN:V(EVENT|CALENDAR|TIMEZONE)\n|END:V(EVENT|CALENDAR)\n|DTSTART(;TZID=[A-Za-z/]{1,12})?:[0-9TZ]{0,17}\n|RRULE:[A-Z=;,0-9-]{0,40}\n|EXDATE:[0-9TZ,]{0,20}\n|RDATE;VALUE=PERIOD:[0-9TZ/PH]{0,30}\n|RECURRENCE-ID:[0-9TZ]{0,16}\n|DURATION:[-+PTWDHMS0-9]{0,8}\n| [a-z]{0,5}\n){0,30}") {
        run(Collector::Ics, text.as_bytes());
    }

    #[test]
    fn markdown_like_text_never_panics(text in "---\n([a-z_]{1,10}: [\\[\\]{}a-z0-9,:-]{0,20}\n){0,6}(---\n)?(\\|[ a-zA-Z-]{0,10}){0,5}\n(\\|[-:]{1,4}){0,5}\n(\\|[ a-zA-Z-]{0,10}){0,5}\n") {
        run(Collector::ThreatModel, text.as_bytes());
    }
}

/// Every file of the two fixture folders, damaged at about 150 places each.
#[test]
fn damaged_fixtures_never_panic() {
    let (Some(tickets), Some(models)) = (common::fixtures("tickets-calendar"), common::fixtures("threat-models"))
    else {
        return;
    };
    let mut variants = 0;
    for folder in [tickets, models] {
        for entry in std::fs::read_dir(folder).unwrap() {
            let path = entry.unwrap().path();
            let original = std::fs::read(&path).unwrap();
            let collector = detect(&path.to_string_lossy(), &original).unwrap();
            let step = (original.len() / 150).max(1);
            for position in (0..original.len()).step_by(step) {
                run(collector, &original[..position]);
                let mut flipped = original.clone();
                flipped[position] ^= 0x5a;
                run(collector, &flipped);
                variants += 2;
            }
        }
    }
    assert!(variants > 1000, "{variants}");
}
