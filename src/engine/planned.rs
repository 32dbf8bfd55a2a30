//! What a plan asks for, as the journal keeps it ([`Record::Planned`], written by an
//! apply's first start) and as a plan file gives it: the engine builds it, the incident
//! record reads it back.

use super::journal::{PlannedInstance, Record};
use super::prepare::Prepared;
use crate::plan::ResolvedPlan;

/// What a plan asks for: the journal's [`Record::Planned`], or the same made from a plan file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInfo {
    pub plan_hash: String,
    pub description: Option<String>,
    /// `±HH:MM`.
    pub timezone: String,
    pub instances: Vec<PlannedInstance>,
}

impl PlanInfo {
    /// What `plan` asks for, as it was prepared (hashed as the journal's start hashes it).
    pub fn of(plan: &ResolvedPlan, prepared: &Prepared) -> Self {
        Self::with(plan.description.clone(), plan.timezone.clone(), prepared)
    }

    /// [`PlanInfo::of`] from the plan's description and `±HH:MM` timezone (all it takes of the
    /// plan), for a holder that keeps only those beside the prepared plan.
    pub fn with(description: Option<String>, timezone: String, prepared: &Prepared) -> Self {
        Self {
            plan_hash: prepared.hash.clone(),
            description,
            timezone,
            instances: prepared
                .rollbacks
                .iter()
                .map(|s| PlannedInstance {
                    id: s.request.instance_id.clone(),
                    region: s.region.clone(),
                    spec: s.request.spec.clone(),
                })
                .collect(),
        }
    }

    /// As the journal keeps it.
    pub fn into_record(self) -> Record {
        Record::Planned {
            plan_hash: self.plan_hash,
            description: self.description,
            timezone: self.timezone,
            instances: self.instances,
        }
    }

    /// The plan of a [`Record::Planned`]; `None` for any other record.
    pub fn from_record(record: &Record) -> Option<Self> {
        match record {
            Record::Planned {
                plan_hash,
                description,
                timezone,
                instances,
            } => Some(Self {
                plan_hash: plan_hash.clone(),
                description: description.clone(),
                timezone: timezone.clone(),
                instances: instances.clone(),
            }),
            _ => None,
        }
    }
}
