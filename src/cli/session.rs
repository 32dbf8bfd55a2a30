//! What `apply`, `status`, `cancel` and the commands after them share on the CLI's side: the
//! flags about state and pacing, and getting an engine [`Apply`] (or a protocol) to work
//! with — the plan's lock, the API's client from the flags and credentials, or a fresh
//! in-process sandbox, and the self-hosted restores beside it.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::Error;
use super::api_args::{ApiArgs, Generation};
use crate::api::Credentials;
use crate::engine::any::AnyProtocol;
use crate::engine::apply::{self, Apply, plan_offset};
use crate::engine::ops::located::Located;
use crate::engine::ops::{connect, open, selfhosted};
use crate::engine::prepare::Prepared;
use crate::plan::ResolvedPlan;
use crate::sandbox::{self, Sandbox};

/// Flags about where state lives and how often to poll.
#[derive(Debug, Clone, clap::Args)]
pub struct SessionArgs {
    /// Where the journal and lock live [default: .planrun/ beside the plan]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Shortest time between two polls of one task (e.g. 2s, 500ms). Polls adapt to each
    /// task's progress above it, and all together stay within --rate per second [default: 5s;
    /// 500ms with --sandbox]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub poll_interval: Option<Duration>,
    /// How long to wait before looking for the job of a submission whose answer was lost, so
    /// that the API lists it [default: 5s; 500ms with --sandbox]. Hidden: for tests and
    /// emulators that list jobs at once.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, hide = true)]
    pub settle: Option<Duration>,
    /// Option file with the `[client]` user and password of self-hosted servers
    /// (`provider: mysql`), as MySQL's tools read it [default: ~/.my.cnf when it exists]
    #[arg(long, value_name = "FILE")]
    pub defaults_file: Option<PathBuf>,
}

