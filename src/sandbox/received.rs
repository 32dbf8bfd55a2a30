//! Every accepted submission exactly as it arrived (action, Region, the action's own
//! parameters or body), served at `/_sandbox/submissions`: what tests compare with what
//! `planrun plan --show-requests` showed, call for call.

use serde::Serialize;

/// One accepted submission as received.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Received {
    pub action: String,
    /// The request's Region (API 2.0's common parameter, API 3.0's `X-TC-Region`).
    pub region: Option<String>,
    /// API 2.0: the `instances.N.*` parameters as received (signing sorts them); API 3.0: one
    /// `body` with the request's bytes.
    pub params: Vec<(String, String)>,
}

/// The log, in order of arrival.
#[derive(Debug, Default)]
pub struct Log(Vec<Received>);

impl Log {
    pub fn push(&mut self, received: Received) {
        self.0.push(received);
    }

    pub fn all(&self) -> &[Received] {
        &self.0
    }
}
