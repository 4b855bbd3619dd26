//! Turns: `turn/start`, `turn/steer`, `turn/interrupt`, `thread/compact/start`, and running a
//! turn to its end (saved, then announced).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use futures_util::FutureExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use wright_core::config::SandboxMode;
use wright_core::{ImageInput, TurnInput, TurnOutcome, TurnOverrides};
use wright_protocol::v2::{
    self, ApprovalsReviewer, EmptyResponse, ReviewStartParams, ReviewStartResponse, ReviewTarget,
    SandboxPolicy, ServerNotification, ThreadIdParams, TurnInterruptParams, TurnItemsView,
    TurnStartParams, TurnStartResponse, TurnStartedNotification, TurnStatus, TurnSteerParams,
    TurnSteerResponse, UserInput,
};

use crate::approvals::{approver, status_changed};
use crate::auto_review::{self, AutoReview, SharedTranscript};
use crate::conn::ConnHandle;
use crate::delegated;
use crate::event_pump::{announce_whole_item, item_completed, item_started, pump_events};
use crate::file_writes;
use crate::rpc::{RpcError, RpcResult};
use crate::state::{approval_policy, settings_of, Loaded, State};
use crate::wire::{self, now_secs, TurnInfo};

/// Largest local image a turn may attach.
const MAX_IMAGE_BYTES: u64 = 20 * 1024 * 1024;

/// Items Codex's preview keeps of the first user message.
const PREVIEW_CHARS: usize = 200;

/// An external tool's output, given to the model as text it can tell from the user's words.
/// Images and audio are refused rather than dropped.
fn tool_output_input(tool: v2::TurnToolOutput) -> RpcResult<UserInput> {
    let body = match tool.output {
        v2::FunctionCallOutputBody::Text(text) => text,
        v2::FunctionCallOutputBody::Items(items) => {
            let mut texts = Vec::new();
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    v2::FunctionCallOutputContentItem::InputText { text } => texts.push(text),
                    _ => {
                        return Err(RpcError::invalid_params(format!(
                            "toolOutput.output[{i}]: only input_text is supported"
                        )))
                    }
                }
            }
            texts.join("\n")
        }
    };
    let name = match tool.namespace {
        Some(ns) => format!("{ns}.{}", tool.name),
        None => tool.name,
    };
    Ok(UserInput::text(format!(
        "<tool_output name=\"{name}\">\n{body}\n</tool_output>"
    )))
}

/// `UserInput` list → the engine's input. Text parts are joined; images become data URLs.
pub(crate) async fn turn_input(input: &[UserInput]) -> RpcResult<TurnInput> {
    let mut texts = Vec::new();
    let mut images = Vec::new();
    for (i, item) in input.iter().enumerate() {
        match item {
            UserInput::Text { text, .. } => texts.push(text.clone()),
            UserInput::Image { url: Some(url), .. } => images.push(ImageInput {
                data_url: url.clone(),
            }),
            UserInput::Image { .. } => {
                return Err(RpcError::invalid_params(format!(
                    "input[{i}]: an image needs a `url` (uploaded files are not supported)"
                )))
            }
            UserInput::LocalImage { path, .. } => {
                let path = path.clone();
                let image = tokio::task::spawn_blocking(move || local_image(i, &path))
                    .await
                    .map_err(|e| RpcError::internal(e.to_string()))??;
                images.push(image);
            }
            UserInput::Audio { .. } | UserInput::LocalAudio { .. } => {
                return Err(RpcError::invalid_params(format!(
                    "input[{i}].type: audio input is not supported"
                )))
            }
            UserInput::Skill { .. } | UserInput::Mention { .. } => {
                return Err(RpcError::invalid_params(format!(
                    "input[{i}].type: skill and mention input are not supported"
                )))
            }
        }
    }
    Ok(TurnInput {
        turn_id: None,
        text: texts.join("\n"),
        images,
        output_schema: None,
        overrides: TurnOverrides::default(),
    })
}

