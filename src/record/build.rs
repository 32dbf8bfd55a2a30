//! Folding the journal into an [`Incident`]: statuses come from the engine's own replay (one
//! truth for what each instance's state is); the timeline, the calls and the API's answers
//! come from the records themselves.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, Utc};

use super::{Batch, BatchEvent, Incident, InstanceRecord, Mapping, Problem, SelfHosted, Start};
use crate::compare::Comparison;
use crate::engine::journal::{PlannedInstance, Record};
use crate::engine::ops::report::History;
use crate::engine::planned::PlanInfo;
use crate::engine::protocol::TaskState;
use crate::engine::report::Report;
use crate::engine::state::{RunState, Status};
use crate::plan::ResolvedPlan;
use crate::plan::resolved::DEFAULT_TIMEZONE;
use crate::plan::rules::parse_timezone;

/// What the records say of one instance beyond its state.
#[derive(Debug, Default, Clone)]
struct Seen {
    sent_at: Option<DateTime<Utc>>,
    running_at: Option<DateTime<Utc>>,
    batch: Option<u64>,
    rejection: Option<Problem>,
}

impl Incident {
    /// The record of the journal `report` found (with what the plan given asks, and
    /// `comparison`: what `compare` kept), and the report of `docs/contract.md` §6.
    pub fn of_history(history: &History, comparison: Option<Comparison>) -> (Self, Report) {
        let plan = history.plan.as_ref();
        let mut incident = Self::build(&history.records, plan.map(|p| &p.0), None);
        let ids: Vec<&str> = incident.instances.iter().map(|i| i.id.as_str()).collect();
        let mut state = RunState::replay(ids, &history.records);
        // No apply carries its unfinished rollbacks on: the record says so, as `status` does.
        if history.interrupted && state.interrupt() > 0 {
            incident = Self::build(&history.records, plan.map(|p| &p.0), Some(&state));
        }
        if let Some((_, _, resolved)) = plan {
            incident = incident.with_selfhosted(SelfHosted::of_plan(resolved, &history.records));
        }
        incident = incident.with_differences(comparison);
        let report = Report::new(&incident.plan, &state);
        (incident, report)
    }

    /// The record `apply --report` writes: of the journal's `records`, what `planned` asks
    /// and the run's `state`, with `plan`'s self-hosted instances.
    pub fn of_apply(
        records: &[Record],
        planned: &PlanInfo,
        state: &RunState,
        plan: &ResolvedPlan,
    ) -> Self {
        Self::build(records, Some(planned), Some(state))
            .with_selfhosted(SelfHosted::of_plan(plan, records))
    }

