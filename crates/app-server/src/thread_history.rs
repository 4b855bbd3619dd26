//! Reading and editing a thread's stored history: `thread/turns/list`, `thread/items/list`,
//! `thread/metadata/update`, `thread/revert`, `thread/inject_items`.

use std::sync::Arc;

use serde_json::Value;
use wright_protocol::v2::{
    self, GitInfo, SortDirection, ThreadInjectItemsParams, ThreadInjectItemsResponse,
    ThreadItemEntry, ThreadItemsListAnchor, ThreadItemsListCursor, ThreadItemsListParams,
    ThreadItemsListResponse, ThreadMetadataUpdateParams, ThreadMetadataUpdateResponse,
    ThreadRevertParams, ThreadRevertResponse, ThreadTurnsListParams, ThreadTurnsListResponse,
    TurnItemsView,
};

use crate::rpc::{RpcError, RpcResult};
use crate::state::{settings_of, State};
use crate::thread_methods::{stored_turns, thread_view};
use crate::wire::now_secs;

const DEFAULT_PAGE: usize = 50;
const MAX_PAGE: usize = 500;

/// Most bytes `thread/inject_items` adds to the model's context at once.
const MAX_INJECTED_BYTES: usize = 1024 * 1024;

/// Opaque cursors: `after:<id>` continues past `id`; `from:<id>` starts at it (the backwards
/// cursor, which includes its anchor again).
fn parse_cursor(cursor: &str) -> RpcResult<(&str, bool)> {
    if let Some(id) = cursor.strip_prefix("after:") {
        Ok((id, false))
    } else if let Some(id) = cursor.strip_prefix("from:") {
        Ok((id, true))
    } else {
        Err(RpcError::invalid_params(format!(
            "`cursor`: `{cursor}` is not a cursor this server returned"
        )))
    }
}

/// One page of `entries` (already in the requested order) after the cursor's position.
fn page<T>(
    entries: Vec<T>,
    id_of: impl Fn(&T) -> &str,
    start: Option<(&str, bool)>,
    limit: Option<u32>,
) -> RpcResult<(Vec<T>, Option<String>, Option<String>)> {
    let begin = match start {
        None => 0,
        Some((id, inclusive)) => {
            let at = entries.iter().position(|e| id_of(e) == id).ok_or_else(|| {
                RpcError::invalid_params(format!("`cursor`: `{id}` is not in this thread"))
            })?;
            if inclusive {
                at
            } else {
                at + 1
            }
        }
    };
    let limit = limit
        .map(|l| l as usize)
        .unwrap_or(DEFAULT_PAGE)
        .clamp(1, MAX_PAGE);
    let total = entries.len();
    let data: Vec<T> = entries.into_iter().skip(begin).take(limit).collect();
    let next = (begin + data.len() < total)
        .then(|| data.last().map(|e| format!("after:{}", id_of(e))))
        .flatten();
    let backwards = data.first().map(|e| format!("from:{}", id_of(e)));
    Ok((data, next, backwards))
}

/// A turn's items as the view asks: none, the summary (the user's message and the last agent
/// message), or all.
fn view_items(items: Vec<v2::ThreadItem>, view: TurnItemsView) -> Vec<v2::ThreadItem> {
    match view {
        TurnItemsView::NotLoaded => Vec::new(),
        TurnItemsView::Full => items,
        TurnItemsView::Summary => {
            let first_user = items
                .iter()
                .find(|i| matches!(i, v2::ThreadItem::UserMessage { .. }))
                .cloned();
            let last_agent = items
                .iter()
                .rev()
                .find(|i| matches!(i, v2::ThreadItem::AgentMessage { .. }))
                .cloned();
            first_user.into_iter().chain(last_agent).collect()
        }
    }
}

pub(crate) async fn thread_turns_list(
    state: &Arc<State>,
    p: ThreadTurnsListParams,
) -> RpcResult<ThreadTurnsListResponse> {
    thread_view(state, &p.thread_id).await?;
    let mut turns = stored_turns(state, &p.thread_id).await;
    if p.sort_direction != Some(SortDirection::Asc) {
        turns.reverse();
    }
    let start = p.cursor.as_deref().map(parse_cursor).transpose()?;
    let (mut data, next_cursor, backwards_cursor) = page(turns, |t| &t.id, start, p.limit)?;
    let view = p.items_view.unwrap_or(TurnItemsView::Summary);
    for turn in &mut data {
        turn.items = view_items(std::mem::take(&mut turn.items), view);
        turn.items_view = view;
    }
    Ok(ThreadTurnsListResponse {
        data,
        next_cursor,
        backwards_cursor,
    })
}

