//! Writes outside the roots: contents and metadata.

use crate::common::*;
#[allow(unused_imports)]
use std::path::Path;
use wright_sandbox::{Mode, SandboxPolicy};

// ---------------------------------------------------------------- filesystem escapes

#[test]
fn write_outside_the_roots_is_denied() {
    let f = Fixture::new();
    f.assert_blocked("write outside", "echo pwned > \"$OUT/f\"");
    f.assert_blocked("mkdir outside", "mkdir \"$OUT/d$RANDOM\"");
    f.assert_blocked(
        "write to /etc",
        "echo pwned >> /etc/wright-sandbox-test-$$ && rm /etc/wright-sandbox-test-$$",
    );
}

#[test]
fn dot_git_stays_read_only() {
    let f = Fixture::new();
    git_init(&f.root);
    assert!(f.root.join(".git/config").exists());
    f.assert_blocked("append to .git/config", "echo '[x]' >> .git/config");
    f.assert_blocked("new file in .git", "touch .git/hooks/post-checkout$RANDOM");
    f.assert_blocked(
        "hook via absolute path",
        "echo 'echo pwned' > \"$ROOT/.git/hooks/pre-commit\"",
    );
    // Swapping .git for a writable copy: renaming the mount point is refused (EBUSY).
    let inside = f.sandboxed("mv .git .git-moved");
    assert!(!inside.status.success(), "renaming .git worked inside");
    assert!(f.root.join(".git/config").exists());
    // Undoing the bind mount from inside (the command is root in its user namespace).
    let inside = f.sandboxed("umount .git || umount -l .git; echo '[x]' >> .git/config");
    assert!(
        !inside.status.success(),
        "umount + write of .git worked inside: {}",
        text(&inside.stderr)
    );
    // .wright and .codex too (once the masks of the runs above are gone).
    for name in [".wright", ".codex"] {
        assert!(eventually(|| !f.root.join(name).exists()));
        std::fs::create_dir_all(f.root.join(name)).unwrap();
    }
    f.assert_blocked("write .wright", "echo x > .wright/config.toml");
    f.assert_blocked("write .codex", "echo x > .codex/config.toml");
    // The rest of the root stays writable.
    f.assert_ok_inside("write next to .git", "echo ok > file && cat file");
}

#[test]
fn symlink_pointing_outside_does_not_escape() {
    let f = Fixture::new();
    std::fs::write(f.outside.join("target"), "original").unwrap();
    std::os::unix::fs::symlink(f.outside.join("target"), f.root.join("link")).unwrap();
    std::os::unix::fs::symlink(&f.outside, f.root.join("dirlink")).unwrap();
    f.assert_blocked("write through file symlink", "echo pwned > link");
    f.assert_blocked("write through dir symlink", "echo pwned > dirlink/new");
    // A symlink created inside the sandbox does not help either.
    f.assert_blocked(
        "new symlink",
        "l=l2$RANDOM; ln -s \"$OUT/target\" $l && echo pwned > $l",
    );
}

#[test]
fn hard_link_to_an_outside_file_is_denied() {
    let f = Fixture::new();
    std::fs::write(f.outside.join("file"), "original").unwrap();
    let inside = f.sandboxed("ln \"$OUT/file\" x");
    assert!(!inside.status.success(), "hard link worked inside");
    assert!(!f.root.join("x").exists());
    f.assert_blocked("hard link", "ln \"$OUT/file\" x && rm x");
}

#[test]
fn rename_out_of_the_root_is_denied() {
    let f = Fixture::new();
    std::fs::write(f.root.join("file"), "data").unwrap();
    let inside = f.sandboxed("mv file \"$OUT/\"");
    assert!(!inside.status.success(), "mv out worked inside");
    assert!(f.root.join("file").exists());
    assert!(!f.outside.join("file").exists());
    let inside = f.sandboxed("mv \"$OUT\" \"$ROOT/stolen\"");
    assert!(!inside.status.success(), "mv outside dir in worked inside");
    f.assert_blocked("rename out", "mv file \"$OUT/\"");
}

#[test]
fn proc_self_root_does_not_escape() {
    let f = Fixture::new();
    f.assert_blocked("/proc/self/root", "echo pwned > \"/proc/self/root$OUT/f\"");
    f.assert_blocked(
        "/proc/self/cwd/..",
        "echo pwned > \"/proc/self/cwd/../outside/g\"",
    );
}

#[test]
fn metadata_outside_the_roots_is_read_only() {
    let f = Fixture::new();
    let target = f.outside.join("target");
    std::fs::write(&target, "x").unwrap();
    let t = target.display();
    f.assert_blocked("chmod", &format!("chmod 600 {t}"));
    f.assert_blocked("setuid bit", &format!("chmod u+s {t}"));
    f.assert_blocked("times", &format!("touch -d 2001-01-01 {t}"));
    f.assert_blocked("owner", &format!("chown 1:1 {t}"));
    f.assert_blocked(
        "xattr",
        &format!("python3 -c 'import os; os.setxattr(\"{t}\", \"user.x\", b\"1\")'"),
    );
    f.assert_blocked("truncate", &format!("truncate -s 0 {t}"));
    f.assert_blocked("unlink", &format!("rm {t} && touch {t}"));
    f.assert_blocked(
        "symlink outside",
        &format!("ln -s /etc {}/l$RANDOM", f.outside.display()),
    );
    // The kernel itself says why.
    let out = f.sandboxed(&format!("chmod 600 {t}"));
    assert!(
        text(&out.stderr).contains("Read-only file system"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn read_only_mode_changes_nothing_anywhere() {
    let f = Fixture::new();
    std::fs::write(f.root.join("file"), "x").unwrap();
    let ro = SandboxPolicy::new(Mode::ReadOnly, vec![f.root.clone()], false);
    for script in [
        "echo x >> file",
        "chmod 777 file",
        "touch -d 2001-01-01 file",
        "mkdir d",
        "ln -s x l",
    ] {
        let out = f.run(&ro, script);
        assert!(!out.status.success(), "read-only: `{script}` worked");
        assert!(f.unconfined(script).status.success(), "control `{script}`");
    }
}
