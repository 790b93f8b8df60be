"""Synthetic customer memory for bench/crm_bench.py: contacts, identities, conversations
and the derived rows (figures, tiers, search text), generated in chunks in pure Python.

Everything is deterministic for a seed. Derived rows are computed here, per contact, with
the hub's own pure functions (``facts_of``, ``tiers_of``, ``search_text``) and the same
arithmetic as ``hub.crm.figures.compute_figures``; crm_load verifies a sample against the
real projection after loading. Timestamps are whole seconds (microsecond 0) so both
databases store them exactly.
"""

from __future__ import annotations

import json
import random
from array import array
from bisect import bisect
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from typing import Any, NamedTuple, cast

from hub.crm.figures import LOW_CSAT, PREFERENCE_DAYS, WINDOWS, facts_of, tiers_of
from hub.crm.search import search_text
from hub.models import Contact, Identity

MESSAGE_GAP_S = 180  # seconds between a conversation's messages (crm_load's SQL uses it too)
TEAMS = 5
AGENTS = 40
CLOSED = ("resolved", "abandoned")

# (transliteration, spellings as stored). Several spellings of one name (hamza forms,
# taa marbuta/haa, alef maqsura/yaa) are all in use; search must find each from any.
ARABIC_FIRST = [
    ("mohammed", ["محمد"]),
    ("ahmed", ["أحمد", "احمد"]),
    ("abdullah", ["عبدالله", "عبد الله"]),
    ("fatima", ["فاطمة", "فاطمه"]),
    ("khalid", ["خالد"]),
    ("nora", ["نورة", "نوره"]),
    ("ibrahim", ["إبراهيم", "ابراهيم"]),
    ("aisha", ["عائشة", "عائشه"]),
    ("omar", ["عمر"]),
    ("sara", ["سارة", "ساره"]),
    ("yousef", ["يوسف"]),
    ("maryam", ["مريم"]),
    ("ali", ["علي"]),
    ("huda", ["هدى", "هدي"]),
    ("osama", ["أسامة", "اسامة", "اسامه"]),
    ("layla", ["ليلى", "ليلي"]),
    ("mustafa", ["مصطفى", "مصطفي"]),
    ("amna", ["آمنة", "امنة", "امنه"]),
    ("hassan", ["حسن"]),
    ("eman", ["إيمان", "ايمان"]),
    ("faisal", ["فيصل"]),
    ("asma", ["أسماء", "اسماء"]),
    ("ismail", ["إسماعيل", "اسماعيل"]),
    ("ruqaya", ["رقية", "رقيه"]),
    ("sultan", ["سلطان"]),
    ("khadija", ["خديجة", "خديجه"]),
    ("anas", ["أنس", "انس"]),
    ("zainab", ["زينب"]),
    ("hamza", ["حمزة", "حمزه"]),
    ("mona", ["منى", "مني"]),
    ("majed", ["ماجد"]),
    ("salma", ["سلمى", "سلمي"]),
    ("abdulrahman", ["عبدالرحمن"]),
    ("reem", ["ريم"]),
    ("saud", ["سعود"]),
    ("dana", ["دانة", "دانه"]),
    ("turki", ["تركي"]),
    ("ghada", ["غادة", "غاده"]),
    ("ayman", ["أيمن", "ايمن"]),
    ("arwa", ["أروى", "اروى"]),
    ("yahya", ["يحيى", "يحيي"]),
    ("amal", ["أمل", "امل"]),
    ("waleed", ["وليد"]),
    ("nada", ["ندى", "ندي"]),
    ("hisham", ["هشام"]),
    ("shahad", ["شهد"]),
    ("musa", ["موسى", "موسي"]),
    ("rawan", ["روان"]),
    ("iyad", ["إياد", "اياد"]),
    ("bushra", ["بشرى", "بشري"]),
]
ARABIC_FAMILY = [
    ("alzahrani", ["الزهراني"]),
    ("alqahtani", ["القحطاني"]),
    ("alotaibi", ["العتيبي"]),
    ("alshammari", ["الشمري"]),
    ("aldosari", ["الدوسري"]),
    ("alghamdi", ["الغامدي"]),
    ("alharbi", ["الحربي"]),
    ("almutairi", ["المطيري"]),
    ("alsayed", ["السيد"]),
    ("alali", ["العلي"]),
    ("alnajjar", ["النجار"]),
    ("alahmad", ["الأحمد", "الاحمد"]),
    ("alkhatib", ["الخطيب"]),
    ("alansari", ["الأنصاري", "الانصاري"]),
    ("alamin", ["الأمين", "الامين"]),
    ("abuzaid", ["أبو زيد", "ابو زيد"]),
    ("alshehri", ["الشهري"]),
    ("alanazi", ["العنزي"]),
    ("alrashid", ["الرشيد"]),
    ("almalki", ["المالكي"]),
    ("alhashimi", ["الهاشمي"]),
    ("almasri", ["المصري"]),
    ("haddad", ["حداد"]),
    ("salama", ["سلامة", "سلامه"]),
    ("jumaa", ["جمعة", "جمعه"]),
    ("attia", ["عطية", "عطيه"]),
    ("alsubaie", ["السبيعي"]),
    ("aljuhani", ["الجهني"]),
    ("alyami", ["اليامي"]),
    ("alkaabi", ["الكعبي"]),
    ("alnuaimi", ["النعيمي"]),
    ("alhajri", ["الهاجري"]),
    ("alomari", ["العمري"]),
    ("alqurashi", ["القرشي"]),
    ("alsaqqaf", ["السقاف"]),
    ("bawazir", ["باوزير"]),
    ("ismail", ["إسماعيل", "اسماعيل"]),
    ("abdulhadi", ["عبد الهادي"]),
    ("alfaris", ["الفارس"]),
    ("almarzouqi", ["المرزوقي"]),
]
ENGLISH_FIRST = [
    "Mohammed", "Ahmed", "John", "Sarah", "Omar", "Fatima", "David", "Emily", "James", "Aisha",
    "Michael", "Laura", "Daniel", "Maria", "Yusuf", "Priya", "Raj", "Anil", "Jose", "Wei",
    "Robert", "Linda", "Hannah", "Adam", "Noah", "Olivia", "Layla", "Zara", "Samir", "Nadia",
]  # fmt: skip
ENGLISH_FAMILY = [
    "Smith", "Khan", "Patel", "Haddad", "Nasser", "Brown", "Williams", "Garcia", "Fernandes",
    "Kumar", "Ali", "Hussain", "Rahman", "Chen", "Wang", "Taylor", "Martin", "Lee", "Johnson",
    "D'Souza", "Qureshi", "Siddiqui", "Mathew", "Thomas", "Joseph", "Hassan", "Saleh", "Yilmaz",
]  # fmt: skip
FREE_MAIL_SHARES = [
    ("gmail.com", 40),
    ("hotmail.com", 15),
    ("outlook.com", 10),
    ("yahoo.com", 10),
    ("icloud.com", 5),
]
COMPANY_WORDS = ["alnoor", "acme", "sahara", "gulf", "najd", "delta", "falcon", "oasis", "horizon", "atlas",
                 "crescent", "palm", "pearl", "summit", "nile", "red-sea", "jasmine", "cedar", "union", "modern"]  # fmt: skip
