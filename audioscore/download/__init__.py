"""Downloading audio from a URL (what the ``fetch-youtube`` function runs).

The URL policy (allow-list, limits, address checks against SSRF, YouTube video ids) in
``urls``, standard library only; the guarded yt-dlp driver in ``ytdlp``. Converting the
download to FLAC is ffmpeg work and lives in ``audioscore.analysis.convert``.

Kept empty of imports: importing ``audioscore.download.urls`` does not load yt-dlp.
"""
