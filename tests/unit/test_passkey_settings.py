"""Where passkeys are bound: the RP id and origin come from NIXFLOW_BASE_URL unless set, and a bad pair stops
start-up with one line naming the variable."""

from __future__ import annotations

import pytest

from nixflow.config import ConfigError, load_settings
from nixflow.services.passkeys import RelyingParty


def test_the_rp_id_and_origin_come_from_the_base_url() -> None:
    rp = RelyingParty.of(load_settings(base_url="https://help.example.com:8443/desk/"))
    assert (rp.id, rp.origin) == ("help.example.com", "https://help.example.com:8443")


def test_a_configured_rp_id_may_be_a_domain_the_origin_is_under() -> None:
    settings = load_settings(passkey_origin="https://help.example.com", passkey_rp_id="example.com")
    assert (settings.webauthn_rp_id, settings.webauthn_origin) == ("example.com", "https://help.example.com")


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"passkey_origin": "https://help.example.com/login"}, "NIXFLOW_PASSKEY_ORIGIN"),
        ({"passkey_origin": "help.example.com"}, "NIXFLOW_PASSKEY_ORIGIN"),
        ({"base_url": "https://help.example.com", "passkey_rp_id": "evil.test"}, "NIXFLOW_PASSKEY_RP_ID"),
        ({"base_url": "https://help.example.com", "passkey_rp_id": "ample.com"}, "NIXFLOW_PASSKEY_RP_ID"),
    ],
)
def test_a_bad_pair_names_the_variable(overrides: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=f"^{variable}: "):
        load_settings(**overrides)
