"""The pages' background analyses (`components.background`): what a page finds on disk from an earlier job."""

from __future__ import annotations

from components import background


def test_a_damaged_saved_result_is_reported_removed_and_can_be_run_again(data_dir):
    argv = ["rank", "--data", "digits"]
    saved = data_dir / "analyses" / f"{background.job_key(argv)}.json"
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text('{"models": [')  # cut off mid-write
    job = background.state(argv)
    assert job.status == "failed" and "could not be read" in job.message and "start it again" in job.message
    assert not saved.exists() and background.state(argv).status == "idle"


def test_a_result_saved_by_the_page_is_found_as_done(data_dir):
    argv = ["rank", "--data", "digits"]
    background.save(argv, {"models": [], "seconds": 0.5})
    job = background.state(argv)
    assert job.status == "done" and job.result == {"models": [], "seconds": 0.5}
    assert not list((data_dir / "analyses").glob("*.saving"))


def test_an_analysis_runs_at_the_workers_lower_priority(data_dir, monkeypatch):
    import psutil

    monkeypatch.setenv("TLAB_WORKER_NICE", "7")
    argv = ["models"]  # quick, and a real `python -m tlcore` subprocess all the same
    key = background.start(argv)
    proc = background._running(str(data_dir))[key]
    try:
        assert psutil.Process(proc.pid).nice() == psutil.Process().nice() + 7
    finally:
        proc.wait(timeout=120)
