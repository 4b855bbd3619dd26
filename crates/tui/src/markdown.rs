//! The agent's markdown as terminal lines: headings, emphasis, inline code, fenced code,
//! lists, quotes and links, wrapped to the width.

use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use crate::highlight::Highlighter;
use crate::theme::Theme;
use crate::wrap::wrap_line;

/// `text` rendered for a terminal `width` columns wide.
pub fn render(text: &str, width: usize, theme: &Theme) -> Vec<Line<'static>> {
    let mut r = Renderer {
        theme,
        width,
        out: Vec::new(),
        line: Vec::new(),
        styles: vec![Style::default()],
        lists: Vec::new(),
        prefix: Vec::new(),
        in_code: false,
        code: None,
        link: None,
    };
    for event in Parser::new_ext(text, Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES) {
        r.event(event);
    }
    r.flush();
    // No blank line at the end.
    while r.out.last().is_some_and(|l| l.width() == 0) {
        r.out.pop();
    }
    r.out
}

struct Renderer<'t> {
    theme: &'t Theme,
    width: usize,
    out: Vec<Line<'static>>,
    /// The line being built.
    line: Vec<Span<'static>>,
    styles: Vec<Style>,
    /// Open lists: the next number of each ordered one.
    lists: Vec<Option<u64>>,
    /// What each line starts with inside quotes and list items.
    prefix: Vec<Span<'static>>,
    in_code: bool,
    /// The open code block's highlighter, when its language is known.
    code: Option<Highlighter>,
    link: Option<String>,
}

