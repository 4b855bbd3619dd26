//! The model-facing history: appended as turns go, replaced by compaction, cut back by a
//! revert to where a turn began.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde_json::Value;

use crate::{ensure_thread, ensure_turn, Result, Store, StoreError};

impl Store {
    /// Appends model-facing history items. One transaction.
    /// [`StoreError::NotFound`] if no such thread.
    pub fn append_history(&self, thread_id: &str, items: &[Value]) -> Result<()> {
        let bodies = encode(items)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        ensure_thread(&tx, thread_id)?;
        let next: i64 = tx.query_row(
            "SELECT COALESCE(MAX(seq), 0) + 1 FROM history WHERE thread_id = ?1",
            [thread_id],
            |r| r.get(0),
        )?;
        insert_history(&tx, thread_id, next, &bodies)?;
        tx.commit()?;
        Ok(())
    }

    /// Replaces the whole model-facing history (compaction). One transaction.
    /// [`StoreError::NotFound`] if no such thread.
    pub fn replace_history(&self, thread_id: &str, items: &[Value]) -> Result<()> {
        let bodies = encode(items)?;
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        ensure_thread(&tx, thread_id)?;
        tx.execute("DELETE FROM history WHERE thread_id = ?1", [thread_id])?;
        insert_history(&tx, thread_id, 1, &bodies)?;
        // Earlier turns' starting points are gone with the old history.
        tx.execute(
            "UPDATE turns SET history_len = NULL WHERE thread_id = ?1",
            [thread_id],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Records how long the model-facing history was when `turn_id` began (creating the turn
    /// row if it is not stored yet). [`StoreError::NotFound`] if no such thread.
    pub fn set_turn_history_start(&self, thread_id: &str, turn_id: &str, len: usize) -> Result<()> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        ensure_thread(&tx, thread_id)?;
        ensure_turn(&tx, thread_id, turn_id)?;
        tx.execute(
            "UPDATE turns SET history_len = ?3 WHERE thread_id = ?1 AND id = ?2",
            params![thread_id, turn_id, len as i64],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Takes the thread back to before `turn_id`: that turn and every later one, their items
    /// and the model-facing history they added are deleted. Returns the history's new length.
    /// [`StoreError::CannotRevert`] for a turn it does not have or whose starting point a
    /// compaction rewrote. One transaction.
    pub fn revert(&self, thread_id: &str, turn_id: &str) -> Result<usize> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        ensure_thread(&tx, thread_id)?;
        let found: Option<(i64, Option<i64>)> = tx
            .query_row(
                "SELECT seq, history_len FROM turns WHERE thread_id = ?1 AND id = ?2",
                params![thread_id, turn_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let (seq, len) = match found {
            None => {
                return Err(StoreError::CannotRevert(format!(
                    "thread {thread_id} has no turn {turn_id}"
                )))
            }
            Some((_, None)) => {
                return Err(StoreError::CannotRevert(format!(
                    "the history before turn {turn_id} was compacted (or predates this version); it can no longer be restored"
                )))
            }
            Some((seq, Some(len))) => (seq, len),
        };
        tx.execute(
            "DELETE FROM items WHERE thread_id = ?1 AND turn_id IN
                 (SELECT id FROM turns WHERE thread_id = ?1 AND seq >= ?2)",
            params![thread_id, seq],
        )?;
        tx.execute(
            "DELETE FROM turns WHERE thread_id = ?1 AND seq >= ?2",
            params![thread_id, seq],
        )?;
        tx.execute(
            "DELETE FROM history WHERE thread_id = ?1 AND seq > ?2",
            params![thread_id, len],
        )?;
        tx.commit()?;
        Ok(len as usize)
    }

    /// The model-facing history in order. [`StoreError::NotFound`] if no such thread.
    pub fn history(&self, thread_id: &str) -> Result<Vec<Value>> {
        let mut conn = self.conn();
        let tx = conn.transaction()?;
        ensure_thread(&tx, thread_id)?;
        let mut out = Vec::new();
        {
            let mut stmt =
                tx.prepare("SELECT body FROM history WHERE thread_id = ?1 ORDER BY seq")?;
            let mut rows = stmt.query([thread_id])?;
            while let Some(r) = rows.next()? {
                let body: String = r.get(0)?;
                out.push(serde_json::from_str(&body)?);
            }
        }
        tx.commit()?;
        Ok(out)
    }
}

fn encode(items: &[Value]) -> Result<Vec<String>> {
    Ok(items
        .iter()
        .map(serde_json::to_string)
        .collect::<std::result::Result<Vec<_>, _>>()?)
}

fn insert_history(
    conn: &Connection,
    thread_id: &str,
    first_seq: i64,
    bodies: &[String],
) -> Result<()> {
    let mut stmt =
        conn.prepare_cached("INSERT INTO history (thread_id, seq, body) VALUES (?1, ?2, ?3)")?;
    for (i, body) in bodies.iter().enumerate() {
        stmt.execute(params![thread_id, first_seq + i as i64, body])?;
    }
    Ok(())
}
