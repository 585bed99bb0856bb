"""A plugin's Options class, written the ways a plugin author will write it: with or without a
decorator of their own, factories, required fields, `__post_init__` checks. Each validates like
a built-in one, and each mistake is one line at load time, never a traceback or a lost bound."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from imagen_tui.backends import load_config, registry
from imagen_tui.backends.base import Backend, BackendOptions
from imagen_tui.backends.errors import ConfigError, RequestError
from imagen_tui.backends.option_fields import default_problem
from imagen_tui.backends.options import merge, option_specs
from imagen_tui.backends.schema import bounds, field_error, validate

PLUGIN = "test-plugin"


def backend_with(options: type[BackendOptions]) -> type[Backend]:
    class Plugin(Backend):
        type_name: ClassVar[str] = PLUGIN
        Options: ClassVar[type[BackendOptions]] = options

        async def generate(self, request: Any, ctx: Any) -> Any:
            raise NotImplementedError

    return Plugin


@pytest.fixture
def plugin() -> Iterator[Any]:
    def install(options: type[BackendOptions]) -> type[Backend]:
        cls = backend_with(options)
        registry.register(PLUGIN, cls)
        return cls

    yield install
    registry.unregister(PLUGIN)


def load_problems(tmp_path: Path, table: str) -> list[str]:
    path = tmp_path / "config.toml"
    path.write_text(f'[backends.p]\ntype = "{PLUGIN}"\n{table}')
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    return [line.replace(str(path), "FILE") for line in info.value.problems]


def test_a_decorated_subclass_keeps_its_bounds_and_factories() -> None:
    @dataclass
    class Decorated(BackendOptions):
        steps: int = field(default=4, metadata=bounds(ge=1, le=50))
        tags: list[str] = field(default_factory=list)

    assert Decorated().tags == [] and Decorated().tags is not Decorated().tags
    assert [f.kw_only for f in dataclasses.fields(Decorated)] == [True] * 5
    assert validate(Decorated, {"tags": ["a"]}).tags == ["a"]
    with pytest.raises(ValueError, match="less than or equal to 50"):
        validate(Decorated, {"steps": 51})


def test_a_slots_subclass_keeps_its_defaults() -> None:
    @dataclass(slots=True)
    class Slotted(BackendOptions):
        steps: int = field(default=4, metadata=bounds(ge=1))

    assert validate(Slotted, {}).steps == 4
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        validate(Slotted, {"steps": 0})


def test_redeclaring_an_inherited_option_keeps_its_bounds(tmp_path: Path, plugin: Any) -> None:
    class Narrow(BackendOptions):
        max_concurrent: int = 1
        timeout_s: float = field(default=60.0, metadata={"doc": "mine"})

    plugin(Narrow)
    assert Narrow().max_concurrent == 1
    assert load_problems(tmp_path, "max_concurrent = 0\ntimeout_s = 0\n") == [
        "FILE:3: backends.p.max_concurrent: Input should be greater than or equal to 1",
        "FILE:4: backends.p.timeout_s: Input should be greater than 0",
    ]


def test_bounds_of_its_own_win_over_the_inherited_ones() -> None:
    class Wider(BackendOptions):
        max_concurrent: int = field(default=100, metadata=bounds(ge=1, le=500))

    assert validate(Wider, {"max_concurrent": 400}).max_concurrent == 400


def test_super_post_init_can_be_called() -> None:
    class Checked(BackendOptions):
        steps: int = 4

        def __post_init__(self) -> None:
            super().__post_init__()
            if self.steps == 13:
                raise field_error("steps", "13 is unlucky; pick another")

    assert Checked().steps == 4
    with pytest.raises(ValueError, match="13 is unlucky"):
        validate(Checked, {"steps": 13})


def test_post_init_field_errors_name_the_option(tmp_path: Path, plugin: Any) -> None:
    class Checked(BackendOptions):
        steps: int = 4

        def __post_init__(self) -> None:
            if self.steps == 13:
                raise field_error("steps", "13 is unlucky; pick another")

    plugin(Checked)
    assert load_problems(tmp_path, "steps = 13\n") == [
        "FILE:3: backends.p.steps: 13 is unlucky; pick another"
    ]


def test_a_post_init_raising_anything_else_is_one_line(tmp_path: Path, plugin: Any) -> None:
    class Buggy(BackendOptions):
        steps: int = 4

        def __post_init__(self) -> None:
            if self.steps > 5:
                raise TypeError("steps\nbroke")

    cls = plugin(Buggy)
    (line,) = load_problems(tmp_path, "steps = 6\n")
    assert line == (
        f"FILE:1: backends.p: backend type {PLUGIN!r} failed to check its options "
        "(TypeError: steps broke); report it to the type's author"
    )
    with pytest.raises(RequestError) as info:
        merge(cls, Buggy(), {"steps": "9"})
    assert [name for name, _ in info.value.fields] == ["options"]


def test_required_options_are_listed_and_asked_for(tmp_path: Path, plugin: Any) -> None:
    class Needs(BackendOptions):
        endpoint: str
        """Where the service is."""

    cls = plugin(Needs)
    spec = option_specs(cls)[-1]
    assert (spec.name, spec.required, spec.default, spec.kind) == ("endpoint", True, None, "str")
    assert load_problems(tmp_path, "") == ["FILE:1: backends.p.endpoint: Field required"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("steps: int = field(default=0, metadata=bounds(ge=1))", "Bad.steps: default 0 is outside"),
        ("type: str = 'x'", "Bad.type: 'type' names the backend type"),
        ("steps: int = Field(default=3, ge=1)", "Bad.steps: pydantic.Field is not supported"),
    ],
)
def test_option_classes_that_would_misbehave_are_refused_when_defined(
    body: str, message: str
) -> None:
    from pydantic import Field

    names = {"BackendOptions": BackendOptions, "field": field, "bounds": bounds, "Field": Field}
    with pytest.raises(TypeError, match=message):
        exec(f"class Bad(BackendOptions):\n    {body}\n", names)


def test_every_builtin_default_is_within_its_bounds() -> None:
    for name in registry.type_names():
        for f in dataclasses.fields(registry.backend_type(name).Options):
            assert default_problem(f) is None, (name, f.name)
    assert default_problem(field(default=0, metadata=bounds(ge=1))) is not None


def test_list_options_show_as_lists_with_their_length_bounds() -> None:
    class Listed(BackendOptions):
        members: list[str] = field(default_factory=lambda: ["a"], metadata=bounds(min_length=1))
        quality: str | None = None

    cls = backend_with(Listed)
    kinds = {spec.name: spec.kind for spec in option_specs(cls)}
    assert kinds["members"] == "list of str (min_length 1)"
    assert kinds["quality"] == "str"


def test_o_overrides_go_through_the_types_own_parse_options() -> None:
    class Paired(BackendOptions):
        low: int = 1
        high: int = 2

    class PairedBackend(backend_with(Paired)):  # type: ignore[misc]
        @classmethod
        def parse_options(cls, raw: Any) -> BackendOptions:
            options = validate(Paired, dict(raw))
            if options.low > options.high:
                raise ConfigError("low must not exceed high")
            return options

    with pytest.raises(RequestError) as info:
        merge(PairedBackend, Paired(), {"low": "5"})
    assert info.value.fields == [("options", "low must not exceed high")]
    assert merge(PairedBackend, Paired(), {"high": "9"}).high == 9


def test_redeclaring_without_a_default_keeps_the_parents_default_and_its_own_type() -> None:
    class Parent(BackendOptions):
        tags: list[str] = field(default_factory=list)

    class Child(Parent):
        tags: list[int]  # type: ignore[assignment]

    assert Child().tags == [] and validate(Child, {"tags": ["3"]}).tags == [3]
    assert validate(Parent, {"tags": ["3"]}).tags == ["3"]  # the parent's field is its own
