"""maintenance-log: synthetic free-text maintenance log entries written by technicians. Templates per language."""

from __future__ import annotations

import random

from _common import Row, TaskSpec, code_switch, fill, pick, typos

FAULTS = ["overheating", "vibration", "leak", "electrical", "wear", "jam", "calibration", "none"]
SEVERITIES = ["low", "medium", "high", "critical"]
ACTIONS = ["inspect", "adjust", "repair", "replace", "shutdown", "none"]

# (fault, severity, action, equipment kinds, en, zh-Hans, zh-Hant); {eq} = the equipment as written (or a generic
# word when unnamed). The kinds ("*" = any) keep each problem on a machine where it makes sense.
Scenario = tuple[str, str, str, str, str, str, str]

SCENARIOS: list[Scenario] = [
    ("overheating", "medium", "adjust", "cnc",
     "Spindle on {eq} reached 78°C during long runs. Lowered the feed rate, temperature back to normal.",
     "{eq}主轴长时间运行温度升到78℃，已把进给速度调低，温度恢复正常。",
     "{eq}主軸長時間運轉溫度升到78℃，已把進給速度調低，溫度恢復正常。"),
    ("overheating", "high", "shutdown", "*",
     "Motor of {eq} overheated and tripped twice this shift. Machine stopped until the motor can be checked.",
     "{eq}电机过热，本班跳闸两次。已停机，等电机检查后再开。",
     "{eq}馬達過熱，本班跳脫兩次。已停機，等馬達檢查後再開。"),
    ("overheating", "critical", "shutdown", "press",
     "Hydraulic oil in {eq} overheating, smoke coming from the tank. Emergency stop pressed and area cleared.",
     "{eq}液压油温过高，油箱冒烟。已按急停，人员已撤离现场。",
     "{eq}液壓油溫過高，油箱冒煙。已按緊急停止，人員已撤離現場。"),
    ("overheating", "low", "inspect", "*",
     "Housing of {eq} a little warmer than usual but within limits. Will check again next shift.",
     "{eq}外壳比平时稍热，但在允许范围内。下个班再检查一次。",
     "{eq}外殼比平常稍熱，但在容許範圍內。下一班再檢查一次。"),
    ("vibration", "low", "inspect", "cnc press conv fluid robot mixer",
     "Slight vibration on {eq} at top speed, still within tolerance. Logged for the next service.",
     "{eq}高速时有轻微振动，仍在公差范围内。记录下来，下次保养时处理。",
     "{eq}高速時有輕微振動，仍在公差範圍內。記錄下來，下次保養時處理。"),
    ("vibration", "medium", "adjust", "cnc press conv fluid robot mixer",
     "Noticeable vibration on {eq}. Re-tightened the mounting bolts, vibration now reduced.",
     "{eq}振动明显，重新拧紧了地脚螺栓，振动已减小。",
     "{eq}振動明顯，重新鎖緊了固定螺栓，振動已減小。"),
    ("vibration", "high", "shutdown", "cnc press conv fluid robot mixer",
     "Heavy vibration and a knocking noise from {eq}. Stopped it to prevent damage; waiting for the mechanic.",
     "{eq}剧烈振动并有敲击声，为防止损坏已停机，等机修工来看。",
     "{eq}劇烈振動並有敲擊聲，為避免損壞已停機，等機修人員來看。"),
    ("leak", "low", "adjust", "cnc press fluid robot mixer",
     "Small oil drip from a fitting on {eq}. Tightened the fitting, drip stopped.",
     "{eq}一个接头有少量滴油，拧紧接头后不滴了。",
     "{eq}一個接頭有少量滴油，鎖緊接頭後就不滴了。"),
    ("leak", "medium", "replace", "press",
     "Hydraulic hose on {eq} leaking at the crimp. Replaced the hose.",
     "{eq}液压油管压接处漏油，已更换油管。",
     "{eq}液壓油管壓接處漏油，已更換油管。"),
    ("leak", "critical", "shutdown", "cnc",
     "Coolant line on {eq} burst, oil all over the walkway and a slip hazard. Machine shut down and area cordoned off.",
     "{eq}冷却液管爆裂，通道上全是油，有滑倒危险。已停机并拉警戒线。",
     "{eq}冷卻液管破裂，走道上都是油，有滑倒危險。已停機並拉起警戒線。"),
    ("leak", "medium", "repair", "robot conv press",
     "Air leak in the pneumatic line of {eq}, pressure dropping. Re-sealed the joint, holding pressure now.",
     "{eq}气路漏气，气压下降。重新密封了接头，现在保压正常。",
     "{eq}氣壓管路漏氣，壓力下降。重新密封了接頭，現在保壓正常。"),
    ("electrical", "high", "repair", "*",
     "Control panel of {eq} lost power and it was down for an hour. Found a loose terminal, re-wired it, running "
     "again.",
     "{eq}控制柜断电，停了一个小时。查到一个端子松了，重新接好线，设备已恢复运行。",
     "{eq}控制箱斷電，停了一個小時。查到一個端子鬆脫，重新接線後設備已恢復運轉。"),
    ("electrical", "critical", "shutdown", "*",
     "Sparks from the power cable of {eq}. Isolated the power and locked out the machine.",
     "{eq}电源线冒火花，已断电并上锁挂牌。",
     "{eq}電源線冒火花，已斷電並上鎖掛牌。"),
    ("electrical", "medium", "replace", "*",
     "Display on {eq} flickering on and off. Replaced the power supply unit.",
     "{eq}显示屏时亮时灭，已更换电源模块。",
     "{eq}螢幕忽亮忽暗，已更換電源供應器。"),
    ("electrical", "low", "replace", "*",
     "Status lamp on {eq} burnt out. Replaced the bulb, no other problem.",
     "{eq}状态指示灯烧了，已换灯泡，无其他问题。",
     "{eq}狀態指示燈燒掉了，已換燈泡，沒有其他問題。"),
    ("wear", "medium", "replace", "cnc",
     "Cutting tool on {eq} worn, surface finish poor. Replaced the tool.",
     "{eq}刀具磨损，表面光洁度差，已换刀。",
     "{eq}刀具磨耗，表面粗糙度變差，已換刀。"),
    ("wear", "low", "inspect", "conv fluid mixer",
     "Drive belt on {eq} shows early signs of wear. Checked tension; plan to replace at next service.",
     "{eq}传动皮带开始有磨损迹象，检查了张力，计划下次保养时更换。",
     "{eq}傳動皮帶開始有磨耗跡象，檢查了張力，預計下次保養時更換。"),
    ("wear", "high", "replace", "conv fluid mixer",
     "Drive belt on {eq} snapped and the machine stopped. Fitted a new belt.",
     "{eq}传动皮带断了，设备停了，已装上新皮带。",
     "{eq}傳動皮帶斷了，設備停了，已裝上新皮帶。"),
    ("jam", "medium", "repair", "conv press",
     "Parts jammed in the feeder of {eq}, short stop. Cleared the jam on the spot and restarted.",
     "{eq}送料器卡料，短暂停机，当场清除卡料后重新开机。",
     "{eq}送料器卡料，短暫停機，當場清除卡料後重新開機。"),
    ("jam", "high", "shutdown", "conv press",
     "Feeder of {eq} jams every few minutes. Taken out of service until the feeder is rebuilt.",
     "{eq}送料器每隔几分钟就卡一次，已停用，等送料器大修后再用。",
     "{eq}送料器每隔幾分鐘就卡一次，已停用，等送料器大修後再使用。"),
    ("jam", "low", "repair", "conv",
     "One label stuck in the rollers of {eq}. Removed it, no other issue.",
     "{eq}滚轮里卡了一张标签，取出来了，无其他问题。",
     "{eq}滾輪裡卡了一張標籤，取出來了，沒有其他問題。"),
    ("calibration", "medium", "adjust", "cnc",
     "Measurements on {eq} drifted by 0.05 mm. Recalibrated against the master gauge.",
     "{eq}测量值漂移了0.05毫米，已用标准件重新校准。",
     "{eq}量測值偏移0.05公釐，已用標準件重新校正。"),
    ("calibration", "low", "adjust", "conv",
     "Scale on {eq} reading 2 g heavy. Zeroed it.",
     "{eq}秤重偏重2克，已归零。",
     "{eq}秤重偏重2克，已歸零。"),
    ("calibration", "high", "shutdown", "cnc robot",
     "Positioning on {eq} off by 2 mm, all parts this shift out of spec. Production stopped pending calibration.",
     "{eq}定位偏差2毫米，本班零件全部超差。已停产，等待校准。",
     "{eq}定位偏差2公釐，本班零件全部超出規格。已停產，等待校正。"),
    ("calibration", "medium", "inspect", "fluid oven mixer robot",
     "Sensor readings on {eq} do not match the handheld gauge. Checked the wiring; calibration check requested.",
     "{eq}传感器读数和手持量具对不上，检查了接线，已申请校准检查。",
     "{eq}感測器讀數和手持量具對不起來，檢查了配線，已申請校正檢查。"),
    ("none", "low", "none", "*",
     "Routine check of {eq}: all normal, no issues found.",
     "{eq}例行点检：一切正常，未发现问题。",
     "{eq}例行點檢：一切正常，沒有發現問題。"),
    ("none", "low", "inspect", "*",
     "Operator reported a strange noise on {eq}. Inspected, found nothing wrong.",
     "操作员反映{eq}有异响，检查后未发现异常。",
     "操作員反映{eq}有異音，檢查後沒有發現異常。"),
    ("none", "low", "none", "*",
     "Start-of-shift check on {eq}, everything within limits.",
     "{eq}班前检查，各项均在范围内。",
     "{eq}班前檢查，各項都在範圍內。"),
]

