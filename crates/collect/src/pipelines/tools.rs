//! Which security scanners dsomm-audit recognises, and whether each exits
//! non-zero when it finds something, given its flags or action inputs.
//!
//! Every rule here is documented in docs/pipelines.md with a one-line example.

/// The scanner categories the rubric counts (DESIGN.md section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    /// Static analysis of source code.
    Sast,
    /// Software composition analysis (dependencies).
    Sca,
    /// Secrets in code or history.
    Secrets,
    /// Infrastructure as code.
    Iac,
    /// Container images and Dockerfiles.
    Container,
    /// Dynamic testing of a running application.
    Dast,
    /// Licence compliance.
    License,
}

impl Category {
    /// The stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Sast => "sast",
            Category::Sca => "sca",
            Category::Secrets => "secrets",
            Category::Iac => "iac",
            Category::Container => "container",
            Category::Dast => "dast",
            Category::License => "license",
        }
    }
}

/// Whether the scanner, as invoked, exits non-zero when it finds something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExitRule {
    /// `Some(true)`: findings give a non-zero exit; `Some(false)`: never; `None`: cannot tell.
    pub fails_on_findings: Option<bool>,
    /// Why, in a sentence.
    pub why: String,
    /// The exact flag or input text that decided it (empty: the tool's default).
    pub text: String,
    /// Where `text` sits when it is not on the command's own lines (an `env:`
    /// entry): its line and, for an included file, the file.
    pub located: Option<(u64, Option<String>)>,
}

impl ExitRule {
    fn fails(why: impl Into<String>, text: impl Into<String>) -> ExitRule {
        ExitRule {
            fails_on_findings: Some(true),
            why: why.into(),
            text: text.into(),
            located: None,
        }
    }

    fn passes(why: impl Into<String>, text: impl Into<String>) -> ExitRule {
        ExitRule {
            fails_on_findings: Some(false),
            why: why.into(),
            text: text.into(),
            located: None,
        }
    }

    fn unknown(why: impl Into<String>, text: impl Into<String>) -> ExitRule {
        ExitRule {
            fails_on_findings: None,
            why: why.into(),
            text: text.into(),
            located: None,
        }
    }
}

/// One environment variable the file sets for a step (`env:` of a step, job
/// or workflow; GitLab `variables:`), with where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvVar {
    /// The value, quotes removed.
    pub value: String,
    /// The entry exactly as written (`TRIVY_EXIT_CODE: "1"`).
    pub text: String,
    /// 1-based line of the entry.
    pub line: u64,
    /// The file, when it is not the step's own.
    pub file: Option<String>,
}

/// The environment a step's commands see, as far as the file tells.
pub type Env = std::collections::BTreeMap<String, EnvVar>;

/// Whether a value is decided only at run time: a shell expansion or a
/// GitHub expression (`$EXIT_CODE`, `${{ inputs.exit }}`).
pub fn is_dynamic(value: &str) -> bool {
    value.contains('$')
}

fn dynamic(text: String) -> ExitRule {
    ExitRule::unknown(
        "the value is decided at run time (a variable or expression the file does not set)",
        text,
    )
}

/// A rule decided by an environment variable the file sets (`TRIVY_EXIT_CODE`).
fn from_env(mut rule: ExitRule, variable: &EnvVar) -> ExitRule {
    rule.text = variable.text.clone();
    rule.located = Some((variable.line, variable.file.clone()));
    rule
}

/// When the decision rests on the tool's default and the command names a
/// configuration file that can change it, the step cannot be judged.
fn named_config(rule: ExitRule, args: &[String], names: &[&str], settings: &str) -> ExitRule {
    if !rule.text.is_empty() || rule.located.is_some() {
        return rule;
    }
    match flag(args, names) {
        Some((_, text)) => ExitRule::unknown(
            format!("the configuration file named here can set {settings}, which dsomm-audit does not read"),
            text,
        ),
        None => rule,
    }
}

/// A scanner recognised in a command line or an action reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recognised {
    /// Stable kebab-case tool id.
    pub tool: &'static str,
    /// What it scans for.
    pub category: Category,
    /// Whether findings make it exit non-zero.
    pub exit: ExitRule,
}

/// The value of `--name value`, `--name=value` or `-n value` among `args`,
/// with the text as written.
fn flag<'a>(args: &'a [String], names: &[&str]) -> Option<(&'a str, String)> {
    for (index, arg) in args.iter().enumerate() {
        for name in names {
            if arg == name {
                return Some((
                    args.get(index + 1).map(String::as_str).unwrap_or(""),
                    format!("{arg} {}", args.get(index + 1).map(String::as_str).unwrap_or(""))
                        .trim()
                        .to_string(),
                ));
            }
            if let Some(value) = arg.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')) {
                return Some((value, arg.clone()));
            }
        }
    }
    None
}

/// Whether a bare switch (`--soft-fail`, `-s`) is present; returns it as written.
fn switch<'a>(args: &'a [String], names: &[&str]) -> Option<&'a str> {
    args.iter()
        .find(|arg| {
            names
                .iter()
                .any(|name| arg.as_str() == *name || arg.strip_prefix(name).is_some_and(|rest| rest.starts_with('=')))
        })
        .map(String::as_str)
}

fn is_zero(value: &str) -> bool {
    value.trim_matches(|c| c == '"' || c == '\'').trim() == "0"
}

fn is_true(value: &str) -> bool {
    matches!(
        value
            .trim_matches(|c| c == '"' || c == '\'')
            .trim()
            .to_ascii_lowercase()
            .as_str(),
        "true" | "1" | "yes"
    )
}

/// Whether the command only prints help or a version, or does something
/// other than scan: `--help`/`-h`/`--version` anywhere (before `--`), `help`
/// or `version` as the subcommand, and the tool's own non-scan subcommands
/// and switches. `-v` means `--version` only for the tools listed in
/// `version_short`; for gitleaks and bandit it is `--verbose`.
fn not_a_scan(args: &[String], subcommands: &[&str], switches: &[&str], version_short: &[&str]) -> bool {
    let first = args.first().map(String::as_str).unwrap_or("");
    not_a_scan_of(args, first, subcommands, switches, version_short)
}

