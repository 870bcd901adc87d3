package activities

import (
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"resurge/domain"
	"resurge/platform"
	"resurge/platform/sim"
	"resurge/platform/simclient"
)

// simOverHTTP starts the simulated platform on loopback with faults and returns activities that
// reach it through the real HTTP adapter.
func simOverHTTP(t *testing.T, faults sim.Faults) (*sim.Server, *Activities) {
	t.Helper()
	srv := sim.New(sim.Options{Token: "test-token", TimeScale: 60, Faults: faults})
	if err := srv.Start("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	client := simclient.New(srv.URL(), "test-token", simclient.WithTimeout(500*time.Millisecond))
	return srv, &Activities{Platforms: map[string]platform.Platform{domain.PlatformSim: client}}
}

func runPerform(t *testing.T, acts *Activities, in ActionInput) (ActionResult, error) {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	env.RegisterActivity(acts)
	env.RegisterWorkflow(performWorkflow)
	env.ExecuteWorkflow(performWorkflow, in)
	var res ActionResult
	err := env.GetWorkflowError()
	if err == nil {
		err = env.GetWorkflowResult(&res)
	}
	return res, err
}

func effectsFor(srv *sim.Server, key string) int {
	n := 0
	for _, e := range srv.Effects() {
		if e.Key == key {
			n++
		}
	}
	return n
}

func TestPerformActionOverHTTPWithFaults(t *testing.T) {
	key := domain.IdempotencyKey("p1", domain.ActionComment, domain.Tier1)
	in := ActionInput{PostID: "p1", Platform: domain.PlatformSim, Action: domain.ActionComment, Tier: domain.Tier1, Key: key, Text: "hi"}
	for _, tc := range []struct {
		name     string
		faults   sim.Faults
		wantErr  string
		effects  int
		attempts int32
	}{
		{"503 then success", sim.Faults{Rules: []sim.FaultRule{{Kind: sim.FaultUnavailable, Scope: sim.ScopeActions, Next: 1}}}, "", 1, 2},
		{"429 then success", sim.Faults{Rules: []sim.FaultRule{{Kind: sim.FaultRateLimit, Scope: sim.ScopeActions, Next: 1, RetryAfter: time.Second}}}, "", 1, 2},
		{"dropped connection then success", sim.Faults{Rules: []sim.FaultRule{{Kind: sim.FaultDrop, Scope: sim.ScopeActions, Next: 1}}}, "", 1, 2},
		{"slow reply after the effect, keys ignored: the retry verifies",
			sim.Faults{IgnoreIdempotency: true, Rules: []sim.FaultRule{{Kind: sim.FaultSlow, Scope: sim.ScopeActions, Next: 1, Delay: 2 * time.Second, EffectFirst: true}}}, "", 1, 2},
		{"dropped reply after the effect, keys ignored: the retry verifies",
			sim.Faults{IgnoreIdempotency: true, Rules: []sim.FaultRule{{Kind: sim.FaultDrop, Scope: sim.ScopeActions, Next: 1, EffectFirst: true}}}, "", 1, 2},
		{"400 is final", sim.Faults{Rules: []sim.FaultRule{{Kind: sim.FaultBadRequest, Scope: sim.ScopeActions, Next: 1}}}, platform.CodeBadRequest, 0, 1},
		{"401 is final", sim.Faults{Rules: []sim.FaultRule{{Kind: sim.FaultUnauthorized, Scope: sim.ScopeActions, Next: 1}}}, platform.CodeUnauthorized, 0, 1},
		{"404 is final", sim.Faults{Rules: []sim.FaultRule{{Kind: sim.FaultNotFound, Scope: sim.ScopeActions, Next: 1}}}, platform.CodeNotFound, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, acts := simOverHTTP(t, tc.faults)
			res, err := runPerform(t, acts, in)
			if tc.wantErr != "" {
				code, attempt := FailureCode(err)
				if code != tc.wantErr || attempt != tc.attempts {
					t.Fatalf("want final %s after %d attempt(s), got %s after %d (%v)", tc.wantErr, tc.attempts, code, attempt, err)
				}
			} else if err != nil || res.Attempts != tc.attempts {
				t.Fatalf("want success after %d attempts, got %+v, %v", tc.attempts, res, err)
			}
			if n := effectsFor(srv, key); n != tc.effects {
				t.Fatalf("platform has %d effects for the key, want %d", n, tc.effects)
			}
		})
	}
}
