"""The exporter against the rules a worker checks it by: its suffix array
against a plain sort, its parsing of contribution files, and the modules it
refuses. (The worker loading what it writes is the e2e test
tests/language.test.js.)"""

import os
import random
import tempfile
import unittest

import torch
from torch import nn

import tributary_export as te


class SuffixArray(unittest.TestCase):
    def test_matches_a_plain_sort_of_every_suffix(self):
        rng = random.Random(7)
        cases = [b"", b"a", b"banana\0", b"aaaaaaaa", b"abab\0abab\0"]
        cases += [bytes(rng.choice(b"ab\0\xff") for _ in range(rng.randint(1, 300))) for _ in range(40)]
        for corpus in cases:
            expected = sorted(range(len(corpus)), key=lambda i: corpus[i:])
            self.assertEqual(te.suffix_array(corpus).tolist(), expected, corpus)


class Texts(unittest.TestCase):
    def write(self, content):
        f = tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False)
        f.write(content)
        f.close()
        self.addCleanup(os.unlink, f.name)
        return f.name

    def test_reads_texts_as_a_worker_does(self):
        path = self.write("# a comment\n\n food \t\u3000Bread\0 rises.\u00a0\r\nfood\tSoup\n".encode())
        self.assertEqual(te.read_texts(path), ["Bread\0 rises.", "Soup"])
        corpus, owners = te.corpus_of([(3, path)])
        self.assertEqual(corpus, b"Bread rises.\0Soup\0")
        self.assertEqual(owners, [3, 3])

    def test_keeps_what_rust_does_not_trim(self):
        # U+001F is white space to Python's strip(), not to Rust's trim().
        self.assertEqual(te.read_texts(self.write("x\t\x1fa\x1f\n".encode())), ["\x1fa\x1f"])

    def test_refuses_a_line_without_a_label(self):
        with self.assertRaisesRegex(te.ExportError, "line 2: not `label<TAB>text`"):
            te.read_texts(self.write(b"food\tBread\nno label here\n"))

    def test_refuses_an_empty_file_and_one_that_is_not_utf8(self):
        with self.assertRaisesRegex(te.ExportError, "holds no text"):
            te.read_texts(self.write(b"# nothing\n\n"))
        with self.assertRaisesRegex(te.ExportError, "not UTF-8"):
            te.read_texts(self.write(b"food\t\xff\n"))

    def test_refuses_a_contribution_named_twice(self):
        path = self.write(b"food\tBread\n")
        with self.assertRaisesRegex(te.ExportError, "contribution 1 is named twice"):
            te.corpus_of([(1, path), (1, path)])


class Peeking(nn.Module):
    """Logits from the mean of every token, the later ones included."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(256, 8)
        self.head = nn.Linear(8, 256)

    def forward(self, tokens):
        x = self.embedding(tokens)
        return self.head(x + x.mean(dim=1, keepdim=True))


class Modules(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.addCleanup(self.dir.cleanup)
        path = os.path.join(self.dir.name, "c.txt")
        with open(path, "w") as f:
            f.write("food\tBread rises.\n")
        self.contributions = [(5, path)]

    def export(self, module, **card):
        shape = dict(context=16, width=8, layers=1, heads=2)
        shape.update(card)
        return te.export(module, os.path.join(self.dir.name, "out"), self.contributions, **shape)

    def test_refuses_a_module_that_sees_later_tokens(self):
        with self.assertRaisesRegex(te.ExportError, "not causal"):
            self.export(Peeking())

    def test_refuses_logits_of_another_shape(self):
        with self.assertRaisesRegex(te.ExportError, r"forward gives \[1, 16, 8\], not \[1, 16, 256\]"):
            self.export(nn.Embedding(256, 8))

    def test_refuses_a_card_a_worker_cannot_use(self):
        with self.assertRaisesRegex(te.ExportError, "context 1 is outside"):
            self.export(nn.Embedding(256, 256), context=1)
        with self.assertRaisesRegex(te.ExportError, "heads divide width"):
            self.export(nn.Embedding(256, 256), heads=3)
        self.assertFalse(os.path.exists(os.path.join(self.dir.name, "out")))

    def test_writes_a_module_an_index_and_their_hashes(self):
        written = self.export(nn.Embedding(256, 256))
        self.assertEqual((written["documents"], written["tokens"]), (1, 13))
        module = torch.jit.load(written["paths"]["artifact"])
        self.assertEqual(list(module(torch.zeros(1, 16, dtype=torch.int64)).shape), [1, 16, 256])
        from safetensors.torch import load_file

        index = load_file(written["paths"]["index"])
        self.assertEqual(bytes(index["corpus"].tolist()), b"Bread rises.\0")
        self.assertEqual(index["contributions"].tolist(), [5])
        self.assertEqual(index["suffix_array"].tolist(), te.suffix_array(b"Bread rises.\0").tolist())
        self.assertIn(b'"format":"tributary-language-model/1"', bytes(index["card"].tolist()))
        self.assertRegex(written["hashes"]["index"], "^0x[0-9a-f]{64}$")


if __name__ == "__main__":
    unittest.main()
