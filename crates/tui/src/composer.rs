//! The composer: a multi-line text field with history (↑/↓ on the first/last line) and large
//! pastes kept as a placeholder until the message is sent.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

use crate::theme::Theme;

/// A paste longer than this (characters) or with more lines shows as a placeholder.
pub const PASTE_CHARS: usize = 1000;
pub const PASTE_LINES: usize = 10;

#[derive(Debug, Default)]
pub struct Composer {
    text: String,
    /// Byte offset of the cursor in `text`, always on a char boundary.
    cursor: usize,
    history: Vec<String>,
    /// Which history entry is shown (`None`: the draft).
    browsing: Option<usize>,
    draft: String,
    /// Placeholders in `text` and what they stand for.
    pastes: Vec<(String, String)>,
}

/// What a key did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The text changed or the cursor moved.
    Edited,
    /// Enter: the message to send (placeholders expanded).
    Submit(String),
    /// Not a key the composer takes.
    Ignored,
}

impl Composer {
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn set_text(&mut self, text: &str) {
        self.text = text.to_string();
        self.cursor = self.text.len();
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
        self.pastes.clear();
        self.browsing = None;
    }

    /// Inserts `s` at the cursor.
    pub fn insert(&mut self, s: &str) {
        self.text.insert_str(self.cursor, s);
        self.cursor += s.len();
    }

    /// A bracketed paste: inserted as typed, or as a placeholder when large.
    pub fn paste(&mut self, content: &str) {
        let content = content.replace("\r\n", "\n").replace('\r', "\n");
        let chars = content.chars().count();
        let lines = content.lines().count();
        if chars > PASTE_CHARS || lines > PASTE_LINES {
            let mut placeholder = format!("[Pasted {lines} lines, {chars} chars]");
            // Two equal pastes need two distinct placeholders.
            let same = self
                .pastes
                .iter()
                .filter(|(p, _)| p.starts_with(&placeholder[..placeholder.len() - 1]))
                .count();
            if same > 0 {
                placeholder = format!("[Pasted {lines} lines, {chars} chars #{}]", same + 1);
            }
            self.insert(&placeholder);
            self.pastes.push((placeholder, content));
        } else {
            self.insert(&content);
        }
    }

    /// The `@mention` being typed: where it starts (the `@`) and what follows it, when the
    /// cursor is at the end of a word that starts with `@`.
    pub fn mention(&self) -> Option<(usize, &str)> {
        let before = &self.text[..self.cursor];
        let start = before.rfind(char::is_whitespace).map_or(0, |i| i + 1);
        let word = &before[start..];
        let after_ok = self.text[self.cursor..]
            .chars()
            .next()
            .is_none_or(char::is_whitespace);
        (word.starts_with('@') && after_ok).then(|| (start, &word[1..]))
    }

    /// Replaces the `@mention` under the cursor with `text` and a space.
    pub fn complete_mention(&mut self, text: &str) {
        if let Some((start, _)) = self.mention() {
            let replacement = format!("{text} ");
            self.text.replace_range(start..self.cursor, &replacement);
            self.cursor = start + replacement.len();
        }
    }

    /// Remembers a sent message for ↑.
    pub fn remember(&mut self, text: &str) {
        if !text.trim().is_empty() && self.history.last().map(String::as_str) != Some(text) {
            self.history.push(text.to_string());
        }
    }

