//! Corpus test: every file in `../shared/fixtures/inventory/` and
//! `../shared/fixtures/iam-training/` is read in place, detected by content,
//! and must give the records derived independently from the files (see
//! `../shared/fixtures/SOURCES.md`): asset snapshots, IAM grants with their
//! elevated reasons, and training records.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{files, fixtures};
use std::path::Path;

use dsomm_audit_collect::{Collector, Parsed};
use model::EvidenceKind;
use serde_json::{Value, json};

/// Detect and parse one fixture file as `ingest` would; no diagnostics expected.
fn ingest(folder: &Path, name: &str, expected: Collector) -> Parsed {
    let parsed = common::ingest(folder, name, expected);
    assert!(parsed.diagnostics.is_empty(), "{name}: {:?}", parsed.diagnostics);
    parsed
}

fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap_or("-").to_string())
        .collect()
}

#[test]
fn inventory_folder() {
    let Some(folder) = fixtures("inventory") else { return };
    let mut seen = 0;
    for name in files(&folder) {
        let parsed = ingest(&folder, &name, Collector::Backstage);
        assert_eq!(parsed.evidence.len(), 1, "{name}: one snapshot per file");
        let record = &parsed.evidence[0];
        assert_eq!(record.kind, EvidenceKind::AssetSnapshot);
        assert_eq!(record.occurred_at, None, "{name}: the catalog states no time");
        let attrs = &record.attrs;
        let assets = &attrs["assets"];
        match name.as_str() {
            "backstage-demo-component-and-api.catalog-info.yaml" => {
                assert_eq!(names(assets, "name"), ["backstage-demo", "demo-graphql"]);
                assert_eq!(names(assets, "kind"), ["component", "api"]);
                assert_eq!(names(assets, "lifecycle"), ["experimental", "production"]);
                assert_eq!(
                    names(assets, "owner"),
                    ["backstage/maintainers", "backstage/maintainers"]
                );
                assert_eq!(names(assets, "repo"), ["backstage/demo", "-"]);
                assert_eq!(names(assets, "type"), ["website", "graphql"]);
            }
            "backstage-example-team-a-group-and-users.yaml" => {
                assert_eq!(assets, &json!([]));
                let group = &attrs["groups"][0];
                assert_eq!(group["name"], "team-a");
                assert_eq!(group["parent"], "backstage");
                assert_eq!(group["email"], "team-a@example.com");
                assert_eq!(
                    group["members"],
                    json!([
                        "breanna-davison@example.com",
                        "janelle-dawe@example.com",
                        "nigel-manning@example.com",
                        "guest@example.com"
                    ])
                );
                assert_eq!(
                    names(&attrs["users"], "name"),
                    ["breanna.davison", "janelle.dawe", "nigel.manning", "guest", "guest"]
                );
                assert_eq!(attrs["users"][4]["namespace"], "development");
                assert_eq!(attrs["users"][4]["member_of"], json!(["group:default/team-a"]));
            }
            "rhdh-system-and-component.catalog-info.yaml" => {
                assert_eq!(names(assets, "kind"), ["system", "component"]);
                assert_eq!(names(assets, "owner"), ["rhdh-team", "rhdh-team"]);
                assert_eq!(names(assets, "lifecycle"), ["production", "production"]);
                assert_eq!(
                    names(assets, "repo"),
                    ["redhat-developer/rhdh", "redhat-developer/rhdh"]
                );
                assert_eq!(names(assets, "system"), ["-", "rhdh"]);
                assert_eq!(names(assets, "last_security_review"), ["-", "-"]);
            }
            "rhdh-team-group.yaml" => {
                assert_eq!(assets, &json!([]));
                assert_eq!(names(&attrs["groups"], "name"), ["rhdh-team"]);
                assert_eq!(attrs["groups"][0]["type"], "team");
                assert_eq!(attrs["groups"][0]["members"], json!([]));
            }
            "showcase-component-dependsOn.yaml" => {
                let asset = &assets[0];
                assert_eq!(asset["name"], "backstage-showcase");
                assert_eq!(asset["system"], "janus-idp");
                assert_eq!(asset["owner"], "janus-authors");
                assert_eq!(asset["lifecycle"], "production");
                assert_eq!(
                    asset["depends_on"],
                    json!([
                        "resource:pgdb",
                        "resource:argocd",
                        "resource:obc",
                        "resource:keycloak",
                        "resource:github"
                    ])
                );
                assert_eq!(
                    asset["annotations"]["backstage.io/kubernetes-namespace"],
                    "janus-idp-prod"
                );
            }
            other => panic!("unexpected fixture {other}: add its expectations"),
        }
        seen += 1;
    }
    assert_eq!(seen, 5);
}

