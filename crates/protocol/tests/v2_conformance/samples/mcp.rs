//! Samples of the MCP methods, notifications and approval question.

use super::*;

pub fn mcp_notifications() -> Vec<ServerNotification> {
    vec![
        ServerNotification::McpServerStatusUpdated(McpServerStatusUpdatedNotification {
            name: "docs".into(),
            status: McpServerStartupState::Starting,
            error: None,
            failure_reason: None,
            thread_id: None,
        }),
        ServerNotification::McpServerStatusUpdated(McpServerStatusUpdatedNotification {
            name: "docs".into(),
            status: McpServerStartupState::Failed,
            error: Some("it did not finish starting within 1 s (startup_timeout_sec)".into()),
            failure_reason: None,
            thread_id: Some(THREAD_ID.into()),
        }),
        ServerNotification::McpToolCallProgress(McpToolCallProgressNotification {
            thread_id: THREAD_ID.into(),
            turn_id: TURN_ID.into(),
            item_id: "call_3".into(),
            message: "indexing 3/10".into(),
        }),
        ServerNotification::McpServerOauthLoginCompleted(
            McpServerOauthLoginCompletedNotification {
                name: "linear".into(),
                success: false,
                error: Some("the browser did not come back within 300 s".into()),
                login_id: Some("login-1".into()),
                thread_id: None,
            },
        ),
    ]
}

pub fn mcp_server_requests() -> Vec<ServerRequest> {
    vec![ServerRequest::ToolRequestUserInput {
        id: RequestId::Integer(2),
        params: ToolRequestUserInputParams {
            thread_id: THREAD_ID.into(),
            turn_id: TURN_ID.into(),
            item_id: "call_3".into(),
            questions: vec![ToolRequestUserInputQuestion {
                id: "mcp_tool_call_approval_call_3".into(),
                header: "Approve app tool call?".into(),
                question: "Allow the docs MCP server to run tool \"search\"?".into(),
                is_other: false,
                is_secret: false,
                options: Some(vec![
                    ToolRequestUserInputOption {
                        label: "Allow".into(),
                        description: "Run the tool and continue.".into(),
                    },
                    ToolRequestUserInputOption {
                        label: "Cancel".into(),
                        description: "Cancel this tool call.".into(),
                    },
                ]),
            }],
            is_blocking: true,
            auto_resolution_ms: None,
        },
    }]
}

pub fn mcp_auto_review_action() -> GuardianApprovalReviewAction {
    GuardianApprovalReviewAction::McpToolCall {
        server: "docs".into(),
        tool_name: "search".into(),
        connector_id: None,
        connector_name: None,
        tool_title: None,
    }
}

pub fn mcp_client_requests() -> Vec<ClientRequest> {
    vec![
        ClientRequest::McpServerStatusList(ListMcpServerStatusParams {
            cursor: Some("1".into()),
            limit: Some(10),
            detail: Some(McpServerStatusDetail::ToolsAndAuthOnly),
            server_name: Some("docs".into()),
            thread_id: None,
        }),
        ClientRequest::McpServerStatusList(ListMcpServerStatusParams::default()),
        ClientRequest::McpServerToolCall(McpServerToolCallParams {
            thread_id: THREAD_ID.into(),
            server: "docs".into(),
            tool: "search".into(),
            arguments: Some(json!({"q": "serde"})),
            meta: None,
        }),
        ClientRequest::McpServerResourceRead(McpResourceReadParams {
            thread_id: Some(THREAD_ID.into()),
            server: "docs".into(),
            uri: "file:///README.md".into(),
        }),
        ClientRequest::McpServerReload(NoParams),
        ClientRequest::McpServerOauthLogin(McpServerOauthLoginParams {
            name: "linear".into(),
            scopes: Some(vec!["read".into()]),
            timeout_secs: Some(120),
            thread_id: None,
            client_registration: None,
        }),
    ]
}

pub fn mcp_responses() -> Vec<(String, Value)> {
    fn v<T: serde::Serialize>(t: T) -> Value {
        serde_json::to_value(t).unwrap()
    }
    let ready = McpServerStatus {
        name: "docs".into(),
        tools: BTreeMap::from([(
            "search".to_string(),
            Tool {
                name: "search".into(),
                title: None,
                description: Some("Search the docs".into()),
                input_schema: json!({"type": "object", "properties": {"q": {"type": "string"}}}),
                output_schema: None,
                annotations: Some(json!({"readOnlyHint": true})),
                icons: None,
                meta: None,
            },
        )]),
        resources: vec![Resource {
            name: "readme".into(),
            uri: "file:///README.md".into(),
            title: None,
            description: None,
            mime_type: Some("text/markdown".into()),
            size: Some(120),
            annotations: None,
            icons: None,
            meta: None,
        }],
        resource_templates: vec![ResourceTemplate {
            name: "page".into(),
            uri_template: "docs://{page}".into(),
            title: None,
            description: None,
            mime_type: None,
            annotations: None,
        }],
        auth_status: McpAuthStatus::Unsupported,
        http_origin: None,
        plugin_id: None,
        runtime_status: Some(McpServerConnectionStatus::Connected),
        server_capabilities: None,
        server_info: None,
        tool_list_meta: None,
        tools_error: None,
    };
    let failed = McpServerStatus {
        name: "linear".into(),
        tools: BTreeMap::new(),
        resources: vec![],
        resource_templates: vec![],
        auth_status: McpAuthStatus::OAuth,
        http_origin: Some("https://mcp.linear.app".into()),
        runtime_status: Some(McpServerConnectionStatus::Failed),
        tools_error: Some("the connection was refused".into()),
        ..ready.clone()
    };
    vec![
        (
            "v2:ListMcpServerStatusResponse".into(),
            v(ListMcpServerStatusResponse {
                data: vec![ready, failed],
                next_cursor: Some("2".into()),
            }),
        ),
        (
            "v2:McpServerToolCallResponse".into(),
            v(McpServerToolCallResponse {
                content: vec![json!({"type": "text", "text": "fine"})],
                structured_content: Some(json!({"n": 1})),
                is_error: Some(false),
                meta: None,
            }),
        ),
        (
            "v2:McpResourceReadResponse".into(),
            v(McpResourceReadResponse {
                contents: vec![
                    ResourceContent::Text {
                        uri: "file:///README.md".into(),
                        mime_type: Some("text/markdown".into()),
                        text: "# hi".into(),
                        meta: None,
                    },
                    ResourceContent::Blob {
                        uri: "file:///logo.png".into(),
                        mime_type: None,
                        blob: "iVBORw0KGgo=".into(),
                        meta: None,
                    },
                ],
            }),
        ),
        (
            "v2:McpServerRefreshResponse".into(),
            v(McpServerRefreshResponse {}),
        ),
        (
            "v2:McpServerOauthLoginResponse".into(),
            v(McpServerOauthLoginResponse {
                authorization_url: "https://mcp.linear.app/authorize?x=1".into(),
                login_id: Some("login-1".into()),
            }),
        ),
        (
            "file:ToolRequestUserInputResponse.json".into(),
            v(ToolRequestUserInputResponse {
                answers: BTreeMap::from([(
                    "mcp_tool_call_approval_call_3".to_string(),
                    ToolRequestUserInputAnswer {
                        answers: vec!["Allow".into()],
                    },
                )]),
            }),
        ),
    ]
}
