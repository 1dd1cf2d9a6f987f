"""Reading a round's files uploaded over HTTP (bytes and the client's file name), safely.

A web service receives the CONTRACT.md files (students, offers, locks) as
uploads. This module first refuses what must never reach a parser: a file over
the size limit, a type other than .csv or .xlsx, and an .xlsx that is not a
sound zip archive of reasonable size (a "zip bomb" that would unpack to
gigabytes, thousands of members, member paths that climb out of the archive).
Then it hands the bytes to the command line's readers through a private
temporary folder, so uploads are checked and explained exactly as files on disk
are, and every `Problem` names the client's file, never the temporary path.
`read_uploads` does both for any reader of paths, so that a service can run its
own checks on the rows (with their row numbers) in that folder too.

It is pure: no web framework, no database, no solver. It must not write
anywhere but its own temporary folder (removed before returning), must never
let an exception out for bad input (whatever is wrong becomes a `Problem`), and
must not parse an .xlsx (openpyxl) before the zip checks have passed. The XML
inside a workbook is parsed by openpyxl with the standard library's expat,
which limits entity expansion (billion laughs) by itself since expat 2.4.
"""

from __future__ import annotations

import io
import math
import re
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Generic, TypeVar

from mobility_match.domain import Lock, Offer, Student, Vocabulary
from mobility_match.importing import Problem, read_locks, read_offers, read_students

T = TypeVar("T")

VALID_SUFFIXES: tuple[str, ...] = (".csv", ".xlsx")
"""The file types an upload may have, as CONTRACT.md accepts them."""

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
"""Default size limit of one uploaded file (10 MB): far above a cohort's students file."""

MAX_XLSX_UNPACKED = 50 * 1024 * 1024
"""Default limit of the declared unpacked size of all members of an .xlsx (50 MB)."""

MAX_XLSX_MEMBERS = 1000
"""Default limit of members in an .xlsx; a workbook of one sheet has about a dozen."""

MAX_COMPRESSION_RATIO = 100
"""Default limit of a member's unpacked size over its packed size."""

RATIO_EXEMPT_BYTES = 64 * 1024
"""Members unpacking to at most this many bytes are not held to the ratio limit.

A tiny member (a few hundred bytes of XML) can compress more than 100-fold
without being any danger; the total limit bounds them anyway."""

_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
"""How a file in Microsoft's older compound format begins: .xls, or an encrypted .xlsx."""

_CHUNK = 1024 * 1024
_MB = 1024 * 1024
"""Sizes are shown in binary megabytes, as Windows Explorer shows a file's size."""


def upload_name(filename: str) -> str:
    """Return the base name of a client's file name, safe as a file name and fit to show.

    Browsers send a bare name, but some send a whole path (C:\\Users\\…\\students.csv)
    and a hostile client anything: directories of either kind of slash are
    stripped, control characters replaced, the length bounded with the suffix
    kept. A name with nothing left becomes `upload` with the suffix.
    """
    base = re.split(r"[\\/]", filename)[-1]
    base = re.sub(r"[\x00-\x1f\x7f]", "_", base).strip()
    if base in ("", ".", ".."):
        base = "upload"
    path = PurePosixPath(base)
    suffix = path.suffix if len(path.suffix) <= 16 else ""
    stem = base[: len(base) - len(suffix)] if suffix else base
    # Most file systems allow 255 bytes per name; keep well below, in UTF-8 bytes.
    while len((stem + suffix).encode("utf-8")) > 200:
        stem = stem[:-1]
    if not stem or stem == ".":
        stem = "upload"
    return stem + suffix


