//! The sandbox's rate limit, the same on both APIs: each action has its own sliding second.

use super::v3::{V3, error_code};
use super::*;
use crate::support::both_apis;

/// A caller of either API (one per test: API 2.0's nonces must not repeat).
enum Speaker {
    V2(Caller),
    V3(V3),
}

impl Speaker {
    fn new(api: &str, sb: &Sandbox) -> Self {
        if api == "v3" {
            Self::V3(V3::new(sb))
        } else {
            Self::V2(Caller::new(sb))
        }
    }

    /// Three reads of one action sent at once (so that they fall in one second however slow
    /// the machine): whether each was refused for the rate.
    async fn three_reads_at_once(&mut self) -> Vec<bool> {
        match self {
            Self::V3(c) => {
                let body = || json!({"InstanceIds": [A]});
                let (r1, r2, r3) = tokio::join!(
                    c.call("DescribeRollbackRangeTime", body()),
                    c.call("DescribeRollbackRangeTime", body()),
                    c.call("DescribeRollbackRangeTime", body()),
                );
                [r1, r2, r3]
                    .iter()
                    .map(|r| error_code(r) == Some("RequestLimitExceeded"))
                    .collect()
            }
            Self::V2(c) => {
                let id = [("cdbInstanceId".to_owned(), A.to_owned())];
                let signed: Vec<_> = (0..3)
                    .map(|_| c.params("GetCdbRollbackJob", &id, now()))
                    .collect();
                let (r1, r2, r3) =
                    tokio::join!(c.raw(&signed[0]), c.raw(&signed[1]), c.raw(&signed[2]));
                [r1, r2, r3]
                    .iter()
                    .map(|r| int(&r["code"]) == 4400)
                    .collect()
            }
        }
    }

    /// Whether one more read of that action is accepted.
    async fn read_accepted(&mut self) -> bool {
        match self {
            Self::V3(c) => {
                let body = json!({"InstanceIds": [A]});
                error_code(&c.call("DescribeRollbackRangeTime", body).await).is_none()
            }
            Self::V2(c) => int(&c.jobs(A, &[]).await["code"]) == 0,
        }
    }

    /// Whether a request of another action is accepted.
    async fn other_accepted(&mut self) -> bool {
        match self {
            Self::V3(c) => error_code(&c.detail(A, json!({})).await).is_none(),
            Self::V2(c) => int(&c.submit(&[(A, para())]).await["code"]) == 0,
        }
    }
}

both_apis! {
    async fn each_action_has_its_own_sliding_rate_window(api) {
        let sb = start(Config {
            rate_per_action: 2,
            ..fast()
        })
        .await;
        let mut c = Speaker::new(api, &sb);
        let limited = c.three_reads_at_once().await;
        assert_eq!(limited.iter().filter(|l| **l).count(), 1, "API {api}: {limited:?}");
        assert!(
            c.other_accepted().await,
            "API {api}: another action has its own window"
        );
        // The window is a second of the sandbox's real clock: what is tested is its passing.
        tokio::time::sleep(Duration::from_millis(1050)).await;
        assert!(c.read_accepted().await, "API {api}: the window slid");
        let counters = sb.counters();
        if api == "v3" {
            assert_eq!(counters.rejections_per_error["RequestLimitExceeded"], 1);
        } else {
            assert_eq!(counters.rejections_per_code[&4400], 1);
        }
        sb.shutdown().await;
    }
}
