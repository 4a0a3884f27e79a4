//! Well-formed GET and HEAD through a real client (ureq), and the static
//! file rules: types, validators, 304, listings, redirects, the root's edge.

use std::fs;
use std::path::PathBuf;

use rstest::rstest;
use rstest_reuse::apply;

use crate::both_modes;
use server::Mode;

use crate::support::{assert_imf_fixdate, assert_reply, fixtures_root, quiet_config, TestServer};

fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new().redirects(0).build()
}

fn get(server: &TestServer, path: &str) -> ureq::Response {
    let url = format!("http://{}{path}", server.addr);
    match agent().get(&url).call() {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(e) => panic!("GET {path}: {e}"),
    }
}

fn header_names(response: &ureq::Response) -> Vec<String> {
    response.headers_names()
}

#[apply(both_modes)]
#[case::text("/hello.txt", "text/plain; charset=utf-8")]
#[case::html("/index.html", "text/html; charset=utf-8")]
#[case::css("/style.css", "text/css; charset=utf-8")]
#[case::json("/data.json", "application/json")]
fn get_serves_the_file_with_type_and_validators(
    mode: Mode,
    #[case] path: &str,
    #[case] content_type: &str,
) {
    let server = TestServer::start(mode);
    let response = get(&server, path);
    let on_disk = fs::read(fixtures_root().join(&path[1..])).unwrap();
    let meta = fs::metadata(fixtures_root().join(&path[1..])).unwrap();
    assert_eq!((response.status(), response.status_text()), (200, "OK"));
    let mut expected = vec![
        "date",
        "content-type",
        "last-modified",
        "etag",
        "accept-ranges",
        "content-length",
    ];
    if server.closes_always() {
        expected.push("connection");
    }
    assert_eq!(header_names(&response), expected);
    assert_eq!(response.header("Content-Type"), Some(content_type));
    assert_eq!(
        response.header("Content-Length"),
        Some(on_disk.len().to_string().as_str())
    );
    let last_modified = response.header("Last-Modified").unwrap().to_owned();
    assert_imf_fixdate(&last_modified);
    assert_eq!(
        httpdate::parse_http_date(&last_modified).unwrap(),
        server::files::modified(&meta)
    );
    assert_eq!(
        response.header("ETag"),
        Some(server::files::etag(&meta).as_str())
    );
    assert_eq!(response.header("Accept-Ranges"), Some("bytes"));
    let mut body = Vec::new();
    response.into_reader().read_to_end(&mut body).unwrap();
    assert_eq!(body, on_disk);
}

use std::io::Read;

/// RFC 9110 §9.3.2: "The server SHOULD send the same header fields in
/// response to a HEAD request as it would have sent if the request method
/// had been GET" — for a file, a directory's index and a listing alike.
#[apply(both_modes)]
#[case::file("/index.html")]
#[case::index("/docs/")]
#[case::listing("/listing/")]
fn head_has_the_get_headers_and_no_body(mode: Mode, #[case] path: &str) {
    let server = TestServer::start(mode);
    let url = format!("http://{}{path}", server.addr);
    let get = agent().get(&url).call().unwrap();
    let head = agent().head(&url).call().unwrap();
    for name in [
        "Content-Type",
        "Content-Length",
        "Last-Modified",
        "ETag",
        "Accept-Ranges",
    ] {
        assert_eq!(head.header(name), get.header(name), "{name}");
    }
    let validators = ["Last-Modified", "ETag", "Accept-Ranges"].map(|n| get.header(n).is_some());
    // A listing, made for each request, has no validators and no ranges.
    assert_eq!(validators, [path != "/listing/"; 3]);
    assert_eq!(header_names(&head), header_names(&get));
    let mut body = Vec::new();
    head.into_reader().read_to_end(&mut body).unwrap();
    assert!(body.is_empty());
}

#[apply(both_modes)]
#[case::if_none_match_same("If-None-Match", None)]
#[case::if_none_match_weak("If-None-Match", Some("W/{etag}"))]
#[case::if_none_match_list("If-None-Match", Some("\"other\", {etag}"))]
#[case::if_none_match_star("If-None-Match", Some("*"))]
#[case::if_modified_since_same("If-Modified-Since", None)]
#[case::if_modified_since_later("If-Modified-Since", Some("Fri, 01 Jan 2100 00:00:00 GMT"))]
fn matching_condition_is_304(mode: Mode, #[case] field: &str, #[case] value: Option<&str>) {
    let server = TestServer::start(mode);
    let first = get(&server, "/hello.txt");
    let etag = first.header("ETag").unwrap().to_owned();
    let last_modified = first.header("Last-Modified").unwrap().to_owned();
    let value = match (field, value) {
        ("If-None-Match", None) => etag.clone(),
        (_, None) => last_modified.clone(),
        (_, Some(v)) => v.replace("{etag}", &etag),
    };
    let url = format!("http://{}/hello.txt", server.addr);
    let response = agent().get(&url).set(field, &value).call().unwrap();
    assert_eq!(
        (response.status(), response.status_text()),
        (304, "Not Modified")
    );
    assert_eq!(response.header("ETag"), Some(etag.as_str()));
    assert_eq!(
        response.header("Last-Modified"),
        Some(last_modified.as_str())
    );
    assert_eq!(response.header("Content-Length"), Some("14"));
    assert_eq!(response.header("Accept-Ranges"), Some("bytes"));
    assert_eq!(response.header("Content-Type"), None);
    let mut body = Vec::new();
    response.into_reader().read_to_end(&mut body).unwrap();
    assert!(body.is_empty());
}

