"""What one message may cost to read, and what a ticket says about what was left out."""

from __future__ import annotations

import sys

from tests import mail_corpus as corpus

from nixflow.email_in.intake import TEXT_LIMIT, with_notes
from nixflow.email_in.mime import MAX_DEPTH, MAX_FILES, MAX_PARTS
from nixflow.email_in.parse import parse


def test_a_message_nested_3000_levels_deep_is_read_within_the_bound_and_says_so() -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)  # the walk must not recurse at all, not just less than Python allows
    try:
        mail = parse(corpus.deeply_nested(3000), own_domain="example.com")
    finally:
        sys.setrecursionlimit(limit)
    assert mail.sender == "mallory@attacker.test" and mail.message_id == "<deep-1@attacker.test>"
    assert mail.left_out == [f"[Some parts were not read: the message nests deeper than {MAX_DEPTH} levels]"]
    assert mail.text == "" and mail.attachments == []


def test_a_part_just_inside_the_depth_bound_is_read() -> None:
    mail = parse(corpus.deeply_nested(MAX_DEPTH), own_domain="example.com")
    assert mail.text == "the bottom" and mail.left_out == []
    deeper = parse(corpus.deeply_nested(MAX_DEPTH + 1), own_domain="example.com")
    assert deeper.text == "" and len(deeper.left_out) == 1


def test_files_past_the_bound_are_counted_not_kept() -> None:
    mail = parse(corpus.many_files(MAX_FILES + 7), own_domain="example.com")
    assert [p.filename for p in mail.attachments] == [f"log-{n}.txt" for n in range(MAX_FILES)]
    assert mail.left_out == [f"[7 more files were not kept: a mail keeps at most {MAX_FILES}]"]


def test_parts_past_the_bound_are_not_read() -> None:
    mail = parse(corpus.many_files(MAX_PARTS + 20), own_domain="example.com")
    assert mail.text == "All the logs are attached."
    assert f"[Parts after the first {MAX_PARTS} were not read: the message has more parts]" in mail.left_out
    assert len(mail.attachments) == MAX_FILES


def test_8_bit_bodies_inside_multiparts_keep_their_characters() -> None:
    raw = corpus.html_only().replace(b"black screen", "écran noir".encode())  # raw UTF-8 in a related part
    mail = parse(raw, own_domain="example.com")
    assert "My laptop shows a écran noir." in mail.text
    assert [p.filename for p in mail.attachments] == ["logo.png"]


def test_the_text_and_every_note_fit_the_limit_whatever_the_notes() -> None:
    long_name = "x" * 1500
    notes = [f"[{long_name} was not kept: over the size limit]"] * 200
    text = with_notes("word " * 5000, notes)
    assert len(text) <= TEXT_LIMIT
    assert "[The text was cut here" in text
    assert "more notes on this mail were left out]" in text
    short = with_notes("All fine.", ["[a.bin was not kept: over the size limit]"])
    assert short == "All fine.\n\n[a.bin was not kept: over the size limit]"
