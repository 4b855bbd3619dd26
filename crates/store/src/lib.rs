//! Durable threads in SQLite.
//!
//! The App Server persists every thread (metadata, turns, client-visible items and the
//! model-facing history) here so that a thread survives a crash and can be resumed, forked,
//! listed and searched.
//!
//! # Durability
//!
//! Every write method commits before it returns: single-statement writes run in SQLite's
//! autocommit mode, multi-statement writes (`put_item`, `append_history`, `replace_history`,
//! `fork`, `prune`, ...) run in one `BEGIN IMMEDIATE` transaction. The caller may therefore
//! announce an item to clients as soon as the call returned `Ok`.
//!
//! The database runs in WAL mode with `synchronous=NORMAL`. In WAL mode a committed
//! transaction is in the WAL file (in the OS page cache) when `COMMIT` returns, so it survives
//! the process being killed (SIGKILL, panic, OOM kill). Only an OS crash or power loss can
//! lose the most recently committed transactions (the database itself never corrupts);
//! `synchronous=FULL` would add an fsync per commit to close that window, which is not worth
//! its cost for an agent's transcript.
//!
//! # Opening
//!
//! [`Store::open`] is cheap: it sets pragmas, creates the schema if the file is new and runs
//! pending migrations (tracked in `PRAGMA user_version`). It never runs `VACUUM` or any other
//! work proportional to the database size. A 5 s busy timeout covers other processes holding
//! the write lock.
//!
//! # Concurrency
//!
//! A [`Store`] wraps one connection in a [`Mutex`]; it is `Send + Sync` and meant to be shared
//! as `Arc<Store>`. Calls are serialized. The methods are blocking; call them from
//! `spawn_blocking` (or accept the short block) in async code.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::types::{Type, Value as SqlValue};
use rusqlite::{params, params_from_iter, Connection, OptionalExtension, Row, TransactionBehavior};
use serde_json::Value;

mod cloud;
mod history;
mod search;

pub use cloud::{CloudAttempt, CloudTask};
#[cfg(test)]
mod tests;

