"""benefit-application: synthetic applications for social benefits. Templates per language."""

from __future__ import annotations

import random

from _common import Row, TaskSpec, code_switch, fill, pick, typos

BENEFITS = ["housing", "food", "childcare", "disability", "unemployment", "elderly-care"]

REQUEST_NAME: dict[str, dict[str, list[str]]] = {
    "en": {"housing": ["housing assistance", "help with rent"], "food": ["food assistance", "food vouchers"],
           "childcare": ["childcare support", "a childcare subsidy"],
           "disability": ["disability benefit", "disability support"],
           "unemployment": ["unemployment benefit", "jobseeker's allowance"],
           "elderly-care": ["elderly care support", "home care for older people"]},
    "zh-Hans": {"housing": ["住房补贴", "租房补贴"], "food": ["食品救助", "食物券"], "childcare": ["托育补贴"],
                "disability": ["残疾人补贴", "残疾人生活补贴"], "unemployment": ["失业保险金", "失业救助"],
                "elderly-care": ["居家养老服务补贴", "养老服务补贴"]},
    "zh-Hant": {"housing": ["租金補貼", "住宅補貼"], "food": ["食物救助", "食物券"], "childcare": ["托育補助"],
                "disability": ["身心障礙補助", "身障生活補助"], "unemployment": ["失業給付", "失業救助"],
                "elderly-care": ["長期照顧服務", "居家照顧補助"]},
}
REQUEST: dict[str, list[str]] = {
    "en": ["I would like to apply for {b}.", "This is an application for {b}.", "I am applying for {b}."],
    "zh-Hans": ["我想申请{b}。", "申请项目：{b}。", "本人申请{b}。"],
    "zh-Hant": ["我想申請{b}。", "申請項目：{b}。", "本人申請{b}。"],
}
SITUATION: dict[str, dict[str, list[str]]] = {
    "en": {
        "housing": ["Our rent went up by a third and we are two months behind.",
                    "We have been told to leave our flat and cannot find anything we can afford."],
        "food": ["At the end of each month we run out of money for groceries.",
                 "We have been relying on the food bank to eat."],
        "childcare": ["I work full time and cannot afford the nursery fees for my child.",
                      "I start a new job soon and need a daycare place for my son."],
        "disability": ["I have a spinal injury and use a wheelchair.",
                       "I lost most of my sight after an illness and cannot work as before."],
        "unemployment": ["I lost my job when the factory closed.",
                         "My contract ended and I have not found work since."],
        "elderly-care": ["I am 81 and can no longer cook or clean on my own.",
                         "I am 77, recently had a fall and need help at home."],
    },
    "zh-Hans": {
        "housing": ["房租涨了三分之一，我们已经拖欠了两个月。", "房东要收回房子，我们找不到负担得起的住处。"],
        "food": ["每到月底家里就没钱买菜了。", "我们最近一直靠食物银行吃饭。"],
        "childcare": ["我全职上班，付不起小孩的托儿所费用。", "我马上要上班了，需要给儿子找个托育名额。"],
        "disability": ["我脊椎受伤，需要坐轮椅。", "我生病后视力几乎丧失，没法像以前一样工作。"],
        "unemployment": ["工厂倒闭，我失业了。", "我的劳动合同到期后一直没找到工作。"],
        "elderly-care": ["我今年81岁，已经没法自己做饭打扫了。", "我77岁，前阵子摔了一跤，需要有人上门照顾。"],
    },
    "zh-Hant": {
        "housing": ["房租漲了三分之一，我們已經欠了兩個月。", "房東要收回房子，我們找不到負擔得起的住處。"],
        "food": ["每到月底家裡就沒錢買菜了。", "我們最近一直靠食物銀行過日子。"],
        "childcare": ["我全職上班，付不起小孩的托嬰費用。", "我快要開始上班了，需要幫兒子找托育名額。"],
        "disability": ["我脊椎受傷，需要坐輪椅。", "我生病後視力幾乎喪失，沒辦法像以前一樣工作。"],
        "unemployment": ["工廠倒閉，我失業了。", "我的合約到期後一直沒找到工作。"],
        "elderly-care": ["我今年81歲，已經沒辦法自己煮飯打掃了。", "我77歲，前陣子跌倒，需要有人到家裡照顧。"],
    },
}
HOUSEHOLD_EXPLICIT: dict[str, list[str]] = {
    "en": ["There are {n} people in our household.", "We are a household of {n}.", "Household size: {n}."],
    "zh-Hans": ["家里共{n}口人。", "我们家{n}口人。", "家庭人口：{n}人。"],
    "zh-Hant": ["家裡共{n}個人。", "我們家{n}口人。", "家戶人數：{n}人。"],
}
ALONE: dict[str, list[str]] = {
    "en": ["I live alone.", "I live on my own."],
    "zh-Hans": ["我一个人住。", "我独自生活。"],
    "zh-Hant": ["我一個人住。", "我獨自生活。"],
}
# Counted households (`arithmetic`): the applicant + the members named.
HOUSEHOLD_COUNTED: dict[str, dict[int, str]] = {
    "en": {2: "I live with my daughter.", 3: "I live with my husband and our son.",
           4: "I live with my wife and our two children.",
           5: "I live with my husband, our two children and my mother.",
           6: "I live with my wife, our three children and my father.",
           7: "I live with my husband, our four children and my mother-in-law."},
    "zh-Hans": {2: "我和女儿一起住。", 3: "我和丈夫、儿子一起住。", 4: "我和妻子还有两个孩子一起住。",
                5: "我和丈夫、两个孩子还有我母亲一起住。", 6: "我和妻子、三个孩子还有我父亲一起住。",
                7: "我和丈夫、四个孩子还有婆婆一起住。"},
    "zh-Hant": {2: "我和女兒一起住。", 3: "我和先生、兒子一起住。", 4: "我和太太還有兩個小孩一起住。",
                5: "我和先生、兩個小孩還有我媽媽一起住。", 6: "我和太太、三個小孩還有我爸爸一起住。",
                7: "我和先生、四個小孩還有婆婆一起住。"},
}
INCOME: dict[str, list[str]] = {
    "en": ["Total household income: {amt} a month.", "Monthly household income: {amt}.",
           "The household's income is {amt} per month."],
    "zh-Hans": ["家庭月收入{amt}。", "全家每月收入合计{amt}。", "目前每月总收入{amt}。"],
    "zh-Hant": ["家庭每月收入{amt}。", "全家每月收入合計{amt}。", "目前每月總收入{amt}。"],
}
NO_INCOME: dict[str, list[str]] = {
    "en": ["There is no income in the household at the moment.", "No one in the household has any income now."],
    "zh-Hans": ["目前家里没有任何收入。", "现在我们没有收入。"],
    "zh-Hant": ["目前家裡完全沒有收入。", "現在我們沒有收入。"],
}
INCOME_SPLIT: dict[str, list[str]] = {
    "en": ["I earn {a1} a month and my partner earns {a2} a month.",
           "My pension is {a1} a month, and I get {a2} a month from part-time work."],
    "zh-Hans": ["我每月工资{a1}，爱人每月打零工挣{a2}。", "我每月退休金{a1}，另外每月兼职收入{a2}。"],
    "zh-Hant": ["我每月薪水{a1}，另一半每月打工賺{a2}。", "我每月退休金{a1}，另外每月兼差收入{a2}。"],
}
DISTRACTOR: dict[str, list[str]] = {
    "en": ["Our rent is {rent} a month.", "You can call me on {phone}.", "I applied once before, on {date}.",
           "My youngest is {age} years old."],
    "zh-Hans": ["每月房租{rent}。", "联系电话：{phone}。", "我{date}申请过一次。", "最小的孩子{age}岁。"],
    "zh-Hant": ["每月房租{rent}。", "聯絡電話：{phone}。", "我{date}申請過一次。", "最小的孩子{age}歲。"],
}
MIX_WORDS: dict[str, list[tuple[str, str]]] = {
    "en": [("rent", "房租"), ("nursery", "托儿所"), ("income", "收入"), ("wheelchair", "轮椅"), ("job", "工作"),
           ("food bank", "食物银行"), ("pension", "退休金")],
    "zh-Hans": [("房租", "rent"), ("失业", "unemployed"), ("托儿所", "daycare"), ("收入", "income"),
                ("补贴", "subsidy"), ("工资", "salary"), ("轮椅", "wheelchair"), ("退休金", "pension")],
    "zh-Hant": [("房租", "rent"), ("失業", "unemployed"), ("托嬰", "daycare"), ("收入", "income"),
                ("補助", "subsidy"), ("薪水", "salary"), ("輪椅", "wheelchair"), ("退休金", "pension")],
}
MIX_TAIL: dict[str, list[str]] = {
    "en": ["谢谢审核。", "麻烦尽快回复。"],
    "zh-Hans": ["Thanks for reviewing.", "Please reply ASAP."],
    "zh-Hant": ["Thanks for your help.", "Please reply ASAP."],
}

