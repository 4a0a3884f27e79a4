//! Serving files to hostile paths: traversal in every spelling never
//! returns a byte from outside the root, names that HTML gives meaning to
//! are escaped in listings, and no response shows a filesystem path.

use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::symlink;

use rstest::rstest;
use rstest_reuse::apply;

use crate::both_modes;
use server::Mode;

use crate::support::{quiet_config, text, TempRoot, TestServer};

/// The content of `secret.txt`, beside the root.
const SECRET: &str = "TOP SECRET: this file lies outside the root\n";

/// A root holding a file, a subdirectory and symlinks out of it, with
/// `secret.txt` beside it.
fn jail(mode: Mode) -> TempRoot {
    let temp = TempRoot::new(&format!("traversal-{}", mode.name()));
    let root = temp.root();
    temp.file("hello.txt", b"inside\n");
    fs::create_dir(root.join("sub")).unwrap();
    fs::write(root.join("sub/inner.txt"), "inner\n").unwrap();
    fs::write(temp.dir.join("secret.txt"), SECRET).unwrap();
    symlink(temp.dir.join("secret.txt"), root.join("link.txt")).unwrap();
    symlink("../secret.txt", root.join("relative-link.txt")).unwrap();
    symlink("..", root.join("up")).unwrap();
    symlink("../../secret.txt", root.join("sub/up-link.txt")).unwrap();
    symlink("/", root.join("slash")).unwrap();
    temp
}

