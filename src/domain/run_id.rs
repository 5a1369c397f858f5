//! How a user names an action run, read once where the name arrives.

use std::fmt;
use std::str::FromStr;

/// The number of an action run, as its messages show it (`Run #7`).
///
/// Users name a run as `7` or `#7`, typed, in a Discord option or behind a button;
/// this is the one place that reads either form, so everything past the edge holds
/// the number itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RunId(i64);

/// A word that names no run: not a number, with or without a leading `#`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a valid run (expected its number, e.g. 7 or #7)")]
pub struct InvalidRunId(pub String);

impl RunId {
    pub fn new(number: i64) -> Self {
        Self(number)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

impl FromStr for RunId {
    type Err = InvalidRunId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let trimmed = s.trim();
        let digits = trimmed.strip_prefix('#').unwrap_or(trimmed);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InvalidRunId(s.to_string()));
        }
        digits
            .parse()
            .map(Self)
            .map_err(|_| InvalidRunId(s.to_string()))
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_run_with_or_without_its_hash() {
        assert_eq!("7".parse(), Ok(RunId::new(7)));
        assert_eq!("#7".parse(), Ok(RunId::new(7)));
        assert_eq!(" #12 ".parse(), Ok(RunId::new(12)));
        assert_eq!(RunId::new(7).to_string(), "7");
    }

    #[test]
    fn rejects_what_is_not_a_run_number() {
        for bad in [
            "",
            "#",
            "##7",
            "seven",
            "-1",
            "+7",
            "7a",
            "$(reboot)",
            "1 2",
        ] {
            assert_eq!(
                bad.parse::<RunId>(),
                Err(InvalidRunId(bad.to_string())),
                "{bad:?}"
            );
        }
        assert!("99999999999999999999".parse::<RunId>().is_err());
    }
}
