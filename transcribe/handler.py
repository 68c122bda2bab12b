"""OpenFaaS function transcribe: an adapter; the work is in audioscore.functions and audioscore.stages."""

from audioscore.pipeline.functions import transcribe


def handle(event, context):
    return transcribe(event, context)
