package network

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func openTestIPAM(t *testing.T, dir, subnet string) *IPAM {
	t.Helper()
	a, err := OpenIPAM(dir, "backend", netip.MustParsePrefix(subnet))
	if err != nil {
		t.Fatalf("OpenIPAM(%s): %v", subnet, err)
	}
	return a
}

func TestIPAMSubnets(t *testing.T) {
	tests := []struct {
		subnet   string
		wantErr  string // substring; "" means OpenIPAM must succeed
		gateway  string
		capacity int // addresses Allocate can hand out
	}{
		{subnet: "10.90.0.0/24", gateway: "10.90.0.1", capacity: 253},
		{subnet: "10.90.0.7/24", gateway: "10.90.0.1", capacity: 253}, // masked
		{subnet: "192.168.5.0/30", gateway: "192.168.5.1", capacity: 1},
		{subnet: "172.16.0.0/29", gateway: "172.16.0.1", capacity: 5},
		{subnet: "192.168.5.0/31", wantErr: "too small"},
		{subnet: "192.168.5.1/32", wantErr: "too small"},
		{subnet: "fd00::/64", wantErr: "not IPv4"},
		{subnet: "::ffff:10.0.0.0/120", wantErr: "not IPv4"},
	}
	for _, tt := range tests {
		t.Run(tt.subnet, func(t *testing.T) {
			a, err := OpenIPAM(t.TempDir(), "backend", netip.MustParsePrefix(tt.subnet))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("OpenIPAM(%s) error = %v, want one containing %q", tt.subnet, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("OpenIPAM(%s): %v", tt.subnet, err)
			}
			if got := a.Gateway().String(); got != tt.gateway {
				t.Errorf("Gateway() = %s, want %s", got, tt.gateway)
			}
			p := a.Subnet
			network := p.Addr()
			broadcast := a.broadcast()
			seen := map[netip.Addr]bool{}
			for i := 0; i < tt.capacity; i++ {
				addr, err := a.Allocate(fmt.Sprintf("c%d", i))
				if err != nil {
					t.Fatalf("Allocate #%d: %v", i, err)
				}
				if addr == a.Gateway() || addr == network || addr == broadcast || !p.Contains(addr) {
					t.Fatalf("Allocate #%d = %s: gateway, network, broadcast or outside %s", i, addr, p)
				}
				if seen[addr] {
					t.Fatalf("Allocate #%d = %s: handed out twice", i, addr)
				}
				seen[addr] = true
			}
			_, err = a.Allocate("one-too-many")
			want := fmt.Sprintf("network backend (%s) has no free address: %d in use", p, tt.capacity)
			if err == nil || err.Error() != want {
				t.Fatalf("Allocate on a full subnet: error = %v, want %q", err, want)
			}
		})
	}
}

func TestIPAMFirstAddresses(t *testing.T) {
	a := openTestIPAM(t, t.TempDir(), "10.90.0.0/24")
	for i, want := range []string{"10.90.0.2", "10.90.0.3", "10.90.0.4"} {
		got, err := a.Allocate(fmt.Sprintf("c%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want {
			t.Errorf("Allocate #%d = %s, want %s", i, got, want)
		}
	}
}

func TestIPAMAllocateIdempotent(t *testing.T) {
	a := openTestIPAM(t, t.TempDir(), "10.90.0.0/24")
	first, err := a.Allocate("web")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Allocate("db"); err != nil {
		t.Fatal(err)
	}
	again, err := a.Allocate("web")
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Fatalf("second Allocate(web) = %s, want the same %s", again, first)
	}
	all, err := a.Allocations()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("Allocations() = %v, want 2 entries", all)
	}
}

func TestIPAMRoundRobin(t *testing.T) {
	a := openTestIPAM(t, t.TempDir(), "10.90.0.0/29") // hosts .2-.6 allocatable
	must := func(id, want string) {
		t.Helper()
		got, err := a.Allocate(id)
		if err != nil {
			t.Fatalf("Allocate(%s): %v", id, err)
		}
		if got.String() != want {
			t.Fatalf("Allocate(%s) = %s, want %s", id, got, want)
		}
	}
	must("a", "10.90.0.2")
	must("b", "10.90.0.3")
	if err := a.Release("a"); err != nil {
		t.Fatal(err)
	}
	// .2 was just released: it is not reused at once.
	must("c", "10.90.0.4")
	must("d", "10.90.0.5")
	must("e", "10.90.0.6")
	// End of the subnet: wrap around to the first free address, .2.
	must("f", "10.90.0.2")
	if err := a.Release("d"); err != nil {
		t.Fatal(err)
	}
	// From .2 the next free one is .5 (.3, .4 taken, .6 taken).
	must("g", "10.90.0.5")
	if _, err := a.Allocate("h"); err == nil || !strings.Contains(err.Error(), "no free address: 5 in use") {
		t.Fatalf("Allocate on a full subnet: %v", err)
	}
	// Release of something that has no address is fine.
	if err := a.Release("nobody"); err != nil {
		t.Fatalf("Release(nobody): %v", err)
	}
}

