#!/usr/bin/env bash
# Lab 06, check your work: a namespace wired by hand answers, DNAT reaches
# it; a minirun network does the same, and everything is gone afterwards.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../lib.sh
. "$here/../lib.sh"
# shellcheck source=net.sh
. "$here/net.sh"
need_busybox
tmpdir
free_subnet
hand_net
T=lab06c_$$ PORT=$((20000 + $$ % 10000)) NET=lab06c-$$ WEB=lab06cweb-$$
check_eq "the namespace has lo and the veth end, nothing else" "$(ip -n "$NS" -o link | awk -F': ' '{sub(/@.*/, "", $2); print $2}' | sort | tr '\n' ' ')" "$VC lo "
check_eq "the host end of the veth is on the bridge" "$(ip -o link show master "$BR" | awk -F': ' '{sub(/@.*/, "", $2); print $2}')" "$VH"
check "namespace -> bridge: ping $GW" ip netns exec "$NS" busybox ping -c 1 -W 2 "$GW"
check "host -> namespace: ping $IP" busybox ping -c 1 -W 2 "$IP"
cleanup "nft delete table ip $T"
nft add table ip "$T"
nft add chain ip "$T" output '{ type nat hook output priority -100; }'
nft add rule ip "$T" output ip daddr "$GW" tcp dport "$PORT" dnat to "$IP:80"
mkdir -p "$TMP/www" && echo "hello $$" >"$TMP/www/index.html"
cleanup "ip netns pids $NS | xargs -r kill"
ip netns exec "$NS" busybox httpd -p 80 -h "$TMP/www"
wait_http "$GW" "$PORT" || true
out=$(http_get "$GW" "$PORT" 2>&1 || true)
check_eq "DNAT $GW:$PORT -> $IP:80 reaches the server in the namespace" "$out" "hello $$"
ip netns pids "$NS" | xargs -r kill
nft delete table ip "$T"
ip netns del "$NS"
ip link del "$BR"
check "deleting the namespace removed both veth ends" sh -c "! ip link show $VH 2>/dev/null"
check "the lab's nftables table is gone" sh -c "! nft list table ip $T 2>/dev/null"

cleanup "\"$MINIRUN\" rm -f $WEB; \"$MINIRUN\" network rm $NET"
free_subnet
minirun network create "$NET" --subnet "$SUB" >/dev/null
minirun run -d --name "$WEB" --network "$NET" -p "127.0.0.1:$PORT:80" busybox \
	sh -c 'mkdir /www && echo hello from minirun > /www/index.html && exec httpd -f -p 80 -h /www' >/dev/null
bridge=$(minirun network inspect "$NET" | jq -r '.[0].Bridge')
check_match "minirun's bridge has the gateway address $GW" "$(ip -o -4 addr show "$bridge")" " $GW/24 "
check_match "the container's veth is on the bridge" "$(ip -o link show master "$bridge")" "master $bridge"
wait_http 127.0.0.1 "$PORT" || true
out=$(http_get 127.0.0.1 "$PORT" 2>&1 || true)
check_eq "-p 127.0.0.1:$PORT:80 reaches the container" "$out" "hello from minirun"
# Names come from /etc/hosts, which minirun keeps current in every container
# of the network. (No wget -T: Debian's busybox 1.35 wget crashes with it.)
out=$(minirun run --rm --network "$NET" busybox sh -c "ip -o -4 addr show eth0; grep -w $WEB /etc/hosts; timeout 5 wget -qO- http://$WEB/" 2>&1 || true)
check_match "a second container gets an address of $SUB" "$out" "inet ${SUB%.0/24}\.[0-9]+/24"
check_match "its /etc/hosts has the first one's name" "$out" "^${SUB%.0/24}\.[0-9]+\s+$WEB( |$)"
check_match "and reaches it by name" "$out" "^hello from minirun$"
check_match "minirun's nftables table has the DNAT rule" "$(nft list table ip "${MINIRUN_NFT_TABLE:-minirun}")" "dport $PORT .*dnat"
minirun rm -f "$WEB" >/dev/null
minirun network rm "$NET" >/dev/null
check "network rm removed the bridge" sh -c "! ip link show $bridge 2>/dev/null"
finish
