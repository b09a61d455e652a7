"""clinic-intake: synthetic patient intake notes. NOT FOR CLINICAL USE. Templates per language."""

from __future__ import annotations

import random

from _common import Row, TaskSpec, code_switch, fill, pick, typos

SYMPTOMS = [
    "fever", "cough", "headache", "chest-pain", "shortness-of-breath", "nausea", "vomiting", "diarrhea", "rash",
    "dizziness", "abdominal-pain", "sore-throat", "fatigue", "back-pain", "bleeding",
]
# Symptoms that may appear in any note without touching a red-flag rule.
ROUTINE_POOL = [
    "fever", "cough", "headache", "nausea", "vomiting", "diarrhea", "rash", "dizziness", "abdominal-pain",
    "sore-throat", "fatigue", "back-pain",
]

PHRASES: dict[str, dict[str, list[str]]] = {
    "en": {
        "fever": ["fever", "a fever"], "cough": ["a cough", "a dry cough"], "headache": ["headache", "a headache"],
        "chest-pain": ["chest pain", "pain in the chest"],
        "shortness-of-breath": ["shortness of breath", "difficulty breathing"],
        "nausea": ["nausea"], "vomiting": ["vomiting"],
        "diarrhea": ["diarrhea", "loose stools"], "rash": ["a rash", "a skin rash"],
        "dizziness": ["dizziness", "dizzy spells"], "abdominal-pain": ["stomach pain", "abdominal pain"],
        "sore-throat": ["a sore throat"], "fatigue": ["tiredness", "fatigue"],
        "back-pain": ["back pain", "lower back pain"],
        "bleeding-light": ["a small nosebleed that stopped on its own", "slight bleeding from the gums when brushing"],
        "bleeding-heavy": ["heavy bleeding from a deep cut on the leg that does not stop with pressure",
                           "heavy bleeding from a wound on the arm that has soaked through several towels"],
    },
    "zh-Hans": {
        "fever": ["发烧", "发热"], "cough": ["咳嗽"], "headache": ["头痛", "头疼"], "chest-pain": ["胸痛", "胸口痛"],
        "shortness-of-breath": ["气短", "呼吸困难"], "nausea": ["恶心"], "vomiting": ["呕吐"],
        "diarrhea": ["腹泻", "拉肚子"], "rash": ["皮疹", "身上起疹子"], "dizziness": ["头晕"],
        "abdominal-pain": ["肚子痛", "腹痛"], "sore-throat": ["喉咙痛", "咽痛"], "fatigue": ["乏力", "浑身没劲"],
        "back-pain": ["腰背痛", "背痛"],
        "bleeding-light": ["流了一点鼻血但已自行止住", "刷牙时牙龈少量出血"],
        "bleeding-heavy": ["腿上深伤口大量出血且按压止不住", "手臂伤口出血不止并已浸透好几条毛巾"],
    },
    "zh-Hant": {
        "fever": ["發燒", "發熱"], "cough": ["咳嗽"], "headache": ["頭痛", "頭疼"], "chest-pain": ["胸痛", "胸口痛"],
        "shortness-of-breath": ["喘不過氣", "呼吸困難"], "nausea": ["噁心"], "vomiting": ["嘔吐"],
        "diarrhea": ["腹瀉", "拉肚子"], "rash": ["皮疹", "身上起疹子"], "dizziness": ["頭暈"],
        "abdominal-pain": ["肚子痛", "腹痛"], "sore-throat": ["喉嚨痛", "咽喉痛"], "fatigue": ["倦怠", "全身無力"],
        "back-pain": ["腰背痛", "背痛"],
        "bleeding-light": ["流了一點鼻血但已自行止住", "刷牙時牙齦少量出血"],
        "bleeding-heavy": ["腿上深傷口大量出血且壓迫止不住", "手臂傷口血流不止並已浸透好幾條毛巾"],
    },
}

