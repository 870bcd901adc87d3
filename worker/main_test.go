package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"resurge/app"
	"resurge/domain"
)

func TestParseFlags(t *testing.T) {
	o, err := parseFlags(nil)
	if err != nil || o.workflowCache != defaultWorkflowCache || o.dev || o.grpcPort != 7233 {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	o, err = parseFlags([]string{"--dev", "--demo", "--workflow-cache", "25000"})
	if err != nil || !o.dev || !o.demo || o.workflowCache != 25000 {
		t.Fatalf("flags: %+v %v", o, err)
	}
	for flag, want := range map[string]time.Duration{"": 0, "20s": 20 * time.Second, "0": -1} {
		args := []string{}
		if flag != "" {
			args = []string{"--lock-view-ttl", flag}
		}
		o, err := parseFlags(args)
		if err != nil || o.lockViewTTL != want {
			t.Errorf("--lock-view-ttl %q: %v %v, want %v", flag, o.lockViewTTL, err, want)
		}
		cfg, err := safetyConfig(o)
		if err != nil || (want != 0 && cfg.LockViewTTL != want) {
			t.Errorf("--lock-view-ttl %q: safety config %v %v", flag, cfg.LockViewTTL, err)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--workflow-cache", "0"}, "--workflow-cache must be at least 1"},
		{[]string{"--workflow-cache", "-5"}, "--workflow-cache must be at least 1"},
		{[]string{"--demo"}, "--demo needs --dev"},
		{[]string{"--lock-view-ttl", "-1s"}, "must be between 0 (off)"},
		{[]string{"--lock-view-ttl", "15"}, "want a duration"},
		{[]string{"extra"}, "unexpected arguments"},
	} {
		if _, err := parseFlags(c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want %q", c.args, err, c.want)
		}
	}
}

func TestServerLogFile(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--dev"}, filepath.Join(".resurge-data", serverLogName)},
		{[]string{"--dev", "--data-dir", "/tmp/x"}, filepath.Join("/tmp/x", serverLogName)},
		{[]string{"--dev", "--server-log", "/var/log/t.log"}, "/var/log/t.log"},
		{[]string{"--dev", "--server-log", "-"}, ""},
		{[]string{"--dev", "--data-dir", ""}, ""},
	} {
		o, err := parseFlags(c.args)
		if err != nil {
			t.Fatal(err)
		}
		if got := serverLogFile(o); got != c.want {
			t.Errorf("%v: server log %q, want %q", c.args, got, c.want)
		}
	}
}

func TestMetricsAddr(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, ""},
		{[]string{"--metrics-addr", "0.0.0.0:9464"}, "0.0.0.0:9464"},
		{[]string{"--metrics-addr", ":9464"}, ":9464"},
		{[]string{"--dev", "--metrics-addr", ":9464"}, "127.0.0.1:9464"},
		{[]string{"--dev", "--metrics-addr", "127.0.0.1:0"}, "127.0.0.1:0"},
		{[]string{"--dev", "--metrics-addr", "[::1]:9464"}, "[::1]:9464"},
		{[]string{"--dev", "--metrics-addr", "localhost:9464"}, "localhost:9464"},
	} {
		o, err := parseFlags(c.args)
		if err != nil || o.metricsAddr != c.want {
			t.Errorf("%v: metrics address %q (%v), want %q", c.args, o.metricsAddr, err, c.want)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--dev", "--metrics-addr", "0.0.0.0:9464"}, "loopback only"},
		{[]string{"--dev", "--metrics-addr", "example.org:9464"}, "loopback only"},
		{[]string{"--metrics-addr", "9464"}, "want host:port"},
		{[]string{"--metrics-addr", "127.0.0.1:http"}, "is not a number"},
	} {
		if _, err := parseFlags(c.args); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error with %q", c.args, err, c.want)
		}
	}
	t.Setenv(EnvMetricsAddr, "127.0.0.1:9999")
	if o, err := parseFlags(nil); err != nil || o.metricsAddr != "127.0.0.1:9999" {
		t.Errorf("from %s: %q %v", EnvMetricsAddr, o.metricsAddr, err)
	}
}

// TestDemoPolicy: the demo sends its own policy (threads await approval) unless a policy file
// is configured, which wins.
func TestDemoPolicy(t *testing.T) {
	t.Setenv(app.EnvSafetyPolicyFile, "")
	cfg, err := devSafetyConfig(options{dev: true, demo: true})
	if err != nil || cfg.PolicySource == "" || !cfg.Policy.NeedsApproval(domain.ActionThread) {
		t.Fatalf("the demo's policy: %+v (%v)", cfg, err)
	}
	if cfg, err := devSafetyConfig(options{dev: true}); err != nil || cfg.PolicySource != "" {
		t.Fatalf("--dev without --demo sends no policy: %+v (%v)", cfg, err)
	}
	file := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(file, []byte(`{"per_post_per_hour": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(app.EnvSafetyPolicyFile, file)
	cfg, err = devSafetyConfig(options{dev: true, demo: true})
	if err != nil || cfg.PolicySource != file || cfg.Policy.NeedsApproval(domain.ActionThread) || cfg.Policy.PerPostPerHour != 1 {
		t.Fatalf("a policy file wins over the demo's: %+v (%v)", cfg, err)
	}
}
