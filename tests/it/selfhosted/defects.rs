//! Issue 22's defects, each a scenario on real servers judged by the oracle
//! ([`super::oracle`]): the restored tables equal the oracle's, production is unchanged but
//! for the targets, its binary log holds only the landing, nothing of planrun's is left —
//! or, where the honest answer is a refusal, the refusal and an unchanged production.

mod audit;
mod exact;
mod faults;
mod refusals;
pub mod scene;