NEGATION: dict[str, list[str]] = {
    "en": ["No {x}.", "Denies {x}.", "No {x} reported."],
    "zh-Hans": ["无{x}。", "否认{x}。", "没有{x}。"],
    "zh-Hant": ["無{x}。", "否認{x}。", "沒有{x}。"],
}
NEG_WORD: dict[str, dict[str, str]] = {
    "en": {"fever": "fever", "cough": "cough", "headache": "headache", "chest-pain": "chest pain",
           "shortness-of-breath": "shortness of breath", "vomiting": "vomiting", "diarrhea": "diarrhea",
           "rash": "rash", "dizziness": "dizziness", "bleeding": "bleeding"},
    "zh-Hans": {"fever": "发热", "cough": "咳嗽", "headache": "头痛", "chest-pain": "胸痛",
                "shortness-of-breath": "气短", "vomiting": "呕吐", "diarrhea": "腹泻", "rash": "皮疹",
                "dizziness": "头晕", "bleeding": "出血"},
    "zh-Hant": {"fever": "發燒", "cough": "咳嗽", "headache": "頭痛", "chest-pain": "胸痛",
                "shortness-of-breath": "呼吸困難", "vomiting": "嘔吐", "diarrhea": "腹瀉", "rash": "皮疹",
                "dizziness": "頭暈", "bleeding": "出血"},
}

EN_NUM = {2: "two", 3: "three", 4: "four", 5: "five", 10: "ten"}
ZH_NUM = {2: "两", 3: "三", 4: "四", 5: "五", 10: "十"}
ZH_HANT_NUM = {2: "兩", 3: "三", 4: "四", 5: "五", 10: "十"}
DURATIONS = [1, 2, 3, 4, 5, 7, 10, 14, 21, 30]
# Red-flag notes describe acute problems: short durations only.
ACUTE: dict[str, list[int]] = {"chest": [1, 2, 3], "bleeding": [1, 2], "infant-fever": [1, 2, 3],
                               "high-fever": [1, 2, 3, 4, 5]}


def _duration(lang: str, days: int, rng: random.Random) -> str:
    """A duration phrase that states `days` unambiguously under the rules in the prompt."""
    if lang == "en":
        table = {1: ["since yesterday"], 7: ["for a week", "for one week"], 14: ["for two weeks"],
                 21: ["for three weeks"], 30: ["for a month"]}
        if days in table:
            return pick(rng, table[days])
        return pick(rng, [f"for {days} days", f"for {EN_NUM[days]} days"])
    nums = ZH_NUM if lang == "zh-Hans" else ZH_HANT_NUM
    if lang == "zh-Hans":
        table = {1: ["从昨天开始"], 7: ["一周了", "一个星期了"], 14: ["两周了", "两个星期了"], 21: ["三周了"],
                 30: ["一个月了"]}
    else:
        table = {1: ["從昨天開始"], 7: ["一週了", "一個禮拜了"], 14: ["兩週了", "兩個禮拜了"], 21: ["三週了"],
                 30: ["一個月了"]}
    if days in table:
        return pick(rng, table[days])
    return pick(rng, [f"{days}天了", f"{nums[days]}天了"])


def _join(lang: str, items: list[str]) -> str:
    if lang == "en":
        return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
    return "、".join(items)


def _a(age: int) -> str:
    return "An" if str(age).startswith("8") or age in (11, 18) else "A"


def _who(lang: str, rng: random.Random, infant: bool) -> str:
    if infant:
        weeks = rng.randrange(3, 11)
        if lang == "en":
            return pick(rng, [f"A {weeks}-week-old baby", "A 2-month-old baby", "A 1-month-old infant"])
        if lang == "zh-Hans":
            return pick(rng, [f"{weeks}周大的婴儿，", "2个月大的宝宝，", "出生1个月的婴儿，"])
        return pick(rng, [f"{weeks}週大的嬰兒，", "2個月大的寶寶，", "出生1個月的嬰兒，"])
    if rng.random() < 0.2:
        age = rng.randrange(3, 13)
        if lang == "en":
            return f"{_a(age)} {age}-year-old {pick(rng, ['boy', 'girl'])}"
        if lang == "zh-Hans":
            return f"{age}岁{pick(rng, ['男孩', '女孩'])}，"
        return f"{age}歲{pick(rng, ['男童', '女童'])}，"
    age = rng.randrange(18, 86)
    if lang == "en":
        return pick(rng, [f"{_a(age)} {age}-year-old woman", f"{_a(age)} {age}-year-old man",
                          f"Patient ({age}, female)", f"Patient ({age}, male)"])
    if lang == "zh-Hans":
        return pick(rng, [f"患者，女，{age}岁。", f"患者，男，{age}岁。", f"{age}岁女性，", f"{age}岁男性，"])
    return pick(rng, [f"患者，女，{age}歲。", f"患者，男，{age}歲。", f"{age}歲女性，", f"{age}歲男性，"])


