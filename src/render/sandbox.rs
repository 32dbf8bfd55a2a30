//! What `planrun sandbox serve` says when it starts: where the emulator answers, with which
//! credentials, how to point planrun at it, and how it behaves.

use std::fmt::Write as _;

use crate::sandbox::{DEMO_SECRET_ID, DEMO_SECRET_KEY, Sandbox};

/// The banner of a started emulator; `custom_key`: its key was given on the command line
/// (and is never repeated).
pub fn banner(sb: &Sandbox, custom_key: bool) -> String {
    let mut out = String::new();
    let config = sb.config();
    let _ = writeln!(
        out,
        "planrun sandbox: API 2.0 and API 3.0 emulator (never the real cloud)"
    );
    let _ = writeln!(out, "endpoint: {}", sb.endpoint_v2());
    let _ = writeln!(out, "endpoint v3: {}", sb.endpoint_v3());
    let _ = writeln!(out, "counters: {}", sb.counters_url());
    for c in &config.credentials {
        let _ = writeln!(out, "secret id: {}", c.secret_id);
        // The demo key is public; a key given on the command line is the user's and stays unsaid.
        if !custom_key && c.secret_id == DEMO_SECRET_ID {
            let _ = writeln!(out, "secret key: {DEMO_SECRET_KEY}");
        } else {
            let _ = writeln!(out, "secret key: (the one given with --secret-key)");
        }
    }
    let (id, key) = match config.credentials.first() {
        Some(c) if !custom_key => (c.secret_id.as_str(), DEMO_SECRET_KEY),
        Some(c) => (c.secret_id.as_str(), "<your --secret-key>"),
        None => ("<id>", "<key>"),
    };
    let _ = writeln!(out, "use it:");
    let _ = writeln!(
        out,
        "  export TENCENTCLOUD_SECRET_ID={id} TENCENTCLOUD_SECRET_KEY={key}"
    );
    let _ = writeln!(
        out,
        "  planrun jobs cdb-mo64xu70 --api v2 --region ap-guangzhou --endpoint {}",
        sb.endpoint_v2()
    );
    let _ = writeln!(
        out,
        "  planrun jobs cdb-mo64xu70 --api v3 --region ap-guangzhou --endpoint {}",
        sb.endpoint_v3()
    );
    let _ = writeln!(
        out,
        "tasks: {:.1}-{:.1} s, rate {}/s per action, faults {:.0} %, seed {}",
        config.task_seconds.0,
        config.task_seconds.1,
        config.rate_per_action,
        config.faults.rate * 100.0,
        config.seed
    );
    let _ = writeln!(
        out,
        "rollback window: the last {:.1} days up to now (+08:00); {} instance(s) with fixed windows",
        config.default_window_seconds as f64 / 86_400.0,
        config.rollback_windows.len()
    );
    let _ = writeln!(
        out,
        "fleet: {} instance(s) for DescribeDBInstances; {} database(s) on instances not described",
        config.catalog.instances.len(),
        config.catalog.default.len()
    );
    let _ = writeln!(out, "Ctrl-C stops it.");
    out
}
