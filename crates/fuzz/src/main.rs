//! `dsomm-audit-fuzz [--target NAME] [--seconds N] [--seed S]`: fuzz the
//! targets for a time budget, print executions and crashes per target, and
//! write each crashing input into `regressions/<target>/`.

use std::time::{Duration, Instant};

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| {
        args.iter()
            .position(|arg| arg == flag)
            .and_then(|index| args.get(index + 1))
            .cloned()
    };
    let seconds: u64 = value("--seconds").and_then(|text| text.parse().ok()).unwrap_or(10);
    let seed: u64 = value("--seed").and_then(|text| text.parse().ok()).unwrap_or(1);
    let only = value("--target");
    let targets: Vec<&dsomm_audit_fuzz::Target> = dsomm_audit_fuzz::TARGETS
        .iter()
        .filter(|target| only.as_deref().is_none_or(|name| name == target.name))
        .collect();
    if targets.is_empty() {
        eprintln!(
            "no such target; targets: {}",
            dsomm_audit_fuzz::TARGETS
                .iter()
                .map(|target| target.name)
                .collect::<Vec<_>>()
                .join(", ")
        );
        return std::process::ExitCode::from(2);
    }
    // Panics are caught and reported; keep the default hook quiet.
    std::panic::set_hook(Box::new(|_| {}));
    let budget = Duration::from_secs(seconds) / targets.len() as u32;
    let mut crashed = false;
    for target in targets {
        let seeds = dsomm_audit_fuzz::seeds(target.name);
        let started = Instant::now();
        let mut executions = 0u64;
        let mut round = 0u64;
        let mut crashes = Vec::new();
        while started.elapsed() < budget && crashes.is_empty() {
            crashes = dsomm_audit_fuzz::run(target, &seeds, 1_000, seed.wrapping_add(round));
            executions += 1_000 + seeds.len() as u64;
            round += 1;
        }
        for (index, crash) in crashes.iter().enumerate() {
            let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("regressions")
                .join(target.name);
            let _ = std::fs::create_dir_all(&folder);
            let path = folder.join(format!("crash-{seed}-{round}-{index}"));
            let _ = std::fs::write(&path, &crash.input);
            println!(
                "{}: CRASH {} (input saved to {})",
                target.name,
                crash.message,
                path.display()
            );
            crashed = true;
        }
        println!(
            "{:<18} {:>9} executions in {:>6.1} s, {} crashes",
            target.name,
            executions,
            started.elapsed().as_secs_f64(),
            crashes.len()
        );
    }
    if crashed {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    }
}