HARD_COUNTS = {
    "ambiguity": 12, "missing-field": 14, "mixed-language": 10, "typo": 10, "distractor-number": 12,
    "arithmetic": 10, "number-format": 8,
}

EN_WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}
ZH_DIGITS = "零一二三四五六七八九"


def _en_words(n: int) -> str:
    """Words for a multiple of 100 below 10,000 (e.g. 2400 -> 'two thousand four hundred')."""
    thousands, hundreds = n // 1000, (n // 100) % 10
    out = []
    if thousands:
        out.append(f"{EN_WORDS[thousands]} thousand")
    if hundreds:
        out.append(f"{EN_WORDS[hundreds]} hundred")
    return " ".join(out)


def _zh_words(n: int, trad: bool) -> str:
    """Chinese numerals for a multiple of 100 below 100,000 (e.g. 28500 -> 两万八千五百)."""
    wan, qian, bai = n // 10000, (n // 1000) % 10, (n // 100) % 10
    liang = "兩" if trad else "两"

    def d(k: int) -> str:
        return liang if k == 2 else ZH_DIGITS[k]

    out = ""
    if wan:
        out += d(wan) + ("萬" if trad else "万")
    if qian:
        out += d(qian) + "千"
    elif wan and bai:
        out += "零"
    if bai:
        out += ZH_DIGITS[bai] + "百"
    return out


