//! The preflight overlapping the work: the run submits a prepared call once the preflight has
//! a verdict on each of its instances, and holds back (never submits) an instance it found a
//! problem with. The preflight sends [`Verdict`]s as it goes; the engine keeps the [`Gate`].
//!
//! A call one of whose instances is held back goes without it: what is left of a prepared
//! call is sent together, as when a resumed apply sends what an earlier run did not
//! (`engine::run`'s `enqueue`); nothing else is recut.

use std::collections::HashMap;

use tokio::sync::mpsc;

/// What the preflight says of instances of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Their windows and objects were checked and nothing is wrong: they may be submitted.
    Passed(Vec<String>),
    /// The instance is held back, with the first diagnostic's code and every diagnostic's
    /// message (what `plan --preflight` says of it).
    Held {
        instance: String,
        code: String,
        message: String,
    },
}

/// The sending side, for the preflight.
pub type Verdicts = mpsc::UnboundedSender<Verdict>;

/// The engine's side: which instances still wait for a verdict, and what of each prepared
/// call has passed.
#[derive(Debug)]
pub struct Gate {
    verdicts: mpsc::UnboundedReceiver<Verdict>,
    /// The ids of the instances the preflight checks (the others are not gated), and the run
    /// position of each that waits for its verdict (`None` until the run starts).
    checked: HashMap<String, Option<usize>>,
    /// Instances (run positions) still waiting, by their prepared call: how many.
    waiting: HashMap<usize, usize>,
    /// Instances passed, by their prepared call, until the whole call has its verdicts.
    passed: HashMap<usize, Vec<usize>>,
    /// The preflight ended (its sender dropped): no more verdicts will come.
    pub closed: bool,
}

/// A new channel of verdicts: the sender for the preflight, the gate for the engine, which
/// holds back `checked` (the ids of the instances the preflight checks).
pub fn channel(checked: impl IntoIterator<Item = String>) -> (Verdicts, Gate) {
    let (tx, rx) = mpsc::unbounded_channel();
    let gate = Gate {
        verdicts: rx,
        checked: checked.into_iter().map(|id| (id, None)).collect(),
        waiting: HashMap::new(),
        passed: HashMap::new(),
        closed: false,
    };
    (tx, gate)
}

impl Gate {
    /// Whether the instance `id`, at run position `idx`, waits for the preflight's verdict;
    /// `call` is its prepared call. Called once per pending instance when the run starts.
    pub fn holds(&mut self, id: &str, idx: usize, call: usize) -> bool {
        let Some(at) = self.checked.get_mut(id) else {
            return false;
        };
        *at = Some(idx);
        *self.waiting.entry(call).or_default() += 1;
        true
    }

    /// The run position of `id` if it waits for its verdict, taken out: a verdict counts once.
    pub fn take(&mut self, id: &str) -> Option<usize> {
        self.checked.get_mut(id).and_then(Option::take)
    }

    /// Instances still without a verdict.
    pub fn waiting(&self) -> usize {
        self.waiting.values().sum()
    }

    /// The next verdict; `None` once the preflight ended.
    pub async fn next(&mut self) -> Option<Verdict> {
        let next = self.verdicts.recv().await;
        self.closed |= next.is_none();
        next
    }

    /// Instance `idx` of prepared call `call` has its verdict (`passed` or not): when it was
    /// the call's last, what passed of the call, to be sent together.
    pub fn decided(&mut self, idx: usize, call: usize, passed: bool) -> Option<Vec<usize>> {
        if passed {
            self.passed.entry(call).or_default().push(idx);
        }
        let left = self.waiting.get_mut(&call)?;
        *left = left.saturating_sub(1);
        if *left > 0 {
            return None;
        }
        self.waiting.remove(&call);
        self.passed.remove(&call).filter(|ids| !ids.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_goes_once_each_of_its_instances_has_a_verdict_without_the_held_ones() {
        let (_tx, mut gate) = channel(["a".to_owned(), "b".to_owned(), "c".to_owned()]);
        assert!(gate.holds("a", 0, 0));
        assert!(gate.holds("b", 1, 0));
        assert!(gate.holds("c", 2, 1));
        assert!(
            !gate.holds("z", 3, 1),
            "not checked by the preflight: not held"
        );
        assert_eq!(gate.waiting(), 3);
        assert_eq!(gate.take("b"), Some(1));
        assert_eq!(gate.take("b"), None, "a verdict counts once");
        assert_eq!(gate.take("z"), None);
        assert_eq!(gate.decided(0, 0, true), None, "b has no verdict yet");
        assert_eq!(gate.decided(1, 0, false), Some(vec![0]));
        assert_eq!(gate.decided(2, 1, false), None, "nothing of call 1 passed");
        assert_eq!(gate.waiting(), 0);
    }
}
