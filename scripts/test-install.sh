#!/bin/sh
# test-install.sh: `make install DESTDIR=...` puts the binary, the
# completion scripts and the man pages where shells and man look for them,
# the bash script loads, and `make uninstall` leaves DESTDIR exactly as it
# was, directories that existed before (with their files) included.
# Run by `make test-install` (no root needed).
set -eu
cd "$(dirname "$0")/.."
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
prefix=/usr/local
# Something that was there before: a man page of another program, in a
# directory that install also uses.
mkdir -p "$dest$prefix/share/man/man1" "$dest/etc"
echo "other" > "$dest$prefix/share/man/man1/other.1"
echo "keep" > "$dest/etc/keep"
snapshot() { (cd "$dest" && find . -printf '%p %y %m\n' | sort && find . -type f -exec sha256sum {} + | sort); }
before=$(snapshot)

fail() { echo "test-install: FAIL: $*" >&2; exit 1; }
make -s install DESTDIR="$dest" PREFIX="$prefix" >/dev/null
for f in bin/minirun bin/minirun-init share/bash-completion/completions/minirun share/zsh/site-functions/_minirun \
	share/fish/vendor_completions.d/minirun.fish share/man/man1/minirun.1 share/man/man1/minirun-run.1 \
	share/man/man1/minirun-network-create.1; do
	[ -s "$dest$prefix/$f" ] || fail "make install did not install $prefix/$f"
done
"$dest$prefix/bin/minirun" --version | grep -q '^minirun version ' || fail "the installed binary does not run"
bash -c ". '$dest$prefix/share/bash-completion/completions/minirun' && complete -p minirun" | grep -q __start_minirun ||
	fail "the bash completion script does not load"
if command -v man >/dev/null; then
	MANPATH="$dest$prefix/share/man" man -P cat minirun-run 2>/dev/null | grep -q 'Run a command in a new container' ||
		fail "man minirun-run does not show the page"
fi
# A second install over the first is no problem, and changes nothing.
make -s install DESTDIR="$dest" PREFIX="$prefix" >/dev/null

make -s uninstall DESTDIR="$dest" PREFIX="$prefix"
after=$(snapshot)
if [ "$before" != "$after" ]; then
	echo "$before" > "$dest.before"
	echo "$after" > "$dest.after"
	diff "$dest.before" "$dest.after" >&2 || true
	rm -f "$dest.before" "$dest.after"
	fail "make uninstall did not leave DESTDIR as it was"
fi
echo "test-install: ok (install, reinstall, uninstall into $dest)"
