package integration

import (
	"fmt"
	"slices"
	"testing"
	"time"

	sdkpb "go.temporal.io/api/sdk/v1"
	"go.temporal.io/sdk/worker"

	"resurge/devstack"
	"resurge/domain"
	"resurge/metrics"
	"resurge/workflows"
)

// TestWorkerMetrics runs posts to completion on the real server with the worker's metrics
// served over HTTP, scrapes and parses them: Resurge's counters agree with the platform's
// effects and carry their catalogued labels, the SDK's series have the names the Temporal SDK
// dashboard reads, and a full replay of every workflow (after the worker's cache is purged)
// counts nothing again. It also reads the arbiter's signal descriptions through the metadata
// query, as `temporal workflow metadata` does.
func TestWorkerMetrics(t *testing.T) {
	reg, err := metrics.NewRegistry(testLogger())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := metrics.Serve("127.0.0.1:0", reg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(); _ = reg.Close() })
	s := startStack(t, devstack.Options{UIPort: -1, Metrics: reg})
	scrape := func() metrics.Families {
		t.Helper()
		fams, err := metrics.Scrape(t.Context(), srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		return fams
	}

	posts := map[string]domain.ActionType{"grow-m1": domain.ActionComment, "die-m1": domain.ActionThread}
	for id := range posts {
		startPosts(t, s, testPost(id, "agent-m"))
	}
	for id, action := range posts {
		eventually(t, time.Minute, id+" acting", func() (bool, string) {
			st, err := postStatus(t, s, id)
			if err != nil {
				return false, err.Error()
			}
			return recordStatus(st, action) == domain.StatusSuccess, fmt.Sprintf("state=%s log=%+v", st.State, st.Log)
		})
		if err := workflows.StopPost(t.Context(), s.Client, id, workflows.StopRequest{Reason: "metrics test"}); err != nil {
			t.Fatal(err)
		}
	}
	var successes int
	for id := range posts {
		var sum workflows.PostSummary
		if err := s.Client.GetWorkflow(t.Context(), workflows.PostWorkflowID(id), "").Get(testContext(t, time.Minute), &sum); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		for _, r := range sum.Actions {
			if r.Status == domain.StatusSuccess {
				successes++
			}
		}
	}

	// Resurge's counters agree with the posts' logs and the platform's effects.
	before := scrape()
	got := before.Sum(metrics.ActionsTotal, map[string]string{metrics.LabelStatus: string(domain.StatusSuccess), metrics.LabelPlatform: domain.PlatformSim})
	if int(got) != successes || len(s.Sim.Effects()) != successes {
		t.Errorf("%s{status=success} = %v, the posts logged %d successes, the platform has %d effects", metrics.ActionsTotal, got, successes, len(s.Sim.Effects()))
	}
	if d := before.Sum(metrics.ArbitrationDecisionsTotal, map[string]string{metrics.LabelDecision: string(domain.DecisionAllow), metrics.LabelSource: metrics.SourceArbiter}); d < float64(successes) {
		t.Errorf("%v allow decisions for %d successful actions", d, successes)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
	}{
		{metrics.ActionsTotal, map[string]string{metrics.LabelWorkflowType: "PostWorkflow"}},
		{metrics.ArbitrationDecisionsTotal, map[string]string{metrics.LabelWorkflowType: "PostWorkflow"}},
		{metrics.ArbiterLockActive, map[string]string{metrics.LabelWorkflowType: "ArbiterWorkflow"}},
	} {
		want := map[string]string{metrics.LabelNamespace: s.Server.Namespace(), metrics.LabelTaskQueue: workflows.TaskQueue}
		for k, v := range c.labels {
			want[k] = v
		}
		if before.Sum(c.name, want) == 0 && c.name != metrics.ArbiterLockActive {
			t.Errorf("%s: no series with %v", c.name, want)
		}
		m, _ := metrics.Lookup(c.name)
		labels := before.Labels(c.name)
		slices.Sort(labels)
		wantLabels := slices.Sorted(slices.Values(m.Labels))
		if !slices.Equal(labels, wantLabels) {
			t.Errorf("%s: labels %v, want %v", c.name, labels, wantLabels)
		}
	}
	if before.Sum(metrics.StagnationScore, nil) == 0 || before.Sum(metrics.PlatformCallDuration, map[string]string{metrics.LabelOperation: metrics.OpMetrics}) == 0 {
		t.Errorf("no stagnation scores or platform calls recorded")
	}

	// The SDK's series, under the Temporal SDK dashboard's names (no prefix, _total and
	// _seconds suffixes, timers as histograms).
	eventually(t, 30*time.Second, "the SDK's metrics", func() (bool, string) {
		fams := scrape()
		var missing []string
		for _, name := range []string{
			"temporal_request_total", "temporal_request_latency_seconds", "temporal_long_request_total",
			"temporal_workflow_completed_total", "temporal_workflow_endtoend_latency_seconds",
			"temporal_workflow_task_execution_latency_seconds", "temporal_workflow_task_schedule_to_start_latency_seconds",
			"temporal_workflow_task_queue_poll_succeed_total", "temporal_activity_execution_latency_seconds",
			"temporal_local_activity_execution_latency_seconds", "temporal_sticky_cache_size",
			"temporal_worker_task_slots_available", "temporal_worker_task_slots_used",
		} {
			if _, ok := fams[name]; !ok {
				missing = append(missing, name)
			}
		}
		return len(missing) == 0, fmt.Sprintf("missing %v", missing)
	})

	// Replays count nothing: with the cache purged, each query below replays its workflow's
	// whole history on the worker.
	before = scrape()
	worker.PurgeStickyWorkflowCache()
	for id := range posts {
		if _, err := postStatus(t, s, id); err != nil {
			t.Fatalf("query %s after the purge: %v", id, err)
		}
	}
	if _, err := s.Wiring.Safety.ArbiterState(testContext(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	// The SDK records the replays (within its report interval): proof that they happened.
	const replayLatency = "temporal_workflow_task_replay_latency_seconds"
	var after metrics.Families
	eventually(t, 30*time.Second, "the replays recorded by the SDK", func() (bool, string) {
		after = scrape()
		n := after.Sum(replayLatency, nil) - before.Sum(replayLatency, nil)
		return n >= float64(len(posts)+1), fmt.Sprintf("%v replays", n)
	})
	for _, name := range []string{metrics.ActionsTotal, metrics.ArbitrationDecisionsTotal, metrics.RejectedInputsTotal} {
		if b, a := before.Sum(name, nil), after.Sum(name, nil); a != b {
			t.Errorf("%s went from %v to %v while the workflows only replayed", name, b, a)
		}
	}

	// The arbiter's signals are listed with their descriptions by the metadata query.
	v, err := s.Client.QueryWorkflow(testContext(t, 30*time.Second), workflows.ArbiterWorkflowID, "", workflows.QueryWorkflowMetadata)
	if err != nil {
		t.Fatal(err)
	}
	var md sdkpb.WorkflowMetadata
	if err := v.Get(&md); err != nil {
		t.Fatal(err)
	}
	described := map[string]string{}
	for _, d := range md.GetDefinition().GetSignalDefinitions() {
		described[d.GetName()] = d.GetDescription()
	}
	for _, name := range []string{workflows.SignalLock, workflows.SignalReleaseLock, workflows.SignalAgentHealth, workflows.SignalSetPolicy} {
		if described[name] == "" {
			t.Errorf("arbiter metadata: signal %q has no description (got %v)", name, described)
		}
	}
}
