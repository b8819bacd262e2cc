"""The action server's answers are checked against Rasa's schema with a validator compiled once.

Rasa 3.6 checks every custom action's response with ``jsonschema.validate``,
which first validates the schema itself against its meta-schema and builds a
new validator, on every call. Profiled on a consult's "yes" (three custom
action calls), that was 45 % of the Rasa process's time in the turn. The
check stays exactly as strict (the same schema, the same best-matching error,
the same message); only the schema check and the validator are made once, at
the first call.

Rasa has no hook for this, so ``RemoteAction._validate_action_result`` is
replaced once at start-up (``install``), for the Rasa version it was written
against.
"""

from __future__ import annotations

import functools
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL

from assistant.rasa_server.rasa_version import require_supported_rasa

_INSTALLED = "_assistant_validates_with_a_compiled_schema"


@functools.lru_cache(maxsize=1)
def response_validator() -> Validator:
    """Rasa's response schema, checked once against its meta-schema, as a reusable validator."""
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(_action: RemoteAction, result: dict[str, Any]) -> bool:
    """What ``jsonschema.validate`` did for Rasa, with the compiled validator."""
    error = best_match(response_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        ". Failed to validate Action server response from API, make sure your response from the Action "
        f"endpoint is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


def install() -> None:
    if getattr(RemoteAction, _INSTALLED, False):
        return
    require_supported_rasa(__name__)
    RemoteAction._validate_action_result = validate_action_result
    setattr(RemoteAction, _INSTALLED, True)
