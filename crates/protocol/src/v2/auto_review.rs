//! Automatic approval review (`approvalsReviewer: "auto_review"`): the notifications that tell a
//! client a reviewer model is deciding an approval instead of the user, and what it decided.
//!
//! Codex marks these shapes `[UNSTABLE]`; names and members follow its 0.169 schema
//! (`ItemGuardianApprovalReviewStartedNotification`, ...). Of the reviewed actions, wright
//! sends the ones it asks about: commands, patches and MCP tool calls.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Where a review stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum GuardianApprovalReviewStatus {
    InProgress,
    Approved,
    Denied,
    TimedOut,
    Aborted,
}

/// The risk the reviewer assigned to the action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum GuardianRiskLevel {
    Low,
    Medium,
    High,
    Critical,
}

/// How clearly the user authorized the action, as the reviewer judged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum GuardianUserAuthorization {
    Unknown,
    Low,
    Medium,
    High,
}

/// The review itself: its status and, once decided, the reviewer's assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GuardianApprovalReview {
    pub status: GuardianApprovalReviewStatus,
    #[serde(default)]
    pub risk_level: Option<GuardianRiskLevel>,
    #[serde(default)]
    pub user_authorization: Option<GuardianUserAuthorization>,
    #[serde(default)]
    pub rationale: Option<String>,
}

/// Which tool proposed a reviewed command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum GuardianCommandSource {
    Shell,
    UnifiedExec,
}

/// What is being reviewed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum GuardianApprovalReviewAction {
    /// A command line, as shown to the user.
    Command {
        source: GuardianCommandSource,
        command: String,
        cwd: String,
    },
    /// A patch and the files it touches.
    ApplyPatch { cwd: String, files: Vec<String> },
    /// A call to an MCP server's tool.
    #[serde(rename_all = "camelCase")]
    McpToolCall {
        server: String,
        /// The server's own name for the tool.
        tool_name: String,
        #[serde(default)]
        connector_id: Option<String>,
        #[serde(default)]
        connector_name: Option<String>,
        #[serde(default)]
        tool_title: Option<String>,
    },
}

/// Who made a review's final decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AutoReviewDecisionSource {
    Agent,
}

/// `item/autoApprovalReview/started`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemGuardianApprovalReviewStartedNotification {
    pub thread_id: String,
    pub turn_id: String,
    /// Stable identifier of this review.
    pub review_id: String,
    /// Unix ms.
    pub started_at_ms: i64,
    /// The item (command or patch) under review.
    #[serde(default)]
    pub target_item_id: Option<String>,
    pub review: GuardianApprovalReview,
    pub action: GuardianApprovalReviewAction,
}

/// `item/autoApprovalReview/completed`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ItemGuardianApprovalReviewCompletedNotification {
    pub thread_id: String,
    pub turn_id: String,
    pub review_id: String,
    /// Unix ms.
    pub started_at_ms: i64,
    /// Unix ms.
    pub completed_at_ms: i64,
    #[serde(default)]
    pub target_item_id: Option<String>,
    pub decision_source: AutoReviewDecisionSource,
    pub review: GuardianApprovalReview,
    pub action: GuardianApprovalReviewAction,
}
