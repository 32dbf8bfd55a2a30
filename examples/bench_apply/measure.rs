//! One measured run: start the sandbox, run the child (planrun or the naive tracker) under
//! GNU time, then read the sandbox's timeline and counters into [`Measured`].

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use planrun::sandbox::{self, CountersSnapshot, DEMO_SECRET_ID, DEMO_SECRET_KEY, Timeline};

use super::{CLOUD_RATE, REGION};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    Planrun,
    Baseline,
}

impl Who {
    pub fn name(self) -> &'static str {
        match self {
            Who::Planrun => "planrun",
            Who::Baseline => "baseline",
        }
    }
}

pub struct Setup {
    pub who: Who,
    pub api: String,
    pub n: usize,
    pub config: sandbox::Config,
    pub planrun: PathBuf,
    /// This harness (it runs the baseline as its own child).
    pub harness: PathBuf,
    pub poll_ms: u64,
    /// Extra arguments for `planrun apply`.
    pub extra: Vec<String>,
    /// Directory for the per-instance timeline (`--dump`).
    pub dump: Option<PathBuf>,
}

/// Everything reported for one run; times in seconds from the child's start.
#[derive(Debug, Clone)]
pub struct Measured {
    pub who: Who,
    pub api: String,
    pub n: usize,
    pub exit_ok: bool,
    pub wall: f64,
    /// Task ends, sorted.
    pub ends: Vec<f64>,
    /// Per instance, the first status query at or after its task's end, sorted.
    pub detections: Vec<f64>,
    /// Instances never seen finished.
    pub undetected: usize,
    /// Detection lags (first poll of or after the end, minus the end), sorted.
    pub lags: Vec<f64>,
    /// Status queries before an instance's end, per instance.
    pub polls_before_end: f64,
    /// Lower bound of the last detection given these ends: see [`rate_bound`].
    pub bound: f64,
    /// The same bound had every batch of 50 gone out at the rate limit from the start (batch
    /// b at b / 20 s), with the same task durations: the best any tracker could do.
    pub ideal: f64,
    /// The object preflight's calls (DescribeDatabases, DescribeTables), made before the
    /// instance's submission.
    pub preflight_calls: u64,
    /// The verification's calls (the same actions after the instance's submission: its new
    /// objects looked for once its task said success; issue 23).
    pub verify_calls: u64,
    /// Per verified instance, from the first poll that saw its task ended to the last listing
    /// of its objects (when it was found verified or not), sorted.
    pub verified_after: Vec<f64>,
    /// The least time the checks before the first submission take at the rate limit: the
    /// window check's calls / rate, then the object preflight's (its two actions have budgets
    /// of their own and overlap, so the busier one's calls / rate).
    pub preflight_floor: f64,
    /// When the last task was accepted.
    pub last_submit: f64,
    /// When the first task was accepted (from the child's start, which `--yes` confirms).
    pub first_submit: f64,
    /// DescribeRollbackRangeTime calls (the window check).
    pub window_calls: u64,
    /// DescribeDatabases calls (none with this plan, which names tables only).
    pub database_calls: u64,
    /// The longest task's life, submission to end.
    pub longest_task: f64,
    pub submissions: u64,
    pub polls: u64,
    pub other_calls: u64,
    /// Status queries at or after an instance's end beyond the first, per instance.
    pub extra_polls_after_end: f64,
    pub throttled: u64,
    pub cpu: f64,
    pub rss_mib: f64,
    /// The 1-minute load average when the child started and when it ended.
    pub load: (String, String),
}