/// Every spelling of a way out, and the status it must get: 403 when the
/// path leaves the root after decoding and dot-segment removal (or through
/// a symlink), 404 when it names nothing under the root, 400 when it is
/// not a valid target or path.
fn spellings(temp: &TempRoot) -> Vec<(&'static str, Vec<u8>, u16)> {
    let dir = temp.dir.to_str().unwrap();
    let mut cases: Vec<(&'static str, Vec<u8>, u16)> = [
        // Dot-segments (RFC 3986 §5.2.4).
        ("dotdot", "/../secret.txt", 403),
        ("dotdot_from_subdirectory", "/sub/../../secret.txt", 403),
        ("dotdot_after_dot", "/./../secret.txt", 403),
        ("dotdot_mixed_with_dots", "/sub/./.././../secret.txt", 403),
        ("dotdot_alone", "/..", 403),
        ("dotdot_directory", "/../", 403),
        ("dotdot_back_to_the_root", "/sub/..", 200),
        ("four_dots", "/..../secret.txt", 404),
        ("three_dots", "/.../secret.txt", 404),
        ("dotdot_semicolon", "/..;/secret.txt", 404),
        // Percent-encoded, in either case.
        ("encoded_dotdot", "/%2e%2e/secret.txt", 403),
        ("encoded_dotdot_uppercase", "/%2E%2E/secret.txt", 403),
        ("encoded_dotdot_mixed_case", "/%2e%2E/secret.txt", 403),
        ("half_encoded_dotdot", "/.%2e/secret.txt", 403),
        ("other_half_encoded_dotdot", "/%2E./secret.txt", 403),
        ("encoded_slash", "/..%2fsecret.txt", 403),
        ("encoded_slash_uppercase", "/..%2Fsecret.txt", 403),
        ("all_encoded", "/%2e%2e%2fsecret.txt", 403),
        (
            "encoded_from_subdirectory",
            "/sub%2f..%2f..%2fsecret.txt",
            403,
        ),
        // Decoded once, never twice: `%252e` is a literal `%2e`.
        ("double_encoded_dotdot", "/%252e%252e/secret.txt", 404),
        ("double_encoded_slash", "/%252e%252e%252fsecret.txt", 404),
        (
            "double_encoded_percent",
            "/%25%32%65%25%32%65/secret.txt",
            404,
        ),
        // A backslash is not a separator on this file system.
        ("encoded_backslash", "/..%5csecret.txt", 404),
        ("encoded_backslashes", "/%5c..%5c..%5csecret.txt", 404),
        ("drive_letter", "/C:%5csecret.txt", 404),
        // Overlong UTF-8 for `.`, `/` and `\`, and look-alikes: bytes of a
        // name, never a dot or a separator.
        ("overlong_dot", "/%c0%ae%c0%ae/secret.txt", 404),
        ("overlong_slash", "/..%c0%afsecret.txt", 404),
        ("overlong_backslash", "/..%c1%9csecret.txt", 404),
        (
            "overlong_dot_three_bytes",
            "/%e0%80%ae%e0%80%ae/secret.txt",
            404,
        ),
        (
            "overlong_dot_four_bytes",
            "/%f0%80%80%ae%f0%80%80%ae/secret.txt",
            404,
        ),
        ("fullwidth_dots", "/%ef%bc%8e%ef%bc%8e/secret.txt", 404),
        ("iis_unicode_escape", "/%u002e%u002e/secret.txt", 400),
        // NUL, decoded: no file name contains one.
        ("encoded_nul", "/secret.txt%00", 400),
        ("encoded_nul_before_extension", "/hello.txt%00.png", 400),
        ("encoded_nul_in_dotdot", "/..%00/secret.txt", 400),
        // Symlinks: followed only to a destination under the root.
        ("symlink_to_a_file_outside", "/link.txt", 403),
        ("relative_symlink_outside", "/relative-link.txt", 403),
        ("symlink_to_the_parent", "/up/secret.txt", 403),
        ("symlink_to_the_parent_listed", "/up/", 403),
        ("symlink_to_the_parent_unslashed", "/up", 403),
        ("symlink_in_a_subdirectory", "/sub/up-link.txt", 403),
        ("symlink_to_the_filesystem_root", "/slash/etc/passwd", 403),
        ("encoded_symlink_name", "/%75p/secret.txt", 403),
        ("symlink_back_inside", "/up/root/hello.txt", 200),
        // Target forms.
        ("absolute_form_dotdot", "http://a/../secret.txt", 403),
        ("absolute_form_encoded", "http://a/%2e%2e/secret.txt", 403),
        ("authority_of_dots", "http://../secret.txt", 404),
        ("relative_target", "../secret.txt", 400),
        ("bare_name", "secret.txt", 400),
        ("file_scheme", "file:///etc/passwd", 400),
        (
            "traversal_in_the_query",
            "/hello.txt?/../../secret.txt",
            200,
        ),
        (
            "many_dotdots",
            "/../../../../../../../../../../../../../../etc/passwd",
            403,
        ),
    ]
    .into_iter()
    .map(|(name, target, status)| (name, target.as_bytes().to_vec(), status))
    .collect();
    // Absolute filesystem paths are paths under the root.
    cases.push((
        "absolute_path",
        format!("{dir}/secret.txt").into_bytes(),
        404,
    ));
    cases.push((
        "absolute_path_doubled",
        format!("/{dir}/secret.txt").into_bytes(),
        404,
    ));
    cases.push((
        "absolute_path_encoded",
        format!("/%2F{}/secret.txt", &dir[1..]).into_bytes(),
        404,
    ));
    // Bytes a request-target cannot contain (RFC 9112 §3.2).
    cases.push(("raw_backslash", b"/..\\secret.txt".to_vec(), 400));
    cases.push(("raw_nul", b"/\0../secret.txt".to_vec(), 400));
    cases.push((
        "raw_non_ascii",
        b"/\xc0\xae\xc0\xae/secret.txt".to_vec(),
        400,
    ));
    cases.push(("fragment", b"/hello.txt#/../secret.txt".to_vec(), 400));
    cases
}

/// Sends `GET target` on a connection of its own; returns every byte of
/// the answer.
fn get_raw(server: &TestServer, target: &[u8]) -> Vec<u8> {
    let mut stream = server.connect();
    let request = [
        b"GET ",
        target,
        b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    ]
    .concat();
    stream.write_all(&request).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    answer
}

fn status_of(answer: &[u8]) -> Option<u16> {
    let line = answer.strip_prefix(b"HTTP/1.1 ")?;
    std::str::from_utf8(line.get(..3)?).ok()?.parse().ok()
}

