package api_test

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/steward-itaas/steward/internal/desk"
)

// upload sends a file as multipart/form-data (with extra form fields).
func (c *checker) upload(path, token, filename string, data []byte, fields map[string]string, want int, validate bool) resp {
	c.t.Helper()
	return c.uploadKeyed(path, token, "", filename, data, fields, want, validate)
}

// uploadKeyed is upload with an Idempotency-Key.
func (c *checker) uploadKeyed(path, token, key, filename string, data []byte, fields map[string]string, want int, validate bool) resp {
	c.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	if key != "" {
		mw.SetBoundary("steward-test-boundary") // the same body each time
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if filename != "" {
		fw, _ := mw.CreateFormFile("file", filename)
		fw.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", c.base+path, bytes.NewReader(body.Bytes()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	return c.exchange(req, body.Bytes(), want, validate)
}

// deskAttachScenario drives the attachments of a ticket (issue 20): the
// requester attaches a log, the agent an internal file; each reads what
// they may; a download is always an attachment of a safe type; bad files
// are refused naming the limit.
func deskAttachScenario(t *testing.T, e *env, retail string) {
	c := e.check
	_, buyer := e.user(t, "attach-buyer@example.com", retail, map[string]any{"role": "consumer", "scope_kind": "org_unit", "scope_id": retail})
	var groups struct{ Items []struct{ ID, Name string } }
	c.do("GET", "/api/v1/groups", e.admin, nil, 200).decode(t, &groups)
	agentID, agent := e.user(t, "attach-agent@example.com", retail, map[string]any{"role": "consumer", "scope_kind": "org_unit", "scope_id": retail})
	for _, g := range groups.Items {
		if g.Name == "Storage team" {
			c.do("PUT", "/api/v1/groups/"+g.ID+"/members/"+agentID, e.admin, nil, 200)
		}
	}
	var lab idOnly
	c.do("POST", "/api/v1/org-units", e.admin, map[string]any{"kind": "business_unit", "code": "ATTLAB", "name": "Attachment lab"}, 201).decode(t, &lab)
	_, outsider := e.user(t, "attach-outsider@example.com", lab.ID, map[string]any{"role": "consumer", "scope_kind": "org_unit", "scope_id": lab.ID})

	var tk desk.Detail
	c.do("POST", "/api/v1/tickets", buyer, map[string]any{"service": "object-storage", "summary": "Uploads time out"}, 201).decode(t, &tk)
	base := "/api/v1/tickets/" + tk.Reference + "/attachments"

	var log, dump desk.Attachment
	res := c.upload(base, buyer, "../gateway.log", []byte("10:01 upload timed out after 30 s\n"), nil, 201, true)
	res.decode(t, &log)
	if log.Filename != "gateway.log" || log.Internal || log.Size != 34 || !strings.HasSuffix(res.header.Get("Location"), "/attachments/"+log.ID) {
		t.Errorf("attached %+v at %s", log, res.header.Get("Location"))
	}
	c.upload(base, agent, "heap.txt", []byte("internal heap dump"), map[string]string{"internal": "true"}, 201, true).decode(t, &dump)
	// Sent twice with one Idempotency-Key (a 9 MiB file, larger than any
	// other route's body): one file, the same answer.
	nine := bytes.Repeat([]byte("log line\n"), 9<<20/9)
	var once, twice desk.Attachment
	c.uploadKeyed(base, buyer, "attach-once", "big.log", nine, nil, 201, false).decode(t, &once)
	again := c.uploadKeyed(base, buyer, "attach-once", "big.log", nine, nil, 201, false)
	again.decode(t, &twice)
	if once.ID != twice.ID || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("an upload sent twice with one key: %s then %s (replayed %q)", once.ID, twice.ID, again.header.Get("Idempotent-Replayed"))
	}
	c.upload(base, buyer, "note.txt", []byte("x"), map[string]string{"internal": "true"}, 403, true)
	c.upload(base, outsider, "note.txt", []byte("x"), nil, 404, true)

	// Bad files, each refused with a field error naming the limit.
	if f := c.upload(base, buyer, "page.html", []byte("<html><script>alert(1)</script>"), nil, 422, true).problemFields(); len(f) != 1 || f[0] != "file" {
		t.Errorf("an HTML page: fields %v, want file", f)
	}
	big := c.upload(base, buyer, "big.txt", bytes.Repeat([]byte("a"), desk.MaxAttachmentBytes+1), nil, 422, false)
	if f := big.problemFields(); len(f) != 1 || f[0] != "file" || !strings.Contains(string(big.body), "10 MiB") {
		t.Errorf("an 11 MiB file: %s", big.body)
	}
	c.upload(base, buyer, "", nil, map[string]string{"internal": "false"}, 422, false)
	c.bad("POST", base, buyer, map[string]any{"file": "x"}, 422)

	var list struct{ Items []desk.Attachment }
	c.do("GET", base, buyer, nil, 200).decode(t, &list)
	if len(list.Items) != 2 || list.Items[0].ID != log.ID || list.Items[1].ID != once.ID {
		t.Errorf("the requester lists %+v, want her log and her big log", list.Items)
	}
	c.do("GET", base+"?limit=1", agent, nil, 200).decode(t, &list)
	if len(list.Items) != 1 {
		t.Errorf("a page of one: %+v", list.Items)
	}
	c.do("GET", base, agent, nil, 200)
	c.do("GET", base, outsider, nil, 404)

	dl := c.do("GET", base+"/"+log.ID, buyer, nil, 200)
	h := dl.header
	if string(dl.body) != "10:01 upload timed out after 30 s\n" || h.Get("Content-Type") != "text/plain; charset=utf-8" || h.Get("X-Content-Type-Options") != "nosniff" ||
		!strings.HasPrefix(h.Get("Content-Disposition"), "attachment;") || !strings.Contains(h.Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("download: %q with %v", dl.body, h)
	}
	c.do("GET", base+"/"+dump.ID, buyer, nil, 404)
	c.do("GET", base+"/"+dump.ID, agent, nil, 200)
	c.do("GET", base+"/"+log.ID, outsider, nil, 404)

	deskProblemScenario(t, e, retail, buyer, agent, outsider, tk)
}

// deskProblemScenario: the agent records a problem's root cause and
// workaround, links the buyer's incident to it (she sees the workaround),
// finds it among the known errors; merges a duplicate and makes a child
// incident that resolves with its parent.
func deskProblemScenario(t *testing.T, e *env, retail, buyer, agent, outsider string, inc desk.Detail) {
	c := e.check
	var prb, d desk.Detail
	c.do("POST", "/api/v1/tickets", agent, map[string]any{"kind": "problem", "service": "object-storage", "org_unit": retail, "summary": "Gateway runs out of memory"}, 201).decode(t, &prb)
	pref := "/api/v1/tickets/" + prb.Reference
	if f := c.bad("POST", pref+"/problem", agent, map[string]any{"known_error": true}, 422).problemFields(); len(f) != 1 || f[0] != "known_error" {
		t.Errorf("a known error without a record: fields %v", f)
	}
	c.do("POST", pref+"/problem", buyer, map[string]any{"root_cause": "x"}, 404)
	c.do("POST", pref+"/problem", agent, map[string]any{"root_cause": "The gateway's heap is 512 MiB", "workaround": "Retry the upload", "known_error": true}, 200).decode(t, &d)
	if !d.KnownError || d.Workaround != "Retry the upload" {
		t.Errorf("the problem's record: %+v", d.Related)
	}
	c.bad("POST", pref+"/incidents", agent, map[string]any{"incident": prb.Reference}, 422)
	c.do("POST", pref+"/incidents", agent, map[string]any{"incident": inc.Reference}, 200).decode(t, &d)
	if len(d.Incidents) != 1 || d.Incidents[0].ID != inc.ID {
		t.Errorf("the problem's incidents: %+v", d.Incidents)
	}
	c.do("GET", "/api/v1/tickets/"+inc.Reference, buyer, nil, 200).decode(t, &d)
	if d.Problem == nil || d.Problem.Workaround != "Retry the upload" {
		t.Errorf("the buyer's incident shows %+v, want the workaround", d.Problem)
	}
	var list struct{ Items []desk.Ticket }
	c.do("GET", "/api/v1/tickets?known_error=true", agent, nil, 200).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != prb.ID {
		t.Errorf("the known errors: %+v", list.Items)
	}
	c.bad("GET", "/api/v1/tickets?known_error=maybe", agent, nil, 422)
	c.do("DELETE", pref+"/incidents/"+inc.Reference, outsider, nil, 404)
	c.do("DELETE", pref+"/incidents/"+inc.Reference, agent, nil, 200)
	c.do("DELETE", pref+"/incidents/"+inc.Reference, agent, nil, 422)

	// A duplicate, and a child of a major incident.
	var dup, major, child desk.Detail
	c.do("POST", "/api/v1/tickets", buyer, map[string]any{"service": "object-storage", "summary": "Uploads time out again"}, 201).decode(t, &dup)
	c.do("POST", "/api/v1/tickets", buyer, map[string]any{"service": "object-storage", "summary": "Bucket listing slow"}, 201).decode(t, &child)
	c.do("POST", "/api/v1/tickets", agent, map[string]any{"service": "object-storage", "org_unit": retail, "summary": "Storage cluster degraded", "impact": 1}, 201).decode(t, &major)
	c.do("POST", "/api/v1/tickets/"+dup.Reference+"/merge", agent, map[string]any{"into": prb.Reference}, 422)
	c.do("POST", "/api/v1/tickets/"+dup.Reference+"/merge", buyer, map[string]any{"into": inc.Reference}, 403)
	c.do("POST", "/api/v1/tickets/"+dup.Reference+"/merge", agent, map[string]any{"into": inc.Reference}, 200).decode(t, &d)
	if d.State != desk.StateClosed || d.MergedInto == nil || d.MergedInto.ID != inc.ID {
		t.Errorf("merged: %s into %+v", d.State, d.MergedInto)
	}
	c.do("POST", "/api/v1/tickets/"+child.Reference+"/parent", agent, map[string]any{"parent": major.Reference}, 200).decode(t, &d)
	if d.Parent == nil || d.Parent.ID != major.ID {
		t.Errorf("the child's parent: %+v", d.Parent)
	}
	if f := c.do("POST", "/api/v1/tickets/"+major.Reference+"/parent", agent, map[string]any{"parent": child.Reference}, 422).problemFields(); len(f) != 1 || f[0] != "parent" {
		t.Errorf("a cycle: fields %v", f)
	}
	c.do("POST", "/api/v1/tickets/"+major.Reference+"/move", agent, map[string]any{"to": "resolved", "resolution": "Replaced the failed disk"}, 200)
	c.do("GET", "/api/v1/tickets/"+child.Reference, buyer, nil, 200).decode(t, &d)
	if d.State != desk.StateResolved || d.Ticket.Resolution != "Replaced the failed disk" {
		t.Errorf("the child after its parent's resolution: %s %q", d.State, d.Ticket.Resolution)
	}
}
