//! The data types: a loaded [`Skill`], its [`SkillScope`], a per-file [`SkillError`] and the
//! `[skills]` config table ([`SkillsConfig`]).
//!
//! Field names and casing follow the App Server v2 schema (`SkillMetadata`, `SkillErrorInfo`,
//! `SkillScope` in `SkillsListResponse.json`) so the app server can embed these values as they
//! are; the config types mirror Codex's `[skills]` table in `config.toml`.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// Where a skill was found. Serialized as in the App Server schema: `"user"`, `"repo"`,
/// `"system"`, `"admin"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SkillScope {
    /// `$WRIGHT_HOME/skills`, `~/.agents/skills`, `~/.claude/skills` and extra roots.
    User,
    /// `.agents/skills`, `.codex/skills` (and `.claude/skills`) from the cwd up to the project root.
    Repo,
    /// Skills shipped with wright, unpacked under `$WRIGHT_HOME/skills/.system`.
    System,
    /// Machine-wide skills set up by an administrator (Codex: `/etc/codex/skills`).
    Admin,
}

impl SkillScope {
    /// The schema's spelling of the scope.
    pub fn as_str(self) -> &'static str {
        match self {
            SkillScope::User => "user",
            SkillScope::Repo => "repo",
            SkillScope::System => "system",
            SkillScope::Admin => "admin",
        }
    }
}

/// One loaded skill: the front matter of its `SKILL.md` plus where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skill {
    /// `name` from the front matter (whitespace collapsed), or the folder's name when absent.
    pub name: String,
    /// `description` from the front matter, whitespace collapsed to single spaces.
    pub description: String,
    /// `metadata.short-description` from the front matter (Codex's legacy short description).
    pub short_description: Option<String>,
    /// Absolute path of the `SKILL.md` (inside a canonical skill folder).
    pub path: PathBuf,
    pub scope: SkillScope,
    /// False when `[[skills.config]]` disabled it: still listed, never rendered or mentioned.
    pub enabled: bool,
}

/// A problem with one `SKILL.md` (or a scan that had to stop early). Discovery collects these
/// instead of failing; the message is meant for people (`skills/list` shows it as is).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "camelCase")]
#[error("{}: {message}", path.display())]
pub struct SkillError {
    pub path: PathBuf,
    pub message: String,
}

/// The `[skills]` table of `config.toml`, as Codex spells it:
///
/// ```toml
/// [skills]
/// bundled = { enabled = true }      # the system skills
/// include_instructions = true       # whether turns get the <skills_instructions> block
///
/// [[skills.config]]
/// path = "/abs/path/to/SKILL.md"    # or: name = "skill-name"
/// enabled = false
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SkillsConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundled: Option<BundledSkillsConfig>,
    /// Read by the caller: `Some(false)` means do not send the skills list to the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_instructions: Option<bool>,
    /// Per-skill switches, applied in order: for each skill the last entry that selects it wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config: Vec<SkillConfigEntry>,
}

impl SkillsConfig {
    /// Whether the system (bundled) skills are loaded; true unless `bundled.enabled = false`.
    pub fn bundled_enabled(&self) -> bool {
        self.bundled.as_ref().is_none_or(|bundled| bundled.enabled)
    }
}

/// `[skills.bundled]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BundledSkillsConfig {
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// One `[[skills.config]]` entry: exactly one selector (`path` of a `SKILL.md`, or `name`) and
/// the state to give the selected skill(s). An entry with both or neither selector is ignored
/// (with a warning), as Codex does. This is also the shape of `skills/config/write` params.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SkillConfigEntry {
    /// Path selector: the skill's `SKILL.md` (compared after canonicalisation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// Name selector: every discovered skill with this name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub enabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_table_parses_from_toml_like_codex() {
        let text = r#"
            bundled = { enabled = false }
            [[config]]
            path = "/x/SKILL.md"
            enabled = false
            [[config]]
            name = "lint"
            enabled = true
        "#;
        let config: SkillsConfig = toml::from_str(text).expect("valid [skills] table");
        assert!(!config.bundled_enabled());
        assert_eq!(config.config.len(), 2);
        assert_eq!(config.config[0].path, Some(PathBuf::from("/x/SKILL.md")));
        assert!(!config.config[0].enabled);
        assert_eq!(config.config[1].name.as_deref(), Some("lint"));
        assert!(SkillsConfig::default().bundled_enabled());
    }

    #[test]
    fn skill_serializes_with_schema_field_names() {
        let skill = Skill {
            name: "lint".into(),
            description: "Run the linter".into(),
            short_description: Some("Lint".into()),
            path: PathBuf::from("/r/.agents/skills/lint/SKILL.md"),
            scope: SkillScope::Repo,
            enabled: true,
        };
        let value = serde_json::to_value(&skill).expect("serializable");
        assert_eq!(value["shortDescription"], "Lint");
        assert_eq!(value["scope"], "repo");
        assert_eq!(value["path"], "/r/.agents/skills/lint/SKILL.md");
        assert_eq!(value["enabled"], true);
    }
}
