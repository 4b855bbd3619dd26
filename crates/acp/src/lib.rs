//! `wright acp`: the Agent Client Protocol bridge for editors (Zed, JetBrains, Neovim, Emacs).
//!
//! The bridge is a client of the App Server like every other surface, never a second engine:
//! each ACP request becomes App Server requests (`thread/start`, `turn/start`, …) on an
//! in-process connection, and the App Server's notifications and questions become ACP session
//! updates and client requests:
//!
//! | ACP | App Server |
//! |---|---|
//! | `initialize` | `initialize` (opting in to `wrightFileWrites`, `wrightFileReads`, `wrightCommandRuns` for what the editor offers) |
//! | `session/new`, `session/load` | `thread/start`, `thread/resume` (history replayed as updates) |
//! | `session/prompt` | `turn/start`; deltas, items and plans stream as `session/update` |
//! | `session/cancel` | `turn/interrupt`; the prompt ends `cancelled` |
//! | `session/request_permission` | `item/commandExecution/requestApproval`, `item/fileChange/requestApproval` |
//! | `fs/write_text_file` | `wright/fileChange/write` (patches the engine checked and approved) |
//! | `fs/read_text_file` | `wright/fs/readTextFile` (files a patch changes, paths checked first) |
//! | `terminal/*` | `wright/command/run` (approved commands, still wrapped in wright's sandbox) |
//! | `session/set_mode` | approval presets sent with each `turn/start` |
//! | `session/set_config_option` (`model`) | `model/list`, `model` of `turn/start` |
//!
//! A delegated command runs in the editor's terminal as exactly the argv the engine would have
//! spawned (the sandbox launcher first, unless the mode is `danger-full-access`), through
//! `/usr/bin/env -i` so that none of the editor's own environment reaches it. A patch the
//! engine commits itself (one that deletes or moves a file, or when the editor does not write
//! files) is refused while the editor's text of a file differs from the disk's.

#![warn(missing_docs)]

mod agent;
mod error;
mod mapping;
mod modes;
mod permissions;
mod session;
mod terminal;

use std::sync::Arc;

use agent_client_protocol::v1::schema::{
    CancelNotification, InitializeRequest, LoadSessionRequest, NewSessionRequest, PromptRequest,
    SetSessionConfigOptionRequest, SetSessionModeRequest,
};
use agent_client_protocol::v1::ConnectionTo;
use agent_client_protocol::{
    on_receive_notification, on_receive_request, Agent, Client, ConnectTo,
};
use tokio::sync::mpsc;

pub use agent::Options;
pub use error::{Error, Result};

use agent::{reply, Bridge};
use wright_app_server::client::AppClient;

/// Serves ACP on this process's stdin and stdout (`wright acp`): stdout carries only protocol.
pub async fn serve_stdio(app: wright_app_server::Connection, options: Options) -> Result<()> {
    serve(app, agent_client_protocol::Stdio::new(), options).await
}

/// Serves ACP on `transport` (stdio for `wright acp`) until the editor hangs up, driving the
/// App Server behind `app`.
pub async fn serve(
    app: wright_app_server::Connection,
    transport: impl ConnectTo<Agent> + 'static,
    options: Options,
) -> Result<()> {
    let (incoming_tx, mut incoming) = mpsc::unbounded_channel();
    let (client, reader) = AppClient::start(app, incoming_tx, "the ACP bridge");
    let _reader = AbortOnDrop(reader);
    let bridge = Bridge::new(client, options);
    let router = {
        let bridge = Arc::clone(&bridge);
        tokio::spawn(async move {
            while let Some(message) = incoming.recv().await {
                bridge.route(message).await;
            }
        })
    };
    let _router = AbortOnDrop(router);

    let (b1, b2, b3, b4, b5, b6, b7) = (
        Arc::clone(&bridge),
        Arc::clone(&bridge),
        Arc::clone(&bridge),
        Arc::clone(&bridge),
        Arc::clone(&bridge),
        Arc::clone(&bridge),
        Arc::clone(&bridge),
    );
    Agent
        .v1()
        .name("wright")
        .on_receive_request(
            async move |request: InitializeRequest, responder, _cx: ConnectionTo<Client>| {
                reply(responder, b1.initialize(request).await)
            },
            on_receive_request!(),
        )
        .on_receive_request(
            async move |request: NewSessionRequest, responder, cx: ConnectionTo<Client>| {
                let bridge = Arc::clone(&b2);
                let client = cx.clone();
                cx.spawn(async move { reply(responder, bridge.new_session(request, client).await) })
            },
            on_receive_request!(),
        )
        .on_receive_request(
            async move |request: LoadSessionRequest, responder, cx: ConnectionTo<Client>| {
                let bridge = Arc::clone(&b3);
                let client = cx.clone();
                cx.spawn(
                    async move { reply(responder, bridge.load_session(request, client).await) },
                )
            },
            on_receive_request!(),
        )
        .on_receive_request(
            async move |request: PromptRequest, responder, cx: ConnectionTo<Client>| {
                let bridge = Arc::clone(&b4);
                cx.spawn(async move { reply(responder, bridge.prompt(request).await) })
            },
            on_receive_request!(),
        )
        .on_receive_request(
            async move |request: SetSessionModeRequest, responder, _cx: ConnectionTo<Client>| {
                reply(responder, b5.set_mode(request))
            },
            on_receive_request!(),
        )
        .on_receive_request(
            async move |request: SetSessionConfigOptionRequest,
                        responder,
                        _cx: ConnectionTo<Client>| {
                reply(responder, b6.set_config_option(request))
            },
            on_receive_request!(),
        )
        .on_receive_notification(
            async move |notification: CancelNotification, cx: ConnectionTo<Client>| {
                let bridge = Arc::clone(&b7);
                cx.spawn(async move {
                    if let Err(err) = bridge.cancel(notification).await {
                        tracing::warn!(error = %err, "session/cancel failed");
                    }
                    Ok(())
                })
            },
            on_receive_notification!(),
        )
        .connect_to(transport)
        .await?;
    Ok(())
}

/// Ends a task when its owner goes (the bridge's helpers live exactly as long as `serve`).
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
