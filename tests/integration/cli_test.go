package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The CLI as scripts and shells use it, on a real container: --format
// templates and json of ps and inspect, and bash completion of its name.
func TestCLIFormatAndCompletion(t *testing.T) {
	name := "cli-compl-web"
	run(t, 0, "run", "-d", "--network", "none", "--name", name, "busybox", "sleep", "120")
	t.Cleanup(func() { minirun(t, "", "rm", "-f", name) })

	// ps --format: a Go template with Docker's field names...
	r := run(t, 0, "ps", "--format", "{{.Names}} {{.State}} {{.Image}}")
	if !strings.Contains(r.stdout, name+" running busybox") {
		t.Fatalf("ps --format template:\n%s", r.stdout)
	}
	// ...and json: one object per line.
	r = run(t, 0, "ps", "-a", "--format", "json")
	found := false
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		var m map[string]string
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("ps --format json line %q: %v", line, err)
		}
		if m["Names"] == name {
			found = m["State"] == "running" && strings.HasPrefix(m["Status"], "Up") && len(m["ID"]) == 12 && m["RunningFor"] != ""
		}
	}
	if !found {
		t.Fatalf("ps --format json: no running %s with Docker's fields:\n%s", name, r.stdout)
	}
	// inspect -f: the PID is the container's init, which the kernel knows.
	r = run(t, 0, "inspect", "-f", "{{.State.Pid}}", name)
	pid, err := strconv.Atoi(strings.TrimSpace(r.stdout))
	if err != nil || pid <= 1 {
		t.Fatalf("inspect -f '{{.State.Pid}}': %q", r.stdout)
	}
	if cmdline, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline")); err != nil || !strings.HasPrefix(string(cmdline), "sleep\x00") {
		t.Fatalf("PID %d is not the container's sleep: %q %v", pid, cmdline, err)
	}

	// bash: the completion script loads and completes the container's name.
	const bashCompletion = "/usr/share/bash-completion/bash_completion"
	if _, err := os.Stat(bashCompletion); err != nil {
		t.Skip("bash completion: the Debian package bash-completion is not installed")
	}
	script := filepath.Join(t.TempDir(), "minirun.bash")
	if err := os.WriteFile(script, []byte(run(t, 0, "completion", "bash").stdout), 0o644); err != nil {
		t.Fatal(err)
	}
	complete := func(words ...string) []string {
		t.Helper()
		// COMP_WORDS as bash fills them when TAB is pressed after words.
		const driver = `source ` + bashCompletion + ` && source "$SCRIPT" || exit 1
complete -p minirun || exit 1
COMP_WORDS=("$BIN" "$@"); COMP_CWORD=$#; COMP_LINE="${COMP_WORDS[*]}"; COMP_POINT=${#COMP_LINE}
__start_minirun 2>/dev/null
printf 'reply:%s\n' "${COMPREPLY[@]}"`
		cmd := exec.Command("bash", append([]string{"-c", driver, "bash"}, words...)...)
		cmd.Env = append(minirunEnv(), "SCRIPT="+script, "BIN="+bin)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "complete -o default -F __start_minirun minirun") {
			t.Fatalf("bash completion script does not load: %v\n%s", err, out)
		}
		var replies []string
		for _, l := range strings.Split(string(out), "\n") {
			if v, ok := strings.CutPrefix(l, "reply:"); ok && v != "" {
				replies = append(replies, v)
			}
		}
		return replies
	}
	if got := complete("inspect", "cli-compl-"); len(got) != 1 || got[0] != name {
		t.Fatalf("inspect cli-compl-<TAB>: %q, want [%s]", got, name)
	}
	if got := complete("network", "l"); len(got) != 1 || got[0] != "ls" {
		t.Fatalf("network l<TAB>: %q", got)
	}
}

// A bad configuration file stops every command with exit 125 and a message
// naming the file, the line and the key.
func TestCLIBadConfigFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte("{\n  \"data_root\": \"/var/lib/minirun\",\n  \"log_levl\": \"debug\"\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "ps")
	cmd.Env = append(minirunEnv(), "MINIRUN_CONFIG="+path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, _ := cmd.Output()
	if cmd.ProcessState.ExitCode() != 125 || len(out) != 0 {
		t.Fatalf("exit %d, stdout %q; want 125 and nothing on stdout", cmd.ProcessState.ExitCode(), out)
	}
	if msg := stderr.String(); !strings.Contains(msg, path+":3") || !strings.Contains(msg, `"log_levl"`) || !strings.Contains(msg, `"log_level"`) {
		t.Fatalf("stderr does not name file:line and key: %q", msg)
	}
}
