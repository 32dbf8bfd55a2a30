//! Tests of one task's history: estimates, the polls they plan, and plans made again.

use super::*;

const CADENCE: Cadence = Cadence {
    min: Duration::from_millis(200),
    max: Duration::from_secs(60),
};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

fn seen(t0: Instant, s: f64, p: u8) -> Seen {
    Seen {
        at: t0 + secs(s),
        progress: Some(p),
    }
}

fn within(got: Duration, lo: f64, hi: f64) {
    assert!(
        got >= secs(lo) && got <= secs(hi),
        "{got:?} not in {lo}..{hi}"
    );
}

#[test]
fn progress_predicts_the_end_and_the_poll_just_after_is_likely() {
    let t0 = Instant::now();
    let mut h = History::accepted(t0, secs(10.0));
    // Running since 20 s: 20 % at 30 s, 40 % at 40 s → 2 %/s, 60 % left → 30 s.
    let (_, kind) = h.observed(&mut Lifespans::default(), CADENCE, seen(t0, 30.0, 20));
    assert_eq!(kind, Kind::Check, "one poll says little");
    let (at, kind) = h.observed(&mut Lifespans::default(), CADENCE, seen(t0, 40.0, 40));
    assert_eq!(kind, Kind::Likely);
    within(at - (t0 + secs(40.0)), 30.0, 31.0);
}

#[test]
fn a_far_end_is_refined_by_a_check_just_before_the_earliest_it_may_come() {
    let t0 = Instant::now();
    let mut h = History::accepted(t0, secs(10.0));
    h.observed(&mut Lifespans::default(), CADENCE, seen(t0, 10.0, 1));
    // 1 % → 5 % in 20 s: 0.2 %/s, 94.5 % left → 472.5 s, but at 0.25 %/s (5 % is
    // anything below 6 %) the task may end in 376 s: the check comes two of the cadence's
    // shortest gaps before that (half the remaining time, 236 s, would be a poll more
    // before the end, when little has changed).
    let (at, kind) = h.observed(&mut Lifespans::default(), CADENCE, seen(t0, 30.0, 5));
    assert_eq!(kind, Kind::Check);
    within(at - (t0 + secs(30.0)), 375.5, 375.7);
}

#[test]
fn a_coarse_estimate_never_checks_after_the_earliest_possible_end() {
    let t0 = Instant::now();
    let mut h = History::accepted(t0, secs(10.0));
    h.observed(&mut Lifespans::default(), CADENCE, seen(t0, 10.0, 1));
    // 1 % → 2 % in 10 s: anywhere from 0.1 to 0.2 %/s, so the task may end in 485 s
    // (97 % at 0.2 %/s) although half the estimate is 487 s.
    let (at, kind) = h.observed(&mut Lifespans::default(), CADENCE, seen(t0, 20.0, 2));
    assert_eq!(kind, Kind::Check);
    within(at - (t0 + secs(20.0)), 484.9, 485.1);
}

#[test]
fn one_early_poll_at_little_progress_plans_a_check_within_the_cadence() {
    let t0 = Instant::now();
    let mut h = History::accepted(t0, secs(3.0));
    // 1 % three seconds after the acceptance: the task may have started just now and be
    // fast, or long ago and slow. Nothing is bounded: poll again within the cadence.
    let (at, kind) = h.observed(&mut Lifespans::default(), CADENCE, seen(t0, 3.0, 1));
    assert_eq!((at - (t0 + secs(3.0)), kind), (CADENCE.max, Kind::Check));
}

#[test]
fn a_single_poll_measures_from_the_acceptance_and_errs_late() {
    let t0 = Instant::now();
    let mut h = History::accepted(t0, secs(10.0));
    // 50 % at 40 s since acceptance → 1.26 %/s → 39.2 s more (the truth, if the task
    // waited 10 s first, is 30 s): planned as a likely poll, late rather than early.
    let (at, kind) = h.observed(&mut Lifespans::default(), CADENCE, seen(t0, 40.0, 50));
    assert_eq!(kind, Kind::Likely);
    within(at - (t0 + secs(40.0)), 39.0, 41.0);
}

