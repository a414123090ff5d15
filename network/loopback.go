package network

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// LoopbackUp brings "lo" up in the calling thread's network namespace
// (RTM_NEWLINK with IFF_UP, as `ip link set lo up`).
func LoopbackUp() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find the loopback interface: %w", err)
	}
	if err := netStep("bring the loopback interface up", manLink, func() string { return "ip link set lo up (RTM_NEWLINK, IFF_UP)" },
		func() error { return netlink.LinkSetUp(lo) }); err != nil {
		return fmt.Errorf("ip link set lo up: %w", err)
	}
	return nil
}
