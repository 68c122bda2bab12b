"""OpenFaaS function fetch-youtube: an adapter; the work is in audioscore.functions and audioscore.stages."""

from audioscore.pipeline.functions import fetch_youtube


def handle(event, context):
    return fetch_youtube(event, context)
