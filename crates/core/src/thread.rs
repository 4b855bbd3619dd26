//! A thread: its fixed prefix, its history, and the turn loop.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use wright_models::{
    backoff, ApiError, ModelClient, Prompt, ResponseEvent, RetryNotice, StreamError,
};
use wright_protocol::{Event, ItemDetails, ThreadItem, TokenUsage};
use wright_tools::spec::tool_specs;

use crate::catalog::model_info;
use crate::config::Config;
use crate::context;
use crate::tools::{Dispatch, ToolContext};

/// Text Codex users know from a context overflow.
const CONTEXT_WINDOW_MESSAGE: &str = "wright ran out of room in the model's context window. Start a new thread or clear earlier history before retrying.";
/// How long tools get to stop after an interrupt before the turn is reported anyway.
const CANCEL_GRACE: Duration = Duration::from_secs(3);

/// An image attached to the user's message, already encoded as a `data:` URL.
#[derive(Debug, Clone)]
pub struct ImageInput {
    pub data_url: String,
}

#[derive(Debug, Clone, Default)]
pub struct TurnInput {
    pub text: String,
    pub images: Vec<ImageInput>,
    /// JSON Schema the final answer must follow.
    pub output_schema: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum TurnOutcome {
    Completed { last_message: Option<String> },
    Failed { message: String },
    Interrupted,
}

pub struct Thread {
    id: String,
    config: Arc<Config>,
    client: ModelClient,
    instructions: String,
    tools: Vec<Value>,
    reasoning: Option<Value>,
    history: Vec<Value>,
    usage: TokenUsage,
    shell: String,
}

impl Thread {
    pub fn new(config: Config) -> Result<Thread, ApiError> {
        let client = ModelClient::new(config.provider.clone())?;
        let info = model_info(&config.model, config.provider.wire_api);
        let reasoning = info.reasoning.then(|| {
            let mut r = serde_json::Map::new();
            let effort = config
                .model_reasoning_effort
                .clone()
                .or(info.default_effort.map(String::from));
            if let Some(effort) = effort {
                r.insert("effort".into(), json!(effort));
            }
            if let Some(summary) = &config.model_reasoning_summary {
                r.insert("summary".into(), json!(summary));
            }
            Value::Object(r)
        });
        let shell = wright_tools::shell::user_shell();
        let mut developer = Vec::new();
        if let Some(text) = &config.developer_instructions {
            developer.push(text.clone());
        }
        developer.push(context::permissions_text(&config));
        let history = vec![
            context::message("developer", &developer),
            context::message(
                "user",
                &[context::environment_context(
                    &config,
                    &shell,
                    &context::today_utc(),
                )],
            ),
        ];
        Ok(Thread {
            id: uuid::Uuid::now_v7().to_string(),
            instructions: context::base_instructions(&config),
            tools: tool_specs(info.tool_style),
            reasoning,
            history,
            usage: TokenUsage::default(),
            shell,
            client,
            config: Arc::new(config),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn usage(&self) -> TokenUsage {
        self.usage
    }

    /// Runs one turn to its end. Events go to `events`; `cancel` interrupts it cleanly (tool
    /// processes are killed, `TurnFailed` is emitted).
    pub async fn run_turn(
        &mut self,
        input: TurnInput,
        events: &UnboundedSender<Event>,
        cancel: CancellationToken,
    ) -> TurnOutcome {
        let emit = |e: Event| {
            let _ = events.send(e);
        };
        emit(Event::TurnStarted);
        self.history.push(user_message(&input));
        let ctx = Arc::new(ToolContext::new(
            self.config.cwd.clone(),
            self.shell.clone(),
            self.config.shell_timeout,
            self.config.tool_output_token_limit,
            events.clone(),
        ));
        let outcome = self.sample_until_done(&input, &ctx, events, &cancel).await;
        if let Some(plan) = ctx.finish_plan() {
            emit(Event::ItemCompleted(plan));
        }
        match &outcome {
            TurnOutcome::Completed { .. } => emit(Event::TurnCompleted { usage: self.usage }),
            TurnOutcome::Failed { message } => emit(Event::TurnFailed {
                message: message.clone(),
                usage: self.usage,
            }),
            TurnOutcome::Interrupted => emit(Event::TurnFailed {
                message: "turn interrupted".into(),
                usage: self.usage,
            }),
        }
        outcome
    }

    fn prompt(&self, input: &TurnInput) -> Prompt {
        Prompt {
            model: self.config.model.clone(),
            instructions: self.instructions.clone(),
            input: self.history.clone(),
            tools: self.tools.clone(),
            parallel_tool_calls: true,
            reasoning: self.reasoning.clone(),
            output_schema: input.output_schema.clone(),
            prompt_cache_key: self.id.clone(),
        }
    }

    async fn sample_until_done(
        &mut self,
        input: &TurnInput,
        ctx: &Arc<ToolContext>,
        events: &UnboundedSender<Event>,
        cancel: &CancellationToken,
    ) -> TurnOutcome {
        let emit = |e: Event| {
            let _ = events.send(e);
        };
        let max_stream_retries = self.config.provider.stream_max_retries;
        let mut stream_retries = 0;
        let mut last_message = None;
        loop {
            let prompt = self.prompt(input);
            let on_retry = |n: RetryNotice| {
                emit(Event::Error {
                    message: format!("Reconnecting... {}/{} ({})", n.attempt, n.max, n.reason),
                })
            };
            let opened = tokio::select! {
                opened = self.client.stream(&prompt, on_retry) => opened,
                _ = cancel.cancelled() => return TurnOutcome::Interrupted,
            };
            let mut stream = match opened {
                Ok(stream) => stream,
                Err(err) if err.context_window_exceeded => {
                    return TurnOutcome::Failed {
                        message: CONTEXT_WINDOW_MESSAGE.into(),
                    }
                }
                Err(err) => {
                    return TurnOutcome::Failed {
                        message: err.message,
                    }
                }
            };

            let mut received = Vec::new();
            let mut calls: Vec<JoinHandle<Value>> = Vec::new();
            let ended = loop {
                let next = tokio::select! {
                    next = stream.next() => next,
                    _ = cancel.cancelled() => {
                        settle(calls, cancel).await;
                        return TurnOutcome::Interrupted;
                    }
                };
                match next {
                    None => {
                        break Err(StreamError::Disconnected(
                            "stream ended without a terminal event".into(),
                        ))
                    }
                    Some(Ok(ResponseEvent::OutputTextDelta { item_id, delta })) => {
                        emit(Event::AgentMessageDelta { item_id, delta })
                    }
                    Some(Ok(ResponseEvent::OutputItemDone(item))) => {
                        match crate::tools::classify(&item) {
                            Dispatch::Message { id, text } => {
                                last_message = Some(text.clone());
                                emit(Event::ItemCompleted(ThreadItem {
                                    id,
                                    details: ItemDetails::AgentMessage { text },
                                }));
                            }
                            Dispatch::Reasoning { id, text } => {
                                if !text.is_empty() {
                                    emit(Event::ItemCompleted(ThreadItem {
                                        id,
                                        details: ItemDetails::Reasoning { text },
                                    }));
                                }
                            }
                            Dispatch::Call(call) => {
                                // Started now, while the rest of the reply still streams.
                                calls.push(ctx.spawn(call, cancel.child_token()));
                            }
                            Dispatch::Other => {}
                        }
                        received.push(item);
                    }
                    Some(Ok(ResponseEvent::Completed { usage })) => {
                        if let Some(usage) = usage {
                            self.usage.add(&usage);
                        }
                        break Ok(());
                    }
                    Some(Err(err)) => break Err(err),
                }
            };

            let had_calls = !calls.is_empty();
            let mut outputs = Vec::with_capacity(calls.len());
            let joined = tokio::select! {
                joined = join_in_order(&mut calls, &mut outputs) => joined,
                _ = cancel.cancelled() => {
                    settle(calls, cancel).await;
                    return TurnOutcome::Interrupted;
                }
            };
            if let Err(join) = joined {
                return TurnOutcome::Failed {
                    message: format!("a tool call crashed: {join}"),
                };
            }
            // The model's items as received, then one output per call in call order.
            self.history.extend(received);
            self.history.extend(outputs);

            match ended {
                Ok(()) => {
                    stream_retries = 0;
                    if !had_calls {
                        return TurnOutcome::Completed { last_message };
                    }
                }
                Err(StreamError::Disconnected(reason)) if stream_retries < max_stream_retries => {
                    stream_retries += 1;
                    emit(Event::Error {
                        message: format!(
                            "Reconnecting... {stream_retries}/{max_stream_retries} (stream disconnected before completion: {reason})"
                        ),
                    });
                    tokio::select! {
                        _ = tokio::time::sleep(backoff(stream_retries)) => {}
                        _ = cancel.cancelled() => return TurnOutcome::Interrupted,
                    }
                }
                Err(StreamError::ContextWindowExceeded(_)) => {
                    return TurnOutcome::Failed {
                        message: CONTEXT_WINDOW_MESSAGE.into(),
                    }
                }
                Err(err) => {
                    return TurnOutcome::Failed {
                        message: err.to_string(),
                    }
                }
            }
        }
    }
}

/// Gives cancelled tool calls a moment to kill their processes and report.
async fn settle(calls: Vec<JoinHandle<Value>>, cancel: &CancellationToken) {
    cancel.cancel();
    let all = join_all(calls);
    let _ = tokio::time::timeout(CANCEL_GRACE, all).await;
}

async fn join_all(calls: Vec<JoinHandle<Value>>) {
    for call in calls {
        let _ = call.await;
    }
}

/// Awaits the calls front to back, moving each finished output out, so that after a cancel
/// `calls` holds exactly the calls that have not been awaited to completion.
async fn join_in_order(
    calls: &mut Vec<JoinHandle<Value>>,
    outputs: &mut Vec<Value>,
) -> Result<(), tokio::task::JoinError> {
    while let Some(call) = calls.first_mut() {
        let output = call.await;
        calls.remove(0);
        outputs.push(output?);
    }
    Ok(())
}

fn user_message(input: &TurnInput) -> Value {
    let mut content = vec![json!({"type": "input_text", "text": input.text})];
    for image in &input.images {
        content.push(json!({"type": "input_image", "image_url": image.data_url}));
    }
    json!({"type": "message", "role": "user", "content": content})
}
