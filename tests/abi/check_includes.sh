#!/bin/sh
# The include rule of docs/design.md: a module includes the public headers
# (include/sparse/*.h) of the modules below it, and of other modules' private
# headers only lib/core's (internal.h, doc.h), which every module shares; the
# CLI includes the public API only. Fails naming the file and the include.
set -eu
root="$1"
# Public headers each module may include: its own and those of the modules
# it uses (core <- tensor <- data <- layers <- prune; memory uses layers and
# prune; gp uses core only; search uses all; export uses memory and layers).
# experimental.h is the layers module's experimental API and grows with the
# modules above it, so every module that uses layers may include it.
allowed() {
    case "$1" in
    core) echo "core" ;;
    tensor) echo "core tensor" ;;
    data) echo "core tensor data" ;;
    layers) echo "core tensor data layers experimental" ;;
    prune) echo "core tensor data layers experimental prune" ;;
    memory) echo "core tensor data layers experimental prune memory quant" ;;
    gp) echo "core gp" ;;
    export) echo "core tensor data layers experimental prune memory quant export" ;;
    search) echo "core tensor data layers experimental prune memory quant gp export search" ;;
    *) return 1 ;;
    esac
}
bad=0
for dir in "$root"/lib/*/; do
    m=$(basename "$dir")
    ok=$(allowed "$m") || { echo "lib/$m: a module this check does not know: add it to tests/abi/check_includes.sh"; bad=1; continue; }
    for f in "$dir"*.c "$dir"*.h; do
        [ -e "$f" ] || continue
        rel=${f#"$root"/}
        # Another module's private header: only lib/core's are shared.
        grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"\.\./' "$f" | while IFS= read -r line; do
            other=$(echo "$line" | sed 's|.*"\.\./\([^/]*\)/.*|\1|')
            [ "$other" = core ] || echo "$rel:${line%%:*}: includes lib/$other's private header (${line#*:})"
        done
        # Public headers of modules above this one.
        grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]sparse/' "$f" | while IFS= read -r line; do
            h=$(echo "$line" | sed 's|.*sparse/\([a-z_]*\)\.h.*|\1|')
            case " $ok " in *" $h "*) ;; *) echo "$rel:${line%%:*}: lib/$m includes sparse/$h.h, a module it does not use" ;; esac
        done
    done
done > "${TMPDIR:-/tmp}/check_includes.$$"
for f in "$root"/cli/*.c "$root"/cli/*.h; do
    [ -e "$f" ] || continue
    grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*\(lib/\|\.\./\)' "$f" | while IFS= read -r line; do
        echo "${f#"$root"/}:${line%%:*}: the CLI includes a library internal (${line#*:})"
    done
done >> "${TMPDIR:-/tmp}/check_includes.$$"
if [ -s "${TMPDIR:-/tmp}/check_includes.$$" ]; then
    cat "${TMPDIR:-/tmp}/check_includes.$$"
    bad=1
fi
rm -f "${TMPDIR:-/tmp}/check_includes.$$"
[ "$bad" = 0 ] || exit 1
echo "ok: every module includes only lib/core's internals and the public headers of the modules it uses"
