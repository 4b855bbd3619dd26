//! The ACP requests an editor sends, each answered by driving the App Server: the agent side
//! of the bridge.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::schema::{
    AgentCapabilities, CancelNotification, ClientCapabilities, Implementation, InitializeRequest,
    InitializeResponse, LoadSessionRequest, LoadSessionResponse, NewSessionRequest,
    NewSessionResponse, PromptCapabilities, PromptRequest, PromptResponse,
    SessionConfigOptionValue, SessionNotification, SetSessionConfigOptionRequest,
    SetSessionConfigOptionResponse, SetSessionModeRequest, SetSessionModeResponse,
};
use agent_client_protocol::v1::{ConnectionTo, Responder};
use agent_client_protocol::Client;
use wright_app_server::client::{AppClient, Incoming};
use wright_protocol::v2::{
    AskForApproval, ClientInfo, ClientRequest, InitializeCapabilities, InitializeParams,
    InitializeResponse as AppInitializeResponse, ModelListParams, ModelListResponse,
    ThreadResumeParams, ThreadResumeResponse, ThreadStartParams, ThreadStartResponse,
    TurnStartParams, TurnStartResponse,
};

use crate::error::{Error, Result};
use crate::session::{self, Peers, Session, Settings};
use crate::{mapping, modes};

/// Settings of the bridge that come from the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The approval policy of new threads when wright's config sets none (`None`: the App
    /// Server's default). Someone sits at the editor to answer, so `wright acp` asks on request
    /// as the TUI does.
    pub default_approval: Option<AskForApproval>,
}

/// Everything the handlers share.
pub struct Bridge {
    app: AppClient,
    options: Options,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    client: Mutex<ClientCapabilities>,
}

impl Bridge {
    pub fn new(app: AppClient, options: Options) -> Arc<Bridge> {
        Arc::new(Bridge {
            app,
            options,
            sessions: Mutex::default(),
            client: Mutex::new(ClientCapabilities::new()),
        })
    }

    fn session(&self, id: &str) -> Result<Arc<Session>> {
        self.lock_sessions()
            .get(id)
            .cloned()
            .ok_or_else(|| Error::UnknownSession(id.to_string()))
    }

