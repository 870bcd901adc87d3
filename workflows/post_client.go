package workflows

import (
	"context"
	"fmt"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"resurge/domain"
)

// StartPost starts watching a post, or returns the run that already watches it: starting the
// same post twice is safe (the workflow ID is the post's, and a running workflow is reused).
// The input is validated first so that bad input gets an error here, not a failed workflow.
func StartPost(ctx context.Context, c client.Client, in PostInput) (client.WorkflowRun, error) {
	if err := in.Post.Validate(); err != nil {
		return nil, err
	}
	if err := in.Config.Validate(); err != nil {
		return nil, err
	}
	in.ShownAtStart = map[string]string{
		SearchAttrPostID: in.Post.ID, SearchAttrAgent: in.Post.Agent, SearchAttrState: StateWatching,
	}
	opts := client.StartWorkflowOptions{
		ID:                       PostWorkflowID(in.Post.ID),
		TaskQueue:                TaskQueue,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		StaticSummary:            PostSummaryText(in.Post),
		StaticDetails:            postStaticDetails(in),
		TypedSearchAttributes: temporal.NewSearchAttributes(
			PostIDKey.ValueSet(in.Post.ID),
			AgentKey.ValueSet(in.Post.Agent),
			StateKey.ValueSet(StateWatching),
		),
	}
	return c.ExecuteWorkflow(ctx, opts, PostWorkflow, in)
}

func postStaticDetails(in PostInput) string {
	c := in.Config
	// The cooldowns of the actions the post's platform takes, tier by tier.
	acts := domain.CapabilitiesOf(in.Post.Platform).TierActions
	return fmt.Sprintf("sample every %s · window %s (≥ %d samples) · at most %d actions per window · "+
		"cooldowns %s %s / %s %s / %s %s · watched for %s · an approval waits %s",
		c.SampleInterval, c.Window, c.MinSamples, c.MaxActionsPerWindow,
		acts[0], c.Cooldown(acts[0]), acts[1], c.Cooldown(acts[1]), acts[2], c.Cooldown(acts[2]), c.Horizon, min(c.ApprovalWait(), c.Horizon))
}

// QueryPostStatus asks a post workflow (running or closed) for its status.
func QueryPostStatus(ctx context.Context, c client.Client, postID string) (PostStatus, error) {
	var st PostStatus
	if err := domain.ValidateID("post", postID); err != nil {
		return st, err
	}
	v, err := c.QueryWorkflow(ctx, PostWorkflowID(postID), "", QueryStatus)
	if err != nil {
		return st, err
	}
	return st, v.Get(&st)
}

// StopPost signals a post workflow to stop watching.
func StopPost(ctx context.Context, c client.Client, postID string, req StopRequest) error {
	return signalPost(ctx, c, postID, SignalStop, req)
}

// signalPost signals a person's answer or request to a post workflow.
func signalPost(ctx context.Context, c client.Client, postID, signal string, payload any) error {
	if err := domain.ValidateID("post", postID); err != nil {
		return err
	}
	return c.SignalWorkflow(ctx, PostWorkflowID(postID), "", signal, payload)
}

// ApprovePost and RejectPost send an operator's answer to the action awaiting approval on a
// post; the post applies it asynchronously (its status query shows the result).
func ApprovePost(ctx context.Context, c client.Client, postID string, a domain.ApprovalAnswer) error {
	if err := a.Validate(SignalApprove); err != nil {
		return err
	}
	return signalPost(ctx, c, postID, SignalApprove, a)
}

func RejectPost(ctx context.Context, c client.Client, postID string, a domain.ApprovalAnswer) error {
	if err := a.Validate(SignalReject); err != nil {
		return err
	}
	return signalPost(ctx, c, postID, SignalReject, a)
}

// ActOnPost asks a post to perform an operator's action now. The request is checked for the
// post's ID only; the post validates the rest against its own configuration (a bad request is
// recorded as rejected there).
func ActOnPost(ctx context.Context, c client.Client, postID string, r domain.OperatorRequest) error {
	return signalPost(ctx, c, postID, SignalAct, r)
}
