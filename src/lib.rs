//! planrun: reviewed, declarative point-in-time rollbacks of TencentDB for MySQL instances
//! (and of self-hosted MySQL/MariaDB servers), then the restored copies compared with
//! production and rows merged back. What it promises is `docs/contract.md`; how to use it, the
//! README. This page is the map.
//!
//! # Where to start
//!
//! - `src/main.rs` hands the arguments to [`cli::run`]; `cli/` parses, asks, renders and maps
//!   outcomes to exit codes (`cli/exit.rs`, the one table). It is the only module that prints.
//! - [`plan`] is the plan language: YAML → spanned tree → typed model → the rules →
//!   [`plan::ResolvedPlan`], one concrete rollback per instance. Start with [`plan::check_file`].
//! - [`engine`] does the work. Start with [`engine::prepare`] (a plan becomes its calls, once),
//!   then [`engine::apply`] and [`engine::run`] (the loop that submits, reconciles, polls and
//!   journals), then [`engine::reconcile`] (the one rule of evidence).
//! - [`api`] speaks the wire (signing, the HTTP client, error classes); [`sandbox`] is the
//!   emulator of that wire the tests and the demo run against.
//!
//! # Layers
//!
//! Imports flow one way: `diff` → `plan`; `engine` → `plan`, `diff`, `api`, `mysql`,
//! `compare` (its operations, [`engine::ops`], run `compare` and `merge` too); `sandbox` →
//! `api`; `record` → `engine`, `plan`, `api` (their data types: it renders the journal, and
//! `compare`'s kept result); `render` (text for people) → `plan`, `engine`, `compare`; `mysql`
//! (self-hosted restores with the server's own tools) → nothing of planrun's; `compare`
//! (restored copies against their sources, saved merges) → `mysql`; `cli` → everything; and
//! every layer → [`contract`] (the facts of the product contract several layers read), which
//! imports nothing. Inside `engine`, only the adapters (`engine/v2.rs`, `engine/v3.rs`) know an
//! API generation's own types.
//!
//! # From a plan to a call: `planrun apply plans/incident-42.yaml`
//!
//! 1. [`plan::check_file`]: [`plan::load`] reads the YAML into a spanned tree,
//!    [`plan::rules::check`] reports every problem at once and resolves the plan.
//! 2. [`diff`] renders what would be rolled back, as what; the user confirms.
//! 3. [`engine::prepare::prepare`]: each instance's request ([`engine::request`]), the calls
//!    cut by the one batching rule ([`engine::batch`]) with their exact parameters (the
//!    adapter's), the plan's hash. Nothing recomputes a call after this.
//! 4. [`engine::store`] finds the plan's journal and takes its lock; [`engine::state`] replays
//!    the journal into the run's state (what was sent, what is in doubt, what never left).
//! 5. The preflight: the rollback windows ([`engine::window`]) and what each instance holds
//!    ([`engine::objects`]); a problem is a diagnostic on the plan's node. By default it
//!    overlaps the run ([`engine::gate`]): a call is sent once its instances passed, and one
//!    with a problem is held back, never sent; `--preflight-first` checks all before asking.
//! 6. [`engine::apply::Apply::run`] starts [`engine::run::Engine`]. For each submission it
//!    journals the intent ([`engine::journal`]), then calls [`engine::protocol::Protocol::submit`]
//!    on [`engine::any::AnyProtocol`], whose adapter ([`engine::v3::V3`]) calls
//!    [`api::v3::Client::start_batch_rollback`]; the client waits for a slot and the action's
//!    rate limiter, signs ([`api::tc3`]) and sends.
//! 7. The answer is journaled: accepted (its handle), refused, or in doubt (reconciled before
//!    anything is resent). Accepted tasks are polled near their expected end
//!    ([`engine::schedule`]), or surveyed; a success is verified ([`engine::verify`]) before it
//!    is `succeeded`.
//! 8. The engine reports [`engine::run::Event`]s, which `cli/progress.rs` draws; at the end the
//!    totals ([`engine::report`]) become the exit code.
//!
//! # The engine's words
//!
//! - **call**, **submission**: one StartBatchRollback (API 2.0: RollbackCdbDatabaseTables) of
//!   at most `batch_size` instances of one region; a self-hosted restore is a submission of its
//!   own. **intent**: the journal record written (and fsynced) before a submission leaves.
//! - **handle**: what identifies a submission (API 3.0's AsyncRequestId, API 2.0's jobId);
//!   a *derived* handle names a task found by its echo (`detail:<StartTime>|<digest>`).
//! - **accepted**, **refused**, **in doubt** (**doubt**): the three outcomes of a submission.
//!   Refused only on a code documented as a refusal for that action; any other answer is in
//!   doubt, and a submission in doubt is never resent before it is reconciled.
//! - **reconcile**: look for the task of a submission in doubt, by the rule of **evidence**
//!   ([`engine::reconcile`]); its result is a **finding**: ours (with the proof), nothing (two
//!   searches, **settle** apart, found no task: it may be sent again), or ambiguous.
//! - **echo**: what a listed task says it rolls back (time, strategy, names); equal to what was
//!   sent, and started after the attempt, it is evidence. **adopt**: take a listed task as the
//!   submission's, with its proof.
//! - **tied**: an AsyncRequestId tied to exactly one call's instances by a DescribeTasks item
//!   ([`engine::v3`]'s `tied` module) — evidence where the detail listing cannot tell.
//! - **busy**: the answer "a task is running" on the instance; never evidence: the instance
//!   waits for that task to end.
//! - **poll**: one status query of one task, never sooner than `--poll-interval` after the
//!   last. A **first** poll finds where a new task stands, a **check** refines an estimate, a
//!   **likely** poll is planned just after the estimated end and goes first.
//! - **cadence**: the bounds of polling a task (at most `min`, at least every `max`).
//!   **history**: one task's polls, from which its end is estimated. **lifespans**: what the
//!   run's tasks taught of how long tasks wait and live.
//! - **pacer**, **turn**: the engine's own spacing of its polls at the status action's rate.
//! - **slot**: one of the `--concurrency` places for a request in flight (or a self-hosted
//!   restore at work); polls never take the last one while submissions wait.
//! - **survey**: one listing (API 3.0 DescribeTasks) that says which of many instances are
//!   likely finished; each is then confirmed by a poll of its own.
//! - **rollback**: one instance of the run with what is sent for it (its request and region)
//!   and, in the engine, how it is tracked.
//! - **gate**, **verdict**, **held back**: the preflight overlapping the run sends a verdict
//!   per instance; the gate lets a prepared call go once each of its instances has one; an
//!   instance held back is never submitted (`rejected`, under no call).
//! - **budget**: the requests an action may send per second in one access region, as the
//!   cloud counts them ([`api::limiter`]).
//! - **holdings**: what an instance holds that a request names (its databases and tables), as
//!   the object preflight and the verification ask it ([`engine::objects`]).
//! - **verify**: see every new object of a task that reported success. **unverified**: the
//!   task said success, some new object was not seen. **unknown**: nothing proves what became of
//!   the submission or its task. Neither is ever reported as success (exit 4).
//! - **journal**: the write-ahead record of one plan file's applies; **replay**/**fold**: its
//!   records turned into the run's state. **store**: where a plan's journal and lock live.
//! - **window**: the span an instance can roll back into (DescribeRollbackRangeTime).
//! - **scratch server**, **landing**, **ledger** (self-hosted): where a dump is restored, the
//!   copy of the result onto production, and the record that makes the landing resumable.

pub mod api;
pub mod cli;
pub mod compare;
pub mod contract;
pub mod diff;
pub mod engine;
pub mod mysql;
pub mod plan;
pub mod record;
pub mod render;
pub mod sandbox;
