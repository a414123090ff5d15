package loopback

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/minirun/minirun/trace"
)

// Up brings "lo" up in the calling thread's network namespace: read its
// flags and set them again with IFF_UP. In a container's init the ioctls
// cost two system calls; netlink would cost a socket, a lookup of "lo" and
// a request (and its package's set-up).
func Up() error {
	end := trace.StepFn("network", "bring the loopback interface up", "netdevice(7)", func() string {
		return `ioctl(SIOCSIFFLAGS, "lo", flags|IFF_UP), as ip link set lo up`
	})
	err := up()
	end(err)
	if err != nil {
		return fmt.Errorf("ip link set lo up: %w", err)
	}
	return nil
}

func up() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return err
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	return unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr)
}
