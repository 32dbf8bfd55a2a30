//! `planrun plan PLAN`: validate, then print the dry-run diff and the calls that would be sent.

use std::path::PathBuf;

use super::{diagnostics, exit, term};
use crate::diff::{self, Call};
use crate::engine::prepare::{Prepared, prepare};
use crate::plan::text::visible;
use crate::plan::{Checked, ResolvedPlan};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
}

/// Show what a plan would do, without contacting any API.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Also print each call's exact (unsigned) action parameters.
    #[arg(long)]
    pub show_requests: bool,
    /// One block per instance in the diff (by default, instances of one `ids:` entry with the
    /// same rollback share a block).
    #[arg(long)]
    pub expand: bool,
    /// Instances per call; overrides the plan's `batch_size` (1 to 50).
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=50))]
    pub batch_size: Option<u8>,
    /// Also ask the API whether each instance exists and can roll back to its time
    /// (DescribeRollbackRangeTime), and whether every source exists and no target does
    /// (DescribeDatabases, DescribeTables); needs credentials and --api v3.
    #[arg(long)]
    pub preflight: bool,
    /// Also save the prepared plan to FILE (every call, exactly as it will be sent), for
    /// review and `planrun apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Where `apply` keeps the plan's journal (recorded in the saved plan; with --out)
    /// [default: .planrun beside the plan]
    #[arg(long, value_name = "DIR", requires = "out")]
    pub state_dir: Option<PathBuf>,
    /// Option file with the `[client]` user and password of self-hosted servers
    /// (`provider: mysql`); with it (or --preflight) `plan` asks them, read-only, for their
    /// logging, dumps and binary-log spans [default with --preflight: ~/.my.cnf when it exists]
    #[arg(long, value_name = "FILE")]
    pub defaults_file: Option<PathBuf>,
    #[command(flatten)]
    pub api: super::api_args::ApiArgs,
}

/// The calls of a prepared plan, as the diff shows them: with `with_params`, API 2.0's
/// `instances.N.*` parameters or API 3.0's JSON body, exactly as they will be sent.
pub fn calls(prepared: &Prepared, with_params: bool) -> Vec<Call> {
    prepared
        .calls
        .iter()
        .map(|c| Call {
            action: c.action.to_owned(),
            region: c.region.clone(),
            instances: c
                .instances
                .iter()
                .map(|&i| prepared.rollbacks[i].request.instance_id.clone())
                .collect(),
            params: with_params.then(|| c.params.clone()),
        })
        .collect()
}

/// How `plan` and `apply` draw the diff on stdout.
pub fn view(expand: bool) -> diff::View {
    diff::View {
        colour: term::stdout_colour(),
        expand,
        width: term::width(),
    }
}

/// Loads and checks a plan for a command that needs a valid one; on failure prints the
/// diagnostics (stderr for human, stdout for JSON) and returns the exit code.
#[allow(clippy::print_stdout)]
pub fn load_valid(
    path: &std::path::Path,
    json: bool,
    allowed_regions: &[String],
) -> Result<(Checked, ResolvedPlan), i32> {
    let context = term::context(allowed_regions).map_err(|e| {
        errln!("error: {e}");
        exit::USAGE
    })?;
    let (checked, readable) = super::validate::check(path, &context);
    if !readable || checked.has_errors() {
        if json {
            outln!(
                "{}",
                diagnostics::json(std::slice::from_ref(&checked), false)
            );
        } else {
            err!(
                "{}",
                diagnostics::human(
                    std::slice::from_ref(&checked),
                    term::stderr_colour(),
                    term::width()
                )
            );
        }
        return Err(if readable { exit::FAILED } else { exit::USAGE });
    }
    if !json && checked.has_warnings() {
        err!(
            "{}",
            diagnostics::human(
                std::slice::from_ref(&checked),
                term::stderr_colour(),
                term::width()
            )
        );
    }
    // Taken, not copied: the command holds the plan once for the whole run.
    let mut checked = checked;
    let resolved = checked.resolved.take().ok_or(exit::FAILED)?;
    Ok((checked, resolved))
}

