package engine

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/minirun/minirun/oci"
)

// checkSecurity parses --privileged, --cap-add, --cap-drop and --security-opt (Docker's
// forms: seccomp=unconfined|PROFILE.json, no-new-privileges[=true|false];
// apparmor=... and label=... are accepted and have no effect: this runtime
// applies neither AppArmor nor SELinux).
func (o *RunOptions) checkSecurity() error {
	sec := oci.Security{CapAdd: o.CapAdd, CapDrop: o.CapDrop, Privileged: o.Privileged}
	if _, err := oci.Capabilities(oci.DefaultCapabilities, o.CapAdd, o.CapDrop); err != nil {
		return err
	}
	for _, opt := range o.SecurityOpts {
		k, v, hasV := strings.Cut(opt, "=")
		if !hasV {
			k, v, hasV = strings.Cut(opt, ":") // Docker's old form
		}
		switch k {
		case "seccomp":
			switch {
			case !hasV || v == "":
				return fmt.Errorf("invalid --security-opt %q: want seccomp=unconfined or seccomp=PROFILE.json", opt)
			case v == "unconfined":
				sec.Seccomp = "unconfined"
			default:
				b, err := os.ReadFile(v)
				if err != nil {
					return fmt.Errorf("--security-opt seccomp: read the profile: %w", err)
				}
				sec.Seccomp = string(b)
			}
		case "no-new-privileges":
			on := true
			if hasV {
				b, err := strconv.ParseBool(v)
				if err != nil {
					return fmt.Errorf("invalid --security-opt %q: want no-new-privileges[=true|false]", opt)
				}
				on = b
			}
			sec.NoNewPrivileges = &on
		case "apparmor", "label":
			// Not applied (no LSM support); accepted so that scripts written
			// for Docker run.
		default:
			return fmt.Errorf("invalid --security-opt %q: minirun knows seccomp=, no-new-privileges, apparmor= and label=", opt)
		}
	}
	o.security = sec
	return nil
}
