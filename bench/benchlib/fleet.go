package benchlib

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"resurge/metrics"
	"resurge/production"
	"resurge/workflows"
)

// FleetPhase is one steady-state measurement on the production topology (production/): N
// quiet posts over Workers worker processes, the Temporal server binary on PostgreSQL.
type FleetPhase struct {
	N       int `json:"n"`
	Workers int `json:"workers"`
	// Cycles are the platform's metrics reads over the window, from every worker's
	// resurge_platform_call_duration_seconds{operation="metrics"} count (scraped).
	Throughput
	Saturated bool `json:"saturated"`
	// CPU of every process of the topology (the server, PostgreSQL's postmaster and
	// backends, the workers, the platform) over the window, per cycle; by process kind in
	// CPUSecondsBy.
	CPUSeconds    float64            `json:"cpu_seconds"`
	CPUMsPerCycle float64            `json:"cpu_ms_per_cycle"`
	CPUUtil       float64            `json:"cpu_utilisation_cores"`
	CPUSecondsBy  map[string]float64 `json:"cpu_seconds_by_process"`
	// OtherCPU is what every other process of the machine used meanwhile (in cores): this
	// bench process (the client) included.
	OtherCPU   float64    `json:"other_processes_cpu_cores"`
	LoadAvgEnd [3]float64 `json:"load_avg_end"`
}

// runFleet runs the fleet phases (every N in FleetPosts over every worker count in
// FleetWorkers) and the lock latency with FleetLockWorkers workers.
func (r *runner) runFleet(ctx context.Context) error {
	o := r.o
	r.progress("fleet: building the production topology's binaries (the first build takes minutes)")
	t := time.Now()
	bin, err := production.Build(ctx, o.FleetBinDir)
	if err != nil {
		return fmt.Errorf("fleet: %w", err)
	}
	r.progress("fleet: binaries in %s (%.1fs)", bin.Dir, time.Since(t).Seconds())
	for _, n := range o.FleetPosts {
		for _, w := range o.FleetWorkers {
			p, err := r.runFleetLoad(ctx, bin, n, w)
			if err != nil {
				return err
			}
			r.res.Fleet = append(r.res.Fleet, p)
		}
	}
	if !o.SkipLock {
		l, err := r.runFleetLock(ctx, bin, o.FleetLockWorkers)
		if err != nil {
			return err
		}
		r.res.FleetLock = l
	}
	return nil
}

// startFleet starts a topology with w workers in the run's data dir.
func (r *runner) startFleet(ctx context.Context, bin *production.Binaries, phase string, w int, env []string) (*production.Topology, error) {
	dir := filepath.Join(r.dataDir, phase)
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	t := time.Now()
	top, err := production.Start(sctx, production.Options{Bin: bin, Dir: dir, Workers: w, WorkerEnv: env, ServerLogLevel: "error"})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", phase, err)
	}
	r.progress("%s: topology up in %.1fs (PostgreSQL on %s, server %s, %d workers; logs in %s)",
		phase, time.Since(t).Seconds(), top.PG.Addr(), top.HostPort, w, dir)
	return top, nil
}

func (r *runner) stopFleet(top *production.Topology, phase string) {
	if err := top.Close(); err != nil {
		r.progress("%s: stop: %v", phase, err)
	}
	if !r.o.KeepData {
		_ = os.RemoveAll(filepath.Join(r.dataDir, phase))
	}
}

// runFleetLoad measures N quiet posts (the embedded phases' quietConfig) over w workers.
func (r *runner) runFleetLoad(ctx context.Context, bin *production.Binaries, n, w int) (FleetPhase, error) {
	o := r.o
	res := FleetPhase{N: n, Workers: w}
	res.OfferedPerS = float64(n) / o.Interval.Seconds()
	phase := fmt.Sprintf("fleet-%d-w%d", n, w)
	top, err := r.startFleet(ctx, bin, phase, w, nil)
	if err != nil {
		return res, err
	}
	defer r.stopFleet(top, phase)

	cfg := quietConfig(o.Interval)
	r.progress("%s: starting %d posts (%d at a time)", phase, n, o.StartConcurrency)
	t := time.Now()
	res.StartErrors = startAll(ctx, n, o.StartConcurrency, func(ctx context.Context, i int) error {
		_, err := workflows.StartPost(ctx, top.Client, workflows.PostInput{Post: benchPost(quietPostID(i), "bench"), Config: cfg})
		return err
	})
	res.StartSeconds = time.Since(t).Seconds()
	res.StartsPerS = float64(n-res.StartErrors) / res.StartSeconds
	if res.StartErrors == n {
		return res, fmt.Errorf("%s: every start failed", phase)
	}
	r.progress("%s: started in %.1fs (%.0f/s, %d errors); warming up %s", phase, res.StartSeconds, res.StartsPerS, res.StartErrors, o.Warmup)
	if err := sleep(ctx, o.Warmup); err != nil {
		return res, err
	}

	c0, err := fleetCycles(ctx, top)
	if err != nil {
		return res, fmt.Errorf("%s: %w", phase, err)
	}
	cpu0, busy0, t0 := topologyCPU(top), machineBusySeconds(), time.Now()
	if err := sleep(ctx, o.Duration); err != nil {
		return res, err
	}
	c1, err := fleetCycles(ctx, top)
	if err != nil {
		return res, fmt.Errorf("%s: %w", phase, err)
	}
	cpu1, busy1, t1 := topologyCPU(top), machineBusySeconds(), time.Now()
	res.LoadAvgEnd = loadAvg()

	res.MeasureSeconds = t1.Sub(t0).Seconds()
	res.Cycles = int64(c1 - c0)
	res.CyclesPerS = float64(res.Cycles) / res.MeasureSeconds
	res.Saturated = res.CyclesPerS < 0.9*res.OfferedPerS
	res.CPUSecondsBy = map[string]float64{}
	for k, v := range cpu1 {
		res.CPUSecondsBy[k] = v - cpu0[k]
		res.CPUSeconds += v - cpu0[k]
	}
	res.CPUUtil = res.CPUSeconds / res.MeasureSeconds
	res.OtherCPU = max(0, (busy1-busy0)-res.CPUSeconds) / res.MeasureSeconds
	if res.Cycles > 0 {
		res.CPUMsPerCycle = 1000 * res.CPUSeconds / float64(res.Cycles)
	}
	r.progress("%s: %.1f cycles/s over %.1fs (offered %.0f/s), %.2f CPU ms/cycle (%s), other processes %.2f cores",
		phase, res.CyclesPerS, res.MeasureSeconds, res.OfferedPerS, res.CPUMsPerCycle, cpuBreakdown(res.CPUSecondsBy, res.Cycles), res.OtherCPU)
	return res, nil
}