impl Measured {
    pub fn last_end(&self) -> f64 {
        self.ends.last().copied().unwrap_or(0.0)
    }
    pub fn last_detection(&self) -> f64 {
        self.detections.last().copied().unwrap_or(0.0)
    }
    pub fn overhead(&self) -> f64 {
        self.wall - self.last_end()
    }
    pub fn calls(&self) -> u64 {
        self.submissions + self.polls + self.other_calls
    }
    pub fn per_instance(&self, calls: u64) -> f64 {
        calls as f64 / self.n.max(1) as f64
    }
    pub fn name(&self) -> &'static str {
        self.who.name()
    }

    /// The lag below which this share of detections fall.
    pub fn lag(&self, share: f64) -> f64 {
        let i = ((self.lags.len() as f64 - 1.0) * share).round() as usize;
        self.lags.get(i).copied().unwrap_or(0.0)
    }

    /// Wall time over the rate bound.
    pub fn bound_ratio(&self) -> f64 {
        self.wall / self.bound.max(1e-9)
    }

    /// The least wall any tracker that runs these checks first could reach: the preflight at
    /// the rate, then the ideal bound.
    pub fn checked_ideal(&self) -> f64 {
        self.preflight_floor + self.ideal
    }

    pub fn line(&self) -> String {
        format!(
            "{} {} N={}: load {}→{} exit {} wall {:.2}s (x{:.3} the bound) last submit {:.2}s last end {:.2}s overhead {:.2}s bound {:.2}s ideal {:.2}s last detection {:.2}s undetected {} lag p50/p90/max {:.2}/{:.2}/{:.2}s polls before end/inst {:.2} calls/inst {:.2} (submit {} poll {} other {}) extra polls after end/inst {:.2} throttled {} cpu {:.2}s rss {:.1} MiB",
            self.name(),
            self.api,
            self.n,
            self.load.0,
            self.load.1,
            if self.exit_ok { "ok" } else { "FAILED" },
            self.wall,
            self.bound_ratio(),
            self.last_submit,
            self.last_end(),
            self.overhead(),
            self.bound,
            self.ideal,
            self.last_detection(),
            self.undetected,
            self.lag(0.5),
            self.lag(0.9),
            self.lag(1.0),
            self.polls_before_end,
            self.per_instance(self.calls()),
            self.submissions,
            self.polls,
            self.other_calls,
            self.extra_polls_after_end,
            self.throttled,
            self.cpu,
            self.rss_mib
        )
    }
}

/// The earliest time by which every instance can have been seen finished, when each needs
/// one status query at or after its end and queries go out at most `rate` per second:
/// max over k of (k-th end + (ends after it) / rate), in ends' order. (A fluid bound: it ignores
/// the polls before the ends; the sandbox's sliding window allows a burst of `rate` at once, so
/// the exact bound can be up to 1 s lower.)
pub fn rate_bound(sorted_ends: &[f64], rate: f64) -> f64 {
    let n = sorted_ends.len();
    sorted_ends
        .iter()
        .enumerate()
        .map(|(k, e)| e + (n - 1 - k) as f64 / rate)
        .fold(0.0, f64::max)
}

pub async fn run(setup: &Setup) -> Result<Measured, Box<dyn std::error::Error>> {
    let sb = sandbox::start(setup.config.clone(), super::loopback()).await?;
    let dir = tempfile::tempdir()?;
    let ids = super::instance_ids(setup.n);
    let rollback_time = super::recent_rollback_time();
    let endpoint = match setup.api.as_str() {
        "v2" => sb.endpoint_v2(),
        _ => sb.endpoint_v3(),
    };
    let timefile = dir.path().join("time.txt");
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f").arg("%U %S %M").arg("-o").arg(&timefile);
    match setup.who {
        Who::Planrun => {
            let plan = dir.path().join("bench.yaml");
            std::fs::write(&plan, plan_text(&ids, &rollback_time))?;
            cmd.arg(&setup.planrun)
                .arg("apply")
                .arg(&plan)
                .args(["--yes", "--api", &setup.api, "--endpoint", &endpoint])
                .arg("--state-dir")
                .arg(dir.path().join("state"))
                .arg("--report")
                .arg(dir.path().join("report.json"))
                .arg("--poll-interval")
                .arg(format!("{}ms", setup.poll_ms))
                .args(&setup.extra);
        }
        Who::Baseline => {
            cmd.arg(&setup.harness)
                .args([
                    "--baseline-child",
                    "--api",
                    &setup.api,
                    "--endpoint",
                    &endpoint,
                ])
                .args([
                    "--n",
                    &setup.n.to_string(),
                    "--rollback-time",
                    &rollback_time,
                ]);
        }
    }
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", dir.path())
        .env("TENCENTCLOUD_SECRET_ID", DEMO_SECRET_ID)
        .env("TENCENTCLOUD_SECRET_KEY", DEMO_SECRET_KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("stderr.txt"))?);
    let load_before = super::load_average();
    let start = Instant::now();
    let status = tokio::task::spawn_blocking(move || cmd.status()).await??;
    let wall = start.elapsed().as_secs_f64();
    let load_after = super::load_average();
    super::settle().await;
    let timeline = sb.timeline();
    let counters = sb.counters();
    sb.shutdown().await;
    if !status.success() {
        let err = std::fs::read_to_string(dir.path().join("stderr.txt")).unwrap_or_default();
        let tail: String = err.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        println!("child failed ({status}): {tail}");
    }
    let time = std::fs::read_to_string(&timefile).unwrap_or_default();
    let mut fields = time
        .lines()
        .last()
        .unwrap_or("")
        .split_whitespace()
        .map(|f| f.parse::<f64>().unwrap_or(0.0));
    let (user, sys, rss_kib) = (
        fields.next().unwrap_or(0.0),
        fields.next().unwrap_or(0.0),
        fields.next().unwrap_or(0.0),
    );
    if let Some(dir) = &setup.dump {
        let file = dir.join(format!(
            "{}-{}-{}.tsv",
            setup.api,
            setup.n,
            setup.who.name()
        ));
        std::fs::create_dir_all(dir)?;
        std::fs::write(&file, dump(&timeline, start))?;
    }
    let mut m = from_timeline(setup, &timeline, &counters, start);
    m.exit_ok = status.success();
    m.wall = wall;
    m.cpu = user + sys;
    m.rss_mib = rss_kib / 1024.0;
    m.load = (load_before, load_after);
    Ok(m)
}

