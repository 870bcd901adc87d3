package production

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"

	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/platform/sim"
	"resurge/workflows"
)

// restartConfig is the configuration of the restart checks' posts: a sample every 5 s (5
// simulated minutes), from 3 to 6 samples before the first plan so that actions keep coming.
func restartConfig(i int) domain.EvaluationConfig {
	cfg := faultcheck.MassConfig()
	cfg.SampleInterval = 5 * time.Second
	cfg.MinSamples = 3 + i%4
	cfg.Window = time.Duration(cfg.MinSamples+1) * cfg.SampleInterval
	cfg.Horizon = 20 * time.Minute
	return cfg
}

// restartPosts returns n posts of batch tag with restartConfig.
func restartPosts(tag string, n int) []workflows.PostInput {
	posts := faultcheck.CurvePosts(tag, n, func(i int) string { return fmt.Sprintf("agent-%s-%d", tag, i%10) }, faultcheck.MassConfig())
	for i := range posts {
		posts[i].Config = restartConfig(i)
	}
	return posts
}

// holdSome makes the platform hold action replies until at least n are held (or 10 s pass)
// and returns how many are.
func holdSome(t *testing.T, top *Topology, n int) int {
	t.Helper()
	setFaults(t, top, sim.Faults{HoldActions: true})
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	held, _ := top.SimAdmin.WaitHeld(ctx, n)
	return held
}

// TestFleetServerKilled (check 2): 300 open posts over three workers; five times the Temporal
// server process is killed (SIGKILL) while posts sample, plan, ask the arbiter and act, and
// started again on the same database. Before each kill the platform holds action replies until
// a few are on their way; they finish against the new server. Every workflow continues (same
// run, still running, still sampling), and no action is lost or repeated.
func TestFleetServerKilled(t *testing.T) {
	const kills = 5
	n := 300 * soakRounds()
	top := startTopology(t, Options{})
	var all []workflows.PostInput
	runs := map[string]string{}
	var killedAt []time.Time
	for r := range kills {
		batch := restartPosts(fmt.Sprintf("srv%d", r), n/kills)
		for id, run := range faultcheck.StartPosts(t, top.Client, batch) {
			runs[id] = run
		}
		all = append(all, batch...)
		held := holdSome(t, top, 3)
		start := time.Now()
		killedAt = append(killedAt, start)
		if err := top.KillServer(); err != nil {
			t.Fatal(err)
		}
		if err := top.StartServer(testContext(t, 3*time.Minute)); err != nil {
			t.Fatalf("kill %d: start the server again: %v", r+1, err)
		}
		back := time.Since(start)
		setFaults(t, top, sim.Faults{})
		t.Logf("kill %d: %d posts open, %d actions held across it; the server answered again after %s",
			r+1, len(all), held, back.Round(time.Millisecond))
	}
	ids := faultcheck.PostIDs(all)
	checkContinue(t, top, ids, runs, 5*time.Minute)
	logs := faultcheck.StopPosts(t, top.Client, ids)
	n = faultcheck.CheckOneEffectPerRecord(t, effects(t, top), logs)
	checkToken(t, top)
	across := acrossFaults(logs, killedAt)
	t.Logf("%d posts, %d effects, each recorded once; %d actions were on their way across a kill", len(ids), n, across)
	if across == 0 {
		t.Errorf("no action was on its way across a kill: the check proved nothing about them")
	}
}

// checkContinue waits until every post has acted, then checks that each is still the run it
// was started as, still running, and still sampling; and that nothing was lost (checkNoneLost).
func checkContinue(t *testing.T, top *Topology, ids []string, runs map[string]string, d time.Duration) {
	t.Helper()
	sts := waitSuccess(t, top, d, "every post acting after the faults", ids)
	checkNoneLost(t, top, ids)
	faultcheck.Eventually(t, 2*time.Minute, "every post sampling on", func() (bool, string) {
		later, err := faultcheck.Statuses(t.Context(), top.Client, ids)
		if err != nil {
			return false, err.Error()
		}
		for _, id := range ids {
			if later[id].Cycles <= sts[id].Cycles || later[id].State == workflows.StateDone {
				return false, fmt.Sprintf("%s: %d cycles, then %d (%s)", id, sts[id].Cycles, later[id].Cycles, later[id].State)
			}
		}
		return true, ""
	})
	errs := faultcheck.Parallel(len(ids), 16, func(i int) error {
		desc, err := top.Client.DescribeWorkflowExecution(testContext(t, time.Minute), workflows.PostWorkflowID(ids[i]), "")
		if err != nil {
			return err
		}
		info := desc.WorkflowExecutionInfo
		if info.Execution.RunId != runs[ids[i]] || info.Status != enumspb.WORKFLOW_EXECUTION_STATUS_RUNNING {
			return fmt.Errorf("run %s %s, want the run started (%s) still running", info.Execution.RunId, info.Status, runs[ids[i]])
		}
		return nil
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("%s: %v", ids[i], err)
		}
	}
}

// acrossFaults counts the actions that were planned before one of the instants and finished
// after it.
func acrossFaults(logs map[string][]domain.ActionRecord, at []time.Time) int {
	n := 0
	for _, log := range logs {
		for _, r := range log {
			if slices.ContainsFunc(at, func(a time.Time) bool { return r.InitiatedAt.Before(a) && r.FinishedAt.After(a) }) {
				n++
			}
		}
	}
	return n
}
