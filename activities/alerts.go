package activities

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"

	"resurge/domain"
	"resurge/platform"
)

// maxAlertsKept bounds the alerts an AlertSink remembers.
const maxAlertsKept = 200

// AlertSink delivers alerts: always a structured log line (critical alerts at error level),
// plus an HTTP POST of the alert as JSON to WebhookURL when it is set. It keeps the last 200.
type AlertSink struct {
	WebhookURL string
	HTTPClient *http.Client
	Logger     *slog.Logger

	mu     sync.Mutex
	recent []domain.Alert
}

// Recent returns the last alerts delivered, oldest first.
func (s *AlertSink) Recent() []domain.Alert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]domain.Alert(nil), s.recent...)
}

func (s *AlertSink) remember(a domain.Alert) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recent = append(s.recent, a)
	if len(s.recent) > maxAlertsKept {
		s.recent = s.recent[len(s.recent)-maxAlertsKept:]
	}
}

// SendAlert delivers an alert. Webhook failures that may pass (5xx, 429, network) are
// retried; any other answer is final.
func (a *Activities) SendAlert(ctx context.Context, alert domain.Alert) error {
	sink := a.Alerts
	if sink == nil {
		sink = &AlertSink{}
	}
	logger := sink.Logger
	if logger == nil {
		logger = slog.Default()
	}
	level := slog.LevelWarn
	switch alert.Severity {
	case domain.SeverityCritical:
		level = slog.LevelError
	case domain.SeverityInfo:
		level = slog.LevelInfo
	}
	// Log once per alert, not once per retry of the webhook.
	if activity.GetInfo(ctx).Attempt == 1 {
		attrs := []any{"severity", alert.Severity, "agent", alert.Agent, "tier", alert.Tier, "confidence", alert.Confidence}
		if p := alert.Approval; p != nil {
			// A person has to act on it: say what and how.
			attrs = append(attrs, "post", p.PostID, "action", p.Action, "until", p.Until, "approve", p.ApproveCommand, "reject", p.RejectCommand)
		} else {
			attrs = append(attrs, "triggers", alert.Recommendation.TriggerMetrics)
		}
		logger.Log(ctx, level, "ALERT "+alert.Type, attrs...)
		sink.remember(alert)
	}
	if sink.WebhookURL == "" {
		return nil
	}
	return toApplicationError(sink.post(ctx, alert), activity.GetInfo(ctx).Attempt)
}

func (s *AlertSink) post(ctx context.Context, alert domain.Alert) error {
	body, err := json.Marshal(alert)
	if err != nil {
		return &platform.Error{Code: platform.CodeBadRequest, Message: err.Error()}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return &platform.Error{Code: platform.CodeBadRequest, Message: "webhook URL: " + err.Error()}
	}
	req.Header.Set("Content-Type", "application/json")
	client := s.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return &platform.Error{Code: platform.CodeTimeout, Message: "webhook: " + err.Error()}
		}
		return &platform.Error{Code: platform.CodeNetworkError, Message: "webhook: " + err.Error()}
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests:
		return &platform.Error{Code: platform.CodeRateLimit, Status: resp.StatusCode, Message: "webhook rate limited"}
	case resp.StatusCode >= 500:
		return &platform.Error{Code: platform.CodeServiceUnavailable, Status: resp.StatusCode, Message: "webhook unavailable"}
	default:
		return &platform.Error{Code: platform.CodeUnexpected, Status: resp.StatusCode, Message: fmt.Sprintf("webhook answered %d", resp.StatusCode)}
	}
}
