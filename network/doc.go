// Package network sets up what a container's network namespace needs.
//
// A new network namespace starts with a single interface, the loopback
// "lo", and it is down: even 127.0.0.1 does not answer until it is brought
// up. Link changes go through netlink, the socket protocol the kernel uses
// to configure networking (what `ip link set lo up` speaks too); minirun
// uses github.com/vishvananda/netlink for it.
// See man 7 network_namespaces, man 7 netlink, man 7 rtnetlink, man 8 ip-link.
//
// A container on a network is plugged into a bridge (a virtual switch on
// the host, link.go: EnsureBridge) with a veth pair (a virtual cable whose
// two ends can live in different namespaces: Attach moves one end into the
// container's namespace and renames it eth0). Addresses come from IPAM
// (ipam.go): one JSON table per network, guarded by flock(2), so that
// concurrent minirun processes never hand out one address twice.
// NAT, published ports and name resolution come with the rest of the
// networking issue; `run` does not attach containers to a bridge yet.
package network
