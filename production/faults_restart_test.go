package production

import (
	"fmt"
	"testing"
	"time"

	"resurge/internal/faultcheck"
	"resurge/platform/sim"
)

// TestFleetPostgresRestarted (check 3): posts acting over three workers; PostgreSQL is stopped
// immediately (as a crash: no checkpoint, the next start runs recovery) and started again on
// the same data directory and port, twice: once with action replies held at the platform, once
// while posts only sample and plan. The server and the workers ride it out without a restart of
// theirs (same processes throughout), and no action is lost or repeated.
func TestFleetPostgresRestarted(t *testing.T) {
	top := startTopology(t, Options{})
	pids := map[string]int{}
	for _, p := range top.Processes() {
		pids[p.Name] = p.Pid()
	}
	var ids []string
	runs := map[string]string{}
	var restartedAt []time.Time
	for r := range 2 {
		batch := restartPosts(fmt.Sprintf("pg%d", r), 60*soakRounds())
		for id, run := range faultcheck.StartPosts(t, top.Client, batch) {
			runs[id] = run
		}
		ids = append(ids, faultcheck.PostIDs(batch)...)
		held := 0
		if r == 0 {
			held = holdSome(t, top, 3)
		} else {
			time.Sleep(10 * time.Second) // sampling, some acting
		}
		start := time.Now()
		restartedAt = append(restartedAt, start)
		if err := top.RestartPostgres(testContext(t, 2*time.Minute)); err != nil {
			t.Fatalf("restart %d: %v", r+1, err)
		}
		setFaults(t, top, sim.Faults{})
		t.Logf("restart %d: %d posts open, %d actions held across it; PostgreSQL back after %s",
			r+1, len(ids), held, time.Since(start).Round(time.Millisecond))
	}
	checkContinue(t, top, ids, runs, 5*time.Minute)
	for _, p := range top.Processes() {
		if p.Pid() != pids[p.Name] {
			t.Errorf("%s was restarted (pid %d, was %d): the topology should have recovered on its own", p.Name, p.Pid(), pids[p.Name])
		}
	}
	logs := faultcheck.StopPosts(t, top.Client, ids)
	n := faultcheck.CheckOneEffectPerRecord(t, effects(t, top), logs)
	checkToken(t, top)
	t.Logf("%d posts, %d effects, each recorded once; %d actions were on their way across a restart", len(ids), n, acrossFaults(logs, restartedAt))
}

// TestFleetRollingRestart (check 4): posts acting over three workers; the workers are restarted
// one at a time as a deploy does (SIGTERM, wait for the process to exit, start the new one),
// each while it holds actions whose replies the platform keeps. No action is lost or repeated,
// no post is stuck: every post acts and keeps sampling, on the run it started as.
func TestFleetRollingRestart(t *testing.T) {
	top := startTopology(t, Options{})
	posts := restartPosts("roll", 90*soakRounds())
	runs := faultcheck.StartPosts(t, top.Client, posts)
	ids := faultcheck.PostIDs(posts)
	var stoppedAt []time.Time
	for slot := range top.Workers {
		held := holdSome(t, top, 3)
		start := time.Now()
		stoppedAt = append(stoppedAt, start)
		if err := top.Workers[slot].Stop(time.Minute); err != nil {
			t.Errorf("%s did not stop cleanly on SIGTERM: %v", top.Workers[slot].Name, err)
		}
		setFaults(t, top, sim.Faults{})
		if err := top.StartWorker(testContext(t, 2*time.Minute), slot); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s restarted in %s with %d actions held", top.Workers[slot].Name, time.Since(start).Round(time.Millisecond), held)
		time.Sleep(5 * time.Second)
	}
	checkContinue(t, top, ids, runs, 5*time.Minute)
	logs := faultcheck.StopPosts(t, top.Client, ids)
	n := faultcheck.CheckOneEffectPerRecord(t, effects(t, top), logs)
	checkToken(t, top)
	t.Logf("%d posts, %d effects, each recorded once; %d actions were on their way across a worker's restart", len(ids), n, acrossFaults(logs, stoppedAt))
}
