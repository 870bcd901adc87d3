package app

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/client"

	"resurge/domain"
	"resurge/workflows"
)

func writePolicyFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSafetyConfigFromEnvWithoutPolicyFile(t *testing.T) {
	for _, v := range []string{"", "  "} {
		t.Setenv(EnvSafetyPolicyFile, v)
		t.Setenv(EnvAlertWebhookURL, "https://alerts.example/hook")
		cfg, err := SafetyConfigFromEnv()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.PolicySource != "" || !reflect.DeepEqual(cfg.Policy, domain.SafetyPolicy{}) || cfg.AlertWebhookURL != "https://alerts.example/hook" {
			t.Fatalf("%q: %+v", v, cfg)
		}
	}
}

func TestSafetyConfigFromEnvPolicyFile(t *testing.T) {
	path := writePolicyFile(t, `{"per_post_per_hour": 1, "banned_terms": ["spam"], "length_limits": {"mastodon": 400}}`)
	t.Setenv(EnvSafetyPolicyFile, path)
	cfg, err := SafetyConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := domain.DefaultSafetyPolicy()
	want.PerPostPerHour, want.BannedTerms, want.LengthLimits[domain.PlatformMastodon] = 1, []string{"spam"}, 400
	if !reflect.DeepEqual(cfg.Policy, want) || cfg.PolicySource != path {
		t.Fatalf("got %+v, want the file decoded onto the defaults %+v", cfg, want)
	}
}

func TestSafetyConfigFromEnvBadPolicyFile(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, content, sub string
	}{
		{"invalid JSON", `{"per_post_per_hour": 1,}`, "invalid character"},
		{"unknown field", `{"per_post_per_day": 1}`, "policy.per_post_per_day: unknown field"},
		{"invalid value", `{"per_post_per_hour": 0}`, "policy.per_post_per_hour: must be at least 1"},
		{"empty", ``, "no input"},
		{"too large", `{"banned_terms": ["` + strings.Repeat("x", domain.MaxPolicyBytes) + `"]}`, "the limit is"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := writePolicyFile(t, tc.content)
			t.Setenv(EnvSafetyPolicyFile, path)
			_, err := SafetyConfigFromEnv()
			if err == nil {
				t.Fatal("want an error")
			}
			for _, sub := range []string{EnvSafetyPolicyFile, path, tc.sub} {
				if !strings.Contains(err.Error(), sub) {
					t.Errorf("error %q lacks %q", err, sub)
				}
			}
		})
	}
	for name, path := range map[string]string{"missing": filepath.Join(dir, "missing.json"), "directory": dir} {
		t.Run(name, func(t *testing.T) {
			t.Setenv(EnvSafetyPolicyFile, path)
			_, err := SafetyConfigFromEnv()
			if err == nil || !strings.Contains(err.Error(), EnvSafetyPolicyFile) || !strings.Contains(err.Error(), path) {
				t.Fatalf("want an error naming %s and %s, got %v", EnvSafetyPolicyFile, path, err)
			}
		})
	}
}

// signalClient records SignalWithStartWorkflow calls; any other call panics.
type signalClient struct {
	client.Client
	err   error
	names []string
	args  []json.RawMessage
}

func (c *signalClient) SignalWithStartWorkflow(_ context.Context, _, name string, arg any, _ client.StartWorkflowOptions, _ any, _ ...any) (client.WorkflowRun, error) {
	if c.err != nil {
		return nil, c.err
	}
	data, _ := json.Marshal(arg)
	c.names = append(c.names, name)
	c.args = append(c.args, data)
	return nil, nil
}

func TestWiringSendsOnlyAnExplicitPolicy(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	policy := domain.DefaultSafetyPolicy()
	policy.PerPostPerHour = 1

	// Without a policy of its own, a worker leaves the policy in force alone.
	fc := &signalClient{}
	w := Wire(fc, nil, SafetyConfig{}, logger)
	if !reflect.DeepEqual(w.Safety.Policy, domain.DefaultSafetyPolicy()) || w.PolicySource != "" {
		t.Fatalf("wiring %+v", w)
	}
	if err := sendConfiguredPolicy(context.Background(), w); err != nil || len(fc.names) != 0 {
		t.Fatalf("sent %v (%v), want nothing", fc.names, err)
	}
	// Neither does a policy set in code without a source (it only starts a new arbiter).
	w = Wire(fc, nil, SafetyConfig{Policy: policy}, logger)
	if err := sendConfiguredPolicy(context.Background(), w); err != nil || len(fc.names) != 0 {
		t.Fatalf("sent %v (%v), want nothing", fc.names, err)
	}

	// With one, it sends it.
	w = Wire(fc, nil, SafetyConfig{Policy: policy, PolicySource: "/etc/resurge/policy.json"}, logger)
	if w.PolicySource != "/etc/resurge/policy.json" || !reflect.DeepEqual(w.Safety.Policy, policy) {
		t.Fatalf("wiring %+v", w)
	}
	if err := sendConfiguredPolicy(context.Background(), w); err != nil {
		t.Fatal(err)
	}
	if len(fc.names) != 1 || fc.names[0] != workflows.SignalSetPolicy {
		t.Fatalf("sent %v", fc.names)
	}
	got, err := domain.DecodeSafetyPolicy(domain.DefaultSafetyPolicy(), fc.args[0])
	if err != nil || !reflect.DeepEqual(got, policy) {
		t.Fatalf("sent %s (%v)", fc.args[0], err)
	}

	// A failure names the source.
	fc.err = errors.New("unavailable")
	err = sendConfiguredPolicy(context.Background(), w)
	if err == nil || !strings.Contains(err.Error(), "/etc/resurge/policy.json") || !errors.Is(err, fc.err) {
		t.Fatalf("got %v", err)
	}
}

// TestLockViewTTLConfiguration: the worker's lock view defaults to 15 s, RESURGE_LOCK_VIEW_TTL
// sets it (0 turns it off), and a bad value stops the worker naming the variable.
func TestLockViewTTLConfiguration(t *testing.T) {
	for _, c := range []struct {
		env  string
		want time.Duration // of the wired SafetyClient
	}{
		{"", workflows.DefaultLockViewTTL},
		{"30s", 30 * time.Second},
		{" 2m ", 2 * time.Minute},
		{"0", 0},
		{"0s", 0},
	} {
		t.Setenv(EnvLockViewTTL, c.env)
		cfg, err := SafetyConfigFromEnv()
		if err != nil {
			t.Fatalf("%q: %v", c.env, err)
		}
		if got := Wire(nil, nil, cfg, slog.New(slog.DiscardHandler)).Safety.LockViewTTL; got != c.want {
			t.Errorf("%s=%q: the worker's lock view TTL is %s, want %s", EnvLockViewTTL, c.env, got, c.want)
		}
	}
	for _, bad := range []string{"15", "-1s", "11m", "soon"} {
		t.Setenv(EnvLockViewTTL, bad)
		if _, err := SafetyConfigFromEnv(); err == nil || !strings.Contains(err.Error(), EnvLockViewTTL) {
			t.Errorf("%s=%q: %v, want an error naming the variable", EnvLockViewTTL, bad, err)
		}
	}
}
