"""Images from a real registry (registries.py: Debian's docker-registry on 127.0.0.1): the
pull path for real, and the pull policy (instances.<name>.pull, sync/plan --pull).

Each test pushes to a repository of its own (``HOST/irisenv-test/<what>-<uuid8>``), so the
engine never has its images beforehand unless the test puts them there; the images and
tags a test makes are removed at its end (never the stand-in image itself)."""
from __future__ import annotations

import json
import uuid

from docker.errors import ImageNotFound
import pytest
from helpers import STANDIN_IMAGE, describe, instance_toml
from registries import build, docker_cli, forget, free_port, remove_image, repository_of


def with_image(ref: str, **keys) -> str:
    """The one-instance config on image ``ref`` (the stand-in, or one made from it)."""
    return instance_toml("iris", **keys).replace(f'image = "{STANDIN_IMAGE}"', f'image = "{ref}"')


@pytest.fixture
def images(project):
    """What the test put on the engine, removed after the project's containers: image
    references (every reference to their repository goes) and IDs of images it built."""
    made: list[str] = []
    yield made
    project.cleanup()
    for item in reversed(made):
        if item.startswith("sha256:"):
            remove_image(item)
        else:
            forget(repository_of(item))


def doctor_image(project, **kwargs) -> tuple[str, str]:
    """(status, detail) of `irisenv doctor`'s image check of instance iris."""
    doc = json.loads(project.run("doctor", "--json", **kwargs).stdout)
    return next((c["status"], c["detail"]) for c in doc["checks"] if c["check"] == "iris: image")


def events(proc) -> list[dict]:
    return [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]


def move_tag(registry, ref: str, images: list) -> tuple[str, str]:
    """Another machine pushes a new image behind ``ref`` (the stand-in with one more LABEL)
    while this engine keeps the old one under ``ref``: (the new digest, the LABEL's value).
    The new image is then removed here, so a pull downloads it."""
    token = uuid.uuid4().hex
    scratch = registry.repository("moved") + ":build"
    new_id = build(STANDIN_IMAGE, scratch, f'LABEL io.irisenv.test.moved="{token}"')
    images += [new_id, scratch]
    digest = registry.push(scratch, ref, keep=True)
    docker_cli("tag", STANDIN_IMAGE, ref)  # this engine's tag stays on the old image
    remove_image(scratch)
    remove_image(new_id)
    return digest, token


def test_sync_pulls_an_absent_image_from_a_real_registry_with_progress(project, registry,
                                                                      images, client):
    # an image with a layer of its own, pushed, then removed here: the pull downloads it
    token = uuid.uuid4().hex
    ref = registry.repository("fresh") + ":v1"
    images.append(ref)
    built = build(STANDIN_IMAGE, ref, f"RUN echo {token} > /home/irisowner/irisenv-test-layer")
    images.append(built)
    digest = registry.push(ref, ref, keep=True)
    remove_image(built)
    with pytest.raises(ImageNotFound):
        client.images.get(ref)
    project.write(with_image(ref))
    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2 and f"+ image {ref}\n" in plan.stdout, describe(plan)
    proc = project.run("sync", "--progress", "json", "--timeout", "60")
    assert proc.returncode == 0, describe(proc)
    kinds = [e["event"] for e in events(proc)]
    assert kinds.index("pull") < kinds.index("progress") < kinds.index("pulled") < kinds.index(
        "create"), kinds
    pulled = client.images.get(ref)
    assert f"{ref.rsplit(':', 1)[0]}@{digest}" in pulled.attrs["RepoDigests"]
    c = project.container()
    assert c.image.id == pulled.id
    assert c.exec_run(["cat", "/home/irisowner/irisenv-test-layer"]).output.decode().strip() == token
    assert project.run("plan", "--detailed-exitcode").returncode == 0


def test_a_moved_tag_with_pull_always_is_a_visible_replace_onto_the_new_image(
        project, registry, images, client):
    ref = registry.repository() + ":v1"
    images.append(ref)
    registry.push(STANDIN_IMAGE, ref)
    project.write(with_image(ref, pull="always"))
    project.ok("sync")
    old = project.container()
    assert project.run("plan", "--detailed-exitcode").returncode == 0  # asked, not moved
    digest, token = move_tag(registry, ref, images)

    plan = project.run("plan", "--detailed-exitcode")
    assert plan.returncode == 2, describe(plan)
    assert f"+ image {ref} (newer behind the tag: {digest[:19]})" in plan.stdout
    assert f"-/+ container {project.name}-iris ({old.short_id})" in plan.stdout
    assert "~ image digest: " in plan.stdout and f'-> "{digest[:19]}"' in plan.stdout
    assert "Plan: 1 to pull, 0 to add, 0 to start, 1 to replace" in plan.stdout
    steps = json.loads(project.ok("plan", "--json").stdout)["steps"]
    assert [s["action"] for s in steps][:2] == ["pull", "replace"]
    assert steps[0]["newer_digest"] == digest
    status, detail = doctor_image(project)
    assert status == "warn" and f"newer image behind the tag ({digest[:19]})" in detail

    proc = project.ok("sync", "--progress", "plain")
    assert f"pulling image {ref} (newer behind the tag" in proc.stderr
    new = project.container()
    assert new.id != old.id
    assert new.image.labels.get("io.irisenv.test.moved") == token
    assert project.run("plan", "--detailed-exitcode").returncode == 0


