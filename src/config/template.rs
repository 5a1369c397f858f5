//! `{placeholder}` templates, used by `[phrases]` and by action urls, headers,
//! args and bodies. One syntax everywhere: `{name}` where the name is letters,
//! digits, `_` or `-` (starting with a letter or `_`); any other brace is text.
//! Checking happens at load, so a typo in a placeholder never reaches an incident.

/// How strictly stray braces are judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Braces {
    /// Prose, urls, args, headers: every brace must belong to a placeholder.
    PlaceholdersOnly,
    /// Bodies (usually JSON): other braces are text but must balance.
    Balanced,
}

/// One piece of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Placeholder(&'a str),
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Splits a template into text and placeholders; braces that do not form a
/// placeholder stay in the text pieces.
fn pieces(text: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut text_start = 0;
    let mut search = 0;
    while let Some(open) = text[search..].find('{').map(|i| i + search) {
        let rest = &text[open + 1..];
        let name = rest
            .find('}')
            .map(|close| &rest[..close])
            .filter(|n| is_name(n));
        match name {
            Some(name) => {
                if text_start < open {
                    out.push(Piece::Text(&text[text_start..open]));
                }
                out.push(Piece::Placeholder(name));
                text_start = open + name.len() + 2;
                search = text_start;
            }
            None => search = open + 1,
        }
    }
    if text_start < text.len() {
        out.push(Piece::Text(&text[text_start..]));
    }
    out
}

/// The placeholder names of a template, checked against `braces`; the error
/// says what is wrong with the first bad brace.
pub(super) fn placeholders(text: &str, braces: Braces) -> Result<Vec<&str>, String> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    for piece in pieces(text) {
        match piece {
            Piece::Placeholder(name) => names.push(name),
            Piece::Text(t) => {
                for (i, c) in t.char_indices() {
                    match (c, braces) {
                        ('{', Braces::PlaceholdersOnly) => {
                            return Err(match t[i + 1..].find('}') {
                                Some(close) => format!(
                                    "`{{{}}}` is not a placeholder: names use letters, digits, `_` and `-`",
                                    &t[i + 1..i + 1 + close]
                                ),
                                None => "unbalanced braces: `{` is never closed".to_string(),
                            });
                        }
                        ('}', Braces::PlaceholdersOnly) => {
                            return Err("unbalanced braces: `}` without a matching `{`".to_string());
                        }
                        ('{', Braces::Balanced) => depth += 1,
                        ('}', Braces::Balanced) => {
                            depth = depth.checked_sub(1).ok_or_else(|| {
                                "unbalanced braces: `}` without a matching `{`".to_string()
                            })?;
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    if depth > 0 {
        return Err(format!("unbalanced braces: {depth} `{{` never closed"));
    }
    Ok(names)
}

/// The placeholder names a template uses, in order, for a template already
/// checked at load.
pub(super) fn names(text: &str) -> impl Iterator<Item = &str> {
    pieces(text).into_iter().filter_map(|piece| match piece {
        Piece::Placeholder(name) => Some(name),
        Piece::Text(_) => None,
    })
}

/// Fills a template: each `{name}` becomes `values(name)`, or stays as written
/// when there is no value, so a missing value is visible rather than silently empty.
pub fn render(text: &str, values: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    for piece in pieces(text) {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Placeholder(name) => match values(name) {
                Some(value) => out.push_str(&value),
                None => {
                    out.push('{');
                    out.push_str(name);
                    out.push('}');
                }
            },
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders_in_prose() {
        let names =
            placeholders("Issue with {service}: {cause}.", Braces::PlaceholdersOnly).unwrap();
        assert_eq!(names, ["service", "cause"]);
    }

    #[test]
    fn prose_rejects_malformed_and_unbalanced_braces() {
        let bad = placeholders("Issue with { service }", Braces::PlaceholdersOnly).unwrap_err();
        assert!(bad.contains("`{ service }` is not a placeholder"), "{bad}");
        let open = placeholders("Issue with {service", Braces::PlaceholdersOnly).unwrap_err();
        assert!(open.contains("never closed"), "{open}");
        let close = placeholders("Issue with service}", Braces::PlaceholdersOnly).unwrap_err();
        assert!(close.contains("without a matching"), "{close}");
        let empty = placeholders("Issue {}", Braces::PlaceholdersOnly).unwrap_err();
        assert!(empty.contains("`{}` is not a placeholder"), "{empty}");
    }

    #[test]
    fn json_bodies_keep_their_braces_but_must_balance() {
        let body = r#"{"service": "{service}", "meta": {"by": "{incident}"}}"#;
        assert_eq!(
            placeholders(body, Braces::Balanced).unwrap(),
            ["service", "incident"]
        );
        let broken = r#"{"service": "{service"}"#;
        assert!(
            placeholders(broken, Braces::Balanced)
                .unwrap_err()
                .contains("never closed")
        );
        assert!(placeholders("}{", Braces::Balanced).is_err());
    }

    #[test]
    fn render_fills_known_values_and_keeps_unknown_ones() {
        let out = render(r#"{"s": "{service}", "r": "{region}"}"#, |name| {
            (name == "service").then(|| "api".to_string())
        });
        assert_eq!(out, r#"{"s": "api", "r": "{region}"}"#);
    }
}
