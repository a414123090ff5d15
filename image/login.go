package image

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Credentials live where Docker keeps them, in the same format, so that
// `docker login` and `minirun login` share them: $DOCKER_CONFIG/config.json,
// else ~/.docker/config.json, with "auths": {"registry": {"auth":
// base64("user:password")}}. (Credential helpers named there are used for
// reading by go-containerregistry's keychain; minirun writes plain auths.)

// DockerConfigPath is the Docker client configuration file in use.
func DockerConfigPath() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json")
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		home = "/root"
	}
	return filepath.Join(home, ".docker", "config.json")
}

// registryKey is how Docker names a registry in config.json: Docker Hub is
// "https://index.docker.io/v1/", others by host[:port].
func registryKey(registry string) (string, name.Registry, error) {
	if registry == "" || registry == "docker.io" || registry == "index.docker.io" || registry == "registry-1.docker.io" {
		reg, err := name.NewRegistry("index.docker.io")
		return "https://index.docker.io/v1/", reg, err
	}
	host := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(registry, "https://"), "http://"), "/")
	var opts []name.Option
	if isLocalRegistry(host) {
		opts = append(opts, name.Insecure)
	}
	reg, err := name.NewRegistry(host, opts...)
	if err != nil {
		return "", reg, fmt.Errorf("invalid registry %q: %w", registry, err)
	}
	return host, reg, nil
}

// isLocalRegistry: like Docker, plain HTTP is allowed for loopback only.
func isLocalRegistry(host string) bool {
	h := host
	if i := strings.LastIndex(h, ":"); i > 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	return h == "localhost" || strings.HasPrefix(h, "127.") || h == "[::1]"
}

// Login checks user and password against the registry (GET /v2/ with the
// registry's own authentication handshake, basic or bearer token) and, when
// they work, stores them in the Docker config file. It returns the
// registry's name as stored.
func Login(ctx context.Context, registry, user, password string) (string, error) {
	key, reg, err := registryKey(registry)
	if err != nil {
		return "", err
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: user, Password: password})
	tr, err := transport.NewWithContext(ctx, reg, auth, http.DefaultTransport, []string{reg.Scope(transport.PullScope)})
	if err != nil {
		return "", fmt.Errorf("log in to %s: %w", key, err)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s://%s/v2/", reg.Scheme(), reg.RegistryStr()), nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return "", fmt.Errorf("log in to %s: %w", key, err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return "", fmt.Errorf("log in to %s: the registry refused user %q: check the user name and password", key, user)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("log in to %s: GET /v2/ answered %s", key, resp.Status)
	}
	return key, updateDockerConfig(func(auths map[string]any) {
		auths[key] = map[string]any{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password))}
	})
}

// Logout removes the stored credentials of a registry.
func Logout(registry string) (string, error) {
	key, _, err := registryKey(registry)
	if err != nil {
		return "", err
	}
	found := false
	err = updateDockerConfig(func(auths map[string]any) {
		_, found = auths[key]
		delete(auths, key)
	})
	if err == nil && !found {
		err = fmt.Errorf("not logged in to %s", key)
	}
	return key, err
}

// updateDockerConfig rewrites config.json's "auths", keeping every other
// key of the file as it was, with mode 0600 (it holds secrets).
func updateDockerConfig(change func(auths map[string]any)) error {
	p := DockerConfigPath()
	cfg := map[string]any{}
	if b, err := os.ReadFile(p); err == nil {
		if err := json.Unmarshal(b, &cfg); err != nil {
			return fmt.Errorf("%s is not valid JSON (%v): fix or move it", p, err)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	auths, _ := cfg["auths"].(map[string]any)
	if auths == nil {
		auths = map[string]any{}
	}
	change(auths)
	cfg["auths"] = auths
	b, err := json.MarshalIndent(cfg, "", "\t")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, p)
}
