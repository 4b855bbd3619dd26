//! Keys: the composer, the approval prompt, pickers (the model's questions are in
//! `questions.rs`), the `@` file popup, interrupting.

use super::*;

impl App {
    /// A key press. Returns whether anything changed (and so needs drawing).
    pub fn key(&mut self, key: KeyEvent) -> bool {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && matches!(key.code, KeyCode::Char('c')) {
            if self.busy() {
                self.interrupt();
            } else if self.composer.is_empty() {
                self.quit = true;
            } else {
                self.composer.clear();
            }
            return true;
        }
        if ctrl
            && matches!(key.code, KeyCode::Char('d'))
            && self.composer.is_empty()
            && !self.busy()
        {
            self.quit = true;
            return true;
        }
        if let Some(offset) = self.overlay.as_mut() {
            match key.code {
                KeyCode::Esc | KeyCode::Char('q') => self.overlay = None,
                KeyCode::Char('t') if ctrl => self.overlay = None,
                KeyCode::Up | KeyCode::Char('k') => *offset += 1,
                KeyCode::Down | KeyCode::Char('j') => *offset = offset.saturating_sub(1),
                KeyCode::PageUp => *offset += 20,
                KeyCode::PageDown => *offset = offset.saturating_sub(20),
                KeyCode::Home => *offset = usize::MAX / 2,
                KeyCode::End => *offset = 0,
                _ => return false,
            }
            return true;
        }
        if ctrl && matches!(key.code, KeyCode::Char('t')) {
            self.overlay = Some(0);
            return true;
        }
        if self.approval.is_some() {
            return self.approval_key(key);
        }
        if self.user_input.is_some() {
            return self.user_input_key(key);
        }
        if self.picker.is_some() {
            return self.picker_key(key);
        }
        if key.code == KeyCode::Esc {
            if self.declining.take().is_some() {
                // Back to the choice.
                return true;
            }
            if self.busy() {
                self.interrupt();
                return true;
            }
            return false;
        }
        if key.code == KeyCode::Tab && self.busy() && !self.composer.is_empty() {
            // Tab while a turn runs: keep the message for after it.
            let text = self.composer.text().to_string();
            self.composer.remember(&text);
            self.composer.clear();
            self.queued.push(text);
            return true;
        }
        // The `@` popup: ↑/↓ choose, Tab or Enter put the path in.
        if self.composer.mention().is_some() && !self.files.is_empty() {
            match key.code {
                KeyCode::Up => {
                    self.file_selected = self.file_selected.saturating_sub(1);
                    return true;
                }
                KeyCode::Down => {
                    self.file_selected = (self.file_selected + 1).min(self.files.len() - 1);
                    return true;
                }
                KeyCode::Tab | KeyCode::Enter if key.modifiers.is_empty() => {
                    if let Some(path) = self.files.get(self.file_selected).cloned() {
                        self.composer.complete_mention(&path);
                    }
                    self.files.clear();
                    return true;
                }
                _ => {}
            }
        }
        // The slash popup: Tab completes the command name.
        if key.code == KeyCode::Tab && self.composer.text().starts_with('/') {
            if let Some(cmd) = slash::matches(self.composer.text()).first() {
                self.composer.set_text(&format!("/{} ", cmd.name()));
            }
            return true;
        }
        // Enter on the slash popup runs the command it shows first.
        if key.code == KeyCode::Enter && key.modifiers.is_empty() {
            let text = self.composer.text().trim_end().to_string();
            if slash::parse(&text).is_none() {
                if let Some(cmd) = slash::matches(&text).first() {
                    self.composer.set_text(&format!("/{}", cmd.name()));
                }
            }
        }
        let changed = match self.composer.key(key) {
            Outcome::Submit(text) => {
                self.submit(text);
                true
            }
            Outcome::Edited => true,
            Outcome::Ignored => false,
        };
        if changed {
            self.search_files();
        }
        changed
    }

    /// Asks the server for files matching the `@mention` being typed (once per query).
    pub(super) fn search_files(&mut self) {
        let query = self.composer.mention().map(|(_, q)| q.to_string());
        if query == self.searched {
            return;
        }
        self.searched = query.clone();
        self.files.clear();
        let Some(query) = query.filter(|q| !q.is_empty()) else {
            return;
        };
        let root = if self.status.cwd.is_empty() {
            self.start.cwd.clone().unwrap_or_default()
        } else {
            self.status.cwd.clone()
        };
        // One token: a newer query cancels the older search on the server.
        self.request(
            "fuzzyFileSearch",
            json!({"query": query, "roots": [root], "cancellationToken": "tui-mention"}),
            Pending::FileSearch(query),
        );
    }

    /// A paste: a path to an image file (as terminals paste a dropped file, maybe quoted)
    /// attaches it; anything else is text.
    pub fn paste(&mut self, text: &str) {
        if self.approval.is_some() || self.overlay.is_some() {
            return;
        }
        if let Some(input) = self.user_input.as_mut() {
            // Into the answer being typed for "Other" (one line), else nowhere: the composer
            // is not what the keys go to while the questions are up.
            if let Some(typing) = input.typing.as_mut() {
                typing.push_str(&text.replace(['\r', '\n'], " "));
            }
            return;
        }
        let trimmed = text.trim();
        let unquoted = trimmed
            .strip_prefix('\'')
            .and_then(|t| t.strip_suffix('\''))
            .unwrap_or(trimmed);
        if !unquoted.contains('\n') {
            if let Some(placeholder) = self.attach_image(unquoted) {
                self.composer.insert(&format!("{placeholder} "));
                return;
            }
        }
        self.composer.paste(text);
    }

