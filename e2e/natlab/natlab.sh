#!/usr/bin/env bash
# Burrow's NAT lab: a small test internet built from network namespaces, with real Linux NATs
# (nftables) in front of the peers. See README.md beside this file for the topology.
#
#   natlab.sh up KIND [KIND...]   build the lab, one peer per KIND (up to 10; "up full symmetric")
#   natlab.sh down                remove everything the lab made (processes in it included)
#   natlab.sh status              what is up, and any other lab found on this machine
#
# KIND: none | full | restricted | port-restricted | symmetric
# NATLAB_PREFIX (default "bl-") starts every namespace name, so several labs can coexist (the
# tests use a prefix per run) and a stale one is found. Needs root, iproute2 and nftables.
set -euo pipefail

P="${NATLAB_PREFIX:-bl-}"
if ! [[ "$P" =~ ^[a-z0-9-]{1,16}$ ]]; then
  echo "natlab: NATLAB_PREFIX must be 1-16 of [a-z0-9-], got '$P'" >&2
  exit 2
fi

NET="${P}net"   # the "internet": a bridge, alone in its namespace
SRV="${P}srv"   # the server: 203.0.113.1 and 203.0.113.2
LETTERS=(a b c d e f g h i j)
KINDS_RE='^(none|full|restricted|port-restricted|symmetric)$'

usage() {
  echo "usage: natlab.sh up KIND [KIND...] | down | status   (KIND: none, full, restricted, port-restricted, symmetric)" >&2
  exit 2
}

# The namespaces of this lab (exactly this prefix: "bl-" does not match another run's "bl-x1-srv").
lab_namespaces() {
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${P}(net|srv|[rh][a-j])\$" | sort || true
}

# Every namespace that looks like some natlab (any prefix), for status.
any_lab_namespaces() {
  ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^bl.*(net|srv|[rh][a-j])$' || true
}

down() {
  local ns pids
  for ns in $(lab_namespaces); do
    pids="$(ip netns pids "$ns" 2>/dev/null || true)"
    if [ -n "$pids" ]; then
      # shellcheck disable=SC2086
      kill -TERM $pids 2>/dev/null || true
      for _ in 1 2 3 4 5 6 7 8 9 10; do
        pids="$(ip netns pids "$ns" 2>/dev/null || true)"
        [ -z "$pids" ] && break
        sleep 0.1
      done
      # shellcheck disable=SC2086
      [ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
    fi
  done
  # deleting a namespace deletes its veth ends and with them their peers
  for ns in $(lab_namespaces); do ip netns del "$ns" 2>/dev/null || true; done
  local left
  left="$(lab_namespaces)"
  if [ -n "$left" ]; then
    echo "natlab: could not remove: $left" >&2
    return 1
  fi
}

new_ns() {
  ip netns add "$1"
  ip -n "$1" link set lo up
  # IPv4 only: no router solicitations or other IPv6 chatter in the lab
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}

# veth between the bridge namespace (end $1, enslaved to br0) and namespace $2 (end $3)
to_bridge() {
  ip -n "$NET" link add "$1" type veth peer name "$3" netns "$2"
  ip -n "$NET" link set "$1" master br0 up
  ip -n "$2" link set "$3" up
}

# The router's own firewall (masquerading kinds): new flows from the WAN to the router itself are
# dropped, as a home router does (OpenWrt's wan zone: input reject). Without it, Linux conntrack
# confirms a peer's punch probe that arrives before the host's own first packet to that peer as a
# flow to the router itself, and masquerade then gives the host's outbound flow another port (the
# tuple is taken): port preservation is lost exactly when the peer's probe comes first, and two
# port-restricted cones never punch (measured: conntrack shows the host's flow remapped). The drop
# happens before conntrack confirms the entry, so no entry is left behind. Full and restricted
# cones DNAT every inbound flow to the host: nothing is addressed to the router itself.
router_input() {
  cat <<EOF
  chain input { type filter hook input priority filter; policy accept;
    iifname "wan" ct state new drop
  }
EOF
}

# nftables rules of a router whose WAN address is $2 and whose LAN host is $3 on $4, by kind $1.
nat_rules() {
  local kind="$1" wan="$2" host="$3" lan="$4"
  case "$kind" in
    full)
      # Full cone: port-preserving SNAT (the kernel keeps the source port when it is free) and every
      # new inbound flow to the WAN address DNATed to the host, port unchanged: endpoint-independent
      # mapping and filtering.
      cat <<EOF
table ip natlab {
  comment "kind: full"
  chain prerouting { type nat hook prerouting priority dstnat; policy accept;
    iifname "wan" ip daddr $wan dnat to $host
  }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ip saddr $lan snat to $wan
  }
}
EOF
      ;;
    restricted)
      # Restricted cone: the same SNAT and DNAT, but inbound passes only from an address the host
      # has sent to from that port (the mapping's port: ports are preserved). The set is keyed by
      # remote address . mapped port, i.e. per mapping, as the RFC 4787 §5 filtering is; a set keyed
      # by remote address alone would let one socket's traffic open every other socket's filter.
      cat <<EOF
