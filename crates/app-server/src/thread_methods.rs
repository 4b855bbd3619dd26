//! The thread's life: `thread/start`, `resume`, `fork`, `list`, `read`, `archive`,
//! `unarchive`, `name/set`, `loaded/list`, `unsubscribe`, `delete`, `search`.

use std::sync::Arc;

use wright_core::config::Config;
use wright_core::Thread;
use wright_protocol::v2::{
    self, EmptyResponse, ServerNotification, ThreadArchivedNotification, ThreadDeleteParams,
    ThreadDeleteResponse, ThreadDeletedNotification, ThreadForkParams, ThreadIdParams,
    ThreadListCwdFilter, ThreadListParams, ThreadListResponse, ThreadLoadedListParams,
    ThreadLoadedListResponse, ThreadNameUpdatedNotification, ThreadReadParams, ThreadReadResponse,
    ThreadResumeParams, ThreadResumeResponse, ThreadSearchParams, ThreadSearchResponse,
    ThreadSearchResult, ThreadSearchSortKey, ThreadSetNameParams, ThreadStartParams,
    ThreadStartResponse, ThreadStartedNotification, ThreadStatus, ThreadUnarchiveResponse,
    ThreadUnarchivedNotification, ThreadUnsubscribeParams, ThreadUnsubscribeResponse,
    ThreadUnsubscribeStatus, TurnItemsView, TurnStatus,
};
use wright_store::{ListQuery, ThreadRecord};

use crate::conn::ConnHandle;
use crate::rpc::{RpcError, RpcResult};
use crate::state::{
    ask_for_approval, effective_reviewer, info_of, stored_reviewer, usage_of, Loaded, State,
    ThreadSettings,
};
use crate::wire::{self, now_secs, ThreadInfo, TurnInfo};

/// What thread/start and thread/fork answer with.
fn start_response(
    loaded: &Loaded,
    config: &Config,
    instruction_sources: Vec<String>,
    turns: Vec<v2::Turn>,
) -> ThreadStartResponse {
    ThreadStartResponse {
        thread: loaded.view(turns),
        model: config.model.clone(),
        model_provider: config.provider_id.clone(),
        service_tier: None,
        cwd: config.cwd.display().to_string(),
        instruction_sources,
        approval_policy: ask_for_approval(config.approval_policy),
        approvals_reviewer: loaded.reviewer(),
        sandbox: wire::sandbox_policy(config.sandbox_mode, config),
        reasoning_effort: config
            .model_reasoning_effort
            .as_ref()
            .map(|e| v2::ReasoningEffort::new(e.clone())),
        disabled_plugin_ids: Vec::new(),
    }
}

fn started(thread: &v2::Thread) -> ServerNotification {
    ServerNotification::ThreadStarted(ThreadStartedNotification {
        thread: thread.clone(),
    })
}

pub(crate) async fn thread_start(
    state: &Arc<State>,
    conn: &ConnHandle,
    p: ThreadStartParams,
) -> RpcResult<ThreadStartResponse> {
    for (set, name) in [
        (p.personality.is_some(), "personality"),
        (p.service_tier.is_some(), "serviceTier"),
        (p.service_name.is_some(), "serviceName"),
    ] {
        if set {
            tracing::warn!("thread/start: `{name}` is not supported and has no effect");
        }
    }
    // MCP servers belong to the whole server (one set, shared by its threads): a thread's own
    // `mcp_servers` would be silently ignored, so its client is told.
    let mcp_keys: Vec<&String> = p
        .config
        .iter()
        .flatten()
        .map(|(key, _)| key)
        .filter(|key| *key == "mcp_servers" || key.starts_with("mcp_servers."))
        .collect();
    if !mcp_keys.is_empty() {
        conn.notify(&wright_protocol::v2::ServerNotification::ConfigWarning(
            wright_protocol::v2::ConfigWarningNotification {
                summary: format!(
                    "thread/start: `{}` is not acted on: MCP servers come from the server's config (config.toml, -c), shared by every thread",
                    mcp_keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join("`, `")
                ),
                details: Some("change them in config.toml and call config/mcpServer/reload".into()),
                path: None,
                range: None,
            },
        ));
    }
    let config = state.thread_config(&ThreadSettings::from(&p), None).await?;
    let reviewer = p
        .approvals_reviewer
        .map(effective_reviewer)
        .unwrap_or_default();
    let ephemeral = state.options.ephemeral || p.ephemeral.unwrap_or(false);
    let thread = Thread::new(config.clone()).map_err(|e| RpcError::internal(e.to_string()))?;
    let sources: Vec<String> = thread
        .project_docs()
        .sources
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    let info = ThreadInfo::new(
        thread.id(),
        &config,
        state.options.source.clone(),
        ephemeral,
    );
    let loaded = state.start_thread(thread, info, reviewer);
    loaded.subscribe(conn);
    let response = start_response(&loaded, &config, sources, Vec::new());
    conn.notify(&started(&response.thread));
    Ok(response)
}

