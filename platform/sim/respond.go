package sim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
)

// Error codes the sim answers with, in {"error": code, "message": ...}.
const (
	ErrUnauthorized     = "unauthorized"
	ErrForbidden        = "forbidden"
	ErrBadRequest       = "bad_request"
	ErrMissingKey       = "missing_idempotency_key"
	ErrNotFound         = "not_found"
	ErrPostGone         = "post_gone"
	ErrUnprocessable    = "unprocessable"
	ErrKeyReused        = "idempotency_key_reused"
	ErrRateLimited      = "rate_limited"
	ErrUnavailable      = "unavailable"
	ErrMethodNotAllowed = "method_not_allowed"
)

// Headers of the action protocol.
const (
	// HeaderIdempotencyKey carries the action's key; actions without one are refused.
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderReplayed is "true" on a reply replayed from the idempotency store.
	HeaderReplayed = "Idempotent-Replayed"
)

const (
	maxRequestBody  = 1 << 20
	contentTypeJSON = "application/json"
)

// ErrorBody is the JSON body of every error reply.
type ErrorBody struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// encode marshals v; the sim only encodes its own plain types, so failure is a bug.
func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("sim: encoding reply: " + err.Error())
	}
	return b
}

func writeBody(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(status)
	w.Write(body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeBody(w, status, encode(v))
}

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, ErrorBody{Error: code, Message: message})
}

// decodeStrict decodes one JSON value from r, refusing unknown fields and trailing data.
func decodeStrict(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
