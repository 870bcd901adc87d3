package activities

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/testsuite"

	"resurge/domain"
	"resurge/platform"
)

var alertTime = time.Date(2026, 11, 25, 12, 30, 0, 0, time.UTC)

func systemicAlert() domain.Alert {
	rec := domain.Recommendation{Agent: "a1", Tier: 3, Confidence: 0.87, MaxIterations: 1,
		LockCriteria:   domain.LockCriteria{MinConfidence: 0.65, ConsecutiveFailures: 3},
		TriggerMetrics: []domain.TriggerMetric{{Metric: "success_rate", Value: 0.2, Threshold: 0.55, Op: "<="}}}
	return domain.Alert{
		Type: domain.AlertSystemicAnomaly, Severity: domain.SeverityCritical, Tier: 3, Confidence: 0.87,
		Agent: "a1", Timestamp: alertTime, Escalated: true, Recommendation: rec,
		Brief: &domain.DiagnosticBrief{
			TriggerMetrics: rec.TriggerMetrics, MaxIterations: 1, LockCriteria: rec.LockCriteria,
			Alerts:   []domain.Alert{{Type: domain.AlertAnomaly, Severity: domain.SeverityWarning, Tier: 2, Agent: "a1", Timestamp: alertTime.Add(-time.Minute)}},
			Snapshot: domain.Snapshot{Agent: "a1", Outcomes: 10, SuccessRate: 0.2, ConsecutiveFailures: 8},
		},
	}
}

func warningAlert() domain.Alert {
	return domain.Alert{Type: domain.AlertAnomaly, Severity: domain.SeverityWarning, Tier: 1, Confidence: 0.4,
		Agent: "a2", Timestamp: alertTime,
		Recommendation: domain.Recommendation{Agent: "a2", Tier: 1, Confidence: 0.4, MaxIterations: 3}}
}

// webhook records what it receives and answers with status.
type webhook struct {
	mu      sync.Mutex
	status  int
	bodies  [][]byte
	headers []http.Header
	methods []string
}

func (w *webhook) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	w.bodies = append(w.bodies, b)
	w.headers = append(w.headers, r.Header.Clone())
	w.methods = append(w.methods, r.Method)
	status := w.status
	w.mu.Unlock()
	rw.WriteHeader(status)
}

func newWebhook(t *testing.T, status int) (*webhook, *httptest.Server) {
	w := &webhook{status: status}
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	return w, srv
}

// sendAlert runs SendAlert in a test activity environment.
func sendAlert(t *testing.T, acts *Activities, alert domain.Alert) error {
	t.Helper()
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	_, err := env.ExecuteActivity(acts.SendAlert, alert)
	return err
}

func bufLogger() (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	return slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})), &buf
}

func TestSendAlertPostsJSON(t *testing.T) {
	hook, srv := newWebhook(t, http.StatusNoContent)
	logger, _ := bufLogger()
	sink := &AlertSink{WebhookURL: srv.URL, Logger: logger}
	if err := sendAlert(t, &Activities{Alerts: sink}, systemicAlert()); err != nil {
		t.Fatal(err)
	}
	if len(hook.bodies) != 1 {
		t.Fatalf("webhook got %d requests, want 1", len(hook.bodies))
	}
	if hook.methods[0] != http.MethodPost || hook.headers[0].Get("Content-Type") != "application/json" {
		t.Fatalf("request %s with content type %q", hook.methods[0], hook.headers[0].Get("Content-Type"))
	}
	var body map[string]any
	if err := json.Unmarshal(hook.bodies[0], &body); err != nil {
		t.Fatalf("body %s: %v", hook.bodies[0], err)
	}
	want := map[string]any{
		"type": "systemic_anomaly", "severity": "critical", "tier": 3.0, "confidence": 0.87, "agent": "a1",
		"timestamp": "2026-11-25T12:30:00Z", "escalated": true,
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("body[%q] = %#v, want %#v", k, body[k], v)
		}
	}
	brief, ok := body["brief"].(map[string]any)
	if !ok {
		t.Fatalf("body has no brief: %s", hook.bodies[0])
	}
	for _, k := range []string{"trigger_metrics", "alerts", "max_iterations", "lock_criteria", "snapshot"} {
		if _, ok := brief[k]; !ok {
			t.Errorf("brief has no %q: %v", k, brief)
		}
	}
	if snap, _ := brief["snapshot"].(map[string]any); snap["consecutive_failures"] != 8.0 {
		t.Errorf("brief snapshot %v", brief["snapshot"])
	}
	rec, _ := body["recommendation"].(map[string]any)
	if rec["agent"] != "a1" || rec["tier"] != 3.0 || rec["max_iterations"] != 1.0 {
		t.Errorf("recommendation %v", body["recommendation"])
	}
	// The whole body decodes back to the alert.
	var back domain.Alert
	if err := json.Unmarshal(hook.bodies[0], &back); err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(back); string(got) != string(mustJSON(t, systemicAlert())) {
		t.Fatalf("alert round trip:\n%s\nwant\n%s", got, mustJSON(t, systemicAlert()))
	}
	if r := sink.Recent(); len(r) != 1 || r[0].Type != domain.AlertSystemicAnomaly {
		t.Fatalf("recent %+v", r)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSendAlertWebhookWarningHasNoBrief(t *testing.T) {
	hook, srv := newWebhook(t, http.StatusOK)
	logger, _ := bufLogger()
	if err := sendAlert(t, &Activities{Alerts: &AlertSink{WebhookURL: srv.URL, Logger: logger}}, warningAlert()); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal(hook.bodies[0], &body); err != nil {
		t.Fatal(err)
	}
	if _, ok := body["brief"]; ok {
		t.Fatalf("a warning carries a brief: %s", hook.bodies[0])
	}
	if body["type"] != "anomaly" || body["severity"] != "warning" || body["agent"] != "a2" {
		t.Fatalf("body %s", hook.bodies[0])
	}
}

func TestSendAlertWebhookFailures(t *testing.T) {
	cases := []struct {
		status int
		typ    string
		final  bool
	}{
		{http.StatusInternalServerError, platform.CodeServiceUnavailable, false},
		{http.StatusBadGateway, platform.CodeServiceUnavailable, false},
		{http.StatusServiceUnavailable, platform.CodeServiceUnavailable, false},
		{http.StatusTooManyRequests, platform.CodeRateLimit, false},
		{http.StatusBadRequest, platform.CodeUnexpected, true},
		{http.StatusUnauthorized, platform.CodeUnexpected, true},
		{http.StatusNotFound, platform.CodeUnexpected, true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			hook, srv := newWebhook(t, tc.status)
			logger, _ := bufLogger()
			sink := &AlertSink{WebhookURL: srv.URL, Logger: logger}
			err := sendAlert(t, &Activities{Alerts: sink}, warningAlert())
			wantAppErr(t, err, tc.typ, tc.final, ErrorDetails{Code: tc.typ, Status: tc.status, Attempt: 1})
			if len(hook.bodies) != 1 {
				t.Fatalf("webhook got %d requests", len(hook.bodies))
			}
			// The alert is logged and remembered even when the webhook fails.
			if len(sink.Recent()) != 1 {
				t.Fatalf("recent %+v", sink.Recent())
			}
		})
	}
}

func TestSendAlertWebhookUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nothing listens there any more
	logger, _ := bufLogger()
	err := sendAlert(t, &Activities{Alerts: &AlertSink{WebhookURL: url, Logger: logger}}, warningAlert())
	wantAppErr(t, err, platform.CodeNetworkError, false, ErrorDetails{Code: platform.CodeNetworkError, Attempt: 1})

	err = sendAlert(t, &Activities{Alerts: &AlertSink{WebhookURL: "http://bad host/", Logger: logger}}, warningAlert())
	wantAppErr(t, err, platform.CodeBadRequest, true, ErrorDetails{Code: platform.CodeBadRequest, Attempt: 1})
}

func TestSendAlertWithoutWebhookOnlyLogs(t *testing.T) {
	logger, buf := bufLogger()
	sink := &AlertSink{Logger: logger}
	acts := &Activities{Alerts: sink}
	if err := sendAlert(t, acts, warningAlert()); err != nil {
		t.Fatal(err)
	}
	if err := sendAlert(t, acts, systemicAlert()); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 log lines, got %d:\n%s", len(lines), buf)
	}
	wants := []struct {
		level, msg, severity, agent string
		tier                        float64
	}{
		{"WARN", "ALERT anomaly", "warning", "a2", 1},
		{"ERROR", "ALERT systemic_anomaly", "critical", "a1", 3},
	}
	for i, w := range wants {
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
			t.Fatalf("log line %q: %v", lines[i], err)
		}
		if rec["level"] != w.level || rec["msg"] != w.msg || rec["severity"] != w.severity || rec["agent"] != w.agent || rec["tier"] != w.tier {
			t.Errorf("log line %d: %v, want %+v", i, rec, w)
		}
		if _, ok := rec["confidence"]; !ok {
			t.Errorf("log line %d has no confidence: %v", i, rec)
		}
	}
	if r := sink.Recent(); len(r) != 2 || r[0].Agent != "a2" || r[1].Agent != "a1" {
		t.Fatalf("recent %+v", r)
	}
}