/// A stored turn's status: one still "in progress" in the store died with its server.
fn stored_status(status: &str) -> TurnStatus {
    match status {
        "completed" => TurnStatus::Completed,
        "failed" => TurnStatus::Failed,
        _ => TurnStatus::Interrupted,
    }
}

/// The stored turns of a thread in protocol form, oldest first. A turn that is running now
/// is reported as such.
pub(crate) async fn stored_turns(state: &State, id: &str) -> Vec<v2::Turn> {
    let key = id.to_string();
    let turns = state
        .persist("read turns", move |s| s.turns(&key))
        .await
        .unwrap_or_default();
    let running = state
        .loaded(id)
        .and_then(|l| l.running_turn().ok().flatten());
    turns
        .into_iter()
        .map(|(t, items)| {
            let status = if running.as_deref() == Some(t.id.as_str()) {
                TurnStatus::InProgress
            } else {
                stored_status(&t.status)
            };
            let info = TurnInfo {
                id: t.id,
                status,
                error: t.error,
                started_at: t.started_at,
                completed_at: t.completed_at,
                duration_ms: t.duration_ms,
            };
            wire::turn(&info, wire::stored_items(items), TurnItemsView::Full)
        })
        .collect()
}

async fn load_from_store(
    state: &Arc<State>,
    record: ThreadRecord,
    settings: &ThreadSettings,
) -> RpcResult<(Arc<Loaded>, Config)> {
    let key = record.id.clone();
    let history = state
        .persist("read history", move |s| s.history(&key))
        .await
        .unwrap_or_default();
    let config = state.thread_config(settings, Some(&record)).await?;
    let thread = Thread::resume(
        config.clone(),
        record.id.clone(),
        history,
        usage_of(&record.usage),
    )
    .map_err(|e| RpcError::internal(e.to_string()))?;
    let mut info = info_of(&record);
    info.model = config.model.clone();
    let reviewer = settings
        .approvals_reviewer
        .unwrap_or_else(|| stored_reviewer(&record));
    Ok((state.register(thread, info, reviewer), config))
}

