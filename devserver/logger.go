package devserver

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// Server log levels for each phase of the server's life, for the caller's logger (usually the
// user's terminal). Only records at or above the current level reach it.
const (
	// While starting, the services dial each other before all are listening and warn about
	// each refused connection; a real startup failure comes back from Start as an error.
	logLevelStarting = slog.LevelError
	// While running, warnings matter when there is no log file. Info is dropped: the server
	// logs shard movements, membership and every service start at info, which buries the
	// application's output.
	logLevelRunning = slog.LevelWarn
	// With a log file, the terminal gets only the server's errors; the file gets the rest.
	logLevelRunningWithFile = slog.LevelError
	// The log file takes everything from info up, from start to stop.
	logLevelFile = slog.LevelInfo
	// From Stop on, nothing. While stopping, every in-flight long poll fails and is logged
	// (some at error: "Unable to call matching.PollWorkflowTaskQueue ... context canceled");
	// afterwards the system workers the server never stops (see devDynamicConfig) keep
	// retrying against the closed frontend. None of it is actionable; a failed stop is
	// reported by Stop's error.
	logLevelStopped = slog.LevelError + 1000
)

// serverLog routes the server's logs to the caller's logger and, with Options.LogFile, to that
// file, each with its own minimum level, changed as the server starts, runs and stops.
type serverLog struct {
	terminal, file slog.LevelVar
	f              *os.File // nil without a log file
	adapter        slogAdapter
}

// openServerLog appends to path (when not empty) and returns the server's logger.
func openServerLog(logger *slog.Logger, path string) (*serverLog, error) {
	l := &serverLog{}
	l.terminal.Set(logLevelStarting)
	l.file.Set(logLevelStopped)
	handler := slog.Handler(minLevelHandler{Handler: logger.Handler(), min: &l.terminal})
	if path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("server log file: %w", err)
		}
		l.f = f
		l.file.Set(logLevelFile)
		fileHandler := slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})
		handler = slog.NewMultiHandler(handler, minLevelHandler{Handler: fileHandler, min: &l.file})
		// A mark between runs of the server appended to the same file.
		slog.New(fileHandler).Info("temporal dev server starting", "pid", os.Getpid())
	}
	l.adapter = slogAdapter{logger: slog.New(handler).With("component", "temporal-server")}
	return l, nil
}

// running lowers the terminal's level once the server serves.
func (l *serverLog) running() {
	if l.f != nil {
		l.terminal.Set(logLevelRunningWithFile)
	} else {
		l.terminal.Set(logLevelRunning)
	}
}

// stopped silences both destinations and closes the file; calling it again does nothing more.
// A record already past its level
// check may still try to write to the closed file; the write fails and is dropped.
func (l *serverLog) stopped() {
	l.terminal.Set(logLevelStopped)
	l.file.Set(logLevelStopped)
	if l.f != nil {
		_ = l.f.Close()
		l.f = nil
	}
}

// slogAdapter lets the Temporal server log through a *slog.Logger. The server has its own
// logger interface (tag-based, zap-flavoured); this forwards each call as one slog record.
type slogAdapter struct {
	logger *slog.Logger // filtered by the levels of its serverLog
}

var (
	_ log.Logger      = slogAdapter{}
	_ log.WithLogger  = slogAdapter{}
	_ log.SLogWrapper = slogAdapter{}
)

func (a slogAdapter) Debug(msg string, tags ...tag.Tag) { a.log(slog.LevelDebug, msg, tags) }
func (a slogAdapter) Info(msg string, tags ...tag.Tag)  { a.log(slog.LevelInfo, msg, tags) }
func (a slogAdapter) Warn(msg string, tags ...tag.Tag)  { a.log(slog.LevelWarn, msg, tags) }
func (a slogAdapter) Error(msg string, tags ...tag.Tag) { a.log(slog.LevelError, msg, tags) }

// DPanic, Panic and Fatal are logged as errors: the interface does not require them to panic
// or exit, and a dev server embedded in our process must not take the process down.
func (a slogAdapter) DPanic(msg string, tags ...tag.Tag) { a.log(slog.LevelError, msg, tags) }
func (a slogAdapter) Panic(msg string, tags ...tag.Tag)  { a.log(slog.LevelError, msg, tags) }
func (a slogAdapter) Fatal(msg string, tags ...tag.Tag)  { a.log(slog.LevelError, msg, tags) }

// With returns a logger that prepends tags to every record, so the server does not need to
// fall back to its slower generic wrapper.
func (a slogAdapter) With(tags ...tag.Tag) log.Logger {
	return slogAdapter{logger: a.logger.With(attrsAsAny(tags)...)}
}

// SLog hands the server our (filtered) slog logger for the parts of it that log through slog
// directly, instead of wrapping this adapter in a second adapter.
func (a slogAdapter) SLog() *slog.Logger { return a.logger }

func (a slogAdapter) log(level slog.Level, msg string, tags []tag.Tag) {
	ctx := context.Background()
	if !a.logger.Enabled(ctx, level) {
		return
	}
	a.logger.LogAttrs(ctx, level, msg, attrs(tags)...)
}

func attrs(tags []tag.Tag) []slog.Attr {
	out := make([]slog.Attr, len(tags))
	for i, t := range tags {
		out[i] = slog.Any(t.Key(), t.Value())
	}
	return out
}

func attrsAsAny(tags []tag.Tag) []any {
	out := make([]any, len(tags))
	for i, a := range attrs(tags) {
		out[i] = a
	}
	return out
}

// minLevelHandler drops records below min before they reach the wrapped handler.
type minLevelHandler struct {
	slog.Handler
	min slog.Leveler
}

func (h minLevelHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return level >= h.min.Level() && h.Handler.Enabled(ctx, level)
}

func (h minLevelHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithAttrs(as), min: h.min}
}

func (h minLevelHandler) WithGroup(name string) slog.Handler {
	return minLevelHandler{Handler: h.Handler.WithGroup(name), min: h.min}
}
