"""OpenFaaS function transcribe: an adapter; the work is in audioscore.pipeline.functions and audioscore.pipeline.transcribe_stage."""

from audioscore.pipeline.functions import transcribe


def handle(event, context):
    return transcribe(event, context)
