package sim

import (
	"log/slog"
	"math"
	"time"
)

// Options configure a Server. The zero value is usable except for Token: a server without a
// token refuses every request (it fails closed rather than open).
type Options struct {
	// Token is the bearer token every request must carry.
	Token string
	// Now is the real clock; tests replace it to make metrics deterministic. Default time.Now.
	Now func() time.Time
	// TimeScale is how much simulated time passes per real second: 60 makes one real second
	// one simulated minute, so accelerated demos see a post's counters move every few seconds.
	// Values <= 0 (or NaN) mean 1.
	TimeScale float64
	// GoneAfter is the simulated time after which a post on the "gone" curve is deleted.
	// Default DefaultGoneAfter.
	GoneAfter time.Duration
	// Faults is the initial fault configuration; PUT /admin/faults replaces it at run time.
	Faults Faults
	// StateFile, when set, keeps the sim's state (posts and their clocks, effects, the
	// idempotency store) in this JSON file: loaded by Open, rewritten as the state changes. A
	// restarted sim then carries on: counters keep growing from where they were, earlier
	// effects stay findable and repeated keys still replay. Faults are not kept.
	//
	// Effects, curves and deletions are saved before the reply that reports them; a post's
	// first sighting is saved within SaveInterval, and Close saves whatever is left.
	StateFile string
	// SaveInterval is the longest a post first seen waits before the StateFile records it:
	// new posts are saved together, at most one write per interval, rather than one write
	// each. Default DefaultSaveInterval.
	SaveInterval time.Duration
	// Logger receives one line per request (method, path, status, duration; never headers).
	// Nil logs nothing.
	Logger *slog.Logger
}

// DefaultGoneAfter is how long a "gone" post lives (in simulated time) by default.
const DefaultGoneAfter = 30 * time.Minute

// withDefaults fills in the defaults documented on Options.
func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if !(o.TimeScale > 0) || math.IsInf(o.TimeScale, 0) {
		o.TimeScale = 1
	}
	if o.GoneAfter <= 0 {
		o.GoneAfter = DefaultGoneAfter
	}
	if o.SaveInterval <= 0 {
		o.SaveInterval = DefaultSaveInterval
	}
	return o
}
