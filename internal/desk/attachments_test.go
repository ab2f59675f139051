package desk_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/access"
	"github.com/steward-itaas/steward/internal/desk"
	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/sqldb"
)

var pngHeader = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00")

func fieldRule(t *testing.T, err error, field, rule, what string) {
	t.Helper()
	e := errs.As(err)
	if e.Code != errs.CodeInvalid || len(e.Fields) != 1 || e.Fields[0].Field != field || e.Fields[0].Rule != rule {
		t.Fatalf("%s: got %v (%+v), want invalid %s/%s", what, err, e.Fields, field, rule)
	}
}

// TestAttachments: the requester attaches a screenshot and a log to her
// incident; the agent adds an internal file she never sees; files of the
// wrong type, too large, or beyond the ticket's count are refused with
// the limit named and nothing written; someone of another org unit reads
// none of them (issue 20).
func TestAttachments(t *testing.T) {
	f := newFixture(t)
	dana, alex := f.as("dana@contoso.example"), f.as("alex@it.contoso.example")
	mia := f.person("mia@contoso.example", access.RoleConsumer, "MFG", "")
	tk := must(f.a.Desk.Raise(f.ctx, dana, desk.RaiseInput{Service: "desktop", Summary: "The printer prints blank pages"}))(t)

	shot := must(f.a.Desk.Attach(f.ctx, dana, tk.Reference, desk.AttachInput{Filename: `C:\Users\dana\Desktop\screen "shot".PNG`, Data: pngHeader}))(t)
	if shot.Filename != "screen _shot_.PNG" || shot.ContentType != "image/png" || shot.Size != int64(len(pngHeader)) || len(shot.SHA256) != 64 {
		t.Errorf("attached %+v, want a sanitized PNG", shot)
	}
	must(f.a.Desk.Attach(f.ctx, dana, tk.Reference, desk.AttachInput{Filename: "spooler.log", Data: []byte("12:00 job 42 stuck\n")}))(t)
	note := must(f.a.Desk.Attach(f.ctx, alex, tk.Reference, desk.AttachInput{Filename: "driver-dump.txt", Data: []byte("internal dump"), Internal: true}))(t)

	// Forbidden: an internal file from the requester, anything from
	// someone who may not read the ticket.
	_, err := f.a.Desk.Attach(f.ctx, dana, tk.Reference, desk.AttachInput{Filename: "a.txt", Data: []byte("x"), Internal: true})
	wantCode(t, err, errs.CodeForbidden, "the requester attaching an internal file")
	_, err = f.a.Desk.Attach(f.ctx, mia, tk.Reference, desk.AttachInput{Filename: "a.txt", Data: []byte("x")})
	wantCode(t, err, errs.CodeNotFound, "another org unit's consumer attaching")

	// Bad files: the field error names the limit.
	bad := []struct {
		name, file string
		data       []byte
		rule       string
	}{
		{"HTML named as text", "readme.txt", []byte("<html><script>alert(1)</script></html>"), "type"},
		{"an HTML page", "page.html", []byte("<html></html>"), "type"},
		{"an SVG image", "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`), "type"},
		{"an executable named as a PNG", "setup.png", append([]byte("MZ\x90\x00"), make([]byte, 64)...), "type"},
		{"an executable", "setup.exe", append([]byte("MZ\x90\x00"), make([]byte, 64)...), "type"},
		{"a file without a name", "../", []byte("x"), "required"},
		{"an empty file", "empty.txt", nil, "required"},
		{"a file over 10 MiB", "big.txt", bytes.Repeat([]byte("a"), desk.MaxAttachmentBytes+1), "size"},
	}
	for _, b := range bad {
		_, err := f.a.Desk.Attach(f.ctx, dana, tk.Reference, desk.AttachInput{Filename: b.file, Data: b.data})
		fieldRule(t, err, "file", b.rule, b.name)
		if b.rule == "size" && !strings.Contains(errs.As(err).Fields[0].Message, "10 MiB") {
			t.Errorf("the size error %q does not name the limit", errs.As(err).Fields[0].Message)
		}
	}

	// What each reads: Dana her two, Alex all three, Mia nothing.
	list := func(p *access.Principal) []string {
		t.Helper()
		var names []string
		pg := sqldb.Page{Limit: 1}
		for {
			got := must(f.a.Desk.Attachments(f.ctx, p, tk.Reference, pg))(t)
			for _, a := range got.Items {
				names = append(names, a.Filename)
			}
			if got.Next == "" {
				return names
			}
			pg.Cursor = got.Next
		}
	}
	if got := list(dana); strings.Join(got, ",") != "screen _shot_.PNG,spooler.log" {
		t.Errorf("Dana lists %v", got)
	}
	if got := list(alex); len(got) != 3 {
		t.Errorf("Alex lists %v, want 3 files", got)
	}
	_, err = f.a.Desk.Attachments(f.ctx, mia, tk.Reference, sqldb.Page{})
	wantCode(t, err, errs.CodeNotFound, "another org unit's consumer listing")
	_, _, err = f.a.Desk.AttachmentData(f.ctx, dana, tk.Reference, note.ID)
	wantCode(t, err, errs.CodeNotFound, "the requester reading an internal file")
	_, _, err = f.a.Desk.AttachmentData(f.ctx, mia, tk.Reference, shot.ID)
	wantCode(t, err, errs.CodeNotFound, "another org unit's consumer downloading")
	a, data, err := f.a.Desk.AttachmentData(f.ctx, dana, tk.Reference, shot.ID)
	if err != nil || !bytes.Equal(data, pngHeader) || a.ContentType != "image/png" {
		t.Fatalf("download: %+v %d bytes %v", a, len(data), err)
	}
	if _, data, err := f.a.Desk.AttachmentData(f.ctx, alex, tk.Reference, note.ID); err != nil || string(data) != "internal dump" {
		t.Errorf("Alex downloading the internal file: %q %v", data, err)
	}

	// At most 20 files a ticket: the 21st is refused, nothing written.
	for i := 3; i < desk.MaxAttachments; i++ {
		must(f.a.Desk.Attach(f.ctx, alex, tk.Reference, desk.AttachInput{Filename: "n.txt", Data: []byte("n")}))(t)
	}
	_, err = f.a.Desk.Attach(f.ctx, alex, tk.Reference, desk.AttachInput{Filename: "one-too-many.txt", Data: []byte("n")})
	fieldRule(t, err, "file", "count", "the 21st file")
	var n int
	if err := f.a.DB.Read().QueryRowContext(f.ctx, `SELECT COUNT(*) FROM ticket_attachments WHERE ticket_id = $1`, tk.ID).Scan(&n); err != nil || n != desk.MaxAttachments {
		t.Errorf("%d files stored (%v), want %d", n, err, desk.MaxAttachments)
	}
}

func TestSanitizeFilename(t *testing.T) {
	for in, want := range map[string]string{
		"report.pdf":                      "report.pdf",
		"../../etc/passwd":                "passwd",
		`..\..\boot.ini`:                  "boot.ini",
		".htaccess":                       "htaccess",
		"a\x00b\r\nc.txt":                 "a_b__c.txt",
		`x"; filename=evil.html.txt`:      "x__ filename_evil.html.txt",
		"Zeugnis Müller.pdf":              "Zeugnis Müller.pdf",
		"...":                             "",
		"":                                "",
		strings.Repeat("a", 300) + ".png": strings.Repeat("a", desk.MaxFilename-4) + ".png",
	} {
		if got := desk.SanitizeFilename(in); got != want {
			t.Errorf("SanitizeFilename(%q) = %q, want %q", in, got, want)
		}
	}
}
