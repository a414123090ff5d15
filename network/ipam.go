package network

// IP address management (IPAM): which container of a network owns which
// address of the network's subnet.
//
// Design notes, for workshop readers:
//
// Where the table lives. Every minirun command is a separate, short-lived
// process: `minirun run` allocates an address, a later `minirun rm` frees
// it, and two `minirun run` started at once from two shells must not pick
// the same address. So the table cannot live in memory; it is a small JSON
// file, dir/<network>.json, that every process reads, changes and writes
// back while holding an exclusive lock.
//
// Why a separate lock file and not a lock on the JSON file itself. The
// JSON file is rewritten atomically: the new table goes to a temporary
// file which is then rename(2)d over the old one, so a crash mid-write
// leaves either the old or the new table, never half of one. But rename
// swaps the inode behind the name. flock(2) locks an inode (through an
// open file description), so a lock taken on the old JSON file protects
// nothing once the rename is done: a process that opens the name after the
// rename gets the new inode and locks it at once, while the first process
// still believes it holds "the" lock. The lock file, dir/<network>.lock,
// is never replaced or deleted, so every process always locks the same
// inode. flock locks also belong to open file descriptions, not processes:
// two goroutines of one process that each open the lock file exclude each
// other just like two processes do, and the kernel drops the lock when a
// process dies, so a crashed minirun never leaves the network locked.
//
// Why round-robin. Allocate does not take the lowest free address but the
// next free one after the address it handed out last, wrapping around at
// the end of the subnet (Docker's IPAM does the same). An address that was
// just released is thus reused as late as possible. Other hosts may still
// hold the old container's MAC address in their ARP cache for that IP,
// connections to the old container may still be in flight, and a
// conntrack entry or a published-port rule may still point at it; handing
// the address straight to a new container would deliver that traffic to
// the wrong one.
//
// Why Reconcile. An allocation is freed when its container is removed.
// If minirun is killed (or the machine loses power) between creating a
// container and recording it, or between deleting it and releasing its
// address, the table keeps an address whose owner no longer exists, and
// the subnet slowly leaks. The next minirun run calls Reconcile with the
// IDs of the containers that still exist, and every other allocation is
// freed. The table is the single source of truth for addresses; the list
// of containers is the source of truth for which owners are alive.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// IPAM hands out addresses of one network's subnet to containers,
// persistently: the allocation table is a JSON file (Dir/<Network>.json)
// guarded by flock(2) on Dir/<Network>.lock, so concurrent minirun
// processes never hand out one address twice, and addresses survive
// restarts.
//
// The first host address of the subnet is the gateway (the bridge's
// address) and is never handed out, nor are the network and broadcast
// addresses. An IPAM holds no state in memory besides its configuration:
// every method locks, reads the file, and (if it changed something) writes
// it back, so several IPAM values, goroutines or processes may use the
// same directory at once.
type IPAM struct {
	Dir     string       // directory holding <Network>.json and <Network>.lock
	Network string       // network name, e.g. "minirun0"
	Subnet  netip.Prefix // IPv4, masked, at most /30

	tablePath string
	lockPath  string
}

// ipamTable is the on-disk format of dir/<network>.json.
type ipamTable struct {
	// Subnet the table was created for; opening it with another subnet is
	// an error rather than silently handing out addresses of two subnets.
	Subnet string `json:"subnet"`
	// Last is the address Allocate handed out most recently ("" if none):
	// the round-robin position.
	Last string `json:"last,omitempty"`
	// Allocations maps container ID to its address.
	Allocations map[string]string `json:"allocations"`
}

// ipamState is the parsed, validated form of ipamTable.
type ipamState struct {
	last   netip.Addr            // invalid if none
	byID   map[string]netip.Addr // container ID -> address
	byAddr map[netip.Addr]string // address -> container ID
}

