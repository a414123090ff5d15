// udpecho answers every UDP datagram on the given port with "echo:" and
// the datagram, and prints each to stdout. busybox's nc has no UDP mode,
// so the integration tests put this (static) program into a container to
// check that published UDP ports work.
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: udpecho PORT")
		os.Exit(2)
	}
	c, err := net.ListenPacket("udp4", ":"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buf := make([]byte, 2048)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%s from %s\n", buf[:n], from)
		c.WriteTo(append([]byte("echo:"), buf[:n]...), from)
	}
}