# Ambiguity: a symptom plus a stated root cause; gold fault = the ROOT CAUSE.
AMBIGUOUS: list[Scenario] = [
    ("wear", "medium", "replace", "cnc fluid mixer",
     "Strong vibration on {eq}. Opened it up: the main bearing is worn out. Replaced the bearing.",
     "{eq}振动很大，拆开检查发现主轴承磨损严重，已更换轴承。",
     "{eq}振動很大，拆開檢查發現主軸承磨耗嚴重，已更換軸承。"),
    ("leak", "medium", "repair", "cnc",
     "{eq} overheating again; root cause is a coolant leak at the pump seal. Repaired the seal and topped up coolant.",
     "{eq}又过热了，原因是冷却泵密封处漏液。已修好密封并补充冷却液。",
     "{eq}又過熱了，原因是冷卻泵浦軸封漏液。已修好軸封並補充冷卻液。"),
    ("wear", "medium", "replace", "cnc",
     "Parts from {eq} out of tolerance. Calibration is fine; the cause is a worn tool. Replaced the tool.",
     "{eq}加工件尺寸超差。校准没问题，原因是刀具磨损，已换刀。",
     "{eq}加工件尺寸超差。校正沒問題，原因是刀具磨耗，已換刀。"),
    ("electrical", "high", "replace", "*",
     "{eq} stopped as if jammed, but the real cause was a blown fuse in the motor circuit. Replaced the fuse.",
     "{eq}像卡住一样停了，实际原因是电机回路保险丝烧断，已更换保险丝。",
     "{eq}像卡住一樣停了，實際原因是馬達迴路保險絲燒斷，已更換保險絲。"),
    ("jam", "medium", "repair", "conv",
     "{eq} motor tripping on overload; cause was a carton jammed in the rollers. Cleared it, running normally.",
     "{eq}电机过载跳闸，原因是一个纸箱卡在滚轮里。已清除，运行正常。",
     "{eq}馬達過載跳脫，原因是一個紙箱卡在滾輪裡。已清除，運轉正常。"),
    ("calibration", "medium", "adjust", "fluid oven mixer robot",
     "{eq} shows a sensor fault alarm, but the wiring and sensor are fine; the probe had drifted out of "
     "calibration. Recalibrated it.",
     "{eq}报传感器故障，但接线和传感器都正常，原因是探头校准漂移。已重新校准。",
     "{eq}顯示感測器故障警報，但配線和感測器都正常，原因是探頭校正偏移。已重新校正。"),
]

