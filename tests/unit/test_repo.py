"""The repository's promises about itself: README's commands and .ci/run agree."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    first_block = re.search(r"```bash\n(.*?)```", readme, re.S).group(1).splitlines()
    assert first_block[0].startswith("pip install . && irisenv sync")
    assert first_block[1].startswith("bash .ci/run")
    command = re.search(r"The test command itself is `([^`]+)`", readme).group(1)
    last = [line for line in ci.splitlines() if line.strip() and not line.startswith("#")][-1]
    assert last.strip() == command


def test_ci_ensures_a_docker_engine():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "dockerd" in ci and "docker.io" in ci and "tests/standin/build.sh" in ci
