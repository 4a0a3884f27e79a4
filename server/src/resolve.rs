//! Mapping a decoded path to what lies under the root, and nothing outside it.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};

use rustix::fs::inotify::{self, CreateFlags, ReadFlags, WatchFlags};
use rustix::fs::{statx, AtFlags, Mode, OFlags, StatxFlags};

use crate::files::{FileStat, OwnKeyMap};
use crate::limits::{MAX_REMEMBERED_PATHS, MAX_WATCHES};

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
    /// Paths resolved to files before, trusted while nothing they went
    /// through changed.
    known: Known,
}

/// Request paths resolved to files before, and the inotify watches that
/// say when a resolution may no longer hold.
///
/// A path is remembered only when it resolved without a symlink; every
/// directory from the root to the file, and the file itself, is watched
/// first, and the path is then resolved again, so every change after that
/// second resolution queues an event. Before a remembered answer is used,
/// the queue is read (one `read` that finds it empty when nothing changed):
/// any event forgets every path. The kernel queues an event within the
/// call that changes the file system, so a file replaced before a request
/// arrives is found anew. Without inotify, or past [`MAX_WATCHES`], paths
/// are resolved anew for every request.
#[derive(Debug)]
struct Known {
    /// The inotify instance (non-blocking), when the system gave one.
    watcher: Option<OwnedFd>,
    state: Mutex<KnownState>,
}

#[derive(Debug, Default)]
struct KnownState {
    /// Request path to the file it resolved to. Keyed by a client's bytes:
    /// the default hasher.
    paths: HashMap<Vec<u8>, (PathBuf, FileStat)>,
    /// The files and directories watched since the paths were last forgotten.
    watched: HashSet<PathBuf>,
    /// Watch descriptors the kernel holds for this instance.
    live: OwnKeyMap<i32, ()>,
    /// Counts the times everything was forgotten: a resolution made before
    /// one is not remembered after it.
    generation: u64,
}

/// What a watch reports: any change to a watched directory's entries or to
/// a watched file's content, status or place.
fn watch_flags() -> WatchFlags {
    WatchFlags::MODIFY
        | WatchFlags::ATTRIB
        | WatchFlags::CLOSE_WRITE
        | WatchFlags::MOVED_FROM
        | WatchFlags::MOVED_TO
        | WatchFlags::CREATE
        | WatchFlags::DELETE
        | WatchFlags::DELETE_SELF
        | WatchFlags::MOVE_SELF
        | WatchFlags::DONT_FOLLOW
}

impl Known {
    fn new(watch: bool) -> Known {
        let watcher = if watch {
            inotify::init(CreateFlags::NONBLOCK | CreateFlags::CLOEXEC).ok()
        } else {
            None
        };
        Known {
            watcher,
            state: Mutex::new(KnownState::default()),
        }
    }

    /// The file `path` resolved to, if it is remembered and nothing has
    /// changed since; and the generation to remember a new resolution by.
    fn get(&self, path: &[u8]) -> Result<(PathBuf, FileStat), u64> {
        let Some(watcher) = &self.watcher else {
            return Err(0);
        };
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.drain(watcher);
        match state.paths.get(path) {
            Some((real, stat)) => Ok((real.clone(), *stat)),
            None => Err(state.generation),
        }
    }

    /// Watches what `real` (a canonical path under `root`, reached without
    /// a symlink) depends on. False when a watch could not be added.
    fn watch(&self, root: &Path, real: &Path) -> bool {
        let Some(watcher) = &self.watcher else {
            return false;
        };
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut at = Some(real);
        while let Some(path) = at {
            if !state.watched.contains(path) {
                if state.live.len() >= MAX_WATCHES {
                    return false;
                }
                let Ok(wd) = inotify::add_watch(watcher, path, watch_flags()) else {
                    return false;
                };
                state.live.insert(wd, ());
                state.watched.insert(path.to_path_buf());
            }
            at = path.parent().filter(|_| path != root);
        }
        true
    }

    /// Remembers that `path` resolved to `found`, unless everything was
    /// forgotten since `generation`.
    fn remember(&self, path: &[u8], generation: u64, found: (PathBuf, FileStat)) {
        let Some(watcher) = &self.watcher else {
            return;
        };
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.drain(watcher);
        if state.generation == generation && state.paths.len() < MAX_REMEMBERED_PATHS {
            state.paths.insert(path.to_vec(), found);
        }
    }
}

impl KnownState {
    /// Reads every queued event; any at all (an overflow too) forgets every
    /// path. Watches the kernel dropped (`IN_IGNORED`) are no longer live.
    fn drain(&mut self, watcher: &OwnedFd) {
        let mut buf = [0u8; 4096];
        let mut changed = false;
        loop {
            let read = match rustix::io::read(watcher, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            changed = true;
            let mut at = 0;
            // Each event: wd, mask, cookie, name length (four 32-bit
            // words), then the name.
            while let Some(head) = buf.get(at..at + 16) {
                let word = |i: usize| [head[i], head[i + 1], head[i + 2], head[i + 3]];
                let wd = i32::from_ne_bytes(word(0));
                let mask = ReadFlags::from_bits_retain(u32::from_ne_bytes(word(4)));
                if mask.contains(ReadFlags::IGNORED) {
                    self.live.remove(&wd);
                }
                at += 16 + u32::from_ne_bytes(word(12)) as usize;
                if at >= read {
                    break;
                }
            }
        }
        if changed {
            self.paths.clear();
            self.watched.clear();
            self.generation += 1;
        }
    }
}

impl Root {
    /// Opens the directory at `path`, which must be canonical.
    pub(crate) fn open(path: PathBuf) -> io::Result<Root> {
        Root::open_watching(path, true)
    }