pub(crate) async fn thread_resume(
    state: &Arc<State>,
    conn: &ConnHandle,
    p: ThreadResumeParams,
) -> RpcResult<ThreadResumeResponse> {
    let id = p.thread_id.clone();
    let exclude_turns = p.exclude_turns.unwrap_or(false);
    // Read once: they both decide whether there is anything to resume and are the answer.
    let mut stored: Option<Vec<v2::Turn>> = None;
    let (loaded, config) = match state.loaded(&id) {
        Some(loaded) => {
            // A loaded thread keeps its settings (another client may be using it).
            let asked = p.approvals_reviewer.map(effective_reviewer);
            if let Some(asked) = asked.filter(|r| *r != loaded.reviewer()) {
                tracing::warn!(
                    "thread/resume: thread {id} is already loaded; `approvalsReviewer` {asked:?} ignored (it stays {:?}; turn/start can change it)",
                    loaded.reviewer()
                );
            }
            let config = loaded.config();
            (loaded, config)
        }
        None => {
            // Codex keeps a thread on disk from its first turn: until then (or for an id it
            // never saw) there is nothing to resume, and it says so in these words.
            let no_rollout =
                || RpcError::invalid_request(format!("no rollout found for thread id {id}"));
            let record = state.record(&id).await.map_err(|_| no_rollout())?;
            let turns = stored_turns(state, &id).await;
            if turns.is_empty() {
                return Err(no_rollout());
            }
            stored = Some(turns);
            load_from_store(state, record, &ThreadSettings::from(&p)).await?
        }
    };
    loaded.subscribe(conn);
    let turns = match (exclude_turns, stored) {
        (true, _) => Vec::new(),
        (false, Some(turns)) => turns,
        (false, None) => stored_turns(state, &id).await,
    };
    let r = start_response(&loaded, &config, loaded.instruction_sources.clone(), turns);
    Ok(ThreadResumeResponse {
        thread: r.thread,
        model: r.model,
        model_provider: r.model_provider,
        service_tier: r.service_tier,
        cwd: r.cwd,
        instruction_sources: r.instruction_sources,
        approval_policy: r.approval_policy,
        approvals_reviewer: r.approvals_reviewer,
        sandbox: r.sandbox,
        reasoning_effort: r.reasoning_effort,
        disabled_plugin_ids: r.disabled_plugin_ids,
        collaboration_mode: None,
        turns_backwards_cursor: None,
        items_backwards_cursor: None,
    })
}

pub(crate) async fn thread_fork(
    state: &Arc<State>,
    conn: &ConnHandle,
    p: ThreadForkParams,
) -> RpcResult<ThreadStartResponse> {
    if p.last_turn_id.is_some() {
        return Err(RpcError::invalid_params(
            "`lastTurnId` is not supported: fork copies the whole thread (use thread/revert on the copy to drop later turns)",
        ));
    }
    if p.ephemeral == Some(true) {
        return Err(RpcError::invalid_params(
            "`ephemeral` forks are not supported: a fork is stored like its source",
        ));
    }
    let src = p.thread_id.clone();
    if let Some(loaded) = state.loaded(&src) {
        loaded.ensure_idle("forking it")?;
    }
    let record = state.record(&src).await?;
    let now = now_secs();
    let new = ThreadRecord {
        id: uuid::Uuid::now_v7().to_string(),
        created_at: now,
        updated_at: now,
        forked_from: Some(src.clone()),
        archived: false,
        ..record
    };
    let copy = new.clone();
    state
        .persist("fork thread", move |s| s.fork(&src, &copy))
        .await
        .ok_or_else(|| RpcError::internal("the thread store could not fork the thread"))?;
    let new_id = new.id.clone();
    let (loaded, config) = load_from_store(state, new, &ThreadSettings::from(&p)).await?;
    loaded.subscribe(conn);
    let turns = if p.exclude_turns.unwrap_or(false) {
        Vec::new()
    } else {
        stored_turns(state, &new_id).await
    };
    let response = start_response(&loaded, &config, loaded.instruction_sources.clone(), turns);
    conn.notify(&started(&v2::Thread {
        turns: Vec::new(),
        ..response.thread.clone()
    }));
    Ok(response)
}

