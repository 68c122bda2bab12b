"""Downloading audio from a URL (what the ``fetch-youtube`` function runs).

The guarded yt-dlp driver and its URL policy (allow-list, address checks against SSRF) in
``ytdlp``. Kept empty of imports.
"""
