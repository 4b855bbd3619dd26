//! The `<skills_instructions>` block Codex adds to the developer message: a header, one line
//! per enabled skill and the usage rules, fitted into a byte budget.
//!
//! The texts are Codex's (`codex-rs/core-skills/src/render.rs`, absolute-path variant, as
//! seen in Codex sessions of June 2026), so models tuned on Codex read the same prompt.

use crate::model::{Skill, SkillScope};

const OPEN_TAG: &str = "<skills_instructions>";
const CLOSE_TAG: &str = "</skills_instructions>";
const INTRO: &str = "A skill is a set of local instructions to follow that is stored in a `SKILL.md` file. Below is the list of skills that can be used. Each entry includes a name, description, and file path so you can open the source for full instructions when using a specific skill.";
const HOW_TO_USE: &str = r###"- Discovery: The list above is the skills available in this session (name + description + file path). Skill bodies live on disk at the listed paths.
- Trigger rules: If the user names a skill (with `$SkillName` or plain text) OR the task clearly matches a skill's description shown above, you must use that skill for that turn. Multiple mentions mean use them all. Do not carry skills across turns unless re-mentioned.
- Missing/blocked: If a named skill isn't in the list or the path can't be read, say so briefly and continue with the best fallback.
- How to use a skill (progressive disclosure):
  1) After deciding to use a skill, the main agent must open and read its `SKILL.md` completely before taking task actions. If a read is truncated or paginated, continue until EOF.
  2) When `SKILL.md` references relative paths (e.g., `scripts/foo.py`), resolve them relative to the skill directory listed above first, and only consider other paths if needed.
  3) If `SKILL.md` points to extra folders such as `references/`, use its routing instructions to identify the files required for the task. The main agent must read each required instruction or reference file itself before acting on it. Do not delegate reading, summarizing, or interpreting skill instructions to a subagent. Subagents may still perform task work when the selected skill allows it.
  4) If `scripts/` exist, prefer running or patching them instead of retyping large code blocks.
  5) If `assets/` or templates exist, reuse them instead of recreating from scratch.
- Coordination and sequencing:
  - If multiple skills apply, choose the minimal set that covers the request and state the order you'll use them.
  - Announce which skill(s) you're using and why (one short line). If you skip an obvious skill, say why.
- Context hygiene:
  - Progressive disclosure applies to selecting relevant files, not partially reading a selected instruction file. Do not load unrelated references, scripts, or assets.
  - Avoid deep reference-chasing: prefer opening only files directly linked from `SKILL.md` unless you're blocked.
  - When variants exist (frameworks, providers, domains), pick only the relevant reference file(s) and note that choice.
- Safety and fallback: If a skill can't be applied cleanly (missing files, unclear instructions), state the issue, pick the next-best approach, and continue."###;

/// Codex's budget for the skill lines when the context window is unknown (characters).
const DEFAULT_LINES_BUDGET: usize = 8_000;
/// Codex gives the skill lines 2% of the context window, counted in tokens of ~4 bytes.
const CONTEXT_WINDOW_PERCENT: u64 = 2;
const BYTES_PER_TOKEN: u64 = 4;

/// Bytes of the block that do not depend on the skills.
fn fixed_bytes() -> usize {
    header_len() + footer_len()
}

fn header_len() -> usize {
    // "<open>\n## Skills\n<intro>\n### Available skills\n"
    OPEN_TAG.len() + 1 + "## Skills\n".len() + INTRO.len() + 1 + "### Available skills\n".len()
}

fn footer_len() -> usize {
    // "### How to use skills\n<rules>\n<close>"
    "### How to use skills\n".len() + HOW_TO_USE.len() + 1 + CLOSE_TAG.len()
}

/// A budget in bytes for [`render_instructions`] following Codex: the fixed text plus 2% of
/// the context window (in ~4-byte tokens) for the skill lines, or 8000 bytes for them when
/// the window is unknown.
pub fn default_budget_bytes(context_window_tokens: Option<u64>) -> usize {
    let lines = context_window_tokens
        .filter(|window| *window > 0)
        .map(|window| {
            let tokens = (window.saturating_mul(CONTEXT_WINDOW_PERCENT) / 100).max(1);
            usize::try_from(tokens.saturating_mul(BYTES_PER_TOKEN)).unwrap_or(usize::MAX)
        })
        .unwrap_or(DEFAULT_LINES_BUDGET);
    fixed_bytes().saturating_add(lines)
}

/// How [`render_instructions_with_report`] fitted the list into the budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RenderReport {
    /// Enabled skills given.
    pub total: usize,
    /// Skills listed (with a full, shortened or no description).
    pub included: usize,
    /// Skills left out entirely (the block then says how many).
    pub omitted: usize,
    /// Listed skills whose description was shortened or dropped.
    pub shortened: usize,
}

/// The `<skills_instructions>` block for the enabled skills, at most `budget_bytes` long;
/// `None` when no skill is enabled or not even the fixed text fits.
///
/// Skills are listed as `- {name}: {description} (file: {path})`, system skills first, then
/// admin, repo and user, each by name (Codex's prompt order). When the full list is too long:
/// first descriptions are shortened, a character at a time round-robin so short ones stay
/// whole (Codex's scheme); if even `- {name}: (file: {path})` for every skill is too long,
/// skills are listed that way in order while they fit and a closing note says how many were
/// left out. The same input always gives the same text.
pub fn render_instructions(skills: &[Skill], budget_bytes: usize) -> Option<String> {
    render_instructions_with_report(skills, budget_bytes).map(|(text, _)| text)
}

