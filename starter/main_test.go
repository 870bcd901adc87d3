package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
)

func TestDispatcherExitCodes(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		want   int
		stdout string // substring of stdout
		errSub string // substring of the one error line (exit != 0)
	}{
		{name: "no command", args: nil, want: exitUsage, errSub: "no command"},
		{name: "unknown command", args: []string{"bogus"}, want: exitUsage, errSub: `unknown command "bogus"`},
		{name: "help", args: []string{"help"}, want: exitOK, stdout: "commands:"},
		{name: "-h", args: []string{"-h"}, want: exitOK, stdout: "commands:"},
		{name: "--help", args: []string{"--help"}, want: exitOK, stdout: "commands:"},
		{name: "help of a command", args: []string{"help", "start"}, want: exitOK, stdout: "--thread"},
		{name: "command -h", args: []string{"list", "-h"}, want: exitOK, stdout: "--agent"},
		{name: "help of an unknown command", args: []string{"help", "bogus"}, want: exitUsage, errSub: "bogus"},
		{name: "unknown global flag", args: []string{"--bogus", "list"}, want: exitUsage, errSub: "bogus"},
		{name: "unknown command flag", args: []string{"status", "p1", "--bogus"}, want: exitUsage, errSub: "bogus"},
		{name: "missing argument", args: []string{"status"}, want: exitUsage, errSub: "missing argument"},
		{name: "extra argument", args: []string{"stop", "p1", "p2"}, want: exitUsage, errSub: `"p2"`},
		{name: "bad post id", args: []string{"status", "p\x01"}, want: exitUsage, errSub: "post"},
		{name: "bad log level", args: []string{"plan", "--log-level", "loud"}, want: exitUsage, errSub: ""},
		{name: "start without post", args: []string{"start", "--agent", "a1"}, want: exitUsage, errSub: "--post is required"},
		{name: "start with a bad text", args: []string{"start", "--post", "p1", "--agent", "a1", "--comment", " ", "--edit", "e", "--thread", "t"},
			want: exitUsage, errSub: "--comment: must not be empty"},
		{name: "start with a bad thread part", args: []string{"start", "--post", "p1", "--agent", "a1", "--comment", "c", "--edit", "e", "--thread", "t", "--thread", ""},
			want: exitUsage, errSub: "--thread (part 2)"},
		{name: "start with a bad duration", args: []string{"start", "--post", "p1", "--window", "5x"}, want: exitUsage, errSub: "-window"},
		{name: "start with an out-of-range config", args: []string{"start", "--post", "p1", "--agent", "a1", "--comment", "c", "--edit", "e", "--thread", "t", "--max-actions", "0"},
			want: exitUsage, errSub: "--max-actions"},
		{name: "start --file with --post", args: []string{"start", "--file", "x.csv", "--post", "p1"}, want: exitUsage, errSub: "--post"},
		{name: "start --file without a known format", args: []string{"start", "--file", "x.txt"}, want: exitUsage, errSub: "--format"},
		{name: "list with a quote", args: []string{"list", "--agent", "a'1"}, want: exitUsage, errSub: "quote"},
		{name: "list with a bad limit", args: []string{"list", "--limit", "0"}, want: exitUsage, errSub: "--limit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// No fake client: none of these may connect.
			te := newTestEnv(t, nil, "")
			got := te.run(tc.args...)
			if got != tc.want {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", got, tc.want, te.stdout, te.stderr)
			}
			if tc.want == exitOK {
				if te.stderr.Len() != 0 {
					t.Errorf("stderr not empty: %s", te.stderr)
				}
				if !strings.Contains(te.stdout.String(), tc.stdout) {
					t.Errorf("stdout lacks %q:\n%s", tc.stdout, te.stdout)
				}
				return
			}
			if line := te.errLine(t); !strings.Contains(line, tc.errSub) {
				t.Errorf("error line %q lacks %q", line, tc.errSub)
			}
		})
	}
}

