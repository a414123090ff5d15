package container

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/affinity"
	"github.com/minirun/minirun/namespaces"
	"github.com/minirun/minirun/namespaces/nsenter"
	"github.com/minirun/minirun/timerslack"
	"github.com/minirun/minirun/trace"
)

// ExecInit is the container side of Exec. It runs in the process that
// nsenter.c cloned: already in every namespace of the container and in its
// cgroup, as root, on the main OS thread (main locks it). It reads the
// process from the sync socket, applies what the container's init applies
// before its own execve (finalize), and execs the program. It never
// returns.
func ExecInit() {
	CheckStamp()
	// As init's: every CPU the container's cgroup allows, whatever CPUs
	// `minirun exec` ran on (affinity/doc.go).
	affinity.ReleaseToAll()
	timerslack.TakeEnv()
	setProcessName("minirun:[exec]")
	trace.StartChild("exec")
	fd, err := strconv.Atoi(os.Getenv(nsenter.Env))
	if err != nil || fd < 3 {
		fmt.Fprintf(os.Stderr, "minirun exec-init: %s=%q is not a descriptor\n", nsenter.Env, os.Getenv(nsenter.Env))
		os.Exit(1)
	}
	if !nsenter.Enabled {
		// Without the constructor this process is still on the host:
		// running anything here would run it outside the container.
		fmt.Fprintln(os.Stderr, "minirun exec-init:", ErrNoCgo)
		os.Exit(1)
	}
	sock := os.NewFile(uintptr(fd), "sync")
	unix.CloseOnExec(fd)
	var cfg execConfig
	if err := readFrame(sock, &cfg); err != nil || cfg.Process == nil {
		fmt.Fprintf(os.Stderr, "minirun exec-init: read the process: %v\n", err)
		os.Exit(1)
	}
	p := cfg.Process
	err = joinedCgroup(cfg.CgroupJoin)
	path := ""
	if err == nil {
		path, err = execSetup(&cfg)
	}
	if err != nil {
		_ = json.NewEncoder(sock).Encode(errorMsg(err))
		os.Exit(1)
	}
	if err := json.NewEncoder(sock).Encode(syncMsg{Type: "exec"}); err != nil {
		os.Exit(1)
	}
	traceExec(path, p.Args)
	err = Released(func() error { return unix.Exec(path, p.Args, p.Env) })
	// Still here: execve failed. The socket is still open (it closes only
	// on success), so the reason reaches `minirun exec`.
	kind := errnoKind(err)
	_ = json.NewEncoder(sock).Encode(errorMsg(&namespaces.ExecError{Name: p.Args[0], Msg: err.Error(), Err: kind}))
	if kind == namespaces.ErrNotExecutable {
		os.Exit(126)
	}
	os.Exit(127)
}

// execSetup prepares the process inside the container and returns the
// program's path.
func execSetup(cfg *execConfig) (string, error) {
	p := cfg.Process
	// A session of its own, as the container's init has: what is typed at
	// minirun's terminal reaches the process only through minirun (which
	// forwards signals), and a terminal needs a session leader.
	if _, err := unix.Setsid(); err != nil {
		return "", fmt.Errorf("setsid: %w", err)
	}
	if p.Terminal {
		if cfg.ConsoleFd < 0 {
			return "", fmt.Errorf("process.terminal is true but no console socket was given")
		}
		slave, err := execConsole(cfg.ConsoleFd, p.User)
		if err != nil {
			return "", err
		}
		if err := useTerminal(slave); err != nil {
			return "", err
		}
	}
	addHome(p)
	if err := finalize(p, cfg.Seccomp); err != nil {
		return "", err
	}
	// Looked up now, as the process's user, from its working directory:
	// what it finds is what execve will be allowed to run.
	return namespaces.LookPath(p.Args[0], p.Env)
}

// execConsole gives the process a terminal of its own: a new pty from the
// container's devpts (this process is in the container's mount namespace,
// so /dev/pts/ptmx is the container's instance, not the host's), whose
// master goes to the console socket and whose slave is returned, owned by
// the process's user. Unlike the init's console (rootfs.OpenConsole),
// nothing is mounted on /dev/console.
// See man 7 pty, man 4 pts, man 3 unlockpt.
func execConsole(consoleFd int, user specs.User) (*os.File, error) {
	mfd, err := unix.Open("/dev/pts/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the container's /dev/pts/ptmx: %w", err)
	}
	master := os.NewFile(uintptr(mfd), "/dev/pts/ptmx")
	defer master.Close()
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		return nil, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetInt(mfd, unix.TIOCGPTN)
	if err != nil {
		return nil, fmt.Errorf("ptsname: %w", err)
	}
	name := "/dev/pts/" + strconv.Itoa(n)
	slave, err := os.OpenFile(name, os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open pty slave %s: %w", name, err)
	}
	// Ours (root's) until now: the process's user must own its terminal,
	// as login(1) would make it.
	if err := unix.Fchown(int(slave.Fd()), int(user.UID), -1); err != nil {
		slave.Close()
		return nil, fmt.Errorf("chown %s to %d: %w", name, user.UID, err)
	}
	console := os.NewFile(uintptr(consoleFd), "console-socket")
	err = SendFd(console, "pty-master", mfd)
	console.Close()
	if err != nil {
		slave.Close()
		return nil, err
	}
	return slave, nil
}