    pub fn key(&mut self, key: KeyEvent) -> Outcome {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let alt = key.modifiers.contains(KeyModifiers::ALT);
        let shift = key.modifiers.contains(KeyModifiers::SHIFT);
        match key.code {
            KeyCode::Enter if shift || alt => self.insert("\n"),
            KeyCode::Char('j') if ctrl => self.insert("\n"),
            KeyCode::Enter => {
                if self.text.trim().is_empty() {
                    return Outcome::Ignored;
                }
                let mut message = self.text.clone();
                for (placeholder, content) in &self.pastes {
                    message = message.replacen(placeholder.as_str(), content, 1);
                }
                let typed = self.text.clone();
                self.remember(&typed);
                self.clear();
                return Outcome::Submit(message);
            }
            KeyCode::Char('a') if ctrl => self.cursor = self.line_start(),
            KeyCode::Char('e') if ctrl => self.cursor = self.line_end(),
            KeyCode::Char('u') if ctrl => {
                let start = self.line_start();
                self.text.replace_range(start..self.cursor, "");
                self.cursor = start;
            }
            KeyCode::Char('k') if ctrl => {
                let end = self.line_end();
                self.text.replace_range(self.cursor..end, "");
            }
            KeyCode::Char('w') if ctrl => self.delete_word_back(),
            KeyCode::Backspace if alt || ctrl => self.delete_word_back(),
            KeyCode::Char(c) if !ctrl => {
                let mut buf = [0u8; 4];
                self.insert(c.encode_utf8(&mut buf));
            }
            KeyCode::Backspace => {
                if let Some(prev) = self.prev_boundary(self.cursor) {
                    // A placeholder goes as a whole.
                    if let Some(start) = self.placeholder_ending_at(self.cursor) {
                        self.text.replace_range(start..self.cursor, "");
                        self.cursor = start;
                    } else {
                        self.text.replace_range(prev..self.cursor, "");
                        self.cursor = prev;
                    }
                }
            }
            KeyCode::Delete => {
                if let Some(next) = self.next_boundary(self.cursor) {
                    self.text.replace_range(self.cursor..next, "");
                }
            }
            KeyCode::Left => {
                if let Some(prev) = self.prev_boundary(self.cursor) {
                    self.cursor = prev;
                }
            }
            KeyCode::Right => {
                if let Some(next) = self.next_boundary(self.cursor) {
                    self.cursor = next;
                }
            }
            KeyCode::Home => self.cursor = self.line_start(),
            KeyCode::End => self.cursor = self.line_end(),
            KeyCode::Up => {
                if self.line_start() == 0 {
                    return self.history_step(-1);
                }
                self.move_vertical(-1);
            }
            KeyCode::Down => {
                if self.line_end() == self.text.len() {
                    return self.history_step(1);
                }
                self.move_vertical(1);
            }
            _ => return Outcome::Ignored,
        }
        Outcome::Edited
    }

    fn history_step(&mut self, dir: i32) -> Outcome {
        if self.history.is_empty() {
            return Outcome::Ignored;
        }
        let next = match (self.browsing, dir) {
            (None, -1) => {
                self.draft = self.text.clone();
                Some(self.history.len() - 1)
            }
            (None, _) => return Outcome::Ignored,
            (Some(0), -1) => Some(0),
            (Some(i), -1) => Some(i - 1),
            (Some(i), _) if i + 1 < self.history.len() => Some(i + 1),
            (Some(_), _) => None,
        };
        self.browsing = next;
        let text = match next {
            Some(i) => self.history[i].clone(),
            None => std::mem::take(&mut self.draft),
        };
        self.text = text;
        self.cursor = self.text.len();
        Outcome::Edited
    }

    fn placeholder_ending_at(&self, at: usize) -> Option<usize> {
        self.pastes
            .iter()
            .find(|(p, _)| self.text[..at].ends_with(p.as_str()))
            .map(|(p, _)| at - p.len())
    }

    fn prev_boundary(&self, at: usize) -> Option<usize> {
        self.text[..at].char_indices().next_back().map(|(i, _)| i)
    }

    fn next_boundary(&self, at: usize) -> Option<usize> {
        self.text[at..].chars().next().map(|c| at + c.len_utf8())
    }

    fn line_start(&self) -> usize {
        self.text[..self.cursor].rfind('\n').map_or(0, |i| i + 1)
    }

    fn line_end(&self) -> usize {
        self.text[self.cursor..]
            .find('\n')
            .map_or(self.text.len(), |i| self.cursor + i)
    }

    fn delete_word_back(&mut self) {
        let before = &self.text[..self.cursor];
        let trimmed = before.trim_end_matches(' ');
        let start = trimmed.rfind([' ', '\n']).map_or(0, |i| i + 1);
        self.text.replace_range(start..self.cursor, "");
        self.cursor = start;
    }

    /// Moves to the same column of the line above (-1) or below (1).
    fn move_vertical(&mut self, dir: i32) {
        let start = self.line_start();
        let col = self.text[start..self.cursor].chars().count();
        let (line_start, line_end) = if dir < 0 {
            let end = start - 1;
            let begin = self.text[..end].rfind('\n').map_or(0, |i| i + 1);
            (begin, end)
        } else {
            let begin = self.line_end() + 1;
            let end = self.text[begin..]
                .find('\n')
                .map_or(self.text.len(), |i| begin + i);
            (begin, end)
        };
        let target = self.text[line_start..line_end]
            .char_indices()
            .nth(col)
            .map_or(line_end, |(i, _)| line_start + i);
        self.cursor = target;
    }

