package main

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"resurge/domain"
	"resurge/workflows"
)

const policyFile = `{"per_post_per_hour": 1, "banned_terms": ["spam", "Crypto Giveaway"], "length_limits": {"mastodon": 400}}`

// wantPolicy is policyFile decoded onto the defaults.
func wantPolicy() domain.SafetyPolicy {
	p := domain.DefaultSafetyPolicy()
	p.PerPostPerHour, p.BannedTerms, p.LengthLimits[domain.PlatformMastodon] = 1, []string{"spam", "Crypto Giveaway"}, 400
	return p
}

// policyState is an unlocked arbiter with policy in force after updates set-policy signals.
func policyState(p domain.SafetyPolicy, updates, rejected int) workflows.ArbiterState {
	var st workflows.ArbiterState
	st.Policy, st.Runs = p, 1
	st.Counters.PolicyUpdates, st.Counters.RejectedPolicies, st.Counters.RejectedSignals = updates, rejected, rejected
	if updates > 0 {
		st.PolicySetAt = safetyNow.Add(-time.Second)
	}
	if rejected > 0 {
		st.Rejected = []workflows.RejectedInput{{At: safetyNow, What: "set-policy signal (policy kept)", Error: "policy.per_post_per_hour: must be at least 1"}}
	}
	return st
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkPolicySignal checks that exactly one set-policy signal-with-start carrying want was sent.
func checkPolicySignal(t *testing.T, fc *fakeClient, want domain.SafetyPolicy) {
	t.Helper()
	if len(fc.sent) != 1 {
		t.Fatalf("sent %+v, want one signal", fc.sent)
	}
	s := fc.sent[0]
	if !s.WithStart || s.WorkflowID != workflows.ArbiterWorkflowID || s.Name != workflows.SignalSetPolicy || s.Start.ID != workflows.ArbiterWorkflowID {
		t.Fatalf("signal %+v", s)
	}
	// The arbiter decodes the signal onto the policy in force: whatever that is, the result
	// is the policy sent.
	inForce := domain.DefaultSafetyPolicy()
	inForce.GlobalPerHour, inForce.LengthLimits[domain.PlatformSim] = 7, 100
	got, err := domain.DecodeSafetyPolicy(inForce, s.Arg)
	if err != nil || !reflect.DeepEqual(got, want.Complete()) {
		t.Fatalf("signal argument %s decodes to %+v (%v), want %+v", s.Arg, got, err, want.Complete())
	}
}

func TestSetPolicy(t *testing.T) {
	path := writeFile(t, "policy.json", policyFile)
	for _, args := range [][]string{
		{"set-policy", "--file", path}, {"set-policy", path}, {"set-policy"}, {"set-policy", "-"}, {"set-policy", "--file", "-"},
	} {
		fc := newArbiterFake(policyState(domain.DefaultSafetyPolicy(), 0, 0), policyState(wantPolicy(), 1, 0))
		te := newSafetyEnv(t, fc)
		te.stdin.Reset(policyFile)
		if code := te.run(args...); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, te.stderr)
		}
		checkPolicySignal(t, fc, wantPolicy())
		if fc.queried[arbiterStateKey] < 2 {
			t.Errorf("state queried %d times, want the state before and after", fc.queried[arbiterStateKey])
		}
		out := te.stdout.String()
		for _, sub := range []string{
			"policy set: update 1 at 2026-11-25 11:59:59Z (1s ago)", "per_post_per_hour  1 changes an hour",
			"global_per_hour    600", "mastodon 400, sim 5000", `banned_terms       2: "spam", "Crypto Giveaway"`,
			"approval_risk      5", "critical_risk      6",
		} {
			if !strings.Contains(out, sub) {
				t.Errorf("%v: stdout lacks %q:\n%s", args, sub, out)
			}
		}
		if strings.Contains(out, "note:") {
			t.Errorf("%v: stdout %s", args, out)
		}
	}
}

