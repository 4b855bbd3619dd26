use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::{json, Value};
use wright_mock_model::{MockModel, OutputItem, Script, Step};

async fn post(server: &MockModel, path: &str, body: &Value) -> reqwest::Response {
    post_raw(server, path, body.to_string()).await
}

/// reqwest is built without a TLS provider of its own (see wright-models): install ring.
fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn post_raw(server: &MockModel, path: &str, body: String) -> reqwest::Response {
    client()
        .post(format!("{}{path}", server.base_url()))
        .header("Content-Type", "application/json")
        .header("Authorization", "Bearer test")
        .body(body)
        .send()
        .await
        .expect("request sent")
}

/// Parses `event: X\ndata: {...}\n\n` frames, checking the framing on the way.
fn responses_events(text: &str) -> Vec<(String, Value)> {
    assert!(text.ends_with("\n\n"), "stream must end with a blank line");
    text.trim_end_matches("\n\n")
        .split("\n\n")
        .map(|frame| {
            let (event_line, data_line) = frame.split_once('\n').expect("two lines per frame");
            let event = event_line.strip_prefix("event: ").expect("event line");
            let data: Value =
                serde_json::from_str(data_line.strip_prefix("data: ").expect("data line"))
                    .expect("data is JSON");
            assert_eq!(data["type"], event, "event name matches data type");
            (event.to_owned(), data)
        })
        .collect()
}

fn chat_chunks(text: &str) -> Vec<String> {
    assert!(text.ends_with("\n\n"));
    text.trim_end_matches("\n\n")
        .split("\n\n")
        .map(|frame| frame.strip_prefix("data: ").expect("data line").to_owned())
        .collect()
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(name, _)| name.as_str()).collect()
}

#[tokio::test]
async fn responses_message_reply() {
    let server = MockModel::start(Script::Steps(vec![Step::message(
        "Fixed; make test passes.",
    )]))
    .await
    .unwrap();
    let response = post(
        &server,
        "/responses",
        &json!({"model": "gpt-5.5", "stream": true}),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let text = response.text().await.unwrap();
    let events = responses_events(&text);
    assert_eq!(
        names(&events),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.delta",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    // Byte-level framing matches the reference capture's separators.
    assert!(text.contains(
        "data: {\"type\": \"response.output_text.delta\", \"item_id\": \"msg_mock_0001_0\", \
         \"output_index\": 0, \"content_index\": 0, \"delta\": \"Fixed; m\"}\n\n"
    ));
    let completed = &events.last().unwrap().1["response"];
    assert_eq!(completed["id"], "resp_mock_0001");
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["model"], "gpt-5.5");
    assert_eq!(
        completed["output"],
        json!([{"type": "message", "id": "msg_mock_0001_0", "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": "Fixed; make test passes.", "annotations": []}]}])
    );
    assert_eq!(completed["usage"]["output_tokens"], 6);
}

#[tokio::test]
async fn responses_tool_calls_and_reasoning() {
    let server = MockModel::start(Script::Steps(vec![Step::calls(vec![
        OutputItem::function("exec_command", json!({"cmd": "make test"})),
        OutputItem::custom("apply_patch", "*** Begin Patch\n*** End Patch\n"),
        OutputItem::Reasoning {
            summary: "thinking".into(),
            encrypted_content: Some("opaque".into()),
        },
    ])]))
    .await
    .unwrap();
    let text = post(&server, "/responses", &json!({"model": "m"}))
        .await
        .text()
        .await
        .unwrap();
    let events = responses_events(&text);
    assert_eq!(
        names(&events),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.custom_tool_call_input.delta",
            "response.custom_tool_call_input.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.reasoning_summary_part.added",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.delta",
            "response.reasoning_summary_text.done",
            "response.reasoning_summary_part.done",
            "response.output_item.done",
            "response.completed",
        ]
    );
    assert_eq!(
        events[2].1["item"],
        json!({"type": "function_call", "id": "fc_mock_0001_0", "call_id": "call_mock_0001_0",
               "name": "exec_command", "arguments": "", "status": "in_progress"})
    );
    let output = &events.last().unwrap().1["response"]["output"];
    assert_eq!(output[0]["arguments"], r#"{"cmd":"make test"}"#);
    assert_eq!(
        output[1],
        json!({"type": "custom_tool_call", "id": "ctc_mock_0001_1", "call_id": "call_mock_0001_1",
               "name": "apply_patch", "input": "*** Begin Patch\n*** End Patch\n", "status": "completed"})
    );
    assert_eq!(
        output[2],
        json!({"type": "reasoning", "id": "rs_mock_0001_2",
               "summary": [{"type": "summary_text", "text": "thinking"}],
               "content": [], "encrypted_content": "opaque"})
    );
}

