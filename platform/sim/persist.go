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

// save writes the state file, atomically (a temporary file renamed over the old one), so a
// crash never leaves half a file. Callers hold s.mu. Without a StateFile it does nothing.
func (s *Server) save() {
	if s.opts.StateFile == "" {
		return
	}
	if err := s.writeState(); err != nil && s.opts.Logger != nil {
		s.opts.Logger.Error("saving the simulated platform's state", "file", s.opts.StateFile, "error", err)
	}
}

func (s *Server) writeState() error {
	st := stateFile{Version: stateVersion, TimeScale: s.opts.TimeScale, Seq: s.seq, Effects: s.effects}
	for _, p := range s.posts {
		st.Posts = append(st.Posts, postState{ID: p.id, Curve: p.curve, FirstSeen: p.firstSeen,
			SegStart: p.segStart, SegBase: p.segBase, Deleted: p.deleted, Text: p.text})
	}
	slices.SortFunc(st.Posts, func(a, b postState) int { return strings.Compare(a.ID, b.ID) })
	for k, r := range s.replies {
		st.Replies = append(st.Replies, replyState{Key: k, Status: r.status, Body: string(r.body), PostID: r.postID, Kind: r.kind})
	}
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
