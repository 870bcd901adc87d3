package main

import (
	"path/filepath"
	"strings"
	"testing"
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
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--workflow-cache", "0"}, "--workflow-cache must be at least 1"},
		{[]string{"--workflow-cache", "-5"}, "--workflow-cache must be at least 1"},
		{[]string{"--demo"}, "--demo needs --dev"},
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
