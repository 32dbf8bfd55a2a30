//! `planrun apply` and `planrun status` against the sandbox: by running the binary against a
//! `planrun sandbox serve` child process (so that its tasks outlive a killed apply), and
//! in-process where the engine is simpler to drive directly. Every child has a time limit.

pub mod harness;

mod audit;
mod crash;
mod engine;
mod evidence;
mod faults;
mod interrupted;
mod journals;
mod new;
mod objects;
mod older_journals;
mod record;
mod recovery;
mod refusals;
mod regions;
mod report;
mod retry;
mod sandbox_again;
mod signals;
mod v3_doubt;
mod vocabulary;
