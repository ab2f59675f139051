// Package idempotency remembers the outcome of mutating API requests sent
// with an Idempotency-Key header, so that a client that retries (after a
// timeout, a dropped connection, a double click) gets the first answer again
// instead of doing the work twice.
//
// Lifecycle of a key: Begin reserves it for a caller (status 0, "in
// progress"); Finish stores the response; Abandon forgets a reservation whose
// request failed in a way worth retrying (a 5xx). A second request with the
// same key and the same method, path and body replays the stored response; with
// a different request it is refused; while the first is still running it gets
// a conflict. Keys are per caller and kept for Retention, then purged by a job.
package idempotency

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// Retention is how long a key is remembered.
const Retention = 24 * time.Hour

// Store keeps idempotency keys in the database.
type Store struct {
	db  *sqldb.DB
	now func() time.Time
}

// NewStore returns a Store.
func NewStore(db *sqldb.DB, now func() time.Time) *Store { return &Store{db: db, now: now} }

// Response is a stored answer.
type Response struct {
	Status      int
	ContentType string
	Body        []byte
}

// Request identifies one request made with a key.
type Request struct {
	PrincipalID, Key, Method, Path string
	Body                           []byte
}

func (r Request) hash() string {
	h := sha256.New()
	h.Write([]byte(r.Method + " " + r.Path + "\n"))
	h.Write(r.Body)
	return hex.EncodeToString(h.Sum(nil))
}

// ValidKey reports whether a client's key is usable: 1 to 255 printable ASCII characters.
func ValidKey(k string) bool {
	if len(k) == 0 || len(k) > 255 {
		return false
	}
	for _, c := range k {
		if c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}

// Begin reserves the key for the request. It returns the stored response
// when the same request was already answered, nil when the caller should go
// ahead, an invalid error when the key was used for a different request and
// a conflict while the first request with the key is still running.
func (s *Store) Begin(ctx context.Context, r Request) (*Response, error) {
	if !ValidKey(r.Key) {
		return nil, &errs.Error{Code: errs.CodeInvalid, Message: "the Idempotency-Key header is not valid",
			Fields: []errs.FieldError{{Field: "Idempotency-Key", Rule: "format", Message: "use 1 to 255 printable ASCII characters without spaces, such as a UUID"}}}
	}
	hash := r.hash()
	var out *Response
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (principal_id, key, method, path, request_hash, status, content_type, response, created_at)
			VALUES ($1, $2, $3, $4, $5, 0, '', '', $6) ON CONFLICT (principal_id, key) DO NOTHING`,
			r.PrincipalID, r.Key, r.Method, r.Path, hash, sqldb.Time(s.now()))
		if err != nil {
			return sqldb.Err(err, "idempotency key")
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var gotHash, body string
		var resp Response
		err = tx.QueryRowContext(ctx, `SELECT request_hash, status, content_type, response FROM idempotency_keys WHERE principal_id = $1 AND key = $2`,
			r.PrincipalID, r.Key).Scan(&gotHash, &resp.Status, &resp.ContentType, &body)
		if err != nil {
			return sqldb.Err(err, "idempotency key")
		}
		switch {
		case gotHash != hash:
			return errs.Invalid("the Idempotency-Key %q was already used for a different request; send a new key for a new request", r.Key)
		case resp.Status == 0:
			return errs.Conflict("a request with the Idempotency-Key %q is still being processed; retry in a moment", r.Key)
		}
		resp.Body = []byte(body)
		out = &resp
		return nil
	})
	return out, err
}

// Finish stores the response to a request begun with Begin.
func (s *Store) Finish(ctx context.Context, r Request, resp Response) error {
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET status = $1, content_type = $2, response = $3 WHERE principal_id = $4 AND key = $5`,
			resp.Status, resp.ContentType, string(resp.Body), r.PrincipalID, r.Key)
		return sqldb.Err(err, "idempotency key")
	})
}

// Abandon forgets a reservation so the request may be retried with the same key.
func (s *Store) Abandon(ctx context.Context, r Request) error {
	return s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE principal_id = $1 AND key = $2 AND status = 0`, r.PrincipalID, r.Key)
		return sqldb.Err(err, "idempotency key")
	})
}

// Purge forgets keys older than Retention and returns how many.
func (s *Store) Purge(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, sqldb.Time(s.now().Add(-Retention)))
		if err != nil {
			return sqldb.Err(err, "idempotency keys")
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
