//! Dice for the tests that throw them (the fakes' random faults, the soak's
//! kills): splitmix64 from a seed the test prints, so a failing run can be
//! thrown again exactly.
//!
//! Depends on nothing else in `common`: the Slack benchmark includes it by path
//! along with the fake Slack.

#![allow(dead_code)] // the tests and the benchmark each use their own part

use std::time::Duration;

pub struct Seeded {
    state: u64,
}

impl Seeded {
    pub fn new(seed: u64) -> Seeded {
        Seeded { state: seed }
    }

    /// A seed from the clock, for a run that does not name one.
    pub fn fresh_seed() -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|since| since.as_nanos() as u64)
            .unwrap_or_default()
    }

    fn draw(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.draw() % bound
    }

    /// A duration in `low..=high`, to the millisecond.
    pub fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let (low, high) = (low.as_millis() as u64, high.as_millis() as u64);
        Duration::from_millis(low + self.below(high - low + 1))
    }
}
