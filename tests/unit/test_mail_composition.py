"""Notification mail without I/O: settings, the SMTP URL, the composed message, backoff."""

from __future__ import annotations

import pytest

from nixflow.config import ConfigError, load_settings
from nixflow.mailwire.addresses import MailConfig, new_message_id, thread_id
from nixflow.notifications.mail import compose
from nixflow.notifications.model import KINDS, Preferences, backoff_seconds
from nixflow.notifications.smtp import SmtpTarget


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("NIXFLOW_SMTP_URL", "http://mail.example.com"),
        ("NIXFLOW_SMTP_URL", "smtp://"),
        ("NIXFLOW_SMTP_URL", "smtp://mail.example.com:99999"),
        ("NIXFLOW_MAIL_FROM", "not an address"),
        ("NIXFLOW_BASE_URL", "ftp://help.example.com"),
        ("NIXFLOW_NOTIFY_DELAY_SECONDS", "-1"),
    ],
)
def test_a_bad_notification_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=variable):
        load_settings(_env_file=None)


def test_notification_settings_defaults_and_values(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = load_settings(_env_file=None)
    assert defaults.smtp_url is None and defaults.notify_delay_seconds == 30
    monkeypatch.setenv("NIXFLOW_SMTP_URL", "smtps://bot%40x:p%3Ass@mail.example.com")
    monkeypatch.setenv("NIXFLOW_BASE_URL", "https://help.example.com/")
    settings = load_settings(_env_file=None)
    assert settings.base_url == "https://help.example.com"
    assert settings.smtp_url is not None
    target = SmtpTarget.from_url(settings.smtp_url)
    assert (target.hostname, target.port, target.use_tls, target.start_tls) == ("mail.example.com", 465, True, False)
    assert (target.username, target.password) == ("bot@x", "p:ss")


def test_smtp_url_forms() -> None:
    plain = SmtpTarget.from_url("smtp://localhost")
    assert (plain.port, plain.use_tls, plain.start_tls, plain.username) == (25, False, False, None)
    submission = SmtpTarget.from_url("smtp://u:p@mail:587?starttls=true")
    assert (submission.port, submission.start_tls, submission.use_tls) == (587, True, False)


def test_a_ticket_mail_is_threaded_and_auto_submitted() -> None:
    config = MailConfig(mail_from="Help Desk <help@example.com>", base_url="https://help.example.com")
    message_id = new_message_id(config.domain)
    items = [
        {"title": "New comment: #7 VPN", "body": "<script>x</script> it drops", "reason": "you watch", "ticket_id": 7},
        {
            "title": "Status changed to open: #7 VPN",
            "body": "Status: open (was new)",
            "reason": "you watch",
            "ticket_id": 7,
        },
    ]
    mail = compose(
        config,
        to_email="ana@example.com",
        to_name="Ana",
        items=items,
        message_id=message_id,
        ticket={"id": 7, "title": "VPN\r\nBcc: evil@example.com drops"},
    )
    assert mail["Subject"] == "[#7] VPN Bcc: evil@example.com drops"  # no header injection through the title
    assert mail["Bcc"] is None
    assert mail["In-Reply-To"] == mail["References"] == thread_id(7, "example.com") == "<ticket-7@example.com>"
    assert mail["Message-ID"] == message_id and message_id.endswith("@example.com>")
    assert mail["Auto-Submitted"] == "auto-generated"
    text = mail.get_body(preferencelist=("plain",))
    html = mail.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    assert "https://help.example.com/tickets/7" in text.get_content() and "it drops" in text.get_content()
    rendered = html.get_content()
    assert "&lt;script&gt;" in rendered and "<script>" not in rendered
    assert 'style="' in rendered and "<style" not in rendered


def test_a_digest_lists_every_ticket_and_is_not_threaded() -> None:
    config = MailConfig(mail_from="help@example.com", base_url="http://h")
    items = [{"title": f"t{n}", "body": "b", "reason": "r", "ticket_id": n} for n in (1, 2)]
    mail = compose(
        config, to_email="a@example.com", to_name="A", items=items, message_id="<m@example.com>", ticket=None
    )
    assert mail["Subject"] == "NixFlow digest: 2 notifications" and mail["References"] is None
    text = mail.get_body(preferencelist=("plain",))
    assert (
        text is not None and "http://h/tickets/1" in text.get_content() and "http://h/tickets/2" in text.get_content()
    )


def test_backoff_doubles_up_to_its_cap() -> None:
    assert [backoff_seconds(1, n, 10) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 10]


def test_preferences_default_to_everything_on() -> None:
    prefs = Preferences()
    assert all(prefs.wants(c, k) for c in ("email", "in_app") for k in KINDS)
    assert Preferences(email={**dict.fromkeys(KINDS, True), "sla": False}).public()["email"]["sla"] is False