    /// The record of the run that `records` (a journal) tell.
    ///
    /// `plan`: the plan file given now; it only fills in what a journal written before the
    /// record existed lacks. `state`: the run's state as the engine left it (`apply` passes
    /// it; the journal's replay gives the same); without it the journal is replayed.
    pub fn build(records: &[Record], plan: Option<&PlanInfo>, state: Option<&RunState>) -> Self {
        let journal_plan = records.iter().rev().find_map(PlanInfo::from_record);
        let applied_hash = records.iter().rev().find_map(|r| match r {
            Record::Start { plan_hash, .. } => Some(plan_hash.clone()),
            _ => None,
        });
        let (info, mapping) = match (journal_plan, plan) {
            (Some(info), Some(p)) if p.plan_hash != info.plan_hash => {
                (Some(info), Mapping::JournalPlanChanged)
            }
            (Some(info), _) => (Some(info), Mapping::Journal),
            (None, Some(p)) if applied_hash.as_deref() == Some(p.plan_hash.as_str()) => {
                (Some(p.clone()), Mapping::Plan)
            }
            (None, Some(p)) => (Some(p.clone()), Mapping::ChangedPlan),
            (None, None) => (None, Mapping::Unknown),
        };
        let planned: &[PlannedInstance] = info.as_ref().map_or(&[], |i| &i.instances);
        let ids = instance_ids(planned, records);
        let replayed;
        let state = match state {
            Some(s) => s,
            None => {
                replayed = RunState::replay(ids.iter().map(String::as_str), records);
                &replayed
            }
        };
        let index: HashMap<&str, usize> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i))
            .collect();
        let planned_by_id: HashMap<&str, &PlannedInstance> =
            planned.iter().map(|p| (p.id.as_str(), p)).collect();
        let mut seen = vec![Seen::default(); ids.len()];
        let batches = fold(records, &index, &planned_by_id, &mut seen);
        let instances = ids
            .iter()
            .zip(seen)
            .map(|(id, seen)| instance(id, planned_by_id.get(id.as_str()), state, seen))
            .collect();
        let offset = info
            .as_ref()
            .and_then(|i| parse_timezone(&i.timezone))
            .or_else(|| parse_timezone(DEFAULT_TIMEZONE))
            .unwrap_or_else(|| FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!()));
        Self {
            plan: records
                .iter()
                .rev()
                .find_map(|r| match r {
                    Record::Start { plan, .. } => Some(plan.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "plan".to_owned()),
            description: info.as_ref().and_then(|i| i.description.clone()),
            plan_hash: applied_hash,
            mapping,
            offset,
            starts: records
                .iter()
                .filter_map(|r| match r {
                    Record::Start { at, by, .. } => Some(Start {
                        at: *at,
                        by: by.clone(),
                    }),
                    _ => None,
                })
                .collect(),
            started_at: state.started_at,
            finished_at: state.complete,
            as_of: records.iter().filter_map(record_time).max(),
            instances,
            batches,
            selfhosted: Vec::new(),
            differences: None,
        }
    }
}

/// The plan's instances in order, then any the journal names that the plan does not (a plan
/// changed since, or no plan at all).
fn instance_ids(planned: &[PlannedInstance], records: &[Record]) -> Vec<String> {
    let mut ids: Vec<String> = planned.iter().map(|p| p.id.clone()).collect();
    let mut known: std::collections::HashSet<String> = ids.iter().cloned().collect();
    let mut add = |id: &String| {
        if known.insert(id.clone()) {
            ids.push(id.clone());
        }
    };
    for r in records {
        match r {
            Record::Intent { instances, .. } | Record::Rejected { instances, .. } => {
                instances.iter().for_each(&mut add);
            }
            Record::Adopted { instance, .. }
            | Record::Progress { instance, .. }
            | Record::Finished { instance, .. }
            | Record::Cancelled { instance, .. } => add(instance),
            _ => {}
        }
    }
    ids
}

