//! The colour of the text report's grade words.

use super::args::ColorArg;

/// Whether the text report gets colour: `always` and `never` say so; `auto`
/// colours a terminal unless `NO_COLOR` is set and not empty
/// (<https://no-color.org>).
pub(crate) fn colour_on(
    choice: ColorArg,
    terminal: bool,
    no_color: Option<&std::ffi::OsStr>,
) -> bool {
    match choice {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => terminal && no_color.is_none_or(|v| v.is_empty()),
    }
}

/// The grade word that starts a line of the text report, in colour. Only
/// that word is touched: the renderer writes it itself, while every byte
/// from a server comes later on a line, or indented, and escaped.
pub(crate) fn colour_grades(text: &str) -> String {
    const COLOURS: [(&str, &str); 6] = [
        ("PASS", "32"),
        ("WARN", "33"),
        ("FAIL", "31"),
        ("INFO", "36"),
        ("SKIP", "2"),
        ("ERROR", "35"),
    ];
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for line in text.split_inclusive('\n') {
        let coloured = COLOURS.iter().find_map(|(word, code)| {
            line.strip_prefix(word)
                .filter(|rest| rest.starts_with(' '))
                .map(|rest| format!("\x1b[{code}m{word}\x1b[0m{rest}"))
        });
        match coloured {
            Some(line) => out.push_str(&line),
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_then_auto_off_even_on_a_terminal() {
        use std::ffi::OsStr;
        assert!(colour_on(ColorArg::Auto, true, None));
        assert!(colour_on(ColorArg::Auto, true, Some(OsStr::new(""))));
        assert!(!colour_on(ColorArg::Auto, true, Some(OsStr::new("1"))));
        assert!(!colour_on(ColorArg::Auto, false, None));
        assert!(colour_on(ColorArg::Always, false, Some(OsStr::new("1"))));
        assert!(!colour_on(ColorArg::Never, true, None));
    }

    #[test]
    fn colour_grades_then_only_a_leading_grade_word() {
        assert_eq!(
            colour_grades("FAIL  a  400 PASS\n  PASS indented\nPASSED x\nERROR b\n"),
            "\x1b[31mFAIL\x1b[0m  a  400 PASS\n  PASS indented\nPASSED x\n\x1b[35mERROR\x1b[0m b\n"
        );
    }
}
