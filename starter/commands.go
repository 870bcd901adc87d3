package main

import (
	"context"
	"flag"
	"fmt"
	"io"
)

// command is one entry of the command table.
type command struct {
	// Name is what the user types: "starter <Name> ...".
	Name string
	// Args is the synopsis after the name, e.g. "<post> [flags]".
	Args string
	// Summary is one line for the command list.
	Summary string
	// Help is the longer description printed by "starter help <Name>" (may be empty).
	Help string
	// Run parses args (the arguments after the name) and does the work. A usage error
	// (usageErrorf, asUsage) exits 2, any other error 1, errHelpShown 0.
	Run func(ctx context.Context, e *env, args []string) error
}

// commands is the command table, in the order "starter help" lists it.
//
// Adding a command is one entry here plus one cmd_<name>.go file holding its Run function:
// build the flag set with e.newFlagSet(name), parse with e.parseArgs (mixed flags and positional
// arguments, -h, usage errors), get the Temporal client with e.client(ctx) only once the input
// is known to be good, and print with printJSON(e.stdout, v) when e.opts.json is set, else with
// the table helpers in output.go (errors: return usageErrorf/asUsage for exit 2, any other for 1).
//
// The safety commands (lock, release-lock, arbiter, set-policy, monitor) share the helpers in
// safety.go; the commands people answer posts with (approvals, approve, reject, act) those in
// people.go.
var commands []command

func init() {
	// Assigned in init because help refers back to the table.
	commands = []command{
		{Name: "start", Args: "[flags]", Summary: "start watching one post (flags) or many (--file)", Help: startHelp, Run: runStart},
		{Name: "status", Args: "<post> [flags]", Summary: "show a post workflow's status (the status query)", Help: statusHelp, Run: runStatus},
		{Name: "list", Args: "[flags]", Summary: "list post workflows through the search attributes", Help: listHelp, Run: runList},
		{Name: "stop", Args: "<post> [flags]", Summary: "ask a post workflow to stop watching", Help: stopHelp, Run: runStop},
		{Name: "approvals", Args: "[--agent A]", Summary: "list the posts whose action awaits a person's approval", Help: approvalsHelp, Run: runApprovals},
		{Name: "approve", Args: "<post> --operator NAME --reason WHY", Summary: "approve the action awaiting approval on a post: it runs now", Help: approveHelp, Run: runApprove},
		{Name: "reject", Args: "<post> --operator NAME --reason WHY", Summary: "reject the action awaiting approval on a post", Help: rejectHelp, Run: runReject},
		{Name: "act", Args: "<post> --action A --operator NAME --reason WHY", Summary: "perform an operator's action on a post now (passes a lock)", Help: actHelp, Run: runAct},
		{Name: "lock", Args: "--reason R [flags]", Summary: "lock the safety arbiter: every autonomous change is refused", Help: lockHelp, Run: runLock},
		{Name: "release-lock", Args: "--operator NAME --reason WHY", Summary: "release the safety arbiter's lock (an operator's decision)", Help: releaseLockHelp, Run: runReleaseLock},
		{Name: "arbiter", Args: "[flags]", Summary: "show the safety arbiter's state: lock, decisions, agent tiers", Help: arbiterHelp, Run: runArbiter},
		{Name: "set-policy", Args: "[--file F | F | -]", Summary: "set the safety arbiter's policy (budgets, banned terms...) from JSON", Help: setPolicyHelp, Run: runSetPolicy},
		{Name: "monitor", Args: "<agent> [flags]", Summary: "show an agent's monitor: snapshot, tier, alerts", Help: monitorHelp, Run: runMonitor},
		{Name: "plan", Args: "[--file F | F | -]", Summary: "dry-run the planner on one JSON request (no server needed)", Help: planHelp, Run: runPlan},
		{Name: "help", Args: "[command]", Summary: "show help for all commands or one", Run: runHelp},
	}
}

// lookupCommand returns the command called name, nil if there is none.
func lookupCommand(name string) *command {
	for i := range commands {
		if commands[i].Name == name {
			return &commands[i]
		}
	}
	return nil
}

// synopsis is "<name> <args>" for error messages.
func synopsis(name string) string {
	if c := lookupCommand(name); c != nil {
		return c.Name + " " + c.Args
	}
	return name
}

// printUsage writes the overall usage: the commands and the global flags.
func printUsage(w io.Writer) {
	fmt.Fprint(w, `usage: starter <command> [flags]

Resurge starter: start, inspect and stop the workflows that watch posts, answer what awaits a
person (approve or reject an action, act as an operator), and work the safety net (lock and
release the safety arbiter, show its state, set its policy, show the agents' monitors).

commands:
`)
	for _, c := range commands {
		if syn := c.Name + " " + c.Args; len(syn) <= 26 {
			fmt.Fprintf(w, "  %-26s %s\n", syn, c.Summary)
		} else {
			fmt.Fprintf(w, "  %s\n  %-26s %s\n", syn, "", c.Summary)
		}
	}
	fmt.Fprintln(w, "\nglobal flags (accepted by every command, before or after its name):")
	var g globalOptions = defaultGlobalOptions()
	gfs := flag.NewFlagSet("", flag.ContinueOnError)
	g.register(gfs)
	var all []*flag.Flag
	gfs.VisitAll(func(f *flag.Flag) { all = append(all, f) })
	writeFlagList(w, all)
	fmt.Fprint(w, connectionHelp)
	fmt.Fprint(w, `
exit codes: 0 ok, 1 failed (server or network error, workflow not found, ...), 2 usage (unknown
command, bad flags, bad input).

Run 'starter help <command>' (or 'starter <command> -h') for a command's flags.
`)
}

const connectionHelp = `
connection: the Temporal client is configured like the temporal CLI's, from temporal.toml
(TEMPORAL_CONFIG_FILE, profile TEMPORAL_PROFILE or --profile) and the environment
(TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS*); --address and
--namespace override both. Default: localhost:7233, namespace "default". Only the commands
that need the server connect to it.
`

// printCommandHelp writes a command's help: synopsis, description and flags.
func printCommandHelp(w io.Writer, fs *flag.FlagSet) {
	c := lookupCommand(fs.Name())
	if c == nil {
		return
	}
	fmt.Fprintf(w, "usage: starter %s %s\n\n%s\n", c.Name, c.Args, c.Summary)
	if c.Help != "" {
		fmt.Fprintf(w, "\n%s", c.Help)
	}
	printFlags(w, fs)
}

// runHelp prints the overall usage, or one command's help.
func runHelp(ctx context.Context, e *env, args []string) error {
	fs := e.newFlagSet("help")
	pos, err := e.parseArgs(fs, args, 0, 1)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		printUsage(e.stdout)
		return nil
	}
	c := lookupCommand(pos[0])
	if c == nil || c.Name == "help" {
		if c == nil {
			return usageErrorf("help: unknown command %q (run 'starter help' for the list)", pos[0])
		}
		printUsage(e.stdout)
		return nil
	}
	// A command's -h prints its help with its own flag set.
	return c.Run(ctx, e, []string{"-h"})
}
