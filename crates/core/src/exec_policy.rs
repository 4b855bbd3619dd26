//! Rules on commands (`$WRIGHT_HOME/rules/*.toml`) and the reading of shell scripts they need.
//!
//! ```toml
//! [[rule]]
//! prefix = ["git", "push"]
//! decision = "forbid"          # allow | prompt | forbid
//! justification = "pushing is for people"
//! ```
//! A script is split into its simple commands (`a && b | c` is three); each is matched, and
//! the strictest decision of any match wins. `forbid` holds in every sandbox mode.

use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Prompt,
    Forbid,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub prefix: Vec<String>,
    pub decision: Decision,
    #[serde(default)]
    pub justification: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default)]
    rule: Vec<Rule>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExecPolicy {
    pub rules: Vec<Rule>,
}

#[derive(Debug, thiserror::Error)]
#[error("exec policy {path}: {message}")]
pub struct RulesError {
    pub path: PathBuf,
    pub message: String,
}

impl ExecPolicy {
    /// Whether any rule can stop or hold a command (then an unreadable script must not pass).
    pub fn restricts(&self) -> bool {
        self.rules.iter().any(|r| r.decision != Decision::Allow)
    }

    /// Reads every `*.toml` in `dir` (absent is fine). A file that does not parse is an error,
    /// not a warning: a mistyped `forbid` must not silently allow what it meant to stop.
    pub fn load(dir: &Path) -> Result<ExecPolicy, RulesError> {
        let entries = match std::fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => {
                return Err(RulesError {
                    path: dir.to_path_buf(),
                    message: e.to_string(),
                })
            }
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .collect();
        paths.sort();
        let mut rules = Vec::new();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| RulesError {
                path: path.clone(),
                message: e.to_string(),
            })?;
            let file: RulesFile = toml::from_str(&text).map_err(|e| RulesError {
                path: path.clone(),
                message: e.to_string(),
            })?;
            for rule in &file.rule {
                if rule.prefix.is_empty() {
                    return Err(RulesError {
                        path: path.clone(),
                        message: "a rule has an empty `prefix`".into(),
                    });
                }
            }
            rules.extend(file.rule);
        }
        Ok(ExecPolicy { rules })
    }

    /// The strictest rule matching any of the simple commands.
    pub fn evaluate(&self, commands: &[Vec<String>]) -> Option<&Rule> {
        commands
            .iter()
            .flat_map(|cmd| {
                self.rules
                    .iter()
                    .filter(move |r| matches_prefix(&r.prefix, cmd))
            })
            .max_by_key(|r| r.decision)
    }
}

fn matches_prefix(prefix: &[String], cmd: &[String]) -> bool {
    let cmd = &without_git_globals(cmd);
    if cmd.len() < prefix.len() {
        return false;
    }
    prefix.iter().zip(cmd).enumerate().all(|(i, (p, c))| {
        // The program may be named by path: `/usr/bin/git` is `git`.
        if i == 0 {
            p == c || c.rsplit('/').next() == Some(p.as_str())
        } else {
            p == c
        }
    })
}

/// `git -C dir -c k=v --no-pager push` is `git push` for the rules.
fn without_git_globals(cmd: &[String]) -> Vec<String> {
    let is_git = cmd
        .first()
        .is_some_and(|p| p.rsplit('/').next() == Some("git"));
    if !is_git {
        return cmd.to_vec();
    }
    let mut out = vec![cmd[0].clone()];
    let mut i = 1;
    while let Some(arg) = cmd.get(i) {
        match arg.as_str() {
            "-C" | "-c" | "--git-dir" | "--work-tree" | "--namespace" | "--config-env" => i += 2,
            a if a.starts_with('-') => i += 1,
            _ => break,
        }
    }
    out.extend(cmd.iter().skip(i).cloned());
    out
}

