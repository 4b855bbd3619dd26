//! The sandbox through the agent: escapes attempted by a (mock) model via `wright exec`, each
//! first shown to work with `-s danger-full-access`; and patches racing a symlink swap.

mod common;

use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use common::*;
use serde_json::Value;
use wright_mock_model::Step;

const WRIGHT: &str = env!("CARGO_BIN_EXE_wright");

/// The mock model's script: for each run, one command and then a final answer.
fn steps(scripts: &[&str]) -> Vec<Step> {
    scripts
        .iter()
        .flat_map(|s| [Step::calls(vec![exec_call(s)]), Step::message("done")])
        .collect()
}

/// One `wright exec` run (the model runs the next scripted command); the command item.
async fn agent_runs(env: &Env, sandbox: &str, _script: &str) -> Value {
    let run = env
        .exec(&["--json", "--skip-git-repo-check", "-s", sandbox, "go"])
        .await;
    run.assert_ok();
    run.items("item.completed")
        .into_iter()
        .find(|i| i["type"] == "command_execution")
        .expect("no command item")
}

#[tokio::test]
async fn escapes_through_the_agent_are_blocked() {
    let outside = outside_the_roots();
    let out = outside.path().canonicalize().unwrap();
    let target = out.join("pwned");
    let write = format!("echo pwned > {}", target.display());
    let hook = "git init -q . && echo evil > .git/hooks/pre-commit";
    let sock = out.join("svc.sock");
    let connect = format!(
        "python3 -c 'import socket; s=socket.socket(socket.AF_UNIX); s.connect(\"{}\"); s.recv(2)'",
        sock.display()
    );
    let marker = format!("wbg{}", std::process::id());
    let (a, b) = marker.split_at(3);
    let background =
        format!("(setsid bash -c 'exec -a \"{a}\"\"{b}\" sleep 60' >/dev/null 2>&1 &); echo ok");
    let env = Env::new(steps(&[
        &write,
        &write,
        hook,
        hook,
        &connect,
        &connect,
        &background,
        &background,
    ]))
    .await;

    // 1. Writing outside the workspace.
    let script = write.clone();
    agent_runs(&env, "danger-full-access", &script).await;
    assert!(target.exists(), "control: unconfined write failed");
    std::fs::remove_file(&target).unwrap();
    let item = agent_runs(&env, "workspace-write", &script).await;
    assert!(!target.exists(), "write outside through the agent");
    assert!(item["aggregated_output"]
        .as_str()
        .unwrap()
        .contains("Read-only file system"));

    // 2. A repository made by the command, then a hook (the workspace has no .git here).
    std::fs::remove_dir_all(env.repo().join(".git")).unwrap();
    let script = "git init -q . && echo evil > .git/hooks/pre-commit";
    agent_runs(&env, "workspace-write", script).await;
    assert!(
        !env.repo().join(".git/hooks/pre-commit").exists(),
        "hook planted"
    );
    agent_runs(&env, "danger-full-access", script).await;
    assert!(env.repo().join(".git/hooks/pre-commit").exists(), "control");

    // 3. A Unix socket served from outside (an agent, a multiplexer, docker...).
    let listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    let served = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&served);
    std::thread::spawn(move || {
        for mut c in listener.incoming().flatten() {
            flag.store(true, Ordering::SeqCst);
            let _ = c.write_all(b"hi");
        }
    });
    let script = connect.clone();
    agent_runs(&env, "workspace-write", &script).await;
    assert!(!served.load(Ordering::SeqCst), "reached a socket outside");
    agent_runs(&env, "danger-full-access", &script).await;
    assert!(served.load(Ordering::SeqCst), "control");

    // 4. A background process that outlives its command.
    let script = background.clone();
    agent_runs(&env, "workspace-write", &script).await;
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        !alive(&marker),
        "background process outlived a confined command"
    );
    agent_runs(&env, "danger-full-access", &script).await;
    std::thread::sleep(std::time::Duration::from_millis(300));
    let survived = alive(&marker);
    kill(&marker);
    assert!(survived, "control: it survives unconfined");
}

