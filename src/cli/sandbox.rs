//! `planrun sandbox serve`: the local emulator of the cloud API on loopback, until Ctrl-C.

use std::net::{Ipv4Addr, SocketAddr};

use super::{Error, exit};
use crate::sandbox::{self, Config, Credential, FaultKinds};

/// Run the local emulator of the cloud API (no account needed; loopback only).
#[derive(Debug, clap::Args)]
pub struct SandboxArgs {
    #[command(subcommand)]
    pub command: SandboxCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum SandboxCommand {
    /// Serve API 2.0 at http://127.0.0.1:PORT/v2/index.php and API 3.0 at / until Ctrl-C.
    Serve(ServeArgs),
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one; the endpoint is printed).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// SecretId to accept instead of the demo one (needs --secret-key).
    #[arg(long, requires = "secret_key", value_name = "ID")]
    pub secret_id: Option<String>,
    /// SecretKey to accept instead of the demo one (needs --secret-id).
    #[arg(
        long,
        requires = "secret_id",
        value_name = "KEY",
        hide_default_value = true
    )]
    pub secret_key: Option<String>,
    /// Mean task duration in seconds; each instance's varies ±25 % (fixed by --seed).
    #[arg(long, default_value_t = 30.0, value_name = "S")]
    pub job_seconds: f64,
    /// Requests per second accepted per API action (else 4400).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..), value_name = "R")]
    pub rate: u32,
    /// Probability (0..1) that a request gets an injected fault.
    #[arg(long, default_value_t = 0.0, value_name = "F")]
    pub fault_rate: f64,
    /// Fault kinds to inject: lost, http502, internal, slow.
    #[arg(
        long,
        default_value = "lost,http502,internal,slow",
        value_name = "KINDS"
    )]
    pub faults: String,
    /// Inject faults only into these actions (comma-separated; default: every action).
    #[arg(long, value_delimiter = ',', value_name = "ACTIONS")]
    pub fault_actions: Vec<String>,
    /// Delay of a `slow` answer, in milliseconds.
    #[arg(long, default_value_t = 2000, value_name = "MS")]
    pub slow_ms: u64,
    /// Seed of faults, durations and answer quirks.
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub seed: u64,
    /// Accept requests without the Region common parameter (the cloud answers 4000).
    #[arg(long)]
    pub optional_region: bool,
    /// An instance that does not exist (11041); repeatable.
    #[arg(long = "missing", value_name = "INSTANCE")]
    pub missing: Vec<String>,
    /// An instance whose rollbacks fail; repeatable.
    #[arg(long = "failing", value_name = "INSTANCE")]
    pub failing: Vec<String>,
    /// How long a task stopped by StopRollback stays PAUSED before it is KILLED, in seconds.
    #[arg(long, default_value_t = 0.0, value_name = "S")]
    pub stop_seconds: f64,
    /// Rollback window of instances without --window: the last D days up to now (+08:00).
    #[arg(long, default_value_t = 7, value_name = "D")]
    pub window_days: u32,
    /// A fixed rollback window, `INSTANCE=YYYY-MM-DD HH:MM:SS..YYYY-MM-DD HH:MM:SS` in the
    /// instance's clock; repeatable (several per instance allowed). Both APIs enforce it.
    #[arg(long = "window", value_name = "INSTANCE=BEGIN..END")]
    pub windows: Vec<String>,
    /// API 3.0's code for a submission on an instance with a running task (undocumented;
    /// one of the documented candidates).
    #[arg(long, default_value = sandbox::TASK_RUNNING_CODES[0], value_name = "CODE")]
    pub task_running_code: String,
    /// DescribeRollbackTaskDetail answers an empty `Detail` (no echo of what was sent).
    #[arg(long)]
    pub empty_detail: bool,
    /// DescribeRollbackRangeTime answers each instance's first N queries with a transient
    /// per-instance code (1600001, 1624001).
    #[arg(long, default_value_t = 0, value_name = "N")]
    pub transient_range: u32,
    /// New tasks stay INITIAL this many seconds before they start.
    #[arg(long, default_value_t = 0.0, value_name = "S")]
    pub hold_initial: f64,
    /// The fleet (DescribeDBInstances) and each instance's databases and tables, YAML or JSON
    /// (`default:` objects of unlisted instances, `instances:` with id, name, region, type,
    /// tags, databases) [default: the demo fleet and its house schema]
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<std::path::PathBuf>,
    /// DescribeTasks lists one item per instance's task, rather than one per submission
    /// listing all its instances (the documentation allows both).
    #[arg(long)]
    pub tasks_per_instance: bool,
    /// Every well-formed id is an instance holding the catalog's default objects (else, as
    /// the cloud, an id the catalog does not list is InvalidParameter.InstanceNotFound).
    #[arg(long)]
    pub any_instance: bool,
    /// Also refuse what planrun's plan rules forbid but the cloud does not document (a target
    /// equal to a source, shared targets, system databases, ...).
    #[arg(long)]
    pub plan_rules: bool,
    /// Instances per StartBatchRollback call beyond which it is refused (no limit is
    /// documented).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub max_call_instances: usize,
    /// Answer the first N requests of ACTION with CODE (`ACTION=CODE` or `ACTION=CODExN`); a
    /// StartBatchRollback's tasks are created first. Repeatable.
    #[arg(long = "inject", value_name = "ACTION=CODExN")]
    pub inject: Vec<String>,
    /// DescribeRollbackTaskDetail asked for one request: `plain`, `ambiguous` (every task of
    /// the request, empty Detail), `ignored-filter` (every task of the instance, oldest first)
    /// or `silent` (nothing).
    #[arg(long, default_value = "plain", value_name = "QUIRK")]
    pub detail_quirk: String,
    /// A task is listed only S seconds after it was created, and a rollback's new objects
    /// appear S seconds after it ended.
    #[arg(long, default_value_t = 0.0, value_name = "S")]
    pub visible_after: f64,
    /// An instance whose successful rollbacks create nothing; repeatable.
    #[arg(long = "hollow", value_name = "INSTANCE")]
    pub hollow: Vec<String>,
    /// An instance whose rollbacks end REMOVED; repeatable.
    #[arg(long = "removed", value_name = "INSTANCE")]
    pub removed: Vec<String>,
    /// DescribeRollbackTaskDetail's Status of a waiting task: INITIAL or UNDEFINED.
    #[arg(long, default_value = "INITIAL", value_name = "STATUS")]
    pub waiting_status: String,
}

