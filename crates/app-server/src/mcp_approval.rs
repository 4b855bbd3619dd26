//! Approving an MCP tool call, as Codex asks it: `item/tool/requestUserInput` with one question
//! (id `mcp_tool_call_approval_<item id>`) whose options are labels the client answers with.

use serde_json::Value;
use wright_core::approval::ReviewDecision;
use wright_protocol::v2::{
    ToolRequestUserInputOption, ToolRequestUserInputParams, ToolRequestUserInputQuestion,
    ToolRequestUserInputResponse,
};

/// Codex's question id prefix and option labels (clients match on them).
const QUESTION_ID_PREFIX: &str = "mcp_tool_call_approval";
const ALLOW: &str = "Allow";
const ALLOW_FOR_SESSION: &str = "Allow for this session";
const CANCEL: &str = "Cancel";

/// The question about calling `tool` of `server` for the call item `item_id`.
pub(crate) fn question(
    thread_id: String,
    turn_id: String,
    item_id: String,
    server: &str,
    tool: &str,
) -> ToolRequestUserInputParams {
    let option = |label: &str, description: &str| ToolRequestUserInputOption {
        label: label.to_string(),
        description: description.to_string(),
    };
    ToolRequestUserInputParams {
        questions: vec![ToolRequestUserInputQuestion {
            id: format!("{QUESTION_ID_PREFIX}_{item_id}"),
            header: "Approve app tool call?".into(),
            question: format!("Allow the {server} MCP server to run tool \"{tool}\"?"),
            is_other: false,
            is_secret: false,
            options: Some(vec![
                option(ALLOW, "Run the tool and continue."),
                option(
                    ALLOW_FOR_SESSION,
                    "Run the tool and remember this choice for this session.",
                ),
                option(CANCEL, "Cancel this tool call."),
            ]),
        }],
        thread_id,
        turn_id,
        item_id,
        // The turn waits for the answer.
        is_blocking: true,
        auto_resolution_ms: None,
    }
}

/// The answer to question `question_id`: `Allow for this session` or `Allow` (as Codex reads
/// them, the wider one first); anything else, `Cancel` included, declines this one call (the
/// model is told and the turn goes on).
pub(crate) fn decision(reply: &Value, question_id: &str) -> ReviewDecision {
    let Ok(response) = serde_json::from_value::<ToolRequestUserInputResponse>(reply.clone()) else {
        return ReviewDecision::Decline;
    };
    let answers = response
        .answers
        .get(question_id)
        .map(|a| a.answers.as_slice())
        .unwrap_or_default();
    if answers.iter().any(|a| a == ALLOW_FOR_SESSION) {
        ReviewDecision::AcceptForSession
    } else if answers.iter().any(|a| a == ALLOW) {
        ReviewDecision::Accept
    } else {
        ReviewDecision::Decline
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn asks_as_codex_and_reads_the_label_picked() {
        let q = question("t".into(), "u".into(), "call_1".into(), "docs", "search");
        let wire = serde_json::to_value(&q).unwrap();
        assert_eq!(wire["itemId"], "call_1");
        assert_eq!(wire["isBlocking"], true);
        let asked = &wire["questions"][0];
        assert_eq!(asked["id"], "mcp_tool_call_approval_call_1");
        assert_eq!(asked["header"], "Approve app tool call?");
        assert_eq!(
            asked["question"],
            "Allow the docs MCP server to run tool \"search\"?"
        );
        assert_eq!(asked["isOther"], false);
        let labels: Vec<&str> = asked["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["label"].as_str().unwrap())
            .collect();
        assert_eq!(labels, ["Allow", "Allow for this session", "Cancel"]);

        let id = "mcp_tool_call_approval_call_1";
        let answer = |label: &str| json!({"answers": {id: {"answers": [label]}}});
        assert_eq!(decision(&answer("Allow"), id), ReviewDecision::Accept);
        assert_eq!(
            decision(&answer("Allow for this session"), id),
            ReviewDecision::AcceptForSession
        );
        assert_eq!(decision(&answer("Cancel"), id), ReviewDecision::Decline);
        assert_eq!(decision(&answer("Sure"), id), ReviewDecision::Decline);
        // An answer to another question, or none at all, is not a yes.
        let other = json!({"answers": {"mcp_tool_call_approval_x": {"answers": ["Allow"]}}});
        assert_eq!(decision(&other, id), ReviewDecision::Decline);
        assert_eq!(decision(&json!({}), id), ReviewDecision::Decline);
    }
}
