//! `lint-pipelines`: find CI configuration under the given paths, lint it,
//! follow GitLab local includes inside the repository, and print the steps.

use collect::pipelines::{self, Lint, Mode, Platform, ScannerStep};
use model::Diagnostic;
use std::path::{Component, Path, PathBuf};

/// What linting a set of paths produced.
#[derive(Debug, Default)]
pub struct Linted {
    /// Every scanner step, by file then line.
    pub steps: Vec<ScannerStep>,
    /// Problems and notes.
    pub diagnostics: Vec<Diagnostic>,
    /// CI configuration files read (including local includes).
    pub files: usize,
}

/// Whether a path names CI configuration by its place: a workflow, a
/// `.gitlab-ci.yml`, an `azure-pipelines.yml`.
pub fn is_ci_path(path: &Path) -> bool {
    let text = path.to_string_lossy().replace('\\', "/");
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
    yaml && (text.contains(".github/workflows/")
        || name == ".gitlab-ci.yml"
        || name == ".gitlab-ci.yaml"
        || name.starts_with("azure-pipelines"))
}

/// Read a GitLab `include: local:` path relative to `root`, refusing paths
/// that leave the repository and files over the document limit.
pub fn read_local(root: &Path, wanted: &str, limits: &collect::Limits) -> Result<(String, Vec<u8>), String> {
    let relative = Path::new(wanted.trim_start_matches('/'));
    if relative
        .components()
        .any(|component| matches!(component, Component::ParentDir | Component::Prefix(_)))
    {
        return Err("the path leaves the repository".into());
    }
    if wanted.contains('*') {
        return Err("wildcard local includes are not followed; list the files explicitly or lint them directly".into());
    }
    let path = root.join(relative);
    // `../` is refused above; a symbolic link may still point out of the
    // repository, and GitLab reads includes from the repository, never the host.
    let canonical = std::fs::canonicalize(&path).map_err(|error| format!("{}: {error}", path.display()))?;
    if let Ok(canonical_root) = std::fs::canonicalize(root)
        && !canonical.starts_with(&canonical_root)
    {
        return Err(format!(
            "{} is a symbolic link resolving outside the repository ({}): not read",
            path.display(),
            canonical.display()
        ));
    }
    let bytes = crate::files::read_limited(&path, document_limit(limits))?;
    Ok((crate::files::path_text(&path), bytes))
}

/// The most a CI configuration file may hold.
fn document_limit(limits: &collect::Limits) -> u64 {
    limits.max_document_bytes.min(64 * 1024 * 1024)
}

/// Where a configuration file's local references are read from: for a
/// workflow (`.github/workflows/x.yml`) the directory holding `.github`, for
/// anything else the file's own directory.
pub fn repository_root(path: &Path) -> PathBuf {
    let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let in_workflows = parent.file_name().is_some_and(|name| name == "workflows")
        && parent
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|name| name == ".github");
    let root = if in_workflows {
        parent
            .parent()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_default()
    } else {
        parent
    };
    if root.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        root
    }
}

/// Lint one file (platform from its path, then its content).
pub fn lint_file(path: &Path, limits: &collect::Limits, root: Option<&Path>) -> Result<Lint, String> {
    let shown = crate::files::path_text(path);
    // Only a regular file, and never more than the limit, is read: a FIFO or
    // `/dev/zero` is refused instead of blocking or filling memory.
    let bytes = crate::files::read_limited(path, document_limit(limits)).map_err(|error| {
        let prefix = format!("{shown}: ");
        format!("cannot read: {}", error.strip_prefix(&prefix).unwrap_or(&error))
    })?;
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(64 * 1024)]);

    let platform = pipelines::platform_of(&shown, &head)
        .ok_or("not recognised as a GitHub Actions, GitLab CI or Azure Pipelines file")?;
    let base = root.map(Path::to_path_buf).unwrap_or_else(|| repository_root(path));
    let mut resolve = |wanted: &str| read_local(&base, wanted, limits);
    Ok(pipelines::lint(&shown, &bytes, platform, limits, &mut resolve))
}

