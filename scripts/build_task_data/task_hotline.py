"""hotline-triage: synthetic citizen complaints to a city hotline (12345-style). Templates per language."""

from __future__ import annotations

import random

from _common import Row, TaskSpec, code_switch, fill, pick, typos

CATEGORIES = ["noise", "sanitation", "roads", "water", "housing", "transport", "public-safety", "other"]
DEPARTMENTS = [
    "environment",
    "urban-management",
    "public-works",
    "water-utility",
    "housing",
    "transport",
    "police",
    "emergency-management",
    "community-office",
]

# (category, urgency, department, place kind, en, zh-Hans, zh-Hant) -- the problem sentence, which never names the
# location; the place kind (bldg = a residential building or estate, street = a public place, any) picks a
# location that fits the problem.
Scenario = tuple[str, str, str, str, str, str, str]

SCENARIOS: list[Scenario] = [
    # noise: environment by default; noise from neighbours, parties, bars or square dancing -> police
    ("noise", "low", "environment", "street",
     "A shop's outdoor speaker plays adverts all day long. It is annoying but not serious.",
     "有家商铺门口的音箱整天放广告，有点吵，不算严重。",
     "有間店家門口的喇叭整天播廣告，有點吵，不算嚴重。"),
    ("noise", "medium", "environment", "any",
     "A construction site has been working past 11 p.m. every night for two weeks and we cannot sleep.",
     "附近工地连续两周每晚施工到11点以后，吵得我们根本睡不着。",
     "附近工地連續兩週每晚施工到11點以後，吵得我們根本睡不著。"),
    ("noise", "medium", "police", "bldg",
     "The neighbours upstairs hold loud parties until 3 a.m. several times a week.",
     "楼上邻居每周好几次开派对到凌晨3点，音乐声特别大。",
     "樓上鄰居每週好幾次開派對到凌晨3點，音樂聲特別大。"),
    ("noise", "low", "police", "street",
     "The square dancing music in the evening is a bit loud; could they turn the volume down?",
     "晚上跳广场舞的音乐有点大声，能不能让她们把音量调小一点？",
     "晚上跳廣場舞的音樂有點大聲，能不能請她們把音量調小一點？"),
    ("noise", "medium", "police", "bldg",
     "A bar on the ground floor plays loud music every night until 2 a.m.; the whole block is kept awake.",
     "楼下酒吧每晚放很大声的音乐到凌晨2点，整栋楼的人都睡不好。",
     "樓下酒吧每晚放很大聲的音樂到凌晨2點，整棟樓的人都睡不好。"),
    # sanitation: urban-management, except chemical / hazardous waste -> environment
    ("sanitation", "low", "urban-management", "street",
     "A litter bin is a little overflowing; please empty it when you have time.",
     "有个垃圾桶有点满出来了，有空的时候麻烦清一下。",
     "有個垃圾桶有點滿出來了，有空的時候麻煩清一下。"),
    ("sanitation", "medium", "urban-management", "any",
     "Rubbish has not been collected for five days; it stinks and there are flies everywhere.",
     "垃圾已经五天没人收了，臭得不行，到处都是苍蝇。",
     "垃圾已經五天沒人收了，臭得不得了，到處都是蒼蠅。"),
    ("sanitation", "medium", "urban-management", "street",
     "A dead dog has been lying on the pavement since yesterday and nobody has removed it.",
     "人行道上有一只死狗，从昨天躺到现在都没人处理。",
     "人行道上有一隻死狗，從昨天躺到現在都沒人處理。"),
    ("sanitation", "high", "environment", "street",
     "Someone dumped several barrels of unknown chemicals that smell very strongly, and children play right next to "
     "them.",
     "有人倒了几桶不明化学品，气味非常刺鼻，旁边就是小孩玩耍的地方。",
     "有人丟了幾桶不明化學品，氣味非常刺鼻，旁邊就是小孩玩耍的地方。"),
    # roads: public-works
    ("roads", "low", "public-works", "street",
     "A few paving stones on the pavement are loose and wobble when you step on them.",
     "人行道上有几块地砖松了，踩上去会晃。",
     "人行道上有幾塊地磚鬆了，踩上去會晃。"),
    ("roads", "medium", "public-works", "street",
     "Several street lights have been out for a week and the road is pitch dark at night.",
     "好几盏路灯坏了一个星期，晚上路上一片漆黑。",
     "好幾盞路燈壞了一個星期，晚上路上一片漆黑。"),
    ("roads", "high", "public-works", "street",
     "A manhole cover is missing in the middle of the road; someone could fall in at any moment.",
     "马路中间的井盖不见了，随时可能有人掉下去。",
     "馬路中間的人孔蓋不見了，隨時可能有人掉下去。"),
    ("roads", "high", "public-works", "street",
     "A large sinkhole opened in the road after the rain and cars are swerving around it right now.",
     "下雨后路面塌了一个大坑，现在车辆都在绕着走，非常危险。",
     "下雨後路面塌了一個大洞，現在車輛都在繞著走，非常危險。"),
    # water: water-utility, except leaks inside a residential building -> housing
    ("water", "high", "water-utility", "bldg",
     "We have had no water at all since yesterday morning; the whole building, about 80 households, is affected.",
     "从昨天早上到现在一直停水，整栋楼大概80户都没水用。",
     "從昨天早上到現在一直停水，整棟樓大約80戶都沒水可用。"),
    ("water", "medium", "water-utility", "bldg",
     "The tap water has been yellow and smelled of rust for three days.",
     "自来水这三天都是黄的，还有一股铁锈味。",
     "自來水這三天都是黃的，還有一股鐵鏽味。"),
    ("water", "low", "water-utility", "bldg",
     "The water pressure is a bit low in the mornings; it is not urgent.",
     "早上水压有点低，不是很急。",
     "早上水壓有點低，不是很急。"),
    ("water", "medium", "housing", "bldg",
     "Water leaks from the flat above into our bathroom ceiling every time they shower, and the property management "
     "does nothing.",
     "楼上住户一洗澡，水就从我们卫生间天花板漏下来，物业一直不管。",
     "樓上住戶一洗澡，水就從我們浴室天花板漏下來，管委會一直不處理。"),
    ("water", "high", "water-utility", "street",
     "A water main has burst and water is gushing onto the street; the road is flooding.",
     "自来水主管道爆了，水一直往街上冒，路面已经淹了。",
     "自來水幹管破了，水一直往街上冒，路面已經淹水了。"),
    # housing: housing
    ("housing", "low", "housing", "bldg",
     "The paint in our stairwell is peeling; it would be nice to have it repainted.",
     "楼道里的墙皮在脱落，希望能重新刷一下。",
     "樓梯間的油漆在剝落，希望能重新粉刷一下。"),
    ("housing", "medium", "housing", "bldg",
     "The lift in our 18-storey building has been broken for four days, and elderly residents cannot go out.",
     "我们18层的楼电梯坏了四天了，老人根本下不了楼。",
     "我們18層的大樓電梯壞了四天了，長輩根本下不了樓。"),
    ("housing", "medium", "housing", "bldg",
     "The property management company raised the fee without notice and ignores our complaints.",
     "物业公司没有通知就涨了物业费，我们投诉也没人理。",
     "管理公司沒有通知就調漲管理費，我們投訴也沒人理。"),
    ("housing", "high", "housing", "bldg",
     "Large cracks have appeared in the outer wall of our building and pieces of concrete are falling onto the "
     "walkway.",
     "我们楼的外墙出现大裂缝，混凝土块正往人行道上掉。",
     "我們大樓外牆出現大裂縫，水泥塊正往人行道上掉。"),
    # transport: transport
    ("transport", "low", "transport", "street",
     "The timetable at the bus stop is out of date; please update it.",
     "公交站牌上的时刻表是旧的，麻烦更新一下。",
     "公車站牌上的時刻表是舊的，麻煩更新一下。"),
    ("transport", "medium", "transport", "street",
     "The route {route} bus often skips our stop during the morning rush hour.",
     "{route}路公交车早高峰经常不停我们这一站。",
     "{route}路公車早上尖峰時間常常過站不停。"),
    ("transport", "medium", "transport", "street",
     "Taxi drivers waiting at the station refuse to use the meter and ask for fixed high prices.",
     "车站门口排队的出租车司机不打表，开口就要高价。",
     "車站門口排班的計程車司機不跳表，開口就要高價。"),
    ("transport", "high", "transport", "street",
     "The traffic lights at the crossing have been dead since this morning and cars nearly hit pedestrians.",
     "路口的红绿灯从早上开始就不亮了，车差点撞到行人。",
     "路口的紅綠燈從早上開始就不亮了，車子差點撞到行人。"),
    # public-safety: hazards -> emergency-management; crime and fights -> police
    ("public-safety", "high", "emergency-management", "bldg",
     "There is a strong smell of gas in the stairwell right now.",
     "楼道里现在有很浓的煤气味。",
     "樓梯間現在有很濃的瓦斯味。"),
    ("public-safety", "high", "emergency-management", "street",
     "A big tree fell in the storm and is leaning on the power lines.",
     "暴风雨把一棵大树刮倒了，正压在电线上。",
     "暴風雨把一棵大樹吹倒了，正壓在電線上。"),
    ("public-safety", "medium", "emergency-management", "bldg",
     "Residents keep piling bicycles and boxes in the fire escape and it is completely blocked.",
     "住户一直在消防通道里堆自行车和纸箱，通道完全堵死了。",
     "住戶一直在逃生通道堆腳踏車和紙箱，通道完全被堵住了。"),
    ("public-safety", "medium", "police", "bldg",
     "Several bicycles have been stolen from the bike shed this month.",
     "这个月车棚里已经丢了好几辆自行车。",
     "這個月車棚裡已經被偷了好幾台腳踏車。"),
    ("public-safety", "high", "police", "street",
     "A group of men is fighting outside the bar right now and one of them has a knife.",
     "酒吧门口现在有一群人在打架，其中一个人拿着刀。",
     "酒吧門口現在有一群人在打架，其中一個人拿著刀。"),
    ("public-safety", "low", "police", "any",
     "Teenagers hang around the playground late at night; nothing has happened, but some residents feel uneasy.",
     "深夜总有几个年轻人在游乐场闲逛，暂时没出什么事，但有居民觉得不安。",
     "深夜總有幾個年輕人在遊樂場閒晃，目前沒出什麼事，但有住戶覺得不安。"),
    # other: community-office
    ("other", "low", "community-office", "any",
     "I would like to know the opening hours of the community service centre.",
     "我想问一下社区服务中心的开放时间。",
     "我想請問一下社區活動中心的開放時間。"),
    ("other", "low", "community-office", "any",
     "A suggestion: please add more benches in the community garden.",
     "提个建议：社区花园能不能多放几张长椅。",
     "提個建議：社區花園能不能多放幾張長椅。"),
    ("other", "medium", "community-office", "bldg",
     "A resident feeds stray cats in the courtyard and the neighbours keep quarrelling about it.",
     "有居民在院子里喂流浪猫，邻居们为这事一直吵架。",
     "有住戶在中庭餵流浪貓，鄰居們為了這件事一直吵架。"),
    ("other", "medium", "community-office", "any",
     "The community centre stopped the lunch service for elderly residents without any notice.",
     "社区食堂没有任何通知就停了老人午餐服务。",
     "社區關懷據點沒有任何通知就停了長者共餐服務。"),
]