VERB: dict[str, list[str]] = {
    "en": ["reports", "presents with", "complains of", "has had"],
    "zh-Hans": ["主诉", "自述", ""],
    "zh-Hant": ["主訴", "自述", ""],
}
INFANT_VERB: dict[str, list[str]] = {
    "en": ["is brought in with", "has had"],
    "zh-Hans": ["家长代诉", ""],
    "zh-Hant": ["家長代述", ""],
}
DISTRACTOR: dict[str, list[str]] = {
    "en": ["Took ibuprofen {dose} mg twice a day.", "Last seen here on {date}.", "Contact number {phone}.",
           "Weight {kg} kg."],
    "zh-Hans": ["自服布洛芬{dose}毫克，每天两次。", "{date}来过门诊。", "联系电话{phone}。", "体重{kg}公斤。"],
    "zh-Hant": ["自行服用布洛芬{dose}毫克，一天兩次。", "{date}來過門診。", "聯絡電話{phone}。", "體重{kg}公斤。"],
}
MIX_WORDS: dict[str, list[tuple[str, str]]] = {
    "en": [("a cough", "咳嗽"), ("a headache", "头痛"), ("diarrhea", "拉肚子"), ("a rash", "皮疹"),
           ("dizziness", "头晕"), ("a sore throat", "喉咙痛"), ("lower back pain", "腰痛")],
    "zh-Hans": [("发烧", "fever"), ("咳嗽", "cough"), ("头痛", "headache"), ("腹泻", "diarrhea"), ("皮疹", "rash"),
                ("头晕", "dizzy"), ("喉咙痛", "sore throat"), ("乏力", "fatigue"), ("患者", "pt"), ("主诉", "c/o")],
    "zh-Hant": [("發燒", "fever"), ("咳嗽", "cough"), ("頭痛", "headache"), ("腹瀉", "diarrhea"), ("皮疹", "rash"),
                ("頭暈", "dizzy"), ("喉嚨痛", "sore throat"), ("倦怠", "fatigue"), ("患者", "pt"), ("主訴", "c/o")],
}
MIX_TAIL: dict[str, list[str]] = {
    "en": ["家属陪同。", "既往体健。"],
    "zh-Hans": ["Allergies: none known.", "History taken by nurse."],
    "zh-Hant": ["Allergies: NKDA.", "History taken by nurse."],
}

LABELS = ["routine"] * 5 + ["chest", "bleeding", "infant-fever", "high-fever"]
HARD_COUNTS = {
    "ambiguity": 12, "missing-field": 12, "mixed-language": 10, "typo": 10, "distractor-number": 10, "negation": 10,
}


def _temp(value: float, lang: str) -> str:
    return f"{value:.1f}°C" if lang != "zh-Hans" else f"{value:.1f}℃"


