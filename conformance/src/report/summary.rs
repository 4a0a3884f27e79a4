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
    /// Of the failed cases, those the baseline does not list (all of them
    /// without a baseline).
    pub failed_new: usize,
    /// Of the failed cases, those the baseline lists.
    pub failed_known: usize,
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
    /// Baseline ids that name no case (nor alias) and no response rule:
    /// renamed or removed since the baseline was written.
    pub stale: Vec<String>,
    /// The response rules ([`crate::rules`]) some response broke, by id;
    /// a broken `must` rule is also a known failure or a regression.
    pub rules_broken: Vec<String>,
    /// Whether a baseline was given: the summary line then says how many
    /// failures are new.
    #[serde(skip)]
    pub with_baseline: bool,
    /// The broken rules the baseline lists, to mark them in the line.
    #[serde(skip)]
    rules_known: Vec<String>,
}

impl Summary {
    /// Counts `results`, comparing failures with `baseline`.
    pub fn of(results: &[CaseResult<'_>], baseline: Option<&Baseline>) -> Summary {
        let mut summary = Summary {
            with_baseline: baseline.is_some(),
            stale: baseline.map(|b| b.stale().to_vec()).unwrap_or_default(),
            ..Summary::default()
        };
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
                (Grade::Fail, true) => {
                    summary.failed_known += 1;
                    summary.known.push(id.clone());
                }
                (Grade::Fail, false) => {
                    summary.failed_new += 1;
                    summary.regressions.push(id.clone());
                }
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
                if known && rule.grade == Grade::Fail {
                    summary.rules_known.push(id.clone());
                }
                summary.rules_broken.push(id);
            }
        }
        summary
    }

    /// `N passed, N warned, N failed`, with a baseline and failures
    /// `N failed (N new, N in the baseline)`, then `, N info, N errors`
    /// when either is non-zero, then `, N skipped` when some were, then the
    /// response rules broken, when some were, each the baseline lists
    /// marked `(in the baseline)`.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{} passed, {} warned, {} failed",
            self.passed, self.warned, self.failed
        );
        if self.with_baseline && self.failed > 0 {
            let _ = write!(
                line,
                " ({} new, {} in the baseline)",
                self.failed_new, self.failed_known
            );
        }
        if self.info > 0 || self.errors > 0 {
            let _ = write!(line, ", {} info, {} errors", self.info, self.errors);
        }
        if self.skipped > 0 {
            let _ = write!(line, ", {} skipped", self.skipped);
        }
        if !self.rules_broken.is_empty() {
            let rules: Vec<String> = self
                .rules_broken
                .iter()
                .map(|id| {
                    if self.rules_known.contains(id) {
                        format!("{id} (in the baseline)")
                    } else {
                        id.clone()
                    }
                })
                .collect();
            let _ = write!(line, "; response rules broken: {}", rules.join(", "));
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
    fn summary_line_with_baseline_then_new_and_known_failures_apart() {
        let with = |failed_new, failed_known| Summary {
            failed_new,
            failed_known,
            with_baseline: true,
            ..summary(5, 0, failed_new + failed_known, 1, 0)
        };
        assert_eq!(
            with(1, 2).line(),
            "5 passed, 0 warned, 3 failed (1 new, 2 in the baseline), 1 info, 0 errors"
        );
        assert_eq!(
            with(0, 0).line(),
            "5 passed, 0 warned, 0 failed, 1 info, 0 errors"
        );
        let rules = Summary {
            rules_broken: vec!["rule:date".into(), "rule:status-sp".into()],
            rules_known: vec!["rule:date".into()],
            ..with(0, 1)
        };
        assert_eq!(
            rules.line(),
            "5 passed, 0 warned, 1 failed (0 new, 1 in the baseline), 1 info, 0 errors; \
             response rules broken: rule:date (in the baseline), rule:status-sp"
        );
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
