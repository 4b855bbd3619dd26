//! Typed dispatch: every request is parsed into a `wright_protocol::v2::ClientRequest` (an
//! unknown method answers -32601, params that do not fit -32602 naming the member) and every
//! result is a typed response.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde_json::{Map, Value};
use wright_protocol::jsonrpc::{JsonRpcRequest, RequestId, INVALID_PARAMS};
use wright_protocol::v2::{
    parse_client_request, ClientRequest, ParseError, CODEX_EXPERIMENTAL_METHODS,
    CODEX_STABLE_METHODS,
};

use crate::conn::ConnHandle;
use crate::rpc::{RpcError, RpcResult};
use crate::state::State;
use crate::{account, config_methods as config, models};
use crate::{command_exec, thread_history as history, thread_methods as threads, turns};
use crate::{fs_methods, fs_watch, fuzzy_search, mcp_methods};

pub(crate) async fn handle_request(state: &Arc<State>, conn: &ConnHandle, request: JsonRpcRequest) {
    let id = request.id;
    // Codex's clients send `{}` or omit params for methods whose params are all optional.
    let params = match request.params {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(p @ Value::Object(_)) => p,
        Some(_) => {
            conn.error(Some(&id), INVALID_PARAMS, "`params` must be an object");
            return;
        }
    };
    let parsed = match parse_client_request(&request.method, Some(params)) {
        Ok(parsed) => parsed,
        Err(ParseError::UnknownMethod(method)) => {
            let err = RpcError::method_not_found(not_offered(&method));
            conn.error(Some(&id), err.code, err.message);
            return;
        }
        Err(err) => {
            conn.error(Some(&id), err.code(), err.to_string());
            return;
        }
    };
    use ClientRequest as R;
    match parsed {
        // Answered by the connection before anything else; a second one is refused there.
        R::Initialize(_) => reply(
            conn,
            &id,
            Err::<(), _>(RpcError::invalid_request("Already initialized")),
        ),
        R::ThreadStart(p) => reply(conn, &id, threads::thread_start(state, conn, p).await),
        R::ThreadResume(p) => reply(conn, &id, threads::thread_resume(state, conn, p).await),
        R::ThreadFork(p) => reply(conn, &id, threads::thread_fork(state, conn, p).await),
        R::ThreadList(p) => reply(conn, &id, threads::thread_list(state, p).await),
        R::ThreadRead(p) => reply(conn, &id, threads::thread_read(state, p).await),
        R::ThreadArchive(p) => reply(conn, &id, threads::thread_archive(state, p).await),
        R::ThreadUnarchive(p) => reply(conn, &id, threads::thread_unarchive(state, p).await),
        R::ThreadSetName(p) => reply(conn, &id, threads::thread_name_set(state, p).await),
        R::ThreadCompactStart(p) => reply(conn, &id, turns::thread_compact(state, conn, p).await),
        R::ThreadLoadedList(p) => reply(conn, &id, threads::thread_loaded_list(state, p)),
        R::ThreadUnsubscribe(p) => {
            reply(conn, &id, threads::thread_unsubscribe(state, conn, p).await)
        }
        R::ThreadDelete(p) => reply(conn, &id, threads::thread_delete(state, conn, p).await),
        R::ThreadSearch(p) => reply(conn, &id, threads::thread_search(state, p).await),
        R::SkillsList(p) => reply(
            conn,
            &id,
            crate::skills_methods::skills_list(state, p).await,
        ),
        R::SkillsConfigWrite(p) => reply(
            conn,
            &id,
            crate::skills_methods::skills_config_write(state, p).await,
        ),
        R::SkillsExtraRootsSet(p) => reply(
            conn,
            &id,
            crate::skills_methods::skills_extra_roots_set(state, p).await,
        ),
        R::HooksList(p) => reply(conn, &id, crate::hooks_methods::hooks_list(state, p).await),
        R::ThreadBackgroundTerminalsList(p) => {
            reply(conn, &id, crate::background_terminals::list(state, p))
        }
        R::ThreadBackgroundTerminalsTerminate(p) => reply(
            conn,
            &id,
            crate::background_terminals::terminate(state, p).await,
        ),
        R::ThreadBackgroundTerminalsClean(p) => {
            reply(conn, &id, crate::background_terminals::clean(state, p))
        }
        R::ThreadTurnsList(p) => reply(conn, &id, history::thread_turns_list(state, p).await),
        R::ThreadItemsList(p) => reply(conn, &id, history::thread_items_list(state, p).await),
        R::ThreadMetadataUpdate(p) => {
            reply(conn, &id, history::thread_metadata_update(state, p).await)
        }
        R::ThreadRevert(p) => reply(conn, &id, history::thread_revert(state, p).await),
        R::ThreadInjectItems(p) => reply(conn, &id, history::thread_inject_items(state, p).await),
        R::ThreadShellCommand(p) => reply(
            conn,
            &id,
            crate::shell_command::thread_shell_command(state, conn, p).await,
        ),
        R::ReviewStart(p) => reply(conn, &id, turns::review_start(state, conn, p).await),
        R::TurnStart(p) => reply(conn, &id, turns::turn_start(state, conn, p).await),
        R::TurnInterrupt(p) => reply(conn, &id, turns::turn_interrupt(state, p)),
        R::TurnSteer(p) => reply(conn, &id, turns::turn_steer(state, p).await),
        // Asks the provider: answered from its own task so the connection keeps reading.
        R::ModelList(p) => {
            let state = Arc::clone(state);
            spawn_reply(conn, id, async move { models::model_list(&state, p).await });
        }
        R::ModelProviderList(p) => reply(conn, &id, models::model_provider_list(state, p).await),
        R::ModelProviderCapabilitiesRead(p) => {
            reply(conn, &id, models::model_provider_capabilities_read(p))
        }
        R::ConfigRead(p) => reply(conn, &id, config::config_read(state, conn, p).await),
        R::ConfigValueWrite(p) => {
            reply(conn, &id, config::config_value_write(state, conn, p).await)
        }
        R::ConfigBatchWrite(p) => {
            reply(conn, &id, config::config_batch_write(state, conn, p).await)
        }
        R::ConfigRequirementsRead(p) => reply(conn, &id, config::config_requirements_read(p)),
        R::PermissionProfileList(p) => reply(conn, &id, config::permission_profile_list(p)),
        R::ExperimentalFeatureList(p) => reply(conn, &id, config::experimental_feature_list(p)),
        R::AccountRead(p) => reply(conn, &id, account::account_read(state, p).await),
        // The answer goes first, then the notifications it causes (as in Codex).
        R::AccountLoginStart(p) => {
            let result = account::account_login_start(state, p).await;
            let ok = result.is_ok();
            reply(conn, &id, result);
            if ok {
                account::logged_in(state, conn).await;
            }
        }
        R::AccountLogout(p) => {
            let result = account::account_logout(state, p).await;
            let ok = result.is_ok();
            reply(conn, &id, result);
            if ok {
                account::logged_out(state, conn).await;
            }
        }
        // Checked and its process id taken now, in request order; then answered from its own
        // task when the command ends, so the connection keeps reading (and can write to,
        // resize or terminate it meanwhile).
        R::CommandExec(p) => match command_exec::start(state, conn, p) {
            Ok(running) => spawn_reply(conn, id, running),
            Err(err) => reply(conn, &id, Err::<(), _>(err)),
        },
        R::CommandExecWrite(p) => reply(conn, &id, command_exec::write(state, conn, p)),
        R::CommandExecTerminate(p) => reply(conn, &id, command_exec::terminate(state, conn, p)),
        R::CommandExecResize(p) => reply(conn, &id, command_exec::resize(state, conn, p)),
        R::FsReadFile(p) => blocking(conn, id, move || fs_methods::read_file(p)),
        R::FsWriteFile(p) => blocking(conn, id, move || fs_methods::write_file(p)),
        R::FsCreateDirectory(p) => blocking(conn, id, move || fs_methods::create_directory(p)),
        R::FsGetMetadata(p) => blocking(conn, id, move || fs_methods::get_metadata(p)),
        R::FsReadDirectory(p) => blocking(conn, id, move || fs_methods::read_directory(p)),
        R::FsRemove(p) => blocking(conn, id, move || fs_methods::remove(p)),
        R::FsCopy(p) => blocking(conn, id, move || fs_methods::copy(p)),
        R::FsWatch(p) => reply(conn, &id, fs_watch::fs_watch(state, conn, p).await),
        R::FsUnwatch(p) => reply(conn, &id, fs_watch::fs_unwatch(state, conn, p).await),
        // Walks a tree: answered from its own task so the connection keeps reading. The search
        // is listed as in flight before the next request is read, so a later one with the same
        // cancellation token always finds it.
        R::FuzzyFileSearch(p) => match fuzzy_search::fuzzy_file_search(state, conn, p) {
            Ok(search) => spawn_reply(conn, id, search),
            Err(err) => reply::<()>(conn, &id, Err(err)),
        },
        // May wait for a server (a listing, a tool call up to its `tool_timeout_sec`): answered
        // from their own tasks so the connection keeps reading.
        R::McpServerStatusList(p) => {
            let state = Arc::clone(state);
            spawn_reply(conn, id, mcp_methods::status_list(state, p));
        }
        R::McpServerToolCall(p) => {
            let state = Arc::clone(state);
            spawn_reply(conn, id, mcp_methods::tool_call(state, p));
        }
        R::McpServerResourceRead(p) => {
            let state = Arc::clone(state);
            spawn_reply(conn, id, mcp_methods::resource_read(state, p));
        }
        R::McpServerReload(p) => reply(conn, &id, mcp_methods::reload(state, p).await),
        // Discovery and client registration talk to the server's authorization server.
        R::McpServerOauthLogin(p) => {
            let state = Arc::clone(state);
            spawn_reply(conn, id, mcp_methods::oauth_login(state, p));
        }
    }
}

