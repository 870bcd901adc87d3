// Package app wires Resurge together for the worker binary and the dev stack: logging, the
// platform adapters from configuration, and a Temporal worker with every workflow and activity
// registered. It does not link the Temporal server.
package app

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/lmittmann/tint"
	sdklog "go.temporal.io/sdk/log"
)

// NewLogger returns a tint (coloured, human-friendly) slog logger at the given level
// (debug, info, warn, error).
func NewLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(strings.TrimSpace(level)))); err != nil {
		return nil, fmt.Errorf("log level %q: use debug, info, warn or error", level)
	}
	return slog.New(tint.NewHandler(w, &tint.Options{Level: l, TimeFormat: "15:04:05.000"})), nil
}

// SDKLogger adapts a slog logger for the Temporal SDK, so its logs share our format.
func SDKLogger(l *slog.Logger) sdklog.Logger { return sdklog.NewStructuredLogger(l) }
