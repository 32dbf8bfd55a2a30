//! `planrun plan PLAN`: validate, then print the dry-run diff and the calls that would be sent.

use std::path::{Path, PathBuf};

use super::{Error, exit, term};
use crate::diff;
pub use crate::engine::ops::plan::calls;
use crate::engine::ops::saved::{self, Beside, Loaded};
use crate::engine::ops::{self, preflight as cloud, selfhosted};
use crate::engine::prepare::{Prepared, prepare};
use crate::plan::text::visible;
use crate::plan::{Checked, ResolvedPlan};
use crate::render::{self, diagnostics};

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

/// How `plan` and `apply` draw the diff on stdout.
pub fn view(expand: bool) -> diff::View {
    diff::View {
        colour: term::stdout_colour(),
        expand,
        width: term::width(),
    }
}

/// Loads and checks a plan for a command that needs a valid one: its warnings shown (on
/// stderr, but for `json`), its errors an [`Error::Plan`].
pub fn load_valid(
    path: &Path,
    json: bool,
    allowed_regions: &[String],
) -> Result<(Checked, ResolvedPlan), Error> {
    let context = term::context(allowed_regions).map_err(Error::Usage)?;
    let (mut checked, readable) = crate::engine::ops::load::check(path, &context);
    if !readable || checked.has_errors() {
        return Err(Error::Plan {
            checked: Box::new(checked),
            json,
            readable,
        });
    }
    if !json && checked.has_warnings() {
        err!("{}", super::error::human(&checked));
    }
    // Taken, not copied: the command holds the plan once for the whole run.
    let resolved = checked.resolved.take().ok_or_else(|| Error::Plan {
        checked: Box::new(checked.clone()),
        json,
        readable,
    })?;
    Ok((checked, resolved))
}

/// Reads and checks a saved plan (any doubt submits nothing), saying when the plan file it
/// was made from has changed since.
pub fn load_saved(path: &Path) -> Result<Loaded, Error> {
    let loaded = saved::load(path)?;
    let plan_path = visible(&loaded.saved.path);
    let shown = visible(&path.display().to_string()).into_owned();
    match loaded.beside {
        Beside::Unchanged => {}
        Beside::Changed => errln!(
            "note: {plan_path} has changed since {shown} was saved; the saved plan is what is used"
        ),
        Beside::Gone => errln!(
            "note: {plan_path} is gone since {shown} was saved; the saved plan is what is used"
        ),
    }
    Ok(loaded)
}

pub fn run(args: &PlanArgs) -> Result<i32, Error> {
    let json = args.format == Format::Json;
    let (checked, mut resolved) = load_valid(&args.plan, json, &args.api.allow_region)?;
    if let Some(size) = args.batch_size {
        // The diff's header and JSON say how many instances a call holds: the flag's value.
        resolved.batch_size = usize::from(size);
    }
    let prepared = prepare(&resolved, args.api.api, resolved.batch_size);
    let calls = calls(&prepared, args.show_requests);
    // What the self-hosted servers say (read-only), when asked (`--defaults-file` or
    // `--preflight`: a plain `plan` stays offline, as for the cloud).
    let asked = (args.defaults_file.as_deref(), args.preflight);
    let survey = ops::plan::survey(&args.plan, &resolved, asked);
    let sources = super::runtime(1)?.block_on(survey)?;
    if !json {
        out!("{}", diff::human(&resolved, &calls, &view(args.expand)));
        out!("{}", render::selfhosted::human(&sources));
    }
    let (mut code, preflight) = if args.preflight && !selfhosted::only(&resolved) {
        preflight(args, &checked, &resolved, &prepared, json)
    } else {
        (exit::OK, None)
    };
    if args.preflight {
        for line in render::selfhosted::preflight(&sources) {
            errln!("{line}");
        }
        if let Err(e) = selfhosted::verdict(&sources) {
            let e = Error::from(e);
            e.print();
            if code == exit::OK {
                code = exit::of_error(&e);
            }
        }
    }
    if let Some(out) = &args.out
        && code != exit::OK
    {
        errln!(
            "The plan was not saved to {}: the preflight found problems.",
            visible(&out.display().to_string())
        );
    } else if let Some(out) = &args.out {
        let made_at = crate::engine::ops::now().map_err(Error::Usage)?;
        let note = saved::write(
            out,
            &args.plan,
            (&checked, &resolved, &prepared),
            args.state_dir.as_deref(),
            made_at,
        )?;
        if let Some(note) = note {
            errln!("note: {note}");
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
            doc["selfhosted"] = render::selfhosted::json(&sources);
        }
        outln!("{doc}");
    }
    Ok(code)
}

/// `plan --preflight`: the rollback-window check, reported like `validate` (for JSON, the
/// `{"files": [...]}` document to put under the diff's `preflight` key). What stops it is
/// said here; the plan is still shown.
fn preflight(
    args: &PlanArgs,
    checked: &Checked,
    plan: &ResolvedPlan,
    prepared: &Prepared,
    json: bool,
) -> (i32, Option<serde_json::Value>) {
    match ask(args, checked, plan, prepared) {
        Ok(None) => {
            errln!("preflight: not available with --api v2");
            (exit::USAGE, None)
        }
        Ok(Some(problems)) => {
            let (n, failed) = (problems.len(), !problems.is_empty());
            let report = Checked {
                diagnostics: problems,
                ..checked.clone()
            };
            let doc = json.then(|| diagnostics::json(std::slice::from_ref(&report), false));
            if !json {
                err!("{}", super::error::human(&report));
                if !failed {
                    errln!(
                        "preflight: all {} instances can roll back to their times; {}",
                        plan.instances.len(),
                        cloud::objects::ALL_GOOD
                    );
                }
            }
            (exit::of_failures(n), doc)
        }
        Err(e) => {
            e.print();
            (exit::of_error(&e), None)
        }
    }
}

/// The preflight's problems with the cloud's instances; `None` with API 2.0.
fn ask(
    args: &PlanArgs,
    checked: &Checked,
    plan: &ResolvedPlan,
    prepared: &Prepared,
) -> Result<Option<Vec<crate::plan::Diagnostic>>, Error> {
    let runtime = super::runtime(1)?;
    runtime.block_on(async {
        let (protocol, _) = super::session::connect(&args.api, None, None).await?;
        Ok(ops::plan::preflight(&protocol, checked, plan, prepared).await?)
    })
}