#[tokio::test]
async fn chat_framing_and_tool_calls() {
    let server = MockModel::start(Script::Steps(vec![
        Step::calls(vec![
            OutputItem::function("shell", json!({"command": ["ls"]})),
            OutputItem::Reasoning {
                summary: "skipped in chat".into(),
                encrypted_content: None,
            },
            OutputItem::custom("apply_patch", "*** Begin Patch\n"),
        ]),
        Step::message("Fixed; make test passes."),
    ]))
    .await
    .unwrap();
    let body =
        json!({"model": "gpt-4.1", "stream": true, "stream_options": {"include_usage": true}});
    let text = post(&server, "/chat/completions", &body)
        .await
        .text()
        .await
        .unwrap();
    let chunks = chat_chunks(&text);
    assert_eq!(chunks.last().unwrap(), "[DONE]");
    let chunks: Vec<Value> = chunks[..chunks.len() - 1]
        .iter()
        .map(|c| serde_json::from_str(c).unwrap())
        .collect();
    assert_eq!(chunks.len(), 7);
    assert_eq!(chunks[0]["id"], "chatcmpl-mock-0001");
    assert_eq!(chunks[0]["object"], "chat.completion.chunk");
    assert_eq!(
        chunks[0]["choices"][0]["delta"],
        json!({"role": "assistant", "content": ""})
    );
    assert_eq!(
        chunks[1]["choices"][0]["delta"]["tool_calls"][0],
        json!({"index": 0, "id": "call_mock_0001_0", "type": "function", "function": {"name": "shell", "arguments": ""}})
    );
    assert_eq!(
        chunks[4]["choices"][0]["delta"]["tool_calls"][0],
        json!({"index": 1, "function": {"arguments": "{\"input\": \"*** Begin Patch\\n\"}"}})
    );
    assert_eq!(
        chunks[3]["choices"][0]["delta"]["tool_calls"][0]["id"],
        "call_mock_0001_2"
    );
    assert_eq!(chunks[5]["choices"][0]["finish_reason"], "tool_calls");
    assert_eq!(chunks[6]["choices"], json!([]));
    assert!(chunks[6]["usage"]["prompt_tokens"].as_u64().unwrap() > 0);

    // Without include_usage there is no usage chunk; text arrives as content pieces.
    let text = post(&server, "/chat/completions", &json!({"model": "gpt-4.1"}))
        .await
        .text()
        .await
        .unwrap();
    let chunks = chat_chunks(&text);
    assert_eq!(chunks.len(), 6);
    assert_eq!(chunks[5], "[DONE]");
    assert!(chunks[1].contains("\"delta\": {\"content\": \"Fixed; m\"}"));
    let finish: Value = serde_json::from_str(&chunks[4]).unwrap();
    assert_eq!(finish["choices"][0]["finish_reason"], "stop");
    assert!(!text.contains("usage"));
}

#[tokio::test]
async fn usage_and_cached_prefix() {
    let server = MockModel::start(Script::Steps(vec![
        Step::message("abcdefghij"),
        Step::message("x"),
    ]))
    .await
    .unwrap();
    let first = r#"{"model":"m","input":["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]}"#;
    let second = r#"{"model":"m","input":["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","next turn"]}"#;
    let usage_of =
        |text: String| responses_events(&text).last().unwrap().1["response"]["usage"].clone();
    let usage = usage_of(
        post_raw(&server, "/responses", first.into())
            .await
            .text()
            .await
            .unwrap(),
    );
    let input = (first.len() as u64).div_ceil(4);
    assert_eq!(
        usage,
        json!({"input_tokens": input, "input_tokens_details": {"cached_tokens": 0},
               "output_tokens": 3, "output_tokens_details": {"reasoning_tokens": 0},
               "total_tokens": input + 3})
    );
    let usage = usage_of(
        post_raw(&server, "/responses", second.into())
            .await
            .text()
            .await
            .unwrap(),
    );
    let shared = first.len() - 2; // everything up to the closing `"]}`
    assert_eq!(&second[..shared], &first[..shared]);
    assert_eq!(usage["input_tokens"], (second.len() as u64).div_ceil(4));
    assert_eq!(
        usage["input_tokens_details"]["cached_tokens"],
        (shared / 4) as u64
    );
    assert_eq!(usage["output_tokens"], 1);
}

#[tokio::test]
async fn http_error_and_exhaustion() {
    let server = MockModel::start(Script::Steps(vec![
        Step::HttpError {
            status: 429,
            body: None,
            retry_after: Some(2),
        },
        Step::HttpError {
            status: 400,
            body: Some(json!({"error": {"message": "bad", "type": "invalid_request_error"}})),
            retry_after: None,
        },
    ]))
    .await
    .unwrap();
    let response = post(&server, "/responses", &json!({})).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "2");
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({"error": {"message": "injected 429", "type": "server_error"}})
    );
    let response = post(&server, "/chat/completions", &json!({})).await;
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("retry-after").is_none());
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["message"],
        "bad"
    );

    let response = post(&server, "/responses", &json!({})).await;
    assert_eq!(response.status(), 500);
    assert_eq!(
        response.text().await.unwrap(),
        r#"{"error":{"message":"mock script exhausted","type":"server_error"}}"#
    );
}