pub(crate) async fn thread_list(
    state: &Arc<State>,
    p: ThreadListParams,
) -> RpcResult<ThreadListResponse> {
    // The store pages by last update, newest first; say so when asked for another order.
    if p.sort_key
        .is_some_and(|k| k != v2::ThreadSortKey::UpdatedAt)
        || p.sort_direction == Some(v2::SortDirection::Asc)
    {
        tracing::warn!("thread/list: only updated_at, newest first, is supported; `sortKey`/`sortDirection` ignored");
    }
    for (set, name) in [
        (p.section_id.is_some(), "sectionId"),
        (
            p.originators.as_ref().is_some_and(|o| !o.is_empty()),
            "originators",
        ),
        (
            p.excluded_thread_ids
                .as_ref()
                .is_some_and(|o| !o.is_empty()),
            "excludedThreadIds",
        ),
    ] {
        if set {
            tracing::warn!("thread/list: `{name}` is not supported and has no effect");
        }
    }
    let cwd = match p.cwd {
        None => None,
        Some(ThreadListCwdFilter::One(c)) => Some(c),
        Some(ThreadListCwdFilter::Any(list)) if list.len() <= 1 => list.into_iter().next(),
        Some(ThreadListCwdFilter::Any(_)) => {
            return Err(RpcError::invalid_params(
                "`cwd`: filtering by several directories is not supported; give one",
            ))
        }
    };
    let query = ListQuery {
        cursor: p.cursor,
        limit: p.limit.unwrap_or(0) as usize,
        archived: p.archived.unwrap_or(false),
        cwd,
        model_providers: p.model_providers.unwrap_or_default(),
        search: p.search_term,
        sources: source_filter(p.source_kinds.as_deref().unwrap_or_default()),
        with_turns: true,
    };
    let Some(page) = state
        .persist("list threads", move |s| s.list_threads(&query))
        .await
    else {
        return Ok(ThreadListResponse {
            data: Vec::new(),
            next_cursor: None,
            backwards_cursor: None,
        });
    };
    let data = page
        .threads
        .iter()
        .map(|rec| {
            let status = match state.loaded(&rec.id) {
                Some(loaded) => loaded.status(),
                None => ThreadStatus::NotLoaded,
            };
            wire::thread(&info_of(rec), status, Vec::new())
        })
        .collect();
    Ok(ThreadListResponse {
        data,
        next_cursor: page.next_cursor,
        backwards_cursor: None,
    })
}

/// The stored `source` names a `sourceKinds` filter selects. Sub-agents' sources are stored
/// as Codex's JSON (`{"subAgent":{"thread_spawn":…}}`), selected by prefix (`…*`).
fn source_filter(kinds: &[v2::ThreadSourceKind]) -> Vec<String> {
    use v2::ThreadSourceKind as K;
    let mut sources = Vec::new();
    for kind in kinds {
        let names: &[&str] = match kind {
            K::Cli => &["cli"],
            K::Vscode => &["vscode"],
            K::Exec => &["exec"],
            K::AppServer => &["appServer", "app-server", "app_server"],
            K::Unknown => &["unknown", ""],
            K::SubAgent => &["{\"subAgent\":*"],
            K::SubAgentReview => &["{\"subAgent\":\"review\"}"],
            K::SubAgentCompact => &["{\"subAgent\":\"compact\"}"],
            K::SubAgentThreadSpawn => &["{\"subAgent\":{\"thread_spawn\":*"],
            K::SubAgentOther => &["{\"subAgent\":{\"other\":*"],
        };
        sources.extend(names.iter().map(|n| n.to_string()));
    }
    sources
}

/// A thread's client-visible form: from memory when loaded, else from the store.
pub(crate) async fn thread_view(state: &State, id: &str) -> RpcResult<v2::Thread> {
    if let Some(loaded) = state.loaded(id) {
        return Ok(loaded.view(Vec::new()));
    }
    let rec = state.record(id).await?;
    Ok(wire::thread(
        &info_of(&rec),
        ThreadStatus::NotLoaded,
        Vec::new(),
    ))
}

pub(crate) async fn thread_read(
    state: &Arc<State>,
    p: ThreadReadParams,
) -> RpcResult<ThreadReadResponse> {
    let mut thread = thread_view(state, &p.thread_id).await?;
    if p.include_turns.unwrap_or(false) {
        thread.turns = stored_turns(state, &p.thread_id).await;
    }
    Ok(ThreadReadResponse { thread })
}

pub(crate) async fn thread_archive(
    state: &Arc<State>,
    p: ThreadIdParams,
) -> RpcResult<EmptyResponse> {
    set_archived(state, &p.thread_id, true).await?;
    Ok(EmptyResponse {})
}

