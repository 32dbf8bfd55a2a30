//! `planrun status PLAN`: the journal of the last apply, refreshed from the API (and what
//! the API said recorded in it: [`refresh`]).

use std::path::PathBuf;

use super::api_args::ApiArgs;
use super::{Error, exit, plan as plan_cmd, session};
use crate::engine::ops::located::Located;
use crate::engine::ops::refresh;
use crate::engine::prepare::plan_hash_of;
use crate::plan::{Checked, ResolvedPlan};
use crate::render::shell::quote;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    /// The report of `apply --report`.
    Json,
}

/// Show the state of the plan's last apply.
#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The plan file.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Show the journal as it is, without asking the API (no credentials needed).
    #[arg(long)]
    pub offline: bool,
    /// Show the journal of `apply --sandbox` (offline: that emulator is gone).
    #[arg(long)]
    pub sandbox: bool,
    #[command(flatten)]
    pub session: session::SessionArgs,
    #[command(flatten)]
    pub api: ApiArgs,
}

pub fn run(args: &StatusArgs) -> Result<i32, Error> {
    let json = args.format == Format::Json;
    let (checked, resolved) = plan_cmd::load_valid(&args.plan, json, &args.api.allow_region)?;
    let runtime = super::runtime(1)?;
    let (cloud, demo) = journals(args, &checked, &resolved)?;
    let journal = if args.sandbox {
        demo.clone()
    } else {
        cloud.clone()
    };
    if !args.sandbox && !cloud.exists() && demo.exists() {
        return Err(Error::Unfinished(format!(
            "No apply of plan {} is recorded (journal {}), but an `apply --sandbox` is: see it with\n  planrun status {} --sandbox",
            resolved.name,
            cloud.display(),
            args.plan.display()
        )));
    }
    runtime.block_on(async {
        let offline = args.offline || args.sandbox;
        let mut apply = if offline {
            session::offline(&resolved, &args.session, journal)?
        } else {
            let flags = (&args.api, &args.session);
            session::observe(&args.plan, &resolved, flags, journal).await?
        };
        match apply.load() {
            Ok(true) => {}
            Ok(false) => {
                return Err(Error::Unfinished(format!(
                    "No apply of plan {} is recorded (journal {}).",
                    resolved.name,
                    apply.journal_path().display()
                )));
            }
            Err(e) => {
                return Err(Error::Usage(format!(
                    "cannot read the journal {}: {e}",
                    apply.journal_path().display()
                )));
            }
        }
        if !offline {
            refresh::apply(&mut apply, &mut say).await;
        }
        // After the refresh: it asks the API about what is unfinished, interrupted included.
        let interrupted = apply.interrupt();
        if json {
            let text = serde_json::to_string_pretty(&apply.report())
                .map_err(|e| Error::Usage(e.to_string()))?;
            outln!("{text}");
        } else {
            let state = apply.state();
            out!(
                "{}",
                crate::render::summary::table(state, &apply.report().totals)
            );
        }
        if interrupted > 0 {
            let text = crate::render::apply::interrupted(
                &resolved.name,
                &resume_command(args),
                args.sandbox,
            );
            // JSON on stdout stays one document.
            if json {
                errln!("{text}");
            } else {
                outln!("{text}");
            }
        }
        let totals = &apply.report().totals;
        Ok(exit::of_totals(totals, exit::Precedence::UnfinishedFirst))
    })
}

/// The command that resumes the plan's interrupted apply: the same plan and journal (state
/// directory, `--sandbox`), and the flags `status` was given to reach it, as `apply` says
/// its own.
fn resume_command(args: &StatusArgs) -> String {
    let mut words = vec![
        "planrun".to_owned(),
        "apply".to_owned(),
        quote(&args.plan.display().to_string()),
    ];
    super::apply::reaching(&args.session, &args.api, &mut |name, value| {
        words.push(name.to_owned());
        words.push(quote(&value));
    });
    if args.sandbox {
        words.push("--sandbox".to_owned());
    }
    words.join(" ")
}

/// What a refresh could not do, or why it wrote nothing.
fn say(note: refresh::Note) {
    let kind = if note.is_warning() { "warning" } else { "note" };
    errln!("{kind}: {note}");
}

/// The plan's journal and its `apply --sandbox` journal, as `apply` names them (or an older
/// planrun's of this plan, read in place).
fn journals(
    args: &StatusArgs,
    checked: &Checked,
    resolved: &ResolvedPlan,
) -> Result<(PathBuf, PathBuf), Error> {
    let hash = plan_hash_of(resolved);
    let dir = args.session.state_dir.as_deref();
    let at = Located::of_plan(&args.plan, &checked.text, &resolved.name, dir, false)?;
    let readable = |sandboxed| session::readable(&at.sandboxed(sandboxed), &resolved.name, &hash);
    Ok((readable(false), readable(true)))
}