/// Schema version this build writes, stored in `PRAGMA user_version`.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Default page size of [`Store::list_threads`] when [`ListQuery::limit`] is 0.
pub const DEFAULT_LIST_LIMIT: usize = 25;
/// Largest page size of [`Store::list_threads`].
pub const MAX_LIST_LIMIT: usize = 200;
/// Default number of hits of [`Store::search`] when `limit` is 0.
pub const DEFAULT_SEARCH_LIMIT: usize = 20;
/// Largest number of hits of [`Store::search`].
pub const MAX_SEARCH_LIMIT: usize = 100;
/// Cap (bytes) on a command's aggregated output indexed for full-text search.
pub const MAX_INDEXED_OUTPUT_BYTES: usize = 8 * 1024;

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// `MIGRATIONS[i]` upgrades a database from schema version `i` to `i + 1`.
/// Append new steps; never edit a released one.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: initial schema.
    r#"
    CREATE TABLE threads (
        id              TEXT PRIMARY KEY NOT NULL,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        name            TEXT,
        preview         TEXT NOT NULL DEFAULT '',
        cwd             TEXT NOT NULL,
        model           TEXT NOT NULL,
        model_provider  TEXT NOT NULL,
        source          TEXT NOT NULL,
        archived        INTEGER NOT NULL DEFAULT 0,
        forked_from     TEXT,
        settings        TEXT NOT NULL DEFAULT 'null',
        usage           TEXT NOT NULL DEFAULT 'null'
    );
    CREATE INDEX threads_by_archived_updated ON threads (archived, updated_at, id);

    CREATE TABLE turns (
        thread_id     TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
        id            TEXT NOT NULL,
        seq           INTEGER NOT NULL,
        status        TEXT NOT NULL,
        error         TEXT,
        started_at    INTEGER,
        completed_at  INTEGER,
        duration_ms   INTEGER,
        PRIMARY KEY (thread_id, id),
        UNIQUE (thread_id, seq)
    );

    CREATE TABLE items (
        pk         INTEGER PRIMARY KEY,
        thread_id  TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
        seq        INTEGER NOT NULL,
        item_id    TEXT NOT NULL,
        turn_id    TEXT NOT NULL,
        item_type  TEXT NOT NULL,
        body       TEXT NOT NULL,
        UNIQUE (thread_id, seq),
        UNIQUE (thread_id, item_id)
    );

    CREATE TABLE history (
        thread_id  TEXT NOT NULL REFERENCES threads (id) ON DELETE CASCADE,
        seq        INTEGER NOT NULL,
        body       TEXT NOT NULL,
        PRIMARY KEY (thread_id, seq)
    );

    -- Searchable text of items; rowid = items.pk.
    CREATE VIRTUAL TABLE items_fts USING fts5 (
        text,
        tokenize = 'unicode61 remove_diacritics 2'
    );
    -- Cascading deletes (thread deleted) fire this trigger too.
    CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN
        DELETE FROM items_fts WHERE rowid = old.pk;
    END;
    "#,
    // Where the model-facing history stood when each turn began (`thread/revert`); NULL once
    // a compaction rewrote the history before it.
    r#"
    ALTER TABLE turns ADD COLUMN history_len INTEGER;
    "#,
    // Cloud tasks (`wright cloud`): a task and its attempts; an attempt's thread is a
    // thread of this store once its first item arrived.
    r#"
    CREATE TABLE cloud_tasks (
        id          TEXT PRIMARY KEY NOT NULL,
        created_at  INTEGER NOT NULL,
        environment TEXT NOT NULL,
        prompt      TEXT NOT NULL,
        repo        TEXT NOT NULL,
        branch      TEXT,
        base        TEXT NOT NULL,
        attempts    INTEGER NOT NULL
    );
    CREATE INDEX cloud_tasks_by_created ON cloud_tasks (created_at);
    CREATE TABLE cloud_attempts (
        task_id     TEXT NOT NULL REFERENCES cloud_tasks (id) ON DELETE CASCADE,
        attempt     INTEGER NOT NULL,
        status      TEXT NOT NULL,
        error       TEXT,
        engine_id   TEXT,
        thread_id   TEXT,
        summary     TEXT,
        diff        TEXT,
        started_at  INTEGER,
        finished_at INTEGER,
        PRIMARY KEY (task_id, attempt)
    );
    "#,
];

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
    /// No thread with this id.
    #[error("thread not found: {0}")]
    NotFound(String),
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
    /// A cloud task or attempt lookup that names nothing, or more than one task.
    #[error("{0}")]
    Cloud(String),
    /// The item passed to [`Store::put_item`] is not an object with string `id` and `type`.
    #[error("invalid item: {0}")]
    InvalidItem(String),
    /// The cursor passed in [`ListQuery::cursor`] was not produced by [`Store::list_threads`].
    #[error("invalid cursor: {0}")]
    InvalidCursor(String),
    #[error("cannot revert: {0}")]
    CannotRevert(String),
    /// The database was written by a newer version of wright (or its version is invalid).
    #[error("database schema version {found} is newer than supported version {supported}")]
    UnsupportedSchema { found: i64, supported: i64 },
}

pub type Result<T> = std::result::Result<T, StoreError>;

/// A thread's metadata.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ThreadRecord {
    pub id: String,
    /// Unix seconds.
    pub created_at: i64,
    /// Unix seconds.
    pub updated_at: i64,
    pub name: Option<String>,
    /// First user message, trimmed to ~200 chars by the caller.
    pub preview: String,
    pub cwd: String,
    pub model: String,
    pub model_provider: String,
    /// `"exec"`, `"vscode"`, `"cli"`, ...
    pub source: String,
    pub archived: bool,
    pub forked_from: Option<String>,
    /// Opaque JSON blob (sandbox, approval policy, ...).
    pub settings: Value,
    /// Opaque JSON blob (token totals).
    pub usage: Value,
}

