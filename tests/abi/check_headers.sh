#!/bin/sh
# Every public header must compile on its own as C99 -pedantic -Werror and as C++.
set -eu
incdir="$1"; cc="${CC:-cc}"; cxx="${CXX:-c++}"
fail=0; n=0
for h in "$incdir"/sparse/*.h; do
    name="sparse/$(basename "$h")"; n=$((n + 1))
    printf '#include <%s>\nint main(void) { return 0; }\n' "$name" |
        $cc -std=c99 -pedantic -Wall -Wextra -Werror -I"$incdir" -fsyntax-only -x c - ||
        { echo "FAIL (C99): $name"; fail=1; }
    if command -v "$cxx" >/dev/null 2>&1; then
        printf '#include <%s>\nint main() { return 0; }\n' "$name" |
            $cxx -std=c++11 -pedantic -Wall -Wextra -Werror -I"$incdir" -fsyntax-only -x c++ - ||
            { echo "FAIL (C++): $name"; fail=1; }
    else
        echo "SKIP (C++): no $cxx"
    fi
done
[ "$n" -gt 0 ] || { echo "no headers found in $incdir/sparse"; exit 1; }
[ $fail -eq 0 ] && echo "ok: $n headers compile alone as C99 and C++"
exit $fail
