//! The git worktree a writing sub-agent works in: a checkout of the parent's repository at the
//! parent's `HEAD`, on a branch of its own, under `$WRIGHT_HOME/worktrees/<agent id>`.
//!
//! Every git call runs through `tokio::process` (never blocking an async thread) with the
//! paths passed as separate arguments after `--` where git allows it, so nothing the model
//! wrote reaches a shell.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use super::AgentError;

/// A sub-agent's checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Worktree {
    /// The checkout's top folder.
    pub path: PathBuf,
    /// The branch it is on (`wright/agent/<id>`).
    pub branch: String,
    /// The repository it was added to (the parent's top folder).
    pub repo: PathBuf,
    /// The commit it started from.
    pub base: String,
}

/// What a sub-agent changed in its worktree, for the parent to merge.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changes {
    /// `git diff --stat` against the base commit, new files included; empty when unchanged.
    pub stat: String,
}

/// The top folder of the git repository holding `cwd`, or `None` outside one.
pub async fn repo_root(cwd: &Path) -> Option<PathBuf> {
    let out = git(cwd, &["rev-parse", "--show-toplevel"]).await.ok()?;
    let root = out.trim();
    (!root.is_empty()).then(|| PathBuf::from(root))
}

/// Adds the worktree of agent `id` for the repository at `repo` (its `HEAD`), at `dir`.
pub async fn add(repo: &Path, dir: &Path, id: &str) -> Result<Worktree, AgentError> {
    let base = git(repo, &["rev-parse", "--verify", "HEAD^{commit}"])
        .await
        .map_err(|why| {
            AgentError::Worktree(format!(
                "the repository at {} has no commit to start from ({why}); commit first",
                repo.display()
            ))
        })?
        .trim()
        .to_string();
    if let Some(parent) = dir.parent() {
        tokio::fs::create_dir_all(parent)
            .await
            .map_err(|e| AgentError::Worktree(format!("{}: {e}", parent.display())))?;
    }
    let branch = format!("wright/agent/{id}");
    let dir_arg = dir.to_string_lossy().into_owned();
    git(
        repo,
        &["worktree", "add", "--quiet", "-b", &branch, &dir_arg, &base],
    )
    .await
    .map_err(|why| AgentError::Worktree(format!("git worktree add failed: {why}")))?;
    Ok(Worktree {
        path: dir.to_path_buf(),
        branch,
        repo: repo.to_path_buf(),
        base,
    })
}

impl Worktree {
    /// What the agent changed since the base commit: committed or not, new files included.
    pub async fn changes(&self) -> Result<Changes, AgentError> {
        // New files only show in a diff once git knows of them; intent-to-add records the
        // path without staging content, so the agent's own index stays as it left it.
        git(&self.path, &["add", "--all", "--intent-to-add"])
            .await
            .map_err(AgentError::Worktree)?;
        let stat = git(&self.path, &["diff", "--stat", &self.base])
            .await
            .map_err(AgentError::Worktree)?;
        Ok(Changes {
            stat: stat.trim_end().to_string(),
        })
    }

    /// Removes the checkout and its branch when the agent changed nothing; says whether it
    /// did. A worktree with changes stays for the parent to merge.
    pub async fn remove_if_unchanged(&self) -> Result<bool, AgentError> {
        if !self.changes().await?.stat.is_empty() {
            return Ok(false);
        }
        let dir = self.path.to_string_lossy().into_owned();
        git(&self.repo, &["worktree", "remove", "--force", &dir])
            .await
            .map_err(AgentError::Worktree)?;
        git(&self.repo, &["branch", "-D", &self.branch])
            .await
            .map_err(AgentError::Worktree)?;
        Ok(true)
    }

    /// Removes the checkout whatever it holds (a spawn that failed after adding it).
    pub async fn discard(&self) {
        let dir = self.path.to_string_lossy().into_owned();
        let _ = git(&self.repo, &["worktree", "remove", "--force", &dir]).await;
        let _ = git(&self.repo, &["branch", "-D", &self.branch]).await;
    }
}

/// Runs git in `dir` and returns its stdout, or its stderr as the error.
async fn git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        // The user's pager, editor or hooks must not wait for a terminal here.
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_PAGER", "cat")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn repo() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for args in [
            &["init", "--quiet", "-b", "main"][..],
            &["config", "user.email", "t@example.com"],
            &["config", "user.name", "t"],
        ] {
            git(dir.path(), args).await.unwrap();
        }
        std::fs::write(dir.path().join("a.txt"), "a\n").unwrap();
        git(dir.path(), &["add", "a.txt"]).await.unwrap();
        git(dir.path(), &["commit", "--quiet", "-m", "a"])
            .await
            .unwrap();
        dir
    }

    #[tokio::test]
    async fn a_worktree_reports_new_files_and_goes_only_when_unchanged() {
        let repo = repo().await;
        let home = tempfile::tempdir().unwrap();
        let root = repo_root(repo.path()).await.unwrap();
        let wt = add(&root, &home.path().join("worktrees/x1"), "x1")
            .await
            .unwrap();
        assert_eq!(wt.branch, "wright/agent/x1");
        assert!(wt.path.join("a.txt").is_file());
        assert_eq!(wt.changes().await.unwrap().stat, "");

        std::fs::write(wt.path.join("new.txt"), "hello\n").unwrap();
        let stat = wt.changes().await.unwrap().stat;
        assert!(stat.contains("new.txt"), "{stat}");
        assert!(!wt.remove_if_unchanged().await.unwrap());
        assert!(wt.path.is_dir());
        // The parent's checkout did not see the file.
        assert!(!repo.path().join("new.txt").exists());

        let clean = add(&root, &home.path().join("worktrees/x2"), "x2")
            .await
            .unwrap();
        assert!(clean.remove_if_unchanged().await.unwrap());
        assert!(!clean.path.exists());
    }

    #[tokio::test]
    async fn outside_a_repository_or_without_a_commit_says_so() {
        let plain = tempfile::tempdir().unwrap();
        assert_eq!(repo_root(plain.path()).await, None);
        git(plain.path(), &["init", "--quiet"]).await.unwrap();
        let err = add(plain.path(), &plain.path().join("wt"), "x")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no commit"), "{err}");
    }
}
