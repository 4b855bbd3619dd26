//! Seeing through wrappers: the commands a command line really runs.
//!
//! `env -i FOO=1 nice -n 5 timeout -s KILL 10 git -c alias.p=push p` runs `git push`; so do
//! `xargs git push`, `find . -exec git push \;`, `eval 'git push'`, `bash -o pipefail -c
//! 'git push'` and `git -c alias.x='!git push' x`. [`expand_argv`] lists every command a line
//! can run, each marked with what the line adds to it (see [`Cmd`]). When a wrapper's options
//! cannot be read, the whole line is unreadable (`None`): the caller fails closed.

use std::cell::Cell;

use super::inline_code::{runs_inline_code, runs_others};
use super::options::read_options;
use super::script::{base_name, is_assignment, parse_script, Word};
use super::wrappers_git::git;

/// How deep wrappers and nested scripts may go before a line counts as unreadable.
const MAX_DEPTH: u32 = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A command that runs (after its wrappers are stripped).
    Runs,
    /// A wrapper as written (`sudo rm -rf x`), so a rule naming the wrapper still matches;
    /// also a command only possibly run (a script-like word of an unknown program). These only
    /// ever restrict: an `allow` rule or a session approval never looks at them.
    Wrapper,
}

/// One command a line can run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmd {
    pub words: Vec<Word>,
    pub role: Role,
    /// More arguments may follow that the line does not show (`xargs git`, `find -exec git {}`).
    pub open: bool,
    /// Something on the line changes what the words mean: `NAME=value` assignments, `env` or
    /// `sudo` options, git global options (`-c`, `-C`, `--git-dir`, ...), config injection
    /// (`cargo --config`). Such a command is never allowed by a rule or a session approval.
    pub altered: bool,
    /// Runs code given inline (`python3 -c`, `node -e`, `awk '...'`, `sed 'e ...'`): what it
    /// does is unknown.
    pub inline_code: bool,
    /// The program is not known to leave its arguments alone: it may run them as a command
    /// (`strace git push`), so restricting rules match anywhere in it.
    pub scan: bool,
}

impl Cmd {
    pub fn texts(&self) -> Vec<String> {
        self.words.iter().map(|w| w.text.clone()).collect()
    }
}

const SHELLS: &[&str] = &[
    "sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "yash", "posh", "fish", "csh", "tcsh",
];

/// How many commands (and nested reads) one line may expand to before it counts as
/// unreadable: nested aliases and scripts must not make reading it explode.
const BUDGET: usize = 4096;

#[derive(Debug, Clone, Copy)]
pub(super) struct Ctx<'a> {
    pub(super) open: bool,
    pub(super) altered: bool,
    /// `GIT_CONFIG_*` was assigned: git config (and aliases) the line does not show.
    pub(super) git_config_env: bool,
    /// git's global options from an enclosing git: its children (`!` aliases, `rebase -x`)
    /// get its command-line config (aliases included) through `GIT_CONFIG_PARAMETERS`.
    pub(super) git_globals: &'a [Word],
    pub(super) depth: u32,
    /// Reading what an unknown program might run: do not guess again inside the guess.
    pub(super) speculative: bool,
    pub(super) budget: &'a Cell<usize>,
}

impl<'a> Ctx<'a> {
    fn new(budget: &'a Cell<usize>) -> Ctx<'a> {
        Ctx {
            open: false,
            altered: false,
            git_config_env: false,
            git_globals: &[],
            depth: 0,
            speculative: false,
            budget,
        }
    }

    pub(super) fn deeper(self) -> Option<Ctx<'a>> {
        let left = self.budget.get().checked_sub(1)?;
        self.budget.set(left);
        (self.depth < MAX_DEPTH).then_some(Ctx {
            depth: self.depth + 1,
            ..self
        })
    }
}

/// Every command `argv` can run; `None` when some part cannot be read.
pub fn expand_argv(argv: &[String]) -> Option<Vec<Cmd>> {
    let words = argv.iter().map(Word::plain).collect();
    let mut out = Vec::new();
    let budget = Cell::new(BUDGET);
    walk(words, Ctx::new(&budget), &mut out)?;
    Some(out)
}

