"""Python: pip, uv or poetry; FastAPI, Django or Flask."""

from __future__ import annotations

from .model import NO_FRAMEWORK, FrameworkSpec, LanguageSpec, PackageManagerSpec

PYTHON = LanguageSpec(
    name="python",
    display_name="Python",
    ecosystem="python",
    detection_rank=4,
    markers=(
        "pyproject.toml",
        "setup.cfg",
        "setup.py",
        "Pipfile",
        "requirements*.txt",
        "requirements/*.txt",
    ),
    package_managers=(
        PackageManagerSpec(
            "pip",
            executable="pip",
            fields={"run": "", "build": "python -m build"},
        ),
        PackageManagerSpec(
            "uv",
            executable="uv",
            lock_files=("uv.lock",),
            fields={"run": "uv run ", "build": "uv build"},
            commands={"install": "uv sync"},
            add_dependency="uv add",
        ),
        PackageManagerSpec(
            "poetry",
            executable="poetry",
            lock_files=("poetry.lock",),
            fields={"run": "poetry run ", "build": "poetry build"},
            commands={"install": "poetry install"},
            add_dependency="poetry add",
        ),
    ),
    frameworks=(
        NO_FRAMEWORK,
        FrameworkSpec(
            "fastapi",
            "FastAPI",
            notes="- FastAPI: endpoints live in routers, request and response bodies are Pydantic"
            " models; test\n  endpoints with `fastapi.testclient.TestClient`.",
        ),
        FrameworkSpec(
            "django",
            "Django",
            notes="- Django: code is split into apps (models, views, urls); schema changes need a"
            " migration\n  (`python manage.py makemigrations`).",
        ),
        FrameworkSpec(
            "flask",
            "Flask",
            notes="- Flask: look for the app factory and blueprints; test views with"
            " `app.test_client()`.",
        ),
    ),
    # First match wins (a project depending on two of them is recorded as the first).
    framework_markers=(("django", "django"), ("fastapi", "fastapi"), ("flask", "flask")),
    commands={
        "install": "python -m pip install -e .",
        "start": "{run}python -m app",
        "test": "{run}python -m pytest",
        "lint": "{run}ruff check .",
        # Not the layer (it needs pydantic and pyyaml) nor the runs' worktrees (copies of the
        # project): mypy reads no config beside them, so the command says so
        # (without quotes or parentheses, so it stays one permission rule).
        "typecheck": "{run}mypy . --exclude ^adws/ --exclude ^trees/",
        "format": "{run}ruff format .",
    },
    source_ext="py",
    test_location="`tests/test_<module>.py`",
    doc_comments="docstrings",
    notes_template="stacks/_python.md.j2",
)
