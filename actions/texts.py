"""Everything the action server says, in English and Hindi.

Replies are short enough to be spoken. They never diagnose: the assistant
books, reads checklists and records; clinical judgement stays with people.
Static replies of the rules (greet, help, ...) are in domain.yml.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk.executor import CollectingDispatcher

from assistant.core.dialogue import NextInput
from assistant.core.emergency_advice import CALL_AMBULANCE, NO_SPECIALIST
from assistant.core.vocabulary import SPECIALTIES, VALUE_LABELS
from assistant.http.backend_client import BackendRejected

DEFAULT_LANGUAGE = "en"

MESSAGES: dict[str, dict[str, str]] = {
    # --- form questions ----------------------------------------------------------
    "ask_specialty": {
        "en": "Which specialist do you need? For example heart, children, bones, eyes or women's health.",
        "hi": "किस विशेषज्ञ की ज़रूरत है? जैसे दिल, बच्चों, हड्डी, आँख या स्त्री रोग।",
    },
    # A consult asked for without a doctor: what was understood, then the choices.
    "ask_specialty_understood": {
        "en": "A consult{details}. Which doctor: heart, children, bones, eyes, women's health, or another?",
        "hi": "कंसल्ट{details}। कौन से डॉक्टर: दिल, बच्चों, हड्डी, आँख, स्त्री रोग, या कोई और?",
    },
    "ask_specialty_emergency": {
        "en": "Which specialist? If unsure, say general medicine.",
        "hi": "कौन से विशेषज्ञ? पक्का न हो तो 'सामान्य चिकित्सा' बोलिए।",
    },
    "ask_urgency": {
        "en": "How urgent is it: routine, urgent, or emergency?",
        "hi": "कितना ज़रूरी है: सामान्य, जल्दी, या इमरजेंसी?",
    },
    "ask_patient_id": {"en": "What is the patient ID?", "hi": "मरीज़ का आईडी नंबर क्या है?"},
    "ask_reason": {
        "en": "In a few words, what is the problem?",
        "hi": "थोड़े शब्दों में, क्या समस्या है?",
    },
    "ask_age": {"en": "How old is the patient?", "hi": "मरीज़ की उम्र कितनी है?"},
    "ask_sex": {"en": "Is the patient male, female or other?", "hi": "मरीज़ पुरुष है, महिला है, या अन्य?"},
    "ask_complaint": {"en": "What is the main complaint?", "hi": "मुख्य शिकायत क्या है?"},
    "ask_vitals": {
        "en": "Tell me the vitals, for example 'BP 120 over 80, temperature 98.6, pulse 80', or say skip.",
        "hi": "वाइटल्स बताइए, जैसे 'बीपी 120 बटा 80, तापमान 98.6, पल्स 80', या 'नहीं' बोलिए।",
    },
    "ask_notes": {
        "en": "Any notes to add? Say them, or say no.",
        "hi": "कोई नोट जोड़ना है? बोलिए, या 'नहीं' बोलिए।",
    },
    "ask_correction_field": {"en": "Which one should I change: {fields}?", "hi": "क्या बदलूँ: {fields}?"},
    "ask_consult_to_cancel": {
        "en": "Which consult should I cancel? {options}. Say the number.",
        "hi": "कौन सा कंसल्ट रद्द करूँ? {options}। नंबर बोलिए।",
    },
    # --- read-backs ------------------------------------------------------------
    "consult_readback": {
        "en": "{urgency} {specialty} consult for patient {patient_id}: {reason}. Shall I book it? Say yes or no.",
        "hi": "मरीज़ {patient_id} के लिए {specialty} का {urgency} कंसल्ट: {reason}। बुक करूँ? हाँ या नहीं बोलिए।",
    },
    "encounter_readback": {
        "en": (
            "Patient {patient_id}, {age}, {sex}. Complaint: {complaint}. Vitals: {vitals}. Notes: {notes}. Shall I "
            "save? Say yes or no."
        ),
        "hi": (
            "मरीज़ {patient_id}, {age}, {sex}। शिकायत: {complaint}। वाइटल्स: {vitals}। नोट: {notes}। सेव करूँ? हाँ "
            "या नहीं बोलिए।"
        ),
    },
    "cancel_readback": {"en": "Cancel the {consult}? Say yes or no.", "hi": "{consult} रद्द करूँ? हाँ या नहीं बोलिए।"},
    # --- consults ----------------------------------------------------------------
    # The emergency sentences are the backend's too (assistant.core.emergency_advice).
    "emergency_first": {
        "en": f"This is an emergency. {CALL_AMBULANCE['en']} I am booking the on-call specialist.",
        "hi": f"यह इमरजेंसी है। {CALL_AMBULANCE['hi']} मैं ऑन-कॉल विशेषज्ञ बुक कर रहा हूँ।",
    },
    "consult_booked": {
        "en": "Booked: {specialist}, {specialty}, {when}. Call link: {link}",
        "hi": "बुक हो गया: {specialist}, {specialty}, {when}। कॉल लिंक: {link}",
    },
    "consult_booked_emergency": {
        "en": f"Emergency consult booked: {{specialist}}, {{specialty}}, joins now. Call link: {{link}}. "
        f"{CALL_AMBULANCE['en']}",
        "hi": f"इमरजेंसी कंसल्ट बुक हो गया: {{specialist}}, {{specialty}}, अभी जुड़ेंगे। कॉल लिंक: {{link}}। "
        f"{CALL_AMBULANCE['hi']}",
    },
    "consult_with_hub": {
        "en": "No {specialty} slot is free yet, so consult {id} is with the hub, who will schedule it.",
        "hi": "अभी {specialty} का कोई समय खाली नहीं है, इसलिए कंसल्ट {id} हब को भेजा गया है, वे समय तय करेंगे।",
    },
    "consult_no_specialist_at_hub": {
        "en": (
            "Your hub has no {specialty} specialist, so consult {id} waits with your hub's coordinator, "
            "who can refer it to another hub. You will hear when it is booked."
        ),
        "hi": (
            "आपके हब में {specialty} के विशेषज्ञ नहीं हैं, इसलिए कंसल्ट {id} आपके हब के समन्वयक के पास है, "
            "जो इसे दूसरे हब को भेज सकते हैं। समय तय होने पर आपको बताया जाएगा।"
        ),
    },
    "consult_no_hub": {
        "en": "No hub serves your facility yet, so consult {id} is saved and waits. Please tell your block office.",
        "hi": "आपकी संस्था को अभी कोई हब नहीं देखता, इसलिए कंसल्ट {id} सहेजा गया है और रुका है। कृपया ब्लॉक कार्यालय को बताइए।",
    },
    "emergency_no_specialist": {  # the backend's advice word for word, {specialty} in the worker's language
        "en": f"{CALL_AMBULANCE['en']} {NO_SPECIALIST['en']}",
        "hi": f"{CALL_AMBULANCE['hi']} {NO_SPECIALIST['hi']}",
    },
    "consult_queued": {
        "en": (
            "The hub can't be reached right now. The consult request is saved on this phone and will be sent when "
            "the connection returns."
        ),
        "hi": "अभी हब से संपर्क नहीं हो पा रहा। कंसल्ट की मांग इस फ़ोन में सेव है और कनेक्शन आते ही भेज दी जाएगी।",
    },
    "consult_queued_emergency": {
        "en": f"The hub can't be reached. {CALL_AMBULANCE['en']} The emergency request is saved and will be sent "
        "when the connection returns.",
        "hi": f"हब से संपर्क नहीं हो पा रहा। {CALL_AMBULANCE['hi']} इमरजेंसी मांग सेव है और कनेक्शन आते ही भेज दी जाएगी।",
    },
    "status_none": {"en": "You have no open consults.", "hi": "आपका कोई खुला कंसल्ट नहीं है।"},
    "status_list": {"en": "Your consults: {items}.", "hi": "आपके कंसल्ट: {items}।"},
    "status_scheduled": {
        "en": "{specialty} for patient {patient_id}, {when} with {specialist}",
        "hi": "मरीज़ {patient_id} का {specialty}, {when}, {specialist} के साथ",
    },
    "status_requested": {
        "en": "{specialty} for patient {patient_id}, waiting for the hub",
        "hi": "मरीज़ {patient_id} का {specialty}, हब के जवाब का इंतज़ार",
    },
    "status_advice": {
        "en": "{specialty} for patient {patient_id} is completed. {specialist}'s advice, in the specialist's own "
        'words: "{advice}"',
        "hi": 'मरीज़ {patient_id} का {specialty} कंसल्ट पूरा हुआ। {specialist} की सलाह, विशेषज्ञ के अपने शब्दों में: "{advice}"',
    },
    "status_follow_up": {
        "en": 'Follow-up, in the specialist\'s words: "{follow_up}"',
        "hi": 'आगे की देखभाल, विशेषज्ञ के शब्दों में: "{follow_up}"',
    },
    "status_queued": {
        "en": "{specialty} for patient {patient_id}, saved on this phone, not yet sent",
        "hi": "मरीज़ {patient_id} का {specialty}, फ़ोन में सेव, अभी भेजा नहीं गया",
    },
    # --- the worker's day: follow-up tasks (actions/tasks.py) ---------------------------
    "tasks_none": {"en": "Nothing is due today.", "hi": "आज कुछ बाकी नहीं है।"},
    "tasks_list": {"en": "Due today, {count}: {items}.", "hi": "आज के {count} काम: {items}।"},
    "tasks_more": {"en": "And {count} more.", "hi": "और {count} काम बाकी हैं।"},
    "task_due_today": {"en": 'patient {patient}, "{task}"', "hi": 'मरीज़ {patient}, "{task}"'},
    "task_overdue": {
        "en": 'patient {patient}, "{task}", {days} days late',
        "hi": 'मरीज़ {patient}, "{task}", {days} दिन देर',
    },
    "task_checklist": {
        "en": "For patient {patient} there is the {title} checklist. Say 'show me the {title} checklist' to hear it.",
        "hi": "मरीज़ {patient} के लिए {title} चेकलिस्ट है। सुनने के लिए '{title} चेकलिस्ट दिखाओ' बोलिए।",
    },
    "tasks_unreachable": {
        "en": "I can't reach the hub right now, so I can't read your tasks. Please ask again later.",
        "hi": "अभी हब से संपर्क नहीं हो पा रहा, इसलिए आपके काम नहीं पढ़ सकता। थोड़ी देर बाद फिर पूछिए।",
    },
    # --- closing and adding a task by voice (actions/tasks.py) --------------------------
    "task_which_patient": {
        "en": "For which patient? Say the patient ID.",
        "hi": "किस मरीज़ का? मरीज़ की आईडी बोलिए।",
    },
    "task_none_for_patient": {
        "en": "You have no open task for patient {patient}.",
        "hi": "मरीज़ {patient} का कोई खुला काम नहीं है।",
    },
    "task_done_readback": {
        "en": 'Mark "{task}" for patient {patient} done? Say yes or no.',
        "hi": 'मरीज़ {patient} का "{task}" पूरा हो गया, दर्ज करूँ? हाँ या नहीं बोलिए।',
    },
    "task_done_readback_visit": {
        "en": 'Mark "{task}" for patient {patient} done, with the visit you logged at {time}? Say yes or no.',
        "hi": 'मरीज़ {patient} का "{task}" पूरा, {time} बजे की विज़िट के साथ दर्ज करूँ? हाँ या नहीं बोलिए।',
    },
    "task_closed": {"en": 'Done: "{task}" for patient {patient}.', "hi": 'हो गया: मरीज़ {patient} का "{task}"।'},
    "task_closed_visit": {
        "en": 'Done: "{task}" for patient {patient}, with the visit linked.',
        "hi": 'हो गया: मरीज़ {patient} का "{task}", विज़िट के साथ।',
    },
    "task_kept_open": {"en": "OK, the task stays open.", "hi": "ठीक है, काम खुला रहेगा।"},
    "task_what": {
        "en": "What should I remind you to do for patient {patient}?",
        "hi": "मरीज़ {patient} के लिए किस बात की याद दिलाऊँ?",
    },
    "task_when": {
        "en": "In how many days? Say a number, 0 for today.",
        "hi": "कितने दिन में? संख्या बोलिए, आज के लिए 0।",
    },
    "task_when_unclear": {
        "en": "Please say in how many days, from 0 to {most}.",
        "hi": "कृपया बताइए कितने दिन में, 0 से {most} तक।",
    },
    "task_add_readback": {
        "en": 'Remind you {when}: "{task}" for patient {patient}? Say yes or no.',
        "hi": '{when} मरीज़ {patient} का "{task}" याद दिलाऊँ? हाँ या नहीं बोलिए।',
    },
    "task_added": {
        "en": 'Added: "{task}" for patient {patient}, due {when}.',
        "hi": 'जोड़ दिया: मरीज़ {patient} का "{task}", {when}।',
    },
    "task_not_added": {"en": "OK, I have not added it.", "hi": "ठीक है, नहीं जोड़ा।"},
    "task_write_unreachable": {
        "en": "I can't reach the hub right now, so nothing was changed. Please say it again later.",
        "hi": "अभी हब से संपर्क नहीं हो पा रहा, इसलिए कुछ नहीं बदला। थोड़ी देर बाद फिर बोलिए।",
    },
    "status_unreachable": {
        "en": "I can't reach the hub right now, so I can't check your consults.",
        "hi": "अभी हब से संपर्क नहीं हो पा रहा, इसलिए कंसल्ट नहीं देख सकता।",
    },
    "status_waiting_to_send": {
        "en": "Saved on this phone, to be sent when the connection returns: {items}.",
        "hi": "फ़ोन में सेव, कनेक्शन आते ही भेजे जाएँगे: {items}।",
    },
    "cancel_none": {"en": "You have no open consults to cancel.", "hi": "रद्द करने के लिए कोई खुला कंसल्ट नहीं है।"},
    "cancel_unreachable": {
        "en": "I can't reach the hub right now, so I can't cancel. Please try again later.",
        "hi": "अभी हब से संपर्क नहीं हो पा रहा, इसलिए रद्द नहीं कर सकता। थोड़ी देर बाद फिर कोशिश करें।",
    },
    "cancel_choice_unclear": {
        "en": "Please say the number of the consult, for example one.",
        "hi": "कृपया कंसल्ट का नंबर बोलिए, जैसे एक।",
    },
    "cancelled": {"en": "Cancelled the {consult}.", "hi": "{consult} रद्द कर दिया।"},
    "cancel_queued": {
        "en": "Cancelled the {consult}. The hub will be told as soon as it can be reached.",
        "hi": "{consult} रद्द कर दिया। हब से संपर्क होते ही उसे बता दिया जाएगा।",
    },
    "cancel_kept": {"en": "OK, I have not cancelled it.", "hi": "ठीक है, रद्द नहीं किया।"},
    "consult_label": {
        "en": "{specialty} consult for patient {patient_id}",
        "hi": "मरीज़ {patient_id} का {specialty} कंसल्ट",
    },
    # --- encounters ----------------------------------------------------------------
    "encounter_saved": {
        "en": "Saved. The visit for patient {patient_id} is recorded.",
        "hi": "सेव हो गया। मरीज़ {patient_id} की विज़िट दर्ज हो गई।",
    },
    "encounter_queued": {
        "en": (
            "The hub can't be reached right now. The visit is saved on this phone and will be sent when the "
            "connection returns."
        ),
        "hi": "अभी हब से संपर्क नहीं हो पा रहा। विज़िट इस फ़ोन में सेव है और कनेक्शन आते ही भेज दी जाएगी।",
    },
    # --- backend answers ------------------------------------------------------------
    "rejected": {"en": "The hub did not accept this: {reason}", "hi": "हब ने इसे स्वीकार नहीं किया: {reason}"},
    "not_a_worker": {
        "en": (
            "This chat is not linked to a registered health worker, so I can't send it. Please sign in with your "
            "worker ID."
        ),
        "hi": "यह चैट किसी पंजीकृत स्वास्थ्य कार्यकर्ता से जुड़ी नहीं है, इसलिए भेज नहीं सकता। कृपया अपनी वर्कर आईडी से साइन इन करें।",
    },
    # --- checklists --------------------------------------------------------------------
    "checklist_offer": {"en": "Which checklist? I have: {titles}.", "hi": "कौन सी चेकलिस्ट? ये हैं: {titles}।"},
    "checklist_intro": {
        "en": "{title}, {total} steps. Source: {source}.",
        "hi": "{title}, {total} स्टेप। स्रोत: {source}।",
    },
    "checklist_step": {"en": "Step {number} of {total}: {text}", "hi": "स्टेप {number}, {total} में से: {text}"},
    "checklist_step_caution": {
        "en": "Step {number} of {total}. Caution: {text}",
        "hi": "स्टेप {number}, {total} में से। सावधानी: {text}",
    },
    "checklist_last_step": {
        "en": "That is the last step; say next when done.",
        "hi": "यह आखिरी स्टेप है; हो जाए तो 'अगला' बोलिए।",
    },
    "checklist_first_step": {"en": "This is the first step.", "hi": "यह पहला स्टेप है।"},
    "checklist_done": {"en": "{title}: checklist complete. Well done.", "hi": "{title}: चेकलिस्ट पूरी हुई। बहुत अच्छे।"},
    "checklist_step_unheard": {
        "en": "I did not get the step number. Please say it again.",
        "hi": "स्टेप नंबर समझ नहीं आया। कृपया फिर से बोलिए।",
    },
    "checklist_no_step": {
        "en": "There is no step {number}; this checklist has {total} steps.",
        "hi": "स्टेप {number} नहीं है; इस चेकलिस्ट में {total} स्टेप हैं।",
    },
    "checklist_none_open": {
        "en": "No checklist is open. Say a procedure, for example hand hygiene.",
        "hi": "कोई चेकलिस्ट खुली नहीं है। कोई प्रक्रिया बोलिए, जैसे हाथ धोना।",
    },
    "checklist_unknown": {
        "en": "I don't have a checklist for that. Say 'checklist' to hear the list.",
        "hi": "उसकी चेकलिस्ट मेरे पास नहीं है। सूची सुनने के लिए 'चेकलिस्ट' बोलिए।",
    },
    "checklist_unavailable": {
        "en": "I can't load that checklist: the hub is unreachable and it is not saved on this phone yet.",
        "hi": "यह चेकलिस्ट अभी नहीं खुल रही: हब से संपर्क नहीं है और यह फ़ोन में सेव नहीं है।",
    },
    # --- stop ----------------------------------------------------------------------------
    "stopped_form": {"en": "Stopped. Nothing was saved.", "hi": "रोक दिया। कुछ सेव नहीं हुआ।"},
    "left_form": {
        "en": "I closed the unfinished form. Nothing from it was saved.",
        "hi": "अधूरा फ़ॉर्म बंद कर दिया। उसका कुछ सेव नहीं हुआ।",
    },
    "stopped_checklist": {"en": "Checklist stopped.", "hi": "चेकलिस्ट रोक दी।"},
    "stopped_nothing": {
        "en": "OK, stopped. Say help to hear what I can do.",
        "hi": "ठीक है, रोक दिया। मैं क्या कर सकता हूँ, सुनने के लिए 'मदद' बोलिए।",
    },
    # --- validation: why an answer was not taken ------------------------------------------------
    "invalid_specialty": {
        "en": "I didn't catch the specialty. Say for example heart, children, bones, eyes, skin or general medicine.",
        "hi": "विशेषज्ञ समझ नहीं आया। जैसे बोलिए दिल, बच्चों, हड्डी, आँख, त्वचा या सामान्य चिकित्सा।",
    },
    "invalid_urgency": {"en": "Please say routine, urgent or emergency.", "hi": "कृपया सामान्य, जल्दी या इमरजेंसी बोलिए।"},
    "invalid_patient_id": {
        "en": "I need the patient ID as a number, for example 4521.",
        "hi": "मरीज़ का आईडी नंबर चाहिए, जैसे 4521।",
    },
    "invalid_patient_id_unfinished": {
        "en": "I did not get the whole patient ID. Please say it again.",
        "hi": "पूरा मरीज़ आईडी समझ नहीं आया। कृपया फिर से बोलिए।",
    },
    "invalid_age_unfinished": {
        "en": "I did not get the whole age. Please say it again.",
        "hi": "पूरी उम्र समझ नहीं आई। कृपया फिर से बोलिए।",
    },
    "invalid_age_range": {
        "en": "Age {value} is not possible; it must be between {low} and {high} years.",
        "hi": "उम्र {value} संभव नहीं है; यह {low} से {high} साल के बीच होनी चाहिए।",
    },
    "invalid_age_unreadable": {
        "en": "I didn't get the age. Say it as a number, for example 45.",
        "hi": "उम्र समझ नहीं आई। नंबर में बोलिए, जैसे 45।",
    },
    "invalid_sex": {"en": "Please say male, female or other.", "hi": "कृपया पुरुष, महिला या अन्य बोलिए।"},
    "invalid_text": {"en": "Please say a few words.", "hi": "कृपया कुछ शब्द बोलिए।"},
    "invalid_vital": {
        "en": (
            "{label} {value} is not possible; expected {low} to {high} {unit}. Please say the vitals again, or say "
            "skip."
        ),
        "hi": "{label} {value} संभव नहीं है; {low} से {high} {unit} के बीच होना चाहिए। वाइटल्स फिर से बोलिए, या 'नहीं' बोलिए।",
    },
    "invalid_bp_order": {
        "en": "The lower BP number must be smaller than the upper one. Please say the vitals again.",
        "hi": "बीपी का नीचे वाला नंबर ऊपर वाले से छोटा होना चाहिए। वाइटल्स फिर से बोलिए।",
    },
    "vitals_unheard": {
        "en": "I did not get the {missing}. Please say the {missing} again, or say skip.",
        "hi": "{missing} समझ नहीं आया। {missing} फिर से बोलिए, या 'नहीं' बोलिए।",
    },
    "vitals_unheard_with_heard": {
        "en": "I have {heard}, but I did not get the {missing}. Please say the {missing} again, or say skip.",
        "hi": "{heard} मिल गया, पर {missing} समझ नहीं आया। {missing} फिर से बोलिए, या 'नहीं' बोलिए।",
    },
    "vitals_unreadable": {
        "en": "I didn't find any vitals in that. Say for example 'BP 120 over 80, pulse 80', or say skip.",
        "hi": "इसमें वाइटल्स नहीं मिले। जैसे बोलिए 'बीपी 120 बटा 80, पल्स 80', या 'नहीं' बोलिए।",
    },
    "invalid_field": {"en": "I can't change that here.", "hi": "यह यहाँ नहीं बदल सकता।"},
}

LABELS: dict[str, dict[str, str]] = {
    "today": {"en": "today", "hi": "आज"},
    "tomorrow": {"en": "tomorrow", "hi": "कल"},
    "in_days": {"en": "in {days} days", "hi": "{days} दिन में"},
    **VALUE_LABELS,  # urgencies and sexes
    "none": {"en": "none", "hi": "कोई नहीं"},
    "not_taken": {"en": "not taken", "hi": "नहीं लिए"},
    "unknown_patient": {"en": "not given", "hi": "नहीं बताया"},
    "years": {"en": "{n} years", "hi": "{n} साल"},
    "months": {"en": "{n} months", "hi": "{n} महीने"},
    "or": {"en": "or", "hi": "या"},
    "for_patient": {"en": "for patient {patient_id}", "hi": "मरीज़ {patient_id} के लिए"},
    # vitals
    "bp": {"en": "BP", "hi": "बीपी"},
    "systolic_bp": {"en": "Upper BP", "hi": "ऊपर का बीपी"},
    "diastolic_bp": {"en": "Lower BP", "hi": "नीचे का बीपी"},
    "temperature": {"en": "temperature", "hi": "तापमान"},
    "temperature_c": {"en": "Temperature", "hi": "तापमान"},
    "pulse": {"en": "pulse", "hi": "पल्स"},
    "spo2": {"en": "SpO2", "hi": "ऑक्सीजन"},
    "weight_kg": {"en": "weight", "hi": "वज़न"},
    "respiratory_rate": {"en": "breathing rate", "hi": "सांस की दर"},
    # fields a worker can correct
    "patient_id": {"en": "patient ID", "hi": "मरीज़ आईडी"},
    "age": {"en": "age", "hi": "उम्र"},
    "sex": {"en": "sex", "hi": "लिंग"},
    "complaint": {"en": "complaint", "hi": "शिकायत"},
    "vitals": {"en": "vitals", "hi": "वाइटल्स"},
    "notes": {"en": "notes", "hi": "नोट"},
    "specialty": {"en": "specialty", "hi": "विशेषज्ञ"},
    "the_specialist": {"en": "The specialist", "hi": "विशेषज्ञ"},
    "urgency": {"en": "urgency", "hi": "ज़रूरत"},
    "reason": {"en": "reason", "hi": "कारण"},
}


def _pick(table: dict[str, dict[str, str]], key: str, language: str) -> str:
    entry = table[key]
    return entry.get(language) or entry[DEFAULT_LANGUAGE]


def text(key: str, language: str, **values: Any) -> str:
    """The message ``key`` in ``language`` with ``values`` filled in."""
    return _pick(MESSAGES, key, language).format(**values)


def say(dispatcher: CollectingDispatcher, key: str, language: str, **values: Any) -> None:
    dispatcher.utter_message(text=text(key, language, **values))


def ask(dispatcher: CollectingDispatcher, key: str, language: str, slot: str | None, **values: Any) -> None:
    """The question ``key`` about ``slot``."""
    utter_question(dispatcher, text(key, language, **values), language, slot)


def utter_question(dispatcher: CollectingDispatcher, words: str, language: str, slot: str | None) -> None:
    """A question: its words, its choices as buttons, and what input comes next (``assistant.core.dialogue``)."""
    expects = NextInput.asking(slot, language)
    dispatcher.utter_message(
        text=words, buttons=[choice.button() for choice in expects.choices], json_message=expects.payload()
    )


def say_rejection(dispatcher: CollectingDispatcher, error: BackendRejected | None, language: str) -> None:
    """Why the hub refused a write: an unknown worker, or the backend's own reason."""
    if error is not None and error.unknown_worker:
        say(dispatcher, "not_a_worker", language)
    else:
        say(dispatcher, "rejected", language, reason=error.message if error else "")


def label(key: str, language: str, **values: Any) -> str:
    return _pick(LABELS, key, language).format(**values)


def specialty_name(code: str | None, language: str) -> str:
    if code in SPECIALTIES:
        return SPECIALTIES[code].get(language) or SPECIALTIES[code][DEFAULT_LANGUAGE]
    return code or ""


def join_choices(items: list[str], language: str) -> str:
    """ "a, b or c" in the worker's language."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + f" {label('or', language)} " + items[-1]


def age_phrase(years: float, language: str) -> str:
    if years < 1:
        return label("months", language, n=max(1, round(years * 12)))
    return label("years", language, n=f"{years:g}")
