//! `apply --retry-failed`: what the journal's last apply left failed, rejected or unknown is
//! sent again in the same journal (an unknown instance once its possible task was looked
//! for); the engine decides ([`Apply::retry`]), this says which before anything else is asked.

use crate::cli::Error;
use crate::engine::apply::Apply;
use crate::engine::state::Status;
use crate::engine::store::Found;
use crate::plan::text::visible;

/// Which instances the journal's last apply left failed, rejected or unknown, said before
/// anything else; refused when there is no such apply of this very plan. Returns how many
/// are sent again (or looked for first).
pub(super) fn retry(apply: &mut Apply, found: Found) -> Result<usize, Error> {
    let retried = apply.retry(found)?.to_vec();
    if !retried.is_empty() {
        let unknown = |id: &String| {
            apply
                .state()
                .get(id)
                .is_some_and(|s| s.status != Status::Pending)
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