// OpenIPAM returns the IPAM of network, whose table lives in dir (created
// if missing). subnet must be IPv4 with a prefix length of at most 30: a
// /31 or /32 has no room for a network address, a gateway, a broadcast
// address and a container. If the table already exists it is checked now,
// so a corrupt file or a subnet mismatch shows up at once.
func OpenIPAM(dir, network string, subnet netip.Prefix) (*IPAM, error) {
	if err := validNetworkName(network); err != nil {
		return nil, err
	}
	if !subnet.IsValid() {
		return nil, fmt.Errorf("network %s: invalid subnet", network)
	}
	if !subnet.Addr().Is4() {
		return nil, fmt.Errorf("network %s: subnet %s is not IPv4 (only IPv4 subnets are supported)", network, subnet)
	}
	if subnet.Bits() > 30 {
		return nil, fmt.Errorf("network %s: subnet %s is too small: need at most /30 (network, gateway, one container, broadcast)", network, subnet)
	}
	subnet = subnet.Masked()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("network %s: create IPAM directory: %w", network, err)
	}
	a := &IPAM{
		Dir:       dir,
		Network:   network,
		Subnet:    subnet,
		tablePath: filepath.Join(dir, network+".json"),
		lockPath:  filepath.Join(dir, network+".lock"),
	}
	// Check an existing table now (and create the lock file).
	if err := a.withLock(unix.LOCK_SH, func(*ipamState) (bool, error) { return false, nil }); err != nil {
		return nil, err
	}
	return a, nil
}

// validNetworkName rejects names that would escape dir or make odd file
// names: the name becomes part of two paths.
func validNetworkName(name string) error {
	if name == "" {
		return errors.New("network name is empty")
	}
	if strings.HasPrefix(name, ".") {
		return fmt.Errorf("network name %q must not start with '.'", name)
	}
	for _, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'
		if !ok {
			return fmt.Errorf("network name %q: only letters, digits, '-', '_' and '.' are allowed", name)
		}
	}
	return nil
}

// Gateway returns the subnet's first host address, reserved for the
// bridge.
func (a *IPAM) Gateway() netip.Addr {
	return a.Subnet.Addr().Next()
}

// broadcast returns the subnet's last address.
func (a *IPAM) broadcast() netip.Addr {
	n := addrToUint32(a.Subnet.Addr()) | (1<<(32-a.Subnet.Bits()) - 1)
	return uint32ToAddr(n)
}

// firstHost and lastHost bound the addresses Allocate may hand out.
func (a *IPAM) firstHost() netip.Addr { return a.Gateway().Next() }
func (a *IPAM) lastHost() netip.Addr  { return a.broadcast().Prev() }

// capacity is how many addresses can be handed out (all hosts but the
// gateway).
func (a *IPAM) capacity() int {
	return 1<<(32-a.Subnet.Bits()) - 3
}

// checkAllocatable says why addr cannot be handed out, or nil.
func (a *IPAM) checkAllocatable(addr netip.Addr) error {
	if !addr.IsValid() {
		return errors.New("invalid address")
	}
	if !addr.Is4() {
		return fmt.Errorf("%s is not an IPv4 address", addr)
	}
	if !a.Subnet.Contains(addr) {
		return fmt.Errorf("%s is outside the subnet %s", addr, a.Subnet)
	}
	switch addr {
	case a.Subnet.Addr():
		return fmt.Errorf("%s is the network address of %s", addr, a.Subnet)
	case a.Gateway():
		return fmt.Errorf("%s is the gateway of %s", addr, a.Subnet)
	case a.broadcast():
		return fmt.Errorf("%s is the broadcast address of %s", addr, a.Subnet)
	}
	return nil
}

// Allocate gives containerID an address: the same one again if it already
// has one, otherwise the next free address after the one handed out last
// (round-robin, wrapping at the end of the subnet).
func (a *IPAM) Allocate(containerID string) (netip.Addr, error) {
	if containerID == "" {
		return netip.Addr{}, errors.New("allocate address: empty container ID")
	}
	var got netip.Addr
	err := a.withLock(unix.LOCK_EX, func(s *ipamState) (bool, error) {
		if addr, ok := s.byID[containerID]; ok {
			got = addr
			return false, nil
		}
		if len(s.byAddr) >= a.capacity() {
			return false, fmt.Errorf("network %s (%s) has no free address: %d in use", a.Network, a.Subnet, len(s.byAddr))
		}
		first, last := a.firstHost(), a.lastHost()
		addr := first
		if s.last.IsValid() && s.last.Compare(first) >= 0 && s.last.Compare(last) < 0 {
			addr = s.last.Next()
		}
		// At least one address is free, so this ends within capacity steps.
		for {
			if _, used := s.byAddr[addr]; !used {
				break
			}
			if addr == last {
				addr = first
			} else {
				addr = addr.Next()
			}
		}
		s.byID[containerID] = addr
		s.byAddr[addr] = containerID
		s.last = addr
		got = addr
		return true, nil
	})
	if err != nil {
		return netip.Addr{}, err
	}
	return got, nil
}