/// `90`, `90s`, `500ms`, `30m`, `2h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let (number, unit) = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .map_or((t, "s"), |i| t.split_at(i));
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (e.g. 90s, 30m, 2h)"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" | "" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => {
            return Err(format!(
                "{text:?}: unknown unit {unit:?} (use ms, s, m or h)"
            ));
        }
    };
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 30.0 * 86_400.0 {
        return Err(format!("{text:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// `apply`: the plan's lock first (a second apply of it is refused before anything else),
/// then credentials and client (or a fresh in-process sandbox, `sandboxed`), and the apply of
/// `prepared` over its `journal`. Shut the sandbox down when done.
pub async fn open(
    plan_path: &Path,
    plan: &ResolvedPlan,
    (api, args): (&ApiArgs, &SessionArgs),
    (journal, sandboxed): (PathBuf, bool),
    prepared: Prepared,
) -> Result<(Apply, Option<Sandbox>), Error> {
    let lock = apply::lock(&journal, &plan.name)?;
    let (protocol, sandbox) = cloud(plan, api, sandboxed.then(|| plan_offset(plan))).await?;
    let plan = (plan_path, plan);
    let prepared = (prepared, api.api);
    let flags = flags(api, args);
    let apply = open::apply(
        plan,
        prepared,
        (protocol, sandboxed),
        (journal, lock),
        &flags,
    )?;
    Ok((apply, sandbox))
}

/// For `status` and `cancel`: credentials and client, no lock (reading the journal is
/// safe), over the plan's `journal` (as [`crate::engine::ops::located::Located::readable`]
/// finds it).
pub async fn observe(
    plan_path: &Path,
    plan: &ResolvedPlan,
    (api, args): (&ApiArgs, &SessionArgs),
    journal: PathBuf,
) -> Result<Apply, Error> {
    let (protocol, _) = cloud(plan, api, None).await?;
    Ok(open::observe(
        (plan_path, plan),
        protocol,
        journal,
        &flags(api, args),
    )?)
}

/// For `status --offline`: the `journal` only; the client is never used. (The journal of
/// `apply --sandbox` is read so: its emulator is gone with it.)
pub fn offline(plan: &ResolvedPlan, args: &SessionArgs, journal: PathBuf) -> Result<Apply, Error> {
    let flags = open::Flags {
        poll_interval: args.poll_interval,
        settle: args.settle,
        ..open::Flags::default()
    };
    Ok(open::offline(plan, journal, &flags)?)
}

/// What the engine takes of the flags.
fn flags<'a>(api: &ApiArgs, args: &'a SessionArgs) -> open::Flags<'a> {
    open::Flags {
        poll_interval: args.poll_interval,
        settle: args.settle,
        defaults_file: args.defaults_file.as_deref(),
        concurrency: api.concurrency as usize,
    }
}

/// The journal a reading command uses ([`Located::readable`]), saying what finding it came
/// upon.
pub fn readable(at: &Located, name: &str, plan_hash: &str) -> PathBuf {
    let (journal, note) = at.readable(name, plan_hash);
    if let Some(note) = note {
        errln!("note: {note}");
    }
    journal
}

/// The cloud's protocol ([`connect`]), unless every instance is self-hosted: nothing goes to
/// the cloud then, no credentials are looked for and no sandbox is started.
async fn cloud(
    plan: &ResolvedPlan,
    api: &ApiArgs,
    sandbox: Option<chrono::FixedOffset>,
) -> Result<(AnyProtocol, Option<Sandbox>), Error> {
    if selfhosted::only(plan) {
        return Ok((AnyProtocol::offline()?, None));
    }
    connect(api, sandbox, None).await
}

/// The protocol for `--sandbox` (a fresh in-process emulator with demo credentials and short
/// tasks; its fleet from `catalog`, else the demo's) or for the configured endpoint with
/// credentials found the way Tencent's tools find them.
///
/// `sandbox`: the instances' clock (the plan's timezone). The emulated instances run on it,
/// so that a rollback time valid in the plan is not "in the future" for them and task start
/// times read back the way the plan reads them. `catalog`: instances whose address is a real
/// local server (`compare --sandbox --catalog FILE`).
pub async fn connect(
    api: &ApiArgs,
    sandbox: Option<chrono::FixedOffset>,
    catalog: Option<sandbox::Catalog>,
) -> Result<(AnyProtocol, Option<Sandbox>), Error> {
    let sandboxed = sandbox.is_some();
    let (mut config, sandbox) = if let Some(offset) = sandbox {
        let mut sc = sandbox::Config::demo();
        if let Some(catalog) = catalog {
            sc.catalog = catalog;
        }
        sc.task_seconds = (2.0, 6.0);
        if let Some(check) = &mut sc.rollback_time_check {
            check.utc_offset_seconds = offset.local_minus_utc();
        }
        // Ten years of "backups": the example plans keep passing preflight as they age.
        sc.default_window_seconds = 3650 * 86_400;
        // The demo applies any plan: every well-formed id is an instance of its fleet.
        sc.any_instance = true;
        let sb = sandbox::start(sc, SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
            .await
            .map_err(|e| Error::Usage(format!("cannot start the sandbox: {e}")))?;
        let credentials = Credentials::new(sandbox::DEMO_SECRET_ID, sandbox::DEMO_SECRET_KEY);
        // The in-process sandbox speaks both APIs: the one of --api.
        let mut config = api.client_config(credentials);
        config.endpoint = match api.api {
            Generation::V2 => sb.endpoint_v2(),
            Generation::V3 => sb.endpoint_v3(),
        };
        errln!(
            "sandbox: serving the emulated API at {} (demo credentials; nothing leaves this machine)",
            config.endpoint
        );
        (config, Some(sb))
    } else {
        let found = api.credentials()?;
        let mut config = api.client_config(found.credentials);
        if config.region.is_empty()
            && let Some(region) = found.region
        {
            config.region = region;
        }
        (config, None)
    };
    if sandboxed && config.region.is_empty() {
        config.region = "ap-guangzhou".into();
    }
    let protocol = connect::protocol(api.api, config)?;
    Ok((protocol, sandbox))
}