/// What a task of `life` seconds that waits `wait` of it shows at `t` (as the sandbox).
fn progress_at(life: f64, wait: f64, t: f64) -> u8 {
    (((t - wait * life) / (life - wait * life)).clamp(0.0, 0.99) * 100.0) as u8
}

/// Teaches `lifespans` with tasks of various lives that each wait `wait` of it.
fn teach(lifespans: &mut Lifespans, wait: impl Fn(usize) -> f64) {
    let t0 = Instant::now();
    for i in 0..20 {
        let life = 100.0 + 10.0 * i as f64;
        let w = wait(i);
        let mut h = History::accepted(t0, secs(1.0));
        for t in [0.5 * life, 0.9 * life] {
            h.observed(lifespans, CADENCE, seen(t0, t, progress_at(life, w, t)));
        }
    }
}

#[test]
fn the_run_learns_the_waiting_share_from_two_polls_per_task() {
    let mut lifespans = Lifespans::default();
    assert_eq!(lifespans.shares(), None);
    teach(&mut lifespans, |_| 0.1);
    let q = lifespans.shares().unwrap();
    assert!(
        (q.low - 0.1).abs() < 0.01 && (q.high - 0.1).abs() < 0.01,
        "{q:?}"
    );
}

#[test]
fn a_run_whose_tasks_agree_makes_one_poll_enough_to_plan_the_end() {
    let mut lifespans = Lifespans::default();
    teach(&mut lifespans, |_| 0.1);
    // A 300 s task polled once, at 120 s: far off (> cadence.max), but the run
    // says how long it waited, so the poll is planned at its end (300 s), not before.
    let t0 = Instant::now();
    let mut h = History::accepted(t0, secs(1.0));
    let (at, kind) = h.observed(
        &mut lifespans,
        CADENCE,
        seen(t0, 120.0, progress_at(300.0, 0.1, 120.0)),
    );
    assert_eq!(kind, Kind::Likely);
    within(at - t0, 300.0, 310.0);
    // Without the run the same poll only plans a check within the cadence.
    let mut h = History::accepted(t0, secs(1.0));
    let (at, kind) = h.observed(&mut Lifespans::default(), CADENCE, seen(t0, 120.0, 40));
    assert_eq!((at - t0, kind), (secs(120.0) + CADENCE.max, Kind::Check));
}

#[test]
fn first_polls_wait_for_the_short_lives_once_the_run_knows_them() {
    let t0 = Instant::now();
    let cap = secs(600.0);
    let h = History::accepted(t0, secs(1.0));
    let mut lifespans = Lifespans::default();
    let now = t0 + secs(1.0);
    assert_eq!(
        h.first_poll(&mut lifespans, now, cap),
        None,
        "a run that knows nothing polls now"
    );
    teach(&mut lifespans, |_| 0.1); // lives of 100 s to 290 s: 10th percentile 120 s
    let at = h.first_poll(&mut lifespans, now, cap).unwrap();
    within(at - t0, 115.0, 125.0);
    assert_eq!(h.first_poll(&mut lifespans, at, cap), None, "due now");
    let capped = h.first_poll(&mut lifespans, t0, secs(60.0)).unwrap();
    assert_eq!(capped - t0, secs(60.0));
    // Tasks seen finished teach the run too (short ones may never show two polls).
    let mut quick = Lifespans::default();
    for i in 0..8 {
        History::accepted(t0, secs(1.0)).finished(&mut quick, t0 + secs(10.0 + f64::from(i)));
    }
    let at = h.first_poll(&mut quick, now, cap).unwrap();
    within(at - t0, 10.0, 11.0);
    // A task already polled follows its own estimates.
    let mut seen_once = History::accepted(t0, secs(1.0));
    seen_once.observed(&mut lifespans, CADENCE, seen(t0, 1.0, 0));
    assert_eq!(seen_once.first_poll(&mut lifespans, now, cap), None);
}