// AllocateSpecific reserves addr for containerID (e.g. `--ip`). It is an
// error if addr is taken by another container, lies outside the subnet, is
// the network, gateway or broadcast address, or if containerID already has
// a different address. Reserving the address containerID already has is a
// no-op. The round-robin position does not move.
func (a *IPAM) AllocateSpecific(containerID string, addr netip.Addr) error {
	if containerID == "" {
		return errors.New("allocate address: empty container ID")
	}
	addr = addr.Unmap()
	if err := a.checkAllocatable(addr); err != nil {
		return fmt.Errorf("network %s: cannot allocate %s to container %s: %w", a.Network, addr, containerID, err)
	}
	return a.withLock(unix.LOCK_EX, func(s *ipamState) (bool, error) {
		if owner, ok := s.byAddr[addr]; ok {
			if owner == containerID {
				return false, nil
			}
			return false, fmt.Errorf("network %s: address %s is already in use by container %s", a.Network, addr, owner)
		}
		if have, ok := s.byID[containerID]; ok {
			return false, fmt.Errorf("network %s: container %s already has address %s (release it first)", a.Network, containerID, have)
		}
		s.byID[containerID] = addr
		s.byAddr[addr] = containerID
		return true, nil
	})
}

// Release frees containerID's address. It is not an error if it has none.
func (a *IPAM) Release(containerID string) error {
	return a.withLock(unix.LOCK_EX, func(s *ipamState) (bool, error) {
		addr, ok := s.byID[containerID]
		if !ok {
			return false, nil
		}
		delete(s.byID, containerID)
		delete(s.byAddr, addr)
		return true, nil
	})
}

