package web

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"net/http"

	"avis/internal/account"
	"avis/internal/idempotency"
)

// maxReplayBody is the largest answer kept for a replay; a larger one is
// not kept (a retry does the work again, which every avis operation
// tolerates: imports and events match what exists).
const maxReplayBody = 1 << 20

var (
	errBadIdempotencyKey = &PublicError{http.StatusBadRequest, "bad_idempotency_key",
		"The Idempotency-Key header must be 1 to 255 printable ASCII characters, such as a UUID. Send a new one for each new request."}
	errIdempotencyReused = &PublicError{http.StatusUnprocessableEntity, "idempotency_key_reused",
		"This Idempotency-Key was used in the last 24 hours for a different request (another path or body). Use a new key for a new request; retry a request with exactly the same body."}
	errIdempotencyRunning = &PublicError{http.StatusConflict, "idempotency_key_in_use",
		"A request with this Idempotency-Key is still running. Wait a moment and retry: you will then get its answer."}
)

// idempotentMethod reports whether a method honours Idempotency-Key.
func idempotentMethod(m string) bool { return m == http.MethodPost || m == http.MethodDelete }

// withIdempotency runs h at most once per Idempotency-Key of the API key
// (for 24 hours): a retry with the same method, path and body gets the
// first answer again, with Idempotent-Replayed: true.
func (s *Server) withIdempotency(w http.ResponseWriter, r *http.Request, k account.APIKey, h apiHandler) {
	key := r.Header.Get("Idempotency-Key")
	if !idempotency.ValidKey(key) {
		problem(w, errBadIdempotencyKey)
		return
	}
	ctx := r.Context()
	ref := idempotency.Ref{TenantID: k.TenantID, APIKeyID: k.ID, Key: key}
	state, ans, err := s.idem.Begin(ctx, ref)
	if err != nil {
		s.Log.Error("api: idempotency", "err", err)
		problem(w, publicError(err))
		return
	}
	hasher := requestHasher(r)
	switch state {
	case idempotency.Running:
		w.Header().Set("Retry-After", "1")
		problem(w, errIdempotencyRunning)
		return
	case idempotency.Done:
		if _, err := io.Copy(hasher, r.Body); err != nil {
			problem(w, bodyReadProblem(err))
			return
		}
		if !ans.Same(hasher.Sum(nil)) {
			problem(w, errIdempotencyReused)
			return
		}
		if ans.ContentType != "" {
			w.Header().Set("Content-Type", ans.ContentType)
		}
		if ans.Location != "" {
			w.Header().Set("Location", ans.Location)
		}
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Idempotent-Replayed", "true")
		w.WriteHeader(ans.Status)
		w.Write(ans.Body)
		return
	}
	// Fresh: run the request, hashing the body as the handler reads it.
	r.Body = hashingBody{r.Body, hasher}
	rec := &captureWriter{ResponseWriter: w}
	done := false
	defer func() {
		if !done {
			// A panic: forget the key so that a retry runs again.
			_ = s.idem.Abort(ctx, ref)
		}
	}()
	h(rec, r, k)
	done = true
	_, drainErr := io.Copy(hasher, r.Body)
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	if drainErr != nil || rec.status >= 500 || rec.overflow {
		if err := s.idem.Abort(ctx, ref); err != nil {
			s.Log.Error("api: idempotency abort", "err", err)
		}
		return
	}
	err = s.idem.Finish(ctx, ref, hasher.Sum(nil), idempotency.Answer{Status: rec.status,
		ContentType: rec.Header().Get("Content-Type"), Location: rec.Header().Get("Location"), Body: rec.body.Bytes()})
	if err != nil {
		s.Log.Error("api: idempotency finish", "err", err)
	}
}

// requestHasher starts the hash that tells a retry from another request:
// method, path and query, then the body.
func requestHasher(r *http.Request) hash.Hash {
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.URL.EscapedPath() + "?" + r.URL.RawQuery + "\n"))
	return h
}

// bodyReadProblem is the answer to a body that could not be read whole.
func bodyReadProblem(err error) *PublicError {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &PublicError{http.StatusRequestEntityTooLarge, "too_large", "The body is over the limit of this operation (1 MiB for JSON, AVIS_MAX_UPLOAD_BYTES for a JSON Lines stream): split it."}
	}
	return &PublicError{http.StatusBadRequest, "bad_body", "The body was cut short: send it again."}
}

// hashingBody feeds what the handler reads to the request hash.
type hashingBody struct {
	io.ReadCloser
	h hash.Hash
}

func (b hashingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.h.Write(p[:n])
	return n, err
}

// captureWriter keeps a copy of the answer (up to maxReplayBody).
type captureWriter struct {
	http.ResponseWriter
	status   int
	body     bytes.Buffer
	overflow bool
}

func (c *captureWriter) WriteHeader(code int) {
	if c.status == 0 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *captureWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if !c.overflow {
		if c.body.Len()+len(b) > maxReplayBody {
			c.overflow = true
			c.body.Reset()
		} else {
			c.body.Write(b)
		}
	}
	return c.ResponseWriter.Write(b)
}

func (c *captureWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
