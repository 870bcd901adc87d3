package production

import (
	"fmt"
	"testing"
	"time"

	"resurge/internal/faultcheck"
	"resurge/platform/sim"
	"resurge/workflows"
)

// TestFleetWorkerKilled (check 1): three workers; every round the platform holds the actions'
// replies (each action has made its effect, no worker has heard back), one worker process
// holding some of them is killed with SIGKILL, the platform lets the replies go (the other
// workers' actions finish), and a new process takes the killed one's slot. The killed worker's
// actions time out (30 s) and are retried by the others, which find the effect instead of
// acting again (verify-before-retry). Rounds do not wait for those retries: ten kills in a row,
// the retries of one landing amid the next.
func TestFleetWorkerKilled(t *testing.T) {
	const perRound = 6
	rounds := 10 * soakRounds()
	top := startTopology(t, Options{})
	cfg := faultcheck.FastConfig()
	cfg.Horizon = 15 * time.Minute
	var all []workflows.PostInput
	killed := map[string]int{} // post -> round whose kill hit its action
	for r := range rounds {
		setFaults(t, top, sim.Faults{HoldActions: true})
		posts := faultcheck.CurvePosts(fmt.Sprintf("kill%d", r), perRound, func(i int) string { return fmt.Sprintf("agent-kill-%d", i) }, cfg)
		faultcheck.StartPosts(t, top.Client, posts)
		all = append(all, posts...)
		if held, err := top.SimAdmin.WaitHeld(testContext(t, 2*time.Minute), perRound); err != nil {
			t.Fatalf("round %d: %d of %d actions held at the platform: %v", r, held, perRound, err)
		}
		// Which worker runs which held action, from the server's pending activities.
		bySlot := map[int][]string{}
		for _, p := range posts {
			slot := top.WorkerSlot(pendingActionWorker(t, top, p.Post.ID))
			if slot < 0 {
				t.Fatalf("round %d: %s's action is held but no running worker has it", r, p.Post.ID)
			}
			bySlot[slot] = append(bySlot[slot], p.Post.ID)
		}
		slot := r % len(top.Workers)
		for len(bySlot[slot]) == 0 {
			slot = (slot + 1) % len(top.Workers)
		}
		if err := top.Workers[slot].Kill(); err != nil {
			t.Fatal(err)
		}
		for _, id := range bySlot[slot] {
			killed[id] = r
		}
		setFaults(t, top, sim.Faults{})
		if err := top.StartWorker(testContext(t, 2*time.Minute), slot); err != nil {
			t.Fatalf("round %d: restart worker %d: %v", r, slot+1, err)
		}
		t.Logf("round %d: killed %s holding %d of %d held actions (%v)", r, top.Workers[slot].Name, len(bySlot[slot]), perRound, bySlot)
	}

	ids := faultcheck.PostIDs(all)
	sts := waitSuccess(t, top, 3*time.Minute, "every action recorded as a success after the kills", ids)
	for id := range killed {
		rec, eff := faultcheck.SuccessOutcome(t, id, sts[id])
		// The first attempt died with its worker; a retry found the effect instead of acting.
		if rec.Attempts < 2 || !eff.Replayed {
			t.Errorf("%s: %d attempts, replayed %v: the kill in round %d did not land mid-action (%+v)", id, rec.Attempts, eff.Replayed, killed[id], rec)
		}
	}
	n := endChecks(t, top, ids)
	t.Logf("%d posts, %d effects, %d actions hit by %d kills, each recorded once", len(ids), n, len(killed), rounds)
}

// pendingActionWorker is the identity of the worker running the post's action activity.
func pendingActionWorker(t *testing.T, top *Topology, postID string) string {
	t.Helper()
	desc, err := top.Client.DescribeWorkflowExecution(testContext(t, time.Minute), workflows.PostWorkflowID(postID), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range desc.PendingActivities {
		if a.ActivityType.GetName() == "PerformAction" {
			return a.LastWorkerIdentity
		}
	}
	t.Fatalf("%s has no pending action: %+v", postID, desc.PendingActivities)
	return ""
}
