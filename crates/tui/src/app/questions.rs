//! The model's questions (`request_user_input`): a picker per question, one reply for all.
//!
//! ↑/↓ (or k/j) move, Enter picks, a digit picks its row directly, Esc dismisses every
//! question (the reply has no answers, which tells the model the user declined). "Other"
//! opens a line to type an answer in; there Enter sends it and Esc goes back to the choices.

use super::*;

impl App {
    pub(super) fn user_input_key(&mut self, key: KeyEvent) -> bool {
        let Some(input) = self.user_input.as_mut() else {
            return false;
        };
        let free_form = input.options().is_empty();
        if let Some(text) = input.typing.as_mut() {
            match key.code {
                KeyCode::Enter => {
                    let answer = text.trim().to_string();
                    // An empty answer is no answer: the line stays open.
                    if !answer.is_empty() {
                        self.answer_question(answer);
                    }
                }
                KeyCode::Esc if free_form => {
                    // Nothing to go back to: a free-form question is dismissed like the rest.
                    self.dismiss_questions();
                }
                KeyCode::Esc => input.typing = None,
                KeyCode::Backspace => {
                    text.pop();
                }
                KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
                _ => return false,
            }
            return true;
        }
        let rows = input.rows();
        let row = match key.code {
            KeyCode::Up | KeyCode::Char('k') => {
                input.selected = input.selected.saturating_sub(1);
                return true;
            }
            KeyCode::Down | KeyCode::Char('j') => {
                input.selected = (input.selected + 1).min(rows.saturating_sub(1));
                return true;
            }
            KeyCode::Enter => input.selected,
            KeyCode::Esc => {
                self.dismiss_questions();
                return true;
            }
            KeyCode::Char(c @ '1'..='9') => {
                let row = usize::from(c as u8 - b'1');
                if row >= rows {
                    return false;
                }
                input.selected = row;
                row
            }
            _ => return false,
        };
        match input.options().get(row) {
            Some(option) => {
                let label = option.label.clone();
                self.answer_question(label);
            }
            None if input.offers_other() => input.typing = Some(String::new()),
            None => return false,
        }
        true
    }

    /// Records `answer` to the question on screen and moves to the next; after the last, the
    /// reply goes with every answer.
    fn answer_question(&mut self, answer: String) {
        let Some(input) = self.user_input.as_mut() else {
            return;
        };
        let Some(question) = input.question() else {
            return;
        };
        let id = question.id.clone();
        input.answers.insert(id, json!({"answers": [answer]}));
        input.current += 1;
        if input.current < input.questions.len() {
            input.start_question();
            return;
        }
        let Some(input) = self.user_input.take() else {
            return;
        };
        self.rpc
            .respond(&input.id, json!({"answers": input.answers.clone()}));
        // What was answered stays in the scrollback, as approvals do (a secret does not).
        for question in &input.questions {
            let given = input
                .answers
                .get(&question.id)
                .and_then(|a| a.pointer("/answers/0"))
                .and_then(Value::as_str)
                .unwrap_or_default();
            let shown = if question.is_secret {
                "(hidden)"
            } else {
                given
            };
            self.notice(Level::Info, format!("{}: {shown}", question.header));
        }
    }

    /// Answers with no answers at all: the user declined every question.
    pub(super) fn dismiss_questions(&mut self) {
        if let Some(input) = self.user_input.take() {
            self.rpc.respond(&input.id, json!({"answers": {}}));
            self.notice(Level::Info, "Questions dismissed");
        }
    }
}