/// [`not_a_scan`] with the subcommand given: for tools whose subcommand may
/// follow global flags, `sub` is what [`subcommand`] resolves, so `trivy
/// --cache-dir DIR server` is not a scan either. A subcommand is never a flag,
/// so for `sub` = the first word this is [`not_a_scan`].
fn not_a_scan_of(args: &[String], sub: &str, subcommands: &[&str], switches: &[&str], version_short: &[&str]) -> bool {
    if matches!(sub, "help" | "version" | "completion") || subcommands.contains(&sub) {
        return true;
    }
    let words: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .take_while(|word| *word != "--")
        .collect();
    words.iter().any(|word| {
        let name = word.split('=').next().unwrap_or(word);
        matches!(name, "--help" | "-h" | "-help" | "--version" | "-version")
            || version_short.contains(&name)
            || switches.contains(&name)
    })
}

/// The first argument that is not a flag (a subcommand), skipping the values
/// of the flags in `with_value`.
fn subcommand<'a>(args: &'a [String], with_value: &[&str]) -> &'a str {
    let mut index = 0;
    while let Some(word) = args.get(index) {
        if !word.starts_with('-') {
            return word;
        }
        index += if with_value.contains(&word.as_str()) { 2 } else { 1 };
    }
    ""
}

/// The basename of a command word or image reference: `/usr/local/bin/trivy`,
/// `${GOPATH}/bin/gosec`, `ghcr.io/aquasecurity/trivy:0.50` all give the tool's name.
pub fn basename(word: &str) -> String {
    let word = word.rsplit('/').next().unwrap_or(word);
    let word = word.split('@').next().unwrap_or(word);
    let word = word.split(':').next().unwrap_or(word);
    word.to_ascii_lowercase()
}

/// Recognise a scanner from a command's words (the command word first,
/// wrappers such as `sudo`, `npx`, `docker run IMAGE` already removed).
pub fn recognise_command(command: &str, args: &[String]) -> Option<Recognised> {
    recognise_command_in(command, args, &Env::new())
}

