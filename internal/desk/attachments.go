package desk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/audit"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// The bounds of attachments (docs/limits.md).
const (
	// MaxAttachmentBytes is the largest file attached to a ticket.
	MaxAttachmentBytes = 10 << 20
	// MaxAttachments is the most files one ticket holds.
	MaxAttachments = 20
	// MaxFilename is the longest file name kept, in bytes.
	MaxFilename = 200
)

// Attachment is a file attached to a ticket. Internal ones are seen by
// those who work the ticket (and auditors), as work notes are.
type Attachment struct {
	ID          string    `json:"id"`
	Filename    string    `json:"filename"`
	ContentType string    `json:"content_type"`
	Size        int64     `json:"size"`
	SHA256      string    `json:"sha256"`
	Internal    bool      `json:"internal"`
	UploadedBy  Ref       `json:"uploaded_by"`
	CreatedAt   time.Time `json:"created_at"`
}

// fileType is a kind of file a ticket takes: the type it is served as,
// and whether the sniffed content matches it.
type fileType struct {
	contentType string
	sniffed     func(sniff string, data []byte) bool
}

func sniffedAs(types ...string) func(string, []byte) bool {
	return func(sniff string, _ []byte) bool {
		for _, t := range types {
			if sniff == t || strings.HasPrefix(sniff, t+";") {
				return true
			}
		}
		return false
	}
}

// ole is the signature of the compound files of older Office documents.
var ole = []byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}

func oleFile(_ string, data []byte) bool { return bytes.HasPrefix(data, ole) }

// fileTypes is the allow-list of attachments, by extension: images,
// PDF, plain text (text, CSV, logs, JSON), ZIP archives and office
// documents. Anything else (HTML, SVG, scripts, executables) is refused.
var fileTypes = map[string]fileType{
	".png":  {"image/png", sniffedAs("image/png")},
	".jpg":  {"image/jpeg", sniffedAs("image/jpeg")},
	".jpeg": {"image/jpeg", sniffedAs("image/jpeg")},
	".gif":  {"image/gif", sniffedAs("image/gif")},
	".webp": {"image/webp", sniffedAs("image/webp")},
	".pdf":  {"application/pdf", sniffedAs("application/pdf")},
	".txt":  {"text/plain; charset=utf-8", sniffedAs("text/plain")},
	".log":  {"text/plain; charset=utf-8", sniffedAs("text/plain")},
	".csv":  {"text/csv; charset=utf-8", sniffedAs("text/plain")},
	".json": {"application/json", sniffedAs("text/plain")},
	".zip":  {"application/zip", sniffedAs("application/zip")},
	".docx": {"application/vnd.openxmlformats-officedocument.wordprocessingml.document", sniffedAs("application/zip")},
	".xlsx": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", sniffedAs("application/zip")},
	".pptx": {"application/vnd.openxmlformats-officedocument.presentationml.presentation", sniffedAs("application/zip")},
	".odt":  {"application/vnd.oasis.opendocument.text", sniffedAs("application/zip")},
	".ods":  {"application/vnd.oasis.opendocument.spreadsheet", sniffedAs("application/zip")},
	".odp":  {"application/vnd.oasis.opendocument.presentation", sniffedAs("application/zip")},
	".doc":  {"application/msword", oleFile},
	".xls":  {"application/vnd.ms-excel", oleFile},
	".ppt":  {"application/vnd.ms-powerpoint", oleFile},
}

// AllowedExtensions lists the extensions attachments may have, for forms
// and messages.
const AllowedExtensions = ".png .jpg .jpeg .gif .webp .pdf .txt .log .csv .json .zip .docx .xlsx .pptx .odt .ods .odp .doc .xls .ppt"

// SafeContentType is the type a stored attachment is served as: its own
// when it is one of the allowed types, application/octet-stream
// otherwise (never text/html).
func SafeContentType(ct string) string {
	for _, t := range fileTypes {
		if t.contentType == ct {
			return ct
		}
	}
	return "application/octet-stream"
}

// SanitizeFilename makes a file name safe to store and to send back in a
// Content-Disposition header: the last element of a path only, letters,
// digits, spaces and . - _ ( ) + kept, anything else (controls, quotes,
// slashes, semicolons) turned into "_", no leading dots or spaces, at
// most MaxFilename bytes with its extension kept. It returns "" when
// nothing is left.
func SanitizeFilename(name string) string {
	name = strings.ToValidUTF8(name, "_")
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(".-_()+", r):
			b.WriteRune(r)
		case r == ' ':
			b.WriteRune(' ')
		default:
			b.WriteRune('_')
		}
	}
	name = strings.TrimLeft(strings.TrimSpace(b.String()), ". ")
	for strings.Contains(name, "..") {
		name = strings.ReplaceAll(name, "..", ".")
	}
	if len(name) > MaxFilename {
		ext := path.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		stem := name[:MaxFilename-len(ext)]
		for !utf8.ValidString(stem) {
			stem = stem[:len(stem)-1]
		}
		name = strings.TrimSpace(stem) + ext
	}
	if strings.Trim(name, "._-() +") == "" {
		return ""
	}
	return name
}

