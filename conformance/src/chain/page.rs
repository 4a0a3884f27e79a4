//! The chain matrix in the HTML report: a section of its own after the
//! servers' matrix (or a page of its own), one row per chain case and one
//! column per front, each cell the grade and the hop of the case's leading
//! finding; a click opens the requirement, who answered each step, and
//! every finding with its hop and the bytes of each side.
//!
//! As in [`crate::page`], the table is static HTML and the script builds
//! every piece of text with `textContent`, so nothing a proxy sent can
//! become markup; bytes are shown escaped for people.

use super::matrix::{answered, ChainAnswer, ChainEvidence, ChainMatrix};
use super::model::{ChainCase, Hop, Role};
use crate::case::Level;
use crate::escape;
use crate::escape::html as html_escape;
use crate::page::Section;
use crate::report::describe::fold_whitespace;
use crate::rules::RULES;
use crate::verdict::Grade;
use serde::Serialize;
use std::fmt::Write as _;

const STYLE: &str = r#"
#chain { padding: 0.8rem 1.2rem 2rem; border-top: 3px solid var(--line); }
#chain h2 { font-size: 1.3rem; margin: 0.4rem 0; }
#chain-matrix { width: max-content; margin-top: 0.8rem; }
#chain-matrix th, #chain-matrix td { border: 1px solid var(--line); padding: 0.2rem 0.4rem; vertical-align: middle; }
#chain-matrix thead th { background: #fff; font-weight: 600; white-space: nowrap; }
#chain-matrix thead th small { display: block; font-weight: normal; color: #5a6470; }
#chain-matrix tbody th { text-align: left; font-weight: normal; width: 27rem; min-width: 27rem; }
#chain-matrix tbody th .title { display: block; color: #4a5360; font-size: 12.5px; }
#chain-matrix tr.chain-case:target > th { background: #fff3b0; }
td.chain-cell { cursor: pointer; white-space: nowrap; text-align: center; min-width: 6.5rem; }
td.chain-cell:hover, td.chain-cell:focus { outline: 2px solid #2d6cdf; outline-offset: -2px; }
#chain-detail-head { position: sticky; top: 0; background: #fff; display: flex; justify-content: space-between; gap: 1rem; padding: 0.8rem 1rem; border-bottom: 1px solid var(--line); }
#chain-detail-head h2 { font-size: 1.15rem; margin: 0; }
#chain-detail-body { padding: 0 1rem 1rem; }
#chain-detail-body h3 { font-size: 1rem; margin: 1rem 0 0.3rem; }
#chain-detail-body h4 { font-size: 0.9rem; margin: 0.6rem 0 0.2rem; }
#chain-detail-body .finding { border-left: 3px solid var(--line); padding-left: 0.6rem; margin: 0.6rem 0; }
#chain-detail-body pre { background: #f6f7f9; border: 1px solid var(--line); padding: 0.5rem; overflow: auto; max-height: 20rem; white-space: pre-wrap; word-break: break-all; margin: 0; }
"#;

const SCRIPT: &str = r#"
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('chain-data').textContent);
  var dialog = document.getElementById('chain-detail');

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function open(caseIndex, frontIndex) {
    var c = data.cases[caseIndex], f = data.fronts[frontIndex];
    var answer = data.cells[caseIndex][frontIndex];
    document.getElementById('chain-detail-title').textContent = c.title;
    var body = document.getElementById('chain-detail-body');
    body.replaceChildren();
    var meta = el('p', 'meta');
    meta.appendChild(el('code', '', c.id));
    meta.appendChild(document.createTextNode(' · ' + c.level + ' · binds ' + c.role));
    body.appendChild(meta);
    var verdict = el('p');
    verdict.appendChild(el('strong', '', f.name));
    verdict.appendChild(document.createTextNode(' (' + f.version + '): '));
    if (answer) {
      verdict.appendChild(el('span', 'badge ' + answer.grade, answer.cell));
      verdict.appendChild(document.createTextNode(' — ' + answer.outcome));
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
    if (answer && answer.answered_by.length) {
      body.appendChild(el('h3', '', 'Who answered each step'));
      body.appendChild(el('p', '', answer.answered_by.map(function (hop, i) {
        return 'step ' + (i + 1) + ': ' + (hop === null ? 'no response' : hop);
      }).join(', ')));
    }
    if (answer && answer.findings.length) {
      body.appendChild(el('h3', '', 'Findings'));
      answer.findings.forEach(function (finding) {
        var box = el('div', 'finding');
        var head = el('p');
        head.appendChild(el('span', 'badge ' + finding.grade, finding.hop + ' (' + finding.grade + ')'));
        head.appendChild(document.createTextNode(' ' + finding.what));
        box.appendChild(head);
        finding.evidence.forEach(function (e) {
          box.appendChild(el('h4', '', e.label));
          box.appendChild(el('pre', '', e.bytes + (e.more > 0 ? '\n… (' + e.more + ' more bytes)' : '')));
        });
        body.appendChild(box);
      });
    }
    body.appendChild(el('h3', '', 'Why it matters'));
    c.explain.trim().split(/\n\s*\n/).forEach(function (para) {
      body.appendChild(el('p', '', para.replace(/\s+/g, ' ')));
    });
    if (!dialog.open) { dialog.showModal(); }
    dialog.scrollTop = 0;
  }

  function cellOf(event) {
    var target = event.target;
    return target && target.closest ? target.closest('td.chain-cell') : null;
  }

  var table = document.getElementById('chain-matrix');
  table.addEventListener('click', function (event) {
    var cell = cellOf(event);
    if (cell) { open(Number(cell.parentElement.dataset.case), Number(cell.dataset.front)); }
  });
  table.addEventListener('keydown', function (event) {
    var cell = cellOf(event);
    if (cell && (event.key === 'Enter' || event.key === ' ')) {
      event.preventDefault();
      open(Number(cell.parentElement.dataset.case), Number(cell.dataset.front));
    }
  });
  document.getElementById('chain-detail-close').addEventListener('click', function () { dialog.close(); });
  dialog.addEventListener('click', function (event) { if (event.target === dialog) { dialog.close(); } });
}());
"#;

