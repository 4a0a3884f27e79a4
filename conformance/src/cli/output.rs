//! The files a command writes: checked before a run, written whole.

use super::exit::Failure;
use std::io::Write;
use std::path::Path;

/// `path` can be written as a file: it is not a directory, and its folder
/// exists and takes a new file. Checked before the first connect, so a typo
/// costs no run.
pub(crate) fn check_writable_file(path: &Path) -> Result<(), Failure> {
    let cannot = |why: String| Failure::Usage(format!("cannot write {}: {why}", path.display()));
    if path.is_dir() {
        return Err(cannot("it is a directory".into()));
    }
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(cannot(format!("no directory {}", dir.display())));
    }
    // The write itself goes through a temporary file in the same folder
    // ([`write_atomically`]), so that is what must be possible.
    let probe = dir.join(format!(".conformance-check.{}.tmp", std::process::id()));
    match std::fs::File::create(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
            Ok(())
        }
        Err(e) => Err(cannot(format!(
            "cannot create a file in {}: {e}",
            dir.display()
        ))),
    }
}

/// Writes `text` to a temporary file beside `path` and renames it over
/// `path`, so a reader never sees a half-written report.
pub(crate) fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = std::fs::File::create(&temp).and_then(|mut file| {
        file.write_all(text.as_bytes())?;
        file.sync_all()
    });
    match written.and_then(|()| std::fs::rename(&temp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&temp);
            Err(e)
        }
    }
}