# Ambiguity: two plausible categories; gold = the category of the problem the caller asks to have fixed.
AMBIGUOUS: list[Scenario] = [
    ("sanitation", "medium", "urban-management", "street",
     "Bags of rubbish have been dumped on the road and cars have to swerve around them. Please have the rubbish "
     "cleared away.",
     "有人把一堆垃圾袋扔在马路上，车都得绕着开。请派人把垃圾清走。",
     "有人把一堆垃圾袋丟在馬路上，車子都要繞著開。請派人把垃圾清走。"),
    ("roads", "low", "public-works", "street",
     "Every time it rains, the pothole next to the bins fills with dirty water and rubbish. Please repair the road "
     "surface.",
     "垃圾桶旁边的路面有个坑，一下雨就积满脏水和垃圾。请把路面修好。",
     "垃圾桶旁邊的路面有個坑洞，一下雨就積滿髒水和垃圾。請把路面補好。"),
    ("noise", "medium", "environment", "street",
     "Lorries from the building site leave mud on the road, but the worst is the drilling at night. Please stop the "
     "night-time noise.",
     "工地的渣土车把路面弄得全是泥，但最受不了的是半夜打钻。请制止夜间噪音。",
     "工地的砂石車把路面弄得都是泥，但最受不了的是半夜鑽地。請制止夜間噪音。"),
    ("water", "high", "water-utility", "street",
     "A broken water pipe under the pavement has flooded the road and the asphalt is sinking. Please repair the "
     "water pipe.",
     "人行道下面的水管破了，路面被淹，柏油都开始下陷。请尽快修水管。",
     "人行道下面的水管破了，路面淹水，柏油都開始下陷。請盡快修水管。"),
    ("public-safety", "high", "emergency-management", "bldg",
     "The property management locked the fire exit of our building to keep thieves out. Please get the fire exit "
     "opened.",
     "物业为了防小偷把我们楼的消防通道锁了。请让他们把消防通道打开。",
     "管理公司為了防小偷把我們大樓的逃生門鎖起來了。請讓他們把逃生門打開。"),
    ("noise", "medium", "environment", "bldg",
     "Buses at the depot next to our block run their engines from 5 a.m. Please deal with the engine noise.",
     "我们楼旁边的公交场站早上5点就开始发动车子。请处理一下发动机噪音。",
     "我們大樓旁邊的公車調度站早上5點就開始發動車子。請處理一下引擎噪音。"),
    ("housing", "medium", "housing", "bldg",
     "Since the property company cut back cleaning, rubbish piles up in our corridor. Please make the property "
     "company do its job.",
     "物业公司减少了保洁，楼道里垃圾越堆越多。请督促物业公司履行职责。",
     "管理公司減少清潔次數，走廊垃圾越堆越多。請督促管理公司盡到責任。"),
    ("transport", "medium", "transport", "street",
     "The bus stop was moved onto a broken stretch of pavement and passengers wait in the mud. Please move the bus "
     "stop back.",
     "公交站被挪到了一段破损的人行道上，乘客只能站在泥里等车。请把公交站移回原处。",
     "公車站被移到一段破損的人行道上，乘客只能站在泥巴裡等車。請把公車站移回原處。"),
]

