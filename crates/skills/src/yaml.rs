//! A parser for the subset of YAML that `SKILL.md` front matter uses.
//!
//! # Why a small hand parser rather than a YAML crate
//!
//! Only three strings are needed (`name`, `description`, `metadata.short-description`), and
//! discovery reads every skill's front matter on each scan, so it must cost microseconds:
//! `serde_yaml` (what Codex uses) is unmaintained, `serde_yaml_ng` wraps the C-ported libyaml,
//! and `serde-saphyr` is young; each adds a dependency tree and builds a full document per
//! file. Front matter in the wild uses a small subset of YAML, which this module handles:
//! top-level `key: value`, plain scalars (also continued on more-indented lines), `'single'`
//! and `"double"` quoted scalars (escapes, multi-line folding), literal `|` and folded `>`
//! block scalars (chomping and indentation indicators), comments, a nested block mapping
//! (`metadata:`), and unknown keys holding block or flow sequences/mappings (skipped). Tags
//! and anchors before a value are ignored. It borrows from the input and allocates only for
//! the values it returns (and quoted or multi-line ones).
//!
//! It is lenient where YAML is strict but the meaning is obvious (e.g. `description: a: b`,
//! which libyaml rejects, reads as `a: b`); it reports `invalid YAML` for what has no
//! meaning: a line that is not `key: value`, bad indentation, an unterminated quote or flow
//! collection, a bad escape, a duplicate key, or a non-string `name`/`description`.

use std::borrow::Cow;
use std::iter::Peekable;
use std::str::Split;

/// Parses a whole front matter block into its top-level entries. Errors say what is wrong
/// and where (1-based line of the `SKILL.md`, the opening `---` being line 1).
pub(crate) fn parse_document(text: &str) -> Result<Entries<'_>, String> {
    let mut cur = Cursor::new(text);
    let entries = parse_mapping(&mut cur, 0)?;
    while let Some(line) = cur.next() {
        if !is_blank_or_comment(line) {
            return Err(format!("unexpected content at line {}", cur.line_no));
        }
    }
    Ok(entries)
}

pub(crate) type Entries<'a> = Vec<(Cow<'a, str>, Value<'a>)>;

pub(crate) enum Value<'a> {
    Null,
    Str(Cow<'a, str>),
    Map(Entries<'a>),
    /// A value wright never reads (sequence, flow collection, alias), named for errors.
    Other(&'static str),
}

/// Lines of the front matter with one line of lookahead; cloning it is how the parser looks
/// further ahead without consuming (a `Split` is a couple of pointers).
#[derive(Clone)]
struct Cursor<'a> {
    lines: Peekable<Split<'a, char>>,
    /// 1-based file line number of the last line taken (the opening `---` is line 1).
    line_no: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            lines: text.split('\n').peekable(),
            line_no: 1,
        }
    }

    fn peek(&mut self) -> Option<&'a str> {
        self.lines.peek().map(|line| strip_cr(line))
    }

    fn next(&mut self) -> Option<&'a str> {
        let line = self.lines.next()?;
        self.line_no += 1;
        Some(strip_cr(line))
    }
}

fn strip_cr(line: &str) -> &str {
    line.strip_suffix('\r').unwrap_or(line)
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

fn is_blank_or_comment(line: &str) -> bool {
    let trimmed = line.trim_start();
    trimmed.is_empty() || trimmed.starts_with('#')
}

fn is_sequence_item(content: &str) -> bool {
    content == "-" || content.starts_with("- ") || content.starts_with("-\t")
}

/// Cuts a ` # comment` off a plain scalar and trims its end.
fn strip_comment(text: &str) -> &str {
    let bytes = text.as_bytes();
    let cut = (1..bytes.len())
        .find(|&i| bytes[i] == b'#' && matches!(bytes[i - 1], b' ' | b'\t'))
        .unwrap_or(bytes.len());
    text[..cut].trim_end()
}

/// Parses a block mapping whose keys sit at one indentation of at least `min_indent`.
fn parse_mapping<'a>(cur: &mut Cursor<'a>, min_indent: usize) -> Result<Entries<'a>, String> {
    let mut entries: Entries<'a> = Vec::new();
    let mut map_indent = None;
    while let Some(line) = cur.peek() {
        if is_blank_or_comment(line) {
            cur.next();
            continue;
        }
        let ind = indent(line);
        if ind < min_indent {
            break;
        }
        let key_indent = *map_indent.get_or_insert(ind);
        if ind < key_indent {
            break;
        }
        let line_no = cur.line_no + 1;
        if ind > key_indent {
            return Err(format!("unexpected indentation at line {line_no}"));
        }
        cur.next();
        let content = &line[ind..];
        if is_sequence_item(content) {
            return Err(format!(
                "expected `key: value` at line {line_no}, found a list item"
            ));
        }
        let Some((key, rest)) = split_key(content) else {
            return Err(format!("expected `key: value` at line {line_no}"));
        };
        if entries.iter().any(|(seen, _)| *seen == key) {
            return Err(format!("duplicate key `{key}` at line {line_no}"));
        }
        let value = parse_value(cur, rest.trim_start(), key_indent)?;
        entries.push((key, value));
    }
    Ok(entries)
}

