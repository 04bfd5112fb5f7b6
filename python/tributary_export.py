"""Turns a PyTorch language model and its training files into what a
Tributary worker serves: a TorchScript module, and a span index holding the
model's card and its training corpus, content-addressed and ready for
`tributary-worker publish`.

The contract (the README's "Models users bring" says it in full):

- the module's `forward(tokens)` takes `[1, context]` int64 token ids and
  returns `[1, context, 256]` logits, causal: position `i` sees tokens
  `0..=i` only (the worker pads a short window on the right);
- a token is a byte of the UTF-8 text, byte 0 ends every text;
- the corpus is the training texts of the named contributions, parsed as the
  worker parses a contribution (`label<TAB>text` lines, blank and `#` lines
  skipped, label and text trimmed of Unicode white space), each text's bytes
  without byte 0 followed by byte 0, a contribution's texts together, in the
  order the contributions are given;
- the suffix array sorts every position of the corpus by the bytes from
  there, a suffix before every longer one it begins.

A worker rebuilds the corpus from the contributions' content on chain and
the suffix array from the corpus, and refuses a model whose index differs.

Library use::

    from tributary_export import export, read_texts
    export(model, "out", [(7, "a.txt"), (8, "b.txt")], context=64, width=64,
           layers=2, heads=4)

Command line (a module saved with `torch.jit.save` or `torch.save`)::

    python tributary_export.py --module model.pt --context 64 --width 64 \\
        --layers 2 --heads 4 --contribution 7=a.txt --contribution 8=b.txt \\
        --out out
"""

import argparse
import hashlib
import json
import os
import sys

import torch
from safetensors.torch import save_file

FORMAT = "tributary-language-model/1"
END_OF_TEXT = 0
VOCABULARY = 256
MAX_NEW_TOKENS = 128
MAX_CONTEXT = 1024

# What Rust's `str::trim` removes: the characters with Unicode's White_Space
# property (Python's `str.strip()` removes more, such as U+001C..U+001F).
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


class ExportError(Exception):
    """A model or a training file that a worker would refuse."""


def read_texts(path):
    """The training texts of a contribution file, as a worker reads them."""
    with open(path, "rb") as f:
        raw = f.read()
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ExportError(f"{path} is not UTF-8 text: {e}") from e
    texts = []
    for n, line in enumerate(content.split("\n"), start=1):
        line = line.strip(WHITE_SPACE)
        if not line or line.startswith("#"):
            continue
        label, tab, body = line.partition("\t")
        if not tab or not label.strip(WHITE_SPACE) or not body.strip(WHITE_SPACE):
            raise ExportError(f"{path}, line {n}: not `label<TAB>text`")
        texts.append(body.strip(WHITE_SPACE))
    if not texts:
        raise ExportError(f"{path} holds no text")
    return texts


def tokens(text):
    """A text's tokens: its UTF-8 bytes, byte 0 dropped."""
    return text.encode("utf-8").replace(b"\0", b"")


def corpus_of(contributions):
    """The corpus of `(contribution id, file)` pairs and the contribution of
    each of its documents."""
    corpus, owners, seen = bytearray(), [], set()
    for contribution, path in contributions:
        if contribution in seen:
            raise ExportError(f"contribution {contribution} is named twice")
        seen.add(contribution)
        for text in read_texts(path):
            corpus += tokens(text)
            corpus.append(END_OF_TEXT)
            owners.append(contribution)
    return bytes(corpus), owners


def suffix_array(corpus):
    """Every position of `corpus` in the order of the bytes from there, a
    suffix before every longer one it begins (prefix doubling: each round
    ranks suffixes by twice as many bytes)."""
    n = len(corpus)
    if n == 0:
        return torch.zeros(0, dtype=torch.int32)
    rank = torch.frombuffer(bytearray(corpus), dtype=torch.uint8).to(torch.int64)
    span = 1
    while True:
        # A suffix shorter than the span ranks below every longer one.
        then = torch.full((n,), -1, dtype=torch.int64)
        if span < n:
            then[: n - span] = rank[span:]
        order = torch.argsort(then, stable=True)
        order = order[torch.argsort(rank[order], stable=True)]
        first, second = rank[order], then[order]
        new = torch.zeros(n, dtype=torch.int64)
        new[1:] = ((first[1:] != first[:-1]) | (second[1:] != second[:-1])).to(torch.int64)
        rank = torch.empty_like(rank)
        rank[order] = torch.cumsum(new, 0)
        if int(rank.max()) == n - 1 or span >= n:
            return order.to(torch.int32)
        span *= 2


