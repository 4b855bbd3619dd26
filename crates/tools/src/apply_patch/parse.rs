//! Parser for the Codex `apply_patch` envelope format.
//!
//! The parser follows Codex's grammar but is deliberately lenient about the
//! things models routinely get wrong (heredoc wrappers, stray whitespace around
//! markers, blank lines without their leading space, unified-diff style `@@`
//! headers), because a rejected patch costs a whole model turn.

use std::path::PathBuf;

use super::{Hunk, Patch, PatchError, UpdateChunk};

const BEGIN_PATCH: &str = "*** Begin Patch";
const END_PATCH: &str = "*** End Patch";
const ADD_FILE: &str = "*** Add File: ";
const DELETE_FILE: &str = "*** Delete File: ";
const UPDATE_FILE: &str = "*** Update File: ";
const MOVE_TO: &str = "*** Move to: ";
const END_OF_FILE: &str = "*** End of File";
const CONTEXT_MARKER: &str = "@@";

const VALID_HEADERS: &str = "Valid hunk headers: '*** Add File: {path}', '*** Delete File: {path}', '*** Update File: {path}'";

/// A patch line together with its 1-based line number in the text the model sent,
/// so error messages point at the line the model actually wrote.
type Line<'a> = (usize, &'a str);

pub fn parse_patch(text: &str) -> Result<Patch, PatchError> {
    let all: Vec<Line<'_>> = text.lines().enumerate().map(|(i, l)| (i + 1, l)).collect();
    let mut lines = trim_blank_lines(&all);
    if let Some(inner) = strip_heredoc(lines) {
        lines = trim_blank_lines(inner);
    }

    match lines.first() {
        Some((_, first)) if first.trim() == BEGIN_PATCH => {}
        _ => {
            return Err(PatchError::InvalidPatch(
                "The first line of the patch must be '*** Begin Patch'".to_string(),
            ))
        }
    }
    match lines.last() {
        Some((_, last)) if lines.len() >= 2 && last.trim() == END_PATCH => {}
        _ => {
            return Err(PatchError::InvalidPatch(
                "The last line of the patch must be '*** End Patch'".to_string(),
            ))
        }
    }

    let body = &lines[1..lines.len() - 1];
    let mut hunks = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let (line_number, raw) = body[i];
        let header = raw.trim();
        if header.is_empty() {
            i += 1;
            continue;
        }
        if let Some(path) = header_path(header, ADD_FILE) {
            i += 1;
            let mut contents = String::new();
            while i < body.len() {
                let line = body[i].1;
                if let Some(rest) = line.strip_prefix('+') {
                    contents.push_str(rest);
                    contents.push('\n');
                    i += 1;
                } else if line.trim().is_empty() && next_non_blank_starts_with_plus(&body[i..]) {
                    // Models often drop the '+' on blank lines inside a new file.
                    contents.push('\n');
                    i += 1;
                } else {
                    break;
                }
            }
            hunks.push(Hunk::Add {
                path: PathBuf::from(path),
                contents,
            });
        } else if let Some(path) = header_path(header, DELETE_FILE) {
            i += 1;
            hunks.push(Hunk::Delete {
                path: PathBuf::from(path),
            });
        } else if let Some(path) = header_path(header, UPDATE_FILE) {
            i += 1;
            let mut move_to = None;
            if let Some((move_line, raw_move)) = body.get(i).copied() {
                let trimmed = raw_move.trim();
                if let Some(dest) = header_path(trimmed, MOVE_TO) {
                    move_to = Some(PathBuf::from(dest));
                    i += 1;
                } else if trimmed.starts_with(MOVE_TO.trim_end()) {
                    return Err(PatchError::InvalidHunk {
                        message: format!("Move to line for path '{path}' has no destination"),
                        line_number: move_line,
                    });
                }
            }
            let mut chunks: Vec<UpdateChunk> = Vec::new();
            while i < body.len() {
                let line = body[i].1;
                let trimmed = line.trim();
                if trimmed.is_empty() {
                    // Blank lines between chunks carry no meaning.
                    i += 1;
                    continue;
                }
                if trimmed == END_OF_FILE {
                    if let Some(last) = chunks.last_mut() {
                        last.is_end_of_file = true;
                        i += 1;
                        continue;
                    }
                }
                if line.starts_with("***") {
                    break;
                }
                let (chunk, next) = parse_chunk(body, i, chunks.is_empty())?;
                chunks.push(chunk);
                i = next;
            }
            if chunks.is_empty() && move_to.is_none() {
                return Err(PatchError::InvalidHunk {
                    message: format!("Update file hunk for path '{path}' is empty"),
                    line_number,
                });
            }
            hunks.push(Hunk::Update {
                path: PathBuf::from(path),
                move_to,
                chunks,
            });
        } else {
            return Err(PatchError::InvalidHunk {
                message: format!("'{header}' is not a valid hunk header. {VALID_HEADERS}"),
                line_number,
            });
        }
    }

    if hunks.is_empty() {
        return Err(PatchError::InvalidPatch(
            "The patch does not contain any hunks; no files were modified".to_string(),
        ));
    }
    Ok(Patch { hunks })
}

