//! The map of `src/`, enforced: which module may use which.
//!
//! Reads every file under `src/`, resolves each `crate::…`, `super::…` and
//! `self::…` path to the module it names, and fails when
//! - a top-level module uses one in a higher layer than its own, or
//! - modules that share a parent use each other, directly or round a circle
//!   (a parent's own file using its children is how it dispatches, and is fine).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, bottom first. A module may use the modules of its own layer and
/// those below; this list is the one place the order is written down.
const LAYERS: &[(&str, &[&str])] = &[
    // The vocabulary every layer shares, the time everyone reads, the metrics everyone records.
    ("vocabulary", &["domain", "clock", "telemetry"]),
    // The `/incident` grammar and the monitoring systems' alert formats: text in,
    // typed commands and alert groups out.
    ("grammar", &["command", "alerts"]),
    // The team's process as configured, validated on load.
    ("process", &["config"]),
    // Platform-neutral messages: what warroom says, not how a platform shows it.
    ("messages", &["render"]),
    // Values the store keeps and the workers act on: queued chat operations and
    // their delivery contract, reminders, running one action, and filing an issue.
    ("work items", &["outbox", "schedule", "actions", "trackers"]),
    // Persistence: every row, on SQLite or Postgres.
    ("persistence", &["store"]),
    // Deciding: what a command or a due row means, written in one transaction.
    ("decisions", &["engine"]),
    // Background loops that lease rows and hand them to the platforms or the engine.
    ("workers", &["workers"]),
    // HTTP: status page, JSON API, health and metrics.
    ("web", &["web"]),
    // Platform adapters: Slack, Discord and the terminal (console, simulate) in,
    // chat calls out.
    ("adapters", &["slack", "discord", "console"]),
    // Wiring everything together.
    ("wiring", &["startup"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// A module path from the crate root, e.g. `["engine", "runbooks", "steps"]`.
type ModPath = Vec<String>;

struct SourceFile {
    module: ModPath,
    text: String,
}

fn source_files() -> Vec<SourceFile> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&src, &src, &mut files);
    files
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<SourceFile>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("src/ is readable")
        .map(|entry| entry.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(root, &path, files);
            continue;
        }
        if path.extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let relative = path.strip_prefix(root).expect("under src/");
        let mut module: ModPath = relative
            .with_extension("")
            .components()
            .map(|part| part.as_os_str().to_string_lossy().into_owned())
            .collect();
        match module.last().map(String::as_str) {
            // The binary is a crate of its own: it reaches the library as `warroom::`.
            Some("main") if module.len() == 1 => continue,
            Some("lib") if module.len() == 1 => module.clear(),
            Some("mod") => {
                module.pop();
            }
            _ => {}
        }
        let text = std::fs::read_to_string(&path).expect("a source file is readable");
        files.push(SourceFile { module, text });
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The text with comments and string literals blanked, so paths in prose or
/// messages are not read as uses.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == 'r' && (next == Some('#') || next == Some('"')) && !prev_is_ident(&chars, i)
        {
            let mut hashes = 0;
            let mut j = i + 1;
            while j < chars.len() && chars[j] == '#' {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (0..hashes).all(|k| chars.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' && next == Some('\\') {
            // An escaped char literal, e.g. '\n' or '\''.
            i += 2;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c == '\'' && chars.get(i + 2) == Some(&'\'') {
            i += 3;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn prev_is_ident(chars: &[char], i: usize) -> bool {
    i > 0 && is_ident_char(chars[i - 1])
}

/// Every path the code names from `crate`, `super` or `self`, with `use`
/// groups (`crate::{a, b::{c}}`) expanded, as written (not yet resolved).
fn written_paths(code: &str) -> Vec<Vec<String>> {
    let mut paths = Vec::new();
    let chars: Vec<char> = code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts = ["crate", "super", "self"].iter().find(|word| {
            let word: Vec<char> = word.chars().collect();
            chars[i..].starts_with(&word)
                && !prev_is_ident(&chars, i)
                && chars[i + word.len()..].starts_with(&[':', ':'])
        });
        match starts {
            Some(_) => {
                let (found, end) = path_tree(&chars, i);
                paths.extend(found);
                i = end.max(i + 1);
            }
            None => i += 1,
        }
    }
    paths
}

/// Reads a path, or a `use` tree, starting at `i`; returns every full path and
/// where the reading stopped.
fn path_tree(chars: &[char], mut i: usize) -> (Vec<Vec<String>>, usize) {
    let mut prefix = Vec::new();
    loop {
        let start = i;
        while i < chars.len() && is_ident_char(chars[i]) {
            i += 1;
        }
        if i > start {
            prefix.push(chars[start..i].iter().collect::<String>());
        }
        let rest = &chars[i..];
        if rest.starts_with(&[':', ':']) {
            i += 2;
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            if chars.get(i) == Some(&'{') {
                i += 1;
                let mut all = Vec::new();
                loop {
                    while i < chars.len() && (chars[i].is_whitespace() || chars[i] == ',') {
                        i += 1;
                    }
                    if i >= chars.len() || chars[i] == '}' {
                        i += 1;
                        break;
                    }
                    let (inner, end) = path_tree(chars, i);
                    for tail in inner {
                        let mut full = prefix.clone();
                        full.extend(tail);
                        all.push(full);
                    }
                    i = end;
                    // Skip an `as name` rename or anything else up to the next item.
                    while i < chars.len() && chars[i] != ',' && chars[i] != '}' {
                        i += 1;
                    }
                }
                return (all, i);
            }
            continue;
        }
        return (vec![prefix], i);
    }
}

/// The module a written path leads to: the longest prefix that is a module.
///
/// `super` in `a/b.rs` and in `a/b/mod.rs` alike means `a`: both are module `a::b`.
fn resolve(from: &ModPath, written: &[String], modules: &BTreeSet<ModPath>) -> ModPath {
    let mut base: ModPath = Vec::new();
    let mut rest = written;
    match written.first().map(String::as_str) {
        Some("crate") => rest = &written[1..],
        Some("self") => {
            base = from.clone();
            rest = &written[1..];
        }
        Some("super") => {
            base = from.clone();
            while rest.first().map(String::as_str) == Some("super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        _ => {}
    }
    let mut module = base;
    for part in rest {
        let mut longer = module.clone();
        longer.push(part.clone());
        if modules.contains(&longer) {
            module = longer;
        } else {
            break;
        }
    }
    module
}

/// Who uses whom, as edges between the modules that share a parent.
fn sibling_edges() -> BTreeMap<ModPath, BTreeSet<(String, String)>> {
    let files = source_files();
    let modules: BTreeSet<ModPath> = files.iter().map(|file| file.module.clone()).collect();
    let mut edges: BTreeMap<ModPath, BTreeSet<(String, String)>> = BTreeMap::new();
    for file in &files {
        let code = code_only(&file.text);
        for written in written_paths(&code) {
            let target = resolve(&file.module, &written, &modules);
            let common = file
                .module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            // One is inside the other: a parent and its own children.
            if common == file.module.len() || common == target.len() {
                continue;
            }
            edges
                .entry(file.module[..common].to_vec())
                .or_default()
                .insert((file.module[common].clone(), target[common].clone()));
        }
    }
    edges
}

#[test]
fn every_top_level_module_is_in_a_layer() {
    let unplaced: Vec<String> = source_files()
        .into_iter()
        .filter_map(|file| file.module.first().cloned())
        .filter(|module| layer_of(module).is_none())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(
        unplaced.is_empty(),
        "modules missing from LAYERS: {unplaced:?}"
    );
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let edges = sibling_edges();
    let upward: Vec<String> = edges
        .get(&Vec::new())
        .into_iter()
        .flatten()
        .filter(|(from, to)| match (layer_of(from), layer_of(to)) {
            (Some(from), Some(to)) => to > from,
            _ => false,
        })
        .map(|(from, to)| format!("{from} -> {to}"))
        .collect();
    assert!(upward.is_empty(), "uses of a higher layer: {upward:#?}");
}

#[test]
fn modules_that_share_a_parent_never_use_each_other_in_a_circle() {
    let mut circles = Vec::new();
    for (parent, edges) in sibling_edges() {
        let mut graph: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (from, to) in &edges {
            graph.entry(from).or_default().insert(to);
        }
        for start in graph.keys() {
            if let Some(circle) = circle_from(&graph, start) {
                let place = if parent.is_empty() {
                    "crate".to_string()
                } else {
                    parent.join("::")
                };
                circles.push(format!("in {place}: {}", circle.join(" -> ")));
            }
        }
    }
    assert!(circles.is_empty(), "modules using each other: {circles:#?}");
}

/// A path from `start` back to itself, if there is one.
fn circle_from<'a>(
    graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
    start: &'a str,
) -> Option<Vec<&'a str>> {
    let mut stack = vec![(start, vec![start])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for &next in graph.get(at).into_iter().flatten() {
            if next == start {
                let mut circle = path.clone();
                circle.push(start);
                return Some(circle);
            }
            if seen.insert(next) {
                let mut longer = path.clone();
                longer.push(next);
                stack.push((next, longer));
            }
        }
    }
    None
}

#[test]
fn the_reader_finds_uses_in_groups_and_ignores_prose() {
    let code = code_only(
        "use crate::{domain::{A, B}, render};\n// crate::engine in a comment\nlet s = \"crate::web\";\nsuper::super::x::y();",
    );
    let paths = written_paths(&code);
    let shown: Vec<String> = paths.iter().map(|path| path.join("::")).collect();
    assert_eq!(
        shown,
        [
            "crate::domain::A",
            "crate::domain::B",
            "crate::render",
            "super::super::x::y"
        ]
    );
}
