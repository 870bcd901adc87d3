package sim

import "time"

// post is the sim's state for one post. Its counters are a function of simulated time since
// its current curve segment started; changing the curve starts a new segment from the
// counters reached so far, so a change never makes a counter go down.
type post struct {
	id      string
	profile profile
	curve   Curve
	// firstSeen is the real time of the first API call about the post; zero until then.
	firstSeen time.Time
	// segStart is the simulated time since firstSeen at which the current curve started, and
	// segBase the counters at that moment.
	segStart time.Duration
	segBase  Counters
	deleted  bool
	// text is the post's current text (edits replace it).
	text string
	// syncGen is the generation of the post's last change that must be durable before a
	// reply reveals it: an effect on it, a curve, a deletion (see persist.go).
	syncGen uint64
}

func newPost(id string) *post {
	return &post{id: id, profile: profileFor(id), curve: CurveFor(id), text: "original text of " + id}
}

// post returns the post with id, creating it on first use. Callers hold s.mu.
func (s *Server) post(id string) *post {
	p, ok := s.posts[id]
	if !ok {
		p = newPost(id)
		s.posts[id] = p
	}
	return p
}

// see starts the post's clock on the first API call about it. Callers hold s.mu. The new
// clock is saved by the background writer, within Options.SaveInterval, not before the reply:
// losing it to a crash only restarts the post's curve a moment later (see persist.go).
func (s *Server) see(p *post, now time.Time) {
	if p.firstSeen.IsZero() {
		p.firstSeen = now
		p.segBase = p.curve.startCounters(p.profile)
		s.markDirty()
	}
}

// simElapsed is the simulated time since the post was first seen.
func (s *Server) simElapsed(p *post, now time.Time) time.Duration {
	return scaledElapsed(p, now, s.opts.TimeScale)
}

// scaledElapsed is the simulated time since the post was first seen, at time scale scale.
func scaledElapsed(p *post, now time.Time, scale float64) time.Duration {
	wall := now.Sub(p.firstSeen)
	if wall <= 0 {
		return 0
	}
	sim := float64(wall) * scale
	if sim >= float64(maxSimElapsed) {
		return maxSimElapsed
	}
	return time.Duration(sim)
}

// counters returns the post's counters at real time now. Callers hold s.mu and have called see.
func (s *Server) counters(p *post, now time.Time) Counters {
	return p.curve.after(p.segBase, p.profile, s.simElapsed(p, now)-p.segStart)
}

// gone reports whether the post no longer exists at now: deleted, or on the "gone" curve for
// longer than GoneAfter. Callers hold s.mu and have called see.
func (s *Server) gone(p *post, now time.Time) bool {
	if p.deleted {
		return true
	}
	return p.curve == CurveGone && s.simElapsed(p, now)-p.segStart >= s.opts.GoneAfter
}

// setCurve switches the post to curve c from now on. Callers hold s.mu, and flush the
// returned generation once they release it.
func (s *Server) setCurve(p *post, c Curve, now time.Time) uint64 {
	if !p.firstSeen.IsZero() {
		elapsed := s.simElapsed(p, now)
		p.segBase = s.counters(p, now)
		p.segStart = elapsed
	}
	// Not seen yet: the curve simply applies from the first call.
	p.curve = c
	return s.persistLocked(p)
}
