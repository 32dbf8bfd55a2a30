//! `planrun compare PLAN`: after an apply, every restored table compared with its source
//! ([`crate::engine::ops::compare`]), printed as a table per instance or as JSON; and what
//! `compare` and `merge` share: their flags, and finding what they work on.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::api_args::{ApiArgs, Generation};
use super::{Error, exit, plan as plan_cmd};
use crate::compare::outcome::DEFAULT_SAMPLE;
use crate::engine::ops::compare::targets::{self, Scope, Targets};
use crate::engine::ops::compare::{self, Event};
use crate::engine::ops::selfhosted;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    /// One document: every table's counts and samples.
    Json,
}

/// Compare the restored copies of the plan's last apply with their sources.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// The plan that was applied.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Rows of each kind (deleted, inserted, changed) shown per table.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_SAMPLE)]
    pub sample: usize,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// Flags `compare` and `merge` share.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// Only this instance (repeat for several) [default: every instance of the plan]
    #[arg(long = "instance", value_name = "ID")]
    pub instances: Vec<String>,
    /// After `apply --sandbox`: read its journal, and ask the in-process emulator's
    /// DescribeDBInstances for the instances' addresses.
    #[arg(long)]
    pub sandbox: bool,
    /// With --sandbox: the emulator's fleet (YAML or JSON, as `sandbox serve --catalog`);
    /// an instance's `address: HOST:PORT` is the MySQL server it answers with.
    #[arg(long, value_name = "FILE", requires = "sandbox")]
    pub catalog: Option<PathBuf>,
    /// Where the journal lives [default: .planrun/ beside the plan]
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    /// Option file with the `[client]` user and password for the instances' MySQL, as
    /// MySQL's tools read it [default: ~/.my.cnf when it exists]
    #[arg(long, value_name = "FILE")]
    pub defaults_file: Option<PathBuf>,
    /// Rows of the restored copy per range: each range is digested by the server on both
    /// sides in its own snapshot, and read row by row only when the digests differ.
    #[arg(long, value_name = "ROWS", default_value_t = crate::compare::walk::DEFAULT_CHUNK_ROWS,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub chunk_rows: u64,
    #[command(flatten)]
    pub api: ApiArgs,
}

/// 0 no difference, 1 differences (or a table that could not be compared), 2 error, 3 the
/// apply is not finished.
pub fn run(args: &CompareArgs) -> Result<i32, Error> {
    let runtime = super::runtime(1)?;
    runtime.block_on(async {
        let json = args.format == Format::Json;
        let targets = resolve(&args.plan, &args.target, json).await?;
        let creds = selfhosted::credentials(args.target.defaults_file.as_deref())?;
        let options = crate::compare::Options {
            chunk_rows: args.target.chunk_rows,
            ..crate::compare::Options::default()
        };
        let mut say = progress();
        let compared = compare::compare(&targets, &creds, &options, args.sample, &mut say).await;
        let comparison = &compared.comparison;
        if json {
            let text = serde_json::to_string_pretty(comparison)
                .map_err(|e| Error::Usage(e.to_string()))?;
            outln!("{text}");
        } else {
            out!(
                "{}",
                crate::render::compare::human(comparison, &targets.targets)
            );
        }
        Ok(exit::of_comparison(comparison, compared.errors))
    })
}

/// The plan and its journal, and every restored instance with its address (DescribeDBInstances
/// asked for those the plan gives none, through the API or `--sandbox`'s emulator).
pub async fn resolve(plan: &Path, args: &TargetArgs, json: bool) -> Result<Targets, Error> {
    let (checked, resolved) = plan_cmd::load_valid(plan, json, &args.api.allow_region)?;
    let scope = Scope {
        instances: args.instances.clone(),
        sandbox: args.sandbox,
        state_dir: args.state_dir.clone(),
        region: args.api.region.clone(),
    };
    let (restored, note) = targets::restored(plan, &checked, resolved, &scope)?;
    if let Some(note) = note {
        errln!("note: {note}");
    }
    if restored.ask.is_empty() {
        return Ok(restored.targets(Default::default()));
    }
    let catalog = match &args.catalog {
        Some(path) => Some(read_catalog(path)?),
        None => None,
    };
    // DescribeDBInstances is API 3.0 whatever --api says.
    let mut api = args.api.clone();
    api.api = Generation::V3;
    let sandbox = args
        .sandbox
        .then(|| chrono::FixedOffset::east_opt(0))
        .flatten();
    let (protocol, sb) = super::session::connect(&api, sandbox, catalog).await?;
    let described = targets::describe(&protocol, &restored.ask).await;
    if let Some(sb) = sb {
        sb.shutdown().await;
    }
    Ok(restored.targets(described?))
}

fn read_catalog(path: &Path) -> Result<crate::sandbox::Catalog, Error> {
    let shown = crate::plan::text::visible(&path.display().to_string()).into_owned();
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::Usage(format!("--catalog {shown}: {e}")))?;
    crate::sandbox::Catalog::parse(&text).map_err(|e| {
        let e = crate::plan::text::visible(&e).into_owned();
        Error::Usage(format!("--catalog {shown}: {e}"))
    })
}

/// What comparing says: an instance it could not compare, or the result not kept; and a
/// line on stderr every few seconds while a table is compared (long tables).
pub fn progress() -> impl FnMut(Event<'_>) + Send {
    let mut last = Instant::now();
    move |event| match event {
        Event::Table { .. } => last = Instant::now(),
        Event::Progress { .. } => {
            if last.elapsed() >= Duration::from_secs(2) {
                last = Instant::now();
                errln!("{event}");
            }
        }
        _ => errln!("{event}"),
    }
}
