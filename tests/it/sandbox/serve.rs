//! The counters endpoint, start/shutdown, and `planrun sandbox serve` as a process.

use super::*;
use crate::support::{LIMIT, Test};

#[tokio::test]
async fn counters_endpoint_serves_the_snapshot_as_json() {
    let sb = start(fast()).await;
    let mut c = Caller::new(&sb);
    c.submit(&[(A, para()), (B, para())]).await;
    c.secret_key = "wrong".into();
    c.jobs(A, &[]).await;
    let url = sb.counters_url();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/_sandbox/counters"));
    let v: Value = http().get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(v["accepted_submissions"], json!({A: 1, B: 1}));
    assert_eq!(v["accepted_jobs"], 1);
    assert_eq!(v["requests_per_action"]["RollbackCdbDatabaseTables"], 1);
    assert_eq!(v["requests_per_action"]["GetCdbRollbackJob"], 1);
    assert_eq!(v["rejections_per_code"]["4100"], 1);
    assert_eq!(v, serde_json::to_value(sb.counters()).unwrap_or_default());
    sb.shutdown().await;
}

#[tokio::test]
async fn the_sandbox_refuses_non_loopback_addresses_and_stops_on_shutdown() {
    let err = sandbox::start(Config::demo(), SocketAddr::from(([0, 0, 0, 0], 0))).await;
    assert!(err.is_err());
    let sb = start(fast()).await;
    let addr = sb.addr();
    assert!(sb.endpoint_v2().starts_with("http://127.0.0.1:"));
    sb.shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
}

/// `planrun sandbox serve` prints where it listens and what it accepts, serves, and stops on
/// SIGINT (the process is ours: started here, signalled by its id).
#[test]
fn sandbox_serve_prints_its_endpoint_and_stops_on_ctrl_c() {
    let home = tempfile::tempdir().unwrap();
    let mut child = Test::in_dir(home.path())
        .args(["sandbox", "serve", "--port", "0", "--job-seconds", "1"])
        .spawn();
    child.wait_for_stdout("Ctrl-C", std::time::Duration::from_secs(20));
    let banner = child.stdout_lines().to_vec();
    let find = |prefix: &str| {
        banner
            .iter()
            .find_map(|l| l.strip_prefix(prefix))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no `{prefix}` in {banner:?}"))
    };
    let endpoint = find("endpoint: ");
    let counters = find("counters: ");
    assert!(endpoint.starts_with("http://127.0.0.1:") && endpoint.ends_with("/v2/index.php"));
    let v3 = find("endpoint v3: ");
    assert_eq!(
        Some(v3.as_str()),
        endpoint.strip_suffix("v2/index.php"),
        "API 3.0 is served at / of the same address"
    );
    assert_eq!(find("secret id: "), DEMO_SECRET_ID);
    assert_eq!(find("secret key: "), DEMO_SECRET_KEY);

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let v: Value = runtime.block_on(async {
        http()
            .get(&counters)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(v["accepted_jobs"], 0);

    child.interrupt();
    let out = child.finish(LIMIT);
    assert_eq!(out.code, Some(0), "{}", out.all());
    assert!(
        out.stdout.lines().any(|l| l == "stopping"),
        "{}",
        out.stdout
    );
}
