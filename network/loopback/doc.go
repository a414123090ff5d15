// Package loopback brings up "lo", the loopback interface every new network
// namespace starts with, down: a container's 127.0.0.1 works only once its
// init has done this.
//
// The primitive is two ioctls of netdevice(7) on any socket: SIOCGIFFLAGS
// reads the interface's flags, SIOCSIFFLAGS writes them back with IFF_UP.
// That is what `ifconfig lo up` does; `ip link set lo up` says the same in
// netlink (rtnetlink(7), RTM_NEWLINK). It has a package of its own, apart
// from network's bridges, veths and nftables, so that a container's init
// (cmd/minirun-init) links none of those: a smaller program starts faster.
//
// Man pages: netdevice(7), network_namespaces(7), ip-link(8).
package loopback
