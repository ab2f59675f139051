package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
)

// deskAttachRoutes are the service desk's attachments, problems and
// their incidents, merges and parents (issue 20, part two).
func (s *Server) deskAttachRoutes() []Route {
	return []Route{
		{Method: "GET", Path: "/api/v1/tickets/{ref}/attachments", handler: s.ticketAttachments},
		{Method: "POST", Path: "/api/v1/tickets/{ref}/attachments", handler: s.attachToTicket},
		{Method: "GET", Path: "/api/v1/tickets/{ref}/attachments/{id}", handler: s.downloadAttachment},
		{Method: "POST", Path: "/api/v1/tickets/{ref}/problem", handler: s.updateProblem},
		{Method: "POST", Path: "/api/v1/tickets/{ref}/incidents", handler: s.linkIncident},
		{Method: "DELETE", Path: "/api/v1/tickets/{ref}/incidents/{incident}", handler: s.unlinkIncident},
		{Method: "POST", Path: "/api/v1/tickets/{ref}/merge", handler: s.mergeTicket},
		{Method: "POST", Path: "/api/v1/tickets/{ref}/parent", handler: s.setParent},
	}
}

func (s *Server) updateProblem(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[desk.ProblemInput](w, r)
	if err != nil {
		return err
	}
	t, err := s.Desk.UpdateProblem(ctx(r), principal(r), r.PathValue("ref"), in)
	return s.detail(w, r, t, err)
}

func (s *Server) linkIncident(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[struct {
		Incident string `json:"incident"`
	}](w, r)
	if err != nil {
		return err
	}
	t, err := s.Desk.LinkIncident(ctx(r), principal(r), r.PathValue("ref"), in.Incident, true)
	return s.detail(w, r, t, err)
}

func (s *Server) unlinkIncident(w http.ResponseWriter, r *http.Request) error {
	t, err := s.Desk.LinkIncident(ctx(r), principal(r), r.PathValue("ref"), r.PathValue("incident"), false)
	return s.detail(w, r, t, err)
}

func (s *Server) mergeTicket(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[desk.MergeInput](w, r)
	if err != nil {
		return err
	}
	t, err := s.Desk.Merge(ctx(r), principal(r), r.PathValue("ref"), in)
	return s.detail(w, r, t, err)
}

func (s *Server) setParent(w http.ResponseWriter, r *http.Request) error {
	in, err := decodeObject[desk.ParentInput](w, r)
	if err != nil {
		return err
	}
	t, err := s.Desk.SetParent(ctx(r), principal(r), r.PathValue("ref"), in)
	return s.detail(w, r, t, err)
}

// maxUploadBytes bounds an upload's whole body: the file and the form's
// few other fields and boundaries.
const maxUploadBytes = desk.MaxAttachmentBytes + 64<<10

func fileError(rule, msg string) error {
	return &errs.Error{Code: errs.CodeInvalid, Message: "the file cannot be attached", Fields: []errs.FieldError{{Field: "file", Rule: rule, Message: msg}}}
}

// readUpload reads a multipart/form-data upload: the part "file" (at most
// desk.MaxAttachmentBytes) and the field "internal". The body is read
// once, bounded, into memory; nothing goes to disk.
func readUpload(w http.ResponseWriter, r *http.Request) (desk.AttachInput, error) {
	var in desk.AttachInput
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return in, errs.Invalid("send the file as multipart/form-data, in the field \"file\"")
	}
	tooBig := func(err error) bool {
		var mb *http.MaxBytesError
		return errors.As(err, &mb)
	}
	sizeMsg := "a file is at most " + strconv.Itoa(desk.MaxAttachmentBytes>>20) + " MiB (" + strconv.Itoa(desk.MaxAttachmentBytes) + " bytes); this one is larger"
	r.Body = http.MaxBytesReader(w, r.Body, maxUploadBytes)
	mr, err := r.MultipartReader()
	if err != nil {
		return in, errs.Invalid("the multipart body could not be read: %v", err)
	}
	seen := false
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if tooBig(err) {
				return in, fileError("size", sizeMsg)
			}
			return in, errs.Invalid("the multipart body could not be read: %v", err)
		}
		switch part.FormName() {
		case "file":
			if seen {
				return in, fileError("count", "send one file a request")
			}
			seen = true
			in.Filename = part.FileName()
			in.Data, err = io.ReadAll(io.LimitReader(part, desk.MaxAttachmentBytes+1))
			if err != nil {
				if tooBig(err) {
					return in, fileError("size", sizeMsg)
				}
				return in, errs.Invalid("the file could not be read: %v", err)
			}
			if len(in.Data) > desk.MaxAttachmentBytes {
				return in, fileError("size", sizeMsg)
			}
		case "internal":
			v, err := io.ReadAll(io.LimitReader(part, 16))
			if err != nil {
				return in, errs.Invalid("the field internal could not be read: %v", err)
			}
			switch strings.ToLower(strings.TrimSpace(string(v))) {
			case "true", "on", "1":
				in.Internal = true
			case "false", "off", "0", "":
			default:
				return in, &errs.Error{Code: errs.CodeInvalid, Message: "the file cannot be attached",
					Fields: []errs.FieldError{{Field: "internal", Rule: "type", Message: "internal is true or false"}}}
			}
		default:
			return in, &errs.Error{Code: errs.CodeInvalid, Message: "the upload has a field the API does not know",
				Fields: []errs.FieldError{{Field: part.FormName(), Rule: "unknown", Message: "send only file and internal"}}}
		}
	}
	if !seen {
		return in, fileError("required", "send the file in the multipart field \"file\"")
	}
	return in, nil
}

func (s *Server) attachToTicket(w http.ResponseWriter, r *http.Request) error {
	in, err := readUpload(w, r)
	if err != nil {
		return err
	}
	a, err := s.Desk.Attach(ctx(r), principal(r), r.PathValue("ref"), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/tickets/"+r.PathValue("ref")+"/attachments/"+a.ID)
	return writeJSON(w, http.StatusCreated, a)
}

func (s *Server) ticketAttachments(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	out, err := s.Desk.Attachments(ctx(r), principal(r), r.PathValue("ref"), pg)
	if err != nil {
		return err
	}
	return writeList(w, r, out)
}

func (s *Server) downloadAttachment(w http.ResponseWriter, r *http.Request) error {
	a, data, err := s.Desk.AttachmentData(ctx(r), principal(r), r.PathValue("ref"), r.PathValue("id"))
	if err != nil {
		return err
	}
	return desk.ServeAttachment(w, a, data)
}
