//! The model's questions (`request_user_input`) asked of the thread's clients as Codex asks
//! them: `item/tool/requestUserInput`, every question with its options and a free-form
//! "Other". The first client to answer decides; a client that answers with an error has no
//! one to ask (e.g. `wright exec`), and the model is told to go on by itself.

use std::sync::Arc;

use tokio::sync::mpsc;
use wright_core::user_input::{Answers, NoAnswer, UserInputAsker, UserInputRequest};
use wright_protocol::v2::{
    ToolRequestUserInputOption, ToolRequestUserInputParams, ToolRequestUserInputQuestion,
    ToolRequestUserInputResponse,
};

use crate::approvals::{Ask, ToPump};
use crate::state::Loaded;

pub(crate) fn asker(
    loaded: Arc<Loaded>,
    turn_id: String,
    questions: mpsc::UnboundedSender<ToPump>,
) -> UserInputAsker {
    Arc::new(move |request: UserInputRequest| {
        let (loaded, turn_id, pump) = (Arc::clone(&loaded), turn_id.clone(), questions.clone());
        Box::pin(async move {
            let params = params(loaded.id.clone(), turn_id, request);
            let Some(reply) =
                crate::approvals::ask_clients(&loaded, &pump, Ask::UserInput(params)).await
            else {
                return Err(NoAnswer::NoUser);
            };
            match reply {
                Ok(Ok(value)) => answers(value),
                // The client does not ask users (it said so with an error), or nobody is left.
                Ok(Err(_)) | Err(_) => Err(NoAnswer::NoUser),
            }
        })
    })
}

fn params(
    thread_id: String,
    turn_id: String,
    request: UserInputRequest,
) -> ToolRequestUserInputParams {
    ToolRequestUserInputParams {
        thread_id,
        turn_id,
        item_id: request.item_id,
        questions: request
            .questions
            .into_iter()
            .map(|q| ToolRequestUserInputQuestion {
                id: q.id,
                header: q.header,
                question: q.question,
                // Codex's tool promises the model a free-form "Other" the client adds.
                is_other: true,
                is_secret: false,
                options: Some(
                    q.options
                        .into_iter()
                        .map(|o| ToolRequestUserInputOption {
                            label: o.label,
                            description: o.description,
                        })
                        .collect(),
                ),
            })
            .collect(),
        is_blocking: true,
        auto_resolution_ms: None,
    }
}

/// The reply's answers; none at all means the user dismissed the questions.
fn answers(reply: serde_json::Value) -> Result<Answers, NoAnswer> {
    let Ok(response) = serde_json::from_value::<ToolRequestUserInputResponse>(reply) else {
        return Err(NoAnswer::Dismissed);
    };
    let answers: Answers = response
        .answers
        .into_iter()
        .filter(|(_, a)| !a.answers.is_empty())
        .map(|(id, a)| (id, a.answers))
        .collect();
    if answers.is_empty() {
        Err(NoAnswer::Dismissed)
    } else {
        Ok(answers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wright_core::user_input::{UserOption, UserQuestion};

    #[test]
    fn asks_in_codex_shape_and_reads_the_answers() {
        let request = UserInputRequest {
            item_id: "call_1".into(),
            questions: vec![UserQuestion {
                id: "db".into(),
                header: "Database".into(),
                question: "Which one?".into(),
                options: vec![UserOption {
                    label: "SQLite (Recommended)".into(),
                    description: "No server".into(),
                }],
            }],
        };
        let wire = serde_json::to_value(params("t".into(), "u".into(), request)).unwrap();
        assert_eq!(wire["itemId"], "call_1");
        assert_eq!(wire["isBlocking"], true);
        assert_eq!(wire["questions"][0]["isOther"], true);
        assert_eq!(
            wire["questions"][0]["options"][0]["label"],
            "SQLite (Recommended)"
        );
        let got = answers(json!({"answers": {"db": {"answers": ["Postgres, it is deployed"]}}}));
        assert_eq!(got.unwrap()["db"], ["Postgres, it is deployed"]);
        assert_eq!(answers(json!({"answers": {}})), Err(NoAnswer::Dismissed));
        assert_eq!(
            answers(json!({"decision": "decline"})),
            Err(NoAnswer::Dismissed)
        );
    }
}
