"""Triage as a room sees it: what of a busy chat is answered, in which order, what is thanked and
how, and what is never said. A fake clock stands in for the minutes."""
from __future__ import annotations

from streamer.audience.events import AudienceEvent, Kind
from streamer.audience.speakable import WordFilter, speakable_name, speakable_text
from streamer.audience.triage import Triage, TriagePolicy
from streamer.room import RoomPolicy


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def comment(text, user="ann", uid="1", platform="bilibili"):
    return AudienceEvent(Kind.COMMENT, platform, user_id=uid, user=user, text=text)


def triage(**policy) -> tuple[Triage, Clock]:
    clock = Clock()
    return Triage(TriagePolicy(**policy), clock=clock), clock


def answers(t: Triage) -> list[str]:
    out = []
    while True:
        w, _ = t.next_answer()
        if w is None:
            return out
        out.append(w.event.text)


def test_paid_messages_then_questions_then_chatter_are_answered_in_that_order():
    t, _ = triage(replies_per_minute=60, interrupt_on=())
    t.receive(comment("nice stream", uid="1"))
    t.receive(comment("how much is the tea?", uid="2"))
    t.receive(AudienceEvent(Kind.SUPERCHAT, "bilibili", user_id="3", user="cy", text="hello from Shanghai", value=30))
    t.receive(comment("love the music", uid="4"))
    assert answers(t) == ["hello from Shanghai", "how much is the tea?", "nice stream", "love the music"]


def test_a_super_chat_cuts_the_host_off_when_the_room_says_so():
    t, _ = triage()
    d = t.receive(AudienceEvent(Kind.SUPERCHAT, "youtube", user_id="x", user="Dee", text="Hi!", value=5))
    assert d.action == "interrupt" and d.waiting.event.text == "Hi!"
    t2, _ = triage(interrupt_on=())
    assert t2.receive(AudienceEvent(Kind.SUPERCHAT, "youtube", user="Dee", text="Hi!", value=5)).action == "queued"


def test_duplicates_and_near_duplicates_are_skipped_within_the_window():
    t, clock = triage(dedupe_window_s=60)
    assert t.receive(comment("多少钱？", uid="1")).action == "queued"
    assert t.receive(comment("多少钱", uid="2")).reason == "duplicate"
    assert t.receive(comment("how much is shipping to Canada?", uid="3")).action == "queued"
    assert t.receive(comment("How much is shipping to Canada??!", uid="4")).reason == "duplicate"
    assert t.receive(comment("how much is shiping to canada", uid="5")).reason == "duplicate"  # a typo
    clock.t += 61
    assert t.receive(comment("多少钱", uid="2")).action == "queued"
    assert t.status()["skipped"] == 3


def test_a_full_queue_drops_the_lowest_priority_oldest_comment_and_counts_it():
    t, _ = triage(queue_size=3, replies_per_minute=60, dedupe_window_s=0)
    t.receive(comment("chat one", uid="1"))
    t.receive(comment("chat two", uid="2"))
    t.receive(comment("is it vegan?", uid="3"))
    d = t.receive(comment("does it ship abroad?", uid="4"))
    assert d.dropped == [(1, "queue_full")]
    d = t.receive(comment("more chatter", uid="5"))  # lower than every question: the oldest chatter goes
    assert d.dropped == [(2, "queue_full")]
    assert t.status()["queued"] == 3 and t.status()["dropped"] == 2
    assert answers(t) == ["is it vegan?", "does it ship abroad?", "more chatter"]


def test_replies_per_minute_is_a_ceiling_and_stale_comments_go():
    t, clock = triage(replies_per_minute=2, max_wait_s=90, dedupe_window_s=0)
    for i in range(5):
        t.receive(comment(f"question number {i}?", uid=str(i)))
    assert len(answers(t)) == 2
    clock.t += 30
    assert answers(t) == []
    clock.t += 31  # a minute after the first two
    assert len(answers(t)) == 2
    clock.t += 60  # the last one waited 121 s
    w, stale = t.next_answer()
    assert w is None and stale == [(5, "stale")]


