//! Mapping a decoded path to what lies under the root, and nothing outside it.

use std::ffi::{OsStr, OsString};
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

/// What a path names under the root.
#[derive(Debug)]
pub(crate) enum Resource {
    /// A regular file (or a directory's `index.html`).
    File(PathBuf, Metadata),
    /// A directory without an index, asked for with a trailing `/`.
    Listing(PathBuf),
    /// A directory asked for without its trailing `/`.
    Redirect,
    /// Nothing there, or not something this server serves.
    NotFound,
    /// The path leaves the root.
    Forbidden,
}

/// Resolves the percent-decoded `path` under `root`, which must be canonical.
///
/// Dot-segments are removed first (RFC 3986 §5.2.4); one that would climb
/// above the root is refused rather than clamped. Then the file system has
/// the last word: the path is canonicalized, following symlinks, and must
/// still lie under the root.
pub(crate) fn resolve_path(root: &Path, path: &[u8]) -> Resource {
    let root_bytes = root.as_os_str().as_bytes();
    // The root joined with the path's segments, dot-segments removed, in
    // one allocation with room for a directory's `/index.html`.
    let mut walked = Vec::with_capacity(root_bytes.len() + path.len() + INDEX.len() + 2);
    walked.extend_from_slice(root_bytes);
    for segment in path.split(|&b| b == b'/') {
        match segment {
            b"" | b"." => {}
            b".." => {
                if walked.len() == root_bytes.len() {
                    return Resource::Forbidden;
                }
                let parent = walked.iter().rposition(|&b| b == b'/').unwrap_or(0);
                walked.truncate(parent.max(root_bytes.len()));
            }
            s => {
                walked.push(b'/');
                walked.extend_from_slice(s);
            }
        }
    }
    let wants_directory = path.ends_with(b"/") || walked.len() == root_bytes.len();
    let (real, meta) = match canonical_under(root, walked, root_bytes.len()) {
        Ok(Some(found)) => found,
        Ok(None) => return Resource::Forbidden,
        Err(_) => return Resource::NotFound,
    };
    if meta.is_dir() {
        if !wants_directory {
            return Resource::Redirect;
        }
        let dir = real.into_os_string().into_vec();
        let mut index = dir.clone();
        index.push(b'/');
        index.extend_from_slice(INDEX);
        return match canonical_under(root, index, dir.len()) {
            Ok(Some((index, meta))) if meta.is_file() => Resource::File(index, meta),
            Ok(Some(_)) | Err(_) => Resource::Listing(PathBuf::from(OsString::from_vec(dir))),
            Ok(None) => Resource::Forbidden,
        };
    }
    if meta.is_file() && !wants_directory {
        Resource::File(real, meta)
    } else {
        Resource::NotFound
    }
}

/// The file a directory is served by, when it has one.
const INDEX: &[u8] = b"index.html";

/// The canonical form of `path` and its metadata, or `None` when it lies
/// outside `root` (through a symlink). The first `known` octets of `path`
/// name a canonical directory at or under `root`; the rest is plain
/// `/name` segments (no `.` or `..`).
///
/// Unless a component past `known` is a symlink, `path` is already
/// canonical: one `lstat` per segment instead of one per component of the
/// whole absolute path. A symlink anywhere sends it through
/// `canonicalize`.
fn canonical_under(
    root: &Path,
    path: Vec<u8>,
    known: usize,
) -> io::Result<Option<(PathBuf, Metadata)>> {
    let mut meta = None;
    let mut end = known;
    while end < path.len() {
        end = path[end + 1..]
            .iter()
            .position(|&b| b == b'/')
            .map_or(path.len(), |at| end + 1 + at);
        let found = fs::symlink_metadata(OsStr::from_bytes(&path[..end]))?;
        if found.file_type().is_symlink() {
            let real = fs::canonicalize(OsStr::from_bytes(&path))?;
            if !real.starts_with(root) {
                return Ok(None);
            }
            let meta = fs::metadata(&real)?;
            return Ok(Some((real, meta)));
        }
        meta = Some(found);
    }
    let path = PathBuf::from(OsString::from_vec(path));
    let meta = match meta {
        Some(meta) => meta,
        None => fs::metadata(&path)?,
    };
    Ok(Some((path, meta)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        fs::canonicalize(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/root")).unwrap()
    }

    fn kind(path: &str) -> &'static str {
        match resolve_path(&root(), path.as_bytes()) {
            Resource::File(..) => "file",
            Resource::Listing(_) => "listing",
            Resource::Redirect => "redirect",
            Resource::NotFound => "not found",
            Resource::Forbidden => "forbidden",
        }
    }

    #[test]
    fn paths_resolve_to_their_kinds() {
        for (path, expected) in [
            ("/", "file"),
            ("/hello.txt", "file"),
            ("/docs/", "file"),
            ("/docs", "redirect"),
            ("/listing/", "listing"),
            ("/listing", "redirect"),
            ("/listing/sub/", "listing"),
            ("/listing/a&b <c> \"d\".txt", "file"),
            ("/docs/../hello.txt", "file"),
            ("/./hello.txt", "file"),
            ("//hello.txt", "file"),
            ("/hello.txt/", "not found"),
            ("/missing", "not found"),
            ("/..", "forbidden"),
            ("/../../etc/passwd", "forbidden"),
            ("/docs/../../etc/passwd", "forbidden"),
            ("/%2e%2e/etc/passwd", "not found"),
        ] {
            assert_eq!(kind(path), expected, "{path}");
        }
    }

    #[test]
    fn symlink_out_of_the_root_is_forbidden() {
        let dir = std::env::temp_dir().join(format!("resolve-symlink-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("root")).unwrap();
        fs::write(dir.join("secret.txt"), "secret").unwrap();
        std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("root/link.txt")).unwrap();
        std::os::unix::fs::symlink(&dir, dir.join("root/up")).unwrap();
        let root = fs::canonicalize(dir.join("root")).unwrap();
        assert!(matches!(
            resolve_path(&root, b"/link.txt"),
            Resource::Forbidden
        ));
        assert!(matches!(
            resolve_path(&root, b"/up/secret.txt"),
            Resource::Forbidden
        ));
        assert!(matches!(resolve_path(&root, b"/up/"), Resource::Forbidden));
        fs::remove_dir_all(&dir).unwrap();
    }
}
