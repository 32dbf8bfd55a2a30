//! The MySQL endpoints of instances, as DescribeDBInstances gives them (`Vip`, `Vport`): what
//! `compare` connects to when the plan gives no `connect:`.

use super::V3;

/// What DescribeDBInstances says of one instance's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    /// `Vip:Vport`.
    At { host: String, port: u16 },
    /// Listed, without a usable `Vip` or `Vport`.
    None,
    /// Not listed in the region asked.
    Unlisted,
}

impl V3 {
    /// The address of each of `ids` in `region` (`None`: the client's own), one
    /// DescribeDBInstances filtered by their ids.
    pub async fn addresses(
        &self,
        region: Option<&str>,
        ids: &[String],
    ) -> Result<Vec<(String, Address)>, crate::api::Error> {
        let filter = crate::api::v3::fleet::DescribeDbInstancesRequest {
            instance_ids: ids.to_vec(),
            ..Default::default()
        };
        let found = self.client_for(region).db_instances(&filter).await?;
        Ok(ids
            .iter()
            .map(|id| {
                let address = match found.iter().find(|f| &f.instance_id == id) {
                    None => Address::Unlisted,
                    Some(f) => {
                        match (f.vip.as_str(), f.vport.and_then(|p| u16::try_from(p).ok())) {
                            ("", _) | (_, None | Some(0)) => Address::None,
                            (vip, Some(port)) => Address::At {
                                host: vip.to_owned(),
                                port,
                            },
                        }
                    }
                };
                (id.clone(), address)
            })
            .collect())
    }
}
