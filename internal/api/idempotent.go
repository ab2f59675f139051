package api

import (
	"bytes"
	"io"
	"net/http"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/idempotency"
	"github.com/steward-itaas/steward/internal/metering"
)

// IdempotencyHeader is the request header that makes a mutating call safe to retry.
const IdempotencyHeader = "Idempotency-Key"

// maxRouteBody is the largest body any route reads: a ticket's file.
const maxRouteBody = max(MaxBodyBytes, metering.MaxBatchBytes, maxUploadBytes)

// idempotent lets clients retry unsafe requests: with an Idempotency-Key,
// the first answer (any status below 500) is remembered for the caller and
// replayed, marked Idempotent-Replayed: true, to a retry of the same request.
// Reusing a key for another request is refused; a retry while the first is
// still running gets a conflict.
func (s *Server) idempotent(next http.Handler) http.Handler {
	return s.adapt(func(w http.ResponseWriter, r *http.Request) error {
		key := r.Header.Get(IdempotencyHeader)
		if key == "" || r.Method == http.MethodGet || r.Method == http.MethodHead || s.Idempotency == nil {
			next.ServeHTTP(w, r)
			return nil
		}
		// Read as much as the largest body any route takes; the route then
		// applies its own limit to what it reads, as it does without a key.
		body, err := io.ReadAll(io.LimitReader(r.Body, maxRouteBody+1))
		if err != nil {
			return errs.Invalid("the request body could not be read: %v", err)
		}
		if len(body) > maxRouteBody {
			// Too big for every route: the route refuses it as it would without a key.
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
			next.ServeHTTP(w, r)
			return nil
		}
		req := idempotency.Request{PrincipalID: principal(r).UserID, Key: key, Method: r.Method, Path: r.URL.RequestURI(), Body: body}
		prev, err := s.Idempotency.Begin(ctx(r), req)
		if err != nil {
			return err
		}
		if prev != nil {
			w.Header().Set("Content-Type", prev.ContentType)
			w.Header().Set("Idempotent-Replayed", "true")
			w.WriteHeader(prev.Status)
			_, err := w.Write(prev.Body)
			return err
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		if rec.status >= 500 {
			if err := s.Idempotency.Abandon(ctx(r), req); err != nil {
				s.Log.Error("forget idempotency key", "err", err)
			}
		} else if err := s.Idempotency.Finish(ctx(r), req, idempotency.Response{Status: rec.status, ContentType: rec.header.Get("Content-Type"), Body: rec.body.Bytes()}); err != nil {
			return err
		}
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, err = w.Write(rec.body.Bytes())
		return err
	})
}

// recorder keeps a response so it can be stored before it is sent.
type recorder struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = status, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}