    /// The composer's lines at `width` (hard-wrapped so the cursor can be placed), and where the
    /// cursor is: (column, row) within them.
    pub fn render(
        &self,
        width: u16,
        theme: &Theme,
        placeholder: &str,
    ) -> (Vec<Line<'static>>, (u16, u16)) {
        let width = usize::from(width.max(4));
        let prompt = Span::styled("› ", theme.user());
        if self.text.is_empty() {
            let line = Line::from(vec![
                prompt,
                Span::styled(placeholder.to_string(), theme.dim()),
            ]);
            return (vec![line], (2, 0));
        }
        let mut lines: Vec<Line<'static>> = Vec::new();
        let mut row = String::new();
        let mut col = 2usize;
        let mut cursor = (2u16, 0u16);
        let mut first = true;
        let flush = |row: &mut String, lines: &mut Vec<Line<'static>>, first: &mut bool| {
            let lead = if *first {
                prompt.clone()
            } else {
                Span::raw("  ")
            };
            *first = false;
            lines.push(Line::from(vec![lead, Span::raw(std::mem::take(row))]));
        };
        for (i, c) in self.text.char_indices() {
            if i == self.cursor {
                cursor = (col as u16, lines.len() as u16);
            }
            if c == '\n' {
                flush(&mut row, &mut lines, &mut first);
                col = 2;
                continue;
            }
            let w = c.width().unwrap_or(0);
            if col + w > width {
                flush(&mut row, &mut lines, &mut first);
                col = 2;
                if i == self.cursor {
                    cursor = (col as u16, lines.len() as u16);
                }
            }
            if !c.is_control() {
                row.push(c);
                col += w;
            }
        }
        if self.cursor == self.text.len() {
            if col >= width {
                flush(&mut row, &mut lines, &mut first);
                col = 2;
            }
            cursor = (col as u16, lines.len() as u16);
        }
        flush(&mut row, &mut lines, &mut first);
        (lines, cursor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode) -> KeyEvent {
        KeyEvent::new(code, KeyModifiers::NONE)
    }

    fn typed(c: &mut Composer, s: &str) {
        for ch in s.chars() {
            c.key(key(KeyCode::Char(ch)));
        }
    }

    #[test]
    fn enter_sends_and_shift_enter_breaks_the_line() {
        let mut c = Composer::default();
        typed(&mut c, "fix it");
        c.key(KeyEvent::new(KeyCode::Enter, KeyModifiers::SHIFT));
        typed(&mut c, "now");
        assert_eq!(
            c.key(key(KeyCode::Enter)),
            Outcome::Submit("fix it\nnow".into())
        );
        assert!(c.is_empty());
        // Nothing to send: Enter does nothing.
        assert_eq!(c.key(key(KeyCode::Enter)), Outcome::Ignored);
    }

    #[test]
    fn up_and_down_walk_the_history_and_keep_the_draft() {
        let mut c = Composer::default();
        for m in ["one", "two"] {
            typed(&mut c, m);
            c.key(key(KeyCode::Enter));
        }
        typed(&mut c, "dra");
        c.key(key(KeyCode::Up));
        assert_eq!(c.text(), "two");
        c.key(key(KeyCode::Up));
        assert_eq!(c.text(), "one");
        c.key(key(KeyCode::Down));
        c.key(key(KeyCode::Down));
        assert_eq!(c.text(), "dra");
    }

    #[test]
    fn a_large_paste_is_a_placeholder_until_sent() {
        let mut c = Composer::default();
        let big = "x\n".repeat(50);
        typed(&mut c, "see: ");
        c.paste(&big);
        assert_eq!(c.text(), "see: [Pasted 50 lines, 100 chars]");
        match c.key(key(KeyCode::Enter)) {
            Outcome::Submit(m) => assert_eq!(m, format!("see: {big}")),
            other => panic!("{other:?}"),
        }
        // Backspace removes a placeholder whole.
        c.paste(&big);
        c.key(key(KeyCode::Backspace));
        assert!(c.is_empty());
        // A small paste is typed in as it is.
        c.paste("a\r\nb");
        assert_eq!(c.text(), "a\nb");
    }

    #[test]
    fn an_at_mention_is_found_and_completed() {
        let mut c = Composer::default();
        typed(&mut c, "look at @src/ma");
        assert_eq!(c.mention(), Some((8, "src/ma")));
        c.complete_mention("src/main.rs");
        assert_eq!(c.text(), "look at src/main.rs ");
        assert_eq!(c.mention(), None);
        // An e-mail address inside a word is not a mention.
        c.clear();
        typed(&mut c, "mail a@b");
        assert_eq!(c.mention(), None);
    }

    #[test]
    fn the_cursor_follows_wrapping_and_multibyte_text() {
        let mut c = Composer::default();
        typed(&mut c, "héllo wörld");
        let (lines, cursor) = c.render(8, &Theme::plain(), "");
        let texts: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(texts, ["› héllo ", "  wörld"]);
        assert_eq!(cursor, (7, 1));
        c.key(key(KeyCode::Home));
        assert_eq!(c.render(8, &Theme::plain(), "").1, (2, 0));
        c.key(key(KeyCode::Right));
        c.key(key(KeyCode::Right));
        c.key(key(KeyCode::Backspace));
        assert_eq!(c.text(), "hllo wörld");
    }
}
