//! The apply a command works with, on a protocol the caller connected: `apply`'s (under the
//! plan's lock, sending a prepared plan, recording who runs it) or the one `status` and
//! `cancel` read the journal with; either with the restores of the plan's self-hosted
//! instances beside the cloud's protocol.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{operator, selfhosted};
use crate::engine::any::AnyProtocol;
use crate::engine::apply::{Apply, Settings};
use crate::engine::journal::Lock;
use crate::engine::prepare::{Generation, Prepared};
use crate::plan::ResolvedPlan;

/// What the command's flags say beyond the protocol.
#[derive(Debug, Clone, Default)]
pub struct Flags<'a> {
    /// The shortest time between two polls of a task.
    pub poll_interval: Option<Duration>,
    /// How long to wait before looking for the job of a submission whose answer was lost.
    pub settle: Option<Duration>,
    /// The option file with the self-hosted servers' credentials.
    pub defaults_file: Option<&'a Path>,
    /// Requests (and self-hosted restores) in flight at once.
    pub concurrency: usize,
}

/// `apply`'s: `prepared` over `journal`, under the plan's `lock`, on `generation`'s
/// `protocol` (`sandboxed`: a fresh emulator's). A self-hosted restore an earlier process
/// left is restored again.
pub fn apply(
    (plan_path, plan): (&Path, &ResolvedPlan),
    (prepared, generation): (Prepared, Generation),
    (protocol, sandboxed): (AnyProtocol, bool),
    (journal, lock): (PathBuf, Lock),
    flags: &Flags<'_>,
) -> Result<Apply, selfhosted::Error> {
    let protocol = with_local(protocol, (plan_path, plan), &journal, flags, true)?;
    let settings = Settings {
        concurrency: Some(flags.concurrency.max(1)),
        context: Some(operator::context(generation, sandboxed)),
        ..settings(flags, sandboxed, prepared.batch_size)
    };
    let apply = Apply::with_prepared(plan, prepared, protocol, journal, settings);
    Ok(apply.holding(lock))
}

/// `status`'s and `cancel`'s: the plan's `journal`, read without its lock (reading is safe),
/// on `protocol`. A self-hosted restore of another process is only looked up.
pub fn observe(
    (plan_path, plan): (&Path, &ResolvedPlan),
    protocol: AnyProtocol,
    journal: PathBuf,
    flags: &Flags<'_>,
) -> Result<Apply, selfhosted::Error> {
    let protocol = with_local(protocol, (plan_path, plan), &journal, flags, false)?;
    let settings = settings(flags, false, plan.batch_size);
    Ok(Apply::new(plan, protocol, journal, settings))
}

/// `status --offline`'s: the `journal` only; its protocol is never used.
pub fn offline(
    plan: &ResolvedPlan,
    journal: PathBuf,
    flags: &Flags<'_>,
) -> Result<Apply, crate::api::Error> {
    let settings = settings(flags, false, plan.batch_size);
    Ok(Apply::new(plan, AnyProtocol::offline()?, journal, settings))
}

/// The engine's settings from the flags.
fn settings(flags: &Flags<'_>, sandboxed: bool, batch_size: usize) -> Settings {
    Settings {
        poll_interval: flags.poll_interval,
        settle: flags.settle,
        sandboxed,
        batch_size,
        ..Settings::default()
    }
}

fn with_local(
    protocol: AnyProtocol,
    (plan_path, plan): (&Path, &ResolvedPlan),
    journal: &Path,
    flags: &Flags<'_>,
    resume: bool,
) -> Result<AnyProtocol, selfhosted::Error> {
    let concurrency = flags.concurrency.max(1);
    let defaults = flags.defaults_file;
    selfhosted::with_local(
        protocol,
        plan_path,
        plan,
        defaults,
        concurrency,
        journal,
        resume,
    )
}
