package sim

import (
	"fmt"
	"strings"
	"time"
)

// Effect kinds: what an action created on the platform.
const (
	KindComment = "comment"
	KindEdit    = "edit"
	KindThread  = "thread"
)

// Effect is one thing an action created: a reply, an edit revision, or a thread of replies.
// It is also the JSON body of an action's reply.
type Effect struct {
	ID string `json:"id"`
	// IDs has one entry per created object; for a thread, one per part.
	IDs       []string  `json:"ids"`
	PostID    string    `json:"post_id"`
	Kind      string    `json:"kind"`
	Key       string    `json:"key"`
	CreatedAt time.Time `json:"created_at"`
	URL       string    `json:"url"`
	// Text (comment, edit) or Parts (thread) as published, key marker included.
	Text  string   `json:"text,omitempty"`
	Parts []string `json:"parts,omitempty"`
}

// KeyMarker is how an effect carries its idempotency key inside its text: "resurge:<key>"
// between two invisible separators (U+2063). Readers of the post do not see it; the effects
// lookup searches for it, and the closing separator keeps key "k1" from matching "k10".
func KeyMarker(key string) string { return "\u2063resurge:" + key + "\u2063" }

// marked returns text with the key's marker appended.
func marked(text, key string) string { return text + KeyMarker(key) }

// hasKey reports whether the effect's published text carries key's marker.
func (e Effect) hasKey(key string) bool {
	m := KeyMarker(key)
	if strings.Contains(e.Text, m) {
		return true
	}
	for _, p := range e.Parts {
		if strings.Contains(p, m) {
			return true
		}
	}
	return false
}

// storedReply is the first reply to an idempotency key, replayed for every repeat.
type storedReply struct {
	status int
	body   []byte
	// postID and kind the key was first used for; a key reused for something else is refused.
	postID string
	kind   string
}

// newEffect creates and stores an effect. Callers hold s.mu.
func (s *Server) newEffect(kind, postID, key, host string, now time.Time, text string, parts []string) Effect {
	e := Effect{PostID: postID, Kind: kind, Key: key, CreatedAt: now.UTC()}
	prefix := map[string]string{KindComment: "cmt", KindEdit: "rev", KindThread: "thr"}[kind]
	if kind == KindThread {
		for _, p := range parts {
			s.seq++
			e.IDs = append(e.IDs, fmt.Sprintf("%s-%d", prefix, s.seq))
			// Every part carries the marker: on a real platform a thread broken off half-way
			// must still be findable.
			e.Parts = append(e.Parts, marked(p, key))
		}
	} else {
		s.seq++
		e.IDs = []string{fmt.Sprintf("%s-%d", prefix, s.seq)}
		e.Text = marked(text, key)
	}
	e.ID = e.IDs[0]
	e.URL = fmt.Sprintf("http://%s/@sim/%s/%s", host, postID, e.ID)
	s.effects = append(s.effects, e)
	return e
}

// effectsWithKey returns the post's effects that carry key's marker, oldest first. Callers hold
// s.mu.
func (s *Server) effectsWithKey(postID, key string) []Effect {
	out := []Effect{}
	for _, e := range s.effects {
		if e.PostID == postID && e.hasKey(key) {
			out = append(out, e)
		}
	}
	return out
}
