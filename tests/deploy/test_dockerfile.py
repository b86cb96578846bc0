"""deploy/Dockerfile and .dockerignore: the image installs exactly the lock with the project's uv,
runs unprivileged, listens on all interfaces, and lets the container command choose the service."""

from __future__ import annotations

import re
import shlex
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
MAKEFILE = REPO / "Makefile"
BASE_IMAGE = "python:3.11-slim"
VENV = "/app/.venv"


@dataclass
class Instruction:
    keyword: str
    args: str


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def instructions(text: str) -> list[Instruction]:
    """Logical instructions: comments dropped, `\\` continuations joined."""
    result: list[Instruction] = []
    pending = ""
    for line in text.splitlines():
        if line.strip().startswith("#"):
            continue  # comment lines, also inside a continuation
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical = (pending + line).strip()
        pending = ""
        if logical:
            keyword, _, args = logical.partition(" ")
            result.append(Instruction(keyword.upper(), " ".join(args.split())))
    assert not pending.strip(), "the Dockerfile ends inside a continuation"
    return result


def stages(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARG defaults (before the first FROM) and the stages."""
    global_args: dict[str, str] = {}
    result: list[Stage] = []
    for ins in instructions(text):
        if ins.keyword == "FROM":
            words = [w for w in ins.args.split() if not w.startswith("--")]
            name = words[2] if len(words) == 3 and words[1].lower() == "as" else None
            result.append(Stage(words[0], name))
        elif not result:
            if ins.keyword == "ARG":
                key, _, value = ins.args.partition("=")
                global_args[key] = value.strip("\"'")
        else:
            result[-1].instructions.append(ins)
    return global_args, result


def substitute(value: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), m.group(0)), value)


def arg_defaults(stage: Stage, global_args: dict[str, str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for ins in stage.all("ARG"):
        key, eq, value = ins.args.partition("=")
        values[key] = value.strip("\"'") if eq else global_args.get(key, "")
    return values


def env_of(stage: Stage) -> dict[str, str]:
    """The ENV a stage sets (both `ENV k=v k2=v2` and the legacy `ENV k v`)."""
    env: dict[str, str] = {}
    for ins in stage.all("ENV"):
        words = shlex.split(ins.args)
        if words and "=" not in words[0]:
            env[words[0]] = " ".join(words[1:])
            continue
        for word in words:
            key, _, value = word.partition("=")
            env[key] = value
    return env


def uv_syncs(stage: Stage) -> list[list[str]]:
    """The words of every `uv sync` in the stage's RUN instructions, one list per command."""
    found = []
    for ins in stage.all("RUN"):
        for command in re.split(r"&&|;|\|\|", ins.args):
            words = command.split()
            for n in range(len(words) - 1):
                if words[n].endswith("uv") and words[n + 1] == "sync":
                    found.append(words[n:])
    return found


@pytest.fixture(scope="module")
def parsed() -> tuple[dict[str, str], list[Stage]]:
    return stages(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def all_stages(parsed: tuple[dict[str, str], list[Stage]]) -> list[Stage]:
    return parsed[1]


@pytest.fixture(scope="module")
def runtime(all_stages: list[Stage]) -> Stage:
    return all_stages[-1]


@pytest.fixture(scope="module")
def builder(all_stages: list[Stage], runtime: Stage) -> Stage:
    """The stage that the runtime copies the virtualenv from."""
    sources = [
        m.group(1) for ins in runtime.all("COPY") if VENV in ins.args and (m := re.search(r"--from=(\S+)", ins.args))
    ]
    assert sources, f"the final stage does not copy {VENV} from a build stage"
    by_name = {stage.name: stage for stage in all_stages if stage.name}
    assert sources[0] in by_name, f"COPY --from={sources[0]} names no stage"
    return by_name[sources[0]]


def test_multi_stage_on_python_311_slim(all_stages: list[Stage], parsed: tuple[dict[str, str], list[Stage]]) -> None:
    global_args = parsed[0]
    assert len(all_stages) >= 2, "one build stage and one runtime stage"
    names = {stage.name for stage in all_stages if stage.name}
    for stage in all_stages:
        base = substitute(stage.base, global_args)
        assert base == BASE_IMAGE or base in names, f"stage {stage.name or '?'} is based on {base}"
    assert substitute(all_stages[-1].base, global_args) == BASE_IMAGE


def test_uv_version_matches_the_makefile(builder: Stage, parsed: tuple[dict[str, str], list[Stage]]) -> None:
    m = re.search(r"^UV_VERSION\s*:?=\s*(\S+)\s*$", MAKEFILE.read_text(encoding="utf-8"), re.MULTILINE)
    assert m, "the Makefile sets no UV_VERSION"
    args = arg_defaults(builder, parsed[0])
    installs = [
        substitute(ins.args, args)
        for ins in builder.all("RUN")
        if "pip install" in ins.args and re.search(r"\buv\b", ins.args)
    ]
    assert installs, "uv is not installed with pip in the build stage"
    pins = [p for ins in installs for p in re.findall(r"[\"']?\buv==([^\s\"']+)", ins)]
    assert pins == [m.group(1)], f"uv pinned to {pins}, the Makefile's UV_VERSION is {m.group(1)}"


def test_dependencies_come_from_the_lock_alone(builder: Stage) -> None:
    syncs = uv_syncs(builder)
    assert syncs, "no uv sync in the build stage"
    for words in syncs:
        assert "--frozen" in words, f"{' '.join(words)}: must install uv.lock as it is (--frozen)"
        assert "--no-dev" in words, f"{' '.join(words)}: dev tools do not belong in the image"
        assert "--all-packages" in words, f"{' '.join(words)}: every workspace member must be installed"
    # the runtime stage has no sources: the members must be real installs, not links to /src
    assert "--no-editable" in syncs[-1], "the last uv sync must use --no-editable"
    assert not any(re.search(r"\buv (lock|add|pip install)\b", ins.args) for ins in builder.all("RUN"))


def test_the_virtualenv_is_built_where_the_runtime_keeps_it(builder: Stage, runtime: Stage) -> None:
    # its scripts' shebangs name the interpreter by absolute path
    assert env_of(builder).get("UV_PROJECT_ENVIRONMENT") == VENV
    assert any(ins.args.split()[-1] == VENV for ins in runtime.all("COPY") if "--from=" in ins.args)


def test_the_lock_and_every_member_are_copied_before_the_first_sync(builder: Stage) -> None:
    with (REPO / "pyproject.toml").open("rb") as f:
        patterns = tomllib.load(f)["tool"]["uv"]["workspace"]["members"]
    members = sorted(
        str(path.parent.relative_to(REPO)) for pattern in patterns for path in REPO.glob(f"{pattern}/pyproject.toml")
    )
    assert members, "no workspace member found"
    copied: list[str] = []
    for ins in builder.instructions:
        if ins.keyword == "RUN" and re.search(r"\buv sync\b", ins.args):
            break
        if ins.keyword in ("COPY", "ADD"):
            copied.extend(word.rstrip("/") for word in ins.args.split()[:-1] if not word.startswith("--"))
    if "." in copied:  # the whole context
        return
    assert "uv.lock" in copied and "pyproject.toml" in copied
    for member in members:
        assert f"{member}/pyproject.toml" in copied or member in copied, f"{member}/pyproject.toml is not copied"


def test_runs_as_a_non_root_user(runtime: Stage) -> None:
    users = runtime.all("USER")
    assert users, "the image runs as root"
    user = users[-1].args.split(":")[0]
    assert user not in ("root", "0"), f"USER {users[-1].args}"
    if not user.isdigit():  # a named user must exist in the runtime stage
        creates = " ".join(ins.args for ins in runtime.all("RUN"))
        assert re.search(rf"\b(useradd|adduser)\b[^&;]*\b{re.escape(user)}\b", creates), f"user {user} is never created"


def test_environment_puts_the_venv_first_and_binds_all_interfaces(runtime: Stage) -> None:
    env = env_of(runtime)
    assert env.get("HOST") == "0.0.0.0"
    assert env.get("PATH", "").split(":")[0] == f"{VENV}/bin"


def test_the_container_command_chooses_the_service(runtime: Stage) -> None:
    # an ENTRYPOINT would turn compose's `command: ["order-svc"]` into its arguments
    assert not runtime.all("ENTRYPOINT")


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip().lstrip("/") for line in lines if line.strip() and not line.strip().startswith("#")]


def pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as Docker reads it: `*` and `?` stay within one path element, `**` spans any."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[" and "]" in pattern[i + 1 :]:
            end = pattern.index("]", i + 1)
            body = pattern[i + 1 : end]
            out, i = out + "[" + ("^" + body[1:] if body.startswith(("!", "^")) else re.escape(body)) + "]", end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def ignored(path: str, patterns: list[str]) -> bool:
    """The last matching pattern wins; a pattern matching a directory covers everything under it."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        regex = pattern_regex(pattern.removeprefix("!").rstrip("/"))
        if any(regex.fullmatch(prefix) for prefix in prefixes):
            result = not negate
    return result


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".run/logs/x.log",
        ".env",
        "deploy/.env",
        ".git/HEAD",
        "shared/src/x/__pycache__/a.cpython-311.pyc",
        "services/order-svc/src/order_svc/stale.pyc",
    ],
)
def test_dockerignore_keeps_local_state_and_secrets_out(path: str) -> None:
    assert ignored(path, dockerignore_patterns()), f"{path} would be sent to the build"


@pytest.mark.parametrize(
    "path",
    [
        "pyproject.toml",
        "uv.lock",
        "deploy/Dockerfile",
        "shared/pyproject.toml",
        "shared/src/payments_common/config.py",
        "services/order-svc/src/order_svc/migrations/0001_orders.sql",
        "services/mock-gateway/src/mock_gateway/migrations/0001_gateway.sql",
        "tools/src/payments_tools/migrate_cli.py",
    ],
)
def test_dockerignore_keeps_what_the_build_needs(path: str) -> None:
    assert not ignored(path, dockerignore_patterns()), f"{path} is needed by the build"
