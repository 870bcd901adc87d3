package sim

import (
	"fmt"
	"net/http"

	"resurge/domain"
)

// actionInput is the decoded body of an action.
type actionInput struct {
	Text  string   `json:"text"`
	Parts []string `json:"parts"`
}

// apiError is an error reply decided while handling a call.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) write(w http.ResponseWriter) { writeError(w, e.status, e.code, e.message) }

func (s *Server) handleComment(w http.ResponseWriter, r *http.Request) {
	s.serveAction(w, r, KindComment, http.StatusCreated, decodeText)
}

func (s *Server) handleEdit(w http.ResponseWriter, r *http.Request) {
	s.serveAction(w, r, KindEdit, http.StatusOK, decodeText)
}

func (s *Server) handleThread(w http.ResponseWriter, r *http.Request) {
	s.serveAction(w, r, KindThread, http.StatusCreated, decodeParts)
}

// serveAction runs one action call in the order a real platform would: faults that refuse the
// call, then the request checks, then the effect (or the replay of the first reply), then
// faults that lose the reply, then the reply itself.
func (s *Server) serveAction(w http.ResponseWriter, r *http.Request, kind string, status int, decode func(*http.Request) (actionInput, *apiError)) {
	postID := r.PathValue("id")
	if err := domain.ValidateID("post id", postID); err != nil {
		writeError(w, http.StatusBadRequest, ErrBadRequest, err.Error())
		return
	}
	rule, faulted := s.faults.pick(Scope(kind), postID)
	if faulted && !rule.afterEffect() {
		if !s.inject(w, r, rule) {
			return
		}
		faulted = false // a slow reply that the client waited for: carry on normally
	}
	key := r.Header.Get(HeaderIdempotencyKey)
	if key == "" {
		writeError(w, http.StatusBadRequest, ErrMissingKey, "the "+HeaderIdempotencyKey+" header is required")
		return
	}
	if err := domain.ValidateID(HeaderIdempotencyKey, key); err != nil {
		writeError(w, http.StatusBadRequest, ErrBadRequest, err.Error())
		return
	}
	in, apiErr := decode(r)
	if apiErr != nil {
		apiErr.write(w)
		return
	}
	hold, ignoreKeys := s.faults.modes()
	reply, created, apiErr := s.act(kind, status, postID, key, in, r.Host, ignoreKeys)
	if apiErr != nil {
		apiErr.write(w)
		return
	}
	if faulted && !s.inject(w, r, rule) {
		return
	}
	if created && hold {
		s.hold.wait(r.Context(), s.done)
		if r.Context().Err() != nil {
			return // the caller is gone: nobody to answer
		}
	}
	if !created {
		w.Header().Set(HeaderReplayed, "true")
	}
	writeBody(w, reply.status, reply.body)
}

// act creates the effect, or finds the first reply to key. created is false for a replay. It
// returns once the state file holds what the reply reveals: an effect acknowledged to a client
// must survive a crash of the sim, or a retry after the restart would create a second one.
func (s *Server) act(kind string, status int, postID, key string, in actionInput, host string, ignoreKeys bool) (reply storedReply, created bool, _ *apiError) {
	reply, created, gen, apiErr := s.actLocked(kind, status, postID, key, in, host, ignoreKeys)
	s.flush(gen)
	return reply, created, apiErr
}

// actLocked is act under s.mu. gen is the generation the reply depends on: the new effect's,
// or for a replay or a refusal the last durable change it reveals (a replay must not get ahead
// of the write of the effect it repeats).
func (s *Server) actLocked(kind string, status int, postID, key string, in actionInput, host string, ignoreKeys bool) (reply storedReply, created bool, gen uint64, _ *apiError) {
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.post(postID)
	s.see(p, now)
	// The idempotency store answers before the post is looked at: an action that succeeded
	// stays succeeded for its retries even if the post was deleted since.
	if prev, ok := s.replies[key]; ok && !ignoreKeys {
		if prev.postID != postID || prev.kind != kind {
			return storedReply{}, false, s.syncGen, &apiError{http.StatusUnprocessableEntity, ErrKeyReused,
				fmt.Sprintf("idempotency key already used for a %s on post %s", prev.kind, prev.postID)}
		}
		return prev, false, p.syncGen, nil
	}
	if s.gone(p, now) {
		return storedReply{}, false, p.syncGen, &apiError{http.StatusNotFound, ErrPostGone, "post " + postID + " was deleted"}
	}
	e := s.newEffect(kind, postID, key, host, now, in.Text, in.Parts)
	if kind == KindEdit {
		p.text = e.Text
	}
	reply = storedReply{status: status, body: encode(e), postID: postID, kind: kind}
	if _, ok := s.replies[key]; !ok {
		s.replies[key] = reply
	}
	return reply, true, s.persistLocked(p), nil
}

// decodeText reads {"text": "..."}.
func decodeText(r *http.Request) (actionInput, *apiError) {
	in, err := decodeInput(r)
	if err != nil {
		return in, err
	}
	if in.Parts != nil {
		return in, &apiError{http.StatusBadRequest, ErrBadRequest, "this action takes text, not parts"}
	}
	if err := domain.ValidateText("text", in.Text); err != nil {
		return in, &apiError{http.StatusUnprocessableEntity, ErrUnprocessable, err.Error()}
	}
	return in, nil
}

// decodeParts reads {"parts": ["...", ...]}.
func decodeParts(r *http.Request) (actionInput, *apiError) {
	in, err := decodeInput(r)
	if err != nil {
		return in, err
	}
	if in.Text != "" {
		return in, &apiError{http.StatusBadRequest, ErrBadRequest, "a thread takes parts, not text"}
	}
	if len(in.Parts) == 0 || len(in.Parts) > domain.MaxThreadParts {
		return in, &apiError{http.StatusUnprocessableEntity, ErrUnprocessable,
			fmt.Sprintf("a thread needs 1 to %d parts, got %d", domain.MaxThreadParts, len(in.Parts))}
	}
	for i, p := range in.Parts {
		if err := domain.ValidateText(fmt.Sprintf("parts[%d]", i), p); err != nil {
			return in, &apiError{http.StatusUnprocessableEntity, ErrUnprocessable, err.Error()}
		}
	}
	return in, nil
}

func decodeInput(r *http.Request) (actionInput, *apiError) {
	var in actionInput
	body := http.MaxBytesReader(nil, r.Body, maxRequestBody)
	if err := decodeStrict(body, &in); err != nil {
		return in, &apiError{http.StatusBadRequest, ErrBadRequest, "invalid JSON body: " + err.Error()}
	}
	return in, nil
}
