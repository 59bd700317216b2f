"""The case-study pack: one participant's timeline as a ZIP, for the command line
(``nsw-feedback export --format case``) and the participant page alike.

The ZIP holds ``case-study.html``, one printable page with no scripts and no outside
files, and, when asked for (``include_audio``), the recordings kept on this server under
``audio/``: decrypted from the ``recordings`` table, or an older recording's file under
the recordings folder. What the page may show is decided in ``storage/exports/case.py``
(pseudonymised); this module renders it, packs it and writes the audit line.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import IO

from flask import render_template
from sqlalchemy import select

from bot.service.recordings import key_of
from storage.exports.case import CaseStudy, case_study
from storage.models import Recording, Site
from storage.uow import UnitOfWork

from .bootstrap import Services

PAGE = "case-study.html"


def pack_filename(code: str) -> str:
    """The download's name: the participant's code, nothing else."""
    return f"{code}-case-study.zip".lower()


def write_pack(nsw: Services, uow: UnitOfWork, site: Site, code: str, include_audio: bool,
               recordings_dir: str, actor: str, out: IO[bytes]) -> CaseStudy:
    """Write ``code``'s pack to ``out`` and audit it in ``uow`` (the caller commits).

    CaseError (``storage.exports.case``) when the site has no such participant. A
    recording whose file (or row) is missing is left out, and the page says so beside it.
    """
    plan = nsw.conversations.catalogue.plan(uow.session, site.id)
    study = case_study(uow.session, nsw.surveys, uow.repo.vault, site.code, code,
                       plan.names, include_audio)
    root = Path(recordings_dir).resolve()
    missing: set[str] = set()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as pack:
        for stored, name in study.recordings:
            if key := key_of(stored):
                # One recording's sound at a time, and only the site's own.
                sealed = uow.session.scalar(select(Recording.audio).where(
                    Recording.key == key, Recording.site_id == site.id))
                if sealed is not None:
                    pack.writestr(name, uow.repo.vault.decrypt_bytes(sealed))
                    continue
            else:
                path = (root / stored).resolve()
                # A stored name never leads outside the recordings folder.
                if path.is_relative_to(root) and path.is_file():
                    pack.write(path, name)
                    continue
            missing.add(name)
        pack.writestr(PAGE, render_template("case_pack.html", study=study, site=site,
                                            missing=missing))
    uow.repo.audit(actor, "case_pack", site.code, participant=study.code,
                   audio=include_audio, recordings=len(study.recordings) - len(missing))
    return study