COMPANY_KINDS = ["trading", "group", "tech", "logistics", "foods", "clinic", "motors", "realestate", "travel"]
COMPANY_TLDS = ["com", "com.sa", "ae", "com.eg", "net", "co"]
# tag: share of contacts carrying it (independently)
TAGS = {
    "newsletter": 0.12, "returning": 0.10, "wholesale": 0.08, "retail": 0.06, "riyadh": 0.05,
    "jeddah": 0.04, "corporate": 0.03, "ramadan-offer": 0.03, "dammam": 0.02, "dubai": 0.02,
    "cairo": 0.02, "b2b": 0.02, "eid-campaign": 0.02, "vip-gold": 0.01, "complaint-2025": 0.01,
}  # fmt: skip
# How many conversations a contact has had (mean ~1.5): most one, a long tail.
CONVERSATIONS = [(0, 0.17), (1, 0.56), (2, 0.13), (3, 0.06), (4, 0.035), (6, 0.025), (9, 0.012), (15, 0.008)]
CATEGORY_SHARES = [
    ("inquiry", 45),
    ("order", 20),
    ("complaint", 10),
    ("suggestion", 5),
    ("other", 5),
    (None, 15),
]
CSAT_SHARES = [(5, 50), (4, 25), (3, 10), (2, 7), (1, 8)]
OPEN_SHARES = [("assigned", 45), ("waiting_on_customer", 35), ("queued", 20)]
PHONE_CHANNEL_SHARES = [("whatsapp", 60), ("sms", 25), ("voice", 15)]
# (country code, national mobile prefixes, digits after the prefix, share of phones)
COUNTRIES = [
    ("966", ["50", "53", "54", "55", "56", "58", "59"], 7, 75),
    ("971", ["50", "52", "54", "55", "56", "58"], 7, 10),
    ("20", ["10", "11", "12", "15"], 8, 8),
    ("44", ["74", "75", "77", "78", "79"], 8, 4),
    ("1", ["212", "415", "646", "917", "312"], 7, 3),
]
MARKS = ["\u064e", "\u064f", "\u0650", "\u0651"]  # fatha, damma, kasra, shadda


