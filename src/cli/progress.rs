//! Drawing the engine's events: indicatif bars on a terminal; timestamped lines with a
//! heartbeat every 30 s otherwise (CI logs).

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

use crate::engine::run::Event;
use crate::render::events::{Tally, describe};
use crate::render::foreign;

const HEARTBEAT: Duration = Duration::from_secs(30);

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
        overall.set_message(tally.marks());
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
    use crate::engine::protocol::TaskState;

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
