package sim

import (
	"net/http"
	"time"

	"resurge/domain"
)

// MetricsReply is the body of GET /v1/posts/{id}/metrics. At is the real time of the reading
// (not simulated time), so that samples line up with the caller's clock.
type MetricsReply struct {
	PostID      string    `json:"post_id"`
	At          time.Time `json:"at"`
	Impressions int64     `json:"impressions"`
	Engagements int64     `json:"engagements"`
}

func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	postID := r.PathValue("id")
	if err := domain.ValidateID("post id", postID); err != nil {
		writeError(w, http.StatusBadRequest, ErrBadRequest, err.Error())
		return
	}
	if rule, ok := s.faults.pick(ScopeMetrics, postID); ok && !s.inject(w, r, rule) {
		return
	}
	now := s.opts.Now()
	s.mu.Lock()
	p := s.post(postID)
	s.see(p, now)
	gone := s.gone(p, now)
	c := s.counters(p, now)
	gen := p.syncGen
	s.mu.Unlock()
	s.flush(gen) // reveal no curve or deletion a crash could still lose
	if gone {
		writeError(w, http.StatusNotFound, ErrPostGone, "post "+postID+" was deleted")
		return
	}
	writeJSON(w, http.StatusOK, MetricsReply{
		PostID: postID, At: now.UTC(), Impressions: c.Impressions, Engagements: c.Engagements,
	})
}
