//! The wrappers that run a command given to them as arguments or as a script: `env`,
//! `watch`, `xargs`, `find -exec`, and the shells (`sh -c`, `bash -lc`, ...).

use super::inline_code::reads_stdin;
use super::options::read_options;
use super::script::{is_assignment, split_words, Word};

use super::wrappers::*;

/// `env`'s options (`-i`, `-u NAME`, `-C dir`, `-S 'string'`, ...) and assignments; `-S`
/// strings are split into words in place. Returns where the command starts and whether
/// An `env` option with a value (`-u NAME`, `-C DIR`, `-S STRING` and their long forms):
/// a `-S` string is split into words in place (at most 8 times per line); any other option
/// is stepped over with its value.
fn take_value(
    words: &mut Vec<Word>,
    i: &mut usize,
    value: &str,
    used: usize,
    split: bool,
    splits: &mut u32,
) -> Option<()> {
    if split {
        *splits += 1;
        if *splits > 8 {
            return None;
        }
        let parts = split_words(value)?;
        words.splice(*i..*i + used, parts);
    } else {
        *i += used;
    }
    Some(())
}

/// anything changes its environment or directory.
pub(super) fn env_rest(words: &mut Vec<Word>) -> Option<(usize, bool)> {
    let mut changed = false;
    let mut i = 1;
    let mut splits = 0;
    while let Some(word) = words.get(i) {
        let text = word.text.clone();
        if text == "--" {
            i += 1;
            break;
        }
        if text == "-" {
            changed = true;
            i += 1;
            continue;
        }
        if let Some(long) = text.strip_prefix("--") {
            changed = true;
            let (name, attached) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            match name {
                "ignore-environment" | "null" | "debug" | "list-signal-handling" => {
                    if attached.is_some() {
                        return None;
                    }
                    i += 1;
                }
                "default-signal" | "ignore-signal" | "block-signal" => i += 1,
                "unset" | "chdir" | "split-string" => {
                    let (value, used) = match attached {
                        Some(v) => (v, 1),
                        None => (words.get(i + 1)?.text.clone(), 2),
                    };
                    take_value(
                        words,
                        &mut i,
                        &value,
                        used,
                        name == "split-string",
                        &mut splits,
                    )?;
                }
                _ => return None,
            }
            continue;
        }
        if text.starts_with('-') {
            changed = true;
            let cluster: Vec<char> = text.chars().skip(1).collect();
            let mut j = 0;
            let mut advanced = false;
            while j < cluster.len() {
                match cluster[j] {
                    'i' | '0' | 'v' => j += 1,
                    c @ ('u' | 'C' | 'S') => {
                        let tail: String = cluster[j + 1..].iter().collect();
                        let (value, used) = if tail.is_empty() {
                            (words.get(i + 1)?.text.clone(), 2)
                        } else {
                            (tail, 1)
                        };
                        // Flags before `S` in the cluster were already read.
                        take_value(words, &mut i, &value, used, c == 'S', &mut splits)?;
                        advanced = true;
                        break;
                    }
                    _ => return None,
                }
            }
            if !advanced {
                i += 1;
            }
            continue;
        }
        if is_assignment(&text) {
            changed = true;
            if text.starts_with("GIT_CONFIG") {
                // Handled by the caller's walk when it meets the assignment itself.
                break;
            }
            i += 1;
            continue;
        }
        break;
    }
    Some((i.min(words.len()), changed))
}

/// `watch` runs its words through `sh -c` (joined with spaces), or directly with `-x`.
pub(super) fn watch(words: Vec<Word>, ctx: Ctx<'_>, out: &mut Vec<Cmd>) -> Option<()> {
    let grammar = [
        "-n:",
        "-d?",
        "-g",
        "-t",
        "-b",
        "-e",
        "-c",
        "-x",
        "-p",
        "-w",
        "-q:",
        "--interval=",
        "--differences?",
        "--chgexit",
        "--no-title",
        "--beep",
        "--errexit",
        "--color",
        "--no-color",
        "--exec",
        "--precise",
        "--no-wrap",
        "--equexit=",
        "--no-linewrap",
    ];
    let parsed = read_options(&words[1..], &grammar, true)?;
    push(out, &words, Role::Wrapper, ctx);
    let inner = words[1 + parsed.rest..].to_vec();
    let direct = parsed
        .options
        .iter()
        .any(|o| o.name == "-x" || o.name == "--exec");
    let ctx = ctx.deeper()?;
    if direct {
        walk(inner, ctx, out)
    } else {
        let script: Vec<&str> = inner.iter().map(|w| w.text.as_str()).collect();
        run_script(&script.join(" "), ctx, out)
    }
}

/// Cuts a command at the first word holding a placeholder (`{}`): what the placeholder becomes
/// is not on the line, so the command is open from there.
pub(super) fn cut_at_placeholder<'a>(
    mut words: Vec<Word>,
    placeholder: &str,
    mut ctx: Ctx<'a>,
) -> (Vec<Word>, Ctx<'a>) {
    if let Some(at) = words.iter().position(|w| w.text.contains(placeholder)) {
        words.truncate(at);
        ctx.open = true;
    }
    (words, ctx)
}