/// One line per task: instance, submitted, end, then every status query of the instance
/// (seconds from `start`, tab-separated), in plan order.
fn dump(timeline: &Timeline, start: Instant) -> String {
    let secs = |t: Instant| format!("{:.3}", t.saturating_duration_since(start).as_secs_f64());
    let mut polls: HashMap<&str, Vec<String>> = HashMap::new();
    for poll in &timeline.polls {
        polls
            .entry(poll.instance_id.as_str())
            .or_default()
            .push(secs(poll.at));
    }
    let mut tasks: Vec<_> = timeline.tasks.iter().collect();
    tasks.sort_by(|a, b| a.instance_id.cmp(&b.instance_id));
    let mut out = String::from("instance\tsubmitted\tends\tlooks...\n");
    for t in tasks {
        let mut fields = vec![t.instance_id.clone(), secs(t.submitted), secs(t.ends)];
        fields.extend(polls.remove(t.instance_id.as_str()).unwrap_or_default());
        out.push_str(&fields.join("\t"));
        out.push('\n');
    }
    out
}

fn from_timeline(
    setup: &Setup,
    timeline: &Timeline,
    counters: &CountersSnapshot,
    start: Instant,
) -> Measured {
    let secs = |t: Instant| t.saturating_duration_since(start).as_secs_f64();
    // The last task of each instance is the one tracked (there is one per instance here).
    let mut end_of: HashMap<&str, Instant> = HashMap::new();
    for t in &timeline.tasks {
        let e = end_of.entry(t.instance_id.as_str()).or_insert(t.ends);
        *e = (*e).max(t.ends);
    }
    let mut first_seen: HashMap<&str, Instant> = HashMap::new();
    let (mut after_end, mut before_end) = (0u64, 0u64);
    for poll in &timeline.polls {
        match end_of.get(poll.instance_id.as_str()) {
            Some(end) if poll.at >= *end => {
                after_end += 1;
                first_seen
                    .entry(poll.instance_id.as_str())
                    .or_insert(poll.at);
            }
            Some(_) => before_end += 1,
            None => {}
        }
    }
    let mut lags: Vec<f64> = first_seen
        .iter()
        .filter_map(|(id, seen)| {
            end_of
                .get(id)
                .map(|e| seen.duration_since(*e).as_secs_f64())
        })
        .collect();
    lags.sort_by(f64::total_cmp);
    let mut durations: Vec<(&str, f64)> = timeline
        .tasks
        .iter()
        .map(|t| (t.instance_id.as_str(), (t.ends - t.submitted).as_secs_f64()))
        .collect();
    // Ids are zero-padded, so their order is the plan's.
    durations.sort_by(|a, b| a.0.cmp(b.0));
    let rate = f64::from(CLOUD_RATE);
    let mut ideal_ends: Vec<f64> = durations
        .iter()
        .enumerate()
        .map(|(i, (_, d))| (i / 50) as f64 / rate + d)
        .collect();
    ideal_ends.sort_by(f64::total_cmp);
    let last_submit = timeline
        .tasks
        .iter()
        .map(|t| secs(t.submitted))
        .fold(0.0, f64::max);
    let first_submit = timeline
        .tasks
        .iter()
        .map(|t| secs(t.submitted))
        .fold(f64::INFINITY, f64::min);
    let longest_task = durations.iter().map(|(_, d)| *d).fold(0.0, f64::max);
    let mut ends: Vec<f64> = end_of.values().map(|t| secs(*t)).collect();
    ends.sort_by(f64::total_cmp);
    let mut detections: Vec<f64> = first_seen.values().map(|t| secs(*t)).collect();
    detections.sort_by(f64::total_cmp);
    let req = |a: &str| counters.requests_per_action.get(a).copied().unwrap_or(0);
    let submissions = req("RollbackCdbDatabaseTables") + req("StartBatchRollback");
    let polls = req("GetCdbRollbackJob") + req("DescribeRollbackTaskDetail");
    let all: u64 = counters.requests_per_action.values().sum();
    let (verify_calls, verified_after) = super::verification::split(timeline, &first_seen);
    let preflight_calls = timeline.object_polls.len() as u64 - verify_calls;
    // The window check first, then the object preflight (the plan names one database: its
    // objects are DescribeTables alone, one call per instance).
    let preflight_floor =
        req("DescribeRollbackRangeTime") as f64 / rate + preflight_calls as f64 / rate;
    let throttled = counters
        .rejections_per_code
        .get(&4400)
        .copied()
        .unwrap_or(0)
        + counters
            .rejections_per_error
            .iter()
            .filter(|(k, _)| k.starts_with("RequestLimitExceeded"))
            .map(|(_, v)| *v)
            .sum::<u64>();
    let seen = first_seen.len();
    Measured {
        who: setup.who,
        api: setup.api.clone(),
        n: setup.n,
        exit_ok: false,
        wall: 0.0,
        bound: rate_bound(&ends, rate),
        ideal: rate_bound(&ideal_ends, rate),
        preflight_calls,
        verify_calls,
        verified_after,
        preflight_floor,
        last_submit,
        first_submit: if first_submit.is_finite() {
            first_submit
        } else {
            0.0
        },
        window_calls: req("DescribeRollbackRangeTime"),
        database_calls: req("DescribeDatabases"),
        longest_task,
        ends,
        detections,
        undetected: setup.n.saturating_sub(seen),
        lags,
        polls_before_end: before_end as f64 / setup.n.max(1) as f64,
        submissions,
        polls,
        other_calls: all - submissions - polls,
        extra_polls_after_end: after_end.saturating_sub(seen as u64) as f64 / setup.n.max(1) as f64,
        throttled,
        cpu: 0.0,
        rss_mib: 0.0,
        load: Default::default(),
    }
}

