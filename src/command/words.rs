//! What a single word is: a mention, a `key=value`, a flag, a name, one of a closed
//! set of names; and how words become text.

use super::{ErrorKind, Params, UserRef, suggest};
use crate::domain::{RunId, UserId, UserText};
use std::str::FromStr;

/// Decodes the three entities Slack escapes in message text (`&amp;`, `&lt;`, `&gt;`)
/// in one pass, so `&amp;lt;` becomes `&lt;`, not `<`.
///
/// [`parse`](fn@super::parse) applies this to words after splitting and recognising
/// mentions, never before: decoding first would turn a literally typed `<@U123>`
/// (sent as `&lt;@U123&gt;`) into a real mention.
pub fn decode_slack_text(text: &str) -> String {
    const ENTITIES: [(&str, char); 3] = [("amp;", '&'), ("lt;", '<'), ("gt;", '>')];
    let mut parts = text.split('&');
    let mut out = parts.next().unwrap_or_default().to_string();
    for part in parts {
        let entity = ENTITIES
            .iter()
            .find_map(|(name, decoded)| part.strip_prefix(name).map(|tail| (*decoded, tail)));
        match entity {
            Some((decoded, tail)) => {
                out.push(decoded);
                out.push_str(tail);
            }
            None => {
                out.push('&');
                out.push_str(part);
            }
        }
    }
    out
}

/// Free text from the words that carry it. Title and text validation fold the
/// whitespace anyway, so joining with one space loses nothing.
pub(super) fn text(words: &[&str]) -> String {
    decode_slack_text(&words.join(" "))
}

/// The text a command may carry: none when no words are left for it. `what` names
/// it in errors (`the summary`).
pub(super) fn optional_text(
    what: &'static str,
    words: &[&str],
) -> Result<Option<UserText>, ErrorKind> {
    if words.is_empty() {
        return Ok(None);
    }
    Ok(Some(UserText::parse(what, &text(words))?))
}

/// The text a command needs; `missing` says what is missing when no words are left.
pub(super) fn required_text(
    what: &'static str,
    missing: &'static str,
    words: &[&str],
) -> Result<UserText, ErrorKind> {
    optional_text(what, words)?.ok_or(ErrorKind::Missing { what: missing })
}

pub(super) fn is_keyword(word: &str, keyword: &str) -> bool {
    word.eq_ignore_ascii_case(keyword)
}

/// A `--flag`, lower-cased. An em dash counts as `--`: phones and some editors turn
/// a typed `--drill` into `—drill`. A lone `--` (as in an SQL comment) is not a flag.
pub(super) fn flag(word: &str) -> Option<String> {
    let name = word.strip_prefix("--").or_else(|| word.strip_prefix('—'))?;
    name.starts_with(|c: char| c.is_ascii_alphabetic())
        .then(|| format!("--{}", name.to_ascii_lowercase()))
}

/// A `key=value` word, key `[a-z][a-z0-9_-]*`; anything else is text.
pub(super) fn param(word: &str) -> Option<(&str, &str)> {
    let (key, value) = word.split_once('=')?;
    let mut chars = key.chars();
    let starts_well = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    let rest_well =
        chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    (starts_well && rest_well).then_some((key, value))
}

/// Quotes that open a value of several words (`cause="bad deploy"`); phones and
/// some keyboards type the curly ones.
const OPENING_QUOTES: [char; 2] = ['"', '\u{201c}'];
const CLOSING_QUOTES: [char; 2] = ['"', '\u{201d}'];

/// Separates `key=value` words from the words of the text, keeping both in order.
/// A value that opens a quote takes the words up to the one that closes it,
/// without the quotes; a quote never closed is just a character of its word.
pub(super) fn split_params<'a>(words: &[&'a str]) -> Result<(Vec<&'a str>, Params), ErrorKind> {
    let mut text = Vec::new();
    let mut params = Params::new();
    let mut at = 0;
    while let Some(&word) = words.get(at) {
        at += 1;
        let Some((key, value)) = param(word) else {
            text.push(word);
            continue;
        };
        let value = match quoted(value, &words[at..]) {
            Some((value, taken)) => {
                at += taken;
                value
            }
            None => value.to_string(),
        };
        if value.trim().is_empty() {
            return Err(ErrorKind::EmptyValue {
                key: key.to_string(),
            });
        }
        params.push((key.to_string(), decode_slack_text(&value)));
    }
    Ok((text, params))
}