def make(lang: str, rng: random.Random, label: str, tag: str) -> tuple[str, Row, list[str]]:
    sep = " " if lang == "en" else ""
    ph = PHRASES[lang]
    urgent = label != "routine"
    core: list[str] = []  # symptom codes, in text order
    special: dict[str, str] = {}  # code -> fixed phrase (with a temperature or a severity)
    if label == "chest":
        extra = rng.sample(["nausea", "dizziness", "back-pain", "fatigue"], rng.randrange(0, 2))
        core = ["chest-pain", "shortness-of-breath", *extra]
    elif label == "bleeding":
        core = [*rng.sample(["dizziness", "fatigue"], rng.randrange(0, 2)), "bleeding"]
        special["bleeding"] = pick(rng, ph["bleeding-heavy"])
    elif label == "infant-fever":
        core = ["fever", *rng.sample(["cough", "vomiting", "diarrhea", "rash"], rng.randrange(0, 2))]
    elif label == "high-fever":
        extra = rng.sample(["headache", "cough", "sore-throat", "fatigue", "vomiting"], rng.randrange(0, 3))
        core = ["fever", *extra]
        t = _temp(rng.choice([40.0, 40.2, 40.5, 40.8, 41.0]), lang)
        special["fever"] = {"en": f"a fever of {t}", "zh-Hans": f"发烧（体温{t}）", "zh-Hant": f"發燒（體溫{t}）"}[lang]
    else:
        core = rng.sample(ROUTINE_POOL, rng.randrange(1, 4))
        if rng.random() < 0.15:
            core.append("bleeding")
            special["bleeding"] = pick(rng, ph["bleeding-light"])
        if rng.random() < 0.1 and "fever" not in core:
            core.append("shortness-of-breath")
            special["shortness-of-breath"] = {
                "en": "slight breathlessness when climbing stairs", "zh-Hans": "爬楼梯时稍有气短",
                "zh-Hant": "爬樓梯時有點喘"}[lang]
        if "fever" in core and rng.random() < 0.4:
            t = _temp(rng.choice([37.8, 38.2, 38.5, 38.9, 39.1]), lang)
            special["fever"] = {"en": f"a fever of {t}", "zh-Hans": f"发烧（体温{t}）",
                                "zh-Hant": f"發燒（體溫{t}）"}[lang]
    if tag == "ambiguity" and len(core) < 2:
        extra = [s for s in ROUTINE_POOL if s not in core and s != "fever"]
        core.append(rng.choice(extra))

    def phrase(code: str) -> str:
        return special.get(code) or pick(rng, ph[code])

    # Durations: one group normally; two groups with different durations for `ambiguity` (gold = the longest).
    duration: int | None
    if tag == "missing-field":
        groups: list[tuple[list[str], int | None]] = [(core, None)]
        duration = None
    elif tag == "ambiguity":
        d1, d2 = sorted(rng.sample(DURATIONS, 2))
        if label in ACUTE:
            d1, d2 = 1, rng.choice(ACUTE[label][1:])
        cut = rng.randrange(1, len(core))
        first, second = core[:cut], core[cut:]
        groups = [(first, d2), (second, d1)] if rng.random() < 0.5 else [(first, d1), (second, d2)]
        duration = d2
    else:
        duration = rng.choice(ACUTE[label]) if label in ACUTE else rng.choice(DURATIONS)
        groups = [(core, duration)]

    who = _who(lang, rng, infant=label == "infant-fever")
    verbs = INFANT_VERB[lang] if label == "infant-fever" else VERB[lang]
    clauses: list[str] = []
    for i, (codes, days) in enumerate(groups):
        syms = _join(lang, [phrase(c) for c in codes])
        if lang == "en":
            dur = f" {_duration(lang, days, rng)}" if days is not None else ""
            if i == 0:
                clauses.append(f"{who} {pick(rng, verbs)} {syms}{dur}")
            else:
                clauses.append(f"{pick(rng, ['and', 'plus', 'as well as'])} {syms}{dur}")
        else:
            dur = "" if days is None else "，" + _duration(lang, days, rng)
            clauses.append((f"{who}{pick(rng, verbs)}" if i == 0 else "另有") + syms + dur)
    body = (", ".join(clauses) + ".") if lang == "en" else ("；".join(clauses) + "。")
    parts = [body]
    if tag == "negation":
        absent = [c for c in NEG_WORD[lang] if c not in core]  # never deny a symptom that is present
        for code in rng.sample(absent, 2 if rng.random() < 0.5 else 1):
            parts.append(fill(pick(rng, NEGATION[lang]), {"x": NEG_WORD[lang][code]}))
    slots: dict[str, str] = {}
    if tag == "distractor-number":
        for tmpl in rng.sample(DISTRACTOR[lang], 2):
            parts.append(tmpl)
        slots = {
            "dose": str(rng.choice([200, 400, 600])),
            "date": f"2026-{rng.randrange(1, 12):02d}-{rng.randrange(1, 28):02d}" if lang == "en"
            else f"{rng.randrange(1, 12)}月{rng.randrange(1, 28)}日",
            "phone": f"0{rng.randrange(7000, 7999)} {rng.randrange(100000, 999999)}" if lang == "en"
            else f"13{rng.randrange(0, 10)}{rng.randrange(10_000_000, 99_999_999)}" if lang == "zh-Hans"
            else f"09{rng.randrange(10, 99)}-{rng.randrange(100, 999)}-{rng.randrange(100, 999)}",
            "kg": f"{rng.randrange(35, 60) / 10:.1f}" if label == "infant-fever"
            else str(rng.randrange(15, 40)) if any(k in who for k in ("boy", "girl", "男孩", "女孩", "男童", "女童"))
            else str(rng.randrange(45, 95)),
        }
    template = sep.join(parts)
    if tag == "typo":
        template = typos(lang, template, rng)
    if tag == "mixed-language":
        template = code_switch(template, MIX_WORDS[lang], rng) + sep + pick(rng, MIX_TAIL[lang])
    text = fill(template, slots)
    gold: Row = {"symptoms": [c for codes, _ in groups for c in codes], "duration_days": duration, "urgent": urgent}
    return text, gold, [tag] if tag else []


