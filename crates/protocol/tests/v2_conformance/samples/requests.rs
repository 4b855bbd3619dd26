use super::*;

/// Client requests (all but the wright extension), as the Codex envelope with an id.
pub fn client_requests() -> Vec<ClientRequest> {
    let mut out = vec![
        ClientRequest::Initialize(InitializeParams {
            client_info: ClientInfo {
                name: "probe".into(),
                title: Some("Probe".into()),
                version: "0.1".into(),
            },
            capabilities: Some(InitializeCapabilities {
                experimental_api: Some(false),
                opt_out_notification_methods: Some(vec!["thread/started".into()]),
                ..Default::default()
            }),
        }),
        ClientRequest::ThreadStart(ThreadStartParams {
            cwd: Some("/home/user/repo".into()),
            model: Some("gpt-5.5".into()),
            approval_policy: Some(AskForApproval::OnRequest),
            sandbox: Some(SandboxMode::WorkspaceWrite),
            config: Some(
                json!({"model_reasoning_effort": "high"})
                    .as_object()
                    .unwrap()
                    .clone(),
            ),
            ..Default::default()
        }),
        ClientRequest::ThreadResume(ThreadResumeParams {
            thread_id: THREAD_ID.into(),
            sandbox: Some(SandboxMode::ReadOnly),
            ..Default::default()
        }),
        ClientRequest::ThreadFork(ThreadForkParams {
            thread_id: THREAD_ID.into(),
            last_turn_id: Some(TURN_ID.into()),
            ephemeral: Some(true),
            ..Default::default()
        }),
        ClientRequest::ThreadList(ThreadListParams {
            cursor: Some("c1".into()),
            limit: Some(20),
            sort_key: Some(ThreadSortKey::UpdatedAt),
            sort_direction: Some(SortDirection::Desc),
            archived: Some(false),
            cwd: Some(ThreadListCwdFilter::Any(vec!["/a".into(), "/b".into()])),
            model_providers: Some(vec!["openai".into()]),
            source_kinds: Some(vec![ThreadSourceKind::Vscode, ThreadSourceKind::Cli]),
            search_term: Some("bug".into()),
            ..Default::default()
        }),
        ClientRequest::ThreadRead(ThreadReadParams {
            thread_id: THREAD_ID.into(),
            include_turns: Some(true),
        }),
        ClientRequest::ThreadArchive(ThreadIdParams {
            thread_id: THREAD_ID.into(),
        }),
        ClientRequest::ThreadUnarchive(ThreadIdParams {
            thread_id: THREAD_ID.into(),
        }),
        ClientRequest::ThreadSetName(ThreadSetNameParams {
            thread_id: THREAD_ID.into(),
            name: "Fix bug".into(),
        }),
        ClientRequest::ThreadCompactStart(ThreadIdParams {
            thread_id: THREAD_ID.into(),
        }),
        ClientRequest::TurnStart(TurnStartParams {
            thread_id: THREAD_ID.into(),
            input: vec![
                UserInput::text("hello"),
                UserInput::Image {
                    url: Some("data:image/png;base64,AAAA".into()),
                    file_id: None,
                    detail: None,
                },
                UserInput::LocalImage {
                    path: "/tmp/a.png".into(),
                    detail: Some(ImageDetail::Low),
                },
            ],
            cwd: Some("/home/user/repo/sub".into()),
            model: Some("gpt-5.5".into()),
            approval_policy: Some(AskForApproval::Never),
            sandbox_policy: Some(SandboxPolicy::ExternalSandbox {
                network_access: NetworkAccess::Enabled,
            }),
            effort: Some(ReasoningEffort::new("low")),
            summary: Some(ReasoningSummary::Concise),
            output_schema: Some(
                json!({"type": "object", "properties": {"ok": {"type": "boolean"}}}),
            ),
            ..Default::default()
        }),
        ClientRequest::TurnInterrupt(TurnInterruptParams {
            thread_id: THREAD_ID.into(),
            turn_id: TURN_ID.into(),
        }),
        ClientRequest::TurnSteer(TurnSteerParams {
            thread_id: THREAD_ID.into(),
            expected_turn_id: TURN_ID.into(),
            input: vec![UserInput::text("also check tests")],
            client_user_message_id: None,
        }),
        ClientRequest::ModelList(ModelListParams {
            limit: Some(10),
            include_hidden: Some(false),
            ..Default::default()
        }),
        ClientRequest::ConfigRead(ConfigReadParams {
            cwd: None,
            include_layers: Some(true),
        }),
        ClientRequest::ConfigValueWrite(ConfigValueWriteParams {
            key_path: "model".into(),
            value: json!("o3"),
            merge_strategy: MergeStrategy::Replace,
            file_path: Some("/home/user/.wright/config.toml".into()),
            expected_version: Some("sha256:00".into()),
        }),
        ClientRequest::ConfigBatchWrite(ConfigBatchWriteParams {
            edits: vec![
                ConfigEdit {
                    key_path: "model_providers.local".into(),
                    value: json!({"base_url": "http://127.0.0.1:8080/v1"}),
                    merge_strategy: MergeStrategy::Upsert,
                },
                ConfigEdit {
                    key_path: "notify".into(),
                    value: Value::Null,
                    merge_strategy: MergeStrategy::Replace,
                },
            ],
            file_path: None,
            expected_version: None,
            reload_user_config: Some(false),
        }),
        ClientRequest::ConfigRequirementsRead(NoParams),
        ClientRequest::ModelProviderList(ModelProviderListParams {}),
        ClientRequest::ModelProviderCapabilitiesRead(ModelProviderCapabilitiesReadParams {}),
        ClientRequest::PermissionProfileList(PermissionProfileListParams {
            cursor: Some("1".into()),
            cwd: None,
            limit: Some(2),
        }),
        ClientRequest::ExperimentalFeatureList(ExperimentalFeatureListParams::default()),
        ClientRequest::AccountRead(GetAccountParams {
            refresh_token: Some(false),
        }),
        ClientRequest::AccountLoginStart(LoginAccountParams::ApiKey {
            api_key: "sk-test".into(),
        }),
        ClientRequest::AccountLoginStart(LoginAccountParams::ChatgptDeviceCode),
        ClientRequest::AccountLogout(NoParams),
        ClientRequest::CommandExec(CommandExecParams {
            command: vec!["ls".into(), "-la".into()],
            cwd: Some("/tmp".into()),
            env: Some(BTreeMap::from([
                ("FOO".to_string(), Some("1".to_string())),
                ("BAR".to_string(), None),
            ])),
            sandbox_policy: Some(SandboxPolicy::ReadOnly {
                network_access: false,
            }),
            timeout_ms: Some(10_000),
            size: Some(CommandExecTerminalSize { rows: 24, cols: 80 }),
            ..Default::default()
        }),
        ClientRequest::CommandExec(CommandExecParams {
            command: vec!["bash".into(), "-i".into()],
            process_id: Some("bash-1".into()),
            tty: Some(true),
            stream_stdin: Some(true),
            stream_stdout_stderr: Some(true),
            output_bytes_cap: Some(32_768),
            disable_timeout: Some(true),
            ..Default::default()
        }),
        ClientRequest::CommandExecWrite(CommandExecWriteParams {
            process_id: "bash-1".into(),
            delta_base64: Some("cHdkCg==".into()),
            close_stdin: true,
        }),
        ClientRequest::CommandExecResize(CommandExecResizeParams {
            process_id: "bash-1".into(),
            size: CommandExecTerminalSize {
                rows: 48,
                cols: 160,
            },
        }),
        ClientRequest::CommandExecTerminate(CommandExecTerminateParams {
            process_id: "bash-1".into(),
        }),
        ClientRequest::FsWatch(FsWatchParams {
            watch_id: "w1".into(),
            path: "/home/user/repo/.git/HEAD".into(),
        }),
        ClientRequest::FsUnwatch(FsUnwatchParams {
            watch_id: "w1".into(),
        }),
        ClientRequest::FuzzyFileSearch(FuzzyFileSearchParams {
            query: "main".into(),
            roots: vec!["/home/user/repo".into()],
            cancellation_token: Some("picker".into()),
        }),
        ClientRequest::FuzzyFileSearch(FuzzyFileSearchParams {
            query: "lib".into(),
            roots: vec![],
            cancellation_token: None,
        }),
    ];
    out.extend(super::mcp::mcp_client_requests());
    out.extend(super::agent_tools::agent_tool_client_requests());
    out
}