impl Renderer<'_> {
    fn style(&self) -> Style {
        self.styles.last().copied().unwrap_or_default()
    }

    fn push_style(&mut self, patch: Style) {
        let s = self.style().patch(patch);
        self.styles.push(s);
    }

    fn text(&mut self, text: &str) {
        let style = self.style();
        self.line.push(Span::styled(text.to_string(), style));
    }

    /// Ends the current line (if it has anything) and wraps it.
    fn flush(&mut self) {
        if self.line.is_empty() {
            return;
        }
        let mut spans = self.prefix.clone();
        spans.append(&mut self.line);
        let indent: Vec<Span<'static>> = self
            .prefix
            .iter()
            .map(|s| {
                // Continuations of a list item line up under its text, not under its bullet.
                let blank = " ".repeat(s.width());
                if s.content.trim().is_empty() || s.content.contains('│') {
                    s.clone()
                } else {
                    Span::raw(blank)
                }
            })
            .collect();
        self.out
            .extend(wrap_line(&Line::from(spans), self.width, &indent));
    }

    fn blank(&mut self) {
        self.flush();
        if self.out.last().is_some_and(|l| l.width() > 0) {
            self.out.push(Line::default());
        }
    }

    fn event(&mut self, event: Event<'_>) {
        let t = self.theme;
        match event {
            Event::Start(tag) => match tag {
                Tag::Paragraph => {}
                Tag::Heading { level, .. } => {
                    self.blank();
                    let marks = match level {
                        HeadingLevel::H1 => "# ",
                        HeadingLevel::H2 => "## ",
                        _ => "### ",
                    };
                    self.push_style(Style::default().add_modifier(Modifier::BOLD));
                    self.text(marks);
                }
                Tag::BlockQuote(_) => {
                    self.blank();
                    self.prefix.push(Span::styled("│ ", t.dim()));
                    self.push_style(t.dim());
                }
                Tag::CodeBlock(kind) => {
                    self.blank();
                    if let CodeBlockKind::Fenced(lang) = &kind {
                        if !lang.is_empty() {
                            self.line.push(Span::styled(lang.to_string(), t.dim()));
                            self.flush();
                        }
                        self.code = Highlighter::new(lang, *t);
                    }
                    self.in_code = true;
                }
                Tag::List(start) => {
                    if self.lists.is_empty() {
                        self.blank();
                    } else {
                        self.flush();
                    }
                    self.lists.push(start);
                }
                Tag::Item => {
                    self.flush();
                    let depth = self.lists.len().saturating_sub(1);
                    let bullet = match self.lists.last_mut() {
                        Some(Some(n)) => {
                            let b = format!("{n}. ");
                            *n += 1;
                            b
                        }
                        _ => "• ".to_string(),
                    };
                    // Inner lists are indented under their parent's text.
                    let pad = "  ".repeat(depth);
                    self.prefix.push(Span::raw(pad));
                    self.prefix.push(Span::styled(bullet, t.accent()));
                }
                Tag::Emphasis => self.push_style(Style::default().add_modifier(Modifier::ITALIC)),
                Tag::Strong => self.push_style(Style::default().add_modifier(Modifier::BOLD)),
                Tag::Strikethrough => {
                    self.push_style(Style::default().add_modifier(Modifier::CROSSED_OUT))
                }
                Tag::Link { dest_url, .. } => {
                    self.push_style(t.link());
                    self.link = Some(dest_url.to_string());
                }
                _ => {}
            },
            Event::End(tag) => match tag {
                TagEnd::Paragraph => {
                    self.flush();
                    if self.lists.is_empty() {
                        self.blank();
                    }
                }
                TagEnd::Heading(_) => {
                    self.styles.pop();
                    self.blank();
                }
                TagEnd::BlockQuote(_) => {
                    self.flush();
                    self.prefix.pop();
                    self.styles.pop();
                    self.blank();
                }
                TagEnd::CodeBlock => {
                    self.in_code = false;
                    self.code = None;
                    self.blank();
                }
                TagEnd::List(_) => {
                    self.flush();
                    self.lists.pop();
                    if self.lists.is_empty() {
                        self.blank();
                    }
                }
                TagEnd::Item => {
                    self.flush();
                    self.prefix.pop();
                    self.prefix.pop();
                }
                TagEnd::Emphasis | TagEnd::Strong | TagEnd::Strikethrough => {
                    self.styles.pop();
                }
                TagEnd::Link => {
                    self.styles.pop();
                    if let Some(url) = self.link.take() {
                        // The address is shown unless the text already is it.
                        let shown: String = self.line.iter().map(|s| s.content.as_ref()).collect();
                        if !shown.ends_with(&url) {
                            self.line.push(Span::styled(format!(" ({url})"), t.dim()));
                        }
                    }
                }
                _ => {}
            },
            Event::Text(text) => {
                if self.in_code {
                    for (i, line) in text.split('\n').enumerate() {
                        if i > 0 {
                            // An empty code line still takes its row.
                            if self.line.is_empty() {
                                self.out.push(Line::from(self.prefix.clone()));
                            } else {
                                self.flush();
                            }
                        }
                        if !line.is_empty() {
                            match self.code.as_mut() {
                                Some(h) => self.line.extend(h.line(line)),
                                None => self.line.push(Span::styled(line.to_string(), t.code())),
                            }
                        }
                    }
                } else {
                    self.text(&text);
                }
            }
            Event::Code(code) => {
                let style = self.style().patch(t.code());
                self.line.push(Span::styled(code.to_string(), style));
            }
            Event::SoftBreak => self.text(" "),
            Event::HardBreak => self.flush(),
            Event::Rule => {
                self.blank();
                self.line
                    .push(Span::styled("─".repeat(self.width.min(40)), t.dim()));
                self.blank();
            }
            Event::Html(html) | Event::InlineHtml(html) => self.text(&html),
            Event::TaskListMarker(done) => self.text(if done { "[x] " } else { "[ ] " }),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str, width: usize) -> Vec<String> {
        render(text, width, &Theme::plain())
            .iter()
            .map(|l| l.to_string())
            .collect()
    }

    #[test]
    fn paragraphs_lists_and_code_keep_their_shape() {
        let md = "# Done\n\nI fixed **two** bugs in `calc.py`:\n\n- the sign of `sub`\n- a long item that has to wrap onto the next line\n\n```python\ndef add(a, b):\n\n    return a + b\n```\n\n1. first\n2. second";
        insta::assert_snapshot!(plain(md, 30).join("\n"));
    }

    #[test]
    fn links_show_their_address_once() {
        assert_eq!(
            plain("see [the docs](https://x.dev) or <https://y.dev>", 80),
            ["see the docs (https://x.dev) or https://y.dev"]
        );
    }
}
