package api

import (
	"net/http"
	"strconv"

	"github.com/steward-itaas/steward/internal/errs"
	"github.com/steward-itaas/steward/internal/notify"
)

// The caller's notifications, their preferences, and the mail log.

func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	f := notify.Filter{Page: pg}
	if v := r.URL.Query().Get("unread"); v != "" {
		if f.Unread, err = strconv.ParseBool(v); err != nil {
			var bad errs.Validator
			bad.Add("unread", "boolean", "unread is true or false")
			return bad.Err("a query parameter is not valid")
		}
	}
	l, err := s.Notify.List(ctx(r), principal(r), f)
	if err != nil {
		return err
	}
	return writeList(w, r, l)
}

func (s *Server) countNotifications(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.Notify.Preferences(ctx(r), principal(r)); err != nil {
		return err // who has no inbox is told why, not shown 0
	}
	n, err := s.Notify.Unread(ctx(r), principal(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int{"unread": n})
}

func (s *Server) readNotification(w http.ResponseWriter, r *http.Request) error {
	n, err := s.Notify.MarkRead(ctx(r), principal(r), r.PathValue("id"))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, n)
}

func (s *Server) readAllNotifications(w http.ResponseWriter, r *http.Request) error {
	n, err := s.Notify.MarkAllRead(ctx(r), principal(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]int64{"marked": n})
}

func (s *Server) getNotificationPreferences(w http.ResponseWriter, r *http.Request) error {
	pr, err := s.Notify.Preferences(ctx(r), principal(r))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pr)
}

func (s *Server) putNotificationPreferences(w http.ResponseWriter, r *http.Request) error {
	var in notify.Preferences
	if err := decode(w, r, &in); err != nil {
		return err
	}
	pr, err := s.Notify.SetPreferences(ctx(r), principal(r), in)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, pr)
}

func (s *Server) listMails(w http.ResponseWriter, r *http.Request) error {
	pg, err := pageParams(r)
	if err != nil {
		return err
	}
	l, err := s.Notify.Mails(ctx(r), principal(r), notify.MailFilter{Status: r.URL.Query().Get("status"), Page: pg})
	if err != nil {
		return err
	}
	return writeList(w, r, l)
}
