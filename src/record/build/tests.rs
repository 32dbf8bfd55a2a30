//! Folding journals into the record: statuses as the engine replays them, refusals with their
//! code and RequestId, the calls with their outcomes, snapshots, and where the mapping comes from.

use super::*;
use crate::record::fixture::{self, HASH, id, journal, t};

#[test]
fn statuses_come_from_the_engines_replay_and_refusals_keep_code_and_request_id() {
    let r = Incident::build(&journal(10, 3, false), None, None);
    assert_eq!(r.mapping, Mapping::Journal);
    assert_eq!(r.instances.len(), 10);
    let refused = &r.instances[0];
    assert_eq!(refused.status, Status::Rejected);
    assert_eq!(
        refused.problem,
        Some(Problem {
            code: Some("InvalidParameterValue".into()),
            message: "instance <cdb> is not in a state to roll back".into(),
            request_id: Some("req-0001".into()),
        })
    );
    let failed = &r.instances[3];
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(failed.job.as_deref(), Some("job-2"));
    assert_eq!(
        (failed.sent_at, failed.running_at, failed.ended_at),
        (Some(t(1)), Some(t(6)), Some(t(1 + 60 + 3)))
    );
    assert!(
        failed
            .problem
            .as_ref()
            .is_some_and(|p| p.message.contains("disk full"))
    );
    assert_eq!(r.instances[4].status, Status::Succeeded);
    assert_eq!(r.finished_at, Some(t(103)));
    assert_eq!(r.plan_hash.as_deref(), Some(HASH));
    assert_eq!(
        r.by().map(|c| c.action.as_str()),
        Some("StartBatchRollback")
    );
}

#[test]
fn every_call_is_listed_as_sent_with_its_outcome() {
    let r = Incident::build(&journal(10, 3, false), None, None);
    assert_eq!(r.batches.len(), 4);
    assert_eq!(r.batches[0].instances, vec![id(0), id(1), id(2)]);
    assert_eq!(r.batches[0].region.as_deref(), Some("ap-guangzhou"));
    assert!(matches!(
        &r.batches[0].outcome[..],
        [BatchEvent::Rejected { instances: 3, .. }]
    ));
    assert_eq!(
        r.batches[1].outcome,
        vec![BatchEvent::Accepted {
            job: "job-2".into()
        }]
    );
}

#[test]
fn an_unfinished_run_is_a_snapshot_as_of_its_last_record() {
    let r = Incident::build(&journal(4, 2, true), None, None);
    assert_eq!(r.finished_at, None);
    let last = r.instances.last().map(|i| i.status);
    assert_eq!(last, Some(Status::Running));
    assert_eq!(r.as_of, r.instances[2].ended_at.max(Some(t(1 + 60 + 2))));
}

#[test]
fn without_the_journals_copy_the_plan_fills_in_and_a_changed_plan_is_said() {
    let records: Vec<Record> = journal(3, 3, false)
        .into_iter()
        .filter(|r| !matches!(r, Record::Planned { .. }))
        .collect();
    let bare = Incident::build(&records, None, None);
    assert_eq!(bare.mapping, Mapping::Unknown);
    // The ids still come from the journal, in the order it names them.
    let ids: Vec<&str> = bare.instances.iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ids, [id(0), id(1), id(2)]);
    assert!(bare.instances.iter().all(|i| i.spec.is_none()));

    let mut info = PlanInfo::from_record(&fixture::planned(3, "d")).unwrap();
    let same = Incident::build(&records, Some(&info), None);
    assert_eq!(same.mapping, Mapping::Plan);
    assert!(same.instances[1].spec.is_some());
    info.plan_hash = "other".into();
    assert_eq!(
        Incident::build(&records, Some(&info), None).mapping,
        Mapping::ChangedPlan
    );
}

#[test]
fn a_given_state_wins_over_the_replay() {
    let records = journal(4, 2, true);
    let mut state = RunState::replay(
        (0..4)
            .map(id)
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str),
        &records,
    );
    state.instances[3].status = Status::TimedOut;
    let r = Incident::build(&records, None, Some(&state));
    assert_eq!(r.instances[3].status, Status::TimedOut);
}

#[test]
fn a_plan_file_changed_since_the_apply_is_said_but_the_journals_copy_is_shown() {
    let records = journal(3, 3, false);
    let mut info = PlanInfo::from_record(&fixture::planned(3, "d")).unwrap();
    info.plan_hash = "edited".into();
    info.instances[0].spec.rollbacktime = "2030-01-01 00:00:00".into();
    let r = Incident::build(&records, Some(&info), None);
    assert_eq!(r.mapping, Mapping::JournalPlanChanged);
    let spec = r.instances[0]
        .spec
        .as_ref()
        .map(|s| s.rollbacktime.as_str());
    assert_eq!(spec, Some("2026-11-20 03:15:00"));
    assert_eq!(r.description.as_deref(), Some("drill of orders"));
}
