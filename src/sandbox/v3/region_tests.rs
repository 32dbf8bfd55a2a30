//! An instance exists only in its own region, on every action, as the cloud answers it.

use axum::http::Method;
use serde_json::{Value, json};

use super::answer;
use super::tests::signed_in;
use crate::sandbox::config::Config;
use crate::sandbox::shared::Shared;

/// The demo fleet lists this one in ap-shanghai.
const SHANGHAI: &str = "cdb-ord10001";

fn ask(shared: &Shared, region: &str, action: &str, body: &Value) -> (Value, bool) {
    let bytes = body.to_string().into_bytes();
    answer(
        shared,
        &Method::POST,
        &signed_in(region, action, &bytes),
        &bytes,
        None,
    )
}

fn code(answer: &Value) -> &str {
    answer["Response"]["Error"]["Code"].as_str().unwrap_or("")
}

#[test]
fn an_instance_asked_in_another_region_is_not_found_by_any_action() {
    let shared = Shared::new(Config::demo());
    assert_eq!(
        Config::demo()
            .catalog
            .member(SHANGHAI)
            .map(|m| m.region.as_str()),
        Some("ap-shanghai")
    );
    let submit = json!({"Instances": [{
        "InstanceId": SHANGHAI, "Strategy": "table", "RollbackTime": "2026-11-20 03:15:00",
        "Tables": [{"Database": "orders", "Table": [{"TableName": "payments", "NewTableName": "payments_bak"}]}]
    }]});
    let (wrong, accepted) = ask(&shared, "ap-guangzhou", "StartBatchRollback", &submit);
    assert_eq!(code(&wrong), "InvalidParameter.InstanceNotFound", "{wrong}");
    assert!(!accepted);
    assert_eq!(shared.lock().tasks.newest_first(SHANGHAI).count(), 0);

    for action in ["DescribeDatabases", "DescribeRollbackTaskDetail"] {
        let (wrong, _) = ask(
            &shared,
            "ap-guangzhou",
            action,
            &json!({"InstanceId": SHANGHAI}),
        );
        assert_eq!(
            code(&wrong),
            "InvalidParameter.InstanceNotFound",
            "{action}: {wrong}"
        );
        let (right, _) = ask(
            &shared,
            "ap-shanghai",
            action,
            &json!({"InstanceId": SHANGHAI}),
        );
        assert_eq!(code(&right), "", "{action}: {right}");
    }
    let tables = json!({"InstanceId": SHANGHAI, "Database": "orders"});
    let (wrong, _) = ask(&shared, "ap-guangzhou", "DescribeTables", &tables);
    assert_eq!(code(&wrong), "InvalidParameter.InstanceNotFound", "{wrong}");
    let (right, _) = ask(&shared, "ap-shanghai", "DescribeTables", &tables);
    assert_eq!(
        right["Response"]["Items"],
        json!(["invoices", "order_items", "payments", "refunds"])
    );

    // DescribeRollbackRangeTime answers per instance: 1600009 is "the instance does not
    // exist" in the SDK's documentation of `Items[].Code`.
    let range = json!({"InstanceIds": [SHANGHAI]});
    let (wrong, _) = ask(&shared, "ap-guangzhou", "DescribeRollbackRangeTime", &range);
    assert_eq!(wrong["Response"]["Items"][0]["Code"], 1_600_009, "{wrong}");
    let (right, _) = ask(&shared, "ap-shanghai", "DescribeRollbackRangeTime", &range);
    assert_eq!(right["Response"]["Items"][0]["Code"], 0, "{right}");

    let listed = json!({"InstanceIds": [SHANGHAI]});
    let (wrong, _) = ask(&shared, "ap-guangzhou", "DescribeDBInstances", &listed);
    assert_eq!(wrong["Response"]["TotalCount"], 0, "{wrong}");
    let (right, _) = ask(&shared, "ap-shanghai", "DescribeDBInstances", &listed);
    assert_eq!(right["Response"]["TotalCount"], 1, "{right}");
}

#[test]
fn any_instance_mode_still_places_the_instances_its_catalog_lists() {
    let mut config = Config::demo();
    config.any_instance = true;
    let shared = Shared::new(config);
    let body = json!({"InstanceId": SHANGHAI});
    let (wrong, _) = ask(&shared, "ap-guangzhou", "DescribeDatabases", &body);
    assert_eq!(code(&wrong), "InvalidParameter.InstanceNotFound", "{wrong}");
    // An id the catalog does not list exists wherever it is asked for.
    let unlisted = json!({"InstanceId": "cdb-zzzzzzzz"});
    for region in ["ap-guangzhou", "ap-shanghai"] {
        let (any, _) = ask(&shared, region, "DescribeDatabases", &unlisted);
        assert_eq!(code(&any), "", "{region}: {any}");
    }
}
