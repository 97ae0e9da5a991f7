"""What the battery-bank tests (tests/e2e/bms_pty.py, seplos_map.py) share:
`ohm get`'s output as a dict, and its comparison with a peer's state."""


def values(r):
    """{name: text} of `ohm get`'s completed process r."""
    return dict(ln.split(": ", 1) if ": " in ln else (ln.rstrip(":"), "")
                for ln in r.stdout.splitlines())


def same(name, got, want):
    """Whether ohm's text got shows the peer's value want (rounding:
    0.1 % for charge and health, else the last of three decimals)."""
    if isinstance(want, str):
        return got == want
    try:
        tol = 0.051 if name.endswith(("charge", "health")) else 0.0006
        return abs(float(got) - want) <= tol
    except (TypeError, ValueError):
        return False


def differences(got, want, skip=()):
    """(the variables that differ as (name, ohm's, the peer's), the
    battery.* variables ohm shows that the peer does not hold)."""
    bad = [(k, got.get(k), v) for k, v in sorted(want.items())
           if not k.startswith(skip) and not same(k, got.get(k), v)]
    extra = [k for k in got if k.startswith("battery.") and k not in want]
    return bad, extra