LOCATIONS: dict[str, dict[str, list[str]]] = {
    "en": {
        "bldg": ["Block 7, Sunrise Estate", "Maple Court", "No. 38 Orchard Lane", "Lakeview Gardens",
                 "Building 3, Hillside Apartments", "Oak Tower", "Willow House, Green Estate"],
        "street": ["Elm Street near No. 12", "Riverside Park", "the corner of King Road and Station Avenue",
                   "Harbour Road bus stop", "North Market", "the car park behind City Library",
                   "Greenway Primary School gate", "West Bridge underpass", "Pine Hill Road", "Cedar Lane",
                   "the east gate of Central Square"],
    },
    "zh-Hans": {
        "bldg": ["阳光花园7栋", "东湖小区", "绿地小区3号楼", "锦绣家园12栋", "建设大街38号", "金桂苑5单元"],
        "street": ["幸福路12号附近", "滨江公园", "人民路与解放路交叉口", "火车站北广场", "青年路公交站",
                   "城北农贸市场", "实验小学门口", "和平街", "新华书店后面的停车场", "西环路地下通道", "中山南路"],
    },
    "zh-Hant": {
        "bldg": ["幸福社區7棟", "和平東路二段38號", "翠園大廈B座", "成功新村第5棟", "麗景大廈", "松濤社區A棟"],
        "street": ["中山路12號附近", "河濱公園", "忠孝東路與復興南路口", "火車站北廣場", "民生路公車站", "大同市場",
                   "信義國小門口", "彌敦道", "觀塘道行人隧道", "仁愛路", "光復南路", "永康街"],
    },
}

