//! Submissions whose outcome is unknown: look for their tasks before anything is resent.

use super::*;
use crate::engine::reconcile::{Finding, Sent};

impl<P: Protocol> Engine<P> {
    /// What reconciliation needs to know of instance `i`'s submission among `batch`.
    pub(super) fn sent(&self, i: usize, batch: &[usize], at: chrono::DateTime<Utc>) -> Sent {
        Sent {
            batch: self.ids(batch),
            spec: self.rollbacks[i].request.spec.clone(),
            attempt: at,
            offset: self.opts.offset,
            failed_before: self.state.instances[i].failed_before,
        }
    }

    /// What the rule of evidence needs of instance `i`'s accepted submission: its call and
    /// when it was attempted.
    pub(super) fn tracking(&self, i: usize) -> Sent {
        let spec = self.rollbacks[i].request.spec.clone();
        Sent::accepted(&self.state, i, spec, self.opts.offset)
            .expect("every index of the run is one of its instances")
    }

    /// Looks for the tasks of an in-doubt submission after `settle`; `round` counts the
    /// submissions of these instances that ended in doubt in this run; `empty` counts the
    /// polls in a row that found nothing (two, `settle` apart, before anything is resent: a
    /// new task may take a moment to be listed).
    pub(super) fn reconcile(&mut self, batch: u64, ids: Vec<usize>, settle: Duration, round: u32) {
        self.reconcile_poll(batch, ids, settle, round, 0);
    }

    fn reconcile_poll(
        &mut self,
        batch: u64,
        ids: Vec<usize>,
        settle: Duration,
        round: u32,
        empty: u8,
    ) {
        let protocol = Arc::clone(&self.protocol);
        let work: Vec<(usize, String, Option<String>, Sent)> = ids
            .iter()
            .map(|&i| {
                let s = &self.state.instances[i];
                let at = s.in_doubt.map_or_else(Utc::now, |(_, at)| at);
                (
                    i,
                    s.id.clone(),
                    self.rollbacks[i].region.clone(),
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
                empty,
                results,
            }
        }));
    }

    /// Journals an adoption, with its proof, and starts tracking the task.
    pub(super) fn adopt(
        &mut self,
        i: usize,
        batch: u64,
        job: JobHandle,
        proof: String,
    ) -> std::io::Result<()> {
        let instance = self.state.instances[i].id.clone();
        self.write(Record::Adopted {
            instance: instance.clone(),
            batch,
            job: job.clone(),
            unverified: None,
            proof: Some(proof),
            at: Utc::now(),
        })?;
        self.emit(Event::Adopted { instance, job });
        self.polls.push(Instant::now(), i, Kind::Check);
        Ok(())
    }

    /// Journals that nothing proves what became of instance `i`: it ends `unknown`, with the
    /// evidence and how to check by hand, and is never sent again blind.
    pub(super) fn unproven(&mut self, i: usize, evidence: &str) {
        if std::mem::take(&mut self.rollbacks[i].tracking.confirm) {
            self.surveys.confirming -= 1;
        }
        let instance = self.state.instances[i].id.clone();
        let evidence = format!("{evidence}; {}", reconcile::check_hint(&instance));
        self.buffer(Record::Unproven {
            instance: instance.clone(),
            evidence: evidence.clone(),
            at: Utc::now(),
        });
        self.emit(Event::Finished {
            instance,
            status: Status::Unknown,
            message: Some(evidence),
        });
    }

    pub(super) fn reconciled(
        &mut self,
        batch: u64,
        ids: Vec<usize>,
        (round, empty): (u32, u8),
        results: Vec<(usize, Result<Finding, Error>)>,
    ) -> std::io::Result<Option<Ending>> {
        let mut unresolved = false;
        for (i, result) in results {
            let result = match result {
                // An instance the API says (with a code documented to mean it) does not
                // exist has no task: the resubmission will be refused with the API's
                // message. Any other "not found" (`ResourceNotFound`: a resource, which one
                // it does not say) proves nothing and is handled as an error below.
                Err(e) if e.is_instance_missing() => Ok(Finding::Nothing),
                other => other,
            };
            match result {
                Ok(Finding::Ours { job, proof }) => self.adopt(i, batch, job, proof)?,
                Ok(Finding::Nothing) => {}
                Ok(Finding::Ambiguous { evidence }) => {
                    self.flush()?;
                    self.unproven(i, &evidence);
                }
                Err(e) if e.class() == ErrorClass::StopRun => return Ok(Some(Ending::Stopped(e))),
                // Could not poll, for now: never resubmit blind. Poll again later.
                Err(e) if transient(&e) => unresolved = true,
                // Polling will never work: never resubmit blind, and do not poll forever.
                Err(e) => {
                    self.flush()?;
                    self.unproven(
                        i,
                        &format!(
                            "cannot tell whether the submission was accepted: its tasks cannot be listed ({e}); not resubmitted"
                        ),
                    );
                }
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
            self.reconcile_poll(batch, still, self.opts.settle, round, empty);
            return Ok(None);
        }
        if still.is_empty() {
            return Ok(None);
        }
        if empty == 0 {
            // Nothing listed yet: poll once more before concluding nothing was made.
            self.reconcile_poll(batch, still, self.opts.settle, round, 1);
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
        let delay = retry_delay(self.opts.retry_base, round);
        self.enqueue(&still, Instant::now() + delay, round + 1, false);
        Ok(None)
    }
}
