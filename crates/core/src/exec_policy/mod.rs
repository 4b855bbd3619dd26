//! Rules on commands (`$WRIGHT_HOME/rules/*.toml`) and the reading of shell scripts they need.
//!
//! ```toml
//! [[rule]]
//! prefix = ["git", "push"]
//! decision = "forbid"          # allow | prompt | forbid
//! justification = "pushing is for people"
//! ```
//! A command line is read into every command it can run (`a && b | c` is three; wrappers
//! such as `env`, `timeout`, `xargs`, `find -exec`, `sh -c`, `eval` and git aliases are seen
//! through, see [`expand_argv`]); each is matched, and the strictest decision of any match
//! wins. `forbid` holds in every sandbox mode. `allow` only counts when it covers every
//! command that runs, exactly. A line that cannot be read, or that runs inline code
//! (`python3 -c`), is opaque: when any rule could restrict it, it is treated as `prompt`.
//!
//! These rules and the known-safe list are a convenience, not a boundary: a program can run
//! anything its files or configuration say. The sandbox is what confines commands.

mod inline_code;
mod options;
mod runners;
mod safe;
mod safe_git;
mod script;
mod wrappers;
mod wrappers_git;

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub use inline_code::runs_inline_code;
pub use safe::{
    is_known_safe_argv, is_known_safe_argv_in, is_known_safe_script, top_level_commands,
};
pub use script::{base_name, parse_script, simple_commands, Word};
pub use wrappers::{expand_argv, expand_script, expand_words, Cmd, Role};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Prompt,
    Forbid,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub prefix: Vec<String>,
    pub decision: Decision,
    #[serde(default)]
    pub justification: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rule: Vec<Rule>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecPolicy {
    pub rules: Vec<Rule>,
}

#[derive(Debug, thiserror::Error)]
#[error("exec policy {path}: {message}")]
pub struct RulesError {
    pub path: PathBuf,
    pub message: String,
}

impl ExecPolicy {
    /// Whether any rule can stop or hold a command (then an unreadable script must not pass).
    pub fn restricts(&self) -> bool {
        self.rules.iter().any(|r| r.decision != Decision::Allow)
    }

    /// Reads every `*.toml` in `dir` (absent is fine). A file that does not parse is an error,
    /// not a warning: a mistyped `forbid` must not silently allow what it meant to stop.
    pub fn load(dir: &Path) -> Result<ExecPolicy, RulesError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(RulesError {
                    path: dir.to_path_buf(),
                    message: e.to_string(),
                })
            }
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        let mut rules = Vec::new();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| RulesError {
                path: path.clone(),
                message: e.to_string(),
            })?;
            let file: RulesFile = toml::from_str(&text).map_err(|e| RulesError {
                path: path.clone(),
                message: e.to_string(),
            })?;
            for rule in &file.rule {
                if rule.prefix.is_empty() {
                    return Err(RulesError {
                        path: path.clone(),
                        message: "a rule has an empty `prefix`".into(),
                    });
                }
            }
            rules.extend(file.rule);
        }
        Ok(ExecPolicy { rules })
    }

    /// The rule that decides for a command line's commands (from [`analyze`]): the strictest
    /// `forbid` or `prompt` rule matching any of them; failing that, an `allow` rule, but only
    /// when every command that runs is allowed by one (and none is altered, see [`Cmd`]).
    pub fn evaluate(&self, commands: &[Cmd]) -> Option<&Rule> {
        let strictest = commands
            .iter()
            .flat_map(|cmd| {
                self.rules
                    .iter()
                    .filter(move |r| r.decision != Decision::Allow && restricts_cmd(&r.prefix, cmd))
            })
            .max_by_key(|r| r.decision);
        if strictest.is_some() {
            return strictest;
        }
        let mut runs = commands.iter().filter(|c| c.role == Role::Runs).peekable();
        runs.peek()?;
        let mut first = None;
        for cmd in runs {
            let rule = self
                .rules
                .iter()
                .find(|r| r.decision == Decision::Allow && allows_cmd(&r.prefix, cmd))?;
            first.get_or_insert(rule);
        }
        first
    }
}

impl ExecPolicy {
    /// Whether every top-level command of `argv` is either known safe or allowed by a rule
    /// (`cargo test && ls`): what `untrusted` runs without asking. Restricting rules are
    /// checked separately ([`ExecPolicy::evaluate`]).
    pub fn covers(&self, argv: &[String], user_shell: Option<&str>) -> bool {
        let Some(commands) = top_level_commands(argv, user_shell) else {
            return false;
        };
        !commands.is_empty()
            && commands.into_iter().all(|words| {
                safe::safe_command(&words)
                    || expand_words(words).is_some_and(|cmds| {
                        self.evaluate(&cmds)
                            .is_some_and(|r| r.decision == Decision::Allow)
                    })
            })
    }
}

