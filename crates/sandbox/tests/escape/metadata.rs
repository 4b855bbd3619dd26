//! Protected metadata (`.git`, its gitdir, `.wright`, `.codex`) stays read-only however it
//! comes to exist; what cannot be made safe is refused.

use crate::common::*;
use std::process::Command;
use wright_sandbox::{Mode, SandboxPolicy};

#[test]
fn git_init_then_hook_is_blocked() {
    let f = Fixture::new();
    // No repository yet: the command makes one and plants a hook.
    let script = "git init -q . && echo 'touch /tmp/pwned' > .git/hooks/pre-commit";
    let inside = f.sandboxed(script);
    assert!(!inside.status.success(), "git init + hook worked inside");
    assert!(
        !f.root.join(".git/hooks/pre-commit").exists(),
        "a hook was planted"
    );
    // The mask is gone afterwards (an empty .git would not have hurt git either).
    assert!(
        eventually(|| !f.root.join(".git").exists()),
        "the .git mask was left behind"
    );
    let outside = f.unconfined(script);
    assert!(
        outside.status.success(),
        "control: {}",
        text(&outside.stderr)
    );
}

#[test]
fn dot_wright_and_dot_codex_cannot_be_created() {
    let f = Fixture::new();
    for name in [".wright", ".codex"] {
        let script = format!("mkdir -p {name} && echo 'model = \"x\"' > {name}/config.toml");
        let inside = f.sandboxed(&script);
        assert!(!inside.status.success(), "{name} created inside");
        assert!(eventually(|| !f.root.join(name).exists()));
        assert!(f.unconfined(&script).status.success());
        std::fs::remove_dir_all(f.root.join(name)).unwrap();
    }
}

#[test]
fn metadata_created_by_an_earlier_command_is_protected() {
    let f = Fixture::new();
    // Command 1 (unconfined here, as if the user ran it) makes the repository...
    assert!(f.unconfined("git init -q .").status.success());
    // ...command 2 cannot touch it.
    f.assert_blocked("hook after git init", "echo x > .git/hooks/post-checkout");
    f.assert_blocked("config", "git config core.hooksPath /tmp");
    f.assert_blocked("chmod .git", "chmod 777 .git/config");
    f.assert_blocked("replace .git", "mv .git g2 && mkdir .git");
}

#[test]
fn planted_hard_link_is_refused() {
    let f = Fixture::new();
    git_init(&f.root);
    std::fs::hard_link(f.root.join(".git/config"), f.root.join("innocent.txt")).unwrap();
    let inside = f.sandboxed("echo '[core] fsmonitor = evil' >> innocent.txt");
    assert_eq!(inside.status.code(), Some(126), "{}", text(&inside.stderr));
    assert!(text(&inside.stderr).contains("hard links"));
    let config = std::fs::read_to_string(f.root.join(".git/config")).unwrap();
    assert!(!config.contains("fsmonitor"));
    // Control: without the sandbox the alias writes .git/config.
    assert!(f
        .unconfined("echo '[core] fsmonitor = evil' >> innocent.txt")
        .status
        .success());
    let config = std::fs::read_to_string(f.root.join(".git/config")).unwrap();
    assert!(config.contains("fsmonitor"));
}

#[test]
fn symlinked_dot_git_is_refused() {
    let f = Fixture::new();
    let real = f.outside.join("realgit");
    std::fs::create_dir_all(&real).unwrap();
    std::os::unix::fs::symlink(&real, f.root.join(".git")).unwrap();
    let inside = f.sandboxed("rm .git && mkdir .git && echo x > .git/config");
    assert_eq!(inside.status.code(), Some(126), "{}", text(&inside.stderr));
    assert!(text(&inside.stderr).contains("symbolic link"));
    assert!(f
        .unconfined("rm .git && mkdir .git && echo x > .git/config")
        .status
        .success());
}

#[test]
fn gitdir_target_and_worktree_common_dir_are_protected() {
    let f = Fixture::new();
    // A worktree whose repository lives in another writable root.
    let main = f.root.join("main");
    std::fs::create_dir_all(&main).unwrap();
    git_init(&main);
    let ok = Command::new("git")
        .args([
            "-c",
            "user.email=t@e",
            "-c",
            "user.name=t",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "i",
        ])
        .current_dir(&main)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let wt = f.outside.join("wt");
    let ok = Command::new("git")
        .args(["worktree", "add", "-q"])
        .arg(&wt)
        .current_dir(&main)
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let policy = SandboxPolicy::new(
        Mode::WorkspaceWrite,
        vec![wt.clone(), f.root.clone()],
        false,
    );
    let json = serde_json::to_string(&policy).unwrap();
    let run = |script: &str, json: &str| {
        Command::new(EXE)
            .args([json, "bash", "-c", script])
            .current_dir(&wt)
            .output()
            .unwrap()
    };
    let script = "echo '[core] hooksPath = /tmp' >> \"$(git rev-parse --git-common-dir)/config\"";
    let inside = run(script, &json);
    assert!(!inside.status.success(), "common dir written inside");
    let script2 = "echo x > \"$(git rev-parse --git-dir)/HEAD\"";
    assert!(
        !run(script2, &json).status.success(),
        "worktree gitdir written inside"
    );
    let full =
        serde_json::to_string(&SandboxPolicy::new(Mode::DangerFullAccess, vec![], false)).unwrap();
    assert!(run(script, &full).status.success(), "control");
    // The worktree's own files stay writable.
    assert!(run("echo ok > file", &json).status.success());
}

#[test]
fn nested_and_temp_dir_repositories_are_protected() {
    let f = Fixture::new();
    let nested = f.root.join("vendor/lib");
    std::fs::create_dir_all(&nested).unwrap();
    git_init(&nested);
    f.assert_blocked(
        "nested repo hook",
        "echo x > vendor/lib/.git/hooks/pre-commit",
    );
    // A repository somewhere under a writable temp dir.
    let tmp_root = f.outside.join("tmp");
    let other = tmp_root.join("proj");
    std::fs::create_dir_all(&other).unwrap();
    git_init(&other);
    let policy = SandboxPolicy::new(
        Mode::WorkspaceWrite,
        vec![f.root.clone(), tmp_root.clone()],
        false,
    );
    let script = format!("echo x >> {}/.git/config", other.display());
    let out = f.run(&policy, &script);
    assert!(!out.status.success(), "temp-dir repo written inside");
    let out = f.run(&policy, &format!("echo x > {}/file", other.display()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(f.unconfined(&script).status.success());
}