func TestIPAMAllocateSpecific(t *testing.T) {
	a := openTestIPAM(t, t.TempDir(), "10.90.0.0/24")
	addr := netip.MustParseAddr("10.90.0.50")
	if err := a.AllocateSpecific("web", addr); err != nil {
		t.Fatalf("AllocateSpecific(web, %s): %v", addr, err)
	}
	if err := a.AllocateSpecific("web", addr); err != nil {
		t.Fatalf("AllocateSpecific again with the same address: %v", err)
	}
	if got, err := a.Allocate("web"); err != nil || got != addr {
		t.Fatalf("Allocate(web) = %s, %v; want its reserved %s", got, err, addr)
	}
	tests := []struct {
		id, addr, wantErr string
	}{
		{"db", "10.90.0.50", "already in use by container web"},
		{"web", "10.90.0.51", "already has address 10.90.0.50"},
		{"db", "10.91.0.5", "outside the subnet"},
		{"db", "10.90.0.0", "network address"},
		{"db", "10.90.0.1", "gateway"},
		{"db", "10.90.0.255", "broadcast"},
		{"db", "fd00::5", "not an IPv4"},
	}
	for _, tt := range tests {
		err := a.AllocateSpecific(tt.id, netip.MustParseAddr(tt.addr))
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("AllocateSpecific(%s, %s) error = %v, want one containing %q", tt.id, tt.addr, err, tt.wantErr)
		}
	}
	// Allocate skips a specifically reserved address.
	for i := 0; i < 60; i++ {
		got, err := a.Allocate(fmt.Sprintf("c%d", i))
		if err != nil {
			t.Fatal(err)
		}
		if got == addr {
			t.Fatalf("Allocate handed out %s, reserved by web", addr)
		}
	}
	// An IPv4-mapped IPv6 form of a free address is accepted as the IPv4 one.
	if err := a.AllocateSpecific("mapped", netip.MustParseAddr("::ffff:10.90.0.200")); err != nil {
		t.Fatalf("AllocateSpecific with an IPv4-mapped address: %v", err)
	}
	all, _ := a.Allocations()
	if got := all["mapped"].String(); got != "10.90.0.200" {
		t.Fatalf("mapped got %s, want 10.90.0.200", got)
	}
}