/// A command word against a rule word; a glob may expand to anything.
fn word_matches(rule_word: &str, word: &Word) -> bool {
    word.text == rule_word || (word.glob && glob_may_match(&word.text, rule_word))
}

/// Whether a restricting rule holds a command: loosely (the program by its name alone, globs
/// as wildcards, open commands by what is shown, unknown programs at any word).
fn restricts_cmd(prefix: &[String], cmd: &Cmd) -> bool {
    let Some(program) = prefix.first() else {
        return false;
    };
    // Case-insensitive file systems run `GIT` as `git`.
    let program_matches = |w: &Word| {
        base_name(&w.text).eq_ignore_ascii_case(program)
            || word_matches(program, w)
            || (w.glob && glob_may_match(base_name(&w.text), program))
    };
    let Some(first) = cmd.words.first() else {
        return false;
    };
    let at_start = program_matches(first)
        && prefix[1..]
            .iter()
            .enumerate()
            .all(|(i, p)| match cmd.words.get(i + 1) {
                Some(w) => word_matches(p, w),
                None => cmd.open,
            });
    // An unknown program may run some of its words as a command, rearranged (`parallel git
    // ::: push`): the rule's words in order anywhere after its program.
    let inside = || {
        cmd.words.iter().enumerate().skip(1).any(|(at, w)| {
            if !program_matches(w) {
                return false;
            }
            let mut rest = cmd.words[at + 1..].iter();
            prefix[1..].iter().all(|p| rest.any(|w| word_matches(p, w)))
        })
    };
    at_start || (cmd.scan && inside())
}

/// Whether an `allow` rule covers a command: exactly (the program as written, no globs, no
/// assignments, wrapper options or global options altering it, no arguments from `xargs`).
fn allows_cmd(prefix: &[String], cmd: &Cmd) -> bool {
    cmd.role == Role::Runs
        && !cmd.altered
        && !cmd.open
        && cmd.words.len() >= prefix.len()
        && prefix
            .iter()
            .zip(&cmd.words)
            .all(|(p, w)| !w.glob && w.text == *p)
}

/// Whether a shell pattern could match `text` (`[...]` counts as any one character). Linear
/// in practice: `*` backtracks to the last star only.
fn glob_may_match(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Star,
        One,
        Lit(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                if toks.last() != Some(&Tok::Star) {
                    toks.push(Tok::Star);
                }
            }
            '?' => toks.push(Tok::One),
            '[' if pattern.contains(']') => {
                for c in chars.by_ref() {
                    if c == ']' {
                        break;
                    }
                }
                toks.push(Tok::One);
            }
            c => toks.push(Tok::Lit(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match toks.get(p) {
            Some(Tok::Star) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Tok::One) => {
                p += 1;
                t += 1;
            }
            Some(Tok::Lit(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[p..].iter().all(|t| *t == Tok::Star)
}

/// What the policy makes of one command line.
#[derive(Debug, Clone)]
pub struct Analysis {
    /// Every command the line can run (see [`expand_argv`]); `None` when it cannot be read.
    pub commands: Option<Vec<Cmd>>,
    /// Known safe: runs without asking under `untrusted`.
    pub known_safe: bool,
}

impl Analysis {
    /// The line cannot be read, or runs code given inline: the rules cannot see what it does.
    pub fn opaque(&self) -> bool {
        self.commands
            .as_ref()
            .is_none_or(|c| c.iter().any(|c| c.inline_code))
    }
}

/// Reads a command line (`argv`, typically `bash -lc 'script'`); `user_shell` is the shell
/// the tool itself runs scripts with (trusted wherever it lives).
pub fn analyze(argv: &[String], user_shell: Option<&str>) -> Analysis {
    Analysis {
        commands: expand_argv(argv),
        known_safe: is_known_safe_argv_in(argv, user_shell),
    }
}

/// What "accept for this session" remembers for one command: the program as written and its
/// subcommand (`git status`, `cargo test`), or, when the second word is an option or the
/// command runs inline code (`uv run python -c ...`), the whole command. `None` when the command cannot be remembered because something on the line
/// changes its meaning (assignments, `sudo`/`env` options, git global options or aliases,
/// config injection), more words may follow (`xargs`), or a glob may expand differently.
pub fn session_key(cmd: &Cmd) -> Option<Vec<String>> {
    if cmd.role != Role::Runs || cmd.altered || cmd.open || cmd.words.iter().any(|w| w.glob) {
        return None;
    }
    let words = cmd.texts();
    match words.get(1) {
        // Inline code is remembered whole: approving one snippet approves no other.
        Some(sub) if !sub.starts_with('-') && !cmd.inline_code => Some(words[..2].to_vec()),
        _ => Some(words),
    }
}

/// The session keys of every command a line runs; `None` unless all have one.
pub fn session_keys(commands: &[Cmd]) -> Option<Vec<Vec<String>>> {
    let keys: Option<Vec<_>> = commands
        .iter()
        .filter(|c| c.role == Role::Runs)
        .map(session_key)
        .collect();
    keys.filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests;
