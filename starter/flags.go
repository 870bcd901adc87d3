package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"
)

// globalOptions are the flags every command accepts.
type globalOptions struct {
	json      bool
	address   string
	namespace string
	profile   string
	timeout   time.Duration
	logLevel  string
}

func defaultGlobalOptions() globalOptions {
	return globalOptions{timeout: 30 * time.Second, logLevel: "warn"}
}

// register adds the global flags to fs, bound to o: values given before the command name stay
// the defaults of the command's own flag set.
func (o *globalOptions) register(fs *flag.FlagSet) {
	fs.BoolVar(&o.json, "json", o.json, "machine output: exactly one JSON document on stdout")
	fs.StringVar(&o.address, "address", o.address, "Temporal frontend host:port (overrides TEMPORAL_ADDRESS and temporal.toml)")
	fs.StringVar(&o.namespace, "namespace", o.namespace, "Temporal namespace (overrides TEMPORAL_NAMESPACE and temporal.toml)")
	fs.StringVar(&o.profile, "profile", o.profile, "temporal.toml profile (default: TEMPORAL_PROFILE or \"default\")")
	durationVar(fs, &o.timeout, "timeout", "limit of each call to the server (connect, query, start of one post)")
	fs.StringVar(&o.logLevel, "log-level", o.logLevel, "log level on stderr: debug, info, warn or error")
}

// newFlagSet returns the flag set of a command, with the global flags registered. Parse errors
// are not printed by the flag package: parseArgs turns them into one usage error line.
func (e *env) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	e.opts.register(fs)
	return fs
}

// parseArgs parses a command's arguments, which may mix flags and positional arguments
// ("status p1 --json"); everything after "--" is positional. It checks that the number of
// positional arguments is between minPos and maxPos (maxPos < 0: no limit). -h prints the
// command's help on stdout and returns errHelpShown.
func (e *env) parseArgs(fs *flag.FlagSet, args []string, minPos, maxPos int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				printCommandHelp(e.stdout, fs)
				return nil, errHelpShown
			}
			return nil, usageErrorf("%s: %v (run 'starter help %s')", fs.Name(), err, fs.Name())
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	switch {
	case len(pos) < minPos:
		return nil, usageErrorf("%s: missing argument (usage: starter %s)", fs.Name(), synopsis(fs.Name()))
	case maxPos >= 0 && len(pos) > maxPos:
		return nil, usageErrorf("%s: unexpected argument %q (usage: starter %s)", fs.Name(), pos[maxPos], synopsis(fs.Name()))
	}
	return pos, nil
}

// flagsSet returns the names of the flags given on the command line.
func flagsSet(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, " | ") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// printFlags writes the flags of fs, temporal-CLI style ("--name value  usage (default x)"),
// global flags apart from the command's own.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	globals := map[string]bool{}
	var g globalOptions
	gfs := flag.NewFlagSet("", flag.ContinueOnError)
	g.register(gfs)
	gfs.VisitAll(func(f *flag.Flag) { globals[f.Name] = true })

	var own, global []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) {
		if globals[f.Name] {
			global = append(global, f)
		} else {
			own = append(own, f)
		}
	})
	if len(own) > 0 {
		fmt.Fprintln(w, "\nflags:")
		writeFlagList(w, own)
	}
	if len(global) > 0 {
		fmt.Fprintln(w, "\nglobal flags:")
		writeFlagList(w, global)
	}
}

func writeFlagList(w io.Writer, flags []*flag.Flag) {
	for _, f := range flags {
		name, usage := flag.UnquoteUsage(f)
		if _, ok := f.Value.(durationFlag); ok && name == "value" {
			name = "duration"
		}
		head := "  --" + f.Name
		if name != "" {
			head += " " + name
		}
		if def := f.DefValue; def != "" && def != "false" && def != "0" && def != "[]" {
			usage += fmt.Sprintf(" (default %s)", def)
		}
		if len(head) < 30 {
			fmt.Fprintf(w, "%-30s%s\n", head, usage)
		} else {
			fmt.Fprintf(w, "%s\n%30s%s\n", head, "", usage)
		}
	}
}

// durationFlag is a duration flag whose errors say what is wrong ("time: invalid duration")
// and whose default prints short ("1h30m").
type durationFlag struct{ d *time.Duration }

func (f durationFlag) String() string {
	if f.d == nil {
		return ""
	}
	return shortDuration(*f.d)
}

func (f durationFlag) Set(v string) error {
	d, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("want a duration such as 90m or 2h: %w", err)
	}
	*f.d = d
	return nil
}

// durationVar registers a durationFlag.
func durationVar(fs *flag.FlagSet, p *time.Duration, name, usage string) {
	fs.Var(durationFlag{p}, name, usage)
}
