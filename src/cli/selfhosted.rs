//! Self-hosted instances (`provider: mysql`) in the CLI: the plan's entries as
//! [`mysql::Request`]s, credentials from `--defaults-file` or `~/.my.cnf`, what `plan` shows of
//! each server (read-only), the preflight that `apply` and `plan --preflight` run before
//! anything starts, and the [`Local`] restores the engine drives.

use std::path::{Path, PathBuf};

use super::exit;
use crate::engine::journal::Record;
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

fn scratch_of(req: &mysql::Request) -> String {
    match &req.restore_server {
        Some((h, p)) => format!("restore_server {h}:{p}"),
        None => "a throwaway server planrun starts".to_owned(),
    }
}

/// Each self-hosted restore, for `plan`'s human output.
pub fn human(survey: &Survey) -> String {
    if survey.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "\nSelf-hosted restores (on a scratch server; production receives only the verified result):\n",
    );
    for (req, span) in survey {
        let lines = match span {
            None => vec![format!(
                "  {}: {}, restored on {}; the server's logging, the dump and the binary-log span are read from it with --defaults-file or --preflight",
                req.id,
                req.server(),
                scratch_of(req)
            )],
            Some(Ok(s)) => {
                let mut lines = vec![
                    format!("  {}: {} ({})", req.id, req.server(), s.facts),
                    format!(
                        "    dump {} (binary log {}{}), replayed up to {} on {}",
                        s.dump.path.display(),
                        s.dump.coordinates(),
                        s.dump
                            .gtid
                            .as_ref()
                            .map_or_else(String::new, |g| format!(", GTID {g}")),
                        req.time,
                        scratch_of(req),
                    ),
                ];
                lines.extend(
                    s.skipped
                        .iter()
                        .map(|(p, why)| format!("    passed over {p}: {why}")),
                );
                lines
            }
            Some(Err(e)) => vec![format!(
                "  {}: {e} (apply will refuse this instance)",
                req.id
            )],
        };
        for line in lines {
            out.push_str(&visible(&line));
            out.push('\n');
        }
    }
    out
}

/// The same as JSON: per instance its server's logging, dump and coordinates, or the problem.
pub fn json(survey: &Survey) -> serde_json::Value {
    survey
        .iter()
        .map(|(req, span)| match span {
            None => serde_json::json!({
                "id": req.id,
                "server": req.server(),
                "scratch": scratch_of(req),
            }),
            Some(Ok(s)) => serde_json::json!({
                "id": req.id,
                "server": req.server(),
                "version": s.facts.version,
                "binlog_format": s.facts.binlog_format,
                "binlog_row_image": s.facts.binlog_row_image,
                "gtid": s.facts.gtid,
                "dump": s.dump.path.display().to_string(),
                "binlog_file": s.dump.log_file,
                "binlog_position": s.dump.log_pos,
                "dump_gtid": s.dump.gtid,
                "stop_time": req.time.to_string(),
                "scratch": scratch_of(req),
                "passed_over": s.skipped.iter().map(|(p, why)| serde_json::json!({"dump": p, "why": why})).collect::<Vec<_>>(),
            }),
            Some(Err(e)) => serde_json::json!({"id": req.id, "error": e.to_string()}),
        })
        .collect()
}

/// What the incident record shows of each self-hosted instance: its server, and the dump and
/// binary-log span its restore used, as its journaled outcome says.
pub fn record(plan: &ResolvedPlan, records: &[Record]) -> Vec<crate::record::SelfHosted> {
    plan.instances
        .iter()
        .filter_map(|i| {
            let at = i.selfhosted.as_ref()?;
            let said = records.iter().rev().find_map(|r| match r {
                Record::Finished {
                    instance, message, ..
                } if *instance == i.id => message.clone(),
                _ => None,
            });
            let summary = said.as_deref().and_then(mysql::restore::Summary::parse);
            Some(crate::record::SelfHosted {
                id: i.id.clone(),
                server: at.server.clone(),
                dump: summary.as_ref().map(|s| s.dump.clone()).ok_or_else(|| {
                    "chosen when the restore reads the server's binary log".to_owned()
                }),
                binlog: summary.as_ref().map(|s| s.binlog.clone()),
                verified: summary.map(|s| s.landed),
            })
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
        requests(plan_path, plan, state_dir),
        creds,
        concurrency,
        state_dir.to_path_buf(),
        Some(journal.to_path_buf()),
        resume,
    )
}

/// Checks the self-hosted instances among `pending` (server, credentials and privileges,
/// binary log, dump, sources, targets, scratch server) and says what each restore would use.
/// `Err`: the exit code (2 when credentials were refused); nothing was started. Instances an
/// earlier run submitted are left out: their targets may be theirs already.
pub async fn preflight(
    plan_path: &Path,
    plan: &ResolvedPlan,
    creds: &Credentials,
    pending: &[&str],
) -> Result<(), i32> {
    let found = survey(plan_path, plan, creds, Some(pending), true).await;
    report(&found)
}

/// Prints what a preflight found; `Err`: its exit code.
pub fn report(found: &Survey) -> Result<(), i32> {
    let mut failed = 0;
    let mut auth = false;
    for (req, span) in found {
        match span {
            None => {}
            Some(Ok(s)) => errln!(
                "preflight: {}: {}; dump {} at {}, binary log to the end of {}",
                visible(&req.id),
                visible(&s.facts.to_string()),
                visible(&s.dump.path.display().to_string()),
                visible(&s.dump.coordinates()),
                visible(s.logs.last().map_or("", String::as_str)),
            ),
            Some(Err(e)) => {
                failed += 1;
                auth |= e.is_auth();
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
        return Err(if auth { exit::USAGE } else { exit::FAILED });
    }
    Ok(())
}