/// Every command one simple command (as read from a script) can run.
pub fn expand_words(words: Vec<Word>) -> Option<Vec<Cmd>> {
    let mut out = Vec::new();
    let budget = Cell::new(BUDGET);
    walk(words, Ctx::new(&budget), &mut out)?;
    Some(out)
}

/// Every command a script can run; `None` when some part cannot be read.
pub fn expand_script(script: &str) -> Option<Vec<Cmd>> {
    let mut out = Vec::new();
    let budget = Cell::new(BUDGET);
    run_script(script, Ctx::new(&budget), &mut out)?;
    Some(out)
}

pub(super) fn run_script(script: &str, ctx: Ctx<'_>, out: &mut Vec<Cmd>) -> Option<()> {
    let ctx = ctx.deeper()?;
    for cmd in parse_script(script)? {
        walk(cmd, ctx, out)?;
    }
    Some(())
}

pub(super) fn push(out: &mut Vec<Cmd>, words: &[Word], role: Role, ctx: Ctx<'_>) {
    out.push(Cmd {
        words: words.to_vec(),
        role,
        open: ctx.open,
        altered: ctx.altered,
        inline_code: false,
        scan: false,
    });
}

/// Programs known not to run their arguments as commands.
const LEAVES_ARGS_ALONE: &[&str] = &[
    "ls",
    "cat",
    "echo",
    "printf",
    "pwd",
    "cd",
    "true",
    "false",
    "head",
    "tail",
    "wc",
    "grep",
    "egrep",
    "fgrep",
    "mkdir",
    "rmdir",
    "rm",
    "cp",
    "mv",
    "touch",
    "ln",
    "chmod",
    "chown",
    "stat",
    "file",
    "du",
    "df",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "which",
    "whoami",
    "id",
    "uname",
    "date",
    "cut",
    "tr",
    "nl",
    "uniq",
    "tee",
    "cmp",
    "comm",
    "test",
    "[",
    "export",
    "unset",
    "read",
    "printenv",
    "sleep",
    "wait",
    "exit",
    "return",
    "shift",
    "local",
    "declare",
    "typeset",
    "mktemp",
    "tree",
    "seq",
    "sha256sum",
    "md5sum",
    "tac",
    "rev",
    "paste",
    "fold",
];

fn unknown_runner(program: &str) -> bool {
    !LEAVES_ARGS_ALONE.contains(&program)
}

/// Options that smuggle configuration (and so commands) into an otherwise approved command.
fn injects_config(program: &str, args: &[Word]) -> bool {
    let has = |names: &[&str]| {
        args.iter().any(|a| {
            names
                .iter()
                .any(|n| a.text == *n || a.text.starts_with(&format!("{n}=")))
        })
    };
    match program {
        "cargo" => {
            has(&["--config", "-Z", "--manifest-path"])
                || args.iter().any(|a| a.text.starts_with("-Z"))
                || args.first().is_some_and(|a| a.text.starts_with('+'))
        }
        "make" | "gmake" => {
            has(&[
                "-f",
                "--file",
                "--makefile",
                "-e",
                "--environment-overrides",
                "--eval",
            ]) || args.iter().any(|a| is_assignment(&a.text))
        }
        "npm" | "pnpm" | "yarn" | "npx" => has(&[
            "--userconfig",
            "--globalconfig",
            "--script-shell",
            "--node-options",
            "--prefix",
        ]),
        _ => false,
    }
}

/// Reads a wrapper's options by `grammar` and skips `operands` more words (the duration of
/// `timeout`); returns where the wrapped command starts.
fn wrapper_rest(words: &[Word], grammar: &[&str], operands: usize) -> Option<usize> {
    let parsed = read_options(&words[1..], grammar, true)?;
    let rest = 1 + parsed.rest + operands;
    (rest <= words.len()).then_some(rest)
}

