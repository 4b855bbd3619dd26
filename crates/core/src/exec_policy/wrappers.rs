//! Seeing through wrappers: the commands a command line really runs.
//!
//! `env -i FOO=1 nice -n 5 timeout -s KILL 10 git -c alias.p=push p` runs `git push`; so do
//! `xargs git push`, `find . -exec git push \;`, `eval 'git push'`, `bash -o pipefail -c
//! 'git push'` and `git -c alias.x='!git push' x`. [`expand_argv`] lists every command a line
//! can run, each marked with what the line adds to it (see [`Cmd`]). When a wrapper's options
//! cannot be read, the whole line is unreadable (`None`): the caller fails closed.

use std::cell::Cell;

use super::options::read_options;
use super::script::{base_name, is_assignment, parse_script, split_words, Word};

/// How deep wrappers and nested scripts may go before a line counts as unreadable.
const MAX_DEPTH: u32 = 12;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A command that runs (after its wrappers are stripped).
    Runs,
    /// A wrapper as written (`sudo rm -rf x`), so a rule naming the wrapper still matches.
    /// Wrappers only ever restrict: an `allow` rule never matches one.
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

/// How many commands (and nested reads) one line may expand to before it counts as
/// unreadable: nested aliases and scripts must not make reading it explode.
const BUDGET: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Ctx<'a> {
    open: bool,
    altered: bool,
    /// `GIT_CONFIG_*` was assigned: git config (and aliases) the line does not show.
    git_config_env: bool,
    /// git's global options from an enclosing git: its children (`!` aliases, `rebase -x`)
    /// get its command-line config (aliases included) through `GIT_CONFIG_PARAMETERS`.
    git_globals: &'a [Word],
    depth: u32,
    budget: &'a Cell<usize>,
}

