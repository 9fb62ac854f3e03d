"""Wheels made from what is installed: handprop and the pure-Python packages the page needs, zipped with the
standard library, so that `handprop site` works offline and needs no build tool.

A wheel is a zip of the package's files and a NAME-VERSION.dist-info folder (METADATA, WHEEL, RECORD).
Compiled extensions (.so, .pyd) and bytecode are left out: the browser's Python cannot load the one and
would not use the other; PyYAML then runs its pure-Python loader, as it does wherever libyaml is missing.
"""

from __future__ import annotations

import base64
import hashlib
import io
import re
import zipfile
from pathlib import Path

SKIPPED_SUFFIXES = (".pyc", ".pyo", ".so", ".pyd", ".dylib")
SKIPPED_PARTS = ("__pycache__",)
SKIPPED_PACKAGES = ("_yaml",)  # PyYAML's shim over its compiled part, which is left out
SKIPPED_HANDPROP = ("pytorch",)  # needs PyTorch, which the browser's Python has not
ZIP_DATE = (2020, 1, 1, 0, 0, 0)  # the same bytes for the same files: a rebuilt site differs only where they do


def wheel_name(project: str, version: str) -> str:
    """The wheel's file name, its project name normalized as wheels spell it.

    >>> wheel_name("PyYAML", "6.0.2")
    'pyyaml-6.0.2-py3-none-any.whl'
    """
    return f"{re.sub(r'[-_.]+', '_', project).lower()}-{version}-py3-none-any.whl"


def _kept(relative: str) -> bool:
    parts = Path(relative).parts
    return (not relative.startswith("..") and not relative.endswith(SKIPPED_SUFFIXES)
            and not any(part in SKIPPED_PARTS for part in parts))


def _wheel(project: str, version: str, files: list[tuple[str, bytes]], metadata: bytes) -> tuple[str, bytes]:
    """(file name, bytes) of a wheel holding `files` ([(path in site-packages, content)])."""
    info = f"{re.sub(r'[-_.]+', '_', project).lower()}-{version}.dist-info"
    wheel = b"Wheel-Version: 1.0\nGenerator: handprop site\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    entries = sorted(files) + [(f"{info}/METADATA", metadata), (f"{info}/WHEEL", wheel)]
    record = io.StringIO()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries:
            archive.writestr(zipfile.ZipInfo(name, ZIP_DATE), content, zipfile.ZIP_DEFLATED)
            digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
            record.write(f"{name},sha256={digest},{len(content)}\n")
        record.write(f"{info}/RECORD,,\n")
        archive.writestr(zipfile.ZipInfo(f"{info}/RECORD", ZIP_DATE), record.getvalue(), zipfile.ZIP_DEFLATED)
    return wheel_name(project, version), buffer.getvalue()


def installed_wheel(project: str) -> tuple[str, bytes]:
    """A wheel of an installed distribution's pure-Python files (PackageNotFoundError when it is not installed)."""
    from importlib import metadata

    distribution = metadata.distribution(project)
    files = []
    for path in distribution.files or ():
        relative = str(path).replace("\\", "/")
        if ".dist-info/" in relative or not _kept(relative) or relative.split("/")[0] in SKIPPED_PACKAGES:
            continue
        files.append((relative, Path(distribution.locate_file(path)).read_bytes()))
    return _wheel(distribution.metadata["Name"], distribution.version,
                  files, (distribution.read_text("METADATA") or "").encode("utf-8"))


def handprop_wheel() -> tuple[str, bytes]:
    """A wheel of this handprop, from its package folder (an editable install has no files of its own to list)."""
    import handprop

    root = Path(handprop.__file__).resolve().parent
    files = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and _kept(relative) and relative.split("/")[0] not in SKIPPED_HANDPROP:
            files.append((f"handprop/{relative}", path.read_bytes()))
    metadata = (f"Metadata-Version: 2.1\nName: handprop\nVersion: {handprop.__version__}\n"
                "Requires-Python: >=3.11\nRequires-Dist: PyYAML>=6\nRequires-Dist: latex2mathml>=3.77\n")
    return _wheel("handprop", handprop.__version__, files, metadata.encode("utf-8"))
