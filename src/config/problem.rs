//! Problems found while loading, collected rather than thrown, so one run of
//! `warroom check-config` shows everything that needs fixing.

use std::collections::HashMap;
use std::fmt;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One thing wrong with the config or the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where: a key path such as `severity[2].respond_within` or `assign.sev9`,
    /// or an environment variable name. Empty for a TOML syntax error.
    pub path: String,
    pub message: String,
    /// The line in the file the path points at, when known.
    pub line: Option<usize>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.path.is_empty(), self.line) {
            (true, Some(line)) => write!(f, "line {line}: {}", self.message),
            (true, None) => f.write_str(&self.message),
            (false, Some(line)) => write!(f, "{}: {} (line {line})", self.path, self.message),
            (false, None) => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

/// Everything wrong with one source (the config file or the environment).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    /// What was being loaded: the file path, or `environment`.
    pub origin: String,
    /// Never empty; in file order where lines are known.
    pub problems: Vec<Problem>,
}

impl ConfigError {
    pub(super) fn single(origin: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            problems: vec![Problem {
                path: String::new(),
                message: message.into(),
                line: None,
            }],
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(
            f,
            "{}: {n} problem{}",
            self.origin,
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.problems {
            write!(f, "\n{problem}")?;
        }
        Ok(())
    }
}

/// Collects problems while the config is checked.
#[derive(Debug, Default)]
pub(super) struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    pub(super) fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.list.push(Problem {
            path: path.into(),
            message: message.into(),
            line: None,
        });
    }

    pub(super) fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Attaches line numbers and orders the problems as they appear in the file.
    pub(super) fn into_error(self, origin: &str, lines: &LineIndex) -> ConfigError {
        let mut problems = self.list;
        for problem in &mut problems {
            problem.line = lines.line_of(&problem.path);
        }
        problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
        ConfigError {
            origin: origin.to_string(),
            problems,
        }
    }
}

/// `base.key`, or `base[3]` when `key` is an index written as `[3]`.
pub(super) fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_string()
    } else if key.starts_with('[') {
        format!("{base}{key}")
    } else {
        format!("{base}.{key}")
    }
}

/// Maps key paths to the line they are written on, so a problem can say where to look.
#[derive(Debug, Default)]
pub(super) struct LineIndex {
    starts: HashMap<String, usize>,
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub(super) fn new(text: &str, table: &Spanned<DeTable<'_>>) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let mut index = Self {
            starts: HashMap::new(),
            line_starts,
        };
        index.add_table(table.get_ref(), "");
        index
    }

    /// An index that knows no paths, for text that did not parse.
    pub(super) fn for_text(text: &str) -> Self {
        Self::new(text, &Spanned::new(0..0, DeTable::new()))
    }

    fn add_table(&mut self, table: &DeTable<'_>, base: &str) {
        for (key, value) in table {
            let path = join(base, key.get_ref());
            self.starts.entry(path.clone()).or_insert(key.span().start);
            self.add_value(value, &path);
        }
    }

    fn add_value(&mut self, value: &Spanned<DeValue<'_>>, path: &str) {
        match value.get_ref() {
            DeValue::Table(table) => self.add_table(table, path),
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let item_path = format!("{path}[{i}]");
                    self.starts
                        .entry(item_path.clone())
                        .or_insert(item.span().start);
                    self.add_value(item, &item_path);
                }
            }
            _ => {}
        }
    }

    /// The line of the longest known prefix of `path` (1-based).
    fn line_of(&self, path: &str) -> Option<usize> {
        let mut candidate = path;
        loop {
            if let Some(&offset) = self.starts.get(candidate) {
                return Some(self.position(offset).0);
            }
            let cut = candidate.rfind(['.', '['])?;
            candidate = &candidate[..cut];
        }
    }

    /// 1-based line and column of a byte offset.
    pub(super) fn position(&self, offset: usize) -> (usize, usize) {
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let column = offset - self.line_starts[line.saturating_sub(1)] + 1;
        (line, column)
    }
}