#[derive(Serialize)]
struct Data<'a> {
    fronts: Vec<DataFront<'a>>,
    cases: Vec<DataCase<'a>>,
    cells: Vec<Vec<Option<DataAnswer<'a>>>>,
}

#[derive(Serialize)]
struct DataFront<'a> {
    name: &'a str,
    version: &'a str,
}

#[derive(Serialize)]
struct DataCase<'a> {
    id: &'a str,
    title: &'a str,
    level: Level,
    role: Role,
    rfc: &'a str,
    url: &'a str,
    quote: String,
    explain: &'a str,
}

#[derive(Serialize)]
struct DataAnswer<'a> {
    grade: Grade,
    cell: String,
    outcome: &'a str,
    answered_by: &'a [Option<Hop>],
    findings: Vec<DataFinding<'a>>,
}

#[derive(Serialize)]
struct DataFinding<'a> {
    hop: Hop,
    grade: Grade,
    what: &'a str,
    evidence: Vec<DataEvidence<'a>>,
}

#[derive(Serialize)]
struct DataEvidence<'a> {
    label: &'a str,
    /// The bytes escaped for people.
    bytes: String,
    /// Bytes beyond those shown.
    more: u64,
}

/// Evidence kept in the case notation, escaped for people instead, with
/// how many bytes were not kept.
fn evidence_for_people(evidence: &ChainEvidence) -> DataEvidence<'_> {
    let mut bytes = Vec::new();
    for line in evidence.bytes.split('\n') {
        match escape::decode(line) {
            Ok(decoded) => bytes.extend_from_slice(&decoded),
            Err(_) => {
                return DataEvidence {
                    label: &evidence.label,
                    bytes: evidence.bytes.clone(),
                    more: 0,
                }
            }
        }
    }
    DataEvidence {
        label: &evidence.label,
        bytes: escape::readable_lines(&bytes).join("\n"),
        more: evidence.total.saturating_sub(bytes.len() as u64),
    }
}