    fn lock_sessions(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Session>>> {
        self.sessions.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands what the App Server sent to the session of its thread. A question about a thread
    /// no session follows is refused, so the engine does not wait for an answer forever.
    pub async fn route(&self, incoming: Incoming) {
        let thread = match &incoming {
            Incoming::Notification(n) => thread_of(n),
            Incoming::Request(r) => Some(match &**r {
                wright_protocol::v2::ServerRequest::CommandExecutionRequestApproval {
                    params,
                    ..
                } => params.thread_id.as_str(),
                wright_protocol::v2::ServerRequest::FileChangeRequestApproval {
                    params, ..
                } => params.thread_id.as_str(),
                wright_protocol::v2::ServerRequest::ToolRequestUserInput { params, .. } => {
                    params.thread_id.as_str()
                }
            }),
            Incoming::Extension(r) => Some(match &**r {
                wright_protocol::v2::WrightServerRequest::FileChangeWrite { params, .. } => {
                    params.thread_id.as_str()
                }
                wright_protocol::v2::WrightServerRequest::FsReadTextFile { params, .. } => {
                    params.thread_id.as_str()
                }
                wright_protocol::v2::WrightServerRequest::CommandRun { params, .. } => {
                    params.thread_id.as_str()
                }
            }),
        };
        let session = thread.and_then(|t| self.lock_sessions().get(t).cloned());
        let undelivered = match session {
            Some(session) => session.deliver(incoming).err(),
            None => Some(incoming),
        };
        let id = match undelivered {
            Some(Incoming::Request(r)) => r.id().clone(),
            Some(Incoming::Extension(r)) => r.id().clone(),
            Some(Incoming::Notification(_)) | None => return,
        };
        let refused = self
            .app
            .respond_error(
                &id,
                wright_protocol::jsonrpc::INTERNAL_ERROR,
                "no editor session follows this thread",
            )
            .await;
        if let Err(err) = refused {
            tracing::warn!(error = %err, "could not refuse a request");
        }
    }

    /// `initialize`: connects to the App Server, opting in to file writes, file reads and
    /// command runs for what the editor offers.
    pub async fn initialize(&self, request: InitializeRequest) -> Result<InitializeResponse> {
        let writes = request.client_capabilities.fs.write_text_file;
        let reads = request.client_capabilities.fs.read_text_file;
        let terminals = request.client_capabilities.terminal;
        if let Ok(mut client) = self.client.lock() {
            *client = request.client_capabilities.clone();
        }
        let _: AppInitializeResponse = self
            .app
            .request(ClientRequest::Initialize(InitializeParams {
                client_info: ClientInfo {
                    name: "wright-acp".into(),
                    title: Some("wright ACP bridge".into()),
                    version: env!("CARGO_PKG_VERSION").into(),
                },
                capabilities: Some(InitializeCapabilities {
                    wright_file_writes: writes.then_some(true),
                    wright_file_reads: reads.then_some(true),
                    wright_command_runs: terminals.then_some(true),
                    ..Default::default()
                }),
            }))
            .await?;
        Ok(InitializeResponse::new(ProtocolVersion::V1)
            .agent_capabilities(
                AgentCapabilities::new()
                    .load_session(true)
                    .prompt_capabilities(
                        PromptCapabilities::new()
                            .image(true)
                            .audio(false)
                            .embedded_context(true),
                    ),
            )
            .agent_info(
                Implementation::new("wright", env!("CARGO_PKG_VERSION"))
                    .title("wright".to_string()),
            )
            .auth_methods(Vec::new()))
    }

    /// `session/new`: a new thread in the editor's directory.
    pub async fn new_session(
        &self,
        request: NewSessionRequest,
        client: ConnectionTo<Client>,
    ) -> Result<NewSessionResponse> {
        warn_unused_mcp_servers(request.mcp_servers.len());
        let started: ThreadStartResponse = self
            .app
            .request(ClientRequest::ThreadStart(ThreadStartParams {
                cwd: Some(request.cwd.display().to_string()),
                approval_policy: self.options.default_approval.clone(),
                ..Default::default()
            }))
            .await?;
        let settings = self
            .settings(started.approval_policy, started.sandbox, started.model)
            .await;
        let id = started.thread.id;
        let (modes, model) = session::reported(&settings);
        self.open(id.clone(), settings, client)?;
        Ok(NewSessionResponse::new(id)
            .modes(modes)
            .config_options(vec![model]))
    }

    /// `session/load`: resumes the thread and replays its history as session updates before
    /// answering, as ACP asks.
    pub async fn load_session(
        &self,
        request: LoadSessionRequest,
        client: ConnectionTo<Client>,
    ) -> Result<LoadSessionResponse> {
        warn_unused_mcp_servers(request.mcp_servers.len());
        let id = request.session_id.0.to_string();
        let resumed: ThreadResumeResponse = self
            .app
            .request(ClientRequest::ThreadResume(ThreadResumeParams {
                thread_id: id.clone(),
                cwd: Some(request.cwd.display().to_string()),
                ..Default::default()
            }))
            .await?;
        for turn in &resumed.thread.turns {
            for item in &turn.items {
                for update in mapping::replay(item) {
                    client.send_notification(SessionNotification::new(id.clone(), update))?;
                }
            }
        }
        let settings = self
            .settings(resumed.approval_policy, resumed.sandbox, resumed.model)
            .await;
        let (modes, model) = session::reported(&settings);
        self.open(id, settings, client)?;
        Ok(LoadSessionResponse::new()
            .modes(modes)
            .config_options(vec![model]))
    }

    async fn settings(
        &self,
        approval: AskForApproval,
        sandbox: wright_protocol::v2::SandboxPolicy,
        model: String,
    ) -> Settings {
        // The list only feeds the model picker: without it the thread's model is still shown.
        let models = match self
            .app
            .request::<ModelListResponse>(ClientRequest::ModelList(ModelListParams::default()))
            .await
        {
            Ok(list) => list.data,
            Err(err) => {
                tracing::warn!(error = %err, "model/list failed");
                Vec::new()
            }
        };
        Settings {
            mode: None,
            model: None,
            approval,
            sandbox,
            current_model: model,
            models,
        }
    }

    /// Registers the session and starts its event task.
    fn open(&self, id: String, settings: Settings, client: ConnectionTo<Client>) -> Result<()> {
        let (session, events) = Session::new(id.clone(), settings);
        let peers = Peers {
            app: self.app.clone(),
            client: client.clone(),
        };
        let weak = Arc::downgrade(&session);
        self.lock_sessions().insert(id, session);
        client.spawn(async move {
            session::run(weak, events, peers).await;
            Ok(())
        })?;
        Ok(())
    }

    /// `session/prompt`: one turn, its updates streamed by the session's task; answers once
    /// the turn is over.
    pub async fn prompt(&self, request: PromptRequest) -> Result<PromptResponse> {
        let session = self.session(&request.session_id.0)?;
        let input = mapping::prompt_input(&request.prompt).map_err(Error::EmptyPrompt)?;
        let done = session.begin_prompt()?;
        let (approval_policy, sandbox_policy, model) = session.with_settings(|s| {
            let preset = s.mode.as_deref().and_then(modes::preset);
            (
                preset.map(|p| p.approval_policy()),
                preset.map(|p| p.sandbox_policy()),
                s.model.clone(),
            )
        });
        let started = self
            .app
            .request::<TurnStartResponse>(ClientRequest::TurnStart(TurnStartParams {
                thread_id: session.id.clone(),
                input,
                approval_policy,
                sandbox_policy,
                model,
                ..Default::default()
            }))
            .await;
        let turn_id = match started {
            Ok(started) => started.turn.id,
            Err(err) => {
                session.abandon_prompt();
                return Err(err.into());
            }
        };
        if session.turn_started(&turn_id) {
            session.interrupt(&self.app, turn_id).await?;
        }
        let end = done.await.map_err(|_| Error::AppServerGone)?;
        match mapping::stop_reason(end.status, end.cancel_asked) {
            Ok(reason) => Ok(PromptResponse::new(reason)),
            Err(()) => Err(Error::AppServer {
                method: "turn/start",
                code: wright_protocol::jsonrpc::INTERNAL_ERROR,
                message: end.error.unwrap_or_else(|| "the turn failed".into()),
            }),
        }
    }

    /// `session/cancel`: interrupts the running turn; its prompt then ends `cancelled`.
    pub async fn cancel(&self, notification: CancelNotification) -> Result<()> {
        let session = self.session(&notification.session_id.0)?;
        match session.cancel() {
            Some(turn_id) => session.interrupt(&self.app, turn_id).await,
            None => Ok(()),
        }
    }

    /// `session/set_mode`: the preset applies from the next prompt on.
    pub fn set_mode(&self, request: SetSessionModeRequest) -> Result<SetSessionModeResponse> {
        let session = self.session(&request.session_id.0)?;
        let mode = request.mode_id.0.to_string();
        if modes::preset(&mode).is_none() && mode != modes::AS_CONFIGURED {
            return Err(Error::UnknownMode(mode));
        }
        session.with_settings(|s| s.mode = Some(mode));
        Ok(SetSessionModeResponse::new())
    }

    /// `session/set_config_option`: the model, from the next prompt on.
    pub fn set_config_option(
        &self,
        request: SetSessionConfigOptionRequest,
    ) -> Result<SetSessionConfigOptionResponse> {
        let session = self.session(&request.session_id.0)?;
        let option = request.config_id.0.to_string();
        let value = match &request.value {
            SessionConfigOptionValue::ValueId { value } => value.0.to_string(),
            other => format!("{other:?}"),
        };
        if option != modes::MODEL_OPTION {
            return Err(Error::UnknownConfigValue { option, value });
        }
        let known = session.with_settings(|s| {
            s.current_model == value || s.models.iter().any(|m| m.model == value)
        });
        if !known {
            return Err(Error::UnknownConfigValue { option, value });
        }
        let model = session.with_settings(|s| {
            s.model = Some(value);
            session::reported(s).1
        });
        Ok(SetSessionConfigOptionResponse::new(vec![model]))
    }
}

/// The thread a notification is about, for those a session shows.
fn thread_of(notification: &wright_protocol::v2::ServerNotification) -> Option<&str> {
    use wright_protocol::v2::ServerNotification as N;
    Some(match notification {
        N::AgentMessageDelta(n) => &n.thread_id,
        N::ReasoningSummaryTextDelta(n) => &n.thread_id,
        N::ReasoningTextDelta(n) => &n.thread_id,
        N::ItemStarted(n) => &n.thread_id,
        N::ItemCompleted(n) => &n.thread_id,
        N::TurnPlanUpdated(n) => &n.thread_id,
        N::TurnStarted(n) => &n.thread_id,
        N::TurnCompleted(n) => &n.thread_id,
        _ => return None,
    })
}

/// Answers a request with the handler's result.
pub fn reply<T: agent_client_protocol::JsonRpcResponse>(
    responder: Responder<T>,
    result: Result<T>,
) -> std::result::Result<(), agent_client_protocol::Error> {
    responder.respond_with_result(result.map_err(agent_client_protocol::Error::from))
}

/// The editor's MCP servers are accepted (ACP requires the field) but not started: wright has
/// no MCP client yet. Said on stderr, which editors keep in the agent's log.
fn warn_unused_mcp_servers(count: usize) {
    if count > 0 {
        tracing::warn!(
            "wright acp: the {count} MCP server(s) the editor sent are not used (wright has no MCP client yet)"
        );
    }
}