class Ident(NamedTuple):
    kind: str
    address: str


@dataclass(slots=True)
class Person:
    id: int
    name: str
    language: str | None
    timezone: str | None
    vip: bool
    tags: list[str]
    attributes: dict[str, Any]
    created_at: datetime
    identities: list[Ident]
    # for building queries and the import file: the name's parts as generated
    first: str = ""
    family: str = ""
    arabic: bool = False


@dataclass(slots=True)
class Conv:
    id: int
    contact_id: int
    channel: str
    address: str
    status: str
    team_id: int
    assignee_id: int | None
    category: str | None
    created_at: datetime
    messages: int
    csat_score: int | None = None
    csat_at: datetime | None = None

    @property
    def last_message_at(self) -> datetime:
        return self.created_at + timedelta(seconds=(self.messages - 1) * MESSAGE_GAP_S)

    @property
    def last_inbound_at(self) -> datetime:
        # Messages alternate inbound (even k) and outbound (odd k), starting inbound.
        last_k = self.messages - 1 if (self.messages - 1) % 2 == 0 else self.messages - 2
        return self.created_at + timedelta(seconds=last_k * MESSAGE_GAP_S)

    @property
    def resolved_at(self) -> datetime | None:
        return self.last_message_at + timedelta(minutes=10) if self.status in CLOSED else None


@dataclass
class Chunk:
    people: list[Person] = field(default_factory=list)
    conversations: list[Conv] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)
    tiers: list[tuple[str, int]] = field(default_factory=list)
    search: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class TierRule:
    key: str
    rule: dict[str, Any]


class Pick:
    """A weighted choice with its cumulative weights computed once (random.choices
    recomputes them on every call, which dominated the generator's profile)."""

    def __init__(self, pairs: Sequence[tuple[Any, float]]) -> None:
        self.values = [v for v, _ in pairs]
        self.cum = list(accumulate(w for _, w in pairs))
        self.total = self.cum[-1]

    def __call__(self, rng: random.Random) -> Any:
        return self.values[bisect(self.cum, rng.random() * self.total)]


FREE_MAIL = Pick(FREE_MAIL_SHARES)
PLANS = Pick([("free", 60), ("silver", 30), ("gold", 10)])
CATEGORIES = Pick(CATEGORY_SHARES)
CSAT = Pick(CSAT_SHARES)
OPEN = Pick(OPEN_SHARES)
PHONE_CHANNELS = Pick(PHONE_CHANNEL_SHARES)


