//! Submissions whose outcome is unknown: look for their tasks before anything is resent.

use super::*;

impl<P: Protocol> Engine<P> {
    /// Looks for the tasks of an in-doubt submission after `settle`.
    pub(super) fn reconcile(&mut self, batch: u64, ids: Vec<usize>, settle: Duration) {
        let protocol = Arc::clone(&self.protocol);
        let offset = self.opts.offset;
        let work: Vec<Lookup> = ids
            .iter()
            .map(|&i| {
                let s = &self.state.instances[i];
                let at = s.in_doubt.map_or_else(Utc::now, |(_, at)| at);
                (
                    i,
                    s.id.clone(),
                    self.regions[i].clone(),
                    self.requests[i].clone(),
                    at,
                )
            })
            .collect();
        self.inflight.push(Box::pin(async move {
            tokio::time::sleep(settle).await;
            let mut results = Vec::with_capacity(work.len());
            for (i, id, region, request, at) in work {
                let found = protocol.tasks(region.as_deref(), &id).await.map(|tasks| {
                    reconcile::find(&tasks, &request.spec, at, offset).and_then(|t| t.job.clone())
                });
                results.push((i, found));
            }
            Done::Reconciled {
                batch,
                ids,
                results,
            }
        }));
    }

    pub(super) fn reconciled(
        &mut self,
        batch: u64,
        ids: Vec<usize>,
        results: Vec<(usize, Result<Option<JobHandle>, Error>)>,
    ) -> std::io::Result<Option<Ending>> {
        let mut unresolved = false;
        for (i, result) in results {
            let result = match result {
                // An instance that does not exist has no task: the resubmission will be
                // refused with the API's message.
                Err(e) if e.is_instance_missing() => Ok(None),
                other => other,
            };
            match result {
                Ok(Some(job)) => {
                    let instance = self.state.instances[i].id.clone();
                    self.write(Record::Adopted {
                        instance: instance.clone(),
                        batch,
                        job: job.clone(),
                        at: Utc::now(),
                    })?;
                    self.emit(Event::Adopted { instance, job });
                    self.polls.push(Instant::now(), i, Kind::Check);
                }
                Ok(None) => {}
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
            self.reconcile(batch, still, self.opts.settle);
            return Ok(None);
        }
        if !still.is_empty() {
            self.write(Record::Abandoned {
                batch,
                reason: "no task found for the submission".into(),
                at: Utc::now(),
            })?;
            self.emit(Event::Resubmitting {
                instances: self.ids(&still),
            });
            self.enqueue(&still, Instant::now(), 0, false);
        }
        Ok(None)
    }
}
