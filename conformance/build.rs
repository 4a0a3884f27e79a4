//! Compiles the case catalogue (`fixtures/cases/*.toml`) into the binary, so
//! an installed or copied `conformance` needs no checkout to find its cases.
//!
//! Writes `$OUT_DIR/catalogue.rs`: every case file's name and text (through
//! `include_str!`, so cargo rebuilds when one changes), their count and
//! their fingerprint for `--version`; and the chain cases
//! (`fixtures/chain-cases/*.toml`) the same way.

use std::fmt::Write as _;
use std::path::PathBuf;

#[path = "src/case/fingerprint.rs"]
mod fingerprint;

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let dir = manifest.join("../fixtures/cases");
    // A directory: cargo rebuilds when any file in it is added, removed or changed.
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<(String, String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read the case directory {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "toml") && path.is_file())
        .map(|path| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            (name, text, path)
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let hash = fingerprint::fingerprint(files.iter().map(|(n, t, _)| (n.as_str(), t.as_str())));
    let mut out =
        String::from("/// Every case file compiled in: (file name, text), sorted by name.\n");
    out.push_str("pub static FILES: &[(&str, &str)] = &[\n");
    for (name, _, path) in &files {
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let _ = writeln!(
        out,
        "/// The fingerprint of [`FILES`].\npub const FINGERPRINT: &str = {hash:?};"
    );
    // The chain catalogue (`fixtures/chain-cases/*.toml`), for `conformance chain`.
    let chain_dir = manifest.join("../fixtures/chain-cases");
    println!("cargo:rerun-if-changed={}", chain_dir.display());
    let mut chain_files: Vec<(String, PathBuf)> = std::fs::read_dir(&chain_dir)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.extension().is_some_and(|e| e == "toml") && path.is_file())
                .map(|path| {
                    let name = path
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    (name, path)
                })
                .collect()
        })
        .unwrap_or_default();
    chain_files.sort();
    out.push_str(
        "/// Every chain case file compiled in: (file name, text), sorted by name.\n\
         pub static CHAIN_FILES: &[(&str, &str)] = &[\n",
    );
    for (name, path) in &chain_files {
        let _ = writeln!(
            out,
            "    ({name:?}, include_str!({:?})),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    // The matrix `make matrix` wrote, so that `explain` shows what real
    // servers answered wherever the binary runs.
    let matrix = manifest.join("../matrix/results.json");
    println!("cargo:rerun-if-changed={}", matrix.display());
    let _ = if matrix.is_file() {
        writeln!(
            out,
            "/// The matrix of real servers' answers at build time.\n\
             pub const MATRIX: Option<&str> = Some(include_str!({:?}));",
            matrix.display().to_string()
        )
    } else {
        writeln!(
            out,
            "/// No matrix at build time.\npub const MATRIX: Option<&str> = None;"
        )
    };
    // The registry of testable requirements, for `conformance coverage`.
    let requirements = manifest.join("../fixtures/requirements.toml");
    println!("cargo:rerun-if-changed={}", requirements.display());
    let _ = if requirements.is_file() {
        writeln!(
            out,
            "/// The registry of testable requirements.\n\
             pub const REQUIREMENTS: Option<&str> = Some(include_str!({:?}));",
            requirements.display().to_string()
        )
    } else {
        writeln!(
            out,
            "/// No registry at build time.\npub const REQUIREMENTS: Option<&str> = None;"
        )
    };
    // The fixture docroot (`fixtures/root`), which `conformance chain
    // --catalogue` serves from its origin behind the front.
    let root = manifest.join("../fixtures/root");
    let mut fixtures = Vec::new();
    fixture_files(&root, &root, &mut fixtures);
    fixtures.sort();
    out.push_str(
        "/// Every file of the fixture docroot: (path under it, content), sorted.\n\
         pub static FIXTURE_ROOT: &[(&str, &[u8])] = &[\n",
    );
    for (name, path) in &fixtures {
        let _ = writeln!(
            out,
            "    ({name:?}, include_bytes!({:?})),",
            path.display().to_string()
        );
    }
    out.push_str("];\n");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("out dir"));
    std::fs::write(out_dir.join("catalogue.rs"), out).expect("write catalogue.rs");
    println!(
        "cargo:rustc-env=CONFORMANCE_VERSION={} (catalogue: {} cases, {hash})",
        std::env::var("CARGO_PKG_VERSION").unwrap_or_default(),
        files.len()
    );
}

/// Every file under `dir`, as (its path under `root` with `/` between
/// names, its path), each directory watched for changes.
fn fixture_files(root: &std::path::Path, dir: &std::path::Path, out: &mut Vec<(String, PathBuf)>) {
    println!("cargo:rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if path.is_dir() {
            fixture_files(root, &path, out);
        } else if path.is_file() {
            let name = path
                .strip_prefix(root)
                .map(|p| {
                    p.components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/")
                })
                .unwrap_or_default();
            out.push((name, path));
        }
    }
}
