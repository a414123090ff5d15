package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/minirun/minirun/trace"
)

// slirp4netns: user-mode networking for an ordinary user's container.
//
// Without root there is no veth pair, bridge or NAT rule to make: those
// need CAP_NET_ADMIN in the host's network namespace. slirp4netns (man 1
// slirp4netns) joins the container's user and network namespaces, makes a
// TAP device there (tap0, 10.0.2.100/24, gateway 10.0.2.2, DNS 10.0.2.3)
// and, back on the host side, turns the container's packets into ordinary
// socket calls of the user (libslirp, the user-mode TCP/IP stack of QEMU).
// The container reaches what the user can reach, as the user.

// SlirpAddress, SlirpGateway and SlirpDNS are slirp4netns's defaults
// (--cidr=10.0.2.0/24).
const (
	SlirpAddress = "10.0.2.100"
	SlirpGateway = "10.0.2.2"
	SlirpDNS     = "10.0.2.3"
	SlirpTap     = "tap0"
)

// Slirp is a running slirp4netns.
type Slirp struct {
	cmd  *exec.Cmd
	exit *os.File // our end of --exit-fd: closing it ends slirp4netns
	api  string   // its API socket ("" without)
}

// SlirpPath is slirp4netns's path, or "" if it is not installed.
func SlirpPath() string {
	p, err := exec.LookPath("slirp4netns")
	if err != nil {
		return ""
	}
	return p
}

// SlirpUsable tells why slirp4netns cannot work here, or nil: it must be
// installed, and the user must be able to open /dev/net/tun (Debian's
// udev rule makes it 0666; a host with 0600 keeps TAP devices for root).
func SlirpUsable() error {
	if SlirpPath() == "" {
		return errors.New("slirp4netns is not installed (Debian: apt-get install slirp4netns)")
	}
	if err := syscall.Access("/dev/net/tun", 0o6); err != nil { // R_OK|W_OK
		return fmt.Errorf("slirp4netns needs /dev/net/tun, which this user cannot open (%v): make it mode 0666 as Debian's udev rule does", err)
	}
	return nil
}

// SlirpConfig are StartSlirp's choices.
type SlirpConfig struct {
	// APISocket, if not "", is where slirp4netns listens for its API
	// (AddHostFwd); a path of at most 107 bytes (sockaddr_un).
	APISocket string
	// Detached: slirp4netns must outlive us (a detached container's
	// launcher exits once the container runs). Without it, it gets an
	// exit fd (--exit-fd) whose other end only we hold: it ends when we
	// do, even if we are killed. Detached, it ends when it is killed by
	// PID (Pid, and the caller records it).
	Detached bool
}

