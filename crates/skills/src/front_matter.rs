//! Reading the YAML front matter of a `SKILL.md` (the block between the first line `---` and
//! the next line `---`, as Codex's loader delimits it).
//!
//! The YAML itself is read by the small parser in `yaml.rs` (see there for why).

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use crate::yaml::{parse_document, Value};

/// How much of a `SKILL.md` discovery reads first; front matter longer than this costs a
/// second read (up to [`MAX_SKILL_FILE_BYTES`]).
pub(crate) const PREFIX_BYTES: usize = 8 * 1024;
/// The largest `SKILL.md` read, for front matter or to inline it.
pub(crate) const MAX_SKILL_FILE_BYTES: usize = 256 * 1024;

pub(crate) const MISSING_FRONT_MATTER: &str = "missing YAML frontmatter delimited by ---";
pub(crate) const NOT_UTF8: &str = "failed to read file: stream did not contain valid UTF-8";

/// The front matter fields wright uses, raw (whitespace not yet collapsed).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct FrontMatter {
    pub name: Option<String>,
    pub description: Option<String>,
    pub short_description: Option<String>,
}

/// Reads only as much of the file as the front matter needs and parses it. The error is a
/// message for a [`crate::SkillError`].
pub(crate) fn read_front_matter(path: &Path) -> Result<FrontMatter, String> {
    let mut file = File::open(path).map_err(read_error)?;
    let mut buf = [0u8; PREFIX_BYTES];
    let filled = fill(&mut file, &mut buf).map_err(read_error)?;
    let complete = filled < buf.len();
    match locate(&buf[..filled], complete) {
        Located::Found(start, end) => parse_bytes(&buf[start..end]),
        Located::Unclosed if !complete => {
            // Front matter longer than the prefix is rare: only then read the rest.
            let mut whole = buf.to_vec();
            let limit = (MAX_SKILL_FILE_BYTES - PREFIX_BYTES) as u64;
            file.take(limit)
                .read_to_end(&mut whole)
                .map_err(read_error)?;
            match locate(&whole, true) {
                Located::Found(start, end) => parse_bytes(&whole[start..end]),
                _ => Err(MISSING_FRONT_MATTER.to_string()),
            }
        }
        _ => Err(MISSING_FRONT_MATTER.to_string()),
    }
}

fn read_error(error: io::Error) -> String {
    format!("failed to read file: {error}")
}

/// Reads until `buf` is full or the file ends; returns how many bytes were read.
fn fill(file: &mut File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

enum Located {
    /// Byte range of the front matter body (between the delimiter lines).
    Found(usize, usize),
    /// Opened but not closed within the bytes given.
    Unclosed,
    NotFrontMatter,
}

/// Finds the front matter in the first bytes of a file. `complete` says whether `bytes` is
/// the whole file; if not, a last line without its newline may be cut and is not trusted.
fn locate(bytes: &[u8], complete: bool) -> Located {
    // A UTF-8 byte order mark is invisible in editors; accept it rather than report "missing".
    let mut pos = if bytes.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut body_start = None;
    while pos < bytes.len() {
        let (line_end, next) = match bytes[pos..].iter().position(|&b| b == b'\n') {
            Some(offset) => (pos + offset, pos + offset + 1),
            None if complete => (bytes.len(), bytes.len()),
            None => return Located::Unclosed,
        };
        let is_delimiter = bytes[pos..line_end].trim_ascii() == b"---";
        match body_start {
            None if !is_delimiter => return Located::NotFrontMatter,
            None => body_start = Some(next),
            // Codex treats `---` directly followed by `---` as no front matter.
            Some(start) if is_delimiter && pos == start => return Located::NotFrontMatter,
            Some(start) if is_delimiter => return Located::Found(start, pos),
            Some(_) => {}
        }
        pos = next;
    }
    match body_start {
        None => Located::NotFrontMatter,
        Some(_) => Located::Unclosed,
    }
}

fn parse_bytes(bytes: &[u8]) -> Result<FrontMatter, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| NOT_UTF8.to_string())?;
    parse(text)
}

/// Parses front matter text (without the `---` lines).
pub(crate) fn parse(text: &str) -> Result<FrontMatter, String> {
    let entries = parse_document(text).map_err(|e| format!("invalid YAML: {e}"))?;
    let mut front = FrontMatter::default();
    for (key, value) in entries {
        match key.as_ref() {
            "name" => front.name = string_field("name", value)?,
            "description" => front.description = string_field("description", value)?,
            // Anything but a mapping here carries no short description; ignoring it is kinder
            // than rejecting the whole skill.
            "metadata" => {
                if let Value::Map(children) = value {
                    for (child, value) in children {
                        if child == "short-description" {
                            front.short_description =
                                string_field("metadata.short-description", value)?;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(front)
}

fn string_field(field: &str, value: Value<'_>) -> Result<Option<String>, String> {
    match value {
        Value::Null => Ok(None),
        Value::Str(text) => Ok(Some(text.into_owned())),
        Value::Map(_) => Err(format!(
            "invalid YAML: `{field}` must be a string, found a mapping"
        )),
        Value::Other(kind) => Err(format!(
            "invalid YAML: `{field}` must be a string, found a {kind}"
        )),
    }
}

#[cfg(test)]
#[path = "front_matter_tests.rs"]
mod tests;
