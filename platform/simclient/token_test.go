package simclient_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"resurge/platform"
	"resurge/platform/simclient"
)

// echoAuth answers status with a body that quotes the request's Authorization header, as a
// careless proxy's error page might, in the shapes the client renders differently.
func echoAuth(status int, shape string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		var body string
		switch shape {
		case "json":
			body = `{"error":"denied","message":"you sent ` + auth + `"}`
		case "text":
			body = "you sent " + auth
		case "straddling":
			// The token crosses the point where the message is cut.
			body = strings.Repeat("x", 190) + auth
		case "json-straddling":
			body = `{"error":"denied","message":"` + strings.Repeat("x", 265) + auth + `"}`
		}
		w.WriteHeader(status)
		w.Write([]byte(body))
	}
}

func TestTheTokenNeverAppearsInErrors(t *testing.T) {
	for _, status := range []int{400, 401, 403, 404, 422, 429, 500, 503, 418, 200} {
		for _, shape := range []string{"json", "text", "straddling", "json-straddling"} {
			c := fakePlatform(t, echoAuth(status, shape))
			ctx := context.Background()
			_, err1 := c.Metrics(ctx, "p")
			_, err2 := c.Comment(ctx, "p", "x", "k")
			_, _, err3 := c.FindEffect(ctx, "p", "k")
			for _, err := range []error{err1, err2, err3} {
				if err == nil {
					t.Fatalf("HTTP %d %s: no error", status, shape)
				}
				if strings.Contains(err.Error(), testToken) {
					t.Errorf("HTTP %d %s: the token leaks: %v", status, shape, err)
				}
				// Half a token is a leak too.
				if strings.Contains(err.Error(), testToken[:len(testToken)/2]) {
					t.Errorf("HTTP %d %s: part of the token leaks: %v", status, shape, err)
				}
			}
		}
	}
}

func TestTheTokenIsNotInTransportErrors(t *testing.T) {
	// A base URL that cannot be reached, with the token also (mistakenly) in it.
	c := simclient.New("http://127.0.0.1:1/"+testToken, testToken)
	_, err := c.Metrics(context.Background(), "p")
	if pe := platform.AsError(err); pe.Code != platform.CodeNetworkError || strings.Contains(err.Error(), testToken) {
		t.Errorf("%v", err)
	}
}
