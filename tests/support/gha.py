"""Run the steps of a GitHub Actions job here, as the runner would, to know they work as written.

A job's ``run:`` steps are executed verbatim with bash (``bash --noprofile --norc -eo
pipefail``, GitHub's default on Linux), in order, with the job's and step's ``env``, the
``${{ }}`` expressions evaluated from the contexts a test supplies, and ``GITHUB_OUTPUT``,
``GITHUB_ENV``, ``GITHUB_PATH`` and ``GITHUB_STEP_SUMMARY`` files as on GitHub. Step
``if:`` conditions are evaluated, so the job takes the same branch it would on GitHub.

``uses:`` steps run third-party code that cannot run here; the test supplies a stand-in for
each action (keyed by ``owner/repo``), and an action without one fails the run, so that a
new action in a workflow cannot go unnoticed.

The expression language covered is what these workflows use: context paths
(``github.event.pull_request.number``), string/number/boolean/null literals, ``==``, ``!=``,
``!``, ``&&``, ``||`` and parentheses. Anything else raises ``ExpressionError``.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ExpressionError(ValueError):
    """An expression this runner does not understand."""


_TOKEN = re.compile(
    r"\s*(?:(?P<op>==|!=|&&|\|\||!|\(|\))|'(?P<str>(?:[^']|'')*)'"
    r"|(?P<num>-?\d+(?:\.\d+)?)|(?P<name>[A-Za-z_][\w.\-]*))"
)


def _tokens(text: str) -> list[tuple[str, Any]]:
    tokens, pos = [], 0
    text = text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise ExpressionError(f"cannot parse {text!r} at {text[pos:]!r}")
        pos = match.end()
        if match["op"]:
            tokens.append(("op", match["op"]))
        elif match["str"] is not None:
            tokens.append(("value", match["str"].replace("''", "'")))
        elif match["num"]:
            tokens.append(("value", float(match["num"])))
        else:
            tokens.append(("name", match["name"]))
    return tokens


def truthy(value: Any) -> bool:
    return value not in (None, False, "", 0)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def evaluate(expression: str, contexts: dict[str, Any]) -> Any:
    """The value of a GitHub Actions expression (without ``${{ }}``)."""
    tokens = _tokens(expression)
    pos = 0

    def peek() -> tuple[str, Any] | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> tuple[str, Any]:
        nonlocal pos
        pos += 1
        return tokens[pos - 1]

    def lookup(path: str) -> Any:
        if path in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[path]
        value: Any = contexts
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    def primary() -> Any:
        kind, value = take()
        if kind == "op" and value == "!":
            return not truthy(primary())
        if kind == "op" and value == "(":
            result = either()
            if take() != ("op", ")"):
                raise ExpressionError(f"missing ) in {expression!r}")
            return result
        if kind == "value":
            return value
        if kind == "name":
            if peek() == ("op", "("):
                raise ExpressionError(f"functions are not supported: {value} in {expression!r}")
            return lookup(value)
        raise ExpressionError(f"unexpected {value!r} in {expression!r}")

    def comparison() -> Any:
        left = primary()
        if peek() in (("op", "=="), ("op", "!=")):
            op = take()[1]
            right = primary()
            same = _equal(left, right)
            return same if op == "==" else not same
        return left

    def both() -> Any:
        left = comparison()
        while peek() == ("op", "&&"):
            take()
            right = comparison()
            left = right if truthy(left) else left
        return left

    def either() -> Any:
        left = both()
        while peek() == ("op", "||"):
            take()
            right = both()
            left = left if truthy(left) else right
        return left

    result = either()
    if pos != len(tokens):
        raise ExpressionError(f"trailing tokens in {expression!r}")
    return result


def _equal(left: Any, right: Any) -> bool:
    # GitHub compares strings case-insensitively and otherwise coerces both sides to numbers:
    # null and '' are 0, true is 1, a string that is not a number is NaN (equal to nothing).
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    return _number(left) == _number(right)


def _number(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, bool | int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip()) if value.strip() else 0.0
        except ValueError:
            return math.nan
    return math.nan


_INTERPOLATION = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def interpolate(text: Any, contexts: dict[str, Any]) -> Any:
    """``text`` with every ``${{ expr }}`` replaced by its value, as GitHub does."""
    if not isinstance(text, str):
        return text
    return _INTERPOLATION.sub(lambda m: _as_text(evaluate(m.group(1), contexts)), text)


def condition(text: Any, contexts: dict[str, Any]) -> bool:
    """An ``if:`` value: an expression with or without ``${{ }}``."""
    if text is None:
        return True
    if isinstance(text, bool):
        return text
    text = str(text).strip()
    match = re.fullmatch(r"\$\{\{(.*)\}\}", text, re.S)
    return truthy(evaluate(match.group(1) if match else text, contexts))


def load_workflow(path: Path) -> dict[str, Any]:
    """A workflow file; YAML 1.1 reads the key ``on`` as ``True``, which is put back."""
    doc = yaml.safe_load(path.read_text())
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


@dataclass
class StepRecord:
    name: str
    skipped: bool
    output: str = ""


@dataclass
class Job:
    """One job of a workflow, run in ``workspace`` with ``contexts`` (``github``, ``vars``...).

    ``actions`` maps ``owner/repo`` to a stand-in ``(job, with_inputs) -> None``; a stand-in
    may call ``job.set_env`` or ``job.add_path`` as the real action would."""

    workflow: Path
    job_id: str
    workspace: Path
    contexts: dict[str, Any]
    actions: dict[str, Callable[[Job, dict[str, Any]], None]]
    base_env: dict[str, str]
    replace_run: dict[str, Callable[[Job], None]] = field(default_factory=dict)
    records: list[StepRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.doc = load_workflow(self.workflow)
        self.job = self.doc["jobs"][self.job_id]
        self.runner_dir = self.workspace.parent / f"runner-{self.job_id}"
        self.runner_dir.mkdir(parents=True, exist_ok=True)
        self.extra_env: dict[str, str] = {}
        self.extra_path: list[str] = []
        self.summary = self.runner_dir / "step_summary.md"
        self.summary.touch()
        self.contexts.setdefault("steps", {})
        self.contexts.setdefault("env", {})

    def set_env(self, name: str, value: str) -> None:
        self.extra_env[name] = value

    def add_path(self, directory: str | Path) -> None:
        self.extra_path.insert(0, str(directory))

    def step_env(self, step: dict[str, Any]) -> dict[str, str]:
        env = dict(self.base_env)
        for scope in (self.doc.get("env") or {}, self.job.get("env") or {}):
            for key, value in scope.items():
                env[key] = _as_text(interpolate(value, self.contexts))
                self.contexts["env"][key] = env[key]
        env.update(self.extra_env)
        for key, value in (step.get("env") or {}).items():
            env[key] = _as_text(interpolate(value, self.contexts))
        env["PATH"] = os.pathsep.join([*self.extra_path, env.get("PATH", "")])
        env.update(
            {
                "CI": "true",
                "GITHUB_ACTIONS": "true",
                "GITHUB_WORKSPACE": str(self.workspace),
                "RUNNER_TEMP": str(self.runner_dir),
                "GITHUB_STEP_SUMMARY": str(self.summary),
            }
        )
        return env

    @property
    def runs(self) -> bool:
        return condition(self.job.get("if"), self.contexts)

    def run(self) -> list[StepRecord]:
        """Run every step in order; a failing step raises ``AssertionError`` with its output."""
        for index, step in enumerate(self.job["steps"]):
            name = step.get("name") or step.get("uses") or step["run"].splitlines()[0]
            step_id = step.get("id", f"__{index}")
            if not condition(step.get("if"), self.contexts):
                self.records.append(StepRecord(name, skipped=True))
                self.contexts["steps"][step_id] = {"outputs": {}, "outcome": "skipped"}
                continue
            outputs: dict[str, str] = {}
            if "uses" in step:
                action = step["uses"].split("@")[0]
                if action not in self.actions:
                    raise AssertionError(
                        f"step {name!r} uses {action}, which this test has no stand-in for: add one"
                    )
                inputs = {
                    k: interpolate(v, self.contexts) for k, v in (step.get("with") or {}).items()
                }
                self.actions[action](self, inputs)
                self.records.append(StepRecord(name, skipped=False))
            elif step["run"].strip() in self.replace_run:
                self.replace_run[step["run"].strip()](self)
                self.records.append(StepRecord(name, skipped=False, output="(replaced)"))
            else:
                if "${{" in step["run"]:
                    raise AssertionError(
                        f"step {name!r} puts an expression into its script: "
                        f"pass it through env instead"
                    )
                output_file = self.runner_dir / f"output-{index}"
                env_file = self.runner_dir / f"env-{index}"
                path_file = self.runner_dir / f"path-{index}"
                for file in (output_file, env_file, path_file):
                    file.write_text("")
                env = self.step_env(step)
                env.update(
                    {
                        "GITHUB_OUTPUT": str(output_file),
                        "GITHUB_ENV": str(env_file),
                        "GITHUB_PATH": str(path_file),
                    }
                )
                script = self.runner_dir / f"step-{index}.sh"
                script.write_text(step["run"])
                cwd = self.workspace / step.get("working-directory", ".")
                result = subprocess.run(
                    ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
                    cwd=cwd,
                    env=env,
                    capture_output=True,
                    text=True,
                )
                text = result.stdout + result.stderr
                if result.returncode != 0:
                    raise AssertionError(f"step {name!r} exited {result.returncode}:\n{text}")
                outputs = _parse_commands_file(output_file)
                self.extra_env.update(_parse_commands_file(env_file))
                for line in path_file.read_text().splitlines():
                    if line.strip():
                        self.add_path(line.strip())
                self.records.append(StepRecord(name, skipped=False, output=text))
            self.contexts["steps"][step_id] = {"outputs": outputs, "outcome": "success"}
        return self.records

    def record(self, name: str) -> StepRecord:
        return next(r for r in self.records if r.name == name)


def _parse_commands_file(path: Path) -> dict[str, str]:
    """``name=value`` lines and ``name<<DELIM`` ... ``DELIM`` blocks, as GitHub reads them."""
    values: dict[str, str] = {}
    lines = iter(path.read_text().splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            values[name] = "\n".join(body)
        elif "=" in line:
            name, value = line.split("=", 1)
            values[name] = value
    return values
