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
    let file = open_regular(path).map_err(|error| format!("{}: {error}", path.display()))?;
    let size = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
    if size > limit {
        return Err(format!(
            "{}: {size} bytes exceeds the document limit of {limit} bytes",
            path.display()
        ));
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size.min(limit)).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|error| format!("{}: {error}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{}: more than the document limit of {limit} bytes (the file grew while it was read)",
            path.display()
        ));
    }
    Ok(bytes)
}

fn kind_of(metadata: &std::fs::Metadata) -> &'static str {
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
}
