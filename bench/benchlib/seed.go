package benchlib

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"resurge/bench/analysis"
)

// runSeed runs the reference executor's bench_seed.py once per N (so that a slow large N
// cannot lose the smaller ones), after every Resurge phase, so the two never share the CPU.
func (r *runner) runSeed(ctx context.Context) *Seed {
	o := r.o
	res := &Seed{Dir: o.SeedDir}
	if o.SeedDir == "" {
		res.Skipped = "no --seed-dir"
		return res
	}
	script := filepath.Join(o.SeedDir, "bench_seed.py")
	if _, err := os.Stat(script); err != nil {
		res.Skipped = fmt.Sprintf("%s: %v", script, err)
		return res
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		res.Skipped = "python3 is not installed"
		return res
	}
	var done *SeedRun // largest completed run, for extrapolation
	for _, n := range o.Posts {
		run := SeedRun{Posts: n}
		r.progress("reference executor: python3 bench_seed.py %d (timeout %s)", n, durOrNone(o.SeedTimeout))
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if o.SeedTimeout > 0 {
			rctx, cancel = context.WithTimeout(ctx, o.SeedTimeout)
		}
		cmd := exec.CommandContext(rctx, py, "bench_seed.py", strconv.Itoa(n))
		cmd.Dir = o.SeedDir
		cmd.WaitDelay = 5 * time.Second
		t := time.Now()
		out, err := cmd.CombinedOutput()
		elapsed := time.Since(t)
		timedOut := errors.Is(rctx.Err(), context.DeadlineExceeded)
		cancel()
		switch {
		case timedOut:
			run.TimedOut = true
			run.Seconds = elapsed.Seconds()
			run.UpperBoundPerS = float64(n) / elapsed.Seconds()
			if done != nil {
				secs := analysis.ExtrapolateQuadratic(done.Posts, done.Seconds, n)
				run.DecisionsPerS, run.Extrapolated = float64(n)/secs, true
			}
		case err != nil:
			run.Error = fmt.Sprintf("%v: %s", err, lastLine(string(out)))
		default:
			lines, perr := analysis.ParseSeedOutput(string(out))
			if perr != nil {
				run.Error = perr.Error()
				break
			}
			l := lines[len(lines)-1]
			run.Completed, run.Seconds, run.DecisionsPerS = true, l.Seconds, l.DecisionsPerS
			cp := run
			done = &cp
		}
		r.progress("reference executor N=%d: %s", n, seedSummary(run))
		res.Runs = append(res.Runs, run)
		if ctx.Err() != nil {
			break
		}
	}
	return res
}

func seedSummary(s SeedRun) string {
	switch {
	case s.Completed:
		return fmt.Sprintf("%.1f decisions/s (%.2fs)", s.DecisionsPerS, s.Seconds)
	case s.TimedOut && s.Extrapolated:
		return fmt.Sprintf("timed out after %.0fs: < %.1f decisions/s, ≈ %.1f extrapolated (time ∝ N²)", s.Seconds, s.UpperBoundPerS, s.DecisionsPerS)
	case s.TimedOut:
		return fmt.Sprintf("timed out after %.0fs: < %.1f decisions/s", s.Seconds, s.UpperBoundPerS)
	}
	return "error: " + s.Error
}

func durOrNone(d time.Duration) string {
	if d <= 0 {
		return "none"
	}
	return d.String()
}

func lastLine(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}
