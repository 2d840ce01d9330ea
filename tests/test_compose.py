"""No Docker engine runs here: check docker-compose.yml against the settings instead."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_TEXT = (ROOT / "mint" / "settings.py").read_text()
ENV_EXAMPLE = (ROOT / ".env.example").read_text()


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_production_services():
    services = compose()["services"]

    assert {"db", "redis", "minio", "web", "worker", "beat"} <= set(services)
    assert services["db"]["image"].startswith("postgres")
    assert services["redis"]["image"].startswith("redis")
    assert services["minio"]["image"].startswith("minio/")


def test_compose_runs_the_processes_operators_expect():
    services = compose()["services"]

    assert "gunicorn mint.wsgi" in " ".join(services["web"]["command"])
    assert services["worker"]["command"][:4] == ["celery", "-A", "mint", "worker"]
    assert services["beat"]["command"][:4] == ["celery", "-A", "mint", "beat"]
    assert "replicas" not in str(services["beat"].get("deploy", {}))  # one beat


def test_every_compose_variable_is_a_setting_we_read_and_documented():
    services = compose()["services"]
    required = {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "S3_ENDPOINT_URL",
                "S3_BUCKET", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "CREDENTIALS_KEYS",
                "ALLOWED_HOSTS", "EMAIL_URL"}
    for name in ("web", "worker", "beat"):
        env = services[name]["environment"]
        assert required <= set(env), name
        assert env["DEBUG"] == "false"
        for variable in env:
            assert re.search(rf'["(]{variable}["\s,)]', SETTINGS_TEXT) or (
                f'"{variable}"' in SETTINGS_TEXT
            ), f"{variable} in compose is not read by settings"
            assert f"\n{variable}=" in "\n" + ENV_EXAMPLE, f"{variable} not in .env.example"


def test_every_setting_variable_is_in_env_example():
    read = set(re.findall(r'env\.\w+\(\s*"([A-Z_]+)"', SETTINGS_TEXT))
    read |= set(re.findall(r'_(?:required|bool)\(\s*"([A-Z_]+)"', SETTINGS_TEXT))
    read |= set(re.findall(r'Env\(\)\.str\(\s*"([A-Z_]+)"', SETTINGS_TEXT))

    missing = {v for v in read if f"\n{v}=" not in "\n" + ENV_EXAMPLE}

    assert read and not missing


def test_the_image_never_takes_secrets_or_local_data():
    """``COPY . .`` in the Dockerfile: .env (the keys), the embedded database and raw
    dumps, the virtualenv and the history stay out."""
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}

    assert {".env", "var/", ".venv/", ".git/"} <= ignored
    assert "!.env.example" in ignored


def test_env_example_copied_as_it_is_works_with_compose():
    """The compose header says to put the secrets in .env, next to it: the rest of
    .env.example must then still fit the compose services (mail host, local address)."""
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#") and "=" in line)
    services = set(yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"])

    assert urlsplit(example["EMAIL_URL"]).hostname in services
    assert {"localhost", "127.0.0.1"} <= set(example["ALLOWED_HOSTS"].split(","))
