"""Plan output: terraform-style text and a JSON document. No password can appear: the
spec holds no credentials, and every string passes errors.redact() at the CLI edge."""
from __future__ import annotations

from ..config.units import format_size
from .desired import SPEC_DEFAULTS
from .display import show, show_actual
from .plan import (Converge, ConvergeWhenReady, Create, CreateSpare, Plan, Promote, Pull, Remove,
                   Replace, Start)


def _ports(spec: dict) -> str:
    ip = spec.get("host_ip", SPEC_DEFAULTS["host_ip"])
    parts = [f"{ip}:{spec.get('superserver', 'auto')}->1972"]
    web = spec.get("web", "auto")
    if web is not False:
        parts.append(f"{ip}:{web}->52773")
    return ", ".join(parts)


def _ns_with_init(want, inits) -> str:
    """``APP (init: 3 entries), OTHER``: the declared namespaces, each with the init phase
    two applies to it (InitPreview), if any."""
    by = {p.namespace: p for p in inits}
    pools = {s.template: s for s in getattr(want, "pools", ())}
    out = []
    for name in want.namespaces:
        p, s = by.get(name), pools.get(name)
        said = []
        if p is not None:
            n = f"{p.entries} {'entry' if p.entries == 1 else 'entries'}"
            said.append(f"init: {n}{'' if p.certain else ', unless already applied'}")
        if s is not None:
            said.append(f"pool: {s.min} cop{'y' if s.min == 1 else 'ies'}"
                        + (f", up to {s.max}" if s.max != s.min else ""))
        out.append(f"{name} ({'; '.join(said)})" if said else name)
    return ", ".join(out) or "none besides USER"


def plan_text(plan: Plan) -> str:
    lines: list[str] = []
    for step in plan.steps:
        if isinstance(step, Pull) and step.newer is not None:
            lines += [f"  # image {step.image}: the registry has a newer image behind the tag, "
                      "which will be pulled",
                      f"  + image {step.image} (newer behind the tag: {step.newer[:19]})", ""]
        elif isinstance(step, Pull):
            lines += [f"  # image {step.image} is not present and will be pulled",
                      f"  + image {step.image}", ""]
        elif isinstance(step, Create):
            d = step.desired
            full = d.full_spec()
            lines += [f"  # instance {d.instance} will be created",
                      f"  + container {d.name}",
                      f"      image:   {d.image}",
                      f"      ports:   {_ports(full)}",
                      f"      memory:  {format_size(full['memory'])}"
                      + (f", cpus {full['cpus']}" if full["cpus"] else ""),
                      f"      storage: {full['storage']}", ""]
        elif isinstance(step, Start):
            lines += [f"  # instance {step.desired.instance} is {step.container.state} and will be started",
                      f"  ~ container {step.container.name} ({step.container.short_id})", ""]
        elif isinstance(step, Replace):
            d = step.desired
            lines += [f"  # instance {d.instance} must be replaced",
                      f"-/+ container {d.name} ({step.container.short_id})"]
            for key, old, new in step.changes:
                lines.append(f"      ~ {key}: {show(old, key)} -> {show(new, key)}   # forces replacement")
            for key, old, new in step.actual:
                lines.append(f"      ~ {key} (container): {show_actual(old, key)} -> "
                             f"{show_actual(new, key)}   # forces replacement")
            for reason in step.reasons:
                lines.append(f"      # {reason}")
            lines.append("")
        elif isinstance(step, Promote):
            d, s = step.desired, step.spare
            old = f" ({step.old.short_id} removed)" if step.old is not None else ""
            lines += [f"  # instance {d.instance}: a ready spare is swapped in",
                      f"-/+ container {d.name}{old} <- spare {s.name} ({s.short_id})",
                      f"      # {step.cause}", ""]
        elif isinstance(step, CreateSpare):
            lines += [f"  # instance {step.desired.instance}: {step.cause}",
                      f"  + spare {step.name}", ""]
        elif isinstance(step, Remove) and step.spare:
            c = step.container
            lines += [f"  # {step.reason}", f"  - spare {c.name} ({c.short_id})", ""]
        elif isinstance(step, Remove):
            c = step.container
            lines += [f"  # {step.reason}", f"  - container {c.name} ({c.short_id})", ""]
        elif isinstance(step, ConvergeWhenReady):
            d, want = step.desired, step.iris
            ns = _ns_with_init(want, step.inits)
            lines += [f"  # instance {d.instance}: IRIS-level state converged once IRIS is ready",
                      f"  ~ iris {d.name}",
                      f"      namespaces: {ns}; %Service_CallIn: "
                      f"{'enabled' if want.callin else 'disabled'}; user {want.username} "
                      "verified"]
            if getattr(want, "monitoring", None) is not None:
                m = want.monitoring
                lines.append("      monitoring: " + (m.summary() if m.enabled else
                             "off (IRISENV_MONITORING=off)" if m.off_by_env else "off"))
            lines += [f"      {a.symbol} {a.describe()}" for a in step.destroys]
            lines.append("")
        elif isinstance(step, Converge):
            d = step.desired
            lines += [f"  # instance {d.instance} will be updated in place",
                      f"  ~ iris {d.name}"]
            lines += [f"      {a.symbol} {a.describe()}" for a in step.actions]
            lines.append("")
    out = []
    for p in plan.problems:
        out += [f"  ! instance {p.instance}: {p.what}", f"      why: {p.why}", f"      fix: {p.fix}", ""]
    if lines or out:
        body = [f"irisenv will perform these actions for project {plan.project}:", "", *lines, *out]
    elif plan.notes:  # nothing to do, but something differs and is kept: say so
        body = [f"No changes. Project {plan.project} differs from the config only in what "
                "the notes below keep as it is."]
    else:
        body = [f"No changes. Project {plan.project} matches the config."]
    for note in plan.notes:
        body.append(f"note: {note}")
    c = plan.counts()
    if plan.has_changes:
        body.append("Plan: " + (f"{c['pull']} to pull, " if c["pull"] else "")
                    + f"{c['add']} to add, {c['start']} to start, {c['replace']} to replace, "
                    + (f"{c['promote']} to swap in from a spare, " if c["promote"] else "")
                    + (f"{c['update']} to update in place, " if c["update"] else "")
                    + (f"{c['destroy']} to destroy, " if c["destroy"] else "")
                    + f"{c['remove']} to remove"
                    + (f", {c['spare']} spare(s) to boot." if c["spare"] else "."))
    if plan.problems:
        body.append(f"Blocked: {len(plan.problems)} problem(s) must be fixed first.")
    return "\n".join(body).rstrip() + "\n"