#[tokio::test]
async fn descriptors_of_the_caller_do_not_reach_commands() {
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("secret");
    std::fs::write(&secret, "top secret\n").unwrap();
    let file = std::fs::File::open(&secret).unwrap();
    // Inheritable: wright's caller forgot O_CLOEXEC.
    let fd = unsafe { libc::dup(file.as_raw_fd()) };
    let script = format!("cat <&{fd}");
    let env = Env::new(steps(&[&script, &script])).await;
    // Control: a plain child of this process reads it.
    let plain = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert!(String::from_utf8_lossy(&plain.stdout).contains("top secret"));
    for mode in ["workspace-write", "danger-full-access"] {
        let item = agent_runs(&env, mode, &script).await;
        let output = item["aggregated_output"].as_str().unwrap();
        assert!(!output.contains("top secret"), "{mode}: {output}");
    }
    unsafe { libc::close(fd) };
}

fn alive(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        let zombie = stat
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'));
        !zombie && String::from_utf8_lossy(&cmd).starts_with(marker)
    })
}

fn kill(marker: &str) {
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        if String::from_utf8_lossy(&cmd).starts_with(marker) {
            if let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<i32>().ok()) {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
    }
}

fn apply(policy: Option<&str>, cwd: &Path, patch: &str) -> std::process::Output {
    let mut cmd = Command::new(WRIGHT);
    if let Some(policy) = policy {
        cmd.args(["sandbox", "--policy", policy, "--", WRIGHT]);
    }
    cmd.arg("apply-patch")
        .current_dir(cwd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(patch.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A concurrent process swaps a directory of the workspace for a symlink to outside while
/// patches apply through the sandbox: nothing lands outside.
#[test]
fn patches_racing_a_symlink_swap_stay_inside() {
    let tmp = tempfile::tempdir().unwrap();
    let base = tmp.path().canonicalize().unwrap();
    let ws = base.join("ws");
    let outside = base.join("outside");
    std::fs::create_dir_all(ws.join("dir")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let policy = serde_json::json!({
        "mode": "workspace-write", "writable_roots": [ws], "network": false
    })
    .to_string();

    // Control: without the sandbox, a symlinked directory carries the write outside.
    std::fs::rename(ws.join("dir"), ws.join("dir.real")).unwrap();
    std::os::unix::fs::symlink(&outside, ws.join("dir")).unwrap();
    let out = apply(
        None,
        &ws,
        "*** Begin Patch\n*** Add File: dir/control.txt\n+x\n*** End Patch\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(outside.join("control.txt").exists(), "control: no redirect");
    std::fs::remove_file(outside.join("control.txt")).unwrap();
    // ...and with it, the same patch is stopped by the kernel.
    let out = apply(
        Some(&policy),
        &ws,
        "*** Begin Patch\n*** Add File: dir/control.txt\n+x\n*** End Patch\n",
    );
    assert!(!out.status.success());
    assert!(!outside.join("control.txt").exists());
    std::fs::remove_file(ws.join("dir")).unwrap();
    std::fs::rename(ws.join("dir.real"), ws.join("dir")).unwrap();

    // The race.
    let stop = Arc::new(AtomicBool::new(false));
    // Counted as it goes: on a loaded machine the patches keep coming until the racer has
    // really raced them, rather than a fixed number of patches deciding how long it ran.
    let swapped = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let racer = {
        let (stop, ws, outside) = (Arc::clone(&stop), ws.clone(), outside.clone());
        let swapped = Arc::clone(&swapped);
        std::thread::spawn(move || {
            let mut swaps = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if std::fs::rename(ws.join("dir"), ws.join("dir.real")).is_ok() {
                    let _ = std::os::unix::fs::symlink(&outside, ws.join("dir"));
                    std::thread::yield_now();
                    let _ = std::fs::remove_file(ws.join("dir"));
                    let _ = std::fs::rename(ws.join("dir.real"), ws.join("dir"));
                    swaps += 1;
                    swapped.store(swaps, Ordering::Relaxed);
                    // Leave the real directory in place now and then, so that some patches
                    // land (on a loaded machine, back-to-back swaps starved every one of them).
                    if swaps.is_multiple_of(2) {
                        std::thread::sleep(std::time::Duration::from_millis(2));
                    }
                }
            }
            swaps
        })
    };
    let mut applied = 0;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    let mut i = 0;
    while (i < 150 || swapped.load(Ordering::Relaxed) <= 100)
        && std::time::Instant::now() < deadline
    {
        i += 1;
        let patch = format!(
            "*** Begin Patch\n*** Add File: dir/f{i}.txt\n+x\n*** Add File: dir/sub{i}/g.txt\n+y\n*** End Patch\n"
        );
        if apply(Some(&policy), &ws, &patch).status.success() {
            applied += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    let swaps = racer.join().unwrap();
    let leaked: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert!(leaked.is_empty(), "patches landed outside: {leaked:?}");
    assert!(swaps > 100, "the racer barely ran ({swaps} swaps)");
    assert!(applied > 0, "no patch applied at all");
}

/// `wright sandbox -- CMD` by hand gives the command the environment the agent's commands
/// get: secrets by name and by value are withheld, ordinary variables pass.
#[test]
fn wright_sandbox_by_hand_applies_the_environment_policy() {
    let home = tempfile::tempdir().unwrap();
    let ws = tempfile::tempdir().unwrap();
    let script = "echo \"[$OPENAI_API_KEY][$DATABASE_URL][$PLAIN]\"";
    let run = |config: &str| {
        std::fs::write(home.path().join("config.toml"), config).unwrap();
        let out = Command::new(WRIGHT)
            .args(["sandbox", "--", "sh", "-c", script])
            .current_dir(ws.path())
            .env("WRIGHT_HOME", home.path())
            .env("OPENAI_API_KEY", "sk-not-for-commands")
            .env("DATABASE_URL", "postgres://app:hunter2@db/prod")
            .env("PLAIN", "visible")
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(run(""), "[][][visible]");
    // Control: the opt-out brings them back, so the policy (not the shell) hid them.
    assert_eq!(
        run("[shell_environment_policy]\nignore_default_excludes = true\n"),
        "[sk-not-for-commands][postgres://app:hunter2@db/prod][visible]"
    );
}

/// wright's own binaries inside a writable root (a build directory in the workspace, or
/// under /tmp): a command can neither rewrite the launcher nor put another in its place, so
/// the next command still runs confined.
#[tokio::test]
async fn the_launcher_cannot_be_swapped_from_inside() {
    let bin_dir = tempfile::tempdir().unwrap(); // under /tmp: a writable root
    let bin = bin_dir.path().canonicalize().unwrap().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let built = Path::new(WRIGHT).parent().unwrap();
    for name in ["wright", "wright-sandbox"] {
        std::fs::copy(built.join(name), bin.join(name)).unwrap();
    }
    let outside = outside_the_roots();
    let pwned = outside.path().join("pwned");
    let trojan = format!(
        "#!/bin/sh\ntouch {}\nshift 3\nexec \"$@\"\n",
        pwned.display()
    );
    let b = bin.display();
    let swap = format!(
        "printf '%s' '{trojan}' > {b}/wright-sandbox; \
         mv {b} {b}.old; mkdir -p {b}; printf '%s' '{trojan}' > {b}/wright-sandbox; chmod +x {b}/wright-sandbox; \
         cp {b}.old/wright {b}/wright; true"
    );
    let env = Env::new(vec![
        Step::calls(vec![exec_call(&swap)]),
        Step::calls(vec![exec_call("echo second")]),
        Step::message("done"),
    ])
    .await;
    let run = |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(bin.join("wright"));
        cmd.arg("exec")
            .args(args)
            .current_dir(env.repo())
            .env("WRIGHT_HOME", env.home.path())
            .env("HOME", env.home.path())
            .env_remove("OPENAI_API_KEY")
            .env("SHELL", "/bin/bash")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    };
    // One session: the first command swaps the launcher, the second runs through it.
    let out = run(&[
        "--json",
        "--skip-git-repo-check",
        "-s",
        "workspace-write",
        "go",
    ])
    .output()
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("second"), "{stdout}");
    assert!(
        !pwned.exists(),
        "the swapped launcher ran: the second command was not confined"
    );
    // Control: the swap itself works where nothing protects the binaries.
    std::fs::remove_dir_all(&bin).ok();
    std::fs::remove_dir_all(bin.with_extension("old")).ok();
    std::fs::create_dir_all(&bin).unwrap();
    for name in ["wright", "wright-sandbox"] {
        std::fs::copy(built.join(name), bin.join(name)).unwrap();
    }
    let ok = Command::new("bash")
        .args(["-c", &swap])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let ran = Command::new(bin.join("wright-sandbox"))
        .args(["--policy", "{}", "--", "true"])
        .status()
        .unwrap();
    assert!(
        ran.success() && pwned.exists(),
        "control: the trojan launcher did not run"
    );
}
