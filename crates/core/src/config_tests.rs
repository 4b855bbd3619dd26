use super::*;

fn load(file: &str, overrides: CliOverrides) -> Result<Config, ConfigError> {
    let table = file.parse::<toml::Table>().unwrap();
    Config::from_table(table, Path::new("/nonexistent-home"), &overrides)
}

fn cli(config: &[&str]) -> CliOverrides {
    CliOverrides {
        config: config.iter().map(|s| s.to_string()).collect(),
        cwd: Some(PathBuf::from("/tmp")),
        ..Default::default()
    }
}

#[test]
fn defaults() {
    // An OpenAI endpoint named (here by its base URL) makes OpenAI the default.
    let c = load("openai_base_url = \"http://127.0.0.1:1/v1\"", cli(&[])).unwrap();
    assert_eq!(c.model, DEFAULT_MODEL);
    assert_eq!(c.provider_id, "openai");
    assert_eq!(c.provider.wire_api, WireApi::Responses);
    assert_eq!(c.sandbox_mode, SandboxMode::ReadOnly);
    assert!(!c.local_by_default);
}

#[test]
fn the_embedded_model_is_the_default_without_key_or_endpoint() {
    let keyless = env_value("CODEX_API_KEY").is_none()
        && env_value("OPENAI_API_KEY").is_none()
        && env_value("OPENAI_BASE_URL").is_none();
    let c = load("", cli(&[])).unwrap();
    if keyless {
        assert_eq!(c.provider_id, "local");
        assert_eq!(c.provider.wire_api, WireApi::Local);
        assert_eq!(c.model, crate::local_model::DEFAULT_LOCAL_MODEL);
        assert!(c.local_by_default);
        assert!(
            c.provider.base_url.ends_with("qwen2.5-coder-0.5b.gguf"),
            "{}",
            c.provider.base_url
        );
    } else {
        assert_eq!(c.provider_id, "openai");
    }
    // Named explicitly it is used whatever the environment holds, with the model asked for.
    let c = load(
        "model_provider = \"local\"\nmodel = \"qwen2.5-coder-1.5b\"",
        cli(&[]),
    )
    .unwrap();
    assert_eq!(c.provider.wire_api, WireApi::Local);
    assert_eq!(c.model, "qwen2.5-coder-1.5b");
    assert!(!c.local_by_default);
    assert!(c.provider.base_url.ends_with("qwen2.5-coder-1.5b.gguf"));
    // A hosted model asked for by name is not silently swapped for the local one.
    let o = CliOverrides {
        model: Some("gpt-5.5".into()),
        ..cli(&[])
    };
    let c = load("", o).unwrap();
    assert_eq!(c.provider_id, "openai");
    assert_eq!(c.model, "gpt-5.5");
}

#[test]
fn providers_profiles_and_overrides_layer() {
    let file = r#"
        model = "file-model"
        model_provider = "mock"
        [model_providers.mock]
        name = "Mock"
        base_url = "http://127.0.0.1:1/v1"
        wire_api = "chat"
        request_max_retries = 2
        query_params = { "api-version" = "1" }
        [profiles.fast]
        model = "profile-model"
        model_reasoning_effort = "low"
    "#;
    let c = load(file, cli(&[])).unwrap();
    assert_eq!(c.model, "file-model");
    assert_eq!(c.provider.wire_api, WireApi::Chat);
    assert_eq!(c.provider.request_max_retries, 2);
    assert_eq!(c.provider.stream_max_retries, 5);

    let mut o = cli(&["model_providers.mock.stream_max_retries=1"]);
    o.profile = Some("fast".into());
    let c = load(file, o).unwrap();
    assert_eq!(c.model, "profile-model");
    assert_eq!(c.model_reasoning_effort.as_deref(), Some("low"));
    assert_eq!(c.provider.stream_max_retries, 1);

    let mut o = cli(&["model=\"dash-c\"", "profile=fast"]);
    o.model = None;
    assert_eq!(load(file, o).unwrap().model, "dash-c");
    let mut o = cli(&["model=bare-string"]);
    o.model = Some("flag".into());
    assert_eq!(load(file, o).unwrap().model, "flag");
}

