// Command bench measures Resurge on the embedded Temporal server and the simulated platform:
// evaluation cycles per second with N open posts, history events and billable actions per
// cycle, memory per post, lock latency, the reference executor side by side and a bare
// Temporal workflow as the floor. It prints tables and writes a JSON file.
//
//	go run ./bench                              # N = 100, 1,000, 10,000; 30 s each
//	go run ./bench --quick                      # smoke test: N = 20, a few seconds
//	go run ./bench --posts 1000 --duration 60s --sticky-cache 20000 --cpuprofile /tmp/bench
//
// See bench/README.md.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"resurge/bench/benchlib"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o benchlib.Options
	posts := fs.String("posts", "100,1000,10000", "comma-separated numbers of open post workflows, one phase each")
	fs.DurationVar(&o.Duration, "duration", 30*time.Second, "steady-state measuring time per phase")
	fs.DurationVar(&o.Warmup, "warmup", 10*time.Second, "wait after the last start before measuring")
	fs.DurationVar(&o.Interval, "interval", time.Second, "accelerated sample interval (minimum 1s)")
	fs.BoolVar(&o.Quick, "quick", false, "smoke test: N=20 (unless --posts is given), a few seconds per phase")
	out := fs.String("out", "bench-results.json", "JSON results file")
	fs.StringVar(&o.SeedDir, "seed-dir", "../shared/seed-baseline", "directory of the reference executor's bench_seed.py (empty: skip)")
	fs.DurationVar(&o.SeedTimeout, "seed-timeout", 10*time.Minute, "time limit of the reference executor per N (0: none); past it the rate is bounded and extrapolated")
	fs.StringVar(&o.DataDir, "data-dir", "", "where the SQLite databases go (default: a temporary directory, removed afterwards)")
	fs.BoolVar(&o.KeepData, "keep-data", false, "keep the databases")
	fs.IntVar(&o.StartConcurrency, "start-concurrency", 32, "workflow starts in flight")
	fs.IntVar(&o.HistorySample, "history-sample", 40, "histories read per phase")
	fs.IntVar(&o.WorkflowPollers, "wf-pollers", 0, "worker MaxConcurrentWorkflowTaskPollers (0: SDK default)")
	fs.IntVar(&o.WorkflowExecutions, "wf-executions", 0, "worker MaxConcurrentWorkflowTaskExecutionSize (0: SDK default)")
	fs.IntVar(&o.LocalActivities, "la-executions", 0, "worker MaxConcurrentLocalActivityExecutionSize (0: SDK default)")
	fs.DurationVar(&o.StickyTimeout, "sticky-timeout", 0, "worker StickyScheduleToStartTimeout (0: SDK default, 5s)")
	fs.IntVar(&o.StickyCache, "sticky-cache", 0, "sticky workflow cache size, process-wide (0: SDK default, 10000)")
	fs.IntVar(&o.HistoryCache, "history-cache", 0, "dev server's host-level history cache, in workflows (0: the dev server's default, 8192)")
	fs.BoolVar(&o.SimStateFile, "devstack", false, "keep the simulated platform's state in a file in the data dir, as devstack.Start and the worker's --dev do (slow with many posts: every new post is written and fsynced)")
	fs.IntVar(&o.ActingPosts, "acting-posts", 0, "posts that act once each in the acting phase (0: default)")
	fs.IntVar(&o.LockClients, "lock-clients", 0, "goroutines arbitrating in a tight loop during the lock phase (0: default)")
	fleetPosts := fs.String("fleet-posts", "1000,10000", "comma-separated numbers of quiet posts of the fleet phases on the production topology (PostgreSQL, the server binary, worker processes); \"\" skips them")
	fleetWorkers := fs.String("fleet-workers", "1,3", "worker process counts of each fleet phase")
	fs.IntVar(&o.FleetLockWorkers, "fleet-lock-workers", 3, "worker processes of the fleet's lock-latency phase")
	fs.StringVar(&o.FleetBinDir, "fleet-bin-dir", "", "where the topology's binaries are built (default: ~/.cache/resurge/production-bin)")
	fs.BoolVar(&o.SkipFloor, "skip-floor", false, "skip the bare-workflow floor")
	fs.BoolVar(&o.SkipActing, "skip-acting", false, "skip the acting phase")
	fs.BoolVar(&o.SkipLock, "skip-lock", false, "skip the lock-latency phase")
	fs.BoolVar(&o.SkipSeed, "skip-seed", false, "skip the reference executor")
	scalePosts := fs.String("scale-posts", "10000,100000", "comma-separated numbers of open posts of the scale phases, at the real default cadence (--scale-interval); \"\" skips them")
	fs.DurationVar(&o.ScaleInterval, "scale-interval", 0, "scale phases: the sample interval (0: the default configuration's, 10m)")
	fs.IntVar(&o.ScaleStartConcurrency, "scale-start-concurrency", 0, "scale phases: the starter's --concurrency (0: default 32)")
	fs.Float64Var(&o.ScaleMemoryLimitGiB, "scale-memory-limit", 0, "scale phases: the process's Go soft memory limit (GOMEMLIMIT) in GiB; negative: none (0: default 7)")
	fs.BoolVar(&o.SkipLockLoad, "skip-lock-load", false, "skip the lock-load phase (the arbiter's updates while locked, lock view vs none)")
	fs.IntVar(&o.LockLoadPosts, "lock-load-posts", 0, "lock-load phase: posts all eligible during the lock (0: default 10000)")
	fs.DurationVar(&o.LockLoadInterval, "lock-load-interval", 0, "lock-load phase: their sample interval (0: default 3m)")
	fs.BoolVar(&o.LockLoadViewOnly, "lock-load-view-only", false, "lock-load phase: only the run with the lock view (lock latency, allows, the release), not the TTL-0 run its updates are compared with")
	fs.BoolVar(&o.SkipCadence, "skip-cadence", false, "skip the cadence phase (lifetime cost and stall latency, fixed vs adaptive)")
	fs.IntVar(&o.CadencePosts, "cadence-posts", 0, "cadence phase: posts per curve and cadence (0: default 10)")
	fs.DurationVar(&o.CadenceHorizon, "cadence-horizon", 0, "cadence phase: the posts' simulated horizon (0: the default 48h)")
	fs.Float64Var(&o.CadenceScale, "cadence-scale", 0, "cadence phase: simulated seconds per real second, at most 600 (0: default 300)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of each measuring window to <prefix>-<phase>-<N>.pprof")
	fs.StringVar(&o.MemProfile, "memprofile", "", "write a heap profile at the end of each measuring window to <prefix>-<phase>-<N>.heap.pprof")
	verbose := fs.Bool("v", false, "show the server's and SDK's warnings")
	inProcess := fs.Bool("in-process", false, "run the load phases in this process instead of one fresh child process each")
	phase := fs.String("phase", "", "internal: run one load phase (posts:N or floor:N) and print its JSON")
	report := fs.String("report", "", "print the tables of an earlier results file (derived sections recomputed; written back with --out) and exit")
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *report != "" {
		b, err := os.ReadFile(*report)
		if err != nil {
			return err
		}
		var res benchlib.Results
		if err := json.Unmarshal(b, &res); err != nil {
			return fmt.Errorf("%s: %w", *report, err)
		}
		benchlib.Rederive(&res)
		benchlib.WriteTable(os.Stdout, &res)
		if set["out"] {
			return writeJSON(*out, &res)
		}
		return nil
	}
	if o.Quick {
		// The quick mode's own defaults, unless given explicitly.
		for name, d := range map[string]*time.Duration{"duration": &o.Duration, "warmup": &o.Warmup, "seed-timeout": &o.SeedTimeout} {
			if !set[name] {
				*d = 0
			}
		}
		if !set["history-sample"] {
			o.HistorySample = 0
		}
	}
	if !o.Quick || set["posts"] {
		ns, err := parsePosts(*posts)
		if err != nil {
			return err
		}
		o.Posts = ns
	}
	if *fleetPosts != "" && (!o.Quick || set["fleet-posts"]) {
		ns, err := parsePosts(*fleetPosts)
		if err != nil {
			return fmt.Errorf("--fleet-posts: %w", err)
		}
		o.FleetPosts = ns
	} else if o.Quick {
		o.FleetPosts = []int{benchlib.QuickPosts}
	}
	if *fleetPosts == "" {
		o.FleetPosts = nil
	}
	if *scalePosts != "" && (!o.Quick || set["scale-posts"]) {
		ns, err := parsePosts(*scalePosts)
		if err != nil {
			return fmt.Errorf("--scale-posts: %w", err)
		}
		o.ScalePosts = ns
	} else if o.Quick && *scalePosts != "" {
		o.ScalePosts = []int{benchlib.QuickPosts}
	}
	ws, err := parsePosts(*fleetWorkers)
	if err != nil {
		return fmt.Errorf("--fleet-workers: %w", err)
	}
	o.FleetWorkers = ws
	if *verbose {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	o.Progress = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *phase != "" {
		return runPhase(ctx, o, *phase)
	}
	if !*inProcess {
		o.LoadPhaseRunner = childRunner(args)
	}
	res, err := benchlib.Run(ctx, o)
	if res != nil {
		res.Command = "go run ./bench " + strings.Join(args, " ")
		benchlib.WriteTable(os.Stdout, res)
		if werr := writeJSON(*out, res); werr != nil {
			err = errors.Join(err, werr)
		} else {
			fmt.Printf("\nJSON: %s\n", *out)
		}
	}
	return err
}

