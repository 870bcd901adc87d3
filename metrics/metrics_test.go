package metrics

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"resurge/domain"
	"resurge/platform"
)

// fakePlatform answers every call with err after a short pause.
type fakePlatform struct{ err error }

func (f fakePlatform) Metrics(context.Context, string) (domain.MetricsSample, error) {
	time.Sleep(2 * time.Millisecond)
	return domain.MetricsSample{}, f.err
}
func (f fakePlatform) Comment(context.Context, string, string, string) (platform.Effect, error) {
	return platform.Effect{}, f.err
}
func (f fakePlatform) Edit(context.Context, string, string, string) (platform.Effect, error) {
	return platform.Effect{}, f.err
}
func (f fakePlatform) Thread(context.Context, string, []string, string) (platform.Effect, error) {
	return platform.Effect{}, f.err
}
func (f fakePlatform) FindEffect(context.Context, string, string) (platform.Effect, bool, error) {
	return platform.Effect{}, false, f.err
}

// workflowTags are the tags the SDK puts on a handler in workflow code: the three Resurge's
// workflow-side metrics keep, and others they drop.
func workflowTags(workflowType string) map[string]string {
	return map[string]string{
		LabelNamespace: "default", LabelTaskQueue: "resurge", LabelWorkflowType: workflowType,
		"client_name": "temporal_go", "worker_type": "WorkflowWorker", "activity_type": "none",
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// TestServedMetricsMatchTheCatalogue records every Resurge metric and an SDK one, serves the
// registry on a real listener, scrapes it and parses the text format: each metric has its
// catalogued name, type and labels, and the values recorded.
func TestServedMetricsMatchTheCatalogue(t *testing.T) {
	r, err := NewRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	post := r.SDKHandler().WithTags(workflowTags("PostWorkflow"))
	arbiter := r.SDKHandler().WithTags(workflowTags("ArbiterWorkflow"))
	ActionFinished(post, domain.PlatformSim, "comment", "success")
	ActionFinished(post, domain.PlatformSim, "comment", "success")
	ActionFinished(post, domain.PlatformSim, "edit", "blocked")
	ArbitrationDecision(post, "allow", SourceArbiter)
	ArbitrationDecision(post, "lock", SourceArbiter)
	ArbitrationDecision(post, "lock", SourceLockView)
	at := time.Date(2026, 11, 25, 12, 0, 0, 500_000_000, time.UTC)
	ArbiterLock(arbiter, true, at)
	RejectedInput(post, "metrics sample")
	RejectedInput(arbiter, "lock signal (locked anyway)")
	// The SDK's own names, through the same handler: the naming scope adds _total / _seconds.
	r.SDKHandler().Counter("temporal_request").Inc(1)
	r.SDKHandler().Timer("temporal_request_latency").Record(20 * time.Millisecond)

	ctx := context.Background()
	ok := r.Platform(domain.PlatformSim, fakePlatform{})
	limited := r.Platform(domain.PlatformSim, fakePlatform{err: &platform.Error{Code: platform.CodeRateLimit}})
	canceled := r.Platform(domain.PlatformSim, fakePlatform{err: context.Canceled})
	if _, err := ok.Metrics(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := limited.Comment(ctx, "p1", "hi", "k"); err == nil {
		t.Fatal("the wrapper lost the adapter's error")
	}
	_, _, _ = canceled.FindEffect(ctx, "p1", "k")
	_, _ = limited.Thread(ctx, "p1", []string{"a"}, "k")
	r.ObserveScore(domain.PlatformSim, 0.9)
	r.ObserveScore(domain.PlatformSim, 0.3)
	recordUpdateRetries(t, r)

	srv, err := Serve("127.0.0.1:0", r, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// Resurge's metrics are served at once; the SDK's after the tally scope's next report.
	fams := scrapeUntil(t, srv.URL(), func(f Families) bool { return f.Sum("temporal_request_total", nil) == 1 })

	for _, m := range Catalogue {
		fam, ok := fams[m.Name]
		if !ok {
			t.Errorf("%s: not served", m.Name)
			continue
		}
		if got := typeName(fam.GetType()); got != m.Type {
			t.Errorf("%s: type %s, want %s", m.Name, got, m.Type)
		}
		if fam.GetHelp() != m.Help {
			t.Errorf("%s: help %q, want %q", m.Name, fam.GetHelp(), m.Help)
		}
		for _, s := range fam.GetMetric() {
			var got []string
			for _, l := range s.GetLabel() {
				got = append(got, l.GetName())
			}
			want := sortedCopy(m.Labels)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s: labels %v, want %v", m.Name, got, want)
			}
		}
	}

	for _, c := range []struct {
		name  string
		match map[string]string
		want  float64
	}{
		{ActionsTotal, map[string]string{LabelAction: "comment", LabelStatus: "success", LabelPlatform: "sim", LabelWorkflowType: "PostWorkflow"}, 2},
		{ActionsTotal, map[string]string{LabelStatus: "blocked"}, 1},
		{ArbitrationDecisionsTotal, map[string]string{LabelDecision: "lock"}, 2},
		{ArbitrationDecisionsTotal, map[string]string{LabelDecision: "lock", LabelSource: SourceLockView, LabelWorkflowType: "PostWorkflow"}, 1},
		{ArbitrationDecisionsTotal, map[string]string{LabelSource: SourceArbiter}, 2},
		{ArbiterLockActive, nil, 1},
		{ArbiterObservedTimestamp, nil, float64(at.UnixMilli()) / 1000},
		{RejectedInputsTotal, map[string]string{LabelKind: "metrics_sample"}, 1},
		{RejectedInputsTotal, map[string]string{LabelKind: "lock_signal", LabelWorkflowType: "ArbiterWorkflow"}, 1},
		{PlatformCallDuration, map[string]string{LabelOperation: OpMetrics}, 1},
		{PlatformCallDuration, nil, 4},
		{PlatformCallErrorsTotal, map[string]string{LabelOperation: OpComment, LabelCode: platform.CodeRateLimit}, 1},
		{PlatformCallErrorsTotal, map[string]string{LabelOperation: OpFindEffect, LabelCode: CodeCanceled}, 1},
		{PlatformCallErrorsTotal, nil, 3},
		{StagnationScore, map[string]string{LabelPlatform: "sim"}, 2},
		{"temporal_request_total", nil, 1},
		{"temporal_request_latency_seconds", nil, 1},
		{ArbitrationRetriesTotal, map[string]string{LabelReason: ReasonTooManyUpdates}, 2},
		{ArbitrationRetriesTotal, map[string]string{LabelReason: ReasonUpdateAborted}, 1},
	} {
		if got := fams.Sum(c.name, c.match); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.match, got, c.want)
		}
	}
	// The score buckets count by tier: one score of 0.9 is above the tier-3 bound.
	if got := bucketCount(fams[StagnationScore], 0.8); got != 1 {
		t.Errorf("scores <= 0.8: %d, want 1", got)
	}
	if typeName(fams["temporal_request_latency_seconds"].GetType()) != TypeHistogram {
		t.Errorf("SDK timers must be histograms (the SDK dashboard reads their _bucket series)")
	}
	if _, ok := fams["go_goroutines"]; !ok {
		t.Errorf("the Go runtime's metrics are not served")
	}
}

func TestRejectKind(t *testing.T) {
	for what, want := range map[string]string{
		"metrics sample":                         "metrics_sample",
		"metrics reply":                          "metrics_reply",
		"stop signal payload":                    "stop_signal",
		"lock signal (locked anyway)":            "lock_signal",
		"release-lock signal (lock kept)":        "release_lock_signal",
		"agent-health signal":                    "agent_health_signal",
		"set-policy signal (policy kept)":        "set_policy_signal",
		"outcome signal":                         "outcome_signal",
		"impact signal":                          "impact_signal",
		"approve signal":                         "approve_signal",
		"signal after the post stopped watching": "signal_after_the_post_stopped_watching",
	} {
		if got := RejectKind(what); got != want {
			t.Errorf("RejectKind(%q) = %q, want %q", what, got, want)
		}
	}
}

// quotingPlatform is a fakePlatform that can quote.
type quotingPlatform struct{ fakePlatform }

func (q quotingPlatform) Quote(context.Context, string, string, string) (platform.Effect, error) {
	return platform.Effect{ID: "q1"}, q.err
}

// TestPlatformWrapperKeepsOptionalInterfaces: a wrapped adapter can quote exactly when the
// adapter can, its quotes are recorded, and Unwrap returns the adapter.
func TestPlatformWrapperKeepsOptionalInterfaces(t *testing.T) {
	r, err := NewRegistry(nil)
	if err != nil {
		t.Fatal(err)
	}
	inner := fakePlatform{err: errors.New("boom")}
	p := r.Platform("sim", inner)
	u, ok := p.(interface{ Unwrap() platform.Platform })
	if !ok || u.Unwrap() != platform.Platform(inner) {
		t.Fatalf("Unwrap does not return the adapter")
	}
	if _, ok := p.(platform.Quoter); ok {
		t.Errorf("the wrapper of an adapter that cannot quote claims it can")
	}
	q, ok := r.Platform("bluesky", quotingPlatform{}).(platform.Quoter)
	if !ok {
		t.Fatal("the wrapper of an adapter that can quote hides it")
	}
	if e, err := q.Quote(context.Background(), "p1", "look", "k"); err != nil || e.ID != "q1" {
		t.Fatalf("quote through the wrapper: %+v %v", e, err)
	}
	fams, err := Parse(scrapeText(t, r))
	if err != nil {
		t.Fatal(err)
	}
	if n := fams.Sum(PlatformCallDuration, map[string]string{LabelPlatform: "bluesky", LabelOperation: OpQuote}); n != 1 {
		t.Errorf("%v quotes recorded, want 1", n)
	}
}

// scrapeText serves r once and returns what a scrape reads.
func scrapeText(t *testing.T, r *Registry) io.Reader {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, Path, nil))
	return rec.Body
}

// scrapeUntil scrapes url until ready holds (the SDK's scope reports every ReportInterval).
func scrapeUntil(t *testing.T, url string, ready func(Families) bool) Families {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		fams, err := Scrape(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		if ready(fams) {
			return fams
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics not ready after 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func typeName(t dto.MetricType) string {
	switch t {
	case dto.MetricType_COUNTER:
		return TypeCounter
	case dto.MetricType_GAUGE:
		return TypeGauge
	case dto.MetricType_HISTOGRAM:
		return TypeHistogram
	}
	return t.String()
}

func bucketCount(fam *dto.MetricFamily, le float64) uint64 {
	var n uint64
	for _, m := range fam.GetMetric() {
		for _, b := range m.GetHistogram().GetBucket() {
			if b.GetUpperBound() == le {
				n += b.GetCumulativeCount()
			}
		}
	}
	return n
}