/// Why a method is not answered: a Codex method wright does not offer says so.
fn not_offered(method: &str) -> String {
    if CODEX_STABLE_METHODS.contains(&method) || CODEX_EXPERIMENTAL_METHODS.contains(&method) {
        format!(
            "`{method}` is a Codex App Server method that wright does not offer (see the README's method table)"
        )
    } else {
        format!("method not found: `{method}`")
    }
}

fn reply<T: Serialize>(conn: &ConnHandle, id: &RequestId, result: RpcResult<T>) {
    match result {
        Ok(value) => conn.respond(id, &value),
        Err(err) => conn.error_with_data(Some(id), err.code, err.message, err.data),
    }
}

/// Answers from a task of its own, so the connection keeps reading meanwhile.
fn spawn_reply<T, F>(conn: &ConnHandle, id: RequestId, work: F)
where
    T: Serialize + Send + 'static,
    F: Future<Output = RpcResult<T>> + Send + 'static,
{
    let conn = conn.clone();
    tokio::spawn(async move {
        let result = work.await;
        reply(&conn, &id, result);
    });
}

/// Blocking file work on the blocking pool.
fn blocking<T, F>(conn: &ConnHandle, id: RequestId, work: F)
where
    T: Serialize + Send + 'static,
    F: FnOnce() -> Result<T, fs_methods::FsError> + Send + 'static,
{
    spawn_reply(conn, id, async move {
        match tokio::task::spawn_blocking(work).await {
            Ok(result) => result.map_err(|(code, message)| RpcError::from_code(code, message)),
            Err(e) => Err(RpcError::internal(format!("fs: {e}"))),
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_codex_method_wright_lacks_is_named_as_such() {
        let msg = not_offered("thread/goal/set");
        assert!(msg.contains("wright does not offer"), "{msg}");
        let msg = not_offered("no/such");
        assert!(msg.starts_with("method not found"), "{msg}");
    }
}
