//! The run's side of the preflight overlapping it ([`crate::engine::gate`]): each verdict
//! either queues what passed of a prepared call or holds an instance back, journaled as
//! refused by the preflight so that the summary, `status` and the report say it was never
//! submitted.

use super::*;
use crate::engine::gate::{Gate, Verdict};

/// A refusal that no call carried: the instance was held back by the preflight before any
/// submission (calls are numbered from 1).
pub const NO_CALL: u64 = 0;

impl<P: Protocol> Engine<P> {
    /// Whether instances still wait for the preflight's verdict (and it may still send one).
    pub(super) fn awaits_verdicts(&self) -> bool {
        self.gate
            .as_ref()
            .is_some_and(|g| !g.closed && g.waiting() > 0)
    }

    /// The gate's next verdict (never called without a gate: see `awaits_verdicts`).
    pub(super) async fn verdict(gate: Option<&mut Gate>) -> Option<Verdict> {
        match gate {
            Some(gate) => gate.next().await,
            None => std::future::pending().await,
        }
    }

    /// Takes in one verdict; `None`: the preflight ended, and what it did not pass stays
    /// pending (never submitted; a later apply checks it again).
    pub(super) fn judged(&mut self, verdict: Option<Verdict>) -> std::io::Result<()> {
        let Some(verdict) = verdict else {
            return Ok(());
        };
        let now = Instant::now();
        match verdict {
            Verdict::Passed(ids) => {
                for id in ids {
                    if let Some(idx) = self.position(&id) {
                        self.decide(idx, true, now);
                    }
                }
            }
            Verdict::Held {
                instance,
                code,
                message,
            } => {
                let Some(idx) = self.position(&instance) else {
                    return Ok(());
                };
                self.rejected(NO_CALL, vec![instance], Some(code), message, None)?;
                self.decide(idx, false, now);
            }
        }
        Ok(())
    }

    fn decide(&mut self, idx: usize, passed: bool, now: Instant) {
        let call = self.submission_of[idx];
        let ready = self
            .gate
            .as_mut()
            .and_then(|g| g.decided(idx, call, passed));
        if let Some(ready) = ready {
            self.enqueue(&ready, now, 0, true);
        }
    }

    /// The run position of instance `id`, if it waits for its verdict.
    fn position(&mut self, id: &str) -> Option<usize> {
        self.gate.as_mut().and_then(|g| g.take(id))
    }
}
