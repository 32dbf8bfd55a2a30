//! API 2.0's wire form of a submission: RollbackCdbDatabaseTables' `instances.N.*`
//! parameters, each instance's spec as the JSON string of `instances.N.para`.

use crate::api::rollback::{InstanceRollback, para_json};

/// The action parameters of `RollbackCdbDatabaseTables` (without common parameters):
/// `instances.N.cdbInstanceId` and `instances.N.para`, N from 0.
pub fn rollback_params(instances: &[InstanceRollback]) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(instances.len() * 2);
    for (n, instance) in instances.iter().enumerate() {
        out.push((
            format!("instances.{n}.cdbInstanceId"),
            instance.instance_id.clone(),
        ));
        out.push((format!("instances.{n}.para"), para_json(&instance.spec)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::rollback::tests::spec;

    #[test]
    fn params_are_numbered_from_zero() {
        let two = [
            InstanceRollback {
                instance_id: "cdb-aaaaaaaa".into(),
                spec: spec(),
            },
            InstanceRollback {
                instance_id: "cdb-bbbbbbbb".into(),
                spec: spec(),
            },
        ];
        let params = rollback_params(&two);
        let keys: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "instances.0.cdbInstanceId",
                "instances.0.para",
                "instances.1.cdbInstanceId",
                "instances.1.para"
            ]
        );
        assert_eq!(params[2].1, "cdb-bbbbbbbb");
    }
}
