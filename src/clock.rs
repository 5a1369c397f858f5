//! The time every part of warroom reads.
//!
//! Production reads the wall clock, and `warroom console --speed N` one that runs
//! N times faster ([`ScaledClock`]). `warroom simulate` steps a [`ManualClock`];
//! tests use it too, or [`TokioClock`], which follows tokio's (possibly paused)
//! clock, so a two-hour incident runs in milliseconds and the timestamps written
//! to the database agree with the timers that fired.

use chrono::{DateTime, Utc};
use std::sync::Arc;

/// A source of "now", injected wherever a timestamp is taken.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;
}

/// Shared handle to a clock.
pub type SharedClock = Arc<dyn Clock>;

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that starts at a chosen instant and advances with tokio's clock.
///
/// Under `#[tokio::test(start_paused = true)]` tokio's clock only moves when every
/// task is idle (or on `tokio::time::advance`), so this clock moves with it.
#[derive(Debug, Clone)]
pub struct TokioClock {
    start: DateTime<Utc>,
    started: tokio::time::Instant,
}

impl TokioClock {
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self {
            start,
            started: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = tokio::time::Instant::now().duration_since(self.started);
        self.start + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }
}

/// A clock that moves only when told to: for tests that talk to a real database,
/// where tokio's paused clock would also fast-forward the pool's own timeouts.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<std::sync::Mutex<DateTime<Utc>>>,
}

impl ManualClock {
    pub fn starting_at(start: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(std::sync::Mutex::new(start)),
        }
    }

    pub fn advance(&self, by: std::time::Duration) {
        let by = chrono::TimeDelta::from_std(by).unwrap_or_default();
        let mut now = self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *now += by;
    }

    pub fn set(&self, to: DateTime<Utc>) {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self
            .now
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A clock that runs `speed` times faster than the wall clock from the moment it
/// is made: `warroom console --speed 60` lives a minute every second, so a team
/// can watch its reminders and escalations come without waiting for them.
#[derive(Debug, Clone)]
pub struct ScaledClock {
    start: DateTime<Utc>,
    started: std::time::Instant,
    speed: u32,
}

impl ScaledClock {
    pub fn new(speed: u32) -> Self {
        Self {
            start: Utc::now(),
            started: std::time::Instant::now(),
            speed: speed.max(1),
        }
    }
}

impl Clock for ScaledClock {
    fn now(&self) -> DateTime<Utc> {
        let elapsed = self.started.elapsed().saturating_mul(self.speed);
        self.start + chrono::Duration::from_std(elapsed).unwrap_or_default()
    }
}