// CheckFile checks a file before it is attached: its name (sanitized),
// its size, and its type by extension and by its content
// (http.DetectContentType), which must agree. It returns the name kept
// and the type the file will be served as; the error is invalid, naming
// the field "file" and the limit.
func CheckFile(filename string, data []byte) (name, contentType string, err error) {
	bad := func(rule, msg string) error {
		return &errs.Error{Code: errs.CodeInvalid, Message: "the file cannot be attached",
			Fields: []errs.FieldError{{Field: "file", Rule: rule, Message: msg}}}
	}
	name = SanitizeFilename(filename)
	if name == "" {
		return "", "", bad("required", "send the file with its name (such as screenshot.png)")
	}
	if len(data) == 0 {
		return "", "", bad("required", "the file is empty")
	}
	if len(data) > MaxAttachmentBytes {
		return "", "", bad("size", fmt.Sprintf("a file is at most %d MiB (%d bytes); this one is larger", MaxAttachmentBytes>>20, MaxAttachmentBytes))
	}
	ext := strings.ToLower(path.Ext(name))
	ft, ok := fileTypes[ext]
	if !ok {
		return "", "", bad("type", fmt.Sprintf("files of type %q are not taken; attach one of %s", ext, AllowedExtensions))
	}
	sniff := http.DetectContentType(data)
	if !ft.sniffed(sniff, data) {
		return "", "", bad("type", fmt.Sprintf("the file is named %s but its content is %s, not %s: attach one of %s", ext, strings.SplitN(sniff, ";", 2)[0],
			strings.SplitN(ft.contentType, ";", 2)[0], AllowedExtensions))
	}
	return name, ft.contentType, nil
}

// AttachInput attaches a file to a ticket.
type AttachInput struct {
	Filename string
	Data     []byte
	// Internal files are for those who work the ticket.
	Internal bool
}

const attachmentColumns = `a.id, a.filename, a.content_type, a.size, a.sha256, a.internal, u.id, u.name, a.created_at`

func scanAttachment(row sqldb.Scanner) (*Attachment, error) {
	var a Attachment
	if err := row.Scan(&a.ID, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &a.Internal, &a.UploadedBy.ID, &a.UploadedBy.Name, &a.CreatedAt); err != nil {
		return nil, err
	}
	a.CreatedAt = a.CreatedAt.UTC()
	return &a, nil
}

