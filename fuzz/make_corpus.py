#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/{csv,idx,args}/ (committed; rerun only to regenerate).

csv: two option bytes (see fuzz_csv.cpp) + CSV text; idx: mode byte + split byte (see
fuzz_idx.cpp) + IDX bytes; args: arguments separated by '\\0'.
"""
import gzip
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))
data = os.path.join(here, "..", "examples", "data")


def write(kind, name, content):
    d = os.path.join(here, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(content)


def head(name, lines, cols=None):
    out = []
    with open(os.path.join(data, name), encoding="utf-8") as f:
        for i, line in enumerate(f):
            if i >= lines:
                break
            cells = line.rstrip("\n").split(",")
            if cols is not None:
                cells = cells[:cols] + cells[-1:]
            out.append(",".join(cells))
    return ("\n".join(out) + "\n").encode()


# ---- CSV: byte 0 = flags, byte 1 = label choice (0x03: last column, 0x80 + i: by name).
LAST, HEADERLESS, REGRESSION, IMPUTE = 0x03, 0x01, 0x02, 0x04
csv = {
    "wine": (bytes([0, LAST]), head("wine.csv", 6)),
    "diabetes_regression": (bytes([REGRESSION, LAST]), head("diabetes.csv", 6)),
    "breast_cancer_strings": (bytes([0, LAST]), head("breast_cancer.csv", 5, cols=4)),
    "digits": (bytes([0, LAST | 0x20]), head("digits.csv", 4, cols=8)),
    "label_by_name": (bytes([0, 0x80]), b"a,b,y\n1,2,x\n3,4,y\n5,6,x\n"),
    "label_first": (bytes([0, 0x04]), b"class,a,b\n2,1.5,2\n10,3,4e-3\n1,-5,6\n"),
    "quoted": (bytes([0, LAST]), b'"a","b,c","y"\n"1","2","he said ""hi"""\n3,"4\n",z\n'),
    "crlf_bom": (bytes([0, LAST]), b"\xef\xbb\xbfa,b,y\r\n1,2,0\r\n3,4,1\r\n"),
    "comments_blank": (bytes([0, LAST]), b"# comment\na,b,y\n\n1,2,0\n  \n# x\n3,4,1\n"),
    "r_rownames": (bytes([0, LAST]), b'"","a","b","y"\n"1",1,2,"M"\n"2",NA,4,"B"\n"3",5,6,"M"\n'),
    "missing_impute": (bytes([IMPUTE, LAST]), b"a,b,y\n1,,0\n?,4,1\n5,NA,0\n7,8,1\n"),
    "headerless": (bytes([HEADERLESS, LAST]), b"1,2,0\n3,4,1\n5,6,2\n"),
    "semicolon": (bytes([0x10, LAST]), b"a;b;y\n1,5;2;A\n3;4;B\n"),
    "tab": (bytes([0x20, LAST]), b"a\tb\ty\n1\t2\t0\n3\t4\t1\n"),
    "drop_id": (bytes([0, LAST | 0x08]), b"id,a,b,y\n7,1,2,0\n8,3,4,1\n"),
    "numbers": (bytes([REGRESSION, LAST | 0x20]), b"a,b,y\n+1.5e3,-0,1e-320\n1e308,-1e-5,inf\n0x10,.5,5.\n"),
    "ragged": (bytes([0, LAST]), b"a,b,y\n1,2\n3,4,5,6\n"),
    "unterminated": (bytes([0, LAST]), b'a,b,y\n1,"2,3\n'),
    "after_quote": (bytes([0, LAST]), b'a,b,y\n1,"2"x,3\n'),
    "empty": (bytes([0, LAST]), b""),
    "header_only": (bytes([0, LAST]), b"a,b,y\n"),
    "no_label": (bytes([0, 0x81]), b"a,b,y\n1,2,3\n"),
    "missing_values_option": (bytes([0x04, LAST | 0x18]), b"a,b,y\n-,2,0\n3,,1\n5,6,0\n"),
    "huge_values": (bytes([0, LAST]), b"a,b,y\n1e39,2,0\n3,-1e400,1\n"),
}
for name, (opts, text) in csv.items():
    write("csv", name + ".csv", opts + text)


