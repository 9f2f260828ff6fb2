#!/bin/sh
# The run report: a search leaves report.html in its run directory, `sparse
# report` writes it (and the figure) for an existing run, and headless
# Chromium renders it to a screenshot that is not blank (distinct colours and
# ink counted by png_content.py, standard library only). Skips the rendering
# (77, saying why) only when Chromium is missing or cannot start.
set -u
SPARSE=$1
. "$(dirname "$0")/../lib.sh"
PNG_CONTENT="$(dirname "$0")/png_content.py"

tiny_csv "$T/tiny.csv" 5
tiny_search_config "$T/tiny.csv" "$T/tiny.yaml"
cat >>"$T/tiny.yaml" <<'EOC'
budgets: {ms_bytes: 600, wm_bytes: 800}
plot:
  accuracy: test
  references:
    - {label: published, accuracy: 0.97, ms_bytes: 1066, wm_bytes: 802}
EOC
run 0 search "$T/tiny.yaml" --out "$T/run" -q
[ -s "$T/run/report.html" ] || fail "the search left no report.html"
grep -q '<h2>All trials (4;' "$T/run/report.html" || fail "report.html does not hold the 4 trials"
grep -q '>test accuracy (%)</text>' "$T/run/report.html" || fail "the figure does not say it shows test accuracy"

# For an existing run, elsewhere; a missing run is an error naming it.
run 0 report "$T/run" -o "$T/page.html" --svg "$T/fig.svg"
err_has "wrote $T/page.html and $T/fig.svg"
cmp -s "$T/page.html" "$T/run/report.html" || fail "sparsenas report wrote another page than the search"
grep -q '<circle' "$T/fig.svg" || fail "--svg wrote no figure"
rm "$T/run/report.html"
run 0 report "$T/run" -q
err_empty
[ -s "$T/run/report.html" ] || fail "sparsenas report DIR did not write DIR/report.html"
run 1 report "$T/nowhere"
err_has "$T/nowhere"
run 2 report
err_has "missing DIR"

# inspect --dot: the run's WM model, each window's kernel and stride, and
# the totals before and after pruning.
front=$(sed -n 's/.*<h3 id="trial-\([0-9]*\)".*/\1/p' "$T/run/report.html" | head -n 1)
run 0 inspect "$T/run" --trial "$front" --dot
out_has "kernel, stride"
out_has "per layer [MS, WM5] in bytes, before -> after pruning\\ntotal before -> after pruning: ["
sed 's/^budgets:.*/budgets: {ms_bytes: 600, wm_bytes: 800}\nwm_model: 6/' "$T/tiny.yaml" >"$T/wm6.yaml"
run 0 search "$T/wm6.yaml" --out "$T/run6" -q --trials 2
run 0 inspect "$T/run6" --trial 1 --dot
out_has "per layer [MS, WM6] in bytes, before -> after pruning\\ntotal before -> after pruning: ["

if ! command -v chromium >/dev/null 2>&1; then
    echo "chromium not found (Debian package chromium): report.html not rendered; skipped"
    [ "$fails" -eq 0 ] && exit 77
    exit 1
fi
# Half scale keeps the PNG small enough to decode quickly in Python.
shot() {
    timeout 60 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=0.5 \
        --window-size=1200,1600 --screenshot="$2" "file://$1" >"$T/chromium.log" 2>&1
}
if ! shot "$T/run/report.html" "$T/report.png" || [ ! -s "$T/report.png" ]; then
    echo "chromium could not start or write a screenshot; skipped. Its output:"
    cat "$T/chromium.log"
    [ "$fails" -eq 0 ] && exit 77
    exit 1
fi
# The report: a figure, tables and diagrams in several colours over a good
# share of the page. A blank page (checked alike) has one colour, no ink.
python3 "$PNG_CONTENT" "$T/report.png" 50 3 || fail "report.html renders (nearly) blank"
echo '<!DOCTYPE html><html><body></body></html>' >"$T/blank.html"
if shot "$T/blank.html" "$T/blank.png"; then
    python3 "$PNG_CONTENT" "$T/blank.png" 50 3 >"$T/blank.out" && fail "the blank page passed the check"
    cat "$T/blank.out"
fi
[ "$fails" -eq 0 ] || exit 1
