package bluesky

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/bluesky-social/indigo/atproto/atclient"
	"github.com/bluesky-social/indigo/atproto/syntax"

	"resurge/platform"
)

// transport sends XRPC calls to one host (the PDS) and classifies their failures.
type transport struct {
	base string // scheme://host[:port], no trailing slash
	http *http.Client
	now  func() time.Time

	mu sync.Mutex
	// secrets are redacted from every message: the app password and every token held.
	secrets []string
}

func newTransport(what, service string, opts []Option) (*transport, error) {
	if service == "" {
		service = DefaultService
	}
	base, err := platform.ServiceURL(what, service, DefaultService)
	if err != nil {
		return nil, err
	}
	t := &transport{base: base, http: &http.Client{Timeout: DefaultTimeout}, now: time.Now}
	for _, o := range opts {
		o(t)
	}
	// A redirect means the URL is not the PDS's own address; following it would send the
	// tokens wherever it points.
	t.http.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return t, nil
}

// keep adds secrets to redact (tokens as they are issued; a few old ones are kept, since a reply
// may still quote one).
func (t *transport) keep(secrets ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range secrets {
		if s != "" {
			t.secrets = append(t.secrets, s)
		}
	}
	if n := len(t.secrets); n > 9 {
		t.secrets = append(t.secrets[:1], t.secrets[n-8:]...) // the password, and the last 8
	}
}

// redact removes every secret from s (see platform.Redact).
func (t *transport) redact(s string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, secret := range t.secrets {
		s = platform.Redact(s, secret)
	}
	return s
}

// endpoint says what a call was for: a record that is not found means different things.
type endpoint int

const (
	endpointAction  endpoint = iota // not found: not_found
	endpointMetrics                 // not found: the post is gone
)

// call is an XRPC client for indigo's generated helpers (lexutil.LexClient): the transport,
// and how the call authenticates.
type call struct {
	t  *transport
	ep endpoint
	// c, when set, authenticates with its session (refreshing it when the token is refused);
	// else bearer, when set, is sent as it is (refreshSession takes the refresh token).
	c      *Client
	bearer string
}

// reply is a complete HTTP reply.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// LexDo sends one XRPC call and decodes its reply into out; every failure is a classified
// *platform.Error (an *apiError when the server named the error).
func (x call) LexDo(ctx context.Context, method, inputEncoding, endpoint string, params map[string]any, bodyData any, out any) error {
	nsid, err := syntax.ParseNSID(endpoint)
	if err != nil {
		return &platform.Error{Code: platform.CodeBadRequest, Message: "xrpc " + endpoint + ": " + err.Error()}
	}
	var body io.Reader
	if bodyData != nil {
		data, err := json.Marshal(bodyData)
		if err != nil {
			return &platform.Error{Code: platform.CodeBadRequest, Message: x.t.redact(endpoint + ": encoding the input: " + err.Error())}
		}
		body = bytes.NewReader(data) // retryable: the request gets a GetBody
	}
	req := atclient.NewAPIRequest(method, nsid, body)
	req.Headers.Set("Accept", "application/json")
	req.Headers.Set("User-Agent", "resurge")
	if body != nil {
		if inputEncoding == "" {
			inputEncoding = "application/json"
		}
		req.Headers.Set("Content-Type", inputEncoding)
	}
	if params != nil {
		if req.QueryParams, err = atclient.ParseParams(params); err != nil {
			return &platform.Error{Code: platform.CodeBadRequest, Message: x.t.redact(endpoint + ": " + err.Error())}
		}
	}
	hreq, err := req.HTTPRequest(ctx, x.t.base, nil)
	if err != nil {
		return &platform.Error{Code: platform.CodeBadRequest, Message: x.t.redact("building " + endpoint + ": " + err.Error())}
	}
	var r reply
	if x.c != nil {
		r, err = x.c.sendWithSession(ctx, endpoint, hreq)
	} else {
		r, err = x.t.send(endpoint, hreq, x.bearer)
	}
	if err != nil {
		return err
	}
	if r.status < 200 || r.status > 299 {
		return x.t.statusError(endpoint, x.ep, r)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		return x.t.invalid(endpoint, "%v", err)
	}
	return nil
}

// send sends req once, with token as its bearer token when set, and reads the whole reply.
func (t *transport) send(what string, req *http.Request, token string) (reply, error) {
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	} else {
		req.Header.Del("Authorization")
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return reply{}, t.transportError(what, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxReplyBytes+1))
	if err != nil {
		return reply{}, t.transportError(what+" (reading the reply)", err)
	}
	if len(data) > maxReplyBytes {
		return reply{}, t.invalid(what, "the reply is larger than %d bytes", maxReplyBytes)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: data}, nil
}

// apiError is a failed call whose reply named the XRPC error ("InvalidSwap",
// "RecordNotFound", "ExpiredToken", ...): callers tell some of them apart.
type apiError struct {
	Name string
	err  *platform.Error
}

func (e *apiError) Error() string { return e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

// errorName is the XRPC error name of err, "" when the server named none.
func errorName(err error) string {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae.Name
	}
	return ""
}

// errorf is a plain configuration error.
func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }
