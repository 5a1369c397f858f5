//! User-written text, validated once at the edge.
//!
//! Text is kept exactly as written (after trimming and folding whitespace); making
//! it harmless is the job of whoever renders it for a platform, so that the same
//! words are escaped for Slack mrkdwn, Discord markdown or HTML as each needs.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("{what} is too long: {chars} characters, at most {max}")]
    TooLong {
        what: &'static str,
        chars: usize,
        max: usize,
    },
    #[error("{what} contains a control character")]
    ControlCharacter { what: &'static str },
}

/// An incident title: one line, 1–200 characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Title(String);

impl Title {
    pub const MAX_CHARS: usize = 200;

    pub fn parse(raw: &str) -> Result<Self, TextError> {
        checked("the title", raw, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Title {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Free text: notes, status updates, summaries, follow-ups. Up to 3000 characters,
/// which fits one Slack section and two Discord messages.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserText(String);

impl UserText {
    pub const MAX_CHARS: usize = 3000;

    pub fn parse(what: &'static str, raw: &str) -> Result<Self, TextError> {
        checked(what, raw, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Collapses runs of whitespace (newlines included) to one space: chat commands are
/// one line, and a stray newline must not reshape a rendered message.
fn fold_whitespace(raw: &str) -> String {
    raw.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `raw` with its whitespace folded, if that is a usable `what` of at most `max`
/// characters.
fn checked(what: &'static str, raw: &str, max: usize) -> Result<String, TextError> {
    let text = fold_whitespace(raw);
    if text.is_empty() {
        return Err(TextError::Empty { what });
    }
    let chars = text.chars().count();
    if chars > max {
        return Err(TextError::TooLong { what, chars, max });
    }
    if text.chars().any(|c| c.is_control()) {
        return Err(TextError::ControlCharacter { what });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(
            Title::parse("  checkout \t is   down ").unwrap().as_str(),
            "checkout is down"
        );
        assert!(matches!(Title::parse("   "), Err(TextError::Empty { .. })));
        let long = "x".repeat(Title::MAX_CHARS + 1);
        assert!(matches!(
            Title::parse(&long),
            Err(TextError::TooLong { chars: 201, .. })
        ));
        assert!(matches!(
            Title::parse("a\u{0}b"),
            Err(TextError::ControlCharacter { .. })
        ));
        assert_eq!(Title::parse("ünïcødé 🔥").unwrap().as_str(), "ünïcødé 🔥");
    }
}
