// Command hello is vmtest's self-test payload: a static Go binary that
// proves the VM runs Go programs (built with CGO_ENABLED=0 GOAMD64=v1) and
// reports what the Go runtime sees of the VM.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
)

func main() {
	cg, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
	wd, _ := os.Getwd()
	fmt.Printf("hello from go %s %s/%s: pid=%d uid=%d cpus=%d cwd=%s cgroup=%s\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, os.Getpid(), os.Getuid(),
		runtime.NumCPU(), wd, strings.TrimSpace(string(cg)))
	fmt.Fprintln(os.Stderr, "hello: this line went to stderr")
	if len(os.Args) > 1 {
		code, err := strconv.Atoi(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "hello: usage: hello [EXIT-CODE]")
			os.Exit(2)
		}
		os.Exit(code)
	}
}
