//! Locating a chunk's old lines inside a file.
//!
//! Models reproduce context imperfectly (trailing spaces, re-indented code,
//! typographic punctuation), so matching runs in passes of increasing
//! tolerance. Each pass scans the whole search range before the next, looser
//! pass starts, so an exact match later in the file wins over a fuzzy match
//! earlier in it.

type LineEq = fn(&str, &str) -> bool;

const PASSES: [LineEq; 4] = [
    |a, b| a == b,
    |a, b| a.trim_end() == b.trim_end(),
    |a, b| a.trim() == b.trim(),
    |a, b| normalise(a) == normalise(b),
];

/// Returns the index at which `pattern` occurs in `lines`, searching from
/// `start`. With `eof`, only a match ending exactly at the end of the file counts.
pub(super) fn seek_sequence(
    lines: &[String],
    pattern: &[String],
    start: usize,
    eof: bool,
) -> Option<usize> {
    if pattern.is_empty() {
        return Some(start.min(lines.len()));
    }
    let last_start = lines.len().checked_sub(pattern.len())?;
    let range = if eof {
        if last_start < start {
            return None;
        }
        last_start..=last_start
    } else {
        if start > last_start {
            return None;
        }
        start..=last_start
    };
    PASSES.iter().find_map(|eq| {
        range.clone().find(|&i| {
            lines[i..i + pattern.len()]
                .iter()
                .zip(pattern)
                .all(|(line, expected)| eq(line, expected))
        })
    })
}

/// Finds the `@@` anchor line. Besides the usual passes, a line that merely
/// contains the anchor counts (models write `@@ def foo` for `def foo(x):`),
/// but only when no line matches it as a whole.
pub(super) fn seek_context(lines: &[String], context: &str, start: usize) -> Option<usize> {
    seek_sequence(
        lines,
        std::slice::from_ref(&context.to_string()),
        start,
        false,
    )
    .or_else(|| {
        let needle = normalise(context);
        if needle.is_empty() {
            return None;
        }
        lines
            .iter()
            .enumerate()
            .skip(start)
            .find(|(_, line)| normalise(line).contains(&needle))
            .map(|(i, _)| i)
    })
}

/// Trims and maps the punctuation that editors and models like to "beautify"
/// onto its ASCII equivalent.
fn normalise(s: &str) -> String {
    s.trim()
        .chars()
        .map(|c| match c {
            '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{2014}' | '\u{2015}'
            | '\u{2212}' => '-',
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' => '\'',
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' => '"',
            '\u{00A0}' | '\u{2002}' | '\u{2003}' | '\u{2004}' | '\u{2005}' | '\u{2006}'
            | '\u{2007}' | '\u{2008}' | '\u{2009}' | '\u{200A}' | '\u{202F}' | '\u{205F}'
            | '\u{3000}' => ' ',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(lines: &[&str]) -> Vec<String> {
        lines.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn prefers_exact_match_over_earlier_fuzzy_match() {
        let lines = v(&["foo  ", "bar", "foo"]);
        assert_eq!(seek_sequence(&lines, &v(&["foo"]), 0, false), Some(2));
    }

    #[test]
    fn passes_of_increasing_tolerance() {
        let lines = v(&["  a = 1;   ", "\tb\u{2014}c \u{201C}q\u{201D}"]);
        assert_eq!(seek_sequence(&lines, &v(&["  a = 1;"]), 0, false), Some(0));
        assert_eq!(seek_sequence(&lines, &v(&["a = 1;"]), 0, false), Some(0));
        assert_eq!(seek_sequence(&lines, &v(&["b-c \"q\""]), 0, false), Some(1));
        assert_eq!(seek_sequence(&lines, &v(&["b-d"]), 0, false), None);
    }

    #[test]
    fn eof_only_matches_at_the_end_and_respects_start() {
        let lines = v(&["x", "y", "x"]);
        assert_eq!(seek_sequence(&lines, &v(&["x"]), 0, true), Some(2));
        assert_eq!(seek_sequence(&lines, &v(&["y"]), 0, true), None);
        assert_eq!(seek_sequence(&lines, &v(&["x"]), 3, false), None);
        assert_eq!(
            seek_sequence(&lines, &v(&["x", "y", "x", "z"]), 0, false),
            None
        );
    }
}