pub(crate) async fn thread_items_list(
    state: &Arc<State>,
    p: ThreadItemsListParams,
) -> RpcResult<ThreadItemsListResponse> {
    thread_view(state, &p.thread_id).await?;
    let turns = stored_turns(state, &p.thread_id).await;
    if let Some(turn_id) = &p.turn_id {
        if !turns.iter().any(|t| &t.id == turn_id) {
            return Err(RpcError::invalid_params(format!(
                "`turnId`: thread {} has no turn {turn_id}",
                p.thread_id
            )));
        }
    }
    let mut entries: Vec<ThreadItemEntry> = turns
        .into_iter()
        .filter(|t| p.turn_id.as_ref().is_none_or(|id| &t.id == id))
        .flat_map(|t| {
            let turn_id = t.id;
            t.items.into_iter().map(move |item| ThreadItemEntry {
                item,
                turn_id: turn_id.clone(),
                started_at_ms: None,
                completed_at_ms: None,
            })
        })
        .collect();
    if p.sort_direction == Some(SortDirection::Desc) {
        entries.reverse();
    }
    let start = match &p.cursor {
        None => None,
        Some(ThreadItemsListCursor::Cursor(c)) => Some(parse_cursor(c)?),
        Some(ThreadItemsListCursor::Anchor(ThreadItemsListAnchor::Item { item_id })) => {
            if p.turn_id.as_deref().is_none_or(str::is_empty) {
                return Err(RpcError::invalid_params(
                    "`cursor`: an item anchor needs a `turnId`",
                ));
            }
            Some((item_id.as_str(), false))
        }
    };
    let (data, next_cursor, backwards_cursor) = page(entries, |e| e.item.id(), start, p.limit)?;
    Ok(ThreadItemsListResponse {
        data,
        next_cursor,
        backwards_cursor,
    })
}

/// Omitted: unchanged; `null`: cleared; a string: replaced (it must not be empty).
fn patch(field: &str, slot: &mut Option<String>, update: Option<Option<String>>) -> RpcResult<()> {
    match update {
        None => {}
        Some(None) => *slot = None,
        Some(Some(v)) if v.trim().is_empty() => {
            return Err(RpcError::invalid_params(format!(
                "`gitInfo.{field}` must be a non-empty string or null"
            )))
        }
        Some(Some(v)) => *slot = Some(v),
    }
    Ok(())
}

pub(crate) async fn thread_metadata_update(
    state: &Arc<State>,
    p: ThreadMetadataUpdateParams,
) -> RpcResult<ThreadMetadataUpdateResponse> {
    let id = p.thread_id.clone();
    let loaded = state.loaded(&id);
    let ephemeral = loaded.as_ref().is_some_and(|l| l.info().ephemeral);
    let record = if ephemeral {
        None
    } else {
        Some(state.record(&id).await?)
    };
    if let Some(update) = p.git_info {
        let current = match (&loaded, &record) {
            (Some(l), _) => l.info().git_info,
            (None, Some(rec)) => crate::state::info_of(rec).git_info,
            (None, None) => None,
        };
        let mut git = current.unwrap_or_default();
        patch("sha", &mut git.sha, update.sha)?;
        patch("branch", &mut git.branch, update.branch)?;
        patch("originUrl", &mut git.origin_url, update.origin_url)?;
        let git = (git != GitInfo::default()).then_some(git);
        if let Some(rec) = record {
            let mut settings = rec.settings.clone();
            match (&mut settings, &git) {
                (Value::Object(map), Some(g)) => {
                    map.insert(
                        "gitInfo".into(),
                        serde_json::to_value(g).unwrap_or(Value::Null),
                    );
                }
                (Value::Object(map), None) => {
                    map.remove("gitInfo");
                }
                _ => {
                    settings = match &loaded {
                        Some(l) => settings_of(&l.config(), git.as_ref(), l.reviewer()),
                        None => serde_json::json!({"gitInfo": git}),
                    }
                }
            }
            let key = id.clone();
            state
                .try_persist(move |s| s.touch(&key, now_secs(), None, Some(&settings), None))
                .await?;
        }
        if let Some(l) = &loaded {
            l.update_info(|i| i.git_info = git.clone());
        }
    }
    Ok(ThreadMetadataUpdateResponse {
        thread: thread_view(state, &id).await?,
    })
}

/// The engine of a loaded thread, held so that no turn starts while its history changes.
async fn idle_engine<'a>(
    loaded: &'a crate::state::Loaded,
    what: &str,
) -> RpcResult<tokio::sync::MutexGuard<'a, wright_core::Thread>> {
    loaded.ensure_idle(what)?;
    loaded.thread.try_lock().map_err(|_| {
        RpcError::invalid_request(format!(
            "thread {} is busy: wait for its turn to end before {what}",
            loaded.id
        ))
    })
}

