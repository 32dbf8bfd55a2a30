//! The sandbox's rate limit, the same on both APIs: each action has its own sliding second.

use super::speaker::Speaker;
use super::*;
use crate::support::both_apis;

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
        // That the window slides is `sandbox::verify`'s unit test, on times it is given.
        let counters = sb.counters();
        if api == "v3" {
            assert_eq!(counters.rejections_per_error["RequestLimitExceeded"], 1);
        } else {
            assert_eq!(counters.rejections_per_code[&4400], 1);
        }
        sb.shutdown().await;
    }
}
