"""Text for `imagen-tui backends`: types, instances, readiness, and each type's options."""

from __future__ import annotations

from imagen_tui.backends import (
    BackendInfo,
    ConfigError,
    Engine,
    OptionSpec,
    one_line,
    option_specs,
    registry,
)


def overview(engine: Engine) -> str:
    lines = ["Backend types:"]
    for name, cls in registry.loadable_types().items():
        if isinstance(cls, str):
            lines.append(f"  {name:<18} unavailable: {one_line(cls)}")
            continue
        caps = ", ".join(sorted(cls.capabilities))
        lines.append(f"  {name:<18} {cls.description}")
        lines.append(f"  {'':<18} can: {caps}")
        if cls.sizes:
            lines.append(f"  {'':<18} sizes: {', '.join(cls.sizes)}")
    lines += ["", "Configured instances:"]
    for info in engine.backends():
        marker = "*" if info.default else " "
        state = f"not ready: {one_line(info.readiness)}" if info.readiness else "ready"
        name, type_name = one_line(info.name, 40), one_line(info.type, 40)
        lines.append(f" {marker}{name:<18} type {type_name:<12} {state}")
    lines += ["", "* default.  Options of one type: imagen-tui backends NAME"]
    return "\n".join(lines)


def describe_options(engine: Engine, name: str) -> str:
    """Options of a type (or of an instance's type, with its configured values)."""
    infos = {info.name: info for info in engine.backends()}
    if name in infos:
        info = infos[name]
        head = one_line(f"{name} (type {info.type})", None)
        description, specs, configured = info.description, info.options, dict(info.configured)
    elif name in registry.type_names():
        cls = registry.backend_type(name)
        head, description, specs, configured = (
            f"type {name}",
            cls.description,
            option_specs(cls),
            {},
        )
    else:
        known = sorted(set(infos) | set(registry.type_names()))
        raise ConfigError(f"no backend type or instance named {name!r}; known: {', '.join(known)}")
    lines = [f"{head}: {description}", "", "Options ([backends.<name>] keys, or -o KEY=VALUE):"]
    for spec in specs:
        lines += _option_lines(spec, configured)
    return "\n".join(lines)


def _option_lines(spec: OptionSpec, configured: dict) -> list[str]:
    default = (
        "(required)"
        if spec.required
        else ("(unset)" if spec.default is None else repr(spec.default))
    )
    kind = f"one of {', '.join(spec.allowed)}" if spec.allowed else spec.kind
    lines = [f"  {spec.name} = {default}    {kind}"]
    if spec.doc:  # a docstring may run over several lines: keep each under the option
        lines += [f"      {line.strip()}" for line in spec.doc.splitlines() if line.strip()]
    if spec.name in configured:
        lines.append(f"      configured: {configured[spec.name]!r}")
    return lines


__all__ = ["BackendInfo", "describe_options", "overview"]
