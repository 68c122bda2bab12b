"""Infrastructure: the services and the process around the core.

The object store (``storage``, minio client), the MongoDB ``recordings`` records (``records``),
MinIO notification events (``events``), async invocation through the OpenFaaS gateway
(``gateway``), errors to HTTP responses (``http``), settings and secrets (``config``), atomic
file writes (``files``) and the runner for external tools (``tools``: ffmpeg, ffprobe,
lilypond, pdftoppm in their own process group, with time limits).

Nothing here knows about audio analysis or notation. Kept empty of imports.
"""
