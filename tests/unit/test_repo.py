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


def test_ci_installs_the_image_registry_the_registry_tests_start():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "apt-get install" in ci and "docker-registry" in ci
    registries = (ROOT / "tests" / "docker" / "registries.py").read_text()
    assert '"docker-registry"' in registries  # the binary the tests look for


def test_ci_installs_what_the_second_engine_and_its_sshd_need():
    """The remote-engine tests start a dockerd in a network namespace (ip, nsenter) and an
    sshd on its host (the binary engines.py runs, from openssh-server)."""
    ci = (ROOT / ".ci" / "run").read_text()
    for package in ("iproute2", "util-linux", "openssh-server", "openssh-client"):
        assert re.search(rf"apt-get install [^\n]*\b{package}\b", ci), package
    engines = (ROOT / "tests" / "docker" / "engines.py").read_text()
    assert 'SSHD = "/usr/sbin/sshd"' in engines and "[ ! -x /usr/sbin/sshd ]" in ci


def test_python_requirement_matches_the_code_and_the_readme():
    """The code imports tomllib (3.11+) without a fallback: the package says >= 3.11, needs no
    tomli, and README says the same (3.10 reached end of life in October 2026)."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=3.11"
    assert not [d for d in project["dependencies"] if re.match(r"tomli\b(?!t)", d)]
    assert not [p for p in (ROOT / "irisenv").rglob("*.py") if "tomli " in p.read_text()]
    readme = (ROOT / "README.md").read_text()
    assert "Python >= 3.11" in readme and "3.10" not in readme


def test_the_test_extra_lets_every_test_but_the_real_iris_lane_run():
    """`.ci/run` installs `.[test]`; every test outside tests/iris must then run, so the
    driver the connect() tests need is in the extra and no test skips itself (conftest.py
    skips the real-IRIS lane, and Docker tests only where CI is not set)."""
    import tomllib

    extra = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["test"]
    assert any(re.match(r"intersystems-irispython\b", d) for d in extra), extra
    skipping = [str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("test_*.py")
                if "iris" not in p.relative_to(ROOT / "tests").parts[:1]
                and re.search(r"pytest\.skip\(|importorskip\(", p.read_text())]
    assert skipping == [], f"these tests can skip themselves: {skipping}"


def _repository_files():
    import subprocess

    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                             check=True, timeout=30).stdout
        return [ROOT / p for p in out.decode().split("\0") if p]
    except (OSError, subprocess.SubprocessError):  # not a git checkout: every file
        skip = {".git", "__pycache__", ".pytest_cache", "build", "dist"}
        return [p for p in ROOT.rglob("*") if p.is_file()
                and not skip.intersection(p.relative_to(ROOT).parts)
                and not any(part.endswith(".egg-info") for part in p.parts)]


def test_the_repository_cites_only_what_its_users_have():
    """Facts the code relies on are stated in docs/learnings/ with their public sources;
    nothing may point at the development notes kept outside the repository."""
    # spelt in pieces so that this file does not match itself
    outside = ["IRIS-" + "FACTS", "/work/" + "shared", "../" + "shared/", "USERS" + ".md",
               "DESIGN" + ".md"]
    section = re.compile("\u00a7" + r"\d")  # a section sign and a digit: a section of those notes
    hits = []
    for path in _repository_files():
        if not path.is_file():
            continue  # deleted in the work tree
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        for n, line in enumerate(text.splitlines(), 1):
            hits += [f"{path.relative_to(ROOT)}:{n}: {word}" for word in outside if word in line]
            if section.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert hits == [], "\n".join(hits)


def test_every_learnings_page_is_listed_and_links_resolve():
    learnings = ROOT / "docs" / "learnings"
    index = (learnings / "sources.md").read_text(encoding="utf-8")
    pages = sorted(p.name for p in learnings.glob("*.md") if p.name != "sources.md")
    assert [p for p in pages if f"({p})" not in index] == []
    for page in learnings.glob("*.md"):
        for target in re.findall(r"\]\(([^)#:]+\.md)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).resolve().is_file(), f"{page.name} links to {target}"


def test_test_modules_have_unique_basenames():
    """The test directories have no __init__.py (rootdir-relative imports), so pytest imports
    each test module by its basename: two files with one name make collection fail."""
    seen: dict = {}
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        assert path.name not in seen, f"{path} and {seen[path.name]} share a basename"
        seen[path.name] = path
