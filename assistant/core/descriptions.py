"""How workers describe a specialty or a procedure without naming it: the one list of such words.

"गुर्दे के डॉक्टर", "pathri wale doctor" and "the doctor for kidneys" all mean
nephrology, though none of them is a name of it. A description names a body
part, an organ, an illness or a department (specialties), or says what a
procedure does (procedures). Each entry below is a description: one or more
words, in any order, each in its base form. ``assistant.core.description_match``
finds them in inflected speech ("gurdon", "हड्डियों", "kidneys", "badalne"),
for the NLU pipeline and the form validation alike (``assistant.core.canonical``).

To extend: add the base form of the word under its value, in whichever of
Devanagari, romanised Hindi and English the workers use (spelling variants of
romanised Hindi are folded: "aankh"/"ankh", "haddi"/"hadi"). A word that is
also an everyday word ("mann" mind / "man", "pet" belly) goes under
``ANCHORED``: it counts only next to a doctor, department or illness word.
Names and fixed phrases ("heart doctor", "ORS") stay in ``nlu/synonyms.yml``.
"""

from __future__ import annotations

# Words that call for a doctor or a department: descriptions lean on them.
DOCTOR_WORDS: tuple[str, ...] = (
    "doctor", "docter", "daktar", "dr", "specialist", "speciality", "specialty", "department", "dept", "vibhag",
    "opd", "ward", "clinic", "team", "visheshagya", "sahab", "sir", "madam",
    "डॉक्टर", "डाक्टर", "विशेषज्ञ", "विभाग", "ओपीडी", "वार्ड", "साहब", "चिकित्सक",
)  # fmt: skip
# Words that say what is wrong; "mann ki bimari" is as good as "mann ke doctor".
ILLNESS_WORDS: tuple[str, ...] = (
    "bimari", "rog", "problem", "problems", "disease", "takleef", "samasya", "issue", "issues",
    "बीमारी", "रोग", "समस्या", "तकलीफ",
)  # fmt: skip
# Words around a description that add nothing to it ("the doctor OF the heart", "dil WALE").
LINKING_WORDS: tuple[str, ...] = (
    "ka", "ke", "ki", "wala", "wale", "wali", "vala", "vale", "vali", "ko", "se", "me", "mein", "aur", "ya",
    "the", "a", "an", "of", "for", "one", "and", "or", "with", "in", "please", "ji", "wa",
    "का", "के", "की", "वाला", "वाले", "वाली", "को", "से", "में", "और", "या", "जी",
)  # fmt: skip

# value -> descriptions that name it alone.
SPECIALTIES: dict[str, tuple[str, ...]] = {
    "cardiology": ("heart", "cardiac", "dil", "hriday", "hruday", "दिल", "हृदय", "हार्ट", "हिरदय"),
    "nephrology": (
        "kidney", "renal", "dialysis", "gurda", "pathri", "pathari", "peshab",
        "गुर्दा", "किडनी", "पथरी", "डायलिसिस", "पेशाब",
    ),
    "pediatrics": (
        "child", "children", "kid", "infant", "bachcha", "baccha", "bacha", "shishu", "navjaat",
        "बच्चा", "शिशु", "नवजात", "बालक",
    ),
    "obstetrics_gynecology": (
        "pregnancy", "pregnant", "delivery", "garbh", "garbhavati", "garbhvati", "prasav", "prasuti", "jachcha",
        "zachcha", "periods", "mahavari",
        "गर्भ", "गर्भवती", "प्रसव", "प्रसूति", "डिलीवरी", "जच्चा", "माहवारी",
    ),
    "general_surgery": (
        "surgery", "surgeon", "surgical", "operation", "sarjan", "chirphaad", "chir phaad", "hernia", "appendix",
        "सर्जरी", "सर्जन", "शल्य", "ऑपरेशन", "हर्निया",
    ),
    "orthopedics": (
        "bone", "joint", "fracture", "haddi", "ghutna", "plaster", "knee",
        "हड्डी", "घुटना", "फ्रैक्चर", "प्लास्टर",
    ),
    "dermatology": (
        "skin", "rash", "chamdi", "chamda", "twacha", "charm", "khujli", "daad",
        "त्वचा", "चमड़ी", "चमड़ा", "चर्म", "खुजली", "दाद",
    ),
    "psychiatry": (
        "mental", "psychiatric", "depression", "anxiety", "manorog", "manochikitsak", "tension",
        "मानसिक", "मनोरोग", "मनोचिकित्सक", "डिप्रेशन", "टेंशन",
    ),
    "ophthalmology": (
        "eye", "vision", "sight", "cataract", "aankh", "ankh", "netra", "nazar", "motiyabind", "chashma",
        "आंख", "नेत्र", "नज़र", "मोतियाबिंद", "चश्मा",
    ),
    "ent": ("ear", "nose", "throat", "tonsil", "kaan", "naak", "nak", "gala", "कान", "नाक", "गला"),
    "neurology": (
        "nerve", "brain", "neuro", "stroke", "paralysis", "epilepsy", "lakwa", "laqwa", "mirgi",
        "लकवा", "मिर्गी", "मस्तिष्क", "तंत्रिका",
    ),
    "general_medicine": (
        "medicine", "physician", "diabetes", "madhumeh",
        "मेडिसिन", "फिजिशियन", "डायबिटीज", "मधुमेह",
    ),
}  # fmt: skip

