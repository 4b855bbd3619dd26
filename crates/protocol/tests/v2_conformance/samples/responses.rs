use serde::Serialize;

use super::*;

pub fn start_response(sandbox: SandboxPolicy, approval: AskForApproval) -> ThreadStartResponse {
    ThreadStartResponse {
        thread: thread(SessionSource::AppServer, vec![]),
        model: "gpt-5.5".into(),
        model_provider: "mock".into(),
        service_tier: None,
        cwd: "/home/user/repo".into(),
        instruction_sources: vec!["/home/user/repo/AGENTS.md".into()],
        approval_policy: approval,
        approvals_reviewer: ApprovalsReviewer::User,
        sandbox,
        reasoning_effort: None,
        disabled_plugin_ids: vec![],
    }
}

/// `(schema spec, value)` of every response type.
pub fn responses() -> Vec<(String, Value)> {
    fn v<T: Serialize>(t: T) -> Value {
        serde_json::to_value(t).unwrap()
    }
    let full_turn = turn(TurnStatus::Completed, all_items(), None);
    let mut out = vec![
        (
            "file:v1/InitializeResponse.json".to_string(),
            v(InitializeResponse {
                user_agent: "wright/0.1.0 (Debian 12; x86_64)".into(),
                codex_home: "/home/user/.codex".into(),
                platform_family: "unix".into(),
                platform_os: "linux".into(),
            }),
        ),
        (
            "v2:ThreadStartResponse".into(),
            v(start_response(
                SandboxPolicy::WorkspaceWrite {
                    writable_roots: vec!["/tmp/extra".into()],
                    network_access: false,
                    exclude_tmpdir_env_var: false,
                    exclude_slash_tmp: false,
                },
                AskForApproval::Untrusted,
            )),
        ),
        (
            "v2:ThreadForkResponse".into(),
            v(start_response(
                SandboxPolicy::ReadOnly {
                    network_access: true,
                },
                AskForApproval::Granular(GranularApprovalConfig {
                    sandbox_approval: true,
                    rules: true,
                    mcp_elicitations: false,
                    request_permissions: false,
                    skill_approval: false,
                }),
            )),
        ),
        (
            "v2:ThreadResumeResponse".into(),
            v(ThreadResumeResponse {
                thread: thread(SessionSource::Cli, vec![full_turn.clone()]),
                model: "gpt-5.5".into(),
                model_provider: "openai".into(),
                service_tier: Some("priority".into()),
                cwd: "/home/user/repo".into(),
                instruction_sources: vec![],
                approval_policy: AskForApproval::Never,
                approvals_reviewer: ApprovalsReviewer::AutoReview,
                sandbox: SandboxPolicy::DangerFullAccess,
                reasoning_effort: Some(ReasoningEffort::new("high")),
                disabled_plugin_ids: vec![],
                collaboration_mode: Some(CollaborationMode {
                    mode: ModeKind::Default,
                    settings: CollaborationSettings {
                        model: "gpt-5.5".into(),
                        reasoning_effort: None,
                        developer_instructions: None,
                    },
                }),
                turns_backwards_cursor: None,
                items_backwards_cursor: None,
            }),
        ),
        (
            "v2:ThreadListResponse".into(),
            v(ThreadListResponse {
                data: vec![
                    thread(SessionSource::Exec, vec![]),
                    thread(SessionSource::Custom("my-ide".into()), vec![]),
                    thread(
                        SessionSource::SubAgent(SubAgentSource::ThreadSpawn {
                            parent_thread_id: THREAD_ID.into(),
                            depth: 1,
                            agent_path: None,
                            agent_nickname: Some("scout".into()),
                            agent_role: None,
                        }),
                        vec![],
                    ),
                    thread(SessionSource::SubAgent(SubAgentSource::Review), vec![]),
                ],
                next_cursor: Some("cursor-2".into()),
                backwards_cursor: None,
            }),
        ),
        (
            "v2:ThreadReadResponse".into(),
            v(ThreadReadResponse {
                thread: thread(SessionSource::Vscode, vec![full_turn.clone()]),
            }),
        ),
        (
            "v2:ThreadUnarchiveResponse".into(),
            v(ThreadUnarchiveResponse {
                thread: thread(SessionSource::Vscode, vec![]),
            }),
        ),
        (
            "v2:TurnStartResponse".into(),
            v(TurnStartResponse {
                turn: Turn {
                    items: vec![],
                    items_view: TurnItemsView::NotLoaded,
                    status: TurnStatus::InProgress,
                    started_at: None,
                    completed_at: None,
                    duration_ms: None,
                    ..full_turn.clone()
                },
            }),
        ),
        (
            "v2:TurnSteerResponse".into(),
            v(TurnSteerResponse {
                turn_id: TURN_ID.into(),
            }),
        ),
        (
            "v2:ModelListResponse".into(),
            v(ModelListResponse {
                data: vec![Model {
                    id: "gpt-5.5".into(),
                    model: "gpt-5.5".into(),
                    upgrade: None,
                    upgrade_info: Some(ModelUpgradeInfo {
                        model: "gpt-6".into(),
                        upgrade_copy: None,
                        model_link: None,
                        migration_markdown: Some("Try it".into()),
                        retirement_at: None,
                    }),
                    availability_nux: None,
                    display_name: "GPT-5.5".into(),
                    description: "Workhorse model".into(),
                    model_specialty: None,
                    hidden: false,
                    supported_reasoning_efforts: vec![ReasoningEffortOption {
                        reasoning_effort: ReasoningEffort::new("low"),
                        description: "Fast".into(),
                    }],
                    default_reasoning_effort: ReasoningEffort::new("low"),
                    input_modalities: vec![InputModality::Text, InputModality::Image],
                    supports_personality: false,
                    multi_agent_version: Some(MultiAgentVersion::V2),
                    additional_speed_tiers: vec!["fast".into()],
                    service_tiers: vec![ModelServiceTier {
                        id: "priority".into(),
                        name: "Fast".into(),
                        description: "2x speed".into(),
                    }],
                    default_service_tier: None,
                    available_access_programs: None,
                    is_default: true,
                }],
                next_cursor: None,
            }),
        ),
        (
            "v2:ConfigReadResponse".into(),
            v(ConfigReadResponse {
                config: json!({"model": "gpt-5.5", "model_provider": "mock", "approval_policy": "on-request"})
                    .as_object()
                    .unwrap()
                    .clone(),
                origins: BTreeMap::from([(
                    "model".to_string(),
                    ConfigLayerMetadata {
                        name: ConfigLayerSource::User {
                            file: "/home/user/.codex/config.toml".into(),
                            profile: None,
                        },
                        version: "sha256:00".into(),
                    },
                )]),
                layers: Some(vec![ConfigLayer {
                    name: ConfigLayerSource::SessionFlags,
                    version: "sha256:01".into(),
                    config: json!({"model_provider": "mock"}),
                    disabled_reason: None,
                }]),
            }),
        ),
        (
            "v2:CommandExecResponse".into(),
            v(CommandExecResponse {
                exit_code: 0,
                stdout: "hi\n".into(),
                stderr: String::new(),
            }),
        ),
    ];
    let layer = ConfigLayerMetadata {
        name: ConfigLayerSource::User {
            file: "/home/user/.wright/config.toml".into(),
            profile: None,
        },
        version: "sha256:00".into(),
    };
    out.extend([
        (
            "v2:ConfigWriteResponse".to_string(),
            v(ConfigWriteResponse {
                status: WriteStatus::Ok,
                version: "sha256:01".into(),
                file_path: "/home/user/.wright/config.toml".into(),
                overridden_metadata: None,
            }),
        ),
        (
            "v2:ConfigWriteResponse".to_string(),
            v(ConfigWriteResponse {
                status: WriteStatus::OkOverridden,
                version: "sha256:01".into(),
                file_path: "/home/user/.wright/config.toml".into(),
                overridden_metadata: Some(OverriddenMetadata {
                    message: "Overridden by session flags".into(),
                    overriding_layer: ConfigLayerMetadata {
                        name: ConfigLayerSource::SessionFlags,
                        version: "sha256:02".into(),
                    },
                    effective_value: json!("o3"),
                }),
            }),
        ),
        (
            "v2:ConfigReadResponse".to_string(),
            v(ConfigReadResponse {
                config: serde_json::Map::new(),
                origins: BTreeMap::from([("model".to_string(), layer.clone())]),
                layers: Some(vec![ConfigLayer {
                    name: ConfigLayerSource::User {
                        file: "/home/user/.wright/fast.config.toml".into(),
                        profile: Some("fast".into()),
                    },
                    version: layer.version.clone(),
                    config: json!({"model": "o3"}),
                    disabled_reason: None,
                }]),
            }),
        ),
        (
            "v2:ConfigRequirementsReadResponse".to_string(),
            v(ConfigRequirementsReadResponse::default()),
        ),
        (
            "v2:ModelProviderListResponse".to_string(),
            v(ModelProviderListResponse {
                data: vec![
                    ModelProviderSummary {
                        id: "local".into(),
                        name: "Local".into(),
                        base_url: Some("http://127.0.0.1:8080/v1".into()),
                        can_edit: false,
                        settings: ProviderSettings::CustomGateway {
                            auth: GatewayAuth::None,
                        },
                    },
                    ModelProviderSummary {
                        id: "mock".into(),
                        name: "mock".into(),
                        base_url: None,
                        can_edit: false,
                        settings: ProviderSettings::CustomGateway {
                            auth: GatewayAuth::EnvironmentVariable {
                                env_key: "MOCK_KEY".into(),
                            },
                        },
                    },
                    ModelProviderSummary {
                        id: "gw".into(),
                        name: "gw".into(),
                        base_url: None,
                        can_edit: false,
                        settings: ProviderSettings::CustomGateway {
                            auth: GatewayAuth::ExternallyConfigured { env_key: None },
                        },
                    },
                    ModelProviderSummary {
                        id: "openai".into(),
                        name: "OpenAI".into(),
                        base_url: Some("https://api.openai.com/v1".into()),
                        can_edit: false,
                        settings: ProviderSettings::Openai,
                    },
                ],
                default_provider_id: "openai".into(),
                can_change_default: false,
            }),
        ),
        (
            "v2:ModelProviderCapabilitiesReadResponse".to_string(),
            v(ModelProviderCapabilitiesReadResponse {
                image_generation: false,
                web_search: false,
            }),
        ),
        (
            "v2:PermissionProfileListResponse".to_string(),
            v(PermissionProfileListResponse {
                data: vec![PermissionProfileSummary {
                    id: ":workspace".into(),
                    description: Some("sandbox_mode = \"workspace-write\"".into()),
                    allowed: true,
                }],
                next_cursor: Some("1".into()),
            }),
        ),
        (
            "v2:ExperimentalFeatureListResponse".to_string(),
            v(ExperimentalFeatureListResponse {
                data: vec![ExperimentalFeature {
                    name: "x".into(),
                    stage: ExperimentalFeatureStage::Beta,
                    display_name: None,
                    description: None,
                    announcement: None,
                    enabled: false,
                    default_enabled: false,
                }],
                next_cursor: None,
            }),
        ),
        (
            "v2:GetAccountResponse".to_string(),
            v(GetAccountResponse {
                account: Some(Account::ApiKey {}),
                requires_openai_auth: true,
            }),
        ),
        (
            "v2:GetAccountResponse".to_string(),
            v(GetAccountResponse {
                account: None,
                requires_openai_auth: false,
            }),
        ),
        (
            "v2:LoginAccountResponse".to_string(),
            v(LoginAccountResponse::ApiKey {}),
        ),
        (
            "v2:LogoutAccountResponse".to_string(),
            v(LogoutAccountResponse {}),
        ),
    ]);
    out.push((
        "v2:FsWatchResponse".into(),
        v(FsWatchResponse {
            path: "/home/user/repo/.git/HEAD".into(),
        }),
    ));
    out.push(("v2:FsUnwatchResponse".into(), v(FsUnwatchResponse {})));
    out.push((
        "file:FuzzyFileSearchResponse.json".into(),
        v(FuzzyFileSearchResponse {
            files: vec![
                FuzzyFileSearchResult {
                    root: "/home/user/repo".into(),
                    path: "src/main.rs".into(),
                    match_type: FuzzyFileSearchMatchType::File,
                    file_name: "main.rs".into(),
                    score: 159,
                    indices: Some(vec![4, 5, 6, 7]),
                },
                FuzzyFileSearchResult {
                    root: "/home/user/repo".into(),
                    path: "src".into(),
                    match_type: FuzzyFileSearchMatchType::Directory,
                    file_name: "src".into(),
                    score: 12,
                    indices: None,
                },
            ],
        }),
    ));
    for name in [
        "ThreadArchiveResponse",
        "ThreadSetNameResponse",
        "ThreadCompactStartResponse",
        "TurnInterruptResponse",
    ] {
        out.push((format!("v2:{name}"), v(EmptyResponse {})));
    }
    for name in [
        "CommandExecWriteResponse",
        "CommandExecTerminateResponse",
        "CommandExecResizeResponse",
    ] {
        out.push((format!("v2:{name}"), v(CommandExecEmptyResponse {})));
    }
    for decision in [
        CommandExecutionApprovalDecision::Accept,
        CommandExecutionApprovalDecision::AcceptForSession,
        CommandExecutionApprovalDecision::AcceptWithExecpolicyAmendment {
            execpolicy_amendment: vec!["ls".into()],
        },
        CommandExecutionApprovalDecision::ApplyNetworkPolicyAmendment {
            network_policy_amendment: NetworkPolicyAmendment {
                host: "pypi.org".into(),
                action: NetworkPolicyRuleAction::Deny,
            },
        },
        CommandExecutionApprovalDecision::Decline,
        CommandExecutionApprovalDecision::Cancel,
    ] {
        out.push((
            "file:CommandExecutionRequestApprovalResponse.json".into(),
            v(CommandExecutionRequestApprovalResponse { decision }),
        ));
    }
    for decision in [
        FileChangeApprovalDecision::Accept,
        FileChangeApprovalDecision::AcceptForSession,
        FileChangeApprovalDecision::Decline,
        FileChangeApprovalDecision::Cancel,
    ] {
        out.push((
            "file:FileChangeRequestApprovalResponse.json".into(),
            v(FileChangeRequestApprovalResponse { decision }),
        ));
    }
    out.extend(super::mcp::mcp_responses());
    out.extend(super::agent_tools::agent_tool_responses());
    out
}
