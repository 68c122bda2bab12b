"""OpenFaaS function recordings: status lookups (GET ?id=), answered while the pipeline works; an adapter."""

from audioscore.pipeline.functions import recordings


def handle(event, context):
    return recordings(event, context)
