//! `planrun cancel PLAN [--instance ID]`: stop the plan's running rollbacks (StopRollback, API
//! 3.0) and confirm each stop ([`crate::engine::ops::cancel`]); this asks first, and prints
//! what happens to each instance.

use std::path::PathBuf;
use std::time::Duration;

use super::api_args::{ApiArgs, Generation};
use super::{Error, exit, plan as plan_cmd, session};
use crate::engine::ops::cancel::{self, Event};
use crate::engine::ops::located::Located;
use crate::engine::prepare::plan_hash_of;
use crate::plan::text::visible;

/// Stop the running rollbacks of a plan's last apply.
#[derive(Debug, clap::Args)]
pub struct CancelArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Only this instance (repeatable) [default: every unfinished instance of the plan].
    #[arg(long, value_name = "ID")]
    pub instance: Vec<String>,
    /// Do not ask for confirmation (required when stdin is not a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// How long to wait for the stopped tasks to end KILLED (e.g. 90s, 10m); those still
    /// being stopped then stay `stopping`, and `planrun status` follows them.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = session::parse_duration)]
    pub wait: Duration,
    #[command(flatten)]
    pub session: session::SessionArgs,
    #[command(flatten)]
    pub api: ApiArgs,
}

pub fn run(args: &CancelArgs) -> Result<i32, Error> {
    let (checked, resolved) = plan_cmd::load_valid(&args.plan, false, &args.api.allow_region)?;
    let dir = args.session.state_dir.as_deref();
    let at = Located::of_plan(&args.plan, &checked.text, &resolved.name, dir, false)?;
    let journal = session::readable(&at, &resolved.name, &plan_hash_of(&resolved));
    // Self-hosted restores are stopped without any API.
    let cloud_in_scope = resolved
        .instances
        .iter()
        .filter(|i| args.instance.is_empty() || args.instance.contains(&i.id))
        .any(|i| i.selfhosted.is_none());
    if args.api.api == Generation::V2 && cloud_in_scope {
        // Said before anything is asked: "no running rollback" would be a lie for an
        // instance whose rollback may well be running.
        return Err(Error::Usage(
            "API 2.0 cannot cancel a rollback (it has no StopRollback). Cancel with --api v3, or in the console.".into(),
        ));
    }
    let runtime = super::runtime(1)?;
    runtime.block_on(async {
        let flags = (&args.api, &args.session);
        let mut apply = session::observe(&args.plan, &resolved, flags, journal).await?;
        let targets = cancel::targets(&mut apply, &args.instance)?;
        for (id, status) in &targets.done {
            outln!(
                "{}: already {}; nothing to cancel",
                visible(id),
                status.name()
            );
        }
        if targets.is_empty() {
            outln!("No running rollback to cancel.");
            return Ok(exit::OK);
        }
        let ids: Vec<_> = targets.ids().map(visible).collect();
        outln!("Will stop the rollback of: {}", ids.join(", "));
        if !args.yes {
            super::ask(
                "Stop these rollbacks? Only `yes` is accepted: ",
                "refusing to cancel without confirmation: stdin is not a terminal. Pass --yes.",
                "Nothing was cancelled.",
            )?;
        }
        let selfhosted = (
            args.plan.as_path(),
            &resolved,
            args.session.defaults_file.as_deref(),
        );
        let outcome = cancel::cancel(&mut apply, targets, selfhosted, args.wait, &mut say).await?;
        Ok(exit::of_cancel(outcome))
    })
}

/// What happened to one instance: on stdout, a failure to stop on stderr.
fn say(event: Event) {
    match &event {
        Event::StopRefused { error, .. } => {
            errln!("{event}");
            super::error::diagnostic(error);
        }
        _ if event.is_error() => errln!("{event}"),
        _ => outln!("{event}"),
    }
}
