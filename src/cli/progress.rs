//! Drawing the engine's events: indicatif bars on a terminal; timestamped lines with a
//! heartbeat every 30 s otherwise (CI logs).

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

use super::foreign;
use crate::engine::protocol::TaskState;
use crate::engine::run::Event;
use crate::engine::state::{RunState, Status};

const HEARTBEAT: Duration = Duration::from_secs(30);

/// Each instance's status as the events (and, for a resumed run, the journal) tell it.
#[derive(Debug, Default)]
pub struct Tally {
    status: HashMap<String, Status>,
    /// The latest look that could not see an instance's task, and each instance's latest
    /// such reason (a line is printed when it changes, the heartbeat repeats the latest).
    last_error: Option<String>,
    unseen: HashMap<String, String>,
}

impl Tally {
    /// What an earlier run already did: a resumed run counts its finished instances as
    /// finished from the first line on.
    pub fn of(state: &RunState) -> Self {
        Self {
            status: state
                .instances
                .iter()
                .filter(|s| s.status != Status::Pending)
                .map(|s| (s.id.clone(), s.status))
                .collect(),
            ..Self::default()
        }
    }
    fn set(&mut self, instance: &str, status: Status) {
        self.status.insert(instance.to_owned(), status);
    }
    fn count(&self, status: Status) -> usize {
        self.status.values().filter(|s| **s == status).count()
    }
    fn finished(&self) -> usize {
        self.status.values().filter(|s| s.is_final()).count()
    }
    fn line(&self, total: usize) -> String {
        let mut line = format!(
            "{} succeeded, {} failed, {} rejected, {} running, {} submitted, {} pending",
            self.count(Status::Succeeded),
            self.count(Status::Failed),
            self.count(Status::Rejected),
            self.count(Status::Running),
            self.count(Status::Submitted),
            total.saturating_sub(self.status.len()) + self.count(Status::Pending)
        );
        for status in [
            Status::Stopping,
            Status::Cancelled,
            Status::Unknown,
            Status::Unverified,
        ] {
            let n = self.count(status);
            if n > 0 {
                line.push_str(&format!(", {n} {}", status.name()));
            }
        }
        if let Some(error) = &self.last_error {
            line.push_str(&format!("; last error: {error}"));
        }
        line
    }
}

/// Text of an event for a log line; `None` for events not worth a line.
fn describe(event: &Event, tally: &mut Tally) -> Option<String> {
    Some(match event {
        Event::Submitting { batch, instances } => {
            for i in instances {
                tally.set(i, Status::Submitted);
            }
            format!("submitting call #{batch}: {}", instances.join(", "))
        }
        Event::Accepted {
            batch,
            instances,
            job,
        } => format!(
            "call #{batch} accepted: job {job} ({} instances)",
            instances.len()
        ),
        Event::Split { batch, reason } => format!(
            "call #{batch} refused ({reason}); splitting it to find the instances concerned"
        ),
        Event::Unknown { batch, reason } => format!(
            "call #{batch}: outcome unknown ({reason}); looking for its job before anything is resent"
        ),
        Event::Adopted { instance, job } => {
            tally.set(instance, Status::Submitted);
            format!("{instance}: found its job {job} (adopted, not resubmitted)")
        }
        Event::Resubmitting { instances } => {
            for i in instances {
                tally.set(i, Status::Pending);
            }
            format!(
                "no job found for {}: submitting again",
                instances.join(", ")
            )
        }
        Event::Busy { instance, retry_in } => format!(
            "{instance}: another task is running; retrying in {:.1}s",
            retry_in.as_secs_f64()
        ),
        Event::Retrying {
            instances,
            reason,
            retry_in,
        } => {
            format!(
                "{}: {reason}; retrying in {:.1}s",
                instances.join(", "),
                retry_in.as_secs_f64()
            )
        }
        Event::GaveUp { instances, reason } => {
            for i in instances {
                tally.set(i, Status::Pending);
            }
            format!(
                "{}: {reason}; gave up for this run (still pending: apply again to submit)",
                instances.join(", ")
            )
        }
        Event::LookFailed { instance, reason } => {
            tally.last_error = Some(format!("{instance}: {reason}"));
            let previous = tally.unseen.insert(instance.clone(), reason.clone());
            if previous.as_ref() == Some(reason) {
                return None;
            }
            format!("{instance}: cannot see its task: {reason}")
        }
        Event::Rejected { instance, reason } => {
            tally.set(instance, Status::Rejected);
            format!("{instance}: rejected: {reason}")
        }
        Event::State {
            instance,
            state,
            progress,
            detail,
        } => {
            if *state == TaskState::Running {
                tally.set(instance, Status::Running);
            }
            let detail = detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default();
            match progress {
                Some(p) => format!("{instance}: {state} {p}%{detail}"),
                None => format!("{instance}: {state}{detail}"),
            }
        }
        Event::Finished {
            instance,
            status,
            message,
        } => {
            tally.set(instance, *status);
            match message {
                Some(m) => format!("{instance}: {} ({m})", status.name()),
                None => format!("{instance}: {}", status.name()),
            }
        }
    })
}