LOC_INTRO: dict[str, list[str]] = {
    "en": ["This concerns {loc}.", "Location: {loc}.", "I'm calling about a problem at {loc}.", "It's at {loc}."],
    "zh-Hans": ["我要反映{loc}的情况。", "地点：{loc}。", "位置在{loc}。", "事发地点是{loc}。"],
    "zh-Hant": ["我要反映{loc}的狀況。", "地點：{loc}。", "位置在{loc}。", "發生地點是{loc}。"],
}
OPENING: dict[str, list[str]] = {
    "en": ["Hello.", "Hi, I want to make a complaint.", "", "Good morning."],
    "zh-Hans": ["你好，", "您好，我要投诉。", "", "喂，你好。"],
    "zh-Hant": ["您好，", "你好，我要投訴。", "", "不好意思，"],
}
CLOSING: dict[str, list[str]] = {
    "en": ["Please send someone.", "Thank you.", "Please deal with this as soon as possible.", ""],
    "zh-Hans": ["请尽快处理。", "谢谢。", "麻烦派人来看看。", ""],
    "zh-Hant": ["請盡快處理。", "謝謝。", "麻煩派人來看看。", ""],
}
CASE_ONE: dict[str, list[str]] = {
    "en": ["I already reported this under case {c1}.", "My earlier case {c1} was closed without a fix."],
    "zh-Hans": ["之前已经反映过，工单号{c1}。", "上次的工单{c1}被关了但问题没解决。"],
    "zh-Hant": ["之前已經反映過，案件編號{c1}。", "上次的案件{c1}被結案了但問題沒解決。"],
}
CASE_TWO: dict[str, list[str]] = {
    "en": ["See my earlier cases {c1} and {c2}.", "This was reported twice before, as {c1} and {c2}."],
    "zh-Hans": ["相关工单：{c1}、{c2}。", "已经打过两次电话了，工单号{c1}和{c2}。"],
    "zh-Hant": ["相關案件：{c1}、{c2}。", "已經打過兩次電話了，案件編號{c1}和{c2}。"],
}
# Numbers that are NOT case ids: phone numbers, dates, flat numbers, the hotline number itself.
DISTRACTOR: dict[str, list[str]] = {
    "en": [
        "You can reach me on {phone}. It started on {date}.",
        "I live in flat {flat}; call me back on {phone}.",
        "I first called 12345 on {date}; my number is {phone}.",
    ],
    "zh-Hans": [
        "我的电话是{phone}，问题从{date}开始的。",
        "我住{flat}室，回电请打{phone}。",
        "我{date}就打过12345，我的手机号{phone}。",
    ],
    "zh-Hant": [
        "我的電話是{phone}，問題從{date}開始。",
        "我住{flat}室，回電請打{phone}。",
        "我{date}就打過1999了，我的手機是{phone}。",
    ],
}
MIX_TAIL: dict[str, list[str]] = {
    "en": ["麻烦尽快处理，谢谢！", "真的很烦，拜托了。", "我们已经忍了很久了。"],
    "zh-Hans": ["Please handle it ASAP, thanks.", "This is really not OK.", "Hope someone can follow up."],
    "zh-Hant": ["Please handle it ASAP, thanks.", "This is really not OK.", "Hope someone can follow up."],
}
MIX_WORDS: dict[str, list[tuple[str, str]]] = {
    "en": [("neighbours", "邻居"), ("Rubbish", "垃圾"), ("rubbish", "垃圾"), ("property management", "物业"),
           ("street lights", "路灯"), ("lift", "电梯"), ("bus stop", "公交站"), ("manhole cover", "井盖"),
           ("fire escape", "消防通道"), ("traffic lights", "红绿灯"), ("square dancing", "广场舞")],
    "zh-Hans": [("物业", "property management"), ("电梯", "lift"), ("工地", "construction site"), ("派对", "party"),
                ("停水", "water outage"), ("井盖", "manhole cover"), ("垃圾", "garbage"), ("路灯", "street light"),
                ("公交", "bus"), ("酒吧", "bar"), ("红绿灯", "traffic light"), ("煤气", "gas")],
    "zh-Hant": [("管委會", "management committee"), ("電梯", "lift"), ("工地", "site"), ("派對", "party"),
                ("停水", "water outage"), ("人孔蓋", "manhole cover"), ("垃圾", "garbage"), ("路燈", "street light"),
                ("公車", "bus"), ("酒吧", "bar"), ("紅綠燈", "traffic light"), ("瓦斯", "gas")],
}

