# shellcheck shell=bash
# Lab 06's helpers (sourced after lib.sh): names and addresses of its own.

# free_subnet: SUB (10.A.B.0/24), GW (.1) and IP (.2): a /24 that no route
# or address of this host uses (so the lab never shadows a real network).
free_subnet() {
	local a b i
	for ((i = 0; i < 50; i++)); do
		a=$((200 + RANDOM % 50)) b=$((RANDOM % 250))
		if ! ip -4 route show | grep -q "^10\.$a\.$b\." && ! ip -4 -o addr show | grep -q " 10\.$a\.$b\."; then
			# shellcheck disable=SC2034 # used by the scripts
			SUB=10.$a.$b.0/24 GW=10.$a.$b.1 IP=10.$a.$b.2
			return 0
		fi
	done
	die "found no free 10.x.y.0/24 subnet"
}

# hand_net: the network namespace NS with the veth VC, its host end VH on
# the bridge BR (address GW), the container end IP, a default route; all
# removed at exit. Names are unique (they end in this shell's PID).
hand_net() {
	NS=lab06-$$ BR=l6br$$ VH=l6h$$ VC=l6c$$
	cleanup "ip netns del $NS; ip link del $BR; ip link del $VH"
	ip netns add "$NS"
	ip link add "$BR" type bridge
	ip addr add "$GW/24" dev "$BR"
	ip link set "$BR" up
	ip link add "$VH" type veth peer name "$VC"
	ip link set "$VH" master "$BR" up
	ip link set "$VC" netns "$NS"
	ip -n "$NS" addr add "$IP/24" dev "$VC"
	ip -n "$NS" link set "$VC" up
	ip -n "$NS" link set lo up
	ip -n "$NS" route add default via "$GW"
}