/// The calls as sent, and what each instance's records add to its state.
fn fold(
    records: &[Record],
    index: &HashMap<&str, usize>,
    planned: &HashMap<&str, &PlannedInstance>,
    seen: &mut [Seen],
) -> Vec<Batch> {
    let mut batches: Vec<Batch> = Vec::new();
    let mut by_id: HashMap<u64, usize> = HashMap::new();
    for r in records {
        match r {
            Record::Intent {
                batch,
                instances,
                at,
            } => {
                for id in instances {
                    if let Some(s) = index.get(id.as_str()).map(|&i| &mut seen[i]) {
                        s.sent_at.get_or_insert(*at);
                        s.batch = Some(*batch);
                    }
                }
                by_id.insert(*batch, batches.len());
                batches.push(Batch {
                    id: *batch,
                    at: *at,
                    region: instances
                        .first()
                        .and_then(|id| planned.get(id.as_str()))
                        .and_then(|p| p.region.clone()),
                    instances: instances.clone(),
                    outcome: Vec::new(),
                });
            }
            Record::Accepted { batch, job, .. } => {
                push(
                    &mut batches,
                    &by_id,
                    *batch,
                    BatchEvent::Accepted { job: job.0.clone() },
                );
            }
            Record::Rejected {
                batch,
                instances,
                code,
                message,
                request_id,
                ..
            } => {
                let problem = Problem {
                    code: code.clone(),
                    message: message.clone(),
                    request_id: request_id.clone(),
                };
                for id in instances {
                    if let Some(&i) = index.get(id.as_str()) {
                        seen[i].rejection = Some(problem.clone());
                    }
                }
                // A refusal after waiting on a busy instance names the instance's own call;
                // older journals named the run's latest call instead,
                // which may not carry it: it belongs to a call only if that call carried it.
                let carried = by_id
                    .get(batch)
                    .is_some_and(|&b| instances.iter().any(|i| batches[b].instances.contains(i)));
                if carried {
                    push(
                        &mut batches,
                        &by_id,
                        *batch,
                        BatchEvent::Rejected {
                            instances: instances.len(),
                            problem,
                        },
                    );
                }
            }
            Record::Unknown { batch, error, .. } => {
                let event = BatchEvent::Unknown {
                    error: error.clone(),
                };
                push(&mut batches, &by_id, *batch, event);
            }
            Record::Abandoned { batch, reason, .. } => {
                let event = BatchEvent::NotAccepted {
                    reason: reason.clone(),
                };
                push(&mut batches, &by_id, *batch, event);
            }
            Record::Adopted {
                instance,
                batch,
                job,
                ..
            } => {
                let event = BatchEvent::Adopted {
                    instance: instance.clone(),
                    job: job.0.clone(),
                };
                push(&mut batches, &by_id, *batch, event);
            }
            // Sent again by `apply --retry-failed`: its row shows the new rollback from when
            // it was first sent (an unknown one may be adopted, not sent again).
            Record::Retry { instances, .. } => {
                for id in instances {
                    if let Some(&i) = index.get(id.as_str()) {
                        seen[i] = Seen {
                            sent_at: seen[i].sent_at,
                            ..Seen::default()
                        };
                    }
                }
            }
            Record::Progress {
                instance,
                state,
                at,
                ..
            } if *state == TaskState::Running => {
                if let Some(&i) = index.get(instance.as_str()) {
                    seen[i].running_at.get_or_insert(*at);
                }
            }
            _ => {}
        }
    }
    batches
}

fn push(batches: &mut [Batch], by_id: &HashMap<u64, usize>, batch: u64, event: BatchEvent) {
    if let Some(&b) = by_id.get(&batch) {
        batches[b].outcome.push(event);
    }
}

fn instance(
    id: &str,
    planned: Option<&&PlannedInstance>,
    state: &RunState,
    seen: Seen,
) -> InstanceRecord {
    let s = state.get(id);
    let status = s.map_or(Status::Pending, |s| s.status);
    let error = s.and_then(|s| s.error.clone());
    // A refusal keeps the API's code and RequestId apart; anything else is the state's error.
    let problem = match (status, seen.rejection) {
        (Status::Rejected, Some(p)) => Some(p),
        _ => error.map(|message| Problem {
            code: None,
            message,
            request_id: None,
        }),
    };
    InstanceRecord {
        id: id.to_owned(),
        region: planned.and_then(|p| p.region.clone()),
        spec: planned.map(|p| p.spec.clone()),
        status,
        job: s.and_then(|s| s.job.as_ref()).map(|j| j.0.clone()),
        batch: seen.batch,
        sent_at: seen.sent_at,
        accepted_at: s.and_then(|s| s.submitted_at),
        running_at: seen.running_at,
        ended_at: s.and_then(|s| s.finished_at),
        progress: s.and_then(|s| s.progress),
        detail: s.and_then(|s| s.detail.clone()),
        problem,
    }
}

fn record_time(r: &Record) -> Option<DateTime<Utc>> {
    match r {
        Record::Start { at, .. }
        | Record::Intent { at, .. }
        | Record::Accepted { at, .. }
        | Record::Rejected { at, .. }
        | Record::Unknown { at, .. }
        | Record::Abandoned { at, .. }
        | Record::Adopted { at, .. }
        | Record::Progress { at, .. }
        | Record::Finished { at, .. }
        | Record::Complete { at }
        | Record::Retry { at, .. }
        | Record::Cancelled { at, .. } => Some(*at),
        // The plan's copy has no time of its own; a record added later may not either.
        _ => None,
    }
}

#[cfg(test)]
mod tests;
