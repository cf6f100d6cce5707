//! Hostile input for the Falco, Kubernetes and provenance collectors: arbitrary
//! bytes, and every real fixture truncated and with bytes flipped at many
//! places, must give records or diagnostics, never a panic; a provenance record
//! made from a damaged bundle is never verified when the original was not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;

use dsomm_audit_collect::provenance::Verification;
use dsomm_audit_collect::sigstore::TrustRoot;
use dsomm_audit_collect::{Collector, Context, Limits, Parsed, parse_document};
use proptest::prelude::*;

fn context(verification: Option<Verification>) -> Context {
    Context {
        origin: "hostile".into(),
        sha256: "00".into(),
        provenance: verification.map(Arc::new),
        ..Context::default()
    }
}

fn run(collector: Collector, bytes: &[u8], verification: Option<Verification>) -> Parsed {
    parse_document(collector, bytes, &context(verification), &Limits::default())
}

fn with_root() -> Verification {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/sigstore-public-good-trusted_root.json");
    Verification {
        trust_root: Some(TrustRoot::from_json(&std::fs::read(path).unwrap()).unwrap()),
        ..Verification::default()
    }
}

fn collector() -> impl Strategy<Value = Collector> {
    prop_oneof![
        Just(Collector::Falco),
        Just(Collector::Kubernetes),
        Just(Collector::Provenance)
    ]
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(collector in collector(), bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let parsed = run(collector, &bytes, None);
        for record in &parsed.evidence {
            prop_assert_eq!(record.source.collector.as_str(), collector.name());
        }
    }

    #[test]
    fn arbitrary_yaml_like_text_never_panics(text in "[-a-z:{}\\[\\]&*!|>\"' \n]{0,300}") {
        run(Collector::Kubernetes, text.as_bytes(), None);
    }
}

/// Every file of the three fixture folders, damaged at about 150 places each:
/// cut there, and one byte changed there.
#[test]
fn damaged_fixtures_never_panic() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures");
    let folders = [
        ("falco", Collector::Falco),
        ("k8s-admission", Collector::Kubernetes),
        ("provenance", Collector::Provenance),
    ];
    if !root.is_dir() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but {} is missing",
            root.display()
        );
        eprintln!("fixtures folder {} is absent; skipped", root.display());
        return;
    }
    let mut variants = 0;
    for (folder, collector) in folders {
        for entry in std::fs::read_dir(root.join(folder)).unwrap() {
            let original = std::fs::read(entry.unwrap().path()).unwrap();
            let verification = || (collector == Collector::Provenance).then(with_root);
            let was_verified = run(collector, &original, verification())
                .evidence
                .iter()
                .any(|record| record.attrs["verified"] == true);
            let step = (original.len() / 150).max(1);
            for position in (0..original.len()).step_by(step) {
                run(collector, &original[..position], verification());
                let mut flipped = original.clone();
                flipped[position] ^= 0x5a;
                let parsed = run(collector, &flipped, verification());
                if !was_verified {
                    assert!(
                        parsed
                            .evidence
                            .iter()
                            .all(|record| record.attrs.get("verified") != Some(&true.into()))
                    );
                }
                variants += 2;
            }
        }
    }
    assert!(variants > 1000, "{variants}");
}