/// Splits `key: rest` (the key plain or quoted); `None` when the line is not a mapping entry.
fn split_key(content: &str) -> Option<(Cow<'_, str>, &str)> {
    if let Some(quote @ ('"' | '\'')) = content.chars().next() {
        let body = &content[1..];
        let close = body.find(quote)?;
        let key = &body[..close];
        let after = body[close + 1..].trim_start().strip_prefix(':')?;
        if !(after.is_empty() || after.starts_with([' ', '\t'])) {
            return None;
        }
        return Some((Cow::Borrowed(key), after));
    }
    let bytes = content.as_bytes();
    for i in 0..bytes.len() {
        match bytes[i] {
            b'#' if i > 0 && matches!(bytes[i - 1], b' ' | b'\t') => return None,
            b':' if matches!(bytes.get(i + 1), None | Some(b' ' | b'\t')) => {
                let key = content[..i].trim_end();
                return (!key.is_empty()).then_some((Cow::Borrowed(key), &content[i + 1..]));
            }
            _ => {}
        }
    }
    None
}

/// Parses the value after `key:`; `rest` is the remainder of the key's line, left-trimmed.
fn parse_value<'a>(
    cur: &mut Cursor<'a>,
    rest: &'a str,
    key_indent: usize,
) -> Result<Value<'a>, String> {
    let rest = skip_properties(rest);
    match rest.as_bytes().first() {
        None | Some(b'#') => parse_nested(cur, key_indent),
        Some(b'|' | b'>') => block_scalar(cur, rest, key_indent),
        Some(b'"') => quoted(cur, &rest[1..], '"'),
        Some(b'\'') => quoted(cur, &rest[1..], '\''),
        Some(b'[') => skip_flow(cur, rest).map(|()| Value::Other("sequence")),
        Some(b'{') => skip_flow(cur, rest).map(|()| Value::Other("mapping")),
        Some(b'*') => Ok(Value::Other("alias")),
        Some(_) => plain(cur, rest, key_indent),
    }
}

/// Drops `!tag` and `&anchor` tokens in front of a value: they do not change a string.
fn skip_properties(mut rest: &str) -> &str {
    while rest.starts_with(['!', '&']) {
        let end = rest.find([' ', '\t']).unwrap_or(rest.len());
        rest = rest[end..].trim_start();
    }
    rest
}

/// The value of a key with nothing after the colon: a nested mapping, a block sequence, a
/// plain scalar starting on the next line, or null.
fn parse_nested<'a>(cur: &mut Cursor<'a>, key_indent: usize) -> Result<Value<'a>, String> {
    let mut look = cur.clone();
    let next = loop {
        match look.next() {
            None => break None,
            Some(line) if is_blank_or_comment(line) => continue,
            Some(line) => break Some(line),
        }
    };
    let Some(line) = next else {
        return Ok(Value::Null);
    };
    let ind = indent(line);
    let content = &line[ind..];
    // YAML lets a block sequence sit at the key's own indentation.
    if is_sequence_item(content) && ind >= key_indent {
        skip_sequence(cur, key_indent, ind);
        return Ok(Value::Other("sequence"));
    }
    if ind <= key_indent {
        return Ok(Value::Null);
    }
    if split_key(content).is_some() {
        return parse_mapping(cur, key_indent + 1).map(Value::Map);
    }
    plain(cur, "", key_indent)
}

