//! The engine's budget for polls (API 2.0: no listing), on the paused clock against the shared
//! fake: no second of the server's holds more requests than the rate, polls never take the
//! connection slot a waiting submission needs, each task is seen soon after its end, and what polls see shares fsyncs.

use super::fake::{Fake, Listing, POLL, SUBMIT, lock, number, options, run};
use super::*;

/// 12 s to 120 s, by instance number (the benchmark's tasks at time scale 0.2).
fn life(instance: &str) -> Duration {
    Duration::from_millis(12_000 + (number(instance) * 7_919) % 108_000)
}

#[tokio::test(start_paused = true)]
async fn no_second_of_the_server_holds_more_requests_than_the_rate() {
    // 300 tasks ending over 108 s at 20 polls a second: the budget is short, and the answers
    // take up to 160 ms, so the server may count a request late in its trip.
    let fake = Arc::new(Fake::new(Listing::None, 20.0, ms(80), life));
    run(&fake, 300, options(50, 4)).await;
    let polls = fake.calls_of(POLL).len();
    assert!(polls >= 300, "every task was seen: {polls}");
    for action in [POLL, SUBMIT] {
        let busiest = fake.busiest_second(action);
        assert!(busiest <= 20, "{action}: {busiest} in one second");
    }
    // The budget was used, not left idle: some second held the whole rate.
    assert!(
        fake.busiest_second(POLL) >= 19,
        "{}",
        fake.busiest_second(POLL)
    );
}

#[tokio::test(start_paused = true)]
async fn polls_leave_a_connection_slot_to_waiting_submissions() {
    // Slow answers and many batches: polls of early batches are due while later batches
    // still wait to be sent.
    let fake = Arc::new(Fake::new(Listing::None, 1000.0, ms(300), |_| secs(3)));
    run(&fake, 40, options(2, 3)).await;
    let most = lock(&fake.in_flight).1;
    assert!(most >= 1, "polls overlapped submissions");
    assert!(
        most <= 2,
        "{most} polls in flight with 3 slots while submissions waited"
    );
}

#[tokio::test(start_paused = true)]
async fn with_budget_to_spare_every_task_is_seen_soon_after_its_end() {
    let fake = Arc::new(Fake::new(Listing::None, 20.0, ms(20), life));
    run(&fake, 30, options(5, 4)).await;
    for id in super::fake::ids(30) {
        let end = fake.end(&id);
        let seen = fake
            .polls_of(&id)
            .into_iter()
            .filter(|at| *at >= end)
            .min()
            .unwrap_or_else(|| panic!("{id} never seen finished"));
        // Within the cadence's longest gap (12 s) of any end, closer where the estimate
        // holds: virtual time, so exact.
        let lag = seen - end;
        assert!(lag <= secs(12), "{id}: seen {lag:?} after its end");
    }
}

/// 2.5 s to 7.5 s, by instance number (the benchmark's N = 200 target at time scale 0.2).
fn short_life(instance: &str) -> Duration {
    Duration::from_millis(2_500 + (number(instance) * 2_719) % 5_000)
}

#[tokio::test(start_paused = true)]
async fn first_polls_are_not_held_back_while_the_run_knows_nothing() {
    // 200 tasks that end within 5 s of each other need 10 s of polls of 20 a second: a
    // first poll held back while the run has nothing to tell (it held them 12 s) leaves the
    // budget idle while tasks end.
    let fake = Arc::new(Fake::new(Listing::None, 20.0, ms(5), short_life));
    run(&fake, 200, options(50, 4)).await;
    let ids = super::fake::ids(200);
    let swept = ids
        .iter()
        .filter_map(|id| fake.polls_of(id).into_iter().min())
        .max()
        .unwrap_or_else(|| panic!("no poll"));
    let mut polls: Vec<Instant> = fake.calls_of(POLL).iter().map(|c| c.answered).collect();
    polls.sort();
    let widest = polls
        .windows(2)
        .filter(|w| w[1] <= swept)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    assert!(
        widest <= ms(500),
        "{widest:?} without a poll while tasks waited for their first"
    );
}

#[tokio::test(start_paused = true)]
async fn a_task_seen_running_is_seen_ended_soon_whatever_the_first_polls_waiting() {
    // 1,000 tasks of 12 s to 120 s at 20 polls a second: the first polls take most of the
    // first minute. A task seen running meanwhile is followed by its checks and its likely
    // poll, which go before those first polls: it is seen ended within 4 poll intervals (the
    // widest end a poll at the latest may skip a refinement for), not after the first polls
    // of all the others.
    let fake = Arc::new(Fake::new(Listing::None, 20.0, ms(5), life));
    run(&fake, 1000, options(50, 4)).await;
    let mut followed = 0;
    for id in super::fake::ids(1000) {
        let end = fake.end(&id);
        let polls = fake.polls_of(&id);
        let running = polls
            .iter()
            .any(|at| *at < end && (1..100).contains(&fake.progress(&id, *at)));
        if !running {
            continue;
        }
        followed += 1;
        let seen = polls.into_iter().filter(|at| *at >= end).min();
        let lag = seen.map(|at| at - end);
        assert!(
            lag.is_some_and(|l| l <= secs(4)),
            "{id}: seen running, then seen ended {lag:?} after its end"
        );
    }
    assert!(
        followed >= 500,
        "{followed} tasks seen running before their end"
    );
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// What polls see is journaled up to [`OBSERVATIONS_WAIT`] late, so one fsync covers the
/// answers of several polls (at 20 a second, each arrives on its own); at the end every
/// observation is on disk.
#[tokio::test(start_paused = true)]
async fn observations_share_fsyncs_and_all_reach_the_journal() {
    use crate::engine::journal::Record;
    let fake = Arc::new(Fake::new(Listing::None, 20.0, ms(20), short_life));
    let (_, records, syncs) = super::fake::run_journaled(&fake, 200, options(50, 4)).await;
    let finished = records
        .iter()
        .filter(|r| matches!(r, Record::Finished { .. }))
        .count();
    assert_eq!(finished, 200, "every end is journaled");
    let observed = records
        .iter()
        .filter(|r| matches!(r, Record::Finished { .. } | Record::Progress { .. }))
        .count();
    assert!(
        syncs * 2 < observed as u64,
        "{syncs} fsyncs for {observed} observations"
    );
}