pub(crate) async fn thread_revert(
    state: &Arc<State>,
    p: ThreadRevertParams,
) -> RpcResult<ThreadRevertResponse> {
    let loaded = state.loaded(&p.thread_id);
    let mut engine = match &loaded {
        Some(l) => Some(idle_engine(l, "reverting it").await?),
        None => None,
    };
    let (id, turn) = (p.thread_id.clone(), p.before_turn_id.clone());
    let len = state.try_persist(move |s| s.revert(&id, &turn)).await?;
    if let Some(engine) = engine.as_mut() {
        engine.truncate_history(len);
    }
    drop(engine);
    Ok(ThreadRevertResponse {
        thread: thread_view(state, &p.thread_id).await?,
        turns_backwards_cursor: None,
        items_backwards_cursor: None,
    })
}

/// A Responses API item is an object with a `type`; a message also needs a known role.
fn check_injected(items: &[Value]) -> RpcResult<()> {
    if items.is_empty() {
        return Err(RpcError::invalid_params("`items` is empty"));
    }
    let size: usize = items.iter().map(|i| i.to_string().len()).sum();
    if size > MAX_INJECTED_BYTES {
        return Err(RpcError::invalid_params(format!(
            "`items` is {size} bytes, over the {} KiB limit",
            MAX_INJECTED_BYTES >> 10
        )));
    }
    for (i, item) in items.iter().enumerate() {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
        if kind.is_empty() {
            return Err(RpcError::invalid_params(format!(
                "items[{i}]: a Responses API item needs a string `type`"
            )));
        }
        if kind == "message" {
            let role = item.get("role").and_then(Value::as_str).unwrap_or_default();
            if !["user", "assistant", "developer", "system"].contains(&role) {
                return Err(RpcError::invalid_params(format!(
                    "items[{i}].role: `{role}` is not user, assistant, developer or system"
                )));
            }
            if !item
                .get("content")
                .is_some_and(|c| c.is_array() || c.is_string())
            {
                return Err(RpcError::invalid_params(format!(
                    "items[{i}].content: a message needs its content"
                )));
            }
        }
    }
    Ok(())
}

pub(crate) async fn thread_inject_items(
    state: &Arc<State>,
    p: ThreadInjectItemsParams,
) -> RpcResult<ThreadInjectItemsResponse> {
    check_injected(&p.items)?;
    let loaded = state.loaded(&p.thread_id);
    let ephemeral = loaded.as_ref().is_some_and(|l| l.info().ephemeral);
    let mut engine = match &loaded {
        Some(l) => Some(idle_engine(l, "injecting items").await?),
        None => None,
    };
    if !ephemeral {
        let (id, items) = (p.thread_id.clone(), p.items.clone());
        state
            .try_persist(move |s| s.append_history(&id, &items))
            .await?;
    } else if engine.is_none() {
        return Err(RpcError::thread_not_found(&p.thread_id));
    }
    if let Some(engine) = engine.as_mut() {
        engine.append_history(p.items);
    }
    Ok(ThreadInjectItemsResponse {})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_continue_after_and_reverse_from_their_anchor() {
        let ids: Vec<String> = (0..5).map(|i| format!("t{i}")).collect();
        let (data, next, back) = page(ids.clone(), |s| s, None, Some(2)).unwrap();
        assert_eq!(data, ["t0", "t1"]);
        assert_eq!(next.as_deref(), Some("after:t1"));
        assert_eq!(back.as_deref(), Some("from:t0"));
        let (data, next, _) = page(
            ids.clone(),
            |s| s,
            Some(parse_cursor("after:t1").unwrap()),
            Some(2),
        )
        .unwrap();
        assert_eq!(data, ["t2", "t3"]);
        let (data, next2, _) = page(
            ids.clone(),
            |s| s,
            Some(parse_cursor(next.as_deref().unwrap()).unwrap()),
            Some(2),
        )
        .unwrap();
        assert_eq!(data, ["t4"]);
        assert_eq!(next2, None);
        let (data, _, _) = page(
            ids.clone(),
            |s| s,
            Some(parse_cursor("from:t3").unwrap()),
            None,
        )
        .unwrap();
        assert_eq!(data, ["t3", "t4"]);
        assert!(parse_cursor("t3").is_err());
        assert!(page(ids, |s| s, Some(("nope", false)), None).is_err());
    }

    #[test]
    fn injected_items_are_checked() {
        use serde_json::json;
        assert!(check_injected(&[]).is_err());
        assert!(check_injected(&[json!({"role": "user"})]).is_err());
        assert!(
            check_injected(&[json!({"type": "message", "role": "root", "content": []})]).is_err()
        );
        assert!(check_injected(&[json!({"type": "message", "role": "user"})]).is_err());
        assert!(check_injected(&[json!({"type": "message", "role": "user", "content": [{"type": "input_text", "text": "hi"}]})]).is_ok());
        let big = "x".repeat(MAX_INJECTED_BYTES);
        assert!(
            check_injected(&[json!({"type": "message", "role": "user", "content": big})]).is_err()
        );
    }
}
