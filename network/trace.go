package network

import (
	"fmt"
	"strings"

	"github.com/google/nftables"

	"github.com/minirun/minirun/trace"
)

// netStep runs one netlink request as a step of the trace; call spells it
// the way ip(8) would, and is only formatted when tracing is on.
func netStep(what, man string, call func() string, do func() error) error {
	end := trace.StepFn("network", what, man, call)
	err := do()
	end(err)
	return err
}

const (
	manLink  = "rtnetlink(7), ip-link(8)"
	manVeth  = "veth(4), ip-link(8)"
	manAddr  = "rtnetlink(7), ip-address(8)"
	manRoute = "rtnetlink(7), ip-route(8)"
)

// flushTraced sends the queued nftables batch (one netlink message) as a
// step of the trace, naming each rule added: rules[i] with skip[i] set
// was there already and is not sent.
func flushTraced(c *nftables.Conn, what, table string, rules []*nftables.Rule, skip []bool) error {
	return flushStep(c, what, func() string {
		var b strings.Builder
		b.WriteString("nft batch:")
		n := 0
		for i, r := range rules {
			if skip != nil && skip[i] {
				continue
			}
			n++
			fmt.Fprintf(&b, " add rule ip %s %s comment %q;", table, r.Chain.Name, ruleComment(r.UserData))
		}
		if n == 0 {
			b.WriteString(" (rules already there; base chains and bridge set only)")
		}
		return b.String()
	})
}

// flushStep sends the queued nftables batch as a step of the trace.
func flushStep(c *nftables.Conn, what string, call func() string) error {
	end := trace.StepFn("network", what, "nft(8), netfilter", call)
	err := c.Flush()
	end(err)
	return err
}