/// The plan: N instances in `ids` shards of 100, batch_size 50, region set.
fn plan_text(ids: &[String], rollback_time: &str) -> String {
    let mut out = format!(
        "version: 1\nname: bench\nrollback_time: \"{rollback_time}\"\nstrategy: table\nrename: \"{{name}}_bak\"\nregion: {REGION}\nbatch_size: 50\ninstances:\n"
    );
    for shard in ids.chunks(100) {
        let _ = write!(
            out,
            "  - ids: [{}]\n    tables:\n      orders: [payments, refunds]\n",
            shard.join(", ")
        );
    }
    out
}

/// The Markdown table of every run, with planrun / baseline ratios.
pub fn table(rows: &[(Measured, Option<Measured>)]) -> String {
    let mut out = String::from(
        "| API | N | tracker | wall s | last submit s | last end s | overhead s | rate bound s | wall − bound s | ideal bound s | preflight floor s | detection lag p50 / p90 / max s | calls/inst (submit + poll + other) | polls before end /inst | extra polls after end /inst | 4400 / RequestLimitExceeded | peak RSS MiB | CPU s (% of wall) | wall ratio | calls ratio |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (ours, base) in rows {
        for m in std::iter::once(ours).chain(base.iter()) {
            let ratio = |f: fn(&Measured) -> f64| match (m.who, base) {
                (Who::Planrun, Some(b)) if f(b) > 0.0 => format!("{:.2}", f(m) / f(b)),
                _ => "–".into(),
            };
            let _ = writeln!(
                out,
                "| {} | {} | {}{} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.2} / {:.2} / {:.2} | {:.2} ({:.2} + {:.2} + {:.2}) | {:.2} | {:.2} | {} | {:.1} | {:.2} ({:.1}%) | {} | {} |",
                m.api,
                m.n,
                m.name(),
                if m.exit_ok { "" } else { " (FAILED)" },
                m.wall,
                m.last_submit,
                m.last_end(),
                m.overhead(),
                m.bound,
                m.wall - m.bound,
                m.ideal,
                m.preflight_floor,
                m.lag(0.5),
                m.lag(0.9),
                m.lag(1.0),
                m.per_instance(m.calls()),
                m.per_instance(m.submissions),
                m.per_instance(m.polls),
                m.per_instance(m.other_calls),
                m.polls_before_end,
                m.extra_polls_after_end,
                m.throttled,
                m.rss_mib,
                m.cpu,
                100.0 * m.cpu / m.wall.max(1e-9),
                ratio(|x| x.wall),
                ratio(|x| x.calls() as f64),
            );
        }
    }
    out
}

