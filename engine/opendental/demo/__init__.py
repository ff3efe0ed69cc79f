"""The sample practice behind ``odbackup demo``.

:func:`create_demo` builds a realistic Open Dental practice on a MySQL/MariaDB
server: 31 core tables with Open Dental's column layouts (see
:mod:`.layouts`), all MyISAM and created under
``SQL_MODE=''``, filled with synthetic patients and two years of their
appointments, procedures, claims, payments, notes and audit log, plus a
matching A to Z images folder (``S/SmithJohn1234/SmithJohn1234_57.jpg``) whose
files are the ``document`` rows.

Everything derives from ``seed``: the same seed and scale give the same rows
(equal ``CHECKSUM TABLE``) and the same files. Scale 1 is a practice of 1,850
patients: ~50 MB of tables (~190,000 rows, 12 procedures a patient) and ~45 MB
of images in ~1,000 files. ``scale`` multiplies the patients and everything
that hangs off them: 20 gives about 1 GB of each.

It never overwrites anything: it refuses a database that already holds tables
and an images folder that is not empty, writes files only with exclusive
create, and on failure or cancel removes only what it created itself.

The modules, in the order the work flows:

- ``reference``: the calendar, staff, procedure codes, insurers, names and texts.
- ``layouts`` and ``schema``: Open Dental's table layouts and the ``CREATE TABLE`` each gets.
- ``sql``: rows into multi-row INSERTs, sent from a background thread.
- ``base``, ``practice``, ``visits``, ``chart``: the generator, family by family.
- ``images``: the A to Z folder the ``document`` rows name.
- ``create``: :func:`create_demo`, which refuses places in use and undoes a failed run.
"""
from .create import DemoRefused, DemoResult, create_demo
from .reference import DATABASE_VERSION

__all__ = ["DATABASE_VERSION", "DemoRefused", "DemoResult", "create_demo"]
