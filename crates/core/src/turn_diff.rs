//! The diffs of a turn's patches: each change's hunks for its item, and the whole turn's
//! unified diff once a patch is committed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wright_tools::apply_patch;

/// Every file the turn's patches touched: its text before the first patch, and now.
#[derive(Default)]
pub(crate) struct TurnDiff {
    files: BTreeMap<PathBuf, (Option<String>, Option<String>)>,
}

impl TurnDiff {
    /// Takes in one committed patch and returns the diff of the whole turn so far.
    pub(crate) fn record(
        &mut self,
        cwd: &Path,
        contents: Vec<(apply_patch::FileChange, Option<String>, Option<String>)>,
    ) -> Option<String> {
        for (change, before, after) in contents {
            match &change.move_path {
                Some(dest) => {
                    self.note(change.path.clone(), before.clone(), None);
                    self.note(dest.clone(), None, after);
                }
                None => self.note(change.path.clone(), before, after),
            }
        }
        let mut out = String::new();
        for (path, (before, after)) in &self.files {
            if before == after {
                continue;
            }
            let shown = path.strip_prefix(cwd).unwrap_or(path).display().to_string();
            out.push_str(&format!("diff --git a/{shown} b/{shown}\n"));
            out.push_str(&unified_diff(
                before.as_deref().unwrap_or_default(),
                after.as_deref().unwrap_or_default(),
                &shown,
            ));
        }
        (!out.is_empty()).then_some(out)
    }

    fn note(&mut self, path: PathBuf, before: Option<String>, after: Option<String>) {
        self.files
            .entry(path)
            .and_modify(|(_, now)| *now = after.clone())
            .or_insert((before, after));
    }
}

/// Just the `@@` hunks, as a change's `diff` in App Server items.
pub(crate) fn hunks(before: &str, after: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(1)
        .to_string()
}

fn unified_diff(before: &str, after: &str, path: &str) -> String {
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}