def test_pull_missing_never_asks_and_pull_flag_checks_for_one_run(project, registry, images):
    ref = registry.repository() + ":v1"
    images.append(ref)
    registry.push(STANDIN_IMAGE, ref)
    project.write(with_image(ref))  # pull = "missing", the default
    project.ok("sync")
    old = project.container()
    digest, token = move_tag(registry, ref, images)
    assert project.run("plan", "--detailed-exitcode").returncode == 0  # not asked
    plan = project.run("plan", "--pull", "--detailed-exitcode")
    assert plan.returncode == 2 and f"(newer behind the tag: {digest[:19]})" in plan.stdout
    project.ok("sync")
    assert project.container().id == old.id  # a plain sync does not look
    project.ok("sync", "--pull")
    assert project.container().image.labels.get("io.irisenv.test.moved") == token
    assert project.run("plan", "--pull", "--detailed-exitcode").returncode == 0


def test_an_unreachable_registry_fails_a_pull_and_keeps_a_local_image_with_pull_always(
        project, images, client):
    host = f"127.0.0.1:{free_port()}"  # nothing listens there
    ref = f"{host}/irisenv-test/standin-{uuid.uuid4().hex[:8]}:v1"
    images.append(ref)
    project.write(with_image(ref))
    proc = project.run("sync", "--timeout", "30")
    assert proc.returncode == 1, describe(proc)
    assert f"error: image {ref} could not be pulled: registry {host} cannot be reached" in proc.stderr
    assert "connection refused" in proc.stderr and "fix: start the registry" in proc.stderr
    assert "Traceback" not in proc.stderr and project.containers() == []

    docker_cli("tag", STANDIN_IMAGE, ref)  # the image is here; the registry still down
    project.write(with_image(ref, pull="always"))
    plan = project.run("plan")
    assert plan.returncode == 0, describe(plan)
    assert (f"note: cannot check image {ref}: registry {host} cannot be reached; the local "
            "image sha256:") in plan.stdout
    proc = project.ok("sync", "--progress", "plain")
    assert "cannot be reached" in proc.stderr
    status, detail = doctor_image(project)
    assert status == "warn" and f"registry {host} cannot be reached" in detail
    assert project.container().image.id == client.images.get(STANDIN_IMAGE).id


def test_a_tag_the_registry_does_not_have(project, registry, images):
    repo = registry.repository()
    images.append(f"{repo}:v1")
    registry.push(STANDIN_IMAGE, f"{repo}:v1")
    ref = f"{repo}:nope"
    project.write(with_image(ref))
    proc = project.run("sync", "--timeout", "30")
    assert proc.returncode == 1, describe(proc)
    assert (f"error: image {ref} could not be pulled: registry {registry.host} has no such "
            "repository or tag") in proc.stderr
    assert "manifest unknown" in proc.stderr and f"docker push {ref}" in proc.stderr
    assert project.containers() == []

    # here but never pushed, and pull = "always": the plan is blocked, nothing is made
    docker_cli("tag", STANDIN_IMAGE, ref)
    project.write(with_image(ref, pull="always"))
    plan = project.run("plan")
    assert plan.returncode == 1, describe(plan)
    assert (f"! instance iris: cannot check image {ref}: registry {registry.host} has no such "
            "repository or tag") in plan.stdout
    assert 'or set pull = "missing"' in plan.stdout
    assert project.run("sync").returncode == 1 and project.containers() == []


def test_a_registry_that_requires_a_login_uses_the_docker_cli_credentials(
        project, auth_registry, images, tmp_path):
    with_login = auth_registry.docker_config(tmp_path / "with-login")
    no_login = tmp_path / "no-login"
    no_login.mkdir()
    ref = auth_registry.repository() + ":v1"
    images.append(ref)
    auth_registry.push(STANDIN_IMAGE, ref, config=with_login)
    project.write(with_image(ref, pull="always"))

    proc = project.run("sync", "--timeout", "30", env={"DOCKER_CONFIG": str(no_login)})
    assert proc.returncode == 1, describe(proc)
    assert f"image {ref} could not be pulled: registry {auth_registry.host} refused access" in (
        proc.stderr)
    assert f"fix: log in as the user that runs irisenv: `docker login {auth_registry.host}`" in (
        proc.stderr)
    assert project.containers() == []

    project.ok("sync", env={"DOCKER_CONFIG": str(with_login)})
    ok = project.run("plan", "--detailed-exitcode", env={"DOCKER_CONFIG": str(with_login)})
    assert ok.returncode == 0, describe(ok)  # the tag was checked, with the credentials
    denied = project.run("plan", env={"DOCKER_CONFIG": str(no_login)})
    assert denied.returncode == 1
    assert f"cannot check image {ref}: registry {auth_registry.host} refused access" in (
        denied.stdout)


def test_pull_never_makes_an_absent_image_a_plan_problem_and_never_pulls(
        project, registry, images, client):
    ref = registry.repository() + ":v1"
    images.append(ref)
    registry.push(STANDIN_IMAGE, ref)
    project.write(with_image(ref, pull="never"))
    plan = project.run("plan")
    assert plan.returncode == 1, describe(plan)
    assert f'! instance iris: image {ref} is not present on the engine, and pull = "never"' in (
        plan.stdout)
    assert f"docker pull {ref}" in plan.stdout
    proc = project.run("sync", "--pull")
    assert proc.returncode == 1 and 'pull = "never"' in proc.stderr, describe(proc)
    with pytest.raises(ImageNotFound):
        client.images.get(ref)
    assert project.containers() == []
    status, detail = doctor_image(project)
    assert status == "fail" and 'pull = "never"' in detail
