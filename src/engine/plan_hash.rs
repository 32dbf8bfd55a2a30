//! The identity of what a plan submits: a change to it while a journal is unfinished must be
//! noticed (resuming would mix two different plans).

use sha2::{Digest, Sha256};

use crate::api::rollback::{InstanceRollback, para_json};

/// SHA-256 over every instance's id, region and `para` JSON, in plan order.
pub fn plan_hash(requests: &[InstanceRollback], regions: &[Option<String>]) -> String {
    let mut hasher = Sha256::new();
    for (r, region) in requests.iter().zip(regions) {
        hasher.update(r.instance_id.as_bytes());
        hasher.update([0]);
        hasher.update(region.as_deref().unwrap_or("").as_bytes());
        hasher.update([0]);
        hasher.update(para_json(&r.spec).as_bytes());
        hasher.update([b'\n']);
    }
    hex::encode(hasher.finalize())
}