func TestSetPolicyJSON(t *testing.T) {
	fc := newArbiterFake(policyState(domain.DefaultSafetyPolicy(), 2, 0), policyState(wantPolicy(), 3, 0))
	te := newSafetyEnv(t, fc)
	te.stdin.Reset(policyFile)
	if code := te.run("set-policy", "--json"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	var res setPolicyResult
	te.oneJSON(t, &res)
	if !res.Applied || res.WorkflowID != workflows.ArbiterWorkflowID || !reflect.DeepEqual(res.Policy, wantPolicy()) ||
		res.InForce == nil || !reflect.DeepEqual(*res.InForce, wantPolicy()) || res.PolicyUpdates != 3 ||
		res.WasRunning == nil || !*res.WasRunning || res.Error != "" || res.PolicySetAt != safetyNow.Add(-time.Second) {
		t.Errorf("json %+v", res)
	}
	checkPolicySignal(t, fc, wantPolicy())
}

func TestSetPolicyBadInputExits2(t *testing.T) {
	tests := []struct {
		name, input string
		args        []string
		errSub      []string
	}{
		{"empty", " \n", nil, []string{"no input"}},
		{"invalid JSON", `{"per_post_per_hour": 1,}`, nil, []string{"set-policy: policy: invalid character"}},
		{"unknown field", `{"per_post_per_day": 1}`, nil, []string{"policy.per_post_per_day: unknown field"}},
		{"zero budget", `{"global_per_hour": 0}`, nil, []string{"policy.global_per_hour: must be at least 1"}},
		{"wrong type", `{"per_post_per_hour": "3"}`, nil, []string{"policy.per_post_per_hour: must be a whole number"}},
		{"approval above critical", `{"approval_risk": 6, "critical_risk": 5}`, nil, []string{"policy.approval_risk"}},
		{"empty banned term", `{"banned_terms": ["spam", ""]}`, nil, []string{"policy.banned_terms[1]"}},
		{"zero length limit", `{"length_limits": {"mastodon": 0}}`, nil, []string{"policy.length_limits.mastodon"}},
		{"unknown platform", `{"length_limits": {"twitter": 280}}`, nil, []string{"policy.length_limits.twitter: unknown platform"}},
		{"null", `null`, nil, []string{"must be a JSON object"}},
		{"an array", `[]`, nil, []string{"must be a JSON object"}},
		{"too large", `{"banned_terms": ["` + strings.Repeat("x", domain.MaxPolicyBytes) + `"]}`, nil, []string{"larger than"}},
		{"file and argument", policyFile, []string{"--file", "a.json", "b.json"}, []string{"not both"}},
		{"two arguments", policyFile, []string{"a.json", "b.json"}, []string{`unexpected argument "b.json"`}},
		{"missing file", "", []string{"--file", filepath.Join(os.TempDir(), "resurge-no-such-policy.json")}, []string{"resurge-no-such-policy.json"}},
		{"unknown flag", policyFile, []string{"--policy", "x"}, []string{"policy"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, asJSON := range []bool{false, true} {
				te := newSafetyEnv(t, nil) // must not connect
				te.stdin.Reset(tc.input)
				args := append([]string{"set-policy"}, tc.args...)
				if asJSON {
					args = append(args, "--json")
				}
				if code := te.run(args...); code != exitUsage {
					t.Fatalf("exit %d, want 2\nstdout: %s\nstderr: %s", code, te.stdout, te.stderr)
				}
				line := te.errLine(t)
				for _, sub := range tc.errSub {
					if !strings.Contains(line, sub) {
						t.Errorf("error line %q lacks %q", line, sub)
					}
				}
				if te.stdout.Len() != 0 || te.dials != 0 {
					t.Errorf("stdout %q, dials %d: want nothing", te.stdout, te.dials)
				}
			}
		})
	}
}

func TestSetPolicyBadFileNamesIt(t *testing.T) {
	path := writeFile(t, "policy.json", `{"per_post_per_hour": 0}`)
	te := newSafetyEnv(t, nil)
	if code := te.run("set-policy", path); code != exitUsage {
		t.Fatalf("exit %d, want 2", code)
	}
	if line := te.errLine(t); !strings.Contains(line, path+": policy.per_post_per_hour: must be at least 1") {
		t.Errorf("error line %q", line)
	}
}

func TestSetPolicyNotApplied(t *testing.T) {
	tests := []struct {
		name   string
		states []workflows.ArbiterState
		errSub []string
	}{
		{"rejected", []workflows.ArbiterState{policyState(domain.DefaultSafetyPolicy(), 0, 0), policyState(domain.DefaultSafetyPolicy(), 0, 1)},
			[]string{"rejected the policy", "policy in force is unchanged", "policy.per_post_per_hour: must be at least 1"}},
		{"not processed", []workflows.ArbiterState{policyState(domain.DefaultSafetyPolicy(), 0, 0)},
			[]string{"has not applied the policy after 150ms", "task queue resurge"}},
		{"replaced at once", []workflows.ArbiterState{policyState(domain.DefaultSafetyPolicy(), 0, 0), policyState(domain.DefaultSafetyPolicy(), 2, 0)},
			[]string{"another one is in force now"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, asJSON := range []bool{false, true} {
				fc := newArbiterFake(tc.states...)
				te := newSafetyEnv(t, fc)
				te.stdin.Reset(policyFile)
				args := []string{"set-policy"}
				if asJSON {
					args = append(args, "--json")
				}
				if code := te.run(args...); code != exitFailed {
					t.Fatalf("exit %d, want 1\nstdout: %s\nstderr: %s", code, te.stdout, te.stderr)
				}
				line := te.errLine(t)
				for _, sub := range tc.errSub {
					if !strings.Contains(line, sub) {
						t.Errorf("error line %q lacks %q", line, sub)
					}
				}
				checkPolicySignal(t, fc, wantPolicy())
				if asJSON {
					var res setPolicyResult
					te.oneJSON(t, &res)
					if res.Applied || res.Error == "" || res.InForce == nil || reflect.DeepEqual(*res.InForce, wantPolicy()) {
						t.Errorf("json %+v", res)
					}
					if tc.name == "rejected" && (res.LastRejected == nil || !strings.Contains(res.LastRejected.Error, "per_post_per_hour")) {
						t.Errorf("json last rejected %+v", res.LastRejected)
					}
				} else if te.stdout.Len() != 0 {
					t.Errorf("stdout %q, want nothing", te.stdout)
				}
			}
		})
	}
}

// notRunningFake answers the first arbiter query with NotFound (no arbiter yet), the later ones
// from the fake client (the arbiter set-policy started).
type notRunningFake struct {
	*fakeClient
	queries int
}

func (f *notRunningFake) QueryWorkflow(ctx context.Context, id, run, queryType string, args ...any) (converter.EncodedValue, error) {
	f.queries++
	if f.queries == 1 {
		return nil, serviceerror.NewNotFound("workflow not found for ID: " + id)
	}
	return f.fakeClient.QueryWorkflow(ctx, id, run, queryType, args...)
}

func TestSetPolicyStartsTheArbiter(t *testing.T) {
	// Right after the start the state shows the policy as the start input; the command waits
	// for the signal to be applied.
	fc := newFakeClient()
	for _, st := range []workflows.ArbiterState{policyState(wantPolicy(), 0, 0), policyState(wantPolicy(), 1, 0)} {
		fc.answers[arbiterStateKey] = append(fc.answers[arbiterStateKey], st)
	}
	nf := &notRunningFake{fakeClient: fc}
	te := newSafetyEnv(t, fc)
	te.env.dial = func(context.Context, *env) (client.Client, error) { return nf, nil }
	te.stdin.Reset(policyFile)
	if code := te.run("set-policy"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	checkPolicySignal(t, fc, wantPolicy())
	if fc.queried[arbiterStateKey] != 2 {
		t.Errorf("queried %d times after the start, want until the update shows", fc.queried[arbiterStateKey])
	}
	out := te.stdout.String()
	if !strings.Contains(out, "policy set: update 1") || !strings.Contains(out, "note: the arbiter was not running") {
		t.Errorf("stdout %s", out)
	}
}

func TestArbiterShowsThePolicy(t *testing.T) {
	st := policyState(wantPolicy(), 2, 1)
	te := newSafetyEnv(t, newArbiterFake(st))
	if code := te.run("arbiter"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	out := te.stdout.String()
	for _, sub := range []string{
		"policy updates 2, rejected policies 1", "policy: update 2 at 2026-11-25 11:59:59Z (1s ago)",
		"per_post_per_hour  1 changes an hour to one post", "mastodon 400, sim 5000", `"Crypto Giveaway"`,
	} {
		if !strings.Contains(out, sub) {
			t.Errorf("stdout lacks %q:\n%s", sub, out)
		}
	}

	te = newSafetyEnv(t, newArbiterFake(policyState(domain.DefaultSafetyPolicy(), 0, 0)))
	if code := te.run("arbiter"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	if out := te.stdout.String(); !strings.Contains(out, "policy: the arbiter's start input (no set-policy applied)") ||
		!strings.Contains(out, `3: "guaranteed returns", "free money", "click here"`) {
		t.Errorf("stdout %s", out)
	}

	te = newSafetyEnv(t, newArbiterFake(st))
	if code := te.run("arbiter", "--json"); code != exitOK {
		t.Fatalf("exit %d: %s", code, te.stderr)
	}
	var got workflows.ArbiterState
	te.oneJSON(t, &got)
	if !reflect.DeepEqual(got.Policy, wantPolicy()) || got.Counters.PolicyUpdates != 2 || got.PolicySetAt != st.PolicySetAt {
		t.Errorf("json %+v", got)
	}
}