#[apply(both_modes)]
#[case::other_etag("If-None-Match", "\"nope\"")]
#[case::modified_since_earlier("If-Modified-Since", "Thu, 01 Jan 1970 00:00:01 GMT")]
#[case::invalid_date("If-Modified-Since", "yesterday")]
fn failing_condition_is_200(mode: Mode, #[case] field: &str, #[case] value: &str) {
    let server = TestServer::start(mode);
    let url = format!("http://{}/hello.txt", server.addr);
    let response = agent().get(&url).set(field, value).call().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.into_string().unwrap(), "Hello, world!\n");
}

#[apply(both_modes)]
#[case::plain("/docs", "/docs/")]
#[case::with_query("/listing/sub?x=1", "/listing/sub/?x=1")]
#[case::encoded("/%64ocs", "/%64ocs/")]
fn directory_without_slash_is_301(mode: Mode, #[case] path: &str, #[case] location: &str) {
    let server = TestServer::start(mode);
    let request = format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n");
    let (reply, _) = server.exchange(request.as_bytes());
    let body = format!("301 Moved Permanently: {location}\n");
    let len = body.len().to_string();
    let mut headers = vec![
        ("Location", location),
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", len.as_str()),
    ];
    if server.closes_always() {
        headers.push(("Connection", "close"));
    }
    assert_reply(
        &reply,
        "HTTP/1.1 301 Moved Permanently",
        &headers,
        body.as_bytes(),
    );
}

#[apply(both_modes)]
fn directory_with_index_serves_it(mode: Mode) {
    let server = TestServer::start(mode);
    let response = get(&server, "/docs/");
    assert_eq!(
        response.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    let expected = fs::read_to_string(fixtures_root().join("docs/index.html")).unwrap();
    assert_eq!(response.into_string().unwrap(), expected);
}

#[apply(both_modes)]
fn directory_without_index_is_listed_escaped(mode: Mode) {
    let server = TestServer::start(mode);
    let response = get(&server, "/listing/");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.header("Content-Type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        response.into_string().unwrap(),
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Index of /listing/</title></head>\n\
<body>\n<h1>Index of /listing/</h1>\n<ul>\n<li><a href=\"../\">../</a></li>\n\
<li><a href=\"sub/\">sub/</a></li>\n\
<li><a href=\"a%26b%20%3Cc%3E%20%22d%22.txt\">a&amp;b &lt;c&gt; &quot;d&quot;.txt</a></li>\n\
<li><a href=\"notes.txt\">notes.txt</a></li>\n</ul>\n</body></html>\n"
    );
}

#[apply(both_modes)]
fn file_with_escaped_name_is_served(mode: Mode) {
    let server = TestServer::start(mode);
    let response = get(&server, "/listing/a%26b%20%3Cc%3E%20%22d%22.txt");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.into_string().unwrap(),
        "A file whose name needs HTML escaping in a listing.\n"
    );
}

/// A temporary root with a symlink to a file outside it and one to a
/// directory outside it, removed on drop.
struct SymlinkRoot {
    dir: PathBuf,
}

impl SymlinkRoot {
    fn new(tag: &str) -> SymlinkRoot {
        let dir = std::env::temp_dir().join(format!("http-server-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("root/inner")).unwrap();
        fs::write(dir.join("secret.txt"), "outside the root").unwrap();
        fs::write(dir.join("root/inner/ok.txt"), "inside").unwrap();
        std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("root/secret.txt")).unwrap();
        std::os::unix::fs::symlink(&dir, dir.join("root/up")).unwrap();
        std::os::unix::fs::symlink(dir.join("root/inner/ok.txt"), dir.join("root/ok.txt")).unwrap();
        SymlinkRoot { dir }
    }
}

impl Drop for SymlinkRoot {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

#[apply(both_modes)]
#[case::file_link("/secret.txt", 403)]
#[case::dir_link("/up/secret.txt", 403)]
#[case::dir_link_listing("/up/", 403)]
#[case::link_inside("/ok.txt", 200)]
fn symlinks_are_followed_only_inside_the_root(mode: Mode, #[case] path: &str, #[case] status: u16) {
    let root = SymlinkRoot::new(&format!("{}-{}", mode.name(), path.replace('/', "_")));
    let server = TestServer::start_with(mode, quiet_config(root.dir.join("root")));
    let response = get(&server, path);
    assert_eq!(response.status(), status);
    let body = response.into_string().unwrap();
    // Neither the file outside the root nor a path of the file system.
    let expected = match status {
        200 => "inside",
        _ => "403 Forbidden: the path leaves the served directory\n",
    };
    assert_eq!(body, expected, "under {}", root.dir.display());
}
