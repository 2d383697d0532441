"""Deterministic synthetic listings and restriction orders in the import format."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from datetime import date, timedelta
from typing import Any, Final, TypeVar

from hub.core.codes import BEHAVIOUR_LABELS, BOUND_ROLES, CATEGORIES
from hub.core.identifiers import org_code_check_char, resident_id_check_char, uscc_check_char

# (court code, court name, county-level division code, city used in company names).
# Basic courts' codes are the province character and the last four digits of the
# division code (law-and-practice §5.3); two intermediate courts have two digits.
COURTS: Final = (
    ("京0101", "北京市东城区人民法院", "110101", "北京"),
    ("京0102", "北京市西城区人民法院", "110102", "北京"),
    ("京0105", "北京市朝阳区人民法院", "110105", "北京"),
    ("京0106", "北京市丰台区人民法院", "110106", "北京"),
    ("京0108", "北京市海淀区人民法院", "110108", "北京"),
    ("津0101", "天津市和平区人民法院", "120101", "天津"),
    ("津0116", "天津市滨海新区人民法院", "120116", "天津"),
    ("冀0102", "石家庄市长安区人民法院", "130102", "石家庄"),
    ("辽0202", "大连市中山区人民法院", "210202", "大连"),
    ("沪0101", "上海市黄浦区人民法院", "310101", "上海"),
    ("沪0104", "上海市徐汇区人民法院", "310104", "上海"),
    ("沪0112", "上海市闵行区人民法院", "310112", "上海"),
    ("沪0115", "上海市浦东新区人民法院", "310115", "上海"),
    ("沪01", "上海市第一中级人民法院", "310104", "上海"),
    ("苏0102", "南京市玄武区人民法院", "320102", "南京"),
    ("苏0508", "苏州市姑苏区人民法院", "320508", "苏州"),
    ("苏0583", "昆山市人民法院", "320583", "昆山"),
    ("浙0106", "杭州市西湖区人民法院", "330106", "杭州"),
    ("浙0212", "宁波市鄞州区人民法院", "330212", "宁波"),
    ("浙0782", "义乌市人民法院", "330782", "义乌"),
    ("皖0104", "合肥市蜀山区人民法院", "340104", "合肥"),
    ("皖1122", "来安县人民法院", "341122", "来安"),
    ("闽0102", "福州市鼓楼区人民法院", "350102", "福州"),
    ("闽0203", "厦门市思明区人民法院", "350203", "厦门"),
    ("鲁0102", "济南市历下区人民法院", "370102", "济南"),
    ("鲁0202", "青岛市市南区人民法院", "370202", "青岛"),
    ("豫0105", "郑州市金水区人民法院", "410105", "郑州"),
    ("鄂0106", "武汉市武昌区人民法院", "420106", "武汉"),
    ("湘0104", "长沙市岳麓区人民法院", "430104", "长沙"),
    ("粤0104", "广州市越秀区人民法院", "440104", "广州"),
    ("粤0106", "广州市天河区人民法院", "440106", "广州"),
    ("粤0303", "深圳市罗湖区人民法院", "440303", "深圳"),
    ("粤0304", "深圳市福田区人民法院", "440304", "深圳"),
    ("粤0305", "深圳市南山区人民法院", "440305", "深圳"),
    ("粤0306", "深圳市宝安区人民法院", "440306", "深圳"),
    ("粤03", "深圳市中级人民法院", "440304", "深圳"),
    ("渝0103", "重庆市渝中区人民法院", "500103", "重庆"),
    ("渝0107", "重庆市九龙坡区人民法院", "500107", "重庆"),
    ("川0107", "成都市武侯区人民法院", "510107", "成都"),
    ("云0102", "昆明市五华区人民法院", "530102", "昆明"),
    ("陕0113", "西安市雁塔区人民法院", "610113", "西安"),
)
_AREAS: Final = tuple(sorted({c[2] for c in COURTS}))

_SURNAMES: Final = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚"
)
_MALE_GIVEN: Final = tuple(
    "伟强磊军洋勇杰涛明超刚辉鹏华飞鑫波斌宇浩凯健俊帆旭宁龙林海峰亮成东文志建国平荣新春"
)
_FEMALE_GIVEN: Final = tuple(
    "芳娜敏静丽艳娟霞玲婷雪琳颖倩洁燕红梅慧丹萍莉兰晶欣佳璐秀英桂凤玉珍月彤瑶怡琴云"
)
_INDUSTRIES: Final = (
    "贸易", "建筑工程", "房地产开发", "电子科技", "网络科技", "物流", "餐饮管理", "建材",
    "投资管理", "机械设备", "服装", "食品", "文化传媒", "装饰工程", "汽车销售", "医药",
    "化工", "农业开发", "新能源", "供应链管理",
)  # fmt: skip
_COMPANY_FORMS: Final = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司")
_OBLIGATIONS: Final = (
    "偿还借款本金人民币{}元及利息",
    "支付货款人民币{}元",
    "支付工程款人民币{}元及逾期付款利息",
    "支付劳动报酬人民币{}元",
    "支付租金人民币{}元并返还租赁房屋",
    "赔偿损失人民币{}元",
)
_LB: Final = "\N{FULLWIDTH LEFT PARENTHESIS}"
_RB: Final = "\N{FULLWIDTH RIGHT PARENTHESIS}"
_TERMED: Final = ("B2", "B3", "B4", "B5", "B6")
_USCC_CHARS: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ALL_CATEGORIES: Final = list(CATEGORIES)
_PERSON_SHARE: Final = 0.8
_RESTRICTION_ONLY_SHARE: Final = 0.1
_HISTORY_DAYS: Final = 6 * 365
_T = TypeVar("_T")


class _Dice:
    """The few draws the generator needs, cheaper than random.Random's own helpers.

    ``randint`` and ``choice`` each run several Python frames; a million subjects
    need tens of millions of draws, so these scale one C-level ``random()`` instead.
    """

    __slots__ = ("random",)

    def __init__(self, seed: int) -> None:
        self.random: Callable[[], float] = random.Random(seed).random

    def between(self, low: int, high: int) -> int:
        """An integer in [low, high]."""
        return low + int(self.random() * (high - low + 1))

    def pick(self, items: Sequence[_T]) -> _T:
        return items[int(self.random() * len(items))]

    def some(self, items: Sequence[_T], k: int) -> list[_T]:
        """``k`` distinct items in their original order."""
        pool = list(range(len(items)))
        chosen = [pool.pop(int(self.random() * len(pool))) for _ in range(k)]
        return [items[i] for i in sorted(chosen)]


def generate(subjects: int, *, seed: int, today: date) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``("listing", raw)`` and ``("restriction", raw)`` import records.

    Each of ``subjects`` debtors gets a restriction order; about 90% are also listed,
    the listing coming first and the order naming it. About 80% are persons. Every
    record passes the rules for ``today``, and the same seed gives the same records.
    """
    if today.year < 2000:
        raise ValueError("demo data needs a 'today' in 2000 or later")
    rng = _Dice(seed)
    listing_seq: dict[int, int] = {}
    order_seq: dict[int, int] = {}
    for _ in range(subjects):
        court = rng.pick(COURTS)
        decided = today - timedelta(days=rng.between(1, _HISTORY_DAYS))
        if rng.random() < _PERSON_SHARE:
            subject = _person_subject(rng, court, decided)
        else:
            subject = _organisation_subject(rng, court, decided)
        rep = subject.pop("legal_representative", None)
        bound = _bound_persons(rng, rep, decided) if rep is not None else None
        filed = decided - timedelta(days=rng.between(20, 400))
        # Most case numbers use full-width brackets; one in ten half-width, as in real data.
        lb, rb = ("(", ")") if rng.random() < 0.1 else (_LB, _RB)
        case_number = f"{lb}{filed.year}{rb}{court[0]}执{rng.between(1, 20000)}号"
        listing_id = None
        if rng.random() >= _RESTRICTION_ONLY_SHARE:
            year = decided.year
            listing_seq[year] = n = listing_seq.get(year, 0) + 1
            listing_id = f"L-{year}-{n:06d}"
            listing = {"listing_id": listing_id, **subject}
            if rep is not None:
                listing["legal_representative"] = rep
            listing.update(_listing_body(rng, court, case_number, filed, decided, today))
            yield "listing", listing
        # A listed debtor's order is issued with the listing decision; an order without
        # a listing is dated the same way, after its case was filed.
        year = decided.year
        order_seq[year] = n = order_seq.get(year, 0) + 1
        order = {"order_id": f"R-{year}-{n:06d}", **subject}
        if bound is not None:
            order["bound_persons"] = bound
        order["court_code"], order["court_name"] = court[0], court[1]
        order["case_number"] = case_number
        order["issued_on"] = decided.isoformat()
        roll = rng.random()
        if roll < 0.7:
            order["categories"] = _ALL_CATEGORIES.copy()
        elif roll < 0.85:
            order["categories"] = rng.some(_ALL_CATEGORIES, rng.between(1, 8))
        if listing_id is not None:
            order["listing_id"] = listing_id
        yield "restriction", order


