package container

import (
	"encoding/json"
	"strings"
	"testing"
)

// ValidateID accepts exactly [a-zA-Z0-9][a-zA-Z0-9_.-]* up to 1024 bytes.
func TestValidateID(t *testing.T) {
	good := []string{"a", "Z9", "web-1", "a_b.c-d", "0", strings.Repeat("x", 1024),
		"4681b3576db5891e64fef84c09e807b368ef16ad8eb9a4e239dd4f69b3412ae6"}
	bad := []string{"", "-a", ".a", "_a", "a/b", "../x", "a b", "a\x00", "é", "a:b",
		strings.Repeat("x", 1025), "a\n"}
	for _, id := range good {
		if err := ValidateID(id); err != nil {
			t.Errorf("ValidateID(%q) = %v, want nil", id, err)
		}
	}
	for _, id := range bad {
		if err := ValidateID(id); err == nil {
			t.Errorf("ValidateID(%q) = nil, want an error", id)
		}
	}
}

// start and delete read config.json for poststart and poststop hooks only
// when the state says it may have some; a state written before minirun
// recorded that (no "laterHooks") may.
func TestStateLaterHooks(t *testing.T) {
	for _, c := range []struct {
		json string
		want bool
	}{
		{`{"id":"a","status":"created"}`, true},
		{`{"id":"a","status":"created","laterHooks":true}`, true},
		{`{"id":"a","status":"created","laterHooks":false}`, false},
	} {
		var s State
		if err := json.Unmarshal([]byte(c.json), &s); err != nil {
			t.Fatal(err)
		}
		if got := s.laterHooks(); got != c.want {
			t.Errorf("%s: laterHooks %v, want %v", c.json, got, c.want)
		}
	}
}
