"""Ticket search finds what an agent remembers, ranked, in both modes; requesters find only their own."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from tests.conftest import Harness, User
from tests.search_helpers import comment, found, ids, open_ticket

from nixflow.store.db import Tx
from nixflow.store.ticket_index import RUN, run_key


async def test_a_word_only_in_the_third_comment_is_found_with_its_place(
    harness: Harness, agent: User, requester: User
) -> None:
    ticket = await open_ticket(harness, requester, "Laptop is slow", "Since Monday")
    await comment(harness, agent, ticket, "Did you restart it?")
    await comment(harness, requester, ticket, "Yes, twice.")
    await comment(harness, agent, ticket, "The <b>thermal</b> paste has dried out.")
    [hit] = await found(harness, agent, "thermal")
    assert hit["ticket"]["id"] == ticket and hit["ticket"]["title"] == "Laptop is slow"
    assert hit["match"]["field"] == "comment" and hit["match"]["comment_number"] == 3
    assert "<mark>thermal</mark>" in hit["match"]["snippet"] and "<b>" not in hit["match"]["snippet"]
    assert [h["ticket"]["id"] for h in await found(harness, requester, "thermal")] == [ticket]


async def test_a_title_match_ranks_above_a_comment_only_match(harness: Harness, agent: User, requester: User) -> None:
    in_comment = await open_ticket(harness, requester, "Screen flickers", "On the left monitor")
    await comment(harness, agent, in_comment, "Maybe the docking station is faulty")
    in_title = await open_ticket(harness, requester, "Docking station broken", "It does not charge")
    assert await ids(harness, agent, "docking") == [in_title, in_comment]
    [first, second] = await found(harness, agent, "docking")
    assert first["score"] > second["score"] and first["match"]["field"] == "title"


async def test_all_words_must_match_and_a_phrase_keeps_its_order(
    harness: Harness, agent: User, requester: User
) -> None:
    both = await open_ticket(harness, requester, "Printer jams", "the paper tray is stuck")
    one = await open_ticket(harness, requester, "Printer offline", "no network")
    assert await ids(harness, agent, "printer tray") == [both]
    assert set(await ids(harness, agent, "printer")) == {both, one}
    assert await ids(harness, agent, '"paper tray"') == [both]
    assert await ids(harness, agent, '"tray paper"') == []


async def test_internal_notes_are_found_by_staff_only(harness: Harness, agent: User, requester: User) -> None:
    ticket = await open_ticket(harness, requester, "Mailbox full", "cannot send")
    await comment(harness, agent, ticket, "Quota raised on the exchangeserver", internal=True)
    [hit] = await found(harness, agent, "exchangeserver")
    assert hit["ticket"]["id"] == ticket and hit["match"]["field"] == "note" and hit["match"]["comment_number"] == 1
    assert await found(harness, requester, "exchangeserver") == []
    assert await ids(harness, requester, "mailbox") == [ticket]  # the ticket itself is theirs to find


async def test_requesters_find_only_their_own_tickets(harness: Harness, agent: User, requester: User) -> None:
    other = await harness.user("requester")
    mine = await open_ticket(harness, requester, "Badge reader broken")
    theirs = await open_ticket(harness, other, "Badge lost")
    assert await ids(harness, requester, "badge") == [mine]
    assert await ids(harness, other, "badge") == [theirs]
    assert set(await ids(harness, agent, "badge")) == {mine, theirs}


async def test_attachment_names_and_requesters_are_found(harness: Harness, agent: User) -> None:
    alice = await harness.user("requester", name="Alice Wondergood", email="alice.w@contoso.example")
    ticket = await open_ticket(harness, alice, "Expense report")
    sent = await harness.client.post(
        f"/api/tickets/{ticket}/attachments",
        files={"file": ("quarterly-invoice.txt", b"numbers", "text/plain")},
        headers=alice.headers,
    )
    assert sent.status_code == 201, sent.text
    [by_file] = await found(harness, agent, "invoice")
    assert (by_file["ticket"]["id"], by_file["match"]["field"]) == (ticket, "attachment")
    [by_name] = await found(harness, agent, "wondergood")
    assert (by_name["ticket"]["id"], by_name["match"]["field"]) == (ticket, "requester")
    assert await ids(harness, agent, "contoso") == [ticket]


async def test_a_renamed_requester_is_found_by_the_new_name(harness: Harness, admin: User, agent: User) -> None:
    asker = await harness.user("requester", name="Carol Oldname")
    ticket = await open_ticket(harness, asker, "Keyboard sticky")
    renamed = await harness.client.patch(
        f"/api/users/{asker.id}", json={"name": "Carol Newname"}, headers=admin.headers
    )
    assert renamed.status_code == 200, renamed.text
    assert await ids(harness, agent, "newname") == [ticket]
    assert await ids(harness, agent, "oldname") == []


async def test_an_edited_title_is_searched_by_its_new_words(harness: Harness, agent: User, requester: User) -> None:
    ticket = await open_ticket(harness, requester, "Wifi drops")
    await comment(harness, requester, ticket, "Only on the third floor")
    await comment(harness, agent, ticket, "Access point firmware is old", internal=True)
    version = (await harness.client.get(f"/api/tickets/{ticket}", headers=agent.headers)).json()["version"]
    edited = await harness.client.patch(
        f"/api/tickets/{ticket}", json={"version": version, "title": "Wireless roaming fails"}, headers=agent.headers
    )
    assert edited.status_code == 200, edited.text
    assert await ids(harness, agent, "roaming") == [ticket]
    assert await ids(harness, agent, "wifi") == []
    # The edit rewrote the row the ticket's fields share with its first comments: they are all still there.
    [floor] = await found(harness, requester, "floor")
    [note] = await found(harness, agent, "firmware")
    assert (floor["match"]["field"], note["match"]["field"], note["match"]["comment_number"]) == ("comment", "note", 1)
    assert await ids(harness, requester, "firmware") == []


async def test_pages_follow_the_cursor(harness: Harness, agent: User, requester: User) -> None:
    made = [await open_ticket(harness, requester, f"Toner empty {n}") for n in range(3)]
    first = (await harness.client.get("/api/search", params={"q": "toner", "limit": 2}, headers=agent.headers)).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    params = {"q": "toner", "limit": 2, "cursor": first["next_cursor"]}
    second = (await harness.client.get("/api/search", params=params, headers=agent.headers)).json()
    assert second["next_cursor"] is None
    assert sorted(i["ticket"]["id"] for i in first["items"] + second["items"]) == made


def _forget_run(ticket: int, run: int) -> Callable[[Tx], None]:
    def forget(tx: Tx) -> None:  # as if the run's comments had never been indexed
        key = "piece" if tx.conn.dialect.name == "postgresql" else "rowid"
        tx.conn.execute(text(f"DELETE FROM ticket_search WHERE {key} = :key"), {"key": run_key(ticket, run)})

    return forget


def _rows_of(ticket: int) -> Callable[[Tx], int]:
    def count(tx: Tx) -> int:
        return int(
            tx.conn.execute(text("SELECT count(*) FROM ticket_search WHERE ticket_id = :t"), {"t": ticket}).scalar_one()
        )

    return count


async def test_a_comment_rewrites_its_run_of_the_index_not_the_whole_conversation(
    harness: Harness, agent: User, requester: User
) -> None:
    ticket = await open_ticket(harness, requester, "VPN keeps dropping")
    await comment(harness, agent, ticket, "Check the dongle firmware")
    for n in range(RUN - 2):
        await comment(harness, requester, ticket, f"Still down, attempt {n}")
    await harness.write(_forget_run(ticket, 0))
    await comment(harness, agent, ticket, "Swap the router")  # the first run's last comment: it rewrites the run
    assert await ids(harness, agent, "dongle") == [ticket]
    # A full run is one row (the first with the ticket's own fields), not one per comment: a word in every
    # comment scores the run once.
    assert await harness.write(_rows_of(ticket)) == 1
    await harness.write(_forget_run(ticket, 0))
    await comment(harness, requester, ticket, "The gateway logs show timeouts")
    [hit] = await found(harness, agent, "gateway")
    assert hit["match"]["comment_number"] == RUN + 1 and "<mark>gateway</mark>" in hit["match"]["snippet"]
    # Indexing a comment of the next run did not rewrite the earlier one: its cost does not grow with the thread.
    assert await ids(harness, agent, "dongle") == []


async def test_a_match_in_a_run_is_placed_in_its_own_comment_with_the_words_around_it(
    harness: Harness, agent: User, requester: User
) -> None:
    ticket = await open_ticket(harness, requester, "Mail is slow")
    await comment(harness, agent, ticket, "Which client do you use?")
    before, after = (" ".join(f"{side}{n}" for n in range(60)) for side in ("before", "after"))
    await comment(harness, requester, ticket, f"{before} outlook {after}")
    await comment(harness, agent, ticket, "Outlook needs its cache cleared", internal=True)
    await comment(harness, agent, ticket, "Outlook again, from the web")
    [hit] = await found(harness, agent, "outlook")
    assert hit["match"]["field"] == "comment" and hit["match"]["comment_number"] == 2
    snippet = hit["match"]["snippet"]
    assert "<mark>outlook</mark>" in snippet and snippet.startswith("…") and snippet.endswith("…")
    assert "before59 <mark>outlook</mark> after0" in snippet and "before50" not in snippet and "after20" not in snippet
    assert "client" not in snippet and "cache" not in snippet and "web" not in snippet  # nor its neighbours
