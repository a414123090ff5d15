// Package network sets up what a container's network namespace needs.
//
// A new network namespace starts with a single interface, the loopback
// "lo", and it is down: even 127.0.0.1 does not answer until it is brought
// up. Link changes go through netlink, the socket protocol the kernel uses
// to configure networking (what `ip link set lo up` speaks too); minirun
// uses github.com/vishvananda/netlink for it.
// See man 7 network_namespaces, man 7 netlink, man 7 rtnetlink, man 8 ip-link.
//
// Bridges, veth pairs, addresses, NAT and published ports come with the
// networking issue and live here as well.
package network
