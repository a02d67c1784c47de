"""The price table (batchscratch_cli/prices.py) and the bench's dollars per run
(tools/bench/cost.py)."""

import pytest

from batchscratch.config import OnlyEbsConfig, TaskExportConfig
from batchscratch_cli import prices
from tools.bench.cost import Usage, overhead_cost, run_cost, storage_hourly


def test_a_2400_gib_scratch_2_file_system_costs_about_46_cents_an_hour() -> None:
    assert prices.lustre_hourly(2400, "SCRATCH_2") == pytest.approx(0.46, abs=0.005)


def test_a_gp3_volume_pays_for_iops_and_throughput_above_the_baseline() -> None:
    # 500 GiB x 0.08 + 2,000 IOPS x 0.005 + 375 MiB/s x 0.04 = $65 a month.
    assert prices.gp3_hourly(500, 5000, 500) == pytest.approx(65 / 730)
    assert prices.gp3_hourly(500, 5000, 500) == pytest.approx(0.089, abs=0.0005)
    assert prices.gp3_hourly(100, 3000, 125) == pytest.approx(100 * 0.08 / 730)


def test_a_thousand_transitions_cost_two_and_a_half_cents() -> None:
    assert prices.transitions_cost(1000) == pytest.approx(0.025)


def test_lambda_pays_requests_and_gb_seconds() -> None:
    assert prices.lambda_cost(1_000_000, 0) == pytest.approx(0.20)
    assert prices.lambda_cost(0, 1) == pytest.approx(0.0000133334)


def test_an_unpriced_lustre_deployment_type_is_refused() -> None:
    with pytest.raises(KeyError, match="PERSISTENT_2"):
        prices.lustre_hourly(2400, "PERSISTENT_2")


def test_the_spot_price_is_the_assumed_discount_off_on_demand() -> None:
    assert prices.SPOT_INSTANCE.dollars == pytest.approx(
        prices.ON_DEMAND_INSTANCE.dollars * (1 - prices.SPOT_DISCOUNT)
    )
    assert "assumption" in prices.SPOT_INSTANCE.note


def test_the_priced_instance_holds_the_default_job() -> None:
    config = TaskExportConfig.model_fields
    vcpus = config["jobDefinitionVcpus"].default
    memory = config["jobDefinitionMemory"].default
    assert vcpus <= prices.INSTANCE_VCPUS
    assert memory <= prices.INSTANCE_MEMORY_MIB
    # The next size down (16 vCPUs) would not hold it: the table prices the smallest fit.
    assert vcpus > prices.INSTANCE_VCPUS // 2


def test_storage_is_priced_from_the_run_s_configuration() -> None:
    lustre = TaskExportConfig.model_fields
    ebs = OnlyEbsConfig.model_fields
    assert storage_hourly(
        {
            "lustreStorageCapacity": lustre["lustreStorageCapacity"].default,
            "lustreDeploymentType": lustre["lustreDeploymentType"].default,
        }
    ) == pytest.approx(2400 * 0.14 / 730)
    assert storage_hourly(
        {
            "ebsSizeGb": ebs["ebsSizeGb"].default,
            "ebsIOPS": ebs["ebsIOPS"].default,
            "ebsThroughput": ebs["ebsThroughput"].default,
        }
    ) == pytest.approx(65 / 730)
    with pytest.raises(KeyError):
        storage_hourly({})


USAGE = Usage(
    storage_seconds=7200,
    overhead_seconds=360,
    instance_seconds=3600,
    compute_after_job_seconds=90,
    transitions=1000,
    lambda_invocations=100,
    lambda_gb_seconds=25,
)


def test_a_run_pays_storage_instance_transitions_and_lambda() -> None:
    cost = run_cost(USAGE, storage_per_hour=0.46)
    assert cost.storage == pytest.approx(2 * 0.46)
    assert cost.compute == pytest.approx((3600 + 90) / 3600 * prices.SPOT_INSTANCE.dollars)
    assert cost.transitions == pytest.approx(0.025)
    assert cost.lambda_ == pytest.approx(100 * 0.2e-6 + 25 * 0.0000133334)
    assert cost.total == pytest.approx(
        cost.storage + cost.compute + cost.transitions + cost.lambda_
    )


def test_the_overhead_cost_is_what_the_orchestration_adds() -> None:
    cost = overhead_cost(USAGE, storage_per_hour=0.46)
    assert cost.storage == pytest.approx(0.1 * 0.46)
    assert cost.compute == pytest.approx(90 / 3600 * prices.SPOT_INSTANCE.dollars)
    assert cost.transitions == pytest.approx(0.025)