// StartSlirp connects the network namespace of process pid (and its user
// namespace, which slirp4netns joins too) to the user-mode stack and
// returns once tap0 is configured. host loopback (10.0.2.2 → the host's
// 127.0.0.1) is disabled: a container must not reach the user's local
// services by default.
func StartSlirp(pid int, cfg SlirpConfig) (s *Slirp, err error) {
	path := SlirpPath()
	if path == "" {
		return nil, errors.New("slirp4netns is not installed (Debian: apt-get install slirp4netns)")
	}
	if len(cfg.APISocket) > 107 {
		return nil, fmt.Errorf("slirp4netns's API socket path %s is longer than 107 bytes (sockaddr_un): use a shorter state root (XDG_RUNTIME_DIR)", cfg.APISocket)
	}
	var closeAfter []*os.File // our copies of what the child got
	defer func() {
		for _, f := range closeAfter {
			f.Close()
		}
	}()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer readyR.Close()
	closeAfter = append(closeAfter, readyW)
	// Its messages: a file, unlinked at once, that we read if it fails
	// (a pipe would break once a detached slirp4netns outlives us).
	log, err := os.CreateTemp("", "minirun-slirp4netns-*.log")
	if err != nil {
		return nil, err
	}
	os.Remove(log.Name())
	defer log.Close()
	args := []string{"--configure", "--mtu=65520", "--disable-host-loopback", "--ready-fd=3"}
	extra := []*os.File{readyW}
	s = &Slirp{api: cfg.APISocket}
	if !cfg.Detached {
		exitR, exitW, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		closeAfter = append(closeAfter, exitR)
		s.exit = exitW
		args = append(args, "--exit-fd=4")
		extra = append(extra, exitR)
	}
	if cfg.APISocket != "" {
		args = append(args, "--api-socket="+cfg.APISocket)
	}
	cmd := exec.Command(path, append(args, strconv.Itoa(pid), SlirpTap)...)
	end := trace.StepFn("network", "connect the container's network namespace to a user-mode TCP/IP stack", "slirp4netns(1)",
		func() string { return strings.Join(cmd.Args, " ") })
	defer func() { end(err) }()
	cmd.ExtraFiles = extra
	cmd.Stderr = log
	// Its own process group: a Ctrl-C meant for the container's terminal
	// must not end the container's network.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		if s.exit != nil {
			s.exit.Close()
		}
		return nil, fmt.Errorf("start slirp4netns: %w", err)
	}
	s.cmd = cmd
	for _, f := range closeAfter {
		f.Close()
	}
	closeAfter = nil
	// It writes "1" to the ready fd once tap0 is up; EOF means it died.
	ready := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		n, err := readyR.Read(b)
		if n == 1 {
			err = nil
		} else if err == nil {
			err = errors.New("no ready byte")
		}
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-time.After(10 * time.Second):
		err = errors.New("not ready after 10 s")
	}
	if err != nil {
		s.Stop()
		msg, _ := os.ReadFile("/proc/self/fd/" + strconv.Itoa(int(log.Fd())))
		return nil, fmt.Errorf("slirp4netns for process %d: %v: %s", pid, err, strings.TrimSpace(string(msg)))
	}
	return s, nil
}

// AddHostFwd forwards hostIP:hostPort of the host (hostIP "" is every
// address) to the container's port: slirp4netns listens there as the
// user and connects to 10.0.2.100:guestPort inside (its API,
// "add_hostfwd", one JSON request per connection; see man 1 slirp4netns).
// An ordinary user cannot listen on ports below 1024 of the host
// (net.ipv4.ip_unprivileged_port_start).
func (s *Slirp) AddHostFwd(proto, hostIP string, hostPort, guestPort uint16) error {
	if s.api == "" {
		return errors.New("slirp4netns was started without an API socket")
	}
	if hostIP == "" {
		hostIP = "0.0.0.0"
	}
	req := map[string]any{"execute": "add_hostfwd", "arguments": map[string]any{
		"proto": proto, "host_addr": hostIP, "host_port": hostPort, "guest_addr": SlirpAddress, "guest_port": guestPort}}
	trace.NoteFn("network", "publish a port through slirp4netns's API", "slirp4netns(1)", func() string {
		b, _ := json.Marshal(req)
		return string(b)
	})
	conn, err := net.Dial("unix", s.api)
	if err != nil {
		return fmt.Errorf("slirp4netns API: %w", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return fmt.Errorf("slirp4netns API: %w", err)
	}
	_ = conn.(*net.UnixConn).CloseWrite()
	var reply struct {
		Error *struct {
			Desc string `json:"desc"`
		} `json:"error"`
	}
	b, err := io.ReadAll(conn)
	if err == nil {
		err = json.Unmarshal(b, &reply)
	}
	if err != nil {
		return fmt.Errorf("slirp4netns API: reply %q: %w", b, err)
	}
	if reply.Error != nil {
		return fmt.Errorf("forward %s:%d/%s to the container's port %d: slirp4netns: %s", hostIP, hostPort, proto, guestPort, reply.Error.Desc)
	}
	return nil
}

// Pid is slirp4netns's process ID.
func (s *Slirp) Pid() int { return s.cmd.Process.Pid }

// Stop ends slirp4netns (closing its exit fd, then SIGKILL if it does not
// go within a second; a detached one at once) and reaps it.
func (s *Slirp) Stop() {
	if s == nil {
		return
	}
	if s.exit != nil {
		s.exit.Close()
	} else {
		_ = s.cmd.Process.Kill()
	}
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
}
