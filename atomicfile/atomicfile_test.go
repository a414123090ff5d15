package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestWriteFile: a new file, a replaced one (same name, the new content,
// no temporary left), and readers running alongside that only ever see a
// whole old or whole new content.
func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	if err := WriteFile(p, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	a := make([]byte, 4096)
	b := make([]byte, 8192)
	for i := range a {
		a[i] = 'a'
	}
	for i := range b {
		b[i] = 'b'
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	bad := make(chan string, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := os.ReadFile(p)
			if err != nil {
				select {
				case bad <- "read: " + err.Error():
				default:
				}
				return
			}
			if s := string(got); s != "one" && s != string(a) && s != string(b) {
				select {
				case bad <- fmt.Sprintf("a torn or mixed content: %d bytes, %.8q...", len(got), got):
				default:
				}
				return
			}
		}
	}()
	for i := 0; i < 300; i++ {
		data := a
		if i%2 == 1 {
			data = b
		}
		if err := WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	select {
	case msg := <-bad:
		t.Fatal(msg)
	default:
	}
	got, _ := os.ReadFile(p)
	if string(got) != string(b) {
		t.Fatalf("last content: %d bytes, want the last write's %d", len(got), len(b))
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("files left in the directory: %v", ents)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", fi.Mode())
	}
}

// Create makes a new file with its content, and refuses one that exists,
// leaving it as it was.
func TestCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.json")
	if err := Create(path, []byte("first"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Create(path, []byte("second"), 0o600); !errors.Is(err, os.ErrExist) {
		t.Errorf("Create over an existing file: %v, want os.ErrExist", err)
	}
	b, err := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if err != nil || string(b) != "first" || fi.Mode().Perm() != 0o600 {
		t.Errorf("content %q (%v), mode %v; want \"first\", 0600", b, err, fi.Mode().Perm())
	}
}