fn data_answer(answer: &ChainAnswer) -> DataAnswer<'_> {
    DataAnswer {
        grade: answer.grade,
        cell: answer.cell(),
        outcome: &answer.outcome,
        answered_by: &answer.answered_by,
        findings: answer
            .findings
            .iter()
            .map(|f| DataFinding {
                hop: f.hop,
                grade: f.grade,
                what: &f.what,
                evidence: f.evidence.iter().map(evidence_for_people).collect(),
            })
            .collect(),
    }
}

/// The chain matrix as a section of the HTML report (`#chain`).
pub fn render_section(matrix: &ChainMatrix, cases: &[ChainCase]) -> Section {
    let rows = answered(matrix, cases);
    let nav = format!(
        "<p>Chain matrix: {} chain cases through {} reverse proxies in front of a recording \
         origin, each finding naming its hop — <a href=\"#chain\">below</a>.</p>\n",
        rows.len(),
        matrix.fronts.len()
    );
    let mut body = String::from("<section id=\"chain\">\n<style>");
    body.push_str(STYLE);
    body.push_str("</style>\n");
    let _ = writeln!(
        body,
        "<h2>Chain matrix: reverse proxies in front of the recording origin</h2>\n<p>The chain \
         matrix of {}: {} chain cases, each run by <code>conformance chain</code> through {} \
         reverse proxies on loopback, each from its config in <code>matrix/proxies/</code>, in \
         front of the origin embedded in <code>conformance</code>, which records every byte the \
         proxy forwards. Each cell is the grade and the hop of the case's leading finding: \
         <strong>front</strong> (the proxy answered or changed something itself), \
         <strong>origin</strong> (it relayed the origin's answer), <strong>pair</strong> (the \
         proxy and the origin disagree on the messages: a desync). Click a cell for the \
         findings and the bytes of each side. Score: chain cases graded pass out of those \
         scored.</p>",
        html_escape(&matrix.generated),
        rows.len(),
        matrix.fronts.len()
    );
    write_scores(&mut body, matrix);
    write_rules(&mut body, matrix);
    write_table(&mut body, matrix, &rows);
    body.push_str(
        "<dialog id=\"chain-detail\" aria-labelledby=\"chain-detail-title\">\n<div \
         id=\"chain-detail-head\"><h2 id=\"chain-detail-title\"></h2><button id=\"chain-detail-close\" \
         type=\"button\">Close</button></div>\n<div id=\"chain-detail-body\"></div>\n</dialog>\n",
    );
    let data = Data {
        fronts: matrix
            .fronts
            .iter()
            .map(|f| DataFront {
                name: &f.name,
                version: &f.version,
            })
            .collect(),
        cases: rows
            .iter()
            .map(|c| DataCase {
                id: &c.case.id,
                title: &c.case.title,
                level: c.case.level,
                role: c.role,
                rfc: &c.case.rfc,
                url: &c.case.url,
                quote: fold_whitespace(&c.case.quote),
                explain: &c.case.explain,
            })
            .collect(),
        cells: rows
            .iter()
            .map(|c| {
                matrix
                    .fronts
                    .iter()
                    .map(|f| f.answer(&c.case.id).map(data_answer))
                    .collect()
            })
            .collect(),
    };
    let _ = writeln!(
        body,
        "<script type=\"application/json\" id=\"chain-data\">{}</script>",
        escape::json_in_script(&data)
    );
    body.push_str("<script>");
    body.push_str(SCRIPT);
    body.push_str("</script>\n</section>\n");
    Section { nav, body }
}