/// `xargs [options] cmd args`: `cmd args` plus whatever arrives on stdin.
pub(super) fn xargs(words: Vec<Word>, ctx: Ctx<'_>, out: &mut Vec<Cmd>) -> Option<()> {
    let grammar = [
        "-0",
        "--null",
        "-a:",
        "--arg-file=",
        "-d:",
        "--delimiter=",
        "-E:",
        "-e?",
        "--eof?",
        "-I:",
        "-i?",
        "--replace?",
        "-L:",
        "-l?",
        "--max-lines?",
        "-n:",
        "--max-args=",
        "-P:",
        "--max-procs=",
        "-p",
        "--interactive",
        "-r",
        "--no-run-if-empty",
        "-s:",
        "--max-chars=",
        "-t",
        "--verbose",
        "-x",
        "--exit",
        "-o",
        "--open-tty",
        "--process-slot-var=",
        "--show-limits",
    ];
    let parsed = read_options(&words[1..], &grammar, true)?;
    push(out, &words, Role::Wrapper, ctx);
    let replace = parsed
        .options
        .iter()
        .rev()
        .find_map(|o| match o.name.as_str() {
            "-I" => o.value.clone(),
            "-i" | "--replace" => Some(o.value.clone().unwrap_or_else(|| "{}".into())),
            _ => None,
        });
    let mut inner = words[1 + parsed.rest..].to_vec();
    if inner.is_empty() {
        inner.push(Word::plain("echo"));
    }
    let mut ctx = ctx.deeper()?;
    let (inner, ctx) = match replace {
        Some(r) if !r.is_empty() => cut_at_placeholder(inner, &r, ctx),
        Some(_) => return None,
        None => {
            ctx.open = true;
            (inner, ctx)
        }
    };
    if inner.is_empty() {
        return None;
    }
    walk(inner, ctx, out)
}

/// `find`: itself, each `-exec`/`-execdir`/`-ok`/`-okdir` command, and `rm` for `-delete`.
pub(super) fn find(words: Vec<Word>, ctx: Ctx<'_>, out: &mut Vec<Cmd>) -> Option<()> {
    let mut cmd = Cmd {
        words: words.clone(),
        role: Role::Runs,
        open: ctx.open,
        altered: ctx.altered,
        inline_code: false,
        scan: false,
    };
    let inner_ctx = ctx.deeper()?;
    let mut i = 1;
    while i < words.len() {
        match words[i].text.as_str() {
            "-exec" | "-execdir" | "-ok" | "-okdir" => {
                let start = i + 1;
                let mut end = start;
                loop {
                    let w = words.get(end)?;
                    if w.text == ";"
                        || (w.text == "+" && end > start && words[end - 1].text == "{}")
                    {
                        break;
                    }
                    end += 1;
                }
                let (inner, c) = cut_at_placeholder(words[start..end].to_vec(), "{}", inner_ctx);
                if inner.is_empty() {
                    return None;
                }
                walk(inner, c, out)?;
                i = end + 1;
            }
            "-delete" => {
                out.push(Cmd {
                    words: vec![Word::plain("rm")],
                    role: Role::Runs,
                    open: true,
                    altered: ctx.altered,
                    inline_code: false,
                    scan: false,
                });
                i += 1;
            }
            _ => i += 1,
        }
    }
    // `find` with words the line does not show may get `-exec` from them.
    cmd.scan = ctx.open;
    out.push(cmd);
    Some(())
}

/// A shell: `-c script` (flags may be combined: `-xc`, `-ec`, `-o pipefail -c`) is read;
/// a script file is a command like any other; commands from stdin cannot be read.
pub(super) fn shell(words: Vec<Word>, ctx: Ctx<'_>, out: &mut Vec<Cmd>) -> Option<()> {
    let mut has_c = false;
    let mut stdin = false;
    let mut script: Option<String> = None;
    let mut i = 1;
    while let Some(word) = words.get(i) {
        let text = word.text.as_str();
        if text == "--" || text == "-" {
            i += 1;
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (long, None),
            };
            match name {
                "rcfile" | "init-file" => i += if attached.is_some() { 1 } else { 2 },
                // fish: `--command=...` / `--init-command=...` run code.
                "command" | "init-command" => {
                    let (value, used) = match attached {
                        Some(v) => (v, 1),
                        None => (words.get(i + 1)?.text.clone(), 2),
                    };
                    run_script(&value, ctx, out)?;
                    has_c = name == "command" || has_c;
                    if name == "command" {
                        script = Some(String::new());
                    }
                    i += used;
                }
                _ => i += 1,
            }
            continue;
        }
        if (text.starts_with('-') || text.starts_with('+')) && text.len() > 1 {
            let cluster: Vec<char> = text.chars().skip(1).collect();
            let mut takes_next = 0;
            for (j, c) in cluster.iter().enumerate() {
                match c {
                    'c' => has_c = true,
                    's' => stdin = true,
                    'o' | 'O' | 'C' => {
                        // The option name (or fish's init command) is the next word.
                        if j + 1 != cluster.len() {
                            return None;
                        }
                        takes_next = 1;
                        if *c == 'C' {
                            run_script(&words.get(i + 1)?.text, ctx, out)?;
                        }
                    }
                    _ => {}
                }
            }
            i += 1 + takes_next;
            continue;
        }
        break;
    }
    if script.is_some() {
        push(out, &words, Role::Wrapper, ctx);
        return Some(());
    }
    if has_c {
        let text = words.get(i)?.text.clone();
        push(out, &words, Role::Wrapper, ctx);
        return run_script(&text, ctx, out);
    }
    if stdin || i >= words.len() || reads_stdin(&words[i].text) {
        // Commands from stdin (`echo 'git push' | sh`): not on the line.
        return None;
    }
    // A script file: unknown code, like any program.
    out.push(Cmd {
        words,
        role: Role::Runs,
        open: ctx.open,
        altered: ctx.altered,
        inline_code: false,
        scan: true,
    });
    Some(())
}