def _resident_id(rng: _Dice, area: str, decided: date) -> tuple[str, bool]:
    """Return a valid resident ID of someone aged 19 to 80 on ``decided``, and if male."""
    latest = decided.toordinal() - 19 * 366
    birth = date.fromordinal(rng.between(latest - 61 * 365, latest))
    male = rng.random() < 0.6
    seq = 2 * rng.between(1, 499) + male
    body = f"{area}{birth.year:04d}{birth.month:02d}{birth.day:02d}{seq:03d}"
    return body + resident_id_check_char(body), male


def _person_name(rng: _Dice, male: bool) -> str:
    pool = _MALE_GIVEN if male else _FEMALE_GIVEN
    given = rng.pick(pool) if rng.random() < 0.3 else rng.pick(pool) + rng.pick(pool)
    return rng.pick(_SURNAMES) + given


def _person(rng: _Dice, area: str, decided: date) -> tuple[str, str]:
    number, male = _resident_id(rng, area, decided)
    return _person_name(rng, male), number


def _person_subject(rng: _Dice, court: tuple[str, ...], decided: date) -> dict[str, Any]:
    area = court[2] if rng.random() < 0.7 else rng.pick(_AREAS)
    name, number = _person(rng, area, decided)
    subject: dict[str, Any] = {
        "subject_type": "person",
        "name": name,
        "id_type": "resident_id",
        "id_number": number,
    }
    if rng.random() < 0.2:
        docs = [{"type": "passport", "number": f"E{rng.between(0, 10**8 - 1):08d}"}]
        if rng.random() < 0.3:
            docs.append({"type": "hk_macao_permit", "number": f"C{rng.between(0, 10**8 - 1):08d}"})
        subject["travel_documents"] = docs
    return subject