/// Lint files and directories. In a directory: workflows, `.gitlab-ci.yml`
/// (and its local includes), `azure-pipelines*.yml`, and any other YAML whose
/// content is CI configuration; files a `.gitlab-ci.yml` includes are linted as
/// part of it, not again on their own.
pub fn lint_paths(paths: &[PathBuf], limits: &collect::Limits) -> Linted {
    let mut linted = Linted::default();
    // (file, named explicitly, the directory it was found in)
    let mut candidates: Vec<(PathBuf, bool, Option<PathBuf>)> = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(metadata) if metadata.is_dir() => {
                let files = crate::ingest::expand_paths(std::slice::from_ref(path), &mut linted.diagnostics);
                candidates.extend(
                    files
                        .into_iter()
                        .filter(|file| {
                            let name = file
                                .file_name()
                                .and_then(|name| name.to_str())
                                .unwrap_or_default()
                                .to_ascii_lowercase();
                            name.ends_with(".yml") || name.ends_with(".yaml")
                        })
                        .map(|file| (file, false, Some(path.clone()))),
                );
            }
            Ok(_) => candidates.push((path.clone(), true, None)),
            Err(error) => linted.diagnostics.push(Diagnostic {
                file: crate::files::path_text(path),
                line: None,
                pointer: None,
                message: format!("cannot read: {error}"),
                warning: false,
            }),
        }
    }
    // GitLab and Azure main files first, so the files they include are known.
    candidates.sort_by_key(|(path, _, _)| {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        let main = name.starts_with(".gitlab-ci") || name.starts_with("azure-pipelines");
        (!main, path.clone())
    });
    let directories: Vec<&PathBuf> = paths.iter().filter(|path| path.is_dir()).collect();
    let mut included: Vec<PathBuf> = Vec::new();
    let mut calls = Vec::new();
    for (path, explicit, found_in) in candidates {
        let canonical = std::fs::canonicalize(&path).unwrap_or_else(|_| path.clone());
        if included.contains(&canonical) {
            continue;
        }
        // A file found in a directory that is a symbolic link out of it is
        // not the repository's configuration: refused, like such an include.
        if let Some(directory) = found_in
            && let Ok(directory) = std::fs::canonicalize(&directory)
            && !canonical.starts_with(&directory)
        {
            linted.diagnostics.push(Diagnostic {
                file: crate::files::path_text(&path),
                line: None,
                pointer: None,
                message: format!(
                    "symbolic link resolving outside the scanned directory ({}): not read",
                    canonical.display()
                ),
                warning: true,
            });
            continue;
        }
        if !explicit && !is_ci_path(&path) {
            // Only the head is read to recognise the file: a huge YAML file is not read whole.
            let head = read_head(&path);
            if pipelines::platform_of(&crate::files::path_text(&path), &head).is_none() {
                continue;
            }
        }
        match lint_file(&path, limits, None) {
            Ok(lint) => {
                linted.files += 1 + lint.included.len();
                included.extend(
                    lint.included
                        .iter()
                        .map(|name| std::fs::canonicalize(name).unwrap_or_else(|_| PathBuf::from(name))),
                );
                linted.steps.extend(lint.steps);
                linted.diagnostics.extend(lint.diagnostics);
                calls.extend(lint.calls);
            }
            Err(message) => linted.diagnostics.push(Diagnostic {
                file: crate::files::path_text(&path),
                line: None,
                pointer: None,
                message,
                warning: !explicit,
            }),
        }
    }
    pipelines::resolve_calls(&mut linted.steps, &calls);
    if linted.files == 0 && !directories.is_empty() && linted.diagnostics.iter().all(|found| found.warning) {
        for directory in directories {
            linted.diagnostics.push(Diagnostic {
                file: crate::files::path_text(directory),
                line: None,
                pointer: None,
                message: "no CI configuration found (GitHub workflows, .gitlab-ci.yml, azure-pipelines*.yml)".into(),
                warning: true,
            });
        }
    }
    linted
}

/// The first 64 KiB of a file, as text, without reading the rest.
fn read_head(path: &Path) -> String {
    use std::io::Read;
    let mut head = Vec::new();
    if let Ok(file) = crate::files::open_regular(path) {
        let _ = file.take(64 * 1024).read_to_end(&mut head);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// The table for a person: grouped by file, advisory steps marked.
pub fn table(linted: &Linted) -> String {
    let mut out = String::new();
    let mut current: Option<&str> = None;
    for step in &linted.steps {
        if current != Some(step.file.as_str()) {
            if current.is_some() {
                out.push('\n');
            }
            out.push_str(&format!(
                "{} ({})\n",
                crate::files::for_terminal(&step.file),
                platform_name(step.platform)
            ));
            current = Some(step.file.as_str());
        }
        let marker = match step.mode {
            Mode::Advisory => "!! ADVISORY",
            Mode::Blocking => "   blocking",
            Mode::Unknown => " ? unknown ",
        };
        let pull_request = match step.on_pull_request {
            Some(true) => "on PRs",
            Some(false) => "not on PRs",
            None => "PRs: depends",
        };
        out.push_str(&format!(
            "  {marker}  line {:<5} {:<24} {:<9} {:<13} {} / {}\n",
            step.line,
            step.tool,
            step.category,
            pull_request,
            step.job,
            one_line(&step.step, 60)
        ));
        if let Some(reason) = step.reasons.first() {
            let file = reason
                .file
                .as_deref()
                .map(|file| format!("{file}:"))
                .unwrap_or_default();
            out.push_str(&format!(
                "                {file}{}: `{}`: {}\n",
                reason.line,
                one_line(&reason.text, 80),
                reason.why
            ));
        }
    }
    let summary = pipelines::summarise(&linted.steps, linted.files);
    out.push_str(&format!(
        "\n{} scanner step(s) in {} file(s): {} blocking, {} advisory, {} unknown; {} blocking on pull requests\n",
        summary.steps,
        summary.files,
        summary.blocking,
        summary.advisory,
        summary.unknown,
        summary.blocking_on_pull_request
    ));
    out
}

fn platform_name(platform: Platform) -> &'static str {
    platform.as_str()
}

fn one_line(text: &str, width: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > width {
        format!("{}…", flat.chars().take(width - 1).collect::<String>())
    } else {
        flat
    }
}
