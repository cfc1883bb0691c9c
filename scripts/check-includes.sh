#!/usr/bin/env bash
# scripts/check-includes.sh: includes point one way (STYLE.md):
# proxy -> pool -> conf -> lib, and vmm -> lib.  guest/ includes only
# guest/.  Two named exceptions: pool/health.c may use proxy/http.h and
# pool/spawn.c may use vmm/vmm_ctl.h.  Prints every violation, exits 1 if
# there was one.
set -uo pipefail
cd "$(dirname "$0")/.."

allowed() {	# folder -> the project folders it may include
	case $1 in
	lib)	echo "lib" ;;
	conf)	echo "conf lib" ;;
	pool)	echo "pool conf lib" ;;
	proxy)	echo "proxy pool conf lib" ;;
	vmm)	echo "vmm lib" ;;
	guest)	echo "guest" ;;
	*)	echo "*" ;;
	esac
}

bad=0
while IFS=: read -r file line text; do
	dir=${file%%/*}
	inc=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' <<<"$text")
	[ -n "$inc" ] || continue
	target=${inc%%/*}
	[ "$target" != "$inc" ] || target=$dir	# "foo.h": same folder
	ok=$(allowed "$dir")
	[ "$ok" = "*" ] && continue
	[[ " $ok " == *" $target "* ]] && continue
	[ "$file" = pool/health.c ] && [ "$inc" = proxy/http.h ] && continue
	[ "$file" = pool/spawn.c ] && [ "$inc" = vmm/vmm_ctl.h ] && continue
	echo "$file:$line: includes \"$inc\": $dir/ may include only: $ok" >&2
	bad=1
done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' \
    lib/* conf/* pool/* proxy/* vmm/* guest/* 2>/dev/null)
# The guest is freestanding: no system header but the compiler's own.
while IFS=: read -r file line text; do
	case $text in
	*'<stddef.h>'*|*'<stdint.h>'*|*'<stdbool.h>'*|*'<stdarg.h>'*|\
	*'<stdalign.h>'*|*'<stdnoreturn.h>'*|*'<limits.h>'*|*'<cpuid.h>'*)
		continue ;;
	esac
	echo "$file:$line: guest/ includes a host header: $text" >&2
	bad=1
done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*<' guest/* \
    2>/dev/null)
exit $bad
