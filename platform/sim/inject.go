package sim

import (
	"net/http"
	"strconv"
	"time"
)

// inject carries out fault rule on the call and reports whether the call should go on (only a
// slow reply whose client is still there goes on).
func (s *Server) inject(w http.ResponseWriter, r *http.Request, rule FaultRule) (proceed bool) {
	switch rule.Kind {
	case FaultRateLimit:
		// Whole seconds, rounded up: a client must never retry sooner than asked.
		secs := int64((rule.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		writeError(w, http.StatusTooManyRequests, ErrRateLimited, "injected fault: rate limited")
	case FaultUnavailable:
		writeError(w, http.StatusServiceUnavailable, ErrUnavailable, "injected fault: service unavailable")
	case FaultBadRequest:
		writeError(w, http.StatusBadRequest, ErrBadRequest, "injected fault: bad request")
	case FaultUnauthorized:
		writeError(w, http.StatusUnauthorized, ErrUnauthorized, "injected fault: unauthorized")
	case FaultForbidden:
		writeError(w, http.StatusForbidden, ErrForbidden, "injected fault: forbidden")
	case FaultNotFound:
		writeError(w, http.StatusNotFound, ErrNotFound, "injected fault: not found")
	case FaultSlow:
		return s.sleep(r, rule.Delay)
	case FaultDrop:
		drop(w)
	}
	return false
}

// sleep waits d unless the client hangs up or the server closes first; it reports whether the
// client is still waiting.
func (s *Server) sleep(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-s.done:
		return false
	}
}

// drop closes the connection without writing anything, as a crashed platform or a broken
// network would.
func drop(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2, a recorder): abort the response the standard way.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}