/// A turn's metadata. Turns are kept in the order they were first stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TurnRecord {
    pub thread_id: String,
    pub id: String,
    pub status: String,
    pub error: Option<String>,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    pub duration_ms: Option<i64>,
}

/// Status given to a turn that [`Store::put_item`] creates because it was not stored yet.
pub const IMPLICIT_TURN_STATUS: &str = "inProgress";

/// Parameters of [`Store::list_threads`].
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Opaque, from a previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 0 = [`DEFAULT_LIST_LIMIT`]; capped at [`MAX_LIST_LIMIT`].
    pub limit: usize,
    /// false: only non-archived threads; true: only archived threads.
    pub archived: bool,
    /// Exact match.
    pub cwd: Option<String>,
    /// Empty = any.
    pub model_providers: Vec<String>,
    /// Case-insensitive (Unicode) substring match on name or preview.
    pub search: Option<String>,
    /// Match on `source`: `name` exactly, `prefix*` every source that starts with `prefix`;
    /// empty = any.
    pub sources: Vec<String>,
    /// Only threads with at least one turn (Codex lists a thread from its first turn on, and
    /// only such a thread can be resumed once it is no longer loaded).
    pub with_turns: bool,
}

/// One page of [`Store::list_threads`].
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub threads: Vec<ThreadRecord>,
    /// `Some` when more threads may follow; pass it as [`ListQuery::cursor`].
    pub next_cursor: Option<String>,
}

/// One result of [`Store::search`].
#[derive(Debug, Clone, PartialEq)]
pub struct SearchHit {
    pub thread_id: String,
    /// Always `Some` today (only items are indexed).
    pub item_id: Option<String>,
    /// A short excerpt around the matched terms (no highlight markers; `…` marks elisions).
    pub snippet: String,
    /// Relevance, higher is better (negated FTS5 bm25).
    pub rank: f64,
}

/// Durable thread store over one SQLite connection.
pub struct Store {
    conn: Mutex<Connection>,
}

const THREAD_COLUMNS: &str = "id, created_at, updated_at, name, preview, cwd, model, \
     model_provider, source, archived, forked_from, settings, usage";

