package doctor

import (
	"strings"
)

func networkChecks() []Check {
	return []Check{
		{ID: "network.veth_bridge", Group: "network", Title: "a bridge and a veth pair can be made", Run: checkVethBridge},
		{ID: "network.nftables", Group: "network", Title: "nftables answers over netlink", Run: checkNftables},
		{ID: "network.ip_forward", Group: "network", Title: "the host routes packets (net.ipv4.ip_forward)", Run: checkIPForward},
		{ID: "network.forward_policy", Group: "network", Title: "no firewall drops forwarded container traffic", Run: checkForwardPolicy},
	}
}

func rootlessNetwork(e *Env, r *Result) bool {
	if !e.Rootless() {
		return false
	}
	r.set(Skip, "probed as root only; rootless mode makes no host interfaces and no firewall rules: its network is a user-mode TCP/IP stack (slirp4netns or pasta)")
	if p, err := e.Host.LookPath("slirp4netns"); err == nil {
		r.evidence("slirp4netns: %s", p)
	} else if p, err := e.Host.LookPath("pasta"); err == nil {
		r.evidence("pasta: %s", p)
	} else {
		r.evidence("slirp4netns, pasta: not found in PATH")
		r.Fix = []string{"apt-get install slirp4netns   (or passt, for pasta)"}
	}
	return true
}

func checkVethBridge(e *Env, r *Result) {
	r.Why = "A container's eth0 is one end of a veth pair (a virtual cable); the other end is attached to a bridge " +
		"(minirun0, a virtual switch) on the host, which is the containers' gateway."
	if rootlessNetwork(e, r) {
		return
	}
	if err := e.Host.NetProbe(); err != nil {
		r.evidence("bridge doctor-br0 + veth doctor-v0/doctor-v1 in a throwaway network namespace: %v", err)
		r.set(Fail, "the kernel refused: containers can only run with --network none")
		r.Fix = []string{
			"modprobe veth; modprobe bridge   (CONFIG_VETH, CONFIG_BRIDGE)",
			"or run containers with --network none (or --network host)",
		}
		return
	}
	r.evidence("bridge doctor-br0 + veth doctor-v0/doctor-v1, up, 10.199.0.1/24, in a throwaway network namespace: ok")
	r.set(OK, "created and thrown away with their namespace; the host's interfaces were not touched")
}

func checkNftables(e *Env, r *Result) {
	r.Why = "minirun writes its NAT (outbound masquerade, -p published ports) and network isolation rules in its own " +
		"nftables table, `table ip minirun`, over netlink: no nft or iptables binary is needed, but the kernel needs nf_tables."
	if rootlessNetwork(e, r) {
		return
	}
	if err := e.Host.NftProbe(); err != nil {
		r.evidence("nft add table ip doctor, in a throwaway network namespace: %v", err)
		r.set(Fail, "nf_tables is not available: no outbound NAT and no published ports")
		r.Fix = []string{"modprobe nf_tables nft_chain_nat nft_masq nft_nat nft_fib_ipv4 nft_ct   (CONFIG_NF_TABLES and friends)"}
		return
	}
	r.evidence("nft add table ip doctor, in a throwaway network namespace: ok")
	r.set(OK, "nf_tables works")
}

func checkIPForward(e *Env, r *Result) {
	const p = "/proc/sys/net/ipv4/ip_forward"
	v, err := e.readTrim(p)
	if err != nil {
		r.evidence("%s: %v", p, err)
		r.set(Skip, "cannot read it")
		return
	}
	r.evidence("%s: %s", p, v)
	r.Why = "With ip_forward=0 the kernel drops every packet that is not for the host itself, so a container's " +
		"packets never leave through the uplink. minirun writes 1 there whenever it sets up a network (as root), " +
		"but something else (a sysctl.d file at boot, a VPN client, a hardening script) may set it back to 0."
	if v == "1" {
		r.set(OK, "forwarding is on")
		return
	}
	r.set(Warn, "forwarding is off: minirun turns it on at its next network setup; if it keeps turning off, something resets it")
	r.Fix = []string{
		"sysctl -w net.ipv4.ip_forward=1",
		"echo net.ipv4.ip_forward=1 > /etc/sysctl.d/99-minirun.conf   (keeps it across reboots)",
	}
}