// Attach attaches a file to a ticket. Those who may comment on it (its
// requester, watchers, whoever works it) attach files; internal ones only
// those who work it. A ticket holds at most MaxAttachments files of at
// most MaxAttachmentBytes, of the allowed types (CheckFile). Errors:
// not_found (a ticket p may not read), forbidden, invalid (the file),
// conflict (a closed or merged ticket, or one with its files full).
func (s *Service) Attach(ctx context.Context, p *access.Principal, ref string, in AttachInput) (*Attachment, error) {
	if p == nil {
		return nil, errs.Unauthenticated("sign in to attach files")
	}
	name, ct, err := CheckFile(in.Filename, in.Data)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(in.Data)
	a := &Attachment{ID: sqldb.NewID(), Filename: name, ContentType: ct, Size: int64(len(in.Data)), SHA256: hex.EncodeToString(sum[:]),
		Internal: in.Internal, UploadedBy: Ref{ID: p.UserID, Name: p.Name}}
	err = s.db.Tx(ctx, func(tx *sqldb.Tx) error {
		t, err := lock(ctx, tx, ref)
		if err != nil {
			return err
		}
		if !mayRead(ctx, tx, p, t) {
			return errs.NotFound("ticket %q not found", ref)
		}
		works := mayWork(ctx, tx, p, t)
		requester := t.Requester != nil && p.Owns(t.Requester.ID, access.TicketCreate)
		if !works && !requester && !isWatcher(ctx, tx, p, t) {
			return errs.Forbidden("only the requester, watchers and the people who work this ticket attach files to it")
		}
		if in.Internal && !works {
			return errs.Forbidden("internal files are for the people who work this ticket")
		}
		if t.MergedIntoID != "" {
			return errs.Conflict("this ticket was merged into another; attach the file there")
		}
		if t.State == StateClosed {
			return errs.Conflict("%s is closed: raise a new ticket", t.Reference)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM ticket_attachments WHERE ticket_id = $1`, t.ID).Scan(&n); err != nil {
			return sqldb.Err(err, "attachments")
		}
		if n >= MaxAttachments {
			return &errs.Error{Code: errs.CodeInvalid, Message: "the file cannot be attached",
				Fields: []errs.FieldError{{Field: "file", Rule: "count", Message: fmt.Sprintf("a ticket holds at most %d files; %s has %d", MaxAttachments, t.Reference, n)}}}
		}
		now := sqldb.Time(s.now())
		a.CreatedAt = now
		if _, err := tx.ExecContext(ctx, `INSERT INTO ticket_attachments (id, ticket_id, filename, content_type, size, sha256, data, internal, uploaded_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, a.ID, t.ID, a.Filename, a.ContentType, a.Size, a.SHA256, in.Data, a.Internal, p.UserID, now); err != nil {
			return sqldb.Err(err, "attachment")
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET updated_at = $1 WHERE id = $2`, now, t.ID); err != nil {
			return sqldb.Err(err, "ticket")
		}
		return s.audit(ctx, tx, p, audit.Entry{Action: "ticket.attach", ObjectType: "ticket", ObjectID: t.ID,
			After: map[string]any{"reference": t.Reference, "attachment": a}})
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

var attachmentOrder = sqldb.Order{Name: "attachments", Columns: []string{"a.created_at", "a.id"}}

// Attachments lists a page of a ticket's files, oldest first: the
// internal ones too for those who read its work notes.
func (s *Service) Attachments(ctx context.Context, p *access.Principal, ref string, pg sqldb.Page) (sqldb.Paged[*Attachment], error) {
	var none sqldb.Paged[*Attachment]
	t, err := s.Ticket(ctx, p, ref)
	if err != nil {
		return none, err
	}
	q := s.db.Read()
	args := sqldb.Args{t.ID}
	cond := " AND a.internal = FALSE"
	if readsNotes(ctx, q, p, t) {
		cond = ""
	}
	var at time.Time
	var id string
	seek, err := attachmentOrder.Seek(&args, pg, &at, &id)
	if err != nil {
		return none, err
	}
	rows, err := sqldb.QueryAll(ctx, q, "attachments", scanAttachment, `SELECT `+attachmentColumns+` FROM ticket_attachments a JOIN users u ON u.id = a.uploaded_by
		WHERE a.ticket_id = $1`+cond+` AND `+seek+attachmentOrder.By()+attachmentOrder.Limit(&args, pg), args...)
	if err != nil {
		return none, err
	}
	return sqldb.PageOf(rows, pg, attachmentOrder, func(a *Attachment) []any { return []any{a.CreatedAt, a.ID} }), nil
}

// AttachmentData reads one of a ticket's files with its content, for
// whoever may read the ticket (internal files: whoever reads its work
// notes); not_found otherwise.
func (s *Service) AttachmentData(ctx context.Context, p *access.Principal, ref, id string) (*Attachment, []byte, error) {
	t, err := s.Ticket(ctx, p, ref)
	if err != nil {
		return nil, nil, err
	}
	q := s.db.Read()
	var data []byte
	a, err := sqldb.QueryOne(ctx, q, fmt.Sprintf("attachment %q", id), func(row sqldb.Scanner) (*Attachment, error) {
		var a Attachment
		if err := row.Scan(&a.ID, &a.Filename, &a.ContentType, &a.Size, &a.SHA256, &a.Internal, &a.UploadedBy.ID, &a.UploadedBy.Name, &a.CreatedAt, &data); err != nil {
			return nil, err
		}
		a.CreatedAt = a.CreatedAt.UTC()
		return &a, nil
	}, `SELECT `+attachmentColumns+`, a.data FROM ticket_attachments a JOIN users u ON u.id = a.uploaded_by WHERE a.ticket_id = $1 AND a.id = $2`, t.ID, id)
	if err != nil {
		return nil, nil, err
	}
	if a.Internal && !readsNotes(ctx, q, p, t) {
		return nil, nil, errs.NotFound("attachment %q not found", id)
	}
	a.ContentType = SafeContentType(a.ContentType)
	return a, data, nil
}

// ServeAttachment writes an attachment so that no browser runs it: always
// a download (Content-Disposition: attachment), of a safe type (never
// HTML), not sniffed, sandboxed. The API and the portal both serve files
// through it.
func ServeAttachment(w http.ResponseWriter, a *Attachment, data []byte) error {
	h := w.Header()
	h.Set("Content-Type", SafeContentType(a.ContentType))
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, no-store")
	h.Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(http.StatusOK)
	_, err := w.Write(data)
	return err
}
