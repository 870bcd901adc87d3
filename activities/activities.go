// Package activities holds the side effects Resurge's workflows ask for: reading metrics,
// planning (a pure function run as a local activity so its result is recorded once) and acting
// on a platform with an idempotency key.
package activities

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"

	"resurge/domain"
	"resurge/metrics"
	"resurge/platform"
)

// Activities holds the dependencies of every activity. Platforms are looked up by the post's
// platform name; their credentials stay inside them, never in workflow inputs or histories.
type Activities struct {
	Platforms map[string]platform.Platform
	// Safety reaches the arbiter and the monitors; nil on a worker without them.
	Safety SafetyGateway
	// Alerts is where monitors' alerts go; nil logs them only.
	Alerts *AlertSink
	// Metrics records the stagnation scores the planner computes; nil records nothing. (The
	// platform calls are recorded by Platforms, wrapped with metrics.Registry.Platforms.)
	Metrics *metrics.Registry
}

// FetchMetricsInput names the post to read.
type FetchMetricsInput struct {
	PostID   string `json:"post_id"`
	Platform string `json:"platform"`
}

// FetchMetrics reads a post's current counters. It does not validate them against earlier
// samples: the workflow does, so a bad sample is recorded and skipped rather than retried.
func (a *Activities) FetchMetrics(ctx context.Context, in FetchMetricsInput) (domain.MetricsSample, error) {
	p, err := a.platform(in.Platform)
	if err != nil {
		return domain.MetricsSample{}, err
	}
	s, err := p.Metrics(ctx, in.PostID)
	if err != nil {
		return domain.MetricsSample{}, toApplicationError(err, activity.GetInfo(ctx).Attempt)
	}
	return s, nil
}

// PlanInput is everything the planner looks at.
type PlanInput struct {
	PostID  string                  `json:"post_id"`
	Log     []domain.ActionRecord   `json:"log"`
	Samples []domain.MetricsSample  `json:"samples"`
	Config  domain.EvaluationConfig `json:"config"`
	Now     time.Time               `json:"now"`
	// Platform chooses the stagnation formula (domain.StagnationScoreFor); empty means the
	// reference formula, as before the field existed.
	Platform string `json:"platform,omitempty"`
	// StartedAt is when the post started watching; Sampled says this cycle took a sample;
	// Cadence is the cadence in force (the previous plan's). With Sampled, the plan carries
	// the next cadence (domain.NextCadence); without, the one in force.
	StartedAt time.Time       `json:"started_at,omitzero"`
	Sampled   bool            `json:"sampled,omitempty"`
	Cadence   *domain.Cadence `json:"cadence,omitempty"`
}

// PlanAction runs the pure planner and the cadence. It is an activity (a local one) so that
// the plan each cycle, and when the post samples next, are recorded in the history as the
// decisions the workflow acted on: a later change of the rules never changes a recorded past.
func (a *Activities) PlanAction(_ context.Context, in PlanInput) (domain.Plan, error) {
	plan := domain.PlanActionFor(in.Platform, in.PostID, in.Log, in.Samples, in.Config, in.Now)
	if plan.Reason != domain.ReasonInsufficientSamples {
		a.Metrics.ObserveScore(in.Platform, plan.Score)
	}
	plan.Cadence = in.Cadence
	if in.Sampled {
		c := domain.NextCadence(domain.CadenceInput{Config: in.Config, PostID: in.PostID, StartedAt: in.StartedAt, Now: in.Now,
			Log: in.Log, Plan: plan, Previous: in.Cadence})
		plan.Cadence = &c
	}
	return plan, nil
}

// ActionInput is one corrective action to perform.
type ActionInput struct {
	PostID   string            `json:"post_id"`
	Platform string            `json:"platform"`
	Action   domain.ActionType `json:"action_type"`
	Tier     domain.Tier       `json:"tier"`
	Key      string            `json:"idempotency_key"`
	// Text is the comment or the new post text; Parts are the replies of a thread.
	Text  string   `json:"text,omitempty"`
	Parts []string `json:"parts,omitempty"`
	// Verify asks to look for an existing effect with this key before acting, because an earlier
	// attempt with the same key may have reached the platform (its outcome is unknown).
	Verify bool `json:"verify,omitempty"`
}

// ActionResult is what the platform produced and how many attempts it took.
type ActionResult struct {
	Effect   platform.Effect `json:"effect"`
	Attempts int32           `json:"attempts"`
	// Verified is true when the effect already existed and nothing new was created.
	Verified bool `json:"verified,omitempty"`
}

// PerformAction acts on the platform with the idempotency key. On a retry (or when asked), it
// first checks whether an earlier attempt already produced the effect (verify-before-retry), so
// that a platform that ignores idempotency keys still sees one effect per key.
func (a *Activities) PerformAction(ctx context.Context, in ActionInput) (ActionResult, error) {
	attempt := activity.GetInfo(ctx).Attempt
	p, err := a.platform(in.Platform)
	if err != nil {
		return ActionResult{}, err
	}
	if attempt > 1 || in.Verify {
		effect, found, err := p.FindEffect(ctx, in.PostID, in.Key)
		if err != nil {
			return ActionResult{}, toApplicationError(err, attempt)
		}
		if found {
			effect.Replayed = true
			return ActionResult{Effect: effect, Attempts: attempt, Verified: true}, nil
		}
	}
	var effect platform.Effect
	switch in.Action {
	case domain.ActionComment:
		effect, err = p.Comment(ctx, in.PostID, in.Text, in.Key)
	case domain.ActionEdit:
		effect, err = p.Edit(ctx, in.PostID, in.Text, in.Key)
	case domain.ActionThread:
		effect, err = p.Thread(ctx, in.PostID, in.Parts, in.Key)
	case domain.ActionQuote:
		q, ok := p.(platform.Quoter)
		if !ok {
			return ActionResult{}, nonRetryable(ErrInvalidInput, fmt.Sprintf("platform %q cannot quote a post", in.Platform), attempt)
		}
		effect, err = q.Quote(ctx, in.PostID, in.Text, in.Key)
	default:
		return ActionResult{}, nonRetryable(ErrInvalidInput, fmt.Sprintf("unknown action type %q", in.Action), attempt)
	}
	if err != nil {
		return ActionResult{}, toApplicationError(err, attempt)
	}
	return ActionResult{Effect: effect, Attempts: attempt}, nil
}

func (a *Activities) platform(name string) (platform.Platform, error) {
	p, ok := a.Platforms[name]
	if !ok || p == nil {
		return nil, nonRetryable(ErrUnknownPlatform, fmt.Sprintf("no adapter configured for platform %q", name), 1)
	}
	return p, nil
}
