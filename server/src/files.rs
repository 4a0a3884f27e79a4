//! Static files: content types, validators, and directory listings.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;

use rustix::fs::{makedev, FileType, RawMode, Statx};
use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::limits::{MAX_CACHED_FILE, MAX_CACHE_BYTES};

/// The media type for a file name's extension.
pub(crate) fn content_type(path: &Path) -> &'static str {
    // The extension of the last component, as `Path::extension` has it
    // (none for a name that starts with its only dot), without its walk.
    let bytes = path.as_os_str().as_bytes();
    let name = bytes.rsplit(|&b| b == b'/').next().unwrap_or(bytes);
    let ext = match name.iter().rposition(|&b| b == b'.') {
        Some(dot) if dot > 0 => &name[dot + 1..],
        _ => &b""[..],
    };
    // Lowercased on the stack: no extension this table knows is longer.
    let mut lower = [0u8; 8];
    let Some(lower) = lower.get_mut(..ext.len()) else {
        return "application/octet-stream";
    };
    lower.copy_from_slice(ext);
    lower.make_ascii_lowercase();
    match std::str::from_utf8(lower).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "txt" | "text" => "text/plain; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "md" => "text/markdown; charset=utf-8",
        "csv" => "text/csv; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "wasm" => "application/wasm",
        "zip" => "application/zip",
        "gz" => "application/gzip",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff" => "font/woff",
        "woff2" => "font/woff2",
        "mp4" => "video/mp4",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

/// What the server reads of a file's status (`lstat`): its kind, length,
/// modification and change times, device and inode. Two stats are equal
/// only if they describe one version of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStat {
    kind: Kind,
    len: u64,
    /// Seconds and nanoseconds since the epoch.
    mtime: (i64, u32),
    ctime: (i64, u32),
    dev: u64,
    ino: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Dir,
    Symlink,
    Other,
}

impl FileStat {
    /// The length in octets.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the length is zero.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// A regular file.
    pub fn is_file(&self) -> bool {
        self.kind == Kind::File
    }

    /// A directory.
    pub fn is_dir(&self) -> bool {
        self.kind == Kind::Dir
    }

    /// A symbolic link (the stat was not made through it).
    pub fn is_symlink(&self) -> bool {
        self.kind == Kind::Symlink
    }

    /// The modification time as nanoseconds since the epoch (0 before it).
    fn mtime_nanos(&self) -> u128 {
        let (secs, nanos) = self.mtime;
        u128::try_from(secs).map_or(0, |secs| secs * 1_000_000_000 + u128::from(nanos))
    }
}