/// The chain matrix as a page of its own.
pub fn render_html(matrix: &ChainMatrix, cases: &[ChainCase]) -> String {
    let section = render_section(matrix, cases);
    crate::page::render_sections_html(
        "How reverse proxies relay HTTP/1.1",
        &section.nav,
        std::slice::from_ref(&section),
    )
}

fn write_scores(out: &mut String, matrix: &ChainMatrix) {
    out.push_str(
        "<table class=\"scores\"><thead><tr><th>proxy</th><th>version</th><th>score</th>\
         <th>pass</th><th>warn</th><th>fail</th><th>skip</th><th>error</th><th>front</th>\
         <th>origin</th><th>pair</th></tr></thead><tbody>\n",
    );
    for front in &matrix.fronts {
        let c = front.counts;
        let h = front.hops;
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            html_escape(&front.name),
            html_escape(&front.version),
            c.score(),
            c.passed,
            c.warned,
            c.failed,
            c.skipped,
            c.errors,
            h.front,
            h.origin,
            h.pair
        );
    }
    out.push_str("</tbody></table>\n");
}

fn write_rules(out: &mut String, matrix: &ChainMatrix) {
    out.push_str(
        "<table class=\"scores rules\"><caption>Response rules: checked on every response the \
         client read through each proxy</caption><thead><tr><th>rule</th><th>level</th>",
    );
    for front in &matrix.fronts {
        let _ = write!(out, "<th>{}</th>", html_escape(&front.name));
    }
    out.push_str("</tr></thead><tbody>\n");
    for rule in &RULES {
        let _ = write!(
            out,
            "<tr><td><code>{}</code></td><td>{}</td>",
            rule.id, rule.level
        );
        for front in &matrix.fronts {
            match front.rules.iter().find(|r| r.id == rule.id) {
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

fn write_table(out: &mut String, matrix: &ChainMatrix, rows: &[&ChainCase]) {
    out.push_str(
        "<table id=\"chain-matrix\"><thead><tr><th>chain case</th><th>level</th><th>role</th>",
    );
    for front in &matrix.fronts {
        let _ = write!(
            out,
            "<th title=\"{}\">{}<small>{}</small></th>",
            html_escape(&front.version),
            html_escape(&front.name),
            front.counts.score()
        );
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for (index, chain) in rows.iter().enumerate() {
        let case = &chain.case;
        let id = html_escape(&case.id);
        let _ = write!(
            out,
            "<tr class=\"chain-case\" id=\"chain-{id}\" data-case=\"{index}\"><th scope=\"row\">\
             <a class=\"case-link\" href=\"#chain-{id}\"><code>{id}</code></a><span \
             class=\"title\">{}</span></th><td>{}</td><td>{}</td>",
            html_escape(&case.title),
            case.level,
            chain.role
        );
        for (column, front) in matrix.fronts.iter().enumerate() {
            match front.answer(&case.id) {
                Some(answer) => {
                    let _ = write!(
                        out,
                        "<td class=\"chain-cell {}\" data-front=\"{column}\" tabindex=\"0\" \
                         title=\"{}: {}\">{}</td>",
                        answer.grade,
                        html_escape(&front.name),
                        html_escape(&answer.outcome),
                        html_escape(&answer.cell())
                    );
                }
                None => {
                    let _ = write!(
                        out,
                        "<td class=\"chain-cell none\" data-front=\"{column}\" tabindex=\"0\">—</td>"
                    );
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_then_shown_readable_with_the_bytes_not_kept() {
        let evidence = ChainEvidence {
            label: "client sent".into(),
            bytes: "GET / HTTP/1.1\\r\\n\n\\x00\\r\\n".into(),
            total: 40,
        };
        let shown = evidence_for_people(&evidence);
        assert_eq!(shown.bytes, "GET / HTTP/1.1\\r\\n\n\\x00\\r\\n");
        assert_eq!(shown.more, 40 - 19);
    }
}