func checkForwardPolicy(e *Env, r *Result) {
	r.Why = "A container's packet to the internet is forwarded: it comes in on the bridge and goes out on the uplink, " +
		"through every chain on the forward hook of every table. minirun's own chain (table ip minirun, chain forward) " +
		"has policy accept and only drops traffic between two different minirun networks; but an accept in one table " +
		"does not override a drop in another, so a FORWARD policy DROP elsewhere (Docker sets one when dockerd starts, " +
		"ufw and firewalld have their own) silently drops containers' traffic: DNS and ping from a container time out " +
		"while the host itself is online. Published ports (-p) reached from outside are forwarded too."
	if e.Rootless() {
		r.set(Skip, "reading the firewall needs root (rootless traffic goes through slirp4netns/pasta, a normal process, and is not forwarded)")
		return
	}
	var drops []string
	chains, err := e.Host.ForwardChains()
	read := err == nil // some firewall could be read
	if err != nil {
		r.evidence("nftables chains on the forward hook: %v", err)
	}
	for _, c := range chains {
		r.evidence("nft: table %s %s chain %s: hook forward, policy %s", c.Family, c.Table, c.Name, c.Policy)
		if c.Policy == "drop" {
			drops = append(drops, "nft table "+c.Family+" "+c.Table+" chain "+c.Name)
		}
	}
	if len(chains) == 0 && err == nil {
		r.evidence("nftables: no chain on the forward hook (iptables-nft included)")
	}
	// iptables-legacy keeps its rules outside nftables: ask it, but only
	// when its filter table exists (/proc/net/ip_tables_names lists the
	// loaded legacy tables): running iptables-legacy would otherwise load
	// the ip_tables modules, and doctor changes nothing on the host.
	if names, _ := e.Host.ReadFile("/proc/net/ip_tables_names"); contains(strings.Fields(string(names)), "filter") {
		drop, ok := legacyDrop(e, r)
		if drop {
			drops = append(drops, "iptables-legacy filter FORWARD")
		}
		read = read || ok
	}
	if len(drops) == 0 {
		if !read {
			r.set(Skip, "cannot read the firewall")
			return
		}
		r.set(OK, "no forward chain drops by default")
		return
	}
	br := e.Opts.Bridge
	r.set(Warn, "policy drop on the forward hook ("+strings.Join(drops, ", ")+"): containers cannot reach the internet (and -p from other machines fails) unless that firewall accepts their traffic")
	r.Fix = []string{
		"iptables -I FORWARD -i " + br + " -j ACCEPT",
		"iptables -I FORWARD -o " + br + " -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
		"or, for an nft chain: nft insert rule <family> <table> <chain> iifname \"" + br + "\" accept; nft insert rule <family> <table> <chain> oifname \"" + br + "\" ct state established,related accept",
		"with Docker installed: put the two iptables rules in the DOCKER-USER chain instead of FORWARD (dockerd rewrites FORWARD)",
		"ufw: ufw route allow in on " + br + "   (or DEFAULT_FORWARD_POLICY=\"ACCEPT\" in /etc/default/ufw)",
		"firewalld: firewall-cmd --zone=trusted --add-interface=" + br,
	}
}

// legacyDrop reads the FORWARD policy of iptables-legacy's filter table:
// whether it is DROP, and whether it could be read.
func legacyDrop(e *Env, r *Result) (drop, read bool) {
	const bin = "iptables-legacy"
	if _, err := e.Host.LookPath(bin); err != nil {
		r.evidence("/proc/net/ip_tables_names: a legacy filter table exists, but %s is not installed to read it", bin)
		return false, false
	}
	out, err := e.Host.Command(bin, "-S", "FORWARD")
	if err != nil {
		r.evidence("%s -S FORWARD: %v", bin, err)
		return false, false
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "-P FORWARD") {
			r.evidence("%s -S FORWARD: %s", bin, strings.TrimSpace(line))
			return strings.Contains(line, "DROP"), true
		}
	}
	return false, true
}
