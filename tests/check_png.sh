# shellcheck shell=bash disable=SC2154  # $python: the sourcing test sets it
# check_png FILE...: each file exists, starts with the PNG signature, decodes to
# > 200 x 200 pixels and is not one flat colour; prints "FILE: why not" for
# each that fails and returns 1 if any did. One Python start for all the files
# (matplotlib's import is most of a check's time). Sourced by the plot tests,
# which set $python.
check_png() {
  "$python" - "$@" <<'EOF_PY'
import sys
import matplotlib
matplotlib.use("Agg")
import matplotlib.image
import numpy as np

def why_not(path):
    try:
        with open(path, "rb") as f:
            if f.read(8) != b"\x89PNG\r\n\x1a\n":
                return "no PNG signature"
    except OSError:
        return "missing"
    image = matplotlib.image.imread(path)
    height, width = image.shape[:2]
    pixels = image.reshape(height * width, -1)
    if width <= 200 or height <= 200:
        return f"only {width} x {height} pixels"
    if not np.any(pixels != pixels[0]):
        return "a single flat colour"
    return None

failed = [(path, why) for path in sys.argv[1:] for why in [why_not(path)] if why]
for path, why in failed:
    print(f"{path}: {why}")
sys.exit(1 if failed else 0)
EOF_PY
}