#[test]
fn wrong_type_names_the_key() {
    let err = load(
        "[model_providers.m]\nbase_url = \"x\"\nrequest_max_retries = \"many\"",
        cli(&[]),
    )
    .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("model_providers.m.request_max_retries"),
        "{text}"
    );
    let err = load("", cli(&["sandbox_mode=\"nope\""])).unwrap_err();
    assert!(err.to_string().contains("sandbox_mode"), "{err}");
}

#[test]
fn unknown_keys_warn() {
    let c = load(
        "bogus = 1\n[model_providers.openai]\nbase_url = \"http://x\"\nextra = true",
        cli(&[]),
    )
    .unwrap();
    assert!(
        c.warnings.iter().any(|w| w.contains("`bogus`")),
        "{:?}",
        c.warnings
    );
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("model_providers.openai.extra")),
        "{:?}",
        c.warnings
    );
}

#[test]
fn writable_roots_and_network() {
    let mut o = cli(&[
        "sandbox_workspace_write.network_access=true",
        "sandbox_workspace_write.writable_roots=[\"/data\"]",
        "sandbox_workspace_write.exclude_tmpdir_env_var=true",
    ]);
    o.add_dirs = vec![PathBuf::from("/extra")];
    o.cwd = Some(PathBuf::from("/repo"));
    // An API model, whatever keys the environment holds (a local model gets a shorter text).
    let c = load("model_provider = \"openai\"", o).unwrap();
    assert!(c.network_access);
    assert_eq!(
        c.writable_roots,
        ["/data", "/extra", "/repo", "/tmp"].map(PathBuf::from)
    );
    let text = crate::context::permissions_text(&Config {
        sandbox_mode: SandboxMode::WorkspaceWrite,
        ..c
    });
    assert!(text.contains("Network access is enabled."), "{text}");
    assert!(
        text.contains(" The writable roots are `/data`, `/extra`, `/repo`, `/tmp`.\n"),
        "{text}"
    );
}

#[test]
fn small_local_models_get_short_instructions_and_permissions() {
    let local = load(
        "model_provider = \"local\"\nsandbox_mode = \"workspace-write\"",
        cli(&[]),
    )
    .unwrap();
    let text = crate::context::permissions_text(&local);
    assert_eq!(
        text,
        "<permissions instructions>Commands can change files only inside the repository. \
         There is no network.</permissions instructions>"
    );
    assert_eq!(
        crate::context::base_instructions(&local),
        crate::context::LOCAL_INSTRUCTIONS
    );
    // The same settings on an API model: Codex's wording and instructions.
    let api = load(
        "model_provider = \"openai\"\nsandbox_mode = \"workspace-write\"",
        cli(&[]),
    )
    .unwrap();
    let text = crate::context::permissions_text(&api);
    assert!(
        text.contains("`sandbox_mode` is `workspace-write`"),
        "{text}"
    );
    assert_eq!(
        crate::context::base_instructions(&api),
        crate::context::BASE_INSTRUCTIONS
    );
}

#[test]
fn a_new_cwd_moves_its_writable_root() {
    let mut o = cli(&["sandbox_workspace_write.writable_roots=[\"/data\"]"]);
    o.cwd = Some(PathBuf::from("/repo"));
    let mut c = load("", o).unwrap();
    assert!(c.writable_roots.contains(&PathBuf::from("/repo")));
    c.set_cwd(PathBuf::from("/other"));
    assert!(
        !c.writable_roots.contains(&PathBuf::from("/repo")),
        "{:?}",
        c.writable_roots
    );
    assert!(c.writable_roots.contains(&PathBuf::from("/other")));
    // A configured root stays even when it was the cwd.
    c.set_cwd(PathBuf::from("/data"));
    c.set_cwd(PathBuf::from("/repo"));
    assert!(c.writable_roots.contains(&PathBuf::from("/data")));
    assert!(!c.writable_roots.contains(&PathBuf::from("/other")));
}

