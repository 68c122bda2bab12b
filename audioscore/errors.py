"""One exception hierarchy for the project, mapped once to HTTP status codes and CLI exit codes."""

__all__ = ["AudioscoreError", "ConfigError", "Conflict", "InputError", "LimitExceeded", "NotFound", "ProcessingError", "StaleInput",
           "TransientError"]


class AudioscoreError(Exception):
    """Base of every error the project raises on purpose.

    Attributes:
        http_status: the status a function handler answers with.
        exit_code: the status the CLI exits with.
    """

    http_status = 500
    exit_code = 1


class InputError(AudioscoreError):
    """The input is unusable (missing, empty, corrupt, not audio, silent): retrying cannot help."""

    http_status = 400
    exit_code = 2


class LimitExceeded(InputError):
    """The input is larger or longer than a configured limit."""

    http_status = 413


class NotFound(InputError):
    """The input names something that does not exist (e.g. a recording no function created)."""

    http_status = 404


class Conflict(InputError):
    """The request contradicts what was stored before it (a video fetched before with other options)."""

    http_status = 409


class StaleInput(InputError):
    """The object an event names was replaced or removed after the event: nothing to do for it.

    Stages answer such events 200 ``{"status": "stale"}`` (a late delivery is normal with
    at-least-once delivery; the new object has its own event); the status here applies only
    where the discovery comes too late for that (the object changed while it was read).
    """

    http_status = 409


class ProcessingError(AudioscoreError):
    """A tool or plugin the pipeline relies on failed or is missing."""

    http_status = 500
    exit_code = 3


class ConfigError(ProcessingError):
    """The deployment is misconfigured: a setting malformed, a secret or a client missing.

    Not the caller's fault and not cured by retrying: 500 and exit code 3, like a missing tool
    (it is a ProcessingError, so code that handles those handles this too). The message names
    the variable or secret, never a secret's value.
    """


class TransientError(AudioscoreError):
    """A dependency (store, database) failed; retrying may help."""

    http_status = 503
    exit_code = 4