func TestHelpListsEveryCommand(t *testing.T) {
	te := newTestEnv(t, nil, "")
	if code := te.run("help"); code != exitOK {
		t.Fatalf("exit %d", code)
	}
	for _, c := range commands {
		if !strings.Contains(te.stdout.String(), "  "+c.Name+" "+c.Args) {
			t.Errorf("help does not list %q", c.Name)
		}
		if c.Run == nil || c.Summary == "" || c.Args == "" {
			t.Errorf("command %q is incomplete: every entry needs Args, Summary and Run", c.Name)
		}
	}
	for _, g := range []string{"--json", "--address", "--namespace"} {
		if !strings.Contains(te.stdout.String(), g) {
			t.Errorf("help does not show the global flag %s", g)
		}
	}
}

func TestEveryCommandHasHelp(t *testing.T) {
	for _, c := range commands {
		te := newTestEnv(t, nil, "")
		if code := te.run(c.Name, "-h"); code != exitOK {
			t.Errorf("%s -h: exit %d, stderr %s", c.Name, code, te.stderr)
		}
		if !strings.Contains(te.stdout.String(), "usage: starter "+c.Name) && c.Name != "help" {
			t.Errorf("%s -h does not print its usage:\n%s", c.Name, te.stdout)
		}
	}
}

func TestExitCodeMapping(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{errHelpShown, exitOK},
		{usageErrorf("bad"), exitUsage},
		{fmt.Errorf("wrapped: %w", usageErrorf("bad")), exitUsage},
		{asUsage(errors.New("bad input")), exitUsage},
		{errors.New("server down"), exitFailed},
		{serviceerror.NewNotFound("workflow not found"), exitFailed},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}

func TestConnectionFailureExits1(t *testing.T) {
	te := newTestEnv(t, newFakeClient(), "")
	te.env.dial = func(_ context.Context, _ *env) (client.Client, error) {
		return nil, errors.New("connect to localhost:7233 (namespace default): connection refused")
	}
	if code := te.run("status", "p1"); code != exitFailed {
		t.Fatalf("exit %d, want 1", code)
	}
	if line := te.errLine(t); !strings.Contains(line, "connection refused") {
		t.Errorf("error line %q", line)
	}
}

func TestGlobalFlagsBeforeAndAfterTheCommand(t *testing.T) {
	for _, args := range [][]string{
		{"--address", "h:1", "--namespace", "ns", "stop", "p1"},
		{"stop", "p1", "--address", "h:1", "--namespace", "ns"},
		{"stop", "--namespace", "ns", "p1", "--address=h:1"},
	} {
		fc := newFakeClient()
		fc.running["post/p1"] = "r1"
		te := newTestEnv(t, fc, "")
		if code := te.run(args...); code != exitOK {
			t.Fatalf("%v: exit %d: %s", args, code, te.stderr)
		}
		if te.env.opts.address != "h:1" || te.env.opts.namespace != "ns" {
			t.Errorf("%v: address %q namespace %q", args, te.env.opts.address, te.env.opts.namespace)
		}
		opts, err := clientOptions(te.env.opts)
		if err != nil {
			t.Fatal(err)
		}
		if opts.HostPort != "h:1" || opts.Namespace != "ns" {
			t.Errorf("%v: client options %s / %s", args, opts.HostPort, opts.Namespace)
		}
	}
}

func TestClientOptionsFromEnvironment(t *testing.T) {
	t.Setenv("TEMPORAL_CONFIG_FILE", t.TempDir()+"/none.toml")
	t.Setenv("TEMPORAL_ADDRESS", "env-host:7233")
	t.Setenv("TEMPORAL_NAMESPACE", "env-ns")
	opts, err := clientOptions(defaultGlobalOptions())
	if err != nil {
		t.Fatal(err)
	}
	if opts.HostPort != "env-host:7233" || opts.Namespace != "env-ns" {
		t.Errorf("got %s / %s, want the environment's", opts.HostPort, opts.Namespace)
	}
	o := defaultGlobalOptions()
	o.address, o.namespace = "flag-host:1", "flag-ns"
	if opts, _ = clientOptions(o); opts.HostPort != "flag-host:1" || opts.Namespace != "flag-ns" {
		t.Errorf("flags do not override the environment: %s / %s", opts.HostPort, opts.Namespace)
	}
}
