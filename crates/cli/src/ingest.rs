//! The ingest path: find input files, detect their format, keep their raw
//! bytes, parse them into evidence and append it to the ledger in atomic
//! batches. Parsing and hashing run on a second thread, pipelined against the
//! SQLite writer. Shared by the CLI and the benchmark.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use collect::{Collector, Context, Limits};
use jiff::Timestamp;
use ledger::{AppendSummary, Ledger};
use model::{CanonicalRecord, Diagnostic};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// What the operator asked for.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// `--source`: the collector to use instead of detection.
    pub source: Option<Collector>,
    /// `--repo`.
    pub repo: Option<String>,
    /// `--commit`.
    pub commit: Option<String>,
    /// `--ref`.
    pub git_ref: Option<String>,
    /// `--occurred-at`.
    pub occurred_at: Option<Timestamp>,
    /// Input limits.
    pub limits: Limits,
    /// Records per atomic batch (0 = the default, 50,000).
    pub batch_size: usize,
}

/// The summary `ingest` prints.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestSummary {
    /// Input files read.
    pub files: u64,
    /// Records added.
    pub added: u64,
    /// Records already present.
    pub duplicates: u64,
    /// Inputs (records, runs or files) rejected.
    pub rejected: u64,
    /// What was rejected and why.
    pub diagnostics: Vec<Diagnostic>,
}

/// An error that stops the whole ingest (the ledger itself failed); what was
/// committed before it stays committed.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct IngestError(#[from] pub ledger::LedgerError);

const DEFAULT_BATCH: usize = 20_000;
const MAX_FILES: usize = 1_000_000;

/// Expand files and directories into the list of files to read, sorted, without
/// following symbolic links to directories (no loops). Problems become diagnostics.
pub fn expand_paths(paths: &[PathBuf], diagnostics: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(metadata) if metadata.is_dir() => walk(path, &mut files, diagnostics),
            Ok(_) => files.push(path.clone()),
            Err(error) => diagnostics.push(Diagnostic {
                file: path.display().to_string(),
                line: None,
                pointer: None,
                message: format!("cannot read: {error}"),
            }),
        }
    }
    files
}

fn walk(directory: &Path, files: &mut Vec<PathBuf>, diagnostics: &mut Vec<Diagnostic>) {
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(directory) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok().map(|entry| entry.path()))
            .collect(),
        Err(error) => {
            diagnostics.push(Diagnostic {
                file: directory.display().to_string(),
                line: None,
                pointer: None,
                message: format!("cannot list directory: {error}"),
            });
            return;
        }
    };
    entries.sort();
    for entry in entries {
        if files.len() >= MAX_FILES {
            diagnostics.push(Diagnostic {
                file: directory.display().to_string(),
                line: None,
                pointer: None,
                message: format!("more than {MAX_FILES} files; the rest were not read"),
            });
            return;
        }
        let Ok(metadata) = std::fs::symlink_metadata(&entry) else {
            continue;
        };
        if metadata.file_type().is_symlink() {
            // Follow links to files, never to directories (no loops).
            if std::fs::metadata(&entry).is_ok_and(|target| target.is_file()) {
                files.push(entry);
            }
        } else if metadata.is_dir() {
            let name = entry.file_name().and_then(|name| name.to_str()).unwrap_or_default();
            if name != ".git" {
                walk(&entry, files, diagnostics);
            }
        } else if metadata.is_file() {
            files.push(entry);
        }
    }
}

fn hash_file(path: &Path) -> std::io::Result<([u8; 32], u64)> {
    let mut file = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        total += read as u64;
        hasher.update(&buffer[..read]);
    }
    Ok((hasher.finalize().into(), total))
}

