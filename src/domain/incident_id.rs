use chrono::NaiveDate;
use std::fmt;
use std::str::FromStr;

/// `INC-YYYYMMDD-NNN`: the day the incident was declared (UTC) and its number that day.
///
/// The number is at least three digits; a day with more than 999 incidents simply
/// grows a fourth digit rather than failing.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct IncidentId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not an incident id (expected INC-YYYYMMDD-NNN, e.g. INC-20261123-001)")]
pub struct InvalidIncidentId(pub String);

impl IncidentId {
    pub fn new(day: NaiveDate, number: u32) -> Self {
        Self(format!("INC-{}-{:03}", day.format("%Y%m%d"), number))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id a war room's name carries, whatever the platform made of it:
    /// `inc-20261123-001-checkout-is-down` on Slack (any prefix),
    /// `INC-20261123-001 · checkout is down` on Discord.
    pub fn in_room_name(name: &str) -> Option<Self> {
        let words: Vec<&str> = name
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|word| !word.is_empty())
            .collect();
        words
            .windows(2)
            .find_map(|pair| format!("INC-{}-{}", pair[0], pair[1]).parse().ok())
    }

    /// Whether a word looks like an id, so the parser can tell ids from titles.
    pub fn looks_like(word: &str) -> bool {
        word.get(..4)
            .is_some_and(|head| head.eq_ignore_ascii_case("inc-"))
    }
}

impl TryFrom<String> for IncidentId {
    type Error = InvalidIncidentId;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<IncidentId> for String {
    fn from(id: IncidentId) -> Self {
        id.0
    }
}

impl FromStr for IncidentId {
    type Err = InvalidIncidentId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidIncidentId(s.to_string());
        let upper = s.trim().to_ascii_uppercase();
        let rest = upper.strip_prefix("INC-").ok_or_else(invalid)?;
        let (day, number) = rest.split_once('-').ok_or_else(invalid)?;
        let day = NaiveDate::parse_from_str(day, "%Y%m%d").map_err(|_| invalid())?;
        if number.len() < 3 || number.len() > 6 || !number.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        let number: u32 = number.parse().map_err(|_| invalid())?;
        if number == 0 {
            return Err(invalid());
        }
        Ok(Self::new(day, number))
    }
}

impl fmt::Display for IncidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let id = IncidentId::new(day, 1);
        assert_eq!(id.as_str(), "INC-20261123-001");
        assert_eq!("inc-20261123-001".parse::<IncidentId>().unwrap(), id);
        assert_eq!(IncidentId::new(day, 1234).as_str(), "INC-20261123-1234");
    }

    #[test]
    fn a_war_rooms_name_on_either_platform_carries_its_id() {
        let id: IncidentId = "INC-20261123-001".parse().unwrap();
        for name in [
            "inc-20261123-001-checkout-is-down",
            "ops_inc-20261123-001-checkout-20261124-002",
            "inc-20261123-001-checkout-2",
            "INC-20261123-001 · checkout is down",
        ] {
            assert_eq!(IncidentId::in_room_name(name), Some(id.clone()), "{name}");
        }
        for name in ["ops", "inc", "2026-11-23", "incidents-20261345-001"] {
            assert_eq!(IncidentId::in_room_name(name), None, "{name}");
        }
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "INC-2026-001",
            "INC-20261345-001",
            "INC-20261123-1",
            "INC-20261123-000",
            "checkout",
            "INC-20261123-00x",
        ] {
            assert!(
                bad.parse::<IncidentId>().is_err(),
                "{bad} should be rejected"
            );
        }
    }
}