/// Parses one chunk starting at `start`; returns it and the index of the first
/// line after it.
fn parse_chunk(
    body: &[Line<'_>],
    start: usize,
    allow_missing_context: bool,
) -> Result<(UpdateChunk, usize), PatchError> {
    let (first_number, first) = body[start];
    let first_trimmed = first.trim_end();
    let (context, mut i) = if first_trimmed == CONTEXT_MARKER {
        (None, start + 1)
    } else if let Some(rest) = first_trimmed.strip_prefix("@@ ") {
        (parse_context(rest), start + 1)
    } else if allow_missing_context {
        (None, start)
    } else {
        return Err(PatchError::InvalidHunk {
            message: format!(
                "Expected update hunk to start with a @@ context marker, got: '{first}'"
            ),
            line_number: first_number,
        });
    };

    let mut chunk = UpdateChunk {
        context,
        old_lines: Vec::new(),
        new_lines: Vec::new(),
        is_end_of_file: false,
    };
    let mut parsed = 0usize;
    while i < body.len() {
        let (number, line) = body[i];
        if line.trim_end() == END_OF_FILE {
            if parsed == 0 {
                return Err(empty_chunk_error(number));
            }
            chunk.is_end_of_file = true;
            i += 1;
            break;
        }
        match line.chars().next() {
            None => {
                // The model dropped the leading space of an empty context line.
                chunk.old_lines.push(String::new());
                chunk.new_lines.push(String::new());
            }
            Some(' ') => {
                chunk.old_lines.push(line[1..].to_string());
                chunk.new_lines.push(line[1..].to_string());
            }
            Some('+') => chunk.new_lines.push(line[1..].to_string()),
            Some('-') => chunk.old_lines.push(line[1..].to_string()),
            Some('\\') if line.starts_with("\\ No newline at end of file") => {
                // Unified-diff residue; the trailing newline is handled on write.
            }
            Some(_) if line.trim().is_empty() => {
                // Whitespace-only line missing its leading marker (e.g. a lone tab):
                // keep it verbatim as context; matching is whitespace tolerant anyway.
                chunk.old_lines.push(line.to_string());
                chunk.new_lines.push(line.to_string());
            }
            Some(_) => {
                if parsed == 0 {
                    // A context-only chunk immediately followed by another `@@` narrows
                    // the search (e.g. `@@ class Foo` then `@@ def bar`).
                    if chunk.context.is_some() && line.starts_with(CONTEXT_MARKER) {
                        return Ok((chunk, i));
                    }
                    if line.starts_with("***") || line.starts_with(CONTEXT_MARKER) {
                        return Err(empty_chunk_error(first_number));
                    }
                    return Err(PatchError::InvalidHunk {
                        message: format!(
                            "Unexpected line found in update hunk: '{line}'. Every line should start with ' ' (context line), '+' (added line), or '-' (removed line)"
                        ),
                        line_number: number,
                    });
                }
                break;
            }
        }
        parsed += 1;
        i += 1;
    }
    if parsed == 0 {
        return Err(empty_chunk_error(first_number));
    }
    Ok((chunk, i))
}

fn empty_chunk_error(line_number: usize) -> PatchError {
    PatchError::InvalidHunk {
        message: "Update hunk does not contain any lines".to_string(),
        line_number,
    }
}

/// Extracts the anchor text of `@@ <text>`. Models trained on unified diffs
/// sometimes write `@@ -12,7 +12,8 @@ fn foo`; the line ranges are useless to us
/// but the trailing function context is a fine anchor.
fn parse_context(rest: &str) -> Option<String> {
    if let Some(after) = strip_unified_range(rest) {
        let after = after.trim();
        return (!after.is_empty()).then(|| after.to_string());
    }
    if rest.trim().is_empty() {
        None
    } else {
        Some(rest.to_string())
    }
}

fn strip_unified_range(text: &str) -> Option<&str> {
    let mut parts = text.splitn(3, ' ');
    let old = parts.next()?.strip_prefix('-')?;
    let new = parts.next()?.strip_prefix('+')?;
    let is_range =
        |s: &str| !s.is_empty() && s.split(',').count() <= 2 && s.split(',').all(is_ascii_number);
    if !is_range(old) || !is_range(new) {
        return None;
    }
    let rest = parts.next().unwrap_or("");
    rest.strip_prefix(CONTEXT_MARKER).or(Some(rest))
}

fn is_ascii_number(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn header_path<'a>(header: &'a str, marker: &str) -> Option<&'a str> {
    let path = header.strip_prefix(marker)?.trim();
    (!path.is_empty()).then_some(path)
}