# ---- IDX: byte 0 = mode (0 plain/as is, 1 gzip in memory, 2 two gzip members, 3 images +
# labels split at byte 1), byte 1 = split point.
def idx(type_code, dims, values):
    fmt = {0x08: "B", 0x09: "b", 0x0B: ">h", 0x0C: ">i", 0x0D: ">f", 0x0E: ">d"}[type_code]
    out = bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    return out + b"".join(struct.pack(fmt, v) for v in values)


arrays = {
    "ubyte": idx(0x08, [2, 2, 3], [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]),
    "sbyte": idx(0x09, [4], [-128, -1, 0, 127]),
    "int16": idx(0x0B, [2, 2], [-32768, -2, 1, 32767]),
    "int32": idx(0x0C, [3], [-2147483648, 0, 2147483647]),
    "float32": idx(0x0D, [2, 1], [1.5, -2.5]),
    "float64": idx(0x0E, [2], [1e300, -1e-300]),
    "empty_dim": idx(0x08, [0, 5, 5], []),
    "labels": idx(0x08, [3], [7, 3, 7]),
}
for name, b in arrays.items():
    write("idx", name + ".idx", bytes([0, 0]) + b)
    write("idx", name + ".idx.gz", bytes([0, 0]) + gzip.compress(b, mtime=0))
    write("idx", name + ".inmem", bytes([1, 0]) + b)
write("idx", "two_members", bytes([2, 7]) + arrays["int16"])
write("idx", "trailing_garbage.gz", bytes([0, 0]) + gzip.compress(arrays["ubyte"], mtime=0) + b"junk")
write("idx", "truncated.gz", bytes([0, 0]) + gzip.compress(arrays["ubyte"], mtime=0)[:20])
write("idx", "bad_magic", bytes([0, 0]) + b"\x01\x00\x08\x01\x00\x00\x00\x01\x05")
write("idx", "bad_type", bytes([0, 0]) + b"\x00\x00\x42\x01\x00\x00\x00\x01\x05")
write("idx", "short", bytes([0, 0]) + idx(0x08, [4], [1, 2]))
write("idx", "huge_dims", bytes([0, 0]) + bytes([0, 0, 8, 3]) + b"\xff\xff\xff\xff" * 3)
write("idx", "small_limit", bytes([5, 0]) + idx(0x08, [100], list(range(100))))
img = idx(0x08, [3, 2, 2], list(range(0, 240, 20)))
write("idx", "dataset", bytes([3, len(img)]) + img + arrays["labels"])
write("idx", "dataset_mismatch", bytes([3, len(img)]) + img + idx(0x08, [2], [1, 2]))
write("idx", "dataset_bad_label", bytes([3, len(img)]) + img + idx(0x0D, [3], [1.5, 0, 2]))

# ---- args: one argument per '\0'.
args = [
    [],
    ["--help"],
    ["--data", "breast_cancer", "--k", "5"],
    ["--data", "my.csv", "--label", "type", "--k", "20"],
    ["--idx", "/root/.cache/attnsel/mnist", "--k", "50", "--epochs", "10"],
    ["--data", "diabetes", "--task", "regression", "--method", "omp", "--k", "4"],
    ["--method", "lasso", "--quiet", "--seed", "18446744073709551615"],
    ["--method", "random", "--test-fraction", "0.5", "--lr", "1e-3", "--batch", "128"],
    ["--picture", "out.png", "--export-split", "/tmp"],
    ["--k", "0"],
    ["--k", "abc"],
    ["--epochs", "0"],
    ["--lr", "-1"],
    ["--test-fraction", "2"],
    ["--task", "clustering"],
    ["--method", "magic"],
    ["--unknown"],
    ["--k"],
    ["--k=7", "--quiet=true"],
    ["positional"],
    ["--seed", "-1"],
    ["--batch", "99999999999999999999"],
]
for i, a in enumerate(args):
    write("args", "args%02d" % i, b"\0".join(s.encode() for s in a))
