//! Corpus test: every file in `../shared/fixtures/falco/` (and, below, the
//! admission fixtures) is read in place, detected by content, and must give the
//! records derived independently with jq (counts, times, fields).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{files, fixtures, ingest};

use dsomm_audit_collect::Collector;
use model::EvidenceKind;
use serde_json::json;

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

/// What one admission fixture must give: per record (kind, pointer, mode or
/// result, policy or rule).
struct Admission {
    name: &'static str,
    /// `(mode, mode_source, rule)` of each `admission_policy`, in order.
    policies: Vec<(&'static str, &'static str, Option<&'static str>)>,
    /// `(result, policy, namespace)` of each `admission_decision`, in order.
    decisions: Vec<(&'static str, Option<&'static str>, Option<&'static str>)>,
    /// Warnings expected (input that still landed).
    warnings: usize,
}

// Derived by reading each file (SOURCES.md says what each shows):
//   yq '.spec.enforcementAction' gatekeeper-*.yaml: null (default deny), dryrun, warn;
//   yq '.spec.rules[] | [.name, .validate.failureAction]' kyverno-clusterpolicy-*: Enforce, Audit;
//   yq '.spec.mode' policy-controller-*: warn, null (default enforce);
//   yq '.results[] | [.result, .policy]' on the reports (the List's .items[].results[]);
//   jq '{verb, code: .responseStatus.code, ns: .objectRef.namespace}' on the audit event.
fn admission_expected() -> Vec<Admission> {
    let policy = |mode, source, rule| (mode, source, rule);
    vec![
        Admission {
            name: "gatekeeper-constraint-default-deny.yaml",
            policies: vec![policy("enforce", "default", None)],
            decisions: vec![],
            warnings: 0,
        },
        Admission {
            name: "gatekeeper-constraint-dryrun.yaml",
            policies: vec![policy("audit", "/spec/enforcementAction", None)],
            decisions: vec![],
            warnings: 0,
        },
        Admission {
            name: "gatekeeper-constraint-warn.yaml",
            policies: vec![policy("warn", "/spec/enforcementAction", None)],
            decisions: vec![],
            warnings: 0,
        },
        Admission {
            name: "k8s-audit-event-privileged-pod-created.json",
            policies: vec![],
            decisions: vec![("allowed", None, Some("default"))],
            warnings: 0,
        },
        Admission {
            name: "kyverno-clusterpolicy-enforce-and-audit-rules.yaml",
            policies: vec![
                policy(
                    "enforce",
                    "/spec/rules/0/validate/failureAction",
                    Some("require-ns-purpose-label"),
                ),
                policy(
                    "audit",
                    "/spec/rules/1/validate/failureAction",
                    Some("require-ns-env-label"),
                ),
            ],
            decisions: vec![],
            warnings: 0,
        },
        Admission {
            name: "kyverno-clusterpolicyreport-fail-and-pass.yaml",
            policies: vec![],
            decisions: vec![
                ("fail", Some("check-ns-labels"), None),
                ("pass", Some("check-ns-labels"), None),
                ("pass", Some("check-ns-labels"), None),
                ("pass", Some("check-ns-labels"), None),
            ],
            warnings: 0,
        },
        Admission {
            name: "openreports-single-report.json",
            policies: vec![],
            decisions: vec![
                ("warn", Some("CVE-2025-9232"), Some("test")),
                ("fail", Some("CVE-2025-47907"), Some("test")),
                ("fail", Some("CIS-BENCH-001"), Some("test")),
            ],
            warnings: 0,
        },
        Admission {
            name: "policy-controller-cip-keyless-warn.yaml",
            policies: vec![policy("warn", "/spec/mode", None)],
            decisions: vec![],
            warnings: 0,
        },
        Admission {
            name: "policy-controller-cip-signed-by-github-actions.yaml",
            policies: vec![policy("enforce", "default", None)],
            decisions: vec![],
            warnings: 0,
        },
        Admission {
            name: "wg-policy-kubearmor-policyreport-list.yaml",
            policies: vec![],
            decisions: vec![("fail", Some("ksp-group-1-proc-path-block"), Some("multiubuntu")); 3],
            // Each result's `nanos` (1637497885) is not a nanosecond count.
            warnings: 3,
        },
        Admission {
            name: "wg-policy-policyreport-falco-and-clusterreport.yaml",
            policies: vec![],
            decisions: vec![
                ("fail", Some("Change thread namespace"), Some("my-namespace")),
                ("fail", Some("audit"), None),
            ],
            warnings: 0,
        },
    ]
}

#[test]
fn admission_corpus() {
    let Some(folder) = fixtures("k8s-admission") else {
        return;
    };
    let expected = admission_expected();
    assert_eq!(
        files(&folder),
        expected.iter().map(|file| file.name.to_string()).collect::<Vec<_>>(),
        "every k8s-admission fixture needs an entry here"
    );
    for file in expected {
        let name = file.name;
        let parsed = ingest(&folder, name, Collector::Kubernetes);
        let errors: Vec<_> = parsed
            .diagnostics
            .iter()
            .filter(|diagnostic| !diagnostic.warning)
            .collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
        assert_eq!(
            parsed.diagnostics.len(),
            file.warnings,
            "{name}: {:?}",
            parsed.diagnostics
        );
        let policies: Vec<_> = parsed
            .evidence
            .iter()
            .filter(|record| record.kind == EvidenceKind::AdmissionPolicy)
            .map(|record| {
                (
                    record.attrs["mode"].as_str().unwrap(),
                    record.attrs["mode_source"].as_str().unwrap(),
                    record.attrs.get("rule").and_then(|rule| rule.as_str()),
                )
            })
            .collect();
        assert_eq!(policies, file.policies, "{name}");
        let decisions: Vec<_> = parsed
            .evidence
            .iter()
            .filter(|record| record.kind == EvidenceKind::AdmissionDecision)
            .map(|record| {
                (
                    record.attrs["result"].as_str().unwrap(),
                    record.attrs.get("policy").and_then(|policy| policy.as_str()),
                    record.subject.namespace.as_deref(),
                )
            })
            .collect();
        assert_eq!(decisions, file.decisions, "{name}");
        assert_eq!(
            parsed.evidence.len(),
            file.policies.len() + file.decisions.len(),
            "{name}: no other records"
        );
        for record in &parsed.evidence {
            assert_eq!(record.source.collector, "kubernetes");
            assert!(
                record.source.line.is_some(),
                "{name}: every record has its document's line"
            );
        }
    }
    // Spot checks of fields beyond mode and result.
    let audit = ingest(
        &folder,
        "k8s-audit-event-privileged-pod-created.json",
        Collector::Kubernetes,
    );
    let event = &audit.evidence[0];
    assert_eq!(event.attrs["response_code"], 201);
    assert_eq!(event.attrs["verb"], "create");
    assert_eq!(event.attrs["api_version"], "audit.k8s.io/v1beta1");
    assert_eq!(event.attrs["images"], json!(["nginx"]));
    assert_eq!(event.occurred_at.unwrap().to_string(), "2018-10-25T14:09:12.581541Z");
    let list = ingest(
        &folder,
        "wg-policy-kubearmor-policyreport-list.yaml",
        Collector::Kubernetes,
    );
    assert_eq!(list.evidence[0].source.pointer.as_deref(), Some("/items/0/results/0"));
    assert_eq!(
        list.evidence[0].occurred_at.unwrap().to_string(),
        "2021-11-21T12:31:25Z"
    );
    assert_eq!(list.evidence[0].attrs["severity"], "medium");
    assert_eq!(list.evidence[0].attrs["properties"]["action"], "Block");
    let report = ingest(
        &folder,
        "kyverno-clusterpolicyreport-fail-and-pass.yaml",
        Collector::Kubernetes,
    );
    assert_eq!(report.evidence[0].attrs["rule"], "require-ns-env-label");
    assert_eq!(report.evidence[0].attrs["engine"], "kyverno");
    assert_eq!(report.evidence[2].source.line, Some(35));
    assert_eq!(
        report.evidence[0].attrs["resources"],
        json!([{"api_version": "v1", "kind": "Namespace", "name": "good-ns-1"}])
    );
    let keyless = ingest(
        &folder,
        "policy-controller-cip-signed-by-github-actions.yaml",
        Collector::Kubernetes,
    );
    assert_eq!(keyless.evidence[0].attrs["authorities"][0]["type"], "keyless");
    assert_eq!(keyless.evidence[0].attrs["images"], json!(["**"]));
}
