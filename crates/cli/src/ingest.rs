//! The ingest path: find input files, detect their format, keep their raw
//! bytes, parse them into evidence and append it to the ledger in atomic
//! batches. For line-oriented input, hashing, reading, parsing and writing run
//! on their own threads (see `ingest_streamed`). Shared by the CLI and the
//! benchmark.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use collect::{Collector, Context, Limits};
use jiff::Timestamp;
use ledger::blob::{BlobPacker, PackedBlob, PackedChunk};
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
    /// `--occurred-at` was a date (`YYYY-MM-DD`, read as its midnight UTC): a
    /// calendar's window then ends with that whole day.
    pub occurred_at_is_date: bool,
    /// `--person`: the owner of a calendar (ics), by e-mail.
    pub person: Option<String>,
    /// Input limits.
    pub limits: Limits,
    /// Records per atomic batch (0 = the default, 20,000).
    pub batch_size: usize,
    /// Bytes of subject and attribute text after which a streamed batch is
    /// appended early (0 = the default, [`MAX_BATCH_BYTES`]).
    pub batch_bytes: usize,
    /// `--trust-root`, `--public-key` and the trusted builders, for provenance.
    pub provenance: Option<std::sync::Arc<collect::provenance::Verification>>,
    /// `[people] aliases`, for the IAM and training collectors.
    pub aliases: Option<std::sync::Arc<std::collections::BTreeMap<String, String>>>,
    /// `--columns`, for tabular inputs (training exports).
    pub columns: Option<std::sync::Arc<std::collections::BTreeMap<String, String>>>,
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
    /// What was rejected and why, and warnings (`"warning": true`) about input
    /// that still landed.
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
                file: crate::files::path_text(path),
                line: None,
                pointer: None,
                message: format!("cannot read: {error}"),
                warning: false,
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
                file: crate::files::path_text(directory),
                line: None,
                pointer: None,
                message: format!("cannot list directory: {error}"),
                warning: false,
            });
            return;
        }
    };
    entries.sort();
    for entry in entries {
        if files.len() >= MAX_FILES {
            diagnostics.push(Diagnostic {
                file: crate::files::path_text(directory),
                line: None,
                pointer: None,
                message: format!("more than {MAX_FILES} files; the rest were not read"),
                warning: false,
            });
            return;
        }
        let Ok(metadata) = std::fs::symlink_metadata(&entry) else {
            continue;
        };
        if metadata.file_type().is_symlink() {
            // Follow links to files, never to directories (no loops); say what was not read.
            let skipped = match std::fs::metadata(&entry) {
                Ok(target) if target.is_file() => {
                    files.push(entry.clone());
                    None
                }
                Ok(target) if target.is_dir() => Some("symbolic link to a directory: not followed".to_string()),
                Ok(_) => Some("symbolic link to something that is not a regular file: skipped".to_string()),
                Err(error) => Some(format!("broken or looping symbolic link: {error}")),
            };
            if let Some(message) = skipped {
                diagnostics.push(Diagnostic {
                    file: crate::files::path_text(&entry),
                    line: None,
                    pointer: None,
                    message,
                    warning: false,
                });
            }
        } else if metadata.is_dir() {
            let name = entry.file_name().and_then(|name| name.to_str()).unwrap_or_default();
            if name != ".git" {
                walk(&entry, files, diagnostics);
            }
        } else if metadata.is_file() {
            files.push(entry);
        } else {
            // A FIFO, socket or device: never opened (a FIFO would block), but named.
            diagnostics.push(Diagnostic {
                file: crate::files::path_text(&entry),
                line: None,
                pointer: None,
                message: format!("not a regular file ({}): skipped", crate::files::kind_of(&metadata)),
                warning: true,
            });
        }
    }
}

/// SHA-256 of everything `file` holds (read in 1 MiB pieces).
fn hash_reader(mut file: File) -> std::io::Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hasher.finalize().into())
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
    summary.rejected += summary
        .diagnostics
        .iter()
        .filter(|diagnostic| !diagnostic.warning)
        .count() as u64;
    let batch_size = if options.batch_size == 0 {
        DEFAULT_BATCH
    } else {
        options.batch_size
    };
    // Copying the write-ahead log into the database runs on its own thread,
    // off the appending thread's path.
    let checkpointer = ledger.background_checkpoints()?;
    let mut outcome = Ok(());
    for file in files {
        outcome = ingest_file(ledger, &file, options, batch_size, &mut summary, &mut on_batch);
        if outcome.is_err() {
            break;
        }
    }
    ledger.stop_background_checkpoints();
    checkpointer.finish();
    outcome?;
    // Fold the rest of the write-ahead log into the database file, as closing would.
    ledger.checkpoint_wal()?;
    Ok(summary)
}

