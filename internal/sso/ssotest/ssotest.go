// Package ssotest starts a real OpenID provider for tests: zitadel/oidc's
// example provider (its OP library, login page and in-memory storage),
// served over HTTP on 127.0.0.1, with users the test controls and extra
// claims (groups, department) in their userinfo. It speaks the whole
// protocol itself: discovery, authorization with PKCE, its own login form,
// the token endpoint, signed ID tokens, JWKS and userinfo.
package ssotest

import (
	"context"
	"net"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/text/language"
)

// User is a person the provider knows.
type User struct {
	ID, Username, Password string
	FirstName, LastName    string
	Email                  string
	EmailVerified          bool
	// Claims are added to the userinfo answer (groups, department, …).
	Claims map[string]any
}

// OP is a running provider.
type OP struct {
	// Issuer is the provider's issuer URL (http://127.0.0.1:port).
	Issuer string
	// ClientID and ClientSecret are the confidential web client the
	// provider knows, with the redirect URIs Start was given.
	ClientID, ClientSecret string

	users *users
}

// Start serves a provider until the test ends, with one web client that
// may redirect to redirectURIs.
func Start(t testing.TB, redirectURIs ...string) *OP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	op := &OP{Issuer: "http://" + ln.Addr().String(), ClientID: "steward", ClientSecret: "steward-client-secret",
		users: &users{m: map[string]*User{}}}
	client := storage.WebClient(op.ClientID, op.ClientSecret, redirectURIs...)
	st := &claimsStorage{Storage: storage.NewStorageWithClients(op.users, map[string]*storage.Client{op.ClientID: client}), users: op.users}
	srv := httptest.NewUnstartedServer(exampleop.SetupServer(op.Issuer, st, nil, false))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return op
}

// SetUser adds a user, or changes one with the same ID: what the provider
// says of them from the next sign-in on.
func (o *OP) SetUser(u User) {
	o.users.mu.Lock()
	defer o.users.mu.Unlock()
	c := u
	o.users.m[u.ID] = &c
}

// users is the provider's user store.
type users struct {
	mu sync.Mutex
	m  map[string]*User
}

func (u *users) storageUser(x *User) *storage.User {
	if x == nil {
		return nil
	}
	return &storage.User{ID: x.ID, Username: x.Username, Password: x.Password, FirstName: x.FirstName, LastName: x.LastName,
		Email: x.Email, EmailVerified: x.EmailVerified, PreferredLanguage: language.English}
}

func (u *users) GetUserByID(id string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.storageUser(u.m[id])
}

func (u *users) GetUserByUsername(name string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, x := range u.m {
		if x.Username == name {
			return u.storageUser(x)
		}
	}
	return nil
}

func (u *users) ExampleClientID() string { return storage.ServiceUserID }

func (u *users) claims(id string) map[string]any {
	u.mu.Lock()
	defer u.mu.Unlock()
	if x := u.m[id]; x != nil {
		return x.Claims
	}
	return nil
}

// claimsStorage is the example storage with each user's extra claims in
// the userinfo answer.
type claimsStorage struct {
	*storage.Storage
	users *users
}

func (s *claimsStorage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin); err != nil {
		return err
	}
	for k, v := range s.users.claims(info.Subject) {
		info.AppendClaims(k, v)
	}
	return nil
}
