"""Counterparty names made comparable: 北京字节跳动科技有限公司 ≈ 字节跳动科技 ≈ 字节跳动(北京).

Bank lines carry the payer's registered name, often truncated; ledgers carry whatever the clerk
typed. Normalising strips what does not tell companies apart — legal-form suffixes (有限公司,
股份有限公司, Co., Ltd.), region prefixes and bracketed regions ((北京), （上海）), spaces and
punctuation in either width — and keeps a "core" without industry words (科技, 信息技术, 贸易...)
for abbreviations. :func:`name_score` then compares with rapidfuzz.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from rapidfuzz import fuzz

__all__ = ["core_name", "name_score", "normalise_name"]

_REGIONS = [
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
    "内蒙古",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
    "深圳",
    "广州",
    "杭州",
    "南京",
    "苏州",
    "武汉",
    "成都",
    "西安",
    "厦门",
    "青岛",
    "大连",
    "宁波",
    "无锡",
    "长沙",
    "郑州",
    "济南",
    "沈阳",
    "合肥",
    "福州",
    "昆明",
    "哈尔滨",
    "长春",
    "石家庄",
    "太原",
    "南昌",
    "南宁",
    "贵阳",
    "兰州",
    "海口",
    "珠海",
    "佛山",
    "东莞",
    "常州",
    "温州",
    "绍兴",
    "嘉兴",
    "烟台",
    "潍坊",
    "徐州",
    "泉州",
]
_REGION_RE = re.compile(r"^(?:中国)?(?:" + "|".join(sorted(_REGIONS, key=len, reverse=True)) + r")(?:省|市|自治区)?")
_BRACKETED = re.compile(r"[(（\[【][^)）\]】]{0,12}[)）\]】]")
_SUFFIXES = re.compile(
    r"(?:股份有限公司|有限责任公司|有限公司|股份公司|集团公司|分公司|公司|集团|厂|"
    r"co\.?,?\s*ltd\.?|company limited|limited|ltd\.?|inc\.?|corp\.?|corporation|llc|gmbh|plc)$",
    re.IGNORECASE,
)
_INDUSTRY = re.compile(
    r"信息技术|网络科技|科技发展|电子商务|技术服务|信息咨询|企业管理|商务咨询|供应链|科技|信息|网络|技术|贸易|商贸|实业|"
    r"发展|咨询|服务|管理|电子|软件|传媒|文化|物流|投资|控股|国际|工程|建设|制造|设备|商务"
)
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)


@lru_cache(maxsize=200_000)
def normalise_name(name: str) -> str:
    """The name without legal form, region, brackets, spaces and punctuation (lower-case)."""
    text = unicodedata.normalize("NFKC", name or "").strip().lower()
    text = _BRACKETED.sub("", text)
    for _ in range(2):
        text = _SUFFIXES.sub("", text.strip(" .,")).strip()
    text = _REGION_RE.sub("", text)
    text = _PUNCT.sub("", text)
    return text


@lru_cache(maxsize=200_000)
def core_name(name: str) -> str:
    """The distinctive part: the normalised name without industry words (for abbreviations)."""
    norm = normalise_name(name)
    core = _INDUSTRY.sub("", norm)
    return core or norm


@lru_cache(maxsize=500_000)
def name_score(a: str, b: str) -> float:
    """0-100: how surely two names are the same company. Empty on either side gives 0."""
    na, nb = normalise_name(a), normalise_name(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 100.0
    ca, cb = core_name(a), core_name(b)
    if ca == cb and len(ca) >= 2:
        return 97.0
    short, long_ = sorted((ca, cb), key=len)
    if len(short) >= 3 and short in long_:
        return 92.0  # an abbreviation: 字节跳动 in 字节跳动网络
    return max(fuzz.ratio(na, nb), fuzz.ratio(ca, cb))