# value -> everyday words that name it only beside a doctor, department or illness word.
ANCHORED: dict[str, tuple[str, ...]] = {
    "psychiatry": ("mann", "mind", "मन", "dimagi"),
    "neurology": ("nas", "dimag", "dimaag", "नस", "दिमाग"),
    "general_medicine": ("pet", "stomach", "bukhar", "fever", "general", "sugar", "पेट", "बुखार", "सामान्य", "शुगर"),
    "pediatrics": ("baby", "kids"),
    "obstetrics_gynecology": ("women", "woman", "mahila", "aurat", "महिला", "स्त्री", "औरत"),
}

# value -> what a procedure does, each description a few words said together in any order.
PROCEDURES: dict[str, tuple[str, ...]] = {
    "hand_hygiene": (
        "hand wash", "hand clean", "hand sanitise", "hand sanitize", "sanitizer", "haath dho", "haath saaf",
        "हाथ धो", "हाथ साफ", "सैनिटाइज़र",
    ),
    "neonatal_resuscitation": (
        "resuscitation", "ambu", "baby breath", "baby cry", "newborn breath", "newborn cry", "baby saans",
        "bachcha saans", "bachcha ro", "navjaat saans", "navjaat ro", "shishu saans",
        "बच्चा सांस", "बच्चा रो", "नवजात सांस", "नवजात रो", "शिशु सांस", "शिशु रो",
    ),
    "newborn_care": (
        "newborn", "kangaroo", "breastfeeding", "baby care", "newborn look", "navjaat dekhbhal",
        "bachcha dekhbhal", "stanpan", "नवजात देखभाल", "बच्चा देखभाल", "शिशु देखभाल", "स्तनपान",
    ),
    "iv_cannulation": (
        "vein", "cannula", "drip", "needle vein", "sui nas", "nas drip", "bottle chadha", "नस सुई", "नस ड्रिप",
        "बोतल चढ़ा",
    ),
    "safe_injection": ("shot", "syringe", "needle", "sui", "teeka", "tika", "vaccine", "सुई", "टीका", "सिरिंज"),
    "blood_pressure_measurement": ("pressure", "bp", "प्रेशर", "रक्तचाप", "बीपी"),
    "blood_glucose": ("sugar", "glucose", "glucometer", "diabetes", "शुगर", "ग्लूकोज", "मधुमेह", "डायबिटीज"),
    "wound_dressing": (
        "bandage", "wound", "dressing", "patti", "ghav", "zakhm", "chot", "पट्टी", "घाव", "ज़ख्म", "चोट", "मरहम",
    ),
    "oral_rehydration": ("ors", "rehydration", "dast ghol", "diarrhoea ghol", "दस्त घोल", "ओआरएस", "namak cheeni"),
    "malaria_rdt": (
        "malaria", "rdt", "fever test", "fever kit", "bukhar jaanch", "bukhar kit", "bukhar test",
        "बुखार जांच", "बुखार किट", "मलेरिया",
    ),
    "postpartum_hemorrhage": (
        "pph", "bleeding birth", "bleeding delivery", "khoon delivery", "khoon prasav",
        "खून डिलीवरी", "खून प्रसव", "रक्तस्राव",
    ),
    "hololens_setup": (
        "hololens", "headset", "mixed reality", "reality glasses", "remote assist", "hololens chashma",
        "होलोलेंस", "हेडसेट",
    ),
}  # fmt: skip

# The spoken names of letters in Devanagari, for acronyms said letter by letter ("ओ आर एस" is ORS).
LETTER_NAMES: dict[str, tuple[str, ...]] = {
    "a": ("ए",), "b": ("बी",), "c": ("सी",), "d": ("डी",), "e": ("ई",), "f": ("एफ",), "g": ("जी",),
    "h": ("एच",), "i": ("आई",), "j": ("जे",), "k": ("के",), "l": ("एल",), "m": ("एम",), "n": ("एन",),
    "o": ("ओ",), "p": ("पी",), "q": ("क्यू",), "r": ("आर",), "s": ("एस",), "t": ("टी",), "u": ("यू",),
    "v": ("वी",), "w": ("डब्ल्यू",), "x": ("एक्स",), "y": ("वाई",), "z": ("ज़ेड", "जेड"),
}  # fmt: skip

# kind -> value -> descriptions; the kinds that have any.
DESCRIPTIONS: dict[str, dict[str, tuple[str, ...]]] = {"specialty": SPECIALTIES, "procedure": PROCEDURES}
ANCHORED_DESCRIPTIONS: dict[str, dict[str, tuple[str, ...]]] = {"specialty": ANCHORED}
