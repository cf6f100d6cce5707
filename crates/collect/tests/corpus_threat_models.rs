//! Corpus test: every file in `../shared/fixtures/threat-models/` is read in
//! place, detected by content, and must give one `threat_model` record with the
//! counts derived independently from the files (python's `collections.Counter`
//! over the threats' status and severity).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::fixtures;

use dsomm_audit_collect::{Collector, Context, Limits, detect, parse_document};
use model::{EvidenceKind, NewEvidence, OccurredAtSource};
use serde_json::{Value, json};

/// Detect and parse one model; it must give exactly one record and no diagnostic.
fn model(folder: &Path, name: &str) -> NewEvidence {
    let bytes = std::fs::read(folder.join(name)).unwrap();
    assert_eq!(detect(name, &bytes), Some(Collector::ThreatModel), "{name} detected");
    let context = Context {
        origin: format!("/fixtures/threat-models/{name}"),
        sha256: "00".into(),
        ..Context::default()
    };
    let parsed = parse_document(Collector::ThreatModel, &bytes, &context, &Limits::default());
    assert!(parsed.diagnostics.is_empty(), "{name}: {:?}", parsed.diagnostics);
    assert_eq!(parsed.evidence.len(), 1, "{name}");
    let record = parsed.evidence.into_iter().next().unwrap();
    assert_eq!(record.kind, EvidenceKind::ThreatModel);
    assert_eq!(record.source.collector, "threat-model");
    record
}

struct Expected {
    name: &'static str,
    format: &'static str,
    title: &'static str,
    service: &'static str,
    date: Option<&'static str>,
    threats: u64,
    by_status: Value,
    by_severity: Value,
    mitigations: u64,
    residual_risk_accepted: Option<bool>,
    reviewers: Value,
}

#[test]
fn threat_models_corpus() {
    let Some(folder) = fixtures("threat-models") else {
        return;
    };
    let expected = [
        Expected {
            name: "threagile-risks.json",
            format: "threagile",
            title: "threagile-risks",
            service: "",
            date: None,
            threats: 6,
            by_status: json!({"accepted": 1, "false-positive": 1, "in-discussion": 1, "in-progress": 1, "mitigated": 1, "unchecked": 1}),
            by_severity: json!({"elevated": 4, "low": 1, "medium": 1}),
            mitigations: 1,
            residual_risk_accepted: Some(true),
            reviewers: json!([]),
        },
        Expected {
            name: "threat-dragon-v2-demo-model.json",
            format: "threat-dragon",
            title: "Demo Threat Model",
            service: "Demo Threat Model",
            date: None,
            threats: 14,
            by_status: json!({"mitigated": 4, "open": 10}),
            by_severity: json!({"high": 8, "low": 2, "medium": 4}),
            mitigations: 14,
            residual_risk_accepted: None,
            reviewers: json!(["Jane Smith"]),
        },
        Expected {
            name: "threat-dragon-v2.3-three-tier-web-app.json",
            format: "threat-dragon",
            title: "Three Tier Web Application",
            service: "Three Tier Web Application",
            date: None,
            threats: 2,
            by_status: json!({"mitigated": 2}),
            by_severity: json!({"high": 1, "medium": 1}),
            mitigations: 2,
            residual_risk_accepted: None,
            reviewers: json!(["A product security team"]),
        },
        Expected {
            name: "tmbom-pytm-example.cdx.json",
            format: "tmbom",
            title: "my test tm",
            service: "example-application",
            date: Some("2024-07-22T12:10:00.000000000Z"),
            threats: 0,
            by_status: json!({}),
            by_severity: json!({}),
            mitigations: 0,
            residual_risk_accepted: None,
            reviewers: json!([]),
        },
    ];
    let names = common::files(&folder);
    assert_eq!(
        names,
        expected.iter().map(|case| case.name.to_string()).collect::<Vec<_>>(),
        "every threat-model fixture needs an entry here"
    );
    for case in expected {
        let record = model(&folder, case.name);
        let name = case.name;
        assert_eq!(record.attrs["format"], case.format, "{name}");
        assert_eq!(record.attrs["title"], case.title, "{name}");
        if case.service.is_empty() {
            assert!(record.subject.service.is_none(), "{name}");
            assert!(record.attrs.get("service").is_none(), "{name}");
        } else {
            assert_eq!(record.subject.service.as_deref(), Some(case.service), "{name}");
            assert_eq!(record.attrs["service"], case.service, "{name}");
        }
        assert_eq!(record.attrs.get("date").and_then(Value::as_str), case.date, "{name}");
        assert_eq!(
            record.occurred_at.map(model::time::format_time).as_deref(),
            case.date,
            "{name}: the model's own date, else none (the ingest time stands in)"
        );
        if case.date.is_none() {
            assert_eq!(record.occurred_at_source, OccurredAtSource::Ingested, "{name}");
        }
        assert_eq!(record.attrs["threats"], case.threats, "{name}");
        assert_eq!(record.attrs["threats_by_status"], case.by_status, "{name}");
        assert_eq!(record.attrs["threats_by_severity"], case.by_severity, "{name}");
        assert_eq!(record.attrs["mitigations"], case.mitigations, "{name}");
        assert_eq!(
            record.attrs.get("residual_risk_accepted").and_then(Value::as_bool),
            case.residual_risk_accepted,
            "{name}"
        );
        assert_eq!(record.attrs["reviewers"], case.reviewers, "{name}");
    }
}