def check_upload(
    data: bytes,
    filename: str,
    *,
    max_bytes: int,
    max_xlsx_unpacked: int = MAX_XLSX_UNPACKED,
    max_xlsx_members: int = MAX_XLSX_MEMBERS,
    max_ratio: float = MAX_COMPRESSION_RATIO,
) -> list[Problem]:
    """Return why an upload must not be read (empty when it may be), without parsing it.

    Checks, in order: the size, the file type (by the name's suffix), and for an
    .xlsx the zip archive it must be. Each problem is about the whole file, so it
    is reported as importing reports an unreadable file: row 1, no column.
    """
    name = upload_name(filename)

    def refuse(message: str) -> list[Problem]:
        return [Problem(name, 1, "", message)]

    if len(data) > max_bytes:
        return refuse(
            f"the file is {shown_size(len(data), max_bytes, up=True)}; the limit is "
            f"{shown_size(max_bytes, max_bytes, up=False)}; split it into smaller files or remove "
            "columns and rows that are not needed"
        )
    suffix = PurePosixPath(name).suffix.lower()
    if suffix not in VALID_SUFFIXES:
        valid = " or ".join(VALID_SUFFIXES)
        if suffix == ".xls":
            return refuse(
                f"this is an old Excel .xls file; only {valid} files are read; "
                "in Excel, save it as .xlsx or as CSV UTF-8"
            )
        kind = f"a {suffix} file" if suffix else "a file without a type in its name"
        return refuse(
            f"this is {kind}; only {valid} files are read; in Excel, save it as "
            '"Excel Workbook (.xlsx)" or as "CSV UTF-8"'
        )
    if suffix == ".xlsx":
        message = _xlsx_refusal(data, max_xlsx_unpacked, max_xlsx_members, max_ratio)
        if message is not None:
            return refuse(message)
    return []