/// Parsed blocks waiting to be appended in file order, and the batch being filled.
struct InOrder {
    waiting: std::collections::BTreeMap<u64, ParsedBlock>,
    next_sequence: u64,
    batch: Vec<CanonicalRecord>,
    batch_size: usize,
    /// Bytes of subject and attribute text in `batch`.
    batch_bytes: usize,
    /// When `batch_bytes` reaches this, the batch is appended.
    max_bytes: usize,
}

/// A streamed batch is appended once its records hold this many bytes of
/// subject and attribute text, even before `batch_size` records: memory is
/// then bounded by this and the blocks in flight, not by `batch_size` long
/// lines.
pub const MAX_BATCH_BYTES: usize = 64 * 1024 * 1024;

impl InOrder {
    /// Append every block that is next in file order, completing records
    /// parsed before the file's digest was known (which wait until it is).
    fn drain(
        &mut self,
        digest: Option<[u8; 32]>,
        ledger: &mut Ledger,
        summary: &mut IngestSummary,
        on_batch: &mut impl FnMut(&AppendSummary),
    ) -> Result<(), ledger::LedgerError> {
        let digest_text = digest.map(hex::encode);
        let mut scratch = Vec::new();
        while let Some(block) = self.waiting.get(&self.next_sequence) {
            if block.pending && digest_text.is_none() {
                break;
            }
            let Some(ready) = self.waiting.remove(&self.next_sequence) else {
                break;
            };
            self.next_sequence += 1;
            for diagnostic in ready.diagnostics {
                if !diagnostic.warning {
                    summary.rejected += 1;
                }
                if summary.diagnostics.len() < 10_000 {
                    summary.diagnostics.push(diagnostic);
                }
            }
            for record in ready.records {
                let record = match (&digest_text, ready.pending) {
                    (Some(text), true) => record.with_source_sha256(text, &mut scratch),
                    _ => record,
                };
                self.batch_bytes += record.subject.len() + record.attrs.len();
                self.batch.push(record);
                if self.batch.len() >= self.batch_size || self.batch_bytes >= self.max_bytes {
                    append_batch(ledger, &mut self.batch, summary, on_batch)?;
                    self.batch_bytes = 0;
                }
            }
        }
        Ok(())
    }
}

fn append_batch(
    ledger: &mut Ledger,
    batch: &mut Vec<CanonicalRecord>,
    summary: &mut IngestSummary,
    on_batch: &mut impl FnMut(&AppendSummary),
) -> Result<(), ledger::LedgerError> {
    let appended = ledger.append(batch)?;
    batch.clear();
    summary.added += appended.added;
    summary.duplicates += appended.duplicates;
    on_batch(&appended);
    Ok(())
}