EQUIPMENT: dict[str, list[tuple[str, str]]] = {
    "en": [("CNC-07", "cnc"), ("Press P-3", "press"), ("Conveyor C2", "conv"), ("Compressor AC-12", "fluid"),
           ("Robot R-05", "robot"), ("Boiler B1", "oven"), ("IM-4", "press"), ("Pump P-101", "fluid"),
           ("Lathe L-2", "cnc"), ("Mixer MX-2", "mixer"), ("Oven OV-1", "oven"), ("Filler F-6", "conv"),
           ("Chiller CH-3", "fluid"), ("Line 4 capper", "conv")],
    "zh-Hans": [("2号注塑机", "press"), ("3号冲床", "press"), ("CNC-07", "cnc"), ("空压机AC-12", "fluid"),
                ("1号锅炉", "oven"), ("5号传送带", "conv"), ("焊接机器人R-05", "robot"), ("P-101泵", "fluid"),
                ("2号车床", "cnc"), ("MX-2搅拌机", "mixer"), ("3号烘箱", "oven"), ("冷水机CH-3", "fluid"),
                ("4线封口机", "conv"), ("IM-4", "press")],
    "zh-Hant": [("2號射出成型機", "press"), ("3號沖床", "press"), ("CNC-07", "cnc"), ("空壓機AC-12", "fluid"),
                ("1號鍋爐", "oven"), ("5號輸送帶", "conv"), ("焊接機械手臂R-05", "robot"), ("P-101泵浦", "fluid"),
                ("2號車床", "cnc"), ("MX-2攪拌機", "mixer"), ("3號烤箱", "oven"), ("冰水機CH-3", "fluid"),
                ("4線封蓋機", "conv"), ("IM-4", "press")],
}
UNNAMED: dict[str, list[str]] = {
    "en": ["the machine", "the unit"],
    "zh-Hans": ["这台机器", "设备"],
    "zh-Hant": ["這台機器", "設備"],
}
PREFIX: dict[str, list[str]] = {
    "en": ["", "Night shift:", "Day shift:", "Note:", ""],
    "zh-Hans": ["", "夜班：", "白班：", "备注：", ""],
    "zh-Hant": ["", "夜班：", "早班：", "備註：", ""],
}
SUFFIX: dict[str, list[str]] = {
    "en": ["", "", "Supervisor informed.", "- tech on duty"],
    "zh-Hans": ["", "", "已告知班长。", "——值班机修"],
    "zh-Hant": ["", "", "已通知領班。", "——值班技術員"],
}
DISTRACTOR: dict[str, list[str]] = {
    "en": ["Work order {wo}, {hours} h since last service.", "Ref {wo}; {scrap} parts scrapped, logged at {clock}.",
           "Spare part no. {part} used from stock {wo}."],
    "zh-Hans": ["工单{wo}，距上次保养{hours}小时。", "单号{wo}；报废{scrap}件，{clock}记录。",
                "领用备件编号{part}，出库单{wo}。"],
    "zh-Hant": ["工單{wo}，距上次保養{hours}小時。", "單號{wo}；報廢{scrap}件，{clock}記錄。",
                "領用備品料號{part}，出庫單{wo}。"],
}
MIX_WORDS: dict[str, list[tuple[str, str]]] = {
    "en": [("bearing", "轴承"), ("Motor", "电机"), ("motor", "电机"), ("belt", "皮带"), ("feeder", "送料器"),
           ("Spindle", "主轴"), ("fitting", "接头"), ("tool", "刀具"), ("fuse", "保险丝"), ("hose", "油管")],
    "zh-Hans": [("轴承", "bearing"), ("主轴", "spindle"), ("传感器", "sensor"), ("皮带", "belt"), ("保养", "PM"),
                ("校准", "calibration"), ("油管", "hose"), ("控制柜", "control panel"), ("电机", "motor"),
                ("送料器", "feeder"), ("刀具", "tool"), ("保险丝", "fuse"), ("接头", "fitting")],
    "zh-Hant": [("軸承", "bearing"), ("主軸", "spindle"), ("感測器", "sensor"), ("皮帶", "belt"), ("保養", "PM"),
                ("校正", "calibration"), ("油管", "hose"), ("控制箱", "control panel"), ("馬達", "motor"),
                ("送料器", "feeder"), ("刀具", "tool"), ("保險絲", "fuse"), ("接頭", "fitting")],
}
MIX_TAIL: dict[str, list[str]] = {
    "en": ["下个班继续观察。", "已通知班长。"],
    "zh-Hans": ["Need follow-up next shift.", "FYI supervisor informed."],
    "zh-Hant": ["Need follow-up next shift.", "FYI supervisor informed."],
}

