//! One caller for the sandbox tests that are the same on both APIs: what they do, said once,
//! carried out by API 2.0's [`Caller`] or API 3.0's [`V3`].

use super::v3::{V3, error_code, instance};
use super::*;

/// A caller of either API (one per test: API 2.0's nonces must not repeat).
pub(crate) enum Speaker {
    V2(Caller),
    V3(V3),
}

impl Speaker {
    pub(crate) fn new(api: &str, sb: &Sandbox) -> Self {
        if api == "v3" {
            Self::V3(V3::new(sb))
        } else {
            Self::V2(Caller::new(sb))
        }
    }

    /// Three reads of one action sent at once (so that they fall in one second however slow
    /// the machine): whether each was refused for the rate.
    pub(crate) async fn three_reads_at_once(&mut self) -> Vec<bool> {
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

    /// Whether a request of another action is accepted.
    pub(crate) async fn other_accepted(&mut self) -> bool {
        match self {
            Self::V3(c) => error_code(&c.detail(A, json!({})).await).is_none(),
            Self::V2(c) => int(&c.submit(&[(A, para())]).await["code"]) == 0,
        }
    }

    /// The submission of [`A`] as sent (API 2.0 over POST), for a test that polls of the
    /// HTTP answer itself.
    pub(crate) async fn submit_request(&mut self) -> reqwest::Result<reqwest::Response> {
        match self {
            Self::V3(c) => {
                c.send("StartBatchRollback", &json!({"Instances": [instance(A)]}))
                    .await
            }
            Self::V2(c) => {
                c.method = HttpMethod::Post;
                let p = c.params(
                    "RollbackCdbDatabaseTables",
                    &[
                        ("instances.0.cdbInstanceId".into(), A.into()),
                        ("instances.0.para".into(), para().to_string()),
                    ],
                    now(),
                );
                c.send(&p).await
            }
        }
    }

    /// The submission of [`A`]; its answer.
    pub(crate) async fn submit(&mut self) -> Value {
        match self {
            Self::V3(c) => c.start(json!([instance(A)])).await,
            Self::V2(c) => c.submit(&[(A, para())]).await,
        }
    }
}
