#![allow(dead_code, unused_imports)]
use crate::support::*;
use std::path::Path;
pub fn show(label: &str, cmd: &mut assert_cmd::Command) {
    let o = cmd.output().unwrap();
    println!(
        "=== {label} code={:?}\n--- stdout\n{}\n--- stderr\n{:?}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}
