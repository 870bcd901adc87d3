package sim

import (
	"net/http"

	"resurge/domain"
)

// EffectsReply is the body of GET /v1/posts/{id}/effects?key=K.
type EffectsReply struct {
	PostID  string   `json:"post_id"`
	Key     string   `json:"key"`
	Effects []Effect `json:"effects"`
}

// handleEffects finds the effects whose text carries the key's marker. It answers for a
// deleted post too: what was done before the deletion is still worth knowing.
func (s *Server) handleEffects(w http.ResponseWriter, r *http.Request) {
	postID := r.PathValue("id")
	if err := domain.ValidateID("post id", postID); err != nil {
		writeError(w, http.StatusBadRequest, ErrBadRequest, err.Error())
		return
	}
	key := r.URL.Query().Get("key")
	if err := domain.ValidateID("key", key); err != nil {
		writeError(w, http.StatusBadRequest, ErrBadRequest, err.Error())
		return
	}
	if rule, ok := s.faults.pick(ScopeEffects, postID); ok && !s.inject(w, r, rule) {
		return
	}
	s.mu.Lock()
	found := s.effectsWithKey(postID, key)
	var gen uint64
	if p, ok := s.posts[postID]; ok {
		gen = p.syncGen
	}
	s.mu.Unlock()
	// An effect whose write is under way is reported only once written: a caller that found it
	// would not retry, and a crash could still lose it.
	s.flush(gen)
	writeJSON(w, http.StatusOK, EffectsReply{PostID: postID, Key: key, Effects: found})
}