#[test]
fn a_run_whose_tasks_disagree_gets_refined_before_the_end() {
    let mut lifespans = Lifespans::default();
    teach(&mut lifespans, |i| if i % 2 == 0 { 0.05 } else { 0.4 });
    let t0 = Instant::now();
    let mut h = History::accepted(t0, secs(1.0));
    let (at, kind) = h.observed(&mut lifespans, CADENCE, seen(t0, 120.0, 40));
    assert_eq!(kind, Kind::Check, "too uncertain to plan the end");
    // Never after the earliest end the run allows (a task that waited 40 %).
    let p = 41.0 / 100.0;
    let earliest = 120.0 / (0.4 + 0.6 * p);
    assert!(at - t0 <= secs(earliest), "{:?} > {earliest}", at - t0);
}

#[test]
fn without_progress_it_backs_off_within_bounds() {
    let t0 = Instant::now();
    let mut h = History::accepted(t0, secs(2.0));
    let waiting = |s| Seen {
        at: t0 + secs(s),
        progress: None,
    };
    let (at, kind) = h.observed(&mut Lifespans::default(), CADENCE, waiting(2.0));
    assert_eq!(
        (at - (t0 + secs(2.0)), kind),
        (secs(3.0), Kind::First),
        "not yet seen running: a first poll again"
    );
    let mut h = History {
        last_gap: secs(59.0),
        ..History::default()
    };
    assert_eq!(
        h.observed(&mut Lifespans::default(), CADENCE, waiting(0.0))
            .0
            - t0,
        secs(60.0)
    );
    let mut h = History::default();
    assert_eq!(h.retry(CADENCE, t0).0 - t0, secs(0.2), "never below min");
}

#[test]
fn a_task_still_waiting_is_polled_at_again_when_the_run_says_it_can_start() {
    let mut lifespans = Lifespans::default();
    teach(&mut lifespans, |_| 0.1);
    let t0 = Instant::now();
    let waiting = |s| Seen {
        at: t0 + secs(s),
        progress: Some(0),
    };
    // Waiting 2 s after its acceptance, in a run whose tasks wait a tenth of its life: it lives
    // about 20 s at least, so the next poll is about 18 s later, not the back-off's 3 s...
    let mut h = History::accepted(t0, secs(2.0));
    let (at, kind) = h.observed(&mut lifespans, CADENCE, waiting(2.0));
    assert_eq!(kind, Kind::First);
    within(at - t0, 19.0, 22.0);
    // ...but never more than the cadence's longest gap.
    let mut h = History::accepted(t0, secs(2.0));
    let (at, _) = h.observed(&mut lifespans, CADENCE, waiting(30.0));
    assert_eq!(at - t0, secs(30.0) + CADENCE.max);
    // Before the run knows, a task that waited 8 s is taken to wait 8 s more.
    let mut h = History::accepted(t0, secs(2.0));
    let (at, _) = h.observed(&mut Lifespans::default(), CADENCE, waiting(8.0));
    assert_eq!(at - t0, secs(16.0));
    // Once seen running, the task is tracked by its estimates, in checks.
    let mut h = History::accepted(t0, secs(2.0));
    h.observed(&mut lifespans, CADENCE, seen(t0, 20.0, 5));
    let (_, kind) = h.observed(&mut Lifespans::default(), CADENCE, waiting(21.0));
    assert_eq!(kind, Kind::Check);
}

