"""OpenFaaS function extract-features: an adapter; the work is in audioscore.pipeline.functions and audioscore.pipeline.extract_stage."""

from audioscore.pipeline.functions import extract_features


def handle(event, context):
    return extract_features(event, context)
