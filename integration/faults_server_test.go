package integration

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"resurge/app"
	"resurge/devstack"
	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/platform/sim"
	"resurge/workflows"
)

// TestFaultServerRestarts: 200 open posts; the Temporal server is stopped under the running
// worker, client and platform and started again on the same data directory, 5 times, while
// posts sample, plan, ask the arbiter and act. Posts are started in batches between restarts
// and need from 3 to 6 samples before their first plan, so actions are on their way at every
// restart; before each restart the platform holds action replies until a few are on their way,
// so that those actions finish against the new server. Every workflow continues (same run,
// still running, still sampling), and no action record is lost or repeated: one effect per
// key, matching each post's log.
func TestFaultServerRestarts(t *testing.T) {
	const restarts = 5
	n := 200 * soakRounds()
	// Restarts make actions slow; the monitors must not grade agents on it (see
	// loadTolerantMonitor).
	fs := startFaultStack(t, devstack.Options{DataDir: t.TempDir(), Safety: app.SafetyConfig{Monitor: loadTolerantMonitor()}})

	var all []workflows.PostInput
	var restartedAt []time.Time
	runs := map[string]string{}
	for r := range restarts {
		var batch []workflows.PostInput
		for i, p := range faultcheck.CurvePosts(fmt.Sprintf("restart%d", r), n/restarts, func(i int) string { return fmt.Sprintf("agent-restart-%d", i%10) }, faultcheck.MassConfig()) {
			p.Config.MinSamples = 3 + i%4
			p.Config.Window = time.Duration(p.Config.MinSamples+1) * p.Config.SampleInterval
			batch = append(batch, p)
		}
		for id, run := range faultcheck.StartPosts(t, fs.Client, batch) {
			runs[id] = run
		}
		all = append(all, batch...)
		// Hold the platform's replies until a few actions are on their way (each has made its
		// effect), restart the server under them, then let them go: they finish against the
		// new server.
		if err := fs.Sim.SetFaults(sim.Faults{HoldActions: true}); err != nil {
			t.Fatal(err)
		}
		holdCtx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		err := fs.Sim.WaitHeld(holdCtx, 3)
		cancel()
		held, effects := fs.Sim.Held(), len(fs.Sim.Effects())
		if err != nil && held == 0 {
			t.Fatalf("restart %d: no action on its way after 10 s", r+1)
		}
		start := time.Now()
		restartedAt = append(restartedAt, start)
		if err := fs.RestartServer(testContext(t, devServerStartTimeout)); err != nil {
			t.Fatalf("restart %d: %v", r+1, err)
		}
		back := time.Since(start)
		if err := fs.Sim.SetFaults(sim.Faults{}); err != nil {
			t.Fatal(err)
		}
		t.Logf("restart %d: %d posts open, %d effects so far, %d actions held across it; the server was back after %s",
			r+1, len(all), effects, held, back.Round(time.Millisecond))
	}

	ids := faultcheck.PostIDs(all)
	sts := waitPosts(t, fs, 3*time.Minute, "every post acting after the restarts", ids,
		func(st workflows.PostStatus) bool { return faultcheck.HasStatus(st, domain.StatusSuccess) })
	// Every workflow continues: the same run as started, still running, still sampling.
	time.Sleep(2 * faultcheck.MassConfig().SampleInterval)
	later, err := faultcheck.Statuses(t.Context(), fs.Client, ids)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		desc, err := fs.Client.DescribeWorkflowExecution(t.Context(), workflows.PostWorkflowID(id), "")
		if err != nil {
			t.Fatalf("describe %s: %v", id, err)
		}
		info := desc.WorkflowExecutionInfo
		if info.Execution.RunId != runs[id] || info.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			t.Errorf("%s: run %s %s, want the run started (%s) still running", id, info.Execution.RunId, info.Status, runs[id])
		}
		if later[id].Cycles <= sts[id].Cycles || later[id].State == workflows.StateDone {
			t.Errorf("%s: %d cycles, then %d (%s): it stopped sampling", id, sts[id].Cycles, later[id].Cycles, later[id].State)
		}
	}
	logs := faultcheck.StopPosts(t, fs.Client, ids)
	effects := faultcheck.CheckOneEffectPerRecord(t, fs.Sim.Effects(), logs)
	// The restarts did hit actions on their way: planned before a restart, finished after it.
	across := 0
	for _, log := range logs {
		for _, r := range log {
			if slices.ContainsFunc(restartedAt, func(at time.Time) bool { return r.InitiatedAt.Before(at) && r.FinishedAt.After(at) }) {
				across++
			}
		}
	}
	t.Logf("%d posts, %d effects, each recorded once; %d actions were on their way across a restart", len(ids), effects, across)
	if across == 0 {
		t.Errorf("no action was on its way across a restart: the test proved nothing about them")
	}
}