HARD_COUNTS = {"ambiguity": 14, "missing-field": 12, "mixed-language": 12, "typo": 12, "distractor-number": 12}


def _case_id(rng: random.Random) -> str:
    return f"GD-{rng.choice([2025, 2026])}-{rng.randrange(1000, 999999):06d}"


def _phone(lang: str, rng: random.Random) -> str:
    if lang == "en":
        return f"0{rng.randrange(7000, 7999)} {rng.randrange(100000, 999999)}"
    if lang == "zh-Hans":
        return f"1{rng.choice([3, 5, 8])}{rng.randrange(0, 10)}{rng.randrange(10_000_000, 99_999_999)}"
    return f"09{rng.randrange(10, 99)}-{rng.randrange(100, 999)}-{rng.randrange(100, 999)}"


def _date(lang: str, rng: random.Random) -> str:
    m, d = rng.randrange(1, 12), rng.randrange(1, 28)
    if lang == "en":
        return f"2026-{m:02d}-{d:02d}"
    return f"{m}月{d}日"


def make(lang: str, rng: random.Random, label: str, tag: str) -> tuple[str, Row, list[str]]:
    pool = AMBIGUOUS if tag == "ambiguity" else SCENARIOS
    choices = [s for s in pool if s[0] == label] or pool
    cat, urgency, dept, place, en, hans, hant = rng.choice(choices)
    problem = {"en": en, "zh-Hans": hans, "zh-Hant": hant}[lang]
    slots: dict[str, str] = {"route": str(rng.choice([3, 12, 26, 36, 101, 208]))}
    parts: list[str] = [pick(rng, OPENING[lang])]
    location: str | None = None
    if tag != "missing-field":
        places = LOCATIONS[lang]
        location = pick(rng, places[place] if place != "any" else places["bldg"] + places["street"])
        slots["loc"] = location
        parts.append(pick(rng, LOC_INTRO[lang]))
    parts.append(problem)
    r = rng.random()
    n_ids = 1 if tag == "distractor-number" else (0 if r < 0.55 else 1 if r < 0.88 else 2)
    case_ids: list[str] = []
    if n_ids:
        case_ids = [_case_id(rng) for _ in range(n_ids)]
        if len(set(case_ids)) != len(case_ids):
            case_ids = case_ids[:1]
        parts.append(pick(rng, CASE_ONE[lang] if len(case_ids) == 1 else CASE_TWO[lang]))
        slots.update({f"c{i + 1}": c for i, c in enumerate(case_ids)})
    if tag == "distractor-number":
        parts.append(pick(rng, DISTRACTOR[lang]))
        slots.update({
            "phone": _phone(lang, rng),
            "date": _date(lang, rng),
            "flat": f"{rng.randrange(2, 30)}{rng.randrange(1, 9):02d}",
        })
    parts.append(pick(rng, CLOSING[lang]))
    sep = " " if lang == "en" else ""
    template = sep.join(p for p in parts if p)
    if tag == "typo":
        template = typos(lang, template, rng)
    if tag == "mixed-language":
        template = code_switch(template, MIX_WORDS[lang], rng) + sep + pick(rng, MIX_TAIL[lang])
    text = fill(template, slots)
    gold: Row = {
        "category": cat,
        "urgency": urgency,
        "department": dept,
        "location": location,
        "case_ids": case_ids,
    }
    return text, gold, [tag] if tag else []


