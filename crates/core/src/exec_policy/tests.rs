use super::*;
use crate::approval::{plan_command, CommandContext, SessionApprovals};
use crate::config::{ApprovalPolicy, SandboxMode};

const SAFE: bool = true;
const UNSAFE: bool = false;

/// Known safe, as a script run by `bash -lc`: each row is a command and its expected verdict.
const KNOWN_SAFE: &[(&str, bool)] = &[
    // Plain reading.
    ("ls", SAFE),
    ("ls -la src", SAFE),
    ("ls -la && git status && sed -n 1,20p x.py", SAFE),
    ("cat README.md", SAFE),
    ("cat -n a b c", SAFE),
    ("head -n 20 src/main.rs", SAFE),
    ("head -5 a", SAFE),
    ("tail -f log.txt", SAFE),
    ("tail -n +5 a", SAFE),
    ("wc -l src/*.rs", SAFE),
    ("grep -rn TODO src", SAFE),
    ("grep -E 'a|b' *.rs", SAFE),
    ("echo hello", SAFE),
    ("echo --help", SAFE),
    ("printf '%s\\n' a b", SAFE),
    ("printf -v x %s y", SAFE),
    ("pwd", SAFE),
    ("cd src && ls", SAFE),
    ("which cargo", SAFE),
    ("readlink -f x", SAFE),
    ("realpath .", SAFE),
    ("stat --printf=%s x", SAFE),
    ("du -sh .", SAFE),
    ("df -h", SAFE),
    ("uname -a", SAFE),
    ("id -u", SAFE),
    ("whoami", SAFE),
    ("true", SAFE),
    ("cut -d: -f1 /etc/passwd", SAFE),
    ("tr a-z A-Z", SAFE),
    ("nl a", SAFE),
    ("basename a/b", SAFE),
    ("dirname a/b", SAFE),
    ("sha256sum Cargo.lock", SAFE),
    ("ls | wc -l", SAFE),
    ("ls 2>/dev/null", SAFE),
    ("ls >/dev/null 2>&1", SAFE),
    ("ls > /dev/null", SAFE),
    ("ls 2>&1 | head", SAFE),
    ("ls >&2", SAFE),
    ("cat a 1>&2", SAFE),
    ("/bin/ls -la", SAFE),
    ("/usr/bin/cat a", SAFE),
    // Wrappers that change nothing.
    ("env ls", SAFE),
    ("env", SAFE),
    ("command ls", SAFE),
    ("time ls", SAFE),
    ("time -p ls", SAFE),
    ("nice ls", SAFE),
    ("nice -n 5 ls", SAFE),
    ("timeout 10 ls", SAFE),
    ("timeout -s KILL -k 5 10s cat a", SAFE),
    ("timeout --signal=TERM 1m grep x a", SAFE),
    ("! grep -q x a", SAFE),
    // date, file, sort, uniq, tree.
    ("date", SAFE),
    ("date +%Y-%m-%d", SAFE),
    ("date -u -d yesterday +%s", SAFE),
    ("date -s 2020-01-01", UNSAFE),
    ("date --set=2020-01-01", UNSAFE),
    ("date 010100002020", UNSAFE),
    ("file a.bin", SAFE),
    ("file --mime-type a", SAFE),
    ("file -C -m magic", UNSAFE),
    ("file -z a.gz", UNSAFE),
    ("sort a", SAFE),
    ("sort -rn -k 2 a", SAFE),
    ("sort -u -t, -k1,1 a", SAFE),
    ("sort -o out a", UNSAFE),
    ("sort -uo out a", UNSAFE),
    ("sort --output=out a", UNSAFE),
    ("sort --out=out a", UNSAFE),
    ("sort --compress-program=sh a", UNSAFE),
    ("sort --compress=sh a", UNSAFE),
    ("sort -T /tmp a", UNSAFE),
    ("uniq a", SAFE),
    ("uniq -c a", SAFE),
    ("uniq a b", UNSAFE),
    ("uniq -c a out", UNSAFE),
    ("uniq *.txt", UNSAFE),
    ("tree", SAFE),
    ("tree -L 2 -a src", SAFE),
    ("tree -o out", UNSAFE),
    ("tree -R -H . -o x", UNSAFE),
    // find.
    ("find . -name '*.rs'", SAFE),
    ("find . -type f -newer a -print0", SAFE),
    ("find src -maxdepth 2 -iname '*.toml' -o -name x", SAFE),
    ("find . -delete", UNSAFE),
    ("find . -exec rm {} \\;", UNSAFE),
    ("find . -execdir ls \\;", UNSAFE),
    ("find . -ok rm {} \\;", UNSAFE),
    ("find . -okdir rm {} +", UNSAFE),
    ("find . -fprint out", UNSAFE),
    ("find . -fprint0 out", UNSAFE),
    ("find . -fprintf out %p", UNSAFE),
    ("find . -fls out", UNSAFE),
    ("find * -name x", UNSAFE),
    // rg.
    ("rg foo", SAFE),
    ("rg -n -i --hidden -g '*.rs' foo src", SAFE),
    ("rg -l -t rust foo", SAFE),
    ("rg --pre sh foo", UNSAFE),
    ("rg --pre=sh foo", UNSAFE),
    ("rg --pre-glob '*' foo", UNSAFE),
    ("rg -z foo", UNSAFE),
    ("rg -iz foo", UNSAFE),
    ("rg --search-zip foo", UNSAFE),
    ("rg --hostname-bin=sh foo", UNSAFE),
    ("rg --pr=sh foo", UNSAFE),
    ("rg foo *", UNSAFE),
    // sed.
    ("sed -n 1,20p a.py", SAFE),
    ("sed -n '$p' a", SAFE),
    ("sed -n 5p a b", SAFE),
    ("sed -n '1e touch /tmp/p' f", UNSAFE),
    ("sed -i s/a/b/ x", UNSAFE),
    ("sed s/a/b/w out x", UNSAFE),
    ("sed -n '1w out' f", UNSAFE),
    ("sed -n 1p -i f", UNSAFE),
    ("sed -n 1,5p --in-place f", UNSAFE),
    // git.
    ("git status", SAFE),
    ("git status --porcelain -b", SAFE),
    ("git log --oneline -20", SAFE),
    ("git log -p -n 3 -- src", SAFE),
    ("git log --format=%H --since=yesterday", SAFE),
    ("git diff", SAFE),
    ("git diff --cached --stat", SAFE),
    ("git diff HEAD~1 -- a.rs", SAFE),
    ("git show HEAD:src/main.rs", SAFE),
    ("git show --stat HEAD", SAFE),
    ("git rev-parse --show-toplevel", SAFE),
    ("git ls-files -z", SAFE),
    ("git blame -L 1,20 a.rs", SAFE),
    ("git grep -n foo", SAFE),
    ("git branch", SAFE),
    ("git branch -a -vv", SAFE),
    ("git branch --show-current", SAFE),
    ("git push", UNSAFE),
    ("git commit -m x", UNSAFE),
    ("git checkout main", UNSAFE),
    ("git branch -D main", UNSAFE),
    ("git branch newbranch", UNSAFE),
    ("git -c diff.external=sh diff", UNSAFE),
    ("git -c alias.status='!sh -c evil' status", UNSAFE),
    ("git -C /tmp status", UNSAFE),
    ("git --git-dir=/tmp/x log", UNSAFE),
    ("git --exec-path=/tmp status", UNSAFE),
    ("git -p log", UNSAFE),
    ("git --no-pager log", UNSAFE),
    ("git diff --output=x", UNSAFE),
    ("git diff --output x", UNSAFE),
    ("git diff --out=x", UNSAFE),
    ("git diff --ext-diff", UNSAFE),
    ("git diff --textconv", UNSAFE),
    ("git log --show-signature", UNSAFE),
    ("git log -c core.pager=x", UNSAFE),
    ("git show --output=/tmp/x HEAD", UNSAFE),
    ("git grep -O foo", UNSAFE),
    ("git grep --open-files-in-pager=vim foo", UNSAFE),
    ("git grep --open foo", UNSAFE),
    ("git status --exec=sh", UNSAFE),
    ("git log --upload-pack=sh", UNSAFE),
    ("git config core.pager sh", UNSAFE),
    ("git fetch", UNSAFE),
    // Assignments, wrappers with options, shells.
    ("GIT_PAGER=sh git log", UNSAFE),
    ("GIT_EXTERNAL_DIFF=sh git diff", UNSAFE),
    ("GIT_CONFIG_COUNT=1 git status", UNSAFE),
    ("PAGER='sh -c evil' git log", UNSAFE),
    ("LESSOPEN='|sh' cat a", UNSAFE),
    ("BASH_ENV=evil ls", UNSAFE),
    ("LD_PRELOAD=/tmp/x.so ls", UNSAFE),
    ("FOO=1 ls", UNSAFE),
    ("env FOO=1 ls", UNSAFE),
    ("env -i ls", UNSAFE),
    ("env -S 'ls -la'", UNSAFE),
    ("env -u PATH ls", UNSAFE),
    ("env LD_PRELOAD=x ls", UNSAFE),
    ("command -p ls", UNSAFE),
    ("/usr/bin/time -o out ls", UNSAFE),
    ("time -o out ls", UNSAFE),
    ("nohup ls", UNSAFE),
    ("timeout 5 rm x", UNSAFE),
    ("timeout --foo 5 ls", UNSAFE),
    ("nice -n 5 rm x", UNSAFE),
    ("sudo ls", UNSAFE),
    ("doas ls", UNSAFE),
    ("stdbuf -oL ls", UNSAFE),
    ("xargs ls", UNSAFE),
    ("ls | xargs cat", UNSAFE),
    ("bash -c ls", UNSAFE),
    ("sh -c 'cat a'", UNSAFE),
    ("eval ls", UNSAFE),
    ("exec -a x ls", UNSAFE),
    ("./ls", UNSAFE),
    ("bin/cat a", UNSAFE),
    ("/tmp/evil/ls", UNSAFE),
    // Programs that run others or write.
    ("awk '{print}' a", UNSAFE),
    ("awk 'BEGIN{system(\"sh\")}'", UNSAFE),
    ("tee out", UNSAFE),
    ("less a", UNSAFE),
    ("more a", UNSAFE),
    ("man ls", UNSAFE),
    ("vim a", UNSAFE),
    ("python3 -c 'print(1)'", UNSAFE),
    ("node -e 1", UNSAFE),
    ("perl -e 1", UNSAFE),
    ("rm -rf build", UNSAFE),
    ("touch a", UNSAFE),
    ("mkdir a", UNSAFE),
    ("cp a b", UNSAFE),
    ("hostname evil", UNSAFE),
    ("make test", UNSAFE),
    ("cargo test", UNSAFE),
    ("ls; rm -rf /", UNSAFE),
    ("ls && touch x", UNSAFE),
    ("cat a | sh", UNSAFE),
    // Redirections to files and unreadable scripts.
    ("ls > out", UNSAFE),
    ("ls >> out", UNSAFE),
    ("ls >| out", UNSAFE),
    ("ls &> out", UNSAFE),
    ("ls &>> out", UNSAFE),
    ("ls >&2.name", UNSAFE),
    ("ls >&out", UNSAFE),
    ("ls 2>&1x", UNSAFE),
    ("ls >/dev/nullx", UNSAFE),
    ("ls > /dev/null.txt", UNSAFE),
    ("ls >>/dev/null", UNSAFE),
    ("cat <> f", UNSAFE),
    ("cat < f", UNSAFE),
    ("cat <<EOF\nx\nEOF", UNSAFE),
    ("echo $(rm -rf /)", UNSAFE),
    ("echo `rm -rf /`", UNSAFE),
    ("echo \"$(touch x)\"", UNSAFE),
    ("(ls)", UNSAFE),
    ("{ ls; }", UNSAFE),
    ("ls $HOME", UNSAFE),
    ("echo 'unterminated", UNSAFE),
    ("cat <(ls)", UNSAFE),
    ("", UNSAFE),
];

