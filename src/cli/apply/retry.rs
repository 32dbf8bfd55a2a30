//! `apply --retry-failed`: what the journal's last apply left failed, rejected or unknown is
//! sent again in the same journal (an unknown instance once its possible task was looked
//! for); the engine decides, this says which before anything else is asked.

use crate::cli::{exit, session};
use crate::plan::text::visible;

/// Which instances the journal's last apply left failed, rejected or
/// unknown, said before anything else; refused when there is no such apply of this very plan.
/// Returns how many are sent again (or looked for first).
pub(super) fn retry(session: &mut session::Session, found: session::Found) -> Result<usize, i32> {
    let journal = visible(&session.journal_path().display().to_string()).into_owned();
    let plan = visible(session.apply().plan_name()).into_owned();
    match found {
        session::Found::Nothing => {
            errln!(
                "error: no apply of plan {plan} is recorded (journal {journal}): nothing to retry. Apply it without --retry-failed."
            );
            return Err(exit::USAGE);
        }
        session::Found::SetAside => {
            errln!(
                "error: plan {plan} changed since its last apply (journal {journal}): --retry-failed sends again what that apply was asked. Apply the plan as it was, or apply it without --retry-failed."
            );
            return Err(exit::USAGE);
        }
        session::Found::Unfinished | session::Found::Complete => {}
    }
    let retried = session.apply_mut().retry().to_vec();
    if !retried.is_empty() {
        let unknown = |id: &String| {
            session
                .state()
                .get(id)
                .is_some_and(|s| s.status != crate::engine::state::Status::Pending)
        };
        let (looked, sent): (Vec<&String>, Vec<&String>) = retried.iter().partition(|i| unknown(i));
        errln!(
            "--retry-failed: {} instance(s) that ended failed or rejected are sent again{}; {} unknown instance(s) are looked for first, and sent again only if no task of theirs is found{}",
            sent.len(),
            listed(&sent),
            looked.len(),
            listed(&looked),
        );
    }
    Ok(retried.len())
}

/// `: a, b, c` (at most ten, then how many more), or nothing.
fn listed(ids: &[&String]) -> String {
    if ids.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = ids
        .iter()
        .take(10)
        .map(|i| visible(i).into_owned())
        .collect();
    let more = ids.len().saturating_sub(10);
    let tail = if more > 0 {
        format!(" and {more} more")
    } else {
        String::new()
    };
    format!(" ({}{tail})", shown.join(", "))
}