/// Plain lines on stderr, one per event, and a heartbeat. A closed stderr only loses the lines.
pub async fn plain(mut events: mpsc::UnboundedReceiver<Event>, total: usize, mut tally: Tally) {
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.tick().await;
    if tally.finished() > 0 {
        errln!("{} resuming: {}", stamp(), tally.line(total));
    }
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                if let Some(line) = describe(&event, &mut tally) {
                    errln!("{} {}", stamp(), foreign::block(&line, "    "));
                }
            }
            _ = beat.tick() => errln!("{} still working: {}", stamp(), tally.line(total)),
        }
    }
}

fn stamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Bars on a terminal: one overall bar with counts and ETA, a line per running instance
/// (as many as fit on the screen, then a "+N more" line).
pub async fn bars(events: mpsc::UnboundedReceiver<Event>, total: usize, tally: Tally) {
    let rows = terminal_rows().saturating_sub(5).max(1);
    draw(ProgressDrawTarget::stderr(), rows, events, total, tally).await;
}

/// [`bars`] on any target, with room for `rows` instance lines (tests draw on a recorder).
async fn draw(
    target: ProgressDrawTarget,
    rows: usize,
    mut events: mpsc::UnboundedReceiver<Event>,
    total: usize,
    mut tally: Tally,
) {
    let multi = MultiProgress::with_draw_target(target);
    let overall = multi.add(ProgressBar::new(total as u64));
    overall.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30.green/dim} {pos}/{len} done  {msg}{eta_if_known}",
        )
        .map(|style| style.with_key("eta_if_known", eta_if_known))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // A resumed run starts where the journal left it; the ETA learns from this run only.
    overall.set_position(tally.finished() as u64);
    overall.reset_eta();
    overall.enable_steady_tick(Duration::from_millis(200));
    let mut lines: HashMap<String, ProgressBar> = HashMap::new();
    // Instances with a state but no line of their own (more than fit).
    let mut unshown: HashSet<String> = HashSet::new();
    let more = multi.add(ProgressBar::new(0));
    more.set_style(
        ProgressStyle::with_template("    {msg}").unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    while let Some(event) = events.recv().await {
        let text = describe(&event, &mut tally).map(|t| foreign::block(&t, "    "));
        match &event {
            Event::State {
                instance,
                state,
                progress,
                detail,
            } => {
                if !lines.contains_key(instance) && lines.len() < rows {
                    unshown.remove(instance);
                    let bar = multi.insert_before(&more, ProgressBar::new(100));
                    bar.set_style(
                        ProgressStyle::with_template("    {msg:40} {bar:20.cyan/dim} {pos:>3}%")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    lines.insert(instance.clone(), bar);
                }
                match lines.get(instance) {
                    Some(bar) => {
                        bar.set_position(u64::from(progress.unwrap_or(0)));
                        // Always the latest state: "waiting" must not stay beside 30%.
                        let shown = detail.as_deref().unwrap_or(state.name());
                        bar.set_message(format!("{instance} {}", foreign::one_line(shown, 60)));
                    }
                    None => {
                        unshown.insert(instance.clone());
                    }
                }
            }
            Event::Finished { instance, .. } | Event::Rejected { instance, .. } => {
                unshown.remove(instance);
                if let Some(bar) = lines.remove(instance) {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                overall.set_position(tally.finished() as u64);
                if let Some(t) = &text {
                    let _ = multi.println(t);
                }
            }
            Event::Split { .. }
            | Event::Unknown { .. }
            | Event::Adopted { .. }
            | Event::Busy { .. }
            | Event::GaveUp { .. }
            | Event::Retrying { .. } => {
                if let Some(t) = &text {
                    let _ = multi.println(t);
                }
            }
            _ => {}
        }
        more.set_message(if unshown.is_empty() {
            String::new()
        } else {
            format!("+{} more", unshown.len())
        });
        overall.set_message(format!(
            "✓ {}  ✗ {}  ▶ {}",
            tally.count(Status::Succeeded),
            tally.count(Status::Failed) + tally.count(Status::Rejected),
            tally.count(Status::Running)
        ));
    }
    for bar in lines.values() {
        bar.finish_and_clear();
    }
    more.finish_and_clear();
    overall.finish_and_clear();
    let _ = std::io::stderr().flush();
}

/// `  ETA 3m 10s` once this run has finished something to estimate from; nothing before (an
/// ETA of "0s" at 0/N would be a lie).
fn eta_if_known(state: &indicatif::ProgressState, out: &mut dyn std::fmt::Write) {
    let eta = state.eta();
    if state.pos() < state.len().unwrap_or(u64::MAX) && state.per_sec() > 0.0 && !eta.is_zero() {
        let _ = write!(out, "  ETA {}", indicatif::HumanDuration(eta));
    }
}

fn terminal_rows() -> usize {
    std::env::var("LINES")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(24)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::journal::Record;

    #[test]
    fn a_resumed_run_counts_what_earlier_runs_finished() {
        let at = chrono::DateTime::from_timestamp(1_790_000_000, 0).unwrap_or_default();
        let ids = ["cdb-aaaaaaaa", "cdb-bbbbbbbb", "cdb-cccccccc"];
        let finished = |i: &str| Record::Finished {
            instance: i.into(),
            status: TaskState::Succeeded,
            message: None,
            at,
        };
        let state = RunState::replay(ids, &[finished(ids[0]), finished(ids[1])]);
        let tally = Tally::of(&state);
        assert_eq!(tally.finished(), 2);
        assert_eq!(
            tally.line(3),
            "2 succeeded, 0 failed, 0 rejected, 0 running, 0 submitted, 1 pending"
        );
    }

    #[test]
    fn a_task_that_cannot_be_seen_is_a_line_once_and_the_heartbeat_repeats_its_error() {
        let mut tally = Tally::default();
        let failed = |reason: &str| Event::LookFailed {
            instance: "cdb-aaaaaaaa".into(),
            reason: reason.into(),
        };
        let first = describe(&failed("InternalError.DatabaseAccessError"), &mut tally);
        assert_eq!(
            first.as_deref(),
            Some("cdb-aaaaaaaa: cannot see its task: InternalError.DatabaseAccessError")
        );
        // The same reason again: no new line, but the heartbeat says it.
        assert_eq!(
            describe(&failed("InternalError.DatabaseAccessError"), &mut tally),
            None
        );
        assert!(
            tally
                .line(1)
                .ends_with("; last error: cdb-aaaaaaaa: InternalError.DatabaseAccessError"),
            "{}",
            tally.line(1)
        );
    }

    #[test]
    fn a_self_hosted_restore_shows_its_phase_and_bytes() {
        let mut tally = Tally::default();
        let line = describe(
            &Event::State {
                instance: "shop-1".into(),
                state: TaskState::Running,
                progress: Some(80),
                detail: Some("replaying binlog, 2048 bytes".into()),
            },
            &mut tally,
        );
        assert_eq!(
            line.as_deref(),
            Some("shop-1: running 80% (replaying binlog, 2048 bytes)")
        );
    }

    #[test]
    fn a_rejection_is_a_line_and_a_count() {
        let mut tally = Tally::default();
        let line = describe(
            &Event::Rejected {
                instance: "cdb-aaaaaaaa".into(),
                reason: "InvalidParameter: \u{1b}[2Jfine".into(),
            },
            &mut tally,
        )
        .unwrap_or_default();
        assert!(line.starts_with("cdb-aaaaaaaa: rejected: "), "{line}");
        assert_eq!(tally.count(Status::Rejected), 1);
    }

    /// A terminal that keeps everything drawn on it, one entry per write.
    #[derive(Debug, Default, Clone)]
    struct Recorder(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl Recorder {
        fn writes(&self) -> Vec<String> {
            self.0.lock().map(|w| w.clone()).unwrap_or_default()
        }
        fn push(&self, s: &str) -> std::io::Result<()> {
            if let Ok(mut w) = self.0.lock() {
                w.push(s.to_owned());
            }
            Ok(())
        }
    }

    impl indicatif::TermLike for Recorder {
        fn width(&self) -> u16 {
            120
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, s: &str) -> std::io::Result<()> {
            self.push(s)
        }
        fn write_str(&self, s: &str) -> std::io::Result<()> {
            self.push(s)
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn state(instance: &str, state: TaskState, progress: u8) -> Event {
        Event::State {
            instance: instance.into(),
            state,
            progress: Some(progress),
            detail: None,
        }
    }

    /// Draws `events` with room for `rows` instance lines; everything written, in order.
    async fn drawn(rows: usize, events: Vec<Event>) -> Vec<String> {
        let term = Recorder::default();
        let target = ProgressDrawTarget::term_like(Box::new(term.clone()));
        let (tx, rx) = mpsc::unbounded_channel();
        for e in events {
            let _ = tx.send(e);
        }
        drop(tx);
        draw(target, rows, rx, 3, Tally::default()).await;
        term.writes()
    }

    #[tokio::test]
    async fn an_instance_line_shows_its_latest_state_and_no_eta_before_anything_ended() {
        let writes = drawn(
            4,
            vec![
                state("cdb-aaaaaaaa", TaskState::Waiting, 0),
                state("cdb-aaaaaaaa", TaskState::Running, 30),
            ],
        )
        .await;
        let last = writes
            .iter()
            .rev()
            .find(|w| w.contains("cdb-aaaaaaaa"))
            .unwrap_or_else(|| panic!("never drawn: {writes:?}"));
        assert!(last.contains("cdb-aaaaaaaa running"), "{last:?}");
        assert!(last.contains(" 30%"), "{last:?}");
        assert!(!writes.iter().any(|w| w.contains("ETA")), "{writes:?}");
    }

    #[tokio::test]
    async fn instances_beyond_the_screen_are_counted_as_more() {
        let writes = drawn(
            1,
            vec![
                state("cdb-aaaaaaaa", TaskState::Running, 10),
                state("cdb-bbbbbbbb", TaskState::Running, 20),
                state("cdb-cccccccc", TaskState::Running, 30),
            ],
        )
        .await;
        assert!(writes.iter().any(|w| w.contains("+2 more")), "{writes:?}");
        assert!(
            !writes.iter().any(|w| w.contains("cdb-cccccccc")),
            "{writes:?}"
        );
    }
}