impl<'a> Ctx<'a> {
    fn new(budget: &'a Cell<usize>) -> Ctx<'a> {
        Ctx {
            open: false,
            altered: false,
            git_config_env: false,
            git_globals: &[],
            depth: 0,
            budget,
        }
    }

    fn deeper(self) -> Option<Ctx<'a>> {
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

fn run_script(script: &str, ctx: Ctx<'_>, out: &mut Vec<Cmd>) -> Option<()> {
    let ctx = ctx.deeper()?;
    for cmd in parse_script(script)? {
        walk(cmd, ctx, out)?;
    }
    Some(())
}

fn push(out: &mut Vec<Cmd>, words: &[Word], role: Role, ctx: Ctx<'_>) {
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

fn walk(mut words: Vec<Word>, mut ctx: Ctx<'_>, out: &mut Vec<Cmd>) -> Option<()> {
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
            "sh" | "bash" | "zsh" | "dash" | "ksh" | "mksh" | "ash" | "yash" | "posh" | "fish"
            | "csh" | "tcsh" => return shell(words, ctx, out),
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

/// `env`'s options (`-i`, `-u NAME`, `-C dir`, `-S 'string'`, ...) and assignments; `-S`
/// strings are split into words in place. Returns where the command starts and whether
/// anything changes its environment or directory.
fn env_rest(words: &mut Vec<Word>) -> Option<(usize, bool)> {
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
                    if name == "split-string" {
                        splits += 1;
                        if splits > 8 {
                            return None;
                        }
                        let split = split_words(&value)?;
                        words.splice(i..i + used, split);
                    } else {
                        i += used;
                    }
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
                        if c == 'S' {
                            splits += 1;
                            if splits > 8 {
                                return None;
                            }
                            let split = split_words(&value)?;
                            // Flags before `S` in the cluster were already read.
                            words.splice(i..i + used, split);
                        } else {
                            i += used;
                        }
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
fn watch(words: Vec<Word>, ctx: Ctx<'_>, out: &mut Vec<Cmd>) -> Option<()> {
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
fn cut_at_placeholder<'a>(
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
fn xargs(words: Vec<Word>, ctx: Ctx<'_>, out: &mut Vec<Cmd>) -> Option<()> {
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
fn find(words: Vec<Word>, ctx: Ctx<'_>, out: &mut Vec<Cmd>) -> Option<()> {
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
fn shell(words: Vec<Word>, ctx: Ctx<'_>, out: &mut Vec<Cmd>) -> Option<()> {
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

/// git: global options are stripped (and mark the command altered); an alias defined on the
/// line (`-c alias.p=push`) is read as what it stands for; `!` aliases as shell scripts.
fn git(words: Vec<Word>, mut ctx: Ctx<'_>, out: &mut Vec<Cmd>) -> Option<()> {
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

/// A script file name that is really stdin: `-`, `/dev/stdin`, `/dev/fd/0`, `/proc/self/fd/0`.
fn reads_stdin(path: &str) -> bool {
    path == "-" || path.starts_with("/dev/") || path.starts_with("/proc/")
}

/// Whether a program is given code inline (or on stdin), so what it does is not on the line.
pub fn runs_inline_code(program: &str, args: &[Word]) -> bool {
    let texts: Vec<&str> = args.iter().map(|w| w.text.as_str()).collect();
    let info_only = |extra: &[&str]| {
        texts
            .iter()
            .any(|t| ["--version", "--help", "-h"].contains(t) || extra.contains(t))
    };
    // Options before the first operand, and whether an operand (a script file) exists.
    let before_operand = |with_value: &[char]| -> (Vec<&str>, bool) {
        let mut opts = Vec::new();
        let mut i = 0;
        while let Some(t) = texts.get(i) {
            if *t == "--" {
                return (opts, i + 1 < texts.len());
            }
            if !t.starts_with('-') || *t == "-" {
                return (opts, !reads_stdin(t));
            }
            opts.push(*t);
            let last = t.chars().last().unwrap_or('-');
            if !t.starts_with("--") && t.len() == 2 && with_value.contains(&last) {
                i += 1;
            }
            i += 1;
        }
        (opts, false)
    };
    let short_has = |opts: &[&str], letters: &[char]| {
        opts.iter()
            .any(|o| !o.starts_with("--") && o.chars().skip(1).any(|c| letters.contains(&c)))
    };
    let p = program;
    if p.starts_with("python") || p.starts_with("pypy") {
        let (opts, operand) = before_operand(&['W', 'X', 'Q']);
        let module = short_has(&opts, &['m']);
        return short_has(&opts, &['c']) || (!operand && !module && !info_only(&["-V"]));
    }
    match p {
        "node" | "nodejs" => {
            let (opts, operand) = before_operand(&['r']);
            opts.iter().any(|o| {
                ["-e", "--eval", "-p", "--print", "-pe", "-ep"].contains(o)
                    || o.starts_with("--eval=")
                    || o.starts_with("--print=")
            }) || (!operand && !info_only(&["-v"]))
        }
        "bun" => texts
            .iter()
            .any(|t| ["-e", "--eval", "-p", "--print"].contains(t) || t.starts_with("--eval=")),
        "deno" => texts.first().is_some_and(|t| *t == "eval" || *t == "repl") || texts.is_empty(),
        "perl" | "ruby" => {
            let (opts, operand) = before_operand(&['I', 'M', 'r']);
            short_has(&opts, &['e', 'E']) || (!operand && !info_only(&["-v", "-V"]))
        }
        "php" => {
            let (opts, operand) = before_operand(&['c', 'd', 'z']);
            short_has(&opts, &['r', 'B', 'R', 'E', 'a'])
                || (!operand && !info_only(&["-v", "-m", "-i"]))
        }
        "lua" | "luajit" => {
            let (opts, operand) = before_operand(&['l']);
            short_has(&opts, &['e', 'i']) || (!operand && !info_only(&["-v"]))
        }
        "Rscript" | "R" | "julia" | "osascript" | "expect" | "gdb" => texts.iter().any(|t| {
            [
                "-e",
                "-E",
                "--eval",
                "--print",
                "-c",
                "-ex",
                "--expr",
                "--execute",
            ]
            .contains(t)
                || t.starts_with("--eval=")
                || t.starts_with("-e")
        }),
        "pwsh" | "powershell" => {
            texts.iter().any(|t| {
                let t = t.to_ascii_lowercase();
                t.starts_with("-c") || t.starts_with("-e") || t.starts_with("/c")
            }) || texts.is_empty()
        }
        "vim" | "vi" | "nvim" | "ex" | "view" | "vimdiff" => texts
            .iter()
            .any(|t| t.starts_with('+') || *t == "-c" || *t == "--cmd" || *t == "-S" || *t == "-s"),
        "emacs" => texts
            .iter()
            .any(|t| t.contains("eval") || *t == "-l" || *t == "--load"),
        "awk" | "gawk" | "mawk" | "nawk" => {
            let mut file = false;
            let mut i = 0;
            while let Some(t) = texts.get(i) {
                match *t {
                    "-f" | "--file" => {
                        file = true;
                        i += 2;
                    }
                    "-e" | "--source" => return true,
                    "-v" | "-F" | "-i" | "-l" | "-E" | "--assign" | "--field-separator"
                    | "--include" | "--load" | "--exec" => i += 2,
                    "--" => return !file && i + 1 < texts.len(),
                    t if t.starts_with('-') && t.len() > 1 => {
                        if t.starts_with("-f") || t.starts_with("--file=") {
                            file = true;
                        }
                        if t.starts_with("-e") || t.starts_with("--source=") {
                            return true;
                        }
                        i += 1;
                    }
                    _ => return !file,
                }
            }
            false
        }
        "sed" | "gsed" => sed_runs_code(&texts),
        // Programs that take commands (some of them shell escapes) from their arguments or
        // stdin.
        "irb" | "tclsh" | "wish" | "jshell" | "guile" | "sbcl" | "ghci" | "dc" | "ed" | "psql"
        | "mysql" | "mariadb" | "sqlite3" | "duckdb" => !info_only(&["-version"]),
        _ => false,
    }
}

/// Whether a sed command line may execute something (GNU `e` command or `s///e`), as far as
/// can be told: scripts that cannot be read count as running code.
fn sed_runs_code(args: &[&str]) -> bool {
    let mut scripts: Vec<&str> = Vec::new();
    let mut operands = Vec::new();
    let mut i = 0;
    while let Some(t) = args.get(i) {
        if *t == "-e" || *t == "--expression" || *t == "-f" || *t == "--file" {
            if *t == "-f" || *t == "--file" {
                // A script file: unknown code.
                return true;
            }
            match args.get(i + 1) {
                Some(s) => scripts.push(s),
                None => return true,
            }
            i += 2;
            continue;
        }
        if let Some(s) = t.strip_prefix("--expression=") {
            scripts.push(s);
        } else if t.starts_with("--file=") {
            return true;
        } else if t.starts_with('-') && t.len() > 1 && !t.starts_with("--") {
            // Clusters: `-ne`, `-i.bak`, `-Ef`: `e`/`f` take the next word.
            let flags = &t[1..];
            if flags.starts_with('i') || flags.starts_with('l') {
                // `-i[SUFFIX]`, `-lN`: the rest is a value.
            } else if let Some(pos) = flags.find(['e', 'f']) {
                if flags.as_bytes()[pos] == b'f' {
                    return true;
                }
                let tail = &flags[pos + 1..];
                if !tail.is_empty() {
                    scripts.push(tail);
                } else {
                    match args.get(i + 1) {
                        Some(s) => scripts.push(s),
                        None => return true,
                    }
                    i += 1;
                }
            }
        } else if !t.starts_with('-') {
            operands.push(*t);
        }
        i += 1;
    }
    if scripts.is_empty() {
        match operands.first() {
            Some(s) => scripts.push(s),
            None => return false,
        }
    }
    scripts.iter().any(|s| sed_script_runs(s))
}

/// A rough reader of one sed script: `true` if it has `e` or an `s` with the `e` flag, or if it
/// cannot be read.
fn sed_script_runs(script: &str) -> bool {
    let chars: Vec<char> = script.chars().collect();
    let mut i = 0;
    let skip_delimited = |i: &mut usize, delim: char| -> bool {
        while *i < chars.len() {
            let c = chars[*i];
            *i += 1;
            if c == '\\' {
                *i += 1;
            } else if c == delim {
                return true;
            }
        }
        false
    };
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            ' ' | '\t' | '\n' | ';' | '{' | '}' | '!' | ',' | '$' | '~' | '+' | '0'..='9' => {}
            '/' => {
                if !skip_delimited(&mut i, '/') {
                    return true;
                }
                while i < chars.len() && (chars[i] == 'I' || chars[i] == 'M') {
                    i += 1;
                }
            }
            '\\' => {
                let Some(&delim) = chars.get(i) else {
                    return true;
                };
                i += 1;
                if !skip_delimited(&mut i, delim) {
                    return true;
                }
            }
            's' | 'y' => {
                let Some(&delim) = chars.get(i) else {
                    return true;
                };
                if delim == '\\' || delim == '\n' {
                    return true;
                }
                i += 1;
                if !skip_delimited(&mut i, delim) || !skip_delimited(&mut i, delim) {
                    return true;
                }
                if c == 's' {
                    while i < chars.len() && !matches!(chars[i], ';' | '\n' | '}') {
                        match chars[i] {
                            'e' => return true,
                            // `w file`: the rest of the line is a file name.
                            'w' => {
                                while i < chars.len() && chars[i] != '\n' {
                                    i += 1;
                                }
                            }
                            _ => i += 1,
                        }
                    }
                }
            }
            'e' => return true,
            // Commands whose argument runs to the end of the line.
            'a' | 'i' | 'c' | 'r' | 'R' | 'w' | 'W' | 'b' | 't' | 'T' | ':' => {
                while i < chars.len() && chars[i] != '\n' {
                    if matches!(c, 'b' | 't' | 'T') && chars[i] == ';' {
                        break;
                    }
                    i += 1;
                }
            }
            'p' | 'P' | 'd' | 'D' | 'n' | 'N' | 'g' | 'G' | 'h' | 'H' | 'x' | 'l' | 'q' | 'Q'
            | '=' | 'z' | 'F' => {}
            _ => return true,
        }
    }
    false
}