def _zipf(n: int, s: float = 0.9) -> list[float]:
    return [1 / (rank + 1) ** s for rank in range(n)]


def _permute(i: int, modulus: int) -> int:
    """A bijection of [0, modulus): unique numbers that do not look sequential."""
    return (i * 7_919_777 + 1_234_567) % modulus


def phone_number(i: int) -> str:
    """The i-th bench phone number (E.164), unique for every i below ~10 million."""
    bucket = _permute(i, 100)  # the country; (prefix, rest) below is one-to-one with i
    for cc, prefixes, digits, share in COUNTRIES:
        if bucket < share:
            prefix = prefixes[i % len(prefixes)]
            rest = _permute(i // len(prefixes), 10**digits)
            return f"+{cc}{prefix}{rest:0{digits}d}"
        bucket -= share
    raise AssertionError("country shares must add up to 100")


class Generator:
    """Streams the data set in chunks of contacts; ``sample`` keeps some people for the
    queries and the import file."""

    def __init__(
        self, contacts: int, messages: int, now: datetime, tiers: list[TierRule], seed: int = 7
    ) -> None:
        self.n = contacts
        self.now = now
        self.tiers = tiers
        self.rng = random.Random(seed)
        # popular names are much more common (Zipf-like), as in any customer base
        self.first_pick = Pick(list(zip(ARABIC_FIRST, _zipf(len(ARABIC_FIRST)), strict=True)))
        self.family_pick = Pick(list(zip(ARABIC_FAMILY, _zipf(len(ARABIC_FAMILY), 0.6), strict=True)))
        self.companies = [
            f"{self.rng.choice(COMPANY_WORDS)}-{self.rng.choice(COMPANY_KINDS)}.{self.rng.choice(COMPANY_TLDS)}"
            for _ in range(300)
        ]
        # Conversations per contact first, so that messages can be spread over all of
        # them with an exact total (cumulative rounding of random weights).
        counts = [c for c, _ in CONVERSATIONS]
        weights = [w for _, w in CONVERSATIONS]
        self.conv_counts = array("B", self.rng.choices(counts, weights=weights, k=contacts))
        self.total_conversations = sum(self.conv_counts)
        self.total_messages = max(messages, self.total_conversations)
        self.msg_weights = array("d", (self.rng.expovariate(1.0) for _ in range(self.total_conversations)))
        self._extra_per_weight = (self.total_messages - self.total_conversations) / sum(self.msg_weights)
        self._acc = 0.0
        self._assigned = 0
        self._next_conv = 1
        self.identities = 0
        sample_size = min(contacts, 60_000)  # queries and the import file's known people
        self.sample_ids = set(self.rng.sample(range(1, contacts + 1), sample_size))
        self.sample: list[Person] = []

    # -- people ----------------------------------------------------------------------------
    def _name(self, arabic: bool) -> tuple[str, str, str]:
        """(display name, first name transliterated, family transliterated)."""
        rng = self.rng
        if arabic:
            first_t, first_forms = self.first_pick(rng)
            fam_t, fam_forms = self.family_pick(rng)
            first = rng.choice(first_forms)
            if rng.random() < 0.05:  # a vowel mark typed in: search ignores it
                first = first[0] + rng.choice(MARKS) + first[1:]
            shape = rng.random()
            if shape < 0.05:
                return first, first_t, ""
            if shape < 0.15:
                father = rng.choice(self.first_pick(rng)[1])
                return f"{first} {father} {rng.choice(fam_forms)}", first_t, fam_t
            return f"{first} {rng.choice(fam_forms)}", first_t, fam_t
        first = rng.choice(ENGLISH_FIRST)
        family = rng.choice(ENGLISH_FAMILY)
        return f"{first} {family}", first.lower(), family.lower().replace("'", "")

    def _email(self, cid: int, first: str, family: str) -> str:
        rng = self.rng
        shape = rng.random()
        if shape < 0.5 and family:
            local = f"{first}.{family}{cid}"
        elif shape < 0.75 or not family:
            local = f"{first}{cid}"
        else:
            local = f"{first[0]}{family}{cid}"
        if rng.random() < 0.2:
            domain = rng.choice(self.companies)
        else:
            domain = FREE_MAIL(rng)
        return f"{local}@{domain}"

    def _identities(self, cid: int, first: str, family: str) -> list[Ident]:
        rng = self.rng
        out: list[Ident] = []
        if rng.random() < 0.85:
            out.append(Ident("phone", phone_number(cid)))
        if rng.random() < 0.55:
            out.append(Ident("email", self._email(cid, first, family)))
        if rng.random() < 0.04:
            out.append(Ident("telegram", str(100_000_000 + _permute(cid, 10**9 - 100_000_000))))
        if rng.random() < 0.08:
            out.append(Ident("webchat", f"wv{rng.getrandbits(96):024x}"))
        return out or [Ident("phone", phone_number(cid))]

    def person(self, cid: int) -> Person:
        rng = self.rng
        arabic = rng.random() < 0.6
        name, first, family = self._name(arabic) if rng.random() > 0.04 else ("", "customer", "")
        tags = sorted(t for t, share in TAGS.items() if rng.random() < share)
        attributes: dict[str, Any] = {}
        if rng.random() < 0.25:
            attributes["plan"] = PLANS(rng)
        if rng.random() < 0.3:
            attributes["customer_no"] = f"C-{cid:07d}"
        ids = self._identities(cid, first, family)
        saudi = ids[0].kind == "phone" and ids[0].address.startswith("+966")
        return Person(
            id=cid,
            name=name,
            language=("ar" if arabic else "en") if rng.random() < 0.9 else None,
            timezone="Asia/Riyadh" if saudi and rng.random() < 0.5 else None,
            vip=rng.random() < 0.02,
            tags=tags,
            attributes=attributes,
            created_at=self.now,  # set from the first conversation below
            identities=ids,
            first=first,
            family=family,
            arabic=arabic,
        )

    # -- conversations ----------------------------------------------------------------------
    def _message_count(self) -> int:
        """One inbound message at least, the rest spread by weight; sums to the total."""
        self._acc += self.msg_weights[self._next_conv - 1] * self._extra_per_weight
        is_last = self._next_conv == self.total_conversations
        target = (self.total_messages - self.total_conversations) if is_last else int(self._acc)
        extra = max(0, target - self._assigned)
        self._assigned += extra
        return 1 + extra

    def _channels(self, p: Person) -> list[str]:
        out: list[str] = []
        for ident in p.identities:
            if ident.kind == "phone":
                out.append(PHONE_CHANNELS(self.rng))
            else:
                out.append(ident.kind)
        return out

    def conversations(self, p: Person, k: int) -> list[Conv]:
        rng = self.rng
        span = 120 if k >= 6 else 400  # heavy users are recent ones
        # distinct whole seconds, oldest first: ids then follow time within a contact
        offsets = sorted(rng.sample(range(60, span * 86_400), k), reverse=True)
        channels = self._channels(p)
        favourite = channels[0]
        address = {ch: ident.address for ch, ident in zip(channels, p.identities, strict=True)}
        out = []
        for j, off in enumerate(offsets):
            channel = favourite if rng.random() < 0.7 else rng.choice(channels)
            created = self.now - timedelta(seconds=off)
            last = j == k - 1
            status = rng.choice(CLOSED[:1] * 9 + CLOSED[1:])
            if last and off < 20 * 86_400 and rng.random() < 0.4:
                status = OPEN(rng)
            conv = Conv(
                id=self._next_conv,
                contact_id=p.id,
                channel=channel,
                address=address[channel],
                status=status,
                team_id=1 + rng.randrange(TEAMS),
                assignee_id=None if status == "queued" else 1 + rng.randrange(AGENTS),
                category=CATEGORIES(rng),
                created_at=created,
                messages=self._message_count(),
            )
            self._next_conv += 1
            if status == "resolved" and rng.random() < 0.35:
                conv.csat_score = CSAT(rng)
                conv.csat_at = (conv.resolved_at or created) + timedelta(minutes=5)
            out.append(conv)
        return out

    # -- chunks ----------------------------------------------------------------------------
    def chunks(self, size: int) -> Iterator[Chunk]:
        for start in range(1, self.n + 1, size):
            chunk = Chunk()
            for cid in range(start, min(self.n + 1, start + size)):
                self._add(chunk, cid)
            yield chunk

    def _add(self, chunk: Chunk, cid: int) -> None:
        p = self.person(cid)
        convs = self.conversations(p, self.conv_counts[cid - 1])
        first_seen = convs[0].created_at if convs else self.now - timedelta(days=self.rng.randrange(1, 1000))
        p.created_at = first_seen - timedelta(seconds=self.rng.randrange(0, 86_400))
        self.identities += len(p.identities)
        row, tiers = figures_row(p, convs, self.now, self.tiers)
        chunk.people.append(p)
        chunk.conversations.extend(convs)
        chunk.figures.append(row)
        chunk.tiers.extend((t, cid) for t in tiers)
        chunk.search.append((cid, search_text(cast(Contact, p), cast(list[Identity], p.identities))))
        if cid in self.sample_ids:
            self.sample.append(p)


def figures_row(
    p: Person, convs: Sequence[Conv], now: datetime, tiers: Sequence[TierRule]
) -> tuple[dict[str, Any], list[str]]:
    """The contact_figures row and tiers the projection computes (hub.crm.figures):
    the same aggregates, windows, preference rule, tier evaluation and due time."""
    windows = {name: now - timedelta(days=days) for name, days in WINDOWS.items()}
    pref_since = now - timedelta(days=PREFERENCE_DAYS)
    latest: dict[str, datetime] = {}
    recent: dict[str, int] = {}
    for c in convs:
        latest[c.channel] = max(latest.get(c.channel, c.created_at), c.created_at)
        recent[c.channel] = recent.get(c.channel, 0) + (1 if c.created_at > pref_since else 0)
    used = [(ch, n, latest[ch]) for ch, n in recent.items() if n > 0]
    preferred = max(used, key=lambda ch: (ch[1], ch[2].timestamp()))[0] if used else None
    rated = [c for c in convs if c.csat_score is not None]
    low = [c.csat_at for c in rated if c.csat_score is not None and c.csat_score <= LOW_CSAT and c.csat_at]
    last = convs[-1] if convs else None  # the highest id
    row: dict[str, Any] = {
        "contact_id": p.id,
        "conversations_total": len(convs),
        "first_contact_at": min(c.created_at for c in convs) if convs else None,
        "last_contact_at": max(c.last_inbound_at for c in convs) if convs else None,
        "channels": sorted(latest),
        "preferred_channel": preferred,
        "csat_count": len(rated),
        "csat_sum": sum(c.csat_score or 0 for c in rated),
        "last_low_csat_at": max(low) if low else None,
        # Open complaints are complaint records (hub.care), which this data set does not
        # create; a conversation's "complaint" category alone is not one.
        "open_complaints": 0,
        "last_conversation_id": last.id if last else None,
        "last_category": last.category if last else None,
        "last_status": last.status if last else None,
    }
    due: list[datetime] = []
    for name, since in windows.items():
        inside = [c.created_at for c in convs if c.created_at > since]
        row[name] = len(inside)
        if inside:
            due.append(min(inside) + timedelta(days=WINDOWS[name]))
    member, changes = tiers_of(tiers, facts_of(row, cast(Contact, p)), now)
    due.extend(changes)
    row["tiers"] = member
    row["due_at"] = min(due) if due else None
    row["updated_at"] = now
    return row, member


def generation_now() -> datetime:
    """The data set's "now", in whole seconds (figures are computed at this instant)."""
    return datetime.now(UTC).replace(microsecond=0)


def dumps(value: Any) -> str:
    """JSON as SQLAlchemy's JSON type writes it (json.dumps with its defaults)."""
    return json.dumps(value)