fn local_image(i: usize, path: &str) -> RpcResult<ImageInput> {
    // Checked before reading: a path like /dev/zero or a FIFO must not take the server
    // down. Opened once, then checked through the open file, so it cannot be swapped.
    let file = std::fs::File::open(path)
        .map_err(|e| RpcError::invalid_params(format!("input[{i}].path {path}: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| RpcError::invalid_params(format!("input[{i}].path {path}: {e}")))?;
    if !meta.is_file() || meta.len() > MAX_IMAGE_BYTES {
        return Err(RpcError::invalid_params(format!(
            "input[{i}].path {path}: not a regular file of at most {} MiB",
            MAX_IMAGE_BYTES >> 20
        )));
    }
    let mime = match std::path::Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        _ => {
            return Err(RpcError::invalid_params(format!(
                "input[{i}].path {path}: not a png, jpeg, gif or webp image"
            )))
        }
    };
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    use std::io::Read;
    file.take(MAX_IMAGE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| RpcError::invalid_params(format!("input[{i}].path {path}: {e}")))?;
    use base64::Engine;
    let data = base64::engine::general_purpose::STANDARD.encode(&bytes);
    Ok(ImageInput {
        data_url: format!("data:{mime};base64,{data}"),
    })
}

fn turn_overrides(p: &TurnStartParams) -> RpcResult<TurnOverrides> {
    let (sandbox_mode, network_access) = match &p.sandbox_policy {
        None => (None, None),
        Some(SandboxPolicy::ReadOnly { .. }) => (Some(SandboxMode::ReadOnly), Some(false)),
        Some(SandboxPolicy::WorkspaceWrite { network_access, .. }) => {
            (Some(SandboxMode::WorkspaceWrite), Some(*network_access))
        }
        Some(SandboxPolicy::DangerFullAccess) => (Some(SandboxMode::DangerFullAccess), None),
        Some(SandboxPolicy::ExternalSandbox { .. }) => {
            return Err(RpcError::invalid_params(
                "`sandboxPolicy`: externalSandbox is not supported; wright runs commands in its own sandbox",
            ))
        }
    };
    Ok(TurnOverrides {
        cwd: p.cwd.as_ref().map(PathBuf::from),
        sandbox_mode,
        approval_policy: p
            .approval_policy
            .as_ref()
            .map(approval_policy)
            .transpose()?,
        model: p.model.clone(),
        effort: p.effort.as_ref().map(|e| e.as_str().to_string()),
        network_access,
    })
}

pub(crate) async fn turn_start(
    state: &Arc<State>,
    conn: &ConnHandle,
    p: TurnStartParams,
) -> RpcResult<TurnStartResponse> {
    let loaded = state.loaded_or_err(&p.thread_id)?;
    let mut p = p;
    if let Some(tool) = p.tool_output.take() {
        p.input.push(tool_output_input(tool)?);
    }
    if p.input.is_empty() {
        return Err(RpcError::invalid_params(
            "`input` is empty (and there is no `toolOutput`)",
        ));
    }
    if p.service_tier_for_turn.is_some() || p.service_tier.is_some() {
        tracing::warn!("turn/start: `serviceTier` is not supported and has no effect");
    }
    if p.personality.is_some() {
        tracing::warn!("turn/start: `personality` is not supported and has no effect");
    }
    let overrides = turn_overrides(&p)?;
    // As in Codex, input for a thread whose turn is running joins that turn (the turn's
    // settings stay as they are).
    if let Some(running) = loaded.running_turn()? {
        let steer = TurnSteerParams {
            thread_id: p.thread_id,
            expected_turn_id: running.clone(),
            input: p.input,
            client_user_message_id: p.client_user_message_id,
        };
        let turn_id = turn_steer(state, steer).await?.turn_id;
        loaded.subscribe(conn);
        let info = TurnInfo {
            id: turn_id,
            status: TurnStatus::InProgress,
            error: None,
            started_at: None,
            completed_at: None,
            duration_ms: None,
        };
        return Ok(TurnStartResponse {
            turn: wire::turn(&info, Vec::new(), TurnItemsView::NotLoaded),
        });
    }
    let mut input = turn_input(&p.input).await?;
    input.overrides = overrides;
    input.output_schema = p.output_schema.clone().filter(|s| !s.is_null());
    let mut user_item = wire::user_message(&uuid::Uuid::now_v7().to_string(), p.input);
    if let v2::ThreadItem::UserMessage { client_id, .. } = &mut user_item {
        *client_id = p.client_user_message_id;
    }
    let extras = TurnExtras {
        user_item: Some(user_item),
        review: None,
        reviewer: p.approvals_reviewer,
    };
    let turn = start_turn(state, conn, loaded, input, extras)?;
    Ok(TurnStartResponse { turn })
}

pub(crate) async fn thread_compact(
    state: &Arc<State>,
    conn: &ConnHandle,
    p: ThreadIdParams,
) -> RpcResult<EmptyResponse> {
    let loaded = state.loaded_or_err(&p.thread_id)?;
    let input = TurnInput {
        text: wright_core::COMPACT_COMMAND.to_string(),
        ..Default::default()
    };
    start_turn(state, conn, loaded, input, TurnExtras::default())?;
    Ok(EmptyResponse {})
}

/// What a turn shows besides the engine's own items.
#[derive(Default)]
pub(crate) struct TurnExtras {
    /// The user's message, shown first.
    pub user_item: Option<v2::ThreadItem>,
    /// A review: `enteredReviewMode` with this description first, `exitedReviewMode` with the
    /// findings last.
    pub review: Option<String>,
    /// Who decides approvals from this turn on (`turn/start` `approvalsReviewer`).
    pub reviewer: Option<ApprovalsReviewer>,
}

/// Starts a turn on an idle thread and answers with it (`inProgress`, no items yet).
pub(crate) fn start_turn(
    state: &Arc<State>,
    conn: &ConnHandle,
    loaded: Arc<Loaded>,
    input: TurnInput,
    extras: TurnExtras,
) -> RpcResult<v2::Turn> {
    let (turn_id, cancel) = loaded.claim_turn(|running| {
        format!(
            "turn {running} is still running on this thread: steer it (turn/steer) or interrupt it (turn/interrupt) first"
        )
    })?;
    // Set once the turn is sure to start: it is this turn's and the next ones'.
    if let Some(reviewer) = extras.reviewer {
        loaded.set_reviewer(reviewer);
    }
    loaded.subscribe(conn);
    let info = TurnInfo {
        id: turn_id.clone(),
        status: TurnStatus::InProgress,
        error: None,
        started_at: None,
        completed_at: None,
        duration_ms: None,
    };
    let turn = wire::turn(&info, Vec::new(), TurnItemsView::NotLoaded);
    tokio::spawn(run_turn(
        Arc::clone(state),
        loaded,
        conn.clone(),
        turn_id,
        input,
        extras,
        cancel,
    ));
    Ok(turn)
}

pub(crate) fn turn_interrupt(
    state: &Arc<State>,
    p: TurnInterruptParams,
) -> RpcResult<EmptyResponse> {
    let loaded = state.loaded_or_err(&p.thread_id)?;
    let active = loaded
        .active
        .lock()
        .map_err(|_| RpcError::internal("thread state poisoned"))?;
    match active.as_ref() {
        Some(turn) if turn.id == p.turn_id => {
            turn.cancel.cancel();
            Ok(EmptyResponse {})
        }
        _ => Err(RpcError::invalid_request(format!(
            "no running turn {} on this thread",
            p.turn_id
        ))),
    }
}

pub(crate) async fn turn_steer(
    state: &Arc<State>,
    p: TurnSteerParams,
) -> RpcResult<TurnSteerResponse> {
    let loaded = state.loaded_or_err(&p.thread_id)?;
    let input = turn_input(&p.input).await?;
    let turn_id = {
        let active = loaded
            .active
            .lock()
            .map_err(|_| RpcError::internal("thread state poisoned"))?;
        match active.as_ref() {
            Some(turn) if turn.id == p.expected_turn_id => {
                turn.steer.push(&input);
                turn.id.clone()
            }
            Some(turn) => {
                return Err(RpcError::invalid_request(format!(
                    "expectedTurnId {} is not the running turn ({})",
                    p.expected_turn_id, turn.id
                )))
            }
            None => {
                return Err(RpcError::invalid_request(
                    "no turn is running on this thread",
                ))
            }
        }
    };
    let mut item = wire::user_message(&uuid::Uuid::now_v7().to_string(), p.input);
    if let v2::ThreadItem::UserMessage { client_id, .. } = &mut item {
        *client_id = p.client_user_message_id;
    }
    announce_whole_item(state, &loaded, &turn_id, item).await;
    Ok(TurnSteerResponse { turn_id })
}

async fn run_turn(
    state: Arc<State>,
    loaded: Arc<Loaded>,
    owner: ConnHandle,
    turn_id: String,
    input: TurnInput,
    extras: TurnExtras,
    cancel: CancellationToken,
) {
    let TurnExtras {
        user_item, review, ..
    } = extras;
    let thread_id = loaded.id.clone();
    let clock = Instant::now();
    let mut info = TurnInfo {
        id: turn_id.clone(),
        status: TurnStatus::InProgress,
        error: None,
        started_at: Some(now_secs()),
        completed_at: None,
        duration_ms: None,
    };
    // The turn's start is saved and announced by the event pump, first, while the engine
    // already sends the model its request: the request does not wait for the disk.
    let prologue = {
        let first = info.record(&thread_id);
        let (state, loaded) = (Arc::clone(&state), Arc::clone(&loaded));
        let (thread_id, turn_id) = (thread_id.clone(), turn_id.clone());
        let started = ServerNotification::TurnStarted(TurnStartedNotification {
            thread_id: thread_id.clone(),
            turn: wire::turn(&info, Vec::new(), TurnItemsView::NotLoaded),
        });
        let preview: String = input.text.chars().take(PREVIEW_CHARS).collect();
        let entered_review = review.clone();
        async move {
            state
                .persist("save turn", move |s| s.upsert_turn(&first))
                .await;
            loaded.broadcast(status_changed(&thread_id, wire::active(false)));
            loaded.broadcast(started);
            if let Some(item) = user_item {
                let (tid, uid, stored, shown) = (
                    thread_id.clone(),
                    turn_id.clone(),
                    wire::to_stored(&item),
                    preview.clone(),
                );
                state
                    .persist("save user message", move |s| {
                        s.put_item(&tid, &uid, &stored)?;
                        s.touch(&tid, now_secs(), Some(&shown), None, None)
                    })
                    .await;
                loaded.update_info(|i| {
                    if i.preview.is_empty() {
                        i.preview = preview;
                    }
                });
                loaded.broadcast(item_started(&thread_id, &turn_id, item.clone()));
                loaded.broadcast(item_completed(&thread_id, &turn_id, item));
            }
            if let Some(review) = entered_review {
                let item = v2::ThreadItem::EnteredReviewMode {
                    id: uuid::Uuid::now_v7().to_string(),
                    review,
                };
                announce_whole_item(&state, &loaded, &turn_id, item).await;
            }
        }
    };

    let (tx, rx) = mpsc::unbounded_channel();
    let (questions_tx, questions) = mpsc::unbounded_channel();
    // Decided before the turn runs, for the whole turn.
    let transcript: Option<SharedTranscript> =
        auto_review::applies(&loaded, &input).then(SharedTranscript::default);
    let pump = tokio::spawn({
        let events = pump_events(
            Arc::clone(&state),
            Arc::clone(&loaded),
            owner.clone(),
            turn_id.clone(),
            rx,
            questions,
            transcript.clone(),
        );
        async move {
            prologue.await;
            events.await
        }
    });
    let (outcome, usage, settings) = {
        let mut thread = loaded.thread.lock().await;
        // Where the history stood, so `thread/revert` can take it back to here.
        let (tid, uid, start) = (thread_id.clone(), turn_id.clone(), thread.history().len());
        if !loaded.info().ephemeral {
            state.persist_soon("mark turn start", move |s| {
                s.set_turn_history_start(&tid, &uid, start)
            });
        }
        let approver = match transcript {
            Some(transcript) => auto_review::approver(
                thread_id.clone(),
                turn_id.clone(),
                AutoReview::new(&thread, &input, transcript),
                questions_tx.clone(),
            ),
            None => approver(Arc::clone(&loaded), turn_id.clone(), questions_tx.clone()),
        };
        thread.set_approver(Some(approver));
        thread.set_user_input(Some(crate::user_input::asker(
            Arc::clone(&loaded),
            turn_id.clone(),
            questions_tx.clone(),
        )));
        // Only a client that opted in (`wrightFileWrites`) writes the turn's patches itself.
        let writer = owner.writes_files().then(|| {
            let (owner, pump) = (owner.clone(), questions_tx.clone());
            file_writes::writer(thread_id.clone(), turn_id.clone(), owner, pump)
        });
        thread.set_file_writer(writer);
        // Likewise for reading the files a patch changes (`wrightFileReads`) and running
        // commands (`wrightCommandRuns`): the engine still decides and checks everything.
        let reader = owner.reads_files().then(|| {
            delegated::reader(
                thread_id.clone(),
                turn_id.clone(),
                owner.clone(),
                questions_tx.clone(),
            )
        });
        thread.set_file_reader(reader);
        let runner = owner.runs_commands().then(|| {
            delegated::runner(
                thread_id.clone(),
                turn_id.clone(),
                owner.clone(),
                questions_tx.clone(),
            )
        });
        thread.set_command_runner(runner);
        // A panic in the engine must not leave the thread "active" forever or a client
        // waiting for a turn/completed that never comes.
        let input = TurnInput {
            turn_id: Some(turn_id.clone()),
            ..input
        };
        let outcome = match std::panic::AssertUnwindSafe(thread.run_turn(input, &tx, cancel))
            .catch_unwind()
            .await
        {
            Ok(outcome) => outcome,
            Err(_) => TurnOutcome::Failed {
                message: "internal error: the turn crashed (see the server log)".into(),
            },
        };
        thread.set_approver(None);
        thread.set_user_input(None);
        thread.set_file_writer(None);
        thread.set_file_reader(None);
        thread.set_command_runner(None);
        if let Ok(mut config) = loaded.config.lock() {
            *config = thread.config().clone();
        }
        let git = loaded.info().git_info;
        (
            outcome,
            thread.usage(),
            settings_of(thread.config(), git.as_ref(), loaded.reviewer()),
        )
    };
    drop(tx);
    let last_message = pump.await.unwrap_or(None);
    if review.is_some() {
        let findings = match &last_message {
            Some(v2::ThreadItem::AgentMessage { text, .. }) => text.clone(),
            _ => String::new(),
        };
        let item = v2::ThreadItem::ExitedReviewMode {
            id: uuid::Uuid::now_v7().to_string(),
            review: findings,
        };
        announce_whole_item(&state, &loaded, &turn_id, item).await;
    }

    info.completed_at = Some(now_secs());
    info.duration_ms = Some(clock.elapsed().as_millis() as i64);
    let (status, error) = match &outcome {
        TurnOutcome::Completed { .. } => (TurnStatus::Completed, None),
        TurnOutcome::Failed { message } => (TurnStatus::Failed, Some(message.clone())),
        TurnOutcome::Interrupted => (TurnStatus::Interrupted, None),
    };
    info.status = status;
    info.error = error;
    let last = info.record(&thread_id);
    let tid = thread_id.clone();
    let usage_json = serde_json::to_value(usage).unwrap_or(serde_json::Value::Null);
    state
        .persist("finish turn", move |s| {
            s.upsert_turn(&last)?;
            s.touch(&tid, now_secs(), None, Some(&settings), Some(&usage_json))
        })
        .await;
    loaded.update_info(|i| i.updated_at = now_secs());
    // Cleared and announced under the lock, so a next turn's `turn/started` cannot come
    // before this turn's `turn/completed`.
    loaded.end_turn(&info, last_message.into_iter().collect());
}

/// What the reviewer is asked, per target (Codex's `/review` prompts).
fn review_prompt(target: &ReviewTarget) -> (String, String) {
    match target {
        ReviewTarget::UncommittedChanges => (
            "Review the current code changes (staged, unstaged, and untracked files) and provide prioritized findings.".into(),
            "current changes".into(),
        ),
        ReviewTarget::BaseBranch { branch } => (
            format!(
                "Review the code changes against the base branch '{branch}'. Start by finding the merge base between the current branch and {branch} (`git merge-base HEAD {branch}`), then run `git diff` against that commit to see what would be merged into {branch}. Provide prioritized, actionable findings."
            ),
            format!("changes against '{branch}'"),
        ),
        ReviewTarget::Commit { sha, title } => {
            let label = title
                .as_ref()
                .map(|t| format!("commit {sha}: {t}"))
                .unwrap_or_else(|| format!("commit {sha}"));
            (
                format!(
                    "Review the code changes introduced by {label} (`git show {sha}`). Provide prioritized, actionable findings."
                ),
                label,
            )
        }
        ReviewTarget::Custom { instructions } => (instructions.clone(), instructions.clone()),
    }
}

/// How a review is done: read-only, findings first, each with its place and why it matters.
const REVIEW_RUBRIC: &str = "You are acting as a code reviewer. Do not modify files. Inspect the changes with read-only commands (git diff, git show, reading files). Report only real problems the author would want fixed: bugs, security issues, broken behaviour, missing tests. For each finding give the file and line, what is wrong, and why it matters, most serious first. If there is nothing worth fixing, say so plainly.";

/// `review/start`: a review of the working tree, a commit or a branch, run inline as a turn
/// of the thread.
pub(crate) async fn review_start(
    state: &Arc<State>,
    conn: &ConnHandle,
    p: ReviewStartParams,
) -> RpcResult<ReviewStartResponse> {
    let loaded = state.loaded_or_err(&p.thread_id)?;
    match &p.target {
        ReviewTarget::BaseBranch { branch } if !is_ref_name(branch) => {
            return Err(RpcError::invalid_params(format!(
                "`target.branch`: `{branch}` is not a branch name"
            )))
        }
        ReviewTarget::Commit { sha, .. } if !is_ref_name(sha) => {
            return Err(RpcError::invalid_params(format!(
                "`target.sha`: `{sha}` is not a commit"
            )))
        }
        ReviewTarget::Custom { instructions } if instructions.trim().is_empty() => {
            return Err(RpcError::invalid_params("`target.instructions` is empty"))
        }
        _ => {}
    }
    let (prompt, description) = review_prompt(&p.target);
    let input = TurnInput {
        text: format!("{REVIEW_RUBRIC}\n\n{prompt}"),
        ..Default::default()
    };
    let extras = TurnExtras {
        review: Some(description),
        ..Default::default()
    };
    let turn = start_turn(state, conn, loaded, input, extras)?;
    Ok(ReviewStartResponse {
        review_thread_id: p.thread_id,
        turn,
    })
}

/// A branch or commit name that cannot smuggle options or shell syntax into the prompt's
/// suggested commands.
fn is_ref_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('-')
        && name.len() <= 200
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-@^~".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_targets_become_prompts_and_refs_are_checked() {
        let (prompt, label) = review_prompt(&ReviewTarget::Commit {
            sha: "abc123".into(),
            title: Some("Fix it".into()),
        });
        assert!(prompt.contains("git show abc123"), "{prompt}");
        assert_eq!(label, "commit abc123: Fix it");
        let (prompt, _) = review_prompt(&ReviewTarget::BaseBranch {
            branch: "main".into(),
        });
        assert!(prompt.contains("git merge-base HEAD main"), "{prompt}");
        assert!(is_ref_name("feature/x-1"));
        assert!(!is_ref_name("--output=/etc/passwd"));
        assert!(!is_ref_name("main; rm -rf /"));
        assert!(!is_ref_name("$(id)"));
    }
}
