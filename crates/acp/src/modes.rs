//! Session modes and the model choice. Modes are approval presets, as in Codex's ACP adapter:
//! each is an approval policy plus a sandbox, sent with every `turn/start` once chosen.

use agent_client_protocol::v1::schema::{
    SessionConfigOption, SessionConfigOptionCategory, SessionConfigSelectOption, SessionMode,
    SessionModeState,
};
use wright_protocol::v2::{AskForApproval, Model, SandboxPolicy};

/// One approval preset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    approval: Approval,
    sandbox: Sandbox,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Approval {
    OnRequest,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sandbox {
    ReadOnly,
    WorkspaceWrite,
    FullAccess,
}

/// The presets, most careful first.
pub const PRESETS: [Preset; 3] = [
    Preset {
        id: "read-only",
        name: "Read Only",
        description: "wright reads files; editing them or running commands beyond reading asks first",
        approval: Approval::OnRequest,
        sandbox: Sandbox::ReadOnly,
    },
    Preset {
        id: "auto",
        name: "Auto",
        description: "wright reads, edits and runs commands in the workspace; anything beyond it, or the network, asks first",
        approval: Approval::OnRequest,
        sandbox: Sandbox::WorkspaceWrite,
    },
    Preset {
        id: "full-access",
        name: "Full Access",
        description: "wright edits files and runs commands anywhere, network included, without asking",
        approval: Approval::Never,
        sandbox: Sandbox::FullAccess,
    },
];

/// The mode a thread starts in when its settings match no preset: no override at all.
pub const AS_CONFIGURED: &str = "as-configured";

impl Preset {
    /// The `approvalPolicy` of `turn/start`.
    pub fn approval_policy(&self) -> AskForApproval {
        match self.approval {
            Approval::OnRequest => AskForApproval::OnRequest,
            Approval::Never => AskForApproval::Never,
        }
    }

    /// The `sandboxPolicy` of `turn/start` (the thread's own roots stay in force).
    pub fn sandbox_policy(&self) -> SandboxPolicy {
        match self.sandbox {
            Sandbox::ReadOnly => SandboxPolicy::ReadOnly {
                network_access: false,
            },
            Sandbox::WorkspaceWrite => SandboxPolicy::WorkspaceWrite {
                writable_roots: Vec::new(),
                network_access: false,
                exclude_tmpdir_env_var: false,
                exclude_slash_tmp: false,
            },
            Sandbox::FullAccess => SandboxPolicy::DangerFullAccess,
        }
    }

    fn matches(&self, approval: &AskForApproval, sandbox: &SandboxPolicy) -> bool {
        let approval_matches = matches!(
            (self.approval, approval),
            (Approval::OnRequest, AskForApproval::OnRequest)
                | (Approval::Never, AskForApproval::Never)
        );
        let sandbox_matches = matches!(
            (self.sandbox, sandbox),
            (Sandbox::ReadOnly, SandboxPolicy::ReadOnly { .. })
                | (
                    Sandbox::WorkspaceWrite,
                    SandboxPolicy::WorkspaceWrite { .. }
                )
                | (Sandbox::FullAccess, SandboxPolicy::DangerFullAccess)
        );
        approval_matches && sandbox_matches
    }
}

/// The preset with this id.
pub fn preset(id: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id == id)
}

/// The modes a session offers and the one it is in. A thread whose configured settings match
/// a preset is in that preset; otherwise it is in [`AS_CONFIGURED`], offered beside them.
pub fn mode_state(
    current: Option<&str>,
    approval: &AskForApproval,
    sandbox: &SandboxPolicy,
) -> SessionModeState {
    let matched = current
        .and_then(preset)
        .or_else(|| PRESETS.iter().find(|p| p.matches(approval, sandbox)));
    let mut modes: Vec<SessionMode> = Vec::new();
    if matched.is_none() || current == Some(AS_CONFIGURED) {
        modes.push(
            SessionMode::new(AS_CONFIGURED, "As Configured")
                .description("the approval policy and sandbox of wright's config".to_string()),
        );
    }
    modes.extend(
        PRESETS
            .iter()
            .map(|p| SessionMode::new(p.id, p.name).description(p.description.to_string())),
    );
    let current_id = match (current, matched) {
        (Some(AS_CONFIGURED), _) | (_, None) => AS_CONFIGURED,
        (_, Some(p)) => p.id,
    };
    SessionModeState::new(current_id, modes)
}

/// Id of the model config option.
pub const MODEL_OPTION: &str = "model";

/// The model choice as a config option (ACP's stable way to pick a model), from `model/list`.
/// The thread's model is always among the values, listed or not.
pub fn model_option(current: &str, models: &[Model]) -> SessionConfigOption {
    let mut options: Vec<SessionConfigSelectOption> = models
        .iter()
        .filter(|m| !m.hidden || m.model == current)
        .map(|m| {
            SessionConfigSelectOption::new(m.model.clone(), m.display_name.clone())
                .description((!m.description.is_empty()).then(|| m.description.clone()))
        })
        .collect();
    if !models.iter().any(|m| m.model == current) {
        options.insert(
            0,
            SessionConfigSelectOption::new(current.to_string(), current.to_string()),
        );
    }
    SessionConfigOption::select(MODEL_OPTION, "Model", current.to_string(), options)
        .category(SessionConfigOptionCategory::Model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_settings_select_the_matching_preset() {
        let workspace = preset("auto").map(Preset::sandbox_policy).unwrap();
        let state = mode_state(None, &AskForApproval::OnRequest, &workspace);
        assert_eq!(&*state.current_mode_id.0, "auto");
        assert_eq!(state.available_modes.len(), 3);
        let state = mode_state(
            None,
            &AskForApproval::Never,
            &SandboxPolicy::DangerFullAccess,
        );
        assert_eq!(&*state.current_mode_id.0, "full-access");
    }

    #[test]
    fn settings_matching_no_preset_are_offered_as_configured() {
        let workspace = preset("auto").map(Preset::sandbox_policy).unwrap();
        let state = mode_state(None, &AskForApproval::Never, &workspace);
        assert_eq!(&*state.current_mode_id.0, AS_CONFIGURED);
        assert_eq!(state.available_modes.len(), 4);
        // A chosen preset wins over the configured settings.
        let state = mode_state(Some("read-only"), &AskForApproval::Never, &workspace);
        assert_eq!(&*state.current_mode_id.0, "read-only");
    }

    #[test]
    fn presets_carry_codex_policies() {
        let full = preset("full-access").unwrap();
        assert_eq!(full.approval_policy(), AskForApproval::Never);
        assert_eq!(full.sandbox_policy(), SandboxPolicy::DangerFullAccess);
        let ro = preset("read-only").unwrap();
        assert!(matches!(
            ro.sandbox_policy(),
            SandboxPolicy::ReadOnly { .. }
        ));
        assert!(preset("yolo").is_none());
    }

    #[test]
    fn the_current_model_is_always_a_value() {
        let option = model_option("custom-model", &[]);
        let wire = serde_json::to_value(&option).unwrap();
        assert_eq!(wire["currentValue"], "custom-model");
        assert_eq!(wire["category"], "model");
        assert_eq!(wire["options"][0]["value"], "custom-model");
    }
}
