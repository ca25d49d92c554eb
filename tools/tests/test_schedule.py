"""Scheduling decisions, with fake GPU lists: who runs next, which GPU it gets, and why."""

from __future__ import annotations

import pytest

from d2lbuild.config import EvalSettings
from d2lbuild.schedule import Job, cgroup_cpu_limit, devices_for, gpu_need, next_job, timeout_for, usable_cpus


def job(name: str, gpu: bool) -> Job:
    return Job("pytorch", name, f"nb/{name}", f"ev/{name}", 60.0, gpu, "test")


def test_gpu_need_from_config_glob_or_code():
    settings = EvalSettings(gpu_sections=("chapters/big/*.md",))
    assert gpu_need("chapters/big/x.md", "print(1)", settings) == (True, "config gpu_sections chapters/big/*.md")
    assert gpu_need("chapters/a.md", "net.to(d2l.try_gpu())", settings) == (True, "calls d2l.try_gpu")
    assert gpu_need("chapters/a.md", "devices = d2l.try_all_gpus()", settings) == (True, "calls d2l.try_all_gpus")
    assert gpu_need("chapters/a.md", "try_gpu = 1", settings) == (False, "no GPU rule matched")


def test_timeouts_per_book_tab_and_section_glob():
    settings = EvalSettings(timeout=100, timeouts=(("chapters/rnn/*.md", 900.0), ("chapters/**", 300.0)))
    assert timeout_for("chapters/rnn/a.md", settings) == 900
    assert timeout_for("chapters/cnn/a.md", settings) == 300
    assert timeout_for("index.md", settings) == 100


def test_gpu_jobs_wait_for_a_free_gpu_while_cpu_jobs_run():
    pending = [job("g1", True), job("g2", True), job("c1", False)]
    free = ["0"]
    first = pending.pop(next_job(pending, free, True))
    assert first.chapter == "g1" and devices_for(first, free, True) == ("0", "0") and free == []
    second = pending.pop(next_job(pending, free, True))
    assert second.chapter == "c1" and devices_for(second, free, True) == (None, "")
    assert next_job(pending, free, True) is None  # g2 waits for the GPU
    free.append("0")
    assert pending[next_job(pending, free, True)].chapter == "g2"


def test_each_gpu_job_gets_its_own_gpu():
    pending = [job(f"g{i}", True) for i in range(3)]
    free = ["0", "1"]
    given = [devices_for(pending.pop(next_job(pending, free, True)), free, True)[0] for _ in range(2)]
    assert sorted(given) == ["0", "1"] and next_job(pending, free, True) is None


def test_without_gpus_every_job_runs_on_cpu():
    pending = [job("g", True)]
    free: list[str] = []
    assert next_job(pending, free, False) == 0
    assert devices_for(pending[0], free, False) == (None, "")


@pytest.mark.parametrize(
    "files, expected",
    [
        ({"cpu.max": "150000 100000\n"}, 2),
        ({"cpu.max": "max 100000\n"}, None),
        ({"cpu/cpu.cfs_quota_us": "50000\n", "cpu/cpu.cfs_period_us": "100000\n"}, 1),
        ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
        ({}, None),
    ],
)
def test_a_cgroup_quota_limits_the_default_workers(tmp_path, files, expected):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cgroup_cpu_limit(str(tmp_path)) == expected


def test_default_workers_follow_the_cpu_affinity(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 3, 5})
    monkeypatch.setattr("d2lbuild.schedule.cgroup_cpu_limit", lambda: None)
    assert usable_cpus() == 3
    monkeypatch.setattr("d2lbuild.schedule.cgroup_cpu_limit", lambda: 2)
    assert usable_cpus() == 2