/// Issue 13's targets beside what each planrun run measured (MB are 10^6 bytes).
pub fn targets(rows: &[(Measured, Option<Measured>)]) -> String {
    let mut out = String::from("| API | N | target | measured | met |\n|---|---|---|---|---|\n");
    for (m, _) in rows {
        let mut row = |target: &str, measured: String, met: bool| {
            let _ = writeln!(
                out,
                "| {} | {} | {target} | {measured} (load {}→{}) | {} |",
                m.api,
                m.n,
                m.load.0,
                m.load.1,
                if met { "yes" } else { "**no**" }
            );
        };
        let ratio = m.bound_ratio();
        let share = |x: f64| 100.0 * x / m.wall.max(1e-9);
        match m.n {
            200 => row(
                "wall ≤ 1.10 × rate bound",
                format!("{:.1} s / {:.1} s = {ratio:.3}", m.wall, m.bound),
                ratio <= 1.10,
            ),
            1000 => {
                row(
                    "overhead ≤ 2% of wall",
                    format!("{:.1} s = {:.1}%", m.overhead(), share(m.overhead())),
                    share(m.overhead()) <= 2.0,
                );
                row(
                    "detection lag p90 ≤ 5 s",
                    format!("{:.2} s", m.lag(0.9)),
                    m.lag(0.9) <= 5.0,
                );
                let calls = m.per_instance(m.calls());
                row("calls/inst ≤ 1.5", format!("{calls:.2}"), calls <= 1.5);
                if m.preflight_calls > 0 {
                    let rest = m.per_instance(m.calls() - m.preflight_calls);
                    row(
                        "(the same, without issue 14's object preflight)",
                        format!("{rest:.2}"),
                        rest <= 1.5,
                    );
                }
            }
            10_000 => {
                row(
                    "wall ≤ 1.05 × rate bound",
                    format!("{:.1} s / {:.1} s = {ratio:.3}", m.wall, m.bound),
                    ratio <= 1.05,
                );
                if m.preflight_calls > 0 {
                    let checked = m.wall / m.checked_ideal().max(1e-9);
                    row(
                        "(wall ≤ 1.05 × the object preflight at the rate + the ideal bound)",
                        format!(
                            "{:.1} s / ({:.1} s + {:.1} s) = {checked:.3}",
                            m.wall, m.preflight_floor, m.ideal
                        ),
                        checked <= 1.05,
                    );
                }
                let mb = m.rss_mib * 1.048_576;
                row("peak RSS ≤ 60 MB", format!("{mb:.1} MB"), mb <= 60.0);
                row(
                    "CPU ≤ 2% of wall",
                    format!("{:.2} s = {:.2}%", m.cpu, share(m.cpu)),
                    share(m.cpu) <= 2.0,
                );
            }
            _ => {}
        }
        row(
            "zero throttling answers",
            m.throttled.to_string(),
            m.throttled == 0,
        );
    }
    out
}