func TestIPAMReconcile(t *testing.T) {
	a := openTestIPAM(t, t.TempDir(), "10.90.0.0/24")
	for _, id := range []string{"alive1", "dead1", "alive2", "dead2"} {
		if _, err := a.Allocate(id); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := a.Allocations()
	freed, err := a.Reconcile(map[string]bool{"alive1": true, "alive2": true, "unallocated": true})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(freed, ",") != "dead1,dead2" {
		t.Fatalf("Reconcile freed %v, want [dead1 dead2]", freed)
	}
	after, _ := a.Allocations()
	if len(after) != 2 || after["alive1"] != before["alive1"] || after["alive2"] != before["alive2"] {
		t.Fatalf("after Reconcile: %v, want alive1 and alive2 unchanged from %v", after, before)
	}
	freed, err = a.Reconcile(map[string]bool{"alive1": true, "alive2": true})
	if err != nil || len(freed) != 0 {
		t.Fatalf("second Reconcile = %v, %v; want nothing freed", freed, err)
	}
	freed, err = a.Reconcile(nil)
	if err != nil || len(freed) != 2 {
		t.Fatalf("Reconcile(nil) = %v, %v; want both freed", freed, err)
	}
}

func TestIPAMPersistence(t *testing.T) {
	dir := t.TempDir()
	a := openTestIPAM(t, dir, "10.90.0.0/24")
	web, _ := a.Allocate("web")
	db, _ := a.Allocate("db")
	if err := a.Release("web"); err != nil {
		t.Fatal(err)
	}

	// A new instance (as a later minirun process) sees the table and
	// continues the round-robin where the first left off.
	b := openTestIPAM(t, dir, "10.90.0.0/24")
	all, err := b.Allocations()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all["db"] != db {
		t.Fatalf("Allocations() from a new instance = %v, want only db=%s", all, db)
	}
	next, err := b.Allocate("cache")
	if err != nil {
		t.Fatal(err)
	}
	if next == web || next != db.Next() {
		t.Fatalf("Allocate(cache) in a new instance = %s, want %s (after %s, not the released %s)", next, db.Next(), db, web)
	}

	// Other networks in the same dir are independent.
	other, err := OpenIPAM(dir, "frontend", netip.MustParsePrefix("10.90.0.0/24"))
	if err != nil {
		t.Fatal(err)
	}
	if all, _ := other.Allocations(); len(all) != 0 {
		t.Fatalf("network frontend sees %v", all)
	}

	// The same network with another subnet is refused.
	if _, err := OpenIPAM(dir, "backend", netip.MustParsePrefix("10.91.0.0/24")); err == nil ||
		!strings.Contains(err.Error(), "is for subnet 10.90.0.0/24") {
		t.Fatalf("OpenIPAM with another subnet: %v", err)
	}

	// No temporary files left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

func TestIPAMCorruptFile(t *testing.T) {
	tests := []struct {
		name, content, wantErr string
	}{
		{"not JSON", "{not json", "is corrupt"},
		{"empty", "", "is corrupt"},
		{"bad address", `{"subnet":"10.90.0.0/24","allocations":{"web":"10.90.0.x"}}`, "container web"},
		{"gateway allocated", `{"subnet":"10.90.0.0/24","allocations":{"web":"10.90.0.1"}}`, "gateway"},
		{"outside subnet", `{"subnet":"10.90.0.0/24","allocations":{"web":"10.1.0.5"}}`, "outside the subnet"},
		{"duplicate", `{"subnet":"10.90.0.0/24","allocations":{"a":"10.90.0.5","b":"10.90.0.5"}}`, "allocated to both"},
		{"bad subnet", `{"subnet":"x","allocations":{}}`, "subnet"},
		{"trailing", `{"subnet":"10.90.0.0/24","allocations":{}} {}`, "trailing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "backend.json")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := OpenIPAM(dir, "backend", netip.MustParsePrefix("10.90.0.0/24"))
			if err == nil {
				t.Fatal("OpenIPAM on a corrupt table succeeded")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q should name %s and contain %q", err, path, tt.wantErr)
			}
			// The file is left alone, not reset.
			if got, _ := os.ReadFile(path); string(got) != tt.content {
				t.Fatalf("corrupt file was changed to %q", got)
			}
		})
	}

	// Corruption after OpenIPAM shows up in every operation.
	dir := t.TempDir()
	a := openTestIPAM(t, dir, "10.90.0.0/24")
	if _, err := a.Allocate("web"); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "backend.json")
	if err := os.WriteFile(path, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Allocate("db"); err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("Allocate on a corrupt table: %v", err)
	}
	if err := a.Release("web"); err == nil {
		t.Fatal("Release on a corrupt table succeeded")
	}
	if _, err := a.Reconcile(nil); err == nil {
		t.Fatal("Reconcile on a corrupt table succeeded")
	}
	if _, err := a.Allocations(); err == nil {
		t.Fatal("Allocations on a corrupt table succeeded")
	}
}

func TestIPAMBadInput(t *testing.T) {
	p := netip.MustParsePrefix("10.90.0.0/24")
	for _, name := range []string{"", "../x", "a/b", ".hidden", "sp ace"} {
		if _, err := OpenIPAM(t.TempDir(), name, p); err == nil {
			t.Errorf("OpenIPAM with network name %q succeeded", name)
		}
	}
	if _, err := OpenIPAM(t.TempDir(), "backend", netip.Prefix{}); err == nil {
		t.Error("OpenIPAM with the zero prefix succeeded")
	}
	a := openTestIPAM(t, t.TempDir(), "10.90.0.0/24")
	if _, err := a.Allocate(""); err == nil {
		t.Error("Allocate with an empty ID succeeded")
	}
}

// TestIPAMFileFormat checks the table is readable JSON with the documented fields.
func TestIPAMFileFormat(t *testing.T) {
	dir := t.TempDir()
	a := openTestIPAM(t, dir, "10.90.0.0/24")
	if _, err := a.Allocate("web"); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "backend.json"))
	if err != nil {
		t.Fatal(err)
	}
	var tab struct {
		Subnet      string            `json:"subnet"`
		Last        string            `json:"last"`
		Allocations map[string]string `json:"allocations"`
	}
	if err := json.Unmarshal(data, &tab); err != nil {
		t.Fatal(err)
	}
	if tab.Subnet != "10.90.0.0/24" || tab.Last != "10.90.0.2" || tab.Allocations["web"] != "10.90.0.2" {
		t.Fatalf("table = %+v", tab)
	}
	if _, err := os.Stat(filepath.Join(dir, "backend.lock")); err != nil {
		t.Fatalf("lock file: %v", err)
	}
}

