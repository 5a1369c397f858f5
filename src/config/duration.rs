//! Durations as the config writes them: `"90s"`, `"15m"`, `"2h"`.
//!
//! Owns: reading one duration and the words that say why it is not one. Must not:
//! know where in the config the duration stands (the builder reports that).

use std::time::Duration;

/// How a duration is written, for every problem that says one is wrong.
pub(super) const DURATION_HINT: &str = "expected a duration like 90s, 15m, 2h";

/// Why a text is not a config duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("must be longer than zero")]
    Zero,
    #[error("`{text}` is not a duration ({reason}); {DURATION_HINT}")]
    Unreadable { text: String, reason: String },
}

/// Reads a humantime duration longer than zero.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    match humantime::parse_duration(text) {
        Ok(duration) if duration.is_zero() => Err(DurationError::Zero),
        Ok(duration) => Ok(duration),
        Err(reason) => Err(DurationError::Unreadable {
            text: text.to_string(),
            reason: reason.to_string(),
        }),
    }
}
