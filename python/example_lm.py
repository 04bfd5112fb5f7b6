"""A language model built in PyTorch, outside Tributary's worker, trained on
datanet contributions and exported with `tributary_export` for
`tributary-worker publish`: what a user who brings a model does.

    python example_lm.py --contribution 7=a.txt --contribution 8=b.txt --out out

The model is a small decoder-only transformer over bytes (PyTorch's own
`nn.MultiheadAttention`, learnt positions), trained with AdamW on random
windows of the corpus, each text read after a byte 0 as the worker reads a
prompt.
"""

import argparse
import sys
import time

import torch
from torch import nn

import tributary_export as te


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.attention_norm = nn.LayerNorm(width)
        self.attention = nn.MultiheadAttention(width, heads, batch_first=True)
        self.mlp_norm = nn.LayerNorm(width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x, mask):
        h = self.attention_norm(x)
        attended, _ = self.attention(h, h, h, attn_mask=mask, need_weights=False)
        x = x + attended
        return x + self.mlp(self.mlp_norm(x))


class ByteTransformer(nn.Module):
    def __init__(self, context, width, layers, heads):
        super().__init__()
        self.embedding = nn.Embedding(te.VOCABULARY, width)
        self.positions = nn.Parameter(torch.randn(context, width) * 0.02)
        self.blocks = nn.ModuleList(Block(width, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, te.VOCABULARY)

    def forward(self, tokens):
        n = tokens.shape[1]
        mask = torch.triu(torch.full((n, n), float("-inf")), diagonal=1)
        x = self.embedding(tokens) + self.positions[:n]
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.norm(x))


def train(corpus, context, width, layers, heads, epochs, batch, lr, seed):
    torch.manual_seed(seed)
    model = ByteTransformer(context, width, layers, heads)
    data = torch.tensor([te.END_OF_TEXT] + list(corpus), dtype=torch.int64)
    if len(data) <= context:
        data = data.repeat(context // len(data) + 2)
    starts = len(data) - context
    steps = max(1, len(data) // (context * batch))
    optimiser = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    loss_fn = nn.CrossEntropyLoss()
    began = time.monotonic()
    for epoch in range(1, epochs + 1):
        total = 0.0
        for _ in range(steps):
            offsets = torch.randint(0, starts, (batch,))
            windows = torch.stack([data[o : o + context + 1] for o in offsets.tolist()])
            logits = model(windows[:, :-1])
            loss = loss_fn(logits.reshape(-1, te.VOCABULARY), windows[:, 1:].reshape(-1))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item()
        if epoch % 25 == 0 or epoch == epochs:
            print(f"epoch {epoch}/{epochs}: loss {total / steps:.4f} nats per token "
                  f"({time.monotonic() - began:.0f} s)", file=sys.stderr)
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contribution", type=te.contribution_arg, action="append", required=True,
                        metavar="ID=FILE")
    parser.add_argument("--out", required=True)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--min-span", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(1)
    try:
        corpus, _ = te.corpus_of(args.contribution)
        model = train(corpus, args.context, args.width, args.layers, args.heads, args.epochs,
                      args.batch, args.lr, args.seed)
        written = te.export(
            model, args.out, args.contribution, context=args.context, width=args.width,
            layers=args.layers, heads=args.heads, max_new_tokens=args.max_new_tokens,
            min_span=args.min_span,
        )
    except (te.ExportError, OSError) as e:
        sys.exit(f"error: {e}")
    te.print_written(written)


if __name__ == "__main__":
    main()
