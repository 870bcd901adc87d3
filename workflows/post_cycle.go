package workflows

import (
	"fmt"
	"time"

	"go.temporal.io/sdk/workflow"

	"resurge/activities"
	"resurge/domain"
	"resurge/platform"
)

// acts is a nil *Activities used only to name activity methods; the worker registers the real
// one with its dependencies.
var acts *activities.Activities

// takeSample reads the metrics and keeps the sample when it is valid. It returns false when the
// platform says the post is gone.
func (w *postWorkflow) takeSample(ctx workflow.Context) bool {
	now := workflow.Now(ctx)
	w.slot = w.c.NextSampleAt
	w.c.NextSampleAt = nextSample(w.slot, now, w.in.Config.SampleInterval)
	var s domain.MetricsSample
	la := workflow.WithLocalActivityOptions(ctx, fetchMetricsOptions())
	err := workflow.ExecuteLocalActivity(la, acts.FetchMetrics, activities.FetchMetricsInput{
		PostID: w.in.Post.ID, Platform: w.in.Post.Platform,
	}).Get(ctx, &s)
	if err != nil {
		code, _ := activities.FailureCode(err)
		if code == platform.CodePostGone {
			w.endReason = EndPostGone
			return false
		}
		w.c.LastError = "metrics: " + err.Error()
		if code == platform.CodeInvalidResponse {
			w.reject(ctx, "metrics reply", err)
		}
		return true
	}
	var prev *domain.MetricsSample
	if n := len(w.c.Samples); n > 0 {
		prev = &w.c.Samples[n-1]
	}
	if err := domain.ValidateSample(s, prev, now.Add(clockSkew)); err != nil {
		w.reject(ctx, "metrics sample", err)
		return true
	}
	w.c.LastError = ""
	w.c.Samples = append(w.c.Samples, s)
	if len(w.c.PendingImpacts) > 0 {
		w.measureImpacts(ctx)
	}
	w.trimSamples(s.At)
	return true
}

// nextSample is the sample after the one due at slot, taken at now: an interval later. Behind
// schedule (the worker was down, or this task ran a whole interval late), it samples on a fresh
// cadence rather than in a burst, and never twice at one instant.
func nextSample(slot, now time.Time, interval time.Duration) time.Time {
	if next := slot.Add(interval); next.After(now) {
		return next
	}
	return now.Add(interval)
}

// trimSamples drops samples that can no longer be inside any future window; the newest one is
// always kept, as the reference for the next sample's validation.
func (w *postWorkflow) trimSamples(newest time.Time) {
	cutoff := newest.Add(-w.in.Config.Window)
	keep := w.c.Samples[:0]
	for i, s := range w.c.Samples {
		if !s.At.Before(cutoff) || i == len(w.c.Samples)-1 {
			keep = append(keep, s)
		}
	}
	w.c.Samples = keep
}

// evaluate plans and, when the plan is eligible, acts. After a sample (sampled), the plan of a
// post on the adaptive cadence also says when it samples next.
func (w *postWorkflow) evaluate(ctx workflow.Context, sampled bool) {
	now := w.planTime(ctx)
	var plan domain.Plan
	in := activities.PlanInput{
		PostID: w.in.Post.ID, Platform: w.in.Post.Platform, Log: w.c.Log, Samples: w.c.Samples,
		Config: w.in.Config, Now: now,
	}
	if w.in.Config.Adaptive() {
		in.StartedAt, in.Sampled, in.Cadence = w.c.StartedAt, sampled, w.cadence()
	}
	la := workflow.WithLocalActivityOptions(ctx, planOptions())
	err := workflow.ExecuteLocalActivity(la, acts.PlanAction, in).Get(ctx, &plan)
	if err != nil {
		w.c.LastError = "plan: " + err.Error()
		return
	}
	w.c.LastPlan = &plan
	if c := plan.Cadence; sampled && c != nil && c.Mode == domain.CadenceAdaptive && c.Interval > 0 {
		// A post started on the adaptive cadence (its recorded plan says so): the next sample
		// is this one's slot plus the plan's interval, not the sample interval.
		w.c.NextSampleAt = nextSample(w.slot, workflow.Now(ctx), c.Interval)
	}
	if w.c.Pending != nil {
		// A person decides on the pending action: the post keeps sampling and scoring, but
		// proposes nothing else meanwhile.
		w.state = StateAwaitingApproval
		w.updateUI(ctx)
		return
	}
	if !plan.Eligible {
		w.state = StateWatching
		if plan.CooldownUntil != nil {
			w.state = StateCoolingDown
		}
		w.updateUI(ctx)
		return
	}
	if t := w.c.BudgetRetryAt; t != nil {
		if workflow.Now(ctx).Before(*t) {
			// The budgets refused the last action until then: asking sooner changes nothing.
			w.state = StateBlocked
			w.updateUI(ctx)
			return
		}
		w.c.BudgetRetryAt = nil
	}
	w.act(ctx, plan, now)
}

