package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// stateFile is what Options.StateFile holds: everything a restarted sim needs to carry on as
// if it had never stopped. Faults are not kept: they belong to the run that set them.
type stateFile struct {
	Version   int          `json:"version"`
	TimeScale float64      `json:"time_scale"`
	Seq       int          `json:"seq"`
	Posts     []postState  `json:"posts"`
	Effects   []Effect     `json:"effects"`
	Replies   []replyState `json:"replies"`
}

const stateVersion = 1

type postState struct {
	ID        string        `json:"id"`
	Curve     Curve         `json:"curve"`
	FirstSeen time.Time     `json:"first_seen,omitzero"`
	SegStart  time.Duration `json:"segment_start_ns"`
	SegBase   Counters      `json:"segment_base"`
	Deleted   bool          `json:"deleted,omitempty"`
	Text      string        `json:"text"`
}

type replyState struct {
	Key    string `json:"key"`
	Status int    `json:"status"`
	// Body is the reply's bytes as a string: replays must be byte-for-byte the first reply,
	// which a re-indented raw JSON value would not be.
	Body   string `json:"body"`
	PostID string `json:"post_id"`
	Kind   string `json:"kind"`
}

// load reads the state file, if there is one. A post's clock keeps running while the sim is
// down, so counters jump forward after a restart but never back.
func (s *Server) load() error {
	data, err := os.ReadFile(s.opts.StateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var st stateFile
	if err := decodeStrict(strings.NewReader(string(data)), &st); err != nil {
		return fmt.Errorf("%s: %w", s.opts.StateFile, err)
	}
	if st.Version != stateVersion {
		return fmt.Errorf("%s: state version %d, this sim reads %d", s.opts.StateFile, st.Version, stateVersion)
	}
	now := s.opts.Now()
	s.seq = st.Seq
	s.effects = st.Effects
	for _, ps := range st.Posts {
		if !ps.Curve.Valid() {
			return fmt.Errorf("%s: post %s has unknown curve %q", s.opts.StateFile, ps.ID, ps.Curve)
		}
		p := newPost(ps.ID)
		p.curve, p.firstSeen, p.segStart, p.segBase = ps.Curve, ps.FirstSeen, ps.SegStart, ps.SegBase
		p.deleted, p.text = ps.Deleted, ps.Text
		if !p.firstSeen.IsZero() && st.TimeScale > 0 && st.TimeScale != s.opts.TimeScale {
			s.rescale(p, st.TimeScale, now)
		}
		s.posts[p.id] = p
	}
	for _, r := range st.Replies {
		s.replies[r.Key] = storedReply{status: r.Status, body: []byte(r.Body), postID: r.PostID, kind: r.Kind}
	}
	return nil
}

// rescale restarts a post's curve at now after a change of time scale: counters computed with
// the new scale from the old first sighting could be lower than those already reported.
func (s *Server) rescale(p *post, oldScale float64, now time.Time) {
	p.segBase = p.curve.after(p.segBase, p.profile, scaledElapsed(p, now, oldScale)-p.segStart)
	p.segStart = s.simElapsed(p, now)
}

// Saving. Two kinds of change reach the state file, on two schedules:
//
//   - An effect (with its stored reply) and an admin change (a curve, a deletion) are written
//     and fsynced before the reply that reveals them: a client told "done" must find the same
//     effect after a crash of the sim, since the fault tests count one effect per idempotency
//     key across restarts. persistLocked marks such a change; flush makes it durable.
//   - A post first seen (see) only marks the state dirty; the background writer (writeLoop)
//     writes it at most once per Options.SaveInterval, however many posts were seen meanwhile.
//     Rewriting and fsyncing the whole file under the mutex for every new post made starting
//     thousands of posts O(N²) bytes and one fsync per post. The cost of the delay: after a
//     crash, a post seen during the last interval is first seen again, so its curve restarts
//     a moment later than it did. Any durable write also carries the dirty posts with it.
//
// Every change bumps s.gen under s.mu. A write snapshots the state under s.mu (recording the
// generation it holds), then marshals and writes it outside s.mu, under s.writeMu: writers
// take their snapshot while holding writeMu, so the file only ever moves to newer
// generations, and a writer whose change an earlier write already carried (s.written >= want)
// skips its own write. Concurrent actions thus share one fsync. Lock order: writeMu, then
// s.mu; nothing takes writeMu while holding s.mu.

// DefaultSaveInterval is how long, by default, a post first seen may wait before the state
// file records it (see Options.SaveInterval).
const DefaultSaveInterval = 500 * time.Millisecond

// markDirty records a change that may reach the file late (a post first seen) and wakes the
// background writer. Callers hold s.mu.
func (s *Server) markDirty() {
	s.gen.Add(1)
	if s.kick != nil {
		select {
		case s.kick <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// persistLocked records a change to p that must be durable before any reply reveals it, and
// returns the generation to pass to flush. p may be nil for a change to no post. Callers hold
// s.mu.
func (s *Server) persistLocked(p *post) uint64 {
	g := s.gen.Add(1)
	s.syncGen = g
	if p != nil {
		p.syncGen = g
	}
	return g
}

// flush returns once the state file holds generation want or a later one, writing it if no
// other write has. Callers must not hold s.mu. Without a StateFile it does nothing. A failed
// write is logged and the caller carries on, as a real platform's reply would (the state stays
// dirty: the next write tries again).
func (s *Server) flush(want uint64) {
	if s.opts.StateFile == "" || s.written.Load() >= want {
		return
	}
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if s.written.Load() >= want {
		return // a write that finished while we waited carried our change
	}
	s.writeLatest()
}

// flushAll writes the state if anything changed since the last write.
func (s *Server) flushAll() { s.flush(s.gen.Load()) }

// writeLatest writes the current state. Callers hold s.writeMu (and not s.mu).
func (s *Server) writeLatest() {
	s.mu.Lock()
	gen := s.gen.Load()
	st := s.snapshotLocked()
	s.mu.Unlock()
	if err := s.writeState(st); err != nil {
		if s.opts.Logger != nil {
			s.opts.Logger.Error("saving the simulated platform's state", "file", s.opts.StateFile, "error", err)
		}
		return
	}
	s.written.Store(gen)
	s.writes.Add(1)
}

// writeLoop is the background writer started by Open when there is a StateFile: woken by
// markDirty, it waits SaveInterval so that every post seen meanwhile goes into the same write,
// then writes. It returns when Close closes s.done; Close then flushes what is left.
func (s *Server) writeLoop() {
	defer close(s.writerDone)
	for {
		select {
		case <-s.done:
			return
		case <-s.kick:
		}
		t := time.NewTimer(s.opts.SaveInterval)
		select {
		case <-s.done:
			t.Stop()
			return
		case <-t.C:
		}
		s.flushAll()
	}
}

// snapshotLocked copies the state to save. Callers hold s.mu. The copy shares nothing that
// changes later: effects are never modified once appended, and reply bodies are copied.
func (s *Server) snapshotLocked() stateFile {
	st := stateFile{Version: stateVersion, TimeScale: s.opts.TimeScale, Seq: s.seq, Effects: slices.Clone(s.effects),
		Posts: make([]postState, 0, len(s.posts)), Replies: make([]replyState, 0, len(s.replies))}
	for _, p := range s.posts {
		st.Posts = append(st.Posts, postState{ID: p.id, Curve: p.curve, FirstSeen: p.firstSeen,
			SegStart: p.segStart, SegBase: p.segBase, Deleted: p.deleted, Text: p.text})
	}
	for k, r := range s.replies {
		st.Replies = append(st.Replies, replyState{Key: k, Status: r.status, Body: string(r.body), PostID: r.postID, Kind: r.kind})
	}
	return st
}

// writeState writes st to the state file, atomically (a temporary file renamed over the old
// one), so a crash never leaves half a file.
func (s *Server) writeState(st stateFile) error {
	slices.SortFunc(st.Posts, func(a, b postState) int { return strings.Compare(a.ID, b.ID) })
	slices.SortFunc(st.Replies, func(a, b replyState) int { return strings.Compare(a.Key, b.Key) })
	data, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.opts.StateFile), filepath.Base(s.opts.StateFile)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), s.opts.StateFile)
}