RULES_EN = (
    "You triage complaints sent to a city's public service hotline. Read the complaint and return JSON only.\n"
    "Fields:\n"
    "- category: noise, sanitation, roads, water, housing, transport, public-safety or other. If the complaint "
    "touches two categories, choose the category of the problem the caller asks to have fixed.\n"
    "- urgency: high = danger to people or property right now, or an essential service (water, traffic lights) out "
    "for many people; medium = an ongoing problem that disrupts daily life; low = minor issues, questions and "
    "suggestions.\n"
    "- department: noise -> environment, except noise from neighbours, parties, bars or square dancing -> police; "
    "sanitation -> urban-management, except chemical or hazardous waste -> environment; roads -> public-works; water "
    "-> water-utility, except leaks inside a residential building (e.g. from the flat above) -> housing; housing -> "
    "housing; transport -> transport; public-safety -> emergency-management for hazards (gas, fallen trees, blocked "
    "fire exits), police for crime, theft, fights and loitering; other -> community-office.\n"
    "- location: the place exactly as the complaint writes it, or null if no place is named.\n"
    "- case_ids: every earlier case number in the text (format like GD-2026-004512), exactly as written; [] if none. "
    "Phone numbers, dates and flat numbers are not case numbers."
)

RULES_HANS = (
    "你负责为城市政务服务热线的投诉分类。阅读投诉内容，只输出 JSON。\n"
    "字段：\n"
    "- category：noise（噪音）、sanitation（环境卫生）、roads（道路设施）、water（供水）、housing（住房与物业）、"
    "transport（交通出行）、public-safety（公共安全）或 other（其他）。如果投诉涉及两个类别，"
    "按来电人要求解决的那个问题归类。\n"
    "- urgency：high = 当下危及人身或财产安全，或供水、红绿灯等基本服务大面积中断；medium = 持续影响日常生活的问题；"
    "low = 小问题、咨询和建议。\n"
    "- department：noise -> environment，但邻居、派对、酒吧或广场舞的噪音 -> police；sanitation -> urban-management，"
    "但化学品或危险废物 -> environment；roads -> public-works；water -> water-utility，"
    "但住宅楼内部的漏水（如楼上渗漏）-> housing；housing -> housing；transport -> transport；public-safety：燃气、"
    "倒树、消防通道堵塞等隐患 -> emergency-management，盗窃、打架、滋扰等治安问题 -> police；other -> "
    "community-office。\n"
    "- location：投诉中写的地点，原样照抄；没有提到地点则为 null。\n"
    "- case_ids：文中出现的所有以前的工单号（格式如 GD-2026-004512），原样照抄；没有则为 []。电话号码、日期、"
    "门牌号都不是工单号。\n"
    "所有取值一律使用上面的英文代码。"
)

