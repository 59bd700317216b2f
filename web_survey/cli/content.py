"""``nsw-feedback content``: check the survey wording and render the spoken prompts."""

from __future__ import annotations

from pathlib import Path

import click

from content.audio import languages_of, render_audio
from content.checker import Settings, check

from .common import make_app, services


def register(main: click.Group) -> None:
    @main.group()
    def content() -> None:
        """Survey wording and audio."""

    @content.command("check")
    @click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
    @click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False,
                                                              path_type=Path),
                  help="Checker settings (default: checker.yaml beside the surveys, "
                       "else the shipped one).")
    @click.option("--audio", "with_audio", is_flag=True,
                  help="Also report prompts that have no rendered audio.")
    @click.option("--audio-dir", type=click.Path(file_okay=False, path_type=Path),
                  help="Where the audio is (default: the app's AUDIO_DIR).")
    def check_command(path: Path | None, config_file: Path | None, with_audio: bool,
                      audio_dir: Path | None) -> None:
        """Check survey files against the easy-read rules (docs/content-rules.md).

        PATH is a folder of surveys or one survey file (default: CONTENT_DIR, else the
        shipped surveys). Prints one line per problem and exits 1 when there is any.
        """
        settings = None
        if config_file is not None:
            try:
                settings = Settings.load(config_file)
            except ValueError as error:
                raise click.ClickException(str(error)) from error
        if with_audio and audio_dir is None:
            audio_dir = Path(make_app(migrate=False).config["AUDIO_DIR"])
        problems, summary = check(path, settings, audio_dir if with_audio else None)
        for problem in problems:
            click.echo(str(problem))
        click.echo(summary, err=True)
        if problems:
            raise SystemExit(1)

    @content.command("audio")
    @click.option("--language", default=None,
                  help="Render only this language (default: every survey language).")
    @click.option("--audio-dir", type=click.Path(file_okay=False, path_type=Path),
                  help="Where to put the files (default: the app's AUDIO_DIR).")
    def audio_command(language: str | None, audio_dir: Path | None) -> None:
        """Render every prompt of every survey as speech, once per wording.

        gTTS needs the internet; when it fails, espeak-ng (if installed) speaks
        instead, else the prompt is left without a file and channels fall back.
        """
        app = make_app(migrate=False)
        surveys = list(services(app).surveys)
        known = languages_of(surveys)
        if language is not None and language not in known:
            raise click.ClickException(
                f"no survey is written in {language!r} (languages: {', '.join(known)})")
        folder = audio_dir or Path(app.config["AUDIO_DIR"])
        click.echo(f"Rendering audio into {folder}")
        for result in render_audio(folder, surveys, [language] if language else known,
                                   click.echo):
            click.echo(result.summary())
