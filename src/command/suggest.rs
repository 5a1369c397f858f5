//! Did-you-mean: the valid word nearest to a mistyped one, by edit distance.

/// The candidate `word` most likely meant, if it is close enough and a clear winner.
///
/// Distance counts insertions, deletions, substitutions and swaps of neighbours
/// (`stauts` → `status` is one). Ties go to the candidate of the same length, then
/// to one with the same first letter; a tie left after that (`sev9` among `sev1` …
/// `sev4`) suggests nothing rather than guessing.
pub fn nearest<'c>(word: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let word: Vec<char> = word.to_lowercase().chars().collect();
    let allowed = match word.len() {
        0 => return None,
        1..=4 => 1,
        5..=8 => 2,
        _ => 3,
    };
    let mut best: Option<(Rank, &'c str)> = None;
    let mut tied = false;
    for candidate in candidates {
        let lowered: Vec<char> = candidate.to_lowercase().chars().collect();
        if best.is_some_and(|(_, seen)| seen.eq_ignore_ascii_case(candidate)) {
            continue;
        }
        let Some(distance) = distance(&word, &lowered, allowed) else {
            continue;
        };
        if distance >= lowered.len() {
            continue;
        }
        let rank = Rank {
            distance,
            length_differs: lowered.len() != word.len(),
            first_differs: lowered.first() != word.first(),
        };
        match best {
            Some((best_rank, _)) if rank > best_rank => {}
            Some((best_rank, _)) if rank == best_rank => tied = true,
            _ => {
                best = Some((rank, candidate));
                tied = false;
            }
        }
    }
    best.filter(|_| !tied).map(|(_, candidate)| candidate)
}

/// Closer first: fewer edits, then same length, then same first letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    distance: usize,
    length_differs: bool,
    first_differs: bool,
}

/// Optimal-string-alignment distance, or `None` once it must exceed `limit`
/// (which also keeps a 10 kB word from costing more than a glance).
/// The table is `(a + 1) × (b + 1)` and every index stays inside it by construction.
fn distance(a: &[char], b: &[char], limit: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let width = b.len() + 1;
    let mut rows = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for j in 0..width {
        rows[at(0, j)] = j;
    }
    for (i, &ca) in a.iter().enumerate() {
        let i = i + 1;
        rows[at(i, 0)] = i;
        for (j, &cb) in b.iter().enumerate() {
            let j = j + 1;
            let cost = usize::from(ca != cb);
            let mut d = (rows[at(i - 1, j)] + 1)
                .min(rows[at(i, j - 1)] + 1)
                .min(rows[at(i - 1, j - 1)] + cost);
            if i > 1 && j > 1 && a.get(i - 1) == b.get(j - 2) && a.get(i - 2) == b.get(j - 1) {
                d = d.min(rows[at(i - 2, j - 2)] + 1);
            }
            rows[at(i, j)] = d;
        }
    }
    let d = rows[at(a.len(), b.len())];
    (d <= limit).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn distance_counts_swaps_as_one_edit() {
        assert_eq!(distance(&chars("stauts"), &chars("status"), 3), Some(1));
        assert_eq!(
            distance(&chars("comander"), &chars("commander"), 3),
            Some(1)
        );
        assert_eq!(distance(&chars("kitten"), &chars("sitting"), 3), Some(3));
        assert_eq!(distance(&chars("kitten"), &chars("sitting"), 2), None);
        assert_eq!(distance(&chars(""), &chars("ab"), 2), Some(2));
    }

    #[test]
    fn suggests_only_a_clear_and_close_winner() {
        let subcommands = ["status", "stats", "severity", "ack", "actions"];
        assert_eq!(nearest("stauts", subcommands), Some("status"));
        assert_eq!(nearest("STAT", subcommands), Some("stats"));
        assert_eq!(nearest("akc", subcommands), Some("ack"));
        assert_eq!(nearest("checkout", subcommands), None);
        assert_eq!(nearest("", subcommands), None);
        assert_eq!(nearest("sev9", ["sev1", "sev2", "sev3", "sev4"]), None);
        assert_eq!(
            nearest("sevv1", ["sev1", "sev2", "sev3", "sev4"]),
            Some("sev1")
        );
        assert_eq!(nearest(&"x".repeat(10_000), subcommands), None);
    }
}
