#!/usr/bin/env bash
# Lab 06: container networking by hand (network namespace, bridge, veth
# pair, NAT rules in nftables), then the same with minirun.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
# shellcheck source=net.sh
. "$here/net.sh"
need_busybox
need_tools ip nft busybox
tmpdir
free_subnet
NS=lab06-$$ BR=l6br$$ VH=l6h$$ VC=l6c$$ T=lab06_$$
PORT=$((20000 + $$ % 10000))
NET=lab06-$$ WEB=lab06web-$$

step "a named network namespace"
say "ip netns add creates a network namespace and keeps it alive with a bind" \
	"mount in /run/netns/NAME, so that it exists without any process in it." \
	"Subnet for this lab: $SUB (checked against this host's routes)."
cleanup "ip netns del $NS; ip link del $BR; ip link del $VH"
show ip netns add "$NS"
show ip netns exec "$NS" ip -br link

step "a bridge on the host: a virtual switch with an address"
show ip link add "$BR" type bridge
show ip addr add "$GW/24" dev "$BR"
show ip link set "$BR" up

step "a veth pair: a cable with one end in each namespace"
say "Whatever enters one end of a veth pair leaves by the other. One end is" \
	"plugged into the bridge, the other moves into the namespace."
show ip link add "$VH" type veth peer name "$VC"
show ip link set "$VH" master "$BR" up
show ip link set "$VC" netns "$NS"
show ip -n "$NS" addr add "$IP/24" dev "$VC"
show ip -n "$NS" link set "$VC" up
show ip -n "$NS" link set lo up
show ip -n "$NS" route add default via "$GW"
show ip -n "$NS" -br addr
show ip -n "$NS" route

step "traffic both ways"
show ip netns exec "$NS" busybox ping -c 1 -W 2 "$GW"
show busybox ping -c 1 -W 2 "$IP"

step "NAT: a table of our own in nftables"
say "Outbound: packets from $SUB leaving by another interface get the host's" \
	"address (masquerade), so that replies find their way back. That also needs" \
	"net.ipv4.ip_forward=1 (we leave it as it is: this lab talks to the host only)." \
	"Inbound: a published port is a DNAT rule; for connections made on the host" \
	"itself it goes in the 'output' hook (prerouting sees only incoming packets)."
cleanup "nft delete table ip $T"
show nft add table ip "$T"
show nft add chain ip "$T" postrouting '{ type nat hook postrouting priority srcnat; }'
show nft add rule ip "$T" postrouting ip saddr "$SUB" oifname != "$BR" masquerade
show nft add chain ip "$T" output '{ type nat hook output priority -100; }'
show nft add rule ip "$T" output ip daddr "$GW" tcp dport "$PORT" dnat to "$IP:80"
show nft list table ip "$T"

step "a web server in the namespace, reached through the DNAT rule"
mkdir -p "$TMP/www" && echo "hello from $NS" >"$TMP/www/index.html"
show_sh "ip netns exec $NS busybox httpd -p 80 -h $TMP/www"
cleanup "ip netns pids $NS | xargs -r kill"
wait_http "$GW" "$PORT" || true
show http_get "$GW" "$PORT"
say "The host connected to $GW:$PORT; nftables rewrote it to $IP:80 (conntrack" \
	"remembers, and rewrites the replies back)."
show_sh "ip netns pids $NS | xargs -r kill; nft delete table ip $T; ip netns del $NS; ip link del $BR"
say "First the server (a process keeps its namespace alive even after 'ip netns del')." \
	"Deleting the namespace destroyed $VC, and with it its peer $VH."

step "the same with minirun"
say "A minirun network is a bridge, an address range (IPAM) and rules in" \
	"minirun's own nftables table; each container gets a veth pair, exactly as" \
	"above, and -p adds the DNAT rules."
cleanup "\"$MINIRUN\" rm -f $WEB; \"$MINIRUN\" network rm $NET"
free_subnet
show minirun network create "$NET" --subnet "$SUB"
show minirun run -d --name "$WEB" --network "$NET" -p "127.0.0.1:$PORT:80" busybox \
	sh -c 'mkdir /www && echo hello from minirun > /www/index.html && exec httpd -f -p 80 -h /www'
wait_http 127.0.0.1 "$PORT" || true
show http_get 127.0.0.1 "$PORT"
say "Containers of a network find each other by name: minirun keeps their" \
	"/etc/hosts current (Docker uses a DNS server at 127.0.0.11 instead)."
show minirun run --rm --network "$NET" busybox sh -c "ip -o -4 addr show eth0; ip route; grep $WEB /etc/hosts; wget -qO- http://$WEB/"
BRIDGE=$(minirun network inspect "$NET" | jq -r '.[0].Bridge')
[[ -z $BRIDGE ]] || show ip -br link show master "$BRIDGE"
show_sh "nft list table ip ${MINIRUN_NFT_TABLE:-minirun} | grep -E 'table|chain|$PORT|masquerade'"
show minirun rm -f "$WEB"
show minirun network rm "$NET"
say "Done. Now run ./check.sh to check your work."
