//! "Known safe": commands that run without asking under `untrusted`, because whatever their
//! arguments they can neither run another program nor write a file.
//!
//! This is an allow-list of programs and, for programs with risky options, of the options
//! they may have: an option not listed (or an abbreviation of one) makes the command unsafe.
//! Leading `NAME=value` assignments, wrappers with options that change anything, redirections
//! to files, paths to programs outside the system directories and globs that could expand
//! into options all make a command unsafe too.

use super::options::read_options;
use super::safe_git::git;
use super::script::{base_name, is_assignment, parse_script, Word};

/// Programs with no option that runs a program or writes a file: any arguments are fine.
const ANY_ARGS: &[&str] = &[
    "ls",
    "cat",
    "pwd",
    "echo",
    "printf",
    "head",
    "tail",
    "wc",
    "grep",
    "egrep",
    "fgrep",
    "which",
    "true",
    "false",
    "uname",
    "whoami",
    "id",
    "stat",
    "du",
    "df",
    "cut",
    "tr",
    "nl",
    "cd",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "printenv",
    "tac",
    "rev",
    "comm",
    "cmp",
    "paste",
    "fold",
    "seq",
    "od",
    "sha1sum",
    "sha256sum",
    "sha512sum",
    "md5sum",
    "cksum",
    "b2sum",
];

/// Whether `argv` (a program and its arguments, or `bash -lc 'script'`) is known safe.
pub fn is_known_safe_argv(argv: &[String]) -> bool {
    is_known_safe_argv_in(argv, None)
}

/// [`is_known_safe_argv`], with the user's own shell (which may live anywhere) trusted too.
pub fn is_known_safe_argv_in(argv: &[String], user_shell: Option<&str>) -> bool {
    top_level_commands(argv, user_shell)
        .is_some_and(|cmds| !cmds.is_empty() && cmds.iter().all(|c| safe_command(c)))
}

/// The simple commands of `argv` as the shell runs them: the script's for `bash -lc
/// 'script'` (the form the shell tool uses), else `argv` itself. `None` when the script
/// cannot be read. The shell must be a system one or `user_shell`: `./bash` is not bash.
pub fn top_level_commands(argv: &[String], user_shell: Option<&str>) -> Option<Vec<Vec<Word>>> {
    if let [shell, flag, script] = argv {
        let trusted = trusted_program(shell).or_else(|| {
            (user_shell == Some(shell.as_str()) && shell.starts_with('/')).then(|| base_name(shell))
        });
        if trusted.is_some_and(|s| matches!(s, "bash" | "sh" | "zsh"))
            && (flag == "-c" || flag == "-lc")
        {
            return parse_script(script);
        }
    }
    Some(vec![argv.iter().map(Word::plain).collect()])
}

/// Whether every simple command of a script is known safe (an unreadable script is not).
pub fn is_known_safe_script(script: &str) -> bool {
    parse_script(script)
        .is_some_and(|cmds| !cmds.is_empty() && cmds.iter().all(|c| safe_command(c)))
}

/// A program named plainly (found on `PATH`) or in a system directory; `./ls` is not `ls`.
fn trusted_program(word: &str) -> Option<&str> {
    if !word.contains('/') {
        return Some(word);
    }
    let dir = word.strip_suffix(base_name(word))?;
    matches!(dir, "/bin/" | "/usr/bin/" | "/usr/local/bin/").then(|| base_name(word))
}

/// Could this word become an option once the shell expands it?
fn may_become_option(word: &Word) -> bool {
    word.glob && word.text.starts_with(['*', '?', '['])
}

