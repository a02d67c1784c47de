"""The bench on the real rehearsal: the standard scenarios load for every mode and length, one
mode's run is measured (its figures agree with the rehearsal's own summary), and the report
renders as text, JSON and docs/benchmarks.md, with and without built handlers.

Only one short rehearsal runs here (CI time); ``make bench`` runs them all."""

import json
import sys
import types
from pathlib import Path

import pytest

from batchscratch.modes import MODES
from tests.conftest import REPO
from tools.bench import standard
from tools.bench.report import as_json, docs, text
from tools.bench.run import (
    BUILD_DIR,
    HANDLERS_MODULE,
    Bench,
    HandlerFigures,
    RunFigures,
    figures,
    handler_figures,
)
from tools.bench.timeline import JOB, STORAGE_CREATING
from tools.localaws.invoke import containers
from tools.rehearse import Observed, run_scenario
from tools.scenario import check_states, parse


@pytest.mark.parametrize("mode", list(MODES))
@pytest.mark.parametrize("length", list(standard.JOB_LENGTHS))
def test_the_standard_run_is_a_valid_scenario(mode: str, length: str) -> None:
    seconds = standard.JOB_LENGTHS[length]
    scenario = parse(standard.scenario(mode, seconds))
    check_states(scenario, REPO)
    attempts = scenario.aws.job.attempts
    assert [a.status for a in attempts] == ["FAILED", "SUCCEEDED"]
    assert sum(a.after or 0 for a in attempts) == seconds
    assert scenario.aws.storage.readySeconds == 300


@pytest.fixture(scope="module")
def observed() -> Observed:
    seen: list[Observed] = []
    run_scenario(standard.scenario("OnlyEBS", 3600), observe=seen.append)
    (only,) = seen
    return only


@pytest.fixture(scope="module")
def measured(observed: Observed) -> RunFigures:
    return figures(observed, "1 h", 3600)


def test_the_run_goes_as_the_standard_run_says(measured: RunFigures) -> None:
    assert measured.status == "SUCCEEDED"
    assert measured.failed_expectations == ()
    work = {span.label: span.seconds for span in measured.timeline.work}
    assert work[STORAGE_CREATING] == pytest.approx(300, abs=1)
    # Submitted at once, reclaimed at half, retried at once: the job takes its hour.
    assert work[JOB] == pytest.approx(3600, abs=1)
    assert measured.usage.instance_seconds == pytest.approx(3600, abs=1)


def test_the_figures_agree_with_the_rehearsal_s_summary(
    observed: Observed, measured: RunFigures
) -> None:
    summary = observed.summary
    timeline = measured.timeline
    assert summary.storageSeconds is not None
    assert measured.usage.storage_seconds == pytest.approx(summary.storageSeconds, abs=0.1)
    assert timeline.compute_deleted is not None and timeline.job_end is not None
    assert timeline.compute_deleted - timeline.job_end == pytest.approx(
        summary.computeSecondsAfterJob, abs=0.1
    )
    assert measured.usage.transitions == summary.transitions
    # The invocations the history scheduled are those the functions had (no release ran).
    invoked = sum(c.invocations for c in containers(observed.simulation).values())
    assert measured.usage.lambda_invocations == invoked


def test_the_overhead_is_its_gaps(measured: RunFigures) -> None:
    gaps = measured.gaps
    assert gaps
    assert sum(g.seconds for g in gaps) == pytest.approx(measured.usage.overhead_seconds)
    assert all(g.states for g in gaps)


def _bench(run: RunFigures, handlers: HandlerFigures) -> Bench:
    return Bench(runs=(run,), handlers=handlers, date="2026-12-02", python="3.13.0")


def test_the_report_renders_without_a_build(measured: RunFigures, tmp_path: Path) -> None:
    handlers = handler_figures(tmp_path / BUILD_DIR, REPO / "template.yaml")
    assert handlers.missing is not None and "run make build first" in handlers.missing
    bench = _bench(measured, handlers)
    report = text(bench)
    assert "OnlyEBS" in report and "run make build first" in report
    page = docs(bench)
    assert page.startswith("# Benchmarks")
    assert "run make build first" in page
    json.dumps(as_json(bench))


@pytest.fixture
def handlers_double(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in for the module that measures built handlers (its interface only)."""
    module = types.ModuleType(HANDLERS_MODULE)

    def cold_import_seconds(build_dir: Path, repeats: int = 5) -> dict[str, list[float]]:
        assert build_dir.is_dir()
        return {"LoadConfigFunction": [0.12, 0.1, 0.11, 0.5, 0.13][:repeats]}

    def zipped_sizes(build_dir: Path) -> dict[str, int]:
        return {"LoadConfigFunction": 4096, "CommonLayer": 3 * 1024 * 1024}

    module.cold_import_seconds = cold_import_seconds  # type: ignore[attr-defined]
    module.zipped_sizes = zipped_sizes  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, HANDLERS_MODULE, module)


@pytest.mark.usefixtures("handlers_double")
def test_the_report_shows_the_built_handlers(measured: RunFigures, tmp_path: Path) -> None:
    (tmp_path / BUILD_DIR).mkdir(parents=True)
    handlers = handler_figures(tmp_path / BUILD_DIR, REPO / "template.yaml")
    assert handlers.missing is None
    assert handlers.layers == {"CommonLayer"}
    assert handlers.median_ms() == {"LoadConfigFunction": pytest.approx(120)}
    report = text(_bench(measured, handlers))
    assert "CommonLayer (layer)" in report
    assert "3072.0" in report  # KiB


def test_without_the_handlers_module_the_report_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, HANDLERS_MODULE, None)
    (tmp_path / BUILD_DIR).mkdir(parents=True)
    handlers = handler_figures(tmp_path / BUILD_DIR, REPO / "template.yaml")
    assert handlers.missing == f"{HANDLERS_MODULE} is not in this checkout"


def test_make_bench_builds_then_runs_the_bench() -> None:
    makefile = (REPO / "Makefile").read_text()
    (rule,) = [line for line in makefile.splitlines() if line.startswith("bench:")]
    assert rule.split(":", 1)[1].split("##")[0].split() == ["build"]
    recipe = makefile.split(rule, 1)[1].splitlines()[1]
    assert recipe.strip() == "$(BIN)/python -m tools.bench"