/// A value of several words in quotes: the words from `value` (which opens the
/// quote) to the one in `rest` that closes it, and how many of `rest` it took.
fn quoted(value: &str, rest: &[&str]) -> Option<(String, usize)> {
    let opened = value.strip_prefix(OPENING_QUOTES)?;
    let words: Vec<&str> = std::iter::once(opened)
        .chain(rest.iter().copied())
        .collect();
    let end = words
        .iter()
        .position(|word| word.ends_with(CLOSING_QUOTES))?;
    let mut value = words[..=end].join(" ");
    value.pop();
    Some((value, end))
}

/// `<@U123>`, `<@U123|carol>` (Slack), `<@123>`, `<@!123>` (Discord). Role and
/// channel mentions (`<@&1>`, `<!here>`) are not users.
fn mention(word: &str) -> Option<UserId> {
    let inner = word.strip_prefix("<@")?.strip_suffix('>')?;
    let inner = inner.strip_prefix('!').unwrap_or(inner);
    let id = inner.split_once('|').map_or(inner, |(id, _label)| id);
    let valid = !id.is_empty() && id.chars().all(|c| c.is_ascii_alphanumeric());
    valid.then(|| UserId::new(id))
}

/// Whether a word is written as a user (a mention or `@name`) rather than as text.
pub(super) fn is_user_like(word: &str) -> bool {
    word.starts_with("<@") || word.starts_with('@')
}

/// Names that address a whole channel, never one person.
const BROADCASTS: [&str; 3] = ["everyone", "here", "channel"];

/// The most characters in a person's name from config.
const PERSON_MAX_CHARS: usize = 64;

/// A mention, `@alice`, or `alice` (a key of `[people]` in config).
pub(super) fn user(word: &str) -> Result<UserRef, ErrorKind> {
    if let Some(id) = mention(word) {
        return Ok(UserRef::Id(id));
    }
    let name = word.strip_prefix('@').unwrap_or(word);
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(char::is_alphanumeric)
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && name.chars().count() <= PERSON_MAX_CHARS
        && !BROADCASTS
            .iter()
            .any(|broadcast| name.eq_ignore_ascii_case(broadcast));
    if valid {
        Ok(UserRef::Person(name.to_string()))
    } else {
        Err(ErrorKind::InvalidUser {
            word: word.to_string(),
        })
    }
}

/// The most characters in a service or action name.
const NAME_MAX_CHARS: usize = 64;

/// A service or action name: ASCII letters, digits, `.`, `_` and `-`, starting
/// with a letter or digit.
pub(super) fn name(what: &'static str, word: &str) -> Result<String, ErrorKind> {
    let mut chars = word.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && word.len() <= NAME_MAX_CHARS;
    if valid {
        Ok(word.to_string())
    } else {
        Err(ErrorKind::InvalidName {
            what,
            word: word.to_string(),
            max: NAME_MAX_CHARS,
        })
    }
}

/// One of a closed set of values (a role, a status), read by the value's own `FromStr`
/// so its aliases work; otherwise an error suggesting the nearest of `names`.
pub(super) fn one_of<'n, T: FromStr>(
    what: &'static str,
    word: &str,
    names: impl IntoIterator<Item = &'n str>,
) -> Result<T, ErrorKind> {
    word.parse().map_err(|_| unknown(what, word, names))
}

/// A word that names none of `names`, with the nearest one when it is close.
pub(super) fn unknown<'n>(
    what: &'static str,
    word: &str,
    names: impl IntoIterator<Item = &'n str>,
) -> ErrorKind {
    ErrorKind::Unknown {
        what,
        word: word.to_string(),
        suggestion: suggest::nearest(word, names).map(str::to_string),
    }
}

/// A run as its messages name it: `7` or `#7`.
pub(super) fn run(word: &str) -> Result<RunId, ErrorKind> {
    word.parse().map_err(|_| ErrorKind::InvalidRun {
        word: word.to_string(),
    })
}
