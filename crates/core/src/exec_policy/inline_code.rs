//! Programs given code inline (`python3 -c`, `node -e`, `awk '...'`, `sed 'e ...'`) or on
//! stdin: what they do is not on the command line.

use super::script::Word;

/// A script file name that is really stdin: `-`, `/dev/stdin`, `/dev/fd/0`, `/proc/self/fd/0`.
pub(super) fn reads_stdin(path: &str) -> bool {
    path == "-" || path.starts_with("/dev/") || path.starts_with("/proc/")
}

/// `python`, `python3`, `python3.12`, `pypy3` (not `python-dotenv`).
fn is_python(program: &str) -> bool {
    ["python", "pypy"].iter().any(|base| {
        program
            .strip_prefix(base)
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    })
}

/// Programs that run code or other commands from their arguments or stdin: where one appears
/// inside an unknown program's words (`uv run python -c ...`), what follows is read too.
pub(super) fn runs_others(program: &str) -> bool {
    is_python(program)
        || matches!(
            program,
            "sh" | "bash"
                | "zsh"
                | "dash"
                | "ksh"
                | "mksh"
                | "ash"
                | "yash"
                | "posh"
                | "fish"
                | "csh"
                | "tcsh"
                | "node"
                | "nodejs"
                | "bun"
                | "deno"
                | "perl"
                | "ruby"
                | "php"
                | "lua"
                | "luajit"
                | "Rscript"
                | "julia"
                | "osascript"
                | "expect"
                | "gdb"
                | "pwsh"
                | "powershell"
                | "awk"
                | "gawk"
                | "mawk"
                | "nawk"
                | "sed"
                | "irb"
                | "tclsh"
                | "psql"
                | "mysql"
                | "sqlite3"
                | "env"
                | "timeout"
                | "nice"
                | "nohup"
                | "stdbuf"
                | "setsid"
                | "ionice"
                | "chrt"
                | "sudo"
                | "doas"
                | "xargs"
                | "find"
                | "eval"
                | "watch"
                | "command"
                | "exec"
                | "time"
                | "busybox"
                | "git"
        )
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
    if is_python(p) {
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