pub(super) fn walk(mut words: Vec<Word>, mut ctx: Ctx<'_>, out: &mut Vec<Cmd>) -> Option<()> {
    if out.len() > BUDGET {
        return None;
    }
    loop {
        let Some(first) = words.first() else {
            return Some(());
        };
        if is_assignment(&first.text) {
            if first.text.starts_with("GIT_CONFIG") {
                ctx.git_config_env = true;
            }
            ctx.altered = true;
            words.remove(0);
            continue;
        }
        let program = base_name(&first.text).to_string();
        // `git-push` (from git's exec path) is `git push`.
        if let Some(sub) = program.strip_prefix("git-").filter(|s| !s.is_empty()) {
            let sub = Word::plain(sub);
            words.splice(0..1, [Word::plain("git"), sub]);
            ctx.altered = true;
            continue;
        }
        // Where the wrapped command starts, for the plain wrappers.
        let rest = match program.as_str() {
            "!" | "if" | "then" | "else" | "elif" | "do" | "while" | "until" | "coproc" => {
                words.remove(0);
                continue;
            }
            "command" => wrapper_rest(&words, &["-p", "-v", "-V"], 0)?,
            "builtin" => wrapper_rest(&words, &[], 0)?,
            "exec" => wrapper_rest(&words, &["-c", "-l", "-a:"], 0)?,
            "nohup" | "busybox" => wrapper_rest(&words, &[], 0)?,
            "time" => wrapper_rest(
                &words,
                &[
                    "-p",
                    "-a",
                    "-v",
                    "-q",
                    "-o:",
                    "-f:",
                    "--portability",
                    "--append",
                    "--verbose",
                    "--quiet",
                    "--output=",
                    "--format=",
                ],
                0,
            )?,
            "timeout" => wrapper_rest(
                &words,
                &[
                    "-s:",
                    "-k:",
                    "-v",
                    "-f",
                    "-p",
                    "--signal=",
                    "--kill-after=",
                    "--preserve-status",
                    "--foreground",
                    "--verbose",
                ],
                1,
            )?,
            "nice" => {
                // `nice -5` / `nice -+5` / `nice --5` (an adjustment), then options.
                let numeric = |w: &Word| {
                    let t = w.text.trim_start_matches('-').trim_start_matches('+');
                    w.text.starts_with('-')
                        && !t.is_empty()
                        && t.chars().all(|c| c.is_ascii_digit())
                };
                let skip = usize::from(words.get(1).is_some_and(numeric));
                let tail = [&words[..1], &words[1 + skip..]].concat();
                skip + wrapper_rest(&tail, &["-n:", "--adjustment="], 0)?
            }
            "stdbuf" => wrapper_rest(
                &words,
                &["-i:", "-o:", "-e:", "--input=", "--output=", "--error="],
                0,
            )?,
            "setsid" => wrapper_rest(&words, &["-c", "-f", "-w", "--ctty", "--fork", "--wait"], 0)?,
            "ionice" => wrapper_rest(
                &words,
                &["-c:", "-n:", "-t", "--class=", "--classdata=", "--ignore"],
                0,
            )?,
            "chrt" => wrapper_rest(
                &words,
                &[
                    "-a",
                    "-b",
                    "-d",
                    "-f",
                    "-i",
                    "-o",
                    "-r",
                    "-R",
                    "-v",
                    "-T:",
                    "-P:",
                    "-D:",
                    "--all-tasks",
                    "--batch",
                    "--deadline",
                    "--fifo",
                    "--idle",
                    "--other",
                    "--rr",
                    "--reset-on-fork",
                    "--verbose",
                    "--sched-runtime=",
                    "--sched-period=",
                    "--sched-deadline=",
                ],
                1,
            )?,
            "sudo" => {
                ctx.altered = true;
                wrapper_rest(
                    &words,
                    &[
                        "-A",
                        "-b",
                        "-E",
                        "-H",
                        "-k",
                        "-n",
                        "-P",
                        "-S",
                        "-s",
                        "-i",
                        "-B",
                        "-N",
                        "-u:",
                        "-g:",
                        "-C:",
                        "-D:",
                        "-p:",
                        "-r:",
                        "-t:",
                        "-T:",
                        "-U:",
                        "-R:",
                        "-h:",
                        "--askpass",
                        "--background",
                        "--bell",
                        "--preserve-env?",
                        "--set-home",
                        "--login",
                        "--non-interactive",
                        "--preserve-groups",
                        "--stdin",
                        "--shell",
                        "--reset-timestamp",
                        "--user=",
                        "--group=",
                        "--close-from=",
                        "--chdir=",
                        "--chroot=",
                        "--host=",
                        "--prompt=",
                        "--role=",
                        "--type=",
                        "--command-timeout=",
                        "--other-user=",
                    ],
                    0,
                )?
            }
            "doas" => {
                ctx.altered = true;
                wrapper_rest(&words, &["-n", "-u:", "-C:"], 0)?
            }
            "env" => {
                let (rest, changed) = env_rest(&mut words)?;
                ctx.altered |= changed;
                rest
            }
            "watch" => return watch(words, ctx, out),
            "xargs" => return xargs(words, ctx, out),
            "find" => return find(words, ctx, out),
            "eval" => {
                push(out, &words, Role::Wrapper, ctx);
                let script: Vec<&str> = words[1..].iter().map(|w| w.text.as_str()).collect();
                return run_script(&script.join(" "), ctx, out);
            }
            "trap" => {
                push(out, &words, Role::Runs, ctx);
                let parsed = read_options(&words[1..], &["-p", "-l", "-P"], true)?;
                if let Some(action) = words.get(1 + parsed.rest) {
                    run_script(&action.text, ctx, out)?;
                }
                return Some(());
            }
            "alias" => {
                // Whatever an alias stands for may run later in the script (zsh expands
                // aliases in scripts): read each definition as a script.
                push(out, &words, Role::Runs, ctx);
                for def in &words[1..] {
                    if let Some((_, value)) = def.text.split_once('=') {
                        run_script(value, ctx, out)?;
                    }
                }
                return Some(());
            }
            p if SHELLS.contains(&p) => return shell(words, ctx, out),
            "git" => return git(words, ctx, out),
            _ => {
                let mut cmd = Cmd {
                    words: words.clone(),
                    role: Role::Runs,
                    open: ctx.open,
                    altered: ctx.altered || injects_config(&program, &words[1..]),
                    inline_code: runs_inline_code(&program, &words[1..]),
                    scan: unknown_runner(&program),
                };
                if cmd.inline_code {
                    cmd.scan = true;
                }
                let scan = cmd.scan;
                let at_index = out.len();
                out.push(cmd);
                // An unknown program may hand a word to a shell (`su -c 'git push'`, `ssh host
                // 'git push'`): words that look like scripts are read too, but only to
                // restrict (a word that is not a script is no reason to refuse).
                if let Some(inner) = ctx.deeper().filter(|_| scan) {
                    for word in &words[1..] {
                        if word.text.contains([' ', '\t', '\n', ';', '|', '&']) {
                            let mut seen = Vec::new();
                            let _ = run_script(&word.text, inner, &mut seen);
                            out.extend(seen.into_iter().map(|mut c| {
                                c.role = Role::Wrapper;
                                c
                            }));
                        }
                    }
                    // A runner further on (`uv run python -c ...`, `docker exec c bash`):
                    // read from there too, once (not again inside what is read).
                    if !ctx.speculative {
                        let mut inner = inner;
                        inner.speculative = true;
                        for at in 1..words.len().min(256) {
                            let name = base_name(&words[at].text);
                            if !runs_others(name) {
                                continue;
                            }
                            let mut seen = Vec::new();
                            let readable = walk(words[at..].to_vec(), inner, &mut seen).is_some();
                            if !readable && SHELLS.contains(&name)
                                || seen.iter().any(|c| c.inline_code)
                            {
                                // Commands from stdin or inline code: unknown.
                                out[at_index].inline_code = true;
                            }
                            out.extend(seen.into_iter().map(|mut c| {
                                c.role = Role::Wrapper;
                                c
                            }));
                        }
                    }
                }
                return Some(());
            }
        };
        // A wrapper: it is listed as written, then what it wraps is read.
        push(out, &words, Role::Wrapper, ctx);
        if rest >= words.len() {
            // A wrapper alone runs nothing else (`env` prints the environment) unless more
            // words may follow (`xargs env`).
            push(out, &words, Role::Runs, ctx);
            return Some(());
        }
        ctx = ctx.deeper()?;
        words.drain(..rest);
    }
}

use super::runners::{env_rest, find, shell, watch, xargs};