RULES_HANT = (
    "你負責為城市市民服務專線的陳情案件分類。閱讀陳情內容，只輸出 JSON。\n"
    "欄位：\n"
    "- category：noise（噪音）、sanitation（環境衛生）、roads（道路設施）、water（供水）、housing（住宅與管理）、"
    "transport（交通）、public-safety（公共安全）或 other（其他）。如果陳情涉及兩個類別，"
    "依來電者要求處理的那個問題歸類。\n"
    "- urgency：high = 當下危及人身或財產安全，或供水、紅綠燈等基本服務大範圍中斷；medium = 持續影響日常生活的問題；"
    "low = 小問題、詢問和建議。\n"
    "- department：noise -> environment，但鄰居、派對、酒吧或廣場舞的噪音 -> police；sanitation -> urban-management，"
    "但化學品或有害廢棄物 -> environment；roads -> public-works；water -> water-utility，"
    "但住宅大樓內部的漏水（如樓上滲漏）-> housing；housing -> housing；transport -> transport；public-safety：瓦斯、"
    "倒樹、逃生通道堵塞等危險 -> emergency-management，竊盜、打架、滋擾等治安問題 -> police；other -> "
    "community-office。\n"
    "- location：陳情中寫的地點，原樣照抄；沒有提到地點則為 null。\n"
    "- case_ids：文中出現的所有先前案件編號（格式如 GD-2026-004512），原樣照抄；沒有則為 []。電話號碼、日期、"
    "門牌號碼都不是案件編號。\n"
    "所有值一律使用上面的英文代碼。"
)