/// [`recognise_command`] for a step whose environment the file sets: tools
/// that read their flags from the environment (`TRIVY_EXIT_CODE`) see it.
pub fn recognise_command_in(command: &str, args: &[String], env: &Env) -> Option<Recognised> {
    let name = basename(command);
    let sub = args.first().map(String::as_str).unwrap_or("");
    let recognised = |tool, category, exit| Some(Recognised { tool, category, exit });
    match name.as_str() {
        "semgrep" | "opengrep" => {
            if not_a_scan(
                args,
                &["login", "logout", "install-semgrep-pro", "publish", "lsp", "show"],
                &[],
                &[],
            ) {
                return None;
            }
            let tool = if name == "opengrep" { "opengrep" } else { "semgrep" };
            if sub == "ci" {
                return recognise(
                    tool,
                    Category::Sast,
                    ExitRule::fails("`semgrep ci` exits 1 on blocking findings", "semgrep ci"),
                );
            }
            let exit = match switch(args, &["--error"]) {
                Some(text) => ExitRule::fails("`--error` makes findings exit non-zero", text),
                None => ExitRule::passes("`semgrep scan` exits 0 on findings unless `--error` is given", ""),
            };
            recognise(tool, Category::Sast, exit)
        }
        "trivy" => {
            let sub = subcommand(
                args,
                &[
                    "--exit-code",
                    "--severity",
                    "-s",
                    "--cache-dir",
                    "--config",
                    "-c",
                    "--format",
                    "-f",
                    "--output",
                    "-o",
                    "--timeout",
                    "-t",
                ],
            );
            if args.is_empty()
                || not_a_scan_of(
                    args,
                    sub,
                    &[
                        "server", "plugin", "module", "clean", "convert", "registry", "auth", "login", "vex",
                    ],
                    &[
                        "--download-db-only",
                        "--download-java-db-only",
                        "--reset",
                        "--clear-cache",
                        "--reset-checks-bundle",
                    ],
                    &["-v"],
                )
            {
                return None;
            }
            let category = match sub {
                "image" | "i" | "vm" => Category::Container,
                "config" | "conf" => Category::Iac,
                _ => Category::Sca,
            };
            let exit = match flag(args, &["--exit-code"]) {
                Some((value, text)) if is_dynamic(value) => dynamic(text),
                Some((value, text)) if is_zero(value) => ExitRule::passes("`--exit-code 0`: findings never fail", text),
                Some((_, text)) => ExitRule::fails("a non-zero `--exit-code` makes findings fail", text),
                None => trivy_env_exit(env).unwrap_or_else(|| {
                    ExitRule::passes(
                        "trivy exits 0 on findings unless `--exit-code` is non-zero (default 0)",
                        "",
                    )
                }),
            };
            recognised(
                "trivy",
                category,
                named_config(exit, args, &["--config", "-c"], "`exit-code`"),
            )
        }
        "grype" => {
            if args.is_empty() || not_a_scan(args, &["db", "config", "login"], &[], &[]) {
                return None;
            }
            let exit = match flag(args, &["--fail-on", "-f"]) {
                Some((value, text)) if is_dynamic(value) => dynamic(text),
                Some((_, text)) => ExitRule::fails("`--fail-on` makes findings at that severity fail", text),
                None => ExitRule::passes("grype exits 0 on findings unless `--fail-on` is given", ""),
            };
            let exit = named_config(exit, args, &["--config", "-c"], "`fail-on-severity`");
            recognised(
                "grype",
                if sub.starts_with("dir:") {
                    Category::Sca
                } else {
                    Category::Container
                },
                exit,
            )
        }
        "gitleaks" => {
            let sub = subcommand(
                args,
                &[
                    "--config",
                    "-c",
                    "--exit-code",
                    "--log-level",
                    "-l",
                    "--report-path",
                    "-r",
                    "--report-format",
                    "-f",
                    "--source",
                    "-s",
                ],
            );
            if args.is_empty()
                || not_a_scan(args, &[], &[], &[])
                || !matches!(sub, "detect" | "protect" | "dir" | "directory" | "git" | "stdin" | "")
            {
                return None;
            }
            let exit = match flag(args, &["--exit-code"]) {
                Some((value, text)) if is_dynamic(value) => dynamic(text),
                Some((value, text)) if is_zero(value) => ExitRule::passes("`--exit-code 0`: leaks never fail", text),
                Some((_, text)) => ExitRule::fails("`--exit-code` is non-zero", text),
                None => ExitRule::fails("gitleaks exits 1 when it finds leaks (default `--exit-code 1`)", ""),
            };
            recognised("gitleaks", Category::Secrets, exit)
        }
        "trufflehog" => {
            if args.is_empty() || not_a_scan(args, &[], &[], &[]) {
                return None;
            }
            let exit = match switch(args, &["--fail"]) {
                Some(text) => ExitRule::fails("`--fail` exits 183 when secrets are found", text),
                None => ExitRule::passes("trufflehog exits 0 on findings unless `--fail` is given", ""),
            };
            recognised("trufflehog", Category::Secrets, exit)
        }
        "snyk" => {
            if not_a_scan(args, &[], &[], &[]) {
                return None;
            }
            let category = match sub {
                "code" => Category::Sast,
                "container" => Category::Container,
                "iac" => Category::Iac,
                "test" | "monitor" => Category::Sca,
                _ => return None,
            };
            if sub == "monitor" || args.get(1).is_some_and(|word| word == "monitor") {
                return recognised(
                    "snyk",
                    category,
                    ExitRule::passes(
                        "`snyk monitor` only uploads a snapshot; it never fails on issues",
                        "snyk monitor",
                    ),
                );
            }
            recognised(
                "snyk",
                category,
                ExitRule::fails("`snyk test` exits 1 when issues are found", format!("snyk {sub}")),
            )
        }
        "checkov" => {
            if not_a_scan(args, &[], &["--list", "-l"], &["-v"]) {
                return None;
            }
            let soft = switch(args, &["--soft-fail", "-s"]).filter(|text| {
                text.split_once('=')
                    .is_none_or(|(_, value)| !value.eq_ignore_ascii_case("false"))
            });
            let exit = match (soft, flag(args, &["--hard-fail-on"])) {
                (Some(_), Some((value, text))) if is_dynamic(value) => dynamic(text),
                (Some(_), Some((_, text))) => ExitRule::fails(
                    "with `--hard-fail-on` checkov exits 1 on the checks or severities it names, even with `--soft-fail`",
                    text,
                ),
                (Some(text), None) => ExitRule::passes(
                    if flag(args, &["--soft-fail-on"]).is_some() {
                        "`--soft-fail` exits 0 on every failed check (`--soft-fail-on` only narrows what a plain run would fail on)"
                    } else {
                        "`--soft-fail` always exits 0"
                    },
                    text,
                ),
                (None, _) => match flag(args, &["--soft-fail-on"]) {
                    Some((_, text)) => ExitRule::fails(
                        "`--soft-fail-on` without `--soft-fail`: checks not in the list still exit 1",
                        text,
                    ),
                    None => ExitRule::fails("checkov exits 1 on failed checks unless `--soft-fail`", ""),
                },
            };
            recognised(
                "checkov",
                Category::Iac,
                named_config(exit, args, &["--config-file"], "`soft-fail`"),
            )
        }
        "tfsec" => {
            if not_a_scan(args, &[], &["--update", "--print-rego-input"], &[]) {
                return None;
            }
            let exit = match switch(args, &["--soft-fail"]) {
                Some(text) => ExitRule::passes("`--soft-fail` always exits 0", text),
                None => ExitRule::fails("tfsec exits 1 on problems unless `--soft-fail`", ""),
            };
            recognised("tfsec", Category::Iac, exit)
        }
        "kics" => {
            if sub != "scan" || not_a_scan(args, &[], &[], &[]) {
                return None;
            }
            let exit = match flag(args, &["--ignore-on-exit"]) {
                Some((value, text)) if is_dynamic(value) => dynamic(text),
                Some(("results" | "all", text)) => {
                    ExitRule::passes("`--ignore-on-exit results` exits 0 on results", text)
                }
                _ => ExitRule::fails("kics scan exits non-zero when results are found", ""),
            };
            recognised("kics", Category::Iac, exit)
        }
        "terrascan" => {
            if sub != "scan" || not_a_scan(args, &[], &[], &[]) {
                return None;
            }
            recognised(
                "terrascan",
                Category::Iac,
                ExitRule::fails("terrascan scan exits 3 on violations", ""),
            )
        }
        "zap-baseline.py" | "zap-full-scan.py" | "zap-api-scan.py" => {
            if not_a_scan(args, &[], &[], &[]) {
                return None;
            }
            let config = flag(args, &["-c", "-u"]);
            let exit = match (switch(args, &["-I"]), config) {
                (Some(_), Some((_, text))) => ExitRule::unknown(
                    "`-I` ignores WARN alerts; the rules file named here can make alerts FAIL, which still exits 1",
                    text,
                ),
                (Some(text), None) => ExitRule::passes(
                    "`-I` does not fail on warnings, and without a rules file (`-c`/`-u`) every alert is a WARN",
                    text,
                ),
                (None, _) => ExitRule::fails("the ZAP scan scripts exit 1 on FAIL and 2 on WARN alerts", ""),
            };
            recognised("zap", Category::Dast, exit)
        }
        "bandit" => {
            if not_a_scan(args, &[], &[], &[]) {
                return None;
            }
            let exit = match switch(args, &["--exit-zero"]) {
                Some(text) => ExitRule::passes("`--exit-zero` always exits 0", text),
                None => ExitRule::fails("bandit exits 1 when issues are found", ""),
            };
            recognised("bandit", Category::Sast, exit)
        }
        "gosec" => {
            if not_a_scan(args, &[], &[], &[]) {
                return None;
            }
            let exit = match switch(args, &["-no-fail", "--no-fail"]) {
                Some(text) => ExitRule::passes("`-no-fail` exits 0 on issues", text),
                None => ExitRule::fails("gosec exits 1 when issues are found", ""),
            };
            recognised("gosec", Category::Sast, exit)
        }
        "sonar-scanner" => recognised("sonarqube", Category::Sast, sonar_exit(args)),
        "mvn" | "./mvnw" | "mvnw"
            if args
                .iter()
                .any(|arg| arg.starts_with("sonar:sonar") || arg.contains(":sonar")) =>
        {
            recognised("sonarqube", Category::Sast, sonar_exit(args))
        }
        "gradle" | "./gradlew" | "gradlew" if args.iter().any(|arg| arg == "sonar" || arg == "sonarqube") => {
            recognised("sonarqube", Category::Sast, sonar_exit(args))
        }
        "osv-scanner" => {
            if not_a_scan(args, &["fix", "update"], &[], &[]) {
                return None;
            }
            recognised(
                "osv-scanner",
                Category::Sca,
                ExitRule::fails("osv-scanner exits 1 when vulnerabilities are found", ""),
            )
        }
        "npm" | "yarn" | "pnpm" if sub == "audit" => {
            if not_a_scan(&args[1..], &["fix", "signatures"], &[], &[]) {
                return None;
            }
            recognised(
                "npm-audit",
                Category::Sca,
                ExitRule::fails(
                    format!("`{name} audit` exits non-zero when vulnerabilities are found"),
                    format!("{name} audit"),
                ),
            )
        }
        "cargo" if sub == "audit" => {
            if not_a_scan(&args[1..], &["fix"], &[], &["-V"]) {
                return None;
            }
            recognised(
                "cargo-audit",
                Category::Sca,
                ExitRule::fails("`cargo audit` exits 1 when vulnerabilities are found", "cargo audit"),
            )
        }
        "cargo-audit" if !not_a_scan(args, &["fix"], &[], &["-V"]) => recognised(
            "cargo-audit",
            Category::Sca,
            ExitRule::fails("`cargo audit` exits 1 when vulnerabilities are found", ""),
        ),
        "cargo" if sub == "deny" && !not_a_scan(&args[1..], &["init", "fetch", "list"], &[], &["-V"]) => {
            let category = if args.iter().any(|arg| arg == "licenses") {
                Category::License
            } else {
                Category::Sca
            };
            recognised(
                "cargo-deny",
                category,
                ExitRule::fails(
                    "`cargo deny check` exits non-zero on denied advisories or licences",
                    "cargo deny",
                ),
            )
        }
        "govulncheck" => {
            if not_a_scan(args, &[], &[], &[]) {
                return None;
            }
            if let Some((value, text)) = flag(args, &["-format", "--format"])
                && is_dynamic(value)
            {
                return recognised("govulncheck", Category::Sca, dynamic(text));
            }
            if let Some((value, text)) = flag(args, &["-format", "--format"])
                && value != "text"
            {
                return recognised(
                    "govulncheck",
                    Category::Sca,
                    ExitRule::passes(
                        "with `-format json|sarif|openvex` govulncheck exits 0 whatever it finds",
                        text,
                    ),
                );
            }
            if let Some(text) = switch(args, &["-json"]) {
                return recognised(
                    "govulncheck",
                    Category::Sca,
                    ExitRule::passes("with `-json` govulncheck exits 0 whatever it finds", text),
                );
            }
            recognised(
                "govulncheck",
                Category::Sca,
                ExitRule::fails("govulncheck exits 3 when vulnerabilities are found (text output)", ""),
            )
        }
        "hadolint" => {
            if not_a_scan(args, &[], &[], &["-v"]) {
                return None;
            }
            if let Some(text) = switch(args, &["--no-fail"]) {
                return recognised(
                    "hadolint",
                    Category::Container,
                    ExitRule::passes("`--no-fail` always exits 0", text),
                );
            }
            match flag(args, &["--failure-threshold", "-t"]) {
                Some((value, text)) if is_dynamic(value) => recognised("hadolint", Category::Container, dynamic(text)),
                Some(("none", text)) => recognised(
                    "hadolint",
                    Category::Container,
                    ExitRule::passes("`--failure-threshold none` never fails", text),
                ),
                _ => recognised(
                    "hadolint",
                    Category::Container,
                    ExitRule::fails("hadolint exits 1 on rule violations (default threshold info)", ""),
                ),
            }
        }
        "dockle" => {
            if not_a_scan(args, &[], &[], &["-v"]) {
                return None;
            }
            let exit = match flag(args, &["--exit-code", "-c"]) {
                Some((value, text)) if is_dynamic(value) => dynamic(text),
                Some((value, text)) if !is_zero(value) => {
                    ExitRule::fails("a non-zero `--exit-code` makes findings fail", text)
                }
                Some((_, text)) => ExitRule::passes("`--exit-code 0`: findings never fail", text),
                None => ExitRule::passes("dockle exits 0 on findings unless `--exit-code` is set", ""),
            };
            recognised("dockle", Category::Container, exit)
        }
        "codeql" => {
            if sub == "database" && args.get(1).is_some_and(|word| word == "analyze") {
                return recognised(
                    "codeql",
                    Category::Sast,
                    ExitRule::passes(
                        "`codeql database analyze` writes results and exits 0 whatever it finds",
                        "codeql database analyze",
                    ),
                );
            }
            None
        }
        "dependency-check.sh" | "dependency-check" => {
            let exit = match flag(args, &["--failOnCVSS"]) {
                Some((value, text)) if is_dynamic(value) => dynamic(text),
                Some((value, text)) => match value.parse::<f64>() {
                    Ok(score) if score <= 10.0 => {
                        ExitRule::fails("`--failOnCVSS` at or below 10 fails the build on findings", text)
                    }
                    Ok(_) => ExitRule::passes("`--failOnCVSS` above 10 never fails", text),
                    Err(_) => ExitRule::unknown("`--failOnCVSS` is not a number here", text),
                },
                None => ExitRule::passes(
                    "dependency-check exits 0 unless `--failOnCVSS` is given (default 11)",
                    "",
                ),
            };
            recognised("dependency-check", Category::Sca, exit)
        }
        "pip-audit" if !not_a_scan(args, &[], &[], &["-V"]) => recognised(
            "pip-audit",
            Category::Sca,
            ExitRule::fails("pip-audit exits 1 when vulnerabilities are found", ""),
        ),
        "safety" if matches!(sub, "check" | "scan") => {
            let exit = match switch(args, &["--continue-on-error"]) {
                Some(text) => ExitRule::passes("`--continue-on-error` exits 0", text),
                None => ExitRule::fails("safety exits non-zero when vulnerabilities are found", ""),
            };
            recognised("safety", Category::Sca, exit)
        }
        "detect-secrets" if sub == "scan" => recognised(
            "detect-secrets",
            Category::Secrets,
            ExitRule::passes(
                "`detect-secrets scan` writes a baseline and exits 0",
                "detect-secrets scan",
            ),
        ),
        "detect-secrets-hook" => recognised(
            "detect-secrets",
            Category::Secrets,
            ExitRule::fails("`detect-secrets-hook` exits 1 on new secrets", ""),
        ),
        "ggshield" if sub == "secret" => {
            let exit = match switch(args, &["--exit-zero"]) {
                Some(text) => ExitRule::passes("`--exit-zero` always exits 0", text),
                None => ExitRule::fails("ggshield exits 1 when secrets are found", ""),
            };
            recognised("ggshield", Category::Secrets, exit)
        }
        "brakeman" => {
            if not_a_scan(args, &[], &[], &[]) {
                return None;
            }
            let exit = match switch(args, &["--no-exit-on-warn"]) {
                Some(text) => ExitRule::passes("`--no-exit-on-warn` exits 0 on warnings", text),
                None => ExitRule::fails("brakeman exits 3 on warnings (`--exit-on-warn` is the default)", ""),
            };
            recognised("brakeman", Category::Sast, exit)
        }
        "retire" => {
            if not_a_scan(args, &[], &[], &[]) {
                return None;
            }
            let exit = match flag(args, &["--exitwith"]) {
                Some((value, text)) if is_dynamic(value) => dynamic(text),
                Some((value, text)) if is_zero(value) => ExitRule::passes("`--exitwith 0` never fails", text),
                _ => ExitRule::fails("retire exits 13 when vulnerable libraries are found", ""),
            };
            recognised("retire", Category::Sca, exit)
        }
        "docker"
            if sub == "scout"
                && args
                    .get(1)
                    .is_some_and(|word| matches!(word.as_str(), "cves" | "quickview" | "recommendations")) =>
        {
            let exit = match switch(args, &["--exit-code", "-e"]) {
                Some(text) if args.get(1).is_some_and(|word| word == "cves") => {
                    ExitRule::fails("`--exit-code` makes vulnerabilities fail", text)
                }
                _ => ExitRule::passes(
                    "docker scout exits 0 on vulnerabilities unless `cves --exit-code` is given",
                    "",
                ),
            };
            recognised("docker-scout", Category::Container, exit)
        }
        "license_finder" => recognised(
            "license-finder",
            Category::License,
            ExitRule::fails("license_finder exits 1 on unapproved dependencies", ""),
        ),
        "fossa" if sub == "test" => recognised(
            "fossa",
            Category::License,
            ExitRule::fails("`fossa test` exits 1 on policy issues", "fossa test"),
        ),
        "fossa" if sub == "analyze" => recognised(
            "fossa",
            Category::License,
            ExitRule::passes(
                "`fossa analyze` uploads and exits 0; `fossa test` is the gate",
                "fossa analyze",
            ),
        ),
        _ => None,
    }
}

