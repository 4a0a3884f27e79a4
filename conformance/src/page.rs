//! The HTML report: one self-contained static page (inline CSS and script,
//! the data as JSON in the page, nothing fetched) that shows a matrix as a
//! case × server table, with filters by group and level and, for each cell,
//! a detail view: the request as the case writes it and, when recorded, as
//! it was sent, the raw response, the requirement with its link, and the
//! explanation. One run is the same page of one server
//! ([`render_run_html`]).
//!
//! Each case row has an anchor of its own, `#case-ID`, which its id links
//! to: opening the page at it shows the row and, on a page of one server,
//! the case's detail view.
//!
//! The table itself is static HTML, so it reads without the script; the
//! script adds the filters and the detail view, and builds every piece of
//! text with `textContent`, so nothing a server sent can become markup.
//! Bytes are shown escaped for people ([`escape::readable`]), not in the
//! case notation; the request template is the case file's own notation.

use crate::case::{Case, Group, Level};
use crate::escape;
use crate::escape::html as html_escape;
use crate::matrix::{answers_differ, Answer, Counts, Matrix};
use crate::report::describe::{describe_expect, fold_whitespace};
use crate::rules::RULES;
use crate::saved::SavedRun;
use crate::verdict::Grade;
use serde::Serialize;
use std::fmt::Write as _;

/// Requests longer than this are shown as the case file writes them (with
/// repeats) instead of byte by byte.
const REQUEST_SHOWN_BYTES: usize = 1024;