/// Parses one `--window` value.
fn window(text: &str) -> Result<(String, sandbox::RollbackWindow), String> {
    let bad =
        || format!("--window `{text}`: expected INSTANCE=YYYY-MM-DD HH:MM:SS..YYYY-MM-DD HH:MM:SS");
    let (id, span) = text.split_once('=').ok_or_else(bad)?;
    let (begin, end) = span.split_once("..").ok_or_else(bad)?;
    let at = |t: &str| {
        chrono::NaiveDateTime::parse_from_str(t.trim(), crate::contract::TIME_FORMAT)
            .map_err(|_| bad())
    };
    let (begin, end) = (at(begin)?, at(end)?);
    if begin > end {
        return Err(format!(
            "--window `{text}`: the window ends before it begins"
        ));
    }
    Ok((id.trim().to_owned(), sandbox::RollbackWindow { begin, end }))
}

/// Turns the flags into a sandbox configuration.
pub fn config(args: &ServeArgs) -> Result<Config, String> {
    if !(args.job_seconds.is_finite() && args.job_seconds >= 0.0) {
        return Err(format!(
            "--job-seconds must be 0 or more, not {}",
            args.job_seconds
        ));
    }
    if !(args.stop_seconds.is_finite() && args.stop_seconds >= 0.0) {
        return Err(format!(
            "--stop-seconds must be 0 or more, not {}",
            args.stop_seconds
        ));
    }
    if !(0.0..=1.0).contains(&args.fault_rate) {
        return Err(format!(
            "--fault-rate must be between 0 and 1, not {}",
            args.fault_rate
        ));
    }
    let mut config = Config::demo();
    if let (Some(id), Some(key)) = (&args.secret_id, &args.secret_key) {
        config.credentials = vec![Credential {
            secret_id: id.clone(),
            secret_key: key.clone(),
        }];
    }
    config.task_seconds = (args.job_seconds * 0.75, args.job_seconds * 1.25);
    config.rate_per_action = args.rate;
    config.require_region = !args.optional_region;
    config.seed = args.seed;
    config.faults = sandbox::Faults {
        rate: args.fault_rate,
        kinds: FaultKinds::parse_list(&args.faults)?,
        seed: args.seed,
        slow_ms: args.slow_ms,
        actions: args.fault_actions.iter().cloned().collect(),
    };
    config.missing_instances = args.missing.iter().cloned().collect();
    config.failing_instances = args.failing.iter().cloned().collect();
    config.stop_seconds = args.stop_seconds;
    config.task_running_code = sandbox::task_running_code(&args.task_running_code)
        .map_err(|e| format!("--task-running-code {e}"))?;
    config.empty_detail = args.empty_detail;
    config.transient_range_answers = args.transient_range;
    config.initial_hold_seconds = args.hold_initial;
    config.tasks_per_instance = args.tasks_per_instance;
    config.any_instance = args.any_instance;
    config.plan_rules = args.plan_rules;
    config.max_call_instances = args.max_call_instances.max(1);
    config.injected = args
        .inject
        .iter()
        .map(|t| sandbox::Injected::parse(t).map_err(|e| format!("--inject {e}")))
        .collect::<Result<_, _>>()?;
    config.detail_quirk = sandbox::DetailQuirk::parse(&args.detail_quirk)
        .map_err(|e| format!("--detail-quirk {e}"))?;
    config.visible_after_seconds = args.visible_after;
    config.hollow_instances = args.hollow.iter().cloned().collect();
    config.removed_instances = args.removed.iter().cloned().collect();
    config.waiting_status = match args.waiting_status.as_str() {
        "INITIAL" => "INITIAL",
        "UNDEFINED" => "UNDEFINED",
        other => {
            return Err(format!(
                "--waiting-status `{other}` is not INITIAL or UNDEFINED"
            ));
        }
    };
    config.default_window_seconds = i64::from(args.window_days) * 86_400;
    for text in &args.windows {
        let (id, w) = window(text)?;
        config.rollback_windows.entry(id).or_default().push(w);
    }
    if let Some(path) = &args.catalog {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("--catalog {}: {e}", path.display()))?;
        config.catalog = sandbox::Catalog::parse(&text)
            .map_err(|e| format!("--catalog {}: {e}", path.display()))?;
    }
    Ok(config)
}

