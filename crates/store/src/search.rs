//! Full-text search over the items of every thread (SQLite FTS5).

use rusqlite::params;
use serde_json::Value;

use crate::{
    Result, SearchHit, Store, DEFAULT_SEARCH_LIMIT, MAX_INDEXED_OUTPUT_BYTES, MAX_SEARCH_LIMIT,
};

impl Store {
    /// Full-text search over the indexed item text, best first.
    ///
    /// `query` is plain user input, never FTS5 syntax: it is split on whitespace and every
    /// term is quoted, so the hit must contain all terms (as words, case- and
    /// diacritic-insensitive). Any input is safe; input without terms gives no hits.
    /// `limit`: 0 = [`DEFAULT_SEARCH_LIMIT`], capped at [`MAX_SEARCH_LIMIT`].
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let Some(fts_query) = fts_query(query) else {
            return Ok(Vec::new());
        };
        let limit = match limit {
            0 => DEFAULT_SEARCH_LIMIT,
            n => n.min(MAX_SEARCH_LIMIT),
        };
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT i.thread_id, i.item_id, snippet(items_fts, 0, '', '', '…', 16), items_fts.rank
             FROM items_fts JOIN items AS i ON i.pk = items_fts.rowid
             WHERE items_fts MATCH ?1
             ORDER BY items_fts.rank
             LIMIT ?2",
        )?;
        let hits = stmt
            .query_map(params![fts_query, limit as i64], |r| {
                Ok(SearchHit {
                    thread_id: r.get(0)?,
                    item_id: Some(r.get(1)?),
                    snippet: r.get(2)?,
                    rank: -r.get::<_, f64>(3)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(hits)
    }
}

/// Turns user input into an FTS5 query that cannot be a syntax error: each whitespace
/// separated term becomes a quoted string (inner quotes doubled); terms are ANDed.
/// Terms without any letter or digit are dropped (the tokenizer would reduce them to
/// nothing). `None` when no term is left.
pub(crate) fn fts_query(input: &str) -> Option<String> {
    let terms: Vec<String> = input
        // Control characters (NUL in particular, which ends FTS5's query parsing) separate
        // terms like whitespace does.
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|t| t.chars().any(char::is_alphanumeric))
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect();
    (!terms.is_empty()).then(|| terms.join(" "))
}

/// The text indexed for search, by item type; `None` for types that are not indexed.
pub(crate) fn searchable_text(item: &Value) -> Option<String> {
    let str_of = |key: &str| item.get(key).and_then(Value::as_str);
    let text = match item.get("type").and_then(Value::as_str)? {
        "userMessage" => item
            .get("content")
            .and_then(Value::as_array)
            .map(|parts| {
                parts
                    .iter()
                    .filter_map(|p| p.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default(),
        "agentMessage" | "plan" => str_of("text").unwrap_or_default().to_string(),
        "commandExecution" => {
            let command = match item.get("command") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Array(parts)) => parts
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => String::new(),
            };
            let output = truncate_utf8(
                str_of("aggregatedOutput").unwrap_or_default(),
                MAX_INDEXED_OUTPUT_BYTES,
            );
            if output.is_empty() {
                command
            } else {
                format!("{command}\n{output}")
            }
        }
        "reasoning" => item
            .get("summary")
            .and_then(Value::as_array)
            .map(|parts| {
                parts
                    .iter()
                    .filter_map(|p| match p {
                        Value::String(s) => Some(s.as_str()),
                        other => other.get("text").and_then(Value::as_str),
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_default(),
        _ => return None,
    };
    (!text.trim().is_empty()).then_some(text)
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