const STYLE: &str = r#"
:root { --pass: #d3f2dc; --warn: #fff0bf; --fail: #ffd0cc; --info: #dde8fb; --skip: #f1f1ee; --error: #e2e2e2; --line: #d0d4da; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1d232b; background: #fff; }
header, #filters { padding: 0.8rem 1.2rem; }
h1 { font-size: 1.4rem; margin: 0 0 0.4rem; }
code, pre { font: 12.5px/1.4 ui-monospace, "DejaVu Sans Mono", Menlo, monospace; }
table { border-collapse: collapse; }
.scores td, .scores th { border: 1px solid var(--line); padding: 0.2rem 0.5rem; text-align: right; }
.scores td:first-child, .scores td:nth-child(2), .scores th { text-align: left; }
#filters { display: flex; flex-wrap: wrap; gap: 0.8rem; align-items: center; position: sticky; top: 0; background: #f6f7f9; border-bottom: 1px solid var(--line); z-index: 3; }
#filters label { display: flex; gap: 0.3rem; align-items: center; }
#matrix { margin: 0 1.2rem 2rem; width: max-content; }
#matrix th, #matrix td { border: 1px solid var(--line); padding: 0.2rem 0.4rem; vertical-align: middle; }
#matrix thead th { position: sticky; top: 2.9rem; background: #fff; z-index: 2; font-weight: 600; white-space: nowrap; }
#matrix thead th:first-child { left: 0; z-index: 4; }
#matrix thead th small { display: block; font-weight: normal; color: #5a6470; }
#matrix tbody th { position: sticky; left: 0; z-index: 1; background: #fff; text-align: left; font-weight: normal; width: 27rem; min-width: 27rem; }
#matrix tbody th code { white-space: nowrap; }
#matrix tbody th .title { display: block; color: #4a5360; font-size: 12.5px; }
#matrix tr.group-head th { background: #eef1f5; font-weight: 600; }
td.cell { cursor: pointer; white-space: nowrap; text-align: center; min-width: 6.5rem; }
td.cell:hover, td.cell:focus { outline: 2px solid #2d6cdf; outline-offset: -2px; }
.pass { background: var(--pass); } .warn { background: var(--warn); } .fail { background: var(--fail); font-weight: 600; }
.info { background: var(--info); } .error { background: var(--error); } .none { color: #8a929c; }
.skip { background: var(--skip); color: #5a6470; }
dialog { width: min(62rem, 94vw); max-height: 90vh; border: 1px solid var(--line); border-radius: 6px; padding: 0; }
dialog::backdrop { background: rgba(20, 24, 30, 0.45); }
#detail-head { position: sticky; top: 0; background: #fff; display: flex; justify-content: space-between; gap: 1rem; padding: 0.8rem 1rem; border-bottom: 1px solid var(--line); }
#detail-head h2 { font-size: 1.15rem; margin: 0; }
#detail-body { padding: 0 1rem 1rem; }
#detail-body h3 { font-size: 1rem; margin: 1rem 0 0.3rem; }
#detail-body h4 { font-size: 0.9rem; margin: 0.6rem 0 0.2rem; }
#detail-body pre { background: #f6f7f9; border: 1px solid var(--line); padding: 0.5rem; overflow: auto; max-height: 20rem; white-space: pre-wrap; word-break: break-all; margin: 0; }
blockquote { margin: 0.3rem 0; padding: 0.3rem 0.8rem; border-left: 3px solid #9aa4b1; color: #343b45; }
.badge { padding: 0.05rem 0.4rem; border-radius: 3px; }
a.case-link { color: inherit; text-decoration: none; }
a.case-link:hover code, a.case-link:focus code { text-decoration: underline; }
#matrix tr.case:target > th { background: #fff3b0; }
.meta { color: #4a5360; }
"#;

const SCRIPT: &str = r#"
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('matrix-data').textContent);
  var rows = Array.prototype.slice.call(document.querySelectorAll('#matrix tbody tr.case'));
  var heads = Array.prototype.slice.call(document.querySelectorAll('#matrix tbody tr.group-head'));
  var group = document.getElementById('filter-group');
  var level = document.getElementById('filter-level');
  var search = document.getElementById('filter-search');
  var differ = document.getElementById('filter-differ');
  var single = data.servers.length === 1;
  var shown = document.getElementById('shown');
  var dialog = document.getElementById('detail');

  function applyFilters() {
    var g = group.value, l = level.value, q = search.value.trim().toLowerCase(), d = differ !== null && differ.checked;
    var count = 0;
    rows.forEach(function (row) {
      var show = (!g || row.dataset.group === g) && (!l || row.dataset.level === l) &&
        (!q || row.dataset.search.indexOf(q) !== -1) && (!d || row.dataset.differs === 'yes');
      row.hidden = !show;
      if (show) { count += 1; }
    });
    heads.forEach(function (head) {
      head.hidden = !rows.some(function (row) { return !row.hidden && row.dataset.group === head.dataset.group; });
    });
    shown.textContent = count + ' of ' + rows.length + ' cases';
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function paragraphs(markdown) {
    var out = document.createDocumentFragment();
    markdown.trim().split(/\n\s*\n/).forEach(function (para) {
      var p = el('p');
      para.replace(/\s+/g, ' ').split('`').forEach(function (part, i) {
        p.appendChild(i % 2 ? el('code', '', part) : document.createTextNode(part));
      });
      out.appendChild(p);
    });
    return out;
  }

  function openDetail(caseIndex, serverIndex) {
    var c = data.cases[caseIndex], s = data.servers[serverIndex];
    var answer = data.cells[caseIndex][serverIndex];
    document.getElementById('detail-title').textContent = c.title;
    var body = document.getElementById('detail-body');
    body.replaceChildren();
    var meta = el('p', 'meta');
    meta.appendChild(el('code', '', c.id));
    meta.appendChild(document.createTextNode(' · ' + c.level + ' · ' + c.group + ' · '));
    var self = el('a', 'case-anchor', 'link to this case');
    self.href = '#case-' + c.id;
    meta.appendChild(self);
    body.appendChild(meta);
    var verdict = el('p', 'verdict');
    verdict.appendChild(el('strong', '', s.name));
    verdict.appendChild(document.createTextNode((s.version ? ' (' + s.version + ')' : '') + ': '));
    if (answer) {
      verdict.appendChild(el('span', 'badge ' + answer.grade, answer.grade));
      verdict.appendChild(document.createTextNode(' — ' + (answer.skipped
        ? 'skipped: ' + answer.skipped
        : answer.steps.map(function (st) { return st.outcome; }).join(' | '))));
    } else {
      verdict.appendChild(el('span', 'badge none', 'not run'));
    }
    body.appendChild(verdict);
    body.appendChild(el('h3', '', 'Requirement'));
    var link = el('a', '', c.rfc);
    link.href = c.url;
    link.target = '_blank';
    link.rel = 'noopener';
    var req = el('p');
    req.appendChild(link);
    req.appendChild(document.createTextNode(' (' + c.level + ')'));
    body.appendChild(req);
    body.appendChild(el('blockquote', '', c.quote));
    var several = c.steps.length > 1;
    c.steps.forEach(function (step) {
      if (several) {
        body.appendChild(el('h3', '', 'Step ' + step.step + (step.pause_ms ? ' (after ' + step.pause_ms + ' ms)' : '')));
      }
      if (step.request !== null) {
        body.appendChild(el(several ? 'h4' : 'h3', '', 'Request (template)'));
        body.appendChild(el('pre', 'request', step.request));
      }
      var sent = answer && answer.sent.filter(function (st) { return st.step === step.step; })[0];
      if (sent) {
        body.appendChild(el(several ? 'h4' : 'h3', '', 'Request (as sent)'));
        body.appendChild(el('pre', 'sent', sent.sent + (sent.more > 0 ? '\n… (' + sent.more + ' more bytes)' : '')));
      }
      if (step.expect === null) { return; }
      body.appendChild(el(several ? 'h4' : 'h3', '', 'Acceptable'));
      body.appendChild(el('p', '', step.expect));
      var got = answer && answer.steps.filter(function (st) { return st.step === step.step; })[0];
      body.appendChild(el(several ? 'h4' : 'h3', '', 'Response from ' + s.name + (got ? ': ' + got.outcome : '')));
      if (!got) {
        body.appendChild(el('p', 'none', 'not run'));
        return;
      }
      body.appendChild(el('pre', 'response', got.received === '' ? '(nothing received)' : got.received + (got.more > 0 ? '\n… (' + got.more + ' more bytes)' : '')));
      if (got.problems.length) {
        var list = el('ul');
        got.problems.forEach(function (problem) { list.appendChild(el('li', '', 'broken check ' + problem)); });
        body.appendChild(list);
      }
    });
    body.appendChild(el('h3', '', 'Why it matters'));
    body.appendChild(paragraphs(c.explain));
    if (!dialog.open) { dialog.showModal(); }
    dialog.scrollTop = 0;
  }

  function cellOf(event) {
    var target = event.target;
    return target && target.closest ? target.closest('td.cell') : null;
  }

  // `#case-ID`: the case's row, shown (filters cleared if they hid it);
  // on a page of one server, its detail view too.
  function showHash() {
    var match = /^#case-(.+)$/.exec(window.location.hash);
    var row = match && document.getElementById('case-' + decodeURIComponent(match[1]));
    if (!row) { return; }
    if (row.hidden) {
      group.value = ''; level.value = ''; search.value = '';
      if (differ !== null) { differ.checked = false; }
      applyFilters();
    }
    row.scrollIntoView({ block: 'center' });
    if (single) { openDetail(Number(row.dataset.case), 0); }
  }

  var table = document.getElementById('matrix');
  table.addEventListener('click', function (event) {
    var link = event.target && event.target.closest ? event.target.closest('a.case-link') : null;
    if (link && link.hash === window.location.hash) { showHash(); return; }
    var cell = cellOf(event);
    if (cell) { openDetail(Number(cell.parentElement.dataset.case), Number(cell.dataset.server)); }
  });
  table.addEventListener('keydown', function (event) {
    var cell = cellOf(event);
    if (cell && (event.key === 'Enter' || event.key === ' ')) {
      event.preventDefault();
      openDetail(Number(cell.parentElement.dataset.case), Number(cell.dataset.server));
    }
  });
  document.getElementById('detail-close').addEventListener('click', function () { dialog.close(); });
  dialog.addEventListener('click', function (event) { if (event.target === dialog) { dialog.close(); } });
  [group, level, differ].forEach(function (input) { if (input) { input.addEventListener('change', applyFilters); } });
  search.addEventListener('input', applyFilters);
  window.addEventListener('hashchange', showHash);
  applyFilters();
  showHash();
}());
"#;

/// What the page's script reads: the cases, the servers, and one cell per
/// case and server.
#[derive(Serialize)]
struct PageData<'a> {
    servers: Vec<PageServer<'a>>,
    cases: Vec<PageCase<'a>>,
    cells: Vec<Vec<Option<PageAnswer<'a>>>>,
}

/// One server's answer to one case, its bytes escaped for people.
#[derive(Serialize)]
struct PageAnswer<'a> {
    grade: Grade,
    skipped: Option<&'a str>,
    steps: Vec<PageAnswerStep<'a>>,
    sent: Vec<PageBytes>,
}

#[derive(Serialize)]
struct PageAnswerStep<'a> {
    step: usize,
    outcome: &'a str,
    problems: &'a [String],
    received: String,
    /// Bytes received beyond those shown.
    more: u64,
}

/// What one step sent, escaped for people.
#[derive(Serialize)]
struct PageBytes {
    step: usize,
    sent: String,
    /// Bytes sent beyond those shown.
    more: u64,
}

/// Bytes kept in the case notation, one wire line a line (as a matrix
/// keeps them), escaped for people instead ([`escape::readable`]), with
/// how many bytes that is; as they are when they are not the notation.
fn for_people(notation: &str) -> (String, u64) {
    let mut bytes = Vec::new();
    for line in notation.split('\n') {
        match escape::decode(line) {
            Ok(decoded) => bytes.extend_from_slice(&decoded),
            Err(_) => return (notation.to_string(), notation.len() as u64),
        }
    }
    (
        escape::readable_lines(&bytes).join("\n"),
        bytes.len() as u64,
    )
}

impl<'a> PageAnswer<'a> {
    fn of(answer: &'a Answer) -> Self {
        PageAnswer {
            grade: answer.grade,
            skipped: answer.skipped.as_deref(),
            steps: answer
                .steps
                .iter()
                .map(|s| {
                    let (received, shown) = for_people(&s.received);
                    PageAnswerStep {
                        step: s.step,
                        outcome: &s.outcome,
                        problems: &s.problems,
                        received,
                        more: s.received_total.saturating_sub(shown),
                    }
                })
                .collect(),
            sent: answer
                .sent
                .iter()
                .map(|s| {
                    let (sent, shown) = for_people(&s.sent);
                    PageBytes {
                        step: s.step,
                        sent,
                        more: s.sent_total.saturating_sub(shown),
                    }
                })
                .collect(),
        }
    }
}

#[derive(Serialize)]
struct PageServer<'a> {
    name: &'a str,
    version: &'a str,
    score: String,
}