func TestIPAMConcurrentGoroutines(t *testing.T) {
	dir := t.TempDir()
	const n = 100
	var wg sync.WaitGroup
	addrs := make([]netip.Addr, n)
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			// Each goroutine its own IPAM value: nothing shared in memory.
			a, err := OpenIPAM(dir, "backend", netip.MustParsePrefix("10.90.0.0/24"))
			if err != nil {
				errs[i] = err
				return
			}
			addrs[i], errs[i] = a.Allocate(fmt.Sprintf("g%d", i))
		}(i)
	}
	wg.Wait()
	seen := map[netip.Addr]int{}
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		if j, dup := seen[addrs[i]]; dup {
			t.Fatalf("goroutines %d and %d both got %s", j, i, addrs[i])
		}
		seen[addrs[i]] = i
	}
	all, err := openTestIPAM(t, dir, "10.90.0.0/24").Allocations()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n {
		t.Fatalf("table lists %d allocations, want %d", len(all), n)
	}
}

const (
	ipamHelperDirEnv   = "MINIRUN_IPAM_HELPER_DIR"
	ipamHelperProcEnv  = "MINIRUN_IPAM_HELPER_PROC"
	ipamHelperStartEnv = "MINIRUN_IPAM_HELPER_START"
	ipamHelperCount    = 15
)

// TestIPAMHelperProcess is not a test: TestIPAMConcurrentProcesses runs the
// test binary again with this test selected and the environment set, so
// that several real processes race on the same table.
func TestIPAMHelperProcess(t *testing.T) {
	dir := os.Getenv(ipamHelperDirEnv)
	if dir == "" {
		t.Skip("helper process for TestIPAMConcurrentProcesses")
	}
	proc := os.Getenv(ipamHelperProcEnv)
	// Start together, so the processes really overlap.
	if ns, err := strconv.ParseInt(os.Getenv(ipamHelperStartEnv), 10, 64); err == nil {
		time.Sleep(time.Until(time.Unix(0, ns)))
	}
	a, err := OpenIPAM(dir, "backend", netip.MustParsePrefix("10.90.0.0/24"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "helper %s: %v\n", proc, err)
		os.Exit(2)
	}
	for i := 0; i < ipamHelperCount; i++ {
		id := fmt.Sprintf("p%s-%d", proc, i)
		addr, err := a.Allocate(id)
		if err != nil {
			fmt.Fprintf(os.Stderr, "helper %s: Allocate(%s): %v\n", proc, id, err)
			os.Exit(2)
		}
		fmt.Printf("IPAM-ALLOC %s %s\n", id, addr)
	}
	os.Exit(0)
}

func TestIPAMConcurrentProcesses(t *testing.T) {
	if os.Getenv(ipamHelperDirEnv) != "" {
		t.Skip("inside a helper process")
	}
	dir := t.TempDir()
	const procs = 8
	start := time.Now().Add(300 * time.Millisecond).UnixNano()
	type result struct {
		out    []byte
		stderr string
		err    error
	}
	results := make([]result, procs)
	var wg sync.WaitGroup
	for p := 0; p < procs; p++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestIPAMHelperProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(),
			ipamHelperDirEnv+"="+dir,
			ipamHelperProcEnv+"="+strconv.Itoa(p),
			ipamHelperStartEnv+"="+strconv.FormatInt(start, 10),
		)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatalf("start helper %d: %v", p, err)
		}
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			err := cmd.Wait()
			results[p] = result{out: stdout.Bytes(), stderr: stderr.String(), err: err}
		}(p)
	}
	wg.Wait()

	got := map[string]string{} // id -> addr
	owner := map[string]string{}
	for p, r := range results {
		if r.err != nil {
			t.Fatalf("helper %d: %v\nstdout:\n%s\nstderr:\n%s", p, r.err, r.out, r.stderr)
		}
		sc := bufio.NewScanner(bytes.NewReader(r.out))
		n := 0
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) != 3 || f[0] != "IPAM-ALLOC" {
				continue
			}
			id, addr := f[1], f[2]
			if other, dup := owner[addr]; dup {
				t.Fatalf("address %s handed out to both %s and %s", addr, other, id)
			}
			owner[addr] = id
			got[id] = addr
			n++
		}
		if n != ipamHelperCount {
			t.Fatalf("helper %d reported %d allocations, want %d; stdout:\n%s", p, n, ipamHelperCount, r.out)
		}
	}
	if len(owner) != procs*ipamHelperCount {
		t.Fatalf("%d distinct addresses, want %d", len(owner), procs*ipamHelperCount)
	}
	all, err := openTestIPAM(t, dir, "10.90.0.0/24").Allocations()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != procs*ipamHelperCount {
		t.Fatalf("table lists %d allocations, want %d", len(all), procs*ipamHelperCount)
	}
	for id, addr := range got {
		if all[id].String() != addr {
			t.Errorf("table has %s=%s, helper reported %s", id, all[id], addr)
		}
	}
}