HARD_COUNTS = {"ambiguity": 14, "missing-field": 12, "mixed-language": 12, "typo": 12, "distractor-number": 12}


def make(lang: str, rng: random.Random, label: str, tag: str) -> tuple[str, Row, list[str]]:
    pool = AMBIGUOUS if tag == "ambiguity" else SCENARIOS
    choices = [s for s in pool if s[0] == label] or pool
    fault, severity, action, kinds, en, hans, hant = rng.choice(choices)
    body = {"en": en, "zh-Hans": hans, "zh-Hant": hant}[lang]
    equipment: str | None = None
    if tag == "missing-field":
        eq_text = pick(rng, UNNAMED[lang])
    else:
        fits = [name for name, kind in EQUIPMENT[lang] if kinds == "*" or kind in kinds.split()]
        equipment = pick(rng, fits)
        eq_text = equipment
    if body.startswith("{eq}") and lang == "en":
        eq_text = eq_text[:1].upper() + eq_text[1:]
    slots: dict[str, str] = {"eq": eq_text}
    parts = [pick(rng, PREFIX[lang]), body]
    if tag == "distractor-number":
        parts.append(pick(rng, DISTRACTOR[lang]))
        slots.update({
            "wo": f"WO-{rng.choice([2025, 2026])}-{rng.randrange(100, 9999):04d}",
            "hours": str(rng.randrange(120, 2000)),
            "scrap": str(rng.randrange(2, 40)),
            "clock": f"{rng.randrange(0, 24):02d}:{rng.randrange(0, 60):02d}",
            "part": f"{rng.choice(['BRG', 'SEAL', 'FU', 'BLT'])}-{rng.randrange(1000, 9999)}",
        })
    parts.append(pick(rng, SUFFIX[lang]))
    sep = " " if lang == "en" else ""
    template = sep.join(p for p in parts if p)
    if tag == "typo":
        template = typos(lang, template, rng)
    if tag == "mixed-language":
        template = code_switch(template, MIX_WORDS[lang], rng) + sep + pick(rng, MIX_TAIL[lang])
    text = fill(template, slots)
    gold: Row = {"equipment": equipment, "fault": fault, "severity": severity, "action": action}
    return text, gold, [tag] if tag else []


