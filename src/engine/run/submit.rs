//! Submitting: calls within the concurrency bound, each intent journaled first; what the
//! API answered (accepted, refused, unknown, busy) and what follows from it.

use super::*;

impl<P: Protocol> Engine<P> {
    pub(super) fn launch_submissions(&mut self, now: Instant) -> std::io::Result<()> {
        while self.submitting < self.opts.concurrency {
            let Some(pos) = self.queue.iter().position(|j| j.not_before <= now) else {
                break;
            };
            let Some(job) = self.queue.remove(pos) else {
                break;
            };
            let batch = self.state.next_batch;
            let instances = self.ids(&job.ids);
            // Write-ahead: the intent is on disk before the request can leave.
            self.write(Record::Intent {
                batch,
                instances: instances.clone(),
                at: Utc::now(),
            })?;
            self.emit(Event::Submitting { batch, instances });
            let protocol = Arc::clone(&self.protocol);
            let requests: Vec<InstanceRollback> = job
                .ids
                .iter()
                .map(|&i| self.rollbacks[i].request.clone())
                .collect();
            self.submitting += 1;
            self.inflight.push(Box::pin(async move {
                let result = protocol.submit(job.region.as_deref(), &requests).await;
                Done::Submitted { batch, job, result }
            }));
        }
        Ok(())
    }

    /// A busy answer to submission `batch` of a single instance ("a task is running"). That
    /// is no proof that the running task is this plan's: the instance waits for it to end,
    /// then is submitted again; after `busy_wait`, it fails naming what runs there.
    pub(super) fn wait_busy(&mut self, batch: u64, job: Pending) {
        let now = Instant::now();
        let since = job.busy_since.unwrap_or(now);
        let waited = now - since;
        let idx = job.ids[0];
        if waited < self.opts.busy_wait {
            let delay = (waited / 2).clamp(self.opts.cadence.min, self.opts.cadence.max);
            self.emit(Event::Busy {
                instance: self.state.instances[idx].id.clone(),
                retry_in: delay,
            });
            self.queue.push_back(Pending {
                not_before: now + delay,
                busy_since: Some(since),
                ..job
            });
            return;
        }
        let protocol = Arc::clone(&self.protocol);
        let (id, region) = (
            self.state.instances[idx].id.clone(),
            self.rollbacks[idx].region.clone(),
        );
        self.inflight.push(Box::pin(async move {
            let result = protocol.running(region.as_deref(), &id).await;
            Done::BusyChecked { batch, job, result }
        }));
    }

