use super::*;
use crate::model::SkillScope;
use crate::test_support::skill;

const HEADER: &str = "<skills_instructions>\n## Skills\nA skill is a set of local instructions";

fn many(count: usize, description: &str) -> Vec<Skill> {
    (0..count)
        .map(|i| skill(&format!("skill-{i:02}"), description, SkillScope::User))
        .collect()
}

#[test]
fn full_list_has_codex_layout() {
    let skills = [
        skill("lint", "Run the linter.", SkillScope::User),
        skill("creator", "Make skills.", SkillScope::System),
    ];
    let text = render_instructions(&skills, 100_000).expect("rendered");
    assert!(text.starts_with(HEADER), "{text}");
    assert!(text.contains(
        "\n### Available skills\n- creator: Make skills. (file: /skills/creator/SKILL.md)\n- lint: Run the linter. (file: /skills/lint/SKILL.md)\n### How to use skills\n- Discovery: "
    ), "{text}");
    assert!(text.ends_with("pick the next-best approach, and continue.\n</skills_instructions>"));
    assert_eq!(
        text.len(),
        fixed_bytes()
            + skills
                .iter()
                .map(|s| Line::new(s).full_cost())
                .sum::<usize>()
    );
}

#[test]
fn nothing_to_render() {
    assert_eq!(render_instructions(&[], 100_000), None);
    let mut off = skill("off", "disabled", SkillScope::Repo);
    off.enabled = false;
    assert_eq!(
        render_instructions(std::slice::from_ref(&off), 100_000),
        None
    );
    let on = skill("on", "enabled", SkillScope::Repo);
    let text = render_instructions(&[off, on], 100_000).expect("rendered");
    assert!(text.contains("- on: enabled"));
    assert!(!text.contains("- off:"));
    // Not even the fixed text fits.
    assert_eq!(render_instructions(&many(1, "d"), fixed_bytes() - 1), None);
}

#[test]
fn never_exceeds_any_budget() {
    let mut skills = many(
        40,
        "A fairly long description of what this skill does, with détails.",
    );
    skills.push(skill("long", &"é".repeat(500), SkillScope::Repo));
    for budget in (0..fixed_bytes() + 6_000).step_by(7) {
        if let Some(text) = render_instructions(&skills, budget) {
            assert!(
                text.len() <= budget,
                "budget {budget}: {} bytes",
                text.len()
            );
            assert!(text.starts_with(HEADER));
        }
    }
}

#[test]
fn descriptions_shrink_before_skills_drop() {
    let mut skills = many(3, "short");
    skills.push(skill("wordy", &"w".repeat(400), SkillScope::User));
    let minimum: usize = skills.iter().map(|s| Line::new(s).minimum_cost()).sum();
    let budget = fixed_bytes() + minimum + 3 * "short ".len() + 50;
    let (text, report) = render_instructions_with_report(&skills, budget).expect("rendered");
    assert!(text.len() <= budget);
    assert_eq!(
        (report.included, report.omitted, report.shortened),
        (4, 0, 1)
    );
    assert!(text.contains("- skill-00: short (file: /skills/skill-00/SKILL.md)"));
    let wordy = format!("- wordy: {} (file: /skills/wordy/SKILL.md)", "w".repeat(49));
    assert!(text.contains(&wordy), "{text}");
    assert!(!text.contains("Exceeded skills context budget"));
}

#[test]
fn skills_that_do_not_fit_are_counted_in_a_note() {
    let skills = many(30, "A description that will not survive.");
    let budget = fixed_bytes() + 600;
    let (text, report) = render_instructions_with_report(&skills, budget).expect("rendered");
    assert!(text.len() <= budget, "{} > {budget}", text.len());
    assert!(report.included > 0 && report.omitted > 0);
    assert_eq!(report.included + report.omitted, 30);
    assert!(
        text.contains("- skill-00: (file: /skills/skill-00/SKILL.md)\n"),
        "{text}"
    );
    let note = format!(
        "Exceeded skills context budget. All skill descriptions were removed and {} additional skills were not included in the model-visible skills list.\n### How to use skills\n",
        report.omitted
    );
    assert!(text.contains(&note), "{text}");
    assert!(!text.contains("will not survive"));
}

#[test]
fn default_budget_follows_codex() {
    assert_eq!(default_budget_bytes(None), fixed_bytes() + 8_000);
    assert_eq!(default_budget_bytes(Some(0)), fixed_bytes() + 8_000);
    assert_eq!(default_budget_bytes(Some(200_000)), fixed_bytes() + 16_000);
}
