//! Output capture: keeps the first and last lines of what a run printed, within
//! a byte budget, hashes all of it, and redacts known secret values.

use crate::domain::hex;
use ring::digest::{Context, SHA256};
use std::collections::VecDeque;
use std::fmt::Write as _;

/// Lines kept from the start and from the end.
const LINES: usize = 20;
/// Bytes kept from the start and from the end (so at most twice this is shown).
const BYTES: usize = 2048;

/// What a run printed, streamed in: everything hashed, only the ends kept.
pub struct Capture {
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
    hash: Context,
}

impl Default for Capture {
    fn default() -> Self {
        Self::new()
    }
}

impl Capture {
    pub fn new() -> Self {
        Self {
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
            hash: Context::new(&SHA256),
        }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.hash.update(bytes);
        self.total = self.total.saturating_add(bytes.len() as u64);
        let room = BYTES.saturating_sub(self.head.len());
        let (to_head, rest) = bytes.split_at(room.min(bytes.len()));
        self.head.extend_from_slice(to_head);
        self.tail.extend(rest);
        let excess = self.tail.len().saturating_sub(BYTES);
        self.tail.drain(..excess);
    }

    /// Hex SHA-256 of everything pushed.
    pub fn hash(&self) -> String {
        hex(self.hash.clone().finish().as_ref())
    }

    /// The first and last lines, with a marker for what was left out.
    pub fn render(&self) -> String {
        let head = String::from_utf8_lossy(&self.head);
        let tail_bytes: Vec<u8> = self.tail.iter().copied().collect();
        let tail = String::from_utf8_lossy(&tail_bytes);
        let head_lines: Vec<&str> = head.lines().collect();
        let tail_lines: Vec<&str> = tail.lines().collect();
        let cut = self.total > (self.head.len() + self.tail.len()) as u64
            || head_lines.len() + tail_lines.len() > 2 * LINES;
        if !cut {
            let mut whole = head.into_owned();
            whole.push_str(&tail);
            return whole.trim_end().to_owned();
        }
        // Only whole lines are shown around a cut: a line split by the byte
        // budget could hold the start of a secret that redaction then cannot
        // recognise.
        let whole_head = if self.head.ends_with(b"\n") {
            head_lines.len()
        } else {
            head_lines.len().saturating_sub(1)
        };
        let first = &head_lines[..whole_head.min(LINES)];
        let tail_lines = tail_lines.get(1..).unwrap_or_default();
        let last = &tail_lines[tail_lines.len().saturating_sub(LINES)..];
        let mut out = first.join("\n");
        let _ = write!(out, "\n… (output cut, {} bytes in all) …\n", self.total);
        out.push_str(&last.join("\n"));
        out
    }
}

/// Replaces known secret values with `[redacted]`.
#[derive(Clone, Default)]
pub struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    /// Empty values are ignored; longer secrets are replaced first so one that
    /// contains another is not left half shown.
    pub fn new(secrets: impl IntoIterator<Item = String>) -> Self {
        let mut secrets: Vec<String> = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Self { secrets }
    }

    pub fn redact(&self, text: &str) -> String {
        self.secrets.iter().fold(text.to_owned(), |text, secret| {
            text.replace(secret, "[redacted]")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_output_is_kept_whole() {
        let mut capture = Capture::new();
        capture.push(b"one\ntwo\n");
        assert_eq!(capture.render(), "one\ntwo");
    }

    #[test]
    fn long_output_keeps_its_ends() {
        let mut capture = Capture::new();
        for i in 0..10_000 {
            capture.push(format!("line {i}\n").as_bytes());
        }
        let shown = capture.render();
        assert!(shown.starts_with("line 0\nline 1\n"), "{shown}");
        assert!(shown.ends_with("line 9999"), "{shown}");
        assert!(shown.contains("output cut"), "{shown}");
        assert!(shown.lines().count() <= 2 * LINES + 1, "{shown}");
    }

    #[test]
    fn lines_split_by_the_budget_are_left_out() {
        let mut capture = Capture::new();
        let filler = "x".repeat(BYTES - 4);
        capture.push(format!("{filler}\nsecret-at-the-cut\n").as_bytes());
        capture.push("y\n".repeat(5000).as_bytes());
        let shown = capture.render();
        assert!(shown.starts_with(&filler), "{shown}");
        assert!(!shown.contains("sec"), "{shown}");
        assert!(shown.ends_with("y\ny"), "{shown}");
    }

    #[test]
    fn hash_covers_everything() {
        let mut a = Capture::new();
        a.push(b"abc");
        let mut b = Capture::new();
        b.push(b"a");
        b.push(b"bc");
        assert_eq!(a.hash(), b.hash());
        assert_eq!(
            a.hash(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn secrets_are_redacted() {
        let redactor = Redactor::new(["hunter2".to_owned(), String::new()]);
        assert_eq!(redactor.redact("pw=hunter2!"), "pw=[redacted]!");
    }
}