pub(crate) async fn thread_unarchive(
    state: &Arc<State>,
    p: ThreadIdParams,
) -> RpcResult<ThreadUnarchiveResponse> {
    set_archived(state, &p.thread_id, false).await?;
    // Unarchiving answers with the thread, as Codex does.
    Ok(ThreadUnarchiveResponse {
        thread: thread_view(state, &p.thread_id).await?,
    })
}

async fn set_archived(state: &State, id: &str, archived: bool) -> RpcResult<()> {
    let key = id.to_string();
    state
        .persist("archive thread", move |s| s.set_archived(&key, archived))
        .await
        .ok_or_else(|| RpcError::thread_not_found(id))?;
    if let Some(loaded) = state.loaded(id) {
        loaded.update_info(|i| i.archived = archived);
        let thread_id = id.to_string();
        loaded.broadcast(if archived {
            ServerNotification::ThreadArchived(ThreadArchivedNotification { thread_id })
        } else {
            ServerNotification::ThreadUnarchived(ThreadUnarchivedNotification { thread_id })
        });
    }
    Ok(())
}

pub(crate) async fn thread_name_set(
    state: &Arc<State>,
    p: ThreadSetNameParams,
) -> RpcResult<EmptyResponse> {
    let id = p.thread_id;
    let name = Some(p.name.trim().to_string()).filter(|n| !n.is_empty());
    let (key, stored) = (id.clone(), name.clone());
    state
        .persist("name thread", move |s| s.set_name(&key, stored.as_deref()))
        .await
        .ok_or_else(|| RpcError::thread_not_found(&id))?;
    if let Some(loaded) = state.loaded(&id) {
        loaded.update_info(|i| i.name = name.clone());
        loaded.broadcast(ServerNotification::ThreadNameUpdated(
            ThreadNameUpdatedNotification {
                thread_id: id,
                thread_name: name,
            },
        ));
    }
    Ok(EmptyResponse {})
}

/// `thread/search`: threads whose messages contain the term, each with the best snippet, in
/// the order the client asks (newest created first by default).
pub(crate) async fn thread_search(
    state: &Arc<State>,
    p: ThreadSearchParams,
) -> RpcResult<ThreadSearchResponse> {
    if p.search_term.trim().is_empty() {
        return Err(RpcError::invalid_params("`searchTerm` is empty"));
    }
    if p.source_kinds.as_ref().is_some_and(|k| !k.is_empty()) {
        return Err(RpcError::invalid_params(
            "`sourceKinds` filtering is not supported by thread/search",
        ));
    }
    let term = p.search_term.clone();
    let archived = p.archived.unwrap_or(false);
    let hits = state
        .try_persist(move |s| {
            let hits = s.search(&term, wright_store::MAX_SEARCH_LIMIT)?;
            // The best snippet per thread, then the threads themselves.
            let mut out: Vec<(ThreadRecord, String)> = Vec::new();
            for hit in hits {
                if out.iter().any(|(r, _)| r.id == hit.thread_id) {
                    continue;
                }
                if let Some(rec) = s.get_thread(&hit.thread_id)? {
                    if rec.archived == archived {
                        out.push((rec, hit.snippet));
                    }
                }
            }
            Ok(out)
        })
        .await?;
    let mut hits = hits;
    let key = |r: &ThreadRecord| match p.sort_key {
        Some(ThreadSearchSortKey::UpdatedAt) | Some(ThreadSearchSortKey::RecencyAt) => {
            (r.updated_at, r.id.clone())
        }
        _ => (r.created_at, r.id.clone()),
    };
    hits.sort_by_key(|(r, _)| key(r));
    if p.sort_direction != Some(v2::SortDirection::Asc) {
        hits.reverse();
    }
    let start = match &p.cursor {
        None => 0,
        Some(c) => c.parse::<usize>().map_err(|_| {
            RpcError::invalid_params(format!(
                "`cursor`: `{c}` is not a cursor this server returned"
            ))
        })?,
    };
    let limit = p.limit.unwrap_or(20).clamp(1, 100) as usize;
    let total = hits.len();
    let data: Vec<ThreadSearchResult> = hits
        .into_iter()
        .skip(start)
        .take(limit)
        .map(|(rec, snippet)| {
            let status = match state.loaded(&rec.id) {
                Some(loaded) => loaded.status(),
                None => ThreadStatus::NotLoaded,
            };
            ThreadSearchResult {
                thread: wire::thread(&info_of(&rec), status, Vec::new()),
                snippet,
            }
        })
        .collect();
    let next_cursor = (start + data.len() < total).then(|| (start + data.len()).to_string());
    Ok(ThreadSearchResponse { data, next_cursor })
}

