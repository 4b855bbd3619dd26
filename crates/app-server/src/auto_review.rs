//! `approvalsReviewer: "auto_review"`: under the `on-request` policy (as in Codex), what a turn
//! would ask the client about is decided by a reviewer model instead
//! ([`wright_core::auto_review`]). No request goes to the client; the thread's followers see
//! each review as `item/autoApprovalReview/started`, then `item/autoApprovalReview/completed`.
//! A denial, a review that fails or one that takes too long declines the action, and the model
//! is told why; an interrupted review cancels it, as the user's interrupt would.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use wright_core::approval::{ApprovalRequest, Approver, ReviewDecision};
use wright_core::auto_review::{
    Outcome, ReviewError, Reviewer, RiskLevel, Transcript, UserAuthorization, Verdict,
};
use wright_core::config::ApprovalPolicy;
use wright_core::{Thread, TurnInput};
use wright_protocol::v2::{
    ApprovalsReviewer, AutoReviewDecisionSource, GuardianApprovalReview,
    GuardianApprovalReviewAction, GuardianApprovalReviewStatus, GuardianCommandSource,
    GuardianRiskLevel, GuardianUserAuthorization, ItemGuardianApprovalReviewCompletedNotification,
    ItemGuardianApprovalReviewStartedNotification, ServerNotification,
};

use crate::approvals::ToPump;
use crate::state::Loaded;
use crate::wire::now_ms;

/// The thread's transcript for the reviewer, kept up to date by the turn's event pump.
pub(crate) type SharedTranscript = Arc<Mutex<Transcript>>;

/// What the model is told after a denial (Codex's guidance: no workaround, a safer way or the
/// user).
const AFTER_DENIAL: &str = "Do not try to reach the same outcome through a workaround, indirect execution or by circumventing the policy. Go on only with a materially safer alternative, or stop and ask the user, who can approve the action knowing the risk.";

/// What the model is told after a timeout.
const AFTER_TIMEOUT: &str = "The automatic approval review did not finish in time, so the action was not taken. This alone does not mean it is unsafe: you may try once more, or ask the user for guidance or explicit approval.";

/// Whether a turn's approvals go to the reviewer model: the thread says `auto_review` and the
/// turn's policy is `on-request` (Codex routes only that policy to its reviewer; under
/// `untrusted` and `on-failure` the client is asked, as before).
pub(crate) fn applies(loaded: &Loaded, input: &TurnInput) -> bool {
    if loaded.reviewer() != ApprovalsReviewer::AutoReview {
        return false;
    }
    let policy = input
        .overrides
        .approval_policy
        .unwrap_or_else(|| loaded.config().approval_policy);
    match policy {
        ApprovalPolicy::OnRequest => true,
        ApprovalPolicy::Never => false,
        ApprovalPolicy::Untrusted | ApprovalPolicy::OnFailure => {
            tracing::warn!(
                "thread {}: approvalsReviewer auto_review applies to the on-request policy only (as in Codex); under {} approvals go to the client",
                loaded.id,
                policy.as_str()
            );
            false
        }
    }
}

/// Everything a turn's reviews need, fixed when the turn starts.
pub(crate) struct AutoReview {
    reviewer: Result<Reviewer, String>,
    transcript: SharedTranscript,
    cwd: PathBuf,
}

impl AutoReview {
    /// For a turn of `thread` with `input`: the turn's model at the thread's provider, and the
    /// transcript so far (called with the thread locked, before the turn runs).
    pub fn new(thread: &Thread, input: &TurnInput, transcript: SharedTranscript) -> AutoReview {
        let config = thread.config();
        let model = input
            .overrides
            .model
            .clone()
            .unwrap_or_else(|| config.model.clone());
        if let Ok(mut t) = transcript.lock() {
            *t = Transcript::new(thread.history());
        }
        AutoReview {
            reviewer: Reviewer::new(
                config.provider.clone(),
                model,
                format!("{}:auto-review", thread.id()),
            )
            .map_err(|e| e.to_string()),
            transcript,
            cwd: input
                .overrides
                .cwd
                .clone()
                .unwrap_or_else(|| config.cwd.clone()),
        }
    }
}

