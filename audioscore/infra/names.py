"""Names shared by several modules and by the deployment (stack.yml, deploy/): defined once here."""

from __future__ import annotations

__all__ = [
    "AUDIO_BUCKET",
    "EXTRACT_FEATURES",
    "FEATURES_BUCKET",
    "FETCH_TOKEN_SECRET",
    "FETCH_YOUTUBE",
    "FUNCTIONS",
    "RECORDINGS",
    "REDRIVE",
    "SCORES_BUCKET",
    "SEGMENT_FIELD",
    "SEGMENT_MESSAGE_FIELDS",
    "TRANSCRIBE",
]

# The OpenFaaS functions (stack.yml's keys, the gateway's /async-function/<name> routes).
FETCH_YOUTUBE = "fetch-youtube"
EXTRACT_FEATURES = "extract-features"
TRANSCRIBE = "transcribe"
REDRIVE = "redrive"
RECORDINGS = "recordings"
FUNCTIONS = (FETCH_YOUTUBE, EXTRACT_FEATURES, TRANSCRIBE, REDRIVE, RECORDINGS)

# The OpenFaaS secret whose value fetch-youtube requests must carry (stack.yml's fetch-token).
FETCH_TOKEN_SECRET = "fetch-token"

# Bucket roles, by their default names (AUDIO_BUCKET, FEATURES_BUCKET, SCORES_BUCKET rename them).
AUDIO_BUCKET = "audio"
FEATURES_BUCKET = "features"
SCORES_BUCKET = "scores"

# A segment message to extract-features: {SEGMENT_FIELD: {field: ... for field in SEGMENT_MESSAGE_FIELDS}}.
SEGMENT_FIELD = "segment"
SEGMENT_MESSAGE_FIELDS = ("bucket", "key", "etag", "index")
