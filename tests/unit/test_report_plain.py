"""The plain progress lines (CI logs): warnings say so, every line is redacted."""
import io

from irisenv.report import PlainReporter


def test_a_warning_line_says_warning_and_others_do_not():
    out = io.StringIO()
    r = PlainReporter(out)
    r.event("warning", "the port registry was unreadable")
    r.event("warning", "monitor state is 'alert'", instance="iris")
    r.event("created", "container demo-iris created", instance="iris")
    lines = out.getvalue().splitlines()
    assert lines[0].endswith("] warning: the port registry was unreadable")
    assert lines[1].endswith("] iris: warning: monitor state is 'alert'")
    assert lines[2].endswith("] iris: container demo-iris created")