def _organisation_subject(rng: _Dice, court: tuple[str, ...], decided: date) -> dict[str, Any]:
    if rng.random() < 0.6:
        body = "MA" + "".join([rng.pick(_USCC_CHARS) for _ in range(6)])
    else:
        body = f"{rng.between(0, 10**8 - 1):08d}"
    org = body + org_code_check_char(body)
    if rng.random() < 0.05:
        id_type, number = "org_code", f"{body}-{org[8]}"
    else:
        first17 = f"91{court[2]}{org}"
        id_type, number = "uscc", first17 + uscc_check_char(first17)
    # "某某" keeps demo companies from naming a real firm as a defaulter.
    name = f"{court[3]}某某{rng.pick(_INDUSTRIES)}{rng.pick(_COMPANY_FORMS)}"
    rep_name, rep_number = _person(rng, court[2], decided)
    rep: dict[str, Any] = {"name": rep_name}
    if rng.random() < 0.8:
        rep["id_number"] = rep_number
    return {
        "subject_type": "organisation",
        "name": name,
        "id_type": id_type,
        "id_number": number,
        "legal_representative": rep,
    }


def _bound_persons(rng: _Dice, rep: dict[str, Any], decided: date) -> list[dict[str, str]]:
    area = rng.pick(_AREAS)
    number = rep.get("id_number") or _person(rng, area, decided)[1]
    persons = [{"name": rep["name"], "id_number": number, "role": "legal_representative"}]
    for role in rng.some(BOUND_ROLES[1:], rng.between(0, 2)):
        name, number = _person(rng, area, decided)
        persons.append({"name": name, "id_number": number, "role": role})
    return persons


def _listing_body(
    rng: _Dice,
    court: tuple[str, ...],
    case_number: str,
    filed: date,
    decided: date,
    today: date,
) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.45:
        behaviours = ["B1"]
    else:
        behaviours = rng.some(_TERMED, 1 if roll < 0.85 else 2)
        if roll > 0.95:
            behaviours.insert(0, "B1")
    if rng.random() < 0.8:
        issuer = court[1]
        basis = f"{_LB}{filed.year - 1}{_RB}{court[0]}民初{rng.between(1, 30000)}号"
    else:
        issuer = f"{court[3]}仲裁委员会"
        basis = f"{_LB}{filed.year - 1}{_RB}{court[3]}仲裁字第{rng.between(1, 9999):04d}号"
    amount = rng.between(5, 50000) * 1000
    listed = min(decided + timedelta(days=rng.between(0, 3)), today)
    body: dict[str, Any] = {
        "court_code": court[0],
        "court_name": court[1],
        "case_number": case_number,
        "filed_on": filed.isoformat(),
        "basis_issuer": issuer,
        "basis_number": basis,
        "obligation": rng.pick(_OBLIGATIONS).format(amount),
        "performance": "none" if rng.random() < 0.8 else "partial",
        "behaviours": behaviours,
        "decided_on": decided.isoformat(),
        "listed_on": listed.isoformat(),
    }
    if rng.random() < 0.5:
        body["behaviour_label"] = ",".join(BEHAVIOUR_LABELS[b].zh for b in behaviours)
    if behaviours != ["B1"]:
        body["term_months"] = 24
        body["extension_months"] = 0 if rng.random() < 0.85 else rng.pick((12, 24, 36))
    return body
