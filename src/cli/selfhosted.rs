//! Self-hosted instances (`provider: mysql`) in the CLI: the plan's entries as
//! [`mysql::Request`]s, credentials from `--defaults-file` or `~/.my.cnf`, the preflight that
//! `apply` runs before asking, and the [`Local`] restores the engine drives.

use std::path::{Path, PathBuf};

use super::exit;
use crate::engine::local::Local;
use crate::mysql::{self, Credentials, Objects};
use crate::plan::text::visible;
use crate::plan::{Instance, ResolvedPlan};

/// True when the plan has self-hosted instances.
pub fn any(plan: &ResolvedPlan) -> bool {
    plan.instances.iter().any(|i| i.selfhosted.is_some())
}

/// True when every instance is self-hosted: no cloud credentials are needed then.
pub fn only(plan: &ResolvedPlan) -> bool {
    plan.instances.iter().all(|i| i.selfhosted.is_some())
}

/// The restore of one self-hosted instance; `backups` relative to the plan's directory.
pub fn request(plan_path: &Path, plan: &ResolvedPlan, i: &Instance) -> Option<mysql::Request> {
    let at = i.selfhosted.as_ref()?;
    let (host, port) = crate::plan::rules::parse_server(&at.server)?;
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
        // Named by its job when the engine starts it.
        run: String::new(),
    })
}

pub fn requests(plan_path: &Path, plan: &ResolvedPlan) -> Vec<mysql::Request> {
    plan.instances
        .iter()
        .filter_map(|i| request(plan_path, plan, i))
        .collect()
}

/// Which dump each self-hosted restore would start from (read from its `backups` directory;
/// the server is not contacted: `apply`'s preflight checks that the binary log reaches back).
pub fn sources(
    plan_path: &Path,
    plan: &ResolvedPlan,
) -> Vec<(mysql::Request, Result<mysql::dump::Dump, mysql::Error>)> {
    requests(plan_path, plan)
        .into_iter()
        .map(|r| {
            let dump = mysql::dump::newest_before(&r.backups, r.time);
            (r, dump)
        })
        .collect()
}

/// The dump and binary-log span of each self-hosted restore, for `plan`'s human output.
pub fn human(sources: &[(mysql::Request, Result<mysql::dump::Dump, mysql::Error>)]) -> String {
    if sources.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\nSelf-hosted restores (the newest dump before the time, then the binary log up to it):\n",
    );
    for (req, dump) in sources {
        let line = match dump {
            Ok(d) => format!(
                "  {}: dump {} (completed {}), binary log from {}:{} to {}\n",
                visible(&req.id),
                visible(&d.path.display().to_string()),
                d.finished,
                visible(&d.log_file),
                d.log_pos,
                req.time
            ),
            Err(e) => format!(
                "  {}: {} (apply will refuse this instance)\n",
                visible(&req.id),
                visible(&e.to_string())
            ),
        };
        out.push_str(&line);
    }
    out
}

/// The same as JSON: per instance its dump and log coordinates, or the problem.
pub fn json(
    sources: &[(mysql::Request, Result<mysql::dump::Dump, mysql::Error>)],
) -> serde_json::Value {
    sources
        .iter()
        .map(|(req, dump)| match dump {
            Ok(d) => serde_json::json!({
                "id": req.id,
                "dump": d.path.display().to_string(),
                "dump_completed": d.finished.to_string(),
                "binlog_file": d.log_file,
                "binlog_position": d.log_pos,
                "stop_time": req.time.to_string(),
            }),
            Err(e) => serde_json::json!({"id": req.id, "error": e.to_string()}),
        })
        .collect()
}

/// What the incident record shows of each self-hosted instance: its server, and the dump and
/// binary-log span its restore uses (read from its `backups` directory, as `plan` shows it).
pub fn record(plan_path: &Path, plan: &ResolvedPlan) -> Vec<crate::record::SelfHosted> {
    sources(plan_path, plan)
        .into_iter()
        .map(|(req, dump)| crate::record::SelfHosted {
            id: req.id.clone(),
            server: format!("{}:{}", req.host, req.port),
            binlog: dump
                .as_ref()
                .ok()
                .map(|d| format!("from {}:{} to {}", d.log_file, d.log_pos, req.time)),
            dump: dump
                .map(|d| format!("{} (completed {})", d.path.display(), d.finished))
                .map_err(|e| e.to_string()),
        })
        .collect()
}

/// Credentials the way MySQL's tools find them; a clear error when `--defaults-file` is unreadable.
pub fn credentials(defaults_file: Option<&Path>) -> Result<Credentials, i32> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    Credentials::find(defaults_file, home.as_deref()).map_err(|e| {
        errln!("error: {e}");
        exit::USAGE
    })
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
        requests(plan_path, plan),
        creds,
        concurrency,
        state_dir.to_path_buf(),
        Some(journal.to_path_buf()),
        resume,
    )
}

/// Checks the self-hosted instances among `pending` (server, binary log, dump, sources,
/// targets) and says what each restore would use. `Err`: the exit code; nothing was started.
/// Instances an earlier run submitted are left out: their targets may be theirs already.
pub async fn preflight(
    plan_path: &Path,
    plan: &ResolvedPlan,
    creds: &Credentials,
    pending: &[&str],
) -> Result<(), i32> {
    let mut failed = 0;
    for req in requests(plan_path, plan)
        .into_iter()
        .filter(|r| pending.contains(&r.id.as_str()))
    {
        match mysql::check::check(&req, creds).await {
            Ok(span) => errln!(
                "preflight: {}: dump {} (completed {}), binary log {}:{} to the end of {}",
                visible(&req.id),
                visible(&span.dump.path.display().to_string()),
                span.dump.finished,
                visible(&span.dump.log_file),
                span.dump.log_pos,
                visible(span.logs.last().map_or("", String::as_str)),
            ),
            Err(e) => {
                failed += 1;
                errln!(
                    "preflight: {}: {}",
                    visible(&req.id),
                    visible(&e.to_string())
                );
            }
        }
    }
    if failed > 0 {
        errln!(
            "preflight: {failed} self-hosted instance(s) cannot be restored as planned; nothing was started."
        );
        return Err(exit::FAILED);
    }
    Ok(())
}
