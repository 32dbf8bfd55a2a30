//! Drawing the engine's events: indicatif bars on a terminal; timestamped lines with a
//! heartbeat every 30 s otherwise (CI logs).

use std::collections::HashMap;
use std::io::Write as _;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::sync::mpsc;

use crate::engine::run::Event;
use crate::engine::state::Status;

const HEARTBEAT: Duration = Duration::from_secs(30);

/// Counts by phase, kept from events.
#[derive(Debug, Default)]
struct Tally {
    phase: HashMap<String, &'static str>,
}

impl Tally {
    fn set(&mut self, instance: &str, phase: &'static str) {
        self.phase.insert(instance.to_owned(), phase);
    }
    fn count(&self, phase: &str) -> usize {
        self.phase.values().filter(|p| **p == phase).count()
    }
    fn line(&self, total: usize) -> String {
        format!(
            "{} succeeded, {} failed, {} rejected, {} running, {} submitted, {} pending",
            self.count("succeeded"),
            self.count("failed"),
            self.count("rejected"),
            self.count("running"),
            self.count("submitted"),
            total.saturating_sub(self.phase.len()) + self.count("pending")
        )
    }
}

fn status_phase(status: Status) -> &'static str {
    match status {
        Status::Succeeded => "succeeded",
        Status::Failed => "failed",
        Status::Rejected => "rejected",
        Status::Running => "running",
        Status::Submitted => "submitted",
        Status::Pending => "pending",
        Status::TimedOut => "timed_out",
        Status::Stopping => "stopping",
        Status::Cancelled => "cancelled",
    }
}

/// Text of an event for a log line; `None` for events not worth a line.
fn describe(event: &Event, tally: &mut Tally) -> Option<String> {
    Some(match event {
        Event::Submitting { batch, instances } => {
            for i in instances {
                tally.set(i, "submitted");
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
            format!("{instance}: found its job {job} (adopted, not resubmitted)")
        }
        Event::Resubmitting { instances } => {
            for i in instances {
                tally.set(i, "pending");
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
                tally.set(i, "pending");
            }
            format!(
                "{}: {reason}; gave up for this run (still pending: apply again to submit)",
                instances.join(", ")
            )
        }
        Event::Rejected { instance, reason } => {
            tally.set(instance, "rejected");
            format!("{instance}: rejected: {reason}")
        }
        Event::State {
            instance,
            state,
            progress,
        } => {
            if state == "running" {
                tally.set(instance, "running");
            }
            match progress {
                Some(p) => format!("{instance}: {state} {p}%"),
                None => format!("{instance}: {state}"),
            }
        }
        Event::Finished {
            instance,
            status,
            message,
        } => {
            tally.set(instance, status_phase(*status));
            match message {
                Some(m) => format!("{instance}: {} ({m})", status.name()),
                None => format!("{instance}: {}", status.name()),
            }
        }
    })
}

/// Plain lines on stderr, one per event, and a heartbeat.
pub async fn plain(mut events: mpsc::UnboundedReceiver<Event>, total: usize) {
    let mut tally = Tally::default();
    let mut beat = tokio::time::interval(HEARTBEAT);
    beat.tick().await;
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                if let Some(line) = describe(&event, &mut tally) {
                    eprintln!("{} {line}", stamp());
                }
            }
            _ = beat.tick() => eprintln!("{} still working: {}", stamp(), tally.line(total)),
        }
    }
}

fn stamp() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Bars on a terminal: one overall bar with counts and ETA, a line per running instance
/// (as many as fit on the screen).
pub async fn bars(mut events: mpsc::UnboundedReceiver<Event>, total: usize) {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let overall = multi.add(ProgressBar::new(total as u64));
    overall.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30.green/dim} {pos}/{len} done  {msg}  ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    overall.enable_steady_tick(Duration::from_millis(200));
    let rows = terminal_rows().saturating_sub(4).max(1);
    let mut lines: HashMap<String, ProgressBar> = HashMap::new();
    let mut tally = Tally::default();
    while let Some(event) = events.recv().await {
        let text = describe(&event, &mut tally);
        match &event {
            Event::State {
                instance,
                state,
                progress,
            } => {
                if !lines.contains_key(instance) && lines.len() < rows {
                    let bar = multi.add(ProgressBar::new(100));
                    bar.set_style(
                        ProgressStyle::with_template("    {msg:24} {bar:20.cyan/dim} {pos:>3}%")
                            .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                    bar.set_message(instance.clone());
                    lines.insert(instance.clone(), bar);
                }
                if let Some(bar) = lines.get(instance) {
                    bar.set_position(u64::from(progress.unwrap_or(0)));
                    if state != "running" {
                        bar.set_message(format!("{instance} {state}"));
                    }
                }
            }
            Event::Finished { instance, .. } | Event::Rejected { instance, .. } => {
                if let Some(bar) = lines.remove(instance) {
                    bar.finish_and_clear();
                    multi.remove(&bar);
                }
                overall.inc(1);
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
        overall.set_message(format!(
            "✓ {}  ✗ {}  ▶ {}",
            tally.count("succeeded"),
            tally.count("failed") + tally.count("rejected"),
            tally.count("running")
        ));
    }
    for bar in lines.values() {
        bar.finish_and_clear();
    }
    overall.finish_and_clear();
    let _ = std::io::stderr().flush();
}

fn terminal_rows() -> usize {
    std::env::var("LINES")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(24)
}