def _xlsx_refusal(data: bytes, max_unpacked: int, max_members: int, max_ratio: float) -> str | None:
    """Return why an .xlsx must not be opened, or None; only the zip layer is looked at."""
    not_workbook = (
        "the file is not an Excel workbook although its name ends in .xlsx; open it in "
        'Excel and save it as "Excel Workbook (.xlsx)", or save it as CSV UTF-8'
    )
    # Opening reads only the central directory (the list of members and their declared
    # sizes); its length is bounded by the upload size limit checked before.
    # BytesIO shares the bytes until written to, so this copies nothing.
    if data.startswith(_OLE_SIGNATURE):
        return (
            "the file is a workbook protected by a password, or an old .xls file renamed to "
            ".xlsx; remove the password, or save it in Excel as .xlsx or as CSV UTF-8"
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except Exception:  # BadZipFile, OSError, EOFError, struct.error…: not a sound zip
        return not_workbook
    with archive:
        members = archive.infolist()
        if len(members) > max_members:
            return (
                f"the workbook holds {len(members)} parts where an Excel workbook holds a few "
                f"dozen (the limit is {max_members}); it is not read; save it again from Excel "
                "or as CSV UTF-8"
            )
        if not members:
            return not_workbook
        for member in members:
            if _unsafe_member_name(member.filename):
                return (
                    f"the workbook holds a part named '{member.filename}' that points outside "
                    "the workbook; it is not read; save it again from Excel or as CSV UTF-8"
                )
        declared = sum(member.file_size for member in members)
        if declared > max_unpacked:
            return (
                f"the workbook would unpack to {shown_size(declared, max_unpacked, up=True)}; "
                f"the limit is {shown_size(max_unpacked, max_unpacked, up=False)}; split it into "
                "smaller files or save it as CSV UTF-8"
            )
        for member in members:
            if member.file_size <= RATIO_EXEMPT_BYTES:
                continue
            if member.file_size > max_ratio * max(member.compress_size, 1):
                return (
                    f"the workbook's part '{member.filename}' unpacks to "
                    f"{member.file_size // max(member.compress_size, 1)} times its packed size, "
                    "far more than any spreadsheet's; it is not read; save it again from Excel "
                    "or as CSV UTF-8"
                )
        return _unpack_refusal(archive, members, max_unpacked)


def _unpack_refusal(
    archive: zipfile.ZipFile, members: Sequence[zipfile.ZipInfo], max_unpacked: int
) -> str | None:
    """Unpack every member in chunks, counting the real bytes; return why that failed, or None.

    The declared sizes cannot be lied about to get more out: zipfile takes each
    member's size from the central directory checked above and never returns
    more than that many bytes (it bounds each decompression step and cuts the
    output there). A member holding more (or other) data than declared then
    fails the CRC-32 check with BadZipFile, one holding less fails with EOFError,
    and both are refused here. openpyxl reads the workbook through the same
    zipfile and the same central directory, so the declared sizes bound all it
    can get too. Counting the bytes read is a second, independent bound.
    Nothing is kept: each chunk is dropped once counted.
    """
    damaged = (
        "the workbook is damaged (a part does not unpack to what it declares); open it in "
        "Excel and save it again, or save it as CSV UTF-8"
    )
    unpacked = 0
    for member in members:
        if member.flag_bits & 0x1:
            return (
                "the workbook is protected by a password; remove the password in Excel "
                "(File > Info > Protect Workbook) and upload it again"
            )
        if member.is_dir():
            continue
        try:
            with archive.open(member) as stream:
                while chunk := stream.read(_CHUNK):
                    unpacked += len(chunk)
                    if unpacked > max_unpacked:
                        return damaged
        except Exception:  # BadZipFile, EOFError, zlib.error, NotImplementedError (method)…
            return damaged
    return None


def _unsafe_member_name(name: str) -> bool:
    """Tell whether a member path is absolute or climbs up with '..' (either slash)."""
    parts = re.split(r"[\\/]", name)
    return (
        name.startswith(("/", "\\"))
        or re.match(r"^[A-Za-z]:", name) is not None
        or any(part == ".." for part in parts)
    )


def shown_size(value: int, scale: int, *, up: bool) -> str:
    """Show a size in the unit fit for `scale`, one decimal, rounded up or down.

    A file over the limit rounds up and the limit rounds down, so the message
    never reads "the file is 2 MB; the limit is 2 MB".
    """
    if scale < 1024:
        return f"{value} bytes"
    unit, factor = ("MB", _MB) if scale >= _MB else ("kB", 1024)
    tenths = value * 10 / factor
    rounded = (math.ceil(tenths) if up else math.floor(tenths)) / 10
    text = f"{rounded:.1f}".removesuffix(".0")
    return f"{text} {unit}"


@dataclass(frozen=True)
class Uploads(Generic[T]):
    """What reading several uploads gave: their names, the objects read and every problem."""

    names: list[str]
    """The client's file names (as upload_name gives them), in upload order, each once."""
    objects: list[T]
    problems: list[Problem]
    """The refused files' problems and the reader's, files in upload order."""


def read_uploads(
    uploads: Sequence[tuple[bytes, str]],
    read: Callable[[list[Path]], tuple[list[T], list[Problem]]],
    *,
    what: str,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_xlsx_unpacked: int = MAX_XLSX_UNPACKED,
) -> Uploads[T]:
    """Check uploads (bytes, client file name), then `read` those that may be read, at once.

    `read` gets the paths of the accepted files in a private temporary folder, in
    upload order, so it can read them as files on disk (their rows, with their
    spreadsheet row numbers) and check what it needs; its problems come back
    naming the client's files. A refused file is left out and its problem
    reported while the others are still read, so every problem is shown at once;
    two uploads with the same name are one file given twice, as on the command
    line. `what` names the kind of file ("offers") when none was uploaded.
    """
    if not uploads:
        problem = Problem(what, 1, "", f"no {what} file was uploaded; upload at least one")
        return Uploads([], [], [problem])
    refused: list[Problem] = []
    accepted: list[tuple[bytes, str]] = []
    names: list[str] = []
    for data, filename in uploads:
        name = upload_name(filename)
        if name in names:
            message = (
                "a file of this name is uploaded twice; upload each file once, "
                "or rename one if they differ"
            )
            refused.append(Problem(name, 1, "", message))
            continue
        names.append(name)
        problems = check_upload(
            data, filename, max_bytes=max_bytes, max_xlsx_unpacked=max_xlsx_unpacked
        )
        refused.extend(problems)
        if not problems:
            accepted.append((data, filename))
    if not accepted:
        return Uploads(names, [], refused)
    objects, problems = _read_in_folder(accepted, read)
    order = {name: rank for rank, name in enumerate(names)}
    # A stable sort keeps the readers' order within a file and puts files in upload order.
    every = sorted([*problems, *refused], key=lambda p: order.get(p.file, -1))
    return Uploads(names, objects, every)


def read_uploaded_students(
    data: bytes,
    filename: str,
    vocabulary: Vocabulary,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_xlsx_unpacked: int = MAX_XLSX_UNPACKED,
) -> tuple[list[Student], list[Problem]]:
    """Check and read an uploaded students file as read_students reads one on disk."""
    read = read_uploads(
        [(data, filename)],
        lambda paths: read_students(paths[0], vocabulary),
        what="students",
        max_bytes=max_bytes,
        max_xlsx_unpacked=max_xlsx_unpacked,
    )
    return read.objects, read.problems


def read_uploaded_offers(
    uploads: Sequence[tuple[bytes, str]],
    vocabulary: Vocabulary,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_xlsx_unpacked: int = MAX_XLSX_UNPACKED,
) -> tuple[list[Offer], list[Problem]]:
    """Check and read uploaded offers files (bytes, client file name) as read_offers does."""
    read = read_uploads(
        uploads,
        lambda paths: read_offers(paths, vocabulary),
        what="offers",
        max_bytes=max_bytes,
        max_xlsx_unpacked=max_xlsx_unpacked,
    )
    return read.objects, read.problems


def read_uploaded_locks(
    data: bytes,
    filename: str,
    students: Sequence[Student],
    offers: Sequence[Offer],
    vocabulary: Vocabulary,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_xlsx_unpacked: int = MAX_XLSX_UNPACKED,
) -> tuple[list[Lock], list[Problem]]:
    """Check and read an uploaded locks file against the round's students and offers."""
    read = read_uploads(
        [(data, filename)],
        lambda paths: read_locks(paths[0], students, offers, vocabulary),
        what="locks",
        max_bytes=max_bytes,
        max_xlsx_unpacked=max_xlsx_unpacked,
    )
    return read.objects, read.problems


def _read_in_folder(
    uploads: Sequence[tuple[bytes, str]],
    read: Callable[[list[Path]], tuple[list[T], list[Problem]]],
) -> tuple[list[T], list[Problem]]:
    """Write uploads to a private temporary folder under their names, read them, clean up.

    Each file gets a folder of its own (named by its position), so two clients'
    names never collide, and the problems name the client's file instead of the
    temporary path, also inside messages ("row 4 of de.csv").
    """
    # mkdtemp makes the folder readable by this user only (mode 0700).
    with tempfile.TemporaryDirectory(prefix="mobility-match-upload-") as folder:
        paths: list[Path] = []
        shown: dict[str, str] = {}
        for position, (data, filename) in enumerate(uploads):
            name = upload_name(filename)
            path = Path(folder) / str(position) / name
            path.parent.mkdir()
            path.write_bytes(data)
            paths.append(path)
            shown[str(path)] = name
        objects, problems = read(paths)
        # Longest paths first, so no path is replaced inside a longer one.
        replacements = sorted(shown.items(), key=lambda item: -len(item[0]))

        def client_text(text: str) -> str:
            for path_text, name in replacements:
                text = text.replace(path_text, name)
            return text.replace(folder, "")

        renamed = [
            Problem(
                shown.get(problem.file, client_text(problem.file)),
                problem.row,
                problem.column,
                client_text(problem.message),
            )
            for problem in problems
        ]
    return objects, renamed
