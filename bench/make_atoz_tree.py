#!/usr/bin/env python3
"""Generate a deterministic tree shaped like Open Dental's "A to Z" images folder.

Layout::

    DEST/A..Z/LastnameFirstname1234/
        xray_2024-03-01_12.jpg     incompressible, 60-400 KB    (~56% of files)
        scan_2023-11-05_3.pdf      compressible text, 0.2-2 MB   (~3% of files)
        referral_2022-01-02_7.txt  small documents, 1-20 KB      (~41% of files)

About 79% of the bytes are incompressible, 19% compressible scans and 3%
small documents; 3.2 GB gives roughly 20,000 files in ~3,000 patient folders.
Everything (names, sizes, contents, mtimes) derives from ``--seed``, so two
runs with the same parameters produce byte-identical trees.

A marker file next to DEST (``DEST.atoz.json``) records the parameters and
the resulting counts; a second run with the same parameters does nothing.
Python standard library only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import shutil
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

GENERATOR_VERSION = 1
GB = 1_000_000_000
KB = 1_000

LAST_NAMES = (
    "Abbott Adams Allen Baker Bennett Brooks Carter Clark Collins Davis Diaz Dunn "
    "Edwards Ellis Evans Fisher Flores Foster Garcia Gomez Gray Hall Harris Hughes "
    "Ingram Irwin Jackson James Johnson Kelly Kim King Lee Lewis Lopez Martin Miller "
    "Moore Nelson Nguyen Norris Ortiz Owens Parker Perez Price Quinn Quintero Reed "
    "Rivera Roberts Sanchez Scott Smith Taylor Thomas Turner Underwood Upton Vance "
    "Vargas Walker Ward White Wilson Xavier Xu Young Yates Zamora Zimmerman"
).split()
FIRST_NAMES = (
    "Aaron Amelia Ava Benjamin Carlos Charlotte Chloe Daniel David Elena Emily Ethan "
    "Grace Hannah Henry Isabella Jack James Liam Lucas Maria Mason Mia Noah Olivia "
    "Priya Sofia Thomas Wei William Zoe"
).split()
DOC_KINDS = ("referral", "consent", "treatment_plan", "medical_history", "letter", "insurance")
DOC_EXTENSIONS = (".txt", ".doc")
WORDS = (
    "patient tooth molar premolar incisor canine crown bridge implant root canal "
    "periapical bitewing panoramic occlusal mesial distal buccal lingual caries "
    "restoration composite amalgam extraction hygiene prophylaxis gingival probing "
    "depth insurance claim procedure code fee estimate signature date provider "
    "appointment recall allergy medication history consent referral radiograph "
    "the of and to in for with on at by from is was are not no yes left right upper lower"
).split()

# File mix by count: (kind, probability). Chosen so ~80% of bytes are x-rays.
FILE_MIX = (("xray", 0.557), ("scan", 0.028), ("doc", 0.415))
XRAY_SIZE = (60 * KB, 400 * KB)
SCAN_SIZE = (200 * KB, 2_000 * KB)
DOC_SIZE = (1 * KB, 20 * KB)
FILES_PER_PATIENT = (1, 12)
SCAN_PAGE_VARIANTS = 6
SCAN_PARAGRAPH_WORDS = 550
DATE_RANGE = (dt.date(2012, 1, 1), dt.date(2025, 6, 30))
WRITE_BUFFER = 4 << 20


@dataclass(frozen=True)
class TreeParams:
    """What determines the tree's contents (stored in the marker file)."""

    size_gb: float
    seed: int
    generator_version: int = GENERATOR_VERSION


@dataclass
class TreeStats:
    """Counts reported after generation (also stored in the marker file)."""

    files: int = 0
    bytes: int = 0
    patients: int = 0
    incompressible_bytes: int = 0

    def add(self, size: int, incompressible: bool) -> None:
        """Account for one written file."""
        self.files += 1
        self.bytes += size
        if incompressible:
            self.incompressible_bytes += size


def marker_path(dest: Path) -> Path:
    """Return the marker file that sits next to DEST."""
    return dest.with_name(dest.name + ".atoz.json")


def read_marker(dest: Path) -> dict | None:
    """Return the marker contents, or None when absent or unreadable."""
    try:
        return json.loads(marker_path(dest).read_text())
    except (OSError, ValueError):
        return None


def random_date(rng: random.Random) -> dt.date:
    """Pick a day uniformly in DATE_RANGE."""
    first, last = DATE_RANGE
    return first + dt.timedelta(days=rng.randint(0, (last - first).days))


def text_block(rng: random.Random, words: int) -> bytes:
    """Return dental-sounding filler text with line breaks."""
    chosen = rng.choices(WORDS, k=words)
    lines = (" ".join(chosen[i : i + 12]) for i in range(0, words, 12))
    return ("\n".join(lines) + "\n").encode()


def xray_bytes(rng: random.Random, size: int) -> bytes:
    """Return incompressible content behind a JPEG-like header."""
    header = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
    return header + rng.randbytes(size - len(header))


