package web

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"

	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/middleware"
	"github.com/steward-itaas/steward/internal/sqldb"
)

// deskRelatedRoutes are a ticket's files, and its problem, parent and
// merge forms (issue 20, part two).
func (p *Portal) deskRelatedRoutes() []route {
	return []route{
		{"POST /tickets/{ref}/attachments", false, p.attachFile},
		{"GET /tickets/{ref}/attachments/{id}", false, p.downloadFile},
		{"POST /tickets/{ref}/problem", false, p.relatedAction("problem")},
		{"POST /tickets/{ref}/incidents", false, p.relatedAction("link")},
		{"POST /tickets/{ref}/incidents/{incident}/unlink", false, p.relatedAction("unlink")},
		{"POST /tickets/{ref}/merge", false, p.relatedAction("merge")},
		{"POST /tickets/{ref}/parent", false, p.relatedAction("parent")},
	}
}

// relatedAction records a problem, links or unlinks an incident, merges
// a duplicate or sets a parent, from the ticket page's forms.
func (p *Portal) relatedAction(action string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error { return p.related(w, r, action) }
}

func (p *Portal) related(w http.ResponseWriter, r *http.Request, action string) error {
	ctx, pr, ref := r.Context(), middleware.Principal(r.Context()), r.PathValue("ref")
	f := r.PostForm
	var t *desk.Ticket
	var err error
	var word string
	switch action {
	case "problem":
		rc, wa, ke := f.Get("root_cause"), f.Get("workaround"), f.Get("known_error") == "on"
		t, err = p.Desk.UpdateProblem(ctx, pr, ref, desk.ProblemInput{RootCause: &rc, Workaround: &wa, KnownError: &ke})
		word = "The problem's record is saved."
	case "link":
		t, err = p.Desk.LinkIncident(ctx, pr, ref, f.Get("incident"), true)
		word = "Linked: the incident shows the problem's workaround."
	case "unlink":
		t, err = p.Desk.LinkIncident(ctx, pr, ref, r.PathValue("incident"), false)
		word = "Unlinked."
	case "merge":
		t, err = p.Desk.Merge(ctx, pr, ref, desk.MergeInput{Into: f.Get("into")})
		word = "Merged: the duplicate is closed, its people watch the other ticket."
	default:
		t, err = p.Desk.SetParent(ctx, pr, ref, desk.ParentInput{Parent: f.Get("parent")})
		word = "The parent is set: this ticket is resolved with it."
		if f.Get("parent") == "" {
			word = "No parent any more."
		}
	}
	if err != nil {
		return reshow(p, w, r, "ticket", err, p.ticketView)
	}
	return p.redirect(w, r, "/tickets/"+url.PathEscape(t.Reference), word)
}

// maxFormUpload bounds a form with a file: the file and the form's other
// fields.
const maxFormUpload = desk.MaxAttachmentBytes + 64<<10

// parseMultipart reads a multipart/form-data body (a form with a file)
// whole, at most maxFormUpload bytes, into memory (nothing on disk), so
// its fields (the CSRF token first) are in r.PostForm. Other bodies are
// left to ParseForm.
func parseMultipart(w http.ResponseWriter, r *http.Request) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormUpload)
	if err := r.ParseMultipartForm(maxFormUpload + 1<<20); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &errs.Error{Code: errs.CodeInvalid, Message: "the file cannot be attached",
				Fields: []errs.FieldError{{Field: "file", Rule: "size", Message: "a file is at most " + strconv.Itoa(desk.MaxAttachmentBytes>>20) + " MiB"}}}
		}
		return errs.Invalid("the form could not be read")
	}
	return nil
}

// ticketRelated is what the ticket page shows of a ticket's files.
type ticketRelated struct {
	Attachments []*desk.Attachment
	// Attach: the reader may attach files (whoever may comment).
	Attach  bool
	Allowed string
	MaxMiB  int
}

func (p *Portal) ticketRelated(r *http.Request, d *desk.Detail) (ticketRelated, error) {
	rel := ticketRelated{Allowed: desk.AllowedExtensions, MaxMiB: desk.MaxAttachmentBytes >> 20,
		Attach: d.Access.Comment && d.State != desk.StateClosed && d.MergedIntoID == ""}
	files, err := p.Desk.Attachments(r.Context(), middleware.Principal(r.Context()), d.ID, sqldb.Page{Limit: desk.MaxAttachments})
	rel.Attachments = files.Items
	return rel, err
}

func (p *Portal) attachFile(w http.ResponseWriter, r *http.Request) error {
	ctx, pr, ref := r.Context(), middleware.Principal(r.Context()), r.PathValue("ref")
	in := desk.AttachInput{Internal: r.PostForm.Get("internal") == "on"}
	if r.MultipartForm != nil && len(r.MultipartForm.File["file"]) == 1 {
		fh := r.MultipartForm.File["file"][0]
		f, err := fh.Open()
		if err != nil {
			return errs.Invalid("the file could not be read")
		}
		in.Filename = fh.Filename
		in.Data, err = io.ReadAll(io.LimitReader(f, desk.MaxAttachmentBytes+1))
		f.Close()
		if err != nil {
			return errs.Invalid("the file could not be read")
		}
	}
	a, err := p.Desk.Attach(ctx, pr, ref, in)
	if err != nil {
		return reshow(p, w, r, "ticket", err, p.ticketView)
	}
	return p.redirect(w, r, "/tickets/"+url.PathEscape(ref), "Attached "+a.Filename+".")
}

func (p *Portal) downloadFile(w http.ResponseWriter, r *http.Request) error {
	a, data, err := p.Desk.AttachmentData(r.Context(), middleware.Principal(r.Context()), r.PathValue("ref"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return desk.ServeAttachment(w, a, data)
}
