//! Helpers shared by the unit tests.

use std::fs;
use std::path::{Path, PathBuf};

use crate::model::{Skill, SkillScope};

/// Writes `dir/SKILL.md` with the given front matter fields and returns its path.
pub(crate) fn write_skill(dir: &Path, name: &str, description: &str) -> PathBuf {
    write_raw(
        dir,
        &format!("---\nname: {name}\ndescription: {description}\n---\n\n# {name}\nBody.\n"),
    )
}

/// Writes `dir/SKILL.md` with exactly `text`.
pub(crate) fn write_raw(dir: &Path, text: &str) -> PathBuf {
    fs::create_dir_all(dir).expect("create skill dir");
    let path = dir.join("SKILL.md");
    fs::write(&path, text).expect("write SKILL.md");
    path
}

/// A skill value that is not backed by a file.
pub(crate) fn skill(name: &str, description: &str, scope: SkillScope) -> Skill {
    Skill {
        name: name.to_string(),
        description: description.to_string(),
        short_description: None,
        path: PathBuf::from(format!("/skills/{name}/SKILL.md")),
        scope,
        enabled: true,
    }
}
