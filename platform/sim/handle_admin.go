package sim

import (
	"net/http"
	"time"

	"resurge/domain"
)

// AdminEffectsReply is the body of GET /admin/effects: every effect, how many effects each key
// produced (more than one means idempotency failed), and how many replies are held.
type AdminEffectsReply struct {
	Effects []Effect       `json:"effects"`
	Counts  map[string]int `json:"counts"`
	Held    int            `json:"held"`
}

// PostReply is the body of the admin post endpoints.
type PostReply struct {
	PostID   string   `json:"post_id"`
	Curve    Curve    `json:"curve"`
	Deleted  bool     `json:"deleted"`
	Counters Counters `json:"counters"`
	Text     string   `json:"text"`
	// FirstSeen is when the post's curve started: the first API call about it (zero until then).
	FirstSeen time.Time `json:"first_seen,omitzero"`
}

// PostInfo describes a post as GET /admin/posts/{id} does.
func (s *Server) PostInfo(postID string) PostReply { return s.postReply(postID) }

func (s *Server) handleAdminEffects(w http.ResponseWriter, r *http.Request) {
	effects := s.Effects()
	counts := map[string]int{}
	for _, e := range effects {
		counts[e.Key]++
	}
	if effects == nil {
		effects = []Effect{}
	}
	writeJSON(w, http.StatusOK, AdminEffectsReply{Effects: effects, Counts: counts, Held: s.Held()})
}

func (s *Server) handleGetFaults(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Server) handlePutFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	if err := decodeStrict(http.MaxBytesReader(w, r.Body, maxRequestBody), &f); err != nil {
		writeError(w, http.StatusBadRequest, ErrBadRequest, "invalid faults: "+err.Error())
		return
	}
	if err := s.SetFaults(f); err != nil {
		writeError(w, http.StatusBadRequest, ErrBadRequest, "invalid faults: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.Faults())
}

func (s *Server) handleSetCurve(w http.ResponseWriter, r *http.Request) {
	postID := r.PathValue("id")
	if err := domain.ValidateID("post id", postID); err != nil {
		writeError(w, http.StatusBadRequest, ErrBadRequest, err.Error())
		return
	}
	var body struct {
		Curve Curve `json:"curve"`
	}
	if err := decodeStrict(http.MaxBytesReader(w, r.Body, maxRequestBody), &body); err != nil {
		writeError(w, http.StatusBadRequest, ErrBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	if err := s.SetCurve(postID, body.Curve); err != nil {
		writeError(w, http.StatusBadRequest, ErrBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, s.postReply(postID))
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	postID := r.PathValue("id")
	if err := domain.ValidateID("post id", postID); err != nil {
		writeError(w, http.StatusBadRequest, ErrBadRequest, err.Error())
		return
	}
	s.DeletePost(postID)
	writeJSON(w, http.StatusOK, s.postReply(postID))
}

func (s *Server) handleRelease(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]int{"released": s.Release()})
}

// postReply describes a post for the admin API. Counters stay zero until the post is seen.
func (s *Server) postReply(postID string) PostReply {
	now := s.opts.Now()
	s.mu.Lock()
	p := s.post(postID)
	reply := PostReply{PostID: postID, Curve: p.curve, Text: p.text}
	if !p.firstSeen.IsZero() {
		reply.FirstSeen = p.firstSeen.UTC()
		reply.Deleted = s.gone(p, now)
		reply.Counters = s.counters(p, now)
	}
	gen := p.syncGen
	s.mu.Unlock()
	s.flush(gen)
	return reply
}
