//! "Did you mean": the close matches of a misspelt name, found as Python's
//! `difflib.get_close_matches` finds them, since SAM's command line (click) suggests options that
//! way. Used for options on the command line and for keys in a template.

/// Up to `n` of `candidates` at least `cutoff` similar to `word`, the most similar first (ties:
/// the greater string first, as Python orders them).
pub(crate) fn close_matches<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    n: usize,
    cutoff: f64,
) -> Vec<&'a str> {
    let word: Vec<char> = word.chars().collect();
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .filter_map(|candidate| {
            let chars: Vec<char> = candidate.chars().collect();
            let score = ratio(&chars, &word);
            (score >= cutoff).then_some((score, candidate))
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| b.1.cmp(a.1)));
    scored.into_iter().take(n).map(|(_, c)| c).collect()
}

/// `SequenceMatcher(None, a, b).ratio()`: twice the matched characters over both lengths.
fn ratio(a: &[char], b: &[char]) -> f64 {
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    2.0 * small_f64(matched(a, b)) / small_f64(total)
}

/// A length as `f64` (names are far shorter than `u32::MAX`).
fn small_f64(n: usize) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Characters in difflib's matching blocks: the longest common run (the earliest in `a`, then
/// in `b`), then the same on each side of it.
fn matched(a: &[char], b: &[char]) -> usize {
    let (in_a, in_b, len) = longest_match(a, b);
    if len == 0 {
        return 0;
    }
    len + matched(&a[..in_a], &b[..in_b]) + matched(&a[in_a + len..], &b[in_b + len..])
}

fn longest_match(a: &[char], b: &[char]) -> (usize, usize, usize) {
    let (mut best_i, mut best_j, mut best) = (0, 0, 0);
    // `previous[j + 1]`: the length of the common run ending at the previous a[i] and b[j].
    let mut previous = vec![0usize; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        let mut current = vec![0usize; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            if ca == cb {
                let k = previous[j] + 1;
                current[j + 1] = k;
                if k > best {
                    (best_i, best_j, best) = (i + 1 - k, j + 1 - k, k);
                }
            }
        }
        previous = current;
    }
    (best_i, best_j, best)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expected values are Python 3.11's `difflib.get_close_matches(word, candidates)`.
    #[test]
    fn matches_what_python_difflib_finds() {
        let options = [
            "--cache-dir",
            "--cached",
            "--no-cached",
            "--parallel",
            "--profile",
            "--parameter-overrides",
            "--output",
            "--mount-with",
            "-mw",
            "--help",
        ];
        let cases: [(&str, &[&str]); 6] = [
            ("--cachd", &["--cached", "--no-cached", "--cache-dir"]),
            ("--paralel", &["--parallel", "--profile"]),
            ("--mw", &["-mw"]),
            ("--outpt", &["--output", "--mount-with"]),
            ("--parameter", &["--parameter-overrides", "--parallel"]),
            ("--frobnicate", &[]),
        ];
        for (word, expected) in cases {
            assert_eq!(close_matches(word, options, 3, 0.6), expected, "{word}");
        }
    }

    #[test]
    fn ties_put_the_greater_string_first() {
        assert_eq!(
            close_matches("ab", ["aa", "bb", "ab"], 3, 0.5),
            ["ab", "bb", "aa"]
        );
    }
}
