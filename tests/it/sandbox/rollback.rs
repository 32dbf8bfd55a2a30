//! RollbackCdbDatabaseTables and GetCdbRollbackJob: rules (9003), 11041, 9592, task life,
//! paging newest first.

use super::*;

#[tokio::test]
async fn rule_violations_reject_the_whole_batch_naming_the_instance() {
    let sb = start(fast()).await;
    let mut c = Caller::new(&sb);
    let bad = json!({"rollbacktime": "2026-01-01 03:15:00", "strategy": "table",
                     "dbs": [{"dbname": "orders", "newname": "orders_bak"}]});
    let v = c.submit(&[(A, para()), (B, bad)]).await;
    assert_eq!(int(&v["code"]), 9003, "{v}");
    assert!(
        v["message"]
            .as_str()
            .is_some_and(|m| m.contains("instances.1 (cdb-bbbbbbbb)")),
        "{v}"
    );
    let future = json!({"rollbacktime": "2099-01-01 00:00:00", "strategy": "full",
                        "dbs": [{"dbname": "a", "newname": "a_bak"}]});
    assert_eq!(int(&c.submit(&[(A, future)]).await["code"]), 9003);
    assert_eq!(
        int(&c.call("RollbackCdbDatabaseTables", &[]).await["code"]),
        9003
    );
    assert_eq!(
        int(&c.jobs(A, &[]).await["data"]["taskCount"]),
        0,
        "nothing was created"
    );
    assert_eq!(sb.counters().accepted_jobs, 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn missing_instances_answer_11041() {
    let mut config = fast();
    config.missing_instances.insert(B.into());
    let sb = start(config).await;
    let mut c = Caller::new(&sb);
    let v = c.submit(&[(A, para()), (B, para())]).await;
    assert_eq!(int(&v["code"]), 11041);
    assert!(v["message"].as_str().is_some_and(|m| m.contains(B)));
    assert_eq!(int(&c.jobs(B, &[]).await["code"]), 11041);
    assert_eq!(sb.counters().accepted_jobs, 0);
    sb.shutdown().await;
}

#[tokio::test]
async fn a_running_task_blocks_the_instance_with_9592_until_it_ends() {
    let sb = start(fast()).await;
    let mut c = Caller::new(&sb);
    let first = c.submit(&[(A, para())]).await;
    assert_eq!(int(&first["code"]), 0);
    let v = c.submit(&[(B, para()), (A, para())]).await;
    assert_eq!(int(&v["code"]), 9592, "{v}");
    assert_eq!(
        int(&c.jobs(B, &[]).await["data"]["taskCount"]),
        0,
        "all or nothing"
    );
    wait_idle(&mut c, A).await;
    let again = c.submit(&[(A, para()), (B, para())]).await;
    assert_eq!(int(&again["code"]), 0);
    assert!(int(&again["data"]["jobId"]) > int(&first["data"]["jobId"]));
    let s = sb.counters();
    assert_eq!(
        (
            s.accepted_submissions[A],
            s.accepted_submissions[B],
            s.accepted_jobs
        ),
        (2, 1, 2)
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn tasks_wait_run_with_growing_progress_and_end() {
    let mut config = Config {
        task_seconds: (1.0, 1.0),
        time_scale: 1.0,
        any_instance: true,
        ..Config::demo()
    };
    config.failing_instances.insert(B.into());
    let sb = start(config).await;
    let mut c = Caller::new(&sb);
    let submitted = c.submit(&[(A, para()), (B, para())]).await;
    assert_eq!(int(&submitted["code"]), 0, "{submitted}");
    let job = int(&submitted["data"]["jobId"]);
    let mut seen = Vec::new();
    // Under the default 20 requests/s per action.
    wait_for_every(
        "the task to succeed",
        Duration::from_secs(5),
        Duration::from_millis(60),
        async || {
            let t = c.jobs(A, &[]).await["data"]["taskList"][0].clone();
            assert_eq!(int(&t["jobId"]), job);
            let (status, progress) = (int(&t["status"]), int(&t["progress"]));
            seen.push((status, progress));
            if status != 2 {
                return Err(format!("{seen:?}"));
            }
            assert_eq!(progress, 100);
            assert_ne!(t["endTime"], "0000-00-00 00:00:00");
            assert_eq!(t["type"], "10");
            assert_eq!(t["taskContext"]["data"]["strategy"], "table");
            assert_eq!(t["taskContext"]["data"]["tables"], para()["tables"]);
            assert_eq!(t["name"], "orders.payments");
            Ok(())
        },
    )
    .await;
    assert_eq!(seen[0].0, 0, "starts waiting: {seen:?}");
    let running: Vec<i64> = seen.iter().filter(|s| s.0 == 1).map(|s| s.1).collect();
    assert!(running.len() >= 3, "{seen:?}");
    assert!(
        running.windows(2).all(|w| w[0] <= w[1]) && running.last() > running.first(),
        "{seen:?}"
    );
    let failed = &c.jobs(B, &[]).await["data"]["taskList"][0];
    assert_eq!(int(&failed["status"]), 3, "{failed}");
    assert!(int(&failed["progress"]) < 100);
    sb.shutdown().await;
}

#[tokio::test]
async fn jobs_page_newest_first_with_offset_and_limit() {
    let sb = start(Config {
        task_seconds: (0.01, 0.01),
        any_instance: true,
        ..Config::demo()
    })
    .await;
    let mut c = Caller::new(&sb);
    let mut ids = Vec::new();
    for _ in 0..5 {
        wait_idle(&mut c, A).await;
        ids.push(int(&c.submit(&[(A, para())]).await["data"]["jobId"]));
    }
    ids.reverse();
    let page = |v: &Value| -> Vec<i64> {
        v["data"]["taskList"]
            .as_array()
            .map_or(vec![], |l| l.iter().map(|t| int(&t["jobId"])).collect())
    };
    let all = c.jobs(A, &[]).await;
    assert_eq!(int(&all["data"]["taskCount"]), 5);
    assert_eq!(page(&all), ids);
    assert_eq!(page(&c.jobs(A, &[("limit", "2")]).await), ids[..2]);
    assert_eq!(
        page(&c.jobs(A, &[("offset", "2"), ("limit", "2")]).await),
        ids[2..4]
    );
    let tail = c.jobs(A, &[("offset", "4"), ("limit", "100")]).await;
    assert_eq!(
        (page(&tail), int(&tail["data"]["taskCount"])),
        (ids[4..].to_vec(), 5)
    );
    assert!(page(&c.jobs(A, &[("offset", "9")]).await).is_empty());
    assert_eq!(int(&c.jobs(A, &[("limit", "101")]).await["code"]), 9003);
    assert_eq!(int(&c.jobs(A, &[("offset", "-1")]).await["code"]), 9003);
    sb.shutdown().await;
}
