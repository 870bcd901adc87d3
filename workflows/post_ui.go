package workflows

import (
	"fmt"
	"strings"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"resurge/domain"
)

// PostSummaryText is the static summary the starter gives a post workflow in the Web UI.
func PostSummaryText(p domain.Post) string {
	return fmt.Sprintf("post %s on %s, agent %s", p.ID, p.Platform, p.Agent)
}

// updateUI refreshes the Web UI's current details and upserts the search attributes that
// changed (an unchanged value costs no history event).
func (w *postWorkflow) updateUI(ctx workflow.Context) {
	workflow.SetCurrentDetails(ctx, w.details())
	var updates []temporal.SearchAttributeUpdate
	set := func(name string, key temporal.SearchAttributeKeyKeyword, value string) {
		if value != "" && w.c.Shown[name] != value {
			w.c.Shown[name] = value
			updates = append(updates, key.ValueSet(value))
		}
	}
	set(SearchAttrState, StateKey, w.state)
	set(SearchAttrTier, TierKey, string(w.lastTier()))
	set(SearchAttrLastAction, LastActionKey, w.lastActionLabel())
	if len(updates) > 0 {
		if err := workflow.UpsertTypedSearchAttributes(ctx, updates...); err != nil {
			workflow.GetLogger(ctx).Warn("search attribute upsert failed", "error", err)
		}
	}
}

// details is the Markdown shown as the workflow's current details in the Web UI.
func (w *postWorkflow) details() string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** · state **%s**", PostSummaryText(w.in.Post), w.state)
	if p := w.c.LastPlan; p != nil {
		if p.Tier != "" {
			fmt.Fprintf(&b, "\n\nscore %.2f → %s (%s)", p.Score, p.Tier, p.Action)
		}
		if !p.Eligible {
			fmt.Fprintf(&b, "\n\nnot acting: %s", p.Reason)
			if p.CooldownUntil != nil {
				fmt.Fprintf(&b, " until %s", clock(*p.CooldownUntil))
			}
		}
	}
	if p := w.c.Pending; p != nil {
		fmt.Fprintf(&b, "\n\n⏳ **awaiting approval**: %s (%s) since %s, expires %s\n\n", p.Action, p.Tier, clock(p.Since), clock(p.Until))
		for i, t := range p.Texts {
			fmt.Fprintf(&b, "> %d. %s\n", i+1, oneLine(t, 200))
		}
		fmt.Fprintf(&b, "\nwhy: %s\n\napprove: `%s`\n\nreject: `%s`", strings.Join(p.Reasons, "; "), p.ApproveCommand, p.RejectCommand)
	}
	if label := w.lastActionLabel(); label != "" {
		fmt.Fprintf(&b, "\n\nlast action: %s", label)
		if r := w.lastRecord(); r != nil && r.Operator != "" {
			fmt.Fprintf(&b, " (by %s: %s)", r.Operator, oneLine(r.Reason, 120))
		}
	}
	if d := w.c.LastPermission; d != nil && !d.Allowed() {
		fmt.Fprintf(&b, "\n\narbiter: %s (%s)", d.Decision, strings.Join(d.Reasons, "; "))
	}
	if c := w.cadence(); c != nil && c.Mode == domain.CadenceAdaptive {
		fmt.Fprintf(&b, "\n\nnext sample in %s (%s)", c.Interval, c.Reason)
	}
	if t := w.c.BudgetRetryAt; t != nil {
		fmt.Fprintf(&b, "\n\nbudget: asks the arbiter again at %s", clock(*t))
	}
	if w.endReason != "" {
		fmt.Fprintf(&b, "\n\nended: %s", w.endReason)
	}
	return b.String()
}

// lastActionLabel is "<action>:<status>" of the most recently initiated record.
func (w *postWorkflow) lastActionLabel() string {
	r := w.lastRecord()
	if r == nil {
		return ""
	}
	return string(r.Action) + ":" + string(r.Status)
}

func (w *postWorkflow) lastRecord() *domain.ActionRecord {
	var last *domain.ActionRecord
	for i := range w.c.Log {
		if last == nil || !w.c.Log[i].InitiatedAt.Before(last.InitiatedAt) {
			last = &w.c.Log[i]
		}
	}
	return last
}

func (w *postWorkflow) lastScore() float64 {
	if p := w.c.LastPlan; p != nil {
		return p.Score
	}
	return 0
}

func (w *postWorkflow) lastTier() domain.Tier {
	if p := w.c.LastPlan; p != nil {
		return p.Tier
	}
	return ""
}

// status answers the status query from the current state (read-only).
func (w *postWorkflow) status(ctx workflow.Context) PostStatus {
	now := workflow.Now(ctx)
	st := PostStatus{
		Post:           w.in.Post,
		Config:         w.in.Config,
		State:          w.state,
		StartedAt:      w.c.StartedAt,
		EndsAt:         w.c.StartedAt.Add(w.in.Config.Horizon),
		Window:         domain.SamplesInWindow(w.c.Samples, w.in.Config.Window, w.planTime(ctx)),
		LastScore:      w.lastScore(),
		LastTier:       w.lastTier(),
		LastPlan:       w.c.LastPlan,
		Log:            append([]domain.ActionRecord{}, w.c.Log...),
		NextSampleAt:   w.c.NextSampleAt,
		Cadence:        w.cadenceInForce(),
		LastPermission: w.c.LastPermission,
		Rejected:       w.c.Rejected,
		RejectedCount:  w.c.RejectedCount,
		Cycles:         w.c.Cycles,
		Runs:           w.c.Runs,
		LastError:      w.c.LastError,
		EndReason:      w.endReason,
		Cooldowns:      []Cooldown{},

		PendingApproval: w.c.Pending,
		BudgetRetryAt:   w.c.BudgetRetryAt,
	}
	for _, a := range domain.ActionTypes {
		if until, ok := domain.CooldownEnd(w.in.Post.ID, w.c.Log, a, w.in.Config); ok && until.After(now) {
			st.Cooldowns = append(st.Cooldowns, Cooldown{Action: a, Until: until})
		}
	}
	return st
}

// cadenceInForce is the cadence the next sample follows: the last plan's, or the fixed one.
func (w *postWorkflow) cadenceInForce() domain.Cadence {
	if c := w.cadence(); c != nil {
		return *c
	}
	cfg := w.in.Config
	if cfg.Adaptive() {
		return domain.Cadence{Mode: domain.CadenceAdaptive, Interval: cfg.SampleInterval, Reason: "no plan yet: the first samples are dense"}
	}
	return domain.Cadence{Mode: domain.CadenceFixed, Interval: cfg.SampleInterval, Reason: "fixed cadence: every sample_interval"}
}

// oneLine shortens s to n characters on one line, for the details' Markdown.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
