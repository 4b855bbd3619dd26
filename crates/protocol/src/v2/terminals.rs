//! `thread/backgroundTerminals/*` (experimental in Codex): the commands the model left
//! running in a thread (its `exec_command` sessions), listed and stopped by clients.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `thread/backgroundTerminals/list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadBackgroundTerminalsListParams {
    pub thread_id: String,
    /// Opaque pagination cursor returned by a previous call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor: Option<String>,
    /// Page size; no limit when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// A command still running in a thread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadBackgroundTerminal {
    /// The `commandExecution` item that started it.
    pub item_id: String,
    /// The session id the model polls it with (the item's `processId`).
    pub process_id: String,
    pub command: String,
    pub cwd: String,
    pub os_pid: Option<i64>,
    pub cpu_percent: Option<f64>,
    pub rss_kb: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadBackgroundTerminalsListResponse {
    pub data: Vec<ThreadBackgroundTerminal>,
    pub next_cursor: Option<String>,
}

/// `thread/backgroundTerminals/terminate`: stops one, with everything it started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadBackgroundTerminalsTerminateParams {
    pub thread_id: String,
    pub process_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadBackgroundTerminalsTerminateResponse {
    /// False when no such command was running.
    pub terminated: bool,
}

/// `thread/backgroundTerminals/clean`: stops them all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ThreadBackgroundTerminalsCleanParams {
    pub thread_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ThreadBackgroundTerminalsCleanResponse {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codex_shapes_round_trip() {
        let list: ThreadBackgroundTerminalsListParams =
            serde_json::from_value(json!({"threadId": "t", "cursor": null, "limit": 25})).unwrap();
        assert_eq!(list.limit, Some(25));
        let term: ThreadBackgroundTerminalsTerminateParams =
            serde_json::from_value(json!({"threadId": "t", "processId": "42"})).unwrap();
        assert_eq!(term.process_id, "42");
        let row = ThreadBackgroundTerminal {
            item_id: "call_1".into(),
            process_id: "42".into(),
            command: "/bin/bash -lc 'npm run dev'".into(),
            cwd: "/repo".into(),
            os_pid: Some(101),
            cpu_percent: None,
            rss_kb: Some(1024),
        };
        assert_eq!(
            serde_json::to_value(&row).unwrap(),
            json!({"itemId": "call_1", "processId": "42", "command": "/bin/bash -lc 'npm run dev'",
                   "cwd": "/repo", "osPid": 101, "cpuPercent": null, "rssKb": 1024})
        );
    }
}
