//! Word-wrapping styled lines to a width, measured in terminal columns.
//!
//! Cells are wrapped here rather than by ratatui's `Paragraph` because a cell written into the
//! terminal's scrollback must know its height before it is drawn.

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use unicode_width::UnicodeWidthChar;

/// `line` broken into lines of at most `width` columns, at spaces where possible. Each
/// continuation line starts with `indent` (e.g. the gutter of a list item).
pub fn wrap_line(
    line: &Line<'static>,
    width: usize,
    indent: &[Span<'static>],
) -> Vec<Line<'static>> {
    let width = width.max(1);
    let indent_width: usize = indent.iter().map(|s| s.width()).sum();
    // Characters with their styles, tabs expanded (a tab's width depends on the terminal).
    let mut chars: Vec<(char, Style)> = Vec::new();
    for span in &line.spans {
        let style = line.style.patch(span.style);
        for c in span.content.chars() {
            match c {
                '\t' => chars.extend(std::iter::repeat_n((' ', style), 4)),
                // Control characters would move the cursor: shown as nothing.
                c if c.is_control() => {}
                // Characters that reorder or hide text (Trojan Source) are shown for what they
                // are, so an approval prompt cannot display one command and run another.
                c if is_invisible_format(c) => {
                    let shown = format!("⟨U+{:04X}⟩", u32::from(c));
                    chars.extend(shown.chars().map(|c| (c, style)));
                }
                c => chars.push((c, style)),
            }
        }
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut first = true;
    while start < chars.len() || first {
        let avail = if first {
            width
        } else {
            width.saturating_sub(indent_width).max(1)
        };
        // Take as many characters as fit.
        let mut cols = 0;
        let mut end = start;
        while end < chars.len() {
            let w = chars[end].0.width().unwrap_or(0);
            if cols + w > avail {
                break;
            }
            cols += w;
            end += 1;
        }
        // Break at the last space, when the line goes on and a space is in reach.
        if end < chars.len() && end > start {
            if let Some(space) = (start + 1..=end)
                .rev()
                .find(|&i| i < chars.len() && chars[i].0 == ' ')
            {
                if space > start {
                    end = space;
                }
            }
        }
        if end == start && start < chars.len() {
            // A character wider than the line: shown alone.
            end = start + 1;
        }
        let mut spans: Vec<Span<'static>> = if first { Vec::new() } else { indent.to_vec() };
        spans.extend(group(&chars[start..end]));
        out.push(Line::from(spans));
        first = false;
        start = end;
        // The spaces the line broke at are not carried to the next one.
        while start < chars.len() && chars[start].0 == ' ' {
            start += 1;
        }
    }
    out
}

/// Bidirectional controls and zero-width characters.
fn is_invisible_format(c: char) -> bool {
    matches!(
        u32::from(c),
        0x061C | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2069 | 0xFEFF
    )
}

/// All of `lines` wrapped.
pub fn wrap_lines(lines: &[Line<'static>], width: usize) -> Vec<Line<'static>> {
    lines
        .iter()
        .flat_map(|l| wrap_line(l, width, &[]))
        .collect()
}

/// Runs of equal style as spans.
fn group(chars: &[(char, Style)]) -> Vec<Span<'static>> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut style: Option<Style> = None;
    for &(c, s) in chars {
        if style != Some(s) {
            if let Some(prev) = style {
                spans.push(Span::styled(std::mem::take(&mut text), prev));
            }
            style = Some(s);
        }
        text.push(c);
    }
    if let Some(prev) = style {
        spans.push(Span::styled(text, prev));
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line<'static>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn wraps_at_spaces_and_fits_the_width() {
        let line = Line::from("the quick brown fox jumps over the lazy dog");
        let out = wrap_line(&line, 12, &[]);
        assert_eq!(
            texts(&out),
            ["the quick", "brown fox", "jumps over", "the lazy dog"]
        );
        for l in &out {
            assert!(l.width() <= 12, "{l}");
        }
    }

    #[test]
    fn long_words_are_cut_and_wide_characters_counted() {
        let out = wrap_line(&Line::from("abcdefghij"), 4, &[]);
        assert_eq!(texts(&out), ["abcd", "efgh", "ij"]);
        // Each of these takes two columns.
        let out = wrap_line(&Line::from("日本語の文"), 4, &[]);
        assert_eq!(texts(&out), ["日本", "語の", "文"]);
    }

    #[test]
    fn continuation_lines_get_the_indent_and_empty_lines_stay() {
        let out = wrap_line(&Line::from("- one two three"), 8, &[Span::raw("  ")]);
        assert_eq!(texts(&out), ["- one", "  two", "  three"]);
        assert_eq!(texts(&wrap_line(&Line::from(""), 10, &[])), [""]);
    }

    #[test]
    fn characters_that_reorder_or_hide_text_are_shown() {
        // "rm -rf ~ #" reversed by RIGHT-TO-LEFT OVERRIDE would read as something else.
        let out = wrap_line(&Line::from("echo ok\u{202E}~ fr- mr\u{202C}"), 80, &[]);
        assert_eq!(texts(&out), ["echo ok⟨U+202E⟩~ fr- mr⟨U+202C⟩"]);
        let out = wrap_line(&Line::from("a\u{200B}b"), 80, &[]);
        assert_eq!(texts(&out), ["a⟨U+200B⟩b"]);
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let out = wrap_line(&Line::from("a\x1b[2Jb\rc"), 20, &[]);
        assert_eq!(texts(&out), ["a[2Jbc"]);
    }
}
