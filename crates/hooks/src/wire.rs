//! The App Server's hook types (`HookRunSummary`, `HookMetadata`, `HooksListEntry`, ...) are
//! `wright_protocol`'s, the one definition of the wire; re-exported here for this crate's API.

pub use wright_protocol::v2::{
    HookErrorInfo, HookEventName, HookExecutionMode, HookHandlerType, HookMetadata,
    HookOutputEntry, HookOutputEntryKind, HookRunStatus, HookRunSummary, HookSource,
    HookTrustStatus, HooksListEntry,
};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wright_protocol::v2::HookScope;

    #[test]
    fn run_summary_serializes_to_the_app_server_shape() {
        let summary = HookRunSummary {
            id: "pre-tool-use:0:/h/hooks.json:call-1".into(),
            event_name: HookEventName::PreToolUse,
            handler_type: HookHandlerType::Command,
            execution_mode: HookExecutionMode::Sync,
            scope: HookScope::Turn,
            source_path: "/h/hooks.json".into(),
            source: HookSource::Project,
            display_order: 0,
            status: HookRunStatus::Blocked,
            status_message: None,
            started_at: 10,
            completed_at: Some(11),
            duration_ms: Some(1200),
            entries: vec![HookOutputEntry::new(HookOutputEntryKind::Feedback, "no")],
        };
        let value = serde_json::to_value(&summary).unwrap_or_default();
        assert_eq!(
            value,
            json!({
                "id": "pre-tool-use:0:/h/hooks.json:call-1",
                "eventName": "preToolUse",
                "handlerType": "command",
                "executionMode": "sync",
                "scope": "turn",
                "sourcePath": "/h/hooks.json",
                "source": "project",
                "displayOrder": 0,
                "status": "blocked",
                "statusMessage": null,
                "startedAt": 10,
                "completedAt": 11,
                "durationMs": 1200,
                "entries": [{"kind": "feedback", "text": "no"}],
            })
        );
    }

    #[test]
    fn metadata_uses_the_schema_names() {
        let meta = HookMetadata {
            key: "k".into(),
            event_name: HookEventName::Stop,
            handler_type: HookHandlerType::Command,
            command: "true".into(),
            is_async: false,
            matcher: None,
            timeout_sec: 600,
            status_message: None,
            source_path: "/p".into(),
            source: HookSource::User,
            plugin_id: None,
            environment_id: None,
            additional_context_limit: None,
            display_order: 3,
            enabled: true,
            is_managed: false,
            current_hash: "sha256:00".into(),
            trust_status: HookTrustStatus::Modified,
        };
        let value = serde_json::to_value(&meta).unwrap_or_default();
        let keys: Vec<&str> = value
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        for key in [
            "key",
            "eventName",
            "handlerType",
            "command",
            "async",
            "timeoutSec",
            "sourcePath",
            "displayOrder",
            "isManaged",
            "currentHash",
            "trustStatus",
        ] {
            assert!(keys.contains(&key), "missing {key} in {value}");
        }
        assert_eq!(value["trustStatus"], "modified");
        assert_eq!(value["eventName"], "stop");
    }
}
