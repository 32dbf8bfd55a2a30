//! Seeded fault injection and the small deterministic hashing the sandbox uses for
//! per-instance variation.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::config::Faults;

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FaultKind {
    Lost,
    Http502,
    Internal,
    Slow,
    /// API 3.0: carry out the submission, then answer `InternalError`.
    AcceptedInternal,
}

impl FaultKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lost => "lost",
            Self::Http502 => "http502",
            Self::Internal => "internal",
            Self::Slow => "slow",
            Self::AcceptedInternal => "accepted-internal",
        }
    }
}

/// Draws a fault (or none) per request from a seeded generator.
#[derive(Debug)]
pub struct FaultPlan {
    rate: f64,
    actions: std::collections::BTreeSet<String>,
    kinds: Vec<FaultKind>,
    rng: StdRng,
}

impl FaultPlan {
    pub fn new(faults: &Faults) -> Self {
        Self {
            rate: faults.rate.clamp(0.0, 1.0),
            actions: faults.actions.clone(),
            kinds: faults.kinds.enabled(),
            rng: StdRng::seed_from_u64(faults.seed),
        }
    }

    /// The fault for the next request of `action`, if any.
    pub fn draw(&mut self, action: &str) -> Option<FaultKind> {
        if self.kinds.is_empty() || self.rate <= 0.0 {
            return None;
        }
        if !self.actions.is_empty() && !self.actions.contains(action) {
            return None;
        }
        if self.rng.random::<f64>() >= self.rate {
            return None;
        }
        let index = self.rng.random_range(0..self.kinds.len());
        self.kinds.get(index).copied()
    }
}

/// FNV-1a then a splitmix64 finaliser: a stable hash (unlike `DefaultHasher`, which may change
/// between Rust releases) so a seed means the same durations everywhere.
pub fn stable_hash(seed: u64, text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed;
    for byte in text.bytes() {
        h ^= u64::from(byte);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// A fraction in [0, 1) derived from [`stable_hash`].
pub fn stable_fraction(seed: u64, text: &str) -> f64 {
    // 53 bits fit an f64 mantissa exactly.
    (stable_hash(seed, text) >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::config::FaultKinds;

    fn plan(rate: f64, seed: u64) -> FaultPlan {
        FaultPlan::new(&Faults {
            rate,
            kinds: FaultKinds::all(),
            seed,
            slow_ms: 1,
            actions: Default::default(),
        })
    }

    #[test]
    fn same_seed_gives_same_faults() {
        let a: Vec<_> = {
            let mut p = plan(0.5, 7);
            (0..50).map(|_| p.draw("A")).collect()
        };
        let mut p = plan(0.5, 7);
        let b: Vec<_> = (0..50).map(|_| p.draw("A")).collect();
        assert_eq!(a, b);
        assert!(a.iter().any(Option::is_some) && a.iter().any(Option::is_none));
    }

    #[test]
    fn rate_zero_and_one_are_never_and_always() {
        let mut never = plan(0.0, 1);
        assert!((0..100).all(|_| never.draw("A").is_none()));
        let mut always = plan(1.0, 1);
        assert!((0..100).all(|_| always.draw("A").is_some()));
    }

    #[test]
    fn only_enabled_kinds_are_drawn() {
        let mut p = FaultPlan::new(&Faults {
            rate: 1.0,
            kinds: FaultKinds {
                http502: true,
                ..FaultKinds::default()
            },
            seed: 3,
            slow_ms: 1,
            actions: Default::default(),
        });
        assert!((0..50).all(|_| p.draw("A") == Some(FaultKind::Http502)));
    }

    #[test]
    fn faults_can_target_some_actions_only() {
        let mut p = FaultPlan::new(&Faults {
            rate: 1.0,
            kinds: FaultKinds::all(),
            seed: 3,
            slow_ms: 1,
            actions: ["RollbackCdbDatabaseTables".to_owned()].into(),
        });
        assert!(p.draw("GetCdbRollbackJob").is_none());
        assert!(p.draw("RollbackCdbDatabaseTables").is_some());
    }

    #[test]
    fn fractions_are_stable_and_in_range() {
        let f = stable_fraction(42, "cdb-aaaaaaaa");
        assert_eq!(f, stable_fraction(42, "cdb-aaaaaaaa"));
        assert_ne!(f, stable_fraction(43, "cdb-aaaaaaaa"));
        assert!((0.0..1.0).contains(&f));
    }
}
