//! What the reviewer approves is what is sent: every plan in `plans/` through
//! `plan --show-requests --format json`, then applied to a served sandbox on both APIs; the
//! sandbox's log of what it received (`/_sandbox/submissions`) is, call for call, what `plan`
//! showed.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::apply::harness::{SECRET_ID, SECRET_KEY, Served, Test};
use crate::support::both_apis;

/// The Region a call without one in the plan is sent with (`--region`).
const DEFAULT_REGION: &str = "ap-guangzhou";

/// One call, in a form both sides can be put in: action, region, its parameters by name.
pub type Call = (String, String, BTreeMap<String, String>);

fn shown(plan: &Path, api: &str, home: &Path) -> Vec<Call> {
    let out = Test::in_dir(home)
        .real_clock()
        .arg("plan")
        .arg(plan)
        .args(["--show-requests", "--format", "json", "--api", api])
        .run();
    assert_eq!(out.code, Some(0), "{}", out.stderr);
    let doc: Value = serde_json::from_str(&out.stdout).unwrap();
    calls_in(&doc)
}

/// The calls of a `plan --show-requests --format json` document (or `show`'s).
pub fn calls_in(doc: &Value) -> Vec<Call> {
    doc["calls"]
        .as_array()
        .unwrap_or_else(|| panic!("no calls in {doc}"))
        .iter()
        .map(|c| {
            let params = c["params"]
                .as_object()
                .unwrap_or_else(|| panic!("no params in {c}"))
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect();
            let region = c["region"].as_str().unwrap_or(DEFAULT_REGION).to_owned();
            (
                c["action"].as_str().unwrap_or_default().to_owned(),
                region,
                params,
            )
        })
        .collect()
}

/// `/_sandbox/submissions`, read with a bare HTTP/1.0 request.
pub fn received(served: &Served) -> Vec<Call> {
    let addr = served
        .endpoint
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let mut stream = TcpStream::connect(&addr).unwrap_or_else(|e| panic!("submissions: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        stream,
        "GET /_sandbox/submissions HTTP/1.0\r\nHost: {addr}\r\n\r\n"
    )
    .unwrap_or_else(|e| panic!("submissions: {e}"));
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("submissions: {e}"));
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
    let all: Vec<Value> =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("submissions {body:?}: {e}"));
    all.iter()
        .map(|r| {
            let params = r["params"]
                .as_array()
                .unwrap_or_else(|| panic!("no params in {r}"))
                .iter()
                .map(|p| {
                    let s = |i: usize| p[i].as_str().unwrap_or_default().to_owned();
                    (s(0), s(1))
                })
                .collect();
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
            (s("action"), s("region"), params)
        })
        .collect()
}

fn applied(plan: &Path, api: &'static str, home: &Path) -> Vec<Call> {
    // The example plans roll back to 2026-11-20: a window of ten years holds them.
    let served = Served::start_api(api, 0.2, &["--window-days", "3650"]);
    let out = Test::in_dir(home)
        .real_clock()
        .arg("apply")
        .arg(plan)
        .args(["--yes", "--no-preflight", "--api", api])
        .args(["--endpoint", &served.endpoint, "--region", DEFAULT_REGION])
        .arg("--state-dir")
        .arg(home.join("state"))
        .args(["--poll-interval", "100ms", "--settle", "300ms"])
        .env("TENCENTCLOUD_SECRET_ID", SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", SECRET_KEY)
        .run();
    assert_eq!(out.code, Some(0), "{}", out.all());
    received(&served)
}

pub fn sorted(mut calls: Vec<Call>) -> Vec<Call> {
    // Submissions run concurrently: they may arrive in any order.
    calls.sort();
    calls
}

fn each_plan_sends_what_plan_shows(api: &'static str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("plans");
    let mut plans: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    plans.sort();
    assert!(!plans.is_empty());
    for plan in plans {
        let home = tempfile::tempdir().unwrap();
        let shown = shown(&plan, api, home.path());
        assert!(!shown.is_empty(), "{}", plan.display());
        if std::fs::read_to_string(&plan).is_ok_and(|t| t.contains("provider: mysql")) {
            // Applying it would also restore on the plan's own servers (not loopback: never
            // reached from a test); its self-hosted side is tested in tests/it/selfhosted/.
            continue;
        }
        let sent = applied(&plan, api, home.path());
        assert_eq!(
            sorted(sent),
            sorted(shown),
            "{} over API {api}: what was sent differs from what plan showed",
            plan.display()
        );
    }
}

both_apis! {
    fn every_example_plan_sends_exactly_the_calls_plan_shows(api) {
        each_plan_sends_what_plan_shows(api);
    }
}