def scan_bytes(rng: random.Random, size: int) -> bytes:
    """Return compressible, file-unique content shaped like a multi-page scanned form.

    Each file draws a few paragraphs of its own and repeats them page after
    page with a page header, so it compresses well (also with lz4) but does
    not deduplicate against other files.
    """
    paragraphs = [text_block(rng, SCAN_PARAGRAPH_WORDS) for _ in range(SCAN_PAGE_VARIANTS)]
    parts = [b"%PDF-1.4\n"]
    length = len(parts[0])
    page = 0
    while length < size:
        page += 1
        chunk = b"%% page %d %s\n" % (page, rng.randbytes(8).hex().encode())
        chunk += paragraphs[rng.randrange(SCAN_PAGE_VARIANTS)]
        parts.append(chunk)
        length += len(chunk)
    return b"".join(parts)[:size]


def doc_bytes(rng: random.Random, size: int) -> bytes:
    """Return a small text document of exactly SIZE bytes."""
    body = text_block(rng, size // 5 + 1)
    while len(body) < size:
        body += body
    return body[:size]


def write_file(path: Path, data: bytes, day: dt.date) -> None:
    """Write DATA in one go and set the file's mtime to DAY (noon)."""
    with open(path, "wb", buffering=WRITE_BUFFER) as handle:
        handle.write(data)
    stamp = dt.datetime.combine(day, dt.time(12)).timestamp()
    os.utime(path, (stamp, stamp))


def make_file(rng: random.Random, folder: Path, index: int, stats: TreeStats) -> None:
    """Create one patient file of a randomly chosen kind."""
    kind = rng.choices([k for k, _ in FILE_MIX], weights=[w for _, w in FILE_MIX])[0]
    day = random_date(rng)
    if kind == "xray":
        size = rng.randint(*XRAY_SIZE)
        name, data = f"xray_{day}_{index}.jpg", xray_bytes(rng, size)
    elif kind == "scan":
        size = rng.randint(*SCAN_SIZE)
        name, data = f"scan_{day}_{index}.pdf", scan_bytes(rng, size)
    else:
        size = rng.randint(*DOC_SIZE)
        stem = rng.choice(DOC_KINDS)
        name = f"{stem}_{day}_{index}{rng.choice(DOC_EXTENSIONS)}"
        data = doc_bytes(rng, size)
    write_file(folder / name, data, day)
    stats.add(len(data), incompressible=kind == "xray")


def make_patient(rng: random.Random, dest: Path, patnum: int, stats: TreeStats) -> None:
    """Create one patient folder (DEST/L/LastFirstPatNum) with its files."""
    last, first = rng.choice(LAST_NAMES), rng.choice(FIRST_NAMES)
    folder = dest / last[0].upper() / f"{last}{first}{patnum}"
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(1, rng.randint(*FILES_PER_PATIENT) + 1):
        make_file(rng, folder, index, stats)
    stats.patients += 1


def generate(dest: Path, params: TreeParams) -> TreeStats:
    """Fill DEST (which must not exist) until it holds params.size_gb GB."""
    rng = random.Random(params.seed)
    target = int(params.size_gb * GB)
    stats = TreeStats()
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        (dest / letter).mkdir(parents=True, exist_ok=True)
    patnum = rng.randint(1000, 2000)
    while stats.bytes < target:
        make_patient(rng, dest, patnum, stats)
        patnum += rng.randint(1, 3)
    return stats


def clear_destination(dest: Path, marker: dict | None) -> None:
    """Remove an earlier generated tree; refuse to touch anything else."""
    if not dest.exists():
        return
    if not dest.is_dir():
        sys.exit(f"{dest} exists and is not a directory")
    if marker is None and any(dest.iterdir()):
        sys.exit(f"{dest} is not empty and has no {marker_path(dest).name}; remove it first")
    shutil.rmtree(dest)


def ensure_tree(dest: Path, params: TreeParams, quiet: bool = False) -> TreeStats:
    """Return the stats of DEST, generating it unless the marker matches PARAMS."""
    marker = read_marker(dest)
    if marker and marker.get("params") == asdict(params) and dest.is_dir():
        if not quiet:
            print(f"{dest}: already generated with the same parameters, skipping", file=sys.stderr)
        return TreeStats(**marker["stats"])
    clear_destination(dest, marker)
    marker_path(dest).unlink(missing_ok=True)
    stats = generate(dest, params)
    tmp = marker_path(dest).with_suffix(".tmp")
    tmp.write_text(json.dumps({"params": asdict(params), "stats": asdict(stats)}, indent=2))
    tmp.replace(marker_path(dest))
    return stats


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="folder to create (must not be inside a repo)")
    parser.add_argument("--size-gb", type=float, default=3.2, help="total size in 10^9 bytes")
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same tree)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Generate the tree and print its file count and total bytes."""
    args = parse_args(argv)
    stats = ensure_tree(args.dest.resolve(), TreeParams(size_gb=args.size_gb, seed=args.seed))
    share = stats.incompressible_bytes / stats.bytes if stats.bytes else 0.0
    print(
        f"files={stats.files} bytes={stats.bytes} patients={stats.patients} "
        f"incompressible={share:.0%}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
