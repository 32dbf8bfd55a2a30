//! Waiting for what another task or process makes happen: [`wait_for`] asks a probe again and
//! again, a little apart, until it answers, and fails the test after a time limit, saying what
//! it waited for and what it saw last. Never a guessed pause, never a loop without a deadline.
//!
//! A probe answers `true`/`false`, `Some(value)`/`None`, or `Ok(value)`/`Err(what it saw)`;
//! the last kind puts what was seen instead into the failure.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// How often [`wait_for`] asks: quick for a file or a process; probes of a rate-limited API ask
/// less often ([`wait_for_every`]).
pub const STEP: Duration = Duration::from_millis(20);

/// What a probe answers: ready (with a value), or not yet (maybe with what it saw).
pub trait Ready {
    type Value;
    fn ready(self) -> Result<Self::Value, Option<String>>;
}

impl Ready for bool {
    type Value = ();
    fn ready(self) -> Result<(), Option<String>> {
        if self { Ok(()) } else { Err(None) }
    }
}

impl<T> Ready for Option<T> {
    type Value = T;
    fn ready(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: Display> Ready for Result<T, E> {
    type Value = T;
    fn ready(self) -> Result<T, Option<String>> {
        self.map_err(|seen| Some(seen.to_string()))
    }
}

/// The failure of a wait that ran out.
fn ran_out(what: &str, limit: Duration, seen: Option<String>) -> ! {
    match seen {
        Some(seen) => panic!("waited {limit:?} for {what}; last seen: {seen}"),
        None => panic!("waited {limit:?} for {what}"),
    }
}

/// Asks `probe` every [`STEP`] until it is ready; panics after `limit`.
pub async fn wait_for<R: Ready>(
    what: &str,
    limit: Duration,
    probe: impl AsyncFnMut() -> R,
) -> R::Value {
    wait_for_every(what, limit, STEP, probe).await
}

/// [`wait_for`], asking every `every` (a probe that calls an API under a rate limit).
pub async fn wait_for_every<R: Ready>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut probe: impl AsyncFnMut() -> R,
) -> R::Value {
    let deadline = Instant::now() + limit;
    loop {
        let seen = match probe().await.ready() {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        if Instant::now() >= deadline {
            ran_out(what, limit, seen);
        }
        tokio::time::sleep(every).await;
    }
}

/// [`wait_for_every`] for a test without an async runtime (a process it watches, a file
/// another process writes).
pub fn wait_for_blocking<R: Ready>(
    what: &str,
    limit: Duration,
    every: Duration,
    mut probe: impl FnMut() -> R,
) -> R::Value {
    let deadline = Instant::now() + limit;
    loop {
        let seen = match probe().ready() {
            Ok(value) => return value,
            Err(seen) => seen,
        };
        if Instant::now() >= deadline {
            ran_out(what, limit, seen);
        }
        std::thread::sleep(every);
    }
}
