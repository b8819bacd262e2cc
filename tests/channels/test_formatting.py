"""Bot messages for WhatsApp and text-only screens, checked against WhatsApp's documented limits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.channels.numbered_choices import Choice, choices_of, numbered_text, pick
from assistant.channels.textsplit import split_text
from assistant.channels.whatsapp.outbound import Recipient, choice_bodies, text_bodies
from tests.support.fake_graph import limits_problem

TO = Recipient(phone="919800000001")


def _choices(*titles: str) -> list[Choice]:
    return choices_of([{"title": title, "payload": f'/inform{{"x":"{index}"}}'} for index, title in enumerate(titles)])


def test_up_to_three_short_choices_are_reply_buttons() -> None:
    outgoing = choice_bodies(TO, "Book it?", _choices("Yes", "No"))
    [body] = outgoing.bodies
    assert limits_problem(body) is None
    assert body["interactive"]["type"] == "button" and outgoing.numbered == []
    assert [b["reply"]["title"] for b in body["interactive"]["action"]["buttons"]] == ["Yes", "No"]


def test_four_to_ten_choices_or_long_titles_are_a_list() -> None:
    long_titles = choice_bodies(TO, "Which specialty?", _choices("obstetrics and gynecology", "pediatrics"))
    ten = choice_bodies(TO, "Which checklist?", _choices(*[f"checklist {n}" for n in range(10)]))
    for outgoing in (long_titles, ten):
        [body] = outgoing.bodies
        assert limits_problem(body) is None and body["interactive"]["type"] == "list"
    row = long_titles.bodies[0]["interactive"]["action"]["sections"][0]["rows"][0]
    assert row["title"].endswith("…") and row["description"] == "obstetrics and gynecology"


def test_more_than_ten_choices_become_numbered_text_answered_by_number() -> None:
    titles = [f"specialty {n}" for n in range(12)]
    outgoing = choice_bodies(TO, "Which specialty?", _choices(*titles))
    [body] = outgoing.bodies
    assert limits_problem(body) is None and body["type"] == "text"
    assert "12. specialty 11" in body["text"]["body"] and body["text"]["body"].endswith("Reply with a number.")
    assert pick("12", outgoing.numbered) == outgoing.numbered[11]
    assert pick(" 3. ", outgoing.numbered) == outgoing.numbered[2]
    assert pick("13", outgoing.numbered) is None and pick("3 patients", outgoing.numbered) is None


def test_hindi_choices_get_a_hindi_prompt_and_list_label() -> None:
    assert numbered_text("कौन सा?", _choices("हाँ")).endswith("नंबर लिखकर जवाब दें।")
    body = choice_bodies(TO, "कौन सा विशेषज्ञ?", _choices("हृदय रोग", "बाल रोग", "हड्डी रोग", "त्वचा रोग")).bodies[0]
    assert body["interactive"]["action"]["button"] == "चुनें"


def test_a_long_reply_is_split_within_whatsapps_limits() -> None:
    paragraph = "Step one: wash your hands with soap and water for forty seconds. " * 30
    bodies = text_bodies(TO, "\n\n".join([paragraph] * 5))
    assert len(bodies) > 1 and all(limits_problem(body) is None for body in bodies)
    with_buttons = choice_bodies(TO, paragraph * 2, _choices("next", "repeat", "stop")).bodies
    assert all(limits_problem(body) is None for body in with_buttons) and with_buttons[-1]["type"] == "interactive"


def test_a_business_scoped_user_is_addressed_by_user_id() -> None:
    [body] = text_bodies(Recipient(user_id="IN.1234567890"), "hello")
    assert body["recipient"] == "IN.1234567890" and "to" not in body


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from("ab कखग .।\n"), max_size=400), st.integers(min_value=5, max_value=60))
def test_split_text_keeps_every_word_and_respects_the_limit(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert all(0 < len(piece) <= limit for piece in pieces)
    assert "".join("".join(pieces).split()) == "".join(text.split())
