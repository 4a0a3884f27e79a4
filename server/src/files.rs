//! Static files: content types, validators, and directory listings.

use std::collections::HashMap;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::limits::{MAX_CACHED_FILE, MAX_CACHE_BYTES};

/// The media type for a file name's extension.
pub(crate) fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
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

/// The file's `Last-Modified`: its modification time, truncated to whole
/// seconds as HTTP-dates are, and never later than now.
///
/// RFC 9110 §8.8.2.1: "If the last modification time is derived from
/// implementation-specific metadata that evaluates to some time in the
/// future, according to the origin server's clock, then the origin server
/// MUST replace that value with the message origination date."
pub fn modified(meta: &Metadata) -> SystemTime {
    let time = meta.modified().unwrap_or(UNIX_EPOCH).min(SystemTime::now());
    let secs = time
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A strong entity tag from the modification time and the size
/// (RFC 9110 §8.8.3): it changes whenever either does.
pub fn etag(meta: &Metadata) -> String {
    let nanos = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("\"{nanos:x}-{:x}\"", meta.len())
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

#[derive(Debug, Default)]
struct Cache {
    files: HashMap<PathBuf, (Stamp, Arc<[u8]>)>,
    bytes: usize,
}

/// What identifies one version of a file's content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    len: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
}

impl Stamp {
    fn of(meta: &Metadata) -> Stamp {
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            len: meta.len(),
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
        }
    }
}

impl SmallFiles {
    /// The content of the file at `path`, which `meta` describes and which
    /// is at most `MAX_CACHED_FILE` long. Fails if the file cannot be read
    /// or no longer has `meta`'s length.
    pub fn content(&self, path: &Path, meta: &Metadata) -> io::Result<Arc<[u8]>> {
        let stamp = Stamp::of(meta);
        let cache = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        if let Some((cached, bytes)) = cache.files.get(path) {
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
        if let Some((_, old)) = cache.files.remove(path) {
            cache.bytes -= old.len();
        }
        // Past the budget, new files are served uncached rather than evicting.
        if cache.bytes + bytes.len() <= MAX_CACHE_BYTES {
            cache.bytes += bytes.len();
            cache
                .files
                .insert(path.to_path_buf(), (stamp, Arc::clone(&bytes)));
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
        let meta = fs::symlink_metadata(&path).unwrap();
        assert_eq!(&*cache.content(&path, &meta).unwrap(), b"first");
        assert_eq!(&*cache.content(&path, &meta).unwrap(), b"first");
        fs::write(&path, "second!").unwrap();
        let meta = fs::symlink_metadata(&path).unwrap();
        assert_eq!(&*cache.content(&path, &meta).unwrap(), b"second!");
        // A file that changes between its stat and its read is refused.
        let other = dir.join("b.txt");
        fs::write(&other, "abc").unwrap();
        let stale = fs::symlink_metadata(&other).unwrap();
        fs::write(&other, "abcdef").unwrap();
        assert!(cache.content(&other, &stale).is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn escape_html_escapes_all_five() {
        assert_eq!(
            escape_html("<a href='x'>&\"</a>"),
            "&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;"
        );
    }
}
