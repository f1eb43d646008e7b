"""Findings of the fuzzer, kept as regression tests."""

from __future__ import annotations

from tests.conftest import Harness, User


async def test_an_absurd_rule_id_is_422_not_500(harness: Harness, admin: User) -> None:
    huge = "15404793151365985599488"
    for method in ("GET", "PATCH", "DELETE"):
        body = {"active": False} if method == "PATCH" else None
        response = await harness.client.request(method, f"/api/rules/{huge}", json=body, headers=admin.headers)
        assert response.status_code == 422, (method, response.text)
