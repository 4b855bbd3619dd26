//! Cloud tasks (`wright cloud`): what was asked, where, and what each attempt came back with.
//! The attempts' threads are ordinary threads of this store.

use rusqlite::{params, OptionalExtension, Row};

use crate::{Result, Store, StoreError};

/// One `wright cloud exec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudTask {
    /// `task_…`.
    pub id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// The environment's name.
    pub environment: String,
    /// The prompt.
    pub prompt: String,
    /// The local checkout it started from (where `apply` applies by default).
    pub repo: String,
    /// The branch asked for, if any.
    pub branch: Option<String>,
    /// The commit every attempt started from.
    pub base: String,
    /// How many attempts.
    pub attempts: u32,
}

/// One attempt of a task.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CloudAttempt {
    /// The task.
    pub task_id: String,
    /// 1-based.
    pub attempt: u32,
    /// `queued`, `starting`, `running`, `completed`, `failed`, `cancelled` or `orphaned`.
    pub status: String,
    /// Why it failed, when it did.
    pub error: Option<String>,
    /// The engine's id for its container or Job.
    pub engine_id: Option<String>,
    /// Its thread in this store.
    pub thread_id: Option<String>,
    /// The agent's last message.
    pub summary: Option<String>,
    /// What it changed, as a git diff against the task's base (binary-safe).
    pub diff: Option<String>,
    /// Unix seconds.
    pub started_at: Option<i64>,
    /// Unix seconds.
    pub finished_at: Option<i64>,
}

const ATTEMPT_COLUMNS: &str = "task_id, attempt, status, error, engine_id, thread_id, summary, \
     diff, started_at, finished_at";

fn attempt_from_row(r: &Row<'_>) -> rusqlite::Result<CloudAttempt> {
    Ok(CloudAttempt {
        task_id: r.get(0)?,
        attempt: r.get(1)?,
        status: r.get(2)?,
        error: r.get(3)?,
        engine_id: r.get(4)?,
        thread_id: r.get(5)?,
        summary: r.get(6)?,
        diff: r.get(7)?,
        started_at: r.get(8)?,
        finished_at: r.get(9)?,
    })
}

fn task_from_row(r: &Row<'_>) -> rusqlite::Result<CloudTask> {
    Ok(CloudTask {
        id: r.get(0)?,
        created_at: r.get(1)?,
        environment: r.get(2)?,
        prompt: r.get(3)?,
        repo: r.get(4)?,
        branch: r.get(5)?,
        base: r.get(6)?,
        attempts: r.get(7)?,
    })
}

const TASK_COLUMNS: &str = "id, created_at, environment, prompt, repo, branch, base, attempts";

