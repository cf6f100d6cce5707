//! Hostile input for the organisation collectors (inventories, IAM, training):
//! arbitrary bytes, every real fixture truncated and with bytes flipped, alias
//! bombs, deep nesting, bad encodings and broken CSV must give records or
//! diagnostics with a position, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use dsomm_audit_collect::{Collector, Context, Limits, Parsed, parse_document};
use proptest::prelude::*;

const ORGANISATION: [Collector; 6] = [
    Collector::Backstage,
    Collector::Inventory,
    Collector::AwsIam,
    Collector::GithubOrg,
    Collector::KubernetesRbac,
    Collector::Training,
];

fn run(collector: Collector, bytes: &[u8]) -> Parsed {
    let context = Context {
        origin: "hostile".into(),
        sha256: "00".into(),
        ..Context::default()
    };
    parse_document(collector, bytes, &context, &Limits::default())
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(index in 0..ORGANISATION.len(), bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let collector = ORGANISATION[index];
        let parsed = run(collector, &bytes);
        for record in &parsed.evidence {
            prop_assert_eq!(record.source.collector.as_str(), collector.name());
        }
    }

    #[test]
    fn arbitrary_csv_like_text_never_panics(index in 0..ORGANISATION.len(), text in "[a-z@.,;\"\t \n0-9:/-]{0,400}") {
        run(ORGANISATION[index], text.as_bytes());
    }
}

/// One input and what each collector must say about it: no record, and a
/// diagnostic whose message contains `expected` and which has a line.
#[test]
fn hostile_inputs_are_refused_with_positions() {
    let deep_json = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let alias_bomb = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
    let cases: Vec<(Collector, Vec<u8>, &str)> = vec![
        (Collector::Backstage, alias_bomb.as_bytes().to_vec(), "alias"),
        (
            Collector::Backstage,
            b"apiVersion: backstage.io/v1\nkind: [\n".to_vec(),
            "YAML document not read",
        ),
        (
            Collector::KubernetesRbac,
            deep_json.clone().into_bytes(),
            "nested deeper",
        ),
        (Collector::AwsIam, deep_json.clone().into_bytes(), "nested deeper"),
        (Collector::GithubOrg, deep_json.into_bytes(), "nested deeper"),
        (
            Collector::AwsIam,
            b"{\"UserDetailList\": [\n{\"UserName\": ".to_vec(),
            "not JSON",
        ),
        (Collector::Training, b"email,course\n\xff\xfe,x\n".to_vec(), "not UTF-8"),
        (
            Collector::Training,
            b"Course,Completed\nx,2025-01-01\n".to_vec(),
            "no e-mail or user column",
        ),
        (
            Collector::Inventory,
            b"type,owner\nservice,a\n".to_vec(),
            "no `name` column",
        ),
        (Collector::Inventory, b"".to_vec(), "no CSV header"),
        (
            Collector::AwsIam,
            b"user,arn\n\"unterminated,x\n".to_vec(),
            "credential report",
        ),
        (Collector::GithubOrg, b"[{\"login\": \"x\"}]".to_vec(), "--repo"),
        (
            Collector::KubernetesRbac,
            b"apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: x}\n".to_vec(),
            "roleRef",
        ),
    ];
    for (collector, bytes, expected) in cases {
        let parsed = run(collector, &bytes);
        let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(60)]).into_owned();
        assert!(
            parsed.evidence.is_empty(),
            "{collector:?} {shown}: {:?}",
            parsed.evidence
        );
        let found = parsed
            .diagnostics
            .iter()
            .find(|diagnostic| diagnostic.message.contains(expected))
            .unwrap_or_else(|| panic!("{collector:?} {shown}: no `{expected}` in {:?}", parsed.diagnostics));
        assert!(
            found.line.is_some() || found.pointer.is_some(),
            "{collector:?} {shown}: no position in {found:?}"
        );
    }
}

/// Every file of the inventory and iam-training fixtures, damaged at about 150
/// places each: cut there, and one byte changed there.
#[test]
fn damaged_fixtures_never_panic() {
    let mut variants = 0;
    for (folder, collector) in [("inventory", Collector::Backstage), ("iam-training", Collector::AwsIam)] {
        let Some(folder) = common::fixtures(folder) else { return };
        for name in common::files(&folder) {
            let original = std::fs::read(folder.join(&name)).unwrap();
            let collector = if name.ends_with(".csv") {
                Collector::Training
            } else {
                collector
            };
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
