"""Reliability tests start real servers and worker processes on loopback ports: run them
one after another on one xdist worker, so a killed server's freed port or a second
worker's processes never meet another test's."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/reliability/" in str(item.fspath):
            item.add_marker(pytest.mark.xdist_group("reliability"))