#[test]
fn sandbox_limits_parse() {
    let c = load(
        "[sandbox_limits]\nmax_processes = 100\nmax_memory = \"512M\"\n",
        cli(&[]),
    )
    .unwrap();
    assert_eq!(c.sandbox_limits.max_processes, Some(100));
    assert_eq!(c.sandbox_limits.max_memory_bytes, Some(512 << 20));
    let c = load("[sandbox_limits]\nmax_memory = 1048576\n", cli(&[])).unwrap();
    assert_eq!(c.sandbox_limits.max_memory_bytes, Some(1 << 20));
    let c = load("[sandbox_limits]\nmax_memory = \"50%\"\n", cli(&[])).unwrap();
    assert!(c.sandbox_limits.max_memory_bytes.unwrap() > 0);
    let err = load("[sandbox_limits]\nmax_memory = \"12 parsecs\"\n", cli(&[])).unwrap_err();
    assert!(
        err.to_string().contains("sandbox_limits.max_memory"),
        "{err}"
    );
    assert!(load("[sandbox_limits]\nmax_procs = 1\n", cli(&[])).is_err());
}

#[test]
fn keys_accepted_but_not_acted_on_warn() {
    let c = load("notify = [\"x\"]\nhide_agent_reasoning = true\n", cli(&[])).unwrap();
    assert!(
        c.warnings
            .iter()
            .any(|w| w.contains("`notify` is accepted but not acted on")),
        "{:?}",
        c.warnings
    );
    assert!(c
        .warnings
        .iter()
        .any(|w| w.contains("`hide_agent_reasoning`")));
    let quiet = load("model = \"m\"\n", cli(&[])).unwrap();
    assert!(!quiet.warnings.iter().any(|w| w.contains("not acted on")));
}

#[test]
fn environment_keys_win_over_the_stored_one() {
    let k = |s: &str| Some(s.to_string());
    assert_eq!(
        pick_openai_key(k("codex"), k("env"), k("stored")),
        ("CODEX_API_KEY", k("codex"))
    );
    assert_eq!(
        pick_openai_key(None, k("env"), k("stored")),
        ("OPENAI_API_KEY", k("env"))
    );
    assert_eq!(
        pick_openai_key(None, None, k("stored")),
        ("OPENAI_API_KEY", k("stored"))
    );
    assert_eq!(pick_openai_key(None, None, None), ("OPENAI_API_KEY", None));
}

#[test]
fn the_stored_key_reaches_openai_providers_only() {
    let home = tempfile::tempdir().unwrap();
    crate::auth::store_api_key(home.path(), "sk-stored").unwrap();
    let file =
        "[model_providers.own]\nbase_url = \"http://own\"\nenv_key = \"WRIGHT_TEST_UNSET_VAR\"\n\
                [model_providers.proxy]\nbase_url = \"http://proxy\"\nrequires_openai_auth = true\n\
                [model_providers.broken]\nwire_api = \"chat\"\n";
    let c = Config::from_table(file.parse().unwrap(), home.path(), &cli(&[])).unwrap();
    // The ambient environment wins when it has a key; otherwise the stored key is used.
    let expected = env_value("CODEX_API_KEY")
        .or_else(|| env_value("OPENAI_API_KEY"))
        .unwrap_or_else(|| "sk-stored".into());
    assert_eq!(c.provider.api_key.as_deref(), Some(expected.as_str()));
    assert!(c.providers["openai"].openai_auth);
    assert_eq!(
        c.providers["proxy"].provider.api_key.as_deref(),
        Some(expected.as_str())
    );
    assert!(!c.providers["own"].openai_auth);
    assert_eq!(c.providers["own"].provider.api_key, None);
    // An incomplete provider nobody uses is left out rather than failing the load.
    let ids: Vec<&str> = c.providers.keys().map(String::as_str).collect();
    assert_eq!(ids, ["local", "openai", "own", "proxy"]);
    assert!(!c.warnings.iter().any(|w| w.contains("carry no API key")));
}

#[test]
fn unused_keys_are_named() {
    let c = load("bogus = 1\nnotify = [\"x\"]\n", cli(&[])).unwrap();
    assert_eq!(c.unused_keys, ["bogus", "notify"]);
}

#[test]
fn bad_overrides() {
    assert!(matches!(
        load("", cli(&["novalue"])),
        Err(ConfigError::Override(_))
    ));
    assert!(matches!(
        load("model_provider = \"ghost\"", cli(&[])),
        Err(ConfigError::UnknownProvider(_))
    ));
    assert!(matches!(
        load("", {
            let mut o = cli(&[]);
            o.profile = Some("missing".into());
            o
        }),
        Err(ConfigError::UnknownProfile(_))
    ));
}
