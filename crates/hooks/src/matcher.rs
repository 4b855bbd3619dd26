//! A matcher group's `matcher`: which tool calls (or session sources, or compact triggers) a
//! hook applies to, with Codex's rules:
//!
//! * absent, `""` or `"*"`: everything;
//! * only letters, digits, `_` and `|` (`Bash`, `Edit|Write`, `mcp__memory__create`): exact
//!   names, `|`-separated, so `Bash` does not catch `BashOutput`;
//! * anything else: a regular expression searched anywhere in the name (`^Bash`,
//!   `mcp__.*__write.*`), so anchor it to match a whole name.
//!
//! The pattern is compiled once, when the config is read. An invalid one is reported as a
//! warning by the caller and the hook then never matches: a typo must not widen a hook to
//! every tool.

use regex::Regex;

/// A compiled matcher.
#[derive(Debug, Clone)]
pub struct Matcher(Kind);

#[derive(Debug, Clone)]
enum Kind {
    All,
    Exact(Vec<String>),
    Regex(Regex),
    Invalid,
}

/// Why a pattern could not be compiled.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid matcher {pattern:?}: {message}")]
pub struct MatcherError {
    pub pattern: String,
    pub message: String,
}

impl Matcher {
    /// The matcher that selects everything (no `matcher`, or an event without matchers).
    pub fn all() -> Matcher {
        Matcher(Kind::All)
    }

    /// Compiles `pattern` (`None`: no matcher configured).
    pub fn compile(pattern: Option<&str>) -> Result<Matcher, MatcherError> {
        let Some(pattern) = pattern else {
            return Ok(Matcher::all());
        };
        if pattern.is_empty() || pattern == "*" {
            return Ok(Matcher::all());
        }
        if pattern
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '|')
        {
            return Ok(Matcher(Kind::Exact(
                pattern.split('|').map(str::to_owned).collect(),
            )));
        }
        Regex::new(pattern)
            .map(|regex| Matcher(Kind::Regex(regex)))
            .map_err(|err| MatcherError {
                pattern: pattern.to_owned(),
                message: err.to_string(),
            })
    }

    /// Compiles `pattern`, turning an invalid one into a matcher that never matches plus the
    /// error to report.
    pub fn compile_or_never(pattern: Option<&str>) -> (Matcher, Option<MatcherError>) {
        match Matcher::compile(pattern) {
            Ok(matcher) => (matcher, None),
            Err(err) => (Matcher(Kind::Invalid), Some(err)),
        }
    }

    /// Whether the hook applies to `input` (the tool name, session source or compact trigger;
    /// `None` when the event carries none, which only a match-everything matcher accepts).
    pub fn is_match(&self, input: Option<&str>) -> bool {
        match (&self.0, input) {
            (Kind::All, _) => true,
            (Kind::Exact(names), Some(input)) => names.iter().any(|name| name == input),
            (Kind::Regex(regex), Some(input)) => regex.is_match(input),
            (Kind::Exact(_) | Kind::Regex(_), None) | (Kind::Invalid, _) => false,
        }
    }

    /// Whether the pattern failed to compile (such a hook never runs).
    pub fn is_invalid(&self) -> bool {
        matches!(self.0, Kind::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(pattern: Option<&str>, input: &str) -> bool {
        Matcher::compile(pattern)
            .map(|m| m.is_match(Some(input)))
            .unwrap_or(false)
    }

    #[test]
    fn empty_star_and_absent_match_everything() {
        for pattern in [None, Some(""), Some("*")] {
            assert!(matches(pattern, "Bash"));
            assert!(matches(pattern, "apply_patch"));
        }
        assert!(Matcher::all().is_match(None));
    }

    #[test]
    fn plain_names_are_exact_with_pipe_alternatives() {
        assert!(matches(Some("Bash"), "Bash"));
        assert!(!matches(Some("Bash"), "BashOutput"));
        assert!(matches(Some("Edit|Write"), "Write"));
        assert!(!matches(Some("Edit|Write"), "Bash"));
        assert!(!matches(
            Some("mcp__memory"),
            "mcp__memory__create_entities"
        ));
    }

    #[test]
    fn other_patterns_are_unanchored_regexes() {
        assert!(matches(Some("^Bash"), "BashOutput"));
        assert!(!matches(Some("^Bash$"), "BashOutput"));
        assert!(matches(Some("mcp__.*__write.*"), "mcp__fs__write_file"));
        assert!(!matches(Some("mcp__.*__write.*"), "mcp__fs__read_file"));
    }

    #[test]
    fn named_matchers_need_an_input() {
        assert!(!Matcher::compile(Some("Bash"))
            .map(|m| m.is_match(None))
            .unwrap_or(true));
    }

    #[test]
    fn invalid_pattern_is_an_error_and_never_matches() {
        assert!(Matcher::compile(Some("[")).is_err());
        let (matcher, err) = Matcher::compile_or_never(Some("["));
        assert!(err.is_some());
        assert!(matcher.is_invalid());
        assert!(!matcher.is_match(Some("[")));
        assert!(!matcher.is_match(None));
    }
}