/// `principal what @ where reason` for each grant.
fn grants(parsed: &Parsed) -> Vec<String> {
    parsed
        .evidence
        .iter()
        .map(|record| {
            assert_eq!(record.kind, EvidenceKind::IamGrant);
            let attrs = &record.attrs;
            assert_eq!(attrs["elevated"], Value::Bool(!attrs["reason"].is_null()));
            let via = attrs["via"]
                .as_str()
                .map(|via| format!(" via {via}"))
                .unwrap_or_default();
            format!(
                "{} {} @ {}{via} {}",
                attrs["principal"].as_str().unwrap(),
                attrs["what"].as_str().unwrap(),
                attrs["where"].as_str().unwrap(),
                attrs["reason"]
            )
        })
        .collect()
}

fn time(parsed: &Parsed, index: usize) -> String {
    model::time::format_time(parsed.evidence[index].occurred_at.unwrap())
}

#[test]
fn iam_training_folder() {
    let Some(folder) = fixtures("iam-training") else { return };
    let mut seen = 0;
    for name in files(&folder) {
        match name.as_str() {
            "aws-cloudtrail-startinstances.json" => {
                let parsed = ingest(&folder, &name, Collector::AwsIam);
                assert_eq!(grants(&parsed), ["Alice ec2:StartInstances @ aws:123456789012 null"]);
                assert_eq!(parsed.evidence[0].attrs["observed"], true);
                assert_eq!(parsed.evidence[0].attrs["region"], "us-east-2");
                assert_eq!(time(&parsed, 0), "2014-03-06T21:22:54.000000000Z");
            }
            "aws-iam-authz-details-cloudsplaining.json" => {
                let parsed = ingest(&folder, &name, Collector::AwsIam);
                assert_eq!(
                    grants(&parsed),
                    [
                        "obama AdministratorAccess @ aws:012345678901 \"AdministratorAccess\"",
                        "obama AdministratorAccess @ aws:012345678901 via group/admin \"AdministratorAccess\"",
                        "userwithlotsofpermissions InsecureUserPolicy @ aws:012345678901 null",
                        "userwithlotsofpermissions AdministratorAccess @ aws:012345678901 via group/admin \"AdministratorAccess\"",
                        "biden AWSLambdaFullAccess @ aws:012345678901 null",
                        "biden InsecureUserPolicy @ aws:012345678901 null",
                        "biden AmazonRDSFullAccess @ aws:012345678901 via group/biden null",
                        "biden InlinePolicyForBidenGroup @ aws:012345678901 via group/biden null",
                        "MyRole EC2-IAM-example @ aws:012345678901 null",
                        "MyOtherRole SupYo @ aws:012345678901 null",
                        "OverprivilegedEC2 InsecurePolicy @ aws:012345678901 null",
                        "OverprivilegedEC2 SupYo @ aws:012345678901 null",
                    ]
                );
                assert_eq!(parsed.evidence[0].attrs["actions"], json!(["*"]));
                assert_eq!(parsed.evidence[8].attrs["principal_type"], "role");
                assert_eq!(parsed.evidence[4].attrs["policy_type"], "managed");
            }
            "aws-iam-get-account-authorization-details-demo.json" => {
                let parsed = ingest(&folder, &name, Collector::AwsIam);
                assert_eq!(
                    grants(&parsed),
                    [
                        "USER_WITH_BAD_INLINE_POLICY AmazonEC2RoleforSSM @ aws:aws null",
                        "USER AmazonEC2RoleforSSM @ aws:aws via group/GROUP_WITH_BAD_INLINE_POLICY null",
                        "exfiller tmp @ aws:123456789012 null",
                        "bad_role AmazonEC2RoleforSSM @ aws:123456789012 null",
                        "bad_role dostuff @ aws:123456789012 \"Action: \\\"*\\\"\"",
                        "level1 level1 @ aws:123456789012 null",
                        "level3 listbuckets @ aws:123456789012 null",
                    ]
                );
                assert_eq!(parsed.evidence[2].attrs["actions"], json!(["s3:*"]));
            }
            "aws-iam-get-credential-report.json" => {
                // The CSV in `Content`: root (MFA, key 1 active), auditor_tmp
                // (no password, key 1 active), user (password without MFA, two keys).
                let parsed = ingest(&folder, &name, Collector::AwsIam);
                assert_eq!(
                    grants(&parsed),
                    [
                        "<root_account> root user @ aws:123456789012 \"root account\"",
                        "<root_account> access key 1 @ aws:123456789012 \"root account\"",
                        "auditor_tmp access key 1 @ aws:123456789012 null",
                        "user console password @ aws:123456789012 null",
                        "user access key 1 @ aws:123456789012 null",
                        "user access key 2 @ aws:123456789012 null",
                    ]
                );
                for index in 0..6 {
                    assert_eq!(time(&parsed, index), "2019-05-07T15:40:22.000000000Z");
                }
                let mfa: Vec<&Value> = parsed
                    .evidence
                    .iter()
                    .map(|record| &record.attrs["mfa_active"])
                    .collect();
                assert_eq!(
                    mfa,
                    [
                        &json!(true),
                        &json!(true),
                        &json!(false),
                        &json!(false),
                        &json!(false),
                        &json!(false)
                    ]
                );
                assert_eq!(parsed.evidence[1].attrs["last_used_service"], "ecr");
                assert_eq!(parsed.evidence[5].attrs["last_used_service"], "s3");
                assert_eq!(
                    parsed.evidence[3].attrs["password_last_used"],
                    "2018-05-07T15:35:54+00:00"
                );
                assert_eq!(parsed.evidence[2].attrs["last_used_date"], Value::Null);
            }
            "mimecast-awareness-training-user-data.csv" => {
                let parsed = ingest(&folder, &name, Collector::Training);
                let rows: Vec<String> = parsed
                    .evidence
                    .iter()
                    .map(|record| {
                        assert_eq!(record.kind, EvidenceKind::TrainingRecord);
                        format!(
                            "{} {} {} {}",
                            record.subject.person.as_deref().unwrap(),
                            record.attrs["course"].as_str().unwrap(),
                            record.attrs["status"].as_str().unwrap(),
                            record.attrs.get("score").map_or("-".to_string(), Value::to_string)
                        )
                    })
                    .collect();
                assert_eq!(
                    rows,
                    [
                        "bhavink@crest.mime-api.com Login Attempt 2 - copy completed 100.0",
                        "bhavink@crest.mime-api.com Unlock Apple ID - copy completed 100.0",
                        "dgopani@crest.mime-api.com Unlock Apple ID - copy assigned -",
                        "parimal@crest.mime-api.com Unlock Apple ID - copy assigned -",
                        "bhavink@crest.mime-api.com Shipping completed 100.0",
                    ]
                );
                assert_eq!(time(&parsed, 0), "2025-03-21T13:06:00.000000000Z");
                assert_eq!(time(&parsed, 4), "2025-04-30T12:08:00.000000000Z");
                assert_eq!(parsed.evidence[3].attrs["user"], "parimal");
                assert_eq!(parsed.evidence[0].attrs["modules_assigned"], 3);
                assert_eq!(parsed.evidence[0].attrs["campaigns_sent"], 7);
                assert_eq!(parsed.evidence[0].attrs["source_status"], "sent");
                assert_eq!(parsed.evidence[0].source.line, Some(2));
            }
            other => panic!("unexpected fixture {other}: add its expectations"),
        }
        seen += 1;
    }
    assert_eq!(seen, 5);
}
