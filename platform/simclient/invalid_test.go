package simclient_test

import (
	"context"
	"strings"
	"testing"

	"resurge/platform"
)

func TestGarbageMetricsAreInvalidResponses(t *testing.T) {
	replies := map[string]string{
		"not JSON":            `<html>hello</html>`,
		"empty":               ``,
		"null":                `null`,
		"array":               `[1,2]`,
		"missing impressions": `{"at":"2025-03-01T12:00:00Z","engagements":1}`,
		"missing engagements": `{"at":"2025-03-01T12:00:00Z","impressions":1}`,
		"missing at":          `{"impressions":1,"engagements":1}`,
		"bad at":              `{"at":"yesterday","impressions":1,"engagements":1}`,
		"negative":            `{"at":"2025-03-01T12:00:00Z","impressions":-5,"engagements":1}`,
		"NaN string":          `{"at":"2025-03-01T12:00:00Z","impressions":"NaN","engagements":1}`,
		"fractional":          `{"at":"2025-03-01T12:00:00Z","impressions":1.5,"engagements":1}`,
		"huge":                `{"at":"2025-03-01T12:00:00Z","impressions":1e300,"engagements":1}`,
		"null counter":        `{"at":"2025-03-01T12:00:00Z","impressions":null,"engagements":1}`,
		"another post":        `{"post_id":"q","at":"2025-03-01T12:00:00Z","impressions":1,"engagements":1}`,
		"oversized":           `{"at":"2025-03-01T12:00:00Z","impressions":1,"engagements":1,"pad":"` + strings.Repeat("x", 1<<20) + `"}`,
	}
	for name, body := range replies {
		c := fakePlatform(t, fixed(200, body))
		if _, err := c.Metrics(context.Background(), "p"); err == nil {
			t.Errorf("%s: no error", name)
		} else if pe := platform.AsError(err); pe.Code != platform.CodeInvalidResponse {
			t.Errorf("%s: %v, want invalid_response", name, err)
		}
	}
	ok := fakePlatform(t, fixed(200, `{"post_id":"p","at":"2025-03-01T12:00:00Z","impressions":10,"engagements":2}`))
	if s, err := ok.Metrics(context.Background(), "p"); err != nil || s.Impressions != 10 || s.Engagements != 2 {
		t.Errorf("a good reply: %+v %v", s, err)
	}
}

func TestGarbageActionRepliesAreInvalidResponses(t *testing.T) {
	replies := map[string]string{
		"not JSON":    `ok!`,
		"no id":       `{"post_id":"p","kind":"comment"}`,
		"id a number": `{"id":7}`,
		"wrong kind":  `{"id":"c1","kind":"thread"}`,
		"wrong key":   `{"id":"c1","key":"someone-else"}`,
		"empty id":    `{"id":"c1","ids":["c1",""]}`,
	}
	for name, body := range replies {
		c := fakePlatform(t, fixed(201, body))
		_, err := c.Comment(context.Background(), "p", "x", "k")
		if pe := platform.AsError(err); err == nil || pe.Code != platform.CodeInvalidResponse {
			t.Errorf("%s: %v, want invalid_response", name, err)
		}
	}
	c := fakePlatform(t, fixed(201, `{"id":"t1","ids":["t1"]}`))
	if _, err := c.Thread(context.Background(), "p", []string{"a", "b"}, "k"); platform.AsError(err).Code != platform.CodeInvalidResponse {
		t.Errorf("a thread of 2 parts with 1 id: %v, want invalid_response", err)
	}
	c = fakePlatform(t, fixed(201, `{"id":"c1"}`))
	if e, err := c.Comment(context.Background(), "p", "x", "k"); err != nil || len(e.IDs) != 1 || e.IDs[0] != "c1" {
		t.Errorf("a minimal reply: %+v %v", e, err)
	}
}

func TestGarbageLookupRepliesAreInvalidResponses(t *testing.T) {
	for name, body := range map[string]string{
		"not JSON":       `nope`,
		"no effects":     `{"post_id":"p"}`,
		"effect sans id": `{"effects":[{"key":"k"}]}`,
		"wrong key":      `{"effects":[{"id":"c1","key":"other"}]}`,
	} {
		c := fakePlatform(t, fixed(200, body))
		_, _, err := c.FindEffect(context.Background(), "p", "k")
		if pe := platform.AsError(err); err == nil || pe.Code != platform.CodeInvalidResponse {
			t.Errorf("%s: %v, want invalid_response", name, err)
		}
	}
}
