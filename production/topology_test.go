package production

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/workflows"
)

// envKeepLogs names a directory where each test's processes keep their logs (and the platform
// its state) in a folder named after the test, instead of a temp dir removed at the end.
const envKeepLogs = "RESURGE_PRODUCTION_LOGS"

// startTopology starts a topology for the test and closes it when the test ends, after
// showing where the logs are if the test failed.
func startTopology(t *testing.T, opts Options) *Topology {
	t.Helper()
	opts.Bin = bin
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
		if keep := os.Getenv(envKeepLogs); keep != "" {
			opts.Dir = filepath.Join(keep, t.Name())
			if err := os.RemoveAll(opts.Dir); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	opts.Logf = t.Logf
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	top, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, p := range top.Processes() {
				t.Logf("%s (%s), last lines:\n%s", p.Name, p.LogPath, p.LogTail(2000))
			}
		}
		if err := top.Close(); err != nil {
			t.Logf("close: %v", err)
		}
	})
	return top
}

// TestTopologyRuns: the topology comes up from the deploy/ scripts and config, a post started
// through the server acts once on the platform through one of the worker processes, and the
// workers' metrics count that one action and the arbiter's one decision.
func TestTopologyRuns(t *testing.T) {
	top := startTopology(t, Options{})
	post := faultcheck.NewPost("grow-smoke", "agent-smoke", faultcheck.FastConfig())
	faultcheck.StartPosts(t, top.Client, []workflows.PostInput{post})
	sts := faultcheck.WaitPosts(t, top.Client, 2*time.Minute, "the post acting", []string{post.Post.ID},
		func(st workflows.PostStatus) bool { return faultcheck.HasStatus(st, domain.StatusSuccess) }, nil)
	rec, _ := faultcheck.SuccessOutcome(t, post.Post.ID, sts[post.Post.ID])
	effects, _, err := top.SimAdmin.Effects(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	logs := faultcheck.StopPosts(t, top.Client, []string{post.Post.ID})
	if n := faultcheck.CheckOneEffectPerRecord(t, effects, logs); n != 1 {
		t.Errorf("%d effects, want the one of %s", n, rec.Key)
	}
	// The workers' counters, scraped from their /metrics, say the same.
	decisions, err := faultcheck.ArbiterDecisions(t.Context(), top.Client)
	if err != nil {
		t.Fatal(err)
	}
	received, err := faultcheck.ReceivedDecisions(t.Context(), top.Client, []string{post.Post.ID})
	if err != nil {
		t.Fatal(err)
	}
	checkMetricsAgainstPlatform(t, top, effects, decisions, received)
}