// fleetCycles is the number of metrics reads every worker has made so far.
func fleetCycles(ctx context.Context, top *production.Topology) (float64, error) {
	total := 0.0
	for i := range top.Workers {
		f, err := metrics.Scrape(ctx, top.WorkerMetricsURL(i))
		if err != nil {
			return 0, err
		}
		total += f.Sum(metrics.PlatformCallDuration, map[string]string{metrics.LabelOperation: metrics.OpMetrics})
	}
	return total, nil
}

// Process kinds of FleetPhase.CPUSecondsBy.
const (
	cpuServer   = "temporal-server"
	cpuPostgres = "postgresql"
	cpuWorkers  = "workers"
	cpuSim      = "resurge-sim"
)

// topologyCPU is the CPU time (user + system, seconds) the topology's processes have used so
// far, by kind: PostgreSQL is its postmaster and every backend it forked.
func topologyCPU(top *production.Topology) map[string]float64 {
	out := map[string]float64{}
	out[cpuServer] = procCPU(top.Server.Pid())
	out[cpuSim] = procCPU(top.Sim.Pid())
	for _, w := range top.Workers {
		out[cpuWorkers] += procCPU(w.Pid())
	}
	pg := top.PG.Pid()
	out[cpuPostgres] = procCPU(pg)
	if pg != 0 {
		for _, child := range childPids(pg) {
			out[cpuPostgres] += procCPU(child)
		}
	}
	return out
}

// procStat returns the fields of /proc/<pid>/stat after the command name.
func procStat(pid int) []string {
	if pid == 0 {
		return nil
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return nil
	}
	return strings.Fields(s[i+1:])
}

// procCPU is a process's utime + stime in seconds (USER_HZ = 100), 0 when it is gone.
func procCPU(pid int) float64 {
	f := procStat(pid)
	if len(f) < 13 {
		return 0
	}
	// After the name: state(0) ppid(1) ... utime(11) stime(12).
	u, _ := strconv.ParseFloat(f[11], 64)
	s, _ := strconv.ParseFloat(f[12], 64)
	return (u + s) / 100
}

// childPids are the processes whose parent is pid.
func childPids(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	want := strconv.Itoa(pid)
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if f := procStat(p); len(f) > 1 && f[1] == want {
			out = append(out, p)
		}
	}
	return out
}

// cpuBreakdown describes CPU ms per cycle by process kind.
func cpuBreakdown(by map[string]float64, cycles int64) string {
	if cycles == 0 {
		return "no cycles"
	}
	var parts []string
	for _, k := range []string{cpuServer, cpuPostgres, cpuWorkers, cpuSim} {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, 1000*by[k]/float64(cycles)))
	}
	return strings.Join(parts, ", ")
}

// runFleetLock measures the lock latency with the arbiter on a fleet of w workers: the same
// tight loop of arbitrations as the embedded lock phase, sent from this process through the
// server to whichever worker holds the arbiter.
func (r *runner) runFleetLock(ctx context.Context, bin *production.Binaries, w int) (*Lock, error) {
	top, err := r.startFleet(ctx, bin, "fleet-lock", w, nil)
	if err != nil {
		return nil, err
	}
	defer r.stopFleet(top, "fleet-lock")
	// The embedded phase's budgets, so that nothing is denied: sent to the arbiter the
	// workers started, as an operator's set-policy would.
	policy := benchPolicy()
	safety := &workflows.SafetyClient{Client: top.Client, Policy: policy}
	if err := safety.SetPolicy(ctx, policy); err != nil {
		return nil, fmt.Errorf("fleet-lock: set the policy: %w", err)
	}
	deadline := time.Now().Add(time.Minute)
	for {
		st, err := safety.ArbiterState(ctx)
		if err == nil && st.Policy.GlobalPerHour == policy.GlobalPerHour {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("fleet-lock: the policy is not in force after a minute (%v)", err)
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return nil, err
		}
	}
	l, err := r.lockLatency(ctx, safety, top.Client)
	if err != nil {
		return nil, fmt.Errorf("fleet-lock: %w", err)
	}
	l.Workers = w
	return l, nil
}
