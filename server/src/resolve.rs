//! Mapping a decoded path to what lies under the root, and nothing outside it.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

use rustix::fs::{statx, AtFlags, Mode, OFlags, StatxFlags};

use crate::files::FileStat;

/// What a path names under the root.
#[derive(Debug)]
pub(crate) enum Resource {
    /// A regular file (or a directory's `index.html`).
    File(PathBuf, FileStat),
    /// A directory without an index, asked for with a trailing `/`.
    Listing(PathBuf),
    /// A directory asked for without its trailing `/`.
    Redirect,
    /// Nothing there, or not something this server serves.
    NotFound,
    /// The path leaves the root.
    Forbidden,
}

/// The document root: its canonical path, and the directory itself, opened
/// once, which paths under it are looked up from (a lookup then walks only
/// the components below the root, not the root's own path again).
#[derive(Debug)]
pub(crate) struct Root {
    path: PathBuf,
    dir: OwnedFd,
}

impl Root {
    /// Opens the directory at `path`, which must be canonical.
    pub(crate) fn open(path: PathBuf) -> io::Result<Root> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let dir = rustix::fs::open(&path, flags, Mode::empty())?;
        Ok(Root { path, dir })
    }

    /// The `lstat` of `relative`, a path below the root (the root itself
    /// when empty).
    fn lstat(&self, relative: &[u8]) -> io::Result<FileStat> {
        let flags = if relative.is_empty() {
            AtFlags::EMPTY_PATH
        } else {
            AtFlags::SYMLINK_NOFOLLOW
        };
        let stat = statx(&self.dir, relative, flags, StatxFlags::BASIC_STATS)?;
        Ok(FileStat::from(&stat))
    }
}

/// Resolves the percent-decoded `path` under `root`.
///
/// Dot-segments are removed first (RFC 3986 §5.2.4); one that would climb
/// above the root is refused rather than clamped. Then the file system has
/// the last word: the path is canonicalized, following symlinks, and must
/// still lie under the root.
pub(crate) fn resolve_path(root: &Root, path: &[u8]) -> Resource {
    let root_bytes = root.path.as_os_str().as_bytes();
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

/// The canonical form of `path` and its status, or `None` when it lies
/// outside the root (through a symlink). `path` starts with the root's
/// path; its first `known` octets name a canonical directory at or under
/// the root, and the rest is plain `/name` segments (no `.` or `..`).
///
/// Unless a component past `known` is a symlink, `path` is already
/// canonical: one `lstat` per segment, from the root's directory, instead
/// of one per component of the whole absolute path. A symlink anywhere
/// sends it through `canonicalize`.
fn canonical_under(
    root: &Root,
    path: Vec<u8>,
    known: usize,
) -> io::Result<Option<(PathBuf, FileStat)>> {
    let below = root.path.as_os_str().len();
    // Where the part below the root starts: after the root's path and the
    // `/` that follows it.
    let relative = |end: usize| &path[(below + 1).min(end)..end];
    let mut end = known;
    let mut stat = None;
    while end < path.len() {
        end = path[end + 1..]
            .iter()
            .position(|&b| b == b'/')
            .map_or(path.len(), |at| end + 1 + at);
        let found = root.lstat(relative(end))?;
        if found.is_symlink() {
            let real = fs::canonicalize(OsStr::from_bytes(&path))?;
            if !real.starts_with(&root.path) {
                return Ok(None);
            }
            let meta = fs::metadata(&real)?;
            return Ok(Some((real, FileStat::from(&meta))));
        }
        stat = Some(found);
    }
    let stat = match stat {
        Some(stat) => stat,
        None => root.lstat(relative(path.len()))?,
    };
    Ok(Some((PathBuf::from(OsString::from_vec(path)), stat)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        fs::canonicalize(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/root")).unwrap()
    }

    fn kind(path: &str) -> &'static str {
        match resolve_path(&Root::open(root()).unwrap(), path.as_bytes()) {
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
        let root = Root::open(fs::canonicalize(dir.join("root")).unwrap()).unwrap();
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