/// A script's simple commands, as words. Quotes are honoured; `&&`, `||`, `;`, `|`, `&` and
/// newlines separate commands. Returns `None` when the script uses constructs that cannot be
/// read safely this way (command substitution, subshells, redirections to files, here-docs).
pub fn simple_commands(script: &str) -> Option<Vec<Vec<String>>> {
    let mut commands = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    let finish_word = |word: &mut String, in_word: &mut bool, words: &mut Vec<String>| {
        if *in_word {
            words.push(std::mem::take(word));
            *in_word = false;
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
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
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch) => word.push(ch),
                            None => return None,
                        },
                        Some('$') | Some('`') => return None,
                        Some(ch) => word.push(ch),
                        None => return None,
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') => {}
                    Some(ch) => word.push(ch),
                    None => return None,
                }
            }
            '$' | '`' | '(' | ')' | '<' | '{' | '}' => return None,
            '>' => {
                // Only harmless redirections: `2>&1`, `>/dev/null`, `2>/dev/null`.
                let rest: String = chars.clone().collect();
                let digits_before = in_word && word.chars().all(|d| d.is_ascii_digit());
                if rest.starts_with("&1") || rest.starts_with("&2") {
                    chars.next();
                    chars.next();
                } else if rest.trim_start().starts_with("/dev/null") {
                    let skip = rest.len() - rest.trim_start().len() + "/dev/null".len();
                    for _ in 0..skip {
                        chars.next();
                    }
                } else {
                    return None;
                }
                if digits_before {
                    word.clear();
                    in_word = false;
                } else {
                    finish_word(&mut word, &mut in_word, &mut words);
                }
            }
            ';' | '|' | '&' | '\n' => {
                finish_word(&mut word, &mut in_word, &mut words);
                if !words.is_empty() {
                    commands.push(std::mem::take(&mut words));
                }
                while matches!(chars.peek(), Some('|') | Some('&')) {
                    chars.next();
                }
            }
            c if c.is_whitespace() => finish_word(&mut word, &mut in_word, &mut words),
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    finish_word(&mut word, &mut in_word, &mut words);
    if !words.is_empty() {
        commands.push(words);
    }
    Some(commands)
}

/// Words that only wrap the real command: `env`, `command`, `nohup`, ... and `VAR=value`
/// assignments in front of it.
pub fn strip_wrappers(cmd: &[String]) -> Vec<String> {
    let mut rest = cmd;
    loop {
        let Some(first) = rest.first() else {
            return Vec::new();
        };
        let is_assignment = first.split_once('=').is_some_and(|(name, _)| {
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        });
        let program = first.rsplit('/').next().unwrap_or(first);
        let skip = if is_assignment {
            1
        } else {
            match program {
                "command" | "builtin" | "exec" | "nohup" | "time" | "!" | "if" | "then"
                | "else" | "elif" | "do" | "while" | "until" => 1,
                // Options of the wrapper go too (`env -i`, `nice -n 5`, `timeout 10`).
                "env" | "nice" | "timeout" | "stdbuf" | "setsid" | "ionice" | "chrt" => {
                    let mut n = 1;
                    while let Some(arg) = rest.get(n) {
                        let option = arg.starts_with('-');
                        let numeric = arg.chars().all(|c| c.is_ascii_digit() || c == '.');
                        let assignment = program == "env" && arg.contains('=');
                        if option || numeric || assignment {
                            n += 1;
                        } else {
                            break;
                        }
                    }
                    n
                }
                _ => 0,
            }
        };
        if skip == 0 {
            return rest.to_vec();
        }
        rest = &rest[skip.min(rest.len())..];
    }
}

/// The commands a call really runs: wrappers stripped, and scripts given to a nested shell
/// (`bash -c '...'`) read as well. `None` when some script cannot be read.
pub fn expand(commands: Vec<Vec<String>>) -> Option<Vec<Vec<String>>> {
    fn go(commands: Vec<Vec<String>>, depth: u32, out: &mut Vec<Vec<String>>) -> Option<()> {
        for cmd in commands {
            let cmd = strip_wrappers(&cmd);
            if cmd.is_empty() {
                continue;
            }
            let program = cmd[0].rsplit('/').next().unwrap_or(&cmd[0]);
            if matches!(program, "sh" | "bash" | "zsh" | "dash" | "ksh") {
                // The script is the first argument after a flag word containing `c`.
                let flag = cmd
                    .iter()
                    .position(|a| a.starts_with('-') && !a.starts_with("--") && a.contains('c'));
                if let Some(i) = flag {
                    if depth > 4 {
                        return None;
                    }
                    let script = cmd[i + 1..].iter().find(|a| a.as_str() != "--")?;
                    go(simple_commands(script)?, depth + 1, out)?;
                    continue;
                }
            }
            out.push(cmd);
        }
        Some(())
    }
    let mut out = Vec::new();
    go(commands, 0, &mut out)?;
    Some(out)
}

