//! The rule of evidence held against scripted API 3.0 answers the official SDK allows and an
//! audit (2026-12-05) found planrun misread: each test pins the behaviour that replaced a
//! verdict without proof.

use chrono::{DateTime, FixedOffset, Utc};
use serde_json::{Value, json};

use super::*;
use planrun::api::v3::Client;
use planrun::engine::protocol::Protocol;
use planrun::engine::reconcile::{Finding, Sent};
use planrun::engine::v3::V3;

const INSTANCE: &str = "cdb-mo64xu70";

/// The submission in doubt: `db1 → db1_bak` at 03:10, attempted at 12:00:00 (+08:00).
fn sent() -> Sent {
    Sent {
        batch: vec![INSTANCE.to_owned()],
        spec: db_instance(INSTANCE).spec,
        attempt: DateTime::parse_from_rfc3339("2026-11-23T04:00:00Z")
            .unwrap()
            .with_timezone(&Utc),
        offset: FixedOffset::east_opt(8 * 3600).unwrap(),
        failed_before: None,
    }
}

fn old_task(n: usize) -> Value {
    json!({"Status": "SUCCESS", "Progress": 100,
           "StartTime": format!("2026-11-{:02} 09:00:00", 1 + n % 20),
           "EndTime": format!("2026-11-{:02} 09:30:00", 1 + n % 20),
           "Detail": [detail(INSTANCE, "2026-11-01 00:00:00", "db")]})
}

/// Reconciling a submission in doubt lists every task of the instance
/// (DescribeRollbackTaskDetail without AsyncRequestId). The instance has a history of 100
/// older rollbacks; the answer leaves `TotalCount` out (`null`, as the SDK allows for any
/// field). planrun stopped after the first full page (`total_count.unwrap_or(0)`), never saw
/// the task of this very submission on the next page, decided `Finding::Nothing` — "never
/// took effect, may be sent again" — and resubmitted. Without a count, pages are read while
/// they come back full.
#[tokio::test]
async fn audit_a_full_page_without_total_count_is_not_the_end_of_the_listing() {
    let (endpoint, script) = serve().await;
    let v3 = V3::new(Client::new(config(&endpoint)).unwrap());
    script.push(
        DESCRIBE_ROLLBACK_TASK_DETAIL,
        json!({"TotalCount": null, "Items": (0..100).map(old_task).collect::<Vec<_>>()}),
    );
    script.push(
        DESCRIBE_ROLLBACK_TASK_DETAIL,
        json!({"TotalCount": null, "Items": [
            {"Status": "RUNNING", "Progress": 10, "StartTime": "2026-11-23 12:00:02",
             "EndTime": null, "Detail": [detail(INSTANCE, "2026-11-20 03:10:00", "db")]}
        ]}),
    );
    let found = v3.find_submission(None, INSTANCE, sent()).await.unwrap();
    assert_ne!(
        found,
        Finding::Nothing,
        "DescribeRollbackTaskDetail was asked {} time(s)",
        script.seen(DESCRIBE_ROLLBACK_TASK_DETAIL).len()
    );
}

/// Tracking an accepted call of two instances, DescribeRollbackTaskDetail (by its
/// AsyncRequestId) lists ONE task whose `Detail` — a list in the SDK — names both
/// instances, and that task FAILED. Which instance's rollback failed, it does not say:
/// planrun's own rule for the same shape in DescribeTasks ("one item for a submission of
/// several instances ended otherwise than in success: which of them it concerns, it does not
/// say", `tied::from_listing`) makes it ambiguous. planrun reported each instance `failed`
/// (`Tracked::One`), the one that may well have been rolled back included; now the task's
/// end is final and proves nothing of either (`Tracked::Ended`: `unknown` at once).
#[tokio::test]
async fn audit_one_failed_task_naming_both_instances_does_not_say_whose_failed() {
    let (endpoint, script) = serve().await;
    let v3 = V3::new(Client::new(config(&endpoint)).unwrap());
    let other = "cdb-c1nl9rpv";
    let both = Sent {
        batch: vec![INSTANCE.to_owned(), other.to_owned()],
        ..sent()
    };
    script.push(
        DESCRIBE_ROLLBACK_TASK_DETAIL,
        json!({"TotalCount": 1, "Items": [
            {"Status": "FAILED", "Progress": 100, "Info": "rollback failed",
             "StartTime": "2026-11-23 12:00:02", "EndTime": "2026-11-23 12:05:00",
             "Detail": [detail(INSTANCE, "2026-11-20 03:10:00", "db"),
                        detail(other, "2026-11-20 03:10:00", "db")]}
        ]}),
    );
    let job = planrun::engine::protocol::JobHandle("f96e4f3c-8fc96c86-2ec79ac8-cb63a7a7".into());
    let tracked = v3.track(None, INSTANCE, &job, &both).await.unwrap();
    // Not this instance's failure, and final: the batch's task ended, so asking again cannot
    // tell more (the instance is `unknown` at once, not after the tracking bound).
    assert!(
        matches!(
            &tracked,
            planrun::engine::reconcile::Tracked::Ended(why)
                if why.contains(other) && why.contains("FAILED")
        ),
        "{tracked:?}"
    );
}
