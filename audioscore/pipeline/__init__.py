"""The serverless pipeline: what each OpenFaaS function does, built on the other layers.

The stages (idempotent, failures recorded), one module each so that a function imports only its
own stage's libraries: ``fetch_stage``, ``extract_stage``, ``transcribe_stage``, and what they
share (services, failure recording, work directory, status lookups) in ``common``;
long recordings' fan-out over the gateway and their merge in ``fanout``, the re-drive of lost
or failed work in ``recovery``, and the adapters the function folders' ``handler.py`` call in
``functions``. A new stage goes here; the code it runs goes in ``analysis`` or ``notation``.

Kept empty of imports, so a function loads only what its stage needs.
"""
