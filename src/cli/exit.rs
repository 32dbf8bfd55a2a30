//! The exit-code table (`docs/contract.md` §2): the one place outcomes and errors become numbers.

use super::Error;
use crate::engine::apply::Outcome;
use crate::engine::ops::{cancel, compare::targets, new, report, selfhosted};
use crate::engine::report::Totals;
use crate::engine::run::Ending;

/// Success: valid plan, all rollbacks succeeded (or were cancelled on purpose), all done.
pub const OK: i32 = 0;
/// Invalid plan, or some rollback failed, was rejected or timed out.
pub const FAILED: i32 = 1;
/// Usage, I/O or credentials problem.
pub const USAGE: i32 = 2;
/// Interrupted or unfinished: resumable.
pub const UNFINISHED: i32 = 3;
/// Nothing failed, but some outcome is not proven: an `unknown` instance (nothing ties a task
/// to its submission, or its task went unseen) or an `unverified` one (its task said success,
/// its new objects were not all seen). A person must check (`planrun jobs INSTANCE`); never 0.
pub const UNPROVEN: i32 = 4;

/// Which outcome speaks first when a run has both failures and unfinished instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precedence {
    /// `apply`: the run is over; a failure (or `--timeout`) is what the caller must act on.
    FailuresFirst,
    /// `status`: a CI loop polls until the end and must not stop at the first failure, and a
    /// `timed_out` instance's task may still be running.
    UnfinishedFirst,
}

/// The exit code of a command's failure: what the caller must do about it.
pub fn of_error(e: &Error) -> i32 {
    match e {
        // The plan, the flags' result or the answer at the prompt: the person's to change. (A
        // plan that cannot be read, and a server refusing the credentials, are not: usage.)
        Error::Failed(_)
        | Error::Declined(_)
        | Error::Preflight { .. }
        | Error::Plan { readable: true, .. }
        | Error::SelfHosted(selfhosted::Error::Preflight { auth: false, .. })
        | Error::New(new::Error::NotFound { .. } | new::Error::NoMatch(_)) => FAILED,
        // Nothing (or not everything) recorded yet: run it again later.
        Error::Unfinished(_)
        | Error::Targets(
            targets::Error::NothingRecorded { .. } | targets::Error::Unfinished { .. },
        )
        | Error::Report(report::Error::OnlySandbox { .. } | report::Error::NothingRecorded(_)) => {
            UNFINISHED
        }
        // Usage, I/O, credentials, the API, a refused journal or lock; and `cancel` of a plan
        // never applied (there is nothing to wait for).
        _ => USAGE,
    }
}

/// The code of the first case that holds, else [`OK`]: an outcome's cases, most urgent first.
fn first(cases: &[(bool, i32)]) -> i32 {
    cases
        .iter()
        .find(|(holds, _)| *holds)
        .map_or(OK, |(_, code)| *code)
}

/// The exit code of `validate`: a file that could not be read first, then an invalid plan
/// (or, with `--deny-warnings`, a warning).
pub fn of_validation(unreadable: bool, failed: bool) -> i32 {
    first(&[(unreadable, USAGE), (failed, FAILED)])
}

/// The exit code of a comparison: an error first (a server failed, an instance without an
/// address), then a difference or a table that could not be compared.
pub fn of_comparison(c: &crate::compare::Comparison, errors: usize) -> i32 {
    let differ = c.differences() > 0 || c.not_comparable() > 0;
    first(&[(errors > 0, USAGE), (differ, FAILED)])
}

/// The exit code of what did part of its work: a saved merge (tables left out, not
/// mergeable), its apply (conflicts: rows left as they are), `plan --preflight` (problems
/// found). What was done is done; the rest is 1.
pub fn of_failures(left: usize) -> i32 {
    first(&[(left > 0, FAILED)])
}

/// The exit code of a cancel: a failure first (an instance it could not cancel), then a
/// stop not yet confirmed.
pub fn of_cancel(outcome: cancel::Outcome) -> i32 {
    first(&[
        (outcome.failed > 0, FAILED),
        (outcome.still > 0, UNFINISHED),
    ])
}

/// The exit code of an apply: of what an earlier run left (nothing was submitted), or of how
/// this run ended.
pub fn of_outcome(outcome: &Outcome) -> i32 {
    match outcome {
        Outcome::AlreadyApplied(totals) => of_totals(totals, Precedence::FailuresFirst),
        Outcome::Ran { ending, totals } => of_ending(ending, totals),
    }
}

/// The exit code of how an apply's run ended, with its totals (a complete run: its outcomes).
pub fn of_ending(ending: &Ending, totals: &Totals) -> i32 {
    match ending {
        Ending::Complete => of_totals(totals, Precedence::FailuresFirst),
        // Resumable.
        Ending::Interrupted => UNFINISHED,
        // What is left is reported timed_out: a failure the caller must act on.
        Ending::TimedOut => FAILED,
        // Credentials or permission refused, or the journal could not be written.
        Ending::Stopped(_) | Ending::Journal(_) => USAGE,
    }
}