RULES_EN = (
    "You read maintenance log entries written by technicians in a factory and return JSON only.\n"
    "Fields:\n"
    "- equipment: the machine tag or name exactly as written in the entry (e.g. \"CNC-07\", \"Press P-3\"); null if "
    "the entry names no specific machine (\"the machine\" is not a name). Work-order, reference and spare-part "
    "numbers are not equipment.\n"
    "- fault: overheating, vibration, leak, electrical, wear, jam, calibration, or none (routine check, nothing "
    "wrong). When the entry states a root cause, give the root cause (vibration caused by a worn bearing -> wear); "
    "otherwise the fault observed.\n"
    "- severity: critical = safety hazard (smoke, sparks, fire, spill, injury risk); high = the machine broke down "
    "or cannot make good parts; medium = degraded, or a short stop cleared on the spot; low = minor, cosmetic or "
    "routine.\n"
    "- action: what the technician did in this entry: shutdown (stopped, locked out or took the machine out of "
    "service), replace (fitted a new part), repair (fixed in place: re-wired, re-sealed, cleared a jam), adjust "
    "(tightened, recalibrated, zeroed, changed a setting), inspect (checked or monitored only), none (nothing done). "
    "If several apply, take the first in that order."
)

RULES_HANS = (
    "你负责阅读工厂技术员写的设备维修日志，只输出 JSON。\n"
    "字段：\n"
    "- equipment：日志中写的设备编号或名称，原样照抄（如 \"CNC-07\"、\"2号注塑机\"）；没有指明具体设备则为 "
    "null（\"这台机器\"\"设备\"不算名称）。工单号、单号、备件编号都不是设备。\n"
    "- fault：overheating（过热）、vibration（振动）、leak（泄漏）、electrical（电气）、wear（磨损）、"
    "jam（卡料/卡滞）、calibration（校准偏差）或 none（例行检查，无故障）。"
    "日志写明根本原因时填根本原因（例如轴承磨损引起振动 -> wear），否则填观察到的故障。\n"
    "- severity：critical = 安全隐患（冒烟、火花、起火、泄漏满地、可能伤人）；high = 设备故障停机或无法生产合格品；"
    "medium = 性能下降，或当场排除的短暂停机；low = 轻微、外观问题或例行检查。\n"
    "- action：本条日志中技术员做了什么：shutdown（停机、上锁或停用）、replace（换了新零件）、repair（原地修复："
    "重新接线、重新密封、清除卡料）、adjust（拧紧、校准、归零、调整参数）、inspect（只检查或观察）、"
    "none（什么都没做）。同时有几项时，按上面的顺序取第一个。\n"
    "所有取值一律使用上面的英文代码。"
)

