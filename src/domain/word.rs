//! Enums written as one fixed word per value, in a column or a log line.
//!
//! Owns: reading such a word back, and the error for a word that is not one of them.
//! Must not: know what any word means; each enum keeps its own list and spelling.

/// A word that is none of the values it should be one of.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{word}`")]
pub struct UnknownWord {
    what: &'static str,
    word: String,
}

/// The value among `all` that `as_str` writes as exactly `word` (a stored word
/// has one spelling); `what` names the list in the error (`reminder kind`).
pub fn parse_word<T: Copy>(
    word: &str,
    all: &[T],
    as_str: fn(T) -> &'static str,
    what: &'static str,
) -> Result<T, UnknownWord> {
    all.iter()
        .copied()
        .find(|value| as_str(*value) == word)
        .ok_or_else(|| UnknownWord {
            what,
            word: word.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_word_reads_back_exactly_or_names_what_it_is_not() {
        let as_str = |flag: bool| if flag { "on" } else { "off" };
        assert_eq!(parse_word("on", &[false, true], as_str, "switch"), Ok(true));
        let wrong = parse_word("On", &[false, true], as_str, "switch");
        assert_eq!(
            wrong.map_err(|e| e.to_string()),
            Err("unknown switch `On`".into())
        );
    }
}
