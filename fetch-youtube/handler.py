"""OpenFaaS function fetch-youtube: an adapter; the work is in audioscore.pipeline.functions and audioscore.pipeline.fetch_stage."""

from audioscore.pipeline.functions import fetch_youtube


def handle(event, context):
    return fetch_youtube(event, context)