#[apply(both_modes)]
fn traversal_in_every_spelling_never_leaves_the_root(mode: Mode) {
    let temp = jail(mode);
    let server = TestServer::start_with(mode, quiet_config(temp.root()));
    let dir = temp.dir.to_str().unwrap().to_owned();
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let mut wrong = Vec::new();
    for (name, target, expected) in spellings(&temp) {
        let answer = get_raw(&server, &target);
        let shown = text(&answer);
        if status_of(&answer) != Some(expected) {
            wrong.push(format!(
                "{name}: expected {expected}, got {:?}",
                shown.lines().next()
            ));
        }
        if shown.contains(SECRET.trim_end()) || (!passwd.is_empty() && shown.contains(&passwd)) {
            wrong.push(format!("{name}: a file outside the root was served"));
        }
        if shown.contains(&dir) {
            wrong.push(format!("{name}: the filesystem path leaked: {shown:?}"));
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[apply(both_modes)]
fn no_response_shows_a_filesystem_path(mode: Mode) {
    let temp = jail(mode);
    let server = TestServer::start_with(mode, quiet_config(temp.root()));
    let root = temp.root();
    let shapes: [(&[u8], u16); 8] = [
        (b"/", 200),
        (b"/sub/", 200),
        (b"/sub", 301),
        (b"/hello.txt", 200),
        (b"/missing.txt", 404),
        (b"/../secret.txt", 403),
        (b"/%zz", 400),
        (b"/hello.txt/", 404),
    ];
    for (target, status) in shapes {
        let answer = get_raw(&server, target);
        let shown = text(&answer);
        assert_eq!(status_of(&answer), Some(status), "{shown}");
        for path in [&temp.dir, &root] {
            assert!(
                !shown.contains(path.to_str().unwrap()),
                "{} leaked in {shown}",
                path.display()
            );
        }
        assert!(!shown.contains("/tmp"), "{shown}");
    }
}

#[apply(both_modes)]
fn names_with_markup_are_escaped_in_listings(mode: Mode) {
    let temp = TempRoot::new(&format!("markup-{}", mode.name()));
    let root = temp.root();
    temp.file("<script>&\"'.txt", b"a file named like markup\n");
    fs::create_dir(root.join("<b>&\"'")).unwrap();
    fs::write(root.join("<b>&\"'/<i>.txt"), "inner\n").unwrap();
    let server = TestServer::start_with(mode, quiet_config(root.clone()));
    let body = |answer: Vec<u8>| {
        let shown = text(&answer);
        assert_eq!(status_of(&answer), Some(200), "{shown}");
        shown.split_once("\r\n\r\n").unwrap().1.to_owned()
    };

    assert_eq!(
        body(get_raw(&server, b"/")),
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Index of /</title></head>\n\
<body>\n<h1>Index of /</h1>\n<ul>\n<li><a href=\"../\">../</a></li>\n\
<li><a href=\"%3Cb%3E%26%22%27/\">&lt;b&gt;&amp;&quot;&#39;/</a></li>\n\
<li><a href=\"%3Cscript%3E%26%22%27.txt\">&lt;script&gt;&amp;&quot;&#39;.txt</a></li>\n\
</ul>\n</body></html>\n"
    );
    // The title shows the path the client asked for, decoded, escaped.
    assert_eq!(
        body(get_raw(&server, b"/%3Cb%3E%26%22%27/")),
        "<!doctype html>\n<html><head><meta charset=\"utf-8\">\
<title>Index of /&lt;b&gt;&amp;&quot;&#39;/</title></head>\n\
<body>\n<h1>Index of /&lt;b&gt;&amp;&quot;&#39;/</h1>\n<ul>\n<li><a href=\"../\">../</a></li>\n\
<li><a href=\"%3Ci%3E.txt\">&lt;i&gt;.txt</a></li>\n</ul>\n</body></html>\n"
    );
    // Each link leads to its file.
    assert_eq!(
        body(get_raw(&server, b"/%3Cscript%3E%26%22%27.txt")),
        "a file named like markup\n"
    );
    assert_eq!(
        body(get_raw(&server, b"/%3Cb%3E%26%22%27/%3Ci%3E.txt")),
        "inner\n"
    );
}
