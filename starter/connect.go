package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/lmittmann/tint"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"
	sdklog "go.temporal.io/sdk/log"
)

// client returns the Temporal client, dialling it on first use: commands that never call this
// (plan, help, anything that fails on its input first) never need a server.
func (e *env) client(ctx context.Context) (client.Client, error) {
	if e.c != nil {
		return e.c, nil
	}
	c, err := e.dial(ctx, e)
	if err != nil {
		return nil, err
	}
	e.c = c
	return c, nil
}

// clientOptions loads the connection settings the way the temporal CLI does (temporal.toml and
// TEMPORAL_* variables, through the SDK's envconfig module), then applies --address and
// --namespace.
func clientOptions(o globalOptions) (client.Options, error) {
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{ConfigFileProfile: o.profile})
	if err != nil {
		return opts, asUsage(fmt.Errorf("client configuration: %w", err))
	}
	if o.address != "" {
		opts.HostPort = o.address
	}
	if o.namespace != "" {
		opts.Namespace = o.namespace
	}
	if opts.HostPort == "" {
		opts.HostPort = client.DefaultHostPort
	}
	if opts.Namespace == "" {
		opts.Namespace = client.DefaultNamespace
	}
	return opts, nil
}

// dialTemporal connects to the server, with a quiet SDK logger (warn by default).
func dialTemporal(ctx context.Context, e *env) (client.Client, error) {
	opts, err := clientOptions(e.opts)
	if err != nil {
		return nil, err
	}
	logger, err := newLogger(e.stderr, e.opts.logLevel)
	if err != nil {
		return nil, err
	}
	opts.Logger = sdklog.NewStructuredLogger(logger)
	dctx, cancel := context.WithTimeout(ctx, e.opts.timeout)
	defer cancel()
	c, err := client.DialContext(dctx, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to %s (namespace %s): %w", opts.HostPort, opts.Namespace, err)
	}
	logger.Debug("connected", "address", opts.HostPort, "namespace", opts.Namespace)
	return c, nil
}

// newLogger returns a tint slog logger on w at the named level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usageErrorf("--log-level: want debug, info, warn or error, got %q", level)
	}
	return slog.New(tint.NewHandler(w, &tint.Options{Level: l, TimeFormat: "15:04:05.000", NoColor: !isTerminal(w)})), nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// isNotFound reports whether err says the workflow does not exist.
func isNotFound(err error) bool {
	var nf *serviceerror.NotFound
	return errors.As(err, &nf)
}

// describeServerError makes a server error for a post's workflow readable.
func describeServerError(postID, workflowID string, err error) error {
	switch {
	case isNotFound(err):
		msg := err.Error()
		if strings.Contains(msg, "completed") || strings.Contains(msg, "closed") {
			return fmt.Errorf("post %s: workflow %s is no longer running: %w", postID, workflowID, err)
		}
		return fmt.Errorf("post %s: no workflow %s: %w", postID, workflowID, err)
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("post %s: the server did not answer in time (--timeout): %w", postID, err)
	}
	return fmt.Errorf("post %s: %w", postID, err)
}
