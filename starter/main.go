// Command starter is Resurge's command-line client, in the style of the temporal CLI: it starts
// post workflows (one by flags, many from a CSV or JSON file), shows a post's status, lists and
// stops post workflows, dry-runs the planner on a JSON request without any server, lets people
// answer what awaits them (approve or reject an action, act as an operator), and works the
// safety net: locks and releases the arbiter, sets its policy, shows its state and an agent's
// monitor.
//
//	go run ./starter <command> [flags]
//
// Exit codes: 0 ok, 1 failed (server or network error, workflow not found, some posts failed to
// start), 2 usage (unknown command, bad flags, bad input). Errors go to stderr as one line,
// "error: ...". With --json a command prints exactly one JSON document on stdout.
//
// The commands are listed in commands.go; each lives in its own cmd_<name>.go file.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.temporal.io/sdk/client"

	"resurge/platform/bluesky"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, newEnv(os.Stdin, os.Stdout, os.Stderr), os.Args[1:])
	stop()
	os.Exit(code)
}

// env is what a command runs with: its standard streams, the global options, and a lazily
// dialled Temporal client. Tests build one with buffers and a fake dialer.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	opts           globalOptions
	// dial connects to Temporal; only commands that need the server call it (through client).
	dial func(ctx context.Context, e *env) (client.Client, error)
	// now is the clock used for relative times in human output.
	now func() time.Time
	// safetyWait bounds how long lock and release-lock poll the arbiter's state query for the
	// signal to take effect, safetyPoll is the pause between two queries.
	safetyWait, safetyPoll time.Duration
	// resolver resolves Bluesky handles (made from $RESURGE_BLUESKY_SERVICE on first use when
	// nil; tests set it).
	resolver     bluesky.HandleResolver
	resolverOnce sync.Once
	resolverErr  error

	c client.Client
}

func newEnv(stdin io.Reader, stdout, stderr io.Writer) *env {
	return &env{
		stdin:  stdin,
		stdout: stdout,
		stderr: stderr,
		opts:   defaultGlobalOptions(),
		dial:   dialTemporal,
		now:    time.Now,

		safetyWait: 5 * time.Second,
		safetyPoll: 200 * time.Millisecond,
	}
}

// close releases the client if one was dialled.
func (e *env) close() {
	if e.c != nil {
		e.c.Close()
		e.c = nil
	}
}

// run dispatches args to a command and maps its outcome to an exit code. Global flags may come
// before the command name as well as after it.
func run(ctx context.Context, e *env, args []string) int {
	defer e.close()
	fs := flag.NewFlagSet("starter", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.opts.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(e.stdout)
			return exitOK
		}
		return e.report(usageErrorf("%v (run 'starter help')", err))
	}
	rest := fs.Args()
	if len(rest) == 0 {
		printUsage(e.stderr)
		return e.report(usageErrorf("no command given"))
	}
	cmd := lookupCommand(rest[0])
	if cmd == nil {
		return e.report(usageErrorf("unknown command %q (run 'starter help' for the list)", rest[0]))
	}
	return e.report(cmd.Run(ctx, e, rest[1:]))
}

// report prints err (if any) as one line on stderr and returns the exit code it stands for.
func (e *env) report(err error) int {
	code := exitCode(err)
	if code != exitOK {
		fmt.Fprintf(e.stderr, "error: %s\n", oneLine(err.Error()))
	}
	return code
}

// exitCode maps a command's error to the process exit code.
func exitCode(err error) int {
	if err == nil || errors.Is(err, errHelpShown) {
		return exitOK
	}
	var ce *codedError
	if errors.As(err, &ce) {
		return ce.code
	}
	return exitFailed
}

// errHelpShown is returned by a command that printed its help because of -h: exit 0.
var errHelpShown = errors.New("help shown")

// codedError carries an explicit exit code (usage errors: 2).
type codedError struct {
	code int
	err  error
}

func (e *codedError) Error() string { return e.err.Error() }
func (e *codedError) Unwrap() error { return e.err }

// usageErrorf is a usage error: bad flags, bad arguments or bad input (exit 2).
func usageErrorf(format string, args ...any) error {
	return &codedError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// asUsage marks err (for example a validation error) as a usage error.
func asUsage(err error) error {
	if err == nil {
		return nil
	}
	return &codedError{code: exitUsage, err: err}
}

// oneLine folds a multi-line message onto one line.
func oneLine(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\r", "")
	return strings.ReplaceAll(s, "\n", " ")
}