def check_module(module, context):
    """Runs `module` as the worker does: shape, and causality."""
    probe = torch.zeros(1, context, dtype=torch.int64)
    probe[0, : min(context, 5)] = torch.tensor(list(b"Hello"[:context]))
    with torch.no_grad():
        logits = module(probe)
        if not isinstance(logits, torch.Tensor) or list(logits.shape) != [1, context, VOCABULARY]:
            shape = list(logits.shape) if isinstance(logits, torch.Tensor) else type(logits)
            raise ExportError(f"forward gives {shape}, not [1, {context}, {VOCABULARY}]")
        changed = probe.clone()
        changed[0, -1] = 255 - changed[0, -1]
        later = module(changed)
    if context > 1 and not torch.equal(logits[0, :-1], later[0, :-1]):
        raise ExportError("forward is not causal: a later token changed earlier positions' logits")


def export(
    module,
    out,
    contributions,
    *,
    context,
    width,
    layers,
    heads,
    max_new_tokens=64,
    min_span=12,
):
    """Writes `out/model.pt` (TorchScript), `out/index.safetensors` and
    `out/card.json`; returns their paths and blake2-256 hashes.

    `module` is an `nn.Module` (traced here) or a TorchScript module;
    `contributions` the `(contribution id, file)` pairs it was trained on.
    `width`, `layers` and `heads` describe the module in its card."""
    if not 2 <= context <= MAX_CONTEXT:
        raise ExportError(f"context {context} is outside 2..={MAX_CONTEXT}")
    if not 1 <= max_new_tokens <= MAX_NEW_TOKENS:
        raise ExportError(f"max_new_tokens {max_new_tokens} is outside 1..={MAX_NEW_TOKENS}")
    if min_span < 1 or heads < 1 or width % heads != 0:
        raise ExportError("min_span and heads must be at least 1, and heads divide width")
    corpus, owners = corpus_of(contributions)
    if len(corpus) >= 2**31:
        raise ExportError("the corpus is 2 GiB or more; the index holds 32-bit positions")

    module = module.eval() if hasattr(module, "eval") else module
    if not isinstance(module, torch.jit.ScriptModule):
        example = torch.zeros(1, context, dtype=torch.int64)
        with torch.no_grad():
            module = torch.jit.trace(module, example)
    check_module(module, context)

    card = {
        "format": FORMAT,
        "tokenizer": "utf8-bytes",
        "context": context,
        "width": width,
        "layers": layers,
        "heads": heads,
        "max_new_tokens": max_new_tokens,
        "min_span": min_span,
    }
    card_bytes = json.dumps(card, separators=(",", ":")).encode()
    os.makedirs(out, exist_ok=True)
    paths = {
        "artifact": os.path.join(out, "model.pt"),
        "index": os.path.join(out, "index.safetensors"),
        "card": os.path.join(out, "card.json"),
    }
    torch.jit.save(module, paths["artifact"])
    save_file(
        {
            "card": torch.frombuffer(bytearray(card_bytes), dtype=torch.uint8),
            "corpus": torch.frombuffer(bytearray(corpus), dtype=torch.uint8)
            if corpus
            else torch.zeros(0, dtype=torch.uint8),
            "contributions": torch.tensor(owners, dtype=torch.int64),
            "suffix_array": suffix_array(corpus),
        },
        paths["index"],
    )
    with open(paths["card"], "w") as f:
        json.dump(card, f, indent=2)
    hashes = {}
    for name in ("artifact", "index"):
        with open(paths[name], "rb") as f:
            hashes[name] = "0x" + hashlib.blake2b(f.read(), digest_size=32).hexdigest()
    return {"paths": paths, "hashes": hashes, "tokens": len(corpus), "documents": len(owners)}


def contribution_arg(value):
    """`ID=FILE`."""
    contribution, eq, path = value.partition("=")
    if not eq or not contribution.isdigit() or not path:
        raise argparse.ArgumentTypeError(f"{value!r} is not ID=FILE")
    return int(contribution), path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--module", required=True, help="torch.jit.save'd or torch.save'd module")
    parser.add_argument("--contribution", type=contribution_arg, action="append", required=True,
                        metavar="ID=FILE", help="a training contribution and its file (repeat)")
    parser.add_argument("--context", type=int, required=True)
    parser.add_argument("--width", type=int, required=True)
    parser.add_argument("--layers", type=int, required=True)
    parser.add_argument("--heads", type=int, required=True)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--min-span", type=int, default=12)
    parser.add_argument("--out", required=True, help="the directory the files go into")
    args = parser.parse_args(argv)
    try:
        try:
            module = torch.jit.load(args.module)
        except RuntimeError:
            module = torch.load(args.module, weights_only=False)
        written = export(
            module, args.out, args.contribution, context=args.context, width=args.width,
            layers=args.layers, heads=args.heads, max_new_tokens=args.max_new_tokens,
            min_span=args.min_span,
        )
    except (ExportError, OSError) as e:
        sys.exit(f"error: {e}")
    print_written(written)


def print_written(written):
    """What `export` wrote, for a person and for scripts."""
    print(f"exported {FORMAT}: {written['documents']} texts, {written['tokens']} tokens")
    for name in ("artifact", "index"):
        print(f"  {name:<8} {written['paths'][name]} {written['hashes'][name]}")


if __name__ == "__main__":
    main()