    /// Opens the directory at `path`, remembering resolutions between
    /// requests only if `watch` (and the system gives inotify).
    pub(crate) fn open_watching(path: PathBuf, watch: bool) -> io::Result<Root> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let dir = rustix::fs::open(&path, flags, Mode::empty())?;
        Ok(Root {
            path,
            dir,
            known: Known::new(watch),
        })
    }

    /// Whether the root's path still names the directory opened (watches
    /// are added by path, lookups made from the directory).
    fn in_place(&self) -> bool {
        let by_path = fs::symlink_metadata(&self.path);
        match (by_path, self.lstat(b"")) {
            (Ok(by_path), Ok(opened)) => FileStat::from(&by_path) == opened,
            _ => false,
        }
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
    let generation = match root.known.get(path) {
        Ok((real, stat)) => return Resource::File(real, stat),
        Err(generation) => generation,
    };
    let (resource, direct) = resolve_anew(root, path);
    if let (Resource::File(real, stat), true) = (&resource, direct) {
        // Watched first, then resolved again: a change after this second
        // resolution is an event the next request reads.
        if root.known.watch(&root.path, real) {
            if let (Resource::File(again, now), true) = resolve_anew(root, path) {
                if again == *real && now == *stat && root.in_place() {
                    root.known.remember(path, generation, (again, now));
                }
            }
        }
    }
    resource
}

/// [`resolve_path`] without what is remembered, and whether the resource
/// was reached without a symlink.
fn resolve_anew(root: &Root, path: &[u8]) -> (Resource, bool) {
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
                    return (Resource::Forbidden, false);
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
    let mut direct = true;
    let (real, meta) = match canonical_under(root, walked, root_bytes.len(), &mut direct) {
        Ok(Some(found)) => found,
        Ok(None) => return (Resource::Forbidden, false),
        Err(_) => return (Resource::NotFound, false),
    };
    if meta.is_dir() {
        if !wants_directory {
            return (Resource::Redirect, false);
        }
        let dir = real.into_os_string().into_vec();
        let mut index = dir.clone();
        index.push(b'/');
        index.extend_from_slice(INDEX);
        return match canonical_under(root, index, dir.len(), &mut direct) {
            Ok(Some((index, meta))) if meta.is_file() => (Resource::File(index, meta), direct),
            Ok(Some(_)) | Err(_) => (
                Resource::Listing(PathBuf::from(OsString::from_vec(dir))),
                false,
            ),
            Ok(None) => (Resource::Forbidden, false),
        };
    }
    if meta.is_file() && !wants_directory {
        (Resource::File(real, meta), direct)
    } else {
        (Resource::NotFound, false)
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
/// sends it through `canonicalize`, and clears `direct`.
fn canonical_under(
    root: &Root,
    path: Vec<u8>,
    known: usize,
    direct: &mut bool,
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
            *direct = false;
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

    /// The file `path` names under `root`, and its content.
    fn served(root: &Root, path: &[u8]) -> (PathBuf, Vec<u8>) {
        match resolve_path(root, path) {
            Resource::File(real, stat) => {
                let content = fs::read(&real).unwrap();
                assert_eq!(stat.len(), content.len() as u64);
                (real, content)
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_remembered_path_follows_every_change() {
        for watch in [true, false] {
            let dir = std::env::temp_dir()
                .join(format!("resolve-changes-{}-{watch}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(dir.join("sub")).unwrap();
            fs::write(dir.join("sub/a.txt"), "first").unwrap();
            let canonical = fs::canonicalize(&dir).unwrap();
            let root = Root::open_watching(canonical.clone(), watch).unwrap();
            assert_eq!(root.known.watcher.is_some(), watch);
            let a = canonical.join("sub/a.txt");
            assert_eq!(served(&root, b"/sub/a.txt"), (a.clone(), b"first".to_vec()));
            assert_eq!(
                root.known.get(b"/sub/a.txt").is_ok(),
                watch,
                "remembered only with a watcher"
            );
            // Replaced by a rename.
            fs::write(dir.join("new.txt"), "second!").unwrap();
            fs::rename(dir.join("new.txt"), dir.join("sub/a.txt")).unwrap();
            assert_eq!(
                served(&root, b"/sub/a.txt"),
                (a.clone(), b"second!".to_vec())
            );
            // Written in place, same length.
            fs::write(dir.join("sub/a.txt"), "third!!").unwrap();
            assert_eq!(
                served(&root, b"/sub/a.txt"),
                (a.clone(), b"third!!".to_vec())
            );
            // Written in place through an open file, without closing it.
            let mut open = fs::OpenOptions::new()
                .append(true)
                .open(dir.join("sub/a.txt"))
                .unwrap();
            std::io::Write::write_all(&mut open, b"+").unwrap();
            assert_eq!(
                served(&root, b"/sub/a.txt"),
                (a.clone(), b"third!!+".to_vec())
            );
            drop(open);
            // Its directory replaced by a symlink out of the root.
            let outside = dir.with_extension("outside");
            fs::create_dir_all(&outside).unwrap();
            fs::write(outside.join("a.txt"), "secret").unwrap();
            fs::rename(dir.join("sub"), dir.join("old")).unwrap();
            std::os::unix::fs::symlink(&outside, dir.join("sub")).unwrap();
            assert!(matches!(
                resolve_path(&root, b"/sub/a.txt"),
                Resource::Forbidden
            ));
            // Removed.
            fs::remove_file(dir.join("sub")).unwrap();
            assert!(matches!(
                resolve_path(&root, b"/sub/a.txt"),
                Resource::NotFound
            ));
            fs::remove_dir_all(&outside).unwrap();
            fs::remove_dir_all(&dir).unwrap();
        }
    }
}