// planTime is the workflow's time, or the newest sample's when the platform's clock runs ahead
// of it, so that the sample just read is inside the window.
func (w *postWorkflow) planTime(ctx workflow.Context) time.Time {
	now := workflow.Now(ctx)
	if n := len(w.c.Samples); n > 0 && w.c.Samples[n-1].At.After(now) {
		return w.c.Samples[n-1].At
	}
	return now
}

// act asks the arbiter for permission and performs the planned action.
func (w *postWorkflow) act(ctx workflow.Context, plan domain.Plan, now time.Time) {
	w.runJob(ctx, job{key: plan.Key, action: plan.Action, tier: plan.Tier, texts: w.texts(plan.Action), score: plan.Score}, now)
}

// job is one action to run: the automation's plan, or a person's (an approved plan, an
// operator's request).
type job struct {
	key    string
	action domain.ActionType
	tier   domain.Tier
	texts  []string
	score  float64
	// person is who approved or asked for the action; nil when the automation acts alone.
	person *person
}

type person struct {
	operator, reason, requestID string
}

// request is the arbitration request for the job.
func (w *postWorkflow) request(j job, now time.Time) domain.ArbitrationRequest {
	r := domain.ArbitrationRequest{
		PostID: w.in.Post.ID, Agent: w.in.Post.Agent, Platform: w.in.Post.Platform,
		Action: j.action, Tier: j.tier, Key: j.key, Texts: j.texts, Score: j.score, At: now,
	}
	if j.person != nil {
		r.Autonomous, r.Operator, r.OperatorReason = domain.NotAutonomous(), j.person.operator, j.person.reason
	}
	return r
}

// runJob asks the arbiter for permission and, if allowed, performs the action with its key and
// reports the outcome. A refusal is recorded as blocked; one for want of approval only turns
// into an approval request.
func (w *postWorkflow) runJob(ctx workflow.Context, j job, now time.Time) {
	w.state = StateActing
	w.updateUI(ctx)
	rateBefore := min(1, domain.EngagementRate(domain.SamplesInWindow(w.c.Samples, w.in.Config.Window, now)))
	decision := w.askPermission(ctx, w.request(j, now))
	w.c.LastPermission = &decision
	rec := w.record(j, now)
	if !decision.Allowed() {
		if j.person == nil && decision.RequiresApproval && w.humanInTheLoop(ctx) {
			w.awaitApproval(ctx, rec, j, decision, now)
			return
		}
		if j.person == nil && !decision.RetryAt.IsZero() && w.budgetRetry(ctx) {
			t := domain.BudgetRetryTime(w.in.Post.ID, decision.RetryAt, w.c.NextSampleAt, w.in.Config.SampleInterval)
			w.c.BudgetRetryAt = &t
		}
		rec.Status = domain.StatusBlocked
		rec.Reasons = append([]string(nil), decision.Reasons...)
		rec.FinishedAt = now
		w.state = StateBlocked
		if j.person != nil {
			w.state = w.restingState() // the automation itself is not blocked
		}
		w.updateUI(ctx)
		w.countAction(ctx, *rec)
		return
	}
	// An earlier attempt with this key may have reached the platform even though it was
	// recorded as failed (a timeout leaves the outcome unknown): look before acting again.
	verify := rec.Attempts > 0
	rec.Status, rec.InitiatedAt, rec.FinishedAt = domain.StatusRunning, now, time.Time{}
	rec.ErrorCode, rec.Reasons, rec.Outcome = "", nil, nil

	in := activities.ActionInput{
		PostID: w.in.Post.ID, Platform: w.in.Post.Platform, Action: j.action, Tier: j.tier,
		Key: j.key, Verify: verify,
	}
	if j.action == domain.ActionThread {
		in.Parts = j.texts
	} else {
		in.Text = j.texts[0]
	}
	summary := fmt.Sprintf("%s on %s (%s)", j.action, w.in.Post.ID, j.tier)
	if j.person != nil {
		summary += " for operator " + j.person.operator
	}
	var res activities.ActionResult
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, actionOptions(summary)),
		acts.PerformAction, in).Get(ctx, &res)
	// The record may have moved in the log while we waited only if the log was appended to,
	// which nothing does concurrently; look it up again anyway to keep the pointer honest.
	rec = w.findRecord(j.key)
	rec.FinishedAt = workflow.Now(ctx)
	if err != nil {
		code, attempts := activities.FailureCode(err)
		rec.Status, rec.ErrorCode = domain.StatusFailed, code
		rec.Attempts += int(max(attempts, 1))
		rec.Reasons = []string{err.Error()}
	} else {
		rec.Status = domain.StatusSuccess
		rec.Attempts += int(max(res.Attempts, 1))
		rec.Outcome = res.Effect.Outcome()
	}
	w.state = w.restingState()
	w.updateUI(ctx)
	w.countAction(ctx, *rec)
	w.reportOutcome(ctx, *rec, rateBefore)
}

