//! Reading input files safely: only regular files (after following symbolic
//! links), never more than a limit. A FIFO, `/dev/zero` or a character device
//! named on the command line, found in a directory or reached through a
//! symbolic link would otherwise block or be read forever.

use std::fs::File;
use std::io::Read;
use std::path::Path;

/// Open `path` for reading if it is a regular file (after following symbolic
/// links). Checked before opening (opening a FIFO blocks until a writer
/// comes) and again on the open file (in case the path changed in between).
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    let not_regular = |kind: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a regular file ({kind}): refused"),
        )
    };
    let metadata = std::fs::metadata(path)?;
    if !metadata.is_file() {
        return Err(not_regular(kind_of(&metadata)));
    }
    let file = File::open(path)?;
    let opened = file.metadata()?;
    if !opened.is_file() {
        return Err(not_regular(kind_of(&opened)));
    }
    Ok(file)
}

/// Read a regular file whole, refusing it if it holds more than `limit` bytes:
/// at most `limit + 1` bytes are ever read, even from a file that grows.
pub fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    let shown = path_text(path);
    read_capped(path, limit).map_err(|problem| match problem {
        Problem::Io(error) => format!("{shown}: {error}"),
        Problem::TooLarge(size) => format!("{shown}: {size} bytes exceeds the document limit of {limit} bytes"),
        Problem::Grew => {
            format!("{shown}: more than the document limit of {limit} bytes (the file grew while it was read)")
        }
    })
}

/// Largest configuration file (`--config`, `dsomm-audit.toml`).
pub const CONFIG_LIMIT: u64 = 1024 * 1024;
/// Largest key or trust-root file (`--public-key`, `--trust-root`, the
/// ledger's `key` and `public_key`): a key is a few hundred bytes, a Sigstore
/// trusted root some tens of KiB.
pub const KEY_LIMIT: u64 = 1024 * 1024;
/// Largest proof or checkpoint file (`verify-proof`, `verify-consistency`,
/// `verify --checkpoint`): an inclusion proof holds the record it proves.
pub const PROOF_LIMIT: u64 = 64 * 1024 * 1024;
/// How many characters of an input an error message quotes at most.
pub const QUOTED_CHARS: usize = 80;