/// Commands that only read: under `untrusted` they run without asking.
pub fn is_known_safe(commands: &[Vec<String>]) -> bool {
    !commands.is_empty() && commands.iter().all(|c| safe_command(&strip_wrappers(c)))
}

fn safe_command(cmd: &[String]) -> bool {
    let Some(program) = cmd.first() else {
        return false;
    };
    let program = program.rsplit('/').next().unwrap_or(program);
    let args = &cmd[1..];
    let has = |flags: &[&str]| {
        args.iter().any(|a| {
            flags
                .iter()
                .any(|f| a == f || a.starts_with(&format!("{f}=")))
        })
    };
    match program {
        "ls" | "cat" | "pwd" | "echo" | "head" | "tail" | "wc" | "grep" | "egrep" | "fgrep"
        | "which" | "true" | "false" | "uname" | "date" | "whoami" | "id" | "stat" | "file"
        | "du" | "df" | "uniq" | "cut" | "tr" | "nl" | "cd" | "printf" | "basename" | "dirname"
        | "realpath" | "readlink" => true,
        "rg" => !has(&[
            "--pre",
            "--pre-glob",
            "--hostname-bin",
            "-z",
            "--search-zip",
        ]),
        "sort" => {
            !has(&["-o", "--output", "--compress-program"])
                && !args.iter().any(|a| a.starts_with("-o"))
        }
        "tree" => !has(&["-o"]),
        "find" => !has(&[
            "-exec", "-execdir", "-delete", "-ok", "-okdir", "-fprint", "-fprint0", "-fprintf",
            "-fls",
        ]),
        // Only `sed -n 'Np'` / `'M,Np'` reads: other scripts can write (`w`) or run (`e`).
        "sed" => {
            let mut scripts = args.iter().filter(|a| !a.starts_with('-'));
            let script_ok = scripts.next().is_some_and(|s| {
                let body = s.strip_suffix('p').unwrap_or("");
                !body.is_empty()
                    && body
                        .split(',')
                        .all(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit() || c == '$'))
            });
            args.first().is_some_and(|a| a == "-n")
                && script_ok
                && args.iter().filter(|a| a.starts_with('-')).count() == 1
        }
        "git" => {
            // Global options can change what runs (`-c diff.external=...`): not safe.
            let sub = args.first().map(String::as_str);
            let read_only = matches!(
                sub,
                Some("status" | "log" | "diff" | "show" | "rev-parse" | "ls-files" | "blame")
            ) && !has(&["--output", "--ext-diff", "--textconv", "-o"]);
            let branch_listing = sub == Some("branch")
                && args[1..].iter().all(|a| {
                    matches!(
                        a.as_str(),
                        "-a" | "-r"
                            | "-v"
                            | "-vv"
                            | "--list"
                            | "--all"
                            | "--remotes"
                            | "--show-current"
                    )
                });
            read_only || branch_listing
        }
        _ => false,
    }
}

