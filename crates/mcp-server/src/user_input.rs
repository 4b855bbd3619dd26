//! The App Server's `item/tool/requestUserInput` questions (the engine asks them to approve a
//! call to an MCP tool, as Codex does) as one MCP elicitation form, and the form's content back
//! as the answers by question id.
//!
//! Each question is one form member named by its id: a choice among its options' labels, or
//! free text when it takes other answers. An approval question (id
//! `mcp_tool_call_approval_…`) preselects its first option, the "allow" one in every Codex
//! version, so that a client showing only Accept / Decline buttons means what its buttons say.

use std::collections::BTreeMap;

use rmcp::model::{
    ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema, EnumSchema,
    PrimitiveSchemaDefinition, StringSchema,
};
use serde_json::Value;
use wright_protocol::v2::{
    ToolRequestUserInputAnswer, ToolRequestUserInputParams, ToolRequestUserInputQuestion,
    ToolRequestUserInputResponse,
};

/// The id prefix of the questions that approve an MCP tool call.
const APPROVAL_PREFIX: &str = "mcp_tool_call_approval_";

/// Why a question cannot become a form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unaskable(pub String);

/// The elicitation asking `params`' questions. A secret cannot be asked: MCP forbids asking
/// for sensitive information in a form (the client may show and log it).
pub fn question(params: &ToolRequestUserInputParams) -> Result<ElicitRequestParams, Unaskable> {
    if let Some(secret) = params.questions.iter().find(|q| q.is_secret) {
        return Err(Unaskable(format!(
            "`{}` asks for a secret, which an MCP form must not carry",
            secret.header
        )));
    }
    if params.questions.is_empty() {
        return Err(Unaskable("the request holds no question".into()));
    }
    let mut message = String::new();
    let mut properties = BTreeMap::new();
    for q in &params.questions {
        message.push_str(&format!("{}\n{}\n\n", q.header, q.question));
        properties.insert(q.id.clone(), member(q));
    }
    let mut schema = ElicitationSchema::new(properties);
    schema.required = Some(params.questions.iter().map(|q| q.id.clone()).collect());
    Ok(ElicitRequestParams::FormElicitationParams {
        meta: None,
        message: message.trim_end().to_string(),
        requested_schema: schema,
    })
}

/// The answers in an accepted form; `None` when the user declined or cancelled (or left an
/// approval question without a choice the engine can read).
pub fn answers(
    params: &ToolRequestUserInputParams,
    result: &ElicitResult,
) -> Option<ToolRequestUserInputResponse> {
    if result.action != ElicitationAction::Accept {
        return None;
    }
    let mut answers = BTreeMap::new();
    for q in &params.questions {
        let given = result.content.as_ref().and_then(|c| c.get(&q.id));
        let answer = match given {
            Some(Value::String(text)) => Some(text.clone()),
            // Accepted without a value: the preselected option, where there is one.
            None | Some(Value::Null) => preselected(q).map(str::to_string),
            Some(other) => Some(other.to_string()),
        };
        match answer {
            Some(answer) => {
                answers.insert(
                    q.id.clone(),
                    ToolRequestUserInputAnswer {
                        answers: vec![answer],
                    },
                );
            }
            // An approval without a choice is not a yes.
            None if q.id.starts_with(APPROVAL_PREFIX) => return None,
            None => {}
        }
    }
    Some(ToolRequestUserInputResponse { answers })
}

fn member(q: &ToolRequestUserInputQuestion) -> PrimitiveSchemaDefinition {
    let labels: Vec<String> = q
        .options
        .iter()
        .flatten()
        .map(|o| o.label.clone())
        .collect();
    let described: Vec<String> = q
        .options
        .iter()
        .flatten()
        .map(|o| match o.description.as_str() {
            "" => o.label.clone(),
            d => format!("{}: {d}", o.label),
        })
        .collect();
    if labels.is_empty() || q.is_other {
        let mut text = StringSchema::new().title(q.header.clone());
        if !described.is_empty() {
            text = text.description(format!("for example {}", described.join("; ")));
        }
        return PrimitiveSchemaDefinition::String(text);
    }
    let builder = || {
        EnumSchema::builder(labels.clone())
            .title(q.header.clone())
            .description(described.join("; "))
    };
    let choice = match preselected(q).map(|label| builder().with_default(label)) {
        Some(Ok(with_default)) => with_default.build(),
        // No preselection (or, impossibly, a default that is not among the labels).
        Some(Err(_)) | None => builder().build(),
    };
    PrimitiveSchemaDefinition::Enum(choice)
}

fn preselected(q: &ToolRequestUserInputQuestion) -> Option<&str> {
    if !q.id.starts_with(APPROVAL_PREFIX) {
        return None;
    }
    q.options.as_ref()?.first().map(|o| o.label.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wright_protocol::v2::ToolRequestUserInputOption;

    fn approval() -> ToolRequestUserInputParams {
        ToolRequestUserInputParams {
            thread_id: "t".into(),
            turn_id: "u".into(),
            item_id: "i".into(),
            questions: vec![ToolRequestUserInputQuestion {
                id: "mcp_tool_call_approval_call-1".into(),
                header: "Approve app tool call?".into(),
                question: "Allow docs/search?".into(),
                is_other: false,
                is_secret: false,
                options: Some(vec![
                    ToolRequestUserInputOption {
                        label: "Allow".into(),
                        description: "Run the tool and continue.".into(),
                    },
                    ToolRequestUserInputOption {
                        label: "Cancel".into(),
                        description: "Cancel this tool call.".into(),
                    },
                ]),
            }],
            is_blocking: true,
            auto_resolution_ms: None,
        }
    }

    fn result(action: ElicitationAction, content: Option<Value>) -> ElicitResult {
        let mut result = ElicitResult::new(action);
        result.content = content;
        result
    }

    #[test]
    fn an_approval_question_is_a_choice_of_its_labels_allow_first() {
        let wire = serde_json::to_value(question(&approval()).unwrap()).unwrap();
        let message = wire["message"].as_str().unwrap();
        assert!(message.contains("Allow docs/search?"), "{message}");
        let member = &wire["requestedSchema"]["properties"]["mcp_tool_call_approval_call-1"];
        assert_eq!(member["enum"], json!(["Allow", "Cancel"]));
        assert_eq!(member["default"], "Allow");
        assert_eq!(
            wire["requestedSchema"]["required"],
            json!(["mcp_tool_call_approval_call-1"])
        );
    }

    #[test]
    fn accepting_answers_with_the_label_and_anything_else_is_no_answer() {
        let params = approval();
        let id = "mcp_tool_call_approval_call-1";
        let chosen = answers(
            &params,
            &result(ElicitationAction::Accept, Some(json!({id: "Cancel"}))),
        )
        .unwrap();
        assert_eq!(chosen.answers[id].answers, ["Cancel"]);
        let bare = answers(&params, &result(ElicitationAction::Accept, None)).unwrap();
        assert_eq!(bare.answers[id].answers, ["Allow"]);
        assert_eq!(
            answers(&params, &result(ElicitationAction::Decline, None)),
            None
        );
        assert_eq!(
            answers(&params, &result(ElicitationAction::Cancel, None)),
            None
        );
    }

    #[test]
    fn secrets_are_not_asked_in_a_form() {
        let mut params = approval();
        params.questions[0].is_secret = true;
        let Unaskable(why) = question(&params).unwrap_err();
        assert!(why.contains("secret"), "{why}");
    }
}
