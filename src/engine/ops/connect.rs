//! Reaching the cloud's API: the engine's protocol for an API generation, on a client built
//! from a configuration (endpoint, region, credentials, pacing) the caller put together.

use crate::api::ClientConfig;
use crate::engine::any::AnyProtocol;
use crate::engine::prepare::Generation;
use crate::engine::v2::V2;
use crate::engine::v3::V3;

/// The protocol of `generation`, on a client built from `config`.
pub fn protocol(
    generation: Generation,
    config: ClientConfig,
) -> Result<AnyProtocol, crate::api::Error> {
    Ok(match generation {
        Generation::V2 => AnyProtocol::V2(V2::new(crate::api::v2::Client::new(config)?)),
        Generation::V3 => AnyProtocol::V3(V3::new(crate::api::v3::Client::new(config)?)),
    })
}
