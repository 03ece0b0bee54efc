"""The command line: check-config (valid, invalid with file:line, no secrets
printed), preview in each format against the mock (prints, posts nothing),
--version and --help."""

import json
import os
import re
import sys

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (AUTH_TOKEN, CLIENT_SECRET, Mock, case, crashed, run_all, run_cli,  # noqa: E402
                     scenario, strings, tmpdir, write_config)

FWC = scenario("failed_with_children")
EXPECT = FWC["expect"]
PROJECT = FWC["webhook"]["projectId"]
ROOT = FWC["webhook"]["pipelineExecutionId"]
SLACK_SECRET = "XyZsecretHookPath123"
TEAMS_SECRET = "SIGsecretSignature456"


def secret_config(d, mock_port=1):
    """A valid config whose secrets are easy to spot in output."""
    mp = "http://127.0.0.1:%d" % mock_port
    return write_config(d, mock_port, sections={
        "destination slack-main": {"url": mp + "/slack/T0SECRET1/B0SECRET2/" + SLACK_SECRET},
        "destination teams-main": {"url": mp + "/teams/workflows/a1b2c3/triggers/manual/paths/"
                                              "invoke?api-version=1&sig=" + TEAMS_SECRET},
    })


@case
def check_config_valid_hides_secrets():
    cfg = secret_config(tmpdir())
    rc, out, err = run_cli(["-c", cfg.path, "check-config"])
    both = out + err
    assert rc == 0, "exit %d:\n%s" % (rc, both)
    for secret in (AUTH_TOKEN, CLIENT_SECRET, SLACK_SECRET, TEAMS_SECRET, "B0SECRET2"):
        assert secret not in both, "check-config printed a secret (%s...):\n%s" % (
            secret[:4], both)
    assert "redacted" in both.lower(), "no redacted URL shown:\n" + both
    assert "slack-main" in both and "teams-main" in both, "destinations not listed:\n" + both


INVALID = """# line 1: a config with one mistake, on line 7
[server]
listen = 127.0.0.1:18080
auth_token = abc-0123456789-cli
store = {store}
[matillion]
colour = blue
api_base = http://127.0.0.1:1/dpc
token_url = http://127.0.0.1:1/oauth/dpc/token
client_id = test-client
client_secret = test-secret
[destination a]
type = slack
url = https://hooks.slack.com/services/T/B/x
[default]
destinations = a
"""


@case
def check_config_invalid_reports_line():
    d = tmpdir()
    path = os.path.join(d, "bad.ini")
    with open(path, "w") as f:
        f.write(INVALID.format(store=os.path.join(d, "x.db")))
    rc, out, err = run_cli(["-c", path, "check-config"])
    both = out + err
    assert rc == 1, "exit %d:\n%s" % (rc, both)
    assert "%s:7:" % path in both, "no %s:7: in:\n%s" % (path, both)
    assert "colour" in both, "the unknown key is not named:\n" + both
    assert "test-secret" not in both, "client secret printed:\n" + both


@case
def check_config_missing_file():
    d = tmpdir()
    rc, out, err = run_cli(["-c", os.path.join(d, "nope.ini"), "check-config"])
    assert rc != 0 and not crashed(rc), rc
    assert "nope.ini" in out + err, out + err


def preview(fmt):
    d = tmpdir()
    with Mock("failed_with_children", tmpdir=d) as m:
        cfg = secret_config(d, m.port)
        rc, out, err = run_cli(["-c", cfg.path, "preview", PROJECT, ROOT, "--format", fmt],
                               timeout=60)
        posts = m.recorded()
        calls = m.calls()
    assert rc == 0, "preview --format %s exit %d:\n%s" % (fmt, rc, err[-2000:])
    assert posts == [], "preview posted to chat: %s" % posts
    assert any(c["path"].endswith("/steps") for c in calls), "preview did not call the API"
    for secret in (AUTH_TOKEN, CLIENT_SECRET, SLACK_SECRET, TEAMS_SECRET):
        assert secret not in out + err, "preview printed a secret"
    return out


@case
def preview_slack():
    body = json.loads(preview("slack"))
    blocks = body["blocks"]
    assert 1 <= len(blocks) <= 50
    text = "\n".join(strings(blocks))
    assert EXPECT["failed_path"] in text and EXPECT["error"] in text, text[:3000]


@case
def preview_teams():
    body = json.loads(preview("teams"))
    assert body["type"] == "message"
    card = body["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    text = "\n".join(strings(card))
    assert EXPECT["failed_step"] in text and EXPECT["error"] in text, text[:3000]


@case
def preview_text():
    out = preview("text")
    assert EXPECT["failed_step"] in out and EXPECT["error"] in out, out[:3000]
    assert EXPECT["display_name"] in out and "FAILED" in out, out[:3000]
    assert "https://app.matillion.com/observability-dashboard/pipeline/" + ROOT in out


@case
def preview_unknown_execution_fails_cleanly():
    d = tmpdir()
    with Mock("failed_with_children", tmpdir=d) as m:
        cfg = secret_config(d, m.port)
        rc, out, err = run_cli(["-c", cfg.path, "preview", PROJECT,
                                "00000000-0000-4000-8000-0000000000ff", "--format", "text"],
                               timeout=60)
        assert m.recorded() == []
    assert rc != 0 and not crashed(rc), "exit %d" % rc
    assert err.strip(), "no error message on stderr"


@case
def purge_age_overflow_is_refused():
    """A duration whose seconds do not fit 64 bits is refused, not wrapped
    (213503982334602 days wrap to about 17 hours) and not truncated."""
    d = tmpdir()
    cfg = write_config(d)
    for age in ("213503982334602d", "106751991167301d", "9223372036854775808", "153722867280912931m"):
        rc, out, err = run_cli(["-c", cfg.path, "dead", "purge", "--older-than", age])
        assert rc == 2 and "purged" not in out, "%s: exit %d:\n%s%s" % (age, rc, out, err)
    rc, out, err = run_cli(["-c", cfg.path, "dead", "purge", "--older-than", "53375995583d"])
    assert rc == 0 and "purged 0 dead job(s)" in out, "exit %d:\n%s%s" % (rc, out, err)
    # The largest durations parse; the store may still refuse to count
    # them in milliseconds, but that is not a usage error.
    for age in ("106751991167300d", "9223372036854775807", "9223372036854775807s"):
        rc, out, err = run_cli(["-c", cfg.path, "dead", "purge", "--older-than", age])
        assert rc in (0, 1) and not crashed(rc), "%s: exit %d:\n%s%s" % (age, rc, out, err)


@case
def version_and_help():
    rc, out, err = run_cli(["--version"])
    assert rc == 0 and re.search(r"\d+\.\d+\.\d+", out), (rc, out, err)
    rc, out, err = run_cli(["--help"])
    assert rc == 0, (rc, err)
    for word in ("check-config", "preview", "serve", "-c"):
        assert word in out, "--help does not mention %s:\n%s" % (word, out)
    rc, out, err = run_cli(["--no-such-option"])
    assert rc != 0 and not crashed(rc), rc


if __name__ == "__main__":
    run_all()
