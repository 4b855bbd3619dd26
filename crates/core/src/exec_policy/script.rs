//! Reading a shell script into its simple commands, without running anything.
//!
//! Only a plain subset is read: words (quotes and backslashes honoured), the separators `;`,
//! `&&`, `||`, `|`, `&`, newlines, and the harmless redirections `N>/dev/null` and `N>&M` with
//! numeric `M`. Anything else (substitutions, subshells, groups, here-docs, redirections to or
//! from files) makes the script unreadable: the caller must fail closed.

/// One word of a simple command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    /// The word has an unquoted `*`, `?` or `[`: the shell may expand it into other words
    /// (a file named `--pre=sh` or `-delete` becomes an option).
    pub glob: bool,
}

impl Word {
    pub fn plain(text: impl Into<String>) -> Word {
        Word {
            text: text.into(),
            glob: false,
        }
    }
}

/// The characters that end a word outside quotes.
fn ends_word(c: Option<char>) -> bool {
    matches!(
        c,
        None | Some(' ' | '\t' | '\n' | ';' | '|' | '&' | '<' | '>' | '(' | ')')
    )
}

/// A script's simple commands, as words. `None` when the script cannot be read safely.
pub fn parse_script(script: &str) -> Option<Vec<Vec<Word>>> {
    let mut commands: Vec<Vec<Word>> = Vec::new();
    let mut words: Vec<Word> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quoted = false;
    let mut glob = false;
    // Unquoted `{` or `}` in the word: a group (`{ ls; }`) or brace expansion (`{a,b}`)
    // cannot be read; a literal like find's `{}` can.
    let mut brace = false;
    let mut chars = script.chars().peekable();
    macro_rules! finish_word {
        () => {
            if in_word {
                if brace && !literal_braces(&word) {
                    return None;
                }
                brace = false;
                words.push(Word {
                    text: std::mem::take(&mut word),
                    glob,
                });
                in_word = false;
                quoted = false;
                glob = false;
            }
        };
    }
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                quoted = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => word.push(ch),
                        None => return None,
                    }
                }
            }
            '"' => {
                in_word = true;
                quoted = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some('\n') => {}
                            Some(ch @ ('"' | '\\' | '$' | '`')) => word.push(ch),
                            Some(ch) => {
                                word.push('\\');
                                word.push(ch);
                            }
                            None => return None,
                        },
                        Some('$') | Some('`') => return None,
                        Some(ch) => word.push(ch),
                        None => return None,
                    }
                }
            }
            '\\' => match chars.next() {
                Some('\n') => {}
                Some(ch) => {
                    in_word = true;
                    quoted = true;
                    word.push(ch);
                }
                None => return None,
            },
            '$' | '`' | '(' | ')' | '<' => return None,
            '{' | '}' => {
                brace = true;
                in_word = true;
                word.push(c);
            }
            '>' => {
                // The word right before, if all digits and unquoted, names the fd: `2>`.
                let fd_word = in_word && !quoted && word.chars().all(|d| d.is_ascii_digit());
                if fd_word {
                    word.clear();
                    in_word = false;
                    glob = false;
                    brace = false;
                } else {
                    finish_word!();
                }
                match chars.peek() {
                    // `>&M`: only a plain fd number; `>&2.name` or `>&file` writes a file.
                    Some('&') => {
                        chars.next();
                        let mut digits = 0;
                        while chars.peek().is_some_and(|d| d.is_ascii_digit()) {
                            chars.next();
                            digits += 1;
                        }
                        if digits == 0 || !ends_word(chars.peek().copied()) {
                            return None;
                        }
                    }
                    // `>>`, `>|`: appending or clobbering a file.
                    Some('>' | '|') => return None,
                    _ => {
                        while matches!(chars.peek(), Some(' ' | '\t')) {
                            chars.next();
                        }
                        for expected in "/dev/null".chars() {
                            if chars.next() != Some(expected) {
                                return None;
                            }
                        }
                        if !ends_word(chars.peek().copied()) {
                            return None;
                        }
                    }
                }
            }
            ';' | '|' | '&' | '\n' => {
                finish_word!();
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
                while matches!(chars.peek(), Some('|' | '&' | ';')) {
                    chars.next();
                }
            }
            ' ' | '\t' => finish_word!(),
            c => {
                if matches!(c, '*' | '?' | '[') {
                    glob = true;
                }
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        if brace && !literal_braces(&word) {
            return None;
        }
        words.push(Word { text: word, glob });
    }
    if !words.is_empty() {
        commands.push(words);
    }
    Some(commands)
}

/// Braces that bash leaves as they are: not a lone `{`/`}` (a group), no `,` or `..`
/// (expansion).
fn literal_braces(word: &str) -> bool {
    word != "{" && word != "}" && !word.contains(',') && !word.contains("..")
}

/// A script's simple commands as plain strings (see [`parse_script`]).
pub fn simple_commands(script: &str) -> Option<Vec<Vec<String>>> {
    parse_script(script).map(|commands| {
        commands
            .into_iter()
            .map(|c| c.into_iter().map(|w| w.text).collect())
            .collect()
    })
}

/// Words split the way `env -S` and git aliases split a string: quotes honoured, nothing else.
/// `None` when the string is more than one simple command or cannot be read.
pub fn split_words(s: &str) -> Option<Vec<Word>> {
    let mut commands = parse_script(s)?;
    match commands.len() {
        0 => Some(Vec::new()),
        1 => commands.pop(),
        _ => None,
    }
}

/// `NAME=value` in front of a command.
pub fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && !name.starts_with(|c: char| c.is_ascii_digit())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    })
}

/// The program's name without its directory: `/usr/bin/git` is `git`.
pub fn base_name(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}
