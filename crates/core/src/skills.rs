//! Skills in a thread: discovered when the thread starts (off the model's path: a few
//! milliseconds for hundreds of skills), listed for the model in the developer layer where
//! Codex puts `<skills_instructions>`, and inlined when the user mentions one as `$name`.

use serde_json::Value;
use wright_skills::{DiscoverOptions, Discovery, Skill};

use crate::config::Config;

/// Where this configuration looks for skills.
pub fn options(config: &Config) -> DiscoverOptions {
    let mut options = DiscoverOptions::new(config.wright_home.clone(), config.cwd.clone());
    options.include_claude = config.skills_include_claude;
    options.extra_roots = config.skills_extra_roots.clone();
    options.config = config.skills.clone();
    options
}

/// The skills of this configuration; a file that does not load is reported, never fatal.
pub fn discover(config: &Config) -> Discovery {
    let found = wright_skills::discover(&options(config));
    for error in &found.errors {
        tracing::warn!(
            "skill {} not loaded: {}",
            error.path.display(),
            error.message
        );
    }
    found
}

/// The `<skills_instructions>` block for the model, within its budget (none when there is no
/// enabled skill, or `skills.include_instructions = false`).
pub fn instructions(config: &Config, skills: &[Skill], context_window: u64) -> Option<String> {
    if config.skills.include_instructions == Some(false) {
        return None;
    }
    let budget = wright_skills::default_budget_bytes(Some(context_window));
    wright_skills::render_instructions(skills, budget)
}

/// The user messages that inline the skills `text` mentions as `$name`, in Codex's
/// `<skill>` wrapper. A skill that cannot be read is said in its place.
pub fn mentioned(text: &str, skills: &[Skill]) -> Vec<Value> {
    wright_skills::mentioned(text, skills)
        .into_iter()
        .map(|skill| {
            let text = match wright_skills::inline(skill) {
                Ok(text) => text,
                Err(err) => format!("The skill `{}` could not be read: {err}", skill.name),
            };
            crate::context::message("user", &[text])
        })
        .collect()
}
