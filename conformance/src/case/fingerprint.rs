//! The catalogue's short content hash, shared by the build script (which
//! names the compiled-in catalogue in `--version`) and the library (which
//! names a `--cases DIR` catalogue the same way).
//!
//! FNV-1a over each file's name and bytes in name order: not cryptographic,
//! only a stable name for "these exact case files".

/// FNV-1a 64-bit offset basis.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
/// FNV-1a 64-bit prime.
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// The hash of `(file name, text)` pairs, which must be sorted by name, as
/// 12 lowercase hex digits.
pub fn fingerprint<'a>(files: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut hash = FNV_OFFSET;
    let mut feed = |bytes: &[u8]| {
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(FNV_PRIME);
        }
    };
    for (name, text) in files {
        feed(name.as_bytes());
        feed(&[0]);
        feed(text.as_bytes());
        feed(&[0]);
    }
    format!("{:012x}", hash >> 16)
}
