"""The admin and report pages in the reader's language (issue 30): a German and an Arabic admin read their own
language on the users, calendars and reports pages and in the report charts, while the values the forms send, the
links and the CSV exports stay the machine's."""

from __future__ import annotations

import re

import pytest
from tests.conftest import Harness, User


def as_reader(admin: User, language: str) -> dict[str, str]:
    return {"Cookie": f"nixflow_session={admin.token}", "Accept-Language": language}


async def page(harness: Harness, admin: User, path: str, language: str) -> str:
    answer = await harness.client.get(path, headers=as_reader(admin, language))
    assert answer.status_code == 200, answer.text
    return answer.text


GERMAN = {
    "/admin/users": ["Benutzer anlegen", "Benutzer aus CSV importieren", ">Administrator</option>", "Suchen"],
    "/admin/calendars": ["Neuer Kalender", "Noch keine Kalender: jedes SLA zählt rund um die Uhr."],
    "/reports": ["Kennzahlen des Zeitraums", "Erstellte Tickets", "Zufriedenheit und Zeit", "Balkendiagramm:"],
}
ARABIC = {
    "/admin/users": ["إنشاء مستخدم", "استيراد مستخدمين من ملف CSV", ">مسؤول</option>", "بحث"],
    "/admin/calendars": ["تقويم جديد", "لا توجد تقاويم بعد"],
    "/reports": ["مؤشرات الفترة", "التذاكر المُنشأة", "الرضا والوقت", "مخطط شريطي:"],
}
ENGLISH = {
    "/admin/users": ["Create user", "Import users from CSV"],
    "/admin/calendars": ["New calendar", "No calendars yet"],
    "/reports": ["Figures of the period", "Tickets created"],
}


@pytest.mark.parametrize(("language", "expected"), [("de", GERMAN), ("ar", ARABIC)])
async def test_an_admin_reads_the_admin_and_report_pages_in_their_language(
    harness: Harness, admin: User, language: str, expected: dict[str, list[str]]
) -> None:
    for path, phrases in expected.items():
        html = await page(harness, admin, path, language)
        for phrase in phrases:
            assert phrase in html, (path, phrase)
        for english in ENGLISH[path]:
            assert english not in html, (path, english)


async def test_translated_choices_still_send_the_machine_values(harness: Harness, admin: User) -> None:
    users = await page(harness, admin, "/admin/users", "de")
    roles = re.findall(
        r'<option value="(\w+)"[^>]*>([^<]+)</option>', users.split('id="s-role"')[1].split("</select>")[0]
    )
    assert roles == [("requester", "Anfragender"), ("agent", "Agent"), ("admin", "Administrator")]
    reports = await page(harness, admin, "/reports", "ar")
    priorities = reports.split('id="f-priority"')[1].split("</select>")[0]
    assert '<option value="critical">حرجة</option>' in priorities
    assert 'href="/reports/tickets?' in reports and "metric=tickets_created" in reports  # links keep their ids


def axis_labels(svg: str) -> list[str]:
    return re.findall(r'<text[^>]*class="[^"]*"[^>]*>([^<]+)</text>', svg)


async def test_a_report_chart_is_titled_dated_and_numbered_in_the_readers_language(
    harness: Harness, admin: User
) -> None:
    created = await harness.client.post(
        "/api/tickets", json={"title": "Drucker", "description": "x"}, headers=admin.headers
    )
    assert created.status_code == 201
    await harness.settle()
    svg = await page(harness, admin, "/reports/charts/created-solved.svg", "de")
    assert "Erstellte und gelöste Tickets" in svg and "erstellte Tickets" in svg  # title and legend
    labels = axis_labels(svg)
    assert any(re.fullmatch(r"\d\d\.\d\d\.", label) for label in labels)  # German days: 07.03.
    assert "0,5" in labels and "0.5" not in labels  # German decimals
    english = axis_labels(await page(harness, admin, "/reports/charts/created-solved.svg", "en"))
    assert any(re.fullmatch(r"\d{1,2}/\d{1,2}", label) for label in english) and "0.5" in english


async def test_a_csv_export_keeps_its_machine_column_names_in_every_language(harness: Harness, admin: User) -> None:
    """The CSV links of the translated reports page lead to exports whose header row does not depend on the
    reader's language: spreadsheets and scripts read the columns by name."""
    reports = await page(harness, admin, "/reports", "de")
    link = re.search(r'<a href="(/api/reports/summary\?[^"]+)" download>Kennzahlen \(CSV\)</a>', reports)
    assert link is not None
    url = link.group(1).replace("&amp;", "&")
    headers = {}
    for language in ("en", "de", "ar"):
        answer = await harness.client.get(url, headers=as_reader(admin, language))
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        headers[language] = answer.text.splitlines()[0]
    assert headers["de"] == headers["ar"] == headers["en"]
    assert "tickets_created" in headers["en"]