def test_answer_modes_questions_keywords_mentions():
    t, _ = triage(answer="questions")
    assert t.receive(comment("nice!")).reason == "not_question"
    assert t.receive(comment("这个几号链接")).action == "queued"
    t, _ = triage(answer="keywords", keywords=("price", "包邮"))
    assert t.receive(comment("hello")).reason == "no_keyword"
    assert t.receive(comment("包邮吗")).action == "queued"
    t, _ = triage(answer="mentions", host_names=("Xiaomei",))
    assert t.receive(comment("hi all")).reason == "not_mentioned"
    assert t.receive(comment("@xiaomei are you real")).action == "queued"


def test_blocked_words_and_users_are_never_answered_and_blocking_empties_the_queue():
    t, _ = triage(blocked_words=("scam",), blocked_users=("bilibili:666", "spammer"), replies_per_minute=60)
    assert t.receive(comment("this is a S C A M")).reason == "blocked_word"
    assert t.receive(comment("hello?", uid="666")).reason == "blocked_user"
    assert t.receive(comment("hello?", user="Spammer", uid="7")).reason == "blocked_user"
    t.receive(comment("first question?", user="troll", uid="9"))
    t.receive(comment("second question?", user="troll", uid="9"))
    assert t.block("bilibili:9") == [4, 5]
    assert t.receive(comment("third question?", user="troll", uid="9")).reason == "blocked_user"
    assert answers(t) == []


def test_gifts_are_thanked_in_one_line_naming_three_and_counting_the_rest():
    t, clock = triage(thank_batch_s=5, thank_min_value=1.0)
    for uid, name in enumerate(["Ann", "Bo", "Cy", "Dee", "Eve"]):
        assert t.receive(AudienceEvent(Kind.GIFT, "bilibili", user_id=str(uid), user=name, gift="rose",
                                       count=1, value=2.0)).action == "thanks"
    assert t.receive(AudienceEvent(Kind.GIFT, "bilibili", user_id="9", user="Cheap", value=0.1)).reason == \
        "below_min_value"
    assert t.due_thanks() == []
    clock.t += 5
    (line, seqs, urgent), = t.due_thanks()
    assert line == "Thank you Ann, Bo, Cy and 2 others for the gifts!" and seqs == [1, 2, 3, 4, 5] and not urgent
    assert t.due_thanks() == []


def test_thanks_are_in_the_rooms_language_and_say_no_unsayable_name():
    policy = RoomPolicy.from_settings({"audience": {"thank_batch_s": 1}}, "bilibili").audience
    clock = Clock()
    t = Triage(policy, clock=clock)
    t.receive(AudienceEvent(Kind.FOLLOW, "bilibili", user_id="1", user="小明"))
    t.receive(AudienceEvent(Kind.FOLLOW, "bilibili", user_id="2", user="加我微信 13800138000"))
    t.receive(AudienceEvent(Kind.FOLLOW, "bilibili", user_id="3", user="用户***"))
    clock.t += 1
    (line, _, _), = t.due_thanks()
    assert line == "欢迎小明等3位朋友，谢谢关注！"


def test_names_and_comments_are_filtered_before_they_are_said():
    words = WordFilter(["idiot"])
    assert speakable_name("Ann") == "Ann"
    assert speakable_name("visit www.spam.com now") == "visit now"
    assert speakable_name("call 138-0013-8000") == ""  # a name that advertises a number
    assert speakable_name("big idiot", words) == ""
    assert speakable_name("a" * 40) == "a" * 16
    assert speakable_text("Buy at https://x.cn/abc , wx: 13800138000!") == "Buy at , : !"
    assert speakable_text("you IDIOT", words) == ""


def test_online_counts_and_comments_a_minute_are_in_the_status():
    t, clock = triage()
    t.receive(AudienceEvent(Kind.ONLINE, "bilibili", count=1234))
    for i in range(3):
        t.receive(comment(f"hello {i} there", uid=str(i)))
    assert t.status()["online"] == 1234 and t.status()["per_minute"] == 3.0
    clock.t += 61
    assert t.status()["per_minute"] == 0.0
