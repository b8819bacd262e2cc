"""What the channels themselves say (everything else comes from the assistant), in English and Hindi.

The sender's language is not known before the assistant has understood
them, so these go out in both languages.
"""

from __future__ import annotations

from assistant.core.rules import MAX_MEDIA_BYTES

_MEDIA_MB = MAX_MEDIA_BYTES // 2**20


def _both(english: str, hindi: str) -> str:
    return f"{english}\n{hindi}"


UNKNOWN_SENDER = _both(
    "Sorry, this number is not registered with the field assistant. Please ask your supervisor to register it.",
    "माफ़ कीजिए, यह नंबर फ़ील्ड असिस्टेंट में पंजीकृत नहीं है। कृपया अपने सुपरवाइज़र से इसे पंजीकृत करवाएँ।",
)
UNSUPPORTED = _both(
    "Sorry, I can read text, button replies and voice notes only.",
    "माफ़ कीजिए, मैं केवल लिखा हुआ संदेश, बटन और वॉइस नोट समझ सकता हूँ।",
)
HUB_DOWN = _both(
    "The hub is unreachable just now. Please send your message again in a few minutes.",
    "अभी हब से संपर्क नहीं हो पा रहा। कृपया कुछ मिनट बाद अपना संदेश फिर से भेजें।",
)
STILL_WORKING = _both(
    "Still working on your last message. Its answer comes shortly; no need to send it again.",
    "आपके पिछले संदेश पर अभी काम चल रहा है। जवाब जल्दी आएगा; उसे दोबारा भेजने की ज़रूरत नहीं।",
)
VOICE_UNREADABLE = _both(
    "Sorry, I could not play that voice note. Please send it again, or type.",
    "माफ़ कीजिए, यह वॉइस नोट नहीं चल सका। कृपया फिर से भेजें या लिखें।",
)
VOICE_TOO_LARGE = _both(
    f"Sorry, that voice note is too large for me (over {_MEDIA_MB} MB). Please send a shorter one, or type.",
    f"माफ़ कीजिए, यह वॉइस नोट बहुत बड़ा है ({_MEDIA_MB} MB से ज़्यादा)। कृपया छोटा वॉइस नोट भेजें या लिखें।",
)
VOICE_NOT_FETCHED = _both(
    "Sorry, I could not get that voice note. Please send it again, or type.",
    "माफ़ कीजिए, यह वॉइस नोट मुझ तक नहीं पहुँच सका। कृपया फिर से भेजें या लिखें।",
)
VOICE_EMPTY = _both(
    "I could not make out any words in that voice note. Please speak again, or type.",
    "उस वॉइस नोट में मुझे कोई शब्द समझ नहीं आया। कृपया फिर से बोलें या लिखें।",
)
VOICE_UNAVAILABLE = _both(
    "Voice notes cannot be understood right now. Please type your message.",
    "अभी वॉइस नोट समझे नहीं जा सकते। कृपया अपना संदेश लिखें।",
)


def heard(text: str) -> str:
    return f"🎤 “{text}”"
