#![no_main]
//! cargo-fuzz target `cyclonedx`: the same entry point as the stable fuzzer's.

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(target) = dsomm_audit_fuzz::target("cyclonedx") {
        (target.run)(data);
    }
});