/// The turn's approver: every question goes to the reviewer.
pub(crate) fn approver(
    thread_id: String,
    turn_id: String,
    review: AutoReview,
    pump: mpsc::UnboundedSender<ToPump>,
) -> Approver {
    let review = Arc::new(review);
    Arc::new(move |request: ApprovalRequest| {
        let (thread_id, turn_id, review, pump) = (
            thread_id.clone(),
            turn_id.clone(),
            Arc::clone(&review),
            pump.clone(),
        );
        Box::pin(async move {
            let subject = Subject {
                thread_id,
                turn_id,
                review_id: uuid::Uuid::now_v7().to_string(),
                started_at_ms: now_ms(),
                target_item_id: Some(item_id(&request).to_string()),
                action: action_of(&request, &review.cwd),
            };
            // Dropped before the verdict (the turn was interrupted): the review is aborted.
            let mut pending = AbortOnDrop {
                subject: Some(subject.clone()),
                pump: pump.clone(),
            };
            announce(&pump, subject.started()).await;
            let transcript = review
                .transcript
                .lock()
                .map(|t| t.render())
                .unwrap_or_default();
            let result = match &review.reviewer {
                Ok(reviewer) => reviewer.review(&transcript, &request).await,
                Err(why) => Err(ReviewError::Model(why.clone())),
            };
            let (assessment, decision) = judge(result);
            if let Some(subject) = pending.subject.take() {
                announce(&pump, subject.completed(assessment)).await;
            }
            decision
        })
    })
}

fn item_id(request: &ApprovalRequest) -> &str {
    match request {
        ApprovalRequest::Command { item_id, .. }
        | ApprovalRequest::Patch { item_id, .. }
        | ApprovalRequest::McpToolCall { item_id, .. } => item_id,
    }
}

fn action_of(request: &ApprovalRequest, cwd: &std::path::Path) -> GuardianApprovalReviewAction {
    match request {
        ApprovalRequest::Command { command, cwd, .. } => GuardianApprovalReviewAction::Command {
            source: GuardianCommandSource::Shell,
            command: command.clone(),
            cwd: cwd.display().to_string(),
        },
        ApprovalRequest::Patch { changes, .. } => GuardianApprovalReviewAction::ApplyPatch {
            cwd: cwd.display().to_string(),
            files: changes
                .iter()
                .flat_map(|c| std::iter::once(c.path.clone()).chain(c.move_path.clone()))
                .collect(),
        },
        ApprovalRequest::McpToolCall { server, tool, .. } => {
            GuardianApprovalReviewAction::McpToolCall {
                server: server.clone(),
                tool_name: tool.clone(),
                connector_id: None,
                connector_name: None,
                tool_title: None,
            }
        }
    }
}

/// One review, as the notifications name it.
#[derive(Clone)]
struct Subject {
    thread_id: String,
    turn_id: String,
    review_id: String,
    started_at_ms: i64,
    target_item_id: Option<String>,
    action: GuardianApprovalReviewAction,
}

impl Subject {
    fn started(&self) -> ServerNotification {
        ServerNotification::ItemGuardianApprovalReviewStarted(
            ItemGuardianApprovalReviewStartedNotification {
                thread_id: self.thread_id.clone(),
                turn_id: self.turn_id.clone(),
                review_id: self.review_id.clone(),
                started_at_ms: self.started_at_ms,
                target_item_id: self.target_item_id.clone(),
                review: GuardianApprovalReview {
                    status: GuardianApprovalReviewStatus::InProgress,
                    risk_level: None,
                    user_authorization: None,
                    rationale: None,
                },
                action: self.action.clone(),
            },
        )
    }

    fn completed(self, review: GuardianApprovalReview) -> ServerNotification {
        ServerNotification::ItemGuardianApprovalReviewCompleted(
            ItemGuardianApprovalReviewCompletedNotification {
                thread_id: self.thread_id,
                turn_id: self.turn_id,
                review_id: self.review_id,
                started_at_ms: self.started_at_ms,
                completed_at_ms: now_ms(),
                target_item_id: self.target_item_id,
                decision_source: AutoReviewDecisionSource::Agent,
                review,
                action: self.action,
            },
        )
    }
}

/// Sends a notification through the turn's event pump (after the events before it: the item
/// under review is announced first) and waits until it is out.
async fn announce(pump: &mpsc::UnboundedSender<ToPump>, notification: ServerNotification) {
    let (sent, out) = oneshot::channel();
    let message = ToPump::Notify {
        notification: Box::new(notification),
        sent: Some(sent),
    };
    if pump.send(message).is_ok() {
        let _ = out.await;
    }
}

struct AbortOnDrop {
    subject: Option<Subject>,
    pump: mpsc::UnboundedSender<ToPump>,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some(subject) = self.subject.take() {
            let review = GuardianApprovalReview {
                status: GuardianApprovalReviewStatus::Aborted,
                risk_level: None,
                user_authorization: None,
                rationale: None,
            };
            let _ = self.pump.send(ToPump::Notify {
                notification: Box::new(subject.completed(review)),
                sent: None,
            });
        }
    }
}

fn risk(level: RiskLevel) -> GuardianRiskLevel {
    match level {
        RiskLevel::Low => GuardianRiskLevel::Low,
        RiskLevel::Medium => GuardianRiskLevel::Medium,
        RiskLevel::High => GuardianRiskLevel::High,
        RiskLevel::Critical => GuardianRiskLevel::Critical,
    }
}