#[tokio::test]
async fn cut_stream_is_a_body_error() {
    let server = MockModel::start(Script::Steps(vec![Step::CutStream {
        items: vec![OutputItem::message("partial answer")],
    }]))
    .await
    .unwrap();
    let response = post(&server, "/responses", &json!({})).await;
    assert_eq!(response.status(), 200);
    let mut stream = response.bytes_stream();
    let mut received = Vec::new();
    let mut error = None;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(bytes) => received.extend_from_slice(&bytes),
            Err(err) => {
                error = Some(err);
                break;
            }
        }
    }
    assert!(error.is_some(), "a cut stream must not end cleanly");
    let text = String::from_utf8(received).unwrap();
    assert!(text.contains("event: response.output_item.done"));
    assert!(!text.contains("response.completed"));
}

#[tokio::test]
async fn failed_incomplete_and_delay() {
    let server = MockModel::start(Script::Steps(vec![
        Step::Failed {
            code: "server_error".into(),
            message: "mock failure".into(),
        },
        Step::Delay {
            ms: 50,
            then: Box::new(Step::Incomplete {
                items: vec![OutputItem::message("half")],
                reason: "max_output_tokens".into(),
            }),
        },
    ]))
    .await
    .unwrap();
    let events = responses_events(
        &post(&server, "/responses", &json!({}))
            .await
            .text()
            .await
            .unwrap(),
    );
    let (name, failed) = events.last().unwrap();
    assert_eq!(name, "response.failed");
    assert_eq!(failed["response"]["status"], "failed");
    assert_eq!(
        failed["response"]["error"],
        json!({"code": "server_error", "message": "mock failure"})
    );

    let started = std::time::Instant::now();
    let events = responses_events(
        &post(&server, "/responses", &json!({}))
            .await
            .text()
            .await
            .unwrap(),
    );
    assert!(started.elapsed() >= std::time::Duration::from_millis(50));
    let (name, incomplete) = events.last().unwrap();
    assert_eq!(name, "response.incomplete");
    assert_eq!(
        incomplete["response"]["incomplete_details"]["reason"],
        "max_output_tokens"
    );
    assert_eq!(incomplete["response"]["output"][0]["type"], "message");
}

#[tokio::test]
async fn records_requests_and_rejects_bad_input() {
    let server = MockModel::start(Script::Dynamic(Arc::new(|index, body: &Value| {
        Step::message(format!(
            "#{index} {}",
            body["model"].as_str().unwrap_or("?")
        ))
    })))
    .await
    .unwrap();

    let response = post_raw(&server, "/responses", "{not json".into()).await;
    assert_eq!(response.status(), 400);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"]["type"],
        "invalid_request_error"
    );
    let response = post(&server, "/nope", &json!({})).await;
    assert_eq!(response.status(), 404);

    let text = post(&server, "/responses", &json!({"model": "gpt-x"}))
        .await
        .text()
        .await
        .unwrap();
    // Bad requests do not consume script steps.
    assert!(text.contains("\"text\": \"#0 gpt-x\""));

    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[0].path, "/v1/responses");
    assert_eq!(&requests[0].body[..], b"{not json");
    assert_eq!(requests[1].path, "/v1/nope");
    assert_eq!(requests[2].json(), json!({"model": "gpt-x"}));
    assert_eq!(requests[2].header("authorization"), Some("Bearer test"));
    assert!(requests[2]
        .headers
        .iter()
        .any(|(k, v)| k == "content-type" && v == "application/json"));
}

#[test]
fn script_file_format_round_trips() {
    let steps: Vec<Step> = serde_json::from_value(json!([
        {"kind": "reply", "items": [
            {"type": "message", "text": "hi"},
            {"type": "function_call", "name": "shell", "arguments": "{}"},
            {"type": "custom_tool_call", "name": "apply_patch", "input": "x", "call_id": "c1"},
            {"type": "reasoning", "summary": "s"}
        ]},
        {"kind": "http_error", "status": 500},
        {"kind": "cut_stream", "items": []},
        {"kind": "failed", "code": "c", "message": "m"},
        {"kind": "incomplete", "items": [], "reason": "max_output_tokens"},
        {"kind": "delay", "ms": 5, "then": {"kind": "reply", "items": []}}
    ]))
    .unwrap();
    assert_eq!(steps.len(), 6);
    let back = serde_json::to_value(&steps).unwrap();
    assert_eq!(back[1]["kind"], "http_error");
    assert_eq!(back[0]["items"][2]["call_id"], "c1");
}

#[tokio::test]
async fn model_list_in_openai_shape_without_using_a_step() {
    let options = wright_mock_model::ServeOptions {
        models: Some(vec!["m-1".into(), "m-2".into()]),
        ..Default::default()
    };
    let server = MockModel::start_with(Script::Steps(vec![Step::message("hi")]), options)
        .await
        .unwrap();
    let list: Value = client()
        .get(format!("{}/models", server.base_url()))
        .bearer_auth("k")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["object"], "list");
    assert_eq!(list["data"][0]["id"], "m-1");
    assert_eq!(list["data"][1]["object"], "model");
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    // The script's first step still answers the first model request.
    let text = post(&server, "/responses", &json!({"model": "m-1"}))
        .await
        .text()
        .await
        .unwrap();
    assert!(text.contains("hi"), "{text}");
    assert_eq!(server.requests()[0].path, "/v1/models");
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some("Bearer k")
    );
}
