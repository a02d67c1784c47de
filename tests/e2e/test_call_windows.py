"""Call windows (``aws.throttle``, ``aws.errors``): which calls of an operation a scenario's
fault picks, counted per caller (scenarios/README.md)."""

from tools.localaws.behaviour import Aws, ErrorWindow
from tools.localaws.simulation import Simulation

KEY = "secretsmanager:GetSecretValue"


def calls(sim: Simulation, caller: str | None, count: int) -> list[str]:
    """What ``count`` calls of ``KEY`` by ``caller`` meet: ok, throttle or an error code."""
    previous = sim.enter_function(caller)
    try:
        met = [sim.take_fault(KEY) for _ in range(count)]
    finally:
        sim.enter_function(previous)
    return [
        "ok" if w is None else w.code if isinstance(w, ErrorWindow) else "throttle" for w in met
    ]


def test_a_window_counts_only_its_functions_calls() -> None:
    sim = Simulation(
        behaviour=Aws.model_validate(
            {
                "throttle": {KEY: {"from": 2, "count": 2, "function": "StartReleaseFunction"}},
                "errors": {KEY: {"code": "InternalServiceError", "function": "LoadConfigFunction"}},
            }
        )
    )
    assert calls(sim, "LoadConfigFunction", 3) == ["InternalServiceError", "ok", "ok"]
    assert calls(sim, "StartReleaseFunction", 4) == ["ok", "throttle", "throttle", "ok"]


def test_a_number_throttles_the_first_calls_of_every_caller_together() -> None:
    sim = Simulation(behaviour=Aws.model_validate({"throttle": {KEY: 2}}))
    assert calls(sim, "LoadConfigFunction", 1) == ["throttle"]
    assert calls(sim, "StartReleaseFunction", 2) == ["throttle", "ok"]
    assert sim.throttled == {KEY: 2}
