"""The Teams card as Microsoft's Adaptive Cards library sees it: the body
that `dpc-notify preview --format teams` prints for a real failure with
child pipelines and for hostile names is fed to tests/render/validate-card.js
(adaptivecards, pinned in tests/render/package.json, under happy-dom), which
must report zero parse events, zero validation failures, no property lost
in a round trip and nothing Teams webhooks reject. The rendered text is then
checked for what a reader must (and must not) see. tests/render/contrast.js
then checks every golden Teams card for text below WCAG AA (4.5:1) in the
light and dark Teams host configs (tests/render/teams-host-*.json)."""

import os
import subprocess
import sys

sys.dont_write_bytecode = True  # keep the tree clean of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REPO, Mock, case, run_all, run_cli, scenario, tmpdir, write_config  # noqa: E402

RENDER_DIR = os.path.join(REPO, "tests", "render")
VALIDATOR = os.path.join(RENDER_DIR, "validate-card.js")
CONTRAST = os.path.join(RENDER_DIR, "contrast.js")
MODULES = ("adaptivecards", "happy-dom")


def ensure_modules():
    """npm ci into tests/render once; never downloads a browser."""
    nm = os.path.join(RENDER_DIR, "node_modules")
    if all(os.path.isdir(os.path.join(nm, m)) for m in MODULES):
        return
    p = subprocess.run(["npm", "ci", "--prefix", RENDER_DIR, "--no-audit", "--no-fund"],
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=600,
                       env=dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1"))
    if p.returncode != 0 or not all(os.path.isdir(os.path.join(nm, m)) for m in MODULES):
        raise AssertionError("npm ci --prefix tests/render failed (%d): %s" % (
            p.returncode, p.stderr.decode("utf-8", "replace")[-1500:]))


def preview_teams(name):
    sc = scenario(name)
    d = tmpdir()
    with Mock(name, tmpdir=d) as m:
        cfg = write_config(d, m.port)
        rc, out, err = run_cli(["-c", cfg.path, "preview", sc["webhook"]["projectId"],
                                sc["webhook"]["pipelineExecutionId"], "--format", "teams"],
                               timeout=60)
    assert rc == 0, "preview --format teams exit %d:\n%s" % (rc, err[-2000:])
    return out


def validate(body):
    """Runs the validator; returns the rendered text. Fails on any problem."""
    ensure_modules()
    p = subprocess.run(["node", VALIDATOR, "--text", "-"], input=body.encode("utf-8"),
                       capture_output=True, timeout=120, cwd=RENDER_DIR)
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 0 and out.rstrip().endswith("card: ok"), \
        "validate-card.js exit %d:\n%s%s" % (p.returncode, out[-3000:], err[-1500:])
    assert err.strip() == "", "validator warned: " + err[-1500:]
    return out


@case
def failed_with_children_card_is_valid():
    expect = scenario("failed_with_children")["expect"]
    text = validate(preview_teams("failed_with_children"))
    # The triage line names the run, says it failed and where, then the
    # error; the failing child's own run is the first button.
    for want in (expect["display_name"] + " failed at " + expect["failed_path"] + ": ",
                 expect["error"], "Open failed child run", "Open whole run"):
        assert want in text, "rendered card lacks %r:\n%s" % (want, text[:3000])
    assert "\\" not in text, "a backslash escape is visible:\n" + text[:3000]


@case
def hostile_card_is_valid_and_literal():
    sc = scenario("hostile")
    text = validate(preview_teams("hostile"))
    assert "pwn" in text, "the hostile name should still be shown:\n" + text[:3000]
    for bad in sc["forbidden_teams"] + ["<!channel>", "<@U123>"]:
        assert bad not in text, "rendered card shows %r:\n%s" % (bad, text[:3000])
    assert "\\" not in text, "a backslash escape is visible:\n" + text[:3000]


@case
def validator_rejects_a_broken_card():
    """The check can fail: an unknown element, a bad enum value and an
    Action.Submit are each reported."""
    ensure_modules()
    body = ('{"type":"message","attachments":[{"contentType":'
            '"application/vnd.microsoft.card.adaptive","content":{"type":"AdaptiveCard",'
            '"version":"1.5","body":[{"type":"Bogus"},{"type":"TextBlock","text":"x",'
            '"weight":"Heavy"}],"actions":[{"type":"Action.Submit","title":"go"}]}}]}')
    p = subprocess.run(["node", VALIDATOR, "-"], input=body.encode(), capture_output=True,
                       timeout=120, cwd=RENDER_DIR)
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 1, "exit %d:\n%s" % (p.returncode, out)
    for want in ("UnknownElementType", "InvalidPropertyValue", "Action.Submit"):
        assert want in out, "%s not reported:\n%s" % (want, out)


def contrast(*args):
    """Runs contrast.js (plain node, no modules); returns (exit, stdout)."""
    p = subprocess.run(["node", CONTRAST] + list(args), stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=120, cwd=REPO)
    return p.returncode, p.stdout.decode("utf-8", "replace") + p.stderr.decode("utf-8", "replace")


@case
def contrast_check_catches_unreadable_text():
    """The check can fail: its self-test cases (Attention title on the dark
    card, Good text on a good Container, ShowCard text on emphasis) and a
    fixture card with today's Attention title are reported."""
    rc, out = contrast("--self-test")
    assert rc == 0 and "FAIL" not in out, "self-test exit %d:\n%s" % (rc, out[-3000:])
    rc, out = contrast(os.path.join(RENDER_DIR, "fixtures", "teams-low-contrast.json"))
    assert rc == 1, "a dark-theme Attention title passed (exit %d):\n%s" % (rc, out[-3000:])
    low = [line for line in out.splitlines() if line.startswith("LOW ")]
    assert len(low) == 1 and ": dark: " in low[0] and "#d74654 on #2d2c2c" in low[0], \
        "want exactly the dark title reported:\n" + out[-3000:]
    assert "3 texts checked" in out and "1 below 4.5:1" in out, out[-3000:]
    # And it can pass: a card with styled Containers, a ColumnSet and an
    # Action.ShowCard has all eight of its texts found, none too faint.
    rc, out = contrast(os.path.join(RENDER_DIR, "fixtures", "teams-kitchen-sink.json"))
    assert rc == 0 and "8 texts checked" in out and " 0 below" in out, out[-3000:]


@case
def golden_cards_are_readable_in_both_themes():
    """Every text of every tests/golden/teams-*.json card reaches 4.5:1 in
    the light and the dark Teams theme."""
    rc, out = contrast()
    lines = out.splitlines()
    # The summary and the first findings; the rest repeat the same colours.
    shown = "\n".join(lines[-1:] + lines[:12])
    assert rc == 0, "contrast.js exit %d:\n%s" % (rc, shown)
    assert " 0 below 4.5:1" in out, shown


if __name__ == "__main__":
    run_all()
