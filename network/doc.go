// Package network sets up what a container's network namespace needs.
//
// A new network namespace starts with a single interface, the loopback
// "lo", and it is down: even 127.0.0.1 does not answer until it is brought
// up (init does it with two ioctls: network/loopback). Link changes go
// through netlink, the socket protocol the kernel uses to configure
// networking (what `ip link set lo up` speaks too); minirun uses
// github.com/vishvananda/netlink for it.
// See man 7 network_namespaces, man 7 netlink, man 7 rtnetlink, man 8 ip-link.
//
// A container on a network is plugged into a bridge (a virtual switch on
// the host, link.go: EnsureBridge) with a veth pair (a virtual cable whose
// two ends can live in different namespaces: AttachEndpoint creates the
// pair with one end already in the container's namespace, named eth0 —
// moving an existing link there would cost an RCU grace period, ~20 ms). Addresses come from IPAM
// (ipam.go): one JSON table per network, guarded by flock(2), so that
// concurrent minirun processes never hand out one address twice.
// Names (which container is "web") are not this package's business: the
// engine keeps every container's /etc/hosts current (engine/endpoints.go).
//
// NAT, published ports and isolation between networks are nftables rules
// (nat.go: Firewall) in a table of minirun's own, "ip minirun", so that
// minirun never edits anybody else's rules and `nft delete table ip
// minirun` undoes all of it. nftables is the kernel's packet filter (the
// successor of iptables); minirun programs it over netlink with
// github.com/google/nftables, so no nft or iptables binary is needed, but
// `nft list table ip minirun` shows what is there. Each network adds
// masquerade rules (containers reach the world with the host's address) and
// a forward rule that drops traffic to other minirun bridges; each
// published port is one DNAT rule whose comment names its container. The
// rules are the only record of what is published: Published reads them
// back from the kernel.
// See man 8 nft and https://wiki.nftables.org.
//
// An ordinary user (rootless mode) can do none of that: a bridge, a veth
// into the host's namespace and nftables rules need CAP_NET_ADMIN in the
// host's network namespace. slirp.go runs slirp4netns instead (man 1
// slirp4netns): it joins the container's user and network namespaces,
// creates a TAP device there, tap0 (10.0.2.100/24, gateway 10.0.2.2, DNS
// 10.0.2.3), and carries the container's packets out through ordinary
// sockets of the user's, with libslirp, the user-mode TCP/IP stack of
// QEMU: slower than a veth, but no privilege at all.
package network