/// Ingest `paths` into `ledger`. `on_batch` is called after every committed
/// batch (the records in it are acknowledged from then on).
pub fn ingest_paths(
    ledger: &mut Ledger,
    paths: &[PathBuf],
    options: &IngestOptions,
    mut on_batch: impl FnMut(&AppendSummary),
) -> Result<IngestSummary, IngestError> {
    let mut summary = IngestSummary::default();
    let files = expand_paths(paths, &mut summary.diagnostics);
    summary.rejected += summary.diagnostics.len() as u64;
    let batch_size = if options.batch_size == 0 {
        DEFAULT_BATCH
    } else {
        options.batch_size
    };
    for file in files {
        ingest_file(ledger, &file, options, batch_size, &mut summary, &mut on_batch)?;
    }
    Ok(summary)
}

fn reject(summary: &mut IngestSummary, file: &Path, message: String) {
    summary.rejected += 1;
    summary.diagnostics.push(Diagnostic {
        file: file.display().to_string(),
        line: None,
        pointer: None,
        message,
    });
}

fn ingest_file(
    ledger: &mut Ledger,
    path: &Path,
    options: &IngestOptions,
    batch_size: usize,
    summary: &mut IngestSummary,
    on_batch: &mut impl FnMut(&AppendSummary),
) -> Result<(), IngestError> {
    let origin = path.display().to_string();
    let collector = match options.source {
        Some(collector) => collector,
        None => {
            let mut head = vec![0u8; 4096];
            let read = File::open(path).and_then(|mut file| read_up_to(&mut file, &mut head));
            match read {
                Ok(length) => match collect::detect(&origin, &head[..length]) {
                    Some(collector) => collector,
                    None => {
                        reject(
                            summary,
                            path,
                            "format not recognised; name it with --source (see docs/sources.md)".into(),
                        );
                        return Ok(());
                    }
                },
                Err(error) => {
                    reject(summary, path, format!("cannot read: {error}"));
                    return Ok(());
                }
            }
        }
    };
    let (digest, size) = match hash_file(path) {
        Ok(hashed) => hashed,
        Err(error) => {
            reject(summary, path, format!("cannot read: {error}"));
            return Ok(());
        }
    };
    summary.files += 1;
    let context = Context {
        origin: origin.clone(),
        sha256: hex::encode(digest),
        repo: options.repo.clone(),
        commit: options.commit.clone(),
        git_ref: options.git_ref.clone(),
        occurred_at: options.occurred_at,
    };
    if collector.is_streamed() {
        return ingest_streamed(ledger, path, &digest, context, options, batch_size, summary, on_batch);
    }
    {
        if size > options.limits.max_document_bytes {
            reject(
                summary,
                path,
                format!(
                    "{size} bytes exceeds the document limit of {} bytes ([limits] max_document_bytes)",
                    options.limits.max_document_bytes
                ),
            );
            return Ok(());
        }
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) => {
                reject(summary, path, format!("cannot read: {error}"));
                return Ok(());
            }
        };
        if Sha256::digest(&bytes).as_slice() != digest.as_slice() {
            reject(summary, path, "the file changed while it was being read".into());
            return Ok(());
        }
        let parsed = collect::parse_document(collector, &bytes, &context, &options.limits);
        summary.rejected += parsed.diagnostics.len() as u64;
        summary.diagnostics.extend(parsed.diagnostics);
        if parsed.evidence.is_empty() {
            return Ok(());
        }
        ledger.store_blob(&digest, &origin, bytes.as_slice())?;
        let mut scratch = Vec::with_capacity(1024);
        for chunk in parsed.evidence.chunks(batch_size) {
            let prepared: Vec<CanonicalRecord> = chunk
                .iter()
                .map(|record| CanonicalRecord::from_evidence(record, &mut scratch))
                .collect();
            let appended = ledger.append(&prepared)?;
            summary.added += appended.added;
            summary.duplicates += appended.duplicates;
            on_batch(&appended);
        }
        Ok(())
    }
}

fn read_up_to(file: &mut File, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        let read = file.read(&mut buffer[filled..])?;
        if read == 0 {
            break;
        }
        filled += read;
    }
    Ok(filled)
}