/// What "accept for this session" remembers: the program and, if it names a subcommand, that.
pub fn session_prefix(cmd: &[String]) -> Vec<String> {
    let mut prefix: Vec<String> = cmd.iter().take(1).cloned().collect();
    if let Some(sub) = cmd.get(1).filter(|s| !s.starts_with('-')) {
        prefix.push(sub.clone());
    }
    prefix
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<Vec<String>> {
        simple_commands(s).unwrap()
    }

    #[test]
    fn splits_scripts() {
        assert_eq!(
            words("make test 2>&1 | tail -5"),
            vec![vec!["make", "test"], vec!["tail", "-5"]]
        );
        assert_eq!(
            words("cd 'a b' && git status; echo \"x y\""),
            vec![
                vec!["cd", "a b"],
                vec!["git", "status"],
                vec!["echo", "x y"]
            ]
        );
        assert_eq!(words("ls >/dev/null"), vec![vec!["ls"]]);
        assert!(simple_commands("echo $(rm -rf /)").is_none());
        assert!(simple_commands("cat > out.txt").is_none());
        assert!(simple_commands("echo 'unterminated").is_none());
    }

    #[test]
    fn known_safe() {
        assert!(is_known_safe(&words(
            "ls -la && git status && sed -n 1,20p x.py"
        )));
        assert!(!is_known_safe(&words("git push")));
        assert!(!is_known_safe(&words("find . -delete")));
        assert!(!is_known_safe(&words("sed -i s/a/b/ x")));
        assert!(!is_known_safe(&words("rm -rf build")));
        assert!(!is_known_safe(&[]));
    }

    #[test]
    fn rules_load_and_match() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.toml"),
            "[[rule]]\nprefix = [\"git\", \"push\"]\ndecision = \"forbid\"\njustification = \"no\"\n[[rule]]\nprefix = [\"git\"]\ndecision = \"allow\"\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("b.toml"),
            "[[rule]]\nprefix = [\"npm\", \"publish\"]\ndecision = \"prompt\"\n",
        )
        .unwrap();
        let policy = ExecPolicy::load(dir.path()).unwrap();
        assert_eq!(policy.rules.len(), 3);
        let d = |s: &str| policy.evaluate(&words(s)).map(|r| r.decision);
        assert_eq!(d("git status"), Some(Decision::Allow));
        assert_eq!(
            d("git status && /usr/bin/git push origin"),
            Some(Decision::Forbid)
        );
        assert_eq!(d("npm publish"), Some(Decision::Prompt));
        assert_eq!(d("ls"), None);
        std::fs::write(
            dir.path().join("c.toml"),
            "[[rule]]\nprefix = [\"x\"]\ndecision = \"maybe\"\n",
        )
        .unwrap();
        let err = ExecPolicy::load(dir.path()).unwrap_err();
        assert!(err.to_string().contains("c.toml"), "{err}");
    }

    #[test]
    fn wrappers_nested_shells_and_git_options_do_not_hide_a_rule() {
        let policy = ExecPolicy {
            rules: vec![Rule {
                prefix: vec!["git".into(), "push".into()],
                decision: Decision::Forbid,
                justification: None,
            }],
        };
        for script in [
            "git push",
            "command git push",
            "env FOO=1 git push",
            "FOO=1 git push",
            "nohup git push",
            "! git push",
            "time git push",
            "git -C . push",
            "git -c x=y --no-pager push",
            "bash -c 'git push'",
            "sh -lc \"env git push origin\"",
            "if true; then git push; fi",
        ] {
            let commands = expand(words(script)).unwrap();
            assert_eq!(
                policy.evaluate(&commands).map(|r| r.decision),
                Some(Decision::Forbid),
                "{script}"
            );
        }
        assert!(expand(words("bash -c 'git push $(x)'")).is_none());
        assert!(policy.restricts());
    }

    #[test]
    fn risky_read_commands_are_not_safe() {
        for script in [
            "sed -n '1e touch /tmp/p' f",
            "rg --pre sh x .",
            "find . -fprint0 out",
            "sort --compress-program=sh f",
            "tree -o out",
            "git branch -D main",
            "git -c diff.external=sh diff",
            "git diff --output=x",
        ] {
            assert!(!is_known_safe(&words(script)), "{script}");
        }
        assert!(is_known_safe(&words(
            "sed -n 1,20p a.py && git branch -a && env ls"
        )));
    }

    #[test]
    fn session_prefixes() {
        let p = |s: &str| session_prefix(&words(s)[0]);
        assert_eq!(p("cargo test --all"), ["cargo", "test"]);
        assert_eq!(p("ls -la"), ["ls"]);
    }
}