    pub(super) fn submitted(
        &mut self,
        batch: u64,
        job: Pending,
        result: Result<JobHandle, Error>,
    ) -> std::io::Result<Option<Ending>> {
        let now = Instant::now();
        let err = match result {
            Ok(handle) => {
                self.write(Record::Accepted {
                    batch,
                    job: handle.clone(),
                    at: Utc::now(),
                })?;
                self.emit(Event::Accepted {
                    batch,
                    instances: self.ids(&job.ids),
                    job: handle,
                });
                for &i in &job.ids {
                    self.rollbacks[i].tracking.history =
                        History::accepted(now, self.opts.first_poll);
                }
                self.watch(&job.ids, now);
                return Ok(None);
            }
            Err(err) => err,
        };
        let reason = err.to_string();
        match err.class() {
            ErrorClass::OutcomeUnknown => {
                self.write(Record::Unknown {
                    batch,
                    error: reason.clone(),
                    at: Utc::now(),
                })?;
                self.emit(Event::Unknown { batch, reason });
                self.reconcile(batch, job.ids, self.opts.settle, job.attempt);
            }
            ErrorClass::StopRun => {
                self.write(Record::Abandoned {
                    batch,
                    reason,
                    at: Utc::now(),
                })?;
                return Ok(Some(Ending::Stopped(err)));
            }
            ErrorClass::InstancesOnly | ErrorClass::Busy if job.ids.len() > 1 => {
                // Which instance is refused? Split the call in halves until it is alone.
                self.write(Record::Abandoned {
                    batch,
                    reason: reason.clone(),
                    at: Utc::now(),
                })?;
                self.emit(Event::Split { batch, reason });
                let (a, b) = job.ids.split_at(job.ids.len() / 2);
                let halves = [b.to_vec(), a.to_vec()];
                for ids in halves {
                    self.queue.push_front(Pending { ids, ..job.clone() });
                }
            }
            ErrorClass::Busy => {
                self.write(Record::Abandoned {
                    batch,
                    reason,
                    at: Utc::now(),
                })?;
                self.busy_code = err.code_text();
                self.wait_busy(batch, job);
            }
            ErrorClass::Retry | ErrorClass::Resign if job.attempt < self.opts.submit_retries => {
                self.write(Record::Abandoned {
                    batch,
                    reason: reason.clone(),
                    at: Utc::now(),
                })?;
                let delay = retry_delay(self.opts.retry_base, job.attempt);
                self.emit(Event::Retrying {
                    instances: self.ids(&job.ids),
                    reason,
                    retry_in: delay,
                });
                self.queue.push_back(Pending {
                    not_before: now + delay,
                    attempt: job.attempt + 1,
                    ..job
                });
            }
            ErrorClass::Retry | ErrorClass::Resign => {
                // Out of tries for this run, but the API did not refuse these instances (it
                // was unreachable or busy): they stay pending, the run ends unfinished, and
                // the next apply submits them. `rejected` would be final.
                self.write(Record::Abandoned {
                    batch,
                    reason: format!("gave up for this run: {reason}"),
                    at: Utc::now(),
                })?;
                self.emit(Event::GaveUp {
                    instances: self.ids(&job.ids),
                    reason,
                });
            }
            _ => self.reject(batch, &job.ids, &err)?,
        }
        Ok(None)
    }

    pub(super) fn reject(&mut self, batch: u64, ids: &[usize], err: &Error) -> std::io::Result<()> {
        let code = err.code_text();
        let message = err
            .api_message()
            .map_or_else(|| err.to_string(), str::to_owned);
        let instances = self.ids(ids);
        let request_id = err.request_id().map(str::to_owned);
        self.rejected(batch, instances, code, message, request_id)
    }

    /// Journals the refusal of `instances` (of call `batch`, or [`NO_CALL`]), then tells
    /// each one's line: `CODE: message`.
    pub(super) fn rejected(
        &mut self,
        batch: u64,
        instances: Vec<String>,
        code: Option<String>,
        message: String,
        request_id: Option<String>,
    ) -> std::io::Result<()> {
        self.write(Record::Rejected {
            batch,
            instances: instances.clone(),
            code: code.clone(),
            message: message.clone(),
            request_id,
            at: Utc::now(),
        })?;
        for instance in instances {
            let reason = code
                .as_ref()
                .map_or_else(|| message.clone(), |c| format!("{c}: {message}"));
            self.emit(Event::Rejected { instance, reason });
        }
        Ok(())
    }

    /// The wait for another task is over: the instance fails with what runs there.
    pub(super) fn busy_checked(
        &mut self,
        refused: u64,
        job: Pending,
        result: Result<Option<String>, Error>,
    ) -> std::io::Result<Option<Ending>> {
        let idx = job.ids[0];
        let instance = self.state.instances[idx].id.clone();
        let waited = job
            .busy_since
            .map_or(Duration::ZERO, |since| Instant::now() - since);
        let running = match result {
            Err(e) if e.class() == ErrorClass::StopRun => return Ok(Some(Ending::Stopped(e))),
            Ok(Some(task)) => task,
            Ok(None) => "none is listed now".to_owned(),
            Err(e) => format!("it could not be listed: {e}"),
        };
        let message = format!(
            "another rollback task is running on the instance ({running}); waited {}s for it to end, nothing was submitted",
            waited.as_secs()
        );
        // The refusal belongs to the instance's own latest call, not to the latest call of
        // the run (others may have been sent since).
        self.write(Record::Rejected {
            batch: refused,
            instances: vec![instance.clone()],
            code: self.busy_code.clone(),
            message: message.clone(),
            request_id: None,
            at: Utc::now(),
        })?;
        self.emit(Event::Rejected {
            instance,
            reason: message,
        });
        Ok(None)
    }
}