fn reject(summary: &mut IngestSummary, file: &Path, message: String) {
    summary.rejected += 1;
    summary.diagnostics.push(Diagnostic {
        file: crate::files::path_text(file),
        line: None,
        pointer: None,
        message,
        warning: false,
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
    // Lossless (`files::path_text`): two files whose names differ only in bytes
    // that are not UTF-8 are two origins, not one.
    let origin = crate::files::path_text(path);
    // The first bytes, read once: for detection, and to tell a Falco log in
    // JSON lines (streamed) from a Falco document (read whole).
    let head = || -> std::io::Result<Vec<u8>> {
        let mut head = vec![0u8; collect::DETECTION_HEAD_BYTES];
        let length = crate::files::open_regular(path).and_then(|mut file| read_up_to(&mut file, &mut head))?;
        head.truncate(length);
        Ok(head)
    };
    let mut detection_head = None;
    let collector = match options.source {
        Some(collector) => collector,
        None => {
            let read = head();
            match read {
                Ok(head) => match collect::detect(&origin, &head) {
                    Some(collector) => {
                        detection_head = Some(head);
                        collector
                    }
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
    // The same file named differently (`./a.json`, `a.json`) is the same input:
    // records name it by its resolved absolute path.
    let resolved = std::fs::canonicalize(path).map_or_else(|_| origin.clone(), |full| crate::files::path_text(&full));
    let mut context = Context {
        origin: resolved,
        shown_as: origin.clone(),
        sha256: String::new(),
        repo: options.repo.clone(),
        commit: options.commit.clone(),
        git_ref: options.git_ref.clone(),
        occurred_at: match options.occurred_at {
            Some(midnight) if options.occurred_at_is_date && collector == Collector::Ics => {
                Some(collect::calendar::window_end_of_date(midnight))
            }
            other => other,
        },
        person: options.person.clone(),
        provenance: options.provenance.clone(),
        aliases: options.aliases.clone(),
        columns: options.columns.clone(),
    };
    // evidence-ndjson is streamed; so is a Falco log in JSON lines, however
    // large (an array or a webhook capture is one document, read whole below).
    let streamed: Option<BlockParser> = if collector.is_streamed() {
        Some(ndjson_block)
    } else if collector == Collector::Falco {
        detection_head
            .map_or_else(head, Ok)
            .ok()
            .filter(|head| collect::falco::is_json_lines(head))
            .map(|_| collect::falco::parse_block as BlockParser)
    } else {
        None
    };
    if let Some(parse) = streamed {
        summary.files += 1;
        return ingest_streamed(ledger, path, context, options, batch_size, summary, on_batch, parse);
    }
    // Read once, bounded: an over-limit file is refused from its size before
    // any byte is read; the digest is of exactly the bytes parsed and stored.
    let bytes = match crate::files::read_capped(path, options.limits.max_document_bytes) {
        Ok(bytes) => bytes,
        Err(crate::files::Problem::Io(error)) => {
            reject(summary, path, format!("cannot read: {error}"));
            return Ok(());
        }
        Err(crate::files::Problem::TooLarge(size)) => {
            summary.files += 1;
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
        Err(crate::files::Problem::Grew) => {
            summary.files += 1;
            reject(summary, path, "the file changed while it was being read".into());
            return Ok(());
        }
    };
    summary.files += 1;
    let digest: [u8; 32] = Sha256::digest(&bytes).into();
    context.sha256 = hex::encode(digest);
    {
        let parsed = if collector == Collector::Pipelines {
            // GitLab `include: local:` files are read relative to the configuration's directory.
            // Local includes, templates and actions are read from the
            // repository's root.
            let root = crate::pipelines::repository_root(path);
            // Steps name their file as the repository does, whatever path was
            // typed: the configuration by its place in the repository, an
            // included file by the path the include gives.
            let in_repo = in_repository(path);
            let mut resolve = |wanted: &str| {
                crate::pipelines::read_local(&root, wanted, &options.limits).map(|(name, bytes)| match &in_repo {
                    Some(_) => {
                        let inside = wanted.trim_start_matches('/');
                        (inside.strip_prefix("./").unwrap_or(inside).to_string(), bytes)
                    }
                    None => (name, bytes),
                })
            };
            let context = Context {
                shown_as: in_repo.clone().unwrap_or_else(|| context.shown_as.clone()),
                ..context.clone()
            };
            collect::pipelines::parse(&bytes, &context, &options.limits, &mut resolve)
        } else {
            collect::parse_document(collector, &bytes, &context, &options.limits)
        };
        summary.rejected += parsed
            .diagnostics
            .iter()
            .filter(|diagnostic| !diagnostic.warning)
            .count() as u64;
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

/// A CI configuration's path inside its repository, from where it sits:
/// `.github/workflows/NAME` for a workflow; else relative to the nearest
/// directory above it that holds `.git`, `.gitlab-ci.yml` or
/// `azure-pipelines.yml` (a repository's root; an included file under
/// `ci/` becomes `ci/NAME`); `None` when there is none (the path as given).
pub fn in_repository(path: &Path) -> Option<String> {
    let full = std::fs::canonicalize(path).ok()?;
    let name = full.file_name()?.to_str()?.to_string();
    let parent = full.parent()?;
    if parent.file_name() == Some(std::ffi::OsStr::new("workflows"))
        && parent.parent().and_then(Path::file_name) == Some(std::ffi::OsStr::new(".github"))
    {
        return Some(format!(".github/workflows/{name}"));
    }
    let root = parent.ancestors().find(|directory| {
        [
            ".git",
            ".gitlab-ci.yml",
            ".gitlab-ci.yaml",
            "azure-pipelines.yml",
            "azure-pipelines.yaml",
        ]
        .iter()
        .any(|marker| directory.join(marker).exists())
    })?;
    let relative = full.strip_prefix(root).ok()?;
    relative.to_str().map(|text| text.replace('\\', "/"))
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

/// Records parsed from one block, in line order.
struct ParsedBlock {
    sequence: u64,
    /// Parsed before the file's digest was known: the records name no digest
    /// yet and are completed by the writer.
    pending: bool,
    records: Vec<CanonicalRecord>,
    diagnostics: Vec<Diagnostic>,
}

/// How a streamed collector turns one block of whole lines into canonical
/// records and diagnostics.
type BlockParser = fn(&collect::ndjson::Block, &Context, &Limits) -> (Vec<CanonicalRecord>, Vec<Diagnostic>);

/// Evidence-ndjson blocks: every problem refuses its line.
fn ndjson_block(
    block: &collect::ndjson::Block,
    context: &Context,
    limits: &Limits,
) -> (Vec<CanonicalRecord>, Vec<Diagnostic>) {
    let (records, errors) = collect::ndjson::parse_block(block, context, limits);
    let diagnostics = errors
        .into_iter()
        .map(|(line, message)| context.diagnostic(Some(line), None, message))
        .collect();
    (records, diagnostics)
}

/// What the reader thread sends about the raw blob it packs while reading.
enum BlobMessage {
    Chunks(Vec<PackedChunk>),
    Done(Result<PackedBlob, String>),
}

/// Reads the input once for two purposes: the parser's lines, and the packed
/// raw blob (compressed on the reading thread, off the writer's path).
struct TeeReader {
    inner: File,
    packer: Option<BlobPacker>,
    /// Set when the blob turns out to be stored already.
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    blob: crossbeam_channel::Sender<BlobMessage>,
}

impl Read for TeeReader {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buffer)?;
        if self.stop.load(std::sync::atomic::Ordering::Relaxed) {
            self.packer = None;
        }
        if read == 0 {
            if let Some(packer) = self.packer.take() {
                let message = match packer.finish() {
                    Ok((last, manifest)) => {
                        let _ = self.blob.send(BlobMessage::Chunks(last));
                        BlobMessage::Done(Ok(manifest))
                    }
                    Err(error) => BlobMessage::Done(Err(error.to_string())),
                };
                let _ = self.blob.send(message);
            }
        } else if let Some(packer) = self.packer.as_mut() {
            match packer.update(&buffer[..read]) {
                Ok(chunks) if chunks.is_empty() => {}
                Ok(chunks) => {
                    let _ = self.blob.send(BlobMessage::Chunks(chunks));
                }
                Err(error) => {
                    self.packer = None;
                    let _ = self.blob.send(BlobMessage::Done(Err(error.to_string())));
                }
            }
        }
        Ok(read)
    }
}

/// Parser threads (besides the reader and the writer).
const PARSERS: usize = 1;

/// Parsed blocks that may wait for the writer.
const PARSED_BLOCKS: usize = 4;

/// Parsed blocks (about 1 MiB of input each) that may wait for the file's
/// digest before the writer stops taking more.
const MAX_PENDING_BLOCKS: usize = 64;

#[allow(clippy::too_many_arguments)]
fn ingest_streamed(
    ledger: &mut Ledger,
    path: &Path,
    context: Context,
    options: &IngestOptions,
    batch_size: usize,
    summary: &mut IngestSummary,
    on_batch: &mut impl FnMut(&AppendSummary),
    parse: BlockParser,
) -> Result<(), IngestError> {
    // Four activities overlap:
    // - a hash thread computes the SHA-256 of the whole file, which every
    //   record names in its source;
    // - a reader thread cuts the file into blocks of whole lines and packs the
    //   raw blob as it reads;
    // - parser threads turn blocks into canonical records; blocks parsed before
    //   the file's digest is known are completed by the writer once it is;
    // - this thread, the writer, puts blocks back in file order and appends
    //   them, so ids follow the file whatever the timing.
    let limits = options.limits;
    let origin = crate::files::path_text(path);
    let (file, hashed_file) =
        match crate::files::open_regular(path).and_then(|file| Ok((file, crate::files::open_regular(path)?))) {
            Ok(files) => files,
            Err(error) => {
                reject(summary, path, format!("cannot read: {error}"));
                return Ok(());
            }
        };
    let digest_cell = std::sync::Arc::new(std::sync::OnceLock::<String>::new());
    let (digest_sender, digest_receiver) = crossbeam_channel::bounded::<std::io::Result<[u8; 32]>>(1);
    let hasher = {
        let digest_cell = digest_cell.clone();
        std::thread::spawn(move || {
            let result = hash_reader(hashed_file);
            if let Ok(digest) = &result {
                let _ = digest_cell.set(hex::encode(digest));
            }
            let _ = digest_sender.send(result);
        })
    };
    let stop_packing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (blob_sender, blob_receiver) = crossbeam_channel::bounded::<BlobMessage>(16);
    let (block_sender, block_receiver) = crossbeam_channel::bounded::<collect::ndjson::Block>(PARSERS * 2);
    let (parsed_sender, parsed_receiver) = crossbeam_channel::bounded::<ParsedBlock>(PARSED_BLOCKS);
    let reader = {
        let stop_packing = stop_packing.clone();
        std::thread::spawn(move || {
            let tee = TeeReader {
                inner: file,
                packer: Some(BlobPacker::new()),
                stop: stop_packing,
                blob: blob_sender,
            };
            collect::ndjson::read_blocks(
                BufReader::with_capacity(1 << 20, tee),
                &limits,
                collect::ndjson::BLOCK_BYTES,
                |block| block_sender.send(block).is_ok(),
            );
        })
    };
    let pending_context = std::sync::Arc::new(context.clone());
    let parsers: Vec<_> = (0..PARSERS)
        .map(|_| {
            let blocks = block_receiver.clone();
            let parsed = parsed_sender.clone();
            let pending_context = pending_context.clone();
            let digest_cell = digest_cell.clone();
            std::thread::spawn(move || {
                let mut known: Option<Context> = None;
                for block in blocks {
                    if known.is_none()
                        && let Some(digest) = digest_cell.get()
                    {
                        known = Some(Context {
                            sha256: digest.clone(),
                            ..(*pending_context).clone()
                        });
                    }
                    let (records, diagnostics) = parse(&block, known.as_ref().unwrap_or(&pending_context), &limits);
                    let result = ParsedBlock {
                        sequence: block.sequence,
                        pending: known.is_none(),
                        records,
                        diagnostics,
                    };
                    if parsed.send(result).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    drop(block_receiver);
    drop(parsed_sender);

    let mut digest: Option<[u8; 32]> = None;
    let mut in_order = InOrder {
        waiting: std::collections::BTreeMap::new(),
        next_sequence: 0,
        batch: Vec::with_capacity(batch_size),
        batch_size,
        batch_bytes: 0,
        max_bytes: if options.batch_bytes == 0 {
            MAX_BATCH_BYTES
        } else {
            options.batch_bytes
        },
    };
    let mut failure: Option<ledger::LedgerError> = None;
    let mut rejected_file: Option<String> = None;
    let (mut blob_open, mut parsed_open, mut digest_open) = (true, true, true);
    // A channel that has closed is replaced by one that never delivers, so the
    // select below waits on the others instead of spinning. Until the digest is
    // known, raw blob chunks are not taken (the bounded channel holds the reader
    // back) and at most MAX_PENDING_BLOCKS parsed blocks wait: memory stays
    // bounded however slowly the hash thread runs.
    let (mut digest_channel, mut parsed_channel, mut blob_channel) = (digest_receiver, parsed_receiver, blob_receiver);
    let (idle_parsed, idle_blob) = (
        crossbeam_channel::never::<ParsedBlock>(),
        crossbeam_channel::never::<BlobMessage>(),
    );
    let packing_stopped = || stop_packing.load(std::sync::atomic::Ordering::Relaxed);
    while (parsed_open || blob_open || digest_open) && failure.is_none() && rejected_file.is_none() {
        let parsed_now = if digest.is_none() && in_order.waiting.len() >= MAX_PENDING_BLOCKS {
            &idle_parsed
        } else {
            &parsed_channel
        };
        let blob_now = if digest.is_none() { &idle_blob } else { &blob_channel };
        crossbeam_channel::select! {
            recv(digest_channel) -> message => {
                digest_open = false;
                digest_channel = crossbeam_channel::never();
                match message {
                    Ok(Ok(value)) => {
                        digest = Some(value);
                        // Now that the blob's name is known: is it stored already?
                        match ledger.has_blob(&value) {
                            Ok(true) => stop_packing.store(true, std::sync::atomic::Ordering::Relaxed),
                            Ok(false) => {}
                            Err(error) => failure = Some(error),
                        }
                        if failure.is_none() {
                            failure = in_order.drain(digest, ledger, summary, on_batch)
                            .err();
                        }
                    }
                    Ok(Err(error)) => rejected_file = Some(format!("cannot read: {error}")),
                    Err(_) => rejected_file = Some("cannot read: the hashing thread stopped".into()),
                }
            },
            recv(parsed_now) -> message => match message {
                Ok(message) => {
                    in_order.waiting.insert(message.sequence, message);
                    failure = in_order.drain(digest, ledger, summary, on_batch)
                    .err();
                }
                Err(_) => {
                    parsed_open = false;
                    parsed_channel = crossbeam_channel::never();
                }
            },
            recv(blob_now) -> message => match (message, digest) {
                (Ok(BlobMessage::Chunks(chunks)), Some(value)) => {
                    if !packing_stopped() {
                        failure = ledger.put_blob_chunks(&value, &chunks).err();
                    }
                }
                (Ok(BlobMessage::Done(result)), Some(value)) => {
                    blob_open = false;
                    blob_channel = crossbeam_channel::never();
                    if !packing_stopped() {
                        match result {
                            Ok(manifest) => failure = ledger.finish_blob(&value, &origin, &manifest).err(),
                            Err(message) => rejected_file = Some(message),
                        }
                    }
                }
                (Ok(_), None) => {}
                (Err(_), _) => {
                    blob_open = false;
                    blob_channel = crossbeam_channel::never();
                }
            },
        }
    }
    if failure.is_none() && rejected_file.is_none() && !in_order.waiting.is_empty() {
        failure = in_order.drain(digest, ledger, summary, on_batch).err();
    }
    if failure.is_none()
        && rejected_file.is_none()
        && !in_order.batch.is_empty()
        && let Err(error) = append_batch(ledger, &mut in_order.batch, summary, on_batch)
    {
        failure = Some(error);
    }
    drop(parsed_channel);
    drop(blob_channel);
    drop(digest_channel);
    let _ = hasher.join();
    let _ = reader.join();
    for parser in parsers {
        let _ = parser.join();
    }
    if let Some(message) = rejected_file {
        reject(summary, path, message);
    }
    match failure {
        Some(error) => Err(IngestError(error)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Long lines do not wait for `batch_size` records: a streamed batch is
    /// appended once its text reaches the byte cap.
    #[test]
    fn a_streamed_batch_is_appended_at_its_byte_cap() {
        let dir = tempfile::tempdir().unwrap_or_else(|error| panic!("{error}"));
        let ledger_path = dir.path().join("ledger.db");
        let signer =
            ledger::NoteSigner::from_seed("dsomm-audit/test", [7u8; 32]).unwrap_or_else(|error| panic!("{error}"));
        ledger::Ledger::create(&ledger_path, signer.clone()).unwrap_or_else(|error| panic!("{error}"));
        let mut ledger = ledger::Ledger::open(&ledger_path)
            .and_then(|ledger| ledger.with_signer(signer))
            .unwrap_or_else(|error| panic!("{error}"));
        let input = dir.path().join("long.ndjson");
        let padding = "x".repeat(1000);
        let lines: String = (0..10)
            .map(|index| {
                format!(
                    "{{\"kind\":\"scan_report\",\"occurred_at\":\"2025-01-01T00:00:0{index}Z\",\"subject\":{{\"repo\":\"o/r\"}},\"attrs\":{{\"tool\":\"semgrep\",\"pad\":\"{padding}\"}}}}\n"
                )
            })
            .collect();
        std::fs::write(&input, lines).unwrap_or_else(|error| panic!("{error}"));
        let batches = |batch_bytes: usize, ledger: &mut ledger::Ledger| {
            let options = IngestOptions {
                source: Some(Collector::EvidenceNdjson),
                batch_bytes,
                ..IngestOptions::default()
            };
            let mut count = 0;
            let summary = ingest_paths(ledger, std::slice::from_ref(&input), &options, |_| count += 1)
                .unwrap_or_else(|error| panic!("{error}"));
            (count, summary.added + summary.duplicates)
        };
        // Three lines (about 3 KB) per batch under a 2.5 KB cap: four batches.
        assert_eq!(batches(2_500, &mut ledger), (4, 10));
        // The default cap holds all ten in one batch (all duplicates now).
        assert_eq!(batches(0, &mut ledger), (1, 10));
    }
}