fn authorization(level: UserAuthorization) -> GuardianUserAuthorization {
    match level {
        UserAuthorization::Unknown => GuardianUserAuthorization::Unknown,
        UserAuthorization::Low => GuardianUserAuthorization::Low,
        UserAuthorization::Medium => GuardianUserAuthorization::Medium,
        UserAuthorization::High => GuardianUserAuthorization::High,
    }
}

/// A review's result → what the client is shown and what the engine does. Only an explicit
/// "allow" verdict runs the action; everything else declines it, with the reason for the model.
fn judge(result: Result<Verdict, ReviewError>) -> (GuardianApprovalReview, ReviewDecision) {
    match result {
        Ok(verdict) => {
            let approved = verdict.outcome == Outcome::Allow;
            let review = GuardianApprovalReview {
                status: if approved {
                    GuardianApprovalReviewStatus::Approved
                } else {
                    GuardianApprovalReviewStatus::Denied
                },
                risk_level: Some(risk(verdict.risk_level)),
                user_authorization: Some(authorization(verdict.user_authorization)),
                rationale: Some(verdict.rationale.clone()),
            };
            let decision = if approved {
                ReviewDecision::Accept
            } else {
                ReviewDecision::DeclineWithReason(format!(
                    "The automatic approval reviewer rejected this action as too risky, so it was not taken.\nReason: {}\n{AFTER_DENIAL}",
                    verdict.rationale
                ))
            };
            (review, decision)
        }
        Err(ReviewError::TimedOut(limit)) => {
            let rationale = format!(
                "The automatic approval review timed out after {} s.",
                limit.as_secs()
            );
            tracing::warn!("{rationale}");
            let review = GuardianApprovalReview {
                status: GuardianApprovalReviewStatus::TimedOut,
                risk_level: None,
                user_authorization: None,
                rationale: Some(rationale),
            };
            (
                review,
                ReviewDecision::DeclineWithReason(AFTER_TIMEOUT.into()),
            )
        }
        Err(error) => {
            let rationale = format!("Automatic approval review failed: {error}");
            tracing::warn!("{rationale}");
            let review = GuardianApprovalReview {
                status: GuardianApprovalReviewStatus::Denied,
                risk_level: Some(GuardianRiskLevel::High),
                user_authorization: Some(GuardianUserAuthorization::Unknown),
                rationale: Some(rationale.clone()),
            };
            let decision = ReviewDecision::DeclineWithReason(format!(
                "The automatic approval review could not complete, so this action was blocked.\nReason: {rationale}\n{AFTER_DENIAL}"
            ));
            (review, decision)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn verdict(outcome: Outcome) -> Verdict {
        Verdict {
            outcome,
            risk_level: RiskLevel::Low,
            user_authorization: UserAuthorization::High,
            rationale: "RATIONALE-9".into(),
        }
    }

    #[test]
    fn only_an_allow_verdict_approves() {
        let (review, decision) = judge(Ok(verdict(Outcome::Allow)));
        assert_eq!(review.status, GuardianApprovalReviewStatus::Approved);
        assert_eq!(decision, ReviewDecision::Accept);

        let (review, decision) = judge(Ok(verdict(Outcome::Deny)));
        assert_eq!(review.status, GuardianApprovalReviewStatus::Denied);
        assert_eq!(review.rationale.as_deref(), Some("RATIONALE-9"));
        match decision {
            ReviewDecision::DeclineWithReason(reason) => {
                assert!(reason.contains("RATIONALE-9"), "{reason}")
            }
            other => panic!("{other:?}"),
        }

        let (review, decision) = judge(Err(ReviewError::TimedOut(Duration::from_secs(60))));
        assert_eq!(review.status, GuardianApprovalReviewStatus::TimedOut);
        assert!(matches!(decision, ReviewDecision::DeclineWithReason(_)));

        for error in [
            ReviewError::Model("HTTP 500".into()),
            ReviewError::Unreadable("not JSON".into()),
        ] {
            let (review, decision) = judge(Err(error));
            assert_eq!(review.status, GuardianApprovalReviewStatus::Denied);
            assert!(
                matches!(&decision, ReviewDecision::DeclineWithReason(r) if r.contains("could not complete")),
                "{decision:?}"
            );
        }
    }

    #[test]
    fn reviewed_actions_in_codex_shape() {
        let request = ApprovalRequest::Patch {
            item_id: "p1".into(),
            changes: vec![wright_protocol::FileUpdateChange {
                path: "/repo/a.txt".into(),
                kind: wright_protocol::ChangeKind::Update,
                move_path: Some("/elsewhere/b.txt".into()),
                diff: String::new(),
            }],
            reason: None,
        };
        assert_eq!(item_id(&request), "p1");
        assert_eq!(
            action_of(&request, std::path::Path::new("/repo")),
            GuardianApprovalReviewAction::ApplyPatch {
                cwd: "/repo".into(),
                files: vec!["/repo/a.txt".into(), "/elsewhere/b.txt".into()],
            }
        );
    }
}
