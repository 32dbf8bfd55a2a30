//! Submissions whose outcome is unknown: look for their tasks before anything is resent.

use super::*;
use crate::engine::reconcile::{Found, Sent};

impl<P: Protocol> Engine<P> {
    /// What reconciliation needs to know of instance `i`'s submission among `batch`.
    pub(super) fn sent(&self, i: usize, batch: &[usize], at: chrono::DateTime<Utc>) -> Sent {
        Sent {
            batch: self.ids(batch),
            spec: self.slots[i].request.spec.clone(),
            attempt: at,
            offset: self.opts.offset,
        }
    }

    /// Looks for the tasks of an in-doubt submission after `settle`; `round` counts the
    /// submissions of these instances that ended in doubt in this run.
    pub(super) fn reconcile(&mut self, batch: u64, ids: Vec<usize>, settle: Duration, round: u32) {
        let protocol = Arc::clone(&self.protocol);
        let work: Vec<(usize, String, Option<String>, Sent)> = ids
            .iter()
            .map(|&i| {
                let s = &self.state.instances[i];
                let at = s.in_doubt.map_or_else(Utc::now, |(_, at)| at);
                (
                    i,
                    s.id.clone(),
                    self.slots[i].region.clone(),
                    self.sent(i, &ids, at),
                )
            })
            .collect();
        self.inflight.push(Box::pin(async move {
            tokio::time::sleep(settle).await;
            let mut results = Vec::with_capacity(work.len());
            for (i, id, region, sent) in work {
                results.push((
                    i,
                    protocol.find_submission(region.as_deref(), &id, sent).await,
                ));
            }
            Done::Reconciled {
                batch,
                ids,
                round,
                results,
            }
        }));
    }

    /// Journals an adoption (verified or not) and starts tracking the task.
    pub(super) fn adopt(
        &mut self,
        i: usize,
        batch: u64,
        job: JobHandle,
        unverified: Option<String>,
    ) -> std::io::Result<()> {
        let instance = self.state.instances[i].id.clone();
        self.write(Record::Adopted {
            instance: instance.clone(),
            batch,
            job: job.clone(),
            unverified,
            at: Utc::now(),
        })?;
        self.emit(Event::Adopted { instance, job });
        self.polls.push(Instant::now(), i, Kind::Check);
        Ok(())
    }

    pub(super) fn reconciled(
        &mut self,
        batch: u64,
        ids: Vec<usize>,
        round: u32,
        results: Vec<(usize, Result<Found, Error>)>,
    ) -> std::io::Result<Option<Ending>> {
        let mut unresolved = false;
        for (i, result) in results {
            let result = match result {
                // An instance that does not exist has no task: the resubmission will be
                // refused with the API's message.
                Err(e) if e.is_instance_missing() => Ok(Found::Nothing),
                other => other,
            };
            match result {
                Ok(Found::Verified(job)) => self.adopt(i, batch, job, None)?,
                Ok(Found::Unverified { job, why }) => self.adopt(i, batch, job, Some(why))?,
                Ok(Found::Nothing) => {}
                Err(e) if e.class() == ErrorClass::StopRun => return Ok(Some(Ending::Stopped(e))),
                // Could not look, for now: never resubmit blind. Look again later.
                Err(e) if transient(&e) => unresolved = true,
                // Looking will never work: never resubmit blind, and do not look forever.
                // The instance fails with the reason and the way to check by hand.
                Err(e) => self.finish(
                    i,
                    "failed",
                    Some(format!(
                        "cannot tell whether the submission was accepted ({e}); not resubmitted: check with `planrun jobs {}`",
                        self.state.instances[i].id
                    )),
                ),
            }
        }
        let still: Vec<usize> = ids
            .iter()
            .copied()
            .filter(|&i| {
                let s = &self.state.instances[i];
                !s.status.is_final() && s.in_doubt.is_some_and(|(b, _)| b == batch)
            })
            .collect();
        if unresolved {
            self.reconcile(batch, still, self.opts.settle, round);
            return Ok(None);
        }
        if still.is_empty() {
            return Ok(None);
        }
        if round >= self.opts.submit_retries {
            // Every submission ended in doubt and none left a task: stop trying for this
            // run, like a refusal worth another try that outlasted its retries.
            let reason = "every submission ended in doubt and left no task".to_owned();
            self.write(Record::Abandoned {
                batch,
                reason: format!("gave up for this run: {reason}"),
                at: Utc::now(),
            })?;
            self.emit(Event::GaveUp {
                instances: self.ids(&still),
                reason,
            });
            return Ok(None);
        }
        self.write(Record::Abandoned {
            batch,
            reason: "no task found for the submission".into(),
            at: Utc::now(),
        })?;
        self.emit(Event::Resubmitting {
            instances: self.ids(&still),
        });
        self.enqueue(&still, Instant::now(), round + 1, false);
        Ok(None)
    }
}