#[derive(Serialize)]
struct PageCase<'a> {
    id: &'a str,
    title: &'a str,
    group: Group,
    level: Level,
    rfc: &'a str,
    url: &'a str,
    quote: String,
    explain: &'a str,
    steps: Vec<PageStep>,
}

#[derive(Serialize)]
struct PageStep {
    step: usize,
    pause_ms: u64,
    request: Option<String>,
    expect: Option<String>,
}

/// The cases in report order: by group, then by id.
fn ordered(cases: &[Case]) -> Vec<&Case> {
    Group::ALL
        .iter()
        .flat_map(|&group| cases.iter().filter(move |c| c.group == group))
        .collect()
}

fn page_case(case: &Case) -> PageCase<'_> {
    let steps = case
        .steps
        .iter()
        .enumerate()
        .map(|(index, step)| PageStep {
            step: index + 1,
            pause_ms: step.pause_ms,
            request: match (&step.send, &step.send_source) {
                (Some(template), Some(source)) if template.byte_len() > REQUEST_SHOWN_BYTES => {
                    Some(format!(
                        "{source}\n({} bytes, as the case file writes them)",
                        template.byte_len()
                    ))
                }
                (Some(template), _) => Some(escape::encode_template_lines(template).join("\n")),
                (None, _) => None,
            },
            expect: step.expect.as_ref().map(describe_expect),
        })
        .collect();
    PageCase {
        id: &case.id,
        title: &case.title,
        group: case.group,
        level: case.level,
        rfc: &case.rfc,
        url: &case.url,
        quote: fold_whitespace(&case.quote),
        explain: &case.explain,
        steps,
    }
}

