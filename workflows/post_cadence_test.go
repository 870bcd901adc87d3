package workflows

import (
	"testing"
	"time"

	"resurge/domain"
)

// healthyThenStalling engages 10% of new impressions until stallAt, and nothing after.
func healthyThenStalling(start time.Time, stallAt time.Duration) curve {
	return func(at time.Time) (int64, int64) {
		m := int64(at.Sub(start) / time.Minute)
		return 1000 + m*10, 100 + min(m, int64(stallAt/time.Minute))
	}
}

type cadenceRun struct {
	reads  []time.Time
	calls  []actionCall
	status PostStatus // queried at 5 hours
}

func runCadence(t *testing.T, cfg domain.EvaluationConfig, horizon time.Duration) cadenceRun {
	t.Helper()
	p := newPostTest(t, testStart, healthyThenStalling(testStart, 6*time.Hour), nil)
	var r cadenceRun
	p.env.RegisterDelayedCallback(func() {
		v, err := p.env.QueryWorkflow(QueryStatus)
		if err == nil {
			err = v.Get(&r.status)
		}
		if err != nil {
			t.Errorf("query: %v", err)
		}
	}, 5*time.Hour)
	cfg.Horizon = horizon
	p.run(PostInput{Post: testPost(), Config: cfg})
	r.reads, r.calls = p.fake.reads, p.fake.actionCalls()
	return r
}

func readsBetween(reads []time.Time, from, to time.Duration) int {
	n := 0
	for _, at := range reads {
		if d := at.Sub(testStart); d >= from && d < to {
			n++
		}
	}
	return n
}

// TestAdaptiveCadence: a healthy post comments at its third sample, samples densely while
// young, relaxes to the sparsest interval the window allows while nothing changes, and when
// it stalls at 6 hours its moving score makes it dense again: it acts no later than the fixed
// cadence would (within 10%), having sampled far less. The status shows the next interval and
// why. The fixed cadence samples every 10 minutes throughout.
func TestAdaptiveCadence(t *testing.T) {
	fixedCfg := domain.DefaultConfig()
	fixedCfg.Cadence = domain.CadenceFixed
	fixed := runCadence(t, fixedCfg, 12*time.Hour)
	adaptive := runCadence(t, domain.DefaultConfig(), 12*time.Hour)

	if n := len(fixed.reads); n != 72 {
		t.Fatalf("fixed: %d reads in 12 hours, want 72", n)
	}
	if fixed.status.Cadence.Mode != domain.CadenceFixed || fixed.status.Cadence.Interval != 10*time.Minute {
		t.Fatalf("fixed: status cadence %+v", fixed.status.Cadence)
	}
	if n := readsBetween(adaptive.reads, 0, 90*time.Minute); n != 9 {
		t.Fatalf("adaptive: %d reads in the first 90 minutes, want 9 (dense while young)", n)
	}
	// Calm from 1h30 (young) on: by 3h it samples at the sparsest interval.
	sparsest := domain.DefaultConfig().SparsestInterval()
	if n := readsBetween(adaptive.reads, 3*time.Hour, 6*time.Hour); n > 5 {
		t.Fatalf("adaptive: %d reads between 3h and 6h, want at most 5 (every %s)", n, sparsest)
	}
	st := adaptive.status.Cadence
	if st.Mode != domain.CadenceAdaptive || st.Interval != sparsest || st.Reason == "" || !adaptive.status.NextSampleAt.After(testStart.Add(5*time.Hour)) {
		t.Fatalf("adaptive at 5h: cadence %+v, next sample %s", st, adaptive.status.NextSampleAt)
	}

	// The stall's action: the first after it (an edit or, when the score crossed tier 2
	// between two samples, the thread).
	edit := func(r cadenceRun) time.Duration {
		for _, c := range r.calls {
			if d := c.At.Sub(testStart.Add(6 * time.Hour)); d > 0 {
				return d
			}
		}
		t.Fatalf("no action after the stall: %+v", r.calls)
		return 0
	}
	if len(adaptive.calls) == 0 || adaptive.calls[0].Action != domain.ActionComment || !adaptive.calls[0].At.Equal(testStart.Add(20*time.Minute)) {
		t.Fatalf("adaptive: first action %+v, want the comment at 20m", adaptive.calls)
	}
	fe, ae := edit(fixed), edit(adaptive)
	if ae > fe*11/10 {
		t.Fatalf("the stall's action came %s after it on the adaptive cadence, %s on the fixed one: more than +10%%", ae, fe)
	}
	if len(adaptive.reads)*2 > len(fixed.reads) {
		t.Fatalf("adaptive: %d reads in 12 hours, fixed %d: want less than half", len(adaptive.reads), len(fixed.reads))
	}
	t.Logf("reads in 12h: fixed %d, adaptive %d; the stall's action after %s (fixed) and %s (adaptive); actions fixed %+v, adaptive %+v",
		len(fixed.reads), len(adaptive.reads), fe, ae, fixed.calls, adaptive.calls)
}
