"""OpenFaaS function redrive (run by the cron-connector): an adapter; the work is in audioscore.pipeline.recovery."""

from audioscore.pipeline.functions import redrive


def handle(event, context):
    return redrive(event, context)
