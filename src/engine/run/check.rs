//! Verifying a success: a task that reports SUCCESS makes its instance `succeeded` only once
//! its new databases and tables are seen ([`crate::engine::verify`]). The looks for them
//! share the tracking's connection slots (they are polls, interleaved with the others) and
//! each action's rate limiter in the client; a new object not listed yet is looked for again
//! a few times, further apart each time, before the instance is `unverified`.

use super::*;
use crate::engine::verify::Verdict;

/// Looks for a successful task's new objects before it is `unverified`.
const VERIFY_TRIES: u32 = 4;

impl<P: Protocol> Engine<P> {
    /// The instance's task reported success: journal that, then look for its new objects.
    pub(super) fn check_objects(&mut self, idx: usize, now: Instant) {
        if std::mem::take(&mut self.rollbacks[idx].tracking.confirm) {
            self.surveys.confirming -= 1;
        }
        self.note_state(idx, &TaskState::Succeeded, Some(100), None);
        self.verifying.push_back((now, idx, 0));
    }

    /// Sends the due verifications, at most `--concurrency` at once (their own count).
    pub(super) fn launch_verifications(&mut self, now: Instant) {
        while self.verifying_now < self.opts.concurrency.max(1) {
            let Some(pos) = self.verifying.iter().position(|(at, ..)| *at <= now) else {
                return;
            };
            let Some((_, idx, tries)) = self.verifying.remove(pos) else {
                return;
            };
            if self.state.instances[idx].status.is_final() {
                continue;
            }
            self.verifying_now += 1;
            let protocol = Arc::clone(&self.protocol);
            let region = self.rollbacks[idx].region.clone();
            let request = self.rollbacks[idx].request.clone();
            self.inflight.push(Box::pin(async move {
                let result =
                    crate::engine::verify::verify(protocol.as_ref(), region.as_deref(), &request)
                        .await;
                Done::Verified {
                    idx,
                    tries: tries + 1,
                    result,
                }
            }));
        }
    }

    pub(super) fn verified(
        &mut self,
        idx: usize,
        tries: u32,
        result: Result<Verdict, Error>,
    ) -> std::io::Result<Option<Ending>> {
        self.verifying_now -= 1;
        let missing = match result {
            // API 2.0 cannot list objects: its success is the task's word (documented).
            Ok(Verdict::Seen | Verdict::Unavailable) => {
                self.finish(idx, TaskState::Succeeded, None);
                return Ok(None);
            }
            Ok(Verdict::Missing(missing)) => missing,
            Err(e) if e.class() == ErrorClass::StopRun => return Ok(Some(Ending::Stopped(e))),
            Err(e) => vec![format!("(nothing could be listed: {e})")],
        };
        let now = Instant::now();
        if tries < VERIFY_TRIES {
            let instance = self.state.instances[idx].id.clone();
            self.emit(Event::PollFailed {
                instance,
                reason: format!(
                    "its task reported success; not seen yet: {}",
                    missing.join(", ")
                ),
            });
            let delay = self
                .opts
                .cadence
                .min
                .saturating_mul(2u32.saturating_pow(tries - 1))
                .min(self.opts.cadence.max);
            self.verifying.push_back((now + delay, idx, tries));
            return Ok(None);
        }
        self.flush()?;
        let instance = self.state.instances[idx].id.clone();
        let record = Record::Unverified {
            instance: instance.clone(),
            missing,
            at: Utc::now(),
        };
        self.buffer(record);
        let message = self.state.instances[idx].error.clone();
        self.emit(Event::Finished {
            instance,
            status: Status::Unverified,
            message,
        });
        Ok(None)
    }
}
