//! Seeing through git: global options, aliases defined on the command line (`!` aliases as
//! shell scripts) and subcommands that run commands (`rebase -x`, `bisect run`,
//! `submodule foreach`).

use super::script::{parse_script, split_words, Word};
use super::wrappers::{push, run_script, walk, Cmd, Ctx, Role};

/// git: global options are stripped (and mark the command altered); an alias defined on the
/// line (`-c alias.p=push`) is read as what it stands for; `!` aliases as shell scripts.
pub(super) fn git(words: Vec<Word>, mut ctx: Ctx<'_>, out: &mut Vec<Cmd>) -> Option<()> {
    if ctx.git_config_env {
        return None;
    }
    push(out, &words, Role::Wrapper, ctx);
    // Config from an enclosing git comes first, as if given here.
    let words = if ctx.git_globals.is_empty() {
        words
    } else {
        let mut merged = vec![words[0].clone()];
        merged.extend_from_slice(ctx.git_globals);
        merged.extend_from_slice(&words[1..]);
        ctx.git_globals = &[];
        merged
    };
    let mut aliases: Vec<(String, String)> = Vec::new();
    let mut altered = false;
    let mut i = 1;
    while let Some(word) = words.get(i) {
        let text = word.text.as_str();
        if !text.starts_with('-') {
            break;
        }
        altered = true;
        let (name, attached) = match text.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n, Some(v)),
            _ => (text, None),
        };
        match name {
            "-c" => {
                config_entry(&words.get(i + 1)?.text, &mut aliases)?;
                i += 2;
            }
            "--config-env" => {
                let value = match attached {
                    Some(v) => {
                        i += 1;
                        v.to_string()
                    }
                    None => {
                        i += 2;
                        words.get(i - 1)?.text.clone()
                    }
                };
                // The value comes from the environment: an alias or include there is unseen.
                let key = value
                    .split('=')
                    .next()
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if key.starts_with("alias.") || key.starts_with("include") {
                    return None;
                }
            }
            "-C" | "--git-dir" | "--work-tree" | "--namespace" | "--super-prefix"
            | "--attr-source" | "--list-cmds" => {
                i += if attached.is_some() { 1 } else { 2 };
            }
            "--exec-path"
            | "-p"
            | "--paginate"
            | "-P"
            | "--no-pager"
            | "--bare"
            | "--no-replace-objects"
            | "--literal-pathspecs"
            | "--glob-pathspecs"
            | "--noglob-pathspecs"
            | "--icase-pathspecs"
            | "--no-optional-locks"
            | "--no-lazy-fetch"
            | "--no-advice"
            | "--html-path"
            | "--man-path"
            | "--info-path"
            | "--version"
            | "-v"
            | "--help"
            | "-h" => i += 1,
            _ => return None,
        }
    }
    let altered = ctx.altered || altered;
    let rest = words.get(i..).unwrap_or_default();
    let mut canonical = vec![words[0].clone()];
    canonical.extend_from_slice(rest);
    let mut sub_ctx = ctx;
    sub_ctx.altered = altered;
    push(out, &canonical, Role::Runs, sub_ctx);
    let Some(sub) = rest.first() else {
        return Some(());
    };
    let sub_name = sub.text.to_ascii_lowercase();
    // An alias for a builtin is ignored by git, but reading it too only makes rules stricter.
    let globals = &words[1..i];
    if let Some((_, value)) = aliases.iter().rev().find(|(name, _)| *name == sub_name) {
        let mut inner_ctx = sub_ctx.deeper()?;
        if let Some(shell_cmd) = value.strip_prefix('!') {
            // Run by `sh -c`, with the remaining words appended to it.
            let mut commands = parse_script(shell_cmd)?;
            if let Some(last) = commands.last_mut() {
                last.extend_from_slice(&rest[1..]);
            }
            inner_ctx.git_globals = globals;
            for cmd in commands {
                walk(cmd, inner_ctx, out)?;
            }
        } else {
            let mut expanded = words[..i].to_vec();
            expanded.extend(split_words(value)?);
            expanded.extend_from_slice(&rest[1..]);
            git(expanded, inner_ctx, out)?;
        }
    }
    sub_ctx.git_globals = globals;
    git_subcommand_runs(&sub.text, &rest[1..], sub_ctx, out)
}

/// `git -c key=value`: aliases are remembered; includes (config from a file) are unreadable.
fn config_entry(entry: &str, aliases: &mut Vec<(String, String)>) -> Option<()> {
    let (key, value) = entry.split_once('=').unwrap_or((entry, "true"));
    let key = key.to_ascii_lowercase();
    if key.starts_with("include") {
        return None;
    }
    if let Some(name) = key.strip_prefix("alias.") {
        aliases.push((name.to_string(), value.to_string()));
    }
    Some(())
}

/// git subcommands that run commands given on the line.
fn git_subcommand_runs(sub: &str, args: &[Word], ctx: Ctx<'_>, out: &mut Vec<Cmd>) -> Option<()> {
    let ctx = ctx.deeper()?;
    match sub {
        "rebase" => {
            let mut i = 0;
            while let Some(arg) = args.get(i) {
                let t = arg.text.as_str();
                if t == "-x" || t == "--exec" {
                    run_script(&args.get(i + 1)?.text, ctx, out)?;
                    i += 2;
                } else if let Some(s) = t.strip_prefix("--exec=").or(t.strip_prefix("-x")) {
                    run_script(s, ctx, out)?;
                    i += 1;
                } else {
                    i += 1;
                }
            }
            Some(())
        }
        "bisect" if args.first().is_some_and(|a| a.text == "run") => {
            walk(args[1..].to_vec(), ctx, out)
        }
        "submodule" => match args.iter().position(|a| a.text == "foreach") {
            Some(at) => {
                let script: Vec<&str> = args[at + 1..]
                    .iter()
                    .filter(|a| a.text != "--recursive")
                    .map(|a| a.text.as_str())
                    .collect();
                run_script(&script.join(" "), ctx, out)
            }
            None => Some(()),
        },
        _ => Some(()),
    }
}
