//! The counts of a run: per grade, per group, and against the baseline of
//! known failures; what decides whether a run is conformant.

use crate::baseline::Baseline;
use crate::case::Group;
use crate::rules::check_rules;
use crate::run::CaseResult;
use crate::verdict::Grade;
use serde::Serialize;
use std::fmt::Write as _;

/// Counts and the baseline comparison of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Cases graded pass.
    pub passed: usize,
    /// Cases graded warn.
    pub warned: usize,
    /// Cases graded fail (known failures included).
    pub failed: usize,
    /// Cases graded info.
    pub info: usize,
    /// Cases the harness could not run.
    pub errors: usize,
    /// Cases that do not apply to the target, never scored.
    pub skipped: usize,
    /// Failures listed in the baseline.
    pub known: Vec<String>,
    /// Failures not listed in the baseline: these make the run non-conformant.
    pub regressions: Vec<String>,
    /// Baseline ids that no longer fail: remove them from the baseline.
    pub fixed: Vec<String>,
    /// The response rules ([`crate::rules`]) some response broke, by id;
    /// a broken `must` rule is also a known failure or a regression.
    pub rules_broken: Vec<String>,
}

impl Summary {
    /// Counts `results`, comparing failures with `baseline`.
    pub fn of(results: &[CaseResult<'_>], baseline: Option<&Baseline>) -> Summary {
        let mut summary = Summary::default();
        for result in results {
            let id = &result.case.id;
            let known = baseline.is_some_and(|b| b.contains(id));
            match result.grade {
                Grade::Pass => summary.passed += 1,
                Grade::Warn => summary.warned += 1,
                Grade::Fail => summary.failed += 1,
                Grade::Info => summary.info += 1,
                Grade::Error => summary.errors += 1,
                Grade::Skip => summary.skipped += 1,
            }
            match (result.grade, known) {
                (Grade::Fail, true) => summary.known.push(id.clone()),
                (Grade::Fail, false) => summary.regressions.push(id.clone()),
                (Grade::Pass | Grade::Warn, true) => summary.fixed.push(id.clone()),
                _ => {}
            }
        }
        for rule in check_rules(results) {
            let id = rule.rule.id.to_string();
            let known = baseline.is_some_and(|b| b.contains(&id));
            match (rule.grade, known) {
                (Grade::Fail, true) => summary.known.push(id.clone()),
                (Grade::Fail, false) => summary.regressions.push(id.clone()),
                (Grade::Pass | Grade::Warn, true) => summary.fixed.push(id.clone()),
                _ => {}
            }
            if matches!(rule.grade, Grade::Fail | Grade::Warn) {
                summary.rules_broken.push(id);
            }
        }
        summary
    }

    /// `N passed, N warned, N failed`, then `, N info, N errors` when
    /// either is non-zero, then `, N skipped` when some were, then the
    /// response rules broken, when some were.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{} passed, {} warned, {} failed",
            self.passed, self.warned, self.failed
        );
        if self.info > 0 || self.errors > 0 {
            let _ = write!(line, ", {} info, {} errors", self.info, self.errors);
        }
        if self.skipped > 0 {
            let _ = write!(line, ", {} skipped", self.skipped);
        }
        if !self.rules_broken.is_empty() {
            let _ = write!(
                line,
                "; response rules broken: {}",
                self.rules_broken.join(", ")
            );
        }
        line
    }

    /// Whether any case was graded at all (pass, warn, fail or info): a run
    /// in which every case was skipped or errored says nothing about the
    /// server and is not conformant.
    pub fn graded_any(&self) -> bool {
        self.passed + self.warned + self.failed + self.info > 0
    }
}

/// Counts per grade ([`Grade::ALL`]'s order) for each group present, in
/// the catalogue's group order.
pub(super) fn group_counts(results: &[CaseResult<'_>]) -> Vec<(Group, [usize; 6])> {
    Group::ALL
        .iter()
        .filter_map(|&group| {
            let mut counts = [0; 6];
            let mut any = false;
            for result in results.iter().filter(|r| r.case.group == group) {
                any = true;
                if let Some(i) = Grade::ALL.iter().position(|&g| g == result.grade) {
                    counts[i] += 1;
                }
            }
            any.then_some((group, counts))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(passed: usize, warned: usize, failed: usize, info: usize, errors: usize) -> Summary {
        Summary {
            passed,
            warned,
            failed,
            info,
            errors,
            ..Summary::default()
        }
    }

    #[test]
    fn summary_line_without_info_or_errors_then_three_counts() {
        assert_eq!(
            summary(3, 1, 0, 0, 0).line(),
            "3 passed, 1 warned, 0 failed"
        );
    }

    #[test]
    fn summary_line_with_info_or_errors_then_five_counts() {
        assert_eq!(
            summary(3, 1, 2, 1, 0).line(),
            "3 passed, 1 warned, 2 failed, 1 info, 0 errors"
        );
        assert_eq!(
            summary(0, 0, 0, 0, 2).line(),
            "0 passed, 0 warned, 0 failed, 0 info, 2 errors"
        );
    }

    #[test]
    fn summary_line_with_skips_then_skip_count_last() {
        let skipped = Summary {
            skipped: 4,
            ..summary(3, 0, 0, 0, 0)
        };
        assert_eq!(skipped.line(), "3 passed, 0 warned, 0 failed, 4 skipped");
        assert!(skipped.graded_any());
    }

    #[test]
    fn only_skips_and_errors_then_nothing_graded() {
        let nothing = Summary {
            skipped: 4,
            ..summary(0, 0, 0, 0, 2)
        };
        assert!(!nothing.graded_any());
        assert!(summary(0, 0, 0, 1, 0).graded_any());
    }
}