/// Trivy reads every flag from a `TRIVY_*` variable: `TRIVY_EXIT_CODE`
/// decides when `--exit-code` is not given.
fn trivy_env_exit(env: &Env) -> Option<ExitRule> {
    let variable = env.get("TRIVY_EXIT_CODE")?;
    let value = variable.value.trim();
    let rule = if is_dynamic(value) {
        dynamic(String::new())
    } else if value.is_empty() || is_zero(value) {
        ExitRule::passes("`TRIVY_EXIT_CODE` is 0: findings never fail", "")
    } else {
        ExitRule::fails(
            "trivy reads `--exit-code` from `TRIVY_EXIT_CODE`, set non-zero here: findings fail",
            "",
        )
    };
    Some(from_env(rule, variable))
}

fn recognise(tool: &'static str, category: Category, exit: ExitRule) -> Option<Recognised> {
    Some(Recognised { tool, category, exit })
}

fn sonar_exit(args: &[String]) -> ExitRule {
    match args.iter().find(|arg| arg.contains("sonar.qualitygate.wait")) {
        Some(text) if text.ends_with("=true") => ExitRule::fails(
            "`sonar.qualitygate.wait=true` fails the step when the quality gate fails",
            text.clone(),
        ),
        Some(text) => ExitRule::passes(
            "`sonar.qualitygate.wait` is not true: the scanner uploads and exits 0",
            text.clone(),
        ),
        None => ExitRule::passes(
            "the SonarQube scanner uploads and exits 0 unless `sonar.qualitygate.wait=true`",
            "",
        ),
    }
}

