"""The leak detector as a pytest plugin (loaded by the root conftest for every run; see
:mod:`tests.support.leaks`)."""

from __future__ import annotations

import pytest

from tests.support import leaks

_LEAKS: list[leaks.Leak] = []


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Every test's captured output (a worker's reports arrive here in the controller)."""
    # A report carries the sections of the phases before it too: read only its own phase's.
    own = [(title, text) for title, text in report.sections if title.endswith(report.when)]
    _LEAKS.extend(leaks.scan_report_sections(report.nodeid, own))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run if any log line of any test or process carried a secret."""
    if _is_xdist_worker(session.config):
        return  # the controller sees the worker's reports and its temporary directory
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None:
        _LEAKS.extend(leaks.scan_log_files(factory.getbasetemp()))
    if not _LEAKS:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    lines = ["", f"LEAK DETECTOR: {len(_LEAKS)} secret(s) reached a log line:",
             *(f"  {leak}" for leak in _LEAKS[:50])]
    if reporter is not None:
        reporter.write_line("\n".join(lines), red=True)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