def _money(lang: str, amount: float, style: str, currency: str) -> str:
    """Write `amount` in the language's way; style 'plain' or 'words' (only for multiples of 100)."""
    if lang == "en":
        sym = {"USD": "$", "GBP": "£"}[currency]
        if style == "words":
            return f"{_en_words(int(amount))} {'dollars' if currency == 'USD' else 'pounds'}"
        return f"{sym}{amount:,.2f}" if amount != int(amount) else f"{sym}{int(amount):,}"
    trad = lang == "zh-Hant"
    if style == "words":
        words = _zh_words(int(amount), trad)
        return {"CNY": f"{words}元", "TWD": f"新台幣{words}元", "HKD": f"港幣{words}元"}[currency]
    if style == "wan":
        wan = f"{amount / 10000:g}"
        return {"CNY": f"{wan}万元", "TWD": f"新台幣{wan}萬元", "HKD": f"港幣{wan}萬元"}[currency]
    num = f"{int(amount):,}" if amount >= 10000 else str(int(amount))  # separators only for larger amounts
    return {"CNY": f"{num}元", "TWD": f"新台幣{num}元", "HKD": f"港幣{num}元"}[currency]


def _amount(lang: str, rng: random.Random, currency: str, round_to: int = 1) -> float:
    if lang == "en":
        value = rng.randrange(400, 3600)
        if round_to > 1:
            return float(value // round_to * round_to or round_to)
        return value + rng.choice([0.0, 0.0, 0.5, 0.25, 0.75])
    lo, hi = {"CNY": (1200, 9800), "TWD": (15000, 62000), "HKD": (6000, 28000)}[currency]
    value = rng.randrange(lo, hi)
    step = max(round_to, 10)
    return float(value // step * step)


def make(lang: str, rng: random.Random, label: str, tag: str) -> tuple[str, Row, list[str]]:
    sep = " " if lang == "en" else ""
    currency = {"en": pick(rng, ["USD", "GBP"]), "zh-Hans": "CNY", "zh-Hant": pick(rng, ["TWD", "TWD", "HKD"])}[lang]
    benefit = label
    # Situations for housing, food and childcare speak of "we" / a child: those households have 2+ people.
    size: int | None = rng.randrange(2, 8) if benefit in ("housing", "food", "childcare") else rng.randrange(1, 8)
    parts: list[str] = []
    # benefit: explicit request (always for ambiguity rows) and/or the situation
    situation = pick(rng, SITUATION[lang][benefit])
    request = fill(pick(rng, REQUEST[lang]), {"b": pick(rng, REQUEST_NAME[lang][benefit])})
    if tag == "ambiguity":
        plural = ("housing", "food", "childcare")
        other = rng.choice([b for b in BENEFITS if b != benefit and not (size == 1 and b in plural)])
        first = [situation, pick(rng, SITUATION[lang][other])]
        rng.shuffle(first)
        parts += [*first, request]
    elif rng.random() < 0.7:
        parts += [request, situation] if rng.random() < 0.5 else [situation, request]
    else:
        parts.append(situation)
    # household
    arithmetic_kind = rng.choice(["household", "income"]) if tag == "arithmetic" else ""
    missing = rng.choice(["household", "household", "income", "both"]) if tag == "missing-field" else ""
    if missing in ("household", "both"):
        size = None
    elif arithmetic_kind == "household":
        size = max(size or 2, 3 if benefit == "childcare" else 2)
        parts.append(HOUSEHOLD_COUNTED[lang][size])
    elif size == 1:
        parts.append(pick(rng, ALONE[lang]))
    else:
        parts.append(fill(pick(rng, HOUSEHOLD_EXPLICIT[lang]), {"n": str(size)}))
    # income
    income: float | None
    if missing in ("income", "both"):
        income = None
    elif arithmetic_kind == "income":
        a1, a2 = _amount(lang, rng, currency), _amount(lang, rng, currency)
        a2 = float(int(a2 // 2)) if lang == "en" else float(int(a2 // 2 // 10 * 10))
        income = round(a1 + a2, 2)
        split = INCOME_SPLIT[lang][1] if size == 1 else pick(rng, INCOME_SPLIT[lang])
        parts.append(fill(split, {
            "a1": _money(lang, a1, "plain", currency), "a2": _money(lang, a2, "plain", currency)}))
    elif tag == "" and rng.random() < 0.08:
        income = 0.0
        parts.append(pick(rng, NO_INCOME[lang]))
    else:
        style = "plain"
        if tag == "number-format":
            style = "words" if lang == "en" else pick(rng, ["words", "wan"])
        if style == "wan":
            income = float(rng.randrange(11, 60) * 1000 if currency != "CNY" else rng.randrange(11, 19) * 1000)
        else:
            income = _amount(lang, rng, currency, round_to=100 if style == "words" else 1)
        parts.append(fill(pick(rng, INCOME[lang]), {"amt": _money(lang, income, style, currency)}))
    slots: dict[str, str] = {}
    if tag == "distractor-number":
        options = DISTRACTOR[lang] if size not in (None, 1) and benefit != "elderly-care" else DISTRACTOR[lang][:3]
        chosen = rng.sample(options, 2)
        for tmpl in chosen:
            parts.insert(rng.randrange(1, len(parts) + 1), tmpl)
        rent = _amount(lang, rng, currency, round_to=10) * 0.4
        slots = {
            "rent": _money(lang, float(int(rent // 10 * 10)), "plain", currency),
            "phone": f"0{rng.randrange(7000, 7999)} {rng.randrange(100000, 999999)}" if lang == "en"
            else f"13{rng.randrange(0, 10)}{rng.randrange(10_000_000, 99_999_999)}" if lang == "zh-Hans"
            else f"09{rng.randrange(10, 99)}-{rng.randrange(100, 999)}-{rng.randrange(100, 999)}",
            "date": f"{rng.randrange(1, 28)} {pick(rng, ['March', 'June', 'September'])} 2025" if lang == "en"
            else f"2025年{rng.randrange(1, 12)}月{rng.randrange(1, 28)}日",
            "age": str(rng.randrange(1, 12)),
        }
    template = sep.join(parts)
    if tag == "typo":
        template = typos(lang, template, rng)
    if tag == "mixed-language":
        template = code_switch(template, MIX_WORDS[lang], rng) + sep + pick(rng, MIX_TAIL[lang])
    text = fill(template, slots)
    if income is not None and income == int(income):
        income_value: float | int | None = int(income)
    else:
        income_value = income
    gold: Row = {"household_size": size, "monthly_income": income_value, "benefit": benefit}
    return text, gold, [tag] if tag else []


RULES_EN = (
    "You read applications for social benefits and return JSON only.\n"
    "Fields:\n"
    "- household_size: the number of people in the applicant's household, counting the applicant (\"I live with my "
    "wife and our son\" = 3, \"I live alone\" = 1); null if the application does not say.\n"
    "- monthly_income: the household's total monthly income as a number in the currency as stated, without "
    "converting currencies (add up the parts if several incomes are given; 0 if it says there is no income); null if "
    "not stated. Rent, phone numbers, dates and ages are not income.\n"
    "- benefit: housing, food, childcare, disability, unemployment or elderly-care: the benefit the applicant "
    "applies for; if no benefit is named, the one their situation calls for."
)

RULES_HANS = (
    "你负责阅读社会救助/福利申请，只输出 JSON。\n"
    "字段：\n"
    "- household_size：申请人家庭的人口数，包括申请人本人（\"我和丈夫、儿子一起住\" = 3，\"我一个人住\" = 1）；"
    "申请中没写则为 null。\n"
    "- monthly_income：家庭每月总收入，按原文货币写成数字，不做币种换算（写了几项收入就相加；写明没有收入则为 0；"
    "\"1.2万元\" = 12000，\"三千五百元\" = 3500）；没写则为 null。房租、电话、日期、年龄都不是收入。\n"
    "- benefit：housing（住房）、food（食物）、childcare（托育）、disability（残疾）、unemployment（失业）或 "
    "elderly-care（养老照护）：申请人申请的项目；没写明申请项目时，按其情况最需要的项目。\n"
    "所有取值一律使用上面的英文代码。"
)

RULES_HANT = (
    "你負責閱讀社會福利補助申請，只輸出 JSON。\n"
    "欄位：\n"
    "- household_size：申請人家戶的人數，包括申請人本人（「我和先生、兒子一起住」= 3，「我一個人住」= 1）；"
    "申請中沒寫則為 null。\n"
    "- monthly_income：家戶每月總收入，依原文幣別寫成數字，不做幣別換算（寫了幾項收入就相加；寫明沒有收入則為 0；"
    "「2.8萬元」= 28000，「兩萬八千元」= 28000）；沒寫則為 null。房租、電話、日期、年齡都不是收入。\n"
    "- benefit：housing（住宅）、food（食物）、childcare（托育）、disability（身心障礙）、unemployment（失業）或 "
    "elderly-care（長者照顧）：申請人申請的項目；沒寫明申請項目時，依其狀況最需要的項目。\n"
    "所有值一律使用上面的英文代碼。"
)

PROVENANCE_RULES = """## Labelling rules (also stated in the system prompt)

- **household_size**: people in the household including the applicant. Stated as a number ("Household size: 4"),
  as "I live alone" (= 1), or, in rows tagged `arithmetic`, as a list of members to count ("I live with my
  wife and our two children" = 4). Rows tagged `missing-field` omit the household size, the income, or both;
  the omitted fields are null.
- **monthly_income**: the total monthly household income, in the currency as written (USD or GBP in English,
  CNY in zh-Hans, TWD or HKD in zh-Hant), never converted. "No income" = 0. Rows tagged `arithmetic` may give two
  incomes (a wage and a partner's part-time pay, or a pension and part-time pay) whose sum is the gold; rows
  tagged `number-format` write the amount in words ("two thousand four hundred dollars", 三千五百元, 两万八千元)
  or in 万 ("1.2万元" = 12000). Rows tagged `distractor-number` add a monthly rent (a money amount that is NOT
  income), a phone number, a date or a child's age. Gold values are written as integers when whole.
- **benefit**: the benefit applied for; if none is named, the one the situation calls for. Rows tagged
  `ambiguity` describe two situations (e.g. lost a job and behind on rent) and name the one applied for; the
  gold is the one named.
- `typo` rows: two adjacent letters swapped in two English words, or two characters replaced by homophones in
  Chinese; never inside a number. `mixed-language` rows: English words (rent, daycare, income, subsidy, ...)
  and an English sentence inside Chinese text, or Chinese words and a Chinese sentence inside English text."""

SPEC = TaskSpec(
    name="benefit-application",
    short="benefit",
    sector="social-welfare",
    description=(
        "Reading applications for social benefits: the model extracts the household size and the total monthly "
        "income (in the currency stated, never converted) and classifies the benefit applied for, so that a "
        "caseworker gets a pre-filled summary to check. For social-welfare offices evaluating a model before it "
        "helps with intake. Synthetic data in English, Simplified and Traditional Chinese."
    ),
    notice="Synthetic data; for evaluating models, not a record of real applicants.",
    system={"en": RULES_EN, "zh-Hans": RULES_HANS, "zh-Hant": RULES_HANT},
    user={"en": "Application:\n{{ text }}", "zh-Hans": "申请内容：\n{{ text }}", "zh-Hant": "申請內容：\n{{ text }}"},
    schema={
        "type": "object",
        "properties": {
            "household_size": {"type": ["integer", "null"], "minimum": 1},
            "monthly_income": {"type": ["number", "null"], "minimum": 0},
            "benefit": {"enum": BENEFITS},
        },
        "required": ["household_size", "monthly_income", "benefit"],
        "additionalProperties": False,
    },
    metrics={"monthly_income": {"metric": "numeric", "tolerance": 0.01}},
    gates=[
        "benefit.macro_f1 >= 0.8",
        "household_size.numeric >= 0.8",
        "monthly_income.numeric >= 0.8",
    ],
    label_field="benefit",
    labels=BENEFITS,
    hard_counts=HARD_COUNTS,
    make=make,
    provenance_rules=PROVENANCE_RULES,
    count_fields=["benefit", "household_size"],
    abstention={"fields": ["benefit"], "threshold": 0.5},
)