func TestSendAlertWithoutSink(t *testing.T) {
	if err := sendAlert(t, &Activities{}, warningAlert()); err != nil {
		t.Fatal(err)
	}
}

func TestAlertSinkKeepsTheLast200(t *testing.T) {
	sink := &AlertSink{}
	for i := range 251 {
		sink.remember(domain.Alert{Agent: fmt.Sprintf("a%d", i), Tier: 1})
		if n, want := len(sink.Recent()), min(i+1, 200); n != want {
			t.Fatalf("after %d alerts the sink keeps %d, want %d", i+1, n, want)
		}
	}
	r := sink.Recent()
	if len(r) != maxAlertsKept || maxAlertsKept != 200 {
		t.Fatalf("kept %d alerts, want 200", len(r))
	}
	for i, a := range r {
		if want := fmt.Sprintf("a%d", i+51); a.Agent != want {
			t.Fatalf("recent[%d] = %s, want %s (oldest first)", i, a.Agent, want)
		}
	}
	// Recent returns a copy.
	r[0].Agent = "changed"
	if sink.Recent()[0].Agent != "a51" {
		t.Fatal("Recent exposes the sink's own slice")
	}
	// Exactly 200 are all kept.
	sink = &AlertSink{}
	for i := range 200 {
		sink.remember(domain.Alert{Agent: fmt.Sprintf("a%d", i)})
	}
	if r := sink.Recent(); len(r) != 200 || r[0].Agent != "a0" || r[199].Agent != "a199" {
		t.Fatalf("200 alerts: kept %d, first %s", len(r), r[0].Agent)
	}
}

func TestAlertSinkConcurrent(t *testing.T) {
	sink := &AlertSink{}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				sink.remember(domain.Alert{Agent: fmt.Sprintf("g%d-%d", g, i)})
				_ = sink.Recent()
			}
		}()
	}
	wg.Wait()
	if n := len(sink.Recent()); n != 200 {
		t.Fatalf("kept %d", n)
	}
}

// TestSendAlertApprovalRequested: an approval request is logged at info level with what waits
// and the commands that answer it, and posted to the webhook whole.
func TestSendAlertApprovalRequested(t *testing.T) {
	logger, buf := bufLogger()
	hook, srv := newWebhook(t, http.StatusNoContent)
	acts := &Activities{Alerts: &AlertSink{Logger: logger, WebhookURL: srv.URL}}
	pending := &domain.PendingApproval{PostID: "p1", Agent: "a1", Platform: domain.PlatformSim, Action: domain.ActionThread,
		Tier: domain.Tier3, Key: "sheal_2304be7ef58ba8f0e6dd06cb68632a31", Texts: []string{"1/2", "2/2"},
		Since: alertTime, Until: alertTime.Add(6 * time.Hour),
		ApproveCommand: "go run ./starter approve p1 --key sheal_2304be7ef58ba8f0e6dd06cb68632a31 --operator NAME --reason WHY",
		RejectCommand:  "go run ./starter reject p1 --key sheal_2304be7ef58ba8f0e6dd06cb68632a31 --operator NAME --reason WHY"}
	alert := domain.Alert{Type: domain.AlertApprovalRequested, Severity: domain.SeverityInfo, Tier: 3, Agent: "a1", Timestamp: alertTime, Approval: pending}
	if err := sendAlert(t, acts, alert); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(buf.Bytes()), &rec); err != nil {
		t.Fatalf("log line %q: %v", buf, err)
	}
	if rec["level"] != "INFO" || rec["msg"] != "ALERT approval_requested" || rec["post"] != "p1" || rec["action"] != "thread" ||
		rec["approve"] != pending.ApproveCommand || rec["reject"] != pending.RejectCommand {
		t.Fatalf("log line %v", rec)
	}
	var got domain.Alert
	if len(hook.bodies) != 1 || json.Unmarshal(hook.bodies[0], &got) != nil || got.Approval == nil ||
		got.Approval.Key != pending.Key || len(got.Approval.Texts) != 2 || got.Approval.ApproveCommand != pending.ApproveCommand {
		t.Fatalf("webhook got %s", hook.bodies)
	}
}