enum Message {
    Batch(Vec<CanonicalRecord>),
    Diagnostics(Vec<Diagnostic>, u64),
}

#[allow(clippy::too_many_arguments)]
fn ingest_streamed(
    ledger: &mut Ledger,
    path: &Path,
    digest: &[u8; 32],
    context: Context,
    options: &IngestOptions,
    batch_size: usize,
    summary: &mut IngestSummary,
    on_batch: &mut impl FnMut(&AppendSummary),
) -> Result<(), IngestError> {
    let (sender, receiver) = crossbeam_channel::bounded::<Message>(4);
    let limits = options.limits;
    let reader_path = path.to_path_buf();
    let parser = std::thread::spawn(move || {
        let file = match File::open(&reader_path) {
            Ok(file) => file,
            Err(error) => {
                let diagnostic = Diagnostic {
                    file: reader_path.display().to_string(),
                    line: None,
                    pointer: None,
                    message: format!("cannot read: {error}"),
                };
                let _ = sender.send(Message::Diagnostics(vec![diagnostic], 1));
                return;
            }
        };
        let mut batch = Vec::with_capacity(batch_size);
        let mut diagnostics = Vec::new();
        let mut errors = 0u64;
        let mut closed = false;
        collect::ndjson::stream(
            BufReader::with_capacity(1 << 20, file),
            &context,
            &limits,
            |record| {
                if closed {
                    return;
                }
                batch.push(record);
                if batch.len() >= batch_size {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(batch_size));
                    closed = sender.send(Message::Batch(full)).is_err();
                }
            },
            |line, message| {
                errors += 1;
                if diagnostics.len() < 10_000 {
                    diagnostics.push(context.diagnostic(Some(line), None, message));
                }
            },
        );
        if !batch.is_empty() && !closed {
            let _ = sender.send(Message::Batch(batch));
        }
        let _ = sender.send(Message::Diagnostics(diagnostics, errors));
    });
    // The raw blob is stored in steps whenever no parsed batch is waiting, so
    // that compressing it overlaps with parsing instead of delaying appends.
    let origin = path.display().to_string();
    let mut blob = match File::open(path) {
        Ok(file) => ledger.begin_blob(digest, &origin, BufReader::with_capacity(1 << 20, file)),
        Err(source) => Err(ledger::LedgerError::Io {
            path: origin.clone(),
            source,
        }),
    };
    let mut failure = None;
    loop {
        let message = match &mut blob {
            Ok(Some(writer)) => match receiver.try_recv() {
                Ok(message) => message,
                Err(crossbeam_channel::TryRecvError::Empty) => {
                    match ledger.blob_step(writer, 1) {
                        Ok(true) => blob = Ok(None),
                        Ok(false) => {}
                        Err(error) => blob = Err(error),
                    }
                    continue;
                }
                Err(crossbeam_channel::TryRecvError::Disconnected) => {
                    match ledger.blob_step(writer, u64::MAX) {
                        Ok(_) => blob = Ok(None),
                        Err(error) => blob = Err(error),
                    }
                    continue;
                }
            },
            Ok(None) => match receiver.recv() {
                Ok(message) => message,
                Err(_) => break,
            },
            Err(_) => break,
        };
        match message {
            Message::Batch(batch) => match ledger.append(&batch) {
                Ok(appended) => {
                    summary.added += appended.added;
                    summary.duplicates += appended.duplicates;
                    on_batch(&appended);
                }
                Err(error) => {
                    failure = Some(error);
                    break;
                }
            },
            Message::Diagnostics(diagnostics, errors) => {
                summary.rejected += errors;
                summary.diagnostics.extend(diagnostics);
            }
        }
    }
    if let Err(error) = blob {
        failure.get_or_insert(error);
    }
    drop(receiver);
    let _ = parser.join();
    match failure {
        Some(error) => Err(IngestError(error)),
        None => Ok(()),
    }
}
