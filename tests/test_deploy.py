"""The deployment artifacts: stack.yml and the k3s manifests, parsed and checked
(no cluster here; Kubernetes objects against their schemas, offline)."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from audioscore.infra.config import Settings

ROOT = Path(__file__).resolve().parents[1]
KUBERNETES_VERSION = "1.30.0"
PIPELINE = ("fetch-youtube", "extract-features", "transcribe")
FUNCTIONS = (*PIPELINE, "redrive", "recordings")
# The longest exec_timeout the README's chart values (gateway.upstreamTimeout 16m) cover.
UPSTREAM_TIMEOUT_S = 16 * 60


def manifests() -> list[tuple[str, dict]]:
    return [(path.name, doc) for path in sorted((ROOT / "deploy").glob("*.yaml"))
            for doc in yaml.safe_load_all(path.read_text()) if doc]


@pytest.fixture(scope="module")
def stack() -> dict:
    return yaml.safe_load((ROOT / "stack.yml").read_text())


@pytest.mark.parametrize(("name", "doc"), manifests(), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_manifests_are_valid_kubernetes_objects(name: str, doc: dict) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    assert doc["kind"] == "Namespace" or doc["metadata"]["namespace"] == "audioscore"


def test_the_validator_catches_a_broken_object() -> None:
    _, deployment = next((n, d) for n, d in manifests() if d["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["template"]["spec"]["contianers"] = broken["spec"]["template"]["spec"].pop("containers")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_minio_notifies_the_async_routes_with_a_token_and_a_queue() -> None:
    minio = next(d for _, d in manifests() if d["kind"] == "Deployment" and d["metadata"]["name"] == "minio")
    env = {e["name"]: e for e in minio["spec"]["template"]["spec"]["containers"][0]["env"]}
    for target, function in (("EXTRACT", "extract-features"), ("TRANSCRIBE", "transcribe")):
        assert env[f"MINIO_NOTIFY_WEBHOOK_ENDPOINT_{target}"]["value"].endswith(f"/async-function/{function}")
        assert env[f"MINIO_NOTIFY_WEBHOOK_AUTH_TOKEN_{target}"]["valueFrom"]["secretKeyRef"]["key"] == "webhook-token"
        assert env[f"MINIO_NOTIFY_WEBHOOK_QUEUE_DIR_{target}"]["value"].startswith("/data/")
    job = next(d for _, d in manifests() if d["kind"] == "Job")
    script = job["spec"]["template"]["spec"]["containers"][0]["args"][0]
    assert "arn:minio:sqs::EXTRACT:webhook --event put" in script
    # Only <id>/features.json starts transcribe, not another object whose name ends so.
    assert re.search(r"local/features arn:minio:sqs::TRANSCRIBE:webhook --event put --suffix /features.json", script)


def test_stack_builds_every_function_from_our_template(stack: dict) -> None:
    assert set(stack["functions"]) == set(FUNCTIONS)
    assert stack["configuration"]["copy"] == ["./audioscore", "./vamp", "./pyproject.toml", "./README.md"]
    for path in stack["configuration"]["copy"]:
        assert (ROOT / path).exists(), path
    template = ROOT / "template" / "audioscore-python"
    assert (template / "Dockerfile").is_file() and (template / "index.py").is_file()
    assert yaml.safe_load((template / "template.yml").read_text())["language"] == "audioscore-python"
    for name, function in stack["functions"].items():
        assert function["lang"] == "audioscore-python"
        assert (ROOT / function["handler"] / "handler.py").is_file()
        assert function["image"].startswith("${REGISTRY:-") and name in function["image"]


def seconds(value: str) -> int:
    match = re.fullmatch(r"(\d+)([sm])", value)
    assert match, value
    return int(match[1]) * (60 if match[2] == "m" else 1)


def mebibytes(quantity: str) -> float:
    match = re.fullmatch(r"(\d+)(Mi|Gi)", quantity)
    assert match, quantity
    return int(match[1]) * (1024 if match[2] == "Gi" else 1)


@pytest.mark.parametrize("name", PIPELINE)
def test_functions_have_secrets_limits_and_long_timeouts(stack: dict, name: str) -> None:
    function = stack["functions"][name]
    assert {"minio-access-key", "minio-secret-key", "mongo-url"} <= set(function["secrets"])
    if name != "fetch-youtube":
        assert "webhook-token" in function["secrets"]
        assert function["environment"]["max_inflight"] == "1"
    env = function["environment"]
    assert all(seconds(env[k]) >= 600 for k in ("read_timeout", "write_timeout", "exec_timeout"))
    assert function["limits"]["memory"] and function["labels"]["com.openfaas.scale.max"]
    assert function["readonly_root_filesystem"] is True
    assert not any("KEY" in k and "MINIO" in k for k in env), "credentials come from secrets, not env"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_watchdog_timeouts_fit_the_gateway_and_the_grace_period(stack: dict, name: str) -> None:
    env = stack["functions"][name]["environment"]
    exec_s, write_s = seconds(env["exec_timeout"]), seconds(env["write_timeout"])
    # The watchdog answers 504 at exec_timeout only while it may still write.
    assert exec_s < write_s <= UPSTREAM_TIMEOUT_S
    assert seconds(env["read_timeout"]) <= write_s
    # of-watchdog serves healthcheck_interval (default: write_timeout) after SIGTERM; CE's grace is 30 s.
    assert seconds(env["healthcheck_interval"]) < 30


def test_readme_chart_values_cover_the_functions(stack: dict) -> None:
    readme = (ROOT / "README.md").read_text()
    values = dict(re.findall(r"--set (gateway\.upstreamTimeout|gateway\.readTimeout|gateway\.writeTimeout"
                             r"|queueWorker\.ackWait)=(\d+m(?:\d+s)?)", readme))
    assert set(values) == {"gateway.upstreamTimeout", "gateway.readTimeout", "gateway.writeTimeout",
                           "queueWorker.ackWait"}, values

    def duration(text: str) -> int:
        minutes, _, rest = text.partition("m")
        return int(minutes) * 60 + int(rest.rstrip("s") or 0)

    upstream = duration(values["gateway.upstreamTimeout"])
    assert upstream == UPSTREAM_TIMEOUT_S
    assert upstream < duration(values["gateway.readTimeout"]) and upstream < duration(values["gateway.writeTimeout"])
    # A job still running when ack_wait passes is delivered again: longer than any invocation.
    assert duration(values["queueWorker.ackWait"]) > upstream
    assert "arkade install openfaas-ce" in readme and "arkade install openfaas\n" not in readme


def test_status_lookups_have_a_function_the_work_does_not_block(stack: dict) -> None:
    recordings = stack["functions"]["recordings"]
    assert int(recordings["environment"]["max_inflight"]) >= 10
    assert "webhook-token" not in recordings["secrets"]  # it only reads
    assert all(stack["functions"][name]["environment"].get("MINIO_PUBLIC_URL") for name in (*PIPELINE, "recordings"))


def test_fetch_token_is_optional_and_not_mounted_by_default(stack: dict) -> None:
    # faas-cli refuses an empty secret (commands/secret_create.go): "no token" is "not mounted".
    assert "fetch-token" not in stack["functions"]["fetch-youtube"]["secrets"]
    assert "# - fetch-token" in (ROOT / "stack.yml").read_text()


@pytest.mark.parametrize("name", FUNCTIONS)
def test_concurrency_scaling_and_memory(stack: dict, name: str) -> None:
    function = stack["functions"][name]
    assert int(function["environment"]["max_inflight"]) >= 1
    labels = function["labels"]
    assert 1 <= int(labels["com.openfaas.scale.min"]) <= int(labels["com.openfaas.scale.max"])
    assert 0 <= int(labels.get("com.openfaas.scale.factor", "20")) <= 100
    assert mebibytes(function["requests"]["memory"]) <= mebibytes(function["limits"]["memory"])


def test_redrive_runs_on_the_cron_connectors_schedule_with_valid_settings(stack: dict) -> None:
    function = stack["functions"]["redrive"]
    assert function["annotations"]["topic"] == "cron-function"
    assert len(function["annotations"]["schedule"].split()) == 5  # minute hour day month weekday
    assert {"minio-access-key", "minio-secret-key", "mongo-url", "webhook-token"} <= set(function["secrets"])
    env = function["environment"]
    assert env["GATEWAY_URL"].startswith("http://gateway.openfaas")
    settings = Settings.from_env(env)
    # A worker inside its time limit is never taken for lost.
    functions = stack["functions"]
    assert settings.redrive_features_deadline_s > seconds(functions["extract-features"]["environment"]["exec_timeout"])
    assert settings.redrive_score_deadline_s > seconds(functions["transcribe"]["environment"]["exec_timeout"])
    assert settings.redrive_max_attempts >= 2 and settings.redrive_max_per_run >= 1


def test_the_stack_deploys_the_functions_the_code_names(stack: dict) -> None:
    from audioscore.infra import names

    assert set(stack["functions"]) == set(names.FUNCTIONS)
    assert all(name in (ROOT / "deploy" / "minio.yaml").read_text()
               for name in (names.EXTRACT_FEATURES, names.TRANSCRIBE))
