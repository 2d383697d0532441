"""The hub's fixed code lists (DOMAIN.md): codes for the database, API, files and tests."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, NamedTuple


class Label(NamedTuple):
    """Short English and Chinese label of one code."""

    en: str
    zh: str


def _labels(table: dict[str, tuple[str, str]]) -> Mapping[str, Label]:
    # Read-only so no caller can add a code at run time: the lists are fixed by law.
    return MappingProxyType({code: Label(en, zh) for code, (en, zh) in table.items()})


SUBJECT_TYPE_LABELS: Final = _labels(
    {
        "person": ("natural person", "自然人"),
        "organisation": ("legal person or other organisation", "法人或者其他组织"),
    }
)
SUBJECT_TYPES: Final = tuple(SUBJECT_TYPE_LABELS)

ID_TYPE_LABELS: Final = _labels(
    {
        "resident_id": ("resident ID number (18 digits)", "居民身份证号码"),
        "resident_id15": ("legacy 15-digit resident ID number", "15位居民身份证号码"),
        "uscc": ("unified social credit code", "统一社会信用代码"),
        "org_code": ("organisation code", "组织机构代码"),
        "passport": ("passport", "护照"),
        "other": ("other identifier", "其他证件"),
    }
)
ID_TYPES: Final = tuple(ID_TYPE_LABELS)
#: Which identifier types each kind of subject may carry.
PERSON_ID_TYPES: Final = ("resident_id", "resident_id15", "passport", "other")
ORGANISATION_ID_TYPES: Final = ("uscc", "org_code", "other")

PERFORMANCE_LABELS: Final = _labels(
    {
        "none": ("nothing performed", "全部未履行"),
        "partial": ("partly performed", "部分未履行"),
    }
)
PERFORMANCE: Final = tuple(PERFORMANCE_LABELS)

BEHAVIOUR_LABELS: Final = _labels(
    {
        "B1": ("able to perform but refuses", "有履行能力而拒不履行生效法律文书确定义务"),
        "B2": (
            "obstructs or resists enforcement by forgery, violence or threats",
            "以伪造证据、暴力、威胁等方法妨碍、抗拒执行",
        ),
        "B3": (
            "evades enforcement by sham suit or arbitration, or by hiding or moving assets",
            "以虚假诉讼、虚假仲裁或者以隐匿、转移财产等方法规避执行",
        ),
        "B4": ("breaches the asset-report duty", "违反财产报告制度"),
        "B5": ("breaches a consumption-restriction order", "违反限制消费令"),
        "B6": (
            "refuses without good reason to perform a settlement agreement",
            "无正当理由拒不履行执行和解协议",
        ),
        "legacy_other": ("other evasion or refusal (2013 rules)", "其他规避执行或拒不履行"),
    }
)
BEHAVIOURS: Final = tuple(BEHAVIOUR_LABELS)
#: Behaviours that carry no term (Art. 2): B1 runs until a deletion ground; 2013-era
#: listings ("legacy_other") predate terms altogether.
NO_TERM_BEHAVIOURS: Final = frozenset({"B1", "legacy_other"})

REMOVAL_REASON_LABELS: Final = _labels(
    {
        "performed": ("obligation performed or enforcement completed", "已履行完毕或执行完毕"),
        "settlement_performed": (
            "settlement agreement reached and performed",
            "达成执行和解协议且已履行完毕",
        ),
        "creditor_request": (
            "creditor applied in writing and the court agreed",
            "申请执行人书面申请删除并经人民法院同意",
        ),
        "no_property_after_termination": (
            "no property found after the round was terminated",
            "终结本次执行程序后查控未发现可供执行财产",
        ),
        "suspended_retrial_or_bankruptcy": (
            "enforcement suspended for retrial or bankruptcy",
            "因审判监督或破产程序中止执行",
        ),
        "not_enforced_ruling": ("court ruled not to enforce", "人民法院裁定不予执行"),
        "enforcement_terminated": ("court ruled to terminate enforcement", "人民法院裁定终结执行"),
        "early_by_court": ("deleted early by the court (Art. 2)", "人民法院决定提前删除"),
    }
)
REMOVAL_REASONS: Final = tuple(REMOVAL_REASON_LABELS)

REVOCATION_REASON_LABELS: Final = _labels(
    {"wrongly_listed": ("should never have been listed", "不应纳入失信名单")}
)
REVOCATION_REASONS: Final = tuple(REVOCATION_REASON_LABELS)

CORRECTION_REASON_LABELS: Final = _labels(
    {
        "data_inaccurate": ("recorded data inaccurate (更正, Art. 9)", "记载和公布的信息不准确"),
        "party_request_upheld": (
            "listed party's request upheld (纠正, Arts. 11-12)",
            "被执行人申请纠正理由成立",
        ),
        "reconsideration_upheld": ("upheld on reconsideration (Art. 12)", "复议理由成立"),
        "term_extended": ("listing term extended (Art. 2)", "延长失信期限"),
    }
)
CORRECTION_REASONS: Final = tuple(CORRECTION_REASON_LABELS)

LIFT_REASON_LABELS: Final = _labels(
    {
        "performed": ("obligation fully performed", "已履行完毕"),
        "security_given": ("real and effective security given", "提供确实有效的担保"),
        "creditor_agreed": ("creditor agreed", "申请执行人同意"),
    }
)
LIFT_REASONS: Final = tuple(LIFT_REASON_LABELS)

RELEASE_REASON_LABELS: Final = _labels(
    {
        "representative_replaced": (
            "legal representative or person in charge replaced (2019 opinion, Art. 17)",
            "法定代表人或主要负责人已变更",
        )
    }
)
RELEASE_REASONS: Final = tuple(RELEASE_REASON_LABELS)

#: Reason codes by the kind of action that takes them (see ``rules.check_reason``).
REASONS_BY_KIND: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "removal": REMOVAL_REASONS,
        "revocation": REVOCATION_REASONS,
        "correction": CORRECTION_REASONS,
        "lift": LIFT_REASONS,
        "release": RELEASE_REASONS,
    }
)

CATEGORY_LABELS: Final = _labels(
    {
        "C1": (
            "flights, soft sleepers, ship 2nd class and above",
            "飞机、列车软卧、轮船二等以上舱位",
        ),
        "C2": ("starred hotels, nightclubs, golf", "星级以上宾馆、酒店、夜总会、高尔夫球场"),
        "C3": (
            "buying real estate, building or lavish renovation",
            "购买不动产或新建、扩建、高档装修房屋",
        ),
        "C4": (
            "renting high-grade offices, hotels or apartments",
            "租赁高档写字楼、宾馆、公寓等场所办公",
        ),
        "C5": ("vehicles not needed for business", "购买非经营必需车辆"),
        "C6": ("travel and holidays", "旅游、度假"),
        "C7": ("children at high-fee private schools", "子女就读高收费私立学校"),
        "C8": ("high-premium insurance products", "支付高额保费购买保险理财产品"),
        "C9": (
            "G-train seats, first class on other EMUs, other non-essential consumption",
            "乘坐G字头动车组列车全部座位、其他动车组列车一等以上座位等其他非生活和工作必需的消费行为",
        ),
    }
)
CATEGORIES: Final = tuple(CATEGORY_LABELS)
#: Temporary lifting (2019 opinion, Art. 17) concerns air and high-speed rail only.
EXEMPTABLE_CATEGORIES: Final = ("C1", "C9")

EXEMPTION_REASON_LABELS: Final = _labels(
    {
        "illness": (
            "serious illness of the person or a close relative",
            "本人或近亲属重大疾病就医",
        ),
        "funeral": ("funeral of a close relative", "近亲属丧葬"),
        "official_duty": ("performing or assisting official duties", "执行或协助执行公务"),
        "foreign_affairs": ("foreign-affairs activity", "参加外事活动"),
        "exam": ("important examination", "重要考试"),
    }
)
EXEMPTION_REASONS: Final = tuple(EXEMPTION_REASON_LABELS)

BOUND_ROLE_LABELS: Final = _labels(
    {
        "legal_representative": ("legal representative", "法定代表人"),
        "main_responsible": ("main person in charge", "主要负责人"),
        "direct_responsible": (
            "person directly responsible for non-performance",
            "影响债务履行的直接责任人员",
        ),
        "actual_controller": ("actual controller", "实际控制人"),
    }
)
BOUND_ROLES: Final = tuple(BOUND_ROLE_LABELS)

TRAVEL_DOCUMENT_TYPE_LABELS: Final = _labels(
    {
        "passport": ("passport", "护照"),
        "hk_macao_permit": ("Hong Kong and Macao travel permit", "往来港澳通行证"),
        "taiwan_permit": ("Taiwan travel permit", "往来台湾通行证"),
        "other": ("other exit-entry document", "其他出入境证件"),
    }
)
TRAVEL_DOCUMENT_TYPES: Final = tuple(TRAVEL_DOCUMENT_TYPE_LABELS)

LISTING_STATUS_LABELS: Final = _labels(
    {
        "active": ("active", "有效"),
        "removed": ("removed", "已删除"),
        "revoked": ("revoked", "已撤销"),
        "expired": ("expired", "已到期"),
    }
)
LISTING_STATUSES: Final = tuple(LISTING_STATUS_LABELS)

RESTRICTION_STATUS_LABELS: Final = _labels(
    {"active": ("active", "有效"), "lifted": ("lifted", "已解除")}
)
RESTRICTION_STATUSES: Final = tuple(RESTRICTION_STATUS_LABELS)

EVENT_TYPE_LABELS: Final = _labels(
    {
        "listing.added": ("listed", "纳入失信名单"),
        "listing.corrected": ("listing corrected", "失信信息更正"),
        "listing.revoked": ("listing revoked", "撤销失信信息"),
        "listing.removed": ("listing removed", "删除失信信息"),
        "listing.expired": ("listing term expired", "失信期限届满"),
        "restriction.issued": ("restriction order issued", "发布限制消费令"),
        "restriction.corrected": ("restriction order corrected", "限制消费令更正"),
        "restriction.lifted": ("restriction order lifted", "解除限制消费令"),
        "restriction.person_released": ("bound person released", "解除关联人员限制消费"),
        "restriction.exempted": ("temporary lifting granted", "暂时解除限制消费"),
        "restriction.exemption_ended": ("temporary lifting ended", "暂时解除期满"),
    }
)
EVENT_TYPES: Final = tuple(EVENT_TYPE_LABELS)

#: First character of a court code (法院代字). ``内`` is listed besides ``蒙``: the
#: case-number standard gives Inner Mongolia's courts ``内`` (law-and-practice §5.3),
#: although ``蒙`` is the province's usual abbreviation. ``兵`` is the XPCC branch.
PROVINCE_CHARS: Final = "京津冀晋蒙内辽吉黑沪苏浙皖闽赣鲁豫鄂湘粤桂琼渝川贵云藏陕甘青宁新兵"

#: Enforcement case type codes (类型代字) accepted in modern case numbers.
CASE_TYPE_CODES: Final = ("执", "执恢", "执保", "执异", "执复", "执监", "执协", "执他")

DEFAULT_TERM_MONTHS: Final = 24
EXTENSION_MONTHS_MIN: Final = 12
EXTENSION_MONTHS_MAX: Final = 36
#: A temporary lifting lasts at most one calendar month (from its first day).
MAX_EXEMPTION_MONTHS: Final = 1
#: Under Art. 4 a debtor must have been at least this old on the decision date.
ADULT_AGE_YEARS: Final = 18