PROVENANCE_RULES = """## Labelling rules (also stated in the system prompt)

- **category**: the subject of the complaint. Ambiguity rows (tag `ambiguity`) mention two plausible categories
  (e.g. rubbish dumped on a road: sanitation or roads); the gold is **the category of the problem the caller asks
  to have fixed** (the final request sentence, e.g. "Please have the rubbish cleared away" -> sanitation).
- **urgency**: high = danger to people or property right now, or an essential service out for many people;
  medium = an ongoing problem disrupting daily life; low = minor issues, questions, suggestions.
- **department**: implied by category, with these deliberate exceptions: neighbour / party / bar / square-dance
  noise -> police; chemical or hazardous waste -> environment; water leaks inside a residential building ->
  housing; public-safety crime, theft, fights and loitering -> police (hazards -> emergency-management).
- **location**: the place exactly as written (an introductory sentence such as "Location: ..."). Rows tagged
  `missing-field` name no place at all; their gold is null.
- **case_ids**: strings of the form `GD-YYYY-NNNNNN` in the text, in order of appearance; [] when none.
  Rows tagged `distractor-number` add a phone number, a date, a flat number or the hotline number (12345 / 1999)
  beside one real case id.
- `typo` rows: two adjacent letters swapped in two English words, or two characters replaced by homophones in
  Chinese (e.g. 噪 -> 燥, 的 -> 得); never inside the location or a case id. `mixed-language` rows: English words
  and an English sentence inside Chinese text, or Chinese words and a Chinese sentence inside English text."""

SPEC = TaskSpec(
    name="hotline-triage",
    short="hotline",
    sector="governance",
    description=(
        "Triage of citizen complaints sent to a city public-service hotline (12345-style): the model assigns a "
        "category, an urgency and the responsible department, and extracts the location and any earlier case "
        "numbers, so that a hotline operator can route each complaint. For city service centres evaluating a "
        "model before it pre-fills their triage form. Synthetic data in English, Simplified and Traditional "
        "Chinese."
    ),
    notice="Synthetic data; for evaluating models, not a record of real complaints.",
    system={"en": RULES_EN, "zh-Hans": RULES_HANS, "zh-Hant": RULES_HANT},
    user={"en": "Complaint:\n{{ text }}", "zh-Hans": "投诉内容：\n{{ text }}", "zh-Hant": "陳情內容：\n{{ text }}"},
    schema={
        "type": "object",
        "properties": {
            "category": {"enum": CATEGORIES},
            "urgency": {"enum": ["low", "medium", "high"]},
            "department": {"enum": DEPARTMENTS},
            "location": {"type": ["string", "null"], "maxLength": 80},
            "case_ids": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 5},
        },
        "required": ["category", "urgency", "department", "location", "case_ids"],
        "additionalProperties": False,
    },
    gates=[
        "category.macro_f1 >= 0.8",
        "urgency.accuracy >= 0.7",
        "department.accuracy >= 0.75",
        "location.exact_match >= 0.8",
        "case_ids.set_f1 >= 0.9",
    ],
    label_field="category",
    labels=CATEGORIES,
    hard_counts=HARD_COUNTS,
    make=make,
    provenance_rules=PROVENANCE_RULES,
    count_fields=["category", "urgency", "department"],
    abstention={"fields": ["category"], "threshold": 0.5},
)