    pub(super) fn interrupt(&mut self) {
        if let (Some(thread), Some(turn)) = (self.thread_id.clone(), self.turn_id.clone()) {
            // A pending approval is answered first, or the turn waits on it.
            if let Some(a) = self.approval.take() {
                self.rpc.respond(&a.id, json!({"decision": "cancel"}));
            }
            if self.user_input.is_some() {
                self.dismiss_questions();
            }
            self.request(
                "turn/interrupt",
                json!({"threadId": thread, "turnId": turn}),
                Pending::Other("interrupting"),
            );
            self.hint = Some("interrupting…".into());
        }
    }

    pub(super) fn approval_key(&mut self, key: KeyEvent) -> bool {
        let Some(approval) = self.approval.as_mut() else {
            return false;
        };
        let choice = match key.code {
            KeyCode::Up | KeyCode::Char('k') => {
                approval.selected = approval.selected.saturating_sub(1);
                return true;
            }
            KeyCode::Down | KeyCode::Char('j') => {
                approval.selected = (approval.selected + 1).min(APPROVAL_CHOICES.len() - 1);
                return true;
            }
            KeyCode::Enter => approval.selected,
            KeyCode::Esc => 2,
            KeyCode::Char(c) => match APPROVAL_CHOICES.iter().position(|(_, k, _)| *k == c) {
                Some(i) => i,
                None => return false,
            },
            _ => return false,
        };
        let Some(approval) = self.approval.take() else {
            return false;
        };
        let (label, _, decision) = APPROVAL_CHOICES[choice];
        if let ApprovalKind::McpTool { question, id } = &approval.kind {
            let answer = MCP_APPROVAL_LABELS[choice];
            self.rpc.respond(
                &approval.id,
                json!({"answers": {id.as_str(): {"answers": [answer]}}}),
            );
            self.notice(Level::Info, format!("{answer}: {question}"));
            return true;
        }
        if choice == 3 {
            // The reason is typed in the composer; Enter sends both.
            self.declining = Some(approval.id);
            self.composer.clear();
            return true;
        }
        self.rpc
            .respond(&approval.id, json!({"decision": decision}));
        let what = match &approval.kind {
            ApprovalKind::Command { command, .. } => crate::cells::display_command(command),
            ApprovalKind::Patch { files } => files.join(", "),
            ApprovalKind::McpTool { question, .. } => question.clone(),
        };
        self.notice(Level::Info, format!("{label}: {what}"));
        true
    }

    pub(super) fn picker_key(&mut self, key: KeyEvent) -> bool {
        let Some(picker) = self.picker.as_mut() else {
            return false;
        };
        let count = picker.visible().len();
        match key.code {
            KeyCode::Up => picker.selected = picker.selected.saturating_sub(1),
            KeyCode::Down => picker.selected = (picker.selected + 1).min(count.saturating_sub(1)),
            KeyCode::PageUp => picker.selected = picker.selected.saturating_sub(8),
            KeyCode::PageDown => {
                picker.selected = (picker.selected + 8).min(count.saturating_sub(1))
            }
            KeyCode::Backspace => {
                picker.filter.pop();
                picker.selected = 0;
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                picker.filter.push(c);
                picker.selected = 0;
            }
            KeyCode::Esc => {
                let action = picker.action;
                self.picker = None;
                if action == PickerAction::Resume && self.thread_id.is_none() {
                    // Nothing chosen: a new thread, rather than none at all.
                    self.start.resume = Resume::No;
                    self.open_thread();
                }
            }
            KeyCode::Enter => {
                let Some((choice, _)) = picker.visible().get(picker.selected).map(|c| (*c).clone())
                else {
                    return true;
                };
                let action = picker.action;
                self.picker = None;
                match action {
                    PickerAction::Model => {
                        self.set_model(&choice);
                        let efforts = self.efforts.get(&choice).cloned().unwrap_or_default();
                        if !efforts.is_empty() {
                            self.picker = Some(Picker {
                                title: format!("Reasoning effort for {choice}"),
                                items: efforts,
                                selected: 0,
                                filter: String::new(),
                                action: PickerAction::Effort,
                            });
                        }
                    }
                    PickerAction::Effort => {
                        self.overrides.insert("effort".into(), json!(choice));
                        self.notice(Level::Info, format!("Reasoning effort set to {choice}"));
                    }
                    PickerAction::Approvals => {
                        self.status.approval = choice.clone();
                        self.overrides
                            .insert("approvalPolicy".into(), json!(choice));
                        self.notice(
                            Level::Info,
                            format!("Approval policy set to {choice} (from the next turn)"),
                        );
                    }
                    PickerAction::Resume => {
                        if self.thread_id.as_deref() != Some(choice.as_str()) {
                            self.leave_thread();
                            self.start.resume = Resume::Id(choice);
                            self.open_thread();
                        }
                    }
                }
            }
            _ => return false,
        }
        true
    }
}
