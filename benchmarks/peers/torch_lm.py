#!/usr/bin/python3
"""The PyTorch (1.13, CPU) peer of attnsel's TransformerLM training step (issue #14): the same
model (pre-LayerNorm blocks, GELU tanh MLP, tied embeddings, Selective Attention materialised as
the paper's sketch, or plain causal attention), the same initial weights (read from the file
attnsel's lm_step wrote with save_lm), the same batches, the same AdamW (decay 0.1 on the
matrices only, betas 0.9/0.99, eps 1e-8, constant rate) and clipping at global norm 1.

    torch_lm.py DIR [THREADS] [LR]

DIR holds init.bin and batches.bin from `lm_step --out DIR`. Prints every step's loss, the
median step time (the first step excluded) and tokens/s."""
import math
import struct
import sys
import time

import torch


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        size = struct.calcsize(fmt)
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += size
        return values if len(values) > 1 else values[0]

    def raw(self, n):
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b


def load_model_file(path):
    """The config and the tensors (name -> [rows, cols] float tensor) of an attnsel model file."""
    with open(path, "rb") as f:
        r = Reader(f.read())
    if r.raw(8) != b"ATTNSLM\0":
        raise ValueError(path + ": not an attnsel model file")
    version, scalar = r.take("I"), r.take("I")
    # 2 adds budget sets after the tensors, which this script ignores; 3 names the tokenizer's kind;
    # 4 adds per-layer head counts and MLP widths (structurally pruned models), which this peer,
    # a model of uniform layers, refuses unless they are empty.
    if version not in (1, 2, 3, 4):
        raise ValueError("%s: version %d, this script reads 1 to 4" % (path, version))
    names = ["vocab", "context", "layers", "heads", "width", "head_dim", "mlp_ratio"]
    cfg = dict(zip(names, r.take("7q")))
    cfg["tied"], cfg["selective"] = bool(r.take("B")), bool(r.take("B"))
    n = r.take("Q")
    cfg["selector_heads"] = [r.take("q") for _ in range(n)]
    cfg["dropout"], cfg["seed"] = r.take("d"), r.take("Q")
    if version >= 4:
        for field in ("layer_heads", "layer_mlp"):
            if [r.take("q") for _ in range(r.take("Q"))]:
                raise ValueError("%s: per-layer %s (a pruned model); this script runs uniform models" % (path, field))
    if version >= 3:
        r.raw(r.take("I"))  # the tokenizer's kind
    r.raw(r.take("Q"))  # the tokenizer's data
    tensors = {}
    for _ in range(r.take("Q")):
        name = r.raw(r.take("I")).decode()
        rows, cols = r.take("q"), r.take("q")
        fmt = "f" if scalar == 4 else "d"
        values = struct.unpack_from("<%d%s" % (rows * cols, fmt), r.data, r.pos)
        r.pos += rows * cols * scalar
        tensors[name] = torch.tensor(values, dtype=torch.float32).reshape(rows, cols)
    if cfg["head_dim"] == 0:
        cfg["head_dim"] = cfg["width"] // cfg["heads"]
    if not cfg["selector_heads"]:
        cfg["selector_heads"] = [0] * cfg["layers"]
    return cfg, tensors


def load_batches(path):
    with open(path, "rb") as f:
        data = f.read()
    steps, b, t = struct.unpack_from("<3i", data, 0)
    ids = torch.tensor(struct.unpack_from("<%di" % (steps * 2 * b * t), data, 12), dtype=torch.long)
    ids = ids.reshape(steps, 2, b, t)
    return [(ids[s, 0], ids[s, 1]) for s in range(steps)]


