package devserver

import (
	"context"
	"log/slog"

	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/log/tag"
)

// Server log levels for each phase of the server's life. Only records at or above the current
// level reach the caller's logger.
const (
	// While starting, the services dial each other before all are listening and warn about
	// each refused connection; a real startup failure comes back from Start as an error.
	logLevelStarting = slog.LevelError
	// While running, warnings matter. Info is dropped: the server logs shard movements,
	// membership and every service start at info, which buries the application's output.
	logLevelRunning = slog.LevelWarn
	// From Stop on, nothing. While stopping, every in-flight long poll fails and is logged
	// (some at error: "Unable to call matching.PollWorkflowTaskQueue ... context canceled");
	// afterwards the system workers the server never stops (see devDynamicConfig) keep
	// retrying against the closed frontend. None of it is actionable; a failed stop is
	// reported by Stop's error.
	logLevelStopped = slog.LevelError + 1000
)

// slogAdapter lets the Temporal server log through a *slog.Logger. The server has its own
// logger interface (tag-based, zap-flavoured); this forwards each call as one slog record.
type slogAdapter struct {
	logger *slog.Logger // filtered by the level shared with the Server
}

var (
	_ log.Logger      = slogAdapter{}
	_ log.WithLogger  = slogAdapter{}
	_ log.SLogWrapper = slogAdapter{}
)

// newSlogAdapter forwards server logs to logger, dropping records below level.
func newSlogAdapter(logger *slog.Logger, level slog.Leveler) slogAdapter {
	filtered := slog.New(minLevelHandler{Handler: logger.Handler(), min: level})
	return slogAdapter{logger: filtered.With("component", "temporal-server")}
}

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