func parsePosts(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(strings.ReplaceAll(f, "_", ""))
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--posts: %q is not a positive number", f)
		}
		ns = append(ns, n)
	}
	if len(ns) == 0 {
		return nil, errors.New("--posts: no number given")
	}
	return ns, nil
}

func writeJSON(path string, res *benchlib.Results) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// runPhase is the child's side: one load phase, its JSON on stdout.
func runPhase(ctx context.Context, o benchlib.Options, spec string) error {
	kind, num, ok := strings.Cut(spec, ":")
	n, err := strconv.Atoi(num)
	if !ok || err != nil {
		return fmt.Errorf("--phase %q: want posts:N, floor:N or scale:N", spec)
	}
	p, err := benchlib.RunLoadPhase(ctx, o, kind, n)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(p)
}

// childRunner runs each load phase in a fresh copy of this program with the same flags, so
// that no phase inherits another's garbage, leaked goroutines or resident memory.
func childRunner(args []string) func(context.Context, string, int, string) (benchlib.LoadPhase, error) {
	return func(ctx context.Context, kind string, n int, dataDir string) (benchlib.LoadPhase, error) {
		var p benchlib.LoadPhase
		exe, err := os.Executable()
		if err != nil {
			return p, err
		}
		cargs := append(append([]string{}, args...), "--data-dir", dataDir, "--phase", fmt.Sprintf("%s:%d", kind, n))
		cmd := exec.CommandContext(ctx, exe, cargs...)
		cmd.Stderr = os.Stderr
		cmd.WaitDelay = 10 * time.Second
		out, err := cmd.Output()
		if err != nil {
			return p, fmt.Errorf("child process: %w", err)
		}
		if err := json.Unmarshal(out, &p); err != nil {
			return p, fmt.Errorf("child process output: %w", err)
		}
		return p, nil
	}
}
