#!/bin/sh
# Fails if the shared library exports anything outside sparse_* or lacks its soname.
set -eu
so="$1"
leaks=$(nm -D --defined-only "$so" | awk '{print $NF}' | grep -v '^sparse_' | grep -v '^SPARSE_' || true)
if [ -n "$leaks" ]; then
    echo "symbols exported outside sparse_*:"; echo "$leaks"; exit 1
fi
count=$(nm -D --defined-only "$so" | awk '{print $NF}' | grep -c '^sparse_' || true)
[ "$count" -gt 10 ] || { echo "only $count sparse_* symbols exported: version script or visibility broken"; exit 1; }
soname=$(readelf -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libsparse.so.0" ] || { echo "soname is '$soname', expected libsparse.so.0"; exit 1; }
echo "ok: $count sparse_* symbols, soname $soname"