pub(super) fn safe_command(words: &[Word]) -> bool {
    let mut i = 0;
    // Wrappers that change nothing but scheduling or timing.
    let mut last_wrapper = None;
    loop {
        let Some(word) = words.get(i) else {
            // A wrapper alone: `env` and `nice` print something, nothing else runs.
            return matches!(last_wrapper, Some("env" | "nice"));
        };
        if word.glob || is_assignment(&word.text) {
            return false;
        }
        let Some(program) = trusted_program(&word.text) else {
            return false;
        };
        let args = &words[i + 1..];
        let skip = match program {
            "!" => 1,
            // Bare only: `env -S`, `env -i`, `env NAME=value`, `command -p` change things.
            "env" | "command" | "exec" => {
                if args
                    .first()
                    .is_some_and(|a| a.text.starts_with('-') || is_assignment(&a.text))
                {
                    return false;
                }
                1
            }
            // The shell keyword; `/usr/bin/time -o file` writes a file.
            "time" => 1 + usize::from(args.first().is_some_and(|a| a.text == "-p")),
            "nice" => {
                let Some(parsed) = read_options(args, &["-n:", "--adjustment="], true) else {
                    return false;
                };
                if parsed.rest == 0 && args.first().is_some_and(|a| a.text.starts_with('-')) {
                    return false;
                }
                1 + parsed.rest
            }
            "timeout" => {
                let grammar = [
                    "-s:",
                    "-k:",
                    "-v",
                    "--signal=",
                    "--kill-after=",
                    "--preserve-status",
                    "--foreground",
                    "--verbose",
                ];
                let Some(parsed) = read_options(args, &grammar, true) else {
                    return false;
                };
                let duration = args.get(parsed.rest).is_some_and(|d| {
                    let t = d.text.trim_end_matches(['s', 'm', 'h', 'd']);
                    !t.is_empty() && t.chars().all(|c| c.is_ascii_digit() || c == '.')
                });
                if !duration {
                    return false;
                }
                1 + parsed.rest + 1
            }
            _ => 0,
        };
        if skip == 0 {
            return safe_program(program, args);
        }
        last_wrapper = Some(program);
        i += skip;
    }
}

fn safe_program(program: &str, args: &[Word]) -> bool {
    if ANY_ARGS.contains(&program) {
        return true;
    }
    if args.iter().any(may_become_option) {
        return false;
    }
    match program {
        "date" => date(args),
        "file" => options_only(
            args,
            &[
                "-b",
                "-c",
                "-d",
                "-E",
                "-h",
                "-i",
                "-k",
                "-l",
                "-L",
                "-N",
                "-n",
                "-r",
                "-s",
                "-v",
                "-0",
                "-e:",
                "-f:",
                "-F:",
                "-m:",
                "-P:",
                "--brief",
                "--checking-printout",
                "--debug",
                "--exclude=",
                "--exclude-quiet=",
                "--extension",
                "--files-from=",
                "--separator=",
                "--mime",
                "--mime-type",
                "--mime-encoding",
                "--apple",
                "--keep-going",
                "--list",
                "--dereference",
                "--no-dereference",
                "--magic-file=",
                "--no-pad",
                "--no-buffer",
                "--parameter=",
                "--raw",
                "--special-files",
                "--print0",
                "--help",
                "--version",
            ],
            None,
        ),
        "sort" => options_only(
            args,
            &[
                "-b",
                "-d",
                "-f",
                "-g",
                "-i",
                "-M",
                "-h",
                "-n",
                "-R",
                "-r",
                "-V",
                "-c",
                "-C",
                "-m",
                "-s",
                "-u",
                "-z",
                "-k:",
                "-t:",
                "-S:",
                "--ignore-leading-blanks",
                "--dictionary-order",
                "--ignore-case",
                "--general-numeric-sort",
                "--ignore-nonprinting",
                "--month-sort",
                "--human-numeric-sort",
                "--numeric-sort",
                "--random-sort",
                "--reverse",
                "--version-sort",
                "--check?",
                "--merge",
                "--stable",
                "--unique",
                "--zero-terminated",
                "--debug",
                "--key=",
                "--field-separator=",
                "--buffer-size=",
                "--parallel=",
                "--sort=",
                "--random-source=",
                "--files0-from=",
                "--help",
                "--version",
            ],
            None,
        ),
        // A second operand is the output file.
        "uniq" => {
            !args.iter().any(|a| a.glob)
                && options_only(
                    args,
                    &[
                        "-c",
                        "-d",
                        "-D",
                        "-i",
                        "-u",
                        "-z",
                        "-f:",
                        "-s:",
                        "-w:",
                        "--count",
                        "--repeated",
                        "--all-repeated?",
                        "--ignore-case",
                        "--unique",
                        "--zero-terminated",
                        "--group?",
                        "--skip-fields=",
                        "--skip-chars=",
                        "--check-chars=",
                        "--help",
                        "--version",
                    ],
                    Some(1),
                )
        }
        // `-o` writes a file; `-R` writes 00Tree.html files.
        "tree" => options_only(
            args,
            &[
                "-a",
                "-d",
                "-l",
                "-f",
                "-x",
                "-A",
                "-C",
                "-D",
                "-F",
                "-h",
                "-p",
                "-s",
                "-u",
                "-g",
                "-N",
                "-Q",
                "-n",
                "-r",
                "-t",
                "-U",
                "-v",
                "-S",
                "-J",
                "-X",
                "-i",
                "-q",
                "-c",
                "-L:",
                "-P:",
                "-I:",
                "--noreport",
                "--dirsfirst",
                "--filesfirst",
                "--gitignore",
                "--du",
                "--si",
                "--prune",
                "--matchdirs",
                "--ignore-case",
                "--inodes",
                "--device",
                "--charset=",
                "--filelimit=",
                "--timefmt=",
                "--sort=",
                "--noreport",
                "--fromfile",
                "--info",
                "--metafirst",
                "--help",
                "--version",
            ],
            None,
        ),
        "find" => find(args),
        // `--pre`, `--pre-glob`, `-z`/`--search-zip` and `--hostname-bin` run programs.
        "rg" => options_only(args, RG, None),
        "sed" => sed(args),
        "git" => git(args),
        _ => false,
    }
}

