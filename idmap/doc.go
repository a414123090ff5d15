// Package idmap reads the subordinate ID files and hands out blocks of
// them: the host IDs a container's user namespace maps its own IDs onto.
//
// /etc/subuid and /etc/subgid (man 5 subuid, man 5 subgid) delegate
// ranges of host IDs to users, one "owner:start:count" line each:
//
//	containers:100000:1048576
//
// says that the user containers (by name, or by numeric uid) may use the
// host IDs 100000-1148575 as the IDs of user namespaces: the setuid
// helpers newuidmap(1) and newgidmap(1) write such a range into a
// process's /proc/<pid>/uid_map for an unprivileged user, and
// `usermod --add-subuids 100000-1148575 containers` adds the line. A root
// runtime could write any map, but takes its IDs from the same files (as
// podman's --userns=auto does, from the user containers): the
// administrator says there which host IDs belong to containers and to
// nobody else.
//
// Parse reads a file (a malformed line is an error, not skipped: these
// files draw a security boundary). Allocate finds the lowest block of a
// size inside one delegated range that overlaps none in use, so that two
// containers never share host IDs: the caller serialises allocations
// (minirun's engine with a flock(2)) and records what it gave.
// See man 7 user_namespaces ("User and group ID mappings").
package idmap