#[allow(clippy::print_stdout)]
pub fn run(args: &PlanArgs) -> i32 {
    let json = args.format == Format::Json;
    let (checked, resolved) = match load_valid(&args.plan, json, &args.api.allow_region) {
        Ok(ok) => ok,
        Err(code) => return code,
    };
    let mut resolved = resolved;
    if let Some(size) = args.batch_size {
        // The diff's header and JSON say how many instances a call holds: the flag's value.
        resolved.batch_size = usize::from(size);
    }
    let prepared = prepare(&resolved, args.api.api, resolved.batch_size);
    let calls = calls(&prepared, args.show_requests);
    let sources = match survey(args, &resolved) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if !json {
        out!("{}", diff::human(&resolved, &calls, &view(args.expand)));
        out!("{}", super::selfhosted::human(&sources));
    }
    let (mut code, preflight) = if args.preflight && !super::selfhosted::only(&resolved) {
        preflight(args, &checked, &resolved, &prepared, json)
    } else {
        (exit::OK, None)
    };
    if args.preflight
        && let Err(c) = super::selfhosted::report(&sources)
        && code == exit::OK
    {
        code = c;
    }
    if let Some(out) = &args.out
        && code != exit::OK
    {
        errln!(
            "The plan was not saved to {}: the preflight found problems.",
            visible(&out.display().to_string())
        );
    } else if let Some(out) = &args.out {
        if let Err(code) = super::saved::write(
            out,
            &args.plan,
            &checked,
            &resolved,
            &prepared,
            args.state_dir.clone(),
        ) {
            return code;
        }
        errln!(
            "Saved the plan to {}; apply exactly this with `planrun apply {}`.",
            visible(&out.display().to_string()),
            visible(&out.display().to_string())
        );
    }
    if json {
        let mut doc = diff::json(&resolved, &calls);
        // The warnings a human sees on stderr (a valid plan has no errors), as validate's JSON
        // has them.
        doc["warnings"] =
            diagnostics::json(std::slice::from_ref(&checked), false)["files"][0]["diagnostics"]
                .take();
        if let Some(found) = preflight {
            doc["preflight"] = found;
        }
        if !sources.is_empty() {
            doc["selfhosted"] = super::selfhosted::json(&sources);
        }
        outln!("{doc}");
    }
    code
}

/// What the self-hosted servers say (read-only), when asked (`--defaults-file` or
/// `--preflight`: a plain `plan` stays offline, as for the cloud); with `--preflight` also
/// their privileges and scratch servers.
fn survey(args: &PlanArgs, plan: &ResolvedPlan) -> Result<super::selfhosted::Survey, i32> {
    if !super::selfhosted::any(plan) {
        return Ok(Vec::new());
    }
    if !args.preflight && args.defaults_file.is_none() {
        return Ok(super::selfhosted::unasked(&args.plan, plan));
    }
    let creds = super::selfhosted::credentials(args.defaults_file.as_deref())?;
    let runtime = super::runtime(1)?;
    Ok(runtime.block_on(super::selfhosted::survey(
        &args.plan,
        plan,
        &creds,
        None,
        args.preflight,
    )))
}

/// `plan --preflight`: the rollback-window check, reported like `validate` (for JSON, the
/// `{"files": [...]}` document to put under the diff's `preflight` key).
fn preflight(
    args: &PlanArgs,
    checked: &Checked,
    plan: &ResolvedPlan,
    prepared: &Prepared,
    json: bool,
) -> (i32, Option<serde_json::Value>) {
    let runtime = match super::runtime(1) {
        Ok(r) => r,
        Err(code) => return (code, None),
    };
    runtime.block_on(async {
        let (protocol, _) = match super::session::connect(&args.api, None).await {
            Ok(p) => p,
            Err(code) => return (code, None),
        };
        // Self-hosted instances are checked by their own preflight (`apply`), not the API.
        let requests: Vec<_> = prepared
            .requests()
            .into_iter()
            .zip(&plan.instances)
            .filter(|(_, i)| i.selfhosted.is_none())
            .map(|(r, _)| r)
            .collect();
        match super::preflight::check(&protocol, checked, plan, prepared, &requests).await {
            Ok(None) => {
                errln!("preflight: not available with --api v2");
                (exit::USAGE, None)
            }
            Ok(Some(problems)) => {
                let failed = !problems.is_empty();
                let report = Checked {
                    diagnostics: problems,
                    ..checked.clone()
                };
                let doc = json.then(|| diagnostics::json(std::slice::from_ref(&report), false));
                if !json {
                    err!(
                        "{}",
                        diagnostics::human(
                            std::slice::from_ref(&report),
                            term::stderr_colour(),
                            term::width()
                        )
                    );
                    if !failed {
                        errln!(
                            "preflight: all {} instances can roll back to their times; {}",
                            plan.instances.len(),
                            super::preflight_objects::ALL_GOOD
                        );
                    }
                }
                (if failed { exit::FAILED } else { exit::OK }, doc)
            }
            Err(e) => {
                super::report_error(&e);
                (exit::USAGE, None)
            }
        }
    })
}