/// Read a file the user named (`what` says which, e.g. `claims file`): only a
/// regular file, never more than `limit` bytes. A FIFO, a device, a directory
/// or an over-limit file is refused without being read, with a message naming
/// the file, `what` and the problem:
/// `cannot read pipe (claims file): not a regular file (a FIFO): refused`,
/// `big.yaml (model file): 1073741824 bytes exceeds the model file limit of 67108864 bytes`.
pub fn read_input(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>, String> {
    let shown = for_terminal(&path_text(path));
    read_capped(path, limit).map_err(|problem| match problem {
        Problem::Io(error) => format!("cannot read {shown} ({what}): {error}"),
        Problem::TooLarge(size) => format!("{shown} ({what}): {size} bytes exceeds the {what} limit of {limit} bytes"),
        Problem::Grew => {
            format!("{shown} ({what}): more than the {what} limit of {limit} bytes (the file grew while it was read)")
        }
    })
}

/// [`read_input`] for a text file: the bytes must be UTF-8.
pub fn read_input_text(path: &Path, what: &str, limit: u64) -> Result<String, String> {
    let bytes = read_input(path, what, limit)?;
    String::from_utf8(bytes).map_err(|error| {
        format!(
            "{} ({what}): not UTF-8 text (invalid byte at offset {})",
            for_terminal(&path_text(path)),
            error.utf8_error().valid_up_to()
        )
    })
}

/// Why [`read_capped`] refused a file.
pub enum Problem {
    /// Not a regular file, or the system refused.
    Io(std::io::Error),
    /// Its size (bytes) is over the limit.
    TooLarge(u64),
    /// It grew past the limit while it was read.
    Grew,
}

/// A regular file's bytes, refused when over `limit` (from its size, before
/// reading) or when it grows past it: at most `limit + 1` bytes are read.
pub fn read_capped(path: &Path, limit: u64) -> Result<Vec<u8>, Problem> {
    let file = open_regular(path).map_err(Problem::Io)?;
    let size = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    if size > limit {
        return Err(Problem::TooLarge(size));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size.min(limit)).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(Problem::Io)?;
    if bytes.len() as u64 > limit {
        return Err(Problem::Grew);
    }
    Ok(bytes)
}

/// At most [`QUOTED_CHARS`] characters of `text` for an error message, control
/// characters escaped, with `...` when it was cut: an error never echoes a
/// whole (possibly huge or hostile) input.
pub fn quote_prefix(text: &str) -> String {
    let mut quoted = for_terminal(&text.chars().take(QUOTED_CHARS).collect::<String>());
    if text.chars().nth(QUOTED_CHARS).is_some() {
        quoted.push_str("...");
    }
    quoted
}

/// Text safe to print as part of one terminal line: control characters
/// (newline, carriage return, escape, ...) are written as Rust escapes
/// (`\n`, `\r`, `\u{1b}`), so a file name cannot forge output lines.
pub fn for_terminal(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    for character in text.chars() {
        if character.is_control() {
            shown.extend(character.escape_default());
        } else {
            shown.push(character);
        }
    }
    shown
}

/// A path as text, losslessly: two different paths always give two different
/// texts. On Unix, a path's bytes that are valid UTF-8 are kept as they are,
/// except that a backslash is written `\\`; each byte that is not valid UTF-8
/// is written `\xFF` (two upper-case hex digits). A path that is valid UTF-8
/// and holds no backslash (nearly every path) is unchanged. Elsewhere the path
/// as `Path::display` shows it.
pub fn path_text(path: &Path) -> String {
    #[cfg(unix)]
    {
        use std::fmt::Write;
        use std::os::unix::ffi::OsStrExt;
        let mut text = String::new();
        for chunk in path.as_os_str().as_bytes().utf8_chunks() {
            for character in chunk.valid().chars() {
                if character == '\\' {
                    text.push_str("\\\\");
                } else {
                    text.push(character);
                }
            }
            for byte in chunk.invalid() {
                let _ = write!(text, "\\x{byte:02X}");
            }
        }
        text
    }
    #[cfg(not(unix))]
    {
        path.display().to_string()
    }
}

/// What a file that is not a regular file is: `a FIFO`, `a character device`, ...
pub fn kind_of(metadata: &std::fs::Metadata) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = metadata.file_type();
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if metadata.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dev_zero_and_directories_are_refused_and_files_are_bounded() {
        let error = read_limited(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(
            error.contains("/dev/zero") && error.contains("character device"),
            "{error}"
        );
        let directory = std::env::temp_dir();
        assert!(read_limited(&directory, 1024).unwrap_err().contains("directory"));
        let file = directory.join(format!("files-test-{}", std::process::id()));
        std::fs::write(&file, b"0123456789").unwrap();
        assert_eq!(read_limited(&file, 10).unwrap(), b"0123456789");
        assert!(read_limited(&file, 9).unwrap_err().contains("limit"));
        let _ = std::fs::remove_file(&file);
    }

    #[test]
    fn named_inputs_are_refused_with_their_name_what_and_limit() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("claims.yaml");
        std::fs::write(&file, b"0123456789").unwrap();
        assert_eq!(read_input_text(&file, "claims file", 10).unwrap(), "0123456789");
        let error = read_input(&file, "claims file", 9).unwrap_err();
        assert!(
            error.ends_with("claims.yaml (claims file): 10 bytes exceeds the claims file limit of 9 bytes"),
            "{error}"
        );
        let error = read_input(Path::new("/dev/zero"), "model file", 9).unwrap_err();
        assert_eq!(
            error,
            "cannot read /dev/zero (model file): not a regular file (a character device): refused"
        );
        std::fs::write(&file, b"ab\xffc").unwrap();
        let error = read_input_text(&file, "config file", 10).unwrap_err();
        assert!(error.ends_with("not UTF-8 text (invalid byte at offset 2)"), "{error}");
    }

    #[test]
    fn quoted_input_is_cut_and_control_characters_are_escaped() {
        assert_eq!(quote_prefix("short"), "short");
        let long = "x".repeat(1000);
        assert_eq!(quote_prefix(&long), format!("{}...", "x".repeat(QUOTED_CHARS)));
        assert_eq!(
            for_terminal("a\nrejected: b\r\u{1b}[31m"),
            "a\\nrejected: b\\r\\u{1b}[31m"
        );
        assert_eq!(for_terminal("café ✓"), "café ✓");
    }

    #[cfg(unix)]
    #[test]
    fn path_text_is_lossless() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let text = |bytes: &[u8]| path_text(Path::new(OsStr::from_bytes(bytes)));
        assert_eq!(text(b"/tmp/caf\xc3\xa9.ndjson"), "/tmp/café.ndjson");
        assert_eq!(text(b"a\xff.ndjson"), "a\\xFF.ndjson");
        assert_eq!(text(b"a\xfe.ndjson"), "a\\xFE.ndjson");
        // A name that spells an escape is not the name with the byte.
        assert_eq!(text(b"a\\xFF.ndjson"), "a\\\\xFF.ndjson");
        assert_ne!(text(b"a\\xFF.ndjson"), text(b"a\xff.ndjson"));
        assert_eq!(text(b"line\nbreak"), "line\nbreak");
    }
}