#[test]
fn likely_polls_that_keep_missing_back_off_then_become_checks() {
    let t0 = Instant::now();
    let mut h = History::accepted(t0, secs(1.0));
    h.observed(&mut Lifespans::default(), CADENCE, seen(t0, 10.0, 50));
    let (mut at, kind) = h.observed(&mut Lifespans::default(), CADENCE, seen(t0, 20.0, 98));
    assert_eq!(kind, Kind::Likely);
    let mut gaps = Vec::new();
    let mut kinds = Vec::new();
    for _ in 0..4 {
        // Stuck at 99 %.
        let now = at;
        let (next, kind) = h.observed(
            &mut Lifespans::default(),
            CADENCE,
            Seen {
                at: now,
                progress: Some(99),
            },
        );
        gaps.push(next - now);
        kinds.push(kind);
        at = next;
    }
    assert!(gaps.windows(2).all(|w| w[1] > w[0]), "growing: {gaps:?}");
    assert_eq!(kinds[..2], [Kind::Likely, Kind::Likely]);
    assert_eq!(
        kinds[2],
        Kind::Check,
        "distrusted after {MAX_MISSES} misses"
    );
}

/// The benchmark's cadence at a 1 s poll interval.
const BENCH: Cadence = Cadence {
    min: Duration::from_secs(1),
    max: Duration::from_secs(12),
};

#[test]
fn a_check_planned_before_the_run_knew_is_planned_again_once_it_knows() {
    let t0 = Instant::now();
    let mut h = History::accepted(t0, secs(2.0));
    // A 100 s task that waits 10 s, seen once at 30 s: without the run, a check 12 s on.
    let poll = seen(t0, 30.0, progress_at(100.0, 0.1, 30.0));
    let (at, kind) = h.observed(&mut Lifespans::default(), BENCH, poll);
    assert_eq!((at - t0, kind), (secs(42.0), Kind::Check));
    // Nothing new while the run still knows nothing: poll as planned.
    assert_eq!(h.replan(&mut Lifespans::default(), BENCH, at, true), None);
    // Once it knows, the same poll plans far past that check, near the end (100 s).
    let mut lifespans = Lifespans::default();
    teach(&mut lifespans, |_| 0.1);
    let (again, _) = h
        .replan(&mut lifespans, BENCH, at, false)
        .expect("planned again");
    within(again - t0, 90.0, 102.0);
    assert_eq!(h.replan(&mut lifespans, BENCH, at, false), None, "once");
}

#[test]
fn a_refinement_of_an_end_known_closely_is_skipped_while_first_polls_wait() {
    let mut lifespans = Lifespans::default();
    teach(&mut lifespans, |_| 0.1);
    let t0 = Instant::now();
    // A 50 s task seen at 10 s: its end is known within about 2 s, more than 3 % of its
    // life, so a refinement is planned before the earliest end, about 36 s later.
    let poll = seen(t0, 10.0, progress_at(50.0, 0.1, 10.0));
    let mut h = History::accepted(t0, secs(2.0));
    let (check, kind) = h.observed(&mut lifespans, BENCH, poll);
    assert_eq!(kind, Kind::Check);
    within(check - t0, 40.0, 48.0);
    let planned = h.clone();
    // With the budget free, the refinement goes as planned...
    assert_eq!(h.replan(&mut lifespans, BENCH, check, false), None);
    // ...but while first polls wait for it, one poll at the latest the end may come.
    let mut h = planned;
    let (at, kind) = h
        .replan(&mut lifespans, BENCH, check, true)
        .expect("the end is polled instead");
    assert_eq!(kind, Kind::Likely);
    within(at - t0, 50.0, 52.5);
}

#[test]
fn a_precise_end_is_polled_at_when_it_comes_at_the_latest() {
    let t0 = Instant::now();
    let mut h = History::accepted(t0, secs(1.0));
    // 20 % at 30 s, 60 % at 70 s: 1 %/s, anywhere from 40/41 to 40/39 %/s: the end is
    // 39.5 s away by the rate, 41 s at the latest: the poll goes at the latest.
    h.observed(&mut Lifespans::default(), BENCH, seen(t0, 30.0, 20));
    let (at, kind) = h.observed(&mut Lifespans::default(), BENCH, seen(t0, 70.0, 60));
    assert_eq!(kind, Kind::Likely);
    within(at - (t0 + secs(70.0)), 41.0, 41.1);
}