impl From<&Metadata> for FileStat {
    fn from(meta: &Metadata) -> FileStat {
        let kind = meta.file_type();
        FileStat {
            kind: if kind.is_file() {
                Kind::File
            } else if kind.is_dir() {
                Kind::Dir
            } else if kind.is_symlink() {
                Kind::Symlink
            } else {
                Kind::Other
            },
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec() as u32),
            ctime: (meta.ctime(), meta.ctime_nsec() as u32),
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

impl From<&Statx> for FileStat {
    fn from(stat: &Statx) -> FileStat {
        FileStat {
            kind: match FileType::from_raw_mode(RawMode::from(stat.stx_mode)) {
                FileType::RegularFile => Kind::File,
                FileType::Directory => Kind::Dir,
                FileType::Symlink => Kind::Symlink,
                _ => Kind::Other,
            },
            len: stat.stx_size,
            mtime: (stat.stx_mtime.tv_sec, stat.stx_mtime.tv_nsec),
            ctime: (stat.stx_ctime.tv_sec, stat.stx_ctime.tv_nsec),
            dev: makedev(stat.stx_dev_major, stat.stx_dev_minor),
            ino: stat.stx_ino,
        }
    }
}

/// The file's `Last-Modified`: its modification time, truncated to whole
/// seconds as HTTP-dates are, and never later than now.
///
/// RFC 9110 §8.8.2.1: "If the last modification time is derived from
/// implementation-specific metadata that evaluates to some time in the
/// future, according to the origin server's clock, then the origin server
/// MUST replace that value with the message origination date."
pub fn modified(meta: &Metadata) -> SystemTime {
    last_modified(&FileStat::from(meta))
}

/// [`modified`] of a [`FileStat`].
pub fn last_modified(stat: &FileStat) -> SystemTime {
    let secs = u64::try_from(stat.mtime.0).unwrap_or(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    UNIX_EPOCH + Duration::from_secs(secs.min(now))
}

/// A strong entity tag from the modification time and the size
/// (RFC 9110 §8.8.3): it changes whenever either does.
pub fn etag(meta: &Metadata) -> String {
    entity_tag(&FileStat::from(meta))
}

/// [`etag`] of a [`FileStat`]. Each thread keeps the last one it made: a
/// server asked for one file again and again makes it once.
pub fn entity_tag(stat: &FileStat) -> String {
    let key = (stat.mtime, stat.len);
    LAST_TAG.with(|last| {
        let mut last = last.borrow_mut();
        match &*last {
            Some((made_for, tag)) if *made_for == key => tag.clone(),
            _ => {
                let mut tag = String::with_capacity(2 + 32 + 1 + 16);
                tag.push('"');
                push_hex(&mut tag, stat.mtime_nanos());
                tag.push('-');
                push_hex(&mut tag, u128::from(stat.len));
                tag.push('"');
                *last = Some((key, tag.clone()));
                tag
            }
        }
    })
}

thread_local! {
    /// The last entity tag this thread made, and the time and length it
    /// was made from.
    static LAST_TAG: RefCell<Option<(TagSource, String)>> = const { RefCell::new(None) };
}

/// What an entity tag is made from: the modification time and the length.
type TagSource = ((i64, u32), u64);

/// Appends `n` in lowercase hexadecimal, as `{:x}` writes it.
fn push_hex(out: &mut String, n: u128) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = [0u8; 32];
    let mut at = text.len();
    // In 64-bit halves: a shift of a u128 costs several instructions.
    let (mut high, mut low) = ((n >> 64) as u64, n as u64);
    for _ in 0..16 {
        at -= 1;
        text[at] = DIGITS[(low & 0xf) as usize];
        low >>= 4;
        if low == 0 && high == 0 {
            break;
        }
    }
    while high != 0 {
        at -= 1;
        text[at] = DIGITS[(high & 0xf) as usize];
        high >>= 4;
    }
    out.push_str(std::str::from_utf8(&text[at..]).unwrap_or("0"));
}

/// The content of small files, kept between requests while each file is
/// unchanged: a request for one costs no open, read or close.
///
/// Every request has just `lstat`ed the file to resolve it; an entry is used
/// only when that stat (device, inode, size, modification and change times)
/// is the one the content was read under, so an edited file is read again.
#[derive(Debug, Default)]
pub(crate) struct SmallFiles {
    entries: RwLock<Cache>,
}

/// The cached files by device and inode: the file a path resolved to,
/// whichever path named it.
#[derive(Debug, Default)]
struct Cache {
    files: OwnKeyMap<(u64, u64), Cached>,
    bytes: usize,
}

/// One file's content and the stat it was read under.
type Cached = (FileStat, Arc<[u8]>);

/// A map keyed by numbers the server makes or reads itself (connection
/// ids, device and inode numbers), never by a client's bytes, hashed with
/// [`OwnKeys`].
pub(crate) type OwnKeyMap<K, V> = HashMap<K, V, BuildHasherDefault<OwnKeys>>;

/// A hasher of one multiplication per word (as rustc's own FxHash), for
/// keys no client chooses: the default SipHash guards against keys picked
/// to collide, at ten times the cost, and nothing here needs that.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct OwnKeys(u64);

impl Hasher for OwnKeys {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

impl SmallFiles {
    /// The content of the file at `path`, which `stamp` describes and
    /// which is at most `MAX_CACHED_FILE` long. Fails if the file cannot be
    /// read or no longer has `stamp`'s length.
    pub fn content(&self, path: &Path, stamp: &FileStat) -> io::Result<Arc<[u8]>> {
        let stamp = *stamp;
        let key = (stamp.dev, stamp.ino);
        let cache = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        if let Some((cached, bytes)) = cache.files.get(&key) {
            if *cached == stamp {
                return Ok(Arc::clone(bytes));
            }
        }
        drop(cache);
        let mut bytes = Vec::with_capacity(stamp.len as usize);
        File::open(path)?
            .take(MAX_CACHED_FILE)
            .read_to_end(&mut bytes)?;
        if bytes.len() as u64 != stamp.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file changed size",
            ));
        }
        let bytes: Arc<[u8]> = bytes.into();
        let mut cache = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, old)) = cache.files.remove(&key) {
            cache.bytes -= old.len();
        }
        // Past the budget, new files are served uncached rather than evicting.
        if cache.bytes + bytes.len() <= MAX_CACHE_BYTES {
            cache.bytes += bytes.len();
            cache.files.insert(key, (stamp, Arc::clone(&bytes)));
        }
        Ok(bytes)
    }
}

