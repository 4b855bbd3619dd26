//! Styles. Text keeps the terminal's own foreground so it reads on light and dark backgrounds;
//! colour marks only what it means (added, removed, failed, accents), and `NO_COLOR` removes
//! all of it, leaving bold, dim and reverse.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty (<https://no-color.org>).
    pub fn from_env() -> Theme {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !no_color }
    }

    /// No colour at all (what `NO_COLOR` gives; tests).
    #[cfg(test)]
    pub fn plain() -> Theme {
        Theme { color: false }
    }

    #[cfg(test)]
    pub fn colored() -> Theme {
        Theme { color: true }
    }

    /// `color` as a foreground, or nothing under `NO_COLOR`.
    pub fn color(&self, color: Color) -> Style {
        self.fg(color)
    }

    fn fg(&self, color: Color) -> Style {
        if self.color {
            Style::default().fg(color)
        } else {
            Style::default()
        }
    }

    pub fn dim(&self) -> Style {
        Style::default().add_modifier(Modifier::DIM)
    }

    pub fn bold(&self) -> Style {
        Style::default().add_modifier(Modifier::BOLD)
    }

    pub fn accent(&self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn code(&self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn link(&self) -> Style {
        self.fg(Color::Blue).add_modifier(Modifier::UNDERLINED)
    }

    pub fn added(&self) -> Style {
        self.fg(Color::Green)
    }

    pub fn removed(&self) -> Style {
        self.fg(Color::Red)
    }

    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn warning(&self) -> Style {
        self.fg(Color::Magenta)
    }

    /// The user's own messages.
    pub fn user(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    /// A selected entry of a list or popup.
    pub fn selected(&self) -> Style {
        Style::default().add_modifier(Modifier::REVERSED)
    }
}