/// The exit code of a run's totals. `cancelled` is an outcome somebody chose with
/// `planrun cancel`: it counts as done, like `succeeded`, for `apply` and `status` alike.
/// `unknown` and `unverified` come after failures and before "unfinished" for `apply`, after
/// both for `status`: [`UNPROVEN`], never 0.
pub fn of_totals(t: &Totals, precedence: Precedence) -> i32 {
    let failed = t.failed + t.rejected;
    let unproven = t.unknown + t.unverified;
    match precedence {
        Precedence::FailuresFirst if failed + t.timed_out > 0 => FAILED,
        Precedence::FailuresFirst if unproven > 0 => UNPROVEN,
        Precedence::FailuresFirst if t.unfinished() > 0 => UNFINISHED,
        Precedence::UnfinishedFirst if t.unfinished() + t.timed_out > 0 => UNFINISHED,
        Precedence::UnfinishedFirst if failed > 0 => FAILED,
        Precedence::UnfinishedFirst if unproven > 0 => UNPROVEN,
        _ => OK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupted_run_is_resumable_and_a_timed_out_one_failed_whatever_the_totals() {
        let all_good = t(3, 0, 0, 0);
        assert_eq!(of_ending(&Ending::Complete, &all_good), OK);
        assert_eq!(of_ending(&Ending::Interrupted, &all_good), UNFINISHED);
        assert_eq!(of_ending(&Ending::TimedOut, &all_good), FAILED);
        let io = std::io::Error::other("disk full");
        assert_eq!(of_ending(&Ending::Journal(io), &all_good), USAGE);
        assert_eq!(of_ending(&Ending::Complete, &t(2, 1, 0, 0)), FAILED);
    }

    #[test]
    fn an_apply_over_a_complete_journal_exits_as_its_totals_say() {
        assert_eq!(of_outcome(&Outcome::AlreadyApplied(t(3, 0, 0, 0))), OK);
        assert_eq!(of_outcome(&Outcome::AlreadyApplied(t(2, 1, 0, 0))), FAILED);
        let interrupted = Outcome::Ran {
            ending: Ending::Interrupted,
            totals: t(3, 0, 0, 0),
        };
        assert_eq!(of_outcome(&interrupted), UNFINISHED);
    }

    fn t(succeeded: usize, failed: usize, running: usize, cancelled: usize) -> Totals {
        Totals {
            succeeded,
            failed,
            running,
            cancelled,
            ..Totals::default()
        }
    }

    #[test]
    fn status_waits_for_the_end_and_apply_reports_failures_first() {
        use Precedence::*;
        assert_eq!(of_totals(&t(2, 1, 1, 0), UnfinishedFirst), UNFINISHED);
        assert_eq!(of_totals(&t(2, 1, 1, 0), FailuresFirst), FAILED);
        assert_eq!(of_totals(&t(2, 1, 0, 0), UnfinishedFirst), FAILED);
        assert_eq!(of_totals(&t(3, 0, 0, 0), FailuresFirst), OK);
        assert_eq!(of_totals(&t(0, 0, 1, 0), FailuresFirst), UNFINISHED);
    }

    #[test]
    fn stopping_is_unfinished_for_both() {
        let stopping = Totals {
            succeeded: 1,
            stopping: 1,
            ..Totals::default()
        };
        for p in [Precedence::FailuresFirst, Precedence::UnfinishedFirst] {
            assert_eq!(of_totals(&stopping, p), UNFINISHED);
        }
    }

    #[test]
    fn unknown_and_unverified_never_exit_0_and_yield_to_failures() {
        for (unknown, unverified) in [(1, 0), (0, 1), (2, 3)] {
            let unproven = Totals {
                succeeded: 4,
                unknown,
                unverified,
                ..Totals::default()
            };
            for p in [Precedence::FailuresFirst, Precedence::UnfinishedFirst] {
                assert_eq!(of_totals(&unproven, p), UNPROVEN);
            }
            assert_eq!(of_ending(&Ending::Complete, &unproven), UNPROVEN);
            let with_failure = Totals {
                failed: 1,
                ..unproven
            };
            assert_eq!(of_totals(&with_failure, Precedence::FailuresFirst), FAILED);
            let unfinished = Totals {
                running: 1,
                ..unproven
            };
            assert_eq!(
                of_totals(&unfinished, Precedence::UnfinishedFirst),
                UNFINISHED
            );
            assert_eq!(of_totals(&unfinished, Precedence::FailuresFirst), UNPROVEN);
        }
    }

    #[test]
    fn cancelled_counts_as_done_for_both() {
        for p in [Precedence::FailuresFirst, Precedence::UnfinishedFirst] {
            assert_eq!(of_totals(&t(2, 0, 0, 1), p), OK);
        }
    }
}