/// [`render_instructions`] plus what had to be cut, so a caller can warn the user.
pub fn render_instructions_with_report(
    skills: &[Skill],
    budget_bytes: usize,
) -> Option<(String, RenderReport)> {
    let mut enabled: Vec<&Skill> = skills.iter().filter(|skill| skill.enabled).collect();
    if enabled.is_empty() {
        return None;
    }
    enabled.sort_by(|a, b| {
        prompt_rank(a.scope)
            .cmp(&prompt_rank(b.scope))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.path.cmp(&b.path))
    });
    let lines: Vec<Line<'_>> = enabled.iter().map(|skill| Line::new(skill)).collect();
    let available = budget_bytes.checked_sub(fixed_bytes())?;

    let full: usize = lines.iter().map(Line::full_cost).sum();
    let minimum: usize = lines.iter().map(Line::minimum_cost).sum();
    let mut report = RenderReport {
        total: lines.len(),
        ..RenderReport::default()
    };
    let mut body = String::with_capacity(budget_bytes.min(full + fixed_bytes()));
    if full <= available {
        for line in &lines {
            line.push(&mut body, line.description.len());
        }
        report.included = lines.len();
    } else if minimum <= available {
        let kept = share_descriptions(&lines, available - minimum);
        for (line, &keep) in lines.iter().zip(&kept) {
            line.push(&mut body, keep);
            report.shortened += usize::from(keep < line.description.len());
        }
        report.included = lines.len();
    } else {
        // Reserve the longest note this list could need, then fill with bare lines.
        let reserve = omitted_note(lines.len()).len() + 1;
        let mut room = available.checked_sub(reserve)?;
        for line in &lines {
            if line.minimum_cost() <= room {
                room -= line.minimum_cost();
                line.push(&mut body, 0);
                report.included += 1;
            } else {
                report.omitted += 1;
            }
        }
        report.shortened = report.included;
        body.push_str(&omitted_note(report.omitted));
        body.push('\n');
    }
    if report.shortened > 0 || report.omitted > 0 {
        tracing::info!(
            ?report,
            budget_bytes,
            "skills list trimmed to fit its budget"
        );
    }

    let mut text = String::with_capacity(fixed_bytes() + body.len());
    text.push_str(OPEN_TAG);
    text.push_str("\n## Skills\n");
    text.push_str(INTRO);
    text.push_str("\n### Available skills\n");
    text.push_str(&body);
    text.push_str("### How to use skills\n");
    text.push_str(HOW_TO_USE);
    text.push('\n');
    text.push_str(CLOSE_TAG);
    debug_assert!(text.len() <= budget_bytes);
    Some((text, report))
}

/// Codex's wording for skills left out of the list.
fn omitted_note(omitted: usize) -> String {
    let (noun, verb) = if omitted == 1 {
        ("skill", "was")
    } else {
        ("skills", "were")
    };
    format!("Exceeded skills context budget. All skill descriptions were removed and {omitted} additional {noun} {verb} not included in the model-visible skills list.")
}

/// Codex's prompt order: system, admin, repo, user.
fn prompt_rank(scope: SkillScope) -> u8 {
    match scope {
        SkillScope::System => 0,
        SkillScope::Admin => 1,
        SkillScope::Repo => 2,
        SkillScope::User => 3,
    }
}

struct Line<'a> {
    name: &'a str,
    description: &'a str,
    /// Forward slashes, as Codex prints paths on every platform.
    path: String,
}

impl<'a> Line<'a> {
    fn new(skill: &'a Skill) -> Self {
        Self {
            name: &skill.name,
            description: &skill.description,
            path: skill.path.to_string_lossy().replace('\\', "/"),
        }
    }

    /// Bytes of `- {name}: (file: {path})\n`.
    fn minimum_cost(&self) -> usize {
        "- ".len() + self.name.len() + ": (file: ".len() + self.path.len() + ")\n".len()
    }

    /// Bytes with the whole description (and the space after it).
    fn full_cost(&self) -> usize {
        self.minimum_cost() + extra_cost(self.description.len())
    }

    /// Appends the line with the first `keep` bytes of the description.
    fn push(&self, out: &mut String, keep: usize) {
        let description = self.description[..keep].trim_end();
        out.push_str("- ");
        out.push_str(self.name);
        out.push_str(": ");
        if !description.is_empty() {
            out.push_str(description);
            out.push(' ');
        }
        out.push_str("(file: ");
        out.push_str(&self.path);
        out.push_str(")\n");
    }
}

/// Extra bytes a description prefix of `len` bytes adds to a minimal line.
fn extra_cost(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        len + 1
    }
}

/// Splits `room` bytes among the descriptions one character per skill per round, so every
/// description gets the same share and the room a short one leaves goes to the longer ones.
/// Returns the kept byte length of each description (always on a char boundary).
fn share_descriptions(lines: &[Line<'_>], mut room: usize) -> Vec<usize> {
    let mut kept = vec![0usize; lines.len()];
    loop {
        let mut grew = false;
        for (line, keep) in lines.iter().zip(kept.iter_mut()) {
            let Some(next) = line.description[*keep..].chars().next() else {
                continue;
            };
            let grown = *keep + next.len_utf8();
            let delta = extra_cost(grown) - extra_cost(*keep);
            if delta <= room {
                room -= delta;
                *keep = grown;
                grew = true;
            }
        }
        if !grew {
            return kept;
        }
    }
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
