//! The local checkout's side: where it is, what a task starts from, and applying what an
//! attempt brought back. A diff from a task is untrusted (the model wrote it), so its paths
//! are checked before git sees it, and nothing is written unless all of it applies.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use crate::CloudError;

async fn git(cwd: &Path, args: &[&str]) -> Result<String, CloudError> {
    let out = Command::new("git")
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|e| CloudError::Io(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        return Err(CloudError::Io(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The local checkout around `cwd`.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// Its top folder.
    pub top: PathBuf,
    /// The git directory every worktree shares.
    pub common_dir: PathBuf,
}

/// Finds the checkout around `cwd`.
pub async fn checkout(cwd: &Path) -> Result<Checkout, CloudError> {
    let top = git(cwd, &["rev-parse", "--show-toplevel"])
        .await
        .map_err(|_| {
            CloudError::Io(format!(
                "{} is not inside a git repository: a cloud task starts from a commit",
                cwd.display()
            ))
        })?;
    let common = git(cwd, &["rev-parse", "--git-common-dir"]).await?;
    let common = Path::new(&common);
    let common_dir = if common.is_absolute() {
        common.to_path_buf()
    } else {
        cwd.join(common)
    };
    let common_dir = std::fs::canonicalize(&common_dir).unwrap_or(common_dir);
    Ok(Checkout {
        top: PathBuf::from(top),
        common_dir,
    })
}

/// The commit `branch` (or `HEAD`) names, and whether the work tree has changes that a task
/// will not see.
pub async fn base(checkout: &Checkout, branch: Option<&str>) -> Result<(String, bool), CloudError> {
    let rev = match branch {
        Some(b) => {
            if b.starts_with('-') {
                return Err(CloudError::Io(format!("--branch {b}: not a branch name")));
            }
            format!("{b}^{{commit}}")
        }
        None => "HEAD^{commit}".to_string(),
    };
    let commit = git(&checkout.top, &["rev-parse", "--verify", "--quiet", &rev])
        .await
        .map_err(|_| match branch {
            Some(b) => CloudError::Io(format!("--branch {b}: no such branch or commit here")),
            None => CloudError::Io("this repository has no commit yet".into()),
        })?;
    let dirty = !git(
        &checkout.top,
        &["status", "--porcelain", "--untracked-files=no"],
    )
    .await?
    .is_empty();
    Ok((commit, dirty))
}

/// Checks a task's diff for paths that must never be written: absolute, `..`, or inside a
/// `.git` folder. Returns the paths it touches.
pub fn diff_paths(diff: &str) -> Result<Vec<String>, CloudError> {
    let mut paths = Vec::new();
    for line in diff.lines() {
        let Some(rest) = line.strip_prefix("diff --git ") else {
            continue;
        };
        // `a/PATH b/PATH`; quoted when unusual. The `+++`/`---` lines are checked by git apply
        // against these headers, so checking the headers covers both.
        for part in split_header(rest) {
            let path = part
                .strip_prefix("a/")
                .or_else(|| part.strip_prefix("b/"))
                .ok_or_else(|| bad(&format!("unexpected header `{line}`")))?;
            let unsafe_path = path.starts_with('/')
                || path
                    .split('/')
                    .any(|c| c == ".." || c.eq_ignore_ascii_case(".git"));
            if unsafe_path {
                return Err(bad(&format!("it touches `{path}`")));
            }
            if !paths.iter().any(|p| p == path) {
                paths.push(path.to_string());
            }
        }
    }
    Ok(paths)
}

fn bad(why: &str) -> CloudError {
    CloudError::Io(format!("refusing the task's diff: {why}"))
}

fn split_header(rest: &str) -> Vec<String> {
    if rest.starts_with('"') {
        // Quoted paths: `"a/x y" "b/x y"`. Unescape only what git escapes for quoting.
        rest.split('"')
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.replace("\\\\", "\\"))
            .collect()
    } else {
        match rest.find(" b/") {
            Some(i) => vec![rest[..i].to_string(), rest[i + 1..].to_string()],
            None => vec![rest.to_string()],
        }
    }
}

async fn git_apply(top: &Path, diff: &str, args: &[&str]) -> Result<(), String> {
    let mut child = Command::new("git")
        .arg("apply")
        .args(args)
        .current_dir(top)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git apply: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(diff.as_bytes())
            .await
            .map_err(|e| format!("cannot give git apply the diff: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| format!("git apply: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Applies `diff` to the checkout at `top`: all of it or nothing. A conflict is refused with
/// git's words for each file, and the checkout is left as it was.
pub async fn apply(top: &Path, diff: &str) -> Result<Vec<String>, CloudError> {
    let paths = diff_paths(diff)?;
    if paths.is_empty() {
        return Ok(paths);
    }
    if let Err(why) = git_apply(top, diff, &["--check", "--binary"]).await {
        return Err(CloudError::Io(format!(
            "the task's diff does not apply to {} (nothing was changed):\n{why}",
            top.display()
        )));
    }
    git_apply(top, diff, &["--binary"])
        .await
        .map_err(|why| CloudError::Io(format!("git apply failed: {why}")))?;
    Ok(paths)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, args: &[&str]) {
        let ok = std::process::Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@t"])
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    #[tokio::test]
    async fn a_diff_that_writes_through_a_symlink_it_adds_is_refused_whole() {
        let repo = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        run(repo.path(), &["init", "-q"]);
        std::fs::write(repo.path().join("a.txt"), "a\n").unwrap();
        run(repo.path(), &["add", "."]);
        run(repo.path(), &["commit", "-q", "-m", "a"]);
        let target = outside.path().display().to_string();
        // A symlink to a folder outside, then a file "inside" it.
        let diff = format!(
            "diff --git a/link b/link\nnew file mode 120000\nindex 0000000..1111111\n--- /dev/null\n+++ b/link\n@@ -0,0 +1 @@\n+{target}\n\\ No newline at end of file\n\
             diff --git a/link/owned.txt b/link/owned.txt\nnew file mode 100644\nindex 0000000..2222222\n--- /dev/null\n+++ b/link/owned.txt\n@@ -0,0 +1 @@\n+owned\n"
        );
        let err = apply(repo.path(), &diff).await.unwrap_err().to_string();
        assert!(err.contains("nothing was changed"), "{err}");
        assert!(!outside.path().join("owned.txt").exists());
        assert!(!repo.path().join("link").exists());
        // The control: the same kind of diff without the symlink applies.
        let plain = "diff --git a/dir/ok.txt b/dir/ok.txt\nnew file mode 100644\nindex 0000000..2222222\n--- /dev/null\n+++ b/dir/ok.txt\n@@ -0,0 +1 @@\n+owned\n";
        assert_eq!(apply(repo.path(), plain).await.unwrap(), ["dir/ok.txt"]);
        assert!(repo.path().join("dir/ok.txt").exists());
    }

    #[test]
    fn hostile_paths_are_refused() {
        for path in [
            "../x",
            "/etc/passwd",
            ".git/hooks/pre-commit",
            "a/.GIT/config",
        ] {
            let diff = format!("diff --git a/{path} b/{path}\n");
            assert!(diff_paths(&diff).is_err(), "{path}");
        }
        let ok = "diff --git a/src/x.rs b/src/x.rs\nindex 1..2\n";
        assert_eq!(diff_paths(ok).unwrap(), ["src/x.rs"]);
        let quoted = "diff --git \"a/sp ace\" \"b/sp ace\"\n";
        assert_eq!(diff_paths(quoted).unwrap(), ["sp ace"]);
    }
}
