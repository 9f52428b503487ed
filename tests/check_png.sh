# shellcheck shell=bash disable=SC2154  # $python: the sourcing test sets it
# check_png FILE: exists, starts with the PNG signature, decodes to > 200 x 200
# pixels, not one flat colour; prints why not and returns 1 otherwise. Sourced by
# the plot tests, which set $python.
check_png() {
  local file=$1
  [ -f "$file" ] || { echo "missing"; return 1; }
  [ "$(head -c 8 "$file" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || { echo "no PNG signature"; return 1; }
  "$python" - "$file" <<'EOF_PY'
import sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.image
import numpy as np
image = matplotlib.image.imread(sys.argv[1])
height, width = image.shape[:2]
pixels = image.reshape(height * width, -1)
if width <= 200 or height <= 200:
    sys.exit(f"only {width} x {height} pixels")
if not np.any(pixels != pixels[0]):
    sys.exit("a single flat colour")
EOF_PY
}
