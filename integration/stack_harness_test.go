package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"resurge/devstack"
	"resurge/domain"
	"resurge/internal/faultcheck"
	"resurge/workflows"
)

// startStack starts the whole dev stack (server with its UI on a free port, simulated
// platform at 60x, worker) and stops it when the test ends.
func startStack(t *testing.T, opts devstack.Options) *devstack.Stack {
	t.Helper()
	if opts.SimTimeScale == 0 {
		opts.SimTimeScale = 60
	}
	if opts.Logger == nil {
		opts.Logger = testLogger()
	}
	opts.WorkerOptions.DeadlockDetectionTimeout = time.Minute // a loaded CI box is slow
	if opts.Safety.Monitor.EvalInterval == 0 {
		opts.Safety.Monitor.EvalInterval = time.Second
	}
	ctx, cancel := context.WithTimeout(t.Context(), devServerStartTimeout)
	defer cancel()
	s, err := devstack.Start(ctx, opts)
	if err != nil {
		t.Fatalf("start dev stack: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Logf("stop dev stack: %v", err)
		}
	})
	return s
}

func testPost(id, agent string) workflows.PostInput {
	return faultcheck.NewPost(id, agent, faultcheck.FastConfig())
}

func startPosts(t *testing.T, s *devstack.Stack, posts ...workflows.PostInput) {
	t.Helper()
	for _, p := range posts {
		if _, err := workflows.StartPost(t.Context(), s.Client, p); err != nil {
			t.Fatalf("start %s: %v", p.Post.ID, err)
		}
	}
}

// eventually polls cond until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	faultcheck.Eventually(t, d, what, cond)
}

// dumpWorkflow logs a workflow's pending activities and its last events, to explain a timeout.
func dumpWorkflow(t *testing.T, s *devstack.Stack, workflowID string) {
	t.Helper()
	desc, err := s.Client.DescribeWorkflowExecution(context.Background(), workflowID, "")
	if err != nil {
		t.Logf("describe %s: %v", workflowID, err)
		return
	}
	for _, a := range desc.PendingActivities {
		t.Logf("%s pending activity %s attempt %d state %s last failure %v", workflowID, a.ActivityType.GetName(), a.Attempt, a.State, a.LastFailure)
	}
	iter := s.Client.GetWorkflowHistory(context.Background(), workflowID, "", false, 0)
	var lines []string
	for iter.HasNext() {
		e, err := iter.Next()
		if err != nil {
			break
		}
		line := fmt.Sprintf("%d %s %s", e.EventId, e.EventTime.AsTime().Format("15:04:05.000"), e.EventType)
		if ts := e.GetTimerStartedEventAttributes(); ts != nil {
			line += " " + ts.StartToFireTimeout.AsDuration().String()
		}
		lines = append(lines, line)
	}
	if len(lines) > 25 {
		lines = lines[len(lines)-25:]
	}
	t.Logf("%s last events:\n%s", workflowID, strings.Join(lines, "\n"))
}

func postStatus(t *testing.T, s *devstack.Stack, id string) (workflows.PostStatus, error) {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	return workflows.QueryPostStatus(ctx, s.Client, id)
}

// recordStatus is the status of the post's record for an action, "" when there is none.
func recordStatus(st workflows.PostStatus, a domain.ActionType) domain.ActionStatus {
	for _, r := range st.Log {
		if r.Action == a {
			return r.Status
		}
	}
	return ""
}

// webhook is a test alert receiver.
type webhook struct {
	srv    *httptest.Server
	mu     sync.Mutex
	alerts []domain.Alert
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		var a domain.Alert
		if err := json.NewDecoder(r.Body).Decode(&a); err != nil {
			http.Error(rw, err.Error(), http.StatusBadRequest)
			return
		}
		w.mu.Lock()
		w.alerts = append(w.alerts, a)
		w.mu.Unlock()
	}))
	t.Cleanup(w.srv.Close)
	return w
}

func (w *webhook) received() []domain.Alert {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]domain.Alert(nil), w.alerts...)
}
