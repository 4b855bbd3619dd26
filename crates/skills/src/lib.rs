//! Agent skills: folders holding a `SKILL.md` whose YAML front matter names and describes
//! the skill (the format Codex and Claude Code share).
//!
//! - [`discover`] finds the skills for a cwd (repo, user, system and admin roots, see
//!   [`DiscoverOptions`]), reading only each file's front matter; [`fingerprint`] tells
//!   cheaply whether a new discovery would differ.
//! - [`render_instructions`] builds the `<skills_instructions>` block of the developer
//!   message, within a byte budget.
//! - [`mentioned`] finds the `$name` mentions in a user message, and [`inline`] builds the
//!   `<skill>` message carrying a mentioned skill's whole `SKILL.md`.
//!
//! Formats, limits and precedence follow Codex's `codex-rs/core-skills` (loader, render,
//! injection, config rules) and the App Server v2 schema (`skills/list`).

mod discover;
mod front_matter;
mod mention;
mod model;
mod render;
mod roots;
mod yaml;

pub use discover::{
    discover, fingerprint, DiscoverOptions, Discovery, MAX_DESCRIPTION_CHARS, MAX_DIRS_PER_ROOT,
    MAX_NAME_CHARS, MAX_SCAN_DEPTH,
};
pub use mention::{inline, mentioned};
pub use model::{
    BundledSkillsConfig, Skill, SkillConfigEntry, SkillError, SkillScope, SkillsConfig,
};
pub use render::{
    default_budget_bytes, render_instructions, render_instructions_with_report, RenderReport,
};

/// The largest `SKILL.md` [`inline`] will add to a conversation (256 KiB).
pub const MAX_SKILL_FILE_BYTES: usize = front_matter::MAX_SKILL_FILE_BYTES;

#[cfg(test)]
mod test_support;