/// Options all from `grammar` and at most `max_operands` operands.
pub(super) fn options_only(args: &[Word], grammar: &[&str], max_operands: Option<usize>) -> bool {
    read_options(args, grammar, false)
        .is_some_and(|p| max_operands.is_none_or(|max| p.operands.len() <= max))
}

/// `date` shows a date; `-s`/`--set` and an operand not starting with `+` set the clock.
fn date(args: &[Word]) -> bool {
    let grammar = [
        "-u",
        "-R",
        "-I?",
        "-d:",
        "-f:",
        "-r:",
        "--utc",
        "--universal",
        "--rfc-email",
        "--rfc-2822",
        "--iso-8601?",
        "--rfc-3339=",
        "--date=",
        "--file=",
        "--reference=",
        "--debug",
        "--help",
        "--version",
    ];
    read_options(args, &grammar, false).is_some_and(|p| {
        p.operands.len() <= 1 && p.operands.iter().all(|&i| args[i].text.starts_with('+'))
    })
}

const FIND_FLAGS: &[&str] = &[
    "-print",
    "-print0",
    "-ls",
    "-prune",
    "-quit",
    "-true",
    "-false",
    "-empty",
    "-readable",
    "-writable",
    "-executable",
    "-nouser",
    "-nogroup",
    "-depth",
    "-xdev",
    "-mount",
    "-follow",
    "-daystart",
    "-noleaf",
    "-ignore_readdir_race",
    "-noignore_readdir_race",
    "-not",
    "-a",
    "-and",
    "-o",
    "-or",
    "!",
    "(",
    ")",
    ",",
    "-H",
    "-L",
    "-P",
];

const FIND_WITH_VALUE: &[&str] = &[
    "-name",
    "-iname",
    "-path",
    "-ipath",
    "-wholename",
    "-iwholename",
    "-regex",
    "-iregex",
    "-type",
    "-xtype",
    "-maxdepth",
    "-mindepth",
    "-size",
    "-mtime",
    "-mmin",
    "-atime",
    "-amin",
    "-ctime",
    "-cmin",
    "-newer",
    "-anewer",
    "-cnewer",
    "-perm",
    "-user",
    "-group",
    "-uid",
    "-gid",
    "-links",
    "-inum",
    "-samefile",
    "-lname",
    "-ilname",
    "-used",
    "-printf",
    "-regextype",
    "-fstype",
    "-files0-from",
];

/// `find` with tests and read-only actions only: no `-exec`, `-ok`, `-delete`, `-fprint`, ...
fn find(args: &[Word]) -> bool {
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let t = arg.text.as_str();
        let newer_xy =
            t.len() == 8 && t.starts_with("-newer") && t[6..].chars().all(|c| "aBcmt".contains(c));
        if FIND_FLAGS.contains(&t) {
            i += 1;
        } else if FIND_WITH_VALUE.contains(&t) || newer_xy {
            if args.get(i + 1).is_none() {
                return false;
            }
            i += 2;
        } else if t.starts_with('-') {
            return false;
        } else {
            i += 1;
        }
    }
    true
}