// Reconcile frees every allocation whose container is not in alive and
// returns the freed container IDs, sorted. minirun calls it on start-up
// with the IDs of the containers that still exist, to recover addresses
// leaked by a crash.
func (a *IPAM) Reconcile(alive map[string]bool) ([]string, error) {
	var freed []string
	err := a.withLock(unix.LOCK_EX, func(s *ipamState) (bool, error) {
		for id, addr := range s.byID {
			if alive[id] {
				continue
			}
			delete(s.byID, id)
			delete(s.byAddr, addr)
			freed = append(freed, id)
		}
		return len(freed) > 0, nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(freed)
	return freed, nil
}

// Allocations returns a snapshot of the table: container ID -> address.
func (a *IPAM) Allocations() (map[string]netip.Addr, error) {
	var out map[string]netip.Addr
	err := a.withLock(unix.LOCK_SH, func(s *ipamState) (bool, error) {
		out = make(map[string]netip.Addr, len(s.byID))
		for id, addr := range s.byID {
			out[id] = addr
		}
		return false, nil
	})
	return out, err
}

// withLock takes the flock (LOCK_EX to change the table, LOCK_SH to read
// it), loads the table, runs fn, and if fn reports a change writes the
// table back atomically before the lock is dropped.
func (a *IPAM) withLock(how int, fn func(*ipamState) (changed bool, err error)) error {
	lf, err := os.OpenFile(a.lockPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("network %s: open IPAM lock: %w", a.Network, err)
	}
	// Closing the last descriptor of the open file description releases
	// the lock; no explicit LOCK_UN needed.
	defer lf.Close()
	for {
		err = unix.Flock(int(lf.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("network %s: lock %s: %w", a.Network, a.lockPath, err)
	}

	s, err := a.load()
	if err != nil {
		return err
	}
	changed, err := fn(s)
	if err != nil {
		return err
	}
	if !changed {
		return nil
	}
	if how != unix.LOCK_EX {
		// Programming error: never write under a shared lock.
		return fmt.Errorf("network %s: internal error: IPAM table changed under a shared lock", a.Network)
	}
	return a.store(s)
}

// load reads and validates the table. A missing file is an empty table; a
// file that does not parse or does not make sense is an error naming the
// file: silently starting afresh would hand out addresses that running
// containers still use.
func (a *IPAM) load() (*ipamState, error) {
	s := &ipamState{byID: map[string]netip.Addr{}, byAddr: map[netip.Addr]string{}}
	data, err := os.ReadFile(a.tablePath)
	if errors.Is(err, fs.ErrNotExist) {
		return s, nil
	}
	if err != nil {
		return nil, fmt.Errorf("network %s: read IPAM table: %w", a.Network, err)
	}
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("network %s: IPAM table %s is corrupt: %s (fix or remove the file; removing it forgets every allocation)",
			a.Network, a.tablePath, fmt.Sprintf(format, args...))
	}
	var t ipamTable
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&t); err != nil {
		return nil, corrupt("%v", err)
	}
	if dec.More() {
		return nil, corrupt("trailing data after the JSON object")
	}
	subnet, err := netip.ParsePrefix(t.Subnet)
	if err != nil {
		return nil, corrupt("subnet: %v", err)
	}
	if subnet != a.Subnet {
		return nil, fmt.Errorf("network %s: IPAM table %s is for subnet %s, not %s", a.Network, a.tablePath, subnet, a.Subnet)
	}
	if t.Last != "" {
		last, err := netip.ParseAddr(t.Last)
		if err != nil {
			return nil, corrupt("last: %v", err)
		}
		if err := a.checkAllocatable(last); err != nil {
			return nil, corrupt("last: %v", err)
		}
		s.last = last
	}
	for id, str := range t.Allocations {
		if id == "" {
			return nil, corrupt("allocation with an empty container ID")
		}
		addr, err := netip.ParseAddr(str)
		if err != nil {
			return nil, corrupt("container %s: %v", id, err)
		}
		if err := a.checkAllocatable(addr); err != nil {
			return nil, corrupt("container %s: %v", id, err)
		}
		if other, dup := s.byAddr[addr]; dup {
			return nil, corrupt("%s is allocated to both %s and %s", addr, other, id)
		}
		s.byID[id] = addr
		s.byAddr[addr] = id
	}
	return s, nil
}

// store writes the table atomically: a temporary file in the same
// directory (so the rename stays within one filesystem), fsync, rename
// over the old table, fsync the directory so the rename itself is durable.
func (a *IPAM) store(s *ipamState) error {
	t := ipamTable{Subnet: a.Subnet.String(), Allocations: make(map[string]string, len(s.byID))}
	if s.last.IsValid() {
		t.Last = s.last.String()
	}
	for id, addr := range s.byID {
		t.Allocations[id] = addr.String()
	}
	data, err := json.MarshalIndent(t, "", "  ") // maps marshal with sorted keys
	if err != nil {
		return fmt.Errorf("network %s: encode IPAM table: %w", a.Network, err)
	}
	data = append(data, '\n')

	tmp, err := os.CreateTemp(a.Dir, a.Network+".json.tmp-*")
	if err != nil {
		return fmt.Errorf("network %s: write IPAM table: %w", a.Network, err)
	}
	tmpName := tmp.Name()
	fail := func(err error) error {
		tmp.Close()
		os.Remove(tmpName)
		return fmt.Errorf("network %s: write IPAM table %s: %w", a.Network, a.tablePath, err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fail(err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := tmp.Sync(); err != nil {
		return fail(err)
	}
	if err := tmp.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmpName, a.tablePath); err != nil {
		os.Remove(tmpName)
		return fmt.Errorf("network %s: write IPAM table %s: %w", a.Network, a.tablePath, err)
	}
	if d, err := os.Open(a.Dir); err == nil {
		d.Sync() // best effort: some filesystems refuse fsync on directories
		d.Close()
	}
	return nil
}

func addrToUint32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func uint32ToAddr(n uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}
