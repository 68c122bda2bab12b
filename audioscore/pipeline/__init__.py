"""The serverless pipeline: what each OpenFaaS function does, built on the other layers.

The stages (fetch, extract, transcribe, status: idempotent, failures recorded) in ``stages``,
long recordings' fan-out over the gateway and their merge in ``fanout``, the re-drive of lost
or failed work in ``recovery``, and the adapters the function folders' ``handler.py`` call in
``functions``. A new stage goes here; the code it runs goes in ``analysis`` or ``notation``.

Kept empty of imports, so a function loads only what its stage needs.
"""
