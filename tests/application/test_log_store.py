"""The LogStore contract (``log_store_contract.py``), run on each store.

Each class below is the whole checklist for its store: the conftest's ``database_url``
gives an empty database of that store (a new SQLite file under tmp_path, or the test
run's PostgreSQL database emptied), and every test of :class:`LogStoreContract` runs on
it. For a third store: name it in the conftest's ``database_url``, then add a class here
exactly like these two.
"""

from __future__ import annotations

import pytest

from tests.application.log_store_contract import LogStoreContract


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
class TestSQLiteLogStore(LogStoreContract):
    @pytest.fixture
    def empty_database_url(self, database_url: str) -> str:
        return database_url


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
class TestPostgresLogStore(LogStoreContract):
    @pytest.fixture
    def empty_database_url(self, database_url: str) -> str:
        return database_url