/// An action input's value and the line it was written on.
pub type Inputs<'a> = &'a dyn Fn(&str) -> Option<(String, u64)>;

/// Recognise a scanner from a GitHub Actions `uses:` reference (step or
/// reusable workflow) and its `with:` inputs, in a step whose environment the
/// file sets (trivy-action passes `TRIVY_*` variables on to trivy). `line` is
/// given back in the rule's text when an input decides.
pub fn recognise_action_in(uses: &str, inputs: Inputs<'_>, env: &Env) -> Option<(Recognised, Option<u64>)> {
    let lower = uses.to_ascii_lowercase();
    let path = lower.split('@').next().unwrap_or(&lower);
    let input = |name: &str| inputs(name);
    let decided = |name: &str, value: &str| format!("{name}: {value}");
    let result = |tool, category, exit, line| Some((Recognised { tool, category, exit }, line));
    match path {
        "github/codeql-action/analyze" => result(
            "codeql",
            Category::Sast,
            ExitRule::passes(
                "codeql-action/analyze uploads alerts to code scanning and does not fail the job on alerts; only code scanning merge protection in a ruleset (outside this file) can block",
                "",
            ),
            None,
        ),
        "aquasecurity/trivy-action" => {
            let category = match input("scan-type").map(|(value, _)| value) {
                Some(kind) if kind == "config" => Category::Iac,
                Some(kind) if kind == "fs" || kind == "repo" || kind == "rootfs" => Category::Sca,
                _ => Category::Container,
            };
            match input("exit-code") {
                Some((value, line)) if is_dynamic(&value) => {
                    result("trivy", category, dynamic(decided("exit-code", &value)), Some(line))
                }
                Some((value, line)) if is_zero(&value) => result(
                    "trivy",
                    category,
                    ExitRule::passes(
                        "`exit-code: 0`: findings never fail the job",
                        decided("exit-code", &value),
                    ),
                    Some(line),
                ),
                Some((value, line)) => result(
                    "trivy",
                    category,
                    ExitRule::fails(
                        "a non-zero `exit-code` fails the job on findings",
                        decided("exit-code", &value),
                    ),
                    Some(line),
                ),
                None if env.contains_key("TRIVY_EXIT_CODE") => {
                    let exit = trivy_env_exit(env)?;
                    let line = exit.located.as_ref().map(|(line, _)| *line);
                    result("trivy", category, exit, line)
                }
                None => match input("trivy-config") {
                    Some((value, line)) => result(
                        "trivy",
                        category,
                        ExitRule::unknown(
                            "`exit-code` may be set in the trivy config file named here",
                            decided("trivy-config", &value),
                        ),
                        Some(line),
                    ),
                    None => result(
                        "trivy",
                        category,
                        ExitRule::passes(
                            "trivy-action's `exit-code` defaults to 0: findings never fail the job",
                            "",
                        ),
                        None,
                    ),
                },
            }
        }
        "anchore/scan-action" => {
            let category = if input("path").is_some() {
                Category::Sca
            } else {
                Category::Container
            };
            match input("fail-build") {
                Some((value, line)) if !is_true(&value) => result(
                    "grype",
                    category,
                    ExitRule::passes(
                        "`fail-build: false`: findings never fail",
                        decided("fail-build", &value),
                    ),
                    Some(line),
                ),
                Some((value, line)) => result(
                    "grype",
                    category,
                    ExitRule::fails(
                        "`fail-build: true` fails on findings at `severity-cutoff`",
                        decided("fail-build", &value),
                    ),
                    Some(line),
                ),
                None => result(
                    "grype",
                    category,
                    ExitRule::fails("anchore/scan-action's `fail-build` defaults to true", ""),
                    None,
                ),
            }
        }
        "gitleaks/gitleaks-action" | "zricethezav/gitleaks-action" => result(
            "gitleaks",
            Category::Secrets,
            ExitRule::fails("gitleaks-action fails the job when leaks are found", ""),
            None,
        ),
        "trufflesecurity/trufflehog" => result(
            "trufflehog",
            Category::Secrets,
            ExitRule::fails("the trufflehog action runs with `--fail`", ""),
            None,
        ),
        "gitguardian/ggshield-action" | "gitguardian/ggshield/actions/secret" => result(
            "ggshield",
            Category::Secrets,
            ExitRule::fails("ggshield-action fails the job when secrets are found", ""),
            None,
        ),
        "bridgecrewio/checkov-action" => match input("soft_fail") {
            Some((value, line)) if is_true(&value) => result(
                "checkov",
                Category::Iac,
                ExitRule::passes("`soft_fail: true` always exits 0", decided("soft_fail", &value)),
                Some(line),
            ),
            Some((value, line)) => result(
                "checkov",
                Category::Iac,
                ExitRule::fails(
                    "`soft_fail` is false: failed checks fail the job",
                    decided("soft_fail", &value),
                ),
                Some(line),
            ),
            None => result(
                "checkov",
                Category::Iac,
                ExitRule::fails(
                    "checkov-action's `soft_fail` defaults to false: failed checks fail the job",
                    "",
                ),
                None,
            ),
        },
        "aquasecurity/tfsec-action" => match input("soft_fail") {
            Some((value, line)) if is_true(&value) => result(
                "tfsec",
                Category::Iac,
                ExitRule::passes("`soft_fail: true` always exits 0", decided("soft_fail", &value)),
                Some(line),
            ),
            _ => result(
                "tfsec",
                Category::Iac,
                ExitRule::fails("tfsec-action's `soft_fail` defaults to false", ""),
                None,
            ),
        },
        "aquasecurity/tfsec-sarif-action" => result(
            "tfsec",
            Category::Iac,
            ExitRule::passes("tfsec-sarif-action runs tfsec with `--soft-fail` to produce SARIF", ""),
            None,
        ),
        "checkmarx/kics-github-action" => match input("ignore_on_exit") {
            Some((value, line)) if matches!(value.as_str(), "results" | "all") => result(
                "kics",
                Category::Iac,
                ExitRule::passes(
                    "`ignore_on_exit: results` exits 0 on results",
                    decided("ignore_on_exit", &value),
                ),
                Some(line),
            ),
            _ => result(
                "kics",
                Category::Iac,
                ExitRule::fails("kics exits non-zero on results unless `ignore_on_exit` is set", ""),
                None,
            ),
        },
        "tenable/terrascan-action" | "accurics/terrascan-action" => match input("only_warn") {
            Some((value, line)) if is_true(&value) => result(
                "terrascan",
                Category::Iac,
                ExitRule::passes("`only_warn: true` never fails", decided("only_warn", &value)),
                Some(line),
            ),
            _ => result(
                "terrascan",
                Category::Iac,
                ExitRule::fails("terrascan-action fails on violations unless `only_warn: true`", ""),
                None,
            ),
        },
        "zaproxy/action-baseline" | "zaproxy/action-full-scan" | "zaproxy/action-api-scan" | "zaproxy/action-af" => {
            match input("fail_action") {
                Some((value, line)) if is_true(&value) => result(
                    "zap",
                    Category::Dast,
                    ExitRule::fails(
                        "`fail_action: true` fails the job on alerts",
                        decided("fail_action", &value),
                    ),
                    Some(line),
                ),
                Some((value, line)) => result(
                    "zap",
                    Category::Dast,
                    ExitRule::passes(
                        "`fail_action` is false: alerts never fail the job",
                        decided("fail_action", &value),
                    ),
                    Some(line),
                ),
                None => result(
                    "zap",
                    Category::Dast,
                    ExitRule::passes(
                        "the ZAP actions' `fail_action` defaults to false: alerts never fail the job",
                        "",
                    ),
                    None,
                ),
            }
        }
        "actions/dependency-review-action" => match input("warn-only") {
            Some((value, line)) if is_true(&value) => result(
                "dependency-review",
                Category::Sca,
                ExitRule::passes("`warn-only: true` never fails", decided("warn-only", &value)),
                Some(line),
            ),
            _ => result(
                "dependency-review",
                Category::Sca,
                ExitRule::fails(
                    "dependency-review-action fails the check when a vulnerable dependency is added (fail-on-severity defaults to low)",
                    "",
                ),
                None,
            ),
        },
        "returntocorp/semgrep-action" | "semgrep/semgrep-action" => result(
            "semgrep",
            Category::Sast,
            ExitRule::fails(
                "semgrep-action runs `semgrep ci`, which exits 1 on blocking findings",
                "",
            ),
            None,
        ),
        "sonarsource/sonarqube-scan-action" | "sonarsource/sonarcloud-github-action" => {
            let args = input("args")
                .map(|(value, line)| (value.split_whitespace().map(str::to_string).collect::<Vec<_>>(), line));
            match args {
                Some((args, line)) => result("sonarqube", Category::Sast, sonar_exit(&args), Some(line)),
                None => result("sonarqube", Category::Sast, sonar_exit(&[]), None),
            }
        }
        "sonarsource/sonarqube-quality-gate-action" => result(
            "sonarqube",
            Category::Sast,
            ExitRule::fails("the quality-gate action fails the job when the quality gate fails", ""),
            None,
        ),
        "google/osv-scanner-action/osv-scanner-action"
        | "google/osv-scanner-action/.github/workflows/osv-scanner-reusable.yml"
        | "google/osv-scanner-action/.github/workflows/osv-scanner-reusable-pr.yml"
        | "google/osv-scanner/.github/workflows/osv-scanner-reusable.yml"
        | "google/osv-scanner/.github/workflows/osv-scanner-reusable-pr.yml" => match input("fail-on-vuln") {
            Some((value, line)) if !is_true(&value) => result(
                "osv-scanner",
                Category::Sca,
                ExitRule::passes("`fail-on-vuln: false` never fails", decided("fail-on-vuln", &value)),
                Some(line),
            ),
            _ => result(
                "osv-scanner",
                Category::Sca,
                ExitRule::fails("osv-scanner's `fail-on-vuln` defaults to true", ""),
                None,
            ),
        },
        "hadolint/hadolint-action" => {
            if let Some((value, line)) = input("no-fail").filter(|(value, _)| is_true(value)) {
                return result(
                    "hadolint",
                    Category::Container,
                    ExitRule::passes("`no-fail: true` always exits 0", decided("no-fail", &value)),
                    Some(line),
                );
            }
            match input("failure-threshold") {
                Some((value, line)) if value == "none" => result(
                    "hadolint",
                    Category::Container,
                    ExitRule::passes(
                        "`failure-threshold: none` never fails",
                        decided("failure-threshold", &value),
                    ),
                    Some(line),
                ),
                _ => result(
                    "hadolint",
                    Category::Container,
                    ExitRule::fails(
                        "hadolint-action fails on violations (failure-threshold defaults to info)",
                        "",
                    ),
                    None,
                ),
            }
        }
        "golang/govulncheck-action" => match input("output-format") {
            Some((value, line)) if value != "text" => result(
                "govulncheck",
                Category::Sca,
                ExitRule::passes(
                    "with `output-format` json or sarif govulncheck exits 0 whatever it finds",
                    decided("output-format", &value),
                ),
                Some(line),
            ),
            _ => result(
                "govulncheck",
                Category::Sca,
                ExitRule::fails(
                    "govulncheck-action's text output exits 3 when vulnerabilities are found",
                    "",
                ),
                None,
            ),
        },
        "rustsec/audit-check" | "actions-rs/audit-check" => result(
            "cargo-audit",
            Category::Sca,
            ExitRule::fails("audit-check fails when vulnerabilities are found", ""),
            None,
        ),
        "securego/gosec" => match input("args") {
            Some((value, line)) if value.split_whitespace().any(|arg| arg == "-no-fail") => result(
                "gosec",
                Category::Sast,
                ExitRule::passes("`-no-fail` in args exits 0 on issues", decided("args", &value)),
                Some(line),
            ),
            _ => result(
                "gosec",
                Category::Sast,
                ExitRule::fails("gosec exits 1 when issues are found", ""),
                None,
            ),
        },
        "pycqa/bandit-action" => match input("exit_zero") {
            Some((value, line)) if is_true(&value) => result(
                "bandit",
                Category::Sast,
                ExitRule::passes("`exit_zero: true` always exits 0", decided("exit_zero", &value)),
                Some(line),
            ),
            _ => result(
                "bandit",
                Category::Sast,
                ExitRule::fails("bandit exits 1 when issues are found", ""),
                None,
            ),
        },
        "docker/scout-action" => match input("exit-code") {
            Some((value, line)) if is_true(&value) => result(
                "docker-scout",
                Category::Container,
                ExitRule::fails(
                    "`exit-code: true` fails on vulnerabilities",
                    decided("exit-code", &value),
                ),
                Some(line),
            ),
            _ => result(
                "docker-scout",
                Category::Container,
                ExitRule::passes("docker/scout-action's `exit-code` defaults to false", ""),
                None,
            ),
        },
        "microsoft/security-devops-action" => match input("break") {
            Some((value, line)) if is_true(&value) => result(
                "microsoft-security-devops",
                Category::Sast,
                ExitRule::fails(
                    "`break: true` fails the job on error-level results",
                    decided("break", &value),
                ),
                Some(line),
            ),
            _ => result(
                "microsoft-security-devops",
                Category::Sast,
                ExitRule::passes("security-devops-action's `break` defaults to false", ""),
                None,
            ),
        },
        "fossas/fossa-action" | "fossa-contrib/fossa-action" => match input("run-tests") {
            Some((value, line)) if is_true(&value) => result(
                "fossa",
                Category::License,
                ExitRule::fails(
                    "`run-tests: true` runs `fossa test`, which fails on policy issues",
                    decided("run-tests", &value),
                ),
                Some(line),
            ),
            _ => result(
                "fossa",
                Category::License,
                ExitRule::passes(
                    "fossa-action only uploads build data (`fossa analyze`) unless `run-tests: true`",
                    "",
                ),
                None,
            ),
        },
        "snyk/actions/setup" => None,
        _ if path.starts_with("snyk/actions/") => {
            let category = if path.ends_with("/docker") {
                Category::Container
            } else if path.ends_with("/iac") {
                Category::Iac
            } else {
                Category::Sca
            };
            match input("command") {
                Some((value, line)) if value.trim() == "monitor" => result(
                    "snyk",
                    category,
                    ExitRule::passes("`command: monitor` only uploads a snapshot", decided("command", &value)),
                    Some(line),
                ),
                Some((value, line)) if value.contains("code") => result(
                    "snyk",
                    Category::Sast,
                    ExitRule::fails("`snyk code test` exits 1 on issues", decided("command", &value)),
                    Some(line),
                ),
                _ => result(
                    "snyk",
                    category,
                    ExitRule::fails("snyk actions run `snyk test` by default, which exits 1 on issues", ""),
                    None,
                ),
            }
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    fn fails(command: &str) -> Option<bool> {
        let mut all = words(command);
        let name = all.remove(0);
        recognise_command(&name, &all).and_then(|found| found.exit.fails_on_findings)
    }

    #[test]
    fn flags_decide_exit_codes() {
        assert_eq!(fails("semgrep scan --error --config p/ci"), Some(true));
        assert_eq!(fails("semgrep scan --config p/ci"), Some(false));
        assert_eq!(fails("semgrep ci"), Some(true));
        assert_eq!(fails("trivy image --exit-code 1 alpine"), Some(true));
        assert_eq!(fails("trivy image --exit-code=0 alpine"), Some(false));
        assert_eq!(fails("trivy fs ."), Some(false));
        assert_eq!(fails("gitleaks detect"), Some(true));
        assert_eq!(fails("gitleaks detect --exit-code 0"), Some(false));
        assert_eq!(fails("checkov -d . -s"), Some(false));
        assert_eq!(fails("checkov -d ."), Some(true));
        assert_eq!(fails("govulncheck ./..."), Some(true));
        assert_eq!(fails("govulncheck -format sarif ./..."), Some(false));
        assert_eq!(fails("snyk monitor"), Some(false));
        assert_eq!(fails("snyk test --all-projects"), Some(true));
        assert_eq!(fails("trufflehog git file://. --fail"), Some(true));
        assert_eq!(fails("trufflehog git file://."), Some(false));
        assert_eq!(fails("grype alpine --fail-on high"), Some(true));
        assert_eq!(fails("grype alpine"), Some(false));
    }

    #[test]
    fn version_and_install_are_not_scans() {
        assert!(recognise_command("gitleaks", &words("version")).is_none());
        assert!(recognise_command("trivy", &words("--version")).is_none());
        assert!(recognise_command("npm", &words("install")).is_none());
        assert!(recognise_command("semgrep", &words("login")).is_none());
        for not_a_scan in [
            "trivy image --help",
            "trivy image --download-db-only",
            // A non-scan subcommand after global flags (their values skipped).
            "trivy server",
            "trivy --cache-dir /tmp/trivy server",
            "trivy -q --timeout 5m plugin list",
            "trivy --cache-dir /tmp/trivy login ghcr.io",
            "semgrep --help",
            "govulncheck -version",
            "checkov --list",
            "osv-scanner --version",
        ] {
            let mut all = words(not_a_scan);
            let name = all.remove(0);
            assert!(recognise_command(&name, &all).is_none(), "{not_a_scan}");
        }
        assert!(recognise_command("cargo", &words("audit --help")).is_none());
        assert!(recognise_command("npm", &words("audit signatures")).is_none());
        // `-v` is verbose for gitleaks and bandit; `trivy config` is a scan.
        assert_eq!(fails("gitleaks -v detect"), Some(true));
        assert_eq!(fails("bandit -v -r src"), Some(true));
        assert_eq!(fails("trivy config --exit-code 1 ./terraform"), Some(true));
    }

    #[test]
    fn zap_checkov_config_and_variables() {
        assert_eq!(fails("zap-baseline.py -t https://x -I"), Some(false));
        assert_eq!(fails("zap-baseline.py -t https://x -I -c rules.conf"), None);
        assert_eq!(fails("zap-baseline.py -t https://x"), Some(true));
        assert_eq!(fails("checkov -d . --soft-fail --hard-fail-on HIGH"), Some(true));
        assert_eq!(fails("checkov -d . --soft-fail-on CKV_AWS_20"), Some(true));
        assert_eq!(fails("checkov -d . --soft-fail --soft-fail-on CKV_AWS_20"), Some(false));
        assert_eq!(fails("checkov --config-file x.yaml -d ."), None);
        assert_eq!(fails("trivy fs --config trivy.yaml ."), None);
        assert_eq!(fails("trivy fs -c trivy.yaml --exit-code 1 ."), Some(true));
        assert_eq!(fails("grype dir:. --config .grype.yaml"), None);
        assert_eq!(fails("trivy fs --exit-code $EXIT ."), None);
        let mut env = Env::new();
        env.insert(
            "TRIVY_EXIT_CODE".into(),
            EnvVar {
                value: "1".into(),
                text: "TRIVY_EXIT_CODE: \"1\"".into(),
                line: 4,
                file: None,
            },
        );
        let found = recognise_command_in("trivy", &words("fs ."), &env).map(|found| found.exit);
        assert_eq!(found.as_ref().and_then(|exit| exit.fails_on_findings), Some(true));
        assert_eq!(found.and_then(|exit| exit.located), Some((4, None)));
        let none = |_: &str| None;
        assert!(recognise_action_in("fossas/fossa-action@v1", &none, &Env::new()).is_some());
    }

    #[test]
    fn action_inputs_and_defaults() {
        let none = |_: &str| None;
        let found = recognise_action_in("aquasecurity/trivy-action@0.20.0", &none, &Env::new())
            .map(|(found, _)| found.exit.fails_on_findings);
        assert_eq!(found, Some(Some(false)));
        let one = |name: &str| (name == "exit-code").then(|| ("1".to_string(), 9));
        let found = recognise_action_in("aquasecurity/trivy-action@v1", &one, &Env::new());
        assert_eq!(
            found.map(|(found, line)| (found.exit.fails_on_findings, line)),
            Some((Some(true), Some(9)))
        );
        assert!(recognise_action_in("actions/checkout@v4", &none, &Env::new()).is_none());
        assert!(recognise_action_in("github/codeql-action/init@v3", &none, &Env::new()).is_none());
        assert!(recognise_action_in("snyk/actions/setup@master", &none, &Env::new()).is_none());
    }
}
