"""Error signatures (``ylai_plugin.monitoring.errors``): what the normaliser strips and how failures group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ylai_plugin.monitoring.errors import SIGNATURE_MAX, Failure, signature, trends


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("KeyError: 'user-8812'", "KeyError: '<str>'"),
        ('ValueError: invalid literal for int(): "12a"', 'ValueError: invalid literal for int(): "<str>"'),
        ("ValueError: bad row 42 in job_1234, 3.5% done", "ValueError: bad row <n> in job_<n>, <n>% done"),
        (
            "FileNotFoundError: [Errno 2] No such file or directory: /data/in/2026-12-04/part-0001.csv",
            "FileNotFoundError: [Errno <n>] No such file or directory: <path>",
        ),
        ("see ./logs/x.log and ~/cfg, or C:\\Users\\me\\x.txt", "see <path> and <path>, or <path>"),
        ("run 3f2a9c1e-1b2c-4d5e-8f90-1234567890ab failed", "run <uuid> failed"),
        ("object at 0x7f3a2b1c, commit 9fceb02d0ae598e95dc970b74767f19372d61af8", "object at <hex>, commit <hex>"),
        ("GET http://127.0.0.1:8080/api?id=5 failed", "GET <url> failed"),
        ("at 2026-12-04T20:01:02.5+00:00 and 20:01:02", "at <time> and <time>"),
        ("utf8 codec, a deadbeef word, a3 cell", "utf8 codec, a deadbeef word, a3 cell"),
        ("  spaces \t collapse  ", "spaces collapse"),
        ("token ***", "token ***"),
    ],
)
def test_what_varies_becomes_a_placeholder(line: str, expected: str) -> None:
    assert signature(line) == expected


def test_two_lines_differing_only_by_ids_have_one_signature() -> None:
    a = "TimeoutError: job 1b4e28ba-2fa1-11d2-883f-0016d3cca427 on host 10.0.0.7 after 30.5s (/tmp/ylai-ab12/x.py)"
    b = "TimeoutError: job 6fa459ea-ee8a-3ca4-894e-db77e160355e on host 10.0.0.12 after 2s (/tmp/ylai-script-zz9/x.py)"
    assert signature(a) == signature(b) == "TimeoutError: job <uuid> on host <n> after <n>s (<path>)"
    assert signature("TimeoutError: job x") != signature("KeyError: job x")
    assert len(signature("E" * 2000)) == SIGNATURE_MAX


def test_trends_count_in_the_window_and_look_for_first_seen_in_the_history() -> None:
    now = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
    since = now - timedelta(hours=24)

    def failure(dag_id: str, hours_ago: float, line: str, run: str) -> Failure:
        return Failure(dag_id, run, "t", 1, now - timedelta(hours=hours_ago), line)

    failures = [
        failure("script__a", 0.5, "KeyError: 'x1'", "r1"),
        failure("script__a", 3.2, "KeyError: 'x2'", "r2"),
        failure("script__a", 40, "KeyError: 'x0'", "r0"),  # history only
        failure("pipeline__p", 3.5, "OSError: disk full", "r3"),
        failure("script__b", 48, "Gone: 1", "r4"),  # history only: not listed
    ]
    deploys = {"script__a": now - timedelta(hours=10), "pipeline__p": now - timedelta(hours=10)}
    found = trends(failures, since, deploys)
    assert found["total"] == 3
    assert [(d["dag_id"], d["kind"], d["name"], d["failed"]) for d in found["dags"]] == [
        ("script__a", "script", "a", 2),
        ("pipeline__p", "pipeline", "p", 1),
    ]
    assert [(h["name"], h["hour"], h["failed"]) for h in found["per_hour"]] == [
        ("p", datetime(2026, 12, 4, 8, tzinfo=UTC), 1),
        ("a", datetime(2026, 12, 4, 8, tzinfo=UTC), 1),
        ("a", datetime(2026, 12, 4, 11, tzinfo=UTC), 1),
    ]
    key_error, disk = found["signatures"]
    assert (key_error["signature"], key_error["count"], key_error["new"]) == ("KeyError: '<str>'", 2, False)
    assert key_error["first_seen"] == now - timedelta(hours=40)
    assert key_error["latest"]["run_id"] == "r1"
    assert (disk["signature"], disk["new"], disk["first_seen"]) == (
        "OSError: disk full",
        True,
        now - timedelta(hours=3.5),
    )
    assert found["signature_count"] == 2
    assert trends(failures, since, {}, top=1)["signatures"][0]["new"] is False  # no deploy known: never new