RULES_EN = (
    "You read patient intake notes and return JSON only. This is a test of a model on synthetic notes; it is not for "
    "clinical use.\n"
    "Fields:\n"
    "- symptoms: the codes of the symptoms the patient has (not those the note says are absent or denied), in the "
    "order they appear, at most 6, from: fever, cough, headache, chest-pain, shortness-of-breath, nausea, vomiting, "
    "diarrhea, rash, dizziness, abdominal-pain, sore-throat, fatigue, back-pain, bleeding.\n"
    "- duration_days: how long the longest-lasting symptom has lasted, in whole days (since yesterday = 1, a week = "
    "7, two weeks = 14, a month = 30); null if the note gives no duration.\n"
    "- urgent: true if the note shows any red flag: chest pain together with shortness of breath; heavy or "
    "uncontrolled bleeding; fever in a baby under 3 months old; a temperature of 40°C or higher. Otherwise false."
)

RULES_HANS = (
    "你负责阅读患者预检登记记录，只输出 JSON。这是用合成记录测试模型，不可用于临床。\n"
    "字段：\n"
    "- symptoms：患者现有症状的代码（记录中说明没有或否认的不算），按出现顺序，最多 6 个，只能取：fever（发热）、"
    "cough（咳嗽）、headache（头痛）、chest-pain（胸痛）、shortness-of-breath（气短/呼吸困难）、nausea（恶心）、"
    "vomiting（呕吐）、diarrhea（腹泻）、rash（皮疹）、dizziness（头晕）、abdominal-pain（腹痛）、"
    "sore-throat（咽痛）、fatigue（乏力）、back-pain（背痛）、bleeding（出血）。\n"
    "- duration_days：持续最久的症状已持续多少天，取整数（从昨天开始 = 1，一周 = 7，两周 = 14，一个月 = 30）；"
    "记录没写持续时间则为 null。\n"
    "- urgent：有以下任一危险信号时为 true：胸痛并伴气短/呼吸困难；大量或止不住的出血；3 个月以下婴儿发热；体温 40℃ "
    "或以上。否则为 false。"
)

RULES_HANT = (
    "你負責閱讀病人檢傷登記紀錄，只輸出 JSON。這是用合成紀錄測試模型，不可用於臨床。\n"
    "欄位：\n"
    "- symptoms：病人現有症狀的代碼（紀錄中說沒有或否認的不算），依出現順序，最多 6 個，只能取：fever（發燒）、"
    "cough（咳嗽）、headache（頭痛）、chest-pain（胸痛）、shortness-of-breath（呼吸困難/喘）、nausea（噁心）、"
    "vomiting（嘔吐）、diarrhea（腹瀉）、rash（皮疹）、dizziness（頭暈）、abdominal-pain（腹痛）、"
    "sore-throat（喉嚨痛）、fatigue（倦怠）、back-pain（背痛）、bleeding（出血）。\n"
    "- duration_days：持續最久的症狀已持續幾天，取整數（從昨天開始 = 1，一週 = 7，兩週 = 14，一個月 = 30）；"
    "紀錄沒寫持續時間則為 null。\n"
    "- urgent：有以下任一危險徵象時為 true：胸痛合併呼吸困難；大量或止不住的出血；3 個月以下嬰兒發燒；體溫 40°C "
    "或以上。否則為 false。"
)

