//! Self-hosted instances (`provider: mysql`): the plan's entries as [`mysql::Request`]s,
//! credentials from `--defaults-file` or `~/.my.cnf`, what each server says (read-only: the
//! survey `plan` shows, and the preflight that `apply` and `plan --preflight` run before
//! anything starts), and the [`Local`] restores the engine drives beside the cloud's protocol.

use std::path::{Path, PathBuf};

use crate::engine::any::AnyProtocol;
use crate::engine::local::Local;
use crate::mysql::{self, Credentials, Objects};
use crate::plan::{Instance, ResolvedPlan};

/// Why self-hosted restores cannot start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `--defaults-file` (or `~/.my.cnf`) cannot be read.
    #[error(transparent)]
    Credentials(mysql::Error),
    /// The preflight found instances that cannot be restored as planned; `auth`: a server
    /// refused the credentials (a fix of the option file, not of the plan).
    #[error(
        "preflight: {failed} self-hosted instance(s) cannot be restored as planned; nothing was started."
    )]
    Preflight { failed: usize, auth: bool },
}

/// True when the plan has self-hosted instances.
pub fn any(plan: &ResolvedPlan) -> bool {
    plan.instances.iter().any(|i| i.selfhosted.is_some())
}

/// True when every instance is self-hosted: no cloud credentials are needed then.
pub fn only(plan: &ResolvedPlan) -> bool {
    plan.instances.iter().all(|i| i.selfhosted.is_some())
}

/// The restore of one self-hosted instance; `backups` relative to the plan's directory;
/// `state` is the state directory (its ledger goes there).
pub fn request(
    plan_path: &Path,
    plan: &ResolvedPlan,
    i: &Instance,
    state: &Path,
) -> Option<mysql::Request> {
    let at = i.selfhosted.as_ref()?;
    let (host, port) = crate::plan::rules::parse_server(&at.server)?;
    let restore_server = match &at.restore_server {
        Some(s) => {
            let (h, p) = crate::plan::rules::parse_server(s)?;
            Some((h.to_owned(), p))
        }
        None => None,
    };
    let offset = crate::plan::rules::parse_timezone(&plan.timezone)?;
    let time = crate::plan::rules::parse_time(&i.rollback_time)?;
    let backups = PathBuf::from(&at.backups);
    let backups = if backups.is_absolute() {
        backups
    } else {
        plan_path.parent().unwrap_or(Path::new(".")).join(backups)
    };
    Some(mysql::Request {
        id: i.id.clone(),
        host: host.to_owned(),
        port,
        backups,
        time,
        offset,
        objects: Objects {
            dbs: i
                .dbs
                .iter()
                .map(|r| (r.source.clone(), r.target.clone()))
                .collect(),
            tables: i
                .tables
                .iter()
                .flat_map(|t| {
                    t.tables
                        .iter()
                        .map(|r| (t.db.clone(), r.source.clone(), r.target.clone()))
                })
                .collect(),
        },
        restore_server,
        // Named by its job when the engine starts it.
        run: String::new(),
        state: state.to_path_buf(),
    })
}

pub fn requests(plan_path: &Path, plan: &ResolvedPlan, state: &Path) -> Vec<mysql::Request> {
    plan.instances
        .iter()
        .filter_map(|i| request(plan_path, plan, i, state))
        .collect()
}

/// What each server says (read-only): its logging, the dump a restore would start from and
/// the binary-log span; with `preflight`, also the privileges and the scratch server. `None`:
/// the servers were not asked (`plan` without `--defaults-file` or `--preflight`).
pub type Survey = Vec<(
    mysql::Request,
    Option<Result<mysql::check::Span, mysql::Error>>,
)>;

/// The self-hosted restores without asking their servers.
pub fn unasked(plan_path: &Path, plan: &ResolvedPlan) -> Survey {
    requests(plan_path, plan, Path::new("."))
        .into_iter()
        .map(|r| (r, None))
        .collect()
}

pub async fn survey(
    plan_path: &Path,
    plan: &ResolvedPlan,
    creds: &Credentials,
    pending: Option<&[&str]>,
    preflight: bool,
) -> Survey {
    let mut out = Vec::new();
    for req in requests(plan_path, plan, Path::new(".")) {
        if pending.is_some_and(|p| !p.contains(&req.id.as_str())) {
            continue;
        }
        let span = if preflight {
            mysql::check::preflight(&req, creds).await
        } else {
            mysql::check::check(&req, creds).await
        };
        out.push((req, Some(span)));
    }
    out
}

/// Credentials the way MySQL's tools find them; a clear error when `--defaults-file` is unreadable.
pub fn credentials(defaults_file: Option<&Path>) -> Result<Credentials, Error> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    Credentials::find(defaults_file, home.as_deref()).map_err(Error::Credentials)
}

/// `protocol` with the restores of the plan's self-hosted instances beside it, when it has
/// any (their credentials read only then). `resume`: as for [`local`].
pub fn with_local(
    protocol: AnyProtocol,
    plan_path: &Path,
    plan: &ResolvedPlan,
    defaults_file: Option<&Path>,
    concurrency: usize,
    journal: &Path,
    resume: bool,
) -> Result<AnyProtocol, Error> {
    if !any(plan) {
        return Ok(protocol);
    }
    let creds = credentials(defaults_file)?;
    Ok(protocol.with_local(local(
        plan_path,
        plan,
        creds,
        concurrency,
        journal.parent().unwrap_or(Path::new(".")),
        journal,
        resume,
    )))
}

/// The engine's side of self-hosted restores; `journal` is where `planrun cancel` journals
/// its stop requests. `resume`: a job of an earlier process is
/// restored again (apply); without it such a job is only looked up (status).
pub fn local(
    plan_path: &Path,
    plan: &ResolvedPlan,
    creds: Credentials,
    concurrency: usize,
    state_dir: &Path,
    journal: &Path,
    resume: bool,
) -> Local {
    Local::new(
        requests(plan_path, plan, state_dir),
        creds,
        concurrency,
        state_dir.to_path_buf(),
        Some(journal.to_path_buf()),
        resume,
    )
}

/// Checks the self-hosted instances among `pending` (server, credentials and privileges,
/// binary log, dump, sources, targets, scratch server): what each restore would use, or why
/// it cannot ([`verdict`]). Nothing is started. Instances an earlier run submitted are left
/// out: their targets may be theirs already.
pub async fn preflight(
    plan_path: &Path,
    plan: &ResolvedPlan,
    creds: &Credentials,
    pending: &[&str],
) -> Survey {
    survey(plan_path, plan, creds, Some(pending), true).await
}

/// What a preflight's survey means: `Err` when an instance cannot be restored as planned.
pub fn verdict(found: &Survey) -> Result<(), Error> {
    let problems = found
        .iter()
        .filter_map(|(_, span)| span.as_ref()?.as_ref().err());
    let (failed, auth) = problems.fold((0, false), |(n, auth), e| (n + 1, auth || e.is_auth()));
    if failed > 0 {
        return Err(Error::Preflight { failed, auth });
    }
    Ok(())
}