def plan_json(plan: Plan) -> dict:
    steps = []
    for s in plan.steps:
        item = {"action": s.kind, "cause": s.cause}
        if isinstance(s, Pull):
            item["image"] = s.image
            item["newer_digest"] = s.newer
        if hasattr(s, "desired"):
            item.update(instance=s.desired.instance, name=s.desired.name, hash=s.desired.hash)
        if getattr(s, "container", None) is not None:
            item.update(container_id=s.container.id, name=s.container.name,
                        instance=s.container.instance, state=s.container.state)
        if isinstance(s, Replace):
            item["changes"] = ([{"field": k, "old": o, "new": n, "source": "label"}
                                for k, o, n in s.changes]
                               + [{"field": k, "old": o, "new": n, "source": "container"}
                                  for k, o, n in s.actual])
            item["reasons"] = list(s.reasons)
        if isinstance(s, Remove):
            item["reason"] = s.reason
            if s.spare:
                item["spare"] = True
        if isinstance(s, Promote):
            item.update(spare_id=s.spare.id, spare_name=s.spare.name)
        if isinstance(s, CreateSpare):
            item["spare_name"] = s.name
        if isinstance(s, (Converge, ConvergeWhenReady)):
            item["after_ready"] = isinstance(s, ConvergeWhenReady)
            item["iris_changes"] = [{"op": a.symbol, "change": a.describe()}
                                    for a in (s.destroys if item["after_ready"] else s.actions)]
            item["destroys"] = [a.name for a in s.drops]
        if isinstance(s, ConvergeWhenReady):
            item["namespaces"] = list(s.iris.namespaces)
            item["inits"] = [{"namespace": p.namespace, "entries": p.entries,
                              "certain": p.certain} for p in s.inits]
        steps.append(item)
    return {
        "format_version": "1",
        "project": plan.project,
        "changes": plan.has_changes,
        "summary": plan.counts(),
        "steps": [s for s in steps if s["action"] != "wait"],
        "waits": [s["instance"] for s in steps if s["action"] == "wait"],
        "notes": list(plan.notes),
        "problems": [vars(p) for p in plan.problems],
    }


__all__ = ["plan_json", "plan_text"]
