package image

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
)

// A registry on loopback that wants user:pass (basic authentication).
func basicAuthRegistry(t *testing.T) string {
	reg := registry.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "user" || p != "pass" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func TestLoginLogout(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"credsStore":"","other":1}`), 0o600)
	host := basicAuthRegistry(t)
	if _, err := Login(context.Background(), host, "user", "wrong"); err == nil || !strings.Contains(err.Error(), "refused user") {
		t.Fatalf("wrong password: %v", err)
	}
	key, err := Login(context.Background(), host, "user", "pass")
	if err != nil || key != host {
		t.Fatalf("login: %q %v", key, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	var cfg map[string]any
	json.Unmarshal(b, &cfg)
	auths := cfg["auths"].(map[string]any)
	if auths[host].(map[string]any)["auth"] != "dXNlcjpwYXNz" || cfg["other"] != float64(1) {
		t.Fatalf("config.json: %s", b)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "config.json")); fi.Mode().Perm() != 0o600 {
		t.Errorf("config.json mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := Logout(host); err != nil {
		t.Fatal(err)
	}
	if _, err := Logout(host); err == nil {
		t.Fatal("second logout succeeded")
	}
}