impl Store {
    /// Records a new task with its attempts `queued`. One transaction.
    pub fn insert_cloud_task(&self, task: &CloudTask) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        tx.execute(
            &format!(
                "INSERT INTO cloud_tasks ({TASK_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
            ),
            params![
                task.id,
                task.created_at,
                task.environment,
                task.prompt,
                task.repo,
                task.branch,
                task.base,
                task.attempts
            ],
        )?;
        for n in 1..=task.attempts {
            tx.execute(
                "INSERT INTO cloud_attempts (task_id, attempt, status) VALUES (?1, ?2, 'queued')",
                params![task.id, n],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Replaces an attempt's row. [`StoreError::Cloud`] if there is no such attempt.
    pub fn put_cloud_attempt(&self, a: &CloudAttempt) -> Result<()> {
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE cloud_attempts SET status = ?3, error = ?4, engine_id = ?5, thread_id = ?6, \
             summary = ?7, diff = ?8, started_at = ?9, finished_at = ?10 \
             WHERE task_id = ?1 AND attempt = ?2",
            params![
                a.task_id,
                a.attempt,
                a.status,
                a.error,
                a.engine_id,
                a.thread_id,
                a.summary,
                a.diff,
                a.started_at,
                a.finished_at
            ],
        )?;
        if n == 0 {
            return Err(StoreError::Cloud(format!(
                "attempt {} of cloud task {}",
                a.attempt, a.task_id
            )));
        }
        Ok(())
    }

    /// The task whose id is `id`, or the one task whose id starts with it.
    pub fn cloud_task(&self, id: &str) -> Result<Option<(CloudTask, Vec<CloudAttempt>)>> {
        let conn = self.conn();
        let exact = conn
            .query_row(
                &format!("SELECT {TASK_COLUMNS} FROM cloud_tasks WHERE id = ?1"),
                [id],
                task_from_row,
            )
            .optional()?;
        let task = match exact {
            Some(t) => t,
            None => {
                // A prefix, as `git` takes short hashes: only when it names one task.
                let escaped = id
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_");
                let pattern = format!("{escaped}%");
                let mut stmt = conn.prepare(&format!(
                    "SELECT {TASK_COLUMNS} FROM cloud_tasks WHERE id LIKE ?1 ESCAPE '\\' LIMIT 2"
                ))?;
                let found: Vec<CloudTask> = stmt
                    .query_map([pattern], task_from_row)?
                    .collect::<rusqlite::Result<_>>()?;
                match found.as_slice() {
                    [one] => one.clone(),
                    [] => return Ok(None),
                    _ => {
                        return Err(StoreError::Cloud(format!(
                            "`{id}` names more than one cloud task; give more of its id"
                        )))
                    }
                }
            }
        };
        let mut stmt = conn.prepare(&format!(
            "SELECT {ATTEMPT_COLUMNS} FROM cloud_attempts WHERE task_id = ?1 ORDER BY attempt"
        ))?;
        let attempts = stmt
            .query_map([&task.id], attempt_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        Ok(Some((task, attempts)))
    }

    /// The newest `limit` tasks, newest first, each with its attempts (diffs left out).
    pub fn cloud_tasks(&self, limit: usize) -> Result<Vec<(CloudTask, Vec<CloudAttempt>)>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT {TASK_COLUMNS} FROM cloud_tasks ORDER BY created_at DESC, id DESC LIMIT ?1"
        ))?;
        let tasks: Vec<CloudTask> = stmt
            .query_map([limit as i64], task_from_row)?
            .collect::<rusqlite::Result<_>>()?;
        let mut stmt = conn.prepare(
            "SELECT task_id, attempt, status, error, engine_id, thread_id, summary, NULL, \
             started_at, finished_at FROM cloud_attempts WHERE task_id = ?1 ORDER BY attempt",
        )?;
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            let attempts = stmt
                .query_map([&task.id], attempt_from_row)?
                .collect::<rusqlite::Result<_>>()?;
            out.push((task, attempts));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: &str, created_at: i64) -> CloudTask {
        CloudTask {
            id: id.into(),
            created_at,
            environment: "dev".into(),
            prompt: "fix it".into(),
            repo: "/r".into(),
            branch: None,
            base: "abc".into(),
            attempts: 2,
        }
    }

    #[test]
    fn tasks_and_attempts_round_trip() {
        let store = Store::open_in_memory().unwrap();
        store.insert_cloud_task(&task("task_aaa1", 1)).unwrap();
        store.insert_cloud_task(&task("task_bbb2", 2)).unwrap();
        let (_, attempts) = store.cloud_task("task_aaa1").unwrap().unwrap();
        assert_eq!(attempts.len(), 2);
        assert!(attempts.iter().all(|a| a.status == "queued"));
        let done = CloudAttempt {
            task_id: "task_aaa1".into(),
            attempt: 2,
            status: "completed".into(),
            diff: Some("diff --git a/x b/x\n".into()),
            ..Default::default()
        };
        store.put_cloud_attempt(&done).unwrap();
        let (t, attempts) = store.cloud_task("task_a").unwrap().unwrap();
        assert_eq!(t.id, "task_aaa1");
        assert_eq!(attempts[1], done);
        // The list is newest first and leaves the diffs out.
        let list = store.cloud_tasks(10).unwrap();
        assert_eq!(list[0].0.id, "task_bbb2");
        assert_eq!(list[1].1[1].diff, None);
        // An ambiguous prefix is an error; an unknown one is None.
        assert!(store.cloud_task("task_").is_err());
        assert!(store.cloud_task("nope").unwrap().is_none());
        let missing = CloudAttempt {
            task_id: "task_aaa1".into(),
            attempt: 9,
            ..Default::default()
        };
        assert!(matches!(
            store.put_cloud_attempt(&missing),
            Err(StoreError::Cloud(_))
        ));
    }
}
