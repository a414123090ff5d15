package oci

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/minirun/minirun/security"
)

// ResolveUser turns Docker's -u value ("name", "uid", "name:group",
// "uid:gid", ...) into numeric IDs using the image's /etc/passwd and
// /etc/group under rootfs (never the host's). As in Docker and runc:
//   - a numeric uid needs no passwd entry; its gid is then 0;
//   - a name must exist in /etc/passwd;
//   - the primary group is always the first supplementary group (Docker
//     since the fix for CVE-2023-25173), and the groups that list the user
//     in /etc/group follow, only when no group was given.
func ResolveUser(rootfs, spec string) (specs.User, error) {
	if spec == "" {
		spec = "0"
	}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" || (hasGroup && groupPart == "") {
		return specs.User{}, fmt.Errorf("invalid user %q: want user[:group] with names or numeric IDs", spec)
	}
	passwd, _ := readPasswd(rootfs)
	groups, _ := readGroup(rootfs)

	var u specs.User
	var name string
	if uid, err := strconv.ParseUint(userPart, 10, 32); err == nil {
		u.UID = uint32(uid)
		for _, p := range passwd {
			if p.UID == u.UID {
				u.GID, name = p.GID, p.Name
				break
			}
		}
	} else {
		found := false
		for _, p := range passwd {
			if p.Name == userPart {
				u.UID, u.GID, name, found = p.UID, p.GID, p.Name, true
				break
			}
		}
		if !found {
			return specs.User{}, fmt.Errorf("unable to find user %s: no matching entries in the image's /etc/passwd", userPart)
		}
	}
	if hasGroup {
		if gid, err := strconv.ParseUint(groupPart, 10, 32); err == nil {
			u.GID = uint32(gid)
		} else {
			found := false
			for _, g := range groups {
				if g.Name == groupPart {
					u.GID, found = g.GID, true
					break
				}
			}
			if !found {
				return specs.User{}, fmt.Errorf("unable to find group %s: no matching entries in the image's /etc/group", groupPart)
			}
		}
		u.AdditionalGids = []uint32{u.GID}
		return u, nil
	}
	u.AdditionalGids = []uint32{u.GID}
	if name != "" {
		for _, g := range groups {
			for _, m := range g.Members {
				if m == name && g.GID != u.GID {
					u.AdditionalGids = append(u.AdditionalGids, g.GID)
				}
			}
		}
	}
	return u, nil
}

func openInRoot(rootfs, p string) (*os.File, error) {
	full, err := securejoin.SecureJoin(rootfs, p)
	if err != nil {
		return nil, err
	}
	return os.Open(full)
}

func readPasswd(rootfs string) ([]security.PasswdEntry, error) {
	f, err := openInRoot(rootfs, "/etc/passwd")
	if err != nil {
		return nil, ignoreMissing(err)
	}
	defer f.Close()
	return security.ParsePasswd(f)
}

func readGroup(rootfs string) ([]security.GroupEntry, error) {
	f, err := openInRoot(rootfs, "/etc/group")
	if err != nil {
		return nil, ignoreMissing(err)
	}
	defer f.Close()
	return security.ParseGroup(f)
}

func ignoreMissing(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
