"""The contract's fixtures: the short survey, and one parameter per channel.

``channel`` is a driver (``tests/contract/drivers.py``) for participant CAL-0001, on an
app configured for that channel, with the short survey in ``content/`` as the only one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from .drivers import DRIVERS, Driver

CONTENT = Path(__file__).parent / "content"


@pytest.fixture(params=DRIVERS, ids=lambda driver: driver.name)
def driver_class(request: pytest.FixtureRequest) -> type[Driver]:
    return request.param


@pytest.fixture
def app_config(app_config: dict[str, Any], driver_class: type[Driver],
               request: pytest.FixtureRequest) -> dict[str, Any]:
    app_config["CONTENT_DIR"] = str(CONTENT)
    app_config.update(driver_class.settings(request))
    return app_config


@pytest.fixture
def channel(driver_class: type[Driver], request: pytest.FixtureRequest, nsw: Any,
            client: FlaskClient, make_participant: Callable[..., int]) -> Iterator[Driver]:
    driver = driver_class(request, nsw, client, nsw.surveys.get("contract"))
    driver.enrol(make_participant)
    yield driver
    driver.close()