RULES_HANT = (
    "你負責閱讀工廠技術員寫的設備維修日誌，只輸出 JSON。\n"
    "欄位：\n"
    "- equipment：日誌中寫的設備編號或名稱，原樣照抄（如 \"CNC-07\"、\"2號射出成型機\"）；沒有指明具體設備則為 "
    "null（「這台機器」「設備」不算名稱）。工單號、單號、料號都不是設備。\n"
    "- fault：overheating（過熱）、vibration（振動）、leak（洩漏）、electrical（電氣）、wear（磨耗）、"
    "jam（卡料/卡住）、calibration（校正偏差）或 none（例行檢查，無故障）。"
    "日誌寫明根本原因時填根本原因（例如軸承磨耗造成振動 -> wear），否則填觀察到的故障。\n"
    "- severity：critical = 安全危害（冒煙、火花、起火、大量洩漏、可能傷人）；high = 設備故障停機或無法生產合格品；"
    "medium = 性能下降，或當場排除的短暫停機；low = 輕微、外觀問題或例行檢查。\n"
    "- action：本則日誌中技術員做了什麼：shutdown（停機、上鎖或停用）、replace（換上新零件）、repair（就地修復："
    "重新接線、重新密封、清除卡料）、adjust（鎖緊、校正、歸零、調整參數）、inspect（只檢查或觀察）、"
    "none（什麼都沒做）。同時有幾項時，依上面的順序取第一個。\n"
    "所有值一律使用上面的英文代碼。"
)

PROVENANCE_RULES = """## Labelling rules (also stated in the system prompt)

- **equipment**: the machine tag or name exactly as written. Rows tagged `missing-field` refer only to "the
  machine" / "the unit" / 这台机器 / 設備, and their gold is null.
- **fault**: when the entry states a root cause, the root cause; otherwise the fault observed. Rows tagged
  `ambiguity` describe a symptom of one kind and a stated cause of another (e.g. vibration caused by a worn
  bearing -> `wear`; overheating caused by a coolant leak -> `leak`; a stop that looked like a jam caused by a
  blown fuse -> `electrical`).
- **severity**: critical = safety hazard (smoke, sparks, spill, injury risk); high = machine broke down or cannot make
  good parts; medium = degraded, or a short stop cleared on the spot; low = minor, cosmetic or routine.
- **action**: first applicable in the order shutdown > replace > repair > adjust > inspect > none.
- `distractor-number` rows add a work-order number (WO-YYYY-NNNN), a spare-part number, hours since service,
  a scrap count or a clock time next to the equipment tag; none of them is the equipment.
- `typo` rows: two adjacent letters swapped in two English words, or two characters replaced by homophones in
  Chinese; never inside the equipment name. `mixed-language` rows: technical terms in English inside Chinese
  entries (bearing, spindle, sensor, PM, ...) plus an English note, or Chinese terms and a Chinese note inside
  English entries."""

SPEC = TaskSpec(
    name="maintenance-log",
    short="maint",
    sector="manufacturing",
    description=(
        "Structuring free-text maintenance log entries written by factory technicians: the model extracts the "
        "equipment tag as written, classifies the fault (by root cause when one is stated), the severity and the "
        "action taken, so that a plant can build a searchable maintenance history and spot recurring faults. For "
        "maintenance and reliability engineers evaluating a model on their shop-floor notes. Synthetic data in "
        "English, Simplified and Traditional Chinese."
    ),
    notice="Synthetic data; for evaluating models, not a record of real equipment.",
    system={"en": RULES_EN, "zh-Hans": RULES_HANS, "zh-Hant": RULES_HANT},
    user={"en": "Log entry:\n{{ text }}", "zh-Hans": "维修日志：\n{{ text }}", "zh-Hant": "維修日誌：\n{{ text }}"},
    schema={
        "type": "object",
        "properties": {
            "equipment": {"type": ["string", "null"], "maxLength": 40},
            "fault": {"enum": FAULTS},
            "severity": {"enum": SEVERITIES},
            "action": {"enum": ACTIONS},
        },
        "required": ["equipment", "fault", "severity", "action"],
        "additionalProperties": False,
    },
    gates=[
        "fault.macro_f1 >= 0.8",
        "severity.accuracy >= 0.7",
        "action.accuracy >= 0.75",
        "equipment.exact_match >= 0.85",
    ],
    label_field="fault",
    labels=FAULTS,
    hard_counts=HARD_COUNTS,
    make=make,
    provenance_rules=PROVENANCE_RULES,
    count_fields=["fault", "severity", "action"],
    abstention={"fields": ["fault"], "threshold": 0.5},
)