class Block(torch.nn.Module):
    def __init__(self, cfg, selector):
        super().__init__()
        w, a, m = cfg["width"], cfg["heads"] * cfg["head_dim"], cfg["mlp_ratio"] * cfg["width"]
        self.heads, self.hd, self.selective, self.selector = cfg["heads"], cfg["head_dim"], cfg["selective"], selector
        self.ln1, self.ln2 = torch.nn.LayerNorm(w, eps=1e-5), torch.nn.LayerNorm(w, eps=1e-5)
        self.qkv, self.out = torch.nn.Linear(w, 3 * a), torch.nn.Linear(a, w)
        self.fc1, self.fc2 = torch.nn.Linear(w, m), torch.nn.Linear(m, w)

    def attention(self, x):
        b, t, _ = x.shape
        q, k, v = self.qkv(x).split(self.heads * self.hd, dim=-1)
        q, k, v = (z.reshape(b, t, self.heads, self.hd).transpose(1, 2) for z in (q, k, v))
        logits = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.hd)
        future = torch.ones(t, t, dtype=torch.bool).triu(1)
        logits = logits.masked_fill(future, float("-inf"))
        if self.selective:
            votes = torch.relu(logits[:, self.selector])             # [b, t, t]; future: relu(-inf) = 0
            keep = torch.ones(t, t)
            keep[:, 0] = 0                                           # BOS is never masked
            keep.fill_diagonal_(0)                                   # nor a query's own key
            votes = votes * keep
            shifted = torch.cat([torch.zeros(b, 1, t), votes[:, :-1]], dim=1)  # only later queries
            logits = logits - torch.cumsum(shifted, dim=1).unsqueeze(1)
        o = torch.matmul(torch.softmax(logits, dim=-1), v)
        return self.out(o.transpose(1, 2).reshape(b, t, self.heads * self.hd))

    def forward(self, x):
        x = x + self.attention(self.ln1(x))
        return x + self.fc2(torch.nn.functional.gelu(self.fc1(self.ln2(x)), approximate="tanh"))


class LM(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.tok = torch.nn.Embedding(cfg["vocab"], cfg["width"])
        self.pos = torch.nn.Parameter(torch.zeros(cfg["context"], cfg["width"]))
        self.blocks = torch.nn.ModuleList(Block(cfg, cfg["selector_heads"][l]) for l in range(cfg["layers"]))
        self.lnf = torch.nn.LayerNorm(cfg["width"], eps=1e-5)
        self.head = None if cfg["tied"] else torch.nn.Linear(cfg["width"], cfg["vocab"])

    def forward(self, ids):
        x = self.tok(ids) + self.pos[: ids.shape[1]]
        for blk in self.blocks:
            x = blk(x)
        x = self.lnf(x)
        return self.head(x) if self.head is not None else torch.matmul(x, self.tok.weight.t())

    def load(self, t):
        with torch.no_grad():
            self.tok.weight.copy_(t["token_embedding"])
            self.pos.copy_(t["position_embedding"])
            for l, blk in enumerate(self.blocks):
                p = "block%d." % l
                blk.ln1.weight.copy_(t[p + "norm1.gamma"][0]); blk.ln1.bias.copy_(t[p + "norm1.beta"][0])
                blk.ln2.weight.copy_(t[p + "norm2.gamma"][0]); blk.ln2.bias.copy_(t[p + "norm2.beta"][0])
                for lin, name in ((blk.qkv, "attention.qkv"), (blk.out, "attention.output"),
                                  (blk.fc1, "mlp.in"), (blk.fc2, "mlp.out")):
                    lin.weight.copy_(t[p + name + ".weight"].t()); lin.bias.copy_(t[p + name + ".bias"][0])
            self.lnf.weight.copy_(t["final_norm.gamma"][0]); self.lnf.bias.copy_(t["final_norm.beta"][0])
            if self.head is not None:
                self.head.weight.copy_(t["output.weight"].t()); self.head.bias.copy_(t["output.bias"][0])


def main():
    folder = sys.argv[1]
    threads = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    lr = float(sys.argv[3]) if len(sys.argv) > 3 else 1e-3
    torch.set_num_threads(threads)
    cfg, tensors = load_model_file(folder + "/init.bin")
    batches = load_batches(folder + "/batches.bin")
    model = LM(cfg)
    model.load(tensors)
    # AdamW with decay on the matrices only (attnsel: Parameter::decay is false on norms, biases
    # and embeddings).
    decay = [p for n, p in model.named_parameters() if n.endswith("weight") and p.dim() == 2 and not n.startswith("tok")]
    ids = {id(p) for p in decay}
    rest = [p for p in model.parameters() if id(p) not in ids]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.99), eps=1e-8)
    losses, seconds = [], []
    for inputs, targets in batches:
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(inputs)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, cfg["vocab"]), targets.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        seconds.append(time.perf_counter() - t0)
        losses.append(loss.item())
    b, t = batches[0][0].shape
    timed = sorted(seconds[1:])
    med = timed[len(timed) // 2]
    print("torch %s, %d threads" % (torch.__version__, threads))
    print("step losses: " + " ".join("%.6f" % v for v in losses))
    print("step (batch %d x %d tokens): median %.2f ms over %d steps, %.0f tokens/s" % (b, t, med * 1e3, len(timed), b * t / med))


if __name__ == "__main__":
    main()
