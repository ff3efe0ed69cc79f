"""The A to Z images folder: the files the ``document`` rows name, written beside the
database (``S/SmithJohn1234/SmithJohn1234_57.jpg``)."""
from __future__ import annotations

import datetime as dt
import os
import random
from collections.abc import Callable
from dataclasses import dataclass

from .reference import WORDS

_XRAY_HEADER = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00"


@dataclass(frozen=True)
class Document:
    """One file of the images folder, as its ``document`` row describes it."""

    num: int
    path: str  # relative to the images folder: letter/folder/file
    kind: str  # xray, scan or text
    size: int
    title: str
    created: dt.datetime


def _document_bytes(doc: Document, seed: int, pages: list[bytes]) -> bytes:
    """A document file's content: random "x-ray" bytes, a compressible "scan" or a letter."""
    rng = random.Random(f"{seed}/{doc.num}")
    if doc.kind == "xray":
        return _XRAY_HEADER + rng.randbytes(doc.size - len(_XRAY_HEADER) - 2) + b"\xff\xd9"
    if doc.kind == "scan":
        body = bytearray(b"%PDF-1.4\n% " + doc.title.encode() + b"\n")
        while len(body) < doc.size:
            body += rng.choice(pages)
        return bytes(body[: doc.size - 6]) + b"\n%%EOF"
    head = f"{doc.title}\nDate: {doc.created:%m/%d/%Y}\n\n".encode()
    words = " ".join(rng.choices(WORDS, k=doc.size // 5)).encode()
    return (head + words)[: doc.size]


_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def make_images_dir(images_dir: str) -> list[str]:
    """Create the images folder and its 26 letter folders (as Open Dental does); return
    what to remove to undo that: the topmost folder created, or the letter folders."""
    path = os.path.abspath(images_dir)
    top = path
    while not os.path.exists(os.path.dirname(top)):
        top = os.path.dirname(top)
    created = not os.path.exists(path)
    os.makedirs(path, exist_ok=True)
    letters = [os.path.join(path, letter) for letter in _LETTERS]
    for letter in letters:
        os.mkdir(letter)
    return [top] if created else letters


def write_images(images_dir: str, documents: list[Document], seed: int,
                 progress: Callable[[int, int], None]) -> int:
    """Write every document file (never over an existing one); returns the bytes written."""
    rng = random.Random(f"{seed}/pages")
    pages = [(" ".join(rng.choices(WORDS, k=600)) + "\n").encode() for _ in range(6)]
    total, written = sum(d.size for d in documents), 0
    for doc in documents:
        path = os.path.join(images_dir, *doc.path.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "xb") as out:
            out.write(_document_bytes(doc, seed, pages))
        stamp = doc.created.replace(tzinfo=dt.UTC).timestamp()
        os.utime(path, (stamp, stamp))
        written += doc.size
        progress(written, total)
    return written