fn next_non_blank_starts_with_plus(lines: &[Line<'_>]) -> bool {
    lines
        .iter()
        .find(|(_, l)| !l.trim().is_empty())
        .is_some_and(|(_, l)| l.starts_with('+'))
}

fn trim_blank_lines<'a, 'b>(lines: &'b [Line<'a>]) -> &'b [Line<'a>] {
    let start = lines
        .iter()
        .position(|(_, l)| !l.trim().is_empty())
        .unwrap_or(lines.len());
    let end = lines
        .iter()
        .rposition(|(_, l)| !l.trim().is_empty())
        .map_or(start, |p| p + 1);
    &lines[start..end.max(start)]
}

/// Recognises `<<EOF` / `<<'EOF'` / `apply_patch <<"EOF"` ... `EOF` around the
/// patch, which models send when they think they are talking to a shell.
fn strip_heredoc<'a, 'b>(lines: &'b [Line<'a>]) -> Option<&'b [Line<'a>]> {
    if lines.len() < 2 {
        return None;
    }
    let first = lines[0].1.trim();
    let (command, delimiter) = first.split_once("<<")?;
    let command = command.trim();
    if !(command.is_empty() || command.ends_with("apply_patch") || command.ends_with("applypatch"))
    {
        return None;
    }
    let delimiter = delimiter.trim().trim_start_matches('-').trim();
    let delimiter = delimiter
        .strip_prefix('\'')
        .and_then(|d| d.strip_suffix('\''))
        .or_else(|| {
            delimiter
                .strip_prefix('"')
                .and_then(|d| d.strip_suffix('"'))
        })
        .unwrap_or(delimiter);
    if delimiter.is_empty()
        || !delimiter
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    let last = lines[lines.len() - 1].1.trim();
    (last == delimiter).then(|| &lines[1..lines.len() - 1])
}