PROVENANCE_RULES = """## Labelling rules (also stated in the system prompt)

- **symptoms**: the codes of the symptoms present, in order of appearance; symptoms the note says are absent
  ("No fever.", "Denies cough.", 否认咳嗽) are not included. Light bleeding (a nosebleed that stopped, gums
  when brushing) is coded `bleeding` but is not a red flag; slight breathlessness on stairs is coded
  `shortness-of-breath` but appears without chest pain.
- **duration_days**: how long the longest-lasting symptom has lasted, in days: since yesterday = 1, a week = 7,
  two weeks = 14, three weeks = 21, a month = 30. Rows tagged `missing-field` give no duration; gold null.
  Rows tagged `ambiguity` give two symptom groups with two different durations; gold = the longer one.
- **urgent**: true exactly when one of these red flags is written: chest pain together with shortness of
  breath; heavy or uncontrolled bleeding; fever in a baby under 3 months; a temperature of 40 °C or higher.
  The generator draws one of five label kinds (routine x5, chest, bleeding, infant-fever, high-fever) in equal
  shares, so about 44% of rows are urgent; routine rows never contain a red flag (routine temperatures are
  below 40 °C, routine patients are 3 years or older, chest pain appears only with shortness of breath).
- `negation` rows add one or two denied symptoms that are not in the gold. `distractor-number` rows add a
  medication dose, a date of a previous visit, a phone number or a body weight beside the real duration.
- `typo` rows: two adjacent letters swapped in two English words, or two characters replaced by homophones in
  Chinese (e.g. 晕 -> 云, 疼 -> 腾). `mixed-language` rows: English symptom words or clinical shorthand (pt, c/o,
  NKDA) inside Chinese notes, or Chinese symptom words inside English notes.
- The notes are short, made-up triage sentences, written by software engineers, **not reviewed by a clinician**.
  The red-flag rules are a simplified test rule, **not clinical guidance**."""

SPEC = TaskSpec(
    name="clinic-intake",
    short="clinic",
    sector="healthcare",
    description=(
        "NOT FOR CLINICAL USE. Structuring short synthetic patient intake notes: the model lists the reported "
        "symptoms as fixed codes (leaving out denied ones), the duration in days, and whether a simplified "
        "red-flag rule marks the note as urgent. For teams evaluating whether a model can pre-fill an intake "
        "form for a human to check; the notes are made up and the rule is a test rule, not medical guidance. "
        "Synthetic data in English, Simplified and Traditional Chinese."
    ),
    notice="Synthetic data; not for clinical use.",
    system={"en": RULES_EN, "zh-Hans": RULES_HANS, "zh-Hant": RULES_HANT},
    user={"en": "Intake note:\n{{ text }}", "zh-Hans": "预检记录：\n{{ text }}", "zh-Hant": "檢傷紀錄：\n{{ text }}"},
    schema={
        "type": "object",
        "properties": {
            "symptoms": {"type": "array", "items": {"enum": SYMPTOMS}, "maxItems": 6},
            "duration_days": {"type": ["integer", "null"], "minimum": 0},
            "urgent": {"type": "boolean"},
        },
        "required": ["symptoms", "duration_days", "urgent"],
        "additionalProperties": False,
    },
    gates=[
        "symptoms.set_f1 >= 0.85",
        "duration_days.numeric >= 0.8",
        "urgent.accuracy >= 0.9",
    ],
    label_field="urgent",
    labels=LABELS,
    hard_counts=HARD_COUNTS,
    make=make,
    provenance_rules=PROVENANCE_RULES,
    count_fields=["urgent", "symptoms", "duration_days"],
    abstention=None,
)
