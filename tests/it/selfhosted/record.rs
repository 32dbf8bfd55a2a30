//! The incident record of a self-hosted apply (`apply --report`, `planrun report`, HTML and
//! Markdown): each instance's server, dump, binary-log span, phase and outcome; no API line
//! or calls (there were none). The HTML page is loaded in headless chromium.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use super::restore::story;
use super::run::{apply, defaults_file, planrun, write_plan};
use super::server::Server;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Python for `tests/browser/inspect.py`: the project's `.venv` when there is one.
fn python() -> PathBuf {
    let venv = repo().join(".venv/bin/python");
    if venv.exists() {
        venv
    } else {
        PathBuf::from("python3")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_of_a_selfhosted_apply_shows_dump_binlog_phase_and_outcome() {
    let server = Server::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let backups = dir.path().join("dumps");
    std::fs::create_dir(&backups).expect("backups dir");
    let (time, _) = story(&server, &backups, "full.sql", "").await;
    let _ = defaults_file(dir.path());
    // shop-b asks for a table the dump does not hold: it fails (the preflight is skipped so
    // that the restore itself says so).
    let plan = write_plan(
        dir.path(),
        &format!(
            "  - id: shop-a\n    server: 127.0.0.1:{p}\n    backups: dumps\n    strategy: table\n    tables:\n      shop: [orders]\n\
             \x20 - id: shop-b\n    server: 127.0.0.1:{p}\n    backups: dumps\n    strategy: table\n    tables:\n      shop: [nope]\n",
            p = server.port
        ),
        time,
    );
    let page = dir.path().join("record.html");
    let out = apply(&plan, dir.path(), time)
        .arg("--no-preflight")
        .arg("--report")
        .arg(&page)
        .run();
    assert_eq!(out.code, Some(1), "{}{}", out.stdout, out.stderr);

    let md = planrun(dir.path(), time)
        .args(["report", "--format", "markdown"])
        .arg(&plan)
        .run();
    assert_eq!(md.code, Some(1), "{}", md.stderr);
    let md = md.stdout;
    assert!(
        md.contains("| API | none: self-hosted restores only |"),
        "{md}"
    );
    assert!(
        !md.contains("StartBatchRollback"),
        "no API call was made: {md}"
    );
    assert!(!md.contains("selfhosted:"), "no pseudo-region shown: {md}");
    let rows: Vec<&str> = md
        .lines()
        .skip_while(|l| !l.starts_with("#### Self-hosted restores (2)"))
        .filter(|l| l.starts_with("| shop-"))
        .collect();
    assert_eq!(rows.len(), 2, "{md}");
    let server_at = format!("127.0.0.1:{}", server.port);
    assert!(rows[0].contains(&server_at), "{}", rows[0]);
    assert!(rows[0].contains("/dumps/full.sql |"), "{}", rows[0]);
    assert!(rows[0].contains("from bin.000001:"), "{}", rows[0]);
    assert!(
        rows[0].contains("| succeeded | restored under the new names; checksums equal to the scratch server's: shop.orders_bak (CHECKSUM "),
        "{}",
        rows[0]
    );
    assert!(rows[1].contains("| failed |"), "{}", rows[1]);
    assert!(
        rows[1].contains(r"it lacks table \`shop\`.\`nope\`"),
        "{}",
        rows[1]
    );

    // The page apply wrote: offline, no errors, the same facts.
    let shot = dir.path().join("record.png");
    let check = Command::new(python())
        .arg(repo().join("tests/browser/inspect.py"))
        .arg(&page)
        .arg(&shot)
        .output()
        .unwrap_or_else(|e| panic!("python: {e}"));
    assert!(
        check.status.success(),
        "inspect.py failed (is chromium installed? .ci/test installs it): {}",
        String::from_utf8_lossy(&check.stderr)
    );
    let seen: Value = serde_json::from_slice(&check.stdout).expect("inspect.py output");
    for kind in ["console_errors", "exceptions", "log_errors"] {
        assert_eq!(seen[kind], serde_json::json!([]), "{kind}: {seen}");
    }
    let dom = &seen["dom"];
    assert_eq!(
        dom["instances"],
        serde_json::json!(["shop-a", "shop-b"]),
        "{dom}"
    );
    assert_eq!(dom["api"], "none: self-hosted restores only", "{dom}");
    assert_eq!(dom["calls"], "", "no calls section: {dom}");
    let shown = dom["selfhosted"].as_str().unwrap_or_default();
    for fact in [
        "Self-hosted restores (2)",
        server_at.as_str(),
        "/dumps/full.sql",
        "from bin.000001:",
        "restored under the new names; checksums equal",
        "it lacks table `shop`.`nope`",
    ] {
        assert!(shown.contains(fact), "{fact:?} in {shown:?}");
    }
    assert!(
        dom["not_restored"]
            .as_str()
            .unwrap_or_default()
            .contains("shop-b"),
        "{dom}"
    );
}
