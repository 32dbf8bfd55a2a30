//! The limiter's tests: windows as the server counts them, on the paused clock where time
//! matters.

use super::*;
use futures::FutureExt;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Lets `n` requests through one after another, each as soon as it may go from `t0` on,
/// each answered `trip` after it left; their times.
fn pass_all(limiter: &RateLimiter, t0: Instant, n: usize, trip: Duration) -> Vec<Instant> {
    let mut at = t0;
    let mut sent = Vec::new();
    for _ in 0..n {
        let ticket = loop {
            match limiter.try_pass(at) {
                Ok(seq) => break Ticket { seq, sent: at },
                Err(Some(free)) => at = free,
                Err(None) => unreachable!("answered as they leave"),
            }
        };
        limiter.answered_at(ticket, at + trip);
        sent.push(at);
    }
    sent
}

/// The most of `times` any window of one second (closed on the left) holds.
fn busiest_second(times: &[Instant]) -> usize {
    times
        .iter()
        .map(|t| {
            times
                .iter()
                .filter(|u| **u >= *t && **u - *t < ms(1000))
                .count()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn the_whole_rate_goes_at_once_and_the_next_waits_a_window_after_an_answer() {
    let limiter = RateLimiter::new(20.0);
    let t0 = Instant::now();
    let tickets: Vec<Ticket> = (0..20)
        .map(|_| Ticket {
            seq: limiter.try_pass(t0).unwrap(),
            sent: t0,
        })
        .collect();
    // A sliding window allows the burst; the 21st waits for an answer, however long.
    assert_eq!(limiter.try_pass(t0 + ms(5000)), Err(None), "all unanswered");
    limiter.answered_at(tickets[3], t0 + ms(40));
    limiter.answered_at(tickets[0], t0 + ms(70));
    // Room comes a second after the earliest answer, not after the earliest send.
    assert_eq!(limiter.try_pass(t0 + ms(500)), Err(Some(t0 + ms(1040))));
    assert!(limiter.try_pass(t0 + ms(1040)).is_ok());
    assert_eq!(limiter.try_pass(t0 + ms(1040)), Err(Some(t0 + ms(1070))));
    assert!(limiter.try_pass(t0 + ms(1070)).is_ok());
    assert_eq!(
        limiter.try_pass(t0 + ms(9000)),
        Err(None),
        "18 still unanswered"
    );
}

#[test]
fn sustained_each_window_costs_a_second_and_a_round_trip() {
    let limiter = RateLimiter::new(20.0);
    let t0 = Instant::now();
    let times = pass_all(&limiter, t0, 61, ms(30));
    assert!(times[..20].iter().all(|t| *t == t0));
    assert_eq!(times[20], t0 + ms(1030));
    assert_eq!(times[60], t0 + ms(1030) * 3);
    assert_eq!(busiest_second(&times), 20);
}

#[test]
fn rates_below_one_a_second_space_requests_evenly() {
    let limiter = RateLimiter::new(0.5);
    let t0 = Instant::now();
    let times = pass_all(&limiter, t0, 3, ms(0));
    assert_eq!(times[1] - times[0], ms(2000));
    assert_eq!(times[2] - times[1], ms(2000));
}

/// A deterministic stream of numbers in [0, 1) (the tests need no real randomness).
fn uniform(state: &mut u64) -> f64 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

/// Callers at once, on the paused clock, against a server that counts each request at a
/// moment of its choosing between its arrival and its answer (round trips of 0–400 ms,
/// one in ten never answered: the attempt gives up after 2 s, the server having counted
/// it or not). Whatever it chooses, no second of its holds more than the rate.
#[tokio::test(start_paused = true)]
async fn no_second_of_the_server_ever_holds_more_than_the_rate() {
    let limiter = Arc::new(RateLimiter::new(20.0));
    let counted = Arc::new(Mutex::new(Vec::new()));
    let mut callers = Vec::new();
    for caller in 0..24u64 {
        let (limiter, counted) = (Arc::clone(&limiter), Arc::clone(&counted));
        callers.push(tokio::spawn(async move {
            let mut rng = caller + 1;
            for _ in 0..25 {
                let ticket = limiter.acquire().await;
                let sent = Instant::now();
                let lost = uniform(&mut rng) < 0.1;
                let trip = if lost {
                    ms(2000)
                } else {
                    ms(400).mul_f64(uniform(&mut rng))
                };
                // The server counts it somewhere in the trip (a lost one, maybe never).
                let at = sent + trip.mul_f64(uniform(&mut rng));
                if !lost || uniform(&mut rng) < 0.5 {
                    counted.lock().unwrap().push(at);
                }
                tokio::time::sleep(trip).await;
                limiter.answered(ticket);
            }
        }));
    }
    for c in callers {
        c.await.unwrap();
    }
    let counted = counted.lock().unwrap();
    assert!(counted.len() > 400, "{}", counted.len());
    let busiest = busiest_second(&counted);
    assert!(busiest <= 20, "{busiest} in one second");
}

#[tokio::test(start_paused = true)]
async fn a_caller_waiting_for_an_answer_is_woken_by_it() {
    let limiter = Arc::new(RateLimiter::new(2.0));
    let t0 = Instant::now();
    let first = limiter.acquire().await;
    let _second = limiter.acquire().await;
    let waiter = tokio::spawn({
        let limiter = Arc::clone(&limiter);
        async move {
            let _third = limiter.acquire().await;
            Instant::now()
        }
    });
    tokio::time::sleep(ms(300)).await;
    assert!(
        !waiter.is_finished(),
        "both places held by unanswered requests"
    );
    limiter.answered(first);
    assert_eq!(waiter.await.unwrap(), t0 + ms(1300));
}

#[tokio::test(start_paused = true)]
async fn a_pass_hands_its_ticket_back_when_dropped() {
    let state = Arc::new(ActionState {
        limiter: RateLimiter::new(1.0),
        attempts: AtomicU64::new(0),
    });
    let t0 = Instant::now();
    let pass = state.enter().await;
    assert_eq!(state.limiter.try_pass(t0 + ms(1500)), Err(None));
    tokio::time::sleep(ms(200)).await;
    drop(pass); // the answer was read (or the attempt failed) at 200 ms
    assert_eq!(state.limiter.try_pass(t0), Err(Some(t0 + ms(1200))));
    assert_eq!(state.attempts(), 1);
}

#[test]
fn slow_down_halves_the_rate_and_it_recovers_gradually() {
    let limiter = RateLimiter::new(16.0);
    let t0 = Instant::now();
    limiter.slow_down_at(t0);
    assert_eq!(limiter.rate_at(t0), 8.0);
    limiter.slow_down_at(t0);
    assert_eq!(limiter.rate_at(t0), 4.0);
    for _ in 0..10 {
        limiter.slow_down_at(t0);
    }
    assert_eq!(limiter.rate_at(t0), 1.0, "floor is max/16");
    assert_eq!(
        limiter.rate_at(t0 + ms(900)),
        1.0,
        "no recovery within a step"
    );
    assert!((limiter.rate_at(t0 + ms(1500)) - 2.6).abs() < 1e-9);
    assert!((limiter.rate_at(t0 + ms(2000)) - 4.2).abs() < 1e-9);
    assert_eq!(limiter.rate_at(t0 + Duration::from_secs(30)), 16.0);
}

#[test]
fn a_slowed_limiter_holds_fewer_per_window() {
    let limiter = RateLimiter::new(10.0);
    let t0 = Instant::now();
    limiter.slow_down_at(t0); // 5 a second
    let times = pass_all(&limiter, t0, 10, ms(0));
    assert_eq!(busiest_second(&times), 5);
    assert_eq!(times[5], t0 + ms(1000) + MARGIN_STEP, "a wider window too");
}

#[test]
fn the_sustained_rate_accounts_for_the_round_trip() {
    let limiter = RateLimiter::new(20.0);
    assert!(
        (limiter.current_rate() - 20.0).abs() < 1e-9,
        "no trip measured yet"
    );
    let t0 = Instant::now();
    pass_all(&limiter, t0, 200, ms(50));
    // The running estimate has converged on the 50 ms trips: 20 per 1.05 s.
    assert!((limiter.current_rate() - 20.0 / 1.05).abs() < 1e-3);
}

#[test]
fn each_action_has_its_own_limiter_and_counter() {
    let all = Limiters::new(10.0);
    all.action("A").limiter.slow_down();
    assert_eq!(all.action("A").limiter.rate_at(Instant::now()), 5.0);
    assert_eq!(all.action("B").limiter.rate_at(Instant::now()), 10.0);
    drop(all.action("B").enter().now_or_never().unwrap());
    assert_eq!(all.attempts("B"), 1);
    assert_eq!(all.attempts("A"), 0);
    assert_eq!(all.attempts("C"), 0);
}

#[test]
fn actions_with_a_higher_documented_limit_get_it_in_proportion() {
    let all = Limiters::new(CLOUD_RATE);
    let info = all.action("DescribeAsyncRequestInfo");
    assert_eq!(info.limiter.rate_at(Instant::now()), 40.0);
    assert_eq!(
        all.action("DescribeRollbackRangeTime")
            .limiter
            .rate_at(Instant::now()),
        20.0
    );
    let shared = Limiters::new(10.0);
    let info = shared.action("DescribeAsyncRequestInfo");
    assert_eq!(info.limiter.rate_at(Instant::now()), 20.0);
    // The pages' figures, typed here from the pages, not from the table.
    for (action, limit) in [
        ("StartBatchRollback", 20.0),
        ("DescribeRollbackTaskDetail", 20.0),
        ("DescribeTables", 40.0),
        ("DescribeTasks", 100.0),
    ] {
        let rate = all.action(action).limiter.rate_at(Instant::now());
        assert_eq!(rate, limit, "{action}");
    }
}

#[test]
fn a_cap_holds_every_action_at_or_below_it() {
    // `--rate 5`: no action above 5/s, the 100/s ones included.
    let shared = Limiters::capped(CLOUD_RATE, Some(5.0));
    for action in ["StartBatchRollback", "DescribeTables", "DescribeTasks"] {
        let rate = shared.action(action).limiter.rate_at(Instant::now());
        assert_eq!(rate, 5.0, "{action}");
    }
    // A cap above an action's documented limit does not raise it.
    let loose = Limiters::capped(CLOUD_RATE, Some(30.0));
    for (action, limit) in [
        ("StartBatchRollback", 20.0),
        ("DescribeTables", 30.0),
        ("DescribeTasks", 30.0),
    ] {
        let rate = loose.action(action).limiter.rate_at(Instant::now());
        assert_eq!(rate, limit, "{action}");
    }
}

/// The object preflight (DescribeTables), the window check, submissions and polls of two
/// regions at once, on the paused clock, through one set of limiters: counted where the
/// server may count each request (somewhere in its trip), no one-second window of any
/// action in any region holds more than that action's documented limit, and each region
/// uses its own budget.
#[tokio::test(start_paused = true)]
async fn preflight_and_submissions_share_the_budgets_without_exceeding_any_window() {
    let all = Arc::new(Limiters::new(CLOUD_RATE));
    let counted = Arc::new(Mutex::new(Vec::new()));
    let kinds = [
        ("DescribeTables", 6),
        ("DescribeRollbackRangeTime", 1),
        ("StartBatchRollback", 2),
        ("DescribeRollbackTaskDetail", 2),
    ];
    let mut callers = Vec::new();
    let mut seed = 0u64;
    for region in ["ap-guangzhou", "ap-shanghai"] {
        for (action, callers_of_it) in kinds {
            for _ in 0..callers_of_it {
                seed += 1;
                let (all, counted) = (Arc::clone(&all), Arc::clone(&counted));
                callers.push(tokio::spawn(async move {
                    let mut rng = seed;
                    for _ in 0..40 {
                        let pass = all.at(region, action).enter().await;
                        let sent = Instant::now();
                        let trip = ms(150).mul_f64(uniform(&mut rng));
                        let at = sent + trip.mul_f64(uniform(&mut rng));
                        counted.lock().unwrap().push((region, action, at));
                        tokio::time::sleep(trip).await;
                        drop(pass);
                    }
                }));
            }
        }
    }
    for c in callers {
        c.await.unwrap();
    }
    let counted = counted.lock().unwrap();
    // The documented limits, from the pages (not from the table under test).
    for (action, limit) in [
        ("DescribeTables", 40),
        ("DescribeRollbackRangeTime", 20),
        ("StartBatchRollback", 20),
        ("DescribeRollbackTaskDetail", 20),
    ] {
        for region in ["ap-guangzhou", "ap-shanghai"] {
            let times: Vec<Instant> = counted
                .iter()
                .filter(|(r, a, _)| *r == region && *a == action)
                .map(|(.., at)| *at)
                .collect();
            let busiest = busiest_second(&times);
            assert!(
                busiest <= limit,
                "{action} in {region}: {busiest} in one second"
            );
            assert!(
                busiest >= limit / 2,
                "{action} in {region} barely used: {busiest}"
            );
        }
        let both: Vec<Instant> = counted
            .iter()
            .filter(|(_, a, _)| *a == action)
            .map(|(.., at)| *at)
            .collect();
        assert!(
            busiest_second(&both) > limit,
            "{action}: the two regions' budgets were not used at once"
        );
    }
}

#[test]
fn each_access_region_has_its_own_budget_per_action() {
    let all = Limiters::new(CLOUD_RATE);
    all.at("ap-guangzhou", "DescribeTables").limiter.slow_down();
    let now = Instant::now();
    let rate = |r: &str| all.at(r, "DescribeTables").limiter.rate_at(now);
    assert_eq!(rate("ap-guangzhou"), 20.0);
    assert_eq!(rate("ap-shanghai"), 40.0);
    drop(all.at("ap-shanghai", "X").enter().now_or_never().unwrap());
    drop(all.at("ap-beijing", "X").enter().now_or_never().unwrap());
    assert_eq!(all.attempts("X"), 2, "summed over the regions");
}
