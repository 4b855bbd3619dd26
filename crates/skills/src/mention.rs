//! `$name` mentions in a user message and the `<skill>` message that inlines a mentioned
//! skill, parsed and formatted as Codex does (`core-skills/src/injection.rs`,
//! `instructions/src/user_instructions.rs`).

use std::fs::File;
use std::io::Read;

use crate::front_matter::{MAX_SKILL_FILE_BYTES, NOT_UTF8};
use crate::model::{Skill, SkillError};

const SIGIL: u8 = b'$';
/// Codex accepts a path link to a skill with this scheme as well as a bare path.
const SKILL_SCHEME: &str = "skill://";

/// The enabled skills a user message mentions, in the order of `skills`.
///
/// A mention is `$` followed by a run of `[A-Za-z0-9_:-]`; the whole run is the name, so
/// `$lint` in `$linter` does not mention `lint`. Like Codex, nothing is required before the
/// `$` and there is no escape (`$$lint` mentions `lint`). Runs spelling a common environment
/// variable (`$PATH`, `$HOME`, `$USER`, `$SHELL`, `$PWD`, `$TMPDIR`, `$TEMP`, `$TMP`, `$LANG`,
/// `$TERM`, `$XDG_CONFIG_HOME`, any case) are not mentions. A link `[$name](path)` selects
/// the skill whose `SKILL.md` is `path` (optionally `skill://path`) and not by name. A name
/// matches only when exactly one enabled skill has it. Each skill is returned once.
pub fn mentioned<'a>(text: &str, skills: &'a [Skill]) -> Vec<&'a Skill> {
    let mentions = Mentions::parse(text);
    let mut selected: Vec<&'a Skill> = Vec::new();
    if mentions.names.is_empty() && mentions.paths.is_empty() {
        return selected;
    }
    let enabled = || skills.iter().filter(|skill| skill.enabled);
    // Links name an exact file, so they are taken first.
    for skill in enabled() {
        let path = skill.path.to_string_lossy();
        if mentions.paths.iter().any(|linked| *linked == path) {
            selected.push(skill);
        }
    }
    for skill in enabled() {
        if !mentions.names.contains(&skill.name.as_str())
            || selected
                .iter()
                .any(|chosen| chosen.path == skill.path || chosen.name == skill.name)
        {
            continue;
        }
        if enabled().filter(|other| other.name == skill.name).count() == 1 {
            selected.push(skill);
        }
    }
    selected
}

/// What one message mentions: plain `$name`s and the paths of `[$name](path)` links.
struct Mentions<'t> {
    names: Vec<&'t str>,
    paths: Vec<&'t str>,
}

impl<'t> Mentions<'t> {
    fn parse(text: &'t str) -> Self {
        let bytes = text.as_bytes();
        let mut mentions = Mentions {
            names: Vec::new(),
            paths: Vec::new(),
        };
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'[' {
                if let Some((name, path, end)) = parse_link(text, i) {
                    if !is_common_env_var(name) {
                        let path = path.strip_prefix(SKILL_SCHEME).unwrap_or(path);
                        mentions.paths.push(path);
                    }
                    i = end;
                    continue;
                }
            }
            if bytes[i] != SIGIL {
                i += 1;
                continue;
            }
            let end = name_end(bytes, i + 1);
            if end == i + 1 {
                i += 1;
                continue;
            }
            let name = &text[i + 1..end];
            if !is_common_env_var(name) && !mentions.names.contains(&name) {
                mentions.names.push(name);
            }
            i = end;
        }
        mentions
    }
}

fn is_name_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b':')
}

/// The end of the run of name bytes starting at `start`.
fn name_end(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|&b| !is_name_byte(b))
        .map_or(bytes.len(), |offset| start + offset)
}

/// Parses `[$name](path)` at `start` (whitespace allowed between `]` and `(`); returns the
/// name, the trimmed path and the index after `)`.
fn parse_link(text: &str, start: usize) -> Option<(&str, &str, usize)> {
    let bytes = text.as_bytes();
    if bytes.get(start + 1) != Some(&SIGIL) {
        return None;
    }
    let name_start = start + 2;
    let name_end = name_end(bytes, name_start);
    if name_end == name_start || bytes.get(name_end) != Some(&b']') {
        return None;
    }
    let mut open = name_end + 1;
    while bytes.get(open).is_some_and(u8::is_ascii_whitespace) {
        open += 1;
    }
    if bytes.get(open) != Some(&b'(') {
        return None;
    }
    let close = open + 1 + bytes[open + 1..].iter().position(|&b| b == b')')?;
    let path = text[open + 1..close].trim();
    if path.is_empty() {
        return None;
    }
    Some((&text[name_start..name_end], path, close + 1))
}

fn is_common_env_var(name: &str) -> bool {
    const NAMES: [&str; 11] = [
        "PATH",
        "HOME",
        "USER",
        "SHELL",
        "PWD",
        "TMPDIR",
        "TEMP",
        "TMP",
        "LANG",
        "TERM",
        "XDG_CONFIG_HOME",
    ];
    NAMES.iter().any(|known| known.eq_ignore_ascii_case(name))
}

/// The text Codex sends (as a user message) for a mentioned skill: its whole `SKILL.md`
/// wrapped as
///
/// ```text
/// <skill>
/// <name>{name}</name>
/// <path>{path}</path>
/// {contents of SKILL.md}
/// </skill>
/// ```
///
/// Files over 256 KiB or not UTF-8 are refused with a [`SkillError`] rather than cut.
pub fn inline(skill: &Skill) -> Result<String, SkillError> {
    let error = |message: String| SkillError {
        path: skill.path.clone(),
        message,
    };
    let file = File::open(&skill.path).map_err(|e| error(format!("failed to read file: {e}")))?;
    let mut bytes = Vec::new();
    file.take(MAX_SKILL_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| error(format!("failed to read file: {e}")))?;
    if bytes.len() > MAX_SKILL_FILE_BYTES {
        return Err(error(format!(
            "SKILL.md is larger than {} KiB, too large to add to the conversation",
            MAX_SKILL_FILE_BYTES / 1024
        )));
    }
    let contents = String::from_utf8(bytes).map_err(|_| error(NOT_UTF8.to_string()))?;
    Ok(format!(
        "<skill>\n<name>{}</name>\n<path>{}</path>\n{}\n</skill>",
        skill.name,
        skill.path.to_string_lossy(),
        contents
    ))
}

#[cfg(test)]
#[path = "mention_tests.rs"]
mod tests;