table ip natlab {
  comment "kind: restricted"
  set sent_to {
    type ipv4_addr . inet_service
    flags dynamic, timeout
    timeout 120s
  }
  chain prerouting { type nat hook prerouting priority dstnat; policy accept;
    iifname "wan" ip daddr $wan dnat to $host
  }
  chain forward { type filter hook forward priority filter; policy drop;
    iifname "lan" oifname "wan" meta l4proto { tcp, udp } update @sent_to { ip daddr . th sport } accept
    iifname "lan" oifname "wan" accept
    iifname "wan" oifname "lan" meta l4proto { tcp, udp } ip saddr . th dport @sent_to accept
    iifname "wan" oifname "lan" ct state established,related accept
  }
  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ip saddr $lan snat to $wan
  }
}
EOF
      ;;
    port-restricted)
      # Port-restricted cone: plain masquerade. Linux keeps the source port and reuses the mapping for
      # every destination (endpoint-independent mapping); inbound passes only on a conntrack entry,
      # i.e. from an address and port the host sent to (address-and-port-dependent filtering).
      # The input chain is the router's own firewall, as every home router has one: see router_input.
      cat <<EOF
table ip natlab {
  comment "kind: port-restricted"
  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ip saddr $lan masquerade
  }
$(router_input)
}
EOF
      ;;
    symmetric)
      # Symmetric: masquerade with a random port for every new flow (address-and-port-dependent
      # mapping and filtering).
      cat <<EOF
table ip natlab {
  comment "kind: symmetric"
  chain postrouting { type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ip saddr $lan masquerade fully-random
  }
$(router_input)
}
EOF
      ;;
  esac
}

up() {
  [ "$#" -ge 1 ] && [ "$#" -le 10 ] || usage
  local k
  for k in "$@"; do [[ "$k" =~ $KINDS_RE ]] || { echo "natlab: unknown kind '$k'" >&2; usage; }; done
  command -v nft >/dev/null || { echo "natlab: nft (nftables) is not installed" >&2; exit 1; }
  if [ -n "$(lab_namespaces)" ]; then
    echo "natlab: removing a stale lab (prefix $P): $(lab_namespaces | tr '\n' ' ')" >&2
    down
  fi
  trap 'echo "natlab: up failed, tearing down" >&2; down' ERR INT TERM

  new_ns "$NET"
  ip -n "$NET" link add br0 type bridge
  ip -n "$NET" link set br0 up

  new_ns "$SRV"
  to_bridge srv "$SRV" eth0
  ip -n "$SRV" addr add 203.0.113.1/24 dev eth0
  ip -n "$SRV" addr add 203.0.113.2/24 dev eth0

  local i=0 kind l wan lan_net lan_gw host r h
  for kind in "$@"; do
    l="${LETTERS[$i]}"
    i=$((i + 1))
    wan="203.0.113.$((i * 10))"
    lan_net="10.0.$i.0/24"
    lan_gw="10.0.$i.1"
    host="10.0.$i.2"
    h="${P}h$l"
    new_ns "$h"
    if [ "$kind" = none ]; then
      # a public host, straight on the internet
      to_bridge "h$l" "$h" eth0
      ip -n "$h" addr add "$wan/24" dev eth0
      continue
    fi
    r="${P}r$l"
    new_ns "$r"
    to_bridge "r$l" "$r" wan
    ip -n "$r" addr add "$wan/24" dev wan
    ip -n "$r" link add lan type veth peer name eth0 netns "$h"
    ip -n "$r" link set lan up
    ip -n "$r" addr add "$lan_gw/24" dev lan
    ip -n "$h" link set eth0 up
    ip -n "$h" addr add "$host/24" dev eth0
    # only the lab's internet is routed, through the router; nothing else is reachable
    ip -n "$h" route add 203.0.113.0/24 via "$lan_gw"
    ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
    nat_rules "$kind" "$wan" "$host" "$lan_net" | ip netns exec "$r" nft -f -
  done
  trap - ERR INT TERM
  status
}

status() {
  local ns kind addrs
  local mine
  mine="$(lab_namespaces)"
  if [ -z "$mine" ]; then
    echo "natlab (prefix $P): down"
  else
    echo "natlab (prefix $P): up"
    for ns in $mine; do
      case "$ns" in
        "$NET") echo "  $ns  internet bridge"; continue ;;
      esac
      addrs="$(ip -n "$ns" -4 -o addr show 2>/dev/null | awk '$2 != "lo" {printf "%s %s  ", $2, $4}')"
      kind=""
      case "$ns" in
        "${P}r"?) kind="$(ip netns exec "$ns" nft list table ip natlab 2>/dev/null | sed -n 's/.*comment "kind: \(.*\)".*/\1/p')"; kind="router ($kind)" ;;
        "${P}h"?) if ip -n "$ns" link show eth0 >/dev/null 2>&1 && ip -n "$ns" -4 -o addr show dev eth0 | grep -q ' 203\.0\.113\.'; then kind="host (none: public)"; else kind="host"; fi ;;
        "$SRV") kind="server" ;;
      esac
      echo "  $ns  $kind  $addrs"
    done
  fi
  local others
  others="$(comm -23 <(any_lab_namespaces | sort) <(echo "$mine" | sort) | tr '\n' ' ')"
  if [ -n "${others// /}" ]; then echo "other lab namespaces on this machine (another prefix: a concurrent or stale lab): $others"; fi
}

[ "$(id -u)" -eq 0 ] || { echo "natlab: needs root (network namespaces and nftables)" >&2; exit 1; }
case "${1:-}" in
  up) shift; up "$@" ;;
  down) down; echo "natlab (prefix $P): down" ;;
  status) status ;;
  *) usage ;;
esac