/// Only `sed -n 'Np'` / `'M,Np'` (and `$`): other scripts can write (`w`) or run (`e`).
fn sed(args: &[Word]) -> bool {
    let grammar = [
        "-n",
        "--quiet",
        "--silent",
        "-E",
        "-r",
        "-s",
        "-z",
        "-u",
        "--regexp-extended",
        "--separate",
        "--null-data",
        "--unbuffered",
    ];
    let Some(parsed) = read_options(args, &grammar, false) else {
        return false;
    };
    let Some(&script) = parsed.operands.first() else {
        return false;
    };
    let Some(body) = args[script].text.strip_suffix('p') else {
        return false;
    };
    let address = |a: &str| a == "$" || (!a.is_empty() && a.chars().all(|c| c.is_ascii_digit()));
    let parts: Vec<&str> = body.split(',').collect();
    parts.len() <= 2 && parts.iter().all(|a| address(a))
}

const RG: &[&str] = &[
    "-i",
    "-I",
    "-s",
    "-S",
    "-w",
    "-x",
    "-v",
    "-n",
    "-N",
    "-l",
    "-c",
    "-F",
    "-u",
    "-U",
    "-H",
    "-a",
    "-q",
    "-L",
    "-o",
    "-0",
    "-b",
    "-h",
    "-p",
    "-P",
    "-.",
    "-V",
    "-e:",
    "-A:",
    "-B:",
    "-C:",
    "-g:",
    "-t:",
    "-T:",
    "-m:",
    "-M:",
    "-d:",
    "-j:",
    "-r:",
    "-E:",
    "-f:",
    "--regexp=",
    "--file=",
    "--after-context=",
    "--before-context=",
    "--context=",
    "--context-separator=",
    "--no-context-separator",
    "--glob=",
    "--iglob=",
    "--glob-case-insensitive",
    "--type=",
    "--type-not=",
    "--type-add=",
    "--type-clear=",
    "--type-list",
    "--max-count=",
    "--max-depth=",
    "--maxdepth=",
    "--threads=",
    "--replace=",
    "--encoding=",
    "--no-encoding",
    "--max-columns=",
    "--max-columns-preview",
    "--max-filesize=",
    "--color=",
    "--colors=",
    "--sort=",
    "--sortr=",
    "--sort-files",
    "--path-separator=",
    "--field-match-separator=",
    "--field-context-separator=",
    "--ignore-file=",
    "--ignore-file-case-insensitive",
    "--engine=",
    "--dfa-size-limit=",
    "--regex-size-limit=",
    "--hyperlink-format=",
    "--ignore-case",
    "--smart-case",
    "--case-sensitive",
    "--word-regexp",
    "--line-regexp",
    "--invert-match",
    "--line-number",
    "--no-line-number",
    "--files-with-matches",
    "--files-without-match",
    "--count",
    "--count-matches",
    "--fixed-strings",
    "--unrestricted",
    "--multiline",
    "--multiline-dotall",
    "--with-filename",
    "--no-filename",
    "--text",
    "--quiet",
    "--follow",
    "--only-matching",
    "--null",
    "--null-data",
    "--byte-offset",
    "--pretty",
    "--pcre2",
    "--no-pcre2",
    "--hidden",
    "--no-hidden",
    "--files",
    "--json",
    "--no-json",
    "--column",
    "--no-column",
    "--heading",
    "--no-heading",
    "--vimgrep",
    "--no-ignore",
    "--no-ignore-vcs",
    "--no-ignore-dot",
    "--no-ignore-exclude",
    "--no-ignore-files",
    "--no-ignore-global",
    "--no-ignore-parent",
    "--no-require-git",
    "--no-config",
    "--no-messages",
    "--no-ignore-messages",
    "--passthru",
    "--passthrough",
    "--trim",
    "--no-trim",
    "--stats",
    "--no-stats",
    "--debug",
    "--trace",
    "--binary",
    "--no-binary",
    "--crlf",
    "--no-crlf",
    "--line-buffered",
    "--block-buffered",
    "--one-file-system",
    "--no-unicode",
    "--mmap",
    "--no-mmap",
    "--auto-hybrid-regex",
    "--help",
    "--version",
];
