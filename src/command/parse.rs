//! A cursor over the words of a command: subcommand parsers take what they expect
//! and [`Cursor::finish`] reports anything left over.

use super::ErrorKind;
use crate::domain::IncidentId;

pub(super) struct Cursor<'a> {
    words: Vec<&'a str>,
    next: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Self {
            words: split_words(text),
            next: 0,
        }
    }

    pub(super) fn peek(&self) -> Option<&'a str> {
        self.words.get(self.next).copied()
    }

    pub(super) fn take(&mut self) -> Option<&'a str> {
        let word = self.peek()?;
        self.next += 1;
        Some(word)
    }

    /// Takes the next word, which the command needs: `what` says what it is for.
    pub(super) fn take_required(&mut self, what: &'static str) -> Result<&'a str, ErrorKind> {
        self.take().ok_or(ErrorKind::Missing { what })
    }

    /// Takes the next word only if it is what the caller is looking for.
    pub(super) fn take_if(&mut self, wanted: impl FnOnce(&str) -> bool) -> Option<&'a str> {
        let word = self.peek().filter(|word| wanted(word))?;
        self.next += 1;
        Some(word)
    }

    /// The words not taken yet, without taking them.
    pub(super) fn remaining(&self) -> &[&'a str] {
        self.words.get(self.next..).unwrap_or_default()
    }

    /// Takes every word left.
    pub(super) fn rest(&mut self) -> Vec<&'a str> {
        let rest = self.remaining().to_vec();
        self.next = self.words.len();
        rest
    }

    /// Takes an incident id if the next word looks like one; a malformed id is an
    /// error rather than the start of some text.
    pub(super) fn incident(&mut self) -> Result<Option<IncidentId>, ErrorKind> {
        let Some(word) = self.take_if(IncidentId::looks_like) else {
            return Ok(None);
        };
        word.parse()
            .map(Some)
            .map_err(|_| ErrorKind::InvalidIncidentId {
                word: word.to_string(),
            })
    }

    pub(super) fn finish(&self) -> Result<(), ErrorKind> {
        match self.peek() {
            Some(word) => Err(ErrorKind::Unexpected {
                word: word.to_string(),
            }),
            None => Ok(()),
        }
    }
}

/// Whitespace, plus the zero-width space and BOM that pasted text carries invisibly
/// (a `sev1` followed by U+200B must still read as `sev1`). Joiners stay in words:
/// emoji and some scripts need them.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || c == '\u{200B}' || c == '\u{FEFF}'
}

/// Splits on separators, except that Slack markup starting a word runs to its `>`,
/// so `<@U123|carol smith>` is one word. In Slack's text a literal `<` arrives as
/// `&lt;`, so a `<` that starts a word is always markup.
fn split_words(text: &str) -> Vec<&str> {
    let mut words = Vec::new();
    let mut rest = text.trim_start_matches(is_separator);
    while !rest.is_empty() {
        let markup_end = rest
            .starts_with('<')
            .then(|| rest.find('>').map(|at| at + '>'.len_utf8()))
            .flatten()
            .unwrap_or(0);
        let tail = rest.get(markup_end..).unwrap_or_default();
        let end = tail
            .find(is_separator)
            .map_or(rest.len(), |at| markup_end + at);
        let (word, after) = rest.split_at_checked(end).unwrap_or((rest, ""));
        words.push(word);
        rest = after.trim_start_matches(is_separator);
    }
    words
}