fn skip_sequence(cur: &mut Cursor<'_>, key_indent: usize, seq_indent: usize) {
    while let Some(line) = cur.peek() {
        let ind = indent(line);
        let keep = is_blank_or_comment(line)
            || ind > key_indent
            || (ind == seq_indent && is_sequence_item(&line[ind..]));
        if !keep {
            break;
        }
        cur.next();
    }
}

/// A plain scalar: `first` (rest of the key's line) plus continuation lines indented more
/// than the key, folded with spaces (a blank line between them is a newline).
fn plain<'a>(cur: &mut Cursor<'a>, first: &'a str, key_indent: usize) -> Result<Value<'a>, String> {
    let first = strip_comment(first);
    let mut out: Option<String> = None;
    let mut look = cur.clone();
    let mut breaks = 0;
    while let Some(line) = look.peek() {
        if line.trim().is_empty() {
            look.next();
            breaks += 1;
            continue;
        }
        let ind = indent(line);
        let content = &line[ind..];
        if ind <= key_indent || content.starts_with('#') {
            break;
        }
        look.next();
        // YAML rejects `key: value` inside a value too; it is almost always a key indented
        // by mistake, which must not silently become part of the text above it.
        if split_key(content).is_some() {
            return Err(format!("unexpected indentation at line {}", look.line_no));
        }
        *cur = look.clone();
        let text = out.get_or_insert_with(|| first.to_string());
        if !text.is_empty() {
            if breaks == 0 {
                text.push(' ');
            } else {
                text.extend(std::iter::repeat_n('\n', breaks));
            }
        }
        breaks = 0;
        text.push_str(strip_comment(content));
    }
    Ok(match out {
        Some(text) => Value::Str(Cow::Owned(text)),
        None if matches!(first, "" | "~" | "null" | "Null" | "NULL") => Value::Null,
        None => Value::Str(Cow::Borrowed(first)),
    })
}

/// A `'single'` or `"double"` quoted scalar, possibly over several lines. `first` is the rest
/// of the line after the opening quote.
fn quoted<'a>(cur: &mut Cursor<'a>, first: &'a str, quote: char) -> Result<Value<'a>, String> {
    let start_line = cur.line_no;
    let mut out = String::new();
    let mut line = first;
    loop {
        let mut chars = line.char_indices();
        let mut escaped_break = false;
        while let Some((i, c)) = chars.next() {
            if c == quote {
                if quote == '\'' && line[i + 1..].starts_with('\'') {
                    chars.next();
                    out.push('\'');
                    continue;
                }
                if !is_blank_or_comment(&line[i + 1..]) {
                    return Err(format!(
                        "unexpected text after the quoted value at line {}",
                        cur.line_no
                    ));
                }
                return Ok(Value::Str(Cow::Owned(out)));
            }
            if quote == '"' && c == '\\' {
                match chars.next() {
                    None => escaped_break = true,
                    Some((_, escape)) => out.push(unescape(escape, &mut chars, cur.line_no)?),
                }
                continue;
            }
            out.push(c);
        }
        // The line ended inside the quotes: fold the break like YAML does.
        if !escaped_break {
            out.truncate(out.trim_end_matches([' ', '\t']).len());
        }
        let mut blank_lines = 0;
        line = loop {
            match cur.next() {
                None => {
                    return Err(format!(
                        "unterminated quoted value starting at line {start_line}"
                    ))
                }
                Some(next) if next.trim().is_empty() => blank_lines += 1,
                Some(next) => break next.trim_start_matches([' ', '\t']),
            }
        };
        if blank_lines > 0 {
            out.extend(std::iter::repeat_n('\n', blank_lines));
        } else if !escaped_break {
            out.push(' ');
        }
    }
}

