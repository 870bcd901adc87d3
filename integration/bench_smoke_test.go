package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"resurge/bench/analysis"
	"resurge/bench/benchlib"
)

// TestBenchQuick runs the benchmark's quick mode end to end (its own dev stacks, the floor,
// the acting, lock, lock-load, cadence and scale phases, the reference executor when python3 is here) and checks that
// the results have every section with sane values. It asserts no timing.
func TestBenchQuick(t *testing.T) {
	seedDir := filepath.Join("..", "..", "shared", "seed-baseline")
	res, err := benchlib.Run(testContext(t, 5*time.Minute), benchlib.Options{
		Quick:      true,
		DataDir:    t.TempDir(),
		SeedDir:    seedDir,
		Logger:     testLogger(),
		ScalePosts: []int{benchlib.QuickPosts},
	})
	if err != nil {
		t.Fatalf("bench: %v", err)
	}

	if res.Machine.CPUs < 1 || res.Machine.GoVersion == "" || res.Machine.MemTotalBytes <= 0 {
		t.Errorf("machine = %+v", res.Machine)
	}
	for _, phases := range [][]benchlib.LoadPhase{res.Posts, res.Floor} {
		if len(phases) != 1 || phases[0].N != benchlib.QuickPosts {
			t.Fatalf("phases = %+v, want one with N=%d", phases, benchlib.QuickPosts)
		}
		p := phases[0]
		q := p.History.Kinds[analysis.KindQuiet]
		if p.Cycles <= 0 || p.CyclesPerS <= 0 || p.CPUSeconds <= 0 || p.RSSAfterBytes <= 0 || p.StartErrors != 0 {
			t.Errorf("%s: cycles %d (%.1f/s), CPU %.2fs, RSS %d, start errors %d", p.Kind, p.Cycles, p.CyclesPerS, p.CPUSeconds, p.RSSAfterBytes, p.StartErrors)
		}
		if m := p.MemoryAtEnd; m.RSS != p.RSSAfterBytes || m.HeapObjects <= 0 || m.Stacks <= 0 || m.Goroutines <= 0 {
			t.Errorf("%s: memory at the end = %+v (RSS after %d)", p.Kind, m, p.RSSAfterBytes)
		}
		if q.Cycles <= 0 || q.EventsPerCycle <= 0 || q.ActionsPerCycle <= 0 || p.History.Closed != 0 {
			t.Errorf("%s: quiet cycles in the histories = %+v, closed %d", p.Kind, q, p.History.Closed)
		}
		if len(p.History.Kinds) != 1 {
			t.Errorf("%s: cycle kinds %v, want only quiet ones", p.Kind, p.History.Kinds)
		}
	}
	if len(res.ScalePhases) != 1 || res.ScalePhases[0].Scale == nil {
		t.Errorf("scale phases = %+v, want one", res.ScalePhases)
	} else {
		p, sc := res.ScalePhases[0], res.ScalePhases[0].Scale
		if p.N != benchlib.QuickPosts || sc.FirstSampledPosts != int64(p.N) || sc.StarterSeconds <= 0 || sc.LagCycles <= 0 || p.Cycles <= 0 {
			t.Errorf("scale: N %d, first sampled %d, starter %.1fs, lag cycles %d, cycles %d (%s)", p.N, sc.FirstSampledPosts, sc.StarterSeconds, sc.LagCycles, p.Cycles, sc.StarterSummary)
		}
		// The phase runs under the operator's memory limit, and the memory breakdown says so.
		if sc.MemoryLimitBytes != 7<<30 || p.MemoryAtEnd.GoMemLimit != sc.MemoryLimitBytes {
			t.Errorf("scale: memory limit %d, GOMEMLIMIT at the end %d, want %d", sc.MemoryLimitBytes, p.MemoryAtEnd.GoMemLimit, int64(7<<30))
		}
	}
	a := res.Acting
	if a == nil || a.Effects <= 0 || a.Kinds[analysis.KindActing].Cycles <= 0 || a.Arbitrations <= 0 || a.ExtraActionsPerAction <= 0 {
		t.Errorf("acting = %+v", a)
	}
	if a != nil && (a.ContinueAsNew == nil || a.ContinueAsNew.RunsMeasured == 0 || a.ContinueAsNew.OverheadActions <= 0) {
		t.Errorf("continue-as-new probe = %+v", a.ContinueAsNew)
	}
	if l := res.Lock; l == nil || !l.Found || l.LockDecisions <= 0 || l.LatencySeconds < 0 || l.ArbitrationsBefore <= 0 ||
		l.AllowedAfterLockRecorded != 0 || l.AllowedAfterLockAck != 0 {
		t.Errorf("lock = %+v", l)
	}
	if c := res.Cost; c == nil || c.QuietActionsPerDay <= 0 || c.FloorActionsPerDay <= 0 || c.LifetimeActions <= 0 {
		t.Errorf("cost = %+v", c)
	}
	if ll := res.LockLoad; ll == nil || len(ll.Runs) != 2 || ll.Runs[0].UpdatesPerMinute <= 0 || ll.Runs[1].Acted != ll.Posts ||
		ll.Runs[0].AllowedAfterLock != 0 || ll.Runs[1].AllowedAfterLock != 0 || !ll.Runs[1].ReleaseChecked || ll.Runs[1].AsksPerMinute <= 0 {
		t.Errorf("lock load = %+v", ll)
	}
	if c := res.Cadence; c == nil || len(c.Curves) != 6 || c.Modes["adaptive"].LifetimeActions <= 0 || c.Modes["fixed"].LifetimeActions <= 0 {
		t.Errorf("cadence = %+v", c)
	} else {
		for _, cc := range c.Curves {
			for m, cm := range cc.Modes {
				if cm.Posts != 1 || cm.Completed != 1 || cm.Cycles <= 0 || cm.PostActions <= 0 || (cc.Curve == "stall" && cm.LatencyN != 1) {
					t.Errorf("cadence %s %s = %+v", cc.Curve, m, cm)
				}
			}
		}
	}
	if len(res.Targets) != 13 || len(res.Compare) != 1 {
		t.Errorf("targets %d, comparisons %d", len(res.Targets), len(res.Compare))
	}
	_, pyErr := exec.LookPath("python3")
	_, dirErr := os.Stat(filepath.Join(seedDir, "bench_seed.py"))
	switch {
	case res.Seed == nil:
		t.Error("no reference executor section")
	case pyErr == nil && dirErr == nil:
		if len(res.Seed.Runs) != 1 || !res.Seed.Runs[0].Completed || res.Seed.Runs[0].DecisionsPerS <= 0 {
			t.Errorf("reference executor = %+v", res.Seed)
		}
	default:
		if res.Seed.Skipped == "" {
			t.Errorf("reference executor not skipped without python3 or its directory: %+v", res.Seed)
		}
	}

	// The JSON has every section.
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"machine", "settings", "posts", "floor", "acting", "lock", "lock_load", "cadence", "scale", "cost", "seed", "comparison", "targets", "notes"} {
		if v, ok := m[k]; !ok || v == nil {
			t.Errorf("JSON has no %q section", k)
		}
	}
}