/// `thread/unsubscribe`: this connection stops following the thread (which, with nobody
/// left, stops its turn or is unloaded, as when the last client disconnects).
pub(crate) async fn thread_unsubscribe(
    state: &State,
    conn: &ConnHandle,
    p: ThreadUnsubscribeParams,
) -> RpcResult<ThreadUnsubscribeResponse> {
    let status = match state.loaded(&p.thread_id) {
        None => ThreadUnsubscribeStatus::NotLoaded,
        Some(t) if state.detach(&t, conn.id) => {
            // The last client left an idle thread: its session is over. Answered once its
            // `SessionEnd` hooks have run, so a client that exits next does not cut them off.
            let orphaned = t.subscribers.lock().map(|s| s.is_empty()).unwrap_or(false);
            let idle = t.active.lock().map(|a| a.is_none()).unwrap_or(false);
            if orphaned && idle {
                t.thread.lock().await.end_session().await;
            }
            ThreadUnsubscribeStatus::Unsubscribed
        }
        Some(_) => ThreadUnsubscribeStatus::NotSubscribed,
    };
    Ok(ThreadUnsubscribeResponse { status })
}

/// `thread/delete`: refused while a turn runs; otherwise the thread is unloaded, deleted from
/// the store, and `thread/deleted` goes to everyone who followed it (and the caller).
pub(crate) async fn thread_delete(
    state: &Arc<State>,
    conn: &ConnHandle,
    p: ThreadDeleteParams,
) -> RpcResult<ThreadDeleteResponse> {
    let id = p.thread_id;
    if let Some(loaded) = state.loaded(&id) {
        loaded.ensure_idle("deleting it")?;
    }
    let key = id.clone();
    state
        .persist("delete thread", move |s| s.delete_thread(&key))
        .await
        .ok_or_else(|| RpcError::thread_not_found(&id))?;
    let removed = state.threads.lock().ok().and_then(|mut t| t.remove(&id));
    let note = ServerNotification::ThreadDeleted(ThreadDeletedNotification { thread_id: id });
    let mut told_caller = false;
    if let Some(loaded) = removed {
        told_caller = loaded.is_subscribed(conn.id);
        loaded.broadcast(note.clone());
    }
    if !told_caller {
        conn.notify(&note);
    }
    Ok(ThreadDeleteResponse {})
}

/// `thread/loaded/list`: ids of the threads in memory, in id order (ids are UUIDv7, so that is
/// creation order), paged by the last id returned.
pub(crate) fn thread_loaded_list(
    state: &State,
    p: ThreadLoadedListParams,
) -> RpcResult<ThreadLoadedListResponse> {
    let mut ids: Vec<String> = state
        .threads
        .lock()
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    ids.sort();
    let start = match &p.cursor {
        Some(c) => ids.partition_point(|id| id <= c),
        None => 0,
    };
    let limit = p.limit.map(|l| l as usize).unwrap_or(usize::MAX).max(1);
    let page: Vec<String> = ids[start..].iter().take(limit).cloned().collect();
    let next_cursor = (start + page.len() < ids.len())
        .then(|| page.last().cloned())
        .flatten();
    Ok(ThreadLoadedListResponse {
        data: page,
        next_cursor,
    })
}
