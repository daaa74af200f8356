"""IRIS that boots but does not behave: a system monitor stuck at "hung", and an image that
keeps _SYSTEM's forced password change (the stand-in's knobs, tests/standin/README.md)."""
from __future__ import annotations


def test_a_hung_monitor_fails_the_sync_without_waiting_out_the_timeout(project):
    project.configure(env={"STANDIN_MONITOR_STATE": "hung"})
    # --timeout 600 against a subprocess limit of 120 s: waiting out the timeout would fail
    p = project.run("sync", "--timeout", "600", timeout=120)
    assert p.returncode == 1, p.stdout + p.stderr
    assert 'the IRIS system monitor reports "hung"' in p.stderr, p.stderr
    assert "irisenv sync --recreate" in p.stderr and "irisenv logs" in p.stderr
    assert "raise --timeout" not in p.stderr


def test_a_sticky_system_password_change_only_warns_for_a_dedicated_user(project):
    project.configure(env={"STANDIN_STICKY_PASSWORD_CHANGE": "1"},
                      credentials={"username": "dev", "password": "devpw123"})
    s = project.run("sync", "--progress", "plain")
    assert s.returncode == 0, s.stdout + s.stderr
    assert "user _SYSTEM still requires a password change" in s.stderr, s.stderr
    assert "Tests connect as dev" in s.stderr

    # the plan converges: the same merge is not proposed again, a note says why
    p = project.run("plan", "--detailed-exitcode")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "No changes." in p.stdout
    assert "note: iris: user _SYSTEM still requires a password change" in p.stdout
    status = project.ok("status", "--json").stdout
    assert '"pending": []' in status and '"system_password_change_required": true' in status
    assert "user dev: password verified; _SYSTEM: password change required" in \
        project.ok("status").stdout
    again = project.run("sync", "--progress", "plain")
    assert again.returncode == 0 and "updating IRIS in place" not in again.stderr, again.stderr


def test_a_sticky_password_change_of_the_configured_system_user_says_what_failed(project):
    project.configure(env={"STANDIN_STICKY_PASSWORD_CHANGE": "1"})
    p = project.run("sync")
    assert p.returncode == 1, p.stdout + p.stderr
    assert ("user _SYSTEM still requires a password change after irisenv saved "
            "ChangePassword=0") in p.stderr, p.stderr
    assert "ModifyUser:Name=_SYSTEM,ChangePassword=0" in p.stderr
    assert "CPF merge [Actions]" not in p.stderr  # not what failed
    assert "username" in p.stderr  # the way out: a dedicated user
