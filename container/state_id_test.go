package container

import (
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
