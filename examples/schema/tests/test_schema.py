"""Tests that start from the declared schema and seed (../iris-devtester.toml, init).

    irisenv sync          # once: creates APP and applies src/, sql/schema.sql, sql/seed.sql
    pytest tests          # every test sees the seed; nothing to set up here
"""
from __future__ import annotations

import pytest


def test_the_default_namespace_is_app(iris_instance):
    # the namespace the init went into; the connection fixtures use it
    assert iris_instance.namespace == "APP"


@pytest.mark.iris
def test_the_seed_is_there(scalar):
    assert scalar("SELECT COUNT(*) FROM App.Customer") == 3
    assert scalar("SELECT Name FROM App.Customer WHERE CustomerNo = ?", 2) == "Grace Hopper"


@pytest.mark.iris
def test_the_schema_joins(scalar):
    total = scalar("SELECT SUM(o.Amount) FROM App.Orders o JOIN App.Customer c "
                   "ON c.CustomerNo = o.CustomerNo WHERE c.Country = ?", "US")
    assert float(total) == 50.0


@pytest.mark.iris
def test_the_compiled_class_is_callable_from_sql(scalar):
    # src/App/Pricing.cls, loaded and compiled by the init: WithTax is an SQL function
    assert float(scalar("SELECT App.Pricing_WithTax(?)", 100)) == 120.0