// record returns the log record for the job's key, adding one when there is none. Like the
// reference executor, a key has one record that is updated in place; it says whose action it
// is now.
func (w *postWorkflow) record(j job, now time.Time) *domain.ActionRecord {
	r := w.findRecord(j.key)
	if r != nil {
		r.InitiatedAt = now
	} else {
		w.c.Log = append(w.c.Log, domain.ActionRecord{
			Key: j.key, PostID: w.in.Post.ID, Action: j.action, Tier: j.tier, InitiatedAt: now,
		})
		r = &w.c.Log[len(w.c.Log)-1]
	}
	r.Autonomous, r.Operator, r.Reason, r.RequestID = nil, "", "", ""
	if p := j.person; p != nil {
		r.Autonomous, r.Operator, r.Reason, r.RequestID = domain.NotAutonomous(), p.operator, p.reason, p.requestID
	}
	return r
}

func (w *postWorkflow) findRecord(key string) *domain.ActionRecord {
	for i := range w.c.Log {
		if w.c.Log[i].Key == key {
			return &w.c.Log[i]
		}
	}
	return nil
}

// texts are what an action publishes: one text for a comment, an edit or a quote (the tier-2
// text, as the edit's on platforms that cannot edit), the parts of a thread. (Only Bluesky posts
// quote, and no workflow before them did: the quote case changes no existing history.)
func (w *postWorkflow) texts(a domain.ActionType) []string {
	switch a {
	case domain.ActionComment:
		return []string{w.in.Post.CommentText}
	case domain.ActionEdit, domain.ActionQuote:
		return []string{w.in.Post.EditText}
	default:
		return append([]string(nil), w.in.Post.ThreadTexts...)
	}
}

// askPermission asks the safety arbiter whether the action may run. When the arbiter cannot be
// reached (after bounded retries) the answer is deny: no permission, no action. A decision
// received is counted (countDecision); a failed arbitration is not a decision.
func (w *postWorkflow) askPermission(ctx workflow.Context, req domain.ArbitrationRequest) domain.ArbitrationDecision {
	var d domain.ArbitrationDecision
	opts := safetyActivityOptions(fmt.Sprintf("ask the arbiter: %s on %s", req.Action, req.PostID))
	err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), acts.Arbitrate, req).Get(ctx, &d)
	if err != nil {
		return domain.ArbitrationDecision{
			Decision: domain.DecisionDeny, Tier: req.Tier, At: workflow.Now(ctx),
			Reasons: []string{"arbitration failed, not acting: " + err.Error()},
		}
	}
	countDecision(ctx, d)
	return d
}

// reportOutcome tells the agent's monitor how an action ended. A report that cannot be
// delivered is logged; it never undoes or repeats the action.
func (w *postWorkflow) reportOutcome(ctx workflow.Context, rec domain.ActionRecord, rateBefore float64) {
	o := domain.Outcome{
		Agent: w.in.Post.Agent, PostID: rec.PostID, Key: rec.Key, Action: rec.Action, Tier: rec.Tier,
		Status: rec.Status, ErrorCode: rec.ErrorCode, Attempts: rec.Attempts,
		InitiatedAt: rec.InitiatedAt, FinishedAt: rec.FinishedAt, RateBefore: rateBefore,
		Autonomous: rec.Autonomous, // a person's action is marked: monitors grade the automation only
	}
	opts := safetyActivityOptions("report the outcome to monitor/" + w.in.Post.Agent)
	if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), acts.ReportOutcome, o).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("could not report the outcome", "key", rec.Key, "error", err)
	}
	// The impact of a person's action says nothing about the automation: it is not measured.
	if rec.Status == domain.StatusSuccess && rec.IsAutonomous() {
		w.c.PendingImpacts = append(w.c.PendingImpacts, PendingImpact{Key: rec.Key, RateBefore: rateBefore, After: rec.FinishedAt})
	}
}

// measureImpacts reports, for each successful action whose following window has passed, the
// engagement rate the post had in that window.
func (w *postWorkflow) measureImpacts(ctx workflow.Context) {
	now := workflow.Now(ctx)
	keep := w.c.PendingImpacts[:0]
	for _, p := range w.c.PendingImpacts {
		end := p.After.Add(w.in.Config.Window)
		if now.Before(end) {
			keep = append(keep, p)
			continue
		}
		var after []domain.MetricsSample
		for _, s := range w.c.Samples {
			if s.At.After(p.After) && !s.At.After(end) {
				after = append(after, s)
			}
		}
		if len(after) < 2 {
			continue // too few samples to measure (the worker was down): nothing to report
		}
		im := domain.Impact{
			Agent: w.in.Post.Agent, PostID: w.in.Post.ID, Key: p.Key,
			RateBefore: p.RateBefore, RateAfter: min(1, domain.EngagementRate(after)), MeasuredAt: now,
		}
		opts := safetyActivityOptions("report the impact to monitor/" + w.in.Post.Agent)
		if err := workflow.ExecuteActivity(workflow.WithActivityOptions(ctx, opts), acts.ReportImpact, im).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("could not report the impact", "key", p.Key, "error", err)
		}
	}
	w.c.PendingImpacts = keep
}
