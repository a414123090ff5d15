# shellcheck shell=bash
# Lab 05's helpers (sourced after lib.sh): the memory controller's files on
# cgroup v2 and on v1, so that both scripts work on either kind of host.

# memcg_of PID: CG_VER (1 or 2) and CG_DIR, PID's cgroup in the hierarchy
# that has the memory controller: the v1 "memory" hierarchy if there is one
# (a v1 or hybrid host), else the cgroup2 mount. /proc/PID/cgroup's paths
# are relative to the hierarchy's root as seen from our cgroup namespace.
memcg_of() {
	local mnt
	mnt=$(awk '{for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup" && $(i+3) ~ /(^|,)memory(,|$)/) print $5; break }}' /proc/self/mountinfo | head -n 1)
	if [[ -n $mnt ]]; then
		CG_VER=1
		CG_DIR=$mnt$(awk -F: '$2 ~ /(^|,)memory(,|$)/ {print $3}' "/proc/$1/cgroup")
	else
		CG_VER=2
		mnt=$(awk '{for (i = 7; i <= NF; i++) if ($i == "-") { if ($(i+1) == "cgroup2") print $5; break }}' /proc/self/mountinfo | head -n 1)
		CG_DIR=$mnt$(sed -n 's/^0:://p' "/proc/$1/cgroup")
	fi
	CG_DIR=${CG_DIR%/}
}

# oom_kills DIR: the OOM kills counted in cgroup DIR (v2: memory.events;
# v1: memory.oom_control, kernel 4.13 and later).
oom_kills() {
	if ((CG_VER == 2)); then
		awk '$1 == "oom_kill" {print $2}' "$1/memory.events"
	else
		awk '$1 == "oom_kill" {print $2}' "$1/memory.oom_control"
	fi
}