#[test]
fn known_safe_table() {
    assert!(KNOWN_SAFE.len() >= 150, "{} rows", KNOWN_SAFE.len());
    let mut wrong = Vec::new();
    for (script, expected) in KNOWN_SAFE {
        let argv = ["bash", "-lc", script].map(String::from);
        if is_known_safe_argv(&argv) != *expected {
            wrong.push(format!(
                "{script:?} should be {}",
                if *expected { "safe" } else { "unsafe" }
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn known_safe_direct_argv() {
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(is_known_safe_argv(&v(&["ls", "-la"])));
    assert!(is_known_safe_argv(&v(&["git", "status"])));
    // Without a shell, `*` is just a word.
    assert!(!is_known_safe_argv(&v(&["rg", "--pre", "sh", "x"])));
    assert!(!is_known_safe_argv(&v(&["./bash", "-lc", "ls"])));
    assert!(is_known_safe_argv(&v(&["/bin/bash", "-lc", "ls"])));
    assert!(!is_known_safe_argv(&v(&["bash", "-lc", "ls", "extra"])));
    assert!(!is_known_safe_argv(&v(&[])));
    // The user's own shell is trusted wherever it lives; another path to a shell is not.
    let brew = v(&["/opt/homebrew/bin/bash", "-lc", "ls"]);
    assert!(is_known_safe_argv_in(&brew, Some("/opt/homebrew/bin/bash")));
    assert!(!is_known_safe_argv_in(&brew, None));
    assert!(!is_known_safe_argv_in(
        &v(&["/tmp/x/bash", "-lc", "ls"]),
        Some("/opt/homebrew/bin/bash")
    ));
}

fn rule(prefix: &[&str], decision: Decision) -> Rule {
    Rule {
        prefix: prefix.iter().map(|s| s.to_string()).collect(),
        decision,
        justification: None,
    }
}

fn test_policy() -> ExecPolicy {
    ExecPolicy {
        rules: vec![
            rule(&["git", "push"], Decision::Forbid),
            rule(&["rm"], Decision::Forbid),
            rule(&["npm", "publish"], Decision::Prompt),
            rule(&["sudo"], Decision::Prompt),
            rule(&["git", "status"], Decision::Allow),
            rule(&["cargo", "test"], Decision::Allow),
            rule(&["ls"], Decision::Allow),
        ],
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Forbid,
    Prompt,
    Allow,
    /// No rule decides.
    Free,
    /// Cannot be read, or runs inline code: treated as `prompt` when rules restrict.
    Opaque,
}
use Outcome::*;

fn outcome(policy: &ExecPolicy, script: &str) -> Outcome {
    let analysis = analyze(&["bash", "-lc", script].map(String::from), None);
    let decided = analysis
        .commands
        .as_deref()
        .and_then(|c| policy.evaluate(c))
        .map(|r| r.decision);
    match decided {
        Some(Decision::Forbid) => Forbid,
        _ if analysis.opaque() => Opaque,
        Some(Decision::Prompt) => Prompt,
        Some(Decision::Allow) => Allow,
        None => Free,
    }
}

/// Rules see through wrappers, nested shells, git options and aliases.
const RULES: &[(&str, Outcome)] = &[
    ("git push", Forbid),
    ("/usr/bin/git push origin", Forbid),
    ("git status && git push", Forbid),
    ("command git push", Forbid),
    ("builtin command git push", Forbid),
    ("exec git push", Forbid),
    ("exec -a x git push", Forbid),
    ("FOO=1 git push", Forbid),
    ("env git push", Forbid),
    ("env FOO=1 git push", Forbid),
    ("env -i git push", Forbid),
    ("env -i PATH=/usr/bin git push", Forbid),
    ("env -u HOME git push", Forbid),
    ("env -uHOME git push", Forbid),
    ("env -C /tmp git push", Forbid),
    ("env --chdir=/tmp git push", Forbid),
    ("env --unset HOME -- git push", Forbid),
    ("env -S 'git push'", Forbid),
    ("env -S'git push' origin", Forbid),
    ("env -iS 'FOO=1 git push'", Forbid),
    ("env --split-string='git push'", Forbid),
    ("env -S 'env -S \"git push\"'", Forbid),
    ("timeout 10 git push", Forbid),
    ("timeout -s KILL -k 5 10s git push", Forbid),
    ("timeout --signal=TERM 1m git push", Forbid),
    ("timeout --preserve-status 1 git push", Forbid),
    ("time git push", Forbid),
    ("time -p git push", Forbid),
    ("nice git push", Forbid),
    ("nice -n 5 git push", Forbid),
    ("nice -5 git push", Forbid),
    ("nice --adjustment=5 git push", Forbid),
    ("nice -n5 git push", Forbid),
    ("nohup git push", Forbid),
    ("stdbuf -oL git push", Forbid),
    ("stdbuf -o L -e 0 git push", Forbid),
    ("setsid -w git push", Forbid),
    ("setsid -f git push", Forbid),
    ("ionice -c 3 git push", Forbid),
    ("ionice -c3 -n7 git push", Forbid),
    ("chrt -f 10 git push", Forbid),
    ("chrt --idle 0 git push", Forbid),
    ("sudo git push", Forbid),
    ("sudo -u bob -E git push", Forbid),
    ("sudo -- git push", Forbid),
    ("doas -u root git push", Forbid),
    ("! git push", Forbid),
    ("if true; then git push; fi", Forbid),
    ("while true; do git push; done", Forbid),
    ("coproc git push", Forbid),
    ("busybox env git push", Forbid),
    ("nice timeout 5 env -i nohup git push", Forbid),
    // xargs and find.
    ("echo x | xargs git push", Forbid),
    ("echo push | xargs git", Forbid),
    ("echo x | xargs -0 -n1 rm", Forbid),
    ("echo x | xargs -I{} rm {}", Forbid),
    ("echo x | xargs -I % git push %", Forbid),
    ("echo x | xargs -P4 -L 1 -- rm -f", Forbid),
    ("echo x | xargs -I{} sh -c 'rm {}'", Opaque),
    ("echo x | xargs sh -c", Opaque),
    ("echo x | xargs -p git", Forbid),
    ("find . -exec rm {} \\;", Forbid),
    ("find . -name x -execdir git push \\;", Forbid),
    ("find . -ok rm -f {} +", Forbid),
    ("find . -okdir rm {} \\;", Forbid),
    ("find . -delete", Forbid),
    ("find . -name '*.o' -delete", Forbid),
    ("find . -exec sh -c 'git push' \\;", Forbid),
    ("find . -exec sh -c 'echo {}' \\;", Opaque),
    ("find . -exec git {} \\;", Forbid),
    ("find . -name x", Free),
    // Nested scripts.
    ("eval 'git push'", Forbid),
    ("eval git push", Forbid),
    ("eval \"eval 'git push'\"", Forbid),
    ("bash -c 'git push'", Forbid),
    ("bash -lc 'git push'", Forbid),
    ("sh -xc 'git push'", Forbid),
    ("bash -ec 'git push'", Forbid),
    ("bash -o pipefail -c 'git push'", Forbid),
    ("bash -c -o pipefail 'git push'", Forbid),
    ("bash --norc -c 'git push'", Forbid),
    ("zsh -c 'git push'", Forbid),
    ("dash -c 'cd x && git push'", Forbid),
    ("sh -c \"env git push origin\"", Forbid),
    ("fish -c 'git push'", Forbid),
    ("fish --command='git push'", Forbid),
    ("bash -c 'bash -c \"git push\"'", Forbid),
    ("echo 'git push' | sh", Opaque),
    ("bash -s < x", Opaque),
    ("bash -c 'git push $(x)'", Opaque),
    ("bash script.sh", Free),
    ("watch -n 1 git push", Forbid),
    ("watch 'git push'", Forbid),
    ("watch -x git push", Forbid),
    ("trap 'git push' EXIT", Forbid),
    ("alias p='git push'; p", Forbid),
    ("strace -f git push", Forbid),
    ("ssh host git push", Forbid),
    ("parallel git ::: push", Forbid),
    ("su -c 'git push'", Forbid),
    ("runuser -u bob -- sh -c 'git push'", Forbid),
    ("ssh host 'cd x && git push'", Forbid),
    ("script -qc 'git push' /dev/null", Forbid),
    ("flock /tmp/l -c 'git push'", Forbid),
    ("/usr/lib/git-core/git-push origin", Forbid),
    ("git-push", Forbid),
    ("g?t push", Forbid),
    ("GIT push", Forbid),
    ("/usr/bin/Git push", Forbid),
    ("/usr/bin/gi* push", Forbid),
    ("git pu\\sh", Forbid),
    ("'git' \"push\"", Forbid),
    ("echo 'git push' | bash /dev/stdin", Opaque),
    ("echo 'git push' | bash -", Opaque),
    ("echo 'import os' | python3 /dev/stdin", Opaque),
    ("echo '.shell git push' | sqlite3 x.db", Opaque),
    ("psql -c '\\! git push'", Forbid),
    ("psql -c 'select 1'", Opaque),
    ("echo '!git push' | ed", Opaque),
    ("uv run python -c 'import os'", Opaque),
    ("poetry run bash -c 'git push'", Forbid),
    ("docker exec c env -S 'git push'", Forbid),
    ("echo 'git push' | docker exec -i c bash", Opaque),
    ("pip install python-dotenv", Free),
    ("echo git push", Free),
    ("git commit -m 'do not git push'", Free),
    // git global options and aliases.
    ("git -C . push", Forbid),
    ("git -c x=y --no-pager push", Forbid),
    ("git --git-dir=.git --work-tree=. push", Forbid),
    ("git --git-dir .git push", Forbid),
    ("git --namespace=x push", Forbid),
    ("git --exec-path=/usr/lib/git-core push", Forbid),
    ("git -p push", Forbid),
    ("git --bare push", Forbid),
    ("git -c alias.p=push p", Forbid),
    ("git -c alias.p='push --force' p origin", Forbid),
    ("git -c Alias.P=push p", Forbid),
    ("git -c alias.p='!git push' p", Forbid),
    ("git -c alias.p='!f() { git push; }; f' p", Opaque),
    ("git -c alias.p='!sh -c \"git push\"' p", Forbid),
    ("git -c alias.a=b -c alias.b=push a", Forbid),
    ("git -c alias.x=push -c alias.y='!git x' y", Forbid),
    ("git -c alias.x=push rebase -x 'git x' main", Forbid),
    ("git -c alias.a='!git a; git a; git a; git a' a", Opaque),
    ("git -c alias.s='-c x=y push' s", Forbid),
    ("git -c alias.status='!rm -rf /' status", Forbid),
    ("git -c include.path=/tmp/x status", Opaque),
    ("git --config-env=alias.p=X p", Opaque),
    (
        "GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=alias.s GIT_CONFIG_VALUE_0=push git s",
        Opaque,
    ),
    ("env GIT_CONFIG_PARAMETERS=x git s", Opaque),
    ("git --frobnicate push", Opaque),
    ("git rebase -x 'git push' main", Forbid),
    ("git rebase --exec='rm x' main", Forbid),
    ("git bisect run rm x", Forbid),
    ("git submodule foreach git push", Forbid),
    // Inline code is opaque to the rules.
    ("python3 -c 'import os; os.system(\"git push\")'", Opaque),
    ("python -c 1", Opaque),
    ("python3 -Bc 1", Opaque),
    ("echo x | python3", Opaque),
    ("python3 - < x", Opaque),
    ("python3 script.py", Free),
    ("python3 -m http.server", Free),
    ("python3 --version", Free),
    ("node -e 1", Opaque),
    ("node --eval 1", Opaque),
    ("node -p 1", Opaque),
    ("node app.js", Free),
    ("perl -e 1", Opaque),
    ("perl -ne print x", Opaque),
    ("perl -E say", Opaque),
    ("ruby -e 1", Opaque),
    ("php -r 1", Opaque),
    ("lua -e 1", Opaque),
    ("deno eval 1", Opaque),
    ("bun -e 1", Opaque),
    ("awk 'BEGIN{system(\"git push\")}'", Opaque),
    ("awk -f prog.awk x", Free),
    ("sed 'e git push' x", Forbid),
    ("sed 'e foo' x", Opaque),
    ("sed -n 's/a/b/e' x", Opaque),
    ("sed -i 's/hello/world/g' x", Free),
    ("sed -n '/re/p' x", Free),
    ("env python3 -c 1", Opaque),
    // Prompts, allows and nothing.
    ("npm publish", Prompt),
    ("sudo ls", Prompt),
    ("git status", Allow),
    ("git status --short", Allow),
    ("git status && ls -la", Allow),
    ("ls && make", Free),
    ("cargo test --all", Allow),
    ("timeout 5 cargo test", Allow),
    ("FOO=1 cargo test", Free),
    ("cargo --config x test", Free),
    ("cargo test --config 'target.x.runner=\"sh\"'", Free),
    ("git -c core.pager=sh status", Free),
    ("git -C /tmp status", Free),
    ("./ls", Free),
    ("ls *", Allow),
    ("make", Free),
    ("ls | xargs ls", Free),
    ("sudo ls", Prompt),
    ("nice ls", Allow),
];

#[test]
fn rules_see_through_wrappers() {
    assert!(RULES.len() >= 150, "{} rows", RULES.len());
    let policy = test_policy();
    let mut wrong = Vec::new();
    for (script, expected) in RULES {
        let got = outcome(&policy, script);
        if got != *expected {
            wrong.push(format!("{script:?}: expected {expected:?}, got {got:?}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(policy.restricts());
}

#[test]
fn splits_scripts() {
    let words = |s: &str| simple_commands(s).unwrap();
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
    assert_eq!(
        words("find . -exec ls {} +"),
        vec![vec!["find", ".", "-exec", "ls", "{}", "+"]]
    );
    assert_eq!(words("echo \"a\\b\""), vec![vec!["echo", "a\\b"]]);
    for unreadable in [
        "echo $(rm -rf /)",
        "cat > out.txt",
        "echo 'unterminated",
        "ls >&2.name",
        "ls >/dev/null2",
        "echo {a,b}",
        "{ ls; }",
        "cat <<EOF",
    ] {
        assert!(simple_commands(unreadable).is_none(), "{unreadable}");
    }
    let parsed = parse_script("ls *.rs '*'").unwrap();
    assert!(parsed[0][1].glob);
    assert!(!parsed[0][2].glob);
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
    assert_eq!(outcome(&policy, "git status"), Allow);
    assert_eq!(
        outcome(&policy, "git status && /usr/bin/git push origin"),
        Forbid
    );
    assert_eq!(outcome(&policy, "npm publish"), Prompt);
    assert_eq!(outcome(&policy, "ls"), Free);
    // `allow` must cover every command that runs.
    assert_eq!(outcome(&policy, "git status && rm -rf x"), Free);
    // ... and only the program as written.
    assert_eq!(outcome(&policy, "./git status"), Free);
    std::fs::write(
        dir.path().join("c.toml"),
        "[[rule]]\nprefix = [\"x\"]\ndecision = \"maybe\"\n",
    )
    .unwrap();
    let err = ExecPolicy::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains("c.toml"), "{err}");
}

fn keys(script: &str) -> Option<Vec<Vec<String>>> {
    expand_script(script).and_then(|c| session_keys(&c))
}

fn key(words: &[&str]) -> Vec<String> {
    words.iter().map(|s| s.to_string()).collect()
}

#[test]
fn session_keys_are_exact() {
    assert_eq!(
        keys("cargo test --all"),
        Some(vec![key(&["cargo", "test"])])
    );
    assert_eq!(keys("git status"), Some(vec![key(&["git", "status"])]));
    // Wrappers that change nothing are stripped.
    assert_eq!(
        keys("timeout 5 git status"),
        Some(vec![key(&["git", "status"])])
    );
    assert_eq!(
        keys("bash -c 'git status'"),
        Some(vec![key(&["git", "status"])])
    );
    // An option second: the whole command, so `git` alone or `ls -la` approve nothing more.
    assert_eq!(keys("ls -la"), Some(vec![key(&["ls", "-la"])]));
    assert_eq!(
        keys("uv run python -c 'print(1)'"),
        Some(vec![key(&["uv", "run", "python", "-c", "print(1)"])])
    );
    assert_eq!(
        keys("python3 -c 'print(1)'"),
        Some(vec![key(&["python3", "-c", "print(1)"])])
    );
    assert_eq!(keys("git"), Some(vec![key(&["git"])]));
    assert_eq!(
        keys("cd x && make test"),
        Some(vec![key(&["cd", "x"]), key(&["make", "test"])])
    );
    // Anything that changes meaning cannot be remembered (and never matches a remembered key).
    for altered in [
        "git -c core.pager=sh status",
        "git -c alias.status='!sh -c evil' status",
        "git -C /tmp status",
        "git --git-dir=/tmp/x status",
        "git --no-pager status",
        "GIT_DIR=/tmp/x git status",
        "FOO=1 git status",
        "env -i git status",
        "env GIT_PAGER=sh git status",
        "sudo git status",
        "cargo --config x test",
        "cargo test --config 'target.x.runner=\"sh\"'",
        "cargo +nightly test",
        "cargo test -Zunstable-options",
        "make test SHELL=/tmp/sh",
        "make -f evil.mk test",
        "echo x | xargs git status",
        "find . -exec git status {} \\;",
        "ls *",
        "git status $(x)",
        "git status && sudo ls",
    ] {
        assert_eq!(keys(altered), None, "{altered}");
    }
}

fn ctx<'a>(
    policy: ApprovalPolicy,
    rules: &'a ExecPolicy,
    session: &'a SessionApprovals,
) -> CommandContext<'a> {
    CommandContext {
        approval_policy: policy,
        sandbox_mode: SandboxMode::WorkspaceWrite,
        exec_policy: rules,
        session,
        user_shell: Some("/opt/homebrew/bin/bash"),
    }
}

fn script_argv(script: &str) -> Vec<String> {
    ["bash", "-lc", script].map(String::from).to_vec()
}

/// "Accept for this session" of one command approves exactly that program and subcommand.
#[test]
fn accept_for_session_approves_that_prefix_only() {
    let rules = ExecPolicy::default();
    let session = SessionApprovals::default();
    let ask = |script: &str| {
        plan_command(
            &script_argv(script),
            false,
            ctx(ApprovalPolicy::Untrusted, &rules, &session),
        )
        .unwrap()
        .ask
    };
    let remember = |script: &str| {
        let plan = plan_command(
            &script_argv(script),
            false,
            ctx(ApprovalPolicy::Untrusted, &rules, &session),
        )
        .unwrap();
        assert!(plan.ask, "{script}");
        for key in plan.session_keys.iter().flatten() {
            session.allow_prefix(key);
        }
    };
    remember("cargo test");
    remember("git push origin main");
    assert!(!ask("cargo test"));
    assert!(!ask("cargo test -p x"));
    assert!(!ask("timeout 60 cargo test"));
    assert!(!ask("git push"));
    for again in [
        "cargo build",
        "cargo --config 'build.rustc-wrapper=\"sh\"' test",
        "cargo test --config x",
        "FOO=1 cargo test",
        "git push && rm -rf x",
        "git -c alias.push='!sh -c evil' push",
        "git -c core.sshCommand=evil push",
        "git -C /tmp/other push",
        "./cargo test",
        "git pull",
        "echo x | xargs cargo test",
    ] {
        assert!(ask(again), "{again}");
    }
    // A command line that cannot be remembered is asked about every time.
    let plan = plan_command(
        &script_argv("git -c core.pager=sh status"),
        false,
        ctx(ApprovalPolicy::Untrusted, &rules, &session),
    )
    .unwrap();
    assert!(plan.ask);
    assert_eq!(plan.session_keys, None);
    session.allow_prefix(&key(&["git", "status"]));
    assert!(!ask("git status"));
    assert!(ask("git -c core.pager=sh status"));
    assert!(ask("git -c alias.status='!sh -c evil' status"));
    // `git` alone approves no subcommand.
    session.allow_prefix(&key(&["git"]));
    assert!(ask("git fetch"));
}

#[test]
fn plan_obeys_rules_and_policies() {
    let rules = test_policy();
    let session = SessionApprovals::default();
    let plan = |policy: ApprovalPolicy, script: &str| {
        plan_command(&script_argv(script), false, ctx(policy, &rules, &session))
    };
    let forbidden = plan(ApprovalPolicy::OnRequest, "env -i timeout 5 git push").unwrap_err();
    assert!(forbidden.contains("`git push` is forbidden"), "{forbidden}");
    assert!(plan(ApprovalPolicy::Never, "npm publish").is_err());
    assert!(plan(ApprovalPolicy::OnRequest, "npm publish").unwrap().ask);
    // Opaque lines (unreadable, inline code) are held when any rule restricts.
    assert!(plan(ApprovalPolicy::Never, "python3 -c 'print(1)'").is_err());
    assert!(
        plan(ApprovalPolicy::OnRequest, "python3 -c 'print(1)'")
            .unwrap()
            .ask
    );
    assert!(plan(ApprovalPolicy::OnRequest, "echo $(date)").unwrap().ask);
    assert!(!plan(ApprovalPolicy::OnRequest, "make").unwrap().ask);
    // Under untrusted: known safe or allowed runs, anything else asks.
    assert!(
        !plan(ApprovalPolicy::Untrusted, "git log --oneline")
            .unwrap()
            .ask
    );
    assert!(!plan(ApprovalPolicy::Untrusted, "cargo test").unwrap().ask);
    assert!(
        plan(ApprovalPolicy::Untrusted, "cargo --config x test")
            .unwrap()
            .ask
    );
    assert!(plan(ApprovalPolicy::Untrusted, "make").unwrap().ask);
    assert!(
        plan(ApprovalPolicy::Untrusted, "git status && make")
            .unwrap()
            .ask
    );
    // Allowed and known-safe commands mix; anything else in the line still asks.
    let asks = |script: &str| plan(ApprovalPolicy::Untrusted, script).unwrap().ask;
    assert!(!asks("cargo test && ls -la | head"));
    assert!(asks("cargo test && sort -o x y"));
    assert!(asks("cargo test > out"));
    assert!(asks("FOO=1 cargo test && ls"));
    assert!(asks("ls && npm publish"));
    // Without restricting rules, inline code is merely not known safe.
    let none = ExecPolicy::default();
    let p = |policy, script: &str| {
        plan_command(&script_argv(script), false, ctx(policy, &none, &session)).unwrap()
    };
    assert!(!p(ApprovalPolicy::OnRequest, "python3 -c 1").ask);
    assert!(p(ApprovalPolicy::Untrusted, "python3 -c 1").ask);
    assert!(!p(ApprovalPolicy::Never, "echo $(date)").ask);
}

#[test]
fn globs_match_rule_words_without_blowing_up() {
    assert!(glob_may_match("g?t", "git"));
    assert!(glob_may_match("*", "git"));
    assert!(glob_may_match("p*h", "push"));
    assert!(glob_may_match("[a-z]ush", "push"));
    assert!(!glob_may_match("p*x", "push"));
    let long = format!("{}x", "*".repeat(5000));
    assert!(!glob_may_match(&long, "push"));
    let long = "*a".repeat(3000);
    assert!(!glob_may_match(&long, &"b".repeat(3000)));
}

#[test]
fn hostile_lines_stay_cheap() {
    let deep = "eval ".repeat(200) + "git push";
    assert!(expand_script(&deep).is_none());
    let wide = "git push; ".repeat(5000);
    assert!(expand_script(&wide).is_none());
    let nested = (0..8).fold("git push".to_string(), |s, _| {
        format!("sh -c {}", shell_quote(&s))
    });
    assert_eq!(outcome(&test_policy(), &nested), Forbid);
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}
