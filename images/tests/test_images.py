"""The functions served from inside their images and driven over HTTP: the
in-process suite's own tests (tests/test_functions.py) against the containers,
and what the containers are: the non-root user, a read-only root filesystem
apart from /tmp, no compilers, headers or pip caches, one Python."""

from __future__ import annotations

import pytest
from builder import stack_functions

# Collected here, these run against the containers (the `deployed` and `records`
# fixtures of conftest.py): the very requests and checks of the in-process suite.
# Left out are those that change a running function from inside its process
# (environment, secrets, name resolution) and the refusals under the default fetch
# policy, which the containers do not run with.
from test_functions import (  # noqa: F401
    test_bad_audio_is_400_and_recorded,
    test_events_for_other_objects_are_acknowledged_and_ignored,
    test_fetch_rejects_bad_bodies,
    test_fetch_stores_audio_that_the_chain_picks_up,
    test_health_path_for_the_watchdog,
    test_hostile_key_and_malformed_json_are_400,
    test_probe_and_bearer_token,
    test_upload_mode_metadata_runs_the_polyphonic_engine_and_the_record_says_so,
    test_upload_to_score_and_replays,
)

FUNCTIONS = list(stack_functions()[0])


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_server_runs_as_the_non_root_user_on_a_read_only_root(functions, function: str) -> None:
    running = functions[function]
    uids = running.exec("grep '^Uid:' /proc/1/status").stdout.split()[1:]  # the server is PID 1
    assert uids == ["10001"] * 4
    for path in ("/home/app/function/x", "/opt/venv/x", "/var/tmp/x", "/x"):
        done = running.exec(f"touch {path}")
        assert done.returncode != 0 and "Read-only file system" in done.stderr, path
    assert running.exec("touch /tmp/x && rm /tmp/x").returncode == 0


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_image_is_lean(functions, function: str) -> None:
    def found(script: str) -> list[str]:
        return functions[function].exec(script, user="0").stdout.split()

    assert found("for tool in gcc cc g++ c++ cpp clang make; do command -v $tool; done") == []
    assert found("dpkg-query -W -f '${Package}\\n' | grep -e '-dev$' || true") == []
    assert found("find / -xdev \\( -name Python.h -o -path '*/.cache/pip' \\) -print") == []
    # One Python: Debian's, which the venv runs on and LilyPond depends on.
    assert found("find / -xdev -type f -name 'python3*' -perm -u+x -path '*/bin/*'") == ["/usr/bin/python3.11"]
    assert found("readlink -f /opt/venv/bin/python") == ["/usr/bin/python3.11"]