impl Store {
    /// Opens (creating if needed, with parent directories) the database at `path`.
    pub fn open(path: &Path) -> Result<Store> {
        if let Some(parent) = path.parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)?;
            }
        }
        Self::init(Connection::open(path)?)
    }

    /// Opens a private in-memory database (tests, `--ephemeral`).
    pub fn open_in_memory() -> Result<Store> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Store> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // Returns the resulting mode ("wal", or "memory" for in-memory databases).
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;",
        )?;
        migrate(&mut conn)?;
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves no open transaction behind (rusqlite rolls
        // back on drop), so the connection is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Inserts a new thread. Fails with a SQLite constraint error if the id exists.
    pub fn insert_thread(&self, t: &ThreadRecord) -> Result<()> {
        let conn = self.conn();
        insert_thread_row(&conn, t)?;
        Ok(())
    }

    pub fn get_thread(&self, id: &str) -> Result<Option<ThreadRecord>> {
        let conn = self.conn();
        let sql = format!("SELECT {THREAD_COLUMNS} FROM threads WHERE id = ?1");
        Ok(conn.query_row(&sql, [id], thread_from_row).optional()?)
    }

    /// Sets or clears the thread's name. [`StoreError::NotFound`] if no such thread.
    pub fn set_name(&self, id: &str, name: Option<&str>) -> Result<()> {
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE threads SET name = ?2 WHERE id = ?1",
            params![id, name],
        )?;
        found(n, id)
    }

    /// [`StoreError::NotFound`] if no such thread.
    /// Deletes one thread with its turns, items, history and search rows.
    /// [`StoreError::NotFound`] if no such thread.
    pub fn delete_thread(&self, id: &str) -> Result<()> {
        let conn = self.conn();
        let n = conn.execute("DELETE FROM threads WHERE id = ?1", params![id])?;
        found(n, id)
    }

    pub fn set_archived(&self, id: &str, archived: bool) -> Result<()> {
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE threads SET archived = ?2 WHERE id = ?1",
            params![id, archived],
        )?;
        found(n, id)
    }

    /// Sets `updated_at`; sets `preview` only if the stored preview is empty; replaces
    /// `settings` / `usage` when given. [`StoreError::NotFound`] if no such thread.
    pub fn touch(
        &self,
        id: &str,
        updated_at: i64,
        preview: Option<&str>,
        settings: Option<&Value>,
        usage: Option<&Value>,
    ) -> Result<()> {
        let settings = settings.map(serde_json::to_string).transpose()?;
        let usage = usage.map(serde_json::to_string).transpose()?;
        let conn = self.conn();
        let n = conn.execute(
            "UPDATE threads SET
                 updated_at = ?2,
                 preview = CASE WHEN preview = '' AND ?3 IS NOT NULL THEN ?3 ELSE preview END,
                 settings = COALESCE(?4, settings),
                 usage = COALESCE(?5, usage)
             WHERE id = ?1",
            params![id, updated_at, preview, settings, usage],
        )?;
        found(n, id)
    }

    /// One page of threads, newest `updated_at` first (ties: greater id first).
    ///
    /// Keyset pagination: the cursor holds the last returned `(updated_at, id)`, so threads
    /// inserted (or touched to a newer `updated_at`) while paging do not shift later pages:
    /// no duplicates, no gaps among the threads that existed and were not modified meanwhile.
    pub fn list_threads(&self, q: &ListQuery) -> Result<Page> {
        let limit = match q.limit {
            0 => DEFAULT_LIST_LIMIT,
            n => n.min(MAX_LIST_LIMIT),
        };
        let mut sql = format!("SELECT {THREAD_COLUMNS} FROM threads WHERE archived = ?");
        let mut args: Vec<SqlValue> = vec![SqlValue::Integer(q.archived.into())];
        if let Some(cursor) = &q.cursor {
            let (updated_at, id) = decode_cursor(cursor)?;
            sql.push_str(" AND (updated_at < ? OR (updated_at = ? AND id < ?))");
            args.push(SqlValue::Integer(updated_at));
            args.push(SqlValue::Integer(updated_at));
            args.push(SqlValue::Text(id));
        }
        if let Some(cwd) = &q.cwd {
            sql.push_str(" AND cwd = ?");
            args.push(SqlValue::Text(cwd.clone()));
        }
        if !q.model_providers.is_empty() {
            let marks = vec!["?"; q.model_providers.len()].join(", ");
            sql.push_str(&format!(" AND model_provider IN ({marks})"));
            args.extend(q.model_providers.iter().cloned().map(SqlValue::Text));
        }
        if !q.sources.is_empty() {
            // `name` matches exactly; `prefix*` matches sources that start with `prefix`
            // (sub-agents' sources are stored as JSON whose kind comes first).
            let mut alternatives = Vec::new();
            for source in &q.sources {
                match source.strip_suffix('*') {
                    Some(prefix) => {
                        alternatives.push("source LIKE ? ESCAPE '\\'");
                        let escaped = prefix
                            .replace('\\', "\\\\")
                            .replace('%', "\\%")
                            .replace('_', "\\_");
                        args.push(SqlValue::Text(format!("{escaped}%")));
                    }
                    None => {
                        alternatives.push("source = ?");
                        args.push(SqlValue::Text(source.clone()));
                    }
                }
            }
            sql.push_str(&format!(" AND ({})", alternatives.join(" OR ")));
        }
        if q.with_turns {
            sql.push_str(" AND EXISTS (SELECT 1 FROM turns WHERE turns.thread_id = threads.id)");
        }
        sql.push_str(" ORDER BY updated_at DESC, id DESC");
        // The substring filter runs here rather than in SQL so that case folding is Unicode
        // aware (SQLite's LIKE / lower() only fold ASCII). Rows are stepped lazily, so the scan
        // stops as soon as the page is full.
        let needle = q.search.as_deref().map(str::to_lowercase);

        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(args))?;
        let mut threads = Vec::new();
        let mut more = false;
        while let Some(row) = rows.next()? {
            let t = thread_from_row(row)?;
            if let Some(needle) = &needle {
                let hit = t.preview.to_lowercase().contains(needle.as_str())
                    || t.name
                        .as_deref()
                        .is_some_and(|n| n.to_lowercase().contains(needle.as_str()));
                if !hit {
                    continue;
                }
            }
            if threads.len() == limit {
                more = true;
                break;
            }
            threads.push(t);
        }
        let next_cursor = if more {
            threads.last().map(|t| encode_cursor(t.updated_at, &t.id))
        } else {
            None
        };
        Ok(Page {
            threads,
            next_cursor,
        })
    }

    /// Inserts or updates a turn (all fields replaced; a new turn goes after the existing
    /// ones). [`StoreError::NotFound`] if no such thread.
    pub fn upsert_turn(&self, t: &TurnRecord) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        ensure_thread(&tx, &t.thread_id)?;
        tx.execute(
            "INSERT INTO turns (thread_id, id, seq, status, error, started_at, completed_at,
                                duration_ms)
             VALUES (?1, ?2,
                     (SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE thread_id = ?1),
                     ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (thread_id, id) DO UPDATE SET
                 status = excluded.status,
                 error = excluded.error,
                 started_at = excluded.started_at,
                 completed_at = excluded.completed_at,
                 duration_ms = excluded.duration_ms",
            params![
                t.thread_id,
                t.id,
                t.status,
                t.error,
                t.started_at,
                t.completed_at,
                t.duration_ms
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Stores a client-visible item (a JSON object with at least string `"id"` and `"type"`)
    /// and returns its per-thread sequence number.
    ///
    /// A new item is appended (seq = previous max + 1). An item whose id already exists in
    /// the thread is replaced in place and keeps its seq (its turn id is updated). The item's
    /// searchable text is (re)indexed. If the turn is not stored yet, it is created with
    /// status [`IMPLICIT_TURN_STATUS`]. One transaction. [`StoreError::NotFound`] if no such
    /// thread.
    pub fn put_item(&self, thread_id: &str, turn_id: &str, item: &Value) -> Result<i64> {
        let item_id = item
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| StoreError::InvalidItem("missing string \"id\"".into()))?;
        let item_type = item
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| StoreError::InvalidItem("missing string \"type\"".into()))?;
        let body = serde_json::to_string(item)?;
        let text = search::searchable_text(item);

        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        ensure_thread(&tx, thread_id)?;
        ensure_turn(&tx, thread_id, turn_id)?;
        let existing: Option<(i64, i64)> = tx
            .query_row(
                "SELECT pk, seq FROM items WHERE thread_id = ?1 AND item_id = ?2",
                params![thread_id, item_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (pk, seq) = match existing {
            Some((pk, seq)) => {
                tx.execute(
                    "UPDATE items SET turn_id = ?2, item_type = ?3, body = ?4 WHERE pk = ?1",
                    params![pk, turn_id, item_type, body],
                )?;
                tx.execute("DELETE FROM items_fts WHERE rowid = ?1", [pk])?;
                (pk, seq)
            }
            None => {
                let seq: i64 = tx.query_row(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM items WHERE thread_id = ?1",
                    [thread_id],
                    |r| r.get(0),
                )?;
                tx.execute(
                    "INSERT INTO items (thread_id, seq, item_id, turn_id, item_type, body)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![thread_id, seq, item_id, turn_id, item_type, body],
                )?;
                (tx.last_insert_rowid(), seq)
            }
        };
        if let Some(text) = text {
            tx.execute(
                "INSERT INTO items_fts (rowid, text) VALUES (?1, ?2)",
                params![pk, text],
            )?;
        }
        tx.commit()?;
        Ok(seq)
    }

    /// The thread's turns in order, each with its items in seq order.
    /// [`StoreError::NotFound`] if no such thread.
    pub fn turns(&self, thread_id: &str) -> Result<Vec<(TurnRecord, Vec<Value>)>> {
        let mut conn = self.conn();
        // One read transaction so turns and items are a consistent snapshot.
        let tx = conn.transaction()?;
        ensure_thread(&tx, thread_id)?;
        let mut out: Vec<(TurnRecord, Vec<Value>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        {
            let mut stmt = tx.prepare(
                "SELECT id, status, error, started_at, completed_at, duration_ms
                 FROM turns WHERE thread_id = ?1 ORDER BY seq",
            )?;
            let mut rows = stmt.query([thread_id])?;
            while let Some(r) = rows.next()? {
                let turn = TurnRecord {
                    thread_id: thread_id.to_string(),
                    id: r.get(0)?,
                    status: r.get(1)?,
                    error: r.get(2)?,
                    started_at: r.get(3)?,
                    completed_at: r.get(4)?,
                    duration_ms: r.get(5)?,
                };
                index.insert(turn.id.clone(), out.len());
                out.push((turn, Vec::new()));
            }
        }
        {
            let mut stmt =
                tx.prepare("SELECT turn_id, body FROM items WHERE thread_id = ?1 ORDER BY seq")?;
            let mut rows = stmt.query([thread_id])?;
            while let Some(r) = rows.next()? {
                let turn_id: String = r.get(0)?;
                let body: String = r.get(1)?;
                let item: Value = serde_json::from_str(&body)?;
                // put_item always creates the turn row, so the lookup cannot miss.
                if let Some(&i) = index.get(&turn_id) {
                    out[i].1.push(item);
                }
            }
        }
        tx.commit()?;
        Ok(out)
    }

    /// Inserts `new` (id, timestamps and `forked_from` chosen by the caller) with copies of
    /// `src_id`'s turns, items (same seqs and item ids, re-indexed for search) and history.
    /// The copies are independent of the source. One transaction.
    /// [`StoreError::NotFound`] if `src_id` does not exist.
    pub fn fork(&self, src_id: &str, new: &ThreadRecord) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        ensure_thread(&tx, src_id)?;
        insert_thread_row(&tx, new)?;
        let dst = new.id.as_str();
        tx.execute(
            "INSERT INTO turns (thread_id, id, seq, status, error, started_at, completed_at,
                                duration_ms, history_len)
             SELECT ?2, id, seq, status, error, started_at, completed_at, duration_ms,
                    history_len
             FROM turns WHERE thread_id = ?1",
            params![src_id, dst],
        )?;
        tx.execute(
            "INSERT INTO items (thread_id, seq, item_id, turn_id, item_type, body)
             SELECT ?2, seq, item_id, turn_id, item_type, body
             FROM items WHERE thread_id = ?1 ORDER BY seq",
            params![src_id, dst],
        )?;
        tx.execute(
            "INSERT INTO items_fts (rowid, text)
             SELECT n.pk, f.text
             FROM items AS o
             JOIN items_fts AS f ON f.rowid = o.pk
             JOIN items AS n ON n.thread_id = ?2 AND n.seq = o.seq
             WHERE o.thread_id = ?1",
            params![src_id, dst],
        )?;
        tx.execute(
            "INSERT INTO history (thread_id, seq, body)
             SELECT ?2, seq, body FROM history WHERE thread_id = ?1",
            params![src_id, dst],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Deletes threads (with their turns, items, history and search index rows) that match
    /// either rule: `updated_at < older_than`, or not among the `keep_max` most recently
    /// updated threads (archived or not). Returns how many threads were deleted.
    /// One transaction. With both rules `None` nothing is deleted.
    pub fn prune(&self, older_than: Option<i64>, keep_max: Option<usize>) -> Result<usize> {
        if older_than.is_none() && keep_max.is_none() {
            return Ok(0);
        }
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut n = 0;
        if let Some(keep_max) = keep_max {
            n += tx.execute(
                "DELETE FROM threads WHERE id IN (
                     SELECT id FROM threads ORDER BY updated_at DESC, id DESC
                     LIMIT -1 OFFSET ?1)",
                [i64::try_from(keep_max).unwrap_or(i64::MAX)],
            )?;
        }
        if let Some(older_than) = older_than {
            n += tx.execute("DELETE FROM threads WHERE updated_at < ?1", [older_than])?;
        }
        tx.commit()?;
        Ok(n)
    }
}

fn migrate(conn: &mut Connection) -> Result<()> {
    // Fast path: nothing to do, no write lock taken.
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    if !(0..=SCHEMA_VERSION).contains(&version) {
        return Err(StoreError::UnsupportedSchema {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Re-read under the write lock: another process may have migrated meanwhile.
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if !(0..=SCHEMA_VERSION).contains(&version) {
        return Err(StoreError::UnsupportedSchema {
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    for step in &MIGRATIONS[version as usize..] {
        tx.execute_batch(step)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    tx.commit()?;
    Ok(())
}

fn found(changed: usize, id: &str) -> Result<()> {
    if changed == 0 {
        Err(StoreError::NotFound(id.to_string()))
    } else {
        Ok(())
    }
}

/// Stores the turn with [`IMPLICIT_TURN_STATUS`] after the thread's others, unless it is
/// stored already.
fn ensure_turn(conn: &Connection, thread_id: &str, turn_id: &str) -> Result<()> {
    conn.execute(
        "INSERT INTO turns (thread_id, id, seq, status)
         VALUES (?1, ?2,
                 (SELECT COALESCE(MAX(seq), 0) + 1 FROM turns WHERE thread_id = ?1), ?3)
         ON CONFLICT (thread_id, id) DO NOTHING",
        params![thread_id, turn_id, IMPLICIT_TURN_STATUS],
    )?;
    Ok(())
}

fn ensure_thread(conn: &Connection, id: &str) -> Result<()> {
    let exists: Option<i64> = conn
        .query_row("SELECT 1 FROM threads WHERE id = ?1", [id], |r| r.get(0))
        .optional()?;
    match exists {
        Some(_) => Ok(()),
        None => Err(StoreError::NotFound(id.to_string())),
    }
}

fn insert_thread_row(conn: &Connection, t: &ThreadRecord) -> Result<()> {
    conn.execute(
        "INSERT INTO threads (id, created_at, updated_at, name, preview, cwd, model,
                              model_provider, source, archived, forked_from, settings, usage)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        params![
            t.id,
            t.created_at,
            t.updated_at,
            t.name,
            t.preview,
            t.cwd,
            t.model,
            t.model_provider,
            t.source,
            t.archived,
            t.forked_from,
            serde_json::to_string(&t.settings)?,
            serde_json::to_string(&t.usage)?,
        ],
    )?;
    Ok(())
}

fn thread_from_row(r: &Row<'_>) -> rusqlite::Result<ThreadRecord> {
    Ok(ThreadRecord {
        id: r.get(0)?,
        created_at: r.get(1)?,
        updated_at: r.get(2)?,
        name: r.get(3)?,
        preview: r.get(4)?,
        cwd: r.get(5)?,
        model: r.get(6)?,
        model_provider: r.get(7)?,
        source: r.get(8)?,
        archived: r.get(9)?,
        forked_from: r.get(10)?,
        settings: json_column(r, 11)?,
        usage: json_column(r, 12)?,
    })
}

fn json_column(r: &Row<'_>, idx: usize) -> rusqlite::Result<Value> {
    let text: String = r.get(idx)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(idx, Type::Text, Box::new(e)))
}

fn encode_cursor(updated_at: i64, id: &str) -> String {
    format!("{updated_at}:{id}")
}

fn decode_cursor(cursor: &str) -> Result<(i64, String)> {
    let (ts, id) = cursor
        .split_once(':')
        .ok_or_else(|| StoreError::InvalidCursor(cursor.to_string()))?;
    let ts = ts
        .parse()
        .map_err(|_| StoreError::InvalidCursor(cursor.to_string()))?;
    Ok((ts, id.to_string()))
}
