//! Surveys (API 3.0), on the paused clock against the shared fake: the listing is what tells
//! which instances ended; each instance is then confirmed by exactly one poll of its own
//! (and only that poll decides); when the listing cannot speak for one instance (one item
//! per submission) or is refused, instances get polls of their own.

use super::fake::{Fake, LIST, Listing, POLL, ids, lock, number, options, run};
use super::*;

/// 20 s to 60 s, by instance number.
fn life(instance: &str) -> Duration {
    Duration::from_millis(20_000 + (number(instance) * 5_303) % 40_000)
}

fn fake(listing: Listing) -> Arc<Fake> {
    Arc::new(Fake::new(listing, 20.0, Duration::from_millis(30), life))
}

#[tokio::test(start_paused = true)]
async fn a_per_instance_listing_leaves_exactly_one_confirming_poll_per_instance() {
    let fake = fake(Listing::PerInstance);
    run(&fake, 40, options(10, 4)).await;
    for id in ids(40) {
        let polls = fake.polls_of(&id);
        assert_eq!(polls.len(), 1, "{id}: one poll, the one that confirms");
        assert!(polls[0] >= fake.end(&id), "{id}: no poll before its end");
    }
    // The listing spoke for all 40 at once, survey after survey: fewer calls than polls.
    let surveys = fake.calls_of(LIST).len();
    assert!((1..40).contains(&surveys), "{surveys} surveys");
}

#[tokio::test(start_paused = true)]
async fn each_poll_follows_a_survey_that_listed_its_task_ended() {
    let fake = fake(Listing::PerInstance);
    run(&fake, 30, options(10, 4)).await;
    let surveys: Vec<Instant> = fake.calls_of(LIST).iter().map(|c| c.answered).collect();
    for id in ids(30) {
        let poll = fake.polls_of(&id)[0];
        let end = fake.end(&id);
        // A survey answered after the end and before the poll: that is what sent it.
        assert!(
            surveys.iter().any(|s| *s >= end && *s <= poll),
            "{id}: polled without a survey that saw it ended"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_listing_that_says_ended_too_soon_is_not_believed_without_a_poll() {
    let fake = fake(Listing::Premature);
    run(&fake, 20, options(10, 4)).await;
    for id in ids(20) {
        let last = fake.polls_of(&id).into_iter().max();
        let last = last.unwrap_or_else(|| panic!("{id} never polled"));
        assert!(
            last >= fake.end(&id),
            "{id} finished only on a poll after its end"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn one_item_per_submission_hands_each_instance_to_polls_of_its_own() {
    let fake = fake(Listing::PerSubmission);
    run(&fake, 20, options(10, 4)).await;
    // The item stays RUNNING until the whole submission ends (60 s at most here); the short
    // tasks of a batch were seen ended on their own before that.
    let started = lock(&fake.started).clone();
    let mut early_seen = 0;
    for (id, (_, job)) in &started {
        let batch_end = started
            .iter()
            .filter(|(_, (_, j))| j == job)
            .map(|(i, _)| fake.end(i))
            .max()
            .unwrap_or_else(|| fake.end(id));
        let end = fake.end(id);
        let seen = fake.polls_of(id).into_iter().filter(|at| *at >= end).min();
        let seen = seen.unwrap_or_else(|| panic!("{id} never seen ended"));
        early_seen += usize::from(seen < batch_end);
    }
    assert!(
        early_seen >= 10,
        "{early_seen} of 20 seen before their batch ended"
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_listing_is_asked_once_and_instances_get_polls_of_their_own() {
    let fake = fake(Listing::Refused);
    run(&fake, 20, options(10, 4)).await;
    assert_eq!(fake.calls_of(LIST).len(), 1);
    for id in ids(20) {
        assert!(!fake.polls_of(&id).is_empty(), "{id} polled on its own");
    }
    assert!(fake.calls_of(POLL).len() >= 20);
}