/// `planrun sandbox ...`; returns the exit code.
pub fn run(args: SandboxArgs) -> Result<i32, Error> {
    match args.command {
        SandboxCommand::Serve(serve) => run_serve(&serve),
    }
}

fn run_serve(args: &ServeArgs) -> Result<i32, Error> {
    let config = config(args).map_err(Error::Usage)?;
    let runtime = super::runtime(2)?;
    let custom_key = args.secret_key.is_some();
    runtime.block_on(async move {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, args.port));
        let sb = sandbox::start(config, addr)
            .await
            .map_err(|e| Error::Usage(format!("cannot listen on {addr}: {e}")))?;
        out!("{}", crate::render::sandbox::banner(&sb, custom_key));
        if let Err(e) = tokio::signal::ctrl_c().await {
            // It stops at once, as it would at Ctrl-C.
            errln!("error: cannot wait for Ctrl-C: {e}");
        }
        outln!("stopping");
        sb.shutdown().await;
        Ok(exit::OK)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        sandbox: SandboxArgs,
    }

    fn serve(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let cli = Cli::try_parse_from(["planrun", "serve"].iter().chain(args))?;
        let SandboxCommand::Serve(serve) = cli.sandbox.command;
        Ok(serve)
    }

    #[test]
    fn flags_become_the_configuration() {
        let args = serve(&[
            "--secret-id",
            "AKIDx",
            "--secret-key",
            "k",
            "--job-seconds",
            "4",
            "--rate",
            "5",
            "--fault-rate",
            "0.25",
            "--faults",
            "lost,slow",
            "--seed",
            "9",
            "--missing",
            "cdb-aaaaaaaa",
            "--optional-region",
            "--failing",
            "cdb-bbbbbbbb",
            "--window-days",
            "3",
            "--stop-seconds",
            "2.5",
            "--window",
            "cdb-aaaaaaaa=2026-11-01 00:00:00..2026-11-02 00:00:00",
            "--window",
            "cdb-aaaaaaaa=2026-11-05 00:00:00..2026-11-06 00:00:00",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        let c = config(&args).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.credentials[0].secret_id, "AKIDx");
        assert_eq!(c.task_seconds, (3.0, 5.0));
        assert_eq!((c.rate_per_action, c.seed, c.faults.seed), (5, 9, 9));
        assert!(c.faults.kinds.lost && c.faults.kinds.slow && !c.faults.kinds.http502);
        assert!(c.missing_instances.contains("cdb-aaaaaaaa"));
        assert!(c.failing_instances.contains("cdb-bbbbbbbb"));
        assert!(!c.require_region);
        assert_eq!(c.default_window_seconds, 3 * 86_400);
        assert_eq!(c.stop_seconds, 2.5);
        let w = &c.rollback_windows["cdb-aaaaaaaa"];
        assert_eq!(w.len(), 2);
        assert_eq!(w[1].begin.to_string(), "2026-11-05 00:00:00");
        assert_eq!(w[1].end.to_string(), "2026-11-06 00:00:00");
    }

    #[test]
    fn bad_values_are_refused() {
        for bad in [
            "cdb-aaaaaaaa",
            "cdb-aaaaaaaa=2026-11-01 00:00:00",
            "cdb-aaaaaaaa=2026-11-01..2026-11-02",
            "cdb-aaaaaaaa=2026-11-02 00:00:00..2026-11-01 00:00:00",
        ] {
            let args = serve(&["--window", bad]).unwrap_or_else(|e| panic!("{e}"));
            assert!(config(&args).is_err(), "{bad}");
        }
        assert!(
            serve(&["--secret-id", "AKIDx"]).is_err(),
            "a key is required too"
        );
        assert!(serve(&["--rate", "0"]).is_err());
        let bad_rate = serve(&["--fault-rate", "1.5"]).unwrap_or_else(|e| panic!("{e}"));
        assert!(config(&bad_rate).is_err());
        let bad_stop = serve(&["--stop-seconds=-1"]).unwrap_or_else(|e| panic!("{e}"));
        assert!(config(&bad_stop).is_err());
        let bad_kind = serve(&["--faults", "boom"]).unwrap_or_else(|e| panic!("{e}"));
        assert!(config(&bad_kind).is_err());
    }

    #[test]
    fn defaults_are_the_demo_sandbox() {
        let c =
            config(&serve(&[]).unwrap_or_else(|e| panic!("{e}"))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.credentials, Config::demo().credentials);
        assert_eq!(c.rate_per_action, 20);
        assert_eq!(c.faults.rate, 0.0);
        assert!(c.require_region);
        assert_eq!(c.default_window_seconds, 7 * 86_400);
        assert!(c.rollback_windows.is_empty());
        assert_eq!(c.catalog, sandbox::Catalog::demo());
    }

    #[test]
    fn a_catalog_file_replaces_the_demo_fleet_and_a_bad_one_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let good = dir.path().join("fleet.yaml");
        std::fs::write(
            &good,
            "instances:\n  - {id: cdb-aaaaaaaa, region: ap-guangzhou, databases: {shop: [orders]}}\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let args =
            serve(&["--catalog", &good.display().to_string()]).unwrap_or_else(|e| panic!("{e}"));
        let c = config(&args).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.catalog.instances.len(), 1);
        assert!(c.catalog.base("cdb-aaaaaaaa")["shop"].contains("orders"));
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "instances: [{id: nope, region: x}]\n")
            .unwrap_or_else(|e| panic!("{e}"));
        for path in [bad, dir.path().join("absent.yaml")] {
            let args = serve(&["--catalog", &path.display().to_string()])
                .unwrap_or_else(|e| panic!("{e}"));
            let err = config(&args).err().unwrap_or_default();
            assert!(err.starts_with("--catalog "), "{err}");
        }
    }
}
