"""The demo project's first test (`make demo` copies it in): what a workflow's test phase runs."""


def test_health() -> None:
    assert "ok".upper() == "OK"