/// An HTML listing of `dir`: directories first, then files, each sorted by
/// name; names HTML-escaped, links percent-encoded. `shown` is the path as
/// the client asked for it.
pub(crate) fn listing(dir: &Path, shown: &str) -> io::Result<String> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let is_dir = entry.file_type()?.is_dir();
        entries.push((!is_dir, entry.file_name()));
    }
    entries.sort();
    let title = escape_html(shown);
    let mut html = format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Index of {title}</title></head>\n\
<body>\n<h1>Index of {title}</h1>\n<ul>\n<li><a href=\"../\">../</a></li>\n"
    );
    for (is_file, name) in entries {
        let name = name.to_string_lossy();
        let slash = if is_file { "" } else { "/" };
        html.push_str(&format!(
            "<li><a href=\"{}{slash}\">{}{slash}</a></li>\n",
            encode_href(&name),
            escape_html(&name)
        ));
    }
    html.push_str("</ul>\n</body></html>\n");
    Ok(html)
}

/// Escapes the five characters HTML gives meaning to in text and attributes.
pub(crate) fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a file name for a relative link: everything but
/// RFC 3986 unreserved characters.
fn encode_href(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_by_extension() {
        for (name, expected) in [
            ("a.html", "text/html; charset=utf-8"),
            ("a.TXT", "text/plain; charset=utf-8"),
            ("a.json", "application/json"),
            ("a.png", "image/png"),
            ("Makefile", "application/octet-stream"),
            ("/r/.txt", "application/octet-stream"),
            ("/r.d/a", "application/octet-stream"),
            ("/r/a.tar.GZ", "application/gzip"),
            ("/r/a.", "application/octet-stream"),
            ("/r/a.verylongext", "application/octet-stream"),
        ] {
            assert_eq!(content_type(Path::new(name)), expected, "{name}");
        }
    }

    #[test]
    fn listing_escapes_names_and_puts_directories_first() {
        let dir = Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../fixtures/root/listing"
        ));
        let html = listing(dir, "/listing/").unwrap();
        let items: Vec<&str> = html.lines().filter(|l| l.starts_with("<li>")).collect();
        assert_eq!(
            items,
            vec![
                "<li><a href=\"../\">../</a></li>",
                "<li><a href=\"sub/\">sub/</a></li>",
                "<li><a href=\"a%26b%20%3Cc%3E%20%22d%22.txt\">a&amp;b &lt;c&gt; &quot;d&quot;.txt</a></li>",
                "<li><a href=\"notes.txt\">notes.txt</a></li>",
            ]
        );
    }

    #[test]
    fn small_files_are_read_again_when_they_change() {
        let dir = std::env::temp_dir().join(format!("small-files-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.txt");
        fs::write(&path, "first").unwrap();
        let cache = SmallFiles::default();
        let meta = FileStat::from(&fs::symlink_metadata(&path).unwrap());
        assert_eq!(&*cache.content(&path, &meta).unwrap(), b"first");
        assert_eq!(&*cache.content(&path, &meta).unwrap(), b"first");
        fs::write(&path, "second!").unwrap();
        let meta = FileStat::from(&fs::symlink_metadata(&path).unwrap());
        assert_eq!(&*cache.content(&path, &meta).unwrap(), b"second!");
        // A file that changes between its stat and its read is refused.
        let other = dir.join("b.txt");
        fs::write(&other, "abc").unwrap();
        let stale = FileStat::from(&fs::symlink_metadata(&other).unwrap());
        fs::write(&other, "abcdef").unwrap();
        assert!(cache.content(&other, &stale).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn etag_is_the_modification_time_in_nanoseconds_and_the_size_in_hex() {
        let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/root"));
        for name in ["hello.txt", "index.html", "listing"] {
            let meta = fs::metadata(root.join(name)).unwrap();
            let nanos = meta
                .modified()
                .unwrap()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos();
            assert_eq!(etag(&meta), format!("\"{nanos:x}-{:x}\"", meta.len()));
        }
        for n in [
            0u128,
            1,
            0xf,
            0x10,
            0xdead_beef,
            1 << 64,
            (1 << 64) + 5,
            u128::MAX,
        ] {
            let mut text = String::new();
            push_hex(&mut text, n);
            assert_eq!(text, format!("{n:x}"));
        }
    }

    #[test]
    fn escape_html_escapes_all_five() {
        assert_eq!(
            escape_html("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }
}
