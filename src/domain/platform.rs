use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Where an incident is run. Each incident lives on the platform it was declared on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Slack,
    Discord,
    /// The terminal of `warroom console` and `warroom simulate`: no account needed.
    Console,
    /// The in-process platform of the tests and benches; release builds have no such platform.
    #[cfg(any(test, feature = "testing"))]
    Testing,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown platform `{0}`")]
pub struct UnknownPlatform(pub String);

impl Platform {
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Slack => "slack",
            Platform::Discord => "discord",
            Platform::Console => "console",
            #[cfg(any(test, feature = "testing"))]
            Platform::Testing => "testing",
        }
    }

    /// The largest file the platform takes, in bytes: Slack's 1 GB upload, and
    /// Discord's 10 MiB attachment on a server without a boost.
    pub const fn file_limit(self) -> usize {
        match self {
            Platform::Slack => 1_000_000_000,
            Platform::Discord => 10 * 1024 * 1024,
            Platform::Console => usize::MAX,
            #[cfg(any(test, feature = "testing"))]
            Platform::Testing => usize::MAX,
        }
    }
}

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "slack" => Ok(Platform::Slack),
            "discord" => Ok(Platform::Discord),
            "console" => Ok(Platform::Console),
            #[cfg(any(test, feature = "testing"))]
            "testing" => Ok(Platform::Testing),
            other => Err(UnknownPlatform(other.to_string())),
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user as the platform knows them (Slack `U012ABCDEF`, a Discord snowflake).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(pub String);

impl UserId {
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `id` has the form of a Discord id: a decimal snowflake of at most 20 digits.
pub fn is_snowflake(id: &str) -> bool {
    (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit())
}