fn unescape(
    escape: char,
    chars: &mut std::str::CharIndices<'_>,
    line: usize,
) -> Result<char, String> {
    let simple = match escape {
        '0' => '\0',
        'a' => '\u{07}',
        'b' => '\u{08}',
        't' | '\t' => '\t',
        'n' => '\n',
        'v' => '\u{0B}',
        'f' => '\u{0C}',
        'r' => '\r',
        'e' => '\u{1B}',
        ' ' => ' ',
        '"' => '"',
        '/' => '/',
        '\\' => '\\',
        'N' => '\u{85}',
        '_' => '\u{A0}',
        'L' => '\u{2028}',
        'P' => '\u{2029}',
        'x' | 'u' | 'U' => {
            let digits = match escape {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let mut code = 0u32;
            for _ in 0..digits {
                let digit = chars
                    .next()
                    .and_then(|(_, c)| c.to_digit(16))
                    .ok_or_else(|| format!("bad \\{escape} escape at line {line}"))?;
                code = code * 16 + digit;
            }
            return char::from_u32(code)
                .ok_or_else(|| format!("bad \\{escape} escape at line {line}"));
        }
        other => return Err(format!("unknown escape `\\{other}` at line {line}")),
    };
    Ok(simple)
}

/// Skips a flow collection (`[...]` or `{...}`), which may span lines.
fn skip_flow(cur: &mut Cursor<'_>, first: &str) -> Result<(), String> {
    let start_line = cur.line_no;
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut line = first;
    loop {
        let mut chars = line.chars();
        while let Some(c) = chars.next() {
            match quote {
                Some('"') if c == '\\' => {
                    chars.next();
                }
                Some(q) if c == q => quote = None,
                Some(_) => {}
                None => match c {
                    '[' | '{' => depth += 1,
                    ']' | '}' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return Ok(());
                        }
                    }
                    '"' | '\'' => quote = Some(c),
                    _ => {}
                },
            }
        }
        line = cur
            .next()
            .ok_or_else(|| format!("unterminated flow collection starting at line {start_line}"))?;
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Chomp {
    Strip,
    Clip,
    Keep,
}

/// A literal (`|`) or folded (`>`) block scalar; `header` is the indicator and what follows.
fn block_scalar<'a>(
    cur: &mut Cursor<'a>,
    header: &'a str,
    key_indent: usize,
) -> Result<Value<'a>, String> {
    let folded = header.starts_with('>');
    let mut chomp = Chomp::Clip;
    let mut explicit = None;
    let spec_end = header.find([' ', '\t']).unwrap_or(header.len());
    for c in header[1..spec_end].chars() {
        match c {
            '-' => chomp = Chomp::Strip,
            '+' => chomp = Chomp::Keep,
            '1'..='9' => explicit = c.to_digit(10).map(|d| d as usize),
            _ => return Err(format!("bad block scalar header at line {}", cur.line_no)),
        }
    }
    if !is_blank_or_comment(&header[spec_end..]) {
        return Err(format!("bad block scalar header at line {}", cur.line_no));
    }

    let mut block_indent = explicit.map(|d| key_indent + d);
    let mut out = String::new();
    let mut pending_blank = 0usize;
    let mut prev_more_indented: Option<bool> = None;
    while let Some(line) = cur.peek() {
        if line.trim().is_empty() {
            cur.next();
            pending_blank += 1;
            continue;
        }
        let ind = indent(line);
        let want = *block_indent.get_or_insert(ind);
        if ind < want || ind <= key_indent {
            break;
        }
        cur.next();
        let text = &line[want..];
        let more_indented = text.starts_with([' ', '\t']);
        if let Some(prev_more) = prev_more_indented {
            if folded && pending_blank == 0 && !prev_more && !more_indented {
                out.push(' ');
            } else {
                // In folded style a single break between normal lines was the space above;
                // each blank line is one newline, and breaks around indented lines are kept.
                let keep_break = !folded || prev_more || more_indented;
                let count = pending_blank + usize::from(keep_break);
                out.extend(std::iter::repeat_n('\n', count));
            }
        } else {
            out.extend(std::iter::repeat_n('\n', pending_blank));
        }
        pending_blank = 0;
        out.push_str(text);
        prev_more_indented = Some(more_indented);
    }
    if prev_more_indented.is_some() {
        match chomp {
            Chomp::Strip => {}
            Chomp::Clip => out.push('\n'),
            Chomp::Keep => out.extend(std::iter::repeat_n('\n', pending_blank + 1)),
        }
    }
    Ok(Value::Str(Cow::Owned(out)))
}
