package image

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// TestPullBearerToken is Docker Hub's scheme: the registry answers 401 with
// "Bearer realm=<token server>"; the client asks the token server (with
// user:pass, or anonymously) for a token scoped to the repository, then
// retries with "Authorization: Bearer <token>".
func TestPullBearerToken(t *testing.T) {
	const token = "secret-token"
	var realm string
	pr := newPullReg(t, func(w http.ResponseWriter, r *http.Request, next http.Handler) {
		if r.URL.Path == "/token" {
			if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "pass" {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			if !strings.Contains(r.URL.Query().Get("scope"), "repository:private/hello:") {
				http.Error(w, "bad scope", http.StatusBadRequest)
				return
			}
			json.NewEncoder(w).Encode(map[string]string{"token": token})
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`",service="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r)
	})
	realm = "http://" + pr.host + "/token"
	ref := pr.push(t, "private/hello:v1", helloImage(t), remote.WithAuth(&authn.Basic{Username: "user", Password: "pass"}))

	s := openStore(t)
	_, err := s.Pull(t.Context(), ref, PullOptions{Keychain: anonymous})
	if !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "minirun login "+pr.host) {
		t.Fatalf("anonymous pull of a private repository: %v", err)
	}
	img, err := s.Pull(t.Context(), ref, PullOptions{Keychain: authn.NewMultiKeychain(pullKeychain{"user", "pass"})})
	if err != nil {
		t.Fatalf("pull with a token: %v", err)
	}
	if _, err := s.Get(img.Ref); err != nil {
		t.Fatal(err)
	}
}
