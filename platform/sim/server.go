package sim

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Server is the simulated platform. It is safe for concurrent use.
type Server struct {
	opts   Options
	mux    *http.ServeMux
	faults *faultState
	hold   *holdGate
	// done is closed by Close, to end slow and held replies.
	done      chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	posts   map[string]*post
	effects []Effect
	replies map[string]storedReply // idempotency store, by key
	seq     int
	// syncGen is the generation of the last change that must be durable before a reply
	// reveals it (see persist.go); posts keep their own.
	syncGen uint64

	// Saving to opts.StateFile (see persist.go). gen counts changes (bumped under mu), written
	// is the generation the file holds, writes counts file writes (for tests). writeMu
	// serialises writers. kick wakes the background writer, which closes writerDone when it
	// returns; both are nil without a StateFile.
	gen        atomic.Uint64
	written    atomic.Uint64
	writes     atomic.Int64
	writeMu    sync.Mutex
	kick       chan struct{}
	writerDone chan struct{}

	// http is set by Start.
	http *http.Server
	ln   net.Listener
}

// New is Open for callers whose options cannot be wrong (tests, fixed setups): it panics where
// Open returns an error.
func New(opts Options) *Server {
	s, err := Open(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Open returns a server; serve it with Start, or mount Handler in a test server. It fails if
// opts.Faults is invalid (see Faults.Validate) or opts.StateFile exists but cannot be read: a
// sim that silently forgot its posts would report counters going down.
func Open(opts Options) (*Server, error) {
	if err := opts.Faults.Validate(); err != nil {
		return nil, fmt.Errorf("sim: invalid Options.Faults: %w", err)
	}
	s := &Server{
		opts:    opts.withDefaults(),
		mux:     http.NewServeMux(),
		faults:  newFaultState(opts.Faults),
		hold:    newHoldGate(),
		done:    make(chan struct{}),
		posts:   map[string]*post{},
		replies: map[string]storedReply{},
	}
	if s.opts.StateFile != "" {
		if err := s.load(); err != nil {
			return nil, fmt.Errorf("sim: loading state: %w", err)
		}
		s.kick = make(chan struct{}, 1)
		s.writerDone = make(chan struct{})
		go s.writeLoop()
	}
	s.routes()
	return s, nil
}

// Handler returns the server's HTTP handler (authentication included).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.ServeHTTP) }

// ServeHTTP authenticates the request, then routes it.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.opts.Logger != nil {
		lw := &loggingWriter{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		defer func() {
			s.opts.Logger.Debug("request", "method", r.Method, "path", r.URL.Path,
				"status", lw.status, "duration_ms", time.Since(start).Milliseconds())
		}()
		w = lw
	}
	if !s.authorized(r) {
		writeError(w, http.StatusUnauthorized, ErrUnauthorized, "a valid bearer token is required")
		return
	}
	s.mux.ServeHTTP(w, r)
}

// authorized checks "Authorization: Bearer <token>" in constant time. A server without a token
// authorizes nothing.
func (s *Server) authorized(r *http.Request) bool {
	if s.opts.Token == "" {
		return false
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(token), []byte(s.opts.Token)) == 1
}

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	s.mux.HandleFunc("GET /v1/posts/{id}/metrics", s.handleMetrics)
	s.mux.HandleFunc("POST /v1/posts/{id}/comments", s.handleComment)
	s.mux.HandleFunc("PUT /v1/posts/{id}", s.handleEdit)
	s.mux.HandleFunc("POST /v1/posts/{id}/threads", s.handleThread)
	s.mux.HandleFunc("GET /v1/posts/{id}/effects", s.handleEffects)

	s.mux.HandleFunc("GET /admin/effects", s.handleAdminEffects)
	s.mux.HandleFunc("GET /admin/faults", s.handleGetFaults)
	s.mux.HandleFunc("PUT /admin/faults", s.handlePutFaults)
	s.mux.HandleFunc("PUT /admin/posts/{id}", s.handleSetCurve)
	s.mux.HandleFunc("POST /admin/posts/{id}/delete", s.handleDelete)
	s.mux.HandleFunc("POST /admin/release", s.handleRelease)

	// Anything else still answers JSON, so that clients never have to parse plain text.
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, ErrNotFound, "no such endpoint: "+r.Method+" "+r.URL.Path)
	})
}

// Start listens on addr ("127.0.0.1:0" picks a free port) and serves in the background.
func (s *Server) Start(addr string) error {
	if s.http != nil {
		return errors.New("sim: already started")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.ln = ln
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go s.http.Serve(ln)
	return nil
}

// URL is the base URL of a started server, such as "http://127.0.0.1:41234".
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	return "http://" + s.ln.Addr().String()
}

// Close stops the server: held and slow replies end, connections close, the background writer
// stops and the state not yet saved (posts first seen lately) is written. It is safe to call
// more than once.
func (s *Server) Close() error {
	s.closeOnce.Do(func() { close(s.done) })
	var err error
	if s.http != nil {
		err = s.http.Close()
	}
	if s.writerDone != nil {
		<-s.writerDone
		s.flushAll()
	}
	return err
}

// SetFaults replaces the fault configuration (as PUT /admin/faults does). Switching
// HoldActions off releases the held replies.
func (s *Server) SetFaults(f Faults) error {
	if err := f.Validate(); err != nil {
		return err
	}
	s.faults.set(f)
	if !f.HoldActions {
		s.hold.open()
	}
	return nil
}

// Faults returns the fault configuration, with the Next counters as they stand.
func (s *Server) Faults() Faults { return s.faults.get() }

// SetCurve makes the post follow curve c from now on (as PUT /admin/posts/{id} does).
func (s *Server) SetCurve(postID string, c Curve) error {
	if !c.Valid() {
		return errors.New("sim: unknown curve " + string(c))
	}
	now := s.opts.Now()
	s.mu.Lock()
	gen := s.setCurve(s.post(postID), c, now)
	s.mu.Unlock()
	s.flush(gen) // an admin change is durable once acknowledged
	return nil
}

// DeletePost deletes the post: its metrics and actions answer 404 from now on.
func (s *Server) DeletePost(postID string) {
	now := s.opts.Now()
	s.mu.Lock()
	p := s.post(postID)
	s.see(p, now)
	p.deleted = true
	gen := s.persistLocked(p)
	s.mu.Unlock()
	s.flush(gen) // an admin change is durable once acknowledged
}

// Effects returns every effect created so far, oldest first. It returns once they are saved,
// so that no effect is reported that a crash could still lose.
func (s *Server) Effects() []Effect {
	s.mu.Lock()
	out := append([]Effect(nil), s.effects...)
	gen := s.syncGen
	s.mu.Unlock()
	s.flush(gen)
	return out
}

// Release lets every held reply go and returns how many there were.
func (s *Server) Release() int { return s.hold.open() }

// Held returns how many action replies are being held.
func (s *Server) Held() int { return s.hold.count() }

// WaitHeld blocks until at least n action replies are held, or ctx ends.
func (s *Server) WaitHeld(ctx context.Context, n int) error { return s.hold.waitFor(ctx, n) }

// loggingWriter remembers the status for the request log. Unwrap lets
// http.ResponseController reach the connection (the drop fault hijacks it).
type loggingWriter struct {
	http.ResponseWriter
	status int
}

func (w *loggingWriter) WriteHeader(status int) {
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func (w *loggingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
