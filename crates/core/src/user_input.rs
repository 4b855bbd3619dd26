//! `request_user_input`: the model asks the user one to three multiple-choice questions and
//! waits for the answers. Clients show them as a picker (App Server: Codex's
//! `item/tool/requestUserInput`). With nobody to ask (`wright exec`), the model is told so and
//! goes on by itself.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

/// The most questions one call may ask (Codex's tool says one to three).
const MAX_QUESTIONS: usize = 3;

/// One question, as the model sends it (Codex's shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserQuestion {
    /// Stable id the answer is keyed by.
    pub id: String,
    /// A short label (about 12 characters) shown above the question.
    pub header: String,
    pub question: String,
    /// Mutually exclusive choices; clients add a free-form "Other".
    pub options: Vec<UserOption>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserOption {
    pub label: String,
    pub description: String,
}

/// What is asked, for the call item `item_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInputRequest {
    pub item_id: String,
    pub questions: Vec<UserQuestion>,
}

/// The answers by question id: the labels picked, or the text typed for "Other".
pub type Answers = BTreeMap<String, Vec<String>>;

/// Why no answers came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoAnswer {
    /// Nobody is there to ask (a non-interactive run, or the client does not ask questions).
    NoUser,
    /// The user dismissed the questions.
    Dismissed,
}

pub type UserInputFuture = Pin<Box<dyn Future<Output = Result<Answers, NoAnswer>> + Send>>;

/// Asks the user; dropping the future withdraws the questions (the turn was interrupted).
pub type UserInputAsker = Arc<dyn Fn(UserInputRequest) -> UserInputFuture + Send + Sync>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Args {
    questions: Vec<UserQuestion>,
}

/// Reads the model's arguments: one to three questions, ids unique and non-empty, each with
/// at least one option.
pub fn parse(arguments: &str) -> Result<Vec<UserQuestion>, String> {
    let args: Args = serde_json::from_str(arguments)
        .map_err(|e| format!("failed to parse function arguments: {e}"))?;
    let n = args.questions.len();
    if n == 0 || n > MAX_QUESTIONS {
        return Err(format!(
            "request_user_input takes 1 to {MAX_QUESTIONS} questions; got {n}"
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for q in &args.questions {
        if q.id.trim().is_empty() || !seen.insert(q.id.as_str()) {
            return Err(format!(
                "each question needs its own non-empty id; `{}` is empty or repeated",
                q.id
            ));
        }
        if q.options.is_empty() {
            return Err(format!("question `{}` has no options", q.id));
        }
    }
    Ok(args.questions)
}

/// Asks and returns the text for the model: the answers as Codex's JSON
/// (`{"answers": {"<id>": {"answers": [...]}}}`), or why there are none.
pub async fn ask(
    asker: Option<&UserInputAsker>,
    item_id: &str,
    questions: Vec<UserQuestion>,
    cancel: &CancellationToken,
) -> String {
    let Some(asker) = asker else {
        return no_user();
    };
    let request = UserInputRequest {
        item_id: item_id.to_string(),
        questions,
    };
    let result = tokio::select! {
        result = asker(request) => result,
        _ = cancel.cancelled() => return "request_user_input interrupted by the user".into(),
    };
    match result {
        Ok(answers) => {
            let wire: BTreeMap<&str, serde_json::Value> = answers
                .iter()
                .map(|(id, a)| (id.as_str(), serde_json::json!({ "answers": a })))
                .collect();
            serde_json::json!({ "answers": wire }).to_string()
        }
        Err(NoAnswer::NoUser) => no_user(),
        Err(NoAnswer::Dismissed) => {
            "The user dismissed the questions without answering. Proceed on your own judgment and say which assumptions you made.".into()
        }
    }
}

fn no_user() -> String {
    "No user is present to answer (this is a non-interactive run). Do not ask again: proceed on your own judgment and say which assumptions you made.".into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(id: &str) -> serde_json::Value {
        serde_json::json!({"id": id, "header": "Pick", "question": "Which?",
            "options": [{"label": "A (Recommended)", "description": "a"}, {"label": "B", "description": "b"}]})
    }

    #[test]
    fn reads_codex_shaped_questions_and_refuses_bad_ones() {
        let args = serde_json::json!({"questions": [q("db"), q("ui")]}).to_string();
        let parsed = parse(&args).unwrap();
        assert_eq!(parsed[1].id, "ui");
        assert_eq!(parsed[0].options[0].label, "A (Recommended)");
        for bad in [
            serde_json::json!({"questions": []}),
            serde_json::json!({"questions": [q("a"), q("b"), q("c"), q("d")]}),
            serde_json::json!({"questions": [q("a"), q("a")]}),
            serde_json::json!({"questions": [{"id": "x", "header": "h", "question": "q", "options": []}]}),
            serde_json::json!({"questions": [q("a")], "extra": 1}),
        ] {
            assert!(parse(&bad.to_string()).is_err(), "{bad}");
        }
    }

    #[tokio::test]
    async fn answers_go_back_as_codex_json_and_no_user_says_so() {
        let questions = parse(&serde_json::json!({"questions": [q("db")]}).to_string()).unwrap();
        let asker: UserInputAsker = Arc::new(|req: UserInputRequest| {
            Box::pin(async move {
                let mut a = Answers::new();
                a.insert(req.questions[0].id.clone(), vec!["B".into()]);
                Ok(a)
            })
        });
        let cancel = CancellationToken::new();
        let text = ask(Some(&asker), "c1", questions.clone(), &cancel).await;
        assert_eq!(text, r#"{"answers":{"db":{"answers":["B"]}}}"#);
        let text = ask(None, "c1", questions, &cancel).await;
        assert!(text.starts_with("No user is present"), "{text}");
    }
}
