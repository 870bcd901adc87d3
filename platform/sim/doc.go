// Package sim is a simulated social platform: a real HTTP server that Resurge's workers talk to
// in tests, demos and docker-compose, so that every failure a real platform can produce (rate
// limits, outages, slow or dropped replies, lost posts, broken idempotency) can be produced on
// purpose and reproduced.
//
// Every request needs "Authorization: Bearer <token>". The API (JSON everywhere, errors as
// {"error": "<code>", "message": "..."}):
//
//	GET  /v1/posts/{id}/metrics          cumulative counters {"post_id","at","impressions","engagements"}
//	POST /v1/posts/{id}/comments         {"text"}      → 201 effect
//	PUT  /v1/posts/{id}                  {"text"}      → 200 effect (an edit)
//	POST /v1/posts/{id}/threads          {"parts":[…]} → 201 effect with one id per part
//	GET  /v1/posts/{id}/effects?key=K    effects on the post made with idempotency key K
//	GET  /healthz                        {"ok":true}
//
//	GET  /admin/effects                  every effect and how many each key produced
//	GET  /admin/faults, PUT /admin/faults  the fault configuration (see Faults)
//	PUT  /admin/posts/{id}               {"curve":"die"} chooses the post's engagement curve
//	POST /admin/posts/{id}/delete        deletes the post: metrics and actions answer 404
//	POST /admin/release                  releases the replies held by Faults.HoldActions
//
// Actions need an Idempotency-Key header. A repeated key gets the first reply again (same status
// and body, plus "Idempotent-Replayed: true") and creates nothing. Each effect also carries its
// key as a marker in its text, the way an adapter for a real platform tags what it posts, so
// that the effects lookup can answer "did an earlier attempt get through?" even when the
// platform's own idempotency failed.
//
// Engagement is simulated: see Curve. Faults are injected as Faults says. With
// Options.StateFile the sim survives restarts.
package sim