fn write_scores(out: &mut String, matrix: &Matrix) {
    out.push_str(
        "<table class=\"scores\"><thead><tr><th>server</th><th>version</th><th>score</th>\
         <th>pass</th><th>warn</th><th>fail</th><th>info</th><th>skip</th><th>error</th></tr></thead>\
         <tbody>\n",
    );
    for server in &matrix.servers {
        let Counts {
            passed,
            warned,
            failed,
            info,
            errors,
            skipped,
        } = server.counts;
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{passed}</td><td>{warned}</td>\
             <td>{failed}</td><td>{info}</td><td>{skipped}</td><td>{errors}</td></tr>",
            html_escape(&server.name),
            html_escape(&server.version),
            server.counts.score()
        );
    }
    out.push_str("</tbody></table>\n");
}

/// The response rules: one row each, one column per server, a cell's
/// title naming the first cases where the rule broke.
fn write_rules(out: &mut String, matrix: &Matrix) {
    out.push_str(
        "<table class=\"scores rules\"><caption>Response rules: checked on every response, \
         graded once per server</caption><thead><tr><th>rule</th><th>level</th>",
    );
    for server in &matrix.servers {
        let _ = write!(out, "<th>{}</th>", html_escape(&server.name));
    }
    out.push_str("</tr></thead><tbody>\n");
    for rule in &RULES {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td>",
            rule.id, rule.level
        );
        for server in &matrix.servers {
            match server.rules.iter().find(|r| r.id == rule.id) {
                None => out.push_str("<td>—</td>"),
                Some(answer) => {
                    let _ = write!(
                        out,
                        "<td class=\"{}\" title=\"{}\">{}</td>",
                        answer.grade,
                        html_escape(&answer.first.join("\n")),
                        html_escape(&answer.cell())
                    );
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

fn write_filters(out: &mut String, cases: &[&Case], servers: usize) {
    out.push_str("<form id=\"filters\" onsubmit=\"return false\">\n");
    out.push_str("<label>group <select id=\"filter-group\"><option value=\"\">all</option>");
    for group in Group::ALL {
        if cases.iter().any(|c| c.group == group) {
            let _ = write!(out, "<option value=\"{group}\">{group}</option>");
        }
    }
    out.push_str("</select></label>\n");
    out.push_str("<label>level <select id=\"filter-level\"><option value=\"\">all</option>");
    for level in Level::ALL {
        if cases.iter().any(|c| c.level == level) {
            let _ = write!(out, "<option value=\"{level}\">{level}</option>");
        }
    }
    out.push_str("</select></label>\n");
    out.push_str(
        "<label>search <input id=\"filter-search\" type=\"search\" placeholder=\"id or title\"></label>\n",
    );
    if servers > 1 {
        out.push_str(
            "<label><input id=\"filter-differ\" type=\"checkbox\"> only cases the servers answer \
             differently</label>\n",
        );
    }
    let _ = writeln!(
        out,
        "<span id=\"shown\">{0} of {0} cases</span>\n</form>",
        cases.len()
    );
}

fn write_table(out: &mut String, matrix: &Matrix, cases: &[&Case]) {
    out.push_str("<table id=\"matrix\"><thead><tr><th>case</th><th>level</th>");
    for server in &matrix.servers {
        let _ = write!(
            out,
            "<th class=\"server\" title=\"{}\">{}<small>{}</small></th>",
            html_escape(&server.version),
            html_escape(&server.name),
            server.counts.score()
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let columns = matrix.servers.len() + 2;
    let mut current = None;
    for (index, case) in cases.iter().enumerate() {
        if current != Some(case.group) {
            current = Some(case.group);
            let _ = writeln!(
                out,
                "<tr class=\"group-head\" data-group=\"{0}\"><th colspan=\"{columns}\">{0}</th></tr>",
                case.group
            );
        }
        let differs = if answers_differ(matrix, &case.id) {
            "yes"
        } else {
            "no"
        };
        let id = html_escape(&case.id);
        let _ = write!(
            out,
            "<tr class=\"case\" id=\"case-{id}\" data-case=\"{index}\" data-group=\"{}\" \
             data-level=\"{}\" data-differs=\"{differs}\" data-search=\"{}\"><th scope=\"row\">\
             <a class=\"case-link\" href=\"#case-{id}\" title=\"link to this case\"><code>{id}</code></a>\
             <span class=\"title\">{}</span></th><td>{}</td>",
            case.group,
            case.level,
            html_escape(&format!("{} {}", case.id, case.title).to_lowercase()),
            html_escape(&case.title),
            case.level
        );
        for (column, server) in matrix.servers.iter().enumerate() {
            match server.answer(&case.id) {
                Some(answer) => {
                    let _ = write!(
                        out,
                        "<td class=\"cell {grade}\" data-server=\"{column}\" tabindex=\"0\" \
                         title=\"{}: {}\">{grade} {}</td>",
                        html_escape(&server.name),
                        html_escape(&answer.outcome()),
                        html_escape(&answer.short()),
                        grade = answer.grade
                    );
                }
                None => {
                    let _ = write!(
                        out,
                        "<td class=\"cell none\" data-server=\"{column}\" tabindex=\"0\">—</td>"
                    );
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

/// What a page is of, for its title and its opening paragraph.
enum Heading<'a> {
    /// A matrix of servers.
    Matrix,
    /// One run.
    Run(&'a SavedRun),
}

/// A part of a page that a module above this one renders (the chain
/// matrix): a line for the header, and the section itself, with its own
/// style and script, placed after the matrix.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    /// HTML for the header: a paragraph that links to the section.
    pub nav: String,
    /// The section's HTML, `<style>` and `<script>` included.
    pub body: String,
}

/// Renders `matrix` over `cases` as one self-contained HTML page: one table
/// row per case (grouped, in [`Group::ALL`] order) and one column per server.
pub fn render_html(matrix: &Matrix, cases: &[Case]) -> String {
    render_page(matrix, &ordered(cases), &Heading::Matrix, &[])
}

/// [`render_html`], with `sections` after the matrix.
pub fn render_html_with(matrix: &Matrix, cases: &[Case], sections: &[Section]) -> String {
    render_page(matrix, &ordered(cases), &Heading::Matrix, sections)
}

/// A page of `sections` alone, under a heading and an opening paragraph
/// (HTML, escaped by the caller).
pub fn render_sections_html(title: &str, intro: &str, sections: &[Section]) -> String {
    let mut out = head(&html_escape(title));
    let _ = writeln!(out, "<h1>{}</h1>\n{intro}", html_escape(title));
    out.push_str("</header>\n");
    for section in sections {
        out.push_str(&section.body);
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// The page up to its open `<header>`: the title and the style.
fn head(title: &str) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title}</title>\n<style>"
    );
    out.push_str(STYLE);
    out.push_str("</style>\n</head>\n<body>\n<header>\n");
    out
}

/// Renders one run (its JSON report read back) as the page of a matrix of
/// one server: the cases of `cases` that ran, each with what it sent.
pub fn render_run_html(run: &SavedRun, cases: &[Case]) -> String {
    let ran: std::collections::HashSet<&str> = run.ids().collect();
    let cases: Vec<&Case> = ordered(cases)
        .into_iter()
        .filter(|c| ran.contains(c.id.as_str()))
        .collect();
    render_page(&run.to_matrix(), &cases, &Heading::Run(run), &[])
}

fn render_page(
    matrix: &Matrix,
    cases: &[&Case],
    heading: &Heading<'_>,
    sections: &[Section],
) -> String {
    let answers: Vec<Vec<Option<&Answer>>> = cases
        .iter()
        .map(|c| matrix.servers.iter().map(|s| s.answer(&c.id)).collect())
        .collect();
    let data = PageData {
        servers: matrix
            .servers
            .iter()
            .map(|s| PageServer {
                name: &s.name,
                version: &s.version,
                score: s.counts.score(),
            })
            .collect(),
        cases: cases.iter().map(|c| page_case(c)).collect(),
        cells: answers
            .iter()
            .map(|row| row.iter().map(|a| a.map(PageAnswer::of)).collect())
            .collect(),
    };
    let title = match heading {
        Heading::Matrix => "HTTP/1.1 conformance matrix".to_string(),
        Heading::Run(run) => format!("HTTP/1.1 conformance of {}", html_escape(&run.name)),
    };
    let mut out = head(&title);
    match heading {
        Heading::Matrix => {
            out.push_str("<h1>How HTTP/1.1 servers answer</h1>\n");
            let _ = writeln!(
                out,
                "<p>The matrix of {}: {} cases, each sent as raw bytes to {} servers on \
                 loopback. Each cell is the grade and the status code (or <code>closed</code>, \
                 <code>reset</code>, <code>timeout</code>); click one for the raw request, the \
                 raw response, the requirement and why it matters. Each case id links to its \
                 row (<code>#case-ID</code>). Score: cases graded pass out of those scored \
                 (<code>info</code> cases are not).</p>",
                html_escape(&matrix.generated),
                cases.len(),
                matrix.servers.len()
            );
        }
        Heading::Run(run) => {
            let _ = writeln!(
                out,
                "<h1>HTTP/1.1 conformance of {}</h1>\n<p>The run of {} against {}: {} cases, \
                 each sent as raw bytes. Each cell is the grade and the status code (or \
                 <code>closed</code>, <code>reset</code>, <code>timeout</code>); click one, or \
                 a case id, for the request as the case writes it and as it was sent, the raw \
                 response, the requirement and why it matters. Each case has a link of its \
                 own (<code>#case-ID</code>). Score: cases graded pass out of those scored \
                 (<code>info</code> cases are not).</p>",
                html_escape(&run.name),
                html_escape(&run.started),
                html_escape(&run.target),
                cases.len()
            );
        }
    }
    write_scores(&mut out, matrix);
    write_rules(&mut out, matrix);
    for section in sections {
        out.push_str(&section.nav);
    }
    out.push_str("</header>\n");
    write_filters(&mut out, cases, matrix.servers.len());
    write_table(&mut out, matrix, cases);
    out.push_str(
        "<dialog id=\"detail\" aria-labelledby=\"detail-title\">\n<div id=\"detail-head\">\
         <h2 id=\"detail-title\"></h2><button id=\"detail-close\" type=\"button\">Close</button>\
         </div>\n<div id=\"detail-body\"></div>\n</dialog>\n",
    );
    let _ = writeln!(
        out,
        "<script type=\"application/json\" id=\"matrix-data\">{}</script>",
        escape::json_in_script(&data)
    );
    out.push_str("<script>");
    out.push_str(SCRIPT);
    out.push_str("</script>\n");
    for section in sections {
        out.push_str(&section.body);
    }
    out.push_str("</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notation_then_shown_readable_with_its_length() {
        assert_eq!(
            for_people("HTTP/1.1 200 OK\\r\\n\n\\r\\n\n\\x7b\"ok\":true}\\\\"),
            (
                "HTTP/1.1 200 OK\\r\\n\n\\r\\n\n{\"ok\":true}\\".to_string(),
                31
            )
        );
        assert_eq!(for_people(""), (String::new(), 0));
        assert_eq!(for_people("\\q"), ("\\q".to_string(), 2));
    }

    #[test]
    fn script_end_tag_in_data_then_cannot_close_the_element() {
        let json = escape::json_in_script(&"</script><b>&");
        assert!(!json.contains('<') && !json.contains('>') && !json.contains('&'));
        let back: String = serde_json::from_str(&json).unwrap();
        assert_eq!(back, "</script><b>&");
    }
}
