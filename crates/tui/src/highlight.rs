//! Code in answers, coloured by syntax. syntect's grammars find the tokens; the colours are the
//! terminal's own palette (keywords magenta, strings green, comments dim, ...), so code reads
//! on light and dark backgrounds alike and `NO_COLOR` leaves only the dimmed comments.

use std::sync::OnceLock;

use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Span;
use syntect::parsing::{ParseState, ScopeStack, SyntaxSet};

use crate::theme::Theme;

fn syntaxes() -> &'static SyntaxSet {
    static SET: OnceLock<SyntaxSet> = OnceLock::new();
    SET.get_or_init(SyntaxSet::load_defaults_newlines)
}

/// Loads the grammars on a thread of their own, so the first code block does not wait.
pub fn warm_up() {
    std::thread::spawn(|| {
        syntaxes();
    });
}

/// Colours one code block, line by line (a grammar's state carries across lines).
pub struct Highlighter {
    state: ParseState,
    stack: ScopeStack,
    theme: Theme,
}

impl Highlighter {
    /// A highlighter for a fence's language (`rust`, `py`, `sh`, ...), if syntect knows it.
    pub fn new(lang: &str, theme: Theme) -> Option<Highlighter> {
        let token = lang.split([',', ' ']).next()?.trim();
        if token.is_empty() {
            return None;
        }
        let syntax = syntaxes().find_syntax_by_token(token)?;
        Some(Highlighter {
            state: ParseState::new(syntax),
            stack: ScopeStack::new(),
            theme,
        })
    }

    /// `line` (without its newline) as coloured spans; plain if the grammar fails on it.
    pub fn line(&mut self, line: &str) -> Vec<Span<'static>> {
        let with_newline = format!("{line}\n");
        let Ok(ops) = self.state.parse_line(&with_newline, syntaxes()) else {
            return vec![Span::raw(line.to_string())];
        };
        let mut spans = Vec::new();
        let mut at = 0;
        for (pos, op) in ops {
            let pos = pos.min(line.len());
            if pos > at {
                spans.push(Span::styled(line[at..pos].to_string(), self.style()));
                at = pos;
            }
            // A grammar error leaves the stack as it was; the text stays readable.
            let _ = self.stack.apply(&op);
        }
        if at < line.len() {
            spans.push(Span::styled(line[at..].to_string(), self.style()));
        }
        spans
    }

    /// The style of the innermost scope that has one.
    fn style(&self) -> Style {
        for scope in self.stack.as_slice().iter().rev() {
            let name = scope.build_string();
            if let Some(style) = self.classify(&name) {
                return style;
            }
        }
        Style::default()
    }

    fn classify(&self, scope: &str) -> Option<Style> {
        let color = |c: Color| Some(self.theme.color(c));
        let starts = |p: &str| scope.starts_with(p);
        if starts("comment") {
            return Some(Style::default().add_modifier(Modifier::DIM));
        }
        if starts("string") {
            return color(Color::Green);
        }
        if starts("constant.numeric") || starts("constant.language") || starts("constant.character")
        {
            return color(Color::Yellow);
        }
        if starts("keyword") || starts("storage.modifier") || starts("storage.type.function") {
            return color(Color::Magenta);
        }
        if starts("entity.name.function")
            || starts("support.function")
            || starts("variable.function")
        {
            return color(Color::Blue);
        }
        if starts("entity.name.type")
            || starts("entity.name.class")
            || starts("support.type")
            || starts("storage.type")
        {
            return color(Color::Cyan);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn styled(spans: &[Span<'static>], text: &str) -> Style {
        spans
            .iter()
            .find(|s| s.content.contains(text))
            .map(|s| s.style)
            .unwrap_or_else(|| panic!("{text:?} not in {spans:?}"))
    }

    #[test]
    fn keywords_strings_and_comments_get_their_colours() {
        let mut h = Highlighter::new("python", Theme::colored()).expect("python is known");
        let spans = h.line("def greet(name):  # say hi");
        assert_eq!(styled(&spans, "def").fg, Some(Color::Magenta));
        assert_eq!(styled(&spans, "greet").fg, Some(Color::Blue));
        assert!(styled(&spans, "say hi")
            .add_modifier
            .contains(Modifier::DIM));
        // The text is all there, in order.
        let joined: String = spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(joined, "def greet(name):  # say hi");
        // State carries over: a string opened on one line is still a string on the next.
        let mut h = Highlighter::new("py", Theme::colored()).expect("py");
        h.line("s = \"\"\"start");
        assert_eq!(styled(&h.line("middle"), "middle").fg, Some(Color::Green));
    }

    #[test]
    fn no_color_keeps_only_the_dim_comments_and_unknown_languages_are_plain() {
        let mut h = Highlighter::new("rust", Theme::plain()).expect("rust");
        let spans = h.line("let x = 1; // one");
        assert_eq!(styled(&spans, "let").fg, None);
        assert!(styled(&spans, " one").add_modifier.contains(Modifier::DIM));
        assert!(Highlighter::new("no-such-language", Theme::plain()).is_none());
        assert!(Highlighter::new("", Theme::plain()).is_none());
    }
}
